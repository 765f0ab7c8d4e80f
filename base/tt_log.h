/* tt_log: logging through log4c. One category per daemon, configured by a log4crc file.
 * Registers the appender type "tt_file" (name = "stderr", "stdout" or a file path; relative
 * paths are taken from $TT_LOG_DIR, else the working directory; files are reopened by
 * tt_log_reopen for log rotation) and the layout "tt" (time, priority, category, message).
 * log4c is process-global, so this module is the one place in base/ with process state; it
 * is initialised once, before any thread starts, and serialises writers with a mutex. */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- rate-limited lines: for whatever a peer's bad input can make us log ----
 *
 * A limiter (one per call site, see log_warn_rl) lets TT_LOG_LIMIT_LINES lines through per
 * TT_LOG_LIMIT_WINDOW_MS window and counts the rest. The count is reported by the first line
 * of a later window ("N similar line(s) suppressed in the last S s, like: ..."), or, when no
 * line comes, by tt_log_limit_flush (tt_daemon calls it every few seconds). So a flood of junk
 * costs at most a few lines per window and call site, whatever its rate, and the log still
 * says how much there was. Thread-safe (one mutex; these are error paths). */
#define TT_LOG_LIMIT_LINES 10
#define TT_LOG_LIMIT_WINDOW_MS 10000

typedef struct tt_log_limit_s {
    uint64_t window_at;  /* monotonic ms the current window began (0: none yet) */
    uint32_t lines;      /* lines let through in it */
    uint64_t suppressed; /* lines dropped since the last report */
    uint64_t since;      /* monotonic ms of the first line dropped since the last report */
    int level;           /* of the lines dropped */
    const char *fmt;     /* their format (a literal at the call site) */
    struct tt_log_limit_s *next; /* list of limiters that ever dropped a line */
    int listed;          /* on that list */
} tt_log_limit_t;

/* The accounting alone, at time now_ms (> 0): 1 when a line may be written (then *report is
 * the number of lines suppressed before it, to be reported first, and *report_ms the time
 * they cover), 0 when it is suppressed (and counted). */
int tt_log_limit_take(tt_log_limit_t *l, uint64_t now_ms, uint64_t *report, uint64_t *report_ms);
/* Writes the line if l lets it through now (after the count of what l suppressed, if any). */
void tt_log_limited(tt_log_limit_t *l, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports what limiters suppressed in windows that are over (no line came since to carry
 * the count): one line per limiter, "N line(s) like "fmt" suppressed in the last S s".
 * _at: at a given monotonic time in ms (tests), and with all, windows not over too (at exit). */
void tt_log_limit_flush(void);
void tt_log_limit_flush_at(uint64_t now_ms, int all);
/* The clock of the limiters: monotonic ms, never 0. */
uint64_t tt_log_limit_now(void);
/* Lines suppressed by every limiter since the start (for tests and stats). */
uint64_t tt_log_suppressed_total(void);

#define TT_LOG_RL_(level, ...)                                                                 \
    do {                                                                                       \
        static tt_log_limit_t tt_rl_;                                                          \
        tt_log_limited(&tt_rl_, level, __VA_ARGS__);                                           \
    } while (0)
#define log_error_rl(...) TT_LOG_RL_(TT_LOG_ERROR, __VA_ARGS__)
#define log_warn_rl(...) TT_LOG_RL_(TT_LOG_WARN, __VA_ARGS__)
#define log_notice_rl(...) TT_LOG_RL_(TT_LOG_NOTICE, __VA_ARGS__)
#define log_info_rl(...) TT_LOG_RL_(TT_LOG_INFO, __VA_ARGS__)

#endif
