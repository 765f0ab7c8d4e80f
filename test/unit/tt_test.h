/* Shared includes for the cmocka unit tests. */
#ifndef TT_TEST_H
#define TT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tt_loop.h"

/* Runs the loop until *flag becomes non-zero or timeout_ms passes; returns the flag. */
static inline int tt_test_run_until(tt_loop_t *loop, volatile int *flag, uint64_t timeout_ms)
{
    uint64_t deadline = tt_clock_ms() + timeout_ms;
    while (!*flag && tt_clock_ms() < deadline)
        tt_loop_run_once(loop, 10);
    return *flag;
}

#endif
