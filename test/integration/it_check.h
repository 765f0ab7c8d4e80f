/* Shared by the C programs the integration scripts run: one "ok:"/"FAIL:" line per check,
 * and a count of failures for the exit status. */
#ifndef IT_CHECK_H
#define IT_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int failures;

__attribute__((format(printf, 2, 3))) static int check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok)
        failures++;
    return ok;
}

#endif
