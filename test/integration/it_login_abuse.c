/* Logins under abuse, end to end (run by it_login_abuse.sh against the whole suite): clients
 * from chosen loopback source addresses (127.0.0.0/8 all reach the msg_server) speak raw
 * IMLoginReq, so that names with a NUL can be sent.
 *   it_login_abuse MS_PORT names      "TT052 ", " TT052", "TT052\0x" refused; a name with a
 *                                     trailing space does not dodge the account's count
 *   it_login_abuse MS_PORT stranger   a stranger's failures from elsewhere do not lock a user
 *                                     out of an address she logged in from; a new address is
 *   it_login_abuse MS_PORT parallel   40 guesses at once from one address: at most the limit
 *                                     (20) are checked, the rest refused as too many
 *   it_login_abuse MS_PORT collide    two addresses never share or reset one counter (two
 *                                     addresses that share a slot of the old 16384-slot table)
 *   it_login_abuse MS_PORT flood N    N unknown-name logins at once from N addresses: some are
 *                                     refused as busy at once, and a bystander's message is
 *                                     acked long before the flood is answered
 *   it_login_abuse MS_PORT login SRC NAME MD5 CODE   one login from SRC; CODE is ok, wrong
 *                                     (refused, "用户名/密码错误") or locked ("...次数太多")
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_pdu.h"

#define T 20000 /* ms: generous, the machine is loaded */
#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define CID_LOGIN_REQ IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN
#define CID_LOGIN_RES IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN
#define PW_TEST123 "cc03e747a6afbbcbf8be7668acfebee5" /* md5hex("test123") */
#define PW_WRONG "00000000000000000000000000000000"
#define TEXT_LOCKED "用户名/密码错误次数太多"
#define TEXT_WRONG "用户名/密码错误"

enum { A_OK, A_WRONG, A_LOCKED, A_BUSY, A_OTHER, A_NONE };
static const char *rname[] = {"ok", "wrong", "locked", "busy", "other", "no answer"};

static uint16_t ms_port;

/* A TCP connection to the msg_server from source address src; -1 on failure. */
static int conn_from(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
        close(fd);
        return -1;
    }
    a.sin_port = htons(ms_port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static size_t put_field(uint8_t *p, uint8_t tag, const void *s, size_t n)
{
    p[0] = tag;
    p[1] = (uint8_t)n; /* all fields here are < 128 bytes */
    memcpy(p + 2, s, n);
    return 2 + n;
}

/* Sends an IMLoginReq (Android) with the exact name bytes given. */
static int send_login(int fd, const void *name, size_t nlen, const char *md5, uint16_t seq)
{
    uint8_t f[512], *b = f + TT_PDU_HEADER_LEN;
    size_t n = 0;
    n += put_field(b + n, 0x0a, name, nlen);
    n += put_field(b + n, 0x12, md5, strlen(md5));
    b[n++] = 0x18; /* online_status */
    b[n++] = 1;
    b[n++] = 0x20; /* client_type */
    b[n++] = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID;
    n += put_field(b + n, 0x2a, "1.0.0", 5);
    tt_pdu_encode_header(f, (uint32_t)(TT_PDU_HEADER_LEN + n), SID_LOGIN, CID_LOGIN_REQ, seq);
    return send(fd, f, TT_PDU_HEADER_LEN + n, MSG_NOSIGNAL) == (ssize_t)(TT_PDU_HEADER_LEN + n)
               ? 0
               : -1;
}

static int read_full(int fd, uint8_t *p, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    while (got < n) {
        uint64_t now = itc_now_ms();
        if (now >= end)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            return -1;
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads frames until the IMLoginRes; its outcome (R_*). */
static int read_result(int fd, int ms)
{
    for (;;) {
        uint8_t h[TT_PDU_HEADER_LEN];
        if (read_full(fd, h, sizeof(h), ms) < 0)
            return A_NONE;
        uint32_t len = tt_get32(h);
        uint16_t cid = (uint16_t)(h[10] << 8 | h[11]);
        if (len < TT_PDU_HEADER_LEN || len > 65536)
            return A_NONE;
        uint8_t *body = malloc(len - TT_PDU_HEADER_LEN + 1);
        if (!body || read_full(fd, body, len - TT_PDU_HEADER_LEN, ms) < 0) {
            free(body);
            return A_NONE;
        }
        if (cid != CID_LOGIN_RES) {
            free(body);
            continue; /* a heartbeat */
        }
        IM__Login__IMLoginRes *r = (IM__Login__IMLoginRes *)tt_pb_unpack(
            &im__login__imlogin_res__descriptor, body, len - TT_PDU_HEADER_LEN);
        free(body);
        int out = A_OTHER;
        if (r && r->result_code == 0)
            out = A_OK;
        else if (r && r->result_code == IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_MSG_SERVER_FULL)
            out = A_BUSY;
        else if (r && r->result_code == 6 && r->result_string &&
                 strcmp(r->result_string, TEXT_LOCKED) == 0)
            out = A_LOCKED;
        else if (r && r->result_code == 6)
            out = A_WRONG;
        tt_pb_free(r);
        return out;
    }
}

/* One login from src with the exact name bytes: its outcome. */
static int login_raw(const char *src, const void *name, size_t nlen, const char *md5)
{
    int fd = conn_from(src);
    if (fd < 0)
        return A_NONE;
    int r = send_login(fd, name, nlen, md5, 1) < 0 ? A_NONE : read_result(fd, T);
    close(fd);
    return r;
}

static int login_as(const char *src, const char *name, const char *md5)
{
    return login_raw(src, name, strlen(name), md5);
}

static void phase_names(void)
{
    const char *src = "127.0.0.2";
    int r = login_as(src, "TT052", PW_TEST123);
    check(r == A_OK, "TT052 logs in (%s)", rname[r]);
    r = login_as(src, "TT052 ", PW_TEST123);
    check(r == A_WRONG, "\"TT052 \" (trailing space) is refused (%s)", rname[r]);
    r = login_as(src, " TT052", PW_TEST123);
    check(r == A_WRONG, "\" TT052\" (leading space) is refused (%s)", rname[r]);
    r = login_raw(src, "TT052\0x", 7, PW_TEST123);
    check(r == A_WRONG, "\"TT052\\0x\" (a NUL) is refused (%s)", rname[r]);
    r = login_raw(src, "TT\tx52", 6, PW_TEST123);
    check(r == A_WRONG, "a name with a control character is refused (%s)", rname[r]);
    /* 10 wrong passwords for TT053 (from another address, whose own count stays under its
     * limit) lock the account; the same account under a name with a trailing space is no way
     * around it */
    const char *src2 = "127.0.0.3";
    int wrong = 0;
    for (int i = 0; i < 10; i++)
        wrong += login_as(src2, "TT053", PW_WRONG) == A_WRONG;
    check(wrong == 10, "10 wrong passwords for TT053 (%d refused as wrong)", wrong);
    r = login_as("127.0.0.4", "TT053 ", PW_TEST123);
    check(r != A_OK, "\"TT053 \" with the right password does not dodge the count (%s)",
          rname[r]);
    r = login_as("127.0.0.4", "TT053", PW_TEST123);
    check(r == A_LOCKED, "TT053 from a new address is locked (%s)", rname[r]);
}

static void phase_stranger(void)
{
    const char *home = "127.0.0.5", *stranger = "127.0.0.6";
    int r = login_as(home, "TT054", PW_TEST123);
    check(r == A_OK, "TT054 logs in from %s (%s)", home, rname[r]);
    int wrong = 0, locked = 0;
    for (int i = 0; i < 15; i++) {
        r = login_as(stranger, "TT054", PW_WRONG);
        wrong += r == A_WRONG;
        locked += r == A_LOCKED;
    }
    check(wrong == 10 && locked == 5,
          "a stranger's 15 guesses for TT054 from %s: 10 checked, then locked (%d, %d)",
          stranger, wrong, locked);
    r = login_as(home, "TT054", PW_TEST123);
    check(r == A_OK, "TT054 still logs in from %s, where she logged in before (%s)", home,
          rname[r]);
    r = login_as("127.0.0.7", "TT054", PW_TEST123);
    check(r == A_LOCKED, "but not from an address she never used (%s): guessing stays slow",
          rname[r]);
}

/* n logins at once from src with the given names (name i: fmt % i); counts outcomes. */
static void burst(const char *src, const char *fmt, int n, const char *md5, int *count)
{
    int *fd = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++)
        fd[i] = conn_from(src);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), fmt, i);
        if (fd[i] >= 0 && send_login(fd[i], name, strlen(name), md5, 1) < 0) {
            close(fd[i]);
            fd[i] = -1;
        }
    }
    for (int i = 0; i < n; i++) {
        count[fd[i] >= 0 ? read_result(fd[i], T) : A_NONE]++;
        if (fd[i] >= 0)
            close(fd[i]);
    }
    free(fd);
}

static void phase_parallel(void)
{
    int count[A_NONE + 1] = {0};
    burst("127.0.0.8", "nobody_par_%d", 40, PW_WRONG, count);
    check(count[A_WRONG] <= 20 && count[A_WRONG] + count[A_LOCKED] == 40,
          "40 guesses at once from one address: %d checked (at most 20), %d refused as too "
          "many, %d busy, %d other, %d unanswered",
          count[A_WRONG], count[A_LOCKED], count[A_BUSY], count[A_OTHER], count[A_NONE]);
}

/* The old msg_server's table: FNV-1a of the address text, 16384 slots. */
static uint64_t old_slot(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (h ? h : 1) % 16384;
}

static void phase_collide(void)
{
    /* two addresses of 127.2.0.0/16 in the same slot of the old table */
    static int16_t first[16384];
    char a[32] = "", b[32] = "";
    memset(first, -1, sizeof(first));
    for (int i = 1; i < 65535 && !b[0]; i++) {
        char s[32];
        snprintf(s, sizeof(s), "127.2.%d.%d", i >> 8, i & 255);
        uint64_t k = old_slot(s);
        if (first[k] >= 0) {
            snprintf(a, sizeof(a), "127.2.%d.%d", first[k] >> 8, first[k] & 255);
            snprintf(b, sizeof(b), "%s", s);
        } else {
            first[k] = (int16_t)(i & 0x7fff);
        }
    }
    if (!check(b[0] != 0, "two addresses sharing a slot of the old table: %s and %s", a, b))
        return;
    int wrong = 0;
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "nobody_a_%d", i);
        wrong += login_as(a, name, PW_WRONG) == A_WRONG;
    }
    snprintf(name, sizeof(name), "nobody_b");
    wrong += login_as(b, name, PW_WRONG) == A_WRONG;
    for (int i = 10; i < 20; i++) {
        snprintf(name, sizeof(name), "nobody_a_%d", i);
        wrong += login_as(a, name, PW_WRONG) == A_WRONG;
    }
    check(wrong == 21, "20 failures from %s, one from %s in between (%d checked)", a, b, wrong);
    int r = login_as(a, "nobody_a_x", PW_WRONG);
    check(r == A_LOCKED, "%s is now locked: %s did not reset its count (%s)", a, b, rname[r]);
    r = login_as(b, "nobody_b2", PW_WRONG);
    check(r == A_WRONG, "and %s has a count of its own (%s)", b, rname[r]);
}

static void phase_flood(int n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ttc_t *from = itc_login(ms_port, "TT060", ITC_ANDROID), *to = itc_login(ms_port, "TT061",
                                                                             ITC_ANDROID);
    if (!check(from && to, "bystanders TT060 and TT061 logged in"))
        return;
    int *fd = calloc((size_t)n, sizeof(int));
    int connected = 0;
    for (int i = 0; i < n; i++) {
        char src[32];
        snprintf(src, sizeof(src), "127.1.%d.%d", 1 + i / 250, 1 + i % 250);
        fd[i] = conn_from(src);
        connected += fd[i] >= 0;
    }
    check(connected == n, "%d flood connections from %d addresses (%d connected)", n, n,
          connected);
    uint64_t t0 = itc_now_ms();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "flood_%d", i);
        if (fd[i] >= 0 && send_login(fd[i], name, strlen(name), PW_WRONG, 1) < 0) {
            close(fd[i]);
            fd[i] = -1;
        }
    }
    /* the bystander's message goes after every flood login */
    uint32_t id = itc_send_text(from, 61, 1, "still there?");
    uint64_t t_ack = itc_now_ms() - t0;
    int count[A_NONE + 1] = {0};
    for (int i = 0; i < n; i++) {
        count[fd[i] >= 0 ? read_result(fd[i], 60000) : A_NONE]++;
        if (fd[i] >= 0)
            close(fd[i]);
    }
    uint64_t t_all = itc_now_ms() - t0;
    free(fd);
    check(id != 0, "the bystander's message is acked (id %u) %llu ms after the flood began",
          (unsigned)id, (unsigned long long)t_ack);
    check(count[A_BUSY] > 0 && count[A_NONE] == 0 && count[A_OK] == 0,
          "the flood: %d refused as busy at once, %d checked, %d locked, %d other, %d "
          "unanswered",
          count[A_BUSY], count[A_WRONG], count[A_LOCKED], count[A_OTHER], count[A_NONE]);
    check(t_ack * 3 < t_all,
          "the message did not wait behind the logins: acked after %llu ms, the flood was "
          "answered after %llu ms",
          (unsigned long long)t_ack, (unsigned long long)t_all);
    check(itc_got_text(to, 60, id, "still there?"), "and delivered");
    ttc_close(from);
    ttc_close(to);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: it_login_abuse MS_PORT names|stranger|parallel|collide|"
                        "flood N|login SRC NAME MD5HEX ok|wrong|locked\n");
        return 2;
    }
    ms_port = (uint16_t)atoi(argv[1]);
    const char *phase = argv[2];
    if (strcmp(phase, "names") == 0) {
        phase_names();
    } else if (strcmp(phase, "stranger") == 0) {
        phase_stranger();
    } else if (strcmp(phase, "parallel") == 0) {
        phase_parallel();
    } else if (strcmp(phase, "collide") == 0) {
        phase_collide();
    } else if (strcmp(phase, "flood") == 0 && argc == 4) {
        phase_flood(atoi(argv[3]));
    } else if (strcmp(phase, "login") == 0 && argc == 7) {
        int want = strcmp(argv[6], "ok") == 0 ? A_OK
                   : strcmp(argv[6], "wrong") == 0 ? A_WRONG
                                                    : A_LOCKED;
        int r = login_as(argv[3], argv[4], argv[5]);
        check(r == want, "%s from %s: %s (want %s)", argv[4], argv[3], rname[r], rname[want]);
    } else {
        fprintf(stderr, "it_login_abuse: unknown phase %s\n", phase);
        return 2;
    }
    failures += itc_failures();
    if (failures)
        printf("%s: %d failure(s)\n", phase, failures);
    return failures ? 1 : 0;
}
