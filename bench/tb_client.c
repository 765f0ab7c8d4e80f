/* The worker thread: its clients' life (discover, connect, log in, send, receive, heartbeat)
 * on one tt_loop. Everything here runs on the worker's own thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tb_group.h"
#include "tt_bench.h"
#include "tt_net.h"
#include "tt_pdu.h"

#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define CID_GROUP_CREATE_REQ IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CREATE_REQUEST
#define CID_GROUP_CREATE_RES IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CREATE_RESPONSE
#define MSG_GROUP_TEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define CID_LOGIN_REQ IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN
#define CID_LOGIN_RES IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN
#define CID_KICK_USER IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER
#define CID_MSG_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define CID_MSG_DATA_ACK IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK
#define CID_HEARTBEAT IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT

#define TICK_MS 10
#define TIMEOUT_SCAN_TICKS 10   /* ack timeouts are looked for every 100 ms */
#define FIRST_LOCAL_MSG_ID 90000000u
#define HTTP_MAX_IN (64u << 10)

typedef enum {
    CL_IDLE,        /* not started */
    CL_DISCOVERING, /* asking login_server (--discover each) */
    CL_CONNECTING,  /* TCP connect to msg_server in progress */
    CL_LOGGING_IN,  /* IMLoginReq sent */
    CL_READY,       /* logged in */
    CL_FAILED,      /* login failed (counted) */
    CL_CLOSED       /* was logged in, connection gone (counted) */
} cl_state_t;

enum { SLOT_FREE, SLOT_WAITING, SLOT_EXPIRED };

/* One sent message waiting for its IMMsgDataAck. */
typedef struct inflight_s {
    uint64_t send_us; /* when it was queued */
    uint64_t pseq;    /* the sequence in its payload */
    uint16_t seq;     /* PDU seq_num it carries (the ack echoes it) */
    uint8_t state;    /* SLOT_* */
} inflight_t;

typedef struct sender_s {
    uint32_t partner;       /* receiving client index */
    uint32_t partner_uid;   /* its user id (learnt at the end of the login phase); group id */
    int active;             /* sending */
    uint64_t counter;       /* messages sent: the sequence in the payload */
    uint32_t local_msg_id;  /* client-side msg_id, Android style (>= 90000000) */
    uint64_t next_due_us;   /* --rate schedule */
    uint64_t last_send_us;  /* --max-conn-rate spacing */
    uint32_t waiting;       /* slots in SLOT_WAITING (the window in use) */
    uint32_t msg_index;     /* k of the next message: its seq is 2k+1 */
    uint32_t cap;           /* slots (divides TB_MSG_SEQS); message k lives in slot k % cap */
    inflight_t slots[];     /* in-flight messages */
} sender_t;

struct tb_client_s {
    tb_worker_t *w;            /* owning worker */
    uint32_t index;            /* 0 .. count-1 (account first + index) */
    uint8_t state;             /* cl_state_t */
    uint8_t http;              /* the connection being made is the discovery GET */
    uint8_t in_login;          /* counted in logins_in_progress */
    uint8_t kicked;            /* IMKickUser received */
    int connect_fd;            /* socket while the TCP connect is pending, else -1 */
    tt_conn_t *conn;           /* current connection (HTTP or msg_server) */
    tt_timer_t timer;          /* login deadline, then the send schedule */
    uint32_t user_id;          /* from IMLoginRes */
    uint16_t seq;              /* last even seq_num used (see next_seq) */
    uint64_t start_us;         /* login started */
    struct sockaddr_in msg_addr; /* msg_server to use */
    sender_t *snd;             /* when this client sends */
    tb_rx_window_t *rcv;       /* when a sender sends to this client */
};

const char *const tb_counter_names[TB_NCOUNTERS] = {
    [TB_C_LOGIN_OK] = "login_ok",
    [TB_C_LOGIN_REFUSED] = "login_refused",
    [TB_C_LOGIN_TIMEOUT] = "login_timeout",
    [TB_C_LOGIN_CLOSED] = "login_closed",
    [TB_C_CONNECT_FAILED] = "connect_failed",
    [TB_C_DISCOVER_FAILED] = "discover_failed",
    [TB_C_SENT] = "sent_total",
    [TB_C_ACKED] = "acked_total",
    [TB_C_DELIVERED] = "delivered_total",
    [TB_C_SENT_M] = "sent",
    [TB_C_ACKED_M] = "acked",
    [TB_C_DELIVERED_M] = "delivered",
    [TB_C_ACK_LATE] = "ack_late",
    [TB_C_ACK_TIMEOUT] = "ack_timeout",
    [TB_C_ACK_UNMATCHED] = "ack_unmatched",
    [TB_C_DUP_DELIVERY] = "delivery_duplicate",
    [TB_C_FOREIGN_DELIVERY] = "delivery_foreign",
    [TB_C_BAD_DELIVERY] = "delivery_undecryptable",
    [TB_C_OTHER_MSG] = "delivery_other_type",
    [TB_C_RECEIPTS] = "receipts_sent",
    [TB_C_KICKED] = "kicked",
    [TB_C_CLOSED_BY_SERVER] = "closed_by_server",
    [TB_C_CONN_ERRORS] = "connection_errors",
    [TB_C_UNKNOWN_PDU] = "unknown_pdus",
    [TB_C_BAD_PDU] = "bad_pdus",
    [TB_C_HEARTBEAT_TX] = "heartbeats_sent",
    [TB_C_HEARTBEAT_RX] = "heartbeats_received",
    [TB_C_RATE_SLIPS] = "rate_slips",
    [TB_C_IDLE_SENDERS] = "idle_senders",
};

uint64_t tb_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void inc(tb_worker_t *w, tb_counter_t k)
{
    atomic_store_explicit(&w->c[k], atomic_load_explicit(&w->c[k], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void note(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *dst, size_t cap, const char *fmt, ...)
{
    if (dst[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static void account_name(const tb_client_t *cl, char *out, size_t cap)
{
    const tb_config_t *cfg = cl->w->run->cfg;
    snprintf(out, cap, cfg->user_pattern, (unsigned)(cfg->first + cl->index));
}

/* seq numbers stay in 1..32766 like Android's. IMMsgData takes the odd ones, in order
 * (message k of the cycle has seq 2k+1, so its window slot is k % slots); every other request
 * takes the even ones. In-flight seqs are therefore always distinct, and receipts or
 * heartbeats never disturb the slot arithmetic. */
static uint16_t next_seq(tb_client_t *cl)
{
    cl->seq = cl->seq >= 32766 || cl->seq < 2 ? 2 : (uint16_t)(cl->seq + 2);
    return cl->seq;
}

static uint32_t msg_index_of_seq(uint16_t seq) { return (uint32_t)(seq - 1) / 2; }

/* The window bounds are published with the RUN phase: read them only once it was seen. */
static int in_window(const tb_worker_t *w, uint64_t send_us)
{
    return w->phase_seen == TB_PHASE_RUN && send_us >= w->run->measure_start_us &&
           send_us < w->run->measure_end_us;
}

/* ---- login bookkeeping ---- */

static void login_finished(tb_client_t *cl)
{
    tb_worker_t *w = cl->w;
    if (!cl->in_login)
        return;
    cl->in_login = 0;
    w->logins_in_progress--;
    /* release: the user id written before is visible to whoever sees this count */
    atomic_fetch_add_explicit(&w->logins_done, 1, memory_order_release);
    tt_loop_defer(w->loop, &w->start_defer);
}

static void fail(tb_client_t *cl, tb_counter_t what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(tb_client_t *cl, tb_counter_t what, const char *fmt, ...)
{
    tb_worker_t *w = cl->w;
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    cl->state = CL_FAILED;
    tt_timer_stop(w->loop, &cl->timer);
    if (cl->connect_fd >= 0) {
        tt_loop_watch(w->loop, cl->connect_fd, 0, NULL, NULL);
        close(cl->connect_fd);
        cl->connect_fd = -1;
    }
    if (cl->conn) {
        tt_conn_t *c = cl->conn;
        cl->conn = NULL;
        tt_conn_close(c, "%s", why);
    }
    inc(w, what);
    char name[128];
    account_name(cl, name, sizeof(name));
    note(w->first_error, sizeof(w->first_error), "%s: %s", name, why);
    login_finished(cl);
}

/* ---- connecting (our own connect, for --source-ips; the tt_conn starts once it is up) ---- */

static const tt_conn_handler_t http_handler;
static const tt_conn_handler_t msg_handler;
static void send_login(tb_client_t *cl);

static void on_connect_ready(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)events;
    tb_client_t *cl = udata;
    tb_worker_t *w = cl->w;
    tt_loop_watch(loop, fd, 0, NULL, NULL);
    cl->connect_fd = -1;
    tb_counter_t what = cl->http ? TB_C_DISCOVER_FAILED : TB_C_CONNECT_FAILED;
    int e = tt_net_connect_result(fd);
    if (e) {
        close(fd);
        fail(cl, what, "connect to %s: %s", cl->http ? "login_server" : "msg_server", strerror(e));
        return;
    }
    tt_conn_limits_t lim = {0};
    lim.max_in = cl->http ? HTTP_MAX_IN : w->run->cfg->max_pdu + (64u << 10);
    tt_conn_t *c = tt_conn_new(loop, fd, NULL, cl->http ? &http_handler : &msg_handler, cl, &lim);
    if (!c) {
        close(fd);
        fail(cl, what, "out of memory");
        return;
    }
    cl->conn = c;
    if (cl->http) {
        char req[1400];
        int n = tb_http_get_request(&w->run->login_url, req, sizeof(req));
        if (n < 0 || tt_conn_write(c, req, (size_t)n) < 0)
            fail(cl, what, "cannot queue the HTTP request");
        return;
    }
    cl->state = CL_LOGGING_IN;
    send_login(cl);
}

static void start_connect(tb_client_t *cl, const struct sockaddr_in *dst, int http)
{
    tb_worker_t *w = cl->w;
    const tb_config_t *cfg = w->run->cfg;
    tb_counter_t what = http ? TB_C_DISCOVER_FAILED : TB_C_CONNECT_FAILED;
    cl->http = (uint8_t)http;
    cl->state = http ? CL_DISCOVERING : CL_CONNECTING;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(cl, what, "socket: %s", strerror(errno));
        return;
    }
    if (cfg->n_src_ips) {
        int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
        /* the port is chosen at connect time, per destination: more than 64k connections */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
        struct sockaddr_in src;
        memset(&src, 0, sizeof(src));
        src.sin_family = AF_INET;
        src.sin_addr = cfg->src_ips[cl->index % cfg->n_src_ips];
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int e = errno;
            char ip[INET_ADDRSTRLEN];
            close(fd);
            fail(cl, what, "bind to %s: %s", inet_ntop(AF_INET, &src.sin_addr, ip, sizeof(ip)),
                 strerror(e));
            return;
        }
    }
    tt_net_set_nodelay(fd);
    if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        fail(cl, what, "connect: %s", strerror(e));
        return;
    }
    if (tt_loop_watch(w->loop, fd, TT_WRITABLE, on_connect_ready, cl) < 0) {
        int e = errno;
        close(fd);
        fail(cl, what, "epoll: %s", strerror(e));
        return;
    }
    cl->connect_fd = fd;
}

/* ---- discovery per client (--discover each) ---- */

static void http_answer(tb_client_t *cl, tt_conn_t *c, int eof)
{
    int status = 0;
    const char *body = NULL;
    size_t blen = 0;
    int rc = tb_http_response((const char *)tt_buf_head(&c->in), tt_buf_len(&c->in), eof, &status,
                              &body, &blen);
    if (rc == -2)
        return;
    if (cl->conn == c)
        cl->conn = NULL;
    if (rc < 0) {
        tt_conn_close(c, "bad answer");
        fail(cl, TB_C_DISCOVER_FAILED, "malformed HTTP answer from login_server");
        return;
    }
    if (status != 200) {
        tt_conn_close(c, "bad status");
        fail(cl, TB_C_DISCOVER_FAILED, "login_server answered HTTP %d", status);
        return;
    }
    char ip[256], err[200];
    uint16_t port = 0;
    if (tb_msg_server_json(body, blen, ip, sizeof(ip), &port, err, sizeof(err)) < 0) {
        tt_conn_close(c, "bad answer");
        fail(cl, TB_C_DISCOVER_FAILED, "%s", err);
        return;
    }
    tt_conn_close(c, "discovery done");
    if (tb_resolve4(ip, port, &cl->msg_addr) < 0) {
        fail(cl, TB_C_DISCOVER_FAILED, "cannot resolve msg_server '%s'", ip);
        return;
    }
    start_connect(cl, &cl->msg_addr, 0);
}

static void http_on_read(tt_conn_t *c)
{
    tb_client_t *cl = c->udata;
    if (cl->conn == c && cl->state == CL_DISCOVERING)
        http_answer(cl, c, 0);
}

static void http_on_close(tt_conn_t *c)
{
    tb_client_t *cl = c->udata;
    if (cl->conn != c)
        return;
    if (cl->w->stopping || cl->state != CL_DISCOVERING) {
        cl->conn = NULL;
        return;
    }
    http_answer(cl, c, 1);
    if (cl->conn == c) { /* still nothing usable */
        cl->conn = NULL;
        fail(cl, TB_C_DISCOVER_FAILED, "login_server closed: %s", c->reason);
    }
}

static const tt_conn_handler_t http_handler = {
    .on_read = http_on_read,
    .on_close = http_on_close,
};

/* ---- login ---- */

static void client_start(tb_client_t *cl)
{
    tb_worker_t *w = cl->w;
    cl->in_login = 1;
    cl->start_us = tb_now_us();
    tt_timer_start(w->loop, &cl->timer, w->run->cfg->login_timeout_ms, 0);
    if (w->run->cfg->discover_each)
        start_connect(cl, &w->run->login_addr, 1);
    else {
        cl->msg_addr = w->run->n_msg_addrs ? w->run->msg_addrs[cl->index % w->run->n_msg_addrs]
                                           : w->run->msg_addr;
        start_connect(cl, &cl->msg_addr, 0);
    }
}

static void start_more(tt_defer_t *d)
{
    tb_worker_t *w = (tb_worker_t *)((char *)d - offsetof(tb_worker_t, start_defer));
    if (atomic_load_explicit(&w->run->phase, memory_order_acquire) == TB_PHASE_STOP)
        return;
    while (w->logins_in_progress < w->login_window && w->next_start < w->n_clients) {
        tb_client_t *cl = w->clients[w->next_start++];
        w->logins_in_progress++;
        client_start(cl);
    }
}

static void send_login(tb_client_t *cl)
{
    const tb_config_t *cfg = cl->w->run->cfg;
    char name[128];
    account_name(cl, name, sizeof(name));
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = name;
    req.password = (char *)cfg->password_md5;
    req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    req.client_type = (IM__BaseDefine__ClientType)cfg->client_type;
    req.client_version = (char *)TB_VERSION;
    if (tt_pdu_send(cl->conn, SID_LOGIN, CID_LOGIN_REQ, next_seq(cl), &req.base) < 0)
        fail(cl, TB_C_LOGIN_CLOSED, "cannot queue IMLoginReq");
}

static void on_login_res(tb_client_t *cl, const tt_pdu_t *pdu)
{
    tb_worker_t *w = cl->w;
    if (cl->state != CL_LOGGING_IN) {
        inc(w, TB_C_UNKNOWN_PDU);
        tb_unknown_add(&w->unknown, pdu->command_id, 1);
        return;
    }
    IM__Login__IMLoginRes *res = (IM__Login__IMLoginRes *)tt_pb_unpack(
        &im__login__imlogin_res__descriptor, pdu->body, pdu->body_len);
    if (!res) {
        inc(w, TB_C_BAD_PDU);
        atomic_fetch_add_explicit(&w->refused[TB_REFUSE_CODES - 1], 1, memory_order_relaxed);
        fail(cl, TB_C_LOGIN_REFUSED, "IMLoginRes does not parse");
        return;
    }
    unsigned code = (unsigned)res->result_code;
    if (code != 0 || !res->user_info || !res->user_info->user_id) {
        unsigned slot = code < TB_REFUSE_CODES - 1 && code != 0 ? code : TB_REFUSE_CODES - 1;
        atomic_fetch_add_explicit(&w->refused[slot], 1, memory_order_relaxed);
        if (code != 0)
            fail(cl, TB_C_LOGIN_REFUSED, "login refused: result %u \"%s\"", code,
                 res->result_string ? res->result_string : "");
        else
            fail(cl, TB_C_LOGIN_REFUSED, "login answer without user_info");
        tt_pb_free(res);
        return;
    }
    uint64_t now = tb_now_us();
    cl->user_id = res->user_info->user_id;
    tt_pb_free(res);
    cl->state = CL_READY;
    tt_timer_stop(w->loop, &cl->timer);
    tb_hist_record(&w->login_hist, now - cl->start_us);
    inc(w, TB_C_LOGIN_OK);
    w->run->user_ids[cl->index] = cl->user_id;
    atomic_store_explicit(&w->last_login_us, now, memory_order_relaxed);
    tt_conn_set_timeouts(cl->conn, 0, w->run->cfg->heartbeat_s * 1000u);
    login_finished(cl);
}

static void on_kick(tb_client_t *cl, const tt_pdu_t *pdu)
{
    (void)pdu;
    tb_worker_t *w = cl->w;
    inc(w, TB_C_KICKED);
    cl->kicked = 1;
    if (cl->state == CL_READY && cl->conn) {
        /* a real client disconnects when kicked */
        tt_conn_t *c = cl->conn;
        cl->conn = NULL;
        cl->state = CL_CLOSED;
        tt_timer_stop(w->loop, &cl->timer);
        tt_conn_close(c, "kicked");
    }
}

static void on_heartbeat(tb_client_t *cl, const tt_pdu_t *pdu)
{
    (void)pdu;
    inc(cl->w, TB_C_HEARTBEAT_RX);
}

/* ---- sending ---- */

static int send_one(tb_client_t *cl, uint64_t now)
{
    tb_worker_t *w = cl->w;
    tb_run_t *run = w->run;
    const tb_config_t *cfg = run->cfg;
    sender_t *s = cl->snd;
    uint32_t k = s->msg_index;
    s->msg_index = k + 1 >= TB_MSG_SEQS ? 0 : k + 1;
    uint16_t seq = (uint16_t)(2 * k + 1);
    inflight_t *slot = &s->slots[k % s->cap];
    if (slot->state == SLOT_WAITING) { /* its ack never came in 2 windows: give the slot up */
        s->waiting--;
        inc(w, TB_C_ACK_TIMEOUT);
    }
    slot->state = SLOT_FREE;
    tb_payload_t p = {run->run_id, cl->index, ++s->counter, now};
    tb_payload_write(w->plain, &p);
    long tl = ttc_tt_encrypt(&w->cipher, w->plain, cfg->size, w->text, w->text_cap);
    if (tl < 0) {
        fail(cl, TB_C_CONN_ERRORS, "encryption failed");
        return -1;
    }
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.from_user_id = cl->user_id;
    m.to_session_id = s->partner_uid;
    m.msg_id = cfg->zero_msg_id || cfg->mode == TB_MODE_GROUP ? 0 : s->local_msg_id++;
    m.create_time = (uint32_t)time(NULL);
    m.msg_type = cfg->mode == TB_MODE_GROUP ? MSG_GROUP_TEXT
                                            : IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    m.msg_data.data = (uint8_t *)w->text;
    m.msg_data.len = (size_t)tl;
    if (tt_pdu_send(cl->conn, SID_MSG, CID_MSG_DATA, seq, &m.base) < 0)
        return -1; /* the connection is closing; on_close counts it */
    slot->send_us = now;
    slot->pseq = p.seq;
    slot->seq = seq;
    slot->state = SLOT_WAITING;
    s->waiting++;
    inc(w, TB_C_SENT);
    if (in_window(w, now))
        inc(w, TB_C_SENT_M);
    return 0;
}

static void sender_pump(tb_client_t *cl)
{
    tb_worker_t *w = cl->w;
    const tb_config_t *cfg = w->run->cfg;
    sender_t *s = cl->snd;
    if (!s || !s->active || cl->state != CL_READY || !cl->conn)
        return;
    uint64_t interval = cfg->rate > 0 ? (uint64_t)(1e6 / cfg->rate) : 0;
    uint64_t gap = cfg->max_conn_rate > 0 ? (uint64_t)(1e6 / cfg->max_conn_rate + 0.999) : 0;
    for (;;) {
        uint64_t now = tb_now_us();
        if (now >= w->run->measure_end_us) {
            s->active = 0;
            tt_timer_stop(w->loop, &cl->timer);
            return;
        }
        if (s->waiting >= cfg->window)
            return; /* the next ack calls us again */
        uint64_t at = 0;
        if (interval && now < s->next_due_us)
            at = s->next_due_us;
        if (gap && s->last_send_us && now < s->last_send_us + gap &&
            s->last_send_us + gap > at)
            at = s->last_send_us + gap;
        if (at) {
            tt_timer_start(w->loop, &cl->timer, (at - now + 999) / 1000, 0);
            return;
        }
        if (send_one(cl, now) < 0 || cl->state != CL_READY)
            return;
        s->last_send_us = now;
        if (interval) {
            s->next_due_us += interval;
            if (now > s->next_due_us + 1000000) {
                inc(w, TB_C_RATE_SLIPS);
                s->next_due_us = now;
            }
        }
    }
}

static void on_msg_ack(tb_client_t *cl, const tt_pdu_t *pdu)
{
    tb_worker_t *w = cl->w;
    IM__Message__IMMsgDataAck *ack = (IM__Message__IMMsgDataAck *)tt_pb_unpack(
        &im__message__immsg_data_ack__descriptor, pdu->body, pdu->body_len);
    if (!ack) {
        inc(w, TB_C_BAD_PDU);
        return;
    }
    tt_pb_free(ack);
    sender_t *s = cl->snd;
    inflight_t *slot = s && (pdu->seq_num & 1)
                           ? &s->slots[msg_index_of_seq(pdu->seq_num) % s->cap] : NULL;
    if (!slot || slot->state == SLOT_FREE || slot->seq != pdu->seq_num) {
        inc(w, TB_C_ACK_UNMATCHED);
        return;
    }
    uint64_t now = tb_now_us();
    inc(w, TB_C_ACKED);
    if (in_window(w, slot->send_us)) {
        inc(w, TB_C_ACKED_M);
        tb_hist_record(&w->ack_hist, now - slot->send_us);
    }
    if (w->run->group)
        tb_group_acked(w->run->group, cl->index, slot->pseq, slot->send_us,
                       in_window(w, slot->send_us));
    if (slot->state == SLOT_EXPIRED)
        inc(w, TB_C_ACK_LATE);
    else
        s->waiting--;
    slot->state = SLOT_FREE;
    sender_pump(cl);
}

/* ---- receiving ---- */

static void on_msg_data(tb_client_t *cl, const tt_pdu_t *pdu)
{
    tb_worker_t *w = cl->w;
    tb_run_t *run = w->run;
    const tb_config_t *cfg = run->cfg;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m) {
        inc(w, TB_C_BAD_PDU);
        return;
    }
    uint64_t now = tb_now_us();
    uint32_t want_type = run->group ? MSG_GROUP_TEXT
                                    : IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    if (m->msg_type != want_type) {
        inc(w, TB_C_OTHER_MSG);
    } else {
        tb_payload_t p;
        long L = ttc_tt_decrypt(&w->cipher, (const char *)m->msg_data.data, m->msg_data.len,
                               w->rx_plain, w->rx_cap);
        tb_gdeliv_t gd = TB_GD_FOREIGN;
        if (L < 0 || tb_payload_parse(w->rx_plain, (size_t)L, &p) < 0)
            inc(w, TB_C_BAD_DELIVERY);
        else if (run->group && p.run_id == run->run_id &&
                 (gd = tb_group_delivery(run->group, cl->index, m->to_session_id, &p, now)) !=
                     TB_GD_FIRST && gd != TB_GD_UNTRACKED)
            inc(w, gd == TB_GD_DUP ? TB_C_DUP_DELIVERY : TB_C_FOREIGN_DELIVERY);
        else if (!run->group && (!cl->rcv || p.run_id != run->run_id || p.sender != cl->rcv->from))
            inc(w, TB_C_FOREIGN_DELIVERY);
        else if (run->group && p.run_id != run->run_id)
            inc(w, TB_C_FOREIGN_DELIVERY);
        else if (!run->group && !tb_rx_first_time(cl->rcv, p.seq))
            inc(w, TB_C_DUP_DELIVERY);
        else {
            inc(w, TB_C_DELIVERED);
            if (in_window(w, p.send_us)) {
                inc(w, TB_C_DELIVERED_M);
                tb_hist_record(&w->deliv_hist, now - p.send_us);
            }
        }
    }
    /* like a real client: acknowledge every message received */
    IM__Message__IMMsgDataAck ack = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
    ack.user_id = cl->user_id;
    ack.session_id = m->msg_type == MSG_GROUP_TEXT ? m->to_session_id : m->from_user_id;
    ack.msg_id = m->msg_id;
    ack.session_type = m->msg_type == MSG_GROUP_TEXT ? IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
                                                     : IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE;
    tt_pb_free(m);
    if (cfg->no_receipts)
        return;
    if (cl->state == CL_READY && tt_pdu_send(cl->conn, SID_MSG, CID_MSG_DATA_ACK, next_seq(cl),
                                             &ack.base) == 0)
        inc(w, TB_C_RECEIPTS);
}

/* ---- group mode set-up: member 0 of each group creates it ---- */

static void on_group_create_res(tb_client_t *cl, const tt_pdu_t *pdu)
{
    tb_worker_t *w = cl->w;
    IM__Group__IMGroupCreateRsp *rsp = (IM__Group__IMGroupCreateRsp *)tt_pb_unpack(
        &im__group__imgroup_create_rsp__descriptor, pdu->body, pdu->body_len);
    if (!rsp || !w->run->group) {
        inc(w, rsp ? TB_C_UNKNOWN_PDU : TB_C_BAD_PDU);
        tt_pb_free(rsp);
        return;
    }
    tb_group_create_answer(w->run->group, cl->index, rsp, NULL, tb_now_us());
    tt_pb_free(rsp);
}

static void create_groups(tb_worker_t *w)
{
    tb_run_t *run = w->run;
    for (uint32_t i = 0; i < w->n_clients; i++) {
        tb_client_t *cl = w->clients[i];
        IM__Group__IMGroupCreateReq req;
        char name[64];
        int rc = tb_group_create_req(run->group, run->user_ids, cl->index, run->run_id, &req, name,
                                     sizeof(name));
        if (rc == 0)
            continue;
        if (rc < 0 || cl->state != CL_READY || !cl->conn ||
            tt_pdu_send(cl->conn, SID_GROUP, CID_GROUP_CREATE_REQ, next_seq(cl), &req.base) < 0)
            tb_group_create_answer(run->group, cl->index, NULL,
                                   rc < 0 ? "out of memory" : "creator's connection is gone",
                                   tb_now_us());
        if (rc > 0)
            free(req.member_id_list);
    }
}

/* ---- the msg_server connection ---- */

typedef void (*pdu_handler_fn)(tb_client_t *cl, const tt_pdu_t *pdu);

static const struct {
    uint16_t command_id;
    pdu_handler_fn fn;
} pdu_handlers[] = {
    {CID_LOGIN_RES, on_login_res},
    {CID_KICK_USER, on_kick},
    {CID_MSG_DATA, on_msg_data},
    {CID_MSG_DATA_ACK, on_msg_ack},
    {CID_HEARTBEAT, on_heartbeat},
    {CID_GROUP_CREATE_RES, on_group_create_res},
};

static void on_pdu(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    (void)c;
    tb_client_t *cl = arg;
    for (size_t i = 0; i < sizeof(pdu_handlers) / sizeof(pdu_handlers[0]); i++)
        if (pdu_handlers[i].command_id == pdu->command_id) {
            pdu_handlers[i].fn(cl, pdu);
            return;
        }
    inc(cl->w, TB_C_UNKNOWN_PDU); /* anything else is ignored, like a client ignores it */
    tb_unknown_add(&cl->w->unknown, pdu->command_id, 1);
}

static void msg_on_read(tt_conn_t *c)
{
    tb_client_t *cl = c->udata;
    if (cl->conn != c) { /* already given up: discard */
        tt_buf_consume(&c->in, tt_buf_len(&c->in));
        return;
    }
    tt_pdu_conn_drain(c, cl->w->run->cfg->max_pdu, on_pdu, cl);
}

static void msg_on_keepalive(tt_conn_t *c)
{
    tb_client_t *cl = c->udata;
    if (cl->conn == c && cl->state == CL_READY &&
        tt_pdu_send(c, SID_OTHER, CID_HEARTBEAT, next_seq(cl), NULL) == 0)
        inc(cl->w, TB_C_HEARTBEAT_TX);
}

static void msg_on_close(tt_conn_t *c)
{
    tb_client_t *cl = c->udata;
    tb_worker_t *w = cl->w;
    if (cl->conn != c)
        return;
    cl->conn = NULL;
    if (w->stopping)
        return;
    if (cl->state == CL_LOGGING_IN || cl->state == CL_CONNECTING) {
        fail(cl, TB_C_LOGIN_CLOSED, "connection lost during login: %s", c->reason);
        return;
    }
    if (cl->state != CL_READY)
        return;
    cl->state = CL_CLOSED;
    tt_timer_stop(w->loop, &cl->timer);
    if (cl->kicked)
        return;
    inc(w, strcmp(c->reason, "closed by peer") == 0 ? TB_C_CLOSED_BY_SERVER : TB_C_CONN_ERRORS);
    char name[128];
    account_name(cl, name, sizeof(name));
    note(w->first_close, sizeof(w->first_close), "%s: %s", name, c->reason);
}

static const tt_conn_handler_t msg_handler = {
    .on_read = msg_on_read,
    .on_keepalive = msg_on_keepalive,
    .on_close = msg_on_close,
};

/* ---- timers ---- */

static void client_timer(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    tb_client_t *cl = udata;
    switch (cl->state) {
    case CL_DISCOVERING:
    case CL_CONNECTING:
    case CL_LOGGING_IN:
        fail(cl, TB_C_LOGIN_TIMEOUT, "no login answer within %u ms",
             (unsigned)cl->w->run->cfg->login_timeout_ms);
        break;
    case CL_READY:
        sender_pump(cl);
        break;
    default:
        break;
    }
}

static uint64_t rng_next(tb_worker_t *w)
{
    uint64_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return w->rng = x;
}

static void start_senders(tb_worker_t *w)
{
    tb_run_t *run = w->run;
    const tb_config_t *cfg = run->cfg;
    uint64_t interval = cfg->rate > 0 ? (uint64_t)(1e6 / cfg->rate) : 0;
    for (uint32_t i = 0; i < w->n_clients; i++) {
        tb_client_t *cl = w->clients[i];
        sender_t *s = cl->snd;
        if (!s)
            continue;
        s->partner_uid = run->group ? tb_group_target(run->group, cl->index)
                                    : run->user_ids[s->partner];
        if (cl->state != CL_READY || !s->partner_uid) {
            inc(w, TB_C_IDLE_SENDERS);
            continue;
        }
        s->active = 1;
        /* spread the first sends over one interval so the senders do not move in step */
        s->next_due_us = run->run_start_us + (interval ? rng_next(w) % interval : 0);
        sender_pump(cl);
    }
}

static void scan_ack_timeouts(tb_worker_t *w)
{
    uint64_t now = tb_now_us(), limit = (uint64_t)w->run->cfg->ack_timeout_ms * 1000u;
    for (uint32_t i = 0; i < w->n_clients; i++) {
        tb_client_t *cl = w->clients[i];
        sender_t *s = cl->snd;
        if (!s || !s->waiting)
            continue;
        int freed = 0;
        for (uint32_t k = 0; k < s->cap; k++)
            if (s->slots[k].state == SLOT_WAITING && now - s->slots[k].send_us > limit) {
                s->slots[k].state = SLOT_EXPIRED;
                s->waiting--;
                inc(w, TB_C_ACK_TIMEOUT);
                freed = 1;
            }
        if (freed)
            sender_pump(cl);
    }
}

static void worker_tick(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    tb_worker_t *w = udata;
    int phase = atomic_load_explicit(&w->run->phase, memory_order_acquire);
    if (phase == TB_PHASE_STOP) {
        tt_loop_stop(loop);
        return;
    }
    if (phase == TB_PHASE_SETUP && w->phase_seen == TB_PHASE_LOGIN) {
        w->phase_seen = TB_PHASE_SETUP;
        create_groups(w);
    }
    if (phase == TB_PHASE_RUN && w->phase_seen != TB_PHASE_RUN) {
        w->phase_seen = TB_PHASE_RUN;
        if (w->run->cfg->mode != TB_MODE_IDLE)
            start_senders(w);
    }
    if (++w->ticks % TIMEOUT_SCAN_TICKS == 0 && w->phase_seen == TB_PHASE_RUN)
        scan_ack_timeouts(w);
}

/* ---- worker life ---- */

int tb_worker_init(tb_worker_t *w, tb_run_t *run, int id)
{
    const tb_config_t *cfg = run->cfg;
    memset(w, 0, sizeof(*w));
    w->run = run;
    w->id = id;
    w->phase_seen = TB_PHASE_LOGIN;
    w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)id << 32) ^ tb_now_us();
    if (!w->rng)
        w->rng = 1;
    tb_hist_init(&w->ack_hist);
    tb_hist_init(&w->deliv_hist);
    tb_hist_init(&w->login_hist);
    tt_defer_init(&w->start_defer, start_more);
    w->loop = tt_loop_new();
    if (!w->loop || ttc_cipher_init(&w->cipher, TTC_TT_KEY) < 0)
        return -1;
    tt_timer_init(&w->tick, worker_tick, w);
    w->login_window = (cfg->login_window + cfg->threads - 1) / cfg->threads;
    if (!w->login_window)
        w->login_window = 1;
    w->plain = malloc(cfg->size + 1);
    w->text_cap = ttc_tt_cipher_text_len(cfg->size) + 1;
    w->text = malloc(w->text_cap);
    w->rx_cap = cfg->size + (64u << 10);
    w->rx_plain = malloc(w->rx_cap);
    if (!w->plain || !w->text || !w->rx_plain)
        return -1;
    static const char filler[] = "tt-bench one-to-one text message filler. ";
    for (uint32_t i = 0; i < cfg->size; i++)
        w->plain[i] = (uint8_t)filler[i % (sizeof(filler) - 1)];
    uint32_t n = cfg->count / cfg->threads + ((uint32_t)id < cfg->count % cfg->threads);
    w->clients = calloc(n ? n : 1, sizeof(*w->clients));
    if (!w->clients)
        return -1;
    for (uint32_t idx = (uint32_t)id; idx < cfg->count; idx += cfg->threads) {
        tb_client_t *cl = calloc(1, sizeof(*cl));
        if (!cl)
            return -1;
        w->clients[w->n_clients++] = cl;
        cl->w = w;
        cl->index = idx;
        cl->connect_fd = -1;
        tt_timer_init(&cl->timer, client_timer, cl);
        if (cfg->mode == TB_MODE_IDLE)
            continue;
        if (run->group ? tb_group_is_sender(run->group, idx) : idx < cfg->senders) {
            uint32_t cap = tb_slot_count(cfg->window);
            cl->snd = calloc(1, sizeof(sender_t) + cap * sizeof(inflight_t));
            if (!cl->snd)
                return -1;
            cl->snd->cap = cap;
            cl->snd->partner = tb_partner_of(cfg, idx);
            cl->snd->local_msg_id = FIRST_LOCAL_MSG_ID;
        }
        if (run->group)
            continue;
        uint32_t from = tb_sender_of(cfg, idx);
        if (from < cfg->senders) {
            cl->rcv = calloc(1, sizeof(tb_rx_window_t));
            if (!cl->rcv)
                return -1;
            cl->rcv->from = from;
        }
    }
    return 0;
}

void *tb_worker_main(void *arg)
{
    tb_worker_t *w = arg;
    tt_timer_start(w->loop, &w->tick, TICK_MS, TICK_MS);
    tt_loop_defer(w->loop, &w->start_defer);
    tt_loop_run(w->loop);
    /* close everything we hold; the frees happen in one more pass of the loop */
    w->stopping = 1;
    tt_timer_stop(w->loop, &w->tick);
    tt_loop_cancel_defer(w->loop, &w->start_defer);
    for (uint32_t i = 0; i < w->n_clients; i++) {
        tb_client_t *cl = w->clients[i];
        tt_timer_stop(w->loop, &cl->timer);
        if (cl->connect_fd >= 0) {
            tt_loop_watch(w->loop, cl->connect_fd, 0, NULL, NULL);
            close(cl->connect_fd);
            cl->connect_fd = -1;
        }
        if (cl->conn) {
            tt_conn_t *c = cl->conn;
            cl->conn = NULL;
            tt_conn_close(c, "tt-bench finished");
        }
    }
    tt_loop_stop(w->loop);
    tt_loop_run_once(w->loop, 0);
    return NULL;
}

void tb_worker_free(tb_worker_t *w)
{
    for (uint32_t i = 0; i < w->n_clients; i++) {
        free(w->clients[i]->snd);
        free(w->clients[i]->rcv);
        free(w->clients[i]);
    }
    free(w->clients);
    free(w->plain);
    free(w->text);
    free(w->rx_plain);
    ttc_cipher_free(&w->cipher);
    if (w->loop)
        tt_loop_free(w->loop);
}
