/* Chat client helpers for the end-to-end tests: see it_chat_util.h. */
#include "it_chat_util.h"

#include <string.h>
#include <time.h>

#include "IM.Login.pb-c.h"
#include "it_check.h"
#include "tt_pdu.h"

int itc_failures(void) { return failures; }

double itc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t itc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

ttc_t *itc_try_login(uint16_t port, const char *user, uint32_t type)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, ITC_T, err, sizeof(err));
    IM__Login__IMLoginRes *res = NULL;
    if (!c || ttc_login(c, user, "test123", type, ITC_T, &res) != 0 || !res ||
        res->result_code) {
        tt_pb_free(res);
        ttc_close(c);
        return NULL;
    }
    tt_pb_free(res);
    return c;
}

ttc_t *itc_login(uint16_t port, const char *user, uint32_t type)
{
    ttc_t *c = itc_try_login(port, user, type);
    if (!c)
        check(0, "login %s on %u", user, port);
    return c;
}

static void fill_msg(IM__Message__IMMsgData *m, uint32_t to, uint32_t local_id, uint32_t type,
                     const uint8_t *data, size_t len)
{
    m->to_session_id = to;
    m->msg_id = local_id;
    m->msg_type = (IM__BaseDefine__MsgType)type;
    m->msg_data.data = (uint8_t *)data;
    m->msg_data.len = len;
}

IM__Message__IMMsgDataAck *itc_ack_of(const ttc_pdu_t *p)
{
    return (IM__Message__IMMsgDataAck *)tt_pb_unpack(&im__message__immsg_data_ack__descriptor,
                                                     p->body, p->body_len);
}

uint32_t itc_send_data(ttc_t *c, uint32_t to, uint32_t local_id, uint32_t type,
                       const uint8_t *data, size_t len, int timeout_ms)
{
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    fill_msg(&m, to, local_id, type, data, len);
    ttc_pdu_t *p = NULL;
    if (ttc_request(c, ITC_SID_MSG, ITC_CID_DATA, &m.base, ITC_CID_ACK, timeout_ms, &p) != 0 ||
        !p)
        return 0;
    IM__Message__IMMsgDataAck *ack = itc_ack_of(p);
    uint32_t id = ack && ack->session_id == to && ack->session_type == ITC_SINGLE ? ack->msg_id
                                                                                  : 0;
    tt_pb_free(ack);
    ttc_pdu_free(p);
    return id;
}

uint32_t itc_send_text(ttc_t *c, uint32_t to, uint32_t local_id, const char *text)
{
    return itc_send_data(c, to, local_id, ITC_TEXT, (const uint8_t *)text, strlen(text), ITC_T);
}

int itc_send_text_async(ttc_t *c, uint32_t to, uint32_t local_id, const char *text,
                        uint16_t *seq)
{
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    fill_msg(&m, to, local_id, ITC_TEXT, (const uint8_t *)text, strlen(text));
    return ttc_send(c, ITC_SID_MSG, ITC_CID_DATA, &m.base, seq);
}

uint32_t itc_next_ack(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, ITC_CID_ACK, ms, &p) != 0 || !p)
        return 0;
    IM__Message__IMMsgDataAck *a = itc_ack_of(p);
    uint32_t id = a ? a->msg_id : 0;
    tt_pb_free(a);
    ttc_pdu_free(p);
    return id;
}

IM__Message__IMMsgData *itc_delivered(const ttc_pdu_t *p)
{
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, p->body, p->body_len);
    if (m && (p->seq_num != 0 || m->has_attach_data))
        check(0, "a delivered message carries seq %u / attach_data", p->seq_num);
    return m;
}

IM__Message__IMMsgData *itc_recv_msg(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, ITC_CID_DATA, ms, &p) != 0 || !p)
        return NULL;
    IM__Message__IMMsgData *m = itc_delivered(p);
    ttc_pdu_free(p);
    return m;
}

int itc_same_bytes(const ProtobufCBinaryData *b, const char *text)
{
    return b->len == strlen(text) && memcmp(b->data, text, b->len) == 0;
}

int itc_is_text(const IM__Message__IMMsgData *m, const char *text)
{
    return m && itc_same_bytes(&m->msg_data, text);
}

int itc_got_text(ttc_t *c, uint32_t from, uint32_t id, const char *text)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, ITC_T);
    int ok = m && m->from_user_id == from && m->msg_id == id && itc_is_text(m, text);
    tt_pb_free(m);
    return ok;
}

int itc_nothing_more(ttc_t *c, int ms)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, ms);
    int none = m == NULL;
    tt_pb_free(m);
    return none;
}

IM__Message__IMGetMsgListRsp *itc_history(ttc_t *c, uint32_t peer, uint32_t begin, uint32_t n)
{
    IM__Message__IMGetMsgListReq r = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    r.session_type = ITC_SINGLE;
    r.session_id = peer;
    r.msg_id_begin = begin;
    r.msg_cnt = n;
    return ttc_call(c, ITC_SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_REQUEST, &r.base,
                    IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_RESPONSE,
                    &im__message__imget_msg_list_rsp__descriptor, ITC_T, NULL, 0);
}

IM__Message__IMUnreadMsgCntRsp *itc_unread(ttc_t *c)
{
    IM__Message__IMUnreadMsgCntReq r = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    return ttc_call(c, ITC_SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_REQUEST,
                    &r.base, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_RESPONSE,
                    &im__message__imunread_msg_cnt_rsp__descriptor, ITC_T, NULL, 0);
}

IM__BaseDefine__UnreadInfo *itc_unread_info(IM__Message__IMUnreadMsgCntRsp *u, uint32_t peer)
{
    for (size_t i = 0; u && i < u->n_unreadinfo_list; i++)
        if (u->unreadinfo_list[i]->session_id == peer &&
            u->unreadinfo_list[i]->session_type == ITC_SINGLE)
            return u->unreadinfo_list[i];
    return NULL;
}

uint32_t itc_unread_from(ttc_t *c, uint32_t peer)
{
    IM__Message__IMUnreadMsgCntRsp *u = itc_unread(c);
    IM__BaseDefine__UnreadInfo *ui = itc_unread_info(u, peer);
    uint32_t n = ui ? ui->unread_cnt : 0;
    tt_pb_free(u);
    return n;
}

void itc_read_ack(ttc_t *c, uint32_t peer, uint32_t msg_id)
{
    IM__Message__IMMsgDataReadAck a = IM__MESSAGE__IMMSG_DATA_READ_ACK__INIT;
    a.session_id = peer;
    a.msg_id = msg_id;
    a.session_type = ITC_SINGLE;
    ttc_send(c, ITC_SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_ACK, &a.base, NULL);
}
