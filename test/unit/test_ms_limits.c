/* msg_server's token buckets (limits.c): a burst, then the rate, never more than the burst
 * saved up, and rates below one a second (voice: per minute). */
#include <string.h>

#include "msg_server.h"
#include "tt_test.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    ms_bucket_t b;
    memset(&b, 0, sizeof(b));
    uint64_t t = 1000;
    int got = 0;
    for (int i = 0; i < 100; i++)
        got += ms_bucket_take(&b, t, 20 * 60, 40); /* 20/s, burst 40 */
    assert_int_equal(got, 40);
    assert_false(ms_bucket_ready(&b, t, 20 * 60, 40));
    /* one second later: 20 more */
    got = 0;
    for (int i = 0; i < 100; i++)
        got += ms_bucket_take(&b, t + 1000, 20 * 60, 40);
    assert_int_equal(got, 20);
    /* an hour idle saves up the burst, no more */
    got = 0;
    for (int i = 0; i < 100; i++)
        got += ms_bucket_take(&b, t + 3600 * 1000, 20 * 60, 40);
    assert_int_equal(got, 40);
}

static void test_per_minute(void **state)
{
    (void)state;
    ms_bucket_t b;
    memset(&b, 0, sizeof(b));
    uint64_t t = 5;
    for (int i = 0; i < 10; i++)
        assert_true(ms_bucket_take(&b, t, 30, 10)); /* 30/min, burst 10 */
    assert_false(ms_bucket_take(&b, t, 30, 10));
    /* a token every 2 s, even when asked every 20 ms (fractions are kept) */
    int got = 0;
    for (uint64_t now = t; now <= t + 10000; now += 20)
        got += ms_bucket_take(&b, now, 30, 10);
    assert_int_equal(got, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_per_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
