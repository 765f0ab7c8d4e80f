/* td_password: the stored formats. pbkdf2 round trip (and a fixed vector), the original md5
 * format with the PROTOCOL.md §6.4 example, wrong passwords, upgrades, malformed stored
 * values, and the base64 codec underneath. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_password.h"
#include "tt_test.h"

#define CLIENT_123456 "e10adc3949ba59abbe56e057f20f883e" /* md5hex("123456") */

static void test_md5hex(void **state)
{
    (void)state;
    char out[33];
    assert_int_equal(td_pw_md5hex("123456", 6, out), 0);
    assert_string_equal(out, CLIENT_123456);
    assert_int_equal(td_pw_md5hex("", 0, out), 0);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
}

static void test_legacy_example(void **state)
{
    (void)state;
    td_pw_check_t chk;
    /* PROTOCOL.md §6.4: plain 123456, salt 1234 -> b605e86d02eef8bfd0646f6a704c17c9 */
    assert_int_equal(td_pw_verify("b605e86d02eef8bfd0646f6a704c17c9", "1234", CLIENT_123456, 32,
                                  TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MATCH);
    assert_true(chk.legacy);
    assert_true(chk.needs_upgrade);
    assert_false(chk.kdf_done);
    /* upper-case hex in the row is the same value */
    assert_int_equal(td_pw_verify("B605E86D02EEF8BFD0646F6A704C17C9", "1234", CLIENT_123456, 32,
                                  TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MATCH);
}

static void test_legacy_wrong(void **state)
{
    (void)state;
    td_pw_check_t chk;
    const char *stored = "b605e86d02eef8bfd0646f6a704c17c9";
    char other[33];
    td_pw_md5hex("1234567", 7, other);
    assert_int_equal(td_pw_verify(stored, "1234", other, 32, TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MISMATCH);
    assert_false(chk.needs_upgrade);
    /* the right password with the wrong salt, or none */
    assert_int_equal(td_pw_verify(stored, "1235", CLIENT_123456, 32, TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MISMATCH);
    assert_int_equal(td_pw_verify(stored, "", CLIENT_123456, 32, TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MISMATCH);
    /* the plain password itself is not accepted */
    assert_int_equal(td_pw_verify(stored, "1234", "123456", 6, TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MISMATCH);
    /* a length that differs from the string (the caller's length counts) */
    assert_int_equal(td_pw_verify(stored, "1234", CLIENT_123456, 31, TD_PW_DEFAULT_ITER, &chk),
                     TD_PW_MISMATCH);
}

static void test_kdf_round_trip(void **state)
{
    (void)state;
    char stored[TD_PW_STORED_MAX], again[TD_PW_STORED_MAX];
    assert_int_equal(td_pw_hash(CLIENT_123456, 32, 1000, stored, sizeof(stored)), 0);
    assert_true(strncmp(stored, "pbkdf2_sha256$1000$", 19) == 0);
    assert_true(strlen(stored) < 255); /* fits the widened column */
    td_pw_check_t chk;
    assert_int_equal(td_pw_verify(stored, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MATCH);
    assert_false(chk.legacy);
    assert_false(chk.needs_upgrade);
    assert_true(chk.kdf_done);
    /* the legacy salt column is irrelevant for this format */
    assert_int_equal(td_pw_verify(stored, "1234", CLIENT_123456, 32, 1000, &chk), TD_PW_MATCH);
    char wrong[33];
    td_pw_md5hex("1234567", 7, wrong);
    assert_int_equal(td_pw_verify(stored, "", wrong, 32, 1000, &chk), TD_PW_MISMATCH);
    assert_true(chk.kdf_done);
    assert_int_equal(td_pw_verify(stored, "", "", 0, 1000, &chk), TD_PW_MISMATCH);
    /* random salt: two hashes of one password differ, both verify */
    assert_int_equal(td_pw_hash(CLIENT_123456, 32, 1000, again, sizeof(again)), 0);
    assert_string_not_equal(stored, again);
    assert_int_equal(td_pw_verify(again, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MATCH);
    /* more iterations wanted now: still a match, but worth an upgrade */
    assert_int_equal(td_pw_verify(stored, "", CLIENT_123456, 32, 25000, &chk), TD_PW_MATCH);
    assert_true(chk.needs_upgrade);
    /* too small a buffer */
    assert_int_equal(td_pw_hash(CLIENT_123456, 32, 1000, stored, 40), -1);
}

/* Fixed vectors, computed independently with Python's hashlib.pbkdf2_hmac('sha256', ...). */
static void test_kdf_vector(void **state)
{
    (void)state;
    uint8_t salt[TD_PW_SALT_LEN] = {0};
    char stored[TD_PW_STORED_MAX];
    assert_int_equal(td_pw_hash_salt(CLIENT_123456, 32, 1000, salt, stored, sizeof(stored)), 0);
    assert_string_equal(stored, "pbkdf2_sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$"
                                "y8ajLYwdI67ViApRdyLMgKvh1zykuGaXnejPqU/iBSM=");
    /* salt "0123456789abcdef", 25000 iterations, written by another tool */
    const char *py = "pbkdf2_sha256$25000$MDEyMzQ1Njc4OWFiY2RlZg==$"
                     "86f/EPqAWNLlEHsZoeYsyGAWXoeHXgmnABvxwNET+44=";
    td_pw_check_t chk;
    assert_int_equal(td_pw_verify(py, "", CLIENT_123456, 32, 25000, &chk), TD_PW_MATCH);
    assert_false(chk.needs_upgrade);
}

static void test_malformed(void **state)
{
    (void)state;
    char good[TD_PW_STORED_MAX];
    assert_int_equal(td_pw_hash(CLIENT_123456, 32, 1000, good, sizeof(good)), 0);
    const char *salt64 = good + strlen("pbkdf2_sha256$1000$");
    const char *hash64 = strchr(salt64, '$') + 1;
    char buf[512];
    const char *bad[] = {
        "",                                           /* empty: never matches */
        "b605e86d02eef8bfd0646f6a704c17c",            /* 31 hex */
        "b605e86d02eef8bfd0646f6a704c17c9a",          /* 33 hex */
        "g605e86d02eef8bfd0646f6a704c17c9",           /* not hex */
        "pbkdf2_sha256$",                             /* nothing after the prefix */
        "pbkdf2_sha256$$AAAA$AAAA",                   /* no iterations */
        "pbkdf2_sha1$1000$AAAAAAAAAAAAAAAAAAAAAA==$", /* another algorithm */
        "PBKDF2_SHA256$1000$x$y",                     /* prefix is case-sensitive */
        "123456",                                     /* a plain password */
    };
    td_pw_check_t chk;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(td_pw_verify(bad[i], "1234", CLIENT_123456, 32, 1000, &chk),
                         TD_PW_MALFORMED);
    const char *fmt[] = {
        "pbkdf2_sha256$0$%s",           /* zero iterations */
        "pbkdf2_sha256$01000$%s",       /* leading zero */
        "pbkdf2_sha256$99999999999$%s", /* over the cap */
        "pbkdf2_sha256$-1000$%s",       /* sign */
        "pbkdf2_sha256$1000x$%s",       /* junk after the number */
    };
    char rest[256];
    snprintf(rest, sizeof(rest), "%s", salt64);
    for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
        snprintf(buf, sizeof(buf), fmt[i], rest);
        assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    }
    /* salt and hash parts */
    size_t salt_len = (size_t)(hash64 - 1 - salt64);
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$%.*s$%s$", (int)salt_len, salt64, hash64);
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$%.*s", (int)salt_len, salt64); /* no hash */
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$%.*s$%.40s", (int)salt_len, salt64, hash64);
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$AAAA$%s", hash64); /* 3-byte salt */
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$%.*s$%s", (int)salt_len, salt64, hash64);
    buf[strlen(buf) - 3] = '*'; /* not base64 */
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    /* a hash that is valid base64 but another value is a mismatch, not malformed */
    snprintf(buf, sizeof(buf), "pbkdf2_sha256$1000$%.*s$%s", (int)salt_len, salt64, hash64);
    buf[strlen(buf) - 3] = buf[strlen(buf) - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(td_pw_verify(buf, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MISMATCH);
    /* NULLs */
    assert_int_equal(td_pw_verify(NULL, "", CLIENT_123456, 32, 1000, &chk), TD_PW_MALFORMED);
    assert_int_equal(td_pw_verify(good, "", NULL, 0, 1000, NULL), TD_PW_MALFORMED);
}

static void test_long_client(void **state)
{
    (void)state;
    char big[TD_PW_CLIENT_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    char stored[TD_PW_STORED_MAX];
    assert_int_equal(td_pw_hash(big, strlen(big), 1000, stored, sizeof(stored)), -1);
    assert_int_equal(td_pw_hash(CLIENT_123456, 32, 1000, stored, sizeof(stored)), 0);
    td_pw_check_t chk;
    assert_int_equal(td_pw_verify(stored, "", big, strlen(big), 1000, &chk), TD_PW_MISMATCH);
    assert_int_equal(td_pw_verify("b605e86d02eef8bfd0646f6a704c17c9", "1234", big, strlen(big),
                                  1000, &chk),
                     TD_PW_MISMATCH);
}

static void test_base64(void **state)
{
    (void)state;
    const struct {
        const char *plain, *b64;
    } v[] = {{"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},      {"foo", "Zm9v"},
             {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    char out[64];
    uint8_t dec[64];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].plain);
        assert_int_equal(td_b64_encode((const uint8_t *)v[i].plain, n, out, sizeof(out)),
                         (int)strlen(v[i].b64));
        assert_string_equal(out, v[i].b64);
        if (n == 0)
            continue;
        assert_int_equal(td_b64_decode(v[i].b64, strlen(v[i].b64), dec, sizeof(dec)), (int)n);
        assert_memory_equal(dec, v[i].plain, n);
    }
    const char *bad[] = {"Zg=", "Zg", "Z===", "Zm9v!", "Zh==", "Zm9=", "=Zg=", "Zg==Zg==", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(td_b64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)), -1);
    assert_int_equal(td_b64_decode("Zm9vYmFy", 8, dec, 5), -1); /* does not fit */
    assert_int_equal(td_b64_encode((const uint8_t *)"foo", 3, out, 4), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5hex),       cmocka_unit_test(test_legacy_example),
        cmocka_unit_test(test_legacy_wrong), cmocka_unit_test(test_kdf_round_trip),
        cmocka_unit_test(test_kdf_vector),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_long_client),  cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
