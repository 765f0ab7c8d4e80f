/* msg_server's push alert (push.c, ms_push_flash): "<nick>:<text>" cut at 37 bytes on a UTF-8
 * character boundary with "...", the image marker and unknown-sender / undecryptable /
 * non-UTF-8 texts as the generic notice, the voice notices for single and group messages,
 * control characters as spaces; and tt_utf8 (base/tt_utf8.h) under it. */
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "msg_server.h"
#include "tt_test.h"
#include "tt_utf8.h"

#define TEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT
#define AUDIO IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define GAUDIO IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO

static const char *flash(const char *nick, uint32_t type, const char *text)
{
    static char out[MS_PUSH_FLASH_CAP];
    memset(out, 'x', sizeof(out));
    size_t n = ms_push_flash(out, nick, type, text, text ? strlen(text) : 0);
    assert_int_equal(n, strlen(out));
    assert_true(n <= MS_PUSH_FLASH_CUT + 3);
    assert_true(tt_utf8_valid(out, n));
    return out;
}

static void test_short_text(void **state)
{
    (void)state;
    assert_string_equal(flash("alice", TEXT, "hi"), "alice:hi");
    assert_string_equal(flash("alice", GTEXT, "你好"), "alice:你好");
    /* exactly 37 bytes: no cut */
    assert_string_equal(flash("ab", TEXT, "0123456789012345678901234567890123"),
                        "ab:0123456789012345678901234567890123");
}

static void test_cut_ascii(void **state)
{
    (void)state;
    assert_string_equal(flash("ab", TEXT, "01234567890123456789012345678901234"),
                        "ab:0123456789012345678901234567890123...");
}

static void test_cut_utf8_boundary(void **state)
{
    (void)state;
    /* "n:" + 3-byte characters: 2 + 3k bytes; 37 falls inside the 12th character, which goes */
    const char *s = flash("n", TEXT, "一二三四五六七八九十一二三四五");
    assert_string_equal(s, "n:一二三四五六七八九十一...");
    assert_int_equal(strlen(s), 2 + 33 + 3);
    /* a 4-byte character across the cut */
    s = flash("abcdefghijklmnopqrstuvwxyz0123456789", TEXT, "😀😀");
    assert_string_equal(s, "abcdefghijklmnopqrstuvwxyz0123456789:...");
    /* a long nick alone is cut the same way */
    s = flash("长长长长长长长长长长长长长长长长长长长长", AUDIO, NULL);
    assert_string_equal(s, "长长长长长长长长长长长长...");
}

static void test_markers_and_generic(void **state)
{
    (void)state;
    assert_string_equal(flash("alice", TEXT, "&$#@~^@[{:http://x/a.jpg:}]&$~@#@"),
                        MS_PUSH_GENERIC);
    assert_string_equal(flash("alice", GTEXT, "look &$#@~^@[{:u:}]&$~@#@ here"), MS_PUSH_GENERIC);
    /* only the opening half: text */
    assert_string_equal(flash("a", TEXT, "&$#@~^@[{:"), "a:&$#@~^@[{:");
    assert_string_equal(flash(NULL, TEXT, "hi"), MS_PUSH_GENERIC);
    assert_string_equal(flash("", TEXT, "hi"), MS_PUSH_GENERIC);
    assert_string_equal(flash("alice", TEXT, NULL), MS_PUSH_GENERIC); /* did not decrypt */
    assert_string_equal(flash("alice", TEXT, "bad \xff utf8"), MS_PUSH_GENERIC);
    assert_string_equal(flash("alice", TEXT, "over\xc0\xaflong"), MS_PUSH_GENERIC);
}

static void test_audio(void **state)
{
    (void)state;
    assert_string_equal(flash("bob", AUDIO, NULL), "bob给您发送了一条语音消息");
    /* 42 bytes: cut like any alert (the original's 37) */
    assert_string_equal(flash("bob", GAUDIO, NULL), "bob在群聊中发送了一条语音...");
    assert_string_equal(flash(NULL, GAUDIO, NULL), MS_PUSH_GENERIC);
}

static void test_control_chars(void **state)
{
    (void)state;
    assert_string_equal(flash("a", TEXT, "x\ny\tz"), "a:x y z");
}

static void test_utf8_helpers(void **state)
{
    (void)state;
    assert_int_equal(tt_utf8_prefix("abc", 3, 5), 3);
    assert_int_equal(tt_utf8_prefix("a一", 4, 2), 1);
    assert_int_equal(tt_utf8_prefix("a一", 4, 4), 4);
    assert_int_equal(tt_utf8_prefix("一", 3, 0), 0);
    assert_true(tt_utf8_valid("一😀a", 8));
    assert_false(tt_utf8_valid("\xe4\xb8", 2));           /* cut sequence */
    assert_false(tt_utf8_valid("\xed\xa0\x80", 3));       /* surrogate */
    assert_false(tt_utf8_valid("\xf4\x90\x80\x80", 4));   /* past U+10FFFF */
    assert_false(tt_utf8_valid("\xe0\x80\xaf", 3));       /* overlong */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_text),
        cmocka_unit_test(test_cut_ascii),
        cmocka_unit_test(test_cut_utf8_boundary),
        cmocka_unit_test(test_markers_and_generic),
        cmocka_unit_test(test_audio),
        cmocka_unit_test(test_control_chars),
        cmocka_unit_test(test_utf8_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
