#include <string.h>

#include "tt_buf.h"
#include "tt_test.h"

static void test_append_consume_trim(void **state)
{
    (void)state;
    tt_buf_t b;
    tt_buf_init(&b);
    assert_int_equal(tt_buf_len(&b), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tt_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(tt_buf_len(&b), 10000);
    tt_buf_consume(&b, 9995);
    assert_memory_equal(tt_buf_head(&b), "56789", 5);
    /* reserving slides the unread bytes to the front rather than growing */
    size_t cap = b.cap;
    assert_int_equal(tt_buf_reserve(&b, cap - 5), 0);
    assert_int_equal(b.cap, cap);
    assert_memory_equal(tt_buf_head(&b), "56789", 5);
    tt_buf_trim(&b, 0);
    assert_non_null(b.data); /* not empty: kept */
    tt_buf_consume(&b, 5);
    tt_buf_trim(&b, 0);
    assert_null(b.data); /* empty: memory given back */
    assert_int_equal(tt_buf_append(&b, "x", 1), 0);
    tt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consume_trim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
