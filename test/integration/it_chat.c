/* End-to-end one-to-one chat against real daemons, MariaDB and Redis (run by it_chat.sh):
 *   it_chat main MS1 MS2            online chat on one and across msg_servers, multi-device
 *                                   copies, offline message then fetch, unread counts and read
 *                                   ack, history paging, 1000 messages from 10 senders stored
 *                                   and delivered exactly once in order, a resend of an acked
 *                                   message acked with its id, not delivered again, stored once;
 *                                   voice byte for byte, summaries with the real sender, by id,
 *                                   latest id, recent sessions, removal, refusals; a pipelined
 *                                   burst in both directions of conversations and into ten new
 *                                   conversations at once
 *   it_chat after MS1               after counters and Redis were lost and resend keys aged:
 *                                   ids go on, an old resend is a new message
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define PC ITC_PC
#define ANDROID ITC_ANDROID
#define SID_MSG ITC_SID_MSG
#define CID_DATA ITC_CID_DATA
#define CID_ACK ITC_CID_ACK
#define SINGLE ITC_SINGLE
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define BUDDY(cmd) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##cmd

static void phase_main(uint16_t ms1, uint16_t ms2)
{
    /* TT010 (PC) and TT011 (PC) on server 1; TT011 also on Android on server 2 */
    ttc_t *a = itc_login(ms1, "TT010", PC);
    ttc_t *b = itc_login(ms1, "TT011", PC);
    ttc_t *b2 = itc_login(ms2, "TT011", ANDROID);
    if (!a || !b || !b2)
        return;
    uint32_t id1 = itc_send_text(a, 11, 90000001, "hello 1");
    check(id1 == 1, "first message of a conversation gets msg_id 1 (got %u)", id1);
    check(itc_got_text(b, 10, id1, "hello 1"), "receiver on the same server gets it");
    check(itc_got_text(b2, 10, id1, "hello 1"),
          "receiver's other device on the other server gets it");
    uint32_t id2 = itc_send_text(b2, 10, 90000002, "hi back from the phone");
    check(id2 == 2, "the reply gets msg_id 2 (got %u)", id2);
    check(itc_got_text(a, 11, id2, "hi back from the phone"), "reply crosses msg_servers");
    check(itc_got_text(b, 11, id2, "hi back from the phone"),
          "the sender's other device gets a copy");
    check(itc_nothing_more(b2, 500), "the sending device does not get its own message back");

    /* unread and read ack: a read on one device clears the other's counter */
    uint32_t id3 = itc_send_text(a, 11, 90000003, "unread one");
    itc_got_text(b, 10, id3, "unread one");
    itc_got_text(b2, 10, id3, "unread one");
    check(itc_unread_from(b2, 10) >= 2, "TT011 has unread messages from TT010");
    itc_read_ack(b, 10, id3);
    ttc_pdu_t *p = NULL;
    int notified =
        ttc_wait(b2, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, T, &p) == 0 && p;
    ttc_pdu_free(p);
    check(notified, "the other device is told the conversation was read");
    /* The read ack reaches db_proxy over server 1's link, the question over server 2's: the
     * notify can overtake the ack, so give it a moment. */
    uint32_t left = 1;
    for (int i = 0; i < 40 && (left = itc_unread_from(b2, 10)) != 0; i++)
        usleep(50 * 1000);
    check(left == 0, "and its unread count is 0");

    /* offline: TT012 gets a message while away, then logs in and fetches it */
    uint32_t id4 = itc_send_text(a, 12, 90000004, "while you were away");
    check(id4 == 1, "message to an offline user is stored and acked (msg_id %u)", id4);
    ttc_t *c = itc_login(ms2, "TT012", PC);
    if (c) {
        check(itc_unread_from(c, 10) == 1, "the offline user sees 1 unread from TT010");
        IM__Message__IMGetMsgListRsp *h = itc_history(c, 10, 0, 10);
        check(h && h->n_msg_list == 1 && h->msg_list[0]->msg_id == id4 &&
                  h->msg_list[0]->from_session_id == 10 &&
                  h->msg_list[0]->msg_data.len == strlen("while you were away"),
              "and fetches it from history, byte for byte");
        tt_pb_free(h);
        ttc_close(c);
    }

    /* resend after a lost ack: same client id and content → same msg_id, one copy */
    uint32_t again = itc_send_text(a, 11, 90000003, "unread one");
    check(again == id3, "a resend of a stored message is acked with its first msg_id (%u)", again);
    /* Its first copy was acked and delivered: the resend is only acked (db_proxy marks the
     * answer as a resend), never delivered again to any of the receiver's devices. */
    check(itc_nothing_more(b, 500) && itc_nothing_more(b2, 100),
          "and it is not delivered again to the receiver");
    IM__Message__IMGetMsgListRsp *once = itc_history(b, 10, 0, 10);
    int copies = 0;
    for (size_t i = 0; once && i < once->n_msg_list; i++)
        copies += itc_same_bytes(&once->msg_list[i]->msg_data, "unread one");
    check(copies == 1, "it is stored once (%d copies in history)", copies);
    tt_pb_free(once);

    /* history paging, newest first */
    for (int i = 0; i < 20; i++) {
        char text[32];
        snprintf(text, sizeof(text), "page %02d", i);
        itc_send_text(a, 11, (uint32_t)(91000000 + i), text);
    }
    IM__Message__IMGetMsgListRsp *h = itc_history(b, 10, 0, 10);
    int newest_first = h && h->n_msg_list == 10;
    for (size_t i = 1; newest_first && i < h->n_msg_list; i++)
        newest_first = h->msg_list[i - 1]->msg_id == h->msg_list[i]->msg_id + 1;
    uint32_t oldest = newest_first ? h->msg_list[9]->msg_id : 0;
    tt_pb_free(h);
    check(newest_first, "history page of 10, newest first, no gaps");
    h = itc_history(b, 10, oldest - 1, 10);
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
        snd[i] = itc_login(i % 2 ? ms1 : ms2, name, PC);
        snprintf(name, sizeof(name), "TT%03d", 40 + i);
        rcv[i] = itc_login(i % 2 ? ms2 : ms1, name, PC);
        if (!snd[i] || !rcv[i])
            return;
    }
    int acked = 0, in_order = 1, delivered = 0;
    for (int k = 0; k < N; k++) {
        for (int i = 0; i < S; i++) {
            char text[32];
            snprintf(text, sizeof(text), "m%d-%d", i, k);
            uint32_t id = itc_send_text(snd[i], (uint32_t)(40 + i), (uint32_t)(92000000 + k), text);
            if (id == (uint32_t)(k + 1))
                acked++;
            else
                in_order = 0;
        }
    }
    for (int i = 0; i < S; i++) {
        for (int k = 0; k < N; k++) {
            IM__Message__IMMsgData *m = itc_recv_msg(rcv[i], T);
            if (m && m->msg_id == (uint32_t)(k + 1) && m->from_user_id == (uint32_t)(20 + i))
                delivered++;
            else
                in_order = 0;
            tt_pb_free(m);
        }
        if (!itc_nothing_more(rcv[i], 100))
            in_order = 0;
    }
    check(acked == S * N, "1000 messages acked with ids 1..100 per conversation (%d)", acked);
    check(delivered == S * N && in_order, "1000 delivered exactly once, in order (%d)", delivered);
    for (int i = 0; i < S; i++) {
        IM__Message__IMGetMsgListRsp *h = itc_history(rcv[i], (uint32_t)(20 + i), 0, 200);
        if (!h || h->n_msg_list != N)
            check(0, "conversation %d holds %zu stored messages, not %d", i,
                  h ? h->n_msg_list : 0, N);
        tt_pb_free(h);
        ttc_close(snd[i]);
        ttc_close(rcv[i]);
    }
}

/* Concurrency: TT070..TT079 each pipeline (no waiting for acks) M messages to their partner
 * (70<->71, 72<->73, ...: both directions of one conversation at once, over different
 * msg_servers and db_proxy connections) interleaved with M to TT080 (ten conversations created
 * at the same moment). Every message is acked, in request order; the ids of a conversation are
 * exactly 1..n, none twice; TT080 gets every message once. */
static void phase_burst(uint16_t ms1, uint16_t ms2)
{
    enum { S = 10, M = 30, HUB = 80 };
    ttc_t *snd[S];
    char name[16];
    for (int i = 0; i < S; i++) {
        snprintf(name, sizeof(name), "TT%03d", 70 + i);
        snd[i] = itc_login(i % 2 ? ms2 : ms1, name, PC);
        if (!snd[i])
            return;
    }
    ttc_t *hub = itc_login(ms1, "TT080", PC);
    if (!hub)
        return;
    for (int k = 0; k < M; k++)
        for (int i = 0; i < S; i++)
            for (int to = 0; to < 2; to++) {
                char text[48];
                snprintf(text, sizeof(text), "b%d-%d-%d", i, k, to);
                itc_send_text_async(snd[i], to ? HUB : (uint32_t)(70 + (i ^ 1)),
                                    (uint32_t)(94000000 + 2 * k + to), text, NULL);
            }
    /* seen[pair][id]: how often an id was acked in the conversation of pair i/2 */
    static int seen_pair[S / 2][2 * M + 1], seen_hub[S][M + 1];
    memset(seen_pair, 0, sizeof(seen_pair));
    memset(seen_hub, 0, sizeof(seen_hub));
    int acked = 0, ordered = 1;
    for (int i = 0; i < S; i++) {
        uint32_t last[2] = {0, 0};
        for (int n = 0; n < 2 * M; n++) {
            ttc_pdu_t *p = NULL;
            if (ttc_wait(snd[i], CID_ACK, T, &p) != 0 || !p)
                break;
            IM__Message__IMMsgDataAck *a = itc_ack_of(p);
            ttc_pdu_free(p);
            if (!a)
                continue;
            int to = a->session_id == HUB;
            if (a->msg_id <= last[to])
                ordered = 0;
            last[to] = a->msg_id;
            if (to && a->msg_id <= M)
                seen_hub[i][a->msg_id]++;
            else if (!to && a->msg_id <= 2 * M)
                seen_pair[i / 2][a->msg_id]++;
            acked++;
            tt_pb_free(a);
        }
    }
    check(acked == S * 2 * M, "burst: %d of %d pipelined messages acked", acked, S * 2 * M);
    check(ordered, "burst: each sender's acks come in request order with rising ids");
    int exact = 1;
    for (int pr = 0; pr < S / 2; pr++)
        for (int id = 1; id <= 2 * M; id++)
            exact &= seen_pair[pr][id] == 1;
    check(exact, "burst: both directions of a conversation share ids 1..%d, none twice", 2 * M);
    exact = 1;
    for (int i = 0; i < S; i++)
        for (int id = 1; id <= M; id++)
            exact &= seen_hub[i][id] == 1;
    check(exact, "burst: ten conversations created at once each hold ids 1..%d", M);
    static int got[S][M + 1];
    memset(got, 0, sizeof(got));
    int delivered = 0;
    for (int n = 0; n < S * M; n++) {
        IM__Message__IMMsgData *m = itc_recv_msg(hub, T);
        if (!m)
            break;
        if (m->from_user_id >= 70 && m->from_user_id < 70 + S && m->msg_id >= 1 && m->msg_id <= M)
            got[m->from_user_id - 70][m->msg_id]++;
        delivered++;
        tt_pb_free(m);
    }
    exact = itc_nothing_more(hub, 300);
    for (int i = 0; i < S; i++)
        for (int id = 1; id <= M; id++)
            exact &= got[i][id] == 1;
    check(delivered == S * M && exact, "burst: TT080 got each of its %d messages once (%d)",
          S * M, delivered);
    for (int i = 0; i < S; i++)
        ttc_close(snd[i]);
    ttc_close(hub);
}

/* ---- voice, summaries, by id, latest id, recent sessions, removal ---- */

static IM__Message__IMGetMsgByIdRsp *by_ids(ttc_t *c, uint32_t peer, uint32_t *ids, size_t n)
{
    IM__Message__IMGetMsgByIdReq r = IM__MESSAGE__IMGET_MSG_BY_ID_REQ__INIT;
    r.session_type = SINGLE;
    r.session_id = peer;
    r.n_msg_id_list = n;
    r.msg_id_list = ids;
    return ttc_call(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_REQ, &r.base,
                    IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_RES,
                    &im__message__imget_msg_by_id_rsp__descriptor, T, NULL, 0);
}

/* UINT32_MAX when there is no answer. */
static uint32_t latest_id(ttc_t *c, uint32_t peer)
{
    IM__Message__IMGetLatestMsgIdReq r = IM__MESSAGE__IMGET_LATEST_MSG_ID_REQ__INIT;
    r.session_type = SINGLE;
    r.session_id = peer;
    IM__Message__IMGetLatestMsgIdRsp *m =
        ttc_call(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_REQ,
                 &r.base, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_RSP,
                 &im__message__imget_latest_msg_id_rsp__descriptor, T, NULL, 0);
    uint32_t id = m && m->session_id == peer ? m->latest_msg_id : UINT32_MAX;
    tt_pb_free(m);
    return id;
}

static IM__Buddy__IMRecentContactSessionRsp *recent(ttc_t *c, uint32_t since)
{
    IM__Buddy__IMRecentContactSessionReq r = IM__BUDDY__IMRECENT_CONTACT_SESSION_REQ__INIT;
    r.latest_update_time = since;
    return ttc_call(c, SID_BUDDY, BUDDY(RECENT_CONTACT_SESSION_REQUEST), &r.base,
                    BUDDY(RECENT_CONTACT_SESSION_RESPONSE),
                    &im__buddy__imrecent_contact_session_rsp__descriptor, T, NULL, 0);
}

static IM__BaseDefine__ContactSessionInfo *session_of(IM__Buddy__IMRecentContactSessionRsp *r,
                                                      uint32_t peer)
{
    for (size_t i = 0; r && i < r->n_contact_session_list; i++)
        if (r->contact_session_list[i]->session_id == peer)
            return r->contact_session_list[i];
    return NULL;
}

/* result_code, or UINT32_MAX when there is no answer. */
static uint32_t remove_session(ttc_t *c, uint32_t peer)
{
    IM__Buddy__IMRemoveSessionReq r = IM__BUDDY__IMREMOVE_SESSION_REQ__INIT;
    r.session_type = SINGLE;
    r.session_id = peer;
    IM__Buddy__IMRemoveSessionRsp *m =
        ttc_call(c, SID_BUDDY, BUDDY(REMOVE_SESSION_REQ), &r.base, BUDDY(REMOVE_SESSION_RES),
                 &im__buddy__imremove_session_rsp__descriptor, T, NULL, 0);
    uint32_t code = m && m->session_id == peer && m->session_type == SINGLE ? m->result_code
                                                                             : UINT32_MAX;
    tt_pb_free(m);
    return code;
}

#define VOICE "QhGXlpFjvMFUNrtl1aaPzA==" /* AES("[语音]"), what summaries show for voice */

static void phase_more(uint16_t ms1, uint16_t ms2)
{
    ttc_t *x = itc_login(ms1, "TT060", PC), *y = itc_login(ms2, "TT061", PC);
    if (!x || !y)
        return;
    uint32_t t1 = itc_send_text(x, 61, 93000000, "text first");
    check(t1 == 1 && itc_got_text(y, 60, t1, "text first"), "TT060 -> TT061 text (msg_id %u)", t1);

    /* voice: 4-byte duration + 3000 bytes with zeros and 0xff, byte for byte everywhere */
    uint8_t voice[4 + 3000];
    voice[0] = voice[1] = voice[2] = 0;
    voice[3] = 7;
    for (size_t i = 4; i < sizeof(voice); i++)
        voice[i] = (uint8_t)(i * 131 + (i >> 3));
    voice[10] = 0;
    voice[11] = 0xff;
    uint32_t v1 = itc_send_data(y, 60, 93000001, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO,
                            voice, sizeof(voice), T);
    check(v1 == t1 + 1, "TT061 -> TT060 voice acked (msg_id %u)", v1);
    IM__Message__IMMsgData *live = itc_recv_msg(x, T);
    check(live && live->msg_id == v1 &&
              live->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO &&
              live->msg_data.len == sizeof(voice) &&
              memcmp(live->msg_data.data, voice, sizeof(voice)) == 0,
          "the voice is delivered byte for byte");
    tt_pb_free(live);
    IM__Message__IMGetMsgListRsp *h = itc_history(x, 61, 0, 10);
    check(h && h->n_msg_list == 2 && h->msg_list[0]->msg_id == v1 &&
              h->msg_list[0]->from_session_id == 61 &&
              h->msg_list[0]->msg_data.len == sizeof(voice) &&
              memcmp(h->msg_list[0]->msg_data.data, voice, sizeof(voice)) == 0 &&
              h->msg_list[1]->msg_id == t1 && h->msg_list[1]->msg_data.len == 10,
          "history: the voice (duration + bytes) newest, then the text");
    tt_pb_free(h);
    uint32_t ids[] = {t1, 999, v1, t1, 0};
    IM__Message__IMGetMsgByIdRsp *bi = by_ids(x, 61, ids, 5);
    check(bi && bi->n_msg_list == 2 && bi->msg_list[0]->msg_id == v1 &&
              bi->msg_list[0]->msg_data.len == sizeof(voice) &&
              memcmp(bi->msg_list[0]->msg_data.data, voice, sizeof(voice)) == 0 &&
              bi->msg_list[1]->msg_id == t1,
          "by id: the two that exist, once each, newest first");
    tt_pb_free(bi);
    check(latest_id(x, 61) == v1, "latest msg_id of the conversation is %u", v1);
    check(latest_id(x, 63) == 0, "latest msg_id without any message is 0");

    /* summaries name the real sender of the latest message and show voice as [语音] */
    IM__Message__IMUnreadMsgCntRsp *u = itc_unread(x);
    IM__BaseDefine__UnreadInfo *ui = itc_unread_info(u, 61);
    check(ui && ui->unread_cnt == 1 && ui->latest_msg_id == v1 &&
              ui->latest_msg_from_user_id == 61 &&
              ui->latest_msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO &&
              ui->latest_msg_data.len == strlen(VOICE) &&
              memcmp(ui->latest_msg_data.data, VOICE, strlen(VOICE)) == 0 && u->total_cnt >= 1,
          "TT060's unread from TT061: 1, latest the voice as [语音]");
    tt_pb_free(u);
    u = itc_unread(y);
    ui = itc_unread_info(u, 60);
    check(ui && ui->unread_cnt == 1 && ui->latest_msg_id == v1 &&
              ui->latest_msg_from_user_id == 61,
          "TT061's unread from TT060: 1, its latest message was TT061's own");
    tt_pb_free(u);

    IM__Buddy__IMRecentContactSessionRsp *r = recent(x, 0);
    IM__BaseDefine__ContactSessionInfo *si = session_of(r, 61);
    uint32_t updated = si ? si->updated_time : 0;
    check(si && si->latest_msg_id == v1 && si->latest_msg_from_user_id == 61 &&
              si->session_type == SINGLE && si->updated_time > 0 &&
              si->latest_msg_data.len == strlen(VOICE),
          "TT060's recent sessions hold TT061 with the latest message");
    check(r && r->n_contact_session_list == 1, "and nothing else");
    tt_pb_free(r);
    r = recent(x, updated);
    check(r && !session_of(r, 61), "nothing newer than its updated_time");
    tt_pb_free(r);

    check(remove_session(x, 61) == 0, "removing the session succeeds");
    check(remove_session(x, 61) == 1, "removing it again: no such session");
    r = recent(x, 0);
    check(r && !session_of(r, 61), "it is gone from TT060's list");
    tt_pb_free(r);
    u = itc_unread(x);
    check(u && !itc_unread_info(u, 61), "and its unread count went with it");
    tt_pb_free(u);
    r = recent(y, 0);
    check(session_of(r, 60) != NULL, "TT061 keeps its side");
    tt_pb_free(r);
    uint32_t t2 = itc_send_text(y, 60, 93000002, "still there?");
    check(t2 == v1 + 1 && itc_got_text(x, 61, t2, "still there?"), "a new message (msg_id %u)", t2);
    r = recent(x, 0);
    si = session_of(r, 61);
    check(si && si->latest_msg_id == t2, "brings the session back");
    tt_pb_free(r);

    /* text that is not UTF-8 is stored as the bytes it is (migration 005) */
    uint32_t tb = itc_send_data(x, 61, 93000003, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT,
                                (const uint8_t *)"\xff\xfe", 2, T);
    check(tb == t2 + 1 && itc_got_text(y, 60, tb, "\xff\xfe") && latest_id(x, 61) == tb,
          "a text that is not UTF-8 is stored, acked and delivered (msg_id %u)", tb);
    t2 = tb;
    /* for the next phase: a message whose resend will come after the window */
    uint32_t t3 = itc_send_text(x, 61, 93000004, "once more later");
    check(t3 == t2 + 1, "one more (msg_id %u)", t3);
    ttc_close(x);
    ttc_close(y);
}

/* After it_chat.sh deleted tt_msg_counter, flushed Redis and aged the resend keys: ids go on
 * from the stored messages, and the resend of an old message is a new message. */
static void phase_after(uint16_t ms1)
{
    ttc_t *x = itc_login(ms1, "TT060", PC);
    if (!x)
        return;
    uint32_t last = latest_id(x, 61);
    uint32_t id = itc_send_text(x, 61, 93000005, "after the flush");
    check(last != UINT32_MAX && last > 0 && id == last + 1,
          "without counter rows and Redis, ids continue: %u after %u", id, last);
    id = itc_send_text(x, 61, 93000004, "once more later");
    check(id == last + 2, "a resend after the window is a new message (msg_id %u)", id);
    id = itc_send_text(x, 61, 93000004, "once more later");
    check(id == last + 2, "and a resend of that one is recognised again (msg_id %u)", id);
    ttc_close(x);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "main") == 0) {
        phase_main((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
        phase_many((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
        phase_more((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
        phase_burst((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
    } else if (argc >= 3 && strcmp(argv[1], "after") == 0) {
        phase_after((uint16_t)atoi(argv[2]));
    } else {
        fprintf(stderr, "usage: it_chat main MS1 MS2 | after MS1\n");
        return 2;
    }
    failures += itc_failures();
    printf("%s: %d failed checks\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
