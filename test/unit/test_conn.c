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

/* A reader of 10-byte records: consumes whole ones only. */
static size_t g_records;
static void records_on_read(tt_conn_t *c)
{
    while (tt_buf_len(&c->in) >= 10) {
        tt_buf_consume(&c->in, 10);
        g_records++;
    }
}

/* A read into the thread's scratch buffer keeps only what the handler left (a partial
 * record), in the connection's own buffer; whole records leave no allocation behind. */
static void test_scratch_read_keeps_the_rest(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    int sv[2];
    make_pair(sv);
    static const tt_conn_handler_t records = {NULL, records_on_read, NULL, NULL};
    tt_conn_t *c = tt_conn_new(loop, sv[0], NULL, &records, NULL, NULL);
    g_records = 0;
    assert_int_equal(write(sv[1], "0123456789abcde", 15), 15);
    for (int i = 0; i < 3; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(g_records, 1);
    assert_int_equal(tt_buf_len(&c->in), 5); /* the partial record is kept ... */
    assert_memory_equal(tt_buf_head(&c->in), "abcde", 5);
    assert_true(c->in.cap > 0);              /* ... in a buffer of its own */
    assert_int_equal(write(sv[1], "fghij0123456789", 15), 15);
    for (int i = 0; i < 3; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(g_records, 3);
    assert_int_equal(tt_buf_len(&c->in), 0);
    assert_int_equal(c->in.cap, 0); /* nothing held once consumed */
    assert_int_equal(write(sv[1], "9876543210", 10), 10);
    for (int i = 0; i < 3; i++)
        tt_loop_run_once(loop, 10);
    assert_int_equal(g_records, 4);
    assert_int_equal(c->in.cap, 0); /* a whole record read in place */
    tt_conn_close(c, "bye");
    tt_loop_run_once(loop, 0);
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

/* ---- the buffer pool (a total cap on many connections' buffers) ---- */

static ssize_t mem_recv(tt_conn_t *c, void *buf, size_t len)
{
    (void)c;
    (void)buf;
    (void)len;
    return -2;
}
static ssize_t stuck_send(tt_conn_t *c, const void *buf, size_t len)
{
    (void)c;
    (void)buf;
    (void)len;
    return -2; /* a peer that never reads */
}
static ssize_t sink_send(tt_conn_t *c, const void *buf, size_t len)
{
    (void)c;
    (void)buf;
    return (ssize_t)len; /* a peer that reads everything at once */
}
static void mem_close(tt_conn_t *c) { (void)c; }
static const tt_conn_io_t stuck_io = {mem_recv, stuck_send, mem_close};
static const tt_conn_io_t sink_io = {mem_recv, sink_send, mem_close};

static void put(tt_conn_t *c, size_t n)
{
    static char junk[256 * 1024];
    assert_true(n <= sizeof(junk));
    assert_int_equal(tt_conn_write(c, junk, n), 0);
}

static size_t held(const tt_conn_t *c) { return c->in.cap + c->out.cap; }

static void test_pool_counts_buffers(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_conn_pool_t pool;
    tt_conn_pool_init(&pool, loop, 0); /* counted, not capped */
    peer_t pa = {0}, pb = {0}, ps = {0};
    tt_conn_limits_t lim = {.pool = &pool};
    tt_conn_t *a = tt_conn_new(loop, -1, &stuck_io, &handler, &pa, &lim);
    tt_conn_t *b = tt_conn_new(loop, -1, &stuck_io, &handler, &pb, &lim);
    tt_conn_t *s = tt_conn_new(loop, -1, &sink_io, &handler, &ps, &lim);
    tt_conn_t *outside = tt_conn_new(loop, -1, &stuck_io, &handler, &ps, NULL);
    assert_int_equal(pool.members, 3);
    assert_int_equal(pool.used, 0);
    put(a, 5000);
    put(b, 100000);
    put(s, 100000);
    put(outside, 100000);
    tt_conn_feed(b, "partial", 7); /* handler consumes it: the input buffer is given back */
    assert_int_equal(pool.used, held(a) + held(b) + held(s));
    tt_loop_run_once(loop, 0); /* s's output is written and its buffer freed */
    assert_int_equal(held(s), 0);
    assert_int_equal(pool.used, held(a) + held(b));
    assert_true(pool.used >= 105000);
    tt_conn_close(b, "bye");
    tt_loop_run_once(loop, 0);
    assert_int_equal(pb.closed, 1);
    assert_int_equal(pool.members, 2);
    assert_int_equal(pool.used, held(a));
    assert_int_equal(pool.cut, 0);
    tt_conn_pool_fini(&pool); /* the rest are forgotten, not freed */
    assert_int_equal(pool.members, 0);
    assert_null(a->pool);
    tt_conn_close(a, "end");
    tt_conn_close(s, "end");
    tt_conn_close(outside, "end");
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_pool_cuts_biggest_non_readers_first(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_conn_pool_t pool;
    tt_conn_pool_init(&pool, loop, 100 * 1024);
    peer_t p[5] = {{0}};
    tt_conn_limits_t lim = {.pool = &pool};
    tt_conn_t *c[5];
    for (int i = 0; i < 4; i++)
        c[i] = tt_conn_new(loop, -1, &stuck_io, &handler, &p[i], &lim);
    c[4] = tt_conn_new(loop, -1, &sink_io, &handler, &p[4], &lim); /* reads everything */
    put(c[0], 30 * 1024); /* 32 KiB buffer */
    put(c[1], 20 * 1024); /* 32 KiB */
    put(c[2], 10 * 1024); /* 16 KiB */
    put(c[3], 8 * 1024);  /* 8 KiB */
    tt_loop_run_once(loop, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p[i].closed, 0); /* 88 KiB: under the cap */
    /* The reader moves far more than the cap through its buffer: it is never cut. */
    for (int i = 0; i < 8; i++) {
        put(c[4], 200 * 1024);
        tt_loop_run_once(loop, 0);
    }
    assert_int_equal(p[4].closed, 0);
    /* One non-reader grows (64 KiB): 136 KiB; cutting the one with the most output queued
     * brings it to 72 KiB, so the others stay. */
    put(c[2], 30 * 1024);
    tt_loop_run_once(loop, 0);
    assert_int_equal(p[2].closed, 1);
    assert_non_null(strstr(p[2].reason, "buffers of all connections"));
    assert_int_equal(p[0].closed + p[1].closed + p[3].closed + p[4].closed, 0);
    assert_int_equal(pool.cut, 1);
    assert_int_equal(pool.used, held(c[0]) + held(c[1]) + held(c[3]));
    /* A lower cap, crossed by a growth: the biggest go first until it is met. */
    pool.limit = 20 * 1024;
    put(c[3], 4 * 1024); /* 16 KiB: 80 KiB in all; 30 KiB and 20 KiB queued go */
    tt_loop_run_once(loop, 0);
    assert_int_equal(p[0].closed, 1);
    assert_int_equal(p[1].closed, 1);
    assert_int_equal(p[3].closed, 0);
    assert_int_equal(p[4].closed, 0);
    assert_int_equal(pool.cut, 3);
    assert_true(pool.used <= pool.limit);
    /* Under the cap a write never scans or cuts. */
    put(c[4], 1000);
    tt_loop_run_once(loop, 0);
    assert_int_equal(pool.cut, 3);
    tt_conn_close(c[3], "end");
    tt_conn_close(c[4], "end");
    tt_loop_run_once(loop, 0);
    assert_int_equal(pool.members, 0);
    assert_int_equal(pool.used, 0);
    tt_conn_pool_fini(&pool);
    tt_loop_free(loop);
}

static void test_pool_counts_input(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_conn_pool_t pool;
    tt_conn_pool_init(&pool, loop, 60 * 1024);
    peer_t p[2] = {{0}};
    static const tt_conn_handler_t hoard = {NULL, hoard_on_read, NULL, p_on_close};
    tt_conn_limits_t lim = {.pool = &pool};
    tt_conn_t *a = tt_conn_new(loop, -1, &stuck_io, &hoard, &p[0], &lim);
    tt_conn_t *b = tt_conn_new(loop, -1, &stuck_io, &hoard, &p[1], &lim);
    static char junk[40 * 1024];
    tt_conn_feed(a, junk, 10 * 1024);
    put(b, 100); /* b has output queued, a only input */
    tt_loop_run_once(loop, 0);
    assert_int_equal(p[0].closed + p[1].closed, 0);
    tt_conn_feed(a, junk, sizeof(junk)); /* 64 KiB of input: over the cap even without b */
    tt_loop_run_once(loop, 0);
    /* b is the non-reader but holds little: cutting it is not enough, so a goes too */
    assert_int_equal(p[1].closed, 1);
    assert_int_equal(p[0].closed, 1);
    assert_int_equal(pool.used, 0);
    tt_conn_pool_fini(&pool);
    tt_loop_free(loop);
}

static void test_set_caps(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    peer_t p = {0};
    static const tt_conn_handler_t hoard = {NULL, hoard_on_read, NULL, p_on_close};
    tt_conn_t *c = tt_conn_new(loop, -1, &stuck_io, &hoard, &p, NULL);
    tt_conn_set_caps(c, 1024, 2048);
    static char junk[4096];
    assert_int_equal(tt_conn_write(c, junk, 2000), 0);
    tt_conn_set_caps(c, 0, 0); /* defaults: 1 MiB in, 8 MiB out */
    assert_int_equal(tt_conn_write(c, junk, 4096), 0);
    tt_conn_feed(c, junk, 4096);
    assert_int_equal(p.closed, 0);
    tt_conn_set_caps(c, 1024, 1 << 20);
    tt_conn_feed(c, "x", 1); /* 4097 bytes held over a 1024-byte cap */
    tt_loop_run_once(loop, 0);
    assert_int_equal(p.closed, 1);
    assert_non_null(strstr(p.reason, "input limit of 1024"));
    tt_conn_t *d = tt_conn_new(loop, -1, &stuck_io, &hoard, &p, NULL);
    tt_conn_set_caps(d, 1024, 2048);
    assert_int_equal(tt_conn_write(d, junk, 2049), -1);
    tt_loop_run_once(loop, 0);
    assert_non_null(strstr(p.reason, "output limit of 2048"));
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
        cmocka_unit_test(test_pool_counts_buffers),
        cmocka_unit_test(test_pool_cuts_biggest_non_readers_first),
        cmocka_unit_test(test_pool_counts_input),
        cmocka_unit_test(test_set_caps),
        cmocka_unit_test(test_scratch_read_keeps_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
