/* msfs: HTTP storage for images, avatars and voice on ListenIP:ListenPort, files under
 * BaseDir. This file wires the daemon together: http.c answers the requests, the pools of
 * pool.c run store.c's disk I/O and thumb.c's scaling off the loop, multipart.c and layout.c
 * parse and map names, and the retention sweep (walk.c) runs on its own worker. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "msfs.h"
#include "tt_log.h"

static int public_url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            return 0;
    return strlen(u) < 256;
}

/* ---- the retention sweep: a timer on the loop, the walk on the sweep worker ---- */

typedef struct sweep_job_s {
    msfs_job_t job;
    msfs_t *m;
    time_t cutoff;             /* files last changed before it go */
    int rc;                    /* msfs_sweep result */
    msfs_sweep_stats_t stats;  /* what went */
    char err[512];
} sweep_job_t;

static void sweep_run(msfs_job_t *job)
{
    sweep_job_t *sj = (sweep_job_t *)job;
    sj->rc = msfs_sweep(sj->m->base_dir, sj->cutoff, &sj->m->sweep_stop, &sj->stats, sj->err,
                        sizeof(sj->err));
}

static void sweep_done(msfs_job_t *job)
{
    sweep_job_t *sj = (sweep_job_t *)job;
    sj->m->sweep_running = 0;
    if (job->cancelled)
        ;
    else if (sj->rc < 0)
        log_error("retention sweep: %s", sj->err);
    else if (sj->stats.files || sj->stats.thumbs)
        log_notice("retention sweep: deleted %llu files older than %u days and %llu "
                   "thumbnails, %llu bytes",
                   (unsigned long long)sj->stats.files, (unsigned)sj->m->retention_days,
                   (unsigned long long)sj->stats.thumbs, (unsigned long long)sj->stats.bytes);
    else
        log_info("retention sweep: nothing older than %u days", (unsigned)sj->m->retention_days);
    free(sj);
}

static void sweep_tick(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    msfs_t *m = udata;
    if (m->sweep_running || m->d.stopping)
        return;
    sweep_job_t *sj = calloc(1, sizeof(*sj));
    if (!sj)
        return;
    sj->job.run = sweep_run;
    sj->job.done = sweep_done;
    sj->m = m;
    sj->cutoff = time(NULL) - (time_t)m->retention_days * 86400;
    if (msfs_pool_submit(&m->sweep_pool, &sj->job) < 0) {
        free(sj);
        return;
    }
    m->sweep_running = 1;
}

void msfs_sweep_start(msfs_t *m)
{
    if (!m->retention_days)
        return;
    uint64_t period = (uint64_t)m->sweep_secs * 1000;
    tt_timer_init(&m->sweep_timer, sweep_tick, m);
    tt_timer_start(m->d.loop, &m->sweep_timer, period < 10000 ? period : 10000, period);
    m->sweep_timer_on = 1;
}

static int configure(tt_daemon_t *d, void *udata)
{
    msfs_t *m = udata;
    uint16_t port;
    long long per_dir, cnt, get_threads, post_threads, max_body, max_file, get_queue,
        post_queue, max_conns, thumb_side, thumb_pixels, thumb_threads, thumb_queue, days,
        sweep_secs, thumb_cache;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "BaseDir", &m->base_dir) < 0 ||
        tt_daemon_cfg_int(d, "FilesPerDir", 30000, 1, 1000000, &per_dir) < 0 ||
        tt_daemon_cfg_int(d, "FileCnt", 0, 0, 1LL << 50, &cnt) < 0 ||
        tt_daemon_cfg_int(d, "GetThreadCount", 4, 1, 256, &get_threads) < 0 ||
        tt_daemon_cfg_int(d, "PostThreadCount", 2, 1, 256, &post_threads) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxBody", 10 << 20, 1024, 1LL << 30, &max_body) < 0 ||
        tt_daemon_cfg_int(d, "MaxFileSize", 5 << 20, 1, (long long)MSFS_MAX_SERVE,
                          &max_file) < 0 ||
        tt_daemon_cfg_int(d, "GetQueueSize", 1024, 1, 1000000, &get_queue) < 0 ||
        tt_daemon_cfg_int(d, "PostQueueSize", 64, 1, 100000, &post_queue) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxConns", 1024, 1, 100000, &max_conns) < 0 ||
        tt_daemon_cfg_int(d, "ThumbMaxSize", 2048, 16, 8192, &thumb_side) < 0 ||
        tt_daemon_cfg_int(d, "ThumbMaxPixels", 50000000, 1, 1LL << 32, &thumb_pixels) < 0 ||
        tt_daemon_cfg_int(d, "ThumbCacheMax", 8, 0, 1000, &thumb_cache) < 0 ||
        tt_daemon_cfg_int(d, "ThumbThreadCount", 1, 1, 64, &thumb_threads) < 0 ||
        tt_daemon_cfg_int(d, "ThumbQueueSize", 32, 1, 10000, &thumb_queue) < 0 ||
        tt_daemon_cfg_int(d, "RetentionDays", 0, 0, 100000, &days) < 0 ||
        tt_daemon_cfg_int(d, "RetentionSweepSecs", 86400, 1, 7 * 86400, &sweep_secs) < 0)
        return -1;
    m->thumb_max_side = (unsigned)thumb_side;
    m->thumb_lim.max_pixels = (uint64_t)thumb_pixels;
    m->thumb_lim.cache_max = (unsigned)thumb_cache;
    m->thumb_threads = (int)thumb_threads;
    m->thumb_queue = (size_t)thumb_queue;
    m->retention_days = (uint32_t)days;
    m->sweep_secs = (uint32_t)sweep_secs;
    m->public_url = tt_cfg_str(d->cfg, "PublicUrl", NULL);
    if (m->public_url && *m->public_url && !public_url_ok(m->public_url))
        return tt_daemon_cfg_error(d, "%s:%d: key 'PublicUrl': '%s' is not an http:// or "
                                   "https:// URL without spaces, quotes or backslashes",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "PublicUrl"),
                                   m->public_url);
    m->files_per_dir = (uint64_t)per_dir;
    m->conf_file_cnt = (uint64_t)cnt;
    m->get_threads = (int)get_threads;
    m->post_threads = (int)post_threads;
    m->max_file = (size_t)max_file;
    m->get_queue = (size_t)get_queue;
    m->post_queue = (size_t)post_queue;
    m->http = (tt_http_limits_t){.max_body = (size_t)max_body, .idle_ms = 30000,
                                 .max_conns = (uint32_t)max_conns};
    return tt_daemon_cfg_http(d, &m->http);
}

/* One HTTP listener per address of the ';'-separated ListenIP (as the original). */
static int listen_all(msfs_t *m)
{
    tt_daemon_t *d = &m->d;
    char buf[1024], err[512];
    const char *hosts[TT_DAEMON_MAX_SERVERS];
    uint16_t port;
    int n = tt_cfg_split(tt_cfg_str(d->cfg, "ListenIP", "0.0.0.0"), ';', buf, sizeof(buf),
                         hosts, TT_DAEMON_MAX_SERVERS);
    if (n == 0)
        hosts[n++] = "0.0.0.0";
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0)
        return -1;
    m->http.pool = &d->pool; /* MaxConnBuffersMB */
    for (int i = 0; i < n; i++) {
        if (d->nhttps >= TT_DAEMON_MAX_SERVERS)
            return tt_daemon_cfg_error(d, "too many listeners");
        tt_http_server_t *s = tt_http_server_new(d->loop, hosts[i], port, &m->http,
                                                 msfs_http_request, m, err, sizeof(err));
        if (!s)
            return tt_daemon_cfg_error(d, "%s", err);
        tt_http_server_set_stream(s, &msfs_http_stream);
        d->https[d->nhttps++] = s; /* drained and freed by tt_daemon */
        log_notice("HTTP listening on %s port %u (ListenPort)", hosts[i],
                   (unsigned)tt_http_server_port(s));
    }
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    msfs_t *m = udata;
    char err[512];
    if (msfs_store_open(&m->store, m->base_dir, m->files_per_dir, m->conf_file_cnt, err,
                        sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    log_notice("storing under %s, next file number %llu, %llu files per directory",
               m->base_dir, (unsigned long long)msfs_store_count(&m->store),
               (unsigned long long)m->files_per_dir);
    if (msfs_thumb_init("msfs", err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    m->thumb_ok = 1;
    if (msfs_pool_start(&m->get_pool, d->loop, "get", m->get_threads, m->get_queue, err,
                        sizeof(err)) < 0 ||
        msfs_pool_start(&m->post_pool, d->loop, "post", m->post_threads, m->post_queue, err,
                        sizeof(err)) < 0 ||
        msfs_pool_start(&m->thumb_pool, d->loop, "thumb", m->thumb_threads, m->thumb_queue,
                        err, sizeof(err)) < 0 ||
        msfs_pool_start(&m->sweep_pool, d->loop, "sweep", 1, 1, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    if (m->retention_days)
        log_notice("retention: files older than %u days are deleted, swept every %u s",
                   (unsigned)m->retention_days, (unsigned)m->sweep_secs);
    msfs_sweep_start(m);
    return listen_all(m);
}

/* After the loop ended (the drain answered what it could in time): running writes finish,
 * queued ones are cancelled, then the store is closed. */
static void finish(tt_daemon_t *d, void *udata)
{
    msfs_t *m = udata;
    if (m->sweep_timer_on)
        tt_timer_stop(d->loop, &m->sweep_timer);
    __atomic_store_n(&m->sweep_stop, 1, __ATOMIC_RELAXED);
    msfs_pool_stop(&m->post_pool);
    msfs_pool_stop(&m->get_pool);
    msfs_pool_stop(&m->thumb_pool);
    msfs_pool_stop(&m->sweep_pool);
    if (m->store.lock_ok)
        log_notice("stored %llu files in this run, served %llu (thumbnails: %llu made, %llu "
                   "from the cache), refused %llu as busy; next file number %llu",
                   (unsigned long long)m->uploads, (unsigned long long)m->downloads,
                   (unsigned long long)m->thumbs_made, (unsigned long long)m->thumbs_cached,
                   (unsigned long long)m->refused_busy,
                   (unsigned long long)msfs_store_count(&m->store));
    msfs_store_close(&m->store);
    if (m->thumb_ok)
        msfs_thumb_shutdown();
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    msfs_t m;
    memset(&m, 0, sizeof(m));
    m.store.dir_fd = -1;
    return tt_daemon_main(&m.d, "msfs", "msfs.conf", argc, argv, &ops, &m);
}
