#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tt_auth.h"
#include "tt_link.h"
#include "tt_net.h"
#include "tt_server.h"
#include "tt_test.h"

#define KEY "0123456789abcdef0123456789abcdef"

static void set_key(tt_auth_t *a, const char *k)
{
    char err[256];
    memset(a, 0, sizeof(*a));
    assert_int_equal(tt_auth_set_secret(a, k, strlen(k), err, sizeof(err)), 0);
}

/* A frame as the handshake sees it. */
static tt_pdu_t frame(uint16_t cid, const uint8_t *body, size_t n)
{
    tt_pdu_t p = {.length = (uint32_t)(TT_PDU_HEADER_LEN + n), .service_id = TT_AUTH_SID,
                  .command_id = cid, .body = body, .body_len = (uint32_t)n};
    return p;
}

/* Runs a whole handshake in memory; returns the connector's and the acceptor's results. */
static void run_hs(const tt_auth_t *kc, const tt_auth_t *ks, int *rc_c, int *rc_s)
{
    tt_auth_hs_t c, s;
    uint8_t hc[64], hs[64], pc[64], ps[64];
    size_t nhc, nhs, npc, nps;
    uint16_t cid;
    char why[128];
    assert_int_equal(tt_auth_hs_start(&c, kc, TT_AUTH_CONNECTOR, hc, &nhc), 0);
    assert_int_equal(tt_auth_hs_start(&s, ks, TT_AUTH_ACCEPTOR, hs, &nhs), 0);
    assert_memory_not_equal(c.mine, s.mine, TT_AUTH_NONCE_LEN);
    tt_pdu_t f = frame(TT_AUTH_CID_HELLO, hs, nhs);
    assert_int_equal(tt_auth_hs_frame(&c, &f, pc, &npc, &cid, why, sizeof(why)), TT_AUTH_MORE);
    assert_int_equal(cid, TT_AUTH_CID_PROOF);
    f = frame(TT_AUTH_CID_HELLO, hc, nhc);
    assert_int_equal(tt_auth_hs_frame(&s, &f, ps, &nps, &cid, why, sizeof(why)), TT_AUTH_MORE);
    f = frame(TT_AUTH_CID_PROOF, ps, nps);
    *rc_c = tt_auth_hs_frame(&c, &f, pc + 32, &npc, &cid, why, sizeof(why));
    f = frame(TT_AUTH_CID_PROOF, pc, TT_AUTH_MAC_LEN);
    *rc_s = tt_auth_hs_frame(&s, &f, ps + 32, &nps, &cid, why, sizeof(why));
}

static void test_handshake_in_memory(void **state)
{
    (void)state;
    tt_auth_t a, b;
    set_key(&a, KEY);
    set_key(&b, KEY "x");
    int rc, rs;
    run_hs(&a, &a, &rc, &rs);
    assert_int_equal(rc, TT_AUTH_DONE);
    assert_int_equal(rs, TT_AUTH_DONE);
    run_hs(&a, &b, &rc, &rs); /* another secret on each side: both refuse */
    assert_int_equal(rc, TT_AUTH_FAIL);
    assert_int_equal(rs, TT_AUTH_FAIL);

    /* A recorded connector proof does not pass with a fresh acceptor nonce (replay), and a
     * connector's own proof sent back to it does not pass either (reflection). */
    tt_auth_hs_t c, s1, s2;
    uint8_t hc[64], h1[64], h2[64], pc[64], out[64];
    size_t n, nh;
    uint16_t cid;
    char why[128];
    tt_auth_hs_start(&c, &a, TT_AUTH_CONNECTOR, hc, &nh);
    tt_auth_hs_start(&s1, &a, TT_AUTH_ACCEPTOR, h1, &n);
    tt_auth_hs_start(&s2, &a, TT_AUTH_ACCEPTOR, h2, &n);
    tt_pdu_t f = frame(TT_AUTH_CID_HELLO, h1, n);
    tt_auth_hs_frame(&c, &f, pc, &n, &cid, why, sizeof(why));
    f = frame(TT_AUTH_CID_HELLO, hc, nh);
    tt_auth_hs_frame(&s2, &f, out, &n, &cid, why, sizeof(why));
    f = frame(TT_AUTH_CID_PROOF, pc, TT_AUTH_MAC_LEN);
    assert_int_equal(tt_auth_hs_frame(&s2, &f, out, &n, &cid, why, sizeof(why)), TT_AUTH_FAIL);
    assert_int_equal(tt_auth_hs_frame(&c, &f, out, &n, &cid, why, sizeof(why)), TT_AUTH_FAIL);

    /* Anything else first is refused: a PDU, a proof before the hello, a bad hello. */
    tt_auth_hs_start(&s1, &a, TT_AUTH_ACCEPTOR, h1, &n);
    f = frame(0x0301, (const uint8_t *)"x", 1);
    assert_int_equal(tt_auth_hs_frame(&s1, &f, out, &n, &cid, why, sizeof(why)), TT_AUTH_FAIL);
    assert_non_null(strstr(why, "before authenticating"));
    f = frame(TT_AUTH_CID_PROOF, pc, TT_AUTH_MAC_LEN);
    assert_int_equal(tt_auth_hs_frame(&s1, &f, out, &n, &cid, why, sizeof(why)), TT_AUTH_FAIL);
    f = frame(TT_AUTH_CID_HELLO, hc, nh - 1);
    assert_int_equal(tt_auth_hs_frame(&s1, &f, out, &n, &cid, why, sizeof(why)), TT_AUTH_FAIL);
}

static void test_secret_from_config(void **state)
{
    (void)state;
    char err[512];
    tt_auth_t a;
    const char *none = "ListenPort=1\n";
    tt_cfg_t *cfg = tt_cfg_parse("x.conf", none, strlen(none), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), 0);
    assert_false(tt_auth_enabled(&a));
    tt_cfg_free(cfg);
    const char *shrt = "DaemonSecret=short\n";
    cfg = tt_cfg_parse("x.conf", shrt, strlen(shrt), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "16 to 256"));
    tt_cfg_free(cfg);
    const char *ok = "DaemonSecret=" KEY "\n";
    cfg = tt_cfg_parse("x.conf", ok, strlen(ok), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), 0);
    assert_int_equal(a.len, strlen(KEY));
    tt_cfg_free(cfg);

    char dir[] = "/tmp/tt-auth.XXXXXX", path[256], text[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/secret", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", KEY "ff");
    fclose(f);
    snprintf(text, sizeof(text), "DaemonSecretFile=%s\n", path);
    cfg = tt_cfg_parse("x.conf", text, strlen(text), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), 0);
    assert_int_equal(a.len, strlen(KEY) + 2); /* the newline is not part of it */
    assert_memory_equal(a.secret, KEY "ff", a.len);
    tt_cfg_free(cfg);
    snprintf(text, sizeof(text), "DaemonSecretFile=%s.none\n", path);
    cfg = tt_cfg_parse("x.conf", text, strlen(text), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), -1);
    tt_cfg_free(cfg);
    snprintf(text, sizeof(text), "DaemonSecret=%s\nDaemonSecretFile=%s\n", KEY, path);
    cfg = tt_cfg_parse("x.conf", text, strlen(text), err, sizeof(err));
    assert_int_equal(tt_auth_from_cfg(&a, cfg, err, sizeof(err)), -1);
    tt_cfg_free(cfg);
    unlink(path);
    rmdir(dir);
}

/* ---- a tt_server and a tt_link on one loop ---- */

typedef struct srv_s {
    int opens, closes, pdus;
    uint16_t last_cid;
} srv_t;

static void s_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)c;
    ((srv_t *)udata)->opens++;
}

static void s_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    srv_t *v = udata;
    v->pdus++;
    v->last_cid = pdu->command_id;
    tt_pdu_send_raw(c, pdu->service_id, (uint16_t)(pdu->command_id + 1), pdu->seq_num, NULL, 0);
}

static void s_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)c;
    ((srv_t *)udata)->closes++;
}

static const tt_server_handler_t s_handler = {s_open, s_pdu, s_close, NULL};

typedef struct cli_s {
    volatile int up;
    int ups, downs, pdus;
    char reason[128];
} cli_t;

static void c_up(tt_link_t *l, void *udata)
{
    (void)l;
    cli_t *c = udata;
    c->up = 1;
    c->ups++;
}

static void c_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)l;
    cli_t *c = udata;
    c->up = 0;
    c->downs++;
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static void c_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    (void)pdu;
    ((cli_t *)udata)->pdus++;
}

static const tt_link_handler_t c_handler = {c_up, c_down, c_pdu};

static void run_for(tt_loop_t *loop, uint64_t ms)
{
    uint64_t end = tt_clock_ms() + ms;
    while (tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
}

static tt_server_t *server(tt_loop_t *loop, tt_auth_t *auth, srv_t *v)
{
    char err[256];
    tt_server_opts_t o = {.hosts = "127.0.0.1", .auth = auth, .send_heartbeat = 1,
                          .lim = {.keepalive_ms = 30}};
    tt_server_t *s = tt_server_new(loop, &o, &s_handler, v, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void test_link_and_server(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_auth_t ks, kc, kw;
    set_key(&ks, KEY);
    set_key(&kc, KEY);
    set_key(&kw, KEY "-wrong");
    srv_t v = {0};
    tt_server_t *s = server(loop, &ks, &v);

    /* The right secret: up, frames flow both ways, heartbeats too. */
    cli_t cli = {0};
    tt_link_opts_t o = {.host = "127.0.0.1", .port = tt_server_port(s), .backoff_min_ms = 50,
                        .heartbeat_ms = 30, .timeout_ms = 2000, .auth = &kc};
    tt_link_t *l = tt_link_new(loop, &o, &c_handler, &cli);
    tt_link_start(l);
    assert_true(tt_test_run_until(loop, &cli.up, 3000));
    assert_int_equal(tt_link_send_raw(l, 3, 0x0301, 1, NULL, 0), 0);
    run_for(loop, 200);
    assert_int_equal(v.opens, 1);
    assert_int_equal(v.pdus, 1);
    assert_int_equal(cli.pdus, 1);
    assert_int_equal(ks.failures + kc.failures, 0);
    assert_true(tt_link_is_up(l));
    tt_link_free(l);
    run_for(loop, 50);
    assert_int_equal(v.closes, 1);

    /* A wrong secret: never up, the server never sees it, both ends count it. */
    cli_t bad = {0};
    o.auth = &kw;
    l = tt_link_new(loop, &o, &c_handler, &bad);
    tt_link_start(l);
    run_for(loop, 400);
    assert_int_equal(bad.ups, 0);
    assert_true(bad.downs >= 1);
    assert_int_equal(v.opens, 1);
    assert_true(ks.failures >= 1);
    assert_true(kw.failures >= 1);
    tt_link_free(l);

    /* A link with a secret to a server without one: the server's heartbeat is refused. */
    srv_t plain_v = {0};
    tt_server_t *plain = server(loop, NULL, &plain_v);
    cli_t p = {0};
    o.auth = &kc;
    o.port = tt_server_port(plain);
    l = tt_link_new(loop, &o, &c_handler, &p);
    tt_link_start(l);
    run_for(loop, 300);
    assert_int_equal(p.ups, 0);
    assert_true(kc.failures >= 1);
    tt_link_free(l);
    tt_server_free(plain);

    /* A stranger sending a PDU is closed, counted and never seen; one that stays silent is
     * closed at the deadline. */
    uint64_t before = ks.failures;
    ks.deadline_ms = 200;
    char err[256];
    int in_progress;
    int fd = tt_net_connect("127.0.0.1", tt_server_port(s), &in_progress, err, sizeof(err));
    int quiet = tt_net_connect("127.0.0.1", tt_server_port(s), &in_progress, err, sizeof(err));
    assert_true(fd >= 0 && quiet >= 0);
    run_for(loop, 50);
    uint8_t f[TT_PDU_HEADER_LEN];
    tt_pdu_encode_header(f, TT_PDU_HEADER_LEN, 7, 0x0711, 0);
    assert_int_equal(write(fd, f, sizeof(f)), (ssize_t)sizeof(f));
    run_for(loop, 100);
    assert_int_equal(ks.failures, before + 1);
    assert_int_equal(v.pdus, 1);
    assert_int_equal(tt_server_conn_count(s), 1); /* the silent one, still in time */
    run_for(loop, 400);
    assert_int_equal(ks.failures, before + 2);
    assert_int_equal(tt_server_conn_count(s), 0);
    assert_int_equal(v.opens, 1);
    assert_int_equal(v.closes, 1);
    close(fd);
    close(quiet);

    tt_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

/* The peer's proof and a big frame in one write: the frame reaches the daemon at once, under
 * the daemon's frame cap (not the handshake's 256 bytes). */
static void test_frame_right_after_proof(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_auth_t ks;
    set_key(&ks, KEY);
    srv_t v = {0};
    tt_server_t *s = server(loop, &ks, &v);
    char err[256];
    int in_progress;
    int fd = tt_net_connect("127.0.0.1", tt_server_port(s), &in_progress, err, sizeof(err));
    assert_true(fd >= 0);
    run_for(loop, 50);
    tt_auth_hs_t hs;
    uint8_t out[2048], in[4096];
    size_t n;
    uint16_t cid;
    assert_int_equal(tt_auth_hs_start(&hs, &ks, TT_AUTH_CONNECTOR, out + TT_PDU_HEADER_LEN, &n),
                     0);
    tt_pdu_encode_header(out, (uint32_t)(TT_PDU_HEADER_LEN + n), TT_AUTH_SID, TT_AUTH_CID_HELLO,
                         0);
    assert_int_equal(write(fd, out, TT_PDU_HEADER_LEN + n), (ssize_t)(TT_PDU_HEADER_LEN + n));
    run_for(loop, 100);
    ssize_t got = read(fd, in, sizeof(in)); /* the server's hello and proof */
    assert_true(got >= 2 * TT_PDU_HEADER_LEN + 36 + 32);
    tt_pdu_t pdu;
    assert_int_equal(tt_pdu_parse(in, (size_t)got, 1024, &pdu, err, sizeof(err)), TT_OK);
    size_t proof_len;
    assert_int_equal(tt_auth_hs_frame(&hs, &pdu, out + TT_PDU_HEADER_LEN, &proof_len, &cid, err,
                                      sizeof(err)),
                     TT_AUTH_MORE);
    tt_pdu_encode_header(out, (uint32_t)(TT_PDU_HEADER_LEN + proof_len), TT_AUTH_SID, cid, 0);
    size_t len = TT_PDU_HEADER_LEN + proof_len;
    tt_pdu_encode_header(out + len, TT_PDU_HEADER_LEN + 1000, 3, 0x0301, 5);
    memset(out + len + TT_PDU_HEADER_LEN, 'x', 1000);
    len += TT_PDU_HEADER_LEN + 1000;
    assert_int_equal(write(fd, out, len), (ssize_t)len);
    run_for(loop, 100);
    assert_int_equal(v.opens, 1);
    assert_int_equal(v.pdus, 1);
    assert_int_equal(v.last_cid, 0x0301);
    assert_int_equal(ks.failures, 0);
    assert_int_equal(tt_server_conn_count(s), 1);
    close(fd);
    tt_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

/* tt_auth_client_fd on a blocking socket, from another thread's point of view: here the
 * loop runs between steps, so the socket is driven by hand with a pipe of events. */
static void test_blocking_client(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_auth_t ks;
    set_key(&ks, KEY);
    srv_t v = {0};
    tt_server_t *s = server(loop, &ks, &v);
    pid_t pid = fork();
    if (pid == 0) {
        tt_auth_t kc;
        memset(&kc, 0, sizeof(kc));
        char err[256];
        tt_auth_set_secret(&kc, KEY, strlen(KEY), err, sizeof(err));
        int in_progress;
        int fd = tt_net_connect("127.0.0.1", tt_server_port(s), &in_progress, err, sizeof(err));
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 2000);
        if (tt_auth_client_fd(fd, &kc, 3000, err, sizeof(err)) < 0)
            _exit(1);
        uint8_t f[TT_PDU_HEADER_LEN];
        tt_pdu_encode_header(f, TT_PDU_HEADER_LEN, 3, 0x0301, 9);
        if (write(fd, f, sizeof(f)) != (ssize_t)sizeof(f))
            _exit(2);
        /* the answer (0x0302), skipping heartbeats */
        for (;;) {
            pf.events = POLLIN;
            if (poll(&pf, 1, 3000) != 1 || read(fd, f, sizeof(f)) != (ssize_t)sizeof(f))
                _exit(3);
            if ((f[10] << 8 | f[11]) == 0x0302)
                _exit(0);
        }
    }
    int status = -1;
    uint64_t end = tt_clock_ms() + 5000;
    while (tt_clock_ms() < end) {
        tt_loop_run_once(loop, 10);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(v.pdus, 1);
    assert_int_equal(ks.failures, 0);
    tt_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_in_memory),
        cmocka_unit_test(test_secret_from_config),
        cmocka_unit_test(test_link_and_server),
        cmocka_unit_test(test_frame_right_after_proof),
        cmocka_unit_test(test_blocking_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
