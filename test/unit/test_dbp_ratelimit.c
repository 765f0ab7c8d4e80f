/* ratelimit: 10 failures within 30 minutes lock a name until the oldest of them is 30 minutes
 * old; a success clears; names are independent and compared exactly; the table is bounded and
 * forgets the least recently failed name first; threads may share it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "tt_test.h"

#define W 1800 /* window */

static void fail_n(dbp_rl_t *rl, const char *name, int n, uint64_t t)
{
    for (int i = 0; i < n; i++)
        dbp_rl_fail(rl, name, strlen(name), t);
}

static int locked(dbp_rl_t *rl, const char *name, uint64_t t)
{
    return dbp_rl_locked(rl, name, strlen(name), t);
}

static void test_lock_after_ten(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(100, 10, W);
    assert_non_null(rl);
    assert_false(locked(rl, "alice", 1000));
    fail_n(rl, "alice", 9, 1000);
    assert_false(locked(rl, "alice", 1000)); /* 9 is not enough */
    dbp_rl_fail(rl, "alice", 5, 1001);
    assert_true(locked(rl, "alice", 1001));
    assert_true(locked(rl, "alice", 1000 + W - 1));
    assert_false(locked(rl, "alice", 1000 + W)); /* the oldest failure left the window */
    assert_false(locked(rl, "bob", 1001));       /* per name */
    assert_false(locked(rl, "Alice", 1001));     /* exactly */
    assert_false(locked(rl, "alic", 1001));
    dbp_rl_free(rl);
}

static void test_window_slides(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(100, 10, W);
    /* one failure a minute: never 10 within 30 minutes... */
    for (int i = 0; i < 40; i++)
        dbp_rl_fail(rl, "u", 1, (uint64_t)(10000 + i * 200));
    assert_false(locked(rl, "u", 10000 + 39 * 200));
    /* ...but 10 failures spread over 29 minutes do lock */
    for (int i = 0; i < 10; i++)
        dbp_rl_fail(rl, "v", 1, (uint64_t)(20000 + i * 190));
    assert_true(locked(rl, "v", 20000 + 9 * 190));
    assert_false(locked(rl, "v", 20000 + W)); /* until the first is 30 minutes old */
    dbp_rl_fail(rl, "v", 1, 20000 + W);        /* a new failure: the last 10 span 29:50 */
    assert_true(locked(rl, "v", 20000 + W));
    dbp_rl_free(rl);
}

static void test_success_clears(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(100, 10, W);
    fail_n(rl, "carol", 10, 50);
    assert_true(locked(rl, "carol", 60));
    dbp_rl_clear(rl, "carol", 5);
    assert_false(locked(rl, "carol", 60));
    assert_int_equal(dbp_rl_size(rl), 0);
    fail_n(rl, "carol", 9, 70);
    assert_false(locked(rl, "carol", 70));
    dbp_rl_clear(rl, "nobody", 6); /* harmless */
    assert_int_equal(dbp_rl_size(rl), 1);
    dbp_rl_free(rl);
}

static void test_bounded_lru(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(50, 10, W);
    fail_n(rl, "victim", 10, 100);
    char name[32];
    for (int i = 0; i < 49; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        fail_n(rl, name, 1, 200);
    }
    assert_int_equal(dbp_rl_size(rl), 50);
    assert_true(locked(rl, "victim", 300));
    dbp_rl_fail(rl, "victim", 6, 300); /* touched: now the most recent */
    for (int i = 49; i < 98; i++) {    /* 49 new names push out n0..n48, not victim */
        snprintf(name, sizeof(name), "n%d", i);
        fail_n(rl, name, 1, 400);
    }
    assert_int_equal(dbp_rl_size(rl), 50);
    assert_true(locked(rl, "victim", 400));
    fail_n(rl, "newcomer", 1, 500); /* now victim is the oldest: forgotten */
    assert_int_equal(dbp_rl_size(rl), 50);
    assert_false(locked(rl, "victim", 500));
    dbp_rl_free(rl);
}

static void test_long_and_binary_names(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(10, 3, W);
    char big[1000];
    memset(big, 'x', sizeof(big));
    for (int i = 0; i < 3; i++)
        dbp_rl_fail(rl, big, sizeof(big), 10);
    assert_true(dbp_rl_locked(rl, big, sizeof(big), 10));
    /* keyed by the first 256 bytes */
    assert_true(dbp_rl_locked(rl, big, DBP_RL_MAX_NAME, 10));
    const char bin[] = {'a', 0, 'b'};
    for (int i = 0; i < 3; i++)
        dbp_rl_fail(rl, bin, 3, 10);
    assert_true(dbp_rl_locked(rl, bin, 3, 10));
    assert_false(dbp_rl_locked(rl, bin, 1, 10)); /* "a" */
    assert_false(dbp_rl_locked(rl, "", 0, 10));
    dbp_rl_free(rl);
}

/* take counts an attempt as it arrives: the 11th of 10 running at once is refused; a refund
 * gives one back; another key is never touched */
static void test_take_and_refund(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(100, 10, W);
    for (int i = 0; i < 10; i++)
        assert_int_equal(dbp_rl_take(rl, "1.2.3.4", 7, 100), 0);
    assert_int_equal(dbp_rl_take(rl, "1.2.3.4", 7, 100), -1);
    assert_int_equal(dbp_rl_take(rl, "1.2.3.5", 7, 100), 0);
    dbp_rl_refund(rl, "1.2.3.4", 7, 100); /* one of them succeeded */
    assert_false(locked(rl, "1.2.3.4", 100));
    assert_int_equal(dbp_rl_take(rl, "1.2.3.4", 7, 101), 0);
    assert_int_equal(dbp_rl_take(rl, "1.2.3.4", 7, 101), -1);
    dbp_rl_refund(rl, "1.2.3.4", 7, 5000); /* no such attempt: nothing given back */
    assert_true(locked(rl, "1.2.3.4", 101));
    assert_false(locked(rl, "1.2.3.4", 100 + W));
    dbp_rl_refund(rl, "nobody", 6, 100); /* harmless */
    dbp_rl_free(rl);
}

static void test_bad_args(void **state)
{
    (void)state;
    assert_null(dbp_rl_new(0, 10, W));
    assert_null(dbp_rl_new(10, 0, W));
    assert_null(dbp_rl_new(10, DBP_RL_MAX_FAILURES_CAP + 1, W));
    dbp_rl_free(NULL);
}

static void *hammer(void *arg)
{
    dbp_rl_t *rl = arg;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "t%d", i % 300);
        if (i % 7 == 0)
            dbp_rl_clear(rl, name, strlen(name));
        else
            dbp_rl_fail(rl, name, strlen(name), (uint64_t)i);
        (void)dbp_rl_locked(rl, name, strlen(name), (uint64_t)i);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    dbp_rl_t *rl = dbp_rl_new(100, 10, W);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, rl);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(dbp_rl_size(rl) <= 100);
    dbp_rl_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_after_ten),        cmocka_unit_test(test_window_slides),
        cmocka_unit_test(test_success_clears),        cmocka_unit_test(test_bounded_lru),
        cmocka_unit_test(test_long_and_binary_names), cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_threads),               cmocka_unit_test(test_take_and_refund),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
