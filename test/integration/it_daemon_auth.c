/* Only daemons talk to daemons (driven by it_daemon_auth.sh against the whole suite, whose
 * daemons share $TT_DAEMON_SECRET):
 *   login  LMS HTTP MS1 MS2: a stranger without the secret cannot register a msg_server
 *          (login_server never hands it out to clients), nor can one with a wrong secret;
 *          the right secret registers one, and clients are sent to it.
 *   route  ROUTE MS: a stranger cannot deliver a forged message to a logged-in user, kick
 *          them, or make an offline user look online; a wrong secret is refused; the right
 *          secret gets answers. Then a 200k-entry IMOnlineUserInfo with the right secret:
 *          route_server still answers a status query promptly afterwards.
 *   db     DB: a stranger's (and a wrong secret's) login check is never answered; the right
 *          secret's is.
 * The connections that should be refused are expected to be closed by the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_auth.h"
#include "tt_net.h"
#include "tt_pdu.h"

#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define RS_ONLINE_STATUS IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE
#define RS_OFFLINE_STATUS IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE

/* ---- a peer on a blocking socket ---- */

typedef enum { NO_SECRET, WRONG_SECRET, RIGHT_SECRET } who_t;
static const char *const WHO[] = {"a stranger", "a wrong secret", "the right secret"};

/* Connects; with a secret, runs the handshake. -1 when the connection or (for the right
 * secret) the handshake fails. For a wrong secret the handshake must fail (checked). */
static int peer(uint16_t port, who_t who)
{
    char err[256];
    int in_progress = 0;
    int fd = tt_net_connect("127.0.0.1", port, &in_progress, err, sizeof(err));
    if (fd < 0)
        return check(0, "connect to %u: %s", port, err), -1;
    struct pollfd pf = {fd, POLLOUT, 0};
    if (in_progress && (poll(&pf, 1, 5000) != 1 || tt_net_connect_result(fd) != 0)) {
        close(fd);
        return check(0, "connect to %u", port), -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const char *secret = getenv("TT_DAEMON_SECRET");
    if (who == NO_SECRET || (who == RIGHT_SECRET && (!secret || !*secret)))
        return fd; /* the daemons have no secret (only to try this test on old code) */
    char wrong[128];
    snprintf(wrong, sizeof(wrong), "%s-but-not-quite", secret ? secret : "");
    tt_auth_t a;
    memset(&a, 0, sizeof(a));
    const char *s = who == RIGHT_SECRET ? secret : wrong;
    if (!s || tt_auth_set_secret(&a, s, strlen(s), err, sizeof(err)) < 0) {
        close(fd);
        return check(0, "no usable $TT_DAEMON_SECRET"), -1;
    }
    int rc = tt_auth_client_fd(fd, &a, 8000, err, sizeof(err));
    if (who == RIGHT_SECRET && rc < 0) {
        close(fd);
        return check(0, "handshake with the right secret on %u: %s", port, err), -1;
    }
    if (who == WRONG_SECRET)
        check(rc < 0, "port %u: this end sees that the daemon does not share a wrong secret (%s)",
              port, rc < 0 ? err : "accepted");
    return fd;
}

static void send_msg(int fd, uint16_t sid, uint16_t cid, const ProtobufCMessage *m)
{
    tt_buf_t b;
    tt_buf_init(&b);
    tt_pdu_append(&b, sid, cid, 7, m);
    const uint8_t *p = tt_buf_head(&b);
    size_t n = tt_buf_len(&b);
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            break; /* a closed peer: the checks see it */
        p += k;
        n -= (size_t)k;
    }
    tt_buf_free(&b);
}

/* The next frame other than a heartbeat within ms: its command id (0: none, -1: closed). The
 * body goes to *body (malloc'd) when asked. */
static int next_frame(int fd, int ms, uint8_t **body, size_t *body_len)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    for (;;) {
        uint8_t h[TT_PDU_HEADER_LEN];
        size_t got = 0;
        while (got < sizeof(h)) {
            int64_t left = (int64_t)(end - itc_now_ms());
            struct pollfd pf = {fd, POLLIN, 0};
            if (left <= 0 || poll(&pf, 1, (int)left) != 1)
                return 0;
            ssize_t k = read(fd, h + got, sizeof(h) - got);
            if (k <= 0)
                return -1;
            got += (size_t)k;
        }
        uint32_t len = tt_get32(h);
        uint16_t cid = (uint16_t)(h[10] << 8 | h[11]);
        if (len < TT_PDU_HEADER_LEN || len > (64u << 20))
            return -1;
        uint8_t *b = malloc(len - TT_PDU_HEADER_LEN + 1);
        size_t n = len - TT_PDU_HEADER_LEN;
        got = 0;
        while (got < n) {
            struct pollfd pf = {fd, POLLIN, 0};
            ssize_t k = poll(&pf, 1, 5000) == 1 ? read(fd, b + got, n - got) : -1;
            if (k <= 0) {
                free(b);
                return -1;
            }
            got += (size_t)k;
        }
        if (cid == OTHER(HEARTBEAT)) {
            free(b);
            continue;
        }
        if (body) {
            *body = b;
            *body_len = n;
        } else
            free(b);
        return cid;
    }
}

/* A frame with command want arrives within ms (others are skipped: heartbeats, the daemon's
 * handshake hello, notifications). 0 when it does not, or the daemon closed the connection. */
static int answered(int fd, int want, int ms)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    for (;;) {
        int64_t left = (int64_t)(end - itc_now_ms());
        if (left <= 0)
            return 0;
        int cid = next_frame(fd, (int)left, NULL, NULL);
        if (cid <= 0)
            return 0;
        if (cid == want)
            return 1;
    }
}

/* The daemon closes fd within ms (whatever it sent before). */
static int closed_within(int fd, int ms)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    uint8_t buf[4096];
    while (itc_now_ms() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) == 1) {
            ssize_t k = read(fd, buf, sizeof(buf));
            if (k <= 0)
                return 1;
        }
    }
    return 0;
}

/* GET /msg_server from login_server: the body, or "" (static buffer). */
static const char *msg_server_answer(uint16_t http)
{
    static char buf[8192];
    buf[0] = '\0';
    int fd = peer(http, NO_SECRET);
    if (fd < 0)
        return buf;
    const char *req = "GET /msg_server HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return buf;
    }
    size_t got = 0;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        ssize_t k = got + 1 < sizeof(buf) && poll(&pf, 1, 5000) == 1
                        ? read(fd, buf + got, sizeof(buf) - 1 - got)
                        : 0;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    close(fd);
    return buf;
}

/* ---- login_server ---- */

static void register_as(int fd, const char *ip, const char *name)
{
    IM__Server__IMMsgServInfo info = IM__SERVER__IMMSG_SERV_INFO__INIT;
    info.ip1 = (char *)ip;
    info.ip2 = (char *)ip;
    info.port = 8000;
    info.max_conn_cnt = 1000000;
    info.cur_conn_cnt = 0;
    info.host_name = (char *)name;
    send_msg(fd, SID_OTHER, OTHER(MSG_SERV_INFO), &info.base);
}

static int mode_login(uint16_t lms, uint16_t http, uint16_t ms1, uint16_t ms2)
{
    /* a client on each real msg_server: a fake one with no client would be the first choice */
    ttc_t *c1 = itc_login(ms1, "TT025", ITC_PC), *c2 = itc_login(ms2, "TT026", ITC_PC);
    usleep(500 * 1000);
    static const char *const ip[] = {"203.0.113.66", "203.0.113.67"};
    static const char *const name[] = {"evil-stranger", "evil-wrong"};
    for (who_t w = NO_SECRET; w <= WRONG_SECRET; w++) {
        int fd = peer(lms, w);
        if (fd < 0)
            continue;
        register_as(fd, ip[w], name[w]);
        usleep(300 * 1000);
        /* while its connection is still open, as long as the daemon keeps it */
        int handed_out = 0;
        for (int i = 0; i < 5; i++)
            if (strstr(msg_server_answer(http), ip[w]))
                handed_out = 1;
        check(!handed_out, "login_server never sends clients to a msg_server registered by %s",
              WHO[w]);
        check(closed_within(fd, 8000), "login_server closes %s", WHO[w]);
        close(fd);
    }
    int fd = peer(lms, RIGHT_SECRET);
    if (fd >= 0) {
        register_as(fd, "198.51.100.7", "good-fake");
        check(next_frame(fd, 1500, NULL, NULL) == 0, "the right secret: the link stays open");
        check(strstr(msg_server_answer(http), "198.51.100.7") != NULL,
              "the right secret: login_server sends clients to it");
        close(fd);
    }
    ttc_close(c1);
    ttc_close(c2);
    return failures + itc_failures();
}

/* ---- route_server ---- */

static void status_update(int fd, uint32_t user, uint32_t status)
{
    IM__Server__IMUserStatusUpdate u = IM__SERVER__IMUSER_STATUS_UPDATE__INIT;
    u.user_status = status;
    u.user_id = user;
    u.client_type = ITC_PC;
    send_msg(fd, SID_OTHER, OTHER(USER_STATUS_UPDATE), &u.base);
}

/* Status of user as a client on a msg_server sees it (route_server answers). */
static uint32_t status_seen(ttc_t *c, uint32_t user)
{
    IM__Buddy__IMUsersStatReq q = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    q.user_id = ttc_user_id(c);
    q.n_user_id_list = 1;
    q.user_id_list = &user;
    IM__Buddy__IMUsersStatRsp *r =
        ttc_call(c, SID_BUDDY, BUDDY(USERS_STATUS_REQUEST), &q.base, BUDDY(USERS_STATUS_RESPONSE),
                 &im__buddy__imusers_stat_rsp__descriptor, ITC_T, NULL, 0);
    uint32_t st = 0;
    if (r && r->n_user_stat_list == 1)
        st = r->user_stat_list[0]->status;
    tt_pb_free(r);
    return st;
}

/* Route's answer to a status query sent on a daemon link: 1 when it came within ms. */
static int route_answers(int fd, uint32_t user, int ms)
{
    IM__Buddy__IMUsersStatReq q = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    q.user_id = 1;
    q.n_user_id_list = 1;
    q.user_id_list = &user;
    send_msg(fd, SID_BUDDY, BUDDY(USERS_STATUS_REQUEST), &q.base);
    return answered(fd, BUDDY(USERS_STATUS_RESPONSE), ms);
}

static int mode_route(uint16_t route, uint16_t ms)
{
    ttc_t *a = itc_login(ms, "TT020", ITC_PC);
    ttc_t *b = itc_login(ms, "TT021", ITC_PC);
    ttc_t *z = itc_login(ms, "TT022", ITC_PC); /* only to learn its id, then offline */
    if (!a || !b || !z)
        return check(0, "log in TT020, TT021, TT022"), 1;
    uint32_t ida = ttc_user_id(a), idb = ttc_user_id(b), idz = ttc_user_id(z);
    ttc_close(z);
    for (int i = 0; i < 50 && status_seen(b, idz) != RS_OFFLINE_STATUS; i++)
        usleep(100 * 1000);
    check(status_seen(b, idz) == RS_OFFLINE_STATUS, "TT022 is offline");

    for (who_t w = NO_SECRET; w <= WRONG_SECRET; w++) {
        /* a forged message "from" TT020 to TT021 */
        int fd = peer(route, w);
        if (fd >= 0) {
            IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
            m.from_user_id = ida;
            m.to_session_id = idb;
            m.msg_id = 4242;
            m.create_time = 1;
            m.msg_type = ITC_TEXT;
            m.msg_data.data = (uint8_t *)"forged";
            m.msg_data.len = 6;
            send_msg(fd, IM__BASE_DEFINE__SERVICE_ID__SID_MSG, ITC_CID_DATA, &m.base);
            check(itc_nothing_more(b, 1500), "%s: no forged message delivered", WHO[w]);
            check(closed_within(fd, 8000), "route_server closes %s (message)", WHO[w]);
            close(fd);
        }
        /* a forged kick of TT021 */
        if ((fd = peer(route, w)) >= 0) {
            IM__Server__IMServerKickUser k = IM__SERVER__IMSERVER_KICK_USER__INIT;
            k.user_id = idb;
            k.client_type = ITC_PC;
            k.reason = 1;
            send_msg(fd, SID_OTHER, OTHER(SERVER_KICK_USER), &k.base);
            check(closed_within(fd, 8000), "route_server closes %s (kick)", WHO[w]);
            close(fd);
            check(itc_nothing_more(b, 500) && !ttc_is_closed(b) && ttc_heartbeat(b) == 0 &&
                      status_seen(b, ida) == RS_ONLINE_STATUS,
                  "%s: TT021 not kicked", WHO[w]);
        }
        /* forged presence: the offline TT022 "online" */
        if ((fd = peer(route, w)) >= 0) {
            status_update(fd, idz, RS_ONLINE_STATUS);
            usleep(300 * 1000);
            check(status_seen(b, idz) == RS_OFFLINE_STATUS, "%s: TT022 still offline", WHO[w]);
            check(closed_within(fd, 8000), "route_server closes %s (presence)", WHO[w]);
            close(fd);
        }
    }
    /* TT021 still chats with TT020 */
    uint32_t id = itc_send_text(a, idb, 1, "still here");
    check(id && itc_got_text(b, ida, id, "still here"), "TT020 and TT021 still chat");

    /* the right secret: answered; then a 200k-entry IMOnlineUserInfo of one user with 200k
     * client types (a scan per entry froze route_server for seconds): answered promptly */
    int fd = peer(route, RIGHT_SECRET);
    if (fd >= 0) {
        check(route_answers(fd, idb, 5000), "the right secret: route_server answers");
        const size_t n = 200000;
        IM__BaseDefine__ServerUserStat *s = calloc(n, sizeof(*s));
        IM__BaseDefine__ServerUserStat **list = calloc(n, sizeof(*list));
        for (size_t i = 0; i < n; i++) {
            im__base_define__server_user_stat__init(&s[i]);
            s[i].user_id = 999999;
            s[i].status = RS_ONLINE_STATUS;
            s[i].client_type = (IM__BaseDefine__ClientType)(i + 1);
            list[i] = &s[i];
        }
        IM__Server__IMOnlineUserInfo info = IM__SERVER__IMONLINE_USER_INFO__INIT;
        info.n_user_stat_list = n;
        info.user_stat_list = list;
        send_msg(fd, SID_OTHER, OTHER(ONLINE_USER_INFO), &info.base);
        free(s);
        free(list);
        check(route_answers(fd, 999999, 5000),
              "after a 200k-entry IMOnlineUserInfo route_server answers within 5 s");
        close(fd);
    }
    ttc_close(a);
    ttc_close(b);
    return failures + itc_failures();
}

/* ---- db_proxy_server ---- */

static int mode_db(uint16_t db)
{
    char md5[33];
    ttc_md5_hex("test123", md5);
    for (who_t w = NO_SECRET; w <= RIGHT_SECRET; w++) {
        int fd = peer(db, w);
        if (fd < 0)
            continue;
        IM__Server__IMValidateReq v = IM__SERVER__IMVALIDATE_REQ__INIT;
        v.user_name = "TT030";
        v.password = md5;
        send_msg(fd, SID_OTHER, OTHER(VALIDATE_REQ), &v.base);
        int ok = answered(fd, OTHER(VALIDATE_RSP), w == RIGHT_SECRET ? 8000 : 1500);
        if (w == RIGHT_SECRET)
            check(ok, "the right secret: db_proxy_server answers");
        else {
            check(!ok, "%s: db_proxy_server does not answer", WHO[w]);
            check(closed_within(fd, 8000), "db_proxy_server closes %s", WHO[w]);
        }
        close(fd);
    }
    return failures;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 6 && !strcmp(argv[1], "login"))
        return mode_login((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]),
                          (uint16_t)atoi(argv[4]), (uint16_t)atoi(argv[5])) ? 1 : 0;
    if (argc == 4 && !strcmp(argv[1], "route"))
        return mode_route((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3])) ? 1 : 0;
    if (argc == 3 && !strcmp(argv[1], "db"))
        return mode_db((uint16_t)atoi(argv[2])) ? 1 : 0;
    fprintf(stderr, "usage: %s login LMS HTTP MS1 MS2 | route ROUTE MS | db DB\n", argv[0]);
    return 2;
}
