/* Memory of msg_server bounded before and after login (run by it_prelogin.sh against the
 * whole suite, msg_server 1 with a small MaxConnBuffersMB):
 *   it_prelogin MS_PORT MS_PID
 * Before login only a login request and heartbeats are taken, in small buffers: a hundred
 * connections that send heartbeats (or the start of a huge frame) and never read keep the
 * server's RSS small (today each could hold up to 16 MiB of echoes and 4 MiB of input), and
 * any other command before login closes the connection. A heartbeat before login is still
 * echoed and the connection logs in after it. After login the total of all connections'
 * buffers is capped: of two logged-in connections that ask for big history answers and do not
 * read them, the one with the most queued is cut, the other keeps its answers, and a
 * well-behaved client on the same server chats throughout.
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define CID_HEARTBEAT IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT
#define CID_MSG_LIST IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_REQUEST
#define CID_MSG_LIST_RSP IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_RESPONSE

#define N_BEAT 40         /* connections sending heartbeats before login ... */
#define BEAT_FLOOD (8u << 20) /* ... this many bytes each (more than the kernel buffers hold) */
#define N_BIG 60          /* connections sending the start of a 4 MiB frame before login ... */
#define BIG_FLOOD (3u << 20) /* ... this much of it */
#define BEAT_LEN 16384    /* a heartbeat frame with a body (echoed whole) */
#define RSS_BOUND_MIB 100 /* allowed growth of msg_server's RSS during the flood */
#define N_SEED 120        /* stored messages of SEED_LEN bytes in the hogs' conversation */
#define SEED_LEN 4000
#define HOG_BIG 28        /* history requests of the hog that is cut (~13.5 MB of answers) */
#define HOG_SMALL 4       /* ... and of the one that is not (~1.9 MB) */

static uint16_t port;

static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* A raw connection with a small receive buffer (so that the kernel holds little of what the
 * server queues for it), non-blocking once connected. */
static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* 1 when the server closes fd within ms (EOF or reset), reading and dropping what comes. */
static int closed_within(int fd, int ms)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    char buf[4096];
    while (itc_now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
    }
    return 0;
}

static size_t frame(uint8_t *out, uint32_t len, uint16_t sid, uint16_t cid)
{
    tt_pdu_encode_header(out, len, sid, cid, 0);
    return TT_PDU_HEADER_LEN;
}

/* ---- before login ---- */

static void heartbeat_then_login(void)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    if (!check(c != NULL, "connect: %s", c ? "" : err))
        return;
    check(ttc_heartbeat(c) == 0, "a heartbeat before login is sent");
    uint64_t end = itc_now_ms() + T;
    ttc_pdu_t *p = NULL;
    while (ttc_heartbeats_seen(c) == 0 && itc_now_ms() < end && !ttc_is_closed(c)) {
        if (ttc_wait(c, 0, 100, &p) == 0)
            ttc_pdu_free(p);
    }
    check(ttc_heartbeats_seen(c) == 1, "it is echoed before login");
    check(ttc_login(c, "TT061", "test123", ITC_PC, T, NULL) == 0,
          "and the connection then logs in");
    ttc_close(c);
}

static void other_command_closes(void)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    if (!check(c != NULL, "connect: %s", c ? "" : err))
        return;
    IM__Buddy__IMAllUserReq r = IM__BUDDY__IMALL_USER_REQ__INIT;
    ttc_send(c, IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST,
             IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_REQUEST, &r.base, NULL);
    ttc_pdu_t *p = NULL;
    int rc = ttc_wait(c, 0, 5000, &p);
    ttc_pdu_free(p);
    check(rc == -1 && ttc_is_closed(c), "a command other than login before login: closed");
    ttc_close(c);

    /* The start of a frame far larger than any login request: closed once 32 KiB are in,
     * not held until the login deadline. */
    int fd = raw_connect();
    if (!check(fd >= 0, "raw connect"))
        return;
    static uint8_t big[40 * 1024];
    frame(big, 4u << 20, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
          IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN);
    size_t off = 0;
    uint64_t end = itc_now_ms() + 3000;
    while (off < sizeof(big) && itc_now_ms() < end) {
        ssize_t n = send(fd, big + off, sizeof(big) - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN)
            break;
    }
    check(closed_within(fd, 5000), "a 40 KiB start of a 4 MiB login frame: closed at once");
    close(fd);
}

/* N_BEAT connections send heartbeats (with bodies: each is echoed whole) and N_BIG the start
 * of a 4 MiB frame, none reads: RSS stays within RSS_BOUND_MIB of what it was. */
static void flood(int pid)
{
    static int fds[N_BEAT + N_BIG];
    static size_t sent[N_BEAT + N_BIG];
#define FLOOD (i < N_BEAT ? BEAT_FLOOD : BIG_FLOOD)
    static uint8_t beats[64 * 1024], big[64 * 1024];
    for (size_t i = 0; i < sizeof(beats); i += BEAT_LEN)
        frame(beats + i, BEAT_LEN, SID_OTHER, CID_HEARTBEAT);
    long base = rss_kib(pid), peak = base;
    int n = 0;
    for (int i = 0; i < N_BEAT + N_BIG; i++) {
        fds[i] = raw_connect();
        if (fds[i] < 0)
            break;
        n++;
    }
    check(n == N_BEAT + N_BIG, "%d connections opened", n);
    frame(big, 4u << 20, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
          IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN);
    for (int i = N_BEAT; i < n; i++) { /* each big one starts with its header */
        ssize_t w = send(fds[i], big, TT_PDU_HEADER_LEN, MSG_NOSIGNAL);
        sent[i] = w > 0 ? (size_t)w : 0;
    }
    memset(big, 0, TT_PDU_HEADER_LEN); /* the rest is body */
    uint64_t end = itc_now_ms() + 14000; /* within the login deadline (15 s) */
    int busy = 1, cut = 0;
    size_t total = 0;
    while (busy && itc_now_ms() < end) {
        busy = 0;
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0 || sent[i] >= FLOOD)
                continue;
            /* a continuous stream: the heartbeat pattern repeats every 64 KiB */
            size_t pos = i < N_BEAT ? sent[i] % sizeof(beats) : 0;
            size_t want = sizeof(beats) - pos;
            if (want > FLOOD - sent[i])
                want = FLOOD - sent[i];
            const uint8_t *src = i < N_BEAT ? beats + pos : big;
            ssize_t w = send(fds[i], src, want, MSG_NOSIGNAL);
            if (w > 0) {
                sent[i] += (size_t)w;
                total += (size_t)w;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                close(fds[i]); /* the server cut it */
                fds[i] = -1;
                cut++;
                continue;
            }
            busy = 1;
        }
        long r = rss_kib(pid);
        if (r > peak)
            peak = r;
        usleep(2000);
    }
    for (int k = 0; k < 10; k++) { /* what is still buffered */
        long r = rss_kib(pid);
        if (r > peak)
            peak = r;
        usleep(50000);
    }
    printf("flood: %.1f MiB sent on %d connections, %d cut by the server; msg_server RSS "
           "%ld -> peak %ld KiB\n",
           (double)total / (1 << 20), n, cut, base, peak);
    check(base > 0 && peak - base < RSS_BOUND_MIB * 1024L,
          "%d connections flooding before login without reading: RSS grew %ld KiB (< %d MiB)",
          n, peak - base, RSS_BOUND_MIB);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* ---- after login: the total cap ---- */

/* A raw client (small receive buffer from the start, see raw_connect) that reads only when
 * told to. */
typedef struct hog_s {
    int fd;
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    int closed;
} hog_t;

static int hog_send(hog_t *h, uint16_t sid, uint16_t cid, const ProtobufCMessage *m)
{
    size_t body = protobuf_c_message_get_packed_size(m), n = TT_PDU_HEADER_LEN + body, off = 0;
    uint8_t *f = malloc(n);
    if (!f)
        return -1;
    tt_pdu_encode_header(f, (uint32_t)n, sid, cid, 1);
    protobuf_c_message_pack(m, f + TT_PDU_HEADER_LEN);
    uint64_t end = itc_now_ms() + T;
    while (off < n && itc_now_ms() < end) {
        ssize_t w = send(h->fd, f + off, n - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            break;
        else
            usleep(1000);
    }
    free(f);
    return off == n ? 0 : -1;
}

/* The next PDU with command cid (others are skipped), within ms: its body (free it), or NULL
 * on timeout or close (h->closed). */
static uint8_t *hog_wait(hog_t *h, uint16_t cid, int ms, size_t *body_len)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    for (;;) {
        tt_pdu_t pdu;
        char err[128];
        while (h->len >= TT_PDU_HEADER_LEN &&
               tt_pdu_parse(h->buf, h->len, 16u << 20, &pdu, err, sizeof(err)) == TT_OK) {
            uint8_t *body = NULL;
            int hit = pdu.command_id == cid;
            if (hit && (body = malloc(pdu.body_len + 1)))
                memcpy(body, pdu.body, pdu.body_len);
            *body_len = pdu.body_len;
            memmove(h->buf, h->buf + pdu.length, h->len - pdu.length);
            h->len -= pdu.length;
            if (hit)
                return body;
        }
        if (h->closed || itc_now_ms() >= end)
            return NULL;
        if (h->cap - h->len < 65536) {
            h->cap = h->cap ? h->cap * 2 : 1 << 20;
            h->buf = realloc(h->buf, h->cap);
        }
        struct pollfd p = {h->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(h->fd, h->buf + h->len, h->cap - h->len, 0);
        if (n > 0)
            h->len += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            h->closed = 1;
    }
}

static int hog_login(hog_t *h, const char *user, uint32_t type)
{
    memset(h, 0, sizeof(*h));
    h->fd = raw_connect();
    if (h->fd < 0)
        return -1;
    char md5[33];
    ttc_md5_hex("test123", md5);
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = (char *)user;
    req.password = md5;
    req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    req.client_type = (IM__BaseDefine__ClientType)type;
    req.client_version = "it_prelogin";
    if (hog_send(h, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                 IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN, &req.base) < 0)
        return -1;
    size_t n;
    uint8_t *b = hog_wait(h, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN, T, &n);
    IM__Login__IMLoginRes *r =
        b ? (IM__Login__IMLoginRes *)tt_pb_unpack(&im__login__imlogin_res__descriptor, b, n)
          : NULL;
    int ok = r && r->result_code == 0;
    tt_pb_free(r);
    free(b);
    return ok ? 0 : -1;
}

static void hog_close(hog_t *h)
{
    if (h->fd >= 0)
        close(h->fd);
    free(h->buf);
    h->fd = -1;
    h->buf = NULL;
}

static int send_history_req(hog_t *h, uint32_t peer, uint32_t n)
{
    IM__Message__IMGetMsgListReq r = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    r.session_type = ITC_SINGLE;
    r.session_id = peer;
    r.msg_id_begin = 0;
    r.msg_cnt = n;
    return hog_send(h, ITC_SID_MSG, CID_MSG_LIST, &r.base);
}

/* Reads h until it closes or ms pass without an answer: history answers with n messages. */
static int count_answers(hog_t *h, uint32_t n, int ms)
{
    int got = 0;
    size_t len;
    uint8_t *b;
    while ((b = hog_wait(h, CID_MSG_LIST_RSP, ms, &len))) {
        IM__Message__IMGetMsgListRsp *r = (IM__Message__IMGetMsgListRsp *)tt_pb_unpack(
            &im__message__imget_msg_list_rsp__descriptor, b, len);
        if (r && r->n_msg_list == n)
            got++;
        tt_pb_free(r);
        free(b);
    }
    return got;
}

static void chat_works(ttc_t *a, ttc_t *b, uint32_t local_id, const char *what)
{
    char text[64];
    snprintf(text, sizeof(text), "still here %u", local_id);
    uint32_t id = itc_send_text(a, ttc_user_id(b), local_id, text);
    check(id > 0 && itc_got_text(b, ttc_user_id(a), id, text), "%s: a message is acked and "
          "delivered", what);
}

static void total_cap(int pid)
{
    ttc_t *peer = itc_login(port, "TT072", ITC_PC);
    ttc_t *good = itc_login(port, "TT073", ITC_PC), *friend = itc_login(port, "TT074", ITC_PC);
    if (!peer || !good || !friend)
        return;
    ttc_set_queue_limit(peer, 4 * N_SEED);
    /* The conversation TT072 -> TT071 (offline): N_SEED messages of SEED_LEN bytes. */
    static uint8_t body[SEED_LEN];
    memset(body, 'x', sizeof(body));
    int acked = 0;
    for (int i = 0; i < N_SEED; i++) {
        body[0] = (uint8_t)('a' + i % 26);
        acked += itc_send_data(peer, 71, 9000 + (uint32_t)i, ITC_TEXT, body, sizeof(body), T) > 0;
    }
    check(acked == N_SEED, "%d of %d messages of %d bytes stored", acked, N_SEED, SEED_LEN);

    /* Two connections of TT071 ask for the whole conversation again and again and read
     * nothing: the small one first, then the big one. */
    hog_t small, big;
    if (!check(hog_login(&small, "TT071", ITC_ANDROID) == 0 &&
                   hog_login(&big, "TT071", ITC_PC) == 0,
               "TT071 logged in twice (mobile and PC) with small receive buffers"))
        return;
    int ok = 0;
    for (int i = 0; i < HOG_SMALL; i++)
        ok += send_history_req(&small, 72, N_SEED) == 0;
    usleep(1500 * 1000); /* its answers are queued first */
    long before = rss_kib(pid);
    for (int i = 0; i < HOG_BIG; i++)
        ok += send_history_req(&big, 72, N_SEED) == 0;
    check(ok == HOG_SMALL + HOG_BIG, "%d history requests sent", ok);
    /* Meanwhile (and while the answers pile up) a well-behaved client chats. */
    for (uint32_t i = 1; i <= 5; i++) {
        chat_works(good, friend, 100 + i, "while two connections do not read");
        usleep(1000 * 1000);
    }
    long during = rss_kib(pid);
    int got_big = count_answers(&big, N_SEED, 3000);
    check(big.closed && got_big < HOG_BIG,
          "the connection with the most queued (%d answers of ~%d KiB asked) was cut: "
          "got %d, %s", HOG_BIG, N_SEED * SEED_LEN / 1024, got_big,
          big.closed ? "closed" : "still open");
    int got_small = count_answers(&small, N_SEED, 3000);
    check(got_small == HOG_SMALL && !small.closed,
          "the smaller non-reader kept its connection and got its %d answers (got %d)",
          HOG_SMALL, got_small);
    check(send_history_req(&small, 72, 5) == 0 && count_answers(&small, 5, 3000) == 1,
          "and it is served again once it reads");
    printf("total cap: msg_server RSS %ld KiB before the big requests, %ld KiB after\n", before,
           during);
    chat_works(good, friend, 200, "afterwards");
    chat_works(friend, good, 201, "afterwards, the other way");
    hog_close(&small);
    hog_close(&big);
    ttc_close(peer);
    ttc_close(good);
    ttc_close(friend);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: it_prelogin MS_PORT MS_PID\n");
        return 2;
    }
    port = (uint16_t)atoi(argv[1]);
    int pid = atoi(argv[2]);

    heartbeat_then_login();
    other_command_closes();
    flood(pid);
    /* a normal client still logs in and chats after the flood */
    ttc_t *a = itc_login(port, "TT062", ITC_PC), *b = itc_login(port, "TT063", ITC_ANDROID);
    if (a && b)
        chat_works(a, b, 1, "after the flood");
    ttc_close(a);
    ttc_close(b);
    total_cap(pid);

    failures += itc_failures();
    printf("%s (%d failed)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
