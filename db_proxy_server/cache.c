#include "cache.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VARGS 64     /* arguments of dbp_cache_cmdv */
#define PING_IDLE_MS 2000 /* a connection idle longer than this is pinged before use */

enum { ST_UNKNOWN, ST_UP, ST_LOST, ST_DOWN }; /* what the pool reported last */

struct dbp_cache_conn_s {
    dbp_cache_t *pool;  /* owning pool */
    redisContext *rc;   /* NULL while disconnected */
    int in_use;         /* checked out */
    uint64_t last_used; /* monotonic ms of the last check-in */
    char err[256];      /* last error */
};

struct dbp_cache_s {
    char *name, *host;           /* copies of the options */
    dbp_cache_opts_t o;          /* options */
    pthread_mutex_t mu;          /* guards everything below */
    pthread_cond_t cv;           /* a connection was given back */
    dbp_cache_conn_t *conns;     /* max_conns slots */
    uint64_t down_until;         /* fail fast until this monotonic ms */
    uint32_t backoff;            /* next fail-fast period */
    int state;                   /* ST_*: what was reported last */
    char last_err[256];          /* why the last connect failed */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void event(dbp_cache_t *p, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void event(dbp_cache_t *p, int problem, const char *fmt, ...)
{
    if (!p->o.on_event)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p->o.on_event(p->o.arg, problem, msg);
}

dbp_cache_t *dbp_cache_new(const dbp_cache_opts_t *opts)
{
    dbp_cache_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->o = *opts;
    if (!p->o.max_conns)
        p->o.max_conns = 1;
    if (!p->o.timeout_ms)
        p->o.timeout_ms = 2000;
    if (!p->o.backoff_min_ms)
        p->o.backoff_min_ms = 500;
    if (p->o.backoff_max_ms < p->o.backoff_min_ms)
        p->o.backoff_max_ms = p->o.backoff_min_ms > 5000 ? p->o.backoff_min_ms : 5000;
    p->name = strdup(opts->name ? opts->name : "");
    p->host = strdup(opts->host ? opts->host : "");
    p->conns = calloc(p->o.max_conns, sizeof(*p->conns));
    if (!p->name || !p->host || !p->conns) {
        free(p->name);
        free(p->host);
        free(p->conns);
        free(p);
        return NULL;
    }
    p->o.name = p->name;
    p->o.host = p->host;
    for (uint32_t i = 0; i < p->o.max_conns; i++)
        p->conns[i].pool = p;
    p->backoff = p->o.backoff_min_ms;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

void dbp_cache_free(dbp_cache_t *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->o.max_conns; i++)
        if (p->conns[i].rc)
            redisFree(p->conns[i].rc);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->conns);
    free(p->name);
    free(p->host);
    free(p);
}

const char *dbp_cache_name(const dbp_cache_t *p) { return p->name; }
const char *dbp_cache_error(const dbp_cache_conn_t *c) { return c->err; }

static struct timeval tv_of(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* Opens c->rc and selects the DB. 0 ok, -1 (reason in c->err). Without the pool lock. */
static int conn_open(dbp_cache_conn_t *c)
{
    dbp_cache_t *p = c->pool;
    redisContext *rc = redisConnectWithTimeout(p->host, p->o.port, tv_of(p->o.timeout_ms));
    if (!rc) {
        snprintf(c->err, sizeof(c->err), "out of memory");
        return -1;
    }
    if (rc->err) {
        snprintf(c->err, sizeof(c->err), "%s", rc->errstr);
        redisFree(rc);
        return -1;
    }
    if (redisSetTimeout(rc, tv_of(p->o.timeout_ms)) != REDIS_OK) {
        snprintf(c->err, sizeof(c->err), "cannot set the timeout: %s", rc->errstr);
        redisFree(rc);
        return -1;
    }
    if (p->o.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%u", (unsigned)p->o.db);
        const char *argv[] = {"SELECT", db};
        redisReply *r = redisCommandArgv(rc, 2, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (!ok)
            snprintf(c->err, sizeof(c->err), "SELECT %s: %s", db,
                     r ? (r->str ? r->str : "unexpected reply") : rc->errstr);
        if (r)
            freeReplyObject(r);
        if (!ok) {
            redisFree(rc);
            return -1;
        }
    }
    c->rc = rc;
    return 0;
}

dbp_cache_conn_t *dbp_cache_get(dbp_cache_t *p, char *err, size_t errlen)
{
    uint64_t deadline = now_ms() + p->o.timeout_ms;
    pthread_mutex_lock(&p->mu);
    dbp_cache_conn_t *c = NULL;
    for (;;) {
        dbp_cache_conn_t *closed = NULL;
        for (uint32_t i = 0; i < p->o.max_conns; i++) {
            dbp_cache_conn_t *x = &p->conns[i];
            if (x->in_use)
                continue;
            if (x->rc) {
                c = x;
                break;
            }
            if (!closed)
                closed = x;
        }
        if (!c)
            c = closed;
        if (c)
            break;
        uint64_t now = now_ms();
        if (now >= deadline) {
            pthread_mutex_unlock(&p->mu);
            snprintf(err, errlen, "%s: no free connection within %u ms", p->name,
                     (unsigned)p->o.timeout_ms);
            return NULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = deadline - now;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    uint64_t now = now_ms();
    if (!c->rc && now < p->down_until) {
        snprintf(err, errlen, "%s: Redis %s:%u unreachable (%s); next try in %u ms", p->name,
                 p->host, (unsigned)p->o.port, p->last_err, (unsigned)(p->down_until - now));
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    c->in_use = 1;
    int need_ping = c->rc && now - c->last_used > PING_IDLE_MS;
    pthread_mutex_unlock(&p->mu);
    if (need_ping) { /* a server restarted meanwhile must not cost a failed request */
        redisReply *r = dbp_cache_cmdv(c, "PING", NULL);
        if (r)
            freeReplyObject(r);
    }
    if (c->rc)
        return c;
    int rc = conn_open(c);
    pthread_mutex_lock(&p->mu);
    if (rc < 0) {
        p->down_until = now_ms() + p->backoff;
        uint32_t next = p->backoff * 2;
        p->backoff = next > p->o.backoff_max_ms ? p->o.backoff_max_ms : next;
        snprintf(p->last_err, sizeof(p->last_err), "%s", c->err);
        int report = p->state != ST_DOWN;
        p->state = ST_DOWN;
        c->in_use = 0;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (report)
            event(p, 1,
                  "Redis pool %s: cannot connect to %s:%u: %s (requests fail until it is back)",
                  p->name, p->host, (unsigned)p->o.port, c->err);
        snprintf(err, errlen, "%s: cannot connect to Redis %s:%u: %s", p->name, p->host,
                 (unsigned)p->o.port, c->err);
        return NULL;
    }
    p->backoff = p->o.backoff_min_ms;
    p->down_until = 0;
    int report = p->state != ST_UP;
    p->state = ST_UP;
    pthread_mutex_unlock(&p->mu);
    if (report)
        event(p, 0, "Redis pool %s: connected to %s:%u db %u", p->name, p->host,
              (unsigned)p->o.port, (unsigned)p->o.db);
    return c;
}

void dbp_cache_put(dbp_cache_t *p, dbp_cache_conn_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&p->mu);
    c->in_use = 0;
    c->last_used = now_ms();
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* An I/O or protocol error on c: its context cannot be used again. */
static void conn_failed(dbp_cache_conn_t *c)
{
    dbp_cache_t *p = c->pool;
    snprintf(c->err, sizeof(c->err), "%s", c->rc->errstr[0] ? c->rc->errstr : "I/O error");
    redisFree(c->rc);
    c->rc = NULL;
    pthread_mutex_lock(&p->mu);
    int report = p->state == ST_UP || p->state == ST_UNKNOWN;
    if (report)
        p->state = ST_LOST;
    pthread_mutex_unlock(&p->mu);
    if (report)
        event(p, 1, "Redis pool %s: lost the connection to %s:%u: %s", p->name, p->host,
              (unsigned)p->o.port, c->err);
}

redisReply *dbp_cache_cmd(dbp_cache_conn_t *c, int argc, const char **argv, const size_t *lens)
{
    if (!c->rc) {
        snprintf(c->err, sizeof(c->err), "not connected");
        return NULL;
    }
    redisReply *r = redisCommandArgv(c->rc, argc, argv, lens);
    if (r && !c->rc->err)
        return r;
    if (r)
        freeReplyObject(r);
    conn_failed(c);
    return NULL;
}

int dbp_cache_pipeline(dbp_cache_conn_t *c, dbp_cache_cmd_t *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cmds[i].reply = NULL;
    if (!c->rc) {
        snprintf(c->err, sizeof(c->err), "not connected");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        dbp_cache_cmd_t *m = &cmds[i];
        if (m->argc < 1 || (!m->av && m->argc > DBP_CACHE_ARGS_MAX) || (m->av && !m->al)) {
            snprintf(c->err, sizeof(c->err), "bad pipelined command");
            return -1;
        }
        if (!m->av)
            for (int a = 0; a < m->argc; a++)
                if (m->lens[a] == 0)
                    m->lens[a] = strlen(m->argv[a]);
        if (redisAppendCommandArgv(c->rc, m->argc, m->av ? (const char **)m->av : m->argv,
                                   m->av ? m->al : m->lens) != REDIS_OK)
            goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c->rc, &r) != REDIS_OK || !r) {
            if (r)
                freeReplyObject(r);
            goto fail;
        }
        cmds[i].reply = r;
    }
    return 0;
fail:
    for (size_t i = 0; i < n; i++) {
        if (cmds[i].reply)
            freeReplyObject(cmds[i].reply);
        cmds[i].reply = NULL;
    }
    conn_failed(c);
    return -1;
}

redisReply *dbp_cache_cmdv(dbp_cache_conn_t *c, ...)
{
    const char *argv[MAX_VARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, c);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < MAX_VARGS)
        argv[argc++] = a;
    va_end(ap);
    return dbp_cache_cmd(c, argc, argv, NULL);
}
