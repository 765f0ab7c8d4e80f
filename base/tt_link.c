#include "tt_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_SID 0x0007
#define HEARTBEAT_CID 0x0701

struct tt_link_s {
    tt_loop_t *loop;            /* owning loop */
    char *host;                 /* peer host */
    uint16_t port;              /* peer port */
    char name[300];             /* "host:port" for messages */
    tt_link_opts_t opts;        /* resolved options */
    const tt_link_handler_t *h; /* owner callbacks */
    void *udata;                /* owner data */
    tt_conn_t *conn;            /* current connection, NULL while down */
    int up;                     /* 1 once the connection is established */
    uint64_t up_since;          /* when it came up */
    uint32_t delay;             /* next reconnect delay */
    tt_timer_t retry;           /* reconnect timer */
    int pending;                /* 1 while the daemon handshake runs */
    tt_auth_hs_t hs;            /* that handshake */
    tt_timer_t deadline;        /* closes a peer that does not finish it in time */
};

static void link_on_connect(tt_conn_t *c);
static void link_on_read(tt_conn_t *c);
static void link_on_keepalive(tt_conn_t *c);
static void link_on_close(tt_conn_t *c);

static const tt_conn_handler_t link_conn_handler = {
    link_on_connect, link_on_read, link_on_keepalive, link_on_close,
};

static void schedule_retry(tt_link_t *l)
{
    tt_timer_start(l->loop, &l->retry, l->delay, 0);
    uint64_t next = (uint64_t)l->delay * 2;
    l->delay = next > l->opts.backoff_max_ms ? l->opts.backoff_max_ms : (uint32_t)next;
}

static void attempt(tt_link_t *l)
{
    char err[256];
    tt_conn_limits_t lim = {
        .max_in = (size_t)l->opts.max_pdu + 65536,
        .max_out = l->opts.max_out,
        .idle_ms = l->opts.timeout_ms,
        .keepalive_ms = l->opts.heartbeat_ms,
        .connect_ms = l->opts.timeout_ms < 10000 ? l->opts.timeout_ms : 10000,
    };
    l->conn = tt_conn_connect(l->loop, l->host, l->port, &link_conn_handler, l, &lim, err,
                              sizeof(err));
    if (!l->conn) {
        if (l->h->on_down)
            l->h->on_down(l, err, l->udata);
        schedule_retry(l);
    }
}

static void retry_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    attempt(udata);
}

static void link_went_up(tt_link_t *l)
{
    l->up = 1;
    l->up_since = tt_loop_now(l->loop);
    l->delay = l->opts.backoff_min_ms;
    if (l->h->on_up)
        l->h->on_up(l, l->udata);
}

static void auth_deadline_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    tt_link_t *l = udata;
    if (!l->pending || !l->conn)
        return;
    tt_auth_failed(l->opts.auth, l->name, "handshake not done in time");
    tt_conn_close(l->conn, "daemon authentication not done within %u ms",
                  (unsigned)l->opts.auth->deadline_ms);
}

static void link_on_connect(tt_conn_t *c)
{
    tt_link_t *l = c->udata;
    if (!tt_auth_enabled(l->opts.auth)) {
        link_went_up(l);
        return;
    }
    l->pending = 1;
    tt_timer_start(l->loop, &l->deadline, l->opts.auth->deadline_ms, 0);
    tt_auth_conn_start(&l->hs, l->opts.auth, TT_AUTH_CONNECTOR, c);
}

static void link_pdu(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    tt_link_t *l = arg;
    if (l->pending) {
        if (tt_auth_conn_frame(&l->hs, l->opts.auth, c, pdu) == TT_AUTH_DONE) {
            l->pending = 0;
            tt_timer_stop(l->loop, &l->deadline);
            link_went_up(l);
        }
        return;
    }
    if (pdu->command_id == HEARTBEAT_CID)
        return; /* receiving it already refreshed the idle timer */
    if (l->h->on_pdu)
        l->h->on_pdu(l, pdu, l->udata);
}

static void link_on_read(tt_conn_t *c)
{
    tt_link_t *l = c->udata;
    tt_pdu_conn_drain(c, l->opts.max_pdu, link_pdu, l);
}

static void link_on_keepalive(tt_conn_t *c)
{
    tt_link_t *l = c->udata;
    if (!l || l->pending)
        return;
    tt_pdu_send(c, HEARTBEAT_SID, HEARTBEAT_CID, 0, NULL);
}

static void link_on_close(tt_conn_t *c)
{
    tt_link_t *l = c->udata;
    if (!l)
        return; /* the link was freed while this connection was closing */
    l->conn = NULL;
    l->up = 0;
    l->pending = 0;
    tt_timer_stop(l->loop, &l->deadline);
    if (l->h->on_down)
        l->h->on_down(l, c->reason, l->udata);
    schedule_retry(l);
}

tt_link_t *tt_link_new(tt_loop_t *loop, const tt_link_opts_t *opts, const tt_link_handler_t *h,
                       void *udata)
{
    tt_link_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->host = strdup(opts->host);
    if (!l->host) {
        free(l);
        return NULL;
    }
    l->loop = loop;
    l->port = opts->port;
    l->opts = *opts;
    l->opts.host = l->host;
    if (!l->opts.backoff_min_ms)
        l->opts.backoff_min_ms = 4000;
    if (!l->opts.backoff_max_ms)
        l->opts.backoff_max_ms = 64000;
    if (l->opts.backoff_max_ms < l->opts.backoff_min_ms)
        l->opts.backoff_max_ms = l->opts.backoff_min_ms;
    if (!l->opts.heartbeat_ms)
        l->opts.heartbeat_ms = 5000;
    if (!l->opts.timeout_ms)
        l->opts.timeout_ms = 30000;
    if (!l->opts.max_pdu)
        l->opts.max_pdu = TT_PDU_DEFAULT_MAX;
    if (!l->opts.max_out)
        l->opts.max_out = 64u << 20;
    l->delay = l->opts.backoff_min_ms;
    l->h = h;
    l->udata = udata;
    snprintf(l->name, sizeof(l->name), "%s:%u", l->host, (unsigned)l->port);
    tt_timer_init(&l->retry, retry_cb, l);
    tt_timer_init(&l->deadline, auth_deadline_cb, l);
    if (l->opts.auth && !l->opts.auth->deadline_ms)
        l->opts.auth->deadline_ms = TT_AUTH_DEFAULT_MS;
    return l;
}

void tt_link_start(tt_link_t *l)
{
    if (!l->conn && !tt_timer_active(&l->retry))
        attempt(l);
}

void tt_link_free(tt_link_t *l)
{
    if (!l)
        return;
    tt_timer_stop(l->loop, &l->retry);
    tt_timer_stop(l->loop, &l->deadline);
    if (l->conn) {
        l->conn->udata = NULL;
        tt_conn_close(l->conn, "link shut down");
    }
    free(l->host);
    free(l);
}

int tt_link_is_up(const tt_link_t *l) { return l->up && l->conn && tt_conn_is_open(l->conn); }
tt_conn_t *tt_link_conn(const tt_link_t *l) { return l->pending ? NULL : l->conn; }
const char *tt_link_name(const tt_link_t *l) { return l->name; }
uint32_t tt_link_next_delay(const tt_link_t *l) { return l->delay; }
void *tt_link_udata(const tt_link_t *l) { return l->udata; }
uint64_t tt_link_up_since(const tt_link_t *l) { return l->up_since; }

int tt_link_send(tt_link_t *l, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                 const ProtobufCMessage *msg)
{
    if (!tt_link_is_up(l))
        return -1;
    return tt_pdu_send(l->conn, service_id, command_id, seq_num, msg);
}

int tt_link_send_raw(tt_link_t *l, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                     const uint8_t *body, size_t body_len)
{
    if (!tt_link_is_up(l))
        return -1;
    return tt_pdu_send_raw(l->conn, service_id, command_id, seq_num, body, body_len);
}
