#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tt_link.h"
#include "tt_net.h"
#include "tt_test.h"

/* A tiny PDU server: counts frames by command, echoes nothing unless asked. */
typedef struct srv_s {
    tt_loop_t *loop;
    tt_listener_t *listener;
    uint16_t port;
    int accepted;
    int heartbeats;
    int frames;
    tt_conn_t *conns[8];
    int nconns;
} srv_t;

static void srv_frame(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    (void)arg;
    srv_t *s = c->udata;
    if (pdu->command_id == 0x0701)
        s->heartbeats++;
    else {
        s->frames++;
        /* answer with a frame of its own so the link's on_pdu runs */
        tt_pdu_send_raw(c, pdu->service_id, (uint16_t)(pdu->command_id + 1), pdu->seq_num,
                        pdu->body, pdu->body_len);
    }
}

static void srv_on_read(tt_conn_t *c) { tt_pdu_conn_drain(c, 65536, srv_frame, NULL); }

static void srv_on_close(tt_conn_t *c)
{
    srv_t *s = c->udata;
    for (int i = 0; i < s->nconns; i++)
        if (s->conns[i] == c)
            s->conns[i] = s->conns[--s->nconns];
}

static const tt_conn_handler_t srv_handler = {NULL, srv_on_read, NULL, srv_on_close};

static void srv_accept(tt_listener_t *l, int fd, const struct sockaddr_storage *addr, void *udata)
{
    (void)l;
    (void)addr;
    srv_t *s = udata;
    s->accepted++;
    tt_conn_t *c = tt_conn_new(s->loop, fd, NULL, &srv_handler, s, NULL);
    if (c && s->nconns < 8)
        s->conns[s->nconns++] = c;
}

static void srv_start(srv_t *s, tt_loop_t *loop, uint16_t port)
{
    char err[256];
    s->loop = loop;
    s->listener = tt_listener_new(loop, "127.0.0.1", port, 16, srv_accept, s, err, sizeof(err));
    assert_non_null(s->listener);
    s->port = tt_listener_port(s->listener);
}

static void srv_stop(srv_t *s)
{
    tt_listener_free(s->listener);
    s->listener = NULL;
    while (s->nconns > 0) {
        tt_conn_t *c = s->conns[0];
        tt_conn_close(c, "server restart");
        s->conns[0] = s->conns[--s->nconns];
    }
}

typedef struct cli_s {
    int ups, downs, pdus;
    volatile int up;
    uint16_t last_cid;
    char reason[128];
} cli_t;

static void cli_up(tt_link_t *l, void *udata)
{
    (void)l;
    cli_t *c = udata;
    c->ups++;
    c->up = 1;
}

static void cli_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)l;
    cli_t *c = udata;
    c->downs++;
    c->up = 0;
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static void cli_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    cli_t *c = udata;
    c->pdus++;
    c->last_cid = pdu->command_id;
}

static const tt_link_handler_t cli_handler = {cli_up, cli_down, cli_pdu};

static void test_reconnect_after_peer_restart(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    srv_t s = {0};
    srv_start(&s, loop, 0);
    cli_t cli = {0};
    tt_link_opts_t o = {.host = "127.0.0.1", .port = s.port, .backoff_min_ms = 20,
                        .backoff_max_ms = 80, .heartbeat_ms = 50, .timeout_ms = 1000};
    tt_link_t *l = tt_link_new(loop, &o, &cli_handler, &cli);
    tt_link_start(l);
    assert_true(tt_test_run_until(loop, &cli.up, 2000));
    assert_int_equal(tt_link_send_raw(l, 3, 0x0301, 5, (const uint8_t *)"ab", 2), 0);
    uint64_t end = tt_clock_ms() + 2000;
    while (cli.pdus < 1 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_int_equal(cli.last_cid, 0x0302);
    /* idle for a while: heartbeats flow, and the link stays up */
    end = tt_clock_ms() + 200;
    while (tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_true(s.heartbeats >= 2);
    assert_true(tt_link_is_up(l));

    /* the peer goes away: the link notices and retries with growing delays */
    uint16_t port = s.port;
    srv_stop(&s);
    end = tt_clock_ms() + 2000;
    while (cli.up && tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_false(cli.up);
    assert_int_equal(tt_link_send_raw(l, 3, 0x0301, 6, NULL, 0), -1);
    end = tt_clock_ms() + 300;
    while (tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_true(cli.downs >= 3); /* lost + refused attempts */
    assert_int_equal(tt_link_next_delay(l), 80); /* doubled up to the cap */

    /* the peer comes back on the same port: the link comes back by itself */
    srv_start(&s, loop, port);
    assert_true(tt_test_run_until(loop, &cli.up, 2000));
    assert_int_equal(cli.ups, 2);
    assert_int_equal(tt_link_next_delay(l), 20); /* reset after success */
    assert_int_equal(tt_link_send_raw(l, 3, 0x0301, 7, NULL, 0), 0);
    end = tt_clock_ms() + 2000;
    while (cli.pdus < 2 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_int_equal(cli.pdus, 2);

    tt_link_free(l);
    srv_stop(&s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_silent_peer_times_out(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    /* a listener that accepts at the kernel level but never answers */
    char err[256];
    int lfd = tt_net_listen("127.0.0.1", 0, 4, err, sizeof(err));
    assert_true(lfd >= 0);
    cli_t cli = {0};
    tt_link_opts_t o = {.host = "127.0.0.1", .port = tt_net_local_port(lfd),
                        .backoff_min_ms = 1000, .heartbeat_ms = 20, .timeout_ms = 150};
    tt_link_t *l = tt_link_new(loop, &o, &cli_handler, &cli);
    tt_link_start(l);
    assert_true(tt_test_run_until(loop, &cli.up, 2000));
    uint64_t start = tt_clock_ms();
    uint64_t end = start + 2000;
    while (cli.downs == 0 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 10);
    assert_int_equal(cli.downs, 1);
    assert_non_null(strstr(cli.reason, "idle timeout"));
    assert_true(tt_clock_ms() - start >= 140);
    tt_link_free(l);
    close(lfd);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reconnect_after_peer_restart),
        cmocka_unit_test(test_silent_peer_times_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
