#include "tt_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_cfg.h"
#include "tt_net.h"

#define MAX_LISTENERS 16
#define HEARTBEAT_SID 0x0007
#define HEARTBEAT_CID 0x0701

typedef struct node_s node_t;
/* The daemon handshake of a peer that has not passed it yet (only on daemon-only ports: a
 * client connection does not carry it). */
typedef struct handshake_s {
    tt_auth_hs_t hs;     /* the handshake */
    tt_timer_t deadline; /* closes a peer that does not finish it in time */
} handshake_t;

struct node_s {
    node_t *prev, *next; /* list of live connections */
    tt_server_t *server; /* owner */
    tt_conn_t *conn;     /* the connection (its udata points back here) */
    handshake_t *pending; /* until the peer passed the daemon handshake, NULL after */
    int resume;          /* reading paused at the end of the handshake, to resume */
    int opened;          /* the daemon was told (on_open): it is told of the close too */
};

static void handshake_free(node_t *n)
{
    if (n->pending) {
        tt_timer_stop(n->conn->loop, &n->pending->deadline);
        free(n->pending);
        n->pending = NULL;
    }
}

struct tt_server_s {
    tt_loop_t *loop;                         /* owning loop */
    tt_server_opts_t opts;                   /* resolved options */
    const tt_server_handler_t *h;            /* daemon callbacks */
    void *udata;                             /* daemon data */
    tt_listener_t *listeners[MAX_LISTENERS]; /* one per listen address */
    int nlisteners;
    node_t *conns;                           /* live connections */
    uint32_t nconns;
    uint16_t port;                           /* bound port */
};

/* ---- daemon handshake (tt_auth): a peer is invisible to the daemon until it passed ---- */

static void auth_deadline_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    node_t *n = udata;
    if (!n->pending || !n->server)
        return;
    tt_auth_failed(n->server->opts.auth, n->conn->peer, "handshake not done in time");
    tt_conn_close(n->conn, "daemon authentication not done within %u ms",
                  (unsigned)n->server->opts.auth->deadline_ms);
}

static void auth_frame(tt_server_t *s, node_t *n, const tt_pdu_t *pdu)
{
    if (tt_auth_conn_frame(&n->pending->hs, s->opts.auth, n->conn, pdu) != TT_AUTH_DONE)
        return;
    handshake_free(n);
    /* What follows is read again with the daemon's frame cap, not the handshake's. */
    tt_conn_pause(n->conn);
    n->resume = 1;
    n->opened = 1;
    if (s->h->on_open)
        s->h->on_open(s, n->conn, s->udata);
}

static void srv_frame(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    tt_server_t *s = arg;
    node_t *n = c->udata;
    if (n->pending) {
        auth_frame(s, n, pdu);
        return;
    }
    if (pdu->command_id == HEARTBEAT_CID) {
        if (s->opts.echo_heartbeat)
            tt_pdu_send_raw(c, pdu->service_id, pdu->command_id, pdu->seq_num, pdu->body,
                            pdu->body_len);
        return;
    }
    s->h->on_pdu(s, c, pdu, s->udata);
}

static void srv_on_read(tt_conn_t *c)
{
    node_t *n = c->udata;
    if (n->pending) {
        /* Handshake frames are small; a bad or big frame closes the peer and is counted. */
        uint64_t failures = n->server->opts.auth->failures;
        tt_pdu_conn_drain(c, TT_PDU_HEADER_LEN + TT_AUTH_MAX_FRAME, srv_frame, n->server);
        if (n->pending && !tt_conn_is_open(c) && n->server->opts.auth->failures == failures)
            tt_auth_failed(n->server->opts.auth, c->peer, c->reason);
        if (!n->resume)
            return;
        n->resume = 0; /* authenticated: what follows at once, under the daemon's frame cap */
        tt_conn_resume(c);
        if (!tt_conn_is_open(c))
            return;
    }
    tt_pdu_conn_drain(c, n->server->opts.max_pdu, srv_frame, n->server);
}

static void srv_on_keepalive(tt_conn_t *c)
{
    node_t *n = c->udata;
    if (n->pending)
        return;
    tt_pdu_send(c, HEARTBEAT_SID, HEARTBEAT_CID, 0, NULL);
}

static void srv_on_close(tt_conn_t *c)
{
    node_t *n = c->udata;
    tt_server_t *s = n->server;
    handshake_free(n);
    if (s) {
        if (n->prev)
            n->prev->next = n->next;
        else
            s->conns = n->next;
        if (n->next)
            n->next->prev = n->prev;
        s->nconns--;
        if (n->opened && s->h->on_close)
            s->h->on_close(s, c, s->udata);
    }
    free(n);
}

static const tt_conn_handler_t srv_conn_handler = {NULL, srv_on_read, srv_on_keepalive,
                                                   srv_on_close};
static const tt_conn_handler_t srv_conn_handler_quiet = {NULL, srv_on_read, NULL, srv_on_close};

static void srv_accept(tt_listener_t *l, int fd, const struct sockaddr_storage *addr, void *udata)
{
    (void)l;
    tt_server_t *s = udata;
    if (s->nconns >= s->opts.max_conns) {
        close(fd);
        if (s->h->on_refused) {
            char peer[64];
            tt_net_format_addr(addr, peer, sizeof(peer));
            s->h->on_refused(s, peer, s->udata);
        }
        return;
    }
    node_t *n = calloc(1, sizeof(*n));
    if (!n) {
        close(fd);
        return;
    }
    n->server = s;
    const tt_conn_handler_t *h = s->opts.send_heartbeat ? &srv_conn_handler
                                                        : &srv_conn_handler_quiet;
    n->conn = tt_conn_new(s->loop, fd, NULL, h, n, &s->opts.lim);
    if (!n->conn) {
        free(n);
        close(fd);
        return;
    }
    n->next = s->conns;
    if (s->conns)
        s->conns->prev = n;
    s->conns = n;
    s->nconns++;
    if (tt_auth_enabled(s->opts.auth)) {
        if (!(n->pending = calloc(1, sizeof(*n->pending)))) {
            tt_conn_close(n->conn, "out of memory");
            return;
        }
        tt_timer_init(&n->pending->deadline, auth_deadline_cb, n);
        tt_timer_start(s->loop, &n->pending->deadline, s->opts.auth->deadline_ms, 0);
        tt_auth_conn_start(&n->pending->hs, s->opts.auth, TT_AUTH_ACCEPTOR, n->conn);
        return;
    }
    n->opened = 1;
    if (s->h->on_open)
        s->h->on_open(s, n->conn, s->udata);
}

tt_server_t *tt_server_new(tt_loop_t *loop, const tt_server_opts_t *opts,
                           const tt_server_handler_t *h, void *udata, char *err, size_t errlen)
{
    tt_server_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->opts = *opts;
    s->h = h;
    s->udata = udata;
    if (!s->opts.max_conns)
        s->opts.max_conns = 100000;
    if (!s->opts.max_pdu)
        s->opts.max_pdu = TT_PDU_DEFAULT_MAX;
    if (!s->opts.lim.max_in)
        s->opts.lim.max_in = (size_t)s->opts.max_pdu + 65536;
    if (s->opts.auth && !s->opts.auth->deadline_ms)
        s->opts.auth->deadline_ms = TT_AUTH_DEFAULT_MS;
    char buf[512];
    const char *hosts[MAX_LISTENERS];
    int nh = tt_cfg_split(opts->hosts ? opts->hosts : "0.0.0.0", ';', buf, sizeof(buf), hosts,
                          MAX_LISTENERS);
    if (nh == 0) {
        snprintf(err, errlen, "no listen address");
        free(s);
        return NULL;
    }
    uint16_t port = opts->port;
    for (int i = 0; i < nh; i++) {
        s->listeners[i] = tt_listener_new(loop, hosts[i], port, 511, srv_accept, s, err, errlen);
        if (!s->listeners[i]) {
            s->nlisteners = i;
            tt_server_free(s);
            return NULL;
        }
        if (port == 0)
            port = tt_listener_port(s->listeners[i]); /* same port on every address */
    }
    s->nlisteners = nh;
    s->port = port;
    return s;
}

void tt_server_stop_listening(tt_server_t *s)
{
    for (int i = 0; i < s->nlisteners; i++)
        tt_listener_free(s->listeners[i]);
    s->nlisteners = 0;
}

void tt_server_close_all(tt_server_t *s, const char *reason)
{
    for (node_t *n = s->conns; n; n = n->next)
        tt_conn_close_after_flush(n->conn, "%s", reason);
}

void tt_server_free(tt_server_t *s)
{
    if (!s)
        return;
    tt_server_stop_listening(s);
    for (node_t *n = s->conns; n; n = n->next) {
        n->server = NULL; /* the node is freed with its connection */
        tt_conn_close(n->conn, "server shut down");
    }
    free(s);
}

uint32_t tt_server_conn_count(const tt_server_t *s) { return s->nconns; }
uint16_t tt_server_port(const tt_server_t *s) { return s->port; }

void tt_server_foreach(tt_server_t *s, void (*fn)(tt_conn_t *c, void *arg), void *arg)
{
    node_t *n = s->conns;
    while (n) {
        node_t *next = n->next; /* n stays valid: frees happen in the before-sleep pass */
        if (tt_conn_is_open(n->conn) && !n->pending)
            fn(n->conn, arg);
        n = next;
    }
}
