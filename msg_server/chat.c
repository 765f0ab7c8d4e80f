/* Chat in msg_server, one-to-one and group: a client's message goes to db_proxy_server; only
 * once it is stored (db_proxy answers with its msg_id) is the sender acknowledged and the
 * message delivered — here to the receiver's connections and the sender's other connections,
 * and through route_server to the other msg_servers. A group message goes to the connections
 * here of its members (the list db_proxy sent with the answer, or the cached one of the same
 * version: gcache.c) and once to route_server with the member ids, which sends it on to the
 * msg_servers holding members (docs/ARCHITECTURE.md, "Group messages and their fan-out"). Read acks, read notifies (multi-device
 * sync) and typing/shake commands travel the same ways; history, unread counts and message
 * look-ups are forwarded to db_proxy_server. A sender over the rate limit is read later, never
 * dropped (limits.c). A feature: layer 5 (ms_chat.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.SwitchService.pb-c.h"
#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_chat.h"
#include "ms_dispatch.h"
#include "ms_gcache.h"
#include "ms_limits.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_fanout.h"
#include "tt_log.h"

#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define MS_NOT_STORED_LOGS_PER_MIN 10 /* then one line with the number left out */
#define CID_MSG_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA

static int is_single(uint32_t type)
{
    return type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT ||
           type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO;
}

static int is_group(uint32_t type)
{
    return type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT ||
           type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO;
}

static int is_voice(uint32_t type)
{
    return type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO ||
           type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO;
}

/* ---- messages whose answer was lost with a db link ----
 *
 * db_proxy answers a resend of a stored message with the duplicate mark when the first copy
 * was answered (its Redis mark), and this server then only acks it: the first answer was
 * delivered. But "answered" is decided in db_proxy just before the answer leaves; if db_proxy
 * dies then, the answer never arrives here and the message was never delivered. This server
 * knows exactly which messages were in flight on a link that went down, so it remembers them
 * (a bounded hash table, for an hour) and delivers their resend whatever the mark says. */

#define UNANSWERED_SLOTS 16384  /* remembered at most (a power of two) ... */
#define UNANSWERED_PROBES 8      /* ... in a hash table probed this far; the oldest goes */
#define UNANSWERED_TTL_S 3600    /* for this long */

typedef struct ms_unanswered_s {
    uint32_t user_id;   /* sender */
    uint32_t expires;   /* unix time */
    uint64_t key;       /* ms_chat_key; 0: free */
} ms_unanswered_t;

uint64_t ms_chat_key(uint32_t to, uint32_t client_msg_id, uint32_t type, uint16_t seq,
                     uint32_t client_time, const uint8_t *data, size_t len)
{
    if (client_msg_id == 0 && client_time == 0)
        return 0; /* every copy is a new message: nothing to recognise */
    uint8_t head[20];
    tt_put32(head, to);
    tt_put32(head + 4, client_msg_id);
    tt_put32(head + 8, type);
    tt_put32(head + 12, client_msg_id ? 0 : seq);
    tt_put32(head + 16, client_msg_id ? 0 : client_time);
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
    for (size_t i = 0; i < sizeof(head); i++)
        h = (h ^ head[i]) * 1099511628211ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    return h ? h : 1;
}

static size_t unanswered_slot(uint32_t user_id, uint64_t key)
{
    uint64_t h = key ^ ((uint64_t)user_id * 0x9e3779b97f4a7c15ull);
    return (size_t)(h ^ (h >> 29));
}

void ms_chat_unanswered(msg_server_t *ms, uint32_t user_id, uint64_t key)
{
    if (!ms->unanswered && !(ms->unanswered = calloc(UNANSWERED_SLOTS, sizeof(*ms->unanswered))))
        return; /* out of memory: the Redis mark decides alone */
    uint32_t now = (uint32_t)time(NULL);
    size_t base = unanswered_slot(user_id, key);
    ms_unanswered_t *victim = NULL;
    for (size_t i = 0; i < UNANSWERED_PROBES; i++) {
        ms_unanswered_t *e = &ms->unanswered[(base + i) & (UNANSWERED_SLOTS - 1)];
        if (e->key == 0 || e->expires < now || (e->key == key && e->user_id == user_id)) {
            victim = e;
            break;
        }
        if (!victim || e->expires < victim->expires)
            victim = e;
    }
    victim->user_id = user_id;
    victim->key = key;
    victim->expires = now + UNANSWERED_TTL_S;
}

/* 1 when (user_id, key) was remembered (and forgets it: one answer settles it). */
static int unanswered_take(msg_server_t *ms, uint32_t user_id, uint64_t key)
{
    if (!ms->unanswered || !key)
        return 0;
    size_t base = unanswered_slot(user_id, key);
    for (size_t i = 0; i < UNANSWERED_PROBES; i++) {
        ms_unanswered_t *e = &ms->unanswered[(base + i) & (UNANSWERED_SLOTS - 1)];
        if (e->key == key && e->user_id == user_id) {
            e->key = 0;
            return e->expires >= (uint32_t)time(NULL);
        }
    }
    return 0;
}

static void chat_finish(msg_server_t *ms)
{
    free(ms->unanswered);
    ms->unanswered = NULL;
}

/* ---- sending ---- */

/* What chat needs of a client's IMMsgData. */
typedef struct msg_view_s {
    uint32_t to, msg_id, create_time, type;
    const uint8_t *data; /* msg_data */
    size_t len;
} msg_view_t;

/* Reads a client's IMMsgData in place: 0 when it holds each of its fields once, every
 * required one, with the wire types protobuf-c expects (attach_data, never trusted, may be
 * there: it is replaced), and nothing else; -1 otherwise (protobuf-c then decides). */
static int view_scan(const uint8_t *body, size_t len, msg_view_t *v)
{
    unsigned seen = 0;
    size_t pos = 0;
    tt_pb_field_t f;
    int rc;
    memset(v, 0, sizeof(*v));
    while ((rc = tt_pb_next_field(body, len, &pos, &f)) == 1) {
        if (f.number == 20 && f.wire == 2)
            continue;
        if (f.number < 1 || f.number > 6 || (seen & (1u << f.number)))
            return -1;
        seen |= 1u << f.number;
        if (f.number == 6) {
            if (f.wire != 2)
                return -1;
            v->data = f.data;
            v->len = f.len;
            continue;
        }
        if (f.wire != 0 || f.value > UINT32_MAX)
            return -1;
        uint32_t x = (uint32_t)f.value;
        if (f.number == 2)
            v->to = x;
        else if (f.number == 3)
            v->msg_id = x;
        else if (f.number == 4)
            v->create_time = x;
        else if (f.number == 5)
            v->type = x;
    }
    return rc == 0 && seen == 0x7e ? 0 : -1;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* The IMMsgData for db_proxy_server, packed as protobuf-c packs it (fields in order). */
static size_t pack_db_msg(uint8_t *out, uint32_t from, const msg_view_t *v, uint32_t now,
                          const uint8_t *attach, size_t alen)
{
    size_t n = 0;
    out[n++] = 0x08;
    n += put_varint(out + n, from);
    out[n++] = 0x10;
    n += put_varint(out + n, v->to);
    out[n++] = 0x18;
    n += put_varint(out + n, v->msg_id);
    out[n++] = 0x20;
    n += put_varint(out + n, now);
    out[n++] = 0x28;
    n += put_varint(out + n, v->type);
    out[n++] = 0x32;
    n += put_varint(out + n, v->len);
    if (v->len)
        memcpy(out + n, v->data, v->len);
    n += v->len;
    out[n++] = 0xa2; /* field 20, length-delimited */
    out[n++] = 0x01;
    n += put_varint(out + n, alen);
    memcpy(out + n, attach, alen);
    return n + alen;
}

static void chat_send_msg(client_t *c, const tt_pdu_t *pdu, const msg_view_t *m)
{
    msg_server_t *ms = c->ms;
    const char *why = NULL;
    int group = is_group(m->type);
    if (!is_single(m->type) && !group)
        why = "not a message type";
    else if (m->len == 0)
        why = "empty";
    else if (m->to == 0 || (!group && m->to == c->user_id))
        why = "bad receiver";
    else if (!is_voice(m->type) && m->len > ms->max_text)
        why = "text longer than can be stored";
    else if (is_voice(m->type) && m->len <= 4)
        why = "voice without audio";
    else if (is_voice(m->type) && m->len > ms->max_voice)
        why = "voice longer than MaxVoiceMessage";
    int link = why ? -1 : ms_db_pick(ms, c);
    if (!why && link < 0)
        why = "no db_proxy_server link (the client will resend)";
    if (why) {
        log_warn_rl("message from user %u to %u not accepted: %s", c->user_id, m->to, why);
        return;
    }
    if (is_voice(m->type))
        ms_voice_spend(c);
    slot_t *s = ms_slot_open(c, pdu->seq_num, link);
    if (!s)
        return;
    ms_slot_hold_db(c, s);
    s->msg_key = ms_chat_key(m->to, m->msg_id, m->type, pdu->seq_num, m->create_time, m->data,
                             m->len);
    /* with seq and the client's time: resends are known; for a group the version of its
     * member list cached here (db_proxy sends the members when the message is stored under
     * another) */
    uint8_t attach[MS_ATTACH_GROUP_LEN];
    size_t attach_len = group ? MS_ATTACH_GROUP_LEN : MS_ATTACH_CHAT_LEN;
    if (group)
        ms_attach_encode_group(attach, c->handle, s->ordinal, pdu->seq_num, m->create_time,
                               ms_gcache_version(ms, m->to));
    else
        ms_attach_encode_chat(attach, c->handle, s->ordinal, pdu->seq_num, m->create_time);
    /* from_user_id and create_time are ours; whatever attach_data the client put is dropped */
    uint8_t stack[2048];
    size_t cap = m->len + 96;
    uint8_t *body = cap <= sizeof(stack) ? stack : malloc(cap);
    if (!body)
        return; /* out of memory: the slot is given up after RequestTimeout */
    size_t n = pack_db_msg(body, c->user_id, m, (uint32_t)time(NULL), attach, attach_len);
    tt_link_send_raw(ms->db[link].link, SID_MSG, CID_MSG_DATA, pdu->seq_num, body, n);
    if (body != stack)
        free(body);
}

static void chat_client_msg(client_t *c, const tt_pdu_t *pdu)
{
    if (ms_db_gate(c))
        return; /* kept: taken again when db_proxy_server has room */
    ms_msg_spend(c);
    msg_view_t v;
    if (view_scan(pdu->body, pdu->body_len, &v) == 0) {
        chat_send_msg(c, pdu, &v);
        return;
    }
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("message from user %u does not parse: dropped", c->user_id);
        return;
    }
    v = (msg_view_t){m->to_session_id, m->msg_id, m->create_time, (uint32_t)m->msg_type,
                     m->msg_data.data, m->msg_data.len};
    chat_send_msg(c, pdu, &v);
    tt_pb_free(m);
}

static uint8_t *frame_of(uint16_t sid, uint16_t cid, const ProtobufCMessage *m, size_t *len)
{
    size_t body = protobuf_c_message_get_packed_size(m);
    uint8_t *f = malloc(TT_PDU_HEADER_LEN + body);
    if (!f)
        return NULL;
    tt_pdu_encode_header(f, (uint32_t)(TT_PDU_HEADER_LEN + body), sid, cid, 0);
    protobuf_c_message_pack(m, f + TT_PDU_HEADER_LEN);
    *len = TT_PDU_HEADER_LEN + body;
    return f;
}

/* The message as clients get it: attach_data (ours) dropped, a whole CID_MSG_DATA frame
 * (malloc'd), NULL when out of memory. */
static uint8_t *client_frame(IM__Message__IMMsgData *m, size_t *len)
{
    free(m->attach_data.data);
    m->attach_data.data = NULL;
    m->attach_data.len = 0;
    m->has_attach_data = 0;
    return frame_of(SID_MSG, CID_MSG_DATA, &m->base, len);
}

/* Tells the push decision (push.c, through the hook) a message was stored here. */
static void stored_hook(msg_server_t *ms, uint32_t from, uint32_t to, uint32_t msg_id,
                        uint32_t type, const uint8_t *data, size_t len, const uint8_t *members,
                        size_t n)
{
    if (!ms->on_msg_stored)
        return;
    ms_stored_msg_t m = {from, to, msg_id, type, data, len, members, n};
    ms->on_msg_stored(ms, &m);
}

/* Writes the group message to the connections here of the n members in list (BE32 ids), but
 * `except`; its attach_data is dropped. */
static void write_members(msg_server_t *ms, IM__Message__IMMsgData *m, const uint8_t *list,
                          size_t n, const client_t *except)
{
    size_t len;
    uint8_t *frame = client_frame(m, &len);
    if (!frame)
        return;
    for (size_t i = 0; i < n; i++)
        ms_user_write(ms, tt_fanout_id(list, i), except, frame, len);
    free(frame);
}

/* The members of a stored group message as BE32 ids (malloc'd, *n of them): the ones db_proxy
 * sent with it (then cached), else the cached list when it is the message's version or newer
 * (or, for a resend whose first answer was lost — answered with the duplicate mark, no
 * version — the cached list). NULL when none fits. */
static uint8_t *group_members(msg_server_t *ms, uint32_t gid, const uint8_t *payload,
                              size_t plen, size_t *n)
{
    uint32_t version = 0;
    const uint8_t *be;
    *n = 0;
    if (ms_attach_group(payload, plen, &version, &be, n) < 0)
        version = 0, *n = 0;
    uint8_t *list = NULL;
    if (*n > 0) {
        if ((list = malloc(4 * *n)))
            memcpy(list, be, 4 * *n);
        ms_gcache_put(ms, gid, version, be, *n);
        return list;
    }
    const ms_group_t *g = ms_gcache_get(ms, gid);
    if (!g || g->version < version || !(list = malloc(4 * (g->n ? g->n : 1))))
        return NULL;
    for (size_t i = 0; i < g->n; i++)
        tt_put32(list + 4 * i, g->ids[i]);
    *n = g->n;
    return list;
}

/* A stored group message: written to the connections here of every member but the sending
 * connection (the sender's other devices get it), and sent to route_server with the member
 * list, which sends it on to each other msg_server holding members, with only those. */
static void group_deliver(msg_server_t *ms, IM__Message__IMMsgData *m, const client_t *sender,
                          const uint8_t *payload, size_t plen)
{
    size_t n = 0;
    uint8_t *list = group_members(ms, m->to_session_id, payload, plen, &n);
    if (!list) {
        /* Only when the cache lost the list (memory) while the message was being stored: the
         * members find it in their unread counts. */
        log_warn_rl("group message %u of group %u: no member list here, not delivered live",
                    m->msg_id, m->to_session_id);
        return;
    }
    write_members(ms, m, list, n, sender);
    /* only here, on the sender's msg_server, never where the fan-out arrives: one push
     * decision per message */
    stored_hook(ms, m->from_user_id, m->to_session_id, m->msg_id, m->msg_type,
                m->msg_data.data, m->msg_data.len, list, n);
    tt_link_t *route = ms_route_master(ms);
    if (route) {
        m->has_attach_data = 1;
        m->attach_data.data = list;
        m->attach_data.len = 4 * n;
        tt_link_send(route, TT_SID_MSG, TT_CID_GROUP_FANOUT, 0, &m->base);
        m->attach_data.data = NULL;
        m->has_attach_data = 0;
    }
    free(list);
}

/* The sender's ack of a stored message (in its slot), when the sending connection is still
 * there and logged in as the sender; NULL otherwise (the sender's other devices still get a
 * copy). *key gets what the sender sent, while its request waited for this answer. */
static client_t *ack_sender(msg_server_t *ms, uint32_t handle, uint32_t ordinal, uint32_t from,
                            uint32_t to, uint32_t msg_id, uint32_t type, uint64_t *key)
{
    client_t *sender = ms_client_find(ms, handle);
    *key = 0;
    if (sender && sender->user_id == from)
        *key = ms_slot_key(sender, ordinal);
    if (!sender || sender->user_id != from || sender->state != CLIENT_ONLINE)
        return NULL;
    IM__Message__IMMsgDataAck ack = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
    ack.user_id = from;
    ack.session_id = to;
    ack.msg_id = msg_id;
    ack.session_type = is_group(type) ? IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
                                      : IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE;
    ms_slot_answer(sender, ordinal, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK,
                   &ack.base);
    return sender;
}

/* The stored answer of a one-to-one message — the common case — read without unpacking it:
 * the few fields needed are read in place, and the frame the receivers get is the answer's
 * bytes without attach_data (what packing the unpacked message again gave: protobuf-c packs
 * in field order). Anything else — a group message, one not stored, a resend's duplicate
 * mark, a field twice, of another type or unknown — goes the general way: 0. */
static int chat_stored_fast(msg_server_t *ms, const tt_pdu_t *pdu)
{
    uint32_t v[5] = {0}; /* fields 1..5: from, to, msg_id, create_time, type */
    unsigned seen = 0;
    const uint8_t *attach = NULL, *data = NULL;
    size_t alen = 0, a_start = 0, a_end = 0, pos = 0, dlen = 0;
    tt_pb_field_t f;
    int rc;
    while ((rc = tt_pb_next_field(pdu->body, pdu->body_len, &pos, &f)) == 1) {
        if (f.number >= 1 && f.number <= 6) {
            if (seen & (1u << f.number))
                return 0;
            seen |= 1u << f.number;
            if (f.number == 6) {
                if (f.wire != 2)
                    return 0;
                data = f.data;
                dlen = f.len;
            } else if (f.wire != 0 || f.value > UINT32_MAX) {
                return 0;
            } else {
                v[f.number - 1] = (uint32_t)f.value;
            }
        } else if (f.number == 20 && f.wire == 2 && !attach) {
            attach = f.data;
            alen = f.len;
            a_start = f.start;
            a_end = f.end;
        } else {
            return 0;
        }
    }
    if (rc < 0 || seen != 0x7e || !attach || !is_single(v[4]) || v[2] == 0)
        return 0;
    ProtobufCBinaryData ad = {alen, (uint8_t *)attach};
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    if (ms_attach_decode(&ad, &handle, &ordinal, &payload, &plen) < 0 ||
        (plen == MS_DUP_MARK_LEN && memcmp(payload, MS_DUP_MARK, MS_DUP_MARK_LEN) == 0))
        return 0;
    uint32_t from = v[0], to = v[1], msg_id = v[2];
    uint64_t key;
    client_t *sender = ack_sender(ms, handle, ordinal, from, to, msg_id, v[4], &key);
    if (unanswered_take(ms, from, key))
        log_info("message %u from user %u to %u: its first answer was lost with a db_proxy "
                 "link, delivered now",
                 msg_id, from, to);
    size_t blen = pdu->body_len - (a_end - a_start);
    uint8_t stack[2048];
    uint8_t *frame = TT_PDU_HEADER_LEN + blen <= sizeof(stack) ? stack
                                                                 : malloc(TT_PDU_HEADER_LEN + blen);
    if (!frame)
        return 1; /* out of memory: the receivers find it in their unread counts */
    tt_pdu_encode_header(frame, (uint32_t)(TT_PDU_HEADER_LEN + blen), SID_MSG, CID_MSG_DATA, 0);
    memcpy(frame + TT_PDU_HEADER_LEN, pdu->body, a_start);
    memcpy(frame + TT_PDU_HEADER_LEN + a_start, pdu->body + a_end, pdu->body_len - a_end);
    size_t len = TT_PDU_HEADER_LEN + blen;
    ms_user_write(ms, to, NULL, frame, len);
    ms_user_write(ms, from, sender, frame, len);
    tt_link_t *route = ms_route_master(ms);
    if (route)
        tt_link_send_raw(route, SID_MSG, CID_MSG_DATA, 0, frame + TT_PDU_HEADER_LEN, blen);
    if (frame != stack)
        free(frame);
    stored_hook(ms, from, to, msg_id, v[4], data, dlen, NULL, 0);
    return 1;
}

static void chat_stored(msg_server_t *ms, const tt_pdu_t *pdu)
{
    if (chat_stored_fast(ms, pdu))
        return;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    uint32_t handle = 0, ordinal = 0;
    const uint8_t *payload;
    size_t plen;
    if (!m || !m->has_attach_data ||
        ms_attach_decode(&m->attach_data, &handle, &ordinal, &payload, &plen) < 0) {
        log_warn("stored message answer from db_proxy_server does not parse");
        tt_pb_free(m);
        return;
    }
    if (m->msg_id == 0) {
        client_t *sender = ms_client_find(ms, handle);
        /* Not stored (refused, e.g. no such receiver, or the database failed): no ack, which
         * every client shows as failed; a resend the client marks as one is stored once. */
        static uint64_t minute;
        static unsigned logged, quiet;
        uint64_t now = tt_loop_now(ms->d.loop) / 60000;
        if (now != minute) {
            if (quiet)
                log_warn("%u more messages were not stored in the last minute", quiet);
            minute = now;
            logged = quiet = 0;
        }
        if (logged < MS_NOT_STORED_LOGS_PER_MIN) {
            logged++;
            log_warn("message from user %u to %u was not stored", m->from_user_id,
                     m->to_session_id);
        } else {
            quiet++;
        }
        if (sender && sender->user_id == m->from_user_id)
            ms_slot_answer(sender, ordinal, 0, 0, NULL);
        tt_pb_free(m);
        return;
    }
    uint64_t key;
    client_t *sender = ack_sender(ms, handle, ordinal, m->from_user_id, m->to_session_id,
                                  m->msg_id, m->msg_type, &key);
    int lost_before = unanswered_take(ms, m->from_user_id, key);
    if (plen == MS_DUP_MARK_LEN && memcmp(payload, MS_DUP_MARK, MS_DUP_MARK_LEN) == 0 &&
        !lost_before) {
        /* A resend whose first copy was stored, counted and answered: it was delivered
         * then, so only the sender's ack is due. (When the first answer was lost, db_proxy
         * answers without the mark, or this server remembers the loss, and the message is
         * delivered now.) */
        log_info("message %u from user %u to %u was a resend: acked, not delivered again",
                 m->msg_id, m->from_user_id, m->to_session_id);
        tt_pb_free(m);
        return;
    }
    if (lost_before)
        log_info("message %u from user %u to %u: its first answer was lost with a db_proxy "
                 "link, delivered now",
                 m->msg_id, m->from_user_id, m->to_session_id);
    if (is_group(m->msg_type)) {
        group_deliver(ms, m, sender, payload, plen);
        tt_pb_free(m);
        return;
    }
    size_t len;
    uint8_t *frame = client_frame(m, &len);
    if (frame) {
        ms_user_write(ms, m->to_session_id, NULL, frame, len);
        ms_user_write(ms, m->from_user_id, sender, frame, len);
        tt_link_t *route = ms_route_master(ms);
        if (route)
            tt_link_send_raw(route, SID_MSG, CID_MSG_DATA, 0, frame + TT_PDU_HEADER_LEN,
                             len - TT_PDU_HEADER_LEN);
        free(frame);
    }
    stored_hook(ms, m->from_user_id, m->to_session_id, m->msg_id, m->msg_type, m->msg_data.data,
                m->msg_data.len, NULL, 0);
    tt_pb_free(m);
}

static void chat_routed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m)
        return;
    if (is_single(m->msg_type)) {
        m->has_attach_data = 0; /* never shown to clients */
        size_t len;
        uint8_t *frame = frame_of(SID_MSG, CID_MSG_DATA, &m->base, &len);
        if (frame) {
            ms_user_write(ms, m->to_session_id, NULL, frame, len);
            ms_user_write(ms, m->from_user_id, NULL, frame, len);
            free(frame);
        }
    }
    tt_pb_free(m);
}

/* A group message from another msg_server, with the ids of its members online here. */
static void group_fanout_routed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m)
        return;
    if (!is_group(m->msg_type) || !m->has_attach_data || m->attach_data.len % 4) {
        log_warn_rl("group fan-out from route_server without a member list: dropped");
        tt_pb_free(m);
        return;
    }
    uint8_t *list = m->attach_data.data;
    size_t n = m->attach_data.len / 4;
    m->attach_data.data = NULL; /* kept as the list */
    write_members(ms, m, list, n, NULL);
    free(list);
    tt_pb_free(m);
}

/* ---- read acks and read notifies ---- */

static void chat_read_ack(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    IM__Message__IMMsgDataReadAck *a = (IM__Message__IMMsgDataReadAck *)tt_pb_unpack(
        &im__message__immsg_data_read_ack__descriptor, pdu->body, pdu->body_len);
    if (!a)
        return;
    a->user_id = c->user_id;
    int link = ms_db_pick(ms, c);
    if (link >= 0) /* no answer is expected */
        tt_link_send(ms->db[link].link, pdu->service_id, pdu->command_id, 0, &a->base);
    IM__Message__IMMsgDataReadNotify n = IM__MESSAGE__IMMSG_DATA_READ_NOTIFY__INIT;
    n.user_id = c->user_id;
    n.session_id = a->session_id;
    n.msg_id = a->msg_id;
    n.session_type = a->session_type;
    ms_user_send(c->user, MS_ALL, c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY,
                 &n.base);
    tt_link_t *route = ms_route_master(ms);
    if (route)
        tt_link_send(route, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, 0,
                     &n.base);
    tt_pb_free(a);
}

static void chat_read_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Message__IMMsgDataReadNotify *n = (IM__Message__IMMsgDataReadNotify *)tt_pb_unpack(
        &im__message__immsg_data_read_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    user_t *u = ms_user_find(ms, n->user_id);
    if (u)
        ms_user_send(u, MS_ALL, NULL, SID_MSG,
                     IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, &n->base);
    tt_pb_free(n);
}

/* ---- typing / shake ("P2P commands"), opaque to the server ---- */

static void chat_p2p(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if (!ms_p2p_allowed(c, pdu))
        return;
    IM__SwitchService__IMP2PCmdMsg *p = (IM__SwitchService__IMP2PCmdMsg *)tt_pb_unpack(
        &im__switch_service__imp2_pcmd_msg__descriptor, pdu->body, pdu->body_len);
    if (!p)
        return;
    p->from_user_id = c->user_id; /* the original trusted the client here */
    size_t len;
    uint8_t *frame = frame_of(pdu->service_id, pdu->command_id, &p->base, &len);
    if (frame) {
        ms_user_write(ms, p->to_user_id, NULL, frame, len);
        ms_user_write(ms, c->user_id, c, frame, len);
        tt_link_t *route = ms_route_master(ms);
        if (route)
            tt_link_send_raw(route, pdu->service_id, pdu->command_id, 0,
                             frame + TT_PDU_HEADER_LEN, len - TT_PDU_HEADER_LEN);
        free(frame);
    }
    tt_pb_free(p);
}

static void chat_p2p_routed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    if (!ms_p2p_routed_allowed(ms, pdu))
        return;
    IM__SwitchService__IMP2PCmdMsg *p = (IM__SwitchService__IMP2PCmdMsg *)tt_pb_unpack(
        &im__switch_service__imp2_pcmd_msg__descriptor, pdu->body, pdu->body_len);
    if (!p)
        return;
    size_t len;
    uint8_t *frame = frame_of(pdu->service_id, pdu->command_id, &p->base, &len);
    if (frame) {
        ms_user_write(ms, p->to_user_id, NULL, frame, len);
        ms_user_write(ms, p->from_user_id, NULL, frame, len);
        free(frame);
    }
    tt_pb_free(p);
}

static void client_time(client_t *c, const tt_pdu_t *pdu)
{
    IM__Message__IMClientTimeRsp rsp = IM__MESSAGE__IMCLIENT_TIME_RSP__INIT;
    rsp.server_time = (uint32_t)time(NULL);
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (s)
        ms_slot_answer(c, s->ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_MSG,
                       IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_RESPONSE, &rsp.base);
}

static void data_ack(client_t *c, const tt_pdu_t *pdu)
{
    /* A receiving client confirms a delivery. Nothing is resent on a missing confirmation:
     * clients catch up through unread counts and history, so this only closes the loop. */
    (void)c;
    (void)pdu;
}

static const ms_client_cmd_t client_cmds[] = {
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_REQUEST, client_time, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, chat_client_msg, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK, data_ack, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_ACK, chat_read_ack, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, chat_p2p, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_REQUEST, NULL,
     &im__message__imunread_msg_cnt_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_REQUEST, NULL,
     &im__message__imget_msg_list_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_REQ, NULL,
     &im__message__imget_latest_msg_id_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_REQ, NULL,
     &im__message__imget_msg_by_id_req__descriptor, MS_TO_DB, 0, 0},
};

static const ms_answer_t db_answers[] = {
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, NULL, chat_stored},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_RESPONSE,
     &im__message__imunread_msg_cnt_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_RESPONSE,
     &im__message__imget_msg_list_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_RSP,
     &im__message__imget_latest_msg_id_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_RES,
     &im__message__imget_msg_by_id_rsp__descriptor, NULL},
};

static const ms_answer_t route_answers[] = {
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, NULL, chat_routed},
    {TT_CID_GROUP_FANOUT, NULL, group_fanout_routed},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, NULL, chat_read_notify},
    {IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, NULL, chat_p2p_routed},
};

const ms_feature_t ms_chat_feature = {
    .name = "chat",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
    .finish = chat_finish,
};
