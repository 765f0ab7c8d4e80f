/* End-to-end one-to-one chat against real daemons, MariaDB and Redis (run by it_chat.sh):
 *   it_chat main MS1 MS2            online chat on one and across msg_servers, multi-device
 *                                   copies, offline message then fetch, unread counts and read
 *                                   ack, history paging, 1000 messages from 10 senders stored
 *                                   and delivered exactly once in order, dedupe of a resend
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T 8000
#define PC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS
#define ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define CID_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define CID_ACK IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK
#define SINGLE IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE


static ttc_t *login(uint16_t port, const char *user, uint32_t type)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    IM__Login__IMLoginRes *res = NULL;
    if (!c || ttc_login(c, user, "test123", type, T, &res) != 0 || !res || res->result_code) {
        check(0, "login %s on %u", user, port);
        tt_pb_free(res);
        ttc_close(c);
        return NULL;
    }
    tt_pb_free(res);
    return c;
}

/* Sends a text message with a given client-local id; returns the server msg_id (0: no ack). */
static uint32_t send_text(ttc_t *c, uint32_t to, uint32_t local_id, const char *text)
{
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.to_session_id = to;
    m.msg_id = local_id;
    m.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    m.msg_data.data = (uint8_t *)text;
    m.msg_data.len = strlen(text);
    ttc_pdu_t *p = NULL;
    if (ttc_request(c, SID_MSG, CID_DATA, &m.base, CID_ACK, T, &p) != 0 || !p)
        return 0;
    IM__Message__IMMsgDataAck *ack = (IM__Message__IMMsgDataAck *)tt_pb_unpack(
        &im__message__immsg_data_ack__descriptor, p->body, p->body_len);
    uint32_t id = ack && ack->session_id == to && ack->session_type == SINGLE ? ack->msg_id : 0;
    tt_pb_free(ack);
    ttc_pdu_free(p);
    return id;
}

/* Waits for a delivered message; returns it (caller frees) or NULL. */
static IM__Message__IMMsgData *recv_msg(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, CID_DATA, ms, &p) != 0 || !p)
        return NULL;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, p->body, p->body_len);
    if (m && (p->seq_num != 0 || m->has_attach_data))
        check(0, "a delivered message carries seq %u / attach_data", p->seq_num);
    ttc_pdu_free(p);
    return m;
}

static int got_text(ttc_t *c, uint32_t from, uint32_t id, const char *text)
{
    IM__Message__IMMsgData *m = recv_msg(c, T);
    int ok = m && m->from_user_id == from && m->msg_id == id && m->msg_data.len == strlen(text) &&
             memcmp(m->msg_data.data, text, m->msg_data.len) == 0;
    tt_pb_free(m);
    return ok;
}

static int nothing_more(ttc_t *c, int ms)
{
    IM__Message__IMMsgData *m = recv_msg(c, ms);
    int none = m == NULL;
    tt_pb_free(m);
    return none;
}

static IM__Message__IMGetMsgListRsp *history(ttc_t *c, uint32_t peer, uint32_t begin, uint32_t n)
{
    IM__Message__IMGetMsgListReq r = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    r.session_type = SINGLE;
    r.session_id = peer;
    r.msg_id_begin = begin;
    r.msg_cnt = n;
    ttc_pdu_t *p = NULL;
    if (ttc_request(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_REQUEST, &r.base,
                    IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_RESPONSE, T, &p) != 0 || !p)
        return NULL;
    void *m = tt_pb_unpack(&im__message__imget_msg_list_rsp__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    return m;
}

static IM__Message__IMUnreadMsgCntRsp *unread(ttc_t *c)
{
    IM__Message__IMUnreadMsgCntReq r = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    ttc_pdu_t *p = NULL;
    if (ttc_request(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_REQUEST,
                    &r.base, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_RESPONSE, T,
                    &p) != 0 || !p)
        return NULL;
    void *m = tt_pb_unpack(&im__message__imunread_msg_cnt_rsp__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    return m;
}

static uint32_t unread_from(ttc_t *c, uint32_t peer)
{
    IM__Message__IMUnreadMsgCntRsp *u = unread(c);
    uint32_t n = 0;
    for (size_t i = 0; u && i < u->n_unreadinfo_list; i++)
        if (u->unreadinfo_list[i]->session_id == peer &&
            u->unreadinfo_list[i]->session_type == SINGLE)
            n = u->unreadinfo_list[i]->unread_cnt;
    tt_pb_free(u);
    return n;
}

static void read_ack(ttc_t *c, uint32_t peer, uint32_t msg_id)
{
    IM__Message__IMMsgDataReadAck a = IM__MESSAGE__IMMSG_DATA_READ_ACK__INIT;
    a.session_id = peer;
    a.msg_id = msg_id;
    a.session_type = SINGLE;
    ttc_send(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_ACK, &a.base, NULL);
}

static void phase_main(uint16_t ms1, uint16_t ms2)
{
    /* TT010 (PC) and TT011 (PC) on server 1; TT011 also on Android on server 2 */
    ttc_t *a = login(ms1, "TT010", PC);
    ttc_t *b = login(ms1, "TT011", PC);
    ttc_t *b2 = login(ms2, "TT011", ANDROID);
    if (!a || !b || !b2)
        return;
    uint32_t id1 = send_text(a, 11, 90000001, "hello 1");
    check(id1 == 1, "first message of a conversation gets msg_id 1 (got %u)", id1);
    check(got_text(b, 10, id1, "hello 1"), "receiver on the same server gets it");
    check(got_text(b2, 10, id1, "hello 1"), "receiver's other device on the other server gets it");
    uint32_t id2 = send_text(b2, 10, 90000002, "hi back from the phone");
    check(id2 == 2, "the reply gets msg_id 2 (got %u)", id2);
    check(got_text(a, 11, id2, "hi back from the phone"), "reply crosses msg_servers");
    check(got_text(b, 11, id2, "hi back from the phone"), "the sender's other device gets a copy");
    check(nothing_more(b2, 500), "the sending device does not get its own message back");

    /* unread and read ack: a read on one device clears the other's counter */
    uint32_t id3 = send_text(a, 11, 90000003, "unread one");
    got_text(b, 10, id3, "unread one");
    got_text(b2, 10, id3, "unread one");
    check(unread_from(b2, 10) >= 2, "TT011 has unread messages from TT010");
    read_ack(b, 10, id3);
    ttc_pdu_t *p = NULL;
    int notified = ttc_wait(b2, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, T, &p) == 0 && p;
    ttc_pdu_free(p);
    check(notified, "the other device is told the conversation was read");
    check(unread_from(b2, 10) == 0, "and its unread count is 0");

    /* offline: TT012 gets a message while away, then logs in and fetches it */
    uint32_t id4 = send_text(a, 12, 90000004, "while you were away");
    check(id4 == 1, "message to an offline user is stored and acked (msg_id %u)", id4);
    ttc_t *c = login(ms2, "TT012", PC);
    if (c) {
        check(unread_from(c, 10) == 1, "the offline user sees 1 unread from TT010");
        IM__Message__IMGetMsgListRsp *h = history(c, 10, 0, 10);
        check(h && h->n_msg_list == 1 && h->msg_list[0]->msg_id == id4 &&
                  h->msg_list[0]->from_session_id == 10 &&
                  h->msg_list[0]->msg_data.len == strlen("while you were away"),
              "and fetches it from history, byte for byte");
        tt_pb_free(h);
        ttc_close(c);
    }

    /* resend after a lost ack: same client id and content → same msg_id, one copy */
    uint32_t again = send_text(a, 11, 90000003, "unread one");
    check(again == id3, "a resend of a stored message is acked with its first msg_id (%u)", again);
    check(nothing_more(b, 800), "and not delivered twice");

    /* history paging, newest first */
    for (int i = 0; i < 20; i++) {
        char text[32];
        snprintf(text, sizeof(text), "page %02d", i);
        send_text(a, 11, (uint32_t)(91000000 + i), text);
    }
    IM__Message__IMGetMsgListRsp *h = history(b, 10, 0, 10);
    int newest_first = h && h->n_msg_list == 10;
    for (size_t i = 1; newest_first && i < h->n_msg_list; i++)
        newest_first = h->msg_list[i - 1]->msg_id == h->msg_list[i]->msg_id + 1;
    uint32_t oldest = newest_first ? h->msg_list[9]->msg_id : 0;
    tt_pb_free(h);
    check(newest_first, "history page of 10, newest first, no gaps");
    h = history(b, 10, oldest - 1, 10);
    check(h && h->n_msg_list == 10 && h->msg_list[0]->msg_id == oldest - 1,
          "the next page continues below it");
    tt_pb_free(h);

    ttc_close(a);
    ttc_close(b);
    ttc_close(b2);
}

/* 1000 messages from 10 senders: each stored once, delivered once, in order per session. */
static void phase_many(uint16_t ms1, uint16_t ms2)
{
    enum { S = 10, N = 100 };
    ttc_t *snd[S], *rcv[S];
    char name[16];
    for (int i = 0; i < S; i++) {
        snprintf(name, sizeof(name), "TT%03d", 20 + i);
        snd[i] = login(i % 2 ? ms1 : ms2, name, PC);
        snprintf(name, sizeof(name), "TT%03d", 40 + i);
        rcv[i] = login(i % 2 ? ms2 : ms1, name, PC);
        if (!snd[i] || !rcv[i])
            return;
    }
    int acked = 0, in_order = 1, delivered = 0;
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < S; i++) {
            char text[32];
            snprintf(text, sizeof(text), "m%d-%d", i, k);
            uint32_t id = send_text(snd[i], (uint32_t)(40 + i), (uint32_t)(92000000 + k), text);
            if (id == (uint32_t)(k + 1))
                acked++;
            else
                in_order = 0;
        }
    }
    for (int i = 0; i < S; i++) {
        for (int k = 0; k < N; k++) {
            IM__Message__IMMsgData *m = recv_msg(rcv[i], T);
            if (m && m->msg_id == (uint32_t)(k + 1) && m->from_user_id == (uint32_t)(20 + i))
                delivered++;
            else
                in_order = 0;
            tt_pb_free(m);
        }
        if (!nothing_more(rcv[i], 100))
            in_order = 0;
    }
    check(acked == S * N, "1000 messages acked with ids 1..100 per conversation (%d)", acked);
    check(delivered == S * N && in_order, "1000 delivered exactly once, in order (%d)", delivered);
    for (int i = 0; i < S; i++) {
        IM__Message__IMGetMsgListRsp *h = history(rcv[i], (uint32_t)(20 + i), 0, 200);
        if (!h || h->n_msg_list != N)
            check(0, "conversation %d holds %zu stored messages, not %d", i,
                  h ? h->n_msg_list : 0, N);
        tt_pb_free(h);
        ttc_close(snd[i]);
        ttc_close(rcv[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "main") == 0) {
        phase_main((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
        phase_many((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
    } else {
        fprintf(stderr, "usage: it_chat main MS1 MS2\n");
        return 2;
    }
    printf("%s: %d failed checks\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
