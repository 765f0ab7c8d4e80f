/* Disabled users lose their live sessions within seconds. ttadm (`user disable`) writes
 * IMUser.status = 3 and updated = now straight into MariaDB; nothing tells the daemons, so:
 *   - every DBP_STATUS_POLL_MS a job on a worker reads the users who left since the previous
 *     read (td_users_left_since: one indexed range read on `updated`, migration 007). The
 *     windows overlap by DBP_STATUS_OVERLAP_S seconds, so a row committed late is still seen
 *     and a login answered just before the change is caught by the next read. The reactor
 *     writes one IMServerKickUser (seq 0) per such user to every connected peer; a msg_server
 *     closes all of that user's connections (IMKickUser first) and reads nothing more of them.
 *   - what a poll cannot have seen (this process was not running, or the msg_server was not
 *     connected when the change was read): a msg_server reports the users logged in on it
 *     (IMOnlineUserInfo, as it does to route_server) whenever its first link to this db_proxy
 *     comes up, and is answered with an IMServerKickUser for each of them who left
 *     (h_status.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "db_proxy.h"
#include "tt_buf.h"
#include "tt_log.h"

#define DBP_STATUS_POLL_MS 2000          /* how often the poll runs */
#define DBP_STATUS_OVERLAP_S 5           /* a window starts this long before the last one ended */
#define DBP_STATUS_MAX_QUEUED (8u << 20) /* kick bytes waiting for the reactor, at most */

struct dbp_status_s {
    dbp_job_t job;         /* the poll: one at a time (first member) */
    dbp_lane_t lane;       /* its lane */
    db_proxy_t *dbp;       /* the daemon */
    tt_timer_t timer;      /* reactor: starts a poll */
    atomic_int running;    /* the job is submitted and not released yet */
    uint32_t since;        /* worker: start of the next window (0: not known yet) */
    int db_failed;         /* worker: the last poll failed (logged once) */
    pthread_mutex_t mu;    /* guards the two below */
    tt_buf_t out;          /* kicks waiting for the reactor */
    int posted;            /* a flush is posted */
};

/* Reactor: writes the waiting kicks to every peer. */
static void status_flush(void *arg)
{
    dbp_status_t *st = arg;
    pthread_mutex_lock(&st->mu);
    tt_buf_t out = st->out;
    tt_buf_init(&st->out);
    st->posted = 0;
    pthread_mutex_unlock(&st->mu);
    if (tt_buf_len(&out) > 0)
        dbp_peers_send_all(st->dbp, tt_buf_head(&out), tt_buf_len(&out));
    tt_buf_free(&out);
}

static void poll_run(dbp_job_t *j, void *thread)
{
    (void)thread;
    dbp_status_t *st = (dbp_status_t *)j;
    db_proxy_t *dbp = st->dbp;
    char err[512];
    td_conn_t *c = td_db_get(dbp->slave, err, sizeof(err));
    if (!c)
        return; /* the pool warns about the database itself */
    uint32_t now = 0, *ids = NULL;
    size_t n = 0;
    /* The first read only learns the clock: what changed before is caught by the msg_servers'
     * IMOnlineUserInfo when they connect. */
    int rc = td_users_left_since(c, st->since ? st->since : UINT32_MAX, &now, &ids, &n);
    if (rc < 0 && !st->db_failed)
        log_warn("disabled-user poll failed: %s (%u)", td_conn_error(c), td_conn_errno(c));
    td_db_put(dbp->slave, c);
    st->db_failed = rc < 0;
    if (rc < 0)
        return;
    st->since = now > DBP_STATUS_OVERLAP_S ? now - DBP_STATUS_OVERLAP_S : 1;
    if (n == TD_LEFT_MAX)
        log_warn("more than %d users disabled within %d s: only %d sessions closed now",
                 TD_LEFT_MAX, DBP_STATUS_OVERLAP_S, TD_LEFT_MAX);
    if (n == 0) {
        free(ids);
        return;
    }
    pthread_mutex_lock(&st->mu);
    size_t kept = 0;
    for (size_t i = 0; i < n && tt_buf_len(&st->out) < DBP_STATUS_MAX_QUEUED; i++)
        if (dbp_kick_append(&st->out, ids[i]) == 0)
            kept++;
    int ring = kept > 0 && !st->posted;
    if (ring)
        st->posted = 1;
    pthread_mutex_unlock(&st->mu);
    log_debug("disabled-user poll: %zu user(s) to disconnect", kept);
    if (kept < n)
        log_warn("disabled-user poll: %zu of %zu kicks not queued", n - kept, n);
    if (ring && tt_loop_post(dbp->d.loop, status_flush, st) < 0) {
        pthread_mutex_lock(&st->mu);
        st->posted = 0; /* the next poll rings again */
        pthread_mutex_unlock(&st->mu);
    }
    free(ids);
}

static void poll_release(dbp_job_t *j, int ran)
{
    (void)ran;
    dbp_status_t *st = (dbp_status_t *)j;
    dbp_workers_settle(st->dbp->workers, j->cost);
    atomic_store(&st->running, 0);
}

static void poll_tick(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    dbp_status_t *st = udata;
    if (st->dbp->stopping || atomic_load(&st->running))
        return; /* the previous poll is still running (a slow database): skip this one */
    memset(&st->job, 0, sizeof(st->job));
    st->job.cost = sizeof(*st);
    st->job.run = poll_run;
    st->job.release = poll_release;
    atomic_store(&st->running, 1);
    if (dbp_workers_submit(st->dbp->workers, &st->lane, &st->job, 0) < 0)
        atomic_store(&st->running, 0); /* busy: the next tick tries again */
}

int dbp_status_start(db_proxy_t *dbp)
{
    dbp_status_t *st = calloc(1, sizeof(*st));
    if (!st)
        return -1;
    st->dbp = dbp;
    dbp_lane_init(&st->lane);
    atomic_init(&st->running, 0);
    pthread_mutex_init(&st->mu, NULL);
    tt_buf_init(&st->out);
    tt_timer_init(&st->timer, poll_tick, st);
    tt_timer_start(dbp->d.loop, &st->timer, 0, DBP_STATUS_POLL_MS);
    dbp->status = st;
    return 0;
}

void dbp_status_free(db_proxy_t *dbp)
{
    dbp_status_t *st = dbp->status;
    if (!st)
        return;
    tt_timer_stop(dbp->d.loop, &st->timer);
    tt_buf_free(&st->out);
    pthread_mutex_destroy(&st->mu);
    free(st);
    dbp->status = NULL;
}

