/* db_proxy_server one-to-one chat, the parts that need no MariaDB or Redis: the resend key
 * (stable: it is stored), shard and counter keys, voice payloads, the stored-message answer
 * (msg_id, create_time, attach_data echoed, the resend mark msg_server can decode), MsgInfo and
 * summaries, the command table and every error answer. */
#include <stdlib.h>
#include <string.h>

#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "db_proxy.h"
#include "h_group.h"
#include "h_msg.h"
#include "msg_server.h"
#include "td_msg.h"
#include "tt_test.h"

#define MSG(cmd) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##cmd
#define BUDDY(cmd) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##cmd
#define SINGLE IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE

static const uint8_t ATTACH12[12] = {0, 0, 0, 1, 0, 0, 0x12, 0x34, 0, 0, 0, 7};
#define ATTACH_SET(m, a)                                                                       \
    do {                                                                                       \
        (m).has_attach_data = 1;                                                               \
        (m).attach_data.len = sizeof(a);                                                       \
        (m).attach_data.data = (uint8_t *)(a);                                                 \
    } while (0)

/* ---- pure parts ---- */

static void test_client_key(void **state)
{
    (void)state;
    /* reference values from an independent SHA-256 (python hashlib) over
     * BE32(to) BE32(msg_id) BE32(type) BE32(len) data, first 8 bytes */
    const uint8_t *t = (const uint8_t *)"unread one";
    assert_true(td_msg_client_key(11, 90000003, 1, t, 10) == 0xff2ae776d80b7b81ull);
    assert_true(td_msg_client_key(0, 0, 0, NULL, 0) == 0x374708fff7719dd5ull);
    const uint8_t bin[] = {0, 1, 2, 255};
    assert_true(td_msg_client_key(0xffffffffu, 0xffffffffu, 2, bin, 4) == 0x189925a158718b0aull);
    /* every part counts */
    uint64_t k = td_msg_client_key(11, 90000003, 1, t, 10);
    assert_true(td_msg_client_key(12, 90000003, 1, t, 10) != k);
    assert_true(td_msg_client_key(11, 90000004, 1, t, 10) != k);
    assert_true(td_msg_client_key(11, 90000003, 2, t, 10) != k);
    assert_true(td_msg_client_key(11, 90000003, 1, t, 9) != k);
    assert_true(td_msg_client_key(11, 90000003, 1, (const uint8_t *)"unread onE", 10) != k);
    assert_true(td_msg_client_key(11, 90000003, 1, t, 10) == k); /* and nothing else */
    /* the key of a message without msg_id: seq and the client's time count, and it is not
     * the msg_id form's */
    uint64_t r = td_msg_resend_key(11, 1, 777, 1700000000, t, 10);
    assert_true(r != 0 && r != k && r != td_msg_client_key(11, 0, 1, t, 10));
    assert_true(td_msg_resend_key(11, 1, 777, 1700000000, t, 10) == r);
    assert_true(td_msg_resend_key(11, 1, 778, 1700000000, t, 10) != r);
    assert_true(td_msg_resend_key(11, 1, 777, 1700000001, t, 10) != r);
    assert_true(td_msg_resend_key(12, 1, 777, 1700000000, t, 10) != r);
    assert_true(td_msg_resend_key(11, 2, 777, 1700000000, t, 10) != r);
    assert_true(td_msg_resend_key(11, 1, 777, 1700000000, t, 9) != r);
    /* msg_server's key: 0 (never a resend) without msg_id and client time */
    assert_true(ms_chat_key(11, 0, 1, 777, 0, t, 10) == 0);
    assert_true(ms_chat_key(11, 0, 1, 777, 1700000000, t, 10) != 0);
    assert_true(ms_chat_key(11, 0, 1, 777, 1700000000, t, 10) !=
                ms_chat_key(11, 0, 1, 778, 1700000000, t, 10));
    assert_true(ms_chat_key(11, 5, 1, 777, 1700000000, t, 10) ==
                ms_chat_key(11, 5, 1, 778, 0, t, 10)); /* msg_id decides alone */
}

static void test_keys(void **state)
{
    (void)state;
    for (uint32_t r = 0; r < 40; r++)
        assert_int_equal(td_msg_shard(r), r % 8);
    assert_int_equal(td_msg_shard(0xffffffffu), 7);
    assert_true(td_msg_session_key(TD_SESSION_SINGLE, 5) == ((1ull << 32) | 5));
    assert_true(td_msg_session_key(TD_SESSION_GROUP, 0xffffffffu) == 0x2ffffffffull);
    assert_true(td_msg_session_key(1, 7) != td_msg_session_key(2, 7));
}

/* Answered marks in time buckets: a mark written at t1 is in the buckets a resend at any t2
 * of [t1 - 1, t1 + window] looks at, and its hash lives past t1 + window; at most 64 buckets
 * are looked at. */
static void test_done_buckets(void **state)
{
    (void)state;
    assert_int_equal(dbp_msg_done_span(120), 2);
    assert_int_equal(dbp_msg_done_span(600), 10);
    assert_int_equal(dbp_msg_done_span(61), 2);
    assert_int_equal(dbp_msg_done_span(1), 1);
    assert_int_equal(dbp_msg_done_span(0), 1);
    static const uint32_t windows[] = {1, 2, 59, 60, 61, 119, 120, 600, 3600, 7 * 86400};
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        uint32_t win = windows[w], step = win > 5000 ? 997 : 1;
        for (uint32_t t1 = 1700000000; t1 < 1700000000 + 3 * dbp_msg_done_span(win) + 5; t1++) {
            uint32_t b = dbp_msg_done_bucket(win, t1);
            assert_true(dbp_msg_done_expiry(win, b) > t1 + win);
            for (uint32_t t2 = t1 - 1; t2 <= t1 + win; t2 += step) {
                assert_true(dbp_msg_done_first(win, t2) <= b);
                assert_true(dbp_msg_done_last(win, t2) >= b);
                assert_true(dbp_msg_done_last(win, t2) - dbp_msg_done_first(win, t2) < 64);
            }
        }
    }
    assert_int_equal(dbp_msg_done_first(600, 5), 0); /* no bucket below 0 */
}

static void test_audio_split(void **state)
{
    (void)state;
    const uint8_t v[] = {0, 0, 1, 2, 'a', 0, 'b'};
    uint32_t d;
    const uint8_t *a;
    size_t n;
    assert_int_equal(td_msg_audio_split(v, sizeof(v), &d, &a, &n), 0);
    assert_int_equal(d, 258);
    assert_ptr_equal(a, v + 4);
    assert_int_equal(n, 3);
    assert_int_equal(td_msg_audio_split(v, 4, &d, &a, &n), -1); /* duration, no audio */
    assert_int_equal(td_msg_audio_split(v, 0, &d, &a, &n), -1);
    assert_int_equal(td_msg_audio_split(NULL, 9, &d, &a, &n), -1);
}

/* ---- answers ---- */

/* Checks the frame of x (answer command, seq 0xbeef) and unpacks its body (NULL: none). */
static ProtobufCMessage *frame_body(dbp_ctx_t *x, const ProtobufCMessageDescriptor *desc,
                                   uint16_t sid, uint16_t cid)
{
    if (!x->frame)
        return NULL;
    tt_pdu_t pdu;
    char err[128];
    assert_int_equal(tt_pdu_parse(x->frame, x->frame_len, 1u << 24, &pdu, err, sizeof(err)),
                     TT_OK);
    assert_int_equal(pdu.length, x->frame_len);
    assert_int_equal(pdu.service_id, sid);
    assert_int_equal(pdu.command_id, cid);
    assert_int_equal(pdu.seq_num, 0xbeef);
    ProtobufCMessage *m = tt_pb_unpack(desc, pdu.body, pdu.body_len);
    assert_non_null(m); /* every required field is there */
    free(x->frame);
    x->frame = NULL;
    return m;
}

static dbp_ctx_t ctx(uint16_t cid)
{
    const dbp_cmd_t *cmd = dbp_cmd_find(cid);
    assert_non_null(cmd);
    dbp_ctx_t x = {NULL, cmd, 0xbeef, "test", NULL, 0};
    return x;
}

static IM__Message__IMMsgData *stored_answer(const IM__Message__IMMsgData *req, uint32_t id,
                                             uint32_t created, int dup)
{
    dbp_ctx_t x = ctx(MSG(DATA));
    assert_int_equal(dbp_msg_stored_answer(&x, req, id, created, dup), 0);
    return (IM__Message__IMMsgData *)frame_body(&x, &im__message__immsg_data__descriptor,
                                                IM__BASE_DEFINE__SERVICE_ID__SID_MSG,
                                                MSG(DATA));
}

static void test_stored_answer(void **state)
{
    (void)state;
    uint8_t audio[] = {0, 0, 0, 3, 0, 0xff, 0, 'x'};
    IM__Message__IMMsgData q = IM__MESSAGE__IMMSG_DATA__INIT;
    q.from_user_id = 10;
    q.to_session_id = 11;
    q.msg_id = 90000001; /* the client's own id */
    q.create_time = 1700000000;
    q.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO;
    q.msg_data.data = audio;
    q.msg_data.len = sizeof(audio);
    ATTACH_SET(q, ATTACH12);

    IM__Message__IMMsgData *r = stored_answer(&q, 42, 1700000000, 0);
    assert_int_equal(r->from_user_id, 10);
    assert_int_equal(r->to_session_id, 11);
    assert_int_equal(r->msg_id, 42);
    assert_int_equal(r->create_time, 1700000000);
    assert_int_equal(r->msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO);
    assert_int_equal(r->msg_data.len, sizeof(audio));
    assert_memory_equal(r->msg_data.data, audio, sizeof(audio)); /* byte for byte */
    assert_true(r->has_attach_data);
    assert_int_equal(r->attach_data.len, 12);
    assert_memory_equal(r->attach_data.data, ATTACH12, 12); /* echoed unchanged */
    tt_pb_free(r);

    /* a resend: the first copy's id and time, and the mark after the attach_data */
    r = stored_answer(&q, 7, 1690000000, 1);
    assert_int_equal(r->msg_id, 7);
    assert_int_equal(r->create_time, 1690000000);
    assert_int_equal(r->attach_data.len, 20);
    assert_memory_equal(r->attach_data.data, ATTACH12, 12);
    const uint8_t tail[8] = {0, 0, 0, 4, 'D', 'U', 'P', 'E'};
    assert_memory_equal(r->attach_data.data + 12, tail, 8);
    /* msg_server still finds its connection and slot, and sees the mark */
    uint32_t handle = 0, ordinal = 0;
    const uint8_t *payload = NULL;
    size_t plen = 0;
    assert_int_equal(ms_attach_decode(&r->attach_data, &handle, &ordinal, &payload, &plen), 0);
    assert_int_equal(handle, 0x1234);
    assert_int_equal(ordinal, 7);
    assert_int_equal(plen, DBP_MSG_DUP_MARK_LEN);
    assert_memory_equal(payload, DBP_MSG_DUP_MARK, DBP_MSG_DUP_MARK_LEN);
    tt_pb_free(r);

    /* msg_server's chat form (seq and the client's time after the head): read, and cut back to
     * the 12-byte head in the answer, with the mark after it for a resend */
    uint8_t chat[MS_ATTACH_CHAT_LEN];
    ms_attach_encode_chat(chat, 0x1234, 7, 0xfe01, 1700000123);
    assert_int_equal(sizeof(chat), DBP_MSG_ATTACH_CHAT_LEN);
    ATTACH_SET(q, chat);
    uint32_t seq = 0, when = 0;
    assert_int_equal(dbp_msg_resend_id(&q, &seq, &when), 1);
    assert_int_equal(seq, 0xfe01);
    assert_int_equal(when, 1700000123);
    r = stored_answer(&q, 8, 1700000000, 0);
    assert_int_equal(r->attach_data.len, 12);
    assert_memory_equal(r->attach_data.data, chat, 12);
    assert_int_equal(ms_attach_decode(&r->attach_data, &handle, &ordinal, &payload, &plen), 0);
    assert_int_equal(handle, 0x1234);
    assert_int_equal(ordinal, 7);
    assert_null(payload);
    tt_pb_free(r);
    r = stored_answer(&q, 8, 1700000000, 1);
    assert_int_equal(r->attach_data.len, 20);
    assert_memory_equal(r->attach_data.data, chat, 12);
    assert_memory_equal(r->attach_data.data + 12, tail, 8);
    tt_pb_free(r);
    chat[16] = 'X'; /* not the tag: no resend id */
    assert_int_equal(dbp_msg_resend_id(&q, &seq, &when), 0);
    ATTACH_SET(q, ATTACH12);
    assert_int_equal(dbp_msg_resend_id(&q, &seq, &when), 0);

    /* an attach_data that is not msg_server's 12 bytes is echoed as it is, even for a resend */
    static const uint8_t odd[5] = {9, 8, 7, 6, 5};
    ATTACH_SET(q, odd);
    r = stored_answer(&q, 7, 1690000000, 1);
    assert_int_equal(r->attach_data.len, 5);
    assert_memory_equal(r->attach_data.data, odd, 5);
    tt_pb_free(r);
    q.has_attach_data = 0;
    q.attach_data.len = 0;
    q.attach_data.data = NULL;
    r = stored_answer(&q, 0, 1700000000, 0); /* not stored */
    assert_int_equal(r->msg_id, 0);
    assert_false(r->has_attach_data);
    tt_pb_free(r);
}

static void test_msg_info(void **state)
{
    (void)state;
    uint8_t text[] = "nnZSBwfPCz60q69ddmfIJA==";
    td_msg_t m = {5, 10, 11, 1700000001, TD_MSG_TYPE_TEXT, text, sizeof(text) - 1};
    IM__BaseDefine__MsgInfo mi;
    assert_int_equal(dbp_msg_info(&mi, &m), 0);
    assert_int_equal(mi.msg_id, 5);
    assert_int_equal(mi.from_session_id, 10);
    assert_int_equal(mi.create_time, 1700000001);
    assert_int_equal(mi.msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT);
    assert_ptr_equal(mi.msg_data.data, text);
    assert_int_equal(mi.msg_data.len, sizeof(text) - 1);
    ProtobufCBinaryData s = dbp_msg_summary(&m);
    assert_ptr_equal(s.data, text); /* text: as stored */

    uint8_t voice[] = {0, 0, 0, 2, 1, 2, 3};
    td_msg_t v = {6, 11, 10, 1700000002, TD_MSG_TYPE_AUDIO, voice, sizeof(voice)};
    assert_int_equal(dbp_msg_info(&mi, &v), 0);
    assert_int_equal(mi.msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO);
    assert_int_equal(mi.msg_data.len, sizeof(voice)); /* duration + bytes */
    s = dbp_msg_summary(&v);
    assert_int_equal(s.len, strlen("QhGXlpFjvMFUNrtl1aaPzA=="));
    assert_memory_equal(s.data, "QhGXlpFjvMFUNrtl1aaPzA==", s.len); /* AES("[语音]") */

    td_msg_t g = {7, 10, 11, 1700000003, 0x11, text, 3}; /* a group type in a single table */
    assert_int_equal(dbp_msg_info(&mi, &g), -1);
}

/* Runs the error answer of cid for req (through the wire format, as on a worker). */
static ProtobufCMessage *fail_answer(uint16_t cid, const ProtobufCMessage *req,
                                     const ProtobufCMessageDescriptor *rsp_desc, uint16_t rsp_sid,
                                     uint16_t rsp_cid)
{
    dbp_ctx_t x = ctx(cid);
    assert_int_equal(x.cmd->rsp_cid, rsp_cid);
    assert_int_equal(x.cmd->rsp_sid, rsp_sid);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *body = malloc(len + 1);
    protobuf_c_message_pack(req, body);
    ProtobufCMessage *m = tt_pb_unpack(x.cmd->req, body, len);
    assert_non_null(m);
    (x.cmd->fail)(&x, m);
    tt_pb_free(m);
    free(body);
    return frame_body(&x, rsp_desc, rsp_sid, rsp_cid);
}

static void assert_attach12(protobuf_c_boolean has, ProtobufCBinaryData a)
{
    assert_true(has);
    assert_int_equal(a.len, 12);
    assert_memory_equal(a.data, ATTACH12, 12);
}

static void test_fail_answers(void **state)
{
    (void)state;
    const uint16_t SID_MSG = IM__BASE_DEFINE__SERVICE_ID__SID_MSG;
    const uint16_t SID_BUDDY = IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST;

    IM__Message__IMMsgData d = IM__MESSAGE__IMMSG_DATA__INIT;
    d.from_user_id = 3;
    d.to_session_id = 4;
    d.msg_id = 99;
    d.create_time = 1700000000;
    d.msg_data.data = (uint8_t *)"abc";
    d.msg_data.len = 3;
    ATTACH_SET(d, ATTACH12);
    IM__Message__IMMsgData *dr = (IM__Message__IMMsgData *)fail_answer(
        MSG(DATA), &d.base, &im__message__immsg_data__descriptor, SID_MSG, MSG(DATA));
    assert_int_equal(dr->msg_id, 0); /* not stored: never a success */
    assert_int_equal(dr->from_user_id, 3);
    assert_int_equal(dr->to_session_id, 4);
    assert_int_equal(dr->msg_data.len, 3);
    assert_attach12(dr->has_attach_data, dr->attach_data);
    tt_pb_free(dr);

    IM__Message__IMMsgDataReadAck ra = IM__MESSAGE__IMMSG_DATA_READ_ACK__INIT;
    ra.user_id = 3;
    ra.session_id = 4;
    ra.session_type = SINGLE;
    assert_null(fail_answer(MSG(READ_ACK), &ra.base, &im__message__immsg_data_read_ack__descriptor,
                            SID_MSG, MSG(READ_ACK))); /* never answered */

    IM__Message__IMUnreadMsgCntReq u = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    u.user_id = 3;
    ATTACH_SET(u, ATTACH12);
    IM__Message__IMUnreadMsgCntRsp *ur = (IM__Message__IMUnreadMsgCntRsp *)fail_answer(
        MSG(UNREAD_CNT_REQUEST), &u.base, &im__message__imunread_msg_cnt_rsp__descriptor, SID_MSG,
        MSG(UNREAD_CNT_RESPONSE));
    assert_int_equal(ur->user_id, 3);
    assert_int_equal(ur->total_cnt, 0);
    assert_int_equal(ur->n_unreadinfo_list, 0);
    assert_attach12(ur->has_attach_data, ur->attach_data);
    tt_pb_free(ur);

    IM__Message__IMGetMsgListReq l = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    l.user_id = 3;
    l.session_type = SINGLE;
    l.session_id = 4;
    l.msg_id_begin = 77;
    l.msg_cnt = 20;
    ATTACH_SET(l, ATTACH12);
    IM__Message__IMGetMsgListRsp *lr = (IM__Message__IMGetMsgListRsp *)fail_answer(
        MSG(LIST_REQUEST), &l.base, &im__message__imget_msg_list_rsp__descriptor, SID_MSG,
        MSG(LIST_RESPONSE));
    assert_int_equal(lr->user_id, 3);
    assert_int_equal(lr->session_type, SINGLE);
    assert_int_equal(lr->session_id, 4);
    assert_int_equal(lr->msg_id_begin, 77);
    assert_int_equal(lr->n_msg_list, 0);
    assert_attach12(lr->has_attach_data, lr->attach_data);
    tt_pb_free(lr);

    IM__Message__IMGetLatestMsgIdReq li = IM__MESSAGE__IMGET_LATEST_MSG_ID_REQ__INIT;
    li.user_id = 3;
    li.session_type = SINGLE;
    li.session_id = 4;
    ATTACH_SET(li, ATTACH12);
    IM__Message__IMGetLatestMsgIdRsp *lir = (IM__Message__IMGetLatestMsgIdRsp *)fail_answer(
        MSG(GET_LATEST_MSG_ID_REQ), &li.base, &im__message__imget_latest_msg_id_rsp__descriptor,
        SID_MSG, MSG(GET_LATEST_MSG_ID_RSP));
    assert_int_equal(lir->user_id, 3);
    assert_int_equal(lir->session_id, 4);
    assert_int_equal(lir->latest_msg_id, 0);
    assert_attach12(lir->has_attach_data, lir->attach_data);
    tt_pb_free(lir);

    uint32_t ids[] = {1, 2, 3};
    IM__Message__IMGetMsgByIdReq b = IM__MESSAGE__IMGET_MSG_BY_ID_REQ__INIT;
    b.user_id = 3;
    b.session_type = SINGLE;
    b.session_id = 4;
    b.n_msg_id_list = 3;
    b.msg_id_list = ids;
    ATTACH_SET(b, ATTACH12);
    IM__Message__IMGetMsgByIdRsp *br = (IM__Message__IMGetMsgByIdRsp *)fail_answer(
        MSG(GET_BY_MSG_ID_REQ), &b.base, &im__message__imget_msg_by_id_rsp__descriptor, SID_MSG,
        MSG(GET_BY_MSG_ID_RES));
    assert_int_equal(br->user_id, 3);
    assert_int_equal(br->session_id, 4);
    assert_int_equal(br->n_msg_list, 0);
    assert_attach12(br->has_attach_data, br->attach_data);
    tt_pb_free(br);

    IM__Buddy__IMRecentContactSessionReq s = IM__BUDDY__IMRECENT_CONTACT_SESSION_REQ__INIT;
    s.user_id = 3;
    s.latest_update_time = 1700000000;
    ATTACH_SET(s, ATTACH12);
    IM__Buddy__IMRecentContactSessionRsp *sr = (IM__Buddy__IMRecentContactSessionRsp *)fail_answer(
        BUDDY(RECENT_CONTACT_SESSION_REQUEST), &s.base,
        &im__buddy__imrecent_contact_session_rsp__descriptor, SID_BUDDY,
        BUDDY(RECENT_CONTACT_SESSION_RESPONSE));
    assert_int_equal(sr->user_id, 3);
    assert_int_equal(sr->n_contact_session_list, 0);
    assert_attach12(sr->has_attach_data, sr->attach_data);
    tt_pb_free(sr);

    IM__Buddy__IMRemoveSessionReq r = IM__BUDDY__IMREMOVE_SESSION_REQ__INIT;
    r.user_id = 3;
    r.session_type = SINGLE;
    r.session_id = 4;
    ATTACH_SET(r, ATTACH12);
    IM__Buddy__IMRemoveSessionRsp *rr = (IM__Buddy__IMRemoveSessionRsp *)fail_answer(
        BUDDY(REMOVE_SESSION_REQ), &r.base, &im__buddy__imremove_session_rsp__descriptor,
        SID_BUDDY, BUDDY(REMOVE_SESSION_RES));
    assert_int_equal(rr->user_id, 3);
    assert_int_equal(rr->result_code, 1);
    assert_int_equal(rr->session_type, SINGLE);
    assert_int_equal(rr->session_id, 4);
    assert_attach12(rr->has_attach_data, rr->attach_data);
    tt_pb_free(rr);
}

/* What a group message is stored as before the batch: refusals, and its resend key and
 * window chosen as for one-to-one messages (client msg_id first, else msg_server's RSND). */
static void test_group_prepare(void **state)
{
    (void)state;
    db_proxy_t dbp;
    memset(&dbp, 0, sizeof(dbp));
    dbp.dedupe_window = 600;
    dbp.resend_window = 120;
    uint8_t attach[DBP_MSG_ATTACH_GROUP_LEN] = {0};
    memcpy(attach, ATTACH12, 12);
    tt_put32(attach + 12, 16);
    memcpy(attach + 16, DBP_MSG_RESEND_TAG, 4);
    tt_put32(attach + 20, 9);          /* seq */
    tt_put32(attach + 24, 1700000000); /* client time */
    tt_put32(attach + 28, 4);          /* cached version */
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.from_user_id = 3;
    m.to_session_id = 70;
    m.create_time = 1700000005;
    m.msg_type = TD_MSG_TYPE_GROUP_TEXT;
    m.msg_data = (ProtobufCBinaryData){2, (uint8_t *)"hi"};
    ATTACH_SET(m, attach);
    td_msg_send_t s;
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), 0);
    assert_int_equal(s.from, 3);
    assert_int_equal(s.to, 70);
    assert_int_equal(s.type, TD_MSG_TYPE_GROUP_TEXT);
    assert_int_equal(s.create_time, 1700000005);
    assert_int_equal(s.dedupe_window, 120);
    assert_true(s.client_key == td_msg_resend_key(70, TD_MSG_TYPE_GROUP_TEXT, 9, 1700000000,
                                                  (const uint8_t *)"hi", 2));
    assert_int_equal(dbp_msg_group_version(&m), 4);
    m.msg_id = 55; /* a client msg_id wins */
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), 0);
    assert_int_equal(s.dedupe_window, 600);
    assert_true(s.client_key == td_msg_client_key(70, 55, TD_MSG_TYPE_GROUP_TEXT,
                                                  (const uint8_t *)"hi", 2));
    m.msg_id = 0;
    m.has_attach_data = 0; /* neither: no key */
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), 0);
    assert_int_equal(s.dedupe_window, 0);
    assert_true(s.client_key == 0);
    /* refused before any storing */
    m.from_user_id = 0;
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), -1);
    m.from_user_id = 3;
    m.to_session_id = 0;
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), -1);
    m.to_session_id = 70;
    m.msg_data.len = 0;
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), -1);
    static uint8_t big[TD_MSG_TEXT_BYTES_MAX + 1];
    m.msg_data = (ProtobufCBinaryData){sizeof(big), big};
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), -1);
    m.msg_type = TD_MSG_TYPE_GROUP_AUDIO;
    m.msg_data = (ProtobufCBinaryData){4, big}; /* a duration, no audio */
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), -1);
    m.msg_data = (ProtobufCBinaryData){5, big};
    assert_int_equal(dbp_group_msg_prepare(&dbp, &m, &s), 0);
}

static void test_table(void **state)
{
    (void)state;
    const uint16_t want[] = {MSG(DATA),
                             MSG(READ_ACK),
                             MSG(UNREAD_CNT_REQUEST),
                             MSG(LIST_REQUEST),
                             MSG(GET_LATEST_MSG_ID_REQ),
                             MSG(GET_BY_MSG_ID_REQ),
                             BUDDY(RECENT_CONTACT_SESSION_REQUEST),
                             BUDDY(REMOVE_SESSION_REQ)};
    assert_int_equal(dbp_msg_ncmds, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < dbp_msg_ncmds; i++) {
        const dbp_cmd_t *c = &dbp_msg_cmds[i];
        assert_int_equal(c->command_id, want[i]);
        assert_ptr_equal(dbp_cmd_find(c->command_id), c); /* unique among all groups */
        assert_non_null(c->run);
        assert_non_null((c->fail));
        assert_non_null(c->req);
        assert_int_equal(c->rsp_sid, c->rsp_cid >> 8);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_key), cmocka_unit_test(test_keys),
        cmocka_unit_test(test_done_buckets),
        cmocka_unit_test(test_audio_split), cmocka_unit_test(test_stored_answer),
        cmocka_unit_test(test_msg_info),   cmocka_unit_test(test_fail_answers),
        cmocka_unit_test(test_table),      cmocka_unit_test(test_group_prepare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
