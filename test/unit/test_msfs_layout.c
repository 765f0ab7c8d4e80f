/* msfs: the on-disk layout — directory fan-out from FileCnt and FilesPerDir, stored names with
 * and without the iOS size hint — the strict mapping of download URLs (traversal and anything
 * not in the stored layout refused), thumbnail names "<stored>_<W>x<H>.<fmt>" and their
 * bounds, single byte ranges, download Content-Types, the upload answers' exact JSON
 * and the Host header check. */
#include <stdio.h>
#include <string.h>

#include "msfs.h"
#include "tt_test.h"

static void assert_dirs(uint64_t cnt, uint64_t per, uint64_t want1, uint64_t want2)
{
    uint64_t d1, d2;
    msfs_layout_dirs(cnt, per, &d1, &d2);
    if (d1 != want1 || d2 != want2)
        fail_msg("cnt %llu per %llu: %llu/%llu, want %llu/%llu", (unsigned long long)cnt,
                 (unsigned long long)per, (unsigned long long)d1, (unsigned long long)d2,
                 (unsigned long long)want1, (unsigned long long)want2);
}

static void test_dirs(void **state)
{
    (void)state;
    assert_dirs(0, 30000, 0, 0);
    assert_dirs(29999, 30000, 0, 0);
    assert_dirs(30000, 30000, 0, 1);
    assert_dirs(30000ULL * 254, 30000, 0, 254);
    assert_dirs(30000ULL * 255 - 1, 30000, 0, 254);
    assert_dirs(30000ULL * 255, 30000, 1, 0);
    assert_dirs(30000ULL * 255 * 3 + 30000 * 7 + 5, 30000, 3, 7);
    assert_dirs(0, 1, 0, 0);
    assert_dirs(1, 1, 0, 1);
    assert_dirs(254, 1, 0, 254);
    assert_dirs(255, 1, 1, 0);
    assert_dirs(255 * 1000, 1, 1000, 0);
}

static void test_rel_path(void **state)
{
    (void)state;
    char rel[512];
    msfs_name_t n = {.type = "png"};
    assert_int_equal(msfs_layout_rel_path(rel, sizeof(rel), 0, 30000, 1418888888888888ULL, &n),
                     0);
    assert_string_equal(rel, "000/000/1418888888888888_0.png");
    msfs_name_t ios = {.type = "png", .has_size = 1, .width = 640, .height = 480};
    assert_int_equal(msfs_layout_rel_path(rel, sizeof(rel), 30000ULL * 255 + 30001, 30000,
                                          1418888888888888ULL, &ios), 0);
    assert_string_equal(rel, "001/001/1418888888888888_7680001_640x480.png");
    assert_int_equal(msfs_layout_rel_path(rel, 10, 0, 30000, 1, &n), -1);
    /* stored names map back from their URL, also past D1 = 999 */
    char url[600], back[512];
    snprintf(url, sizeof(url), "/" MSFS_GROUP "/%s",
             "001/001/1418888888888888_7680001_640x480.png");
    assert_int_equal(msfs_layout_map_url(url, back, sizeof(back)), 0);
    assert_string_equal(back, "001/001/1418888888888888_7680001_640x480.png");
    assert_int_equal(msfs_layout_rel_path(rel, sizeof(rel), 255 * 1000, 1, 42, &n), 0);
    assert_string_equal(rel, "1000/000/42_255000.png");
    snprintf(url, sizeof(url), "/" MSFS_GROUP "/%s", rel);
    assert_int_equal(msfs_layout_map_url(url, back, sizeof(back)), 0);
    assert_string_equal(back, rel);
}

static void test_map_url(void **state)
{
    (void)state;
    char out[512];
    struct {
        const char *url;
        const char *want; /* NULL: refused */
    } cases[] = {
        {"/g0/000/000/1418888888888888_140234567890.jpg",
         "000/000/1418888888888888_140234567890.jpg"},
        {"/g0/012/254/1_2_640x480.png", "012/254/1_2_640x480.png"},
        {"/g1/000/000/1_2.audio", "000/000/1_2.audio"},
        {"/G0/0000/000/1_2.JPG", "0000/000/1_2.JPG"},
        {"/g0/000/000/1_2.png?x=1", "000/000/1_2.png"},
        {"/g0/000/000/1_2.tar-gz", "000/000/1_2.tar-gz"},
        /* traversal and separators */
        {"/g0/../000/1_2.png", NULL},
        {"/g0/000/../1_2.png", NULL},
        {"/g0/000/000/../../msfs.state", NULL},
        {"/g0/000/000/..", NULL},
        {"/../000/000/1_2.png", NULL},
        {"/g0/000/000/%2e%2e", NULL},
        {"/g0/%2e%2e/000/1_2.png", NULL},
        {"/g0/000/000/1_2.png/", NULL},
        {"/g0/000/000/1_2.png/x", NULL},
        {"/g0/000//000/1_2.png", NULL},
        {"//000/000/1_2.png", NULL},
        {"/g0/000/000\\1_2.png", NULL},
        {"/g0/000/000/1_2.png\\", NULL},
        {"g0/000/000/1_2.png", NULL},
        {"/g0/000/000", NULL},
        {"/", NULL},
        {"", NULL},
        /* not the stored layout */
        {"/g0/000/000/msfs.state", NULL},
        {"/g0/000/000/.tmp", NULL},
        {"/g0/.tmp/000/1_2.png", NULL},
        {"/g0/000/000/1_2", NULL},
        {"/g0/000/000/1_2.", NULL},
        {"/g0/000/000/1.png", NULL},
        {"/g0/000/000/_2.png", NULL},
        {"/g0/000/000/a_2.png", NULL},
        {"/g0/000/000/1_2_640x.png", NULL},
        {"/g0/000/000/1_2_12345x1.png", NULL},
        {"/g0/000/000/1_2.0123456789abcdef", NULL},
        {"/g0/000/000/1_2.p%20g", NULL},
        {"/g0/00/000/1_2.png", NULL},
        {"/g0/000/0000/1_2.png", NULL},
        {"/g0/00a/000/1_2.png", NULL},
        {"/g0/00000000000/000/1_2.png", NULL},
        {"/g-0/000/000/1_2.png", NULL},
        {"/g0123456789abcdef/000/000/1_2.png", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = msfs_layout_map_url(cases[i].url, out, sizeof(out));
        if (cases[i].want) {
            if (rc != 0 || strcmp(out, cases[i].want) != 0)
                fail_msg("%s: rc %d '%s', want '%s'", cases[i].url, rc, rc ? "" : out,
                         cases[i].want);
        } else if (rc != -1) {
            fail_msg("%s: accepted as '%s'", cases[i].url, out);
        }
    }
    assert_int_equal(msfs_layout_map_url(NULL, out, sizeof(out)), -1);
    assert_int_equal(msfs_layout_map_url("/g0/000/000/1_2.png", out, 10), -1);
}

static void test_content_type(void **state)
{
    (void)state;
    char t[64];
    msfs_layout_content_type("000/000/1_2.png", t, sizeof(t));
    assert_string_equal(t, "image/png");
    msfs_layout_content_type("000/000/1_2.JPG", t, sizeof(t));
    assert_string_equal(t, "image/JPG");
    msfs_layout_content_type("000/000/1_2.jpeg", t, sizeof(t));
    assert_string_equal(t, "image/jpeg");
    msfs_layout_content_type("000/000/1_2_3x4.Gif", t, sizeof(t));
    assert_string_equal(t, "image/Gif");
    msfs_layout_content_type("000/000/1_2.audio", t, sizeof(t));
    assert_string_equal(t, "audio/ogg");
    msfs_layout_content_type("000/000/1_2.webp", t, sizeof(t));
    assert_string_equal(t, "image/webp");
    msfs_layout_content_type("000/000/1_2.bin", t, sizeof(t));
    assert_string_equal(t, "application/octet-stream");
    msfs_layout_content_type("000/000/1_2.svg", t, sizeof(t));
    assert_string_equal(t, "application/octet-stream");
}

static void test_answers(void **state)
{
    (void)state;
    char b[1024];
    size_t n = msfs_answer_json(b, sizeof(b), MSFS_OK, "000/000/1_2.jpg", "http://h:8700");
    assert_string_equal(b, "{\"error_code\":0,\"error_msg\": \"成功\","
                           "\"path\":\"g0/000/000/1_2.jpg\","
                           "\"url\":\"http://h:8700/g0/000/000/1_2.jpg\"}");
    assert_int_equal(n, strlen(b));
    msfs_answer_json(b, sizeof(b), MSFS_E_TOO_BIG, "", "");
    assert_string_equal(b, "{\"error_code\":1,\"error_msg\": \"上传文件过大\",\"url\":\"\"}");
    for (int code = 2; code <= 11; code++) {
        char want[128];
        snprintf(want, sizeof(want),
                 "{\"error_code\":%d,\"error_msg\": \"格式错误\",\"path\":\"\",\"url\":\"\"}", code);
        msfs_answer_json(b, sizeof(b), code, "", "");
        assert_string_equal(b, want);
        assert_int_equal(msfs_answer_status(code), 200);
    }
    msfs_answer_json(b, sizeof(b), MSFS_E_STORE, "", "");
    assert_string_equal(b, "{\"error_code\":12,\"error_msg\": \"存储失败\","
                           "\"path\":\"\",\"url\":\"\"}");
    msfs_answer_json(b, sizeof(b), MSFS_E_BUSY, "", "");
    assert_string_equal(b, "{\"error_code\":13,\"error_msg\": \"服务器忙\","
                           "\"path\":\"\",\"url\":\"\"}");
    assert_int_equal(msfs_answer_status(MSFS_OK), 200);
    assert_int_equal(msfs_answer_status(MSFS_E_TOO_BIG), 200);
    assert_int_equal(msfs_answer_status(MSFS_E_STORE), 500);
    assert_int_equal(msfs_answer_status(MSFS_E_BUSY), 503);
    /* truncation keeps the string terminated */
    n = msfs_answer_json(b, 8, MSFS_OK, "000/000/1_2.jpg", "http://h");
    assert_int_equal(n, 7);
    assert_int_equal(strlen(b), 7);
}

static void test_host(void **state)
{
    (void)state;
    assert_true(msfs_host_ok("127.0.0.1:8700"));
    assert_true(msfs_host_ok("msfs.example.com"));
    assert_true(msfs_host_ok("[::1]:8700"));
    assert_false(msfs_host_ok(NULL));
    assert_false(msfs_host_ok(""));
    assert_false(msfs_host_ok("a b"));
    assert_false(msfs_host_ok("evil\"}"));
    assert_false(msfs_host_ok("h/x"));
    assert_false(msfs_host_ok("h\\x"));
    assert_false(msfs_host_ok("h@x"));
    char longh[300];
    memset(longh, 'a', sizeof(longh) - 1);
    longh[sizeof(longh) - 1] = '\0';
    assert_false(msfs_host_ok(longh));
}

/* "<stored name>_<W>x<H>.<fmt>": the original's path, the cache path, the box and format;
 * bounds on W and H; nothing that is not a stored name plus the suffix. */
static void test_map_thumb(void **state)
{
    (void)state;
    msfs_thumb_t t;
    assert_int_equal(msfs_layout_map_thumb("/g0/000/001/1418_3.png_100x100.jpg", 2048, &t), 0);
    assert_string_equal(t.rel, "000/001/1418_3.png");
    assert_string_equal(t.cache_rel, "000/001/1418_3.png_100x100.jpg");
    assert_int_equal(t.width, 100);
    assert_int_equal(t.height, 100);
    assert_string_equal(t.fmt, "jpg");
    /* an iOS upload already carries a size hint; a query string is dropped */
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2_0x0.png_310x310.JPEG?x=1", 2048, &t),
                     0);
    assert_string_equal(t.rel, "000/000/1_2_0x0.png");
    assert_string_equal(t.cache_rel, "000/000/1_2_0x0.png_310x310.JPEG");
    assert_string_equal(t.fmt, "jpg");
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2.jpg_64x48.png", 2048, &t), 0);
    assert_string_equal(t.fmt, "png");
    assert_int_equal(t.width, 64);
    assert_int_equal(t.height, 48);
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2.jpg_20x10.webp", 2048, &t), 0);
    assert_string_equal(t.fmt, "webp");
    /* bounds */
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2.jpg_2049x10.jpg", 2048, &t), -2);
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2.jpg_0x10.jpg", 2048, &t), -2);
    assert_int_equal(msfs_layout_map_thumb("/g0/000/000/1_2.jpg_2048x2048.jpg", 2048, &t), 0);
    /* not thumbnails */
    static const char *const bad[] = {
        "/g0/000/000/1_2.jpg",               /* a plain stored file */
        "/g0/000/000/1_2.jpg_100x100.gif",   /* format not made */
        "/g0/000/000/1_2.jpg_100x100",       /* no format */
        "/g0/000/000/1_2.jpg_100x.jpg",      /* no height */
        "/g0/000/000/1_2.jpg_x100.jpg",      /* no width */
        "/g0/000/000/1_2.jpg_12345x1.jpg",   /* five digits */
        "/g0/000/000/1_2.jpg_100X100.jpg",   /* capital X */
        "/g0/000/000/x_2.jpg_100x100.jpg",   /* original not a stored name */
        "/g0/000/000/1_2_100x100.jpg",       /* a stored name (iOS hint), not a thumbnail */
        "/g0/../000/1_2.jpg_100x100.jpg",    /* traversal */
        "/g0/000/000/../1_2.jpg_100x100.jpg",
        "/g0/000/1_2.jpg_100x100.jpg",       /* too few segments */
        "/g0/000/000/1_2.jpg_100x100.jpg/x", /* too many */
        "/g0/000/000/1_2.jpg_100x100.jpg_100x100.jpg", /* a thumbnail of a thumbnail */
        "", "/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (msfs_layout_map_thumb(bad[i], 2048, &t) != -1)
            fail_msg("%s taken as a thumbnail", bad[i]);
    assert_true(msfs_is_thumb_name("1_2.jpg_100x100.jpg"));
    assert_false(msfs_is_thumb_name("1_2.jpg"));
    assert_true(msfs_is_stored_name("1_2.jpg"));
    assert_false(msfs_is_stored_name("1_2.jpg_100x100.jpg"));
    assert_false(msfs_is_stored_name("msfs.state"));
}

static void assert_range(const char *h, uint64_t size, int want, uint64_t f, uint64_t l)
{
    uint64_t first = 99, last = 99;
    int rc = msfs_range_parse(h, size, &first, &last);
    if (rc != want || (want == 1 && (first != f || last != l)))
        fail_msg("Range '%s' of %llu: %d %llu-%llu, want %d %llu-%llu", h ? h : "(null)",
                 (unsigned long long)size, rc, (unsigned long long)first,
                 (unsigned long long)last, want, (unsigned long long)f, (unsigned long long)l);
}

static void test_range(void **state)
{
    (void)state;
    assert_range(NULL, 100, 0, 0, 0);
    assert_range("bytes=0-9", 100, 1, 0, 9);
    assert_range("bytes=10-", 100, 1, 10, 99);
    assert_range("bytes=-10", 100, 1, 90, 99);
    assert_range("bytes=-1000", 100, 1, 0, 99);
    assert_range("bytes=50-1000", 100, 1, 50, 99);
    assert_range("bytes=99-99", 100, 1, 99, 99);
    assert_range("Bytes=0-0", 100, 1, 0, 0);
    assert_range("bytes=100-", 100, -1, 0, 0);  /* past the end: 416 */
    assert_range("bytes=100-200", 100, -1, 0, 0);
    assert_range("bytes=-0", 100, -1, 0, 0);
    assert_range("bytes=0-", 0, -1, 0, 0);      /* an empty file has no byte 0 */
    assert_range("bytes=-5", 0, -1, 0, 0);
    assert_range("bytes=9-3", 100, 0, 0, 0);    /* invalid: ignored, whole file */
    assert_range("bytes=0-1,5-6", 100, 0, 0, 0); /* several: whole file */
    assert_range("items=0-1", 100, 0, 0, 0);
    assert_range("bytes=-", 100, 0, 0, 0);
    assert_range("bytes=a-b", 100, 0, 0, 0);
    assert_range("bytes=1-2x", 100, 0, 0, 0);
    assert_range("bytes=99999999999999999999-", 100, 0, 0, 0); /* overflow: ignored */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dirs),       cmocka_unit_test(test_rel_path),
        cmocka_unit_test(test_map_url),    cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_answers),    cmocka_unit_test(test_host),
        cmocka_unit_test(test_map_thumb),  cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
