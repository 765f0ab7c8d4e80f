/* login_server and route_server against fake msg_servers (blocking sockets with timeouts),
 * run by it_login_route.sh:
 *   it_login_route login HTTP_PORT MS_PORT CLIENT_PORT MSFS DISCOVERY
 *       registration, least loaded choice (curl /msg_server, every JSON field, port a
 *       string), full ones skipped, a dropped msg_server gone at once, none left -> code 1,
 *       all full -> code 2, the deprecated TCP IMMsgServReq
 *   it_login_route route ROUTE_PORT
 *       presence across two msg_servers (IMUserStatNotify and IMServerPCLoginStatusNotify),
 *       IMUsersStatReq (seq and attach_data echoed), relays byte for byte to the others only,
 *       0x0215 to all, push presence queries (mobile / PC flags, to the asker only, a ragged
 *       one unanswered), an abrupt drop -> OFFLINE for its users on the other
 * Prints "ok: ..." / "FAIL: ..." per check; exits 1 if any check failed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "tt_net.h"
#include "it_auth.h"
#include "tt_pushpresence.h"
#include "it_check.h"
#include "tt_pdu.h"

#define T 5000 /* ms to wait for anything expected */
#define QUIET 300 /* ms of silence that count as "nothing came" */
#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define CID_HEARTBEAT IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT
#define CID_MSG_SERV_INFO IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_MSG_SERV_INFO
#define CID_USER_CNT IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_CNT_UPDATE
#define CID_ONLINE_INFO IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ONLINE_USER_INFO
#define CID_ROLE_SET IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ROLE_SET
#define CID_STATUS_UPDATE IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_STATUS_UPDATE
#define CID_PC_LOGIN IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_LOGIN_STATUS_NOTIFY
#define CID_STAT_NOTIFY IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY
#define CID_STAT_REQ IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST
#define CID_STAT_RSP IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_RESPONSE
#define CID_SIGN_CHANGED IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY
#define ONLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE
#define OFFLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE
#define WIN IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS
#define MAC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC
#define ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID


static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- a fake msg_server: one blocking connection ---- */

typedef struct fake_s {
    const char *name;  /* for the messages */
    int fd;            /* -1 once closed */
    tt_pdu_reader_t r; /* frames received */
} fake_t;

/* One received frame, copied. */
typedef struct frame_s {
    tt_pdu_t h;           /* header fields (body points into raw) */
    uint8_t raw[1 << 16]; /* the whole frame as received */
} frame_t;

static frame_t g_frame;

static int fake_connect(fake_t *f, const char *name, uint16_t port)
{
    char err[256];
    int in_progress = 0;
    f->name = name;
    f->fd = tt_net_connect("127.0.0.1", port, &in_progress, err, sizeof(err));
    tt_pdu_reader_init(&f->r, 1 << 16);
    if (f->fd < 0)
        return check(0, "%s: connect to %u: %s", name, port, err), -1;
    if (in_progress) {
        struct pollfd p = {f->fd, POLLOUT, 0};
        int e = poll(&p, 1, T) == 1 ? tt_net_connect_result(f->fd) : ETIMEDOUT;
        if (e != 0) {
            check(0, "%s: connect to %u: %s", name, port, strerror(e));
            close(f->fd);
            f->fd = -1;
            return -1;
        }
    }
    fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = {T / 1000, 0};
    setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (strcmp(name, "tcp-client") != 0 && it_daemon_auth(f->fd) < 0) /* clients: no secret */
        return check(0, "%s: daemon handshake on %u failed", name, port), -1;
    return 0;
}

/* Closes abruptly (RST, as a crashed msg_server) or politely (FIN). */
static void fake_close(fake_t *f, int abrupt)
{
    if (f->fd >= 0) {
        if (abrupt) {
            struct linger l = {1, 0};
            setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        }
        close(f->fd);
    }
    f->fd = -1;
    tt_pdu_reader_free(&f->r);
}

static int fake_write(fake_t *f, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(f->fd, b, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR)
                continue;
            return check(0, "%s: write: %s", f->name, strerror(errno)), -1;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int fake_send(fake_t *f, uint16_t sid, uint16_t cid, uint16_t seq,
                     const ProtobufCMessage *m)
{
    tt_buf_t b;
    tt_buf_init(&b);
    int rc = tt_pdu_append(&b, sid, cid, seq, m) == 0
                 ? fake_write(f, tt_buf_head(&b), tt_buf_len(&b))
                 : -1;
    tt_buf_free(&b);
    return rc;
}

/* Next frame other than a heartbeat, within ms: 1 (in g_frame), 0 timeout, -1 closed. */
static int fake_next(fake_t *f, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    for (;;) {
        tt_pdu_t pdu;
        int rc = tt_pdu_reader_next(&f->r, &pdu);
        if (rc == TT_ERR)
            return check(0, "%s: bad frame: %s", f->name, f->r.err), -1;
        if (rc == TT_OK) {
            if (pdu.command_id == CID_HEARTBEAT)
                continue;
            if (pdu.length > sizeof(g_frame.raw))
                return check(0, "%s: frame too big", f->name), -1;
            memcpy(g_frame.raw, pdu.body - TT_PDU_HEADER_LEN, pdu.length);
            g_frame.h = pdu;
            g_frame.h.body = g_frame.raw + TT_PDU_HEADER_LEN;
            return 1;
        }
        uint64_t now = now_ms();
        if (now >= deadline)
            return 0;
        struct pollfd p = {f->fd, POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            return 0;
        uint8_t buf[4096];
        ssize_t n = read(f->fd, buf, sizeof(buf));
        if (n <= 0)
            return -1;
        tt_pdu_reader_feed(&f->r, buf, (size_t)n);
    }
}

/* Waits for a frame of command cid and unpacks it (NULL, with a FAIL, on anything else). */
static ProtobufCMessage *fake_expect(fake_t *f, uint16_t cid, const ProtobufCMessageDescriptor *d,
                                     const char *what)
{
    int rc = fake_next(f, T);
    if (rc != 1) {
        check(0, "%s: %s: %s", f->name, what, rc == 0 ? "nothing came" : "connection closed");
        return NULL;
    }
    if (g_frame.h.command_id != cid) {
        check(0, "%s: %s: got command 0x%04x instead of 0x%04x", f->name, what,
              g_frame.h.command_id, cid);
        return NULL;
    }
    ProtobufCMessage *m = tt_pb_unpack(d, g_frame.h.body, g_frame.h.body_len);
    if (!m)
        check(0, "%s: %s: body does not parse", f->name, what);
    return m;
}

static void fake_expect_quiet(fake_t *f, const char *what)
{
    int rc = fake_next(f, QUIET);
    check(rc == 0, "%s: %s%s", f->name, what,
          rc == 1 ? " (but a frame came)" : rc < 0 ? " (but it closed)" : "");
    if (rc == 1)
        printf("    command 0x%04x\n", g_frame.h.command_id);
}

/* ---- login_server ---- */

static void msg_serv_info(fake_t *f, const char *ip1, const char *ip2, uint32_t port,
                          uint32_t max, uint32_t cur)
{
    IM__Server__IMMsgServInfo m = IM__SERVER__IMMSG_SERV_INFO__INIT;
    m.ip1 = (char *)ip1;
    m.ip2 = (char *)ip2;
    m.port = port;
    m.max_conn_cnt = max;
    m.cur_conn_cnt = cur;
    m.host_name = (char *)f->name;
    fake_send(f, SID_OTHER, CID_MSG_SERV_INFO, 0, &m.base);
}

static void user_cnt(fake_t *f, uint32_t action, uint32_t user, int times)
{
    IM__Server__IMUserCntUpdate m = IM__SERVER__IMUSER_CNT_UPDATE__INIT;
    m.user_action = action;
    m.user_id = user;
    for (int i = 0; i < times; i++)
        fake_send(f, SID_OTHER, CID_USER_CNT, 0, &m.base);
}

typedef struct login_env_s {
    uint16_t http_port;    /* login_server HTTP */
    uint16_t client_port;  /* deprecated TCP port */
    const char *msfs;      /* config msfs */
    const char *discovery; /* config discovery */
} login_env_t;

/* GET /msg_server with curl; the parsed JSON or NULL. */
static json_t *discover(const login_env_t *e)
{
    char cmd[256], body[4096];
    snprintf(cmd, sizeof(cmd), "curl -s --max-time 5 http://127.0.0.1:%u/msg_server",
             e->http_port);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t n = fread(body, 1, sizeof(body) - 1, p);
    pclose(p);
    body[n] = '\0';
    return json_loads(body, 0, NULL);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jcode(json_t *o)
{
    json_t *v = json_object_get(o, "code");
    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Asks until the answer has the wanted code (and port, for code 0) or ms pass; checks every
 * field of the last answer. */
static void expect_pick(const login_env_t *e, int code, const char *port, const char *ip1,
                        const char *ip2, int ms, const char *what)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    json_t *o = NULL;
    for (;;) {
        json_decref(o);
        o = discover(e);
        if (o && jcode(o) == code && (code != 0 || same(jstr(o, "port"), port)))
            break;
        if (now_ms() >= deadline)
            break;
        usleep(20000);
    }
    if (!check(o != NULL, "%s: the answer is JSON", what))
        return;
    check(jcode(o) == code, "%s: code %d (got %d)", what, code, jcode(o));
    if (code == 0) {
        check(json_object_size(o) == 8, "%s: 8 fields", what);
        check(json_is_string(json_object_get(o, "port")) && same(jstr(o, "port"), port),
              "%s: port is the string \"%s\"", what, port);
        check(same(jstr(o, "msg"), ""), "%s: msg is empty", what);
        check(same(jstr(o, "priorIP"), ip1), "%s: priorIP %s", what, ip1);
        check(same(jstr(o, "backupIP"), ip2), "%s: backupIP %s", what, ip2);
        check(same(jstr(o, "msfsPrior"), e->msfs) && same(jstr(o, "msfsBackup"), e->msfs),
              "%s: msfsPrior and msfsBackup are the configured msfs", what);
        check(same(jstr(o, "discovery"), e->discovery), "%s: discovery as configured", what);
    } else {
        check(json_object_size(o) == 2, "%s: only code and msg", what);
        check(same(jstr(o, "msg"), code == 1 ? "没有msg_server" : "负载过高"), "%s: msg %s",
              what, jstr(o, "msg") ? jstr(o, "msg") : "(none)");
    }
    json_decref(o);
}

/* The deprecated TCP way: IMMsgServReq -> IMMsgServRsp with the seq, then close. */
static void expect_tcp_pick(const login_env_t *e, uint32_t code, const char *ip1,
                            const char *ip2, uint32_t port)
{
    fake_t c;
    if (fake_connect(&c, "tcp-client", e->client_port) < 0)
        return;
    IM__Login__IMMsgServReq req = IM__LOGIN__IMMSG_SERV_REQ__INIT;
    fake_send(&c, SID_LOGIN, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_MSGSERVER, 99,
              &req.base);
    IM__Login__IMMsgServRsp *rsp = (IM__Login__IMMsgServRsp *)fake_expect(
        &c, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_MSGSERVER,
        &im__login__immsg_serv_rsp__descriptor, "IMMsgServRsp");
    if (rsp) {
        check(g_frame.h.seq_num == 99, "IMMsgServRsp carries the request's seq");
        check(rsp->result_code == code, "IMMsgServRsp result %u (got %u)", code,
              (unsigned)rsp->result_code);
        if (code == 0)
            check(same(rsp->prior_ip, ip1) && same(rsp->backip_ip, ip2) && rsp->has_port &&
                      rsp->port == port,
                  "IMMsgServRsp names %s / %s port %u", ip1, ip2, port);
        tt_pb_free(rsp);
        check(fake_next(&c, T) == -1, "the TCP client connection is closed after the answer");
    }
    fake_close(&c, 0);
}

static void run_login(const login_env_t *e, uint16_t ms_port)
{
    expect_pick(e, 1, NULL, NULL, NULL, 0, "no msg_server registered");
    expect_tcp_pick(e, 1, NULL, NULL, 0);

    fake_t a, b, c;
    if (fake_connect(&a, "ms-a", ms_port) < 0 || fake_connect(&b, "ms-b", ms_port) < 0)
        return;
    msg_serv_info(&a, "10.0.0.1", "10.0.1.1", 8001, 6, 5);
    msg_serv_info(&b, "10.0.0.2", "10.0.1.2", 8002, 100, 3);
    expect_pick(e, 0, "8002", "10.0.0.2", "10.0.1.2", T, "A 5/6, B 3/100: B");
    expect_tcp_pick(e, 0, "10.0.0.2", "10.0.1.2", 8002);

    user_cnt(&b, 1, 42, 3); /* B 6 */
    expect_pick(e, 0, "8001", "10.0.0.1", "10.0.1.1", T, "A 5/6, B 6/100: A");
    /* junk is ignored: an unparsable update and an unknown command */
    uint8_t junk[] = {0, 0, 0, 19, 0, 1, 0, 0, 0, 7, 0x07, 0x0b, 0, 0, 0, 0, 0xff, 0xff, 0xff};
    fake_write(&a, junk, sizeof(junk));
    IM__Server__IMRoleSet role = IM__SERVER__IMROLE_SET__INIT;
    fake_send(&a, SID_OTHER, 0x0799, 0, &role.base);
    user_cnt(&a, 1, 43, 1); /* A 6/6: full */
    expect_pick(e, 0, "8002", "10.0.0.2", "10.0.1.2", T, "A full, B 6/100: B");
    user_cnt(&a, 2, 43, 1); /* A 5/6 */
    expect_pick(e, 0, "8001", "10.0.0.1", "10.0.1.1", T, "A 5/6 again: A");

    fake_close(&a, 1);
    expect_pick(e, 0, "8002", "10.0.0.2", "10.0.1.2", 1000, "A dropped: B at once");

    if (fake_connect(&c, "ms-c", ms_port) < 0)
        return;
    msg_serv_info(&c, "10.0.0.3", "10.0.1.3", 8003, 2, 2);
    user_cnt(&c, 2, 44, 1);
    user_cnt(&c, 1, 44, 1); /* 2/2: full */
    usleep(200000);
    expect_pick(e, 0, "8002", "10.0.0.2", "10.0.1.2", T, "C full: still B");
    fake_close(&b, 0);
    expect_pick(e, 2, NULL, NULL, NULL, 1000, "B gone, C full: code 2");
    expect_tcp_pick(e, 2, NULL, NULL, 0);
    fake_close(&c, 1);
    expect_pick(e, 1, NULL, NULL, NULL, 1000, "C dropped: code 1");
}

/* ---- route_server ---- */

static void status_update(fake_t *f, uint32_t user, uint32_t status, uint32_t type)
{
    IM__Server__IMUserStatusUpdate m = IM__SERVER__IMUSER_STATUS_UPDATE__INIT;
    m.user_status = status;
    m.user_id = user;
    m.client_type = (IM__BaseDefine__ClientType)type;
    fake_send(f, SID_OTHER, CID_STATUS_UPDATE, 0, &m.base);
}

static void online_info(fake_t *f, size_t n, const uint32_t *users, const uint32_t *types)
{
    IM__BaseDefine__ServerUserStat s[8], *list[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        im__base_define__server_user_stat__init(&s[i]);
        s[i].user_id = users[i];
        s[i].status = ONLINE;
        s[i].client_type = (IM__BaseDefine__ClientType)types[i];
        list[i] = &s[i];
    }
    IM__Server__IMOnlineUserInfo m = IM__SERVER__IMONLINE_USER_INFO__INIT;
    m.n_user_stat_list = n;
    m.user_stat_list = list;
    fake_send(f, SID_OTHER, CID_ONLINE_INFO, 0, &m.base);
}

/* Asks for the status of users; checks the answer (seq, requester, attach, one per user). */
static void expect_stats(fake_t *f, uint16_t seq, size_t n, const uint32_t *users,
                         const uint32_t *want, const char *what)
{
    static const uint8_t attach[12] = {0, 0, 0, 1, 0, 0, 0x30, 0x39, 0, 0, 0, 7};
    IM__Buddy__IMUsersStatReq req = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    req.user_id = 77;
    req.n_user_id_list = n;
    req.user_id_list = (uint32_t *)users;
    req.has_attach_data = 1;
    req.attach_data.data = (uint8_t *)attach;
    req.attach_data.len = sizeof(attach);
    fake_send(f, SID_BUDDY, CID_STAT_REQ, seq, &req.base);
    IM__Buddy__IMUsersStatRsp *rsp = (IM__Buddy__IMUsersStatRsp *)fake_expect(
        f, CID_STAT_RSP, &im__buddy__imusers_stat_rsp__descriptor, what);
    if (!rsp)
        return;
    check(g_frame.h.seq_num == seq && g_frame.h.service_id == SID_BUDDY,
          "%s: %s: seq %u and service 2 (got %u, %u)", f->name, what, seq, g_frame.h.seq_num,
          g_frame.h.service_id);
    check(rsp->user_id == 77, "%s: %s: requester echoed", f->name, what);
    check(rsp->has_attach_data && rsp->attach_data.len == sizeof(attach) &&
              memcmp(rsp->attach_data.data, attach, sizeof(attach)) == 0,
          "%s: %s: attach_data echoed", f->name, what);
    int ok = rsp->n_user_stat_list == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = rsp->user_stat_list[i]->user_id == users[i] &&
             (uint32_t)rsp->user_stat_list[i]->status == want[i];
    check(ok, "%s: %s: one status per user, as expected", f->name, what);
    tt_pb_free(rsp);
}

static void expect_pc_login(fake_t *f, uint32_t user, uint32_t status, const char *what)
{
    IM__Server__IMServerPCLoginStatusNotify *n =
        (IM__Server__IMServerPCLoginStatusNotify *)fake_expect(
            f, CID_PC_LOGIN, &im__server__imserver_pclogin_status_notify__descriptor, what);
    if (n)
        check(n->user_id == user && n->login_status == status && g_frame.h.seq_num == 0,
              "%s: %s: IMServerPCLoginStatusNotify{%u, %u}", f->name, what, user, status);
    tt_pb_free(n);
}

static void expect_user_stat(fake_t *f, uint32_t user, uint32_t status, const char *what)
{
    IM__Buddy__IMUserStatNotify *n = (IM__Buddy__IMUserStatNotify *)fake_expect(
        f, CID_STAT_NOTIFY, &im__buddy__imuser_stat_notify__descriptor, what);
    if (n)
        check(n->user_stat->user_id == user && (uint32_t)n->user_stat->status == status &&
                  g_frame.h.service_id == SID_BUDDY,
              "%s: %s: IMUserStatNotify{%u, %s}", f->name, what, user,
              status == ONLINE ? "ONLINE" : "OFFLINE");
    tt_pb_free(n);
}

static void run_route(uint16_t port)
{
    fake_t a, b;
    if (fake_connect(&a, "ms-a", port) < 0)
        return;
    online_info(&a, 0, NULL, NULL);
    IM__Server__IMRoleSet role = IM__SERVER__IMROLE_SET__INIT;
    role.master = 1;
    fake_send(&a, SID_OTHER, CID_ROLE_SET, 0, &role.base);
    expect_stats(&a, 1, 0, NULL, NULL, "A registered");
    if (fake_connect(&b, "ms-b", port) < 0)
        return;
    const uint32_t mobile_user = 9, mobile_type = ANDROID;
    online_info(&b, 1, &mobile_user, &mobile_type); /* a phone only: nobody hears of it */
    expect_stats(&b, 2, 1, (uint32_t[]){9}, (uint32_t[]){OFFLINE}, "B registered");

    /* user 1 logs in on a PC at A: both hear it (the PC-login notice first) */
    status_update(&a, 1, ONLINE, WIN);
    expect_pc_login(&b, 1, 1, "user 1 PC login");
    expect_user_stat(&b, 1, ONLINE, "user 1 PC login");
    expect_pc_login(&a, 1, 1, "user 1 PC login");
    expect_user_stat(&a, 1, ONLINE, "user 1 PC login");
    expect_stats(&b, 4242, 3, (uint32_t[]){1, 2, 9}, (uint32_t[]){ONLINE, OFFLINE, OFFLINE},
                 "users 1, 2, 9");

    /* a chat message from A reaches B byte for byte (header included), and not A */
    IM__Message__IMMsgData msg = IM__MESSAGE__IMMSG_DATA__INIT;
    msg.from_user_id = 1;
    msg.to_session_id = 2;
    msg.msg_id = 5;
    msg.create_time = 1700000000;
    msg.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    msg.msg_data.data = (uint8_t *)"hello";
    msg.msg_data.len = 5;
    tt_buf_t frame;
    tt_buf_init(&frame);
    tt_pdu_append(&frame, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 77, &msg.base);
    uint8_t *h = tt_buf_head(&frame);
    h[5] = 6;    /* version 6, as Android */
    h[15] = 0x30; /* reserved '0', as Android */
    fake_write(&a, h, tt_buf_len(&frame));
    int rc = fake_next(&b, T);
    check(rc == 1 && g_frame.h.length == tt_buf_len(&frame) &&
              memcmp(g_frame.raw, h, tt_buf_len(&frame)) == 0,
          "B receives the relayed IMMsgData byte for byte");
    tt_buf_free(&frame);

    /* a sign-info change from A reaches both; A's next frame is it, so the chat message did
     * not come back to A */
    IM__Buddy__IMSignInfoChangedNotify sign = IM__BUDDY__IMSIGN_INFO_CHANGED_NOTIFY__INIT;
    sign.changed_user_id = 1;
    sign.sign_info = "busy";
    fake_send(&a, SID_BUDDY, CID_SIGN_CHANGED, 0, &sign.base);
    IM__Buddy__IMSignInfoChangedNotify *n;
    n = (IM__Buddy__IMSignInfoChangedNotify *)fake_expect(
        &a, CID_SIGN_CHANGED, &im__buddy__imsign_info_changed_notify__descriptor,
        "sign info back at A (and no chat message before it)");
    check(n && same(n->sign_info, "busy"), "A: the sign info change comes back to A");
    tt_pb_free(n);
    n = (IM__Buddy__IMSignInfoChangedNotify *)fake_expect(
        &b, CID_SIGN_CHANGED, &im__buddy__imsign_info_changed_notify__descriptor,
        "sign info at B");
    check(n && same(n->sign_info, "busy"), "B: the sign info change reaches B");
    tt_pb_free(n);

    /* user 5 on a PC at both: when A drops, B still has it */
    status_update(&b, 5, ONLINE, MAC);
    expect_pc_login(&b, 5, 1, "user 5 Mac login at B");
    expect_user_stat(&b, 5, ONLINE, "user 5 Mac login at B");
    expect_pc_login(&a, 5, 1, "user 5 Mac login at B");
    expect_user_stat(&a, 5, ONLINE, "user 5 Mac login at B");
    status_update(&a, 5, ONLINE, WIN);
    expect_pc_login(&a, 5, 1, "user 5 Windows login at A");
    expect_user_stat(&a, 5, ONLINE, "user 5 Windows login at A");
    expect_pc_login(&b, 5, 1, "user 5 Windows login at A");
    expect_user_stat(&b, 5, ONLINE, "user 5 Windows login at A");

    /* push presence (base/tt_pushpresence.h), asked by B, answered to B only, in order */
    uint8_t q[4 + 4 * 4], hdr[TT_PDU_HEADER_LEN];
    const uint32_t asked[4] = {1, 9, 5, 3}, want[4] = {TT_PP_PC, TT_PP_MOBILE, TT_PP_PC, 0};
    tt_put32(q, 0xabcd0001u);
    for (int i = 0; i < 4; i++)
        tt_put32(q + 4 + 4 * i, asked[i]);
    tt_pdu_encode_header(hdr, sizeof(hdr) + sizeof(q), SID_OTHER, TT_CID_PUSH_PRESENCE_REQ, 31);
    fake_write(&b, hdr, sizeof(hdr));
    fake_write(&b, q, sizeof(q));
    rc = fake_next(&b, T);
    if (check(rc == 1 && g_frame.h.command_id == TT_CID_PUSH_PRESENCE_RSP &&
                  g_frame.h.seq_num == 31 && g_frame.h.body_len == 4 + 4 * TT_PP_ENTRY &&
                  tt_get32(g_frame.h.body) == 0xabcd0001u,
              "B: push presence answer (query id and seq echoed, 4 entries)"))
        for (int i = 0; i < 4; i++) {
            const uint8_t *e = g_frame.h.body + 4 + i * TT_PP_ENTRY;
            check(tt_get32(e) == asked[i] && e[4] == want[i],
                  "push presence of user %u: flags %u, want %u", asked[i], e[4], want[i]);
        }
    /* a ragged query is not answered, and the link stays */
    tt_pdu_encode_header(hdr, sizeof(hdr) + 7, SID_OTHER, TT_CID_PUSH_PRESENCE_REQ, 32);
    fake_write(&b, hdr, sizeof(hdr));
    fake_write(&b, q, 7);
    fake_expect_quiet(&b, "a ragged push presence query is not answered");

    /* A dies: B hears user 1 went offline, and nothing about user 5 */
    fake_close(&a, 1);
    expect_pc_login(&b, 1, 0, "A dropped");
    expect_user_stat(&b, 1, OFFLINE, "A dropped");
    expect_stats(&b, 7, 2, (uint32_t[]){1, 5}, (uint32_t[]){OFFLINE, ONLINE},
                 "after A dropped (and nothing else came before)");
    fake_expect_quiet(&b, "nothing more");
    fake_close(&b, 0);
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "login") == 0) {
        login_env_t e = {(uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[4]), argv[5], argv[6]};
        run_login(&e, (uint16_t)atoi(argv[3]));
    } else if (argc == 3 && strcmp(argv[1], "route") == 0) {
        run_route((uint16_t)atoi(argv[2]));
    } else {
        fprintf(stderr,
                "usage: %s login HTTP_PORT MS_PORT CLIENT_PORT MSFS DISCOVERY | route PORT\n",
                argv[0]);
        return 2;
    }
    printf("%s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
