/* The peer connections (msg_servers, http_msg_servers) and the path of a request:
 *   reactor: frame -> command table -> admitted (budget permitting) onto the connection's lane
 *            of the workers, or answered at once with the command's error answer;
 *   worker:  unpack, run the handler (MariaDB, Redis, password hashing), pack the answer,
 *            put it in the outbox and ring the loop (tt_loop_post) if it was empty;
 *   reactor: write the outbox answers to their connections, if those are still there.
 * A connection's requests run one at a time in arrival order (see workers.h), so its answers
 * leave in request order. A peer object outlives its connection while requests or answers of
 * it are in flight (reference count). Heartbeats are handled by tt_server (5 s / 30 s). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "tt_log.h"

#define REJECT_LOG_MS 5000 /* "queue full" warnings at most this often */
#define HOLD_POLL_MS 10    /* held peers: how often the queue is looked at besides answers */
#define STOP_POLL_MS 20    /* in-flight check period while stopping */

struct dbp_peer_s {
    dbp_lane_t lane;          /* its requests, run in order */
    tt_conn_t *conn;          /* reactor thread only; NULL once closed */
    dbp_peer_t *prev, *next;  /* live peers (reactor thread) */
    atomic_int refs;          /* the connection + requests not released + answers not written */
    char name[64];            /* "ip:port", for logs (never changes) */
    int held;                 /* its reading is paused: the request queue was full */
};

/* A request on its way through the workers. */
typedef struct req_s {
    dbp_job_t job;          /* executor link (first member) */
    db_proxy_t *dbp;        /* the daemon */
    dbp_peer_t *peer;       /* who asked (referenced) */
    dbp_workers_t *pool;    /* where it runs: dbp->workers, or dbp->login_workers */
    dbp_lane_t own;         /* a login's lane of its own (no order with other requests) */
    uint64_t queued_ms;     /* a login: when it was queued (monotonic ms) */
    const dbp_cmd_t *cmd;   /* its command */
    uint16_t seq;           /* its seq_num */
    int answered;           /* an answer went to the outbox, which settles the budget */
    uint8_t *answer;        /* an error answer made on the reactor (no handler runs) */
    size_t answer_len;      /* its length */
    size_t body_len;        /* protobuf body length */
    uint8_t body[];         /* protobuf body */
} req_t;

/* An answer waiting for the reactor. */
struct dbp_out_s {
    dbp_out_t *next;    /* outbox link */
    dbp_peer_t *peer;   /* to whom (referenced) */
    dbp_workers_t *pool; /* whose budget */
    size_t cost;        /* budget to settle once written */
    uint8_t *frame;     /* header + body */
    size_t len;         /* frame length */
};

static void peer_unref(dbp_peer_t *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1)
        free(p);
}

const dbp_cmd_t *dbp_cmd_find(uint16_t command_id)
{
    static const struct {
        const dbp_cmd_t *cmds;
        const size_t *n;
    } groups[] = {
        {dbp_login_cmds, &dbp_login_ncmds},
        {dbp_buddy_cmds, &dbp_buddy_ncmds},
        {dbp_push_cmds, &dbp_push_ncmds},
        {dbp_push_gone_cmds, &dbp_push_gone_ncmds},
        {dbp_msg_cmds, &dbp_msg_ncmds},
        {dbp_group_cmds, &dbp_group_ncmds},
        {dbp_status_cmds, &dbp_status_ncmds},
        {dbp_file_cmds, &dbp_file_ncmds},
        {dbp_admin_cmds, &dbp_admin_ncmds},
    };
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
        for (size_t i = 0; i < *groups[g].n; i++)
            if (groups[g].cmds[i].command_id == command_id)
                return &groups[g].cmds[i];
    return NULL;
}

/* ---- reactor side ---- */

static void req_run(dbp_job_t *j, void *thread);
static void req_run_many(dbp_job_t *j, size_t n, void *thread);
static void login_run_many(dbp_job_t *j, size_t n, void *thread);
static void req_release(dbp_job_t *j, int ran);

static req_t *req_new(db_proxy_t *dbp, dbp_peer_t *p, const dbp_cmd_t *cmd, uint16_t seq,
                      const uint8_t *body, size_t len)
{
    req_t *r = malloc(sizeof(*r) + len);
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->job.cost = sizeof(*r) + len;
    r->job.run = req_run;
    r->job.run_many = cmd->run_batch && len ? req_run_many : NULL; /* not for error answers */
    r->job.release = req_release;
    r->dbp = dbp;
    r->peer = p;
    r->pool = dbp->workers;
    r->cmd = cmd;
    r->seq = seq;
    r->body_len = len;
    if (len)
        memcpy(r->body, body, len);
    return r;
}

/* Answers with the command's error answer (no backend involved), keeping the connection's
 * order: at once when nothing of this connection is in flight, else behind its pending
 * requests (over the budget, up to its hard limit; beyond that the connection is cut). */
static void reject(db_proxy_t *dbp, tt_conn_t *c, dbp_peer_t *p, const dbp_cmd_t *cmd,
                   const tt_pdu_t *pdu)
{
    ProtobufCMessage *m = tt_pb_unpack(cmd->req, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("%s from %s does not parse: dropped", cmd->name, c->peer);
        return;
    }
    dbp_ctx_t x = {dbp, cmd, pdu->seq_num, c->peer, NULL, 0};
    cmd->fail(&x, m);
    tt_pb_free(m);
    if (!x.frame)
        return;
    if (!p || !dbp_lane_busy(dbp->workers, &p->lane)) {
        tt_conn_write(c, x.frame, x.frame_len);
        free(x.frame);
        return;
    }
    req_t *r = req_new(dbp, p, cmd, pdu->seq_num, NULL, 0);
    if (r) {
        r->answer = x.frame;
        r->answer_len = x.frame_len;
        r->job.cost += x.frame_len;
        atomic_fetch_add(&p->refs, 1);
        if (dbp_workers_submit(dbp->workers, &p->lane, &r->job, 1) == 0)
            return;
        atomic_fetch_sub(&p->refs, 1); /* the connection still holds one */
        free(r);
    }
    free(x.frame);
    log_warn_rl("peer %s: more requests than even error answers can queue: closing it", c->peer);
    tt_conn_close(c, "request queue overflow");
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A login goes to the login threads, on a lane of its own: logins never queue behind other
 * requests nor other requests behind logins. When the login queue is full it is refused at
 * once as busy (its answer finds the client through attach_data, so it may overtake). */
static void login_submit(db_proxy_t *dbp, tt_conn_t *c, dbp_peer_t *p, const dbp_cmd_t *cmd,
                         const tt_pdu_t *pdu)
{
    req_t *r = req_new(dbp, p, cmd, pdu->seq_num, pdu->body, pdu->body_len);
    if (r) {
        r->pool = dbp->login_workers;
        r->queued_ms = mono_ms();
        r->job.run_many = pdu->body_len ? login_run_many : NULL; /* logins waiting together */
        dbp_lane_init(&r->own);
        atomic_fetch_add(&p->refs, 1);
        if (dbp_workers_submit(dbp->login_workers, &r->own, &r->job, 0) == 0)
            return;
        atomic_fetch_sub(&p->refs, 1);
        free(r);
    }
    dbp->login_busy++;
    uint64_t now = tt_loop_now(dbp->d.loop);
    if (dbp->last_busy_log == 0 || now - dbp->last_busy_log >= REJECT_LOG_MS) {
        dbp->last_busy_log = now;
        log_warn("login queue full (%zu waiting or running, LoginQueueMax %zu): logins refused "
                 "as busy (%llu so far)",
                 dbp_workers_pending(dbp->login_workers), dbp->login_queue,
                 (unsigned long long)dbp->login_busy);
    }
    ProtobufCMessage *m = tt_pb_unpack(cmd->req, pdu->body, pdu->body_len);
    if (!m) {
        log_warn("%s from %s does not parse: dropped", cmd->name, c->peer);
        return;
    }
    dbp_ctx_t x = {dbp, cmd, pdu->seq_num, c->peer, NULL, 0};
    dbp_login_busy(&x, m);
    tt_pb_free(m);
    if (x.frame)
        tt_conn_write(c, x.frame, x.frame_len);
    free(x.frame);
}

/* The request queue is full: rather than answering an error (a chat message that would never
 * be acked), the frame is kept unconsumed and the peer's reading paused, so the backlog waits
 * in the peer's socket and the peer is slowed by TCP; held peers are read again once the
 * queue is down to three quarters (release_held, after answers are written, and from a 10 ms
 * timer while any is held). Not when nothing is pending at all (the request alone is over
 * MaxPendingBytes: it can never fit) — then the error answer, as before. */
static int hold(db_proxy_t *dbp, tt_conn_t *c, dbp_peer_t *p)
{
    if (dbp->stopping || dbp_workers_pending(dbp->workers) == 0)
        return 0;
    c->hold_frame = 1;
    tt_conn_pause(c);
    if (!p->held) {
        p->held = 1;
        dbp->nheld++;
    }
    dbp->holds++;
    if (!tt_timer_active(&dbp->hold_timer))
        tt_timer_start(dbp->d.loop, &dbp->hold_timer, HOLD_POLL_MS, HOLD_POLL_MS);
    uint64_t now = tt_loop_now(dbp->d.loop);
    if (dbp->last_reject_log == 0 || now - dbp->last_reject_log >= REJECT_LOG_MS) {
        dbp->last_reject_log = now;
        log_warn("request queue full (%zu pending, MaxPendingRequests %zu): reading from %zu "
                 "peer(s) paused until it drains (%llu pauses so far)",
                 dbp_workers_pending(dbp->workers), dbp->max_pending, dbp->nheld,
                 (unsigned long long)dbp->holds);
    }
    return 1;
}

static void release_held(db_proxy_t *dbp)
{
    if (!dbp->nheld)
        return;
    if (!dbp->stopping && dbp_workers_pending(dbp->workers) > dbp->max_pending / 4 * 3)
        return;
    for (dbp_peer_t *p = dbp->peers; p; p = p->next)
        if (p->held) {
            p->held = 0;
            if (p->conn)
                tt_conn_resume(p->conn); /* its kept frame is handled again, deferred */
        }
    dbp->nheld = 0;
    tt_timer_stop(dbp->d.loop, &dbp->hold_timer);
}

static void hold_poll(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    release_held(udata);
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    db_proxy_t *dbp = udata;
    dbp_peer_t *p = c->app;
    const dbp_cmd_t *cmd = dbp_cmd_find(pdu->command_id);
    if (!cmd) {
        log_info_rl("command 0x%04x from %s not handled: dropped", pdu->command_id, c->peer);
        return;
    }
    if (dbp->stopping || !p) {
        reject(dbp, c, p, cmd, pdu);
        return;
    }
    if (dbp_cmd_is_login(cmd) && dbp->login_workers) {
        login_submit(dbp, c, p, cmd, pdu);
        return;
    }
    req_t *r = req_new(dbp, p, cmd, pdu->seq_num, pdu->body, pdu->body_len);
    int made = r != NULL;
    if (r) {
        atomic_fetch_add(&p->refs, 1);
        if (dbp_workers_submit(dbp->workers, &p->lane, &r->job, 0) == 0)
            return;
        atomic_fetch_sub(&p->refs, 1); /* the connection still holds one */
        free(r);
    }
    if (made && hold(dbp, c, p))
        return;
    dbp->rejected++;
    uint64_t now = tt_loop_now(dbp->d.loop);
    if (dbp->last_reject_log == 0 || now - dbp->last_reject_log >= REJECT_LOG_MS) {
        dbp->last_reject_log = now;
        log_warn_rl("request queue full (%zu pending, MaxPendingRequests %zu): answering errors "
                 "(%llu so far)",
                 dbp_workers_pending(dbp->workers), dbp->max_pending,
                 (unsigned long long)dbp->rejected);
    }
    reject(dbp, c, p, cmd, pdu);
}

/* Writes the answers the workers left in the outbox. */
static void outbox_flush(void *arg)
{
    db_proxy_t *dbp = arg;
    pthread_mutex_lock(&dbp->outbox_mu);
    dbp_out_t *o = dbp->outbox_head;
    dbp->outbox_head = dbp->outbox_tail = NULL;
    dbp->outbox_posted = 0;
    pthread_mutex_unlock(&dbp->outbox_mu);
    while (o) {
        dbp_out_t *next = o->next;
        dbp_peer_t *p = o->peer;
        if (p->conn && tt_conn_is_open(p->conn))
            tt_conn_write(p->conn, o->frame, o->len);
        dbp_workers_settle(o->pool, o->cost);
        peer_unref(p);
        free(o->frame);
        free(o);
        o = next;
    }
    release_held(dbp);
}

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    db_proxy_t *dbp = udata;
    dbp_peer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        tt_conn_close(c, "out of memory");
        return;
    }
    dbp_lane_init(&p->lane);
    atomic_init(&p->refs, 1);
    p->conn = c;
    snprintf(p->name, sizeof(p->name), "%s", c->peer);
    p->next = dbp->peers;
    if (dbp->peers)
        dbp->peers->prev = p;
    dbp->peers = p;
    dbp->npeers++;
    c->app = p;
    log_notice_rl("peer connected from %s (%zu connected)", c->peer, dbp->npeers);
}

static void peer_forget(db_proxy_t *dbp, dbp_peer_t *p)
{
    if (p->held) {
        p->held = 0;
        dbp->nheld--;
    }
    if (p->prev)
        p->prev->next = p->next;
    else
        dbp->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    dbp->npeers--;
    p->conn->app = NULL;
    p->conn = NULL;
    dbp_lane_close(dbp->workers, &p->lane); /* its waiting requests are not worth running */
    peer_unref(p);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    db_proxy_t *dbp = udata;
    dbp_peer_t *p = c->app;
    if (!p)
        return;
    peer_forget(dbp, p);
    log_notice_rl("peer %s closed: %s (%zu connected)", c->peer, c->reason, dbp->npeers);
}

const tt_server_handler_t dbp_peer_handler = {on_open, on_pdu, on_close, NULL};

void dbp_peers_send_all(db_proxy_t *dbp, const uint8_t *frames, size_t len)
{
    for (dbp_peer_t *p = dbp->peers; p; p = p->next)
        if (p->conn && tt_conn_is_open(p->conn))
            tt_conn_write(p->conn, frames, len);
}

static void stop_poll(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    db_proxy_t *dbp = udata;
    outbox_flush(dbp); /* in case a flush could not be posted */
    size_t pending = dbp_workers_pending(dbp->workers) +
                     (dbp->login_workers ? dbp_workers_pending(dbp->login_workers) : 0);
    if (pending > 0 && tt_loop_now(loop) < dbp->stop_deadline)
        return;
    tt_timer_stop(loop, t);
    if (pending > 0)
        log_warn("stopping with %zu request(s) unanswered", pending);
    else
        log_notice("every request answered");
    tt_daemon_drain(&dbp->d);
}

void dbp_peers_stop(db_proxy_t *dbp)
{
    dbp->stopping = 1;
    IM__Server__IMStopReceivePacket stop = IM__SERVER__IMSTOP_RECEIVE_PACKET__INIT;
    stop.result = 0;
    size_t told = 0;
    for (dbp_peer_t *p = dbp->peers; p; p = p->next)
        if (p->conn && tt_conn_is_open(p->conn) &&
            tt_pdu_send(p->conn, DBP_SID_OTHER,
                        IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_STOP_RECV_PACKET, 0,
                        &stop.base) == 0)
            told++;
    tt_server_stop_listening(dbp->listener);
    release_held(dbp); /* their kept requests get the error answers of a stopping server */
    log_notice("told %zu peer(s) to stop sending; %zu request(s) in flight", told,
               dbp_workers_pending(dbp->workers));
    uint32_t wait = dbp->d.stop_timeout_ms > 1500 ? dbp->d.stop_timeout_ms - 1000 : 500;
    dbp->stop_deadline = tt_loop_now(dbp->d.loop) + wait;
    tt_timer_start(dbp->d.loop, &dbp->stop_timer, 0, STOP_POLL_MS);
}

void dbp_peers_init(db_proxy_t *dbp)
{
    tt_timer_init(&dbp->stop_timer, stop_poll, dbp);
    tt_timer_init(&dbp->hold_timer, hold_poll, dbp);
    pthread_mutex_init(&dbp->outbox_mu, NULL);
    dbp->outbox_ready = 1;
}

void dbp_peers_free(db_proxy_t *dbp)
{
    dbp->stopping = 1;
    tt_timer_stop(dbp->d.loop, &dbp->stop_timer);
    tt_timer_stop(dbp->d.loop, &dbp->hold_timer);
    if (dbp->outbox_ready)
        outbox_flush(dbp);
    while (dbp->peers)
        peer_forget(dbp, dbp->peers);
}

/* ---- worker side ---- */

/* Hands an answer to the reactor. 0 ok, -1 (nothing queued). */
static int outbox_put(db_proxy_t *dbp, dbp_out_t *o)
{
    pthread_mutex_lock(&dbp->outbox_mu);
    o->next = NULL;
    if (dbp->outbox_tail)
        dbp->outbox_tail->next = o;
    else
        dbp->outbox_head = o;
    dbp->outbox_tail = o;
    int ring = !dbp->outbox_posted;
    dbp->outbox_posted = 1;
    pthread_mutex_unlock(&dbp->outbox_mu);
    if (ring && tt_loop_post(dbp->d.loop, outbox_flush, dbp) < 0) {
        /* Out of memory: the answer stays queued for the next flush (or the stop poll). */
        pthread_mutex_lock(&dbp->outbox_mu);
        dbp->outbox_posted = 0;
        pthread_mutex_unlock(&dbp->outbox_mu);
        log_warn("cannot wake the reactor: an answer waits for the next one");
    }
    return 0;
}

/* An answer above MaxPduSize is replaced with the error answer. */
static void size_check(req_t *r, dbp_ctx_t *x, const ProtobufCMessage *m)
{
    if (!x->frame || x->frame_len <= r->dbp->max_pdu)
        return;
    log_warn_rl("answer to %s from %s would be %zu bytes, above MaxPduSize %u: error answer sent "
             "instead",
             r->cmd->name, r->peer->name, x->frame_len, (unsigned)r->dbp->max_pdu);
    free(x->frame);
    x->frame = NULL;
    r->cmd->fail(x, m);
}

/* Runs the handler of r (or its error answer); the answer frame ends up in x->frame. */
static void handle(req_t *r, dbp_ctx_t *x)
{
    const dbp_cmd_t *cmd = r->cmd;
    ProtobufCMessage *m = tt_pb_unpack(cmd->req, r->body, r->body_len);
    if (!m) {
        log_warn_rl("%s from %s does not parse: dropped", cmd->name, r->peer->name);
        return;
    }
    if (cmd->run(x, m) < 0) {
        free(x->frame);
        x->frame = NULL;
        cmd->fail(x, m);
    }
    size_check(r, x, m);
    tt_pb_free(m);
}

/* Hands the answer in x (if any) to the reactor; prebuilt: made on the reactor already. */
static void req_answer(req_t *r, dbp_ctx_t *x, int prebuilt)
{
    db_proxy_t *dbp = r->dbp;
    if (!x->frame)
        return;
    dbp_out_t *o = malloc(sizeof(*o));
    if (!o) {
        free(x->frame);
        return; /* req_release settles the job */
    }
    o->peer = r->peer;
    o->pool = r->pool;
    o->frame = x->frame;
    o->len = x->frame_len;
    o->cost = r->job.cost; /* a pre-built answer is part of the job's cost already */
    if (!prebuilt) {       /* a new one weighs on the budget until it is written */
        o->cost += x->frame_len;
        dbp_workers_charge(r->pool, x->frame_len);
    }
    atomic_fetch_add(&r->peer->refs, 1);
    r->answered = 1;
    outbox_put(dbp, o);
}

static void req_run(dbp_job_t *j, void *thread)
{
    (void)thread;
    req_t *r = (req_t *)j;
    dbp_ctx_t x = {r->dbp, r->cmd, r->seq, r->peer->name, NULL, 0};
    if (r->answer) { /* answered on the reactor already: only its place in line was kept */
        x.frame = r->answer;
        x.frame_len = r->answer_len;
        r->answer = NULL;
        req_answer(r, &x, 1);
        return;
    }
    handle(r, &x);
    req_answer(r, &x, 0);
}

/* n requests of one command with run_batch, consecutive on one lane (workers.h run_many):
 * the handler sees them together; each answer leaves as if they had run one by one. */
static void req_run_many(dbp_job_t *j, size_t n, void *thread)
{
    const dbp_cmd_t *cmd = ((req_t *)j)->cmd;
    req_t **r = calloc(n, sizeof(*r));
    dbp_ctx_t *x = calloc(n, sizeof(*x));
    const ProtobufCMessage **m = calloc(n, sizeof(*m));
    if (!r || !x || !m) { /* out of memory: one at a time */
        free(r);
        free(x);
        free(m);
        for (; j; j = j->next)
            req_run(j, thread);
        return;
    }
    size_t k = 0; /* requests that parse */
    for (; j; j = j->next) {
        req_t *q = (req_t *)j;
        m[k] = tt_pb_unpack(cmd->req, q->body, q->body_len);
        if (!m[k]) {
            log_warn_rl("%s from %s does not parse: dropped", cmd->name, q->peer->name);
            continue;
        }
        r[k] = q;
        x[k] = (dbp_ctx_t){q->dbp, cmd, q->seq, q->peer->name, NULL, 0};
        k++;
    }
    if (k > 0)
        cmd->run_batch(x, m, k);
    for (size_t i = 0; i < k; i++) {
        if (!x[i].frame)
            cmd->fail(&x[i], m[i]);
        size_check(r[i], &x[i], m[i]);
        tt_pb_free((ProtobufCMessage *)m[i]);
        req_answer(r[i], &x[i], 0);
    }
    free(r);
    free(x);
    free(m);
}

/* Logins that waited together (each on a lane of its own, merged by the workers): their names
 * are looked up in one statement, and each answer is handed over as soon as it is known (a
 * cached credential does not wait for the password hashes of the others). */
typedef struct login_batch_s {
    req_t **r;
    dbp_ctx_t *x;
    const ProtobufCMessage **m;
} login_batch_t;

static void login_done(size_t i, void *arg)
{
    login_batch_t *b = arg;
    if (!b->x[i].frame)
        b->r[i]->cmd->fail(&b->x[i], b->m[i]);
    size_check(b->r[i], &b->x[i], b->m[i]);
    req_answer(b->r[i], &b->x[i], 0);
}

static atomic_ullong stale_logins;   /* logins answered busy: waited too long */
static atomic_ullong last_stale_log; /* when that was last logged (ms) */

static void login_run_many(dbp_job_t *j, size_t n, void *thread)
{
    login_batch_t b = {calloc(n, sizeof(*b.r)), calloc(n, sizeof(*b.x)), calloc(n, sizeof(*b.m))};
    if (!b.r || !b.x || !b.m) { /* out of memory: one at a time */
        free(b.r);
        free(b.x);
        free(b.m);
        for (; j; j = j->next)
            req_run(j, thread);
        return;
    }
    size_t k = 0; /* requests that parse */
    uint64_t now = mono_ms();
    db_proxy_t *dbp = NULL;
    int had_stale = 0;
    for (; j; j = j->next) {
        req_t *q = (req_t *)j;
        b.m[k] = tt_pb_unpack(q->cmd->req, q->body, q->body_len);
        if (!b.m[k]) {
            log_warn("%s from %s does not parse: dropped", q->cmd->name, q->peer->name);
            continue;
        }
        b.r[k] = q;
        b.x[k] = (dbp_ctx_t){q->dbp, q->cmd, q->seq, q->peer->name, NULL, 0};
        dbp = q->dbp;
        if (now - q->queued_ms > dbp->login_max_wait_ms) {
            /* waited too long: its client or msg_server is about to give up; busy (retried)
             * costs nothing, a password hash for nobody would delay the next ones */
            atomic_fetch_add(&stale_logins, 1);
            had_stale = 1;
            dbp_login_busy(&b.x[k], b.m[k]);
            login_done(k, &b);
            tt_pb_free((ProtobufCMessage *)b.m[k]);
            continue;
        }
        k++;
    }
    unsigned long long stale = atomic_load(&stale_logins), last = atomic_load(&last_stale_log);
    if (had_stale && now - last >= REJECT_LOG_MS &&
        atomic_compare_exchange_strong(&last_stale_log, &last, now))
        log_warn("%llu login(s) so far waited more than LoginMaxWaitMs (%u ms): answered busy",
                 stale, (unsigned)dbp->login_max_wait_ms);
    if (k > 0)
        dbp_login_batch(b.x, b.m, k, login_done, &b);
    for (size_t i = 0; i < k; i++)
        tt_pb_free((ProtobufCMessage *)b.m[i]);
    free(b.r);
    free(b.x);
    free(b.m);
}

static void req_release(dbp_job_t *j, int ran)
{
    (void)ran;
    req_t *r = (req_t *)j;
    if (!r->answered)
        dbp_workers_settle(r->pool, r->job.cost);
    peer_unref(r->peer);
    free(r->answer); /* cancelled before it ran */
    free(r);
}
