/* tt_log: logging through log4c. One category per daemon, configured by a log4crc file.
 * Registers the appender type "tt_file" (name = "stderr", "stdout" or a file path; relative
 * paths are taken from $TT_LOG_DIR, else the working directory; files are reopened by
 * tt_log_reopen for log rotation) and the layout "tt" (time, priority, category, message).
 * log4c is process-global, so this module is the one place in base/ with process state; it
 * is initialised once, before any thread starts, and serialises writers with a mutex. */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stddef.h>

enum { TT_LOG_ERROR = 0, TT_LOG_WARN, TT_LOG_NOTICE, TT_LOG_INFO, TT_LOG_DEBUG };

/* Loads rcfile and selects the category; unless check_only, opens its appender. -1 (reason
 * in err) when the file is missing, does not parse or its log file cannot be opened. */
int tt_log_init(const char *category, const char *rcfile, int check_only, char *err,
                size_t errlen);
void tt_log_reopen(void);
void tt_log_fini(void);
int tt_log_enabled(int level);
void tt_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) tt_log_write(TT_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) tt_log_write(TT_LOG_WARN, __VA_ARGS__)
#define log_notice(...) tt_log_write(TT_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) tt_log_write(TT_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                         \
    do {                                                                                       \
        if (tt_log_enabled(TT_LOG_DEBUG))                                                      \
            tt_log_write(TT_LOG_DEBUG, __VA_ARGS__);                                           \
    } while (0)

#endif
