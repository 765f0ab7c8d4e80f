#include "tt_log.h"

#include <errno.h>
#include <log4c.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static log4c_category_t *g_cat;                          /* the daemon's category */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* one writer at a time */
static int g_inited;

/* ---- appender "tt_file" ---- */

static int file_open(log4c_appender_t *app)
{
    if (log4c_appender_get_udata(app))
        return 0;
    const char *name = log4c_appender_get_name(app);
    FILE *fp;
    if (strcmp(name, "stderr") == 0)
        fp = stderr;
    else if (strcmp(name, "stdout") == 0)
        fp = stdout;
    else {
        char path[4096];
        const char *dir = getenv("TT_LOG_DIR");
        if (name[0] != '/' && dir && *dir)
            snprintf(path, sizeof(path), "%s/%s", dir, name);
        else
            snprintf(path, sizeof(path), "%s", name);
        fp = fopen(path, "a");
        if (!fp)
            return -1;
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    log4c_appender_set_udata(app, fp);
    return 0;
}

static int file_append(log4c_appender_t *app, const log4c_logging_event_t *ev)
{
    FILE *fp = log4c_appender_get_udata(app);
    if (!fp)
        return -1;
    return fputs(ev->evt_rendered_msg, fp) == EOF ? -1 : 0;
}

static int file_close(log4c_appender_t *app)
{
    FILE *fp = log4c_appender_get_udata(app);
    if (fp && fp != stderr && fp != stdout)
        fclose(fp);
    else if (fp)
        fflush(fp);
    log4c_appender_set_udata(app, NULL);
    return 0;
}

static const log4c_appender_type_t tt_file_type = {"tt_file", file_open, file_append, file_close};

/* ---- layout "tt": 2026-11-25 10:00:00.123 ERROR  [category] text ---- */

static const char *tt_format(const log4c_layout_t *layout, const log4c_logging_event_t *ev)
{
    (void)layout;
    struct tm tm;
    time_t sec = ev->evt_timestamp.tv_sec;
    localtime_r(&sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(ev->evt_buffer.buf_data, ev->evt_buffer.buf_size, "%s.%03ld %-6s [%s] %s\n", stamp,
             (long)(ev->evt_timestamp.tv_usec / 1000), log4c_priority_to_string(ev->evt_priority),
             ev->evt_category, ev->evt_msg);
    return ev->evt_buffer.buf_data;
}

static const log4c_layout_type_t tt_layout_type = {"tt", tt_format};

static int to_log4c(int level)
{
    switch (level) {
    case TT_LOG_ERROR:
        return LOG4C_PRIORITY_ERROR;
    case TT_LOG_WARN:
        return LOG4C_PRIORITY_WARN;
    case TT_LOG_NOTICE:
        return LOG4C_PRIORITY_NOTICE;
    case TT_LOG_INFO:
        return LOG4C_PRIORITY_INFO;
    default:
        return LOG4C_PRIORITY_DEBUG;
    }
}

int tt_log_init(const char *category, const char *rcfile, int check_only, char *err,
                size_t errlen)
{
    if (access(rcfile, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot read log configuration: %s", rcfile, strerror(errno));
        return -1;
    }
    log4c_appender_type_set(&tt_file_type);
    log4c_layout_type_set(&tt_layout_type);
    if (!g_inited) {
        /* Point log4c's own search at the same file's directory, then load it explicitly. */
        if (log4c_init() != 0) {
            snprintf(err, errlen, "log4c initialisation failed");
            return -1;
        }
        g_inited = 1;
    }
    if (log4c_load(rcfile) != 0) {
        snprintf(err, errlen, "%s: log4c could not load this file", rcfile);
        return -1;
    }
    g_cat = log4c_category_get(category);
    if (!g_cat) {
        snprintf(err, errlen, "log4c has no category '%s'", category);
        return -1;
    }
    /* Open every appender now, before threads start (log4c is not thread-safe at init). */
    const log4c_appender_t *app = log4c_category_get_appender(g_cat);
    if (!check_only && app && log4c_appender_open((log4c_appender_t *)app) != 0) {
        snprintf(err, errlen, "%s: cannot open log appender '%s'", rcfile,
                 log4c_appender_get_name(app));
        return -1;
    }
    return 0;
}

void tt_log_reopen(void)
{
    if (!g_cat)
        return;
    pthread_mutex_lock(&g_lock);
    log4c_appender_t *app = (log4c_appender_t *)log4c_category_get_appender(g_cat);
    if (app) {
        log4c_appender_close(app);
        log4c_appender_open(app);
    }
    pthread_mutex_unlock(&g_lock);
}

void tt_log_fini(void)
{
    if (!g_inited)
        return;
    pthread_mutex_lock(&g_lock);
    log4c_fini();
    g_cat = NULL;
    g_inited = 0;
    pthread_mutex_unlock(&g_lock);
}

int tt_log_enabled(int level)
{
    return g_cat && log4c_category_is_priority_enabled(g_cat, to_log4c(level));
}

void tt_log_write(int level, const char *fmt, ...)
{
    if (!g_cat)
        return;
    int prio = to_log4c(level);
    if (!log4c_category_is_priority_enabled(g_cat, prio))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_lock);
    log4c_category_log(g_cat, prio, "%s", msg);
    pthread_mutex_unlock(&g_lock);
}

/* ---- rate-limited lines ---- */

static pthread_mutex_t g_limit_lock = PTHREAD_MUTEX_INITIALIZER; /* the limiters' counters */
static uint64_t g_suppressed_total;
static tt_log_limit_t *g_limiters; /* every limiter that ever suppressed a line */

uint64_t tt_log_limit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1; /* never 0 */
}

int tt_log_limit_take(tt_log_limit_t *l, uint64_t now_ms, uint64_t *report, uint64_t *report_ms)
{
    *report = 0;
    *report_ms = 0;
    if (l->window_at == 0 || now_ms - l->window_at >= TT_LOG_LIMIT_WINDOW_MS) {
        l->window_at = now_ms;
        l->lines = 0;
    }
    if (l->lines >= TT_LOG_LIMIT_LINES) {
        if (l->suppressed++ == 0)
            l->since = now_ms;
        g_suppressed_total++;
        return 0;
    }
    l->lines++;
    if (l->suppressed) {
        *report = l->suppressed;
        *report_ms = now_ms - l->since;
        l->suppressed = 0;
    }
    return 1;
}

uint64_t tt_log_suppressed_total(void)
{
    pthread_mutex_lock(&g_limit_lock);
    uint64_t n = g_suppressed_total;
    pthread_mutex_unlock(&g_limit_lock);
    return n;
}

void tt_log_limit_flush_at(uint64_t now_ms, int all)
{
    enum { MAX_REPORTS = 64 }; /* per call; the rest wait for the next one */
    struct {
        int level;
        const char *fmt;
        uint64_t n, ms;
    } rep[MAX_REPORTS];
    int nrep = 0;
    pthread_mutex_lock(&g_limit_lock);
    for (tt_log_limit_t *l = g_limiters; l && nrep < MAX_REPORTS; l = l->next) {
        if (!l->suppressed || (!all && now_ms - l->window_at < TT_LOG_LIMIT_WINDOW_MS))
            continue;
        rep[nrep].level = l->level;
        rep[nrep].fmt = l->fmt;
        rep[nrep].n = l->suppressed;
        rep[nrep].ms = now_ms - l->since;
        nrep++;
        l->suppressed = 0;
    }
    pthread_mutex_unlock(&g_limit_lock);
    for (int i = 0; i < nrep; i++)
        tt_log_write(rep[i].level, "%llu line(s) like \"%s\" suppressed in the last %llu s",
                     (unsigned long long)rep[i].n, rep[i].fmt,
                     (unsigned long long)(rep[i].ms + 999) / 1000);
}

void tt_log_limit_flush(void) { tt_log_limit_flush_at(tt_log_limit_now(), 0); }

void tt_log_limited(tt_log_limit_t *l, int level, const char *fmt, ...)
{
    if (!tt_log_enabled(level))
        return;
    uint64_t now = tt_log_limit_now();
    uint64_t report, report_ms;
    pthread_mutex_lock(&g_limit_lock);
    int ok = tt_log_limit_take(l, now, &report, &report_ms);
    if (!ok) {
        l->level = level;
        l->fmt = fmt;
        if (!l->listed) {
            l->listed = 1;
            l->next = g_limiters;
            g_limiters = l;
        }
    }
    pthread_mutex_unlock(&g_limit_lock);
    if (!ok)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (report)
        tt_log_write(level, "%llu similar line(s) suppressed in the last %llu s, like: %s",
                     (unsigned long long)report, (unsigned long long)(report_ms + 999) / 1000,
                     msg);
    else
        tt_log_write(level, "%s", msg);
}
