/* db_proxy_server: the only daemon that touches MariaDB and Redis. msg_servers and
 * http_msg_servers connect on ListenIP:ListenPort. This file wires the daemon together:
 * backends.c makes the pools, workers.c runs requests off the reactor, peers.c handles the
 * connections and the path of a request, h_*.c are the command handlers. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db_proxy.h"
#include "h_msg.h"
#include "td_password.h"
#include "tt_log.h"

#define MAX_OUT_BYTES (64u << 20) /* output queued per peer before it is cut off */

static int configure(tt_daemon_t *d, void *udata)
{
    db_proxy_t *dbp = udata;
    uint16_t port;
    long long threads, iter, pending, pending_bytes, db_ms, cache_ms, window, batch, batches;
    long long resend;
    long long lthreads, lkdf, lqueue, lwait, afail, awin, ufail, uwin, lcache;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *aes;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "ThreadNum", -1, 1, 256, &threads) < 0 ||
        tt_daemon_cfg_str(d, "MsfsSite", &dbp->msfs_site) < 0 ||
        tt_daemon_cfg_str(d, "aesKey", &aes) < 0 || tt_daemon_max_pdu(d, &dbp->max_pdu) < 0 ||
        tt_daemon_cfg_int(d, "PasswordKdfIterations", TD_PW_DEFAULT_ITER, TD_PW_MIN_ITER,
                          TD_PW_MAX_ITER, &iter) < 0 ||
        tt_daemon_cfg_int(d, "MaxPendingRequests", 4096, 16, 1000000, &pending) < 0 ||
        tt_daemon_cfg_int(d, "MaxPendingBytes", 64 << 20, 1 << 20, 4ll << 30, &pending_bytes) <
            0 ||
        tt_daemon_cfg_int(d, "DBTimeoutMs", 5000, 100, 600000, &db_ms) < 0 ||
        tt_daemon_cfg_int(d, "CacheTimeoutMs", 2000, 100, 600000, &cache_ms) < 0 ||
        tt_daemon_cfg_int(d, "DedupeWindowSeconds", DBP_MSG_DEDUPE_WINDOW_S, 0, 7 * 86400,
                          &window) < 0 ||
        tt_daemon_cfg_int(d, "ResendWindowSeconds", DBP_MSG_RESEND_WINDOW_S, 0, 3600,
                          &resend) < 0 ||
        tt_daemon_cfg_int(d, "MsgBatchMax", DBP_MSG_BATCH_DEFAULT, 1, TD_MSG_BATCH_MAX, &batch) <
            0 ||
        tt_daemon_cfg_int(d, "MsgBatchParallel", DBP_MSG_BATCHES_DEFAULT, 0, 256, &batches) < 0 ||
        tt_daemon_cfg_int(d, "LoginThreads", 8, 1, 256, &lthreads) < 0 ||
        tt_daemon_cfg_int(d, "LoginKdfParallel", ncpu > 1 ? (ncpu < 64 ? ncpu : 64) : 1, 1, 256,
                          &lkdf) < 0 ||
        tt_daemon_cfg_int(d, "LoginQueueMax", 1024, 1, 1000000, &lqueue) < 0 ||
        tt_daemon_cfg_int(d, "LoginMaxWaitMs", 8000, 100, 600000, &lwait) < 0 ||
        tt_daemon_cfg_int(d, "LoginFailLimit", DBP_LOGIN_ADDR_FAILURES, 1,
                          DBP_RL_MAX_FAILURES_CAP, &afail) < 0 ||
        tt_daemon_cfg_int(d, "LoginFailWindow", DBP_LOGIN_ADDR_WINDOW_S, 1, 86400, &awin) < 0 ||
        tt_daemon_cfg_int(d, "LoginUserFailLimit", DBP_LOGIN_MAX_FAILURES, 1,
                          DBP_RL_MAX_FAILURES_CAP, &ufail) < 0 ||
        tt_daemon_cfg_int(d, "LoginUserFailWindow", DBP_LOGIN_WINDOW_S, 1, 86400, &uwin) < 0 ||
        tt_daemon_cfg_int(d, "LoginCacheMax", DBP_LOGIN_CACHE_DEFAULT, 1, 100000000, &lcache) <
            0)
        return -1;
    if (strlen(aes) != 32)
        return tt_daemon_cfg_error(d, "%s:%d: key 'aesKey' must be exactly 32 characters",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "aesKey"));
    if (dbp_backends_configure(d) < 0)
        return -1;
    dbp->threads = (int)threads;
    dbp->kdf_iterations = (uint32_t)iter;
    dbp->max_pending = (size_t)pending;
    dbp->max_pending_bytes = (size_t)pending_bytes;
    dbp->db_timeout_ms = (uint32_t)db_ms;
    dbp->cache_timeout_ms = (uint32_t)cache_ms;
    dbp->dedupe_window = (uint32_t)window;
    dbp->resend_window = (uint32_t)resend;
    dbp->msg_batch_max = (size_t)batch;
    dbp->msg_batches = (size_t)batches;
    dbp->login_threads = (int)lthreads;
    dbp->kdf_parallel = (int)lkdf;
    dbp->login_queue = (size_t)lqueue;
    dbp->login_max_wait_ms = (uint32_t)lwait;
    dbp->addr_fail_limit = (uint32_t)afail;
    dbp->addr_fail_window = (uint32_t)awin;
    dbp->user_fail_limit = (uint32_t)ufail;
    dbp->user_fail_window = (uint32_t)uwin;
    dbp->login_cache_max = (size_t)lcache;
    dbp->peer_opts = (tt_server_opts_t){
        .max_pdu = dbp->max_pdu,
        .lim = {.idle_ms = 30000, .keepalive_ms = 5000, .max_out = MAX_OUT_BYTES},
        .send_heartbeat = 1,
        .daemon_only = 1,
    };
    return 0;
}

static void on_stop(void *udata) { dbp_peers_stop(udata); }

static int start(tt_daemon_t *d, void *udata)
{
    db_proxy_t *dbp = udata;
    dbp_peers_init(dbp);
    pthread_mutex_init(&dbp->kdf_mu, NULL);
    pthread_cond_init(&dbp->kdf_cv, NULL);
    dbp->login_failures =
        dbp_rl_new(DBP_LOGIN_TABLE_MAX, dbp->user_fail_limit, dbp->user_fail_window);
    dbp->login_addr_failures =
        dbp_rl_new(DBP_LOGIN_TABLE_MAX, dbp->addr_fail_limit, dbp->addr_fail_window);
    dbp->login_name_failures =
        dbp_rl_new(DBP_LOGIN_TABLE_MAX, dbp->user_fail_limit, dbp->user_fail_window);
    dbp->creds = dbp_cred_new(dbp->login_cache_max);
    if (!dbp->login_failures || !dbp->login_addr_failures || !dbp->login_name_failures ||
        !dbp->creds) {
        log_error("out of memory creating the login tables");
        return -1;
    }
    if (dbp_backends_open(dbp) < 0)
        return -1;
    dbp_workers_opts_t wo = {
        .threads = dbp->threads,
        .max_jobs = dbp->max_pending + 2, /* + the start-up probe and the status poll */
        .max_bytes = dbp->max_pending_bytes,
        .thread_start = dbp_thread_start,
        .thread_stop = dbp_thread_stop,
        .arg = dbp,
        .max_batch = dbp->msg_batch_max,
        .max_batches = dbp->msg_batches,
    };
    dbp->workers = dbp_workers_new(&wo);
    if (!dbp->workers) {
        log_error("cannot start %d worker threads", dbp->threads);
        return -1;
    }
    dbp_workers_opts_t lo = {
        .threads = dbp->login_threads,
        .max_jobs = dbp->login_queue,
        .max_bytes = dbp->login_queue * 4096 + (1u << 20), /* a login request is < 4 KiB */
        .thread_start = dbp_thread_start,
        .thread_stop = dbp_thread_stop,
        .arg = dbp,
        .max_batch = 2 * TD_NAMES_PER_QUERY, /* logins waiting together: up to 32 at once */
    };
    dbp->login_workers = dbp_workers_new(&lo);
    if (!dbp->login_workers) {
        log_error("cannot start %d login threads", dbp->login_threads);
        return -1;
    }
    d->on_stop = on_stop;
    if (tt_daemon_listen(d, "ListenIP", "ListenPort", &dbp->peer_opts, &dbp_peer_handler, dbp,
                         &dbp->listener) < 0)
        return -1;
    log_notice("%d worker threads, at most %zu requests / %zu bytes in flight, "
               "passwords: pbkdf2_sha256 with %u iterations, up to %zu messages stored per "
               "transaction, resends recognised for %u s (same msg_id) / %u s (same seq and time)",
               dbp->threads, dbp->max_pending, dbp->max_pending_bytes,
               (unsigned)dbp->kdf_iterations, dbp->msg_batch_max, (unsigned)dbp->dedupe_window,
               (unsigned)dbp->resend_window);
    log_notice("logins: %d threads (%d hashing at once), at most %zu queued; %u failures per "
               "address in %u s, %u per account in %u s (not from an address the user logged "
               "in from); %zu verified credentials kept",
               dbp->login_threads, dbp->kdf_parallel, dbp->login_queue,
               (unsigned)dbp->addr_fail_limit,
               (unsigned)dbp->addr_fail_window, (unsigned)dbp->user_fail_limit,
               (unsigned)dbp->user_fail_window, dbp->login_cache_max);
    dbp_backends_probe(dbp);
    if (dbp_status_start(dbp) < 0) {
        log_error("out of memory starting the disabled-user poll");
        return -1;
    }
    return 0;
}

/* Runs before the listener is freed (its on_close callbacks no longer reach us then). */
static void finish(tt_daemon_t *d, void *udata)
{
    (void)d;
    db_proxy_t *dbp = udata;
    dbp->stopping = 1;
    if (dbp->workers)
        dbp_workers_stop(dbp->workers); /* running requests finish, waiting ones are dropped */
    if (dbp->login_workers)
        dbp_workers_stop(dbp->login_workers);
    if (dbp->outbox_ready)
        dbp_peers_free(dbp); /* writes the last answers */
    dbp_status_free(dbp); /* no poll runs any more */
    dbp_workers_free(dbp->workers);
    dbp->workers = NULL;
    dbp_workers_free(dbp->login_workers);
    dbp->login_workers = NULL;
    dbp_backends_close(dbp);
    dbp_rl_free(dbp->login_failures);
    dbp->login_failures = NULL;
    dbp_rl_free(dbp->login_addr_failures);
    dbp->login_addr_failures = NULL;
    dbp_rl_free(dbp->login_name_failures);
    dbp->login_name_failures = NULL;
    dbp_cred_free(dbp->creds);
    dbp->creds = NULL;
    if (dbp->outbox_ready)
        pthread_mutex_destroy(&dbp->outbox_mu);
    dbp->outbox_ready = 0;
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    db_proxy_t dbp;
    memset(&dbp, 0, sizeof(dbp));
    return tt_daemon_main(&dbp.d, "db_proxy_server", "dbproxyserver.conf", argc, argv, &ops,
                          &dbp);
}
