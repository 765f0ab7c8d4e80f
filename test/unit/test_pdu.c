#include <stdlib.h>
#include <string.h>

#include "IM.Login.pb-c.h"
#include "tt_pdu.h"
#include "tt_test.h"

/* A stream of three frames: heartbeat (empty body), a login request, a 1-byte body. */
static size_t build_stream(uint8_t *out, size_t cap)
{
    tt_buf_t b;
    tt_buf_init(&b);
    assert_int_equal(tt_pdu_append(&b, 7, 0x0701, 1, NULL), 0);
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = "TT001";
    req.password = "e10adc3949ba59abbe56e057f20f883e";
    req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    req.client_type = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC;
    assert_int_equal(tt_pdu_append(&b, 1, 0x0103, 2, &req.base), 0);
    uint8_t raw[17];
    tt_pdu_encode_header(raw, 17, 3, 0x0301, 3);
    raw[16] = 0xAB;
    assert_int_equal(tt_buf_append(&b, raw, sizeof(raw)), 0);
    size_t n = tt_buf_len(&b);
    assert_true(n <= cap);
    memcpy(out, tt_buf_head(&b), n);
    tt_buf_free(&b);
    return n;
}

static void check_frames(const tt_pdu_t *frames, int n)
{
    assert_int_equal(n, 3);
    assert_int_equal(frames[0].command_id, 0x0701);
    assert_int_equal(frames[0].body_len, 0);
    assert_int_equal(frames[0].seq_num, 1);
    assert_int_equal(frames[1].command_id, 0x0103);
    assert_int_equal(frames[1].service_id, 1);
    assert_int_equal(frames[1].seq_num, 2);
    assert_int_equal(frames[1].version, 1);
    assert_int_equal(frames[2].command_id, 0x0301);
    assert_int_equal(frames[2].body_len, 1);
}

/* Feeds the stream in pieces given by split(); collects the frames. */
static int feed_in_pieces(const uint8_t *s, size_t n, size_t (*piece)(size_t off, void *arg),
                          void *arg, tt_pdu_t *frames, uint8_t bodies[][64])
{
    tt_pdu_reader_t r;
    tt_pdu_reader_init(&r, 1024);
    int got = 0;
    size_t off = 0;
    while (off < n) {
        size_t k = piece(off, arg);
        if (k > n - off)
            k = n - off;
        assert_int_equal(tt_pdu_reader_feed(&r, s + off, k), 0);
        off += k;
        tt_pdu_t pdu;
        int rc;
        while ((rc = tt_pdu_reader_next(&r, &pdu)) == TT_OK) {
            assert_true(got < 3);
            assert_true(pdu.body_len <= 64);
            memcpy(bodies[got], pdu.body, pdu.body_len);
            frames[got] = pdu;
            frames[got].body = bodies[got];
            got++;
        }
        assert_int_equal(rc, TT_AGAIN);
    }
    tt_pdu_reader_free(&r);
    return got;
}

static size_t one_byte(size_t off, void *arg)
{
    (void)off;
    (void)arg;
    return 1;
}

static size_t whole(size_t off, void *arg)
{
    (void)off;
    (void)arg;
    return SIZE_MAX;
}

static size_t split_at(size_t off, void *arg)
{
    size_t at = *(size_t *)arg;
    return off < at ? at - off : SIZE_MAX;
}

static size_t random_piece(size_t off, void *arg)
{
    (void)off;
    unsigned *seed = arg;
    return 1 + (size_t)(rand_r(seed) % 23);
}

static void test_reader_splits(void **state)
{
    (void)state;
    uint8_t s[256];
    size_t n = build_stream(s, sizeof(s));
    tt_pdu_t frames[3];
    uint8_t bodies[3][64];

    check_frames(frames, feed_in_pieces(s, n, whole, NULL, frames, bodies));
    check_frames(frames, feed_in_pieces(s, n, one_byte, NULL, frames, bodies));
    for (size_t at = 1; at < n; at++) {
        int got = feed_in_pieces(s, n, split_at, &at, frames, bodies);
        check_frames(frames, got);
    }
    for (unsigned seed = 1; seed <= 200; seed++) {
        unsigned st = seed;
        check_frames(frames, feed_in_pieces(s, n, random_piece, &st, frames, bodies));
    }
    /* the login body still parses after all that */
    IM__Login__IMLoginReq *req = (IM__Login__IMLoginReq *)tt_pb_unpack(
        &im__login__imlogin_req__descriptor, frames[1].body, frames[1].body_len);
    assert_non_null(req);
    assert_string_equal(req->user_name, "TT001");
    tt_pb_free(req);
}

static void test_bad_lengths(void **state)
{
    (void)state;
    char err[128];
    tt_pdu_t pdu;
    uint8_t h[16];
    for (uint32_t len = 0; len < 16; len++) {
        tt_pdu_encode_header(h, len, 1, 1, 0);
        assert_int_equal(tt_pdu_parse(h, sizeof(h), 1024, &pdu, err, sizeof(err)), TT_ERR);
        assert_non_null(strstr(err, "below"));
        /* rejected as soon as the 4 length bytes are in */
        assert_int_equal(tt_pdu_parse(h, 4, 1024, &pdu, err, sizeof(err)), TT_ERR);
    }
    tt_pdu_encode_header(h, 1025, 1, 1, 0);
    assert_int_equal(tt_pdu_parse(h, 4, 1024, &pdu, err, sizeof(err)), TT_ERR);
    assert_non_null(strstr(err, "above the maximum of 1024"));
    tt_pdu_encode_header(h, 0xFFFFFFFFu, 1, 1, 0);
    assert_int_equal(tt_pdu_parse(h, sizeof(h), 1024, &pdu, err, sizeof(err)), TT_ERR);
    /* exactly the maximum is fine, once all bytes are there */
    tt_pdu_encode_header(h, 1024, 1, 1, 0);
    assert_int_equal(tt_pdu_parse(h, sizeof(h), 1024, &pdu, err, sizeof(err)), TT_AGAIN);
    assert_int_equal(tt_pdu_parse(h, 3, 1024, &pdu, err, sizeof(err)), TT_AGAIN);
    /* the reader reports the error too */
    tt_pdu_reader_t r;
    tt_pdu_reader_init(&r, 1024);
    tt_pdu_encode_header(h, 5, 1, 1, 0);
    tt_pdu_reader_feed(&r, h, 16);
    assert_int_equal(tt_pdu_reader_next(&r, &pdu), TT_ERR);
    assert_non_null(strstr(r.err, "below"));
    tt_pdu_reader_free(&r);
}

static void test_garbage_bodies(void **state)
{
    (void)state;
    /* Random bytes, truncations and a body missing required fields never crash and give NULL. */
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = "someone";
    req.password = "x";
    req.online_status = 1;
    req.client_type = 1;
    uint8_t packed[64];
    size_t n = protobuf_c_message_pack(&req.base, packed);
    for (size_t cut = 1; cut < n; cut++) {
        ProtobufCMessage *m = tt_pb_unpack(&im__login__imlogin_req__descriptor, packed, cut);
        assert_null(m); /* every strict prefix either is truncated or lacks a required field */
    }
    unsigned seed = 42;
    int parsed = 0;
    for (int i = 0; i < 5000; i++) {
        uint8_t junk[48];
        size_t len = (size_t)(rand_r(&seed) % sizeof(junk));
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t)rand_r(&seed);
        ProtobufCMessage *m = tt_pb_unpack(&im__login__imlogin_req__descriptor, junk, len);
        if (m) {
            parsed++;
            tt_pb_free(m);
        }
    }
    assert_true(parsed < 50);
    assert_null(tt_pb_unpack(&im__login__imlogin_req__descriptor, NULL, 0));
}

/* ---- frames over a memory-driven connection ---- */

typedef struct mem_s {
    tt_buf_t sent;
    int closed;
    int frames;
    uint16_t last_cid;
} mem_t;

static ssize_t mem_recv(tt_conn_t *c, void *buf, size_t len)
{
    (void)c;
    (void)buf;
    (void)len;
    return -2;
}

static ssize_t mem_send(tt_conn_t *c, const void *buf, size_t len)
{
    mem_t *m = c->udata;
    tt_buf_append(&m->sent, buf, len);
    return (ssize_t)len;
}

static void mem_close(tt_conn_t *c) { (void)c; }

static const tt_conn_io_t mem_io = {mem_recv, mem_send, mem_close};

static void on_frame(tt_conn_t *c, const tt_pdu_t *pdu, void *arg)
{
    (void)arg;
    mem_t *m = c->udata;
    m->frames++;
    m->last_cid = pdu->command_id;
    /* echo it back, like a heartbeat answer */
    tt_pdu_send_raw(c, pdu->service_id, pdu->command_id, pdu->seq_num, pdu->body, pdu->body_len);
}

static void mem_on_read(tt_conn_t *c) { tt_pdu_conn_drain(c, 1024, on_frame, NULL); }

static void mem_on_close(tt_conn_t *c)
{
    mem_t *m = c->udata;
    m->closed = 1;
}

static const tt_conn_handler_t mem_handler = {NULL, mem_on_read, NULL, mem_on_close};

static void test_conn_drain_bad_frame_closes_only_that_conn(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    mem_t good = {0}, bad = {0};
    tt_buf_init(&good.sent);
    tt_buf_init(&bad.sent);
    tt_conn_t *cg = tt_conn_new(loop, -1, &mem_io, &mem_handler, &good, NULL);
    tt_conn_t *cb = tt_conn_new(loop, -1, &mem_io, &mem_handler, &bad, NULL);
    uint8_t s[256];
    size_t n = build_stream(s, sizeof(s));
    for (size_t i = 0; i < n; i++)
        tt_conn_feed(cg, s + i, 1); /* byte by byte */
    uint8_t h[16];
    tt_pdu_encode_header(h, 3, 1, 0x0103, 9);
    tt_conn_feed(cb, s, 16);        /* one good heartbeat */
    tt_conn_feed(cb, h, sizeof(h)); /* then a frame of length 3 */
    assert_true(cb->state == TT_CONN_CLOSED);
    assert_non_null(strstr(cb->reason, "bad frame"));
    tt_loop_run_once(loop, 0); /* flush and free */
    assert_int_equal(good.frames, 3);
    assert_int_equal(good.last_cid, 0x0301);
    assert_int_equal(tt_buf_len(&good.sent), n); /* everything echoed */
    assert_memory_equal(tt_buf_head(&good.sent), s, n);
    assert_int_equal(bad.frames, 1);
    assert_int_equal(bad.closed, 1);
    assert_int_equal(good.closed, 0);
    tt_conn_close(cg, "test over");
    tt_loop_run_once(loop, 0);
    assert_int_equal(good.closed, 1);
    tt_buf_free(&good.sent);
    tt_buf_free(&bad.sent);
    tt_loop_free(loop);
}

static void test_cmd_table(void **state)
{
    (void)state;
    static const tt_cmd_t table[] = {{0x0701, NULL}, {0x0103, NULL}};
    assert_ptr_equal(tt_cmd_find(table, 2, 0x0103), &table[1]);
    assert_null(tt_cmd_find(table, 2, 0x0104));
}

/* A NUL inside a string field is seen on the wire, where protobuf-c would cut the string. */
static void test_field_has_nul(void **state)
{
    (void)state;
    /* field 1 varint 300, field 2 "ab\0c", field 3 fixed32, field 2 again "ok" */
    static const uint8_t nul[] = {0x08, 0xac, 0x02, 0x12, 4,   'a', 'b', 0,  'c',
                                  0x1d, 1,    2,    3,    4,   0x12, 2,  'o', 'k'};
    assert_int_equal(tt_pb_field_has_nul(nul, sizeof(nul), 2), 1);
    assert_int_equal(tt_pb_field_has_nul(nul, sizeof(nul), 5), 0);
    static const uint8_t clean[] = {0x08, 0x01, 0x12, 3, 'a', 'b', 'c', 0x09, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(tt_pb_field_has_nul(clean, sizeof(clean), 2), 0);
    assert_int_equal(tt_pb_field_has_nul(clean, 0, 2), 0);
    static const uint8_t cut[] = {0x08, 0x01, 0x12, 9, 'a'}; /* length beyond the body */
    assert_int_equal(tt_pb_field_has_nul(cut, sizeof(cut), 2), -1);
    static const uint8_t endless[] = {0x08, 0xff, 0xff};     /* a varint that never ends */
    assert_int_equal(tt_pb_field_has_nul(endless, sizeof(endless), 2), -1);
    static const uint8_t group[] = {0x0b, 0x0c};             /* groups are not used */
    assert_int_equal(tt_pb_field_has_nul(group, sizeof(group), 2), -1);
}

/* Fields read in place: numbers, wire types, values and where each lies; an IMMsgData packed
 * by protobuf-c reads back field by field, with attach_data last. */
static void test_next_field(void **state)
{
    (void)state;
    static const uint8_t b[] = {0x08, 0xac, 0x02, 0x12, 2, 'h', 'i', 0x1d, 1, 2, 3, 4,
                                0xa2, 0x01, 1, 'x'}; /* 1: 300, 2: "hi", 3: fixed32, 20: "x" */
    size_t pos = 0;
    tt_pb_field_t f;
    assert_int_equal(tt_pb_next_field(b, sizeof(b), &pos, &f), 1);
    assert_int_equal(f.number, 1);
    assert_int_equal(f.wire, 0);
    assert_int_equal(f.value, 300);
    assert_int_equal(f.start, 0);
    assert_int_equal(f.end, 3);
    assert_int_equal(tt_pb_next_field(b, sizeof(b), &pos, &f), 1);
    assert_int_equal(f.number, 2);
    assert_int_equal(f.len, 2);
    assert_memory_equal(f.data, "hi", 2);
    assert_int_equal(tt_pb_next_field(b, sizeof(b), &pos, &f), 1);
    assert_int_equal(f.wire, 5);
    assert_int_equal(f.len, 4);
    assert_int_equal(tt_pb_next_field(b, sizeof(b), &pos, &f), 1);
    assert_int_equal(f.number, 20);
    assert_int_equal(f.start, 12);
    assert_int_equal(f.end, sizeof(b));
    assert_int_equal(tt_pb_next_field(b, sizeof(b), &pos, &f), 0);
    static const uint8_t cut[] = {0x12, 5, 'a'};
    pos = 0;
    assert_int_equal(tt_pb_next_field(cut, sizeof(cut), &pos, &f), -1);
    static const uint8_t zero[] = {0x00, 0x01}; /* field number 0 */
    pos = 0;
    assert_int_equal(tt_pb_next_field(zero, sizeof(zero), &pos, &f), -1);
    static const uint8_t group[] = {0x0b, 0x0c};
    pos = 0;
    assert_int_equal(tt_pb_next_field(group, sizeof(group), &pos, &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_splits),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_garbage_bodies),
        cmocka_unit_test(test_conn_drain_bad_frame_closes_only_that_conn),
        cmocka_unit_test(test_cmd_table),
        cmocka_unit_test(test_field_has_nul),
        cmocka_unit_test(test_next_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
