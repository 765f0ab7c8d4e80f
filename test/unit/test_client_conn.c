/* The client connection against a tiny fake msg_server thread on loopback: a login answered
 * with notifications, a heartbeat and a stray reply in between (ttc_request returns the right
 * reply, ttc_wait then gets the queued notification), refusals, seq wrap, the FIFO bound,
 * timeouts, big frames and malformed server data. Plus md5 hex and the seq counter. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_client.h"
#include "tt_net.h"
#include "tt_pdu.h"
#include "tt_test.h"
#include "ttc_http.h"

#define CID_LOGIN_REQ IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN
#define CID_LOGIN_RES IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN
#define CID_TIME_REQ IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_REQUEST
#define CID_TIME_RSP IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_RESPONSE
#define CID_HEARTBEAT IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT
#define CID_STATUS IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY
#define CID_SIGN IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY
#define CID_ALL_RSP IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_RESPONSE
#define BIG_BODY (2u << 20)

/* ---- the fake server (runs in a thread; records, never asserts) ---- */

typedef struct fake_s fake_t;
typedef void (*script_fn)(fake_t *f, int fd);

struct fake_s {
    int lfd;               /* listening socket */
    uint16_t port;         /* its port */
    script_fn script;      /* what the server does with the one connection */
    pthread_t thread;      /* the server thread */
    tt_pdu_reader_t rd;    /* framing of what the client sends */
    uint16_t seqs[8];      /* seq of each frame read */
    uint16_t cids[8];      /* command of each frame read */
    int nframes;           /* frames read */
    char user[64];         /* from the login request */
    char password[64];
    char version[64];
    uint32_t client_type;
    int done;              /* the script ran to its end */
};

/* Reads one whole frame (5 s budget). 0 ok and *pdu valid until the next read. */
static int srv_read(fake_t *f, int fd, tt_pdu_t *pdu)
{
    for (;;) {
        int rc = tt_pdu_reader_next(&f->rd, pdu);
        if (rc == TT_OK) {
            if (f->nframes < 8) {
                f->seqs[f->nframes] = pdu->seq_num;
                f->cids[f->nframes] = pdu->command_id;
            }
            f->nframes++;
            return 0;
        }
        if (rc == TT_ERR)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            return -1;
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return -1;
        tt_pdu_reader_feed(&f->rd, buf, (size_t)n);
    }
}

static void srv_write(int fd, const void *p, size_t n, size_t piece)
{
    const uint8_t *b = p;
    size_t step = piece ? piece : n;
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        if (send(fd, b + off, k, MSG_NOSIGNAL) < 0)
            return;
        if (piece)
            usleep(5000);
    }
}

/* Sends one frame, in pieces of `piece` bytes when non-zero. */
static void srv_send(int fd, uint16_t sid, uint16_t cid, uint16_t seq,
                     const ProtobufCMessage *m, size_t piece)
{
    tt_buf_t b;
    tt_buf_init(&b);
    tt_pdu_append(&b, sid, cid, seq, m);
    srv_write(fd, tt_buf_head(&b), tt_buf_len(&b), piece);
    tt_buf_free(&b);
}

static void srv_status_notify(int fd, uint32_t user_id)
{
    IM__BaseDefine__UserStat st = IM__BASE_DEFINE__USER_STAT__INIT;
    st.user_id = user_id;
    st.status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    IM__Buddy__IMUserStatNotify n = IM__BUDDY__IMUSER_STAT_NOTIFY__INIT;
    n.user_stat = &st;
    srv_send(fd, 2, CID_STATUS, 0, &n.base, 0);
}

static void srv_login_res(int fd, uint16_t seq, uint32_t result, const char *text, size_t piece)
{
    IM__BaseDefine__UserInfo u = IM__BASE_DEFINE__USER_INFO__INIT;
    u.user_id = 42;
    u.user_nick_name = "nick";
    u.avatar_url = "";
    u.department_id = 1;
    u.email = "a@b";
    u.user_real_name = "TT042";
    u.user_tel = "1";
    u.user_domain = "tt042";
    IM__Login__IMLoginRes r = IM__LOGIN__IMLOGIN_RES__INIT;
    r.server_time = 1700000000;
    r.result_code = result;
    r.result_string = (char *)text;
    if (result == 0) {
        r.has_online_status = 1;
        r.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
        r.user_info = &u;
    }
    srv_send(fd, 1, CID_LOGIN_RES, seq, &r.base, piece);
}

/* Reads the login request into f; returns its seq or -1. */
static int srv_read_login(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0 || pdu.command_id != CID_LOGIN_REQ)
        return -1;
    IM__Login__IMLoginReq *req = (IM__Login__IMLoginReq *)tt_pb_unpack(
        &im__login__imlogin_req__descriptor, pdu.body, pdu.body_len);
    if (!req)
        return -1;
    snprintf(f->user, sizeof(f->user), "%s", req->user_name);
    snprintf(f->password, sizeof(f->password), "%s", req->password);
    snprintf(f->version, sizeof(f->version), "%s", req->client_version ? req->client_version : "");
    f->client_type = req->client_type;
    tt_pb_free(req);
    return pdu.seq_num;
}

static void *fake_main(void *arg)
{
    fake_t *f = arg;
    struct pollfd p = {.fd = f->lfd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return NULL;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    f->script(f, fd);
    close(fd);
    return NULL;
}

static void fake_start(fake_t *f, script_fn script)
{
    char err[128];
    memset(f, 0, sizeof(*f));
    f->lfd = tt_net_listen("127.0.0.1", 0, 4, err, sizeof(err));
    assert_true(f->lfd >= 0);
    f->port = tt_net_local_port(f->lfd);
    f->script = script;
    tt_pdu_reader_init(&f->rd, 1u << 20);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake_t *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
    tt_pdu_reader_free(&f->rd);
}

static ttc_t *connect_to(fake_t *f)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", f->port, 2000, err, sizeof(err));
    if (!c)
        fail_msg("connect: %s", err);
    return c;
}

/* ---- scripts ---- */

/* Login answered after a heartbeat, a notification and a stray reply; the reply itself comes
 * in pieces. Then a client-time request, then the client's heartbeat is echoed, then close. */
static void script_login(fake_t *f, int fd)
{
    int seq = srv_read_login(f, fd);
    if (seq < 0)
        return;
    srv_send(fd, 7, CID_HEARTBEAT, 0, NULL, 0);
    IM__Buddy__IMSignInfoChangedNotify n = IM__BUDDY__IMSIGN_INFO_CHANGED_NOTIFY__INIT;
    n.changed_user_id = 7;
    n.sign_info = "hi";
    srv_send(fd, 2, CID_SIGN, 0, &n.base, 0);
    srv_login_res(fd, (uint16_t)(seq + 100), 1, "stray", 0); /* right command, wrong seq */
    srv_login_res(fd, (uint16_t)seq, 0, "成功", 7);
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0 || pdu.command_id != CID_TIME_REQ)
        return;
    IM__Message__IMClientTimeRsp t = IM__MESSAGE__IMCLIENT_TIME_RSP__INIT;
    t.server_time = 1700000123;
    srv_send(fd, 3, CID_TIME_RSP, pdu.seq_num, &t.base, 0);
    if (srv_read(f, fd, &pdu) < 0 || pdu.command_id != CID_HEARTBEAT)
        return;
    srv_send(fd, 7, CID_HEARTBEAT, pdu.seq_num, NULL, 0); /* the echo */
    f->done = 1;
}

static void test_login_with_notification_between(void **state)
{
    (void)state;
    fake_t f;
    fake_start(&f, script_login);
    ttc_t *c = connect_to(&f);
    IM__Login__IMLoginRes *res = NULL;
    assert_int_equal(ttc_login(c, "TT042", "test123", 0x12, 2000, &res), 0);
    assert_non_null(res);
    assert_int_equal(res->result_code, 0);
    assert_string_equal(res->result_string, "成功");
    assert_int_equal(res->user_info->user_id, 42);
    assert_int_equal(ttc_user_id(c), 42);
    tt_pb_free(res);
    /* the notification and the stray reply were queued, the heartbeat swallowed */
    assert_int_equal(ttc_queued(c), 2);
    assert_int_equal(ttc_heartbeats_seen(c), 1);
    ttc_pdu_t *p = NULL;
    assert_int_equal(ttc_wait(c, CID_SIGN, 1000, &p), 0);
    assert_int_equal(p->seq_num, 0);
    assert_int_equal(p->service_id, 2);
    IM__Buddy__IMSignInfoChangedNotify *n = (IM__Buddy__IMSignInfoChangedNotify *)tt_pb_unpack(
        &im__buddy__imsign_info_changed_notify__descriptor, p->body, p->body_len);
    assert_non_null(n);
    assert_int_equal(n->changed_user_id, 7);
    assert_string_equal(n->sign_info, "hi");
    tt_pb_free(n);
    ttc_pdu_free(p);
    assert_int_equal(ttc_wait(c, 0, 0, &p), 0);
    assert_int_equal(p->command_id, CID_LOGIN_RES);
    assert_int_equal(p->seq_num, 101);
    ttc_pdu_free(p);
    assert_int_equal(ttc_queued(c), 0);
    /* a plain wrapper */
    char err[256];
    IM__Message__IMClientTimeRsp *t = ttc_client_time(c, 2000, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(t->server_time, 1700000123);
    tt_pb_free(t);
    /* the heartbeat echo is swallowed; then the server closes */
    assert_int_equal(ttc_heartbeat(c), 0);
    assert_int_equal(ttc_wait(c, 0, 2000, &p), TTC_ERR);
    assert_null(p);
    assert_int_equal(ttc_heartbeats_seen(c), 2);
    assert_true(ttc_is_closed(c));
    assert_non_null(strstr(ttc_error(c), "closed"));
    assert_int_equal(ttc_send(c, 1, 0x0103, NULL, NULL), -1);
    assert_int_equal(ttc_request(c, 3, CID_TIME_REQ, NULL, CID_TIME_RSP, 100, &p), TTC_ERR);
    assert_null(ttc_client_time(c, 100, err, sizeof(err)));
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
    assert_string_equal(f.user, "TT042");
    assert_string_equal(f.password, "cc03e747a6afbbcbf8be7668acfebee5");
    assert_string_equal(f.version, "ttcli/0.1");
    assert_int_equal(f.client_type, 0x12);
    assert_int_equal(f.seqs[0], 1); /* requests count from 1 */
    assert_int_equal(f.seqs[1], 2);
    assert_int_equal(f.seqs[2], 3);
}

static void script_refuse(fake_t *f, int fd)
{
    int seq = srv_read_login(f, fd);
    if (seq < 0)
        return;
    srv_login_res(fd, (uint16_t)seq, 6, "用户名/密码错误", 0);
    f->done = 1;
}

static void test_login_refused(void **state)
{
    (void)state;
    fake_t f;
    fake_start(&f, script_refuse);
    ttc_t *c = connect_to(&f);
    IM__Login__IMLoginRes *res = NULL;
    assert_int_equal(ttc_login(c, "TT042", "wrong", 1, 2000, &res), 0);
    assert_int_equal(res->result_code, 6);
    assert_string_equal(res->result_string, "用户名/密码错误");
    assert_null(res->user_info);
    assert_int_equal(ttc_user_id(c), 0);
    assert_string_equal(ttc_error(c), "login refused: 用户名/密码错误 (result 6)");
    tt_pb_free(res);
    ttc_pdu_t *p = NULL;
    assert_int_equal(ttc_wait(c, 0, 2000, &p), TTC_ERR);
    assert_true(ttc_is_closed(c));
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
    assert_string_equal(f.password, "2bda2998d9b0ee197da142a0447f6725"); /* md5("wrong") */

    /* with no result pointer the return code says it */
    fake_start(&f, script_refuse);
    c = connect_to(&f);
    assert_int_equal(ttc_login(c, "TT042", "wrong", 1, 2000, NULL), TTC_ERR);
    ttc_close(c);
    fake_stop(&f);
}

static void script_read3(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    for (int i = 0; i < 3; i++)
        if (srv_read(f, fd, &pdu) < 0)
            return;
    f->done = 1;
}

static void test_seq_wrap(void **state)
{
    (void)state;
    assert_int_equal(ttc_seq_next(1), 2);
    assert_int_equal(ttc_seq_next(0x7FFF), 0x8000);
    assert_int_equal(ttc_seq_next(0xFFFE), 0xFFFF);
    assert_int_equal(ttc_seq_next(0xFFFF), 1);
    assert_int_equal(ttc_seq_next(0), 1);
    /* 65535 steps from 1 come back to 1 without ever giving 0 */
    uint16_t s = 1;
    for (int i = 0; i < 65535; i++) {
        s = ttc_seq_next(s);
        assert_int_not_equal(s, 0);
    }
    assert_int_equal(s, 1);

    fake_t f;
    fake_start(&f, script_read3);
    ttc_t *c = connect_to(&f);
    ttc_set_next_seq(c, 0xFFFE);
    uint16_t a = 0, b = 0;
    assert_int_equal(ttc_send(c, 3, CID_TIME_REQ, NULL, &a), 0);
    assert_int_equal(ttc_send(c, 3, CID_TIME_REQ, NULL, &b), 0);
    assert_int_equal(ttc_heartbeat(c), 0);
    fake_stop(&f);
    ttc_close(c);
    assert_true(f.done);
    assert_int_equal(a, 0xFFFE);
    assert_int_equal(b, 0xFFFF);
    assert_int_equal(f.seqs[0], 0xFFFE);
    assert_int_equal(f.seqs[1], 0xFFFF);
    assert_int_equal(f.seqs[2], 1);
    assert_int_equal(f.cids[2], CID_HEARTBEAT);
}

/* A request, then five notifications before the answer. */
static void script_flood(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        return;
    uint16_t seq = pdu.seq_num;
    for (uint32_t i = 1; i <= 5; i++)
        srv_status_notify(fd, i);
    IM__Message__IMClientTimeRsp t = IM__MESSAGE__IMCLIENT_TIME_RSP__INIT;
    t.server_time = 5;
    srv_send(fd, 3, CID_TIME_RSP, seq, &t.base, 0);
    if (srv_read(f, fd, &pdu) < 0) /* wait for the client to hang up */
        f->done = 1;
}

static void test_fifo_bound(void **state)
{
    (void)state;
    fake_t f;
    fake_start(&f, script_flood);
    ttc_t *c = connect_to(&f);
    ttc_set_queue_limit(c, 3);
    char err[256];
    IM__Message__IMClientTimeRsp *t = ttc_client_time(c, 2000, err, sizeof(err));
    assert_non_null(t);
    tt_pb_free(t);
    assert_int_equal(ttc_queued(c), 3);
    assert_int_equal(ttc_dropped(c), 2);
    for (uint32_t want = 3; want <= 5; want++) { /* the oldest went first */
        ttc_pdu_t *p = NULL;
        assert_int_equal(ttc_poll(c, &p), 0);
        IM__Buddy__IMUserStatNotify *n = (IM__Buddy__IMUserStatNotify *)tt_pb_unpack(
            &im__buddy__imuser_stat_notify__descriptor, p->body, p->body_len);
        assert_non_null(n);
        assert_int_equal(n->user_stat->user_id, want);
        tt_pb_free(n);
        ttc_pdu_free(p);
    }
    ttc_pdu_t *p = NULL;
    assert_int_equal(ttc_poll(c, &p), TTC_TIMEOUT);
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
}

/* Reads a request, answers nothing for a while, then hangs up. */
static void script_silent(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        return;
    usleep(400000);
    f->done = 1;
}

static void test_timeout(void **state)
{
    (void)state;
    fake_t f;
    fake_start(&f, script_silent);
    ttc_t *c = connect_to(&f);
    ttc_pdu_t *p = NULL;
    uint64_t t0 = ttc_now_ms();
    assert_int_equal(ttc_request(c, 3, CID_TIME_REQ, NULL, CID_TIME_RSP, 100, &p), TTC_TIMEOUT);
    uint64_t took = ttc_now_ms() - t0;
    assert_true(took >= 90 && took < 350);
    assert_null(p);
    assert_non_null(strstr(ttc_error(c), "no answer 0x0306 to 0x0305"));
    assert_false(ttc_is_closed(c));
    assert_int_equal(ttc_wait(c, 0, 50, &p), TTC_TIMEOUT);
    assert_int_equal(ttc_wait(c, 0, 3000, &p), TTC_ERR); /* the hang-up */
    assert_true(ttc_is_closed(c));
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
}

/* A frame of 2 MiB, then the notification the client waits for. */
static void script_big(fake_t *f, int fd)
{
    uint8_t *big = malloc(TT_PDU_HEADER_LEN + BIG_BODY);
    if (!big)
        return;
    tt_pdu_encode_header(big, TT_PDU_HEADER_LEN + BIG_BODY, 2, CID_ALL_RSP, 9);
    for (size_t i = 0; i < BIG_BODY; i++)
        big[TT_PDU_HEADER_LEN + i] = (uint8_t)(i * 7);
    srv_write(fd, big, TT_PDU_HEADER_LEN + BIG_BODY, 0);
    free(big);
    srv_status_notify(fd, 77);
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        f->done = 1;
}

static void test_big_frame(void **state)
{
    (void)state;
    fake_t f;
    fake_start(&f, script_big);
    ttc_t *c = connect_to(&f);
    ttc_pdu_t *p = NULL;
    assert_int_equal(ttc_wait(c, CID_STATUS, 5000, &p), 0); /* the big one is queued first */
    ttc_pdu_free(p);
    assert_int_equal(ttc_wait(c, 0, 0, &p), 0);
    assert_int_equal(p->command_id, CID_ALL_RSP);
    assert_int_equal(p->seq_num, 9);
    assert_int_equal(p->body_len, BIG_BODY);
    int same = 1;
    for (size_t i = 0; i < BIG_BODY; i++)
        same &= p->body[i] == (uint8_t)(i * 7);
    assert_true(same);
    ttc_pdu_free(p);
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
}

/* A notification, then a frame whose length is below the header size. */
static void script_bad_length(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        return;
    srv_status_notify(fd, 5);
    srv_write(fd, "\x00\x00\x00\x05xxxxxxxxxxxxxxxx", 20, 0);
    usleep(300000); /* keep the socket: the client must close on its own */
    f->done = 1;
}

/* A frame announcing more than the 16 MiB cap. */
static void script_oversize(fake_t *f, int fd)
{
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        return;
    srv_write(fd, "\x7f\xff\xff\xff\x00\x01\x00\x00\x00\x03\x03\x06\x00\x01\x00\x00", 16, 0);
    usleep(300000);
    f->done = 1;
}

/* The right reply by command and seq, with a body that is not an IMLoginRes. */
static void script_garbage_reply(fake_t *f, int fd)
{
    int seq = srv_read_login(f, fd);
    if (seq < 0)
        return;
    uint8_t frame[24];
    tt_pdu_encode_header(frame, sizeof(frame), 1, CID_LOGIN_RES, (uint16_t)seq);
    memset(frame + 16, 0xff, 8);
    srv_write(fd, frame, sizeof(frame), 0);
    tt_pdu_t pdu;
    if (srv_read(f, fd, &pdu) < 0)
        f->done = 1;
}

static void test_malformed_server_data(void **state)
{
    (void)state;
    fake_t f;
    ttc_pdu_t *p = NULL;

    fake_start(&f, script_bad_length);
    ttc_t *c = connect_to(&f);
    uint64_t t0 = ttc_now_ms();
    assert_int_equal(ttc_request(c, 3, CID_TIME_REQ, NULL, CID_TIME_RSP, 2000, &p), TTC_ERR);
    assert_true(ttc_now_ms() - t0 < 250); /* not the timeout: the bad frame ends it */
    assert_true(ttc_is_closed(c));
    assert_non_null(strstr(ttc_error(c), "bad frame"));
    assert_int_equal(ttc_fd(c), -1);
    /* what came before the bad frame is still there */
    assert_int_equal(ttc_wait(c, CID_STATUS, 100, &p), 0);
    ttc_pdu_free(p);
    assert_int_equal(ttc_wait(c, 0, 100, &p), TTC_ERR);
    assert_int_equal(ttc_send_raw(c, "x", 1), -1);
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);

    fake_start(&f, script_oversize);
    c = connect_to(&f);
    assert_int_equal(ttc_request(c, 3, CID_TIME_REQ, NULL, CID_TIME_RSP, 2000, &p), TTC_ERR);
    assert_non_null(strstr(ttc_error(c), "maximum"));
    ttc_close(c);
    fake_stop(&f);

    fake_start(&f, script_garbage_reply);
    c = connect_to(&f);
    IM__Login__IMLoginRes *res = NULL;
    assert_int_equal(ttc_login(c, "u", "p", 1, 2000, &res), TTC_ERR);
    assert_null(res);
    assert_non_null(strstr(ttc_error(c), "does not parse"));
    ttc_close(c);
    fake_stop(&f);
    assert_true(f.done);
}

static void test_connect_failure_and_nulls(void **state)
{
    (void)state;
    char err[256];
    int lfd = tt_net_listen("127.0.0.1", 0, 1, err, sizeof(err));
    uint16_t port = tt_net_local_port(lfd);
    close(lfd);
    assert_null(ttc_connect("127.0.0.1", port, 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot connect"));
    assert_null(ttc_connect("no-such-host.invalid", 8000, 1000, err, sizeof(err)));
    ttc_close(NULL);
    ttc_pdu_free(NULL);
    assert_true(ttc_is_closed(NULL));
    assert_int_equal(ttc_send_raw(NULL, "x", 1), -1);
    assert_null(ttc_client_time(NULL, 10, err, sizeof(err)));
}

static void test_md5_hex(void **state)
{
    (void)state;
    char out[33];
    ttc_md5_hex("", out);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
    ttc_md5_hex("123456", out);
    assert_string_equal(out, "e10adc3949ba59abbe56e057f20f883e");
    ttc_md5_hex("test123", out);
    assert_string_equal(out, "cc03e747a6afbbcbf8be7668acfebee5");
    ttc_md5_hex("密码", out);
    assert_string_equal(out, "a8105204604a0b11e916f3879aae3b0b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_hex),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_login_with_notification_between),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_fifo_bound),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_big_frame),
        cmocka_unit_test(test_malformed_server_data),
        cmocka_unit_test(test_connect_failure_and_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
