#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tt_conn.h"
#include "tt_net.h"
#include "tt_test.h"

typedef struct peer_s {
    int reads;
    size_t got;
    int closed;
    int connected;
    int keepalives;
    char reason[128];
    int pause_after_first;
} peer_t;

static void p_on_connect(tt_conn_t *c)
{
    peer_t *p = c->udata;
    p->connected = 1;
}

static void p_on_read(tt_conn_t *c)
{
    peer_t *p = c->udata;
    p->reads++;
    p->got += tt_buf_len(&c->in);
    tt_buf_consume(&c->in, tt_buf_len(&c->in));
    if (p->pause_after_first)
        tt_conn_pause(c);
}

static void p_on_keepalive(tt_conn_t *c)
{
    peer_t *p = c->udata;
    p->keepalives++;
    tt_conn_write(c, "k", 1);
}

static void p_on_close(tt_conn_t *c)
{
    peer_t *p = c->udata;
    p->closed = 1;
    snprintf(p->reason, sizeof(p->reason), "%s", c->reason);
}

static void hoard_on_read(tt_conn_t *c) { (void)c; /* consumes nothing */ }

static const tt_conn_handler_t handler = {p_on_connect, p_on_read, p_on_keepalive, p_on_close};

static void make_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

static void test_output_cap_cuts_off_slow_reader(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    peer_t p = {0};
    tt_conn_limits_t lim = {.max_out = 64 * 1024};
    tt_conn_t *c = tt_conn_new(loop, sv[0], NULL, &handler, &p, &lim);
    char chunk[8192];
    memset(chunk, 'x', sizeof(chunk));
    int rc = 0, writes = 0;
    /* the other end never reads: the kernel buffer fills, then our cap is hit */
    while (rc == 0 && writes < 10000) {
        rc = tt_conn_write(c, chunk, sizeof(chunk));
        writes++;
        tt_loop_run_once(loop, 0);
    }
    assert_int_equal(rc, -1);
    tt_loop_run_once(loop, 0);
    assert_int_equal(p.closed, 1);
    assert_non_null(strstr(p.reason, "output limit"));
    close(sv[1]);
    tt_loop_free(loop);
}

static void test_close_after_flush_delivers(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    peer_t p = {0};
    tt_conn_t *c = tt_conn_new(loop, sv[0], NULL, &handler, &p, NULL);
    assert_int_equal(tt_conn_write(c, "goodbye", 7), 0);
    tt_conn_close_after_flush(c, "done");
    assert_int_equal(tt_conn_write(c, "more", 4), -1); /* nothing after the close */
    tt_test_run_until(loop, &p.closed, 1000);
    assert_int_equal(p.closed, 1);
    assert_string_equal(p.reason, "done");
    char buf[32];
    ssize_t n = read(sv[1], buf, sizeof(buf));
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "goodbye", 7);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 0); /* and then EOF */
    close(sv[1]);
    tt_loop_free(loop);
}

static void test_idle_timeout_and_keepalive(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    peer_t p = {0};
    tt_conn_limits_t lim = {.idle_ms = 120, .keepalive_ms = 30};
    tt_conn_new(loop, sv[0], NULL, &handler, &p, &lim);
    uint64_t start = tt_clock_ms();
    tt_test_run_until(loop, &p.closed, 2000);
    uint64_t took = tt_clock_ms() - start;
    assert_int_equal(p.closed, 1);
    assert_non_null(strstr(p.reason, "idle timeout"));
    assert_true(took >= 110 && took < 1000);
    assert_true(p.keepalives >= 2); /* keepalives do not count as received bytes */
    char buf[16];
    assert_true(read(sv[1], buf, sizeof(buf)) >= 2);
    close(sv[1]);
    tt_loop_free(loop);
}

static void test_received_bytes_keep_alive(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    peer_t p = {0};
    tt_conn_limits_t lim = {.idle_ms = 100};
    tt_conn_new(loop, sv[0], NULL, &handler, &p, &lim);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(write(sv[1], "x", 1), 1);
        uint64_t end = tt_clock_ms() + 50;
        while (tt_clock_ms() < end)
            tt_loop_run_once(loop, 10);
    }
    assert_int_equal(p.closed, 0); /* 300 ms of traffic every 50 ms */
    assert_int_equal(p.got, 6);
    tt_test_run_until(loop, &p.closed, 1000);
    assert_int_equal(p.closed, 1);
    close(sv[1]);
    tt_loop_free(loop);
}

static void test_pause_resume_and_input_cap(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    peer_t p = {.pause_after_first = 1};
    tt_conn_t *c = tt_conn_new(loop, sv[0], NULL, &handler, &p, NULL);
    assert_int_equal(write(sv[1], "abc", 3), 3);
    for (int i = 0; i < 5; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(p.reads, 1);
    assert_int_equal(write(sv[1], "def", 3), 3);
    for (int i = 0; i < 5; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(p.reads, 1); /* paused: not read */
    p.pause_after_first = 0;
    tt_conn_resume(c);
    for (int i = 0; i < 5; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(p.reads, 2);
    assert_int_equal(p.got, 6);
    tt_conn_close(c, "bye");
    tt_loop_run_once(loop, 0);
    close(sv[1]);

    /* a handler that never consumes hits the input cap */
    make_pair(sv);
    peer_t q = {0};
    static const tt_conn_handler_t hoarder = {NULL, hoard_on_read, NULL, p_on_close};
    tt_conn_limits_t lim = {.max_in = 1000};
    tt_conn_new(loop, sv[0], NULL, &hoarder, &q, &lim);
    char junk[1500];
    memset(junk, 'j', sizeof(junk));
    assert_int_equal(write(sv[1], junk, sizeof(junk)), (int)sizeof(junk));
    tt_test_run_until(loop, &q.closed, 1000);
    assert_int_equal(q.closed, 1);
    assert_non_null(strstr(q.reason, "input limit"));
    close(sv[1]);
    tt_loop_free(loop);
}

typedef struct accept_ctx_s {
    tt_loop_t *loop;
    tt_conn_t *server_side;
    peer_t peer;
    int accepted;
} accept_ctx_t;

static void on_accept(tt_listener_t *l, int fd, const struct sockaddr_storage *addr, void *udata)
{
    (void)l;
    (void)addr;
    accept_ctx_t *a = udata;
    a->accepted++;
    a->server_side = tt_conn_new(a->loop, fd, NULL, &handler, &a->peer, NULL);
}

static void run_connect(const char *host)
{
    tt_loop_t *loop = tt_loop_new();
    accept_ctx_t a = {.loop = loop};
    char err[256];
    tt_listener_t *l = tt_listener_new(loop, host, 0, 16, on_accept, &a, err, sizeof(err));
    assert_non_null(l);
    uint16_t port = tt_listener_port(l);
    assert_true(port > 0);
    peer_t cp = {0};
    tt_conn_t *c = tt_conn_connect(loop, host, port, &handler, &cp, NULL, err, sizeof(err));
    assert_non_null(c);
    tt_test_run_until(loop, &cp.connected, 2000);
    assert_int_equal(cp.connected, 1);
    tt_conn_write(c, "hello", 5);
    uint64_t end = tt_clock_ms() + 2000;
    while (a.peer.got < 5 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_int_equal(a.peer.got, 5);
    assert_non_null(strstr(a.server_side->peer, host[0] == ':' ? "[::1]" : "127.0.0.1"));
    tt_conn_close(c, "done");
    tt_test_run_until(loop, &a.peer.closed, 2000);
    assert_non_null(strstr(a.peer.reason, "closed by peer"));
    tt_listener_free(l);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_listen_connect_ipv4(void **state)
{
    (void)state;
    run_connect("127.0.0.1");
}

static void test_listen_connect_ipv6(void **state)
{
    (void)state;
    char err[128];
    int fd = tt_net_listen("::1", 0, 1, err, sizeof(err));
    if (fd < 0)
        skip(); /* no IPv6 loopback on this machine */
    close(fd);
    run_connect("::1");
}

static void test_connect_refused(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    char err[256];
    /* find a port nobody listens on */
    int fd = tt_net_listen("127.0.0.1", 0, 1, err, sizeof(err));
    uint16_t port = tt_net_local_port(fd);
    close(fd);
    peer_t cp = {0};
    tt_conn_t *c = tt_conn_connect(loop, "127.0.0.1", port, &handler, &cp, NULL, err, sizeof(err));
    assert_non_null(c);
    tt_test_run_until(loop, &cp.closed, 2000);
    assert_int_equal(cp.connected, 0);
    assert_non_null(strstr(cp.reason, "connect failed"));
    tt_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_cap_cuts_off_slow_reader),
        cmocka_unit_test(test_close_after_flush_delivers),
        cmocka_unit_test(test_idle_timeout_and_keepalive),
        cmocka_unit_test(test_received_bytes_keep_alive),
        cmocka_unit_test(test_pause_resume_and_input_cap),
        cmocka_unit_test(test_listen_connect_ipv4),
        cmocka_unit_test(test_listen_connect_ipv6),
        cmocka_unit_test(test_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
