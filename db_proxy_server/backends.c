/* The backends from the configuration: the MariaDB pools named in DBInstances (teamtalk_master
 * takes the writes, teamtalk_slave the reads) and the Redis pools named in CacheInstances, each
 * with its <pool>_* keys. Nothing connects at start-up on the reactor: a probe job on a worker
 * opens one connection of each pool, so an unreachable server is reported (warning) while the
 * daemon listens and answers errors until it comes back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_proxy.h"
#include "tt_log.h"

#define MAX_POOL_NAMES 8

static const char *const db_required[] = {"teamtalk_master", "teamtalk_slave", NULL};
static const char *const cache_required[] = {"unread", "group_set", "token", "group_member",
                                             NULL};

static int pool_names(tt_daemon_t *d, const char *list_key, char *buf, size_t buflen,
                      const char **names)
{
    const char *list;
    if (tt_daemon_cfg_str(d, list_key, &list) < 0)
        return -1;
    return tt_cfg_split(list, ',', buf, buflen, names, MAX_POOL_NAMES);
}

static const char *pool_key(char *key, size_t len, const char *pool, const char *suffix)
{
    snprintf(key, len, "%s_%s", pool, suffix);
    return key;
}

/* Checks the keys of every pool named in list_key; required names must be there. */
static int check_pools(tt_daemon_t *d, const char *list_key, const char *const *required,
                       int redis)
{
    char buf[512], key[128];
    const char *names[MAX_POOL_NAMES];
    int n = pool_names(d, list_key, buf, sizeof(buf), names);
    if (n < 0)
        return -1;
    for (int r = 0; required[r]; r++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            found |= strcmp(names[i], required[r]) == 0;
        if (!found)
            return tt_daemon_cfg_error(d, "%s:%d: key '%s' must name the pool '%s'",
                                       tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, list_key),
                                       list_key, required[r]);
    }
    for (int i = 0; i < n; i++) {
        const char *s;
        long long v;
        uint16_t port;
        if (tt_daemon_cfg_str(d, pool_key(key, sizeof(key), names[i], "host"), &s) < 0 ||
            tt_daemon_cfg_port(d, pool_key(key, sizeof(key), names[i], "port"), -1, &port) < 0 ||
            tt_daemon_cfg_int(d, pool_key(key, sizeof(key), names[i], "maxconncnt"), -1, 1, 1024,
                              &v) < 0)
            return -1;
        if (redis) {
            if (tt_daemon_cfg_int(d, pool_key(key, sizeof(key), names[i], "db"), -1, 0, 1024,
                                  &v) < 0)
                return -1;
        } else {
            if (tt_daemon_cfg_str(d, pool_key(key, sizeof(key), names[i], "dbname"), &s) < 0 ||
                tt_daemon_cfg_str(d, pool_key(key, sizeof(key), names[i], "username"), &s) < 0)
                return -1;
            /* an empty password is allowed, but the key must be there */
            if (!tt_cfg_line(d->cfg, pool_key(key, sizeof(key), names[i], "password")) &&
                tt_daemon_cfg_str(d, key, &s) < 0)
                return -1;
        }
    }
    return 0;
}

int dbp_backends_configure(tt_daemon_t *d)
{
    return check_pools(d, "DBInstances", db_required, 0) < 0 ||
                   check_pools(d, "CacheInstances", cache_required, 1) < 0
               ? -1
               : 0;
}

static void on_backend_event(void *arg, int problem, const char *msg)
{
    (void)arg;
    if (problem)
        log_warn("%s", msg);
    else
        log_notice("%s", msg);
}

static long long cfg_num(tt_daemon_t *d, const char *pool, const char *suffix)
{
    char key[128];
    long long v = 0;
    tt_cfg_int(d->cfg, pool_key(key, sizeof(key), pool, suffix), 0, 0, 1 << 30, &v, NULL, 0);
    return v;
}

static const char *cfg_s(tt_daemon_t *d, const char *pool, const char *suffix)
{
    char key[128];
    return tt_cfg_str(d->cfg, pool_key(key, sizeof(key), pool, suffix), "");
}

static td_db_t *open_db(db_proxy_t *dbp, const char *pool)
{
    tt_daemon_t *d = &dbp->d;
    td_db_opts_t o = {
        .name = pool,
        .host = cfg_s(d, pool, "host"),
        .port = (uint16_t)cfg_num(d, pool, "port"),
        .dbname = cfg_s(d, pool, "dbname"),
        .user = cfg_s(d, pool, "username"),
        .password = cfg_s(d, pool, "password"),
        .max_conns = (uint32_t)cfg_num(d, pool, "maxconncnt"),
        .timeout_ms = dbp->db_timeout_ms,
        .on_event = on_backend_event,
    };
    return td_db_new(&o);
}

int dbp_backends_open(db_proxy_t *dbp)
{
    tt_daemon_t *d = &dbp->d;
    if (td_mysql_init() < 0) {
        log_error("cannot initialise the MariaDB client library");
        return -1;
    }
    dbp->mysql_ready = 1;
    dbp->master = open_db(dbp, "teamtalk_master");
    dbp->slave = open_db(dbp, "teamtalk_slave");
    if (!dbp->master || !dbp->slave) {
        log_error("out of memory creating the MariaDB pools");
        return -1;
    }
    char buf[512];
    const char *names[MAX_POOL_NAMES];
    int n = pool_names(d, "CacheInstances", buf, sizeof(buf), names);
    for (int i = 0; i < n && dbp->ncaches < DBP_MAX_CACHES; i++) {
        dbp_cache_opts_t o = {
            .name = names[i],
            .host = cfg_s(d, names[i], "host"),
            .port = (uint16_t)cfg_num(d, names[i], "port"),
            .db = (uint32_t)cfg_num(d, names[i], "db"),
            .max_conns = (uint32_t)cfg_num(d, names[i], "maxconncnt"),
            .timeout_ms = dbp->cache_timeout_ms,
            .on_event = on_backend_event,
        };
        dbp_cache_t *p = dbp_cache_new(&o);
        if (!p) {
            log_error("out of memory creating the Redis pool %s", names[i]);
            return -1;
        }
        dbp->caches[dbp->ncaches++] = p;
        if (strcmp(names[i], "token") == 0)
            dbp->token = p;
        else if (strcmp(names[i], "unread") == 0)
            dbp->unread = p;
    }
    return 0;
}

void dbp_backends_close(db_proxy_t *dbp)
{
    td_db_free(dbp->master);
    td_db_free(dbp->slave);
    dbp->master = dbp->slave = NULL;
    for (int i = 0; i < dbp->ncaches; i++)
        dbp_cache_free(dbp->caches[i]);
    dbp->ncaches = 0;
    dbp->token = dbp->unread = NULL;
    if (dbp->mysql_ready)
        td_mysql_end();
    dbp->mysql_ready = 0;
}

void *dbp_thread_start(void *arg)
{
    (void)arg;
    td_mysql_thread_init();
    return NULL;
}

void dbp_thread_stop(void *thread, void *arg)
{
    (void)thread;
    (void)arg;
    td_mysql_thread_end();
}

/* ---- start-up probe ---- */

typedef struct probe_s {
    dbp_job_t job;    /* executor link */
    db_proxy_t *dbp;  /* the daemon */
} probe_t;

static void probe_run(dbp_job_t *j, void *thread)
{
    (void)thread;
    db_proxy_t *dbp = ((probe_t *)j)->dbp;
    char err[512];
    td_db_t *dbs[] = {dbp->master, dbp->slave};
    for (size_t i = 0; i < 2; i++) /* failures are reported by the pool (warning) */
        td_db_put(dbs[i], td_db_get(dbs[i], err, sizeof(err)));
    for (int i = 0; i < dbp->ncaches; i++)
        dbp_cache_put(dbp->caches[i], dbp_cache_get(dbp->caches[i], err, sizeof(err)));
}

static void probe_release(dbp_job_t *j, int ran)
{
    (void)ran;
    probe_t *p = (probe_t *)j;
    dbp_workers_settle(p->dbp->workers, j->cost);
    free(p);
}

void dbp_backends_probe(db_proxy_t *dbp)
{
    probe_t *p = calloc(1, sizeof(*p));
    if (!p)
        return;
    p->job.cost = sizeof(*p);
    p->job.run = probe_run;
    p->job.release = probe_release;
    p->dbp = dbp;
    dbp_lane_init(&dbp->probe_lane);
    if (dbp_workers_submit(dbp->workers, &dbp->probe_lane, &p->job, 0) < 0)
        free(p);
}
