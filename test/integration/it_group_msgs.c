/* Group messages end to end through two msg_servers (issue 9 §1), driven by it_group_msgs.sh,
 * which has made group 1 with ttadm (TT001 creator, TT002, TT003, TT004, TT007) and group 50
 * with plain INSERTs as an existing TeamTalk database has it (TT010, TT011, TT012 who left,
 * one old message 12 "old text" from TT010, version 7).
 *   it_group_msgs main MS1 MS2   messages to members on both msg_servers and to the sender's
 *                                other device, never back to the sending connection, each
 *                                exactly once and in order; voice; an offline member's unread,
 *                                history, by id, latest id, recent sessions after login; read
 *                                ack clearing the count and told to the other device; a member
 *                                added later sees no older history; a removed member receives
 *                                nothing more and its post gets no ack; a non-member refused;
 *                                the database-made group listed and usable
 *   it_group_msgs flushed MS1 MS2 LAST1 LAST50
 *                                after FLUSHALL on Redis: ids go on after LAST1 / LAST50 (the
 *                                highest stored), deliveries, unread and refusals as before
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define NO_ACK_MS 2500 /* how long a refused message is waited for */
#define QUIET_MS 400   /* how long "nothing more" is waited for */
#define PC ITC_PC
#define ANDROID ITC_ANDROID
#define SID_MSG ITC_SID_MSG
#define MSG(x) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##x
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define GVOICE IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO
#define GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define ADD IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
#define DEL IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL
#define BURST 20

/* ---- sending and receiving ---- */

/* A group message of type with data; the server's msg_id, 0 when no ack came within ms. */
static uint32_t gsend(ttc_t *c, uint32_t gid, uint32_t type, const void *data, size_t len, int ms,
                      int *rc_out)
{
    uint32_t id = 0;
    int rc = ttc_send_msg(c, gid, GROUP, type, data, len, ms, &id);
    if (rc_out)
        *rc_out = rc;
    if (rc != 0 && rc != TTC_TIMEOUT)
        printf("  (send to group %u: %s)\n", gid, ttc_error(c));
    return rc == 0 ? id : 0;
}

static uint32_t gtext(ttc_t *c, uint32_t gid, const char *text)
{
    return gsend(c, gid, GTEXT, text, strlen(text), T, NULL);
}

/* A message that must be refused: no ack within NO_ACK_MS (and the connection still open). */
static int refused(ttc_t *c, uint32_t gid, const char *text)
{
    int rc = 0;
    uint32_t id = gsend(c, gid, GTEXT, text, strlen(text), NO_ACK_MS, &rc);
    if (id)
        printf("  (acked with msg_id %u)\n", id);
    return rc == TTC_TIMEOUT && !ttc_is_closed(c);
}

/* The next message delivered on c is group gid's msg_id id from `from`, of type, with data. */
static int got(ttc_t *c, uint32_t from, uint32_t gid, uint32_t id, uint32_t type,
               const void *data, size_t len)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, T);
    int ok = m && m->from_user_id == from && m->to_session_id == gid && m->msg_id == id &&
             (uint32_t)m->msg_type == type && m->msg_data.len == len &&
             memcmp(m->msg_data.data, data, len) == 0;
    if (!m)
        printf("  (nothing delivered to user %u)\n", ttc_user_id(c));
    else if (!ok)
        printf("  (user %u got from %u to %u msg_id %u type %u, %zu bytes; want from %u to %u "
               "msg_id %u type %u, %zu bytes)\n",
               ttc_user_id(c), m->from_user_id, m->to_session_id, m->msg_id,
               (unsigned)m->msg_type, m->msg_data.len, from, gid, id, type, len);
    tt_pb_free(m);
    return ok;
}

static int got_text(ttc_t *c, uint32_t from, uint32_t gid, uint32_t id, const char *text)
{
    return got(c, from, gid, id, GTEXT, text, strlen(text));
}

/* No message is delivered to any of the n connections within QUIET_MS (waited for together). */
static int quiet(ttc_t **cs, size_t n)
{
    int none = 1;
    for (size_t i = 0; i < n; i++) {
        IM__Message__IMMsgData *m = itc_recv_msg(cs[i], i ? 0 : QUIET_MS);
        if (m) {
            printf("  (user %u got msg_id %u from %u in %u)\n", ttc_user_id(cs[i]), m->msg_id,
                   m->from_user_id, m->to_session_id);
            none = 0;
        }
        tt_pb_free(m);
    }
    return none;
}

/* ---- what a member can ask ---- */

/* c's unread entry of group gid: its count (-1: no entry, -2: no answer); latest id, sender
 * and the latest message when asked for. */
static int unread_of(ttc_t *c, uint32_t gid, uint32_t *latest, uint32_t *from,
                     IM__Message__IMUnreadMsgCntRsp **keep)
{
    IM__Message__IMUnreadMsgCntRsp *u = itc_unread(c);
    if (!u)
        return -2;
    int n = -1;
    for (size_t i = 0; i < u->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *x = u->unreadinfo_list[i];
        if (x->session_type != GROUP || x->session_id != gid)
            continue;
        n = (int)x->unread_cnt;
        if (latest)
            *latest = x->latest_msg_id;
        if (from)
            *from = x->latest_msg_from_user_id;
    }
    if (keep)
        *keep = u;
    else
        tt_pb_free(u);
    return n;
}

/* The unread entry of gid in u (NULL: none). */
static const IM__BaseDefine__UnreadInfo *unread_entry(const IM__Message__IMUnreadMsgCntRsp *u,
                                                      uint32_t gid)
{
    for (size_t i = 0; u && i < u->n_unreadinfo_list; i++)
        if (u->unreadinfo_list[i]->session_type == GROUP &&
            u->unreadinfo_list[i]->session_id == gid)
            return u->unreadinfo_list[i];
    return NULL;
}

/* c's unread entry of gid goes away within 2 s (a read ack travels on another link). */
static int unread_clears(ttc_t *c, uint32_t gid)
{
    int n = 0;
    for (int i = 0; i < 40 && (n = unread_of(c, gid, NULL, NULL, NULL)) != -1; i++)
        usleep(50 * 1000);
    if (n != -1)
        printf("  (still %d unread)\n", n);
    return n == -1;
}

static IM__Message__IMGetMsgListRsp *history(ttc_t *c, uint32_t gid, uint32_t begin, uint32_t n)
{
    char err[256] = "";
    IM__Message__IMGetMsgListRsp *h = ttc_history(c, gid, GROUP, begin, n, T, err, sizeof(err));
    if (!h)
        printf("  (no history answer: %s)\n", err);
    return h;
}

/* The ids in c's history of gid (newest first) as "id,id,...", "(no answer)" when none came. */
static const char *history_ids(ttc_t *c, uint32_t gid, uint32_t begin, uint32_t n, char *out,
                               size_t len)
{
    IM__Message__IMGetMsgListRsp *h = history(c, gid, begin, n);
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0; h && i < h->n_msg_list && off + 16 < len; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%u", i ? "," : "", h->msg_list[i]->msg_id);
    if (!h)
        snprintf(out, len, "(no answer)");
    tt_pb_free(h);
    return out;
}

static int history_is(ttc_t *c, uint32_t gid, const char *want)
{
    char got_ids[1024];
    history_ids(c, gid, 0, 100, got_ids, sizeof(got_ids));
    if (strcmp(got_ids, want) != 0)
        printf("  (history of group %u for user %u: \"%s\", want \"%s\")\n", gid, ttc_user_id(c),
               got_ids, want);
    return strcmp(got_ids, want) == 0;
}

/* The latest msg id of gid for c (0xffffffff: no answer). */
static uint32_t latest_id(ttc_t *c, uint32_t gid)
{
    IM__Message__IMGetLatestMsgIdReq q = IM__MESSAGE__IMGET_LATEST_MSG_ID_REQ__INIT;
    q.user_id = ttc_user_id(c);
    q.session_type = GROUP;
    q.session_id = gid;
    IM__Message__IMGetLatestMsgIdRsp *r =
        ttc_call(c, SID_MSG, MSG(GET_LATEST_MSG_ID_REQ), &q.base, MSG(GET_LATEST_MSG_ID_RSP),
                 &im__message__imget_latest_msg_id_rsp__descriptor, T, NULL, 0);
    uint32_t v = r && r->session_id == gid && r->session_type == GROUP ? r->latest_msg_id
                                                                       : 0xffffffffu;
    tt_pb_free(r);
    return v;
}

/* Messages ids[] of gid as c may see them (tt_pb_free), NULL when no answer. */
static IM__Message__IMGetMsgByIdRsp *by_id(ttc_t *c, uint32_t gid, uint32_t *ids, size_t n)
{
    IM__Message__IMGetMsgByIdReq q = IM__MESSAGE__IMGET_MSG_BY_ID_REQ__INIT;
    q.user_id = ttc_user_id(c);
    q.session_type = GROUP;
    q.session_id = gid;
    q.n_msg_id_list = n;
    q.msg_id_list = ids;
    return ttc_call(c, SID_MSG, MSG(GET_BY_MSG_ID_REQ), &q.base, MSG(GET_BY_MSG_ID_RES),
                    &im__message__imget_msg_by_id_rsp__descriptor, T, NULL, 0);
}

/* The message with msg_id id in a list (NULL: not there). */
static const IM__BaseDefine__MsgInfo *find_msg(IM__BaseDefine__MsgInfo **l, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (l[i]->msg_id == id)
            return l[i];
    return NULL;
}

static int msg_is(const IM__BaseDefine__MsgInfo *m, uint32_t from, uint32_t type,
                  const void *data, size_t len)
{
    return m && m->from_session_id == from && (uint32_t)m->msg_type == type &&
           m->msg_data.len == len && memcmp(m->msg_data.data, data, len) == 0;
}

/* The next read notify on c within ms (tt_pb_free), NULL when none came. */
static IM__Message__IMMsgDataReadNotify *read_notified(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, MSG(READ_NOTIFY), ms, &p) != 0 || !p)
        return NULL;
    IM__Message__IMMsgDataReadNotify *n = (IM__Message__IMMsgDataReadNotify *)tt_pb_unpack(
        &im__message__immsg_data_read_notify__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    return n;
}

/* gid's version in c's normal group list, 0 when absent, -1 when no answer. */
static long listed_version(ttc_t *c, uint32_t gid)
{
    IM__Group__IMNormalGroupListRsp *r = ttc_normal_groups(c, T, NULL, 0);
    if (!r)
        return -1;
    long v = 0;
    for (size_t i = 0; i < r->n_group_version_list; i++)
        if (r->group_version_list[i]->group_id == gid)
            v = r->group_version_list[i]->version;
    tt_pb_free(r);
    return v;
}

/* The result of a member change (-1: no answer). */
static long change(ttc_t *c, uint32_t gid, uint32_t type, uint32_t member)
{
    IM__Group__IMGroupChangeMemberRsp *r = ttc_group_change(c, gid, type, &member, 1, T, NULL, 0);
    long code = r ? (long)r->result_code : -1;
    tt_pb_free(r);
    return code;
}

/* ---- the phases ---- */

#define NCONN 16
static ttc_t *all[NCONN];
static size_t n_all;

static ttc_t *login(uint16_t port, const char *user, uint32_t type)
{
    ttc_t *c = itc_login(port, user, type);
    if (c && n_all < NCONN)
        all[n_all++] = c;
    return c;
}

static void close_all(void)
{
    for (size_t i = 0; i < n_all; i++)
        ttc_close(all[i]);
    n_all = 0;
}

/* Online messages: group 1, members on both msg_servers and a second device. */
static int phase_main(uint16_t p1, uint16_t p2)
{
    ttc_t *a = login(p1, "TT001", PC), *a2 = login(p2, "TT001", ANDROID);
    ttc_t *b = login(p2, "TT002", ANDROID), *c = login(p1, "TT003", PC);
    ttc_t *g = login(p2, "TT007", ANDROID), *e = login(p1, "TT005", PC);
    ttc_t *f = login(p2, "TT006", ANDROID);
    if (!a || !a2 || !b || !c || !g || !e || !f)
        return 1;

    uint32_t id = gtext(a, 1, "hello group");
    check(id == 1, "TT001's first message to group 1 is acked as the group's, msg_id 1 (got %u)",
          id);
    check(got_text(b, 1, 1, 1, "hello group"), "TT002 on the other msg_server gets it");
    check(got_text(c, 1, 1, 1, "hello group"), "TT003 on the same msg_server gets it");
    check(got_text(g, 1, 1, 1, "hello group"), "TT007 on the other msg_server gets it");
    check(got_text(a2, 1, 1, 1, "hello group"), "the sender's other device gets it");
    check(quiet((ttc_t *[]){a, e}, 2), "not the sending connection, not the non-member TT005");

    id = gtext(b, 1, "hi from TT002");
    check(id == 2, "TT002 (msg_server 2) answers: msg_id 2 (got %u)", id);
    check(got_text(a, 2, 1, 2, "hi from TT002") && got_text(a2, 2, 1, 2, "hi from TT002"),
          "both of TT001's devices get it");
    check(got_text(c, 2, 1, 2, "hi from TT002") && got_text(g, 2, 1, 2, "hi from TT002"),
          "TT003 and TT007 get it");

    id = gtext(a2, 1, "from TT001's phone");
    check(id == 3, "the second device sends: msg_id 3 (got %u)", id);
    check(got_text(a, 1, 1, 3, "from TT001's phone"),
          "the sender's first device (the other msg_server) gets the copy");
    check(got_text(b, 1, 1, 3, "from TT001's phone") && got_text(c, 1, 1, 3, "from TT001's phone") &&
              got_text(g, 1, 1, 3, "from TT001's phone"),
          "the other members get it");
    check(quiet((ttc_t *[]){a2, b, e}, 3), "the phone does not get its own message back");

    /* voice: a 4-byte duration and the audio, zeros and 0xff among it */
    uint8_t voice[4 + 700];
    voice[0] = voice[1] = voice[2] = 0;
    voice[3] = 5;
    for (size_t i = 4; i < sizeof(voice); i++)
        voice[i] = (uint8_t)(i * 37 + (i >> 4));
    voice[9] = 0;
    voice[10] = 0xff;
    id = gsend(b, 1, GVOICE, voice, sizeof(voice), T, NULL);
    check(id == 4, "a voice message (0x12) to the group: msg_id 4 (got %u)", id);
    check(got(a, 2, 1, 4, GVOICE, voice, sizeof(voice)) &&
              got(a2, 2, 1, 4, GVOICE, voice, sizeof(voice)),
          "TT001's devices get the voice byte for byte, as type 0x12");
    check(got(c, 2, 1, 4, GVOICE, voice, sizeof(voice)) &&
              got(g, 2, 1, 4, GVOICE, voice, sizeof(voice)),
          "TT003 and TT007 get it too");

    /* a pipelined burst from one sender: acked and delivered once each, in order */
    char text[64];
    int sent = 0;
    for (int i = 0; i < BURST; i++) {
        snprintf(text, sizeof(text), "burst %d", i);
        IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
        m.from_user_id = 3;
        m.to_session_id = 1;
        m.msg_type = GTEXT;
        m.msg_data.data = (uint8_t *)text;
        m.msg_data.len = strlen(text);
        sent += ttc_send(c, SID_MSG, MSG(DATA), &m.base, NULL) == 0;
    }
    int acks_ok = sent == BURST;
    for (int i = 0; i < BURST && acks_ok; i++) {
        ttc_pdu_t *p = NULL;
        if (ttc_wait(c, MSG(DATA_ACK), T, &p) != 0 || !p) {
            acks_ok = 0;
            break;
        }
        IM__Message__IMMsgDataAck *k = itc_ack_of(p);
        acks_ok = k && k->session_id == 1 && k->session_type == GROUP &&
                  k->msg_id == (uint32_t)(5 + i);
        if (!acks_ok && k)
            printf("  (ack %d: session %u type %u msg_id %u)\n", i, k->session_id,
                   (unsigned)k->session_type, k->msg_id);
        tt_pb_free(k);
        ttc_pdu_free(p);
    }
    check(acks_ok, "%d messages sent at once by TT003: acked with msg_ids 5..%d in order", BURST,
          4 + BURST);
    ttc_t *rcv[] = {a, a2, b, g};
    for (size_t r = 0; r < 4; r++) {
        int ok = 1;
        for (int i = 0; i < BURST && ok; i++) {
            snprintf(text, sizeof(text), "burst %d", i);
            ok = got_text(rcv[r], 3, 1, (uint32_t)(5 + i), text);
        }
        check(ok, "member connection %zu (user %u) gets the %d in order", r, ttc_user_id(rcv[r]),
              BURST);
    }
    check(quiet(all, n_all), "nothing more anywhere: each message exactly once, none echoed");
    uint32_t last = 4 + BURST;

    /* the offline member logs in: unread, history, by id, latest id, sessions */
    ttc_t *d = login(p2, "TT004", ANDROID), *d2 = login(p1, "TT004", PC);
    if (!d || !d2)
        return 1;
    IM__Message__IMUnreadMsgCntRsp *u = NULL;
    uint32_t lid = 0, from = 0;
    int n = unread_of(d, 1, &lid, &from, &u);
    const IM__BaseDefine__UnreadInfo *ue = unread_entry(u, 1);
    check(n == (int)last && lid == last && from == 3,
          "TT004, offline until now: %u unread in group 1, latest %u from TT003 (got %d, %u, %u)",
          last, last, n, lid, from);
    snprintf(text, sizeof(text), "burst %d", BURST - 1);
    check(ue && ue->latest_msg_type == GTEXT && itc_same_bytes(&ue->latest_msg_data, text),
          "the unread entry carries the latest message");
    tt_pb_free(u);
    IM__Message__IMGetMsgListRsp *h = history(d, 1, 0, 100);
    int desc = h && h->n_msg_list == last;
    for (size_t i = 0; desc && i < h->n_msg_list; i++)
        desc = h->msg_list[i]->msg_id == last - i;
    check(desc, "its history: %u messages, newest first (got %zu)", last, h ? h->n_msg_list : 0);
    check(h && msg_is(find_msg(h->msg_list, h->n_msg_list, 1), 1, GTEXT, "hello group", 11) &&
              msg_is(find_msg(h->msg_list, h->n_msg_list, 4), 2, GVOICE, voice, sizeof(voice)) &&
              msg_is(find_msg(h->msg_list, h->n_msg_list, last), 3, GTEXT, text, strlen(text)),
          "with senders, types and contents (the voice byte for byte)");
    tt_pb_free(h);
    char ids[1024];
    history_ids(d, 1, 10, 3, ids, sizeof(ids));
    check(strcmp(ids, "10,9,8") == 0, "history from msg_id 10, 3 messages: 10,9,8 (got %s)", ids);
    uint32_t want[] = {1, 4, 999};
    IM__Message__IMGetMsgByIdRsp *br = by_id(d, 1, want, 3);
    check(br && br->session_id == 1 && br->session_type == GROUP && br->n_msg_list == 2 &&
              msg_is(find_msg(br->msg_list, br->n_msg_list, 1), 1, GTEXT, "hello group", 11) &&
              msg_is(find_msg(br->msg_list, br->n_msg_list, 4), 2, GVOICE, voice, sizeof(voice)),
          "by id 1, 4, 999: the two that exist");
    tt_pb_free(br);
    lid = latest_id(d, 1);
    check(lid == last, "its latest msg id of group 1: %u (got %u)", last, lid);
    IM__Buddy__IMRecentContactSessionRsp *rs = ttc_recent_sessions(d, 0, T, NULL, 0);
    int found = 0;
    for (size_t i = 0; rs && i < rs->n_contact_session_list; i++) {
        const IM__BaseDefine__ContactSessionInfo *s = rs->contact_session_list[i];
        found |= s->session_type == GROUP && s->session_id == 1 && s->latest_msg_id == last &&
                 s->latest_msg_from_user_id == 3;
    }
    check(found, "its recent sessions have group 1, latest %u from TT003", last);
    tt_pb_free(rs);

    /* read ack on the phone: the count is cleared, the PC is told, nobody else */
    ttc_msg_read(d, 1, GROUP, last);
    IM__Message__IMMsgDataReadNotify *rn = read_notified(d2, T);
    check(rn && rn->user_id == 4 && rn->session_id == 1 && rn->msg_id == last &&
              rn->session_type == GROUP,
          "TT004's other device (msg_server 1) is told: group 1 read up to %u", last);
    tt_pb_free(rn);
    rn = read_notified(d, 300);
    check(!rn, "the device that read is not told");
    tt_pb_free(rn);
    rn = read_notified(b, 0);
    check(!rn, "other members are not told");
    tt_pb_free(rn);
    check(unread_clears(d2, 1), "TT004 has nothing unread in group 1 on either device");

    /* a member added later sees nothing older, and gets what follows at once */
    check(change(a, 1, ADD, 6) == 0, "the creator adds TT006 (online on msg_server 2)");
    check(history_is(f, 1, ""), "TT006 sees no history from before it joined");
    check(unread_of(f, 1, NULL, NULL, NULL) == -1, "and has nothing unread in group 1");
    lid = latest_id(f, 1);
    check(lid == 0, "its latest msg id is 0 (got %u)", lid);
    uint32_t old[] = {1, last};
    br = by_id(f, 1, old, 2);
    check(br && br->n_msg_list == 0, "older messages by id: none");
    tt_pb_free(br);
    /* first from TT006's own msg_server, which heard of the change from the other one */
    uint32_t first = gtext(b, 1, "welcome from TT002");
    check(first == last + 1, "TT002 (msg_server 2) writes: msg_id %u (got %u)", last + 1, first);
    check(got_text(f, 2, 1, first, "welcome from TT002"),
          "the new member (msg_server 2) gets it at once");
    check(got_text(a, 2, 1, first, "welcome from TT002") &&
              got_text(a2, 2, 1, first, "welcome from TT002") &&
              got_text(c, 2, 1, first, "welcome from TT002") &&
              got_text(g, 2, 1, first, "welcome from TT002") &&
              got_text(d, 2, 1, first, "welcome from TT002") &&
              got_text(d2, 2, 1, first, "welcome from TT002"),
          "and so do the others, both of TT004's devices too");
    id = gtext(c, 1, "welcome TT006");
    check(id == first + 1, "TT003 (msg_server 1) writes: msg_id %u (got %u)", first + 1, id);
    check(got_text(f, 3, 1, id, "welcome TT006"), "the new member gets it too");
    check(got_text(a, 3, 1, id, "welcome TT006") && got_text(a2, 3, 1, id, "welcome TT006") &&
              got_text(b, 3, 1, id, "welcome TT006") && got_text(g, 3, 1, id, "welcome TT006") &&
              got_text(d, 3, 1, id, "welcome TT006") && got_text(d2, 3, 1, id, "welcome TT006"),
          "and the others");
    snprintf(ids, sizeof(ids), "%u,%u", id, first);
    check(history_is(f, 1, ids), "TT006's history: those two only");
    check(unread_of(f, 1, &lid, NULL, NULL) == 2 && lid == id, "and 2 unread");
    last = id;

    /* a removed member receives nothing more and cannot post */
    check(change(a, 1, DEL, 7) == 0, "the creator removes TT007 (online on msg_server 2)");
    first = gtext(b, 1, "TT002 after TT007 left");
    check(first == last + 1, "TT002 (TT007's msg_server) writes: msg_id %u (got %u)", last + 1,
          first);
    ttc_t *rest[] = {a, a2, b, c, d, d2, f};
    int all_got = 1;
    for (size_t i = 0; i < 7; i++)
        if (rest[i] != b)
            all_got &= got_text(rest[i], 2, 1, first, "TT002 after TT007 left");
    check(all_got, "the members get it");
    id = gtext(a, 1, "after TT007 left");
    check(id == first + 1, "TT001 (msg_server 1) writes: msg_id %u (got %u)", first + 1, id);
    all_got = 1;
    for (size_t i = 0; i < 7; i++)
        if (rest[i] != a)
            all_got &= got_text(rest[i], 1, 1, id, "after TT007 left");
    check(all_got, "the members get it");
    check(itc_nothing_more(g, 1000), "TT007 gets nothing more");
    check(refused(g, 1, "refused: from removed TT007"), "TT007's post gets no ack");
    char hist[1024];
    history_ids(g, 1, 0, 100, hist, sizeof(hist));
    int sees_new = 0;
    for (char *s = hist; *s && !sees_new;) {
        sees_new = (uint32_t)strtoul(s, &s, 10) >= first;
        s += *s == ',';
    }
    check(!sees_new, "TT007's history has nothing from after its removal (%s)", hist);
    last = id;

    /* a non-member is refused */
    check(refused(e, 1, "refused: from non-member TT005"), "TT005 (no member) posts: no ack");
    check(history_is(e, 1, ""), "TT005 gets no history of group 1");
    check(unread_of(e, 1, NULL, NULL, NULL) == -1, "nor an unread entry");
    check(quiet(all, n_all), "neither refused message reached anyone");

    /* the group made with plain INSERTs */
    ttc_t *h0 = login(p1, "TT010", PC), *h1 = login(p2, "TT011", ANDROID);
    ttc_t *h2 = login(p1, "TT012", ANDROID);
    if (!h0 || !h1 || !h2)
        return 1;
    long v = listed_version(h1, 50);
    check(v == 7, "TT011 lists the database-made group 50 at version 7 (got %ld)", v);
    check(listed_version(h2, 50) == 0, "TT012, who left it, does not");
    IM__Group__IMGroupInfoListRsp *gi = ttc_group_info(h0, (uint32_t[]){50}, NULL, 1, T, NULL, 0);
    const IM__BaseDefine__GroupInfo *gg = gi && gi->n_group_info_list == 1 ? gi->group_info_list[0]
                                                                           : NULL;
    check(gg && gg->group_id == 50 && strcmp(gg->group_name, "Old team") == 0 &&
              gg->group_creator_id == 10 && gg->version == 7 &&
              gg->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
              gg->n_group_member_list == 2,
          "its info: Old team, creator TT010, version 7, normal, 2 members");
    tt_pb_free(gi);
    id = gtext(h0, 50, "new in the old team");
    check(id == 13, "TT010 writes to it: msg_id 13, after the stored 12 (got %u)", id);
    check(got_text(h1, 10, 50, 13, "new in the old team"), "TT011 (msg_server 2) gets it");
    check(itc_nothing_more(h2, QUIET_MS), "TT012, who left, does not");
    check(history_is(h1, 50, "13,12"), "TT011's history has the old message too");
    h = history(h1, 50, 12, 1);
    check(h && h->n_msg_list == 1 && msg_is(h->msg_list[0], 10, GTEXT, "old text", 8),
          "the old message as it was stored");
    tt_pb_free(h);
    check(refused(h2, 50, "refused: from left TT012"), "TT012's post gets no ack");
    id = gtext(h1, 50, "reply in the old team");
    check(id == 14 && got_text(h0, 11, 50, 14, "reply in the old team"),
          "TT011 answers: msg_id 14, TT010 gets it");

    /* for the next phase: TT004 has read everything */
    ttc_msg_read(d, 1, GROUP, last);
    check(unread_clears(d, 1), "TT004 read group 1 up to %u", last);
    check(quiet(all, n_all), "nothing more anywhere");
    return 0;
}

/* After FLUSHALL: ids go on after the stored ones, deliveries and refusals as before. */
static int phase_flushed(uint16_t p1, uint16_t p2, uint32_t last1, uint32_t last50)
{
    ttc_t *a = login(p1, "TT001", PC), *b = login(p2, "TT002", ANDROID);
    ttc_t *d = login(p2, "TT004", ANDROID), *e = login(p1, "TT005", PC);
    ttc_t *h0 = login(p1, "TT010", PC), *h1 = login(p2, "TT011", ANDROID);
    if (!a || !b || !d || !e || !h0 || !h1)
        return 1;
    check(listed_version(a, 1) > 0 && listed_version(h1, 50) == 7,
          "the groups are still listed");
    uint32_t id = gtext(a, 1, "after the flush");
    check(id == last1 + 1, "group 1's next msg_id is %u, none reused (got %u)", last1 + 1, id);
    check(got_text(b, 1, 1, id, "after the flush") && got_text(d, 1, 1, id, "after the flush"),
          "delivered on both msg_servers");
    id = gtext(b, 1, "second after the flush");
    check(id == last1 + 2, "then %u (got %u)", last1 + 2, id);
    check(got_text(a, 2, 1, id, "second after the flush") &&
              got_text(d, 2, 1, id, "second after the flush"),
          "delivered");
    uint32_t lid = 0, from = 0;
    int n = unread_of(d, 1, &lid, &from, NULL);
    check(n == 2 && lid == last1 + 2 && from == 2,
          "TT004's unread (from its read position in MariaDB): 2, latest %u from TT002 "
          "(got %d, %u, %u)",
          last1 + 2, n, lid, from);
    char want[64], got_ids[1024];
    snprintf(want, sizeof(want), "%u,%u,%u", last1 + 2, last1 + 1, last1);
    history_ids(d, 1, 0, 3, got_ids, sizeof(got_ids));
    check(strcmp(got_ids, want) == 0, "history goes on: %s (got %s)", want, got_ids);
    id = gtext(h0, 50, "old team after the flush");
    check(id == last50 + 1 && got_text(h1, 10, 50, id, "old team after the flush"),
          "the database-made group goes on with %u (got %u)", last50 + 1, id);
    check(refused(e, 1, "refused: non-member after the flush"), "a non-member is still refused");
    check(quiet(all, n_all), "nothing more anywhere");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "flushed") == 0 && argc != 6)) {
        fprintf(stderr, "usage: it_group_msgs main MS1 MS2 | flushed MS1 MS2 LAST1 LAST50\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[2]), p2 = (uint16_t)atoi(argv[3]);
    int rc;
    if (strcmp(argv[1], "main") == 0)
        rc = phase_main(p1, p2);
    else if (strcmp(argv[1], "flushed") == 0)
        rc = phase_flushed(p1, p2, (uint32_t)strtoul(argv[4], NULL, 10),
                           (uint32_t)strtoul(argv[5], NULL, 10));
    else
        return 2;
    close_all();
    int bad = failures + itc_failures() + (rc != 0);
    printf("%s %s: %d failed\n", bad ? "FAIL" : "ok", argv[1], bad);
    return bad ? 1 : 0;
}
