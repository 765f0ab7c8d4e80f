/* tt_log's rate-limited lines: the accounting of a limiter over (synthetic) time, and a flood
 * through log_warn_rl into a real log file growing it by a bounded number of lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_log.h"
#include "tt_test.h"

static void test_limit_window(void **state)
{
    (void)state;
    tt_log_limit_t l;
    memset(&l, 0, sizeof(l));
    uint64_t rep, rep_ms, t = 1000;
    for (int i = 0; i < TT_LOG_LIMIT_LINES; i++) {
        assert_int_equal(tt_log_limit_take(&l, t + (uint64_t)i, &rep, &rep_ms), 1);
        assert_int_equal(rep, 0);
    }
    /* the rest of the window is counted, not written */
    for (int i = 0; i < 5000; i++)
        assert_int_equal(tt_log_limit_take(&l, t + 100 + (uint64_t)i / 2, &rep, &rep_ms), 0);
    assert_int_equal(tt_log_limit_take(&l, t + TT_LOG_LIMIT_WINDOW_MS - 1, &rep, &rep_ms), 0);
    /* the next window lets lines through again; its first one carries the count */
    assert_int_equal(tt_log_limit_take(&l, t + TT_LOG_LIMIT_WINDOW_MS, &rep, &rep_ms), 1);
    assert_int_equal(rep, 5001);
    assert_int_equal(rep_ms, TT_LOG_LIMIT_WINDOW_MS - 100);
    assert_int_equal(tt_log_limit_take(&l, t + TT_LOG_LIMIT_WINDOW_MS + 1, &rep, &rep_ms), 1);
    assert_int_equal(rep, 0); /* reported once */
    /* a quiet site writes every line, whatever the time between them */
    tt_log_limit_t q;
    memset(&q, 0, sizeof(q));
    for (int i = 0; i < 100; i++) {
        assert_int_equal(tt_log_limit_take(&q, 5000 + (uint64_t)i * 1000, &rep, &rep_ms), 1);
        assert_int_equal(rep, 0);
    }
}

static size_t count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    size_t n = 0;
    while (fgets(line, sizeof(line), f))
        n += !needle || strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void test_flood_bounded(void **state)
{
    (void)state;
    char dir[] = "/tmp/tt-test-log.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char rc[512], logf[512];
    snprintf(rc, sizeof(rc), "%s/log4crc", dir);
    snprintf(logf, sizeof(logf), "%s/t.log", dir);
    FILE *f = fopen(rc, "w");
    assert_non_null(f);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE log4c SYSTEM \"\">\n"
               "<log4c><config><bufsize>0</bufsize><debug level=\"0\"/>"
               "<nocleanup>0</nocleanup></config>\n<layout name=\"tt\" type=\"tt\"/>\n"
               "<appender name=\"%s\" type=\"tt_file\" layout=\"tt\"/>\n"
               "<category name=\"unit\" priority=\"info\" appender=\"%s\"/>\n</log4c>\n",
            logf, logf);
    fclose(f);
    char err[256];
    assert_int_equal(tt_log_init("unit", rc, 0, err, sizeof(err)), 0);
    uint64_t before = tt_log_suppressed_total();
    for (int i = 0; i < 100000; i++) {
        log_warn_rl("junk frame %d from a peer", i);
        log_info_rl("another site %d", i);
    }
    log_info("a normal line");
    /* a whole flood costs at most one window's lines per site (it runs in well under 10 s;
     * should the machine stall past a window, one more window's worth) */
    size_t junk = count_lines(logf, "junk frame"), other = count_lines(logf, "another site");
    assert_true(junk >= TT_LOG_LIMIT_LINES && junk <= 3 * TT_LOG_LIMIT_LINES);
    assert_true(other >= TT_LOG_LIMIT_LINES && other <= 3 * TT_LOG_LIMIT_LINES);
    assert_int_equal(count_lines(logf, "a normal line"), 1);
    assert_true(tt_log_suppressed_total() - before >= 2 * 100000 - 6 * TT_LOG_LIMIT_LINES);
    /* nothing more comes: a flush after the window reports each site's count once */
    assert_int_equal(count_lines(logf, "suppressed"), 0);
    tt_log_limit_flush(); /* the window is not over: nothing yet */
    assert_int_equal(count_lines(logf, "suppressed"), 0);
    tt_log_limit_flush_at(tt_log_limit_now() + TT_LOG_LIMIT_WINDOW_MS, 0);
    assert_int_equal(count_lines(logf, "suppressed"), 2);
    assert_int_equal(count_lines(logf, "line(s) like \"junk frame %d from a peer\" suppressed"), 1);
    tt_log_limit_flush_at(tt_log_limit_now() + 2 * TT_LOG_LIMIT_WINDOW_MS, 1);
    assert_int_equal(count_lines(logf, "suppressed"), 2); /* reported once */
    /* a level that is off costs nothing and counts nothing */
    before = tt_log_suppressed_total();
    for (int i = 0; i < 1000; i++)
        TT_LOG_RL_(TT_LOG_DEBUG, "debug %d", i);
    assert_int_equal(tt_log_suppressed_total(), before);
    assert_int_equal(count_lines(logf, "debug "), 0);
    tt_log_fini();
    unlink(logf);
    unlink(rc);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_window),
        cmocka_unit_test(test_flood_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
