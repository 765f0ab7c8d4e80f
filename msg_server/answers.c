/* Ordered answers: every request that is answered gets a slot in a small per-client ring;
 * answers from db_proxy_server or route_server (which may arrive in any order, from several
 * links) wait in their slot until every earlier request of that client has been answered. A
 * full ring pauses reading the client (backpressure); a slot whose upstream never answers is
 * given up after request_timeout_ms or when its link goes down. Layer 2 (ms_answers.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_session.h"
#include "tt_log.h"

/* ---- the bound on messages in flight to db_proxy_server ---- */

#define DBW_RETRY_MS 10 /* a woken client may have had nothing to send: look again this soon */

static void dbw_remove(client_t *c)
{
    msg_server_t *ms = c->ms;
    if (!c->db_wait)
        return;
    if (c->dbw_prev)
        c->dbw_prev->dbw_next = c->dbw_next;
    else
        ms->dbw_head = c->dbw_next;
    if (c->dbw_next)
        c->dbw_next->dbw_prev = c->dbw_prev;
    else
        ms->dbw_tail = c->dbw_prev;
    c->dbw_prev = c->dbw_next = NULL;
    c->db_wait = 0;
    ms->dbw_count--;
}

/* Reads again the clients that waited longest: one per message that left when answers wake
 * them (its kept message takes the room), as many as there is room for from the timer (a
 * woken client may have been unable to send: window full, rate limit, gone). */
static void dbw_wake(msg_server_t *ms, uint32_t max)
{
    uint32_t room = ms->msg_inflight < ms->max_msg_inflight
                        ? ms->max_msg_inflight - ms->msg_inflight : 0;
    if (room > max)
        room = max;
    for (; room > 0 && ms->dbw_head; room--) {
        client_t *c = ms->dbw_head;
        dbw_remove(c);
        c->dbw_pass = 1;
        ms_client_update_pause(c);
    }
    if (ms->dbw_head && !tt_timer_active(&ms->dbw_timer))
        tt_timer_start(ms->d.loop, &ms->dbw_timer, DBW_RETRY_MS, 0);
}

static void dbw_timer_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    dbw_wake(udata, UINT32_MAX);
}

int ms_db_gate(client_t *c)
{
    msg_server_t *ms = c->ms;
    if (!ms->max_msg_inflight)
        return 0;
    if (ms->msg_inflight < ms->max_msg_inflight && (!ms->dbw_head || c->dbw_pass)) {
        c->dbw_pass = 0;
        return 0;
    }
    c->dbw_pass = 0;
    if (!ms->dbw_timer.cb)
        tt_timer_init(&ms->dbw_timer, dbw_timer_cb, ms);
    if (ms->dbw_count == 0)
        log_info_rl("%u messages in flight to db_proxy_server (MaxMsgInFlight): clients are "
                    "read later (%llu waits so far)",
                    ms->msg_inflight, (unsigned long long)ms->dbw_pauses);
    ms->dbw_pauses++;
    c->conn->hold_frame = 1;
    if (!c->db_wait) {
        c->db_wait = 1;
        c->dbw_next = NULL;
        c->dbw_prev = ms->dbw_tail;
        if (ms->dbw_tail)
            ms->dbw_tail->dbw_next = c;
        else
            ms->dbw_head = c;
        ms->dbw_tail = c;
        ms->dbw_count++;
    }
    ms_client_update_pause(c);
    if (!tt_timer_active(&ms->dbw_timer))
        tt_timer_start(ms->d.loop, &ms->dbw_timer, DBW_RETRY_MS, 0);
    return 1;
}

void ms_slot_hold_db(client_t *c, slot_t *s)
{
    msg_server_t *ms = c->ms;
    if (!ms->max_msg_inflight || s->held)
        return;
    s->held = 1;
    ms->msg_inflight++;
}

/* The slot's answer came (or it was given up): its message is no longer in flight. */
static void settle(client_t *c, slot_t *s)
{
    msg_server_t *ms = c->ms;
    if (!s->held)
        return;
    s->held = 0;
    if (ms->msg_inflight > 0)
        ms->msg_inflight--;
    if (ms->dbw_head)
        dbw_wake(ms, 1);
}

void ms_answers_stop(msg_server_t *ms)
{
    if (ms->dbw_timer.cb)
        tt_timer_stop(ms->d.loop, &ms->dbw_timer);
}

/* ---- slots ---- */

slot_t *ms_slot_open(client_t *c, uint16_t seq, int link)
{
    if (!c->slots) {
        c->slots = calloc(MS_WINDOW, sizeof(*c->slots));
        if (!c->slots)
            return NULL;
        c->head = c->count = 0;
    }
    if (c->count == MS_WINDOW)
        return NULL;
    slot_t *s = &c->slots[(c->head + c->count) % MS_WINDOW];
    memset(s, 0, sizeof(*s));
    s->ordinal = c->next_ordinal++;
    s->seq = seq;
    s->link = link < 0 ? 0xff : (uint8_t)link;
    s->deadline = tt_loop_now(c->ms->d.loop) + c->ms->request_timeout_ms;
    c->count++;
    if (c->count == MS_WINDOW)
        ms_client_update_pause(c); /* resumed when the oldest answer leaves */
    return s;
}

int ms_slots_full(const client_t *c) { return c->slots && c->count == MS_WINDOW; }

static void flush(client_t *c)
{
    while (c->count > 0 && c->slots[c->head].done) {
        slot_t *s = &c->slots[c->head];
        if (s->frame && c->state != CLIENT_GONE)
            tt_conn_write(c->conn, s->frame, s->frame_len);
        free(s->frame);
        s->frame = NULL;
        c->head = (c->head + 1) % MS_WINDOW;
        c->count--;
    }
    if (c->conn->paused)
        ms_client_update_pause(c);
    if (c->count == 0) {
        free(c->slots);
        c->slots = NULL;
    }
}

static slot_t *find(client_t *c, uint32_t ordinal)
{
    for (uint32_t i = 0; i < c->count; i++) {
        slot_t *s = &c->slots[(c->head + i) % MS_WINDOW];
        if (s->ordinal == ordinal)
            return s->done ? NULL : s;
    }
    return NULL;
}

uint64_t ms_slot_key(client_t *c, uint32_t ordinal)
{
    slot_t *s = c->slots ? find(c, ordinal) : NULL;
    return s ? s->msg_key : 0;
}

void ms_slot_answer(client_t *c, uint32_t ordinal, uint16_t sid, uint16_t cid,
                    const ProtobufCMessage *msg)
{
    slot_t *s = c->slots ? find(c, ordinal) : NULL;
    if (!s)
        return; /* given up already, or not ours */
    s->done = 1;
    settle(c, s);
    if (msg && s == &c->slots[c->head]) {
        /* the oldest: it leaves now, straight into the connection's output */
        if (c->state != CLIENT_GONE)
            tt_pdu_send(c->conn, sid, cid, s->seq, msg);
    } else if (msg) {
        size_t body = protobuf_c_message_get_packed_size(msg);
        s->frame = malloc(TT_PDU_HEADER_LEN + body);
        if (s->frame) {
            tt_pdu_encode_header(s->frame, (uint32_t)(TT_PDU_HEADER_LEN + body), sid, cid, s->seq);
            protobuf_c_message_pack(msg, s->frame + TT_PDU_HEADER_LEN);
            s->frame_len = (uint32_t)(TT_PDU_HEADER_LEN + body);
        }
    }
    flush(c);
}

/* A login whose validation will never come back: refuse it, as when no db_proxy is there. */
static void give_up(client_t *c, slot_t *s)
{
    s->done = 1;
    settle(c, s);
    if (!s->validate || c->state != CLIENT_VALIDATING)
        return;
    IM__Login__IMLoginRes res = IM__LOGIN__IMLOGIN_RES__INIT;
    res.server_time = (uint32_t)time(NULL);
    res.result_code = IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NO_DB_SERVER;
    res.result_string = "服务端异常";
    size_t body = protobuf_c_message_get_packed_size(&res.base);
    s->frame = malloc(TT_PDU_HEADER_LEN + body);
    if (s->frame) {
        tt_pdu_encode_header(s->frame, (uint32_t)(TT_PDU_HEADER_LEN + body),
                             IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                             IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN, s->seq);
        protobuf_c_message_pack(&res.base, s->frame + TT_PDU_HEADER_LEN);
        s->frame_len = (uint32_t)(TT_PDU_HEADER_LEN + body);
    }
    log_warn("login from %s refused: db_proxy_server did not answer", c->conn->peer);
    flush(c);
    c->state = CLIENT_GONE;
    tt_conn_close_after_flush(c->conn, "login refused: no answer from db_proxy_server");
}

void ms_slots_expire(client_t *c, uint64_t now)
{
    int changed = 0;
    for (uint32_t i = 0; i < c->count; i++) {
        slot_t *s = &c->slots[(c->head + i) % MS_WINDOW];
        if (!s->done && s->deadline <= now) {
            if (s->validate) {
                give_up(c, s);
                return;
            }
            s->done = 1;
            settle(c, s);
            changed = 1;
        }
    }
    if (changed)
        flush(c);
}


void ms_slots_fail_link(msg_server_t *ms, int link)
{
    tt_map_t *m = &ms->clients;
    for (size_t i = 0; i < m->cap; i++) {
        client_t *c = m->slots[i].value;
        if (!c || !c->slots)
            continue;
        int changed = 0;
        for (uint32_t k = 0; k < c->count; k++) {
            slot_t *s = &c->slots[(c->head + k) % MS_WINDOW];
            if (s->done || s->link != (uint8_t)link)
                continue;
            if (s->validate) {
                give_up(c, s);
                changed = 0;
                break;
            }
            if (s->msg_key && c->user_id && ms->on_msg_unanswered)
                ms->on_msg_unanswered(ms, c->user_id, s->msg_key);
            s->done = 1;
            settle(c, s);
            changed = 1;
        }
        if (changed)
            flush(c);
    }
}

void ms_slots_free(client_t *c)
{
    dbw_remove(c);
    if (!c->slots)
        return;
    for (uint32_t i = 0; i < MS_WINDOW; i++) {
        settle(c, &c->slots[i]); /* what it still had with db_proxy no longer counts */
        free(c->slots[i].frame);
    }
    free(c->slots);
    c->slots = NULL;
    c->count = 0;
}

ProtobufCMessage *ms_relay_answer(msg_server_t *ms, const ProtobufCMessageDescriptor *desc,
                                  const tt_pdu_t *pdu, client_t **client,
                                  ProtobufCBinaryData *request)
{
    *client = NULL;
    ProtobufCMessage *m = tt_pb_unpack(desc, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("answer 0x%04x does not parse: dropped", pdu->command_id);
        return NULL;
    }
    protobuf_c_boolean *has;
    ProtobufCBinaryData *attach = ms_pb_attach(m, &has);
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    if (!attach || !*has || ms_attach_decode(attach, &handle, &ordinal, &payload, &plen) < 0) {
        log_warn_rl("answer 0x%04x without a valid attach_data: dropped", pdu->command_id);
        tt_pb_free(m);
        return NULL;
    }
    client_t *c = ms_client_find(ms, handle);
    uint32_t uid;
    if (!c || c->state != CLIENT_ONLINE ||
        (ms_pb_get_u32(m, "user_id", &uid) == 0 && uid != c->user_id)) {
        tt_pb_free(m); /* the requester left (or the handle was reused) */
        return NULL;
    }
    if (request && payload) {
        request->data = malloc(plen ? plen : 1);
        if (request->data) {
            memcpy(request->data, payload, plen);
            request->len = plen;
        }
    }
    /* Clients never see attach_data. */
    free(attach->data);
    attach->data = NULL;
    attach->len = 0;
    *has = 0;
    ms_slot_answer(c, ordinal, pdu->service_id, pdu->command_id, m);
    *client = c;
    return m;
}
