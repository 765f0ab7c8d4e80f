/* msg_server: answers leave in request order whatever order upstreams answer in; a full
 * window pauses reading; given-up answers do not block later ones; attach_data round trips. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "msg_server.h"
#include "tt_test.h"

static tt_buf_t g_sent;

static ssize_t cap_recv(tt_conn_t *c, void *b, size_t n)
{
    (void)c;
    (void)b;
    (void)n;
    return -2;
}
static ssize_t cap_send(tt_conn_t *c, const void *b, size_t n)
{
    (void)c;
    tt_buf_append(&g_sent, b, n);
    return (ssize_t)n;
}
static void cap_close(tt_conn_t *c) { (void)c; }
static const tt_conn_io_t cap_io = {cap_recv, cap_send, cap_close};
static void noop_read(tt_conn_t *c) { (void)c; }
static const tt_conn_handler_t noop = {NULL, noop_read, NULL, NULL};

typedef struct fixture_s {
    msg_server_t ms;
    client_t c;
} fixture_t;

static void setup(fixture_t *f)
{
    memset(f, 0, sizeof(*f));
    tt_buf_init(&g_sent);
    f->ms.d.loop = tt_loop_new();
    f->ms.request_timeout_ms = 50;
    f->c.ms = &f->ms;
    f->c.conn = tt_conn_new(f->ms.d.loop, -1, &cap_io, &noop, NULL, NULL);
    f->c.state = CLIENT_ONLINE;
}

static void teardown(fixture_t *f)
{
    ms_slots_free(&f->c);
    tt_conn_close(f->c.conn, "test over");
    tt_loop_run_once(f->ms.d.loop, 0);
    tt_loop_free(f->ms.d.loop);
    tt_buf_free(&g_sent);
}

/* The seq numbers of the frames written so far, in order. */
static int sent_seqs(uint16_t *out, int max)
{
    tt_pdu_reader_t r;
    tt_pdu_reader_init(&r, 0);
    tt_pdu_reader_feed(&r, tt_buf_head(&g_sent), tt_buf_len(&g_sent));
    tt_pdu_t pdu;
    int n = 0;
    while (n < max && tt_pdu_reader_next(&r, &pdu) == TT_OK)
        out[n++] = pdu.seq_num;
    tt_pdu_reader_free(&r);
    return n;
}

static void answer(client_t *c, uint32_t ordinal)
{
    IM__Message__IMClientTimeRsp rsp = IM__MESSAGE__IMCLIENT_TIME_RSP__INIT;
    rsp.server_time = ordinal;
    ms_slot_answer(c, ordinal, 3, 0x0306, &rsp.base);
}

static void test_in_order(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f);
    uint32_t ord[4];
    for (int i = 0; i < 4; i++)
        ord[i] = ms_slot_open(&f.c, (uint16_t)(100 + i), 0)->ordinal;
    answer(&f.c, ord[2]);
    answer(&f.c, ord[1]);
    tt_loop_run_once(f.ms.d.loop, 0);
    assert_int_equal(tt_buf_len(&g_sent), 0); /* 100 not answered yet: nothing leaves */
    answer(&f.c, ord[0]);
    tt_loop_run_once(f.ms.d.loop, 0);
    uint16_t seqs[8];
    assert_int_equal(sent_seqs(seqs, 8), 3);
    assert_int_equal(seqs[0], 100);
    assert_int_equal(seqs[1], 101);
    assert_int_equal(seqs[2], 102);
    answer(&f.c, ord[2]); /* a duplicate answer is ignored */
    answer(&f.c, ord[3]);
    tt_loop_run_once(f.ms.d.loop, 0);
    assert_int_equal(sent_seqs(seqs, 8), 4);
    assert_int_equal(seqs[3], 103);
    assert_null(f.c.slots); /* nothing in flight: no memory held */
    teardown(&f);
}

static void test_window_pauses_and_expiry(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f);
    uint32_t first = 0;
    for (int i = 0; i < MS_WINDOW; i++) {
        slot_t *s = ms_slot_open(&f.c, (uint16_t)(i + 1), 3);
        assert_non_null(s);
        if (i == 0)
            first = s->ordinal;
    }
    assert_true(f.c.conn->paused);
    assert_null(ms_slot_open(&f.c, 999, 3));
    /* the link the first half went to goes down: those are given up, the rest still wait */
    answer(&f.c, first + 5);
    ms_slots_fail_link(&f.ms, 3);
    tt_loop_run_once(f.ms.d.loop, 0);
    uint16_t seqs[64];
    /* the fixture client is not in ms->clients, so fail_link cannot see it: expire instead */
    assert_int_equal(sent_seqs(seqs, 64), 0);
    ms_slots_expire(&f.c, tt_clock_ms() + 1000);
    tt_loop_run_once(f.ms.d.loop, 0);
    assert_int_equal(sent_seqs(seqs, 64), 1); /* only the answered one was sent */
    assert_int_equal(seqs[0], 6);
    assert_false(f.c.conn->paused); /* room again: reading resumed */
    teardown(&f);
}

static void test_fail_link_through_map(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f);
    tt_map_init(&f.ms.clients);
    f.c.handle = 7;
    tt_map_put(&f.ms.clients, 7, &f.c);
    uint32_t a = ms_slot_open(&f.c, 1, 1)->ordinal;
    uint32_t b = ms_slot_open(&f.c, 2, 2)->ordinal;
    (void)a;
    answer(&f.c, b);
    ms_slots_fail_link(&f.ms, 1); /* a's link died: b may go */
    tt_loop_run_once(f.ms.d.loop, 0);
    uint16_t seqs[4];
    assert_int_equal(sent_seqs(seqs, 4), 1);
    assert_int_equal(seqs[0], 2);
    tt_map_free(&f.ms.clients);
    teardown(&f);
}

/* One message of client c: through the gate, a slot, counted. The slot's ordinal + 1, or 0
 * when the gate made it wait. */
static uint32_t send_msg(client_t *c, uint16_t seq)
{
    if (ms_db_gate(c))
        return 0;
    slot_t *s = ms_slot_open(c, seq, 0);
    assert_non_null(s);
    ms_slot_hold_db(c, s);
    return s->ordinal + 1;
}

/* MaxMsgInFlight: at the bound a message waits — its frame kept, its client paused and
 * queued — and so does any other while some wait; each answer wakes the client that waited
 * longest, whose message then goes ahead; a client that goes leaves the queue and gives back
 * what it had in flight; a slot given up settles too. */
static void test_inflight_bound_keeps_frames_and_wakes_in_order(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f);
    f.ms.max_msg_inflight = 2;
    client_t c2 = f.c, c3 = f.c;
    c2.conn = tt_conn_new(f.ms.d.loop, -1, &cap_io, &noop, NULL, NULL);
    c3.conn = tt_conn_new(f.ms.d.loop, -1, &cap_io, &noop, NULL, NULL);
    uint32_t o1 = send_msg(&f.c, 1), o2 = send_msg(&c2, 1);
    assert_true(o1 && o2);
    assert_int_equal(f.ms.msg_inflight, 2);
    assert_false(f.c.conn->paused);
    assert_int_equal(send_msg(&c3, 1), 0); /* at the bound: waits */
    assert_true(c3.conn->paused);
    assert_true(c3.conn->hold_frame); /* its frame is not consumed */
    c3.conn->hold_frame = 0;          /* (what tt_pdu_conn_drain does) */
    assert_int_equal(send_msg(&f.c, 2), 0); /* queued behind c3 */
    f.c.conn->hold_frame = 0;
    assert_int_equal(f.ms.dbw_count, 2);
    assert_ptr_equal(f.ms.dbw_head, &c3);
    answer(&f.c, o1 - 1); /* room for one: c3, the longest waiting, goes */
    assert_int_equal(f.ms.msg_inflight, 1);
    assert_false(c3.conn->paused);
    assert_true(f.c.conn->paused);
    assert_int_equal(send_msg(&c2, 2), 0); /* others wait behind the woken one */
    c2.conn->hold_frame = 0;
    uint32_t o3 = send_msg(&c3, 1); /* its kept message, read again */
    assert_true(o3 != 0);
    assert_int_equal(f.ms.msg_inflight, 2);
    ms_slots_free(&c3); /* c3 goes: its message is no longer counted, the next one wakes */
    assert_int_equal(f.ms.msg_inflight, 1);
    assert_false(f.c.conn->paused);
    assert_ptr_equal(f.ms.dbw_head, &c2);
    ms_slots_free(&c2); /* a waiting client that goes leaves the queue */
    assert_null(f.ms.dbw_head);
    assert_int_equal(f.ms.dbw_count, 0);
    assert_int_equal(f.ms.msg_inflight, 0);
    uint32_t o4 = send_msg(&f.c, 3); /* nobody waits, room: straight through */
    assert_true(o4 != 0);
    ms_slots_expire(&f.c, tt_clock_ms() + 1000); /* given up: settles */
    assert_int_equal(f.ms.msg_inflight, 0);
    tt_conn_close(c2.conn, "test over");
    tt_conn_close(c3.conn, "test over");
    ms_answers_stop(&f.ms);
    teardown(&f);
}

/* Without a bound (MaxMsgInFlight=0) nothing is counted and nobody waits. */
static void test_inflight_unbounded(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f);
    for (int i = 0; i < 3; i++)
        assert_true(send_msg(&f.c, (uint16_t)(i + 1)) != 0);
    assert_int_equal(f.ms.msg_inflight, 0);
    assert_false(f.c.conn->paused);
    teardown(&f);
}

/* A frame handler that sets hold_frame leaves the frame for after a resume. */
static int g_frames;
static void hold_on_first(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    (void)pdu;
    (void)arg;
    if (g_frames++ == 0) {
        c->hold_frame = 1;
        tt_conn_pause(c);
    }
}
static void hold_read(tt_conn_t *c) { tt_pdu_conn_drain(c, 1024, hold_on_first, NULL); }
static const tt_conn_handler_t hold_h = {NULL, hold_read, NULL, NULL};

static void test_drain_hold_frame(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_conn_t *c = tt_conn_new(loop, -1, &cap_io, &hold_h, NULL, NULL);
    uint8_t two[2 * TT_PDU_HEADER_LEN];
    tt_pdu_encode_header(two, TT_PDU_HEADER_LEN, 3, 0x0301, 1);
    tt_pdu_encode_header(two + TT_PDU_HEADER_LEN, TT_PDU_HEADER_LEN, 3, 0x0301, 2);
    g_frames = 0;
    tt_conn_feed(c, two, sizeof(two));
    assert_int_equal(g_frames, 1);
    assert_int_equal(tt_buf_len(&c->in), sizeof(two)); /* nothing consumed */
    assert_false(c->hold_frame);
    tt_conn_resume(c);
    tt_loop_run_once(loop, 0);
    assert_int_equal(g_frames, 3); /* the kept frame again, then the next */
    assert_int_equal(tt_buf_len(&c->in), 0);
    tt_conn_close(c, "test over");
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_attach_round_trip(void **state)
{
    (void)state;
    uint8_t a12[12];
    ms_attach_encode(a12, 0xdeadbeef, 42);
    ProtobufCBinaryData a = {12, a12};
    uint32_t h, o;
    const uint8_t *p;
    size_t n;
    assert_int_equal(ms_attach_decode(&a, &h, &o, &p, &n), 0);
    assert_int_equal(h, 0xdeadbeef);
    assert_int_equal(o, 42);
    assert_null(p);
    ProtobufCBinaryData big;
    assert_int_equal(ms_attach_encode_payload(&big, 5, 6, (const uint8_t *)"xyz", 3), 0);
    assert_int_equal(ms_attach_decode(&big, &h, &o, &p, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "xyz", 3);
    big.len = 18; /* length field says 3, 2 bytes present: rejected */
    assert_int_equal(ms_attach_decode(&big, &h, &o, &p, &n), -1);
    free(big.data);
    ProtobufCBinaryData shortone = {7, a12};
    assert_int_equal(ms_attach_decode(&shortone, &h, &o, &p, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_window_pauses_and_expiry),
        cmocka_unit_test(test_fail_link_through_map),
        cmocka_unit_test(test_inflight_bound_keeps_frames_and_wakes_in_order),
        cmocka_unit_test(test_drain_hold_frame),
        cmocka_unit_test(test_inflight_unbounded),
        cmocka_unit_test(test_attach_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
