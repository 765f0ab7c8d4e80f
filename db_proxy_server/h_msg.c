/* One-to-one chat: storing a message (answered only after its transaction committed; msg_id 0
 * = not stored, never a success for a message that is not in MariaDB; a message to a user id
 * that does not exist is not stored), the resends a client marks as such (same client msg_id,
 * or same seq_num and client create_time) recognised and answered with the first msg_id — any
 * other repeat is a new message —, read acks, unread counts, history, messages by id, the latest
 * msg_id, recent sessions and their removal. Requests of group sessions are handed to h_group.c;
 * group messages are checked and answered there, and stored here with the rest of the batch
 * (in a transaction of their own: td_group_store_batch).
 *
 * MariaDB holds the messages, the id counters and the recent sessions (td_msg.c); Redis
 * (pool "unread") holds the unread counters unread_<uid> = {peer: count}, incremented after the
 * commit — a Redis failure there is logged and costs an unread count, never a message. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.Buddy.pb-c.h"
#include "h_group.h"
#include "h_msg.h"
#include "tt_log.h"
#include "tt_pdu.h"

#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define MSG(cmd) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##cmd
#define BUDDY(cmd) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##cmd
#define SINGLE IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE
#define GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP

/* ---- answer builders (h_msg.h) ---- */

int dbp_msg_stored_answer(dbp_ctx_t *x, const IM__Message__IMMsgData *req, uint32_t msg_id,
                          uint32_t create_time, int duplicate)
{
    IM__Message__IMMsgData rsp = IM__MESSAGE__IMMSG_DATA__INIT;
    rsp.from_user_id = req->from_user_id;
    rsp.to_session_id = req->to_session_id;
    rsp.msg_id = msg_id;
    rsp.create_time = create_time;
    rsp.msg_type = req->msg_type;
    rsp.msg_data = req->msg_data;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    uint8_t marked[12 + 4 + DBP_MSG_DUP_MARK_LEN];
    uint32_t seq, client_time;
    int chat = dbp_msg_resend_id(req, &seq, &client_time);
    if (chat && !duplicate)
        rsp.attach_data.len = 12; /* the head msg_server decodes; the rest was for us */
    if (duplicate && req->has_attach_data && (req->attach_data.len == 12 || chat)) {
        memcpy(marked, req->attach_data.data, 12);
        marked[12] = marked[13] = marked[14] = 0;
        marked[15] = DBP_MSG_DUP_MARK_LEN;
        memcpy(marked + 16, DBP_MSG_DUP_MARK, DBP_MSG_DUP_MARK_LEN);
        rsp.attach_data.data = marked;
        rsp.attach_data.len = sizeof(marked);
    }
    return dbp_answer(x, &rsp.base);
}

int dbp_msg_resend_id(const IM__Message__IMMsgData *req, uint32_t *seq, uint32_t *client_time)
{
    const uint8_t *a = req->attach_data.data;
    size_t len = req->attach_data.len;
    if (!req->has_attach_data || !a ||
        (len != DBP_MSG_ATTACH_CHAT_LEN && len != DBP_MSG_ATTACH_GROUP_LEN) ||
        tt_get32(a + 12) != len - 16 || memcmp(a + 16, DBP_MSG_RESEND_TAG, 4))
        return 0;
    *seq = tt_get32(a + 20);
    *client_time = tt_get32(a + 24);
    return 1;
}

uint32_t dbp_msg_group_version(const IM__Message__IMMsgData *req)
{
    uint32_t seq, client_time;
    if (!dbp_msg_resend_id(req, &seq, &client_time) ||
        req->attach_data.len != DBP_MSG_ATTACH_GROUP_LEN)
        return 0;
    return tt_get32(req->attach_data.data + 28);
}

static int known_single_type(uint32_t type)
{
    return type == TD_MSG_TYPE_TEXT || type == TD_MSG_TYPE_AUDIO;
}

int dbp_msg_info(IM__BaseDefine__MsgInfo *mi, const td_msg_t *m)
{
    im__base_define__msg_info__init(mi);
    if (!known_single_type(m->type))
        return -1;
    mi->msg_id = m->msg_id;
    mi->from_session_id = m->from_id;
    mi->create_time = m->created;
    mi->msg_type = (IM__BaseDefine__MsgType)m->type;
    mi->msg_data.data = m->data;
    mi->msg_data.len = m->len;
    return 0;
}

ProtobufCBinaryData dbp_msg_summary(const td_msg_t *m)
{
    ProtobufCBinaryData d;
    if (m->type == TD_MSG_TYPE_AUDIO) {
        d.data = (uint8_t *)DBP_MSG_AUDIO_SUMMARY;
        d.len = sizeof(DBP_MSG_AUDIO_SUMMARY) - 1;
    } else {
        d.data = m->data;
        d.len = m->len;
    }
    return d;
}

/* ---- helpers ---- */

/* Largest answer body worth building (MaxPduSize, less room for the envelope). */
static size_t answer_budget(const dbp_ctx_t *x)
{
    size_t max = x->dbp ? x->dbp->max_pdu : (4u << 20);
    return max > (128u << 10) ? max - (64u << 10) : max / 2;
}

/* HDEL unread_<user> <peer>: a read clears a counter. Failures are logged (a stale unread count
 * is not a lost message). */
static void unread_clear(dbp_ctx_t *x, uint32_t user, uint32_t peer)
{
    char key[32], field[16];
    snprintf(key, sizeof(key), "unread_%u", (unsigned)user);
    snprintf(field, sizeof(field), "%u", (unsigned)peer);
    dbp_cache_conn_t *rc = dbp_cache(x, x->dbp->unread);
    redisReply *r = rc ? dbp_cache_cmdv(rc, "HDEL", key, field, NULL) : NULL;
    if (!r || r->type == REDIS_REPLY_ERROR)
        log_warn("%s from %s: HDEL %s %s failed: %s", x->cmd->name, x->peer, key, field,
                 r ? r->str : rc ? dbp_cache_error(rc) : "no Redis");
    if (r)
        freeReplyObject(r);
    dbp_cache_put(x->dbp->unread, rc);
}

/* ---- CID_MSG_DATA ---- */

static void msg_data_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMMsgData *req = (const IM__Message__IMMsgData *)m;
    dbp_msg_stored_answer(x, req, 0, req->create_time, 0);
}

/* Why a message cannot be stored at all (NULL: it can). */
static const char *msg_refusal(const IM__Message__IMMsgData *req)
{
    if (!known_single_type(req->msg_type))
        return "not a message type";
    if (req->from_user_id == 0 || req->to_session_id == 0 ||
        req->from_user_id == req->to_session_id)
        return "bad sender or receiver";
    if (req->msg_data.len == 0)
        return "empty";
    /* Any bytes: content is VARBINARY since migration 005 (a database without it refuses
     * text that is not UTF-8, and the message is answered as not stored). */
    if (req->msg_type == TD_MSG_TYPE_TEXT && req->msg_data.len > TD_MSG_TEXT_BYTES_MAX)
        return "text longer than IMMessage.content holds";
    if (req->msg_type == TD_MSG_TYPE_AUDIO && req->msg_data.len <= 4)
        return "voice without audio";
    if (req->msg_type == TD_MSG_TYPE_AUDIO && req->msg_data.len - 4 >= TD_MSG_AUDIO_MAX)
        return "voice above 16 MiB";
    return NULL;
}

/* What happens to one stored message after the commit. */
enum { AFTER_NEW, AFTER_RESEND, AFTER_DUPE };

typedef struct stored_s {
    const IM__Message__IMMsgData *req; /* the request */
    dbp_ctx_t *x;                      /* where its answer goes */
    td_msg_send_t s;                   /* what was stored */
    td_msg_sent_t out;                 /* how */
    int ok;                            /* committed (or a resend of a committed message) */
    int group;                         /* a group message (stored by td_group_store_batch) */
    td_group_sent_t gout;              /* how, then */
    int after;                         /* AFTER_* */
    char unread_key[24], peer[12];     /* Redis arguments */
    char done_field[32], msg_id[12];
} stored_t;

/* ---- answered marks (h_msg.h) ---- */

uint32_t dbp_msg_done_span(uint32_t window)
{
    return window / DBP_MSG_DONE_SPANS + (window % DBP_MSG_DONE_SPANS != 0) + (window == 0);
}

uint32_t dbp_msg_done_bucket(uint32_t window, uint32_t now)
{
    return now / dbp_msg_done_span(window);
}

uint32_t dbp_msg_done_expiry(uint32_t window, uint32_t bucket)
{
    uint32_t span = dbp_msg_done_span(window);
    return (bucket + 2) * span + window;
}

uint32_t dbp_msg_done_first(uint32_t window, uint32_t now)
{
    uint32_t b = dbp_msg_done_bucket(window, now), back = window / dbp_msg_done_span(window) + 2;
    return b > back ? b - back : 0;
}

uint32_t dbp_msg_done_last(uint32_t window, uint32_t now)
{
    return dbp_msg_done_bucket(window, now) + 1;
}

/* The Redis commands of one batch's after_commit, built in arrays of the right size. */
typedef struct marks_s {
    dbp_cache_cmd_t *cmds;
    size_t *of;              /* command -> message (SIZE_MAX: a window's HSET or EXPIREAT) */
    char (*keys)[40];        /* command -> its key, when it has one of its own */
    char (*args)[12];        /* command -> its number argument (EXPIREAT) */
    const char **av;         /* the HSETs' arguments */
    size_t *al;
    size_t n, nav;
} marks_t;

static void mark_cmd(marks_t *k, size_t of, int argc, const char *a0, const char *a1,
                     const char *a2, const char *a3)
{
    k->cmds[k->n] = (dbp_cache_cmd_t){argc, {a0, a1, a2, a3}, {0}, NULL, NULL, NULL};
    k->of[k->n++] = of;
}

/* EXPIREAT key (key in k->keys[k->n]) for a window's bucket. */
static void mark_expire(marks_t *k, size_t of, uint32_t window, uint32_t bucket)
{
    snprintf(k->args[k->n], sizeof(k->args[0]), "%u", (unsigned)dbp_msg_done_expiry(window,
                                                                                  bucket));
    mark_cmd(k, of, 3, "EXPIREAT", k->keys[k->n], k->args[k->n], NULL);
}

/* Redis after the commit, all messages of a batch in one pipeline:
 *   a new message:          HINCRBY unread_<to> <from> 1, and its answered mark <from>_<key>
 *                           = <id> in the hash of its window's current bucket (h_msg.h) —
 *                           one HSET (+ EXPIREAT) per window for the whole batch (no mark for
 *                           a message without a key)
 *   a resend of one stored: HSETNX of its mark in the current bucket, and HEXISTS in every
 *                           other bucket its first copy's mark could be in: set now and found
 *                           nowhere else means the first copy never got as far as its answer
 *                           (db_proxy stopped in between), so this one is answered as new
 *                           (msg_server delivers it) and counted as unread; a mark found
 *                           means it was answered: the duplicate mark. (Two resends racing:
 *                           each sets before it looks, so at most one finds nothing.) The key
 *                           msg_done_<from>_<key> of a db_proxy_server from before the hashes
 *                           counts as a mark too (a first copy answered by one of those).
 *   a resend of a message earlier in the same batch: the duplicate mark.
 * Without Redis (or when its mark cannot be set), a resend gets the duplicate mark: it was
 * most likely delivered, and never twice is the rule; msg_server delivers it anyway when the
 * first answer was lost with its db link (it keeps track of those). New messages are answered
 * as new, their unread counts lost. */
static void after_commit(dbp_ctx_t *x, stored_t *st, size_t n)
{
    uint32_t now = (uint32_t)time(NULL);
    uint32_t *wins = calloc(n, sizeof(*wins)); /* the windows of the new messages' marks */
    size_t *wcount = calloc(n, sizeof(*wcount));
    size_t nwin = 0, total = 0, nav = 0;
    for (size_t i = 0; i < n; i++) {
        stored_t *m = &st[i];
        if (!m->ok || m->group)
            continue; /* group messages: nothing in Redis (unread counts come from MariaDB) */
        m->after = m->out.duplicate == 2 ? AFTER_DUPE
                   : m->out.duplicate    ? AFTER_RESEND
                                         : AFTER_NEW;
        uint32_t window = m->s.dedupe_window; /* 0: a message no resend is known as */
        if (m->after == AFTER_RESEND && (!wins || !wcount || !window))
            m->after = AFTER_DUPE; /* no way to learn whether it was answered */
        if (m->after == AFTER_DUPE || !wins || !wcount)
            continue;
        snprintf(m->unread_key, sizeof(m->unread_key), "unread_%u", (unsigned)m->s.to);
        snprintf(m->peer, sizeof(m->peer), "%u", (unsigned)m->s.from);
        snprintf(m->done_field, sizeof(m->done_field), "%u_%016llx", (unsigned)m->s.from,
                 (unsigned long long)m->s.client_key);
        snprintf(m->msg_id, sizeof(m->msg_id), "%u", (unsigned)m->out.msg_id);
        if (m->after == AFTER_RESEND) {
            total += 3 + dbp_msg_done_last(window, now) - dbp_msg_done_first(window, now);
            continue;
        }
        total++; /* HINCRBY */
        if (!window)
            continue;
        size_t w = 0;
        while (w < nwin && wins[w] != window)
            w++;
        if (w == nwin) {
            wins[nwin++] = window;
            total += 2; /* HSET, EXPIREAT */
            nav += 2;
        }
        wcount[w]++;
        nav += 2;
    }
    marks_t k = {calloc(total + 1, sizeof(*k.cmds)), calloc(total + 1, sizeof(*k.of)),
                 calloc(total + 1, sizeof(*k.keys)), calloc(total + 1, sizeof(*k.args)),
                 calloc(nav + 1, sizeof(*k.av)), calloc(nav + 1, sizeof(*k.al)), 0, 0};
    int room = wins && wcount && k.cmds && k.of && k.keys && k.args && k.av && k.al;
    for (size_t w = 0; room && w < nwin; w++) { /* the new messages' marks, per window */
        uint32_t b = dbp_msg_done_bucket(wins[w], now);
        snprintf(k.keys[k.n], sizeof(k.keys[0]), "msg_done_%u_%u", (unsigned)wins[w],
                 (unsigned)b);
        const char **av = &k.av[k.nav];
        size_t *al = &k.al[k.nav], c = 0;
        av[c++] = "HSET";
        av[c++] = k.keys[k.n];
        for (size_t i = 0; i < n; i++) {
            stored_t *m = &st[i];
            if (m->ok && !m->group && m->after == AFTER_NEW && m->s.dedupe_window == wins[w]) {
                av[c++] = m->done_field;
                av[c++] = m->msg_id;
            }
        }
        for (size_t a = 0; a < c; a++)
            al[a] = strlen(av[a]);
        k.nav += c;
        k.cmds[k.n] = (dbp_cache_cmd_t){(int)c, {0}, {0}, NULL, av, al};
        k.of[k.n++] = SIZE_MAX;
        memcpy(k.keys[k.n], k.keys[k.n - 1], sizeof(k.keys[0]));
        mark_expire(&k, SIZE_MAX, wins[w], b);
    }
    for (size_t i = 0; room && i < n; i++) {
        stored_t *m = &st[i];
        if (!m->ok || m->group || m->after == AFTER_DUPE)
            continue;
        if (m->after == AFTER_NEW) {
            mark_cmd(&k, i, 4, "HINCRBY", m->unread_key, m->peer, "1");
            continue;
        }
        uint32_t window = m->s.dedupe_window, b = dbp_msg_done_bucket(window, now);
        snprintf(k.keys[k.n], sizeof(k.keys[0]), "msg_done_%u_%u", (unsigned)window,
                 (unsigned)b);
        mark_cmd(&k, i, 4, "HSETNX", k.keys[k.n], m->done_field, m->msg_id);
        memcpy(k.keys[k.n], k.keys[k.n - 1], sizeof(k.keys[0]));
        mark_expire(&k, i, window, b);
        for (uint32_t o = dbp_msg_done_first(window, now); o <= dbp_msg_done_last(window, now);
             o++) {
            if (o == b)
                continue;
            snprintf(k.keys[k.n], sizeof(k.keys[0]), "msg_done_%u_%u", (unsigned)window,
                     (unsigned)o);
            mark_cmd(&k, i, 3, "HEXISTS", k.keys[k.n], m->done_field, NULL);
        }
        /* the key a db_proxy_server before the hashes set for its first copy */
        snprintf(k.keys[k.n], sizeof(k.keys[0]), "msg_done_%s", m->done_field);
        mark_cmd(&k, i, 2, "EXISTS", k.keys[k.n], NULL, NULL);
    }
    if (!room)
        for (size_t i = 0; i < n; i++)
            if (st[i].ok && !st[i].group && st[i].after == AFTER_RESEND)
                st[i].after = AFTER_DUPE;
    dbp_cache_conn_t *rc = k.n ? dbp_cache(x, x->dbp->unread) : NULL;
    int sent = rc && dbp_cache_pipeline(rc, k.cmds, k.n) == 0;
    if ((k.n && !sent) || !room)
        log_warn("%s from %s: unread counts and answered marks of %zu message(s) not kept: %s",
                 x->cmd->name, x->peer, n,
                 !room ? "out of memory" : rc ? dbp_cache_error(rc) : "no Redis");
    size_t again = 0; /* resends answered as new: their unread count, in a second round */
    for (size_t c = 0; c < k.n; c++) {
        redisReply *r = sent ? k.cmds[c].reply : NULL;
        const char *verb = k.cmds[c].av ? k.cmds[c].av[0] : k.cmds[c].argv[0];
        const char *key = k.cmds[c].av ? k.cmds[c].av[1] : k.cmds[c].argv[1];
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warn("%s from %s: %s %s failed: %s", x->cmd->name, x->peer, verb, key, r->str);
        stored_t *m = k.of[c] == SIZE_MAX ? NULL : &st[k.of[c]];
        if (m && m->after == AFTER_RESEND) {
            /* HSETNX must have set it, no HEXISTS or EXISTS find it (EXPIREAT: any answer) */
            int hsetnx = !strcmp(verb, "HSETNX");
            int hexists = !strcmp(verb, "HEXISTS") || !strcmp(verb, "EXISTS");
            if ((hsetnx || hexists) &&
                (!r || r->type != REDIS_REPLY_INTEGER || r->integer != (hsetnx ? 1 : 0)))
                m->after = AFTER_DUPE; /* answered before, or not known */
        }
        if (r)
            freeReplyObject(r);
    }
    for (size_t i = 0; i < n; i++) {
        stored_t *m = &st[i];
        if (!m->ok || m->group || m->after != AFTER_RESEND)
            continue;
        if (!sent)
            m->after = AFTER_DUPE; /* not known */
        else
            k.cmds[again++] = (dbp_cache_cmd_t){4, {"HINCRBY", m->unread_key, m->peer, "1"},
                                                {0}, NULL, NULL, NULL};
    }
    if (again && dbp_cache_pipeline(rc, k.cmds, again) == 0)
        for (size_t c = 0; c < again; c++)
            freeReplyObject(k.cmds[c].reply);
    if (rc)
        dbp_cache_put(x->dbp->unread, rc);
    free(k.cmds);
    free(k.of);
    free(k.keys);
    free(k.args);
    free(k.av);
    free(k.al);
    free(wins);
    free(wcount);
}

/* Logs a message to a user id that does not exist, at most DBP_MSG_NO_USER_LOGS_PER_MIN a
 * minute, then the number left out (any thread). */
static void log_no_user(const stored_t *m)
{
    static atomic_ullong minute;
    static atomic_uint logged, quiet;
    unsigned long long now = (unsigned long long)time(NULL) / 60;
    unsigned long long was = atomic_load(&minute);
    if (was != now && atomic_compare_exchange_strong(&minute, &was, now)) {
        unsigned q = atomic_exchange(&quiet, 0);
        atomic_store(&logged, 0);
        if (q)
            log_warn("%u more messages to user ids that do not exist were not stored in the "
                     "last minute", q);
    }
    if (atomic_fetch_add(&logged, 1) < DBP_MSG_NO_USER_LOGS_PER_MIN)
        log_warn("message from user %u to user %u not stored: no such user (not acked)",
                 (unsigned)m->s.from, (unsigned)m->s.to);
    else
        atomic_fetch_add(&quiet, 1);
}

/* Receivers seen in IMUser, so that a busy conversation costs no lookup: a direct-mapped table
 * of user ids (0: free), shared by the worker threads, a colliding id simply replacing the
 * one there. Users are never deleted by this suite (ttadm disables them, and a disabled user
 * still receives), so an id once seen stays valid; a row deleted by hand is still taken for
 * a user until db_proxy_server restarts. */
static atomic_uint known_users[DBP_MSG_KNOWN_USERS];

static atomic_uint *known_slot(uint32_t id)
{
    uint32_t h = (id ^ (id >> 16)) * 0x45d9f3bu;
    return &known_users[(h ^ (h >> 16)) & (DBP_MSG_KNOWN_USERS - 1)];
}

/* Messages whose receiver is not in IMUser are left out (answered as not stored: no relation,
 * no unread key, no ack). -1 on a database error. */
static int drop_unknown_receivers(td_conn_t *c, stored_t *st, size_t n)
{
    uint32_t *ids = calloc(n, sizeof(*ids));
    uint8_t *missing = calloc(n, 1);
    size_t *of = calloc(n, sizeof(*of));
    size_t k = 0;
    int rc = ids && missing && of ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (st[i].x && !st[i].group &&
            atomic_load_explicit(known_slot(st[i].s.to), memory_order_relaxed) != st[i].s.to) {
            ids[k] = st[i].s.to;
            of[k++] = i;
        }
    if (rc == 0 && k)
        rc = td_users_missing(c, ids, k, missing);
    for (size_t j = 0; rc == 0 && j < k; j++) {
        if (missing[j]) {
            log_no_user(&st[of[j]]);
            st[of[j]].x = NULL;
        } else {
            atomic_store_explicit(known_slot(ids[j]), ids[j], memory_order_relaxed);
        }
    }
    free(ids);
    free(missing);
    free(of);
    return rc;
}

/* After a batch store of the k messages st[of[0..k-1]] returned rc: 1 when they are to be
 * stored one by one (the batch could not commit for a reason that is not the connection: one
 * bad message must not fail the others); else 0, every message marked ok when it committed.
 * what names the store in the log ("message", "group message"). */
static int batch_outcome(dbp_ctx_t *x, td_conn_t *c, stored_t *st, const size_t *of, size_t k,
                         int rc, const char *what)
{
    char why[64];
    if (rc < 0 && k > 1 && !td_error_is_connection(td_conn_errno(c))) {
        snprintf(why, sizeof(why), "%s batch store (storing one by one)", what);
        dbp_db_failed(x, c, why);
        return 1;
    }
    if (rc < 0) {
        snprintf(why, sizeof(why), "%s store", what);
        dbp_db_failed(x, c, why);
    }
    for (size_t j = 0; rc == 0 && j < k; j++)
        st[of[j]].ok = 1;
    return 0;
}

/* The one-to-one messages of st[of[0..k-1]] (s[j] of st[of[j]]): one transaction, or one by
 * one (batch_outcome). The number stored as new. */
static size_t store_single(dbp_ctx_t *x, td_conn_t *c, stored_t *st, const size_t *of,
                           const td_msg_send_t *s, size_t k)
{
    td_msg_sent_t *out = calloc(k, sizeof(*out));
    if (!out)
        return 0;
    int rc = td_msg_store_batch(c, s, k, out);
    if (batch_outcome(x, c, st, of, k, rc, "message"))
        for (size_t j = 0; j < k; j++) {
            if (td_msg_store(c, &s[j], &out[j]) == 0)
                st[of[j]].ok = 1;
            else
                dbp_db_failed(st[of[j]].x, c, "message store");
        }
    size_t fresh = 0;
    for (size_t j = 0; j < k; j++) {
        stored_t *m = &st[of[j]];
        if (m->ok) {
            m->out = out[j];
            fresh += !out[j].duplicate;
        }
    }
    if (out[0].attempts > 1)
        log_info("%zu message(s) %s after %d transactions (lock conflicts)", k,
                 rc == 0 ? "stored" : "not stored", out[0].attempts);
    free(out);
    return fresh;
}

/* The group messages of st[of[0..k-1]]: one transaction (td_group_store_batch), or one by one
 * (batch_outcome). Each st[].gout holds the result (its have_version set before).
 * The number stored as new. */
static size_t store_groups(dbp_ctx_t *x, td_conn_t *c, stored_t *st, const size_t *of,
                           const td_msg_send_t *s, size_t k)
{
    td_group_sent_t *out = calloc(k, sizeof(*out));
    if (!out)
        return 0;
    for (size_t j = 0; j < k; j++)
        out[j].have_version = st[of[j]].gout.have_version;
    int rc = td_group_store_batch(c, s, k, out);
    if (batch_outcome(x, c, st, of, k, rc, "group message"))
        for (size_t j = 0; j < k; j++) {
            if (td_group_store(c, &s[j], &out[j]) == 0)
                st[of[j]].ok = 1;
            else
                dbp_db_failed(st[of[j]].x, c, "group message store");
        }
    size_t fresh = 0;
    for (size_t j = 0; j < k; j++) {
        stored_t *m = &st[of[j]];
        if (m->ok) {
            m->gout = out[j]; /* the member list moves to it */
            fresh += !out[j].refused && !out[j].sent.duplicate;
        } else {
            td_ids_free(&out[j].members);
        }
    }
    if (out[0].sent.attempts > 1)
        log_info("%zu group message(s) %s after %d transactions (lock conflicts)", k,
                 rc == 0 ? "stored" : "not stored", out[0].sent.attempts);
    free(out);
    return fresh;
}

/* Stores the messages: the one-to-one ones in one transaction, the group ones in another. */
static void store_all(dbp_ctx_t *x, stored_t *st, size_t n, uint32_t window)
{
    static atomic_uint stored;
    td_msg_send_t *s = calloc(n, sizeof(*s));
    size_t *of = calloc(n, sizeof(*of));
    td_conn_t *c = s && of ? dbp_db(x, 1) : NULL;
    if (c && drop_unknown_receivers(c, st, n) < 0) {
        dbp_db_failed(x, c, "receiver lookup");
        dbp_db_put(x, c, 1);
        c = NULL;
    }
    if (!c) {
        free(s);
        free(of);
        return;
    }
    size_t fresh = 0;
    for (int group = 0; group <= 1; group++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (st[i].x && st[i].group == group) {
                s[k] = st[i].s;
                of[k++] = i;
            }
        if (k)
            fresh += group ? store_groups(x, c, st, of, s, k) : store_single(x, c, st, of, s, k);
    }
    unsigned before = atomic_fetch_add(&stored, (unsigned)fresh);
    if (window && fresh && before / DBP_MSG_PURGE_EVERY != (before + fresh) / DBP_MSG_PURGE_EVERY) {
        uint64_t deleted = 0;
        if (td_msg_dedupe_purge(c, window, &deleted) < 0)
            dbp_db_failed(x, c, "dedupe purge");
        else if (deleted)
            log_debug("%llu resend keys older than %u s deleted", (unsigned long long)deleted,
                      (unsigned)window);
    }
    dbp_db_put(x, c, 1);
    free(s);
    free(of);
}

/* n IMMsgData of one connection, in order: refusals answered at once, the others stored
 * together, then each answered (msg_id 0 when not stored: the client sends it again). */
static void msg_data_batch(dbp_ctx_t *x, const ProtobufCMessage *const *m, size_t n)
{
    const db_proxy_t *dbp = x[0].dbp;
    uint32_t purge = dbp->dedupe_window > dbp->resend_window ? dbp->dedupe_window
                                                             : dbp->resend_window;
    stored_t *st = calloc(n, sizeof(*st));
    if (!st)
        return; /* error answers */
    for (size_t i = 0; i < n; i++) {
        const IM__Message__IMMsgData *req = (const IM__Message__IMMsgData *)m[i];
        st[i].req = req;
        if (dbp_group_msg_type(req->msg_type)) { /* checked by h_group.c, stored with the rest */
            if (dbp_group_msg_prepare(dbp, req, &st[i].s) < 0)
                continue; /* answered msg_id 0 below */
            st[i].x = &x[i];
            st[i].group = 1;
            st[i].gout.have_version = dbp_msg_group_version(req);
            continue;
        }
        const char *why = msg_refusal(req);
        if (why) {
            log_info("message from user %u to %u (type %u, %zu bytes) not stored: %s",
                     (unsigned)req->from_user_id, (unsigned)req->to_session_id,
                     (unsigned)req->msg_type, req->msg_data.len, why);
            continue;
        }
        st[i].x = &x[i];
        /* A resend is known only by what the client keeps: its msg_id when not 0 (no shipped
         * client sets one), else the request seq_num with its own create_time when not 0
         * (Windows resends once, ~6 s later, on the same or a new connection). Without either
         * every copy is a new message. */
        uint64_t key = 0;
        uint32_t window = 0, seq = 0, client_time = 0;
        if (req->msg_id) {
            key = td_msg_client_key(req->to_session_id, req->msg_id, req->msg_type,
                                    req->msg_data.data, req->msg_data.len);
            window = dbp->dedupe_window;
        } else if (dbp_msg_resend_id(req, &seq, &client_time) && client_time) {
            key = td_msg_resend_key(req->to_session_id, req->msg_type, seq, client_time,
                                    req->msg_data.data, req->msg_data.len);
            window = dbp->resend_window;
        }
        st[i].s = (td_msg_send_t){
            .from = req->from_user_id,
            .to = req->to_session_id,
            .type = req->msg_type,
            .create_time = req->create_time,
            .client_key = window ? key : 0,
            .dedupe_window = window,
            .data = req->msg_data.data,
            .len = req->msg_data.len,
        };
    }
    store_all(&x[0], st, n, purge);
    after_commit(&x[0], st, n);
    for (size_t i = 0; i < n; i++) {
        stored_t *s = &st[i];
        if (s->x && !s->ok)
            continue; /* not stored: the error answer */
        if (s->group) {
            dbp_group_msg_answer(&x[i], s->req, &s->gout);
            td_ids_free(&s->gout.members);
            continue;
        }
        if (s->ok && s->after != AFTER_NEW)
            log_info("message from user %u to %u is a resend of msg_id %u: not stored again%s",
                     (unsigned)s->s.from, (unsigned)s->s.to, (unsigned)s->out.msg_id,
                     s->after == AFTER_DUPE ? "" : " (its first copy was never answered)");
        dbp_msg_stored_answer(&x[i], s->req, s->ok ? s->out.msg_id : 0,
                              s->ok ? s->out.created : s->req->create_time,
                              s->ok && s->after == AFTER_DUPE);
    }
    free(st);
}

static int msg_data_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    msg_data_batch(x, &m, 1);
    return x->frame ? 0 : -1;
}

/* ---- CID_MSG_READ_ACK (no answer) ---- */

static void read_ack_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMMsgDataReadAck *req = (const IM__Message__IMMsgDataReadAck *)m;
    log_info("%s from %s: user %u's unread count of %u not cleared", x->cmd->name, x->peer,
             (unsigned)req->user_id, (unsigned)req->session_id);
}

static int read_ack_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMMsgDataReadAck *req = (const IM__Message__IMMsgDataReadAck *)m;
    if (req->session_type == GROUP)
        return dbp_group_read_ack(x, req);
    if (req->session_type != SINGLE)
        return 0;
    if (req->user_id == 0 || req->session_id == 0)
        return 0;
    unread_clear(x, req->user_id, req->session_id); /* logged; nothing to answer */
    return 0;
}

/* ---- CID_MSG_UNREAD_CNT_REQUEST ---- */

static void unread_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMUnreadMsgCntReq *req = (const IM__Message__IMUnreadMsgCntReq *)m;
    IM__Message__IMUnreadMsgCntRsp rsp = IM__MESSAGE__IMUNREAD_MSG_CNT_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

typedef struct unread_peer_s {
    uint32_t peer;   /* session id */
    uint32_t count;  /* unread messages */
} unread_peer_t;

/* Parses a decimal uint32 that is the whole string. */
static int parse_u32(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* HGETALL unread_<user>: the peers with a positive count. *n = -1 on a Redis failure. */
static unread_peer_t *unread_peers(dbp_ctx_t *x, uint32_t user, long *n)
{
    *n = -1;
    char key[32];
    snprintf(key, sizeof(key), "unread_%u", (unsigned)user);
    dbp_cache_conn_t *rc = dbp_cache(x, x->dbp->unread);
    if (!rc)
        return NULL;
    redisReply *r = dbp_cache_cmdv(rc, "HGETALL", key, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        log_warn("%s from %s: HGETALL %s failed: %s", x->cmd->name, x->peer, key,
                 r && r->type == REDIS_REPLY_ERROR ? r->str : dbp_cache_error(rc));
        if (r)
            freeReplyObject(r);
        dbp_cache_put(x->dbp->unread, rc);
        return NULL;
    }
    dbp_cache_put(x->dbp->unread, rc);
    size_t pairs = r->elements / 2;
    unread_peer_t *v = calloc(pairs ? pairs : 1, sizeof(*v));
    if (!v) {
        freeReplyObject(r);
        return NULL;
    }
    long k = 0;
    for (size_t i = 0; i < pairs; i++) {
        redisReply *f = r->element[2 * i], *c = r->element[2 * i + 1];
        uint32_t peer, count;
        if (f->type != REDIS_REPLY_STRING || c->type != REDIS_REPLY_STRING ||
            parse_u32(f->str, f->len, &peer) < 0 || parse_u32(c->str, c->len, &count) < 0 ||
            peer == 0 || count == 0)
            continue; /* not a counter this server wrote, or nothing unread */
        if (k == DBP_MSG_UNREAD_MAX) {
            log_info("user %u has unread messages in %zu conversations: %d answered",
                     (unsigned)user, pairs, DBP_MSG_UNREAD_MAX);
            break;
        }
        v[k].peer = peer;
        v[k].count = count;
        k++;
    }
    freeReplyObject(r);
    *n = k;
    return v;
}

static int unread_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMUnreadMsgCntReq *req = (const IM__Message__IMUnreadMsgCntReq *)m;
    long n = 0;
    unread_peer_t *peers = req->user_id ? unread_peers(x, req->user_id, &n) : NULL;
    if (n < 0)
        return -1;
    dbp_group_entries_t groups = {0};
    if (req->user_id) {
        td_conn_t *gc = dbp_db(x, 0);
        int grc = gc ? dbp_group_unread(x, gc, req->user_id, &groups) : -1;
        dbp_db_put(x, gc, 0);
        if (grc < 0) {
            free(peers);
            return -1;
        }
    }
    size_t cap = (n > 0 ? (size_t)n : 1) + groups.n;
    IM__BaseDefine__UnreadInfo *items = calloc(cap, sizeof(*items));
    IM__BaseDefine__UnreadInfo **ptrs = calloc(cap, sizeof(*ptrs));
    td_msg_t **latest = calloc(cap, sizeof(*latest));
    int rc = items && ptrs && latest ? 0 : -1;
    size_t k = 0, bytes = 0, budget = answer_budget(x);
    uint64_t total = 0;
    if (rc == 0 && n > 0) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            rc = -1;
        for (long i = 0; c && rc == 0 && i < n; i++) {
            uint32_t rel = 0;
            int found = td_relation_find(c, req->user_id, peers[i].peer, &rel);
            if (found > 0)
                found = td_msg_latest(c, rel, &latest[k]);
            if (found < 0) {
                dbp_db_failed(x, c, "latest message");
                rc = -1;
                break;
            }
            if (found == 0 || !known_single_type(latest[k]->type)) {
                td_msg_free(latest[k]);
                latest[k] = NULL;
                continue; /* no message to show: left out, as the original */
            }
            const td_msg_t *lm = latest[k];
            bytes += lm->len + 32;
            if (bytes > budget) { /* the answer must stay below MaxPduSize */
                log_info("unread counts of user %u: %zu of %ld conversations fit in one answer",
                         (unsigned)req->user_id, k, n);
                break;
            }
            IM__BaseDefine__UnreadInfo *u = &items[k];
            im__base_define__unread_info__init(u);
            u->session_id = peers[i].peer;
            u->session_type = SINGLE;
            u->unread_cnt = peers[i].count;
            u->latest_msg_id = lm->msg_id;
            u->latest_msg_data = dbp_msg_summary(lm);
            u->latest_msg_type = (IM__BaseDefine__MsgType)lm->type;
            u->latest_msg_from_user_id = lm->from_id; /* the real sender */
            ptrs[k] = u;
            total += peers[i].count;
            k++;
        }
        if (c)
            dbp_db_put(x, c, 0);
    }
    for (size_t i = 0; rc == 0 && i < groups.n; i++) {
        bytes += groups.latest[i]->len + 32;
        if (bytes > budget)
            break;
        ptrs[k++] = &groups.unread[i];
        total += groups.unread[i].unread_cnt;
    }
    if (rc == 0) {
        IM__Message__IMUnreadMsgCntRsp rsp = IM__MESSAGE__IMUNREAD_MSG_CNT_RSP__INIT;
        rsp.user_id = req->user_id;
        rsp.total_cnt = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
        rsp.n_unreadinfo_list = k;
        rsp.unreadinfo_list = ptrs;
        rsp.has_attach_data = req->has_attach_data;
        rsp.attach_data = req->attach_data;
        rc = dbp_answer(x, &rsp.base);
    }
    for (size_t i = 0; latest && i < cap; i++)
        td_msg_free(latest[i]);
    free(latest);
    free(items);
    free(ptrs);
    free(peers);
    dbp_group_entries_free(&groups);
    return rc;
}

/* ---- message lists (history, by id) ---- */

/* MsgInfo messages for a list (data points into the rows); rows of unknown types are left
 * out. NULL on out-of-memory. *n gets the number kept. */
static IM__BaseDefine__MsgInfo **msg_infos(const td_msg_list_t *l, IM__BaseDefine__MsgInfo **items,
                                          size_t *n)
{
    *items = calloc(l->n ? l->n : 1, sizeof(**items));
    IM__BaseDefine__MsgInfo **ptrs = calloc(l->n ? l->n : 1, sizeof(*ptrs));
    if (!*items || !ptrs) {
        free(*items);
        free(ptrs);
        *items = NULL;
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (dbp_msg_info(&(*items)[k], l->v[i]) == 0) {
            ptrs[k] = &(*items)[k];
            k++;
        }
    *n = k;
    return ptrs;
}

/* ---- CID_MSG_LIST_REQUEST ---- */

static int list_answer(dbp_ctx_t *x, const IM__Message__IMGetMsgListReq *req,
                       const td_msg_list_t *l)
{
    IM__BaseDefine__MsgInfo *items = NULL;
    size_t n = 0;
    IM__BaseDefine__MsgInfo **ptrs = msg_infos(l, &items, &n);
    if (!ptrs)
        return -1;
    IM__Message__IMGetMsgListRsp rsp = IM__MESSAGE__IMGET_MSG_LIST_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.session_type = req->session_type;
    rsp.session_id = req->session_id;
    rsp.msg_id_begin = req->msg_id_begin;
    rsp.n_msg_list = n;
    rsp.msg_list = ptrs;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    int rc = dbp_answer(x, &rsp.base);
    free(items);
    free(ptrs);
    return rc;
}

static void list_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    td_msg_list_t none = {0};
    list_answer(x, (const IM__Message__IMGetMsgListReq *)m, &none);
}

static int list_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMGetMsgListReq *req = (const IM__Message__IMGetMsgListReq *)m;
    if (req->session_type == GROUP)
        return dbp_group_list(x, req, answer_budget(x));
    td_msg_list_t l = {0};
    if (req->session_type == SINGLE && req->user_id && req->session_id && req->msg_cnt) {
        uint32_t cnt = req->msg_cnt > DBP_MSG_LIST_MAX ? DBP_MSG_LIST_MAX : req->msg_cnt;
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        uint32_t rel = 0;
        int rc = td_relation_find(c, req->user_id, req->session_id, &rel);
        if (rc > 0)
            rc = td_msg_list(c, rel, req->msg_id_begin, cnt, answer_budget(x), &l);
        if (rc < 0)
            dbp_db_failed(x, c, "message list");
        dbp_db_put(x, c, 0);
        if (rc < 0) {
            td_msg_list_free(&l);
            return -1;
        }
    }
    int rc = list_answer(x, req, &l);
    td_msg_list_free(&l);
    return rc;
}

/* ---- CID_MSG_GET_BY_MSG_ID_REQ ---- */

static int by_ids_answer(dbp_ctx_t *x, const IM__Message__IMGetMsgByIdReq *req,
                         const td_msg_list_t *l)
{
    IM__BaseDefine__MsgInfo *items = NULL;
    size_t n = 0;
    IM__BaseDefine__MsgInfo **ptrs = msg_infos(l, &items, &n);
    if (!ptrs)
        return -1;
    IM__Message__IMGetMsgByIdRsp rsp = IM__MESSAGE__IMGET_MSG_BY_ID_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.session_type = req->session_type;
    rsp.session_id = req->session_id;
    rsp.n_msg_list = n;
    rsp.msg_list = ptrs;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    int rc = dbp_answer(x, &rsp.base);
    free(items);
    free(ptrs);
    return rc;
}

static void by_ids_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    td_msg_list_t none = {0};
    by_ids_answer(x, (const IM__Message__IMGetMsgByIdReq *)m, &none);
}

static int by_ids_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMGetMsgByIdReq *req = (const IM__Message__IMGetMsgByIdReq *)m;
    if (req->session_type == GROUP)
        return dbp_group_by_ids(x, req, answer_budget(x));
    td_msg_list_t l = {0};
    size_t n = req->n_msg_id_list;
    if (n > TD_MSG_IDS_MAX) {
        log_info("%s from %s for %zu messages: only the first %d looked up", x->cmd->name,
                 x->peer, n, TD_MSG_IDS_MAX);
        n = TD_MSG_IDS_MAX;
    }
    if (req->session_type == SINGLE && req->user_id && req->session_id && n) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        uint32_t rel = 0;
        int rc = td_relation_find(c, req->user_id, req->session_id, &rel);
        if (rc > 0)
            rc = td_msg_by_ids(c, rel, req->msg_id_list, n, answer_budget(x), &l);
        if (rc < 0)
            dbp_db_failed(x, c, "messages by id");
        dbp_db_put(x, c, 0);
        if (rc < 0) {
            td_msg_list_free(&l);
            return -1;
        }
    }
    int rc = by_ids_answer(x, req, &l);
    td_msg_list_free(&l);
    return rc;
}

/* ---- CID_MSG_GET_LATEST_MSG_ID_REQ ---- */

static int latest_answer(dbp_ctx_t *x, const IM__Message__IMGetLatestMsgIdReq *req,
                         uint32_t latest)
{
    IM__Message__IMGetLatestMsgIdRsp rsp = IM__MESSAGE__IMGET_LATEST_MSG_ID_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.session_type = req->session_type;
    rsp.session_id = req->session_id;
    rsp.latest_msg_id = latest;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    return dbp_answer(x, &rsp.base);
}

static void latest_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    latest_answer(x, (const IM__Message__IMGetLatestMsgIdReq *)m, 0);
}

static int latest_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Message__IMGetLatestMsgIdReq *req = (const IM__Message__IMGetLatestMsgIdReq *)m;
    if (req->session_type == GROUP)
        return dbp_group_latest(x, req);
    uint32_t latest = 0;
    if (req->session_type == SINGLE && req->user_id && req->session_id) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        uint32_t rel = 0;
        td_msg_t *lm = NULL;
        int rc = td_relation_find(c, req->user_id, req->session_id, &rel);
        if (rc > 0)
            rc = td_msg_latest(c, rel, &lm);
        if (rc < 0)
            dbp_db_failed(x, c, "latest message id");
        dbp_db_put(x, c, 0);
        if (rc < 0)
            return -1;
        if (lm)
            latest = lm->msg_id;
        td_msg_free(lm);
    }
    return latest_answer(x, req, latest);
}

/* ---- CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST ---- */

static void sessions_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMRecentContactSessionReq *req =
        (const IM__Buddy__IMRecentContactSessionReq *)m;
    IM__Buddy__IMRecentContactSessionRsp rsp = IM__BUDDY__IMRECENT_CONTACT_SESSION_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static int sessions_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMRecentContactSessionReq *req =
        (const IM__Buddy__IMRecentContactSessionReq *)m;
    td_session_t sess[DBP_MSG_SESSIONS_MAX];
    IM__BaseDefine__ContactSessionInfo items[DBP_MSG_SESSIONS_MAX];
    IM__BaseDefine__ContactSessionInfo *ptrs[DBP_MSG_SESSIONS_MAX];
    td_msg_t *latest[DBP_MSG_SESSIONS_MAX];
    dbp_group_entries_t groups = {0};
    size_t n = 0, k = 0;
    int rc = 0;
    if (req->user_id) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        rc = td_sessions_recent(c, req->user_id, TD_SESSION_SINGLE, req->latest_update_time,
                                sess, DBP_MSG_SESSIONS_MAX, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            uint32_t rel = 0;
            latest[k] = NULL;
            int found = td_relation_find(c, req->user_id, sess[i].peer_id, &rel);
            if (found > 0)
                found = td_msg_latest(c, rel, &latest[k]);
            if (found < 0) {
                rc = -1;
                break;
            }
            if (found == 0 || !known_single_type(latest[k]->type)) {
                td_msg_free(latest[k]);
                continue; /* sessions without a message are left out */
            }
            const td_msg_t *lm = latest[k];
            IM__BaseDefine__ContactSessionInfo *s = &items[k];
            im__base_define__contact_session_info__init(s);
            s->session_id = sess[i].peer_id;
            s->session_type = SINGLE;
            s->session_status = IM__BASE_DEFINE__SESSION_STATUS_TYPE__SESSION_STATUS_OK;
            s->updated_time = sess[i].updated;
            s->latest_msg_id = lm->msg_id;
            s->latest_msg_data = dbp_msg_summary(lm);
            s->latest_msg_type = (IM__BaseDefine__MsgType)lm->type;
            s->latest_msg_from_user_id = lm->from_id; /* the real sender */
            ptrs[k] = s;
            k++;
        }
        if (rc < 0)
            dbp_db_failed(x, c, "recent sessions");
        if (rc == 0)
            rc = dbp_group_sessions(x, c, req->user_id, req->latest_update_time,
                                    DBP_MSG_SESSIONS_MAX, &groups);
        dbp_db_put(x, c, 0);
    }
    /* group sessions merged in, newest first, at most DBP_MSG_SESSIONS_MAX in all */
    IM__BaseDefine__ContactSessionInfo *all[2 * DBP_MSG_SESSIONS_MAX];
    size_t na = 0;
    for (size_t i = 0, j = 0; rc == 0 && na < DBP_MSG_SESSIONS_MAX && (i < k || j < groups.n);) {
        if (j >= groups.n || (i < k && ptrs[i]->updated_time >= groups.sess[j].updated_time))
            all[na++] = ptrs[i++];
        else
            all[na++] = &groups.sess[j++];
    }
    if (rc == 0) {
        IM__Buddy__IMRecentContactSessionRsp rsp = IM__BUDDY__IMRECENT_CONTACT_SESSION_RSP__INIT;
        rsp.user_id = req->user_id;
        rsp.n_contact_session_list = na;
        rsp.contact_session_list = all;
        rsp.has_attach_data = req->has_attach_data;
        rsp.attach_data = req->attach_data;
        rc = dbp_answer(x, &rsp.base);
    }
    for (size_t i = 0; i < k; i++)
        td_msg_free(latest[i]);
    dbp_group_entries_free(&groups);
    return rc;
}

/* ---- CID_BUDDY_LIST_REMOVE_SESSION_REQ ---- */

static void remove_answer(dbp_ctx_t *x, const IM__Buddy__IMRemoveSessionReq *req, uint32_t code)
{
    IM__Buddy__IMRemoveSessionRsp rsp = IM__BUDDY__IMREMOVE_SESSION_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    rsp.session_type = req->session_type;
    rsp.session_id = req->session_id;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void remove_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    remove_answer(x, (const IM__Buddy__IMRemoveSessionReq *)m, 1);
}

static int remove_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMRemoveSessionReq *req = (const IM__Buddy__IMRemoveSessionReq *)m;
    if (req->user_id == 0 || req->session_id == 0 ||
        (req->session_type != SINGLE && req->session_type != GROUP)) {
        remove_answer(x, req, 1);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    int removed = 0;
    int rc = td_session_remove(c, req->user_id, req->session_id, req->session_type, &removed);
    if (rc < 0)
        dbp_db_failed(x, c, "session removal");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    if (removed && req->session_type == SINGLE)
        unread_clear(x, req->user_id, req->session_id);
    remove_answer(x, req, removed ? 0 : 1);
    return 0;
}

const dbp_cmd_t dbp_msg_cmds[] = {
    {MSG(DATA), "IMMsgData", &im__message__immsg_data__descriptor, SID_MSG, MSG(DATA),
     msg_data_run, msg_data_fail, msg_data_batch},
    /* no answer: run and fail leave the frame empty */
    {MSG(READ_ACK), "IMMsgDataReadAck", &im__message__immsg_data_read_ack__descriptor, SID_MSG,
     MSG(READ_ACK), read_ack_run, read_ack_fail, NULL},
    {MSG(UNREAD_CNT_REQUEST), "IMUnreadMsgCntReq", &im__message__imunread_msg_cnt_req__descriptor,
     SID_MSG, MSG(UNREAD_CNT_RESPONSE), unread_run, unread_fail, NULL},
    {MSG(LIST_REQUEST), "IMGetMsgListReq", &im__message__imget_msg_list_req__descriptor, SID_MSG,
     MSG(LIST_RESPONSE), list_run, list_fail, NULL},
    {MSG(GET_LATEST_MSG_ID_REQ), "IMGetLatestMsgIdReq",
     &im__message__imget_latest_msg_id_req__descriptor, SID_MSG, MSG(GET_LATEST_MSG_ID_RSP),
     latest_run, latest_fail, NULL},
    {MSG(GET_BY_MSG_ID_REQ), "IMGetMsgByIdReq", &im__message__imget_msg_by_id_req__descriptor,
     SID_MSG, MSG(GET_BY_MSG_ID_RES), by_ids_run, by_ids_fail, NULL},
    {BUDDY(RECENT_CONTACT_SESSION_REQUEST), "IMRecentContactSessionReq",
     &im__buddy__imrecent_contact_session_req__descriptor, DBP_SID_BUDDY,
     BUDDY(RECENT_CONTACT_SESSION_RESPONSE), sessions_run, sessions_fail, NULL},
    {BUDDY(REMOVE_SESSION_REQ), "IMRemoveSessionReq", &im__buddy__imremove_session_req__descriptor,
     DBP_SID_BUDDY, BUDDY(REMOVE_SESSION_RES), remove_run, remove_fail, NULL},
};
const size_t dbp_msg_ncmds = sizeof(dbp_msg_cmds) / sizeof(dbp_msg_cmds[0]);
