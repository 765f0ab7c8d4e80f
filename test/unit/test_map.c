#include <stdlib.h>

#include "tt_map.h"
#include "tt_test.h"

static void test_put_get_del(void **state)
{
    (void)state;
    tt_map_t m;
    tt_map_init(&m);
    assert_null(tt_map_get(&m, 1));
    assert_null(tt_map_del(&m, 1));
    enum { N = 20000 };
    static int vals[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(tt_map_put(&m, (uint64_t)i * 7919u, &vals[i]), 0);
    assert_int_equal(tt_map_len(&m), N);
    assert_int_equal(tt_map_put(&m, 0, &vals[5]), 0); /* replace */
    assert_int_equal(tt_map_len(&m), N);
    assert_ptr_equal(tt_map_get(&m, 0), &vals[5]);
    /* delete every other key, check the rest are still reachable */
    for (int i = 0; i < N; i += 2)
        assert_ptr_equal(tt_map_del(&m, (uint64_t)i * 7919u), i == 0 ? &vals[5] : &vals[i]);
    assert_int_equal(tt_map_len(&m), N / 2);
    for (int i = 0; i < N; i++) {
        void *v = tt_map_get(&m, (uint64_t)i * 7919u);
        if (i % 2)
            assert_ptr_equal(v, &vals[i]);
        else
            assert_null(v);
    }
    /* random churn against a reference array */
    static void *ref[4096];
    unsigned seed = 7;
    for (int step = 0; step < 200000; step++) {
        uint64_t k = (uint64_t)(rand_r(&seed) % 4096);
        if (rand_r(&seed) % 2) {
            tt_map_put(&m, k + 1000000, &vals[k]);
            ref[k] = &vals[k];
        } else {
            assert_ptr_equal(tt_map_del(&m, k + 1000000), ref[k]);
            ref[k] = NULL;
        }
    }
    for (uint64_t k = 0; k < 4096; k++)
        assert_ptr_equal(tt_map_get(&m, k + 1000000), ref[k]);
    tt_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_put_get_del)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
