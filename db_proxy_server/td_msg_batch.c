/* td_msg_store_batch: many messages in one transaction with few statements (td_msg.h).
 *
 * Writes go out as bulk executions of a one-row statement (td_exec_bulk: one round trip for
 * any number of rows). Reads are multi-row statements in a few fixed shapes (256, 64, 16, 4
 * and 1 conditions), padded by repeating a condition, so each connection prepares
 * a bounded set of statements once and reuses them (td_bulk.h).
 *
 * Everything a message needs of its conversation is in the conversation's tt_pair_lock row
 * (migration 009): its relation id, last msgId and what is known of its recent-session rows.
 * One upsert with RETURNING (per shape: one for up to 256 conversations) locks the rows of the
 * batch's conversations (in sorted order, so two batches cannot wait on each other in a cycle),
 * moves their counters on and gives back their relation ids and last ids. A warm conversation costs no other row but its messages, their
 * resend keys, and its two recent-session rows once a second (when the newest message's time
 * passes what they hold). A conversation whose row is not filled yet (first contact, or older
 * than migration 009) is filled once: its relation read (created when there is none), its id
 * continued from tt_msg_counter or MAX(msgId) — all conversations of the batch together. */
#include <stdlib.h>
#include <string.h>

#include "td_bulk.h"
#include "td_msg.h"

/* ---- statement shapes ---- */

enum {
    K_PAIR_UP,    /* conversation rows: lock, counter moved on, session time */
    K_PAIR_UP_GET, /* the same for the busy ones, returning their rows */
    K_PAIR_SET,   /* relation, counter and session ids of rows filled or learned */
    K_DEDUPE_GET, /* resend keys */
    K_REL_GET,    /* relations (any status) */
    K_REL_ADD,
    K_REL_ON,
    K_CTR_GET,    /* the id counters of conversations older than their row */
    K_CTR_DEL,
    K_SESS_GET,   /* recent-session rows */
    K_SESS_PUT,
    K_DEDUPE_PUT,
    K_MSG_ADD,    /* + shard: one kind per message table */
    K_COUNT = K_MSG_ADD + TD_MSG_SHARDS
};

#define MSG_ROW "(?, ?, ?, ?, ?, ?, 0, ?, ?)"
#define MSG_HEAD(n)                                                                           \
    "INSERT INTO IMMessage_" #n " (relateId, fromId, toId, msgId, content, type, status, "     \
    "created, updated) VALUES "
#define MSG_KIND(n) {MSG_HEAD(n), MSG_ROW, ", ", "", 8, 1}

/* The reads name their index (with a few thousand rows and 256 conditions the optimizer
 * would otherwise scan the whole table) and list their keys as a row IN list: a third of the
 * time of the same conditions OR-ed. */
static const td_bulk_kind_t KINDS[K_COUNT] = {
    /* sessWas is assigned first: it gets sessTime as it was before this statement. */
    [K_PAIR_UP] = {"INSERT INTO tt_pair_lock (smallId, bigId, lastMsgId, sessTime) VALUES ",
                   "(?, ?, ?, ?)", ", ",
                   " ON DUPLICATE KEY UPDATE sessWas = sessTime, sessTime = GREATEST(sessTime, "
                   "VALUES(sessTime)), lastMsgId = lastMsgId + VALUES(lastMsgId)",
                   4, 1},
    /* ... and as a "read" in shapes, with the rows as they are after it: a padding row (a
     * pair of the statement again, count and time 0) leaves its row as it is. */
    [K_PAIR_UP_GET] = {"INSERT INTO tt_pair_lock (smallId, bigId, lastMsgId, sessTime) VALUES ",
                       "(?, ?, ?, ?)", ", ",
                       " ON DUPLICATE KEY UPDATE sessWas = IF(VALUES(lastMsgId) = 0, sessWas, "
                       "sessTime), sessTime = GREATEST(sessTime, VALUES(sessTime)), lastMsgId = "
                       "lastMsgId + VALUES(lastMsgId) RETURNING smallId, bigId, relateId, "
                       "lastMsgId, sessWas, sessLo, sessHi",
                       4, 0, 2},
    [K_PAIR_SET] = {"INSERT INTO tt_pair_lock (smallId, bigId, relateId, lastMsgId, sessLo, "
                    "sessHi) VALUES ",
                    "(?, ?, ?, ?, ?, ?)", ", ",
                    " ON DUPLICATE KEY UPDATE relateId = VALUES(relateId), lastMsgId = "
                    "VALUES(lastMsgId), sessLo = VALUES(sessLo), sessHi = VALUES(sessHi)",
                    6, 1},
    [K_DEDUPE_GET] = {"SELECT fromId, clientKey, msgId, created FROM tt_msg_dedupe FORCE INDEX "
                      "(PRIMARY) WHERE (fromId, clientKey) IN (",
                      "(?, ?)", ", ", ")", 2},
    [K_REL_GET] = {"SELECT id, smallId, bigId, IFNULL(status, 1) FROM IMRelationShip FORCE "
                   "INDEX (idx_smallId_bigId_status_updated) WHERE (smallId, bigId) IN (",
                   "(?, ?)", ", ", ")", 2},
    [K_REL_ADD] = {"INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) "
                   "VALUES ", "(?, ?, 0, ?, ?)", ", ", "", 4, 1},
    [K_REL_ON] = {"UPDATE IMRelationShip SET status = 0, updated = ? WHERE id = ?", "", "", "", 2,
                  1},
    [K_CTR_GET] = {"SELECT sessionKey, lastMsgId FROM tt_msg_counter WHERE sessionKey IN (",
                   "?", ", ", ")", 1},
    [K_CTR_DEL] = {"DELETE FROM tt_msg_counter WHERE sessionKey = ?", "", "", "", 1, 1},
    [K_SESS_GET] = {"SELECT id, userId, peerId, IFNULL(status, 1), updated FROM IMRecentSession "
                    "FORCE INDEX (idx_userId_peerId_type) WHERE type = 1 AND (userId, peerId) IN (",
                    "(?, ?)", ", ", ")", 2},
    /* An existing row is named by its id (the update branch); a new one gets id 0, which
     * NULLIF turns into NULL: a fresh AUTO_INCREMENT value whatever the sql_mode. */
    [K_SESS_PUT] = {"INSERT INTO IMRecentSession (id, userId, peerId, type, status, created, "
                    "updated) VALUES ",
                    "(NULLIF(?, 0), ?, ?, 1, 0, ?, ?)", ", ",
                    " ON DUPLICATE KEY UPDATE status = 0, updated = GREATEST(IFNULL(updated, 0), "
                    "VALUES(updated))",
                    5, 1},
    [K_DEDUPE_PUT] = {"INSERT INTO tt_msg_dedupe (fromId, clientKey, msgId, created) VALUES ",
                      "(?, ?, ?, ?)", ", ",
                      " ON DUPLICATE KEY UPDATE msgId = VALUES(msgId), created = "
                      "VALUES(created)",
                      4, 1},
    [K_MSG_ADD + 0] = MSG_KIND(0), [K_MSG_ADD + 1] = MSG_KIND(1),
    [K_MSG_ADD + 2] = MSG_KIND(2), [K_MSG_ADD + 3] = MSG_KIND(3),
    [K_MSG_ADD + 4] = MSG_KIND(4), [K_MSG_ADD + 5] = MSG_KIND(5),
    [K_MSG_ADD + 6] = MSG_KIND(6), [K_MSG_ADD + 7] = MSG_KIND(7),
};

static char *g_text[K_COUNT][TD_BULK_SHAPES];
static td_bulk_t g_sql = {.kinds = KINDS, .nkinds = K_COUNT, .text = g_text};

/* ---- the batch ---- */

typedef struct pair_s {
    uint32_t lo, hi;       /* the users, lo < hi */
    uint32_t relate_id;    /* its relation (0: not known yet) */
    uint32_t last;         /* last msgId given out before this batch's (then: after them) */
    uint32_t when;         /* newest create time of its new messages */
    uint32_t count;        /* its new messages */
    uint32_t sess_was;     /* its session rows were brought to this time before (0: unknown) */
    uint32_t sess_lo;      /* IMRecentSession.id of (lo, hi) (0: not known) */
    uint32_t sess_hi;      /* IMRecentSession.id of (hi, lo) (0: not known) */
    uint32_t rel_id;       /* filling: the relation row chosen (0: none) */
    int rel_active;        /* filling: that row is active */
    int rel_new;           /* filling: the relation is created by this batch */
    int ctr_found;         /* filling: tt_msg_counter had its row */
    int filled;            /* its row had its relation id */
    int save;              /* its row gets relateId, lastMsgId, sessLo, sessHi written */
    int busy;              /* it has new messages in this batch */
} pair_t;

typedef struct sess_s {
    uint32_t user, peer; /* the row's owner and peer */
    uint32_t when;       /* updated to at least this */
    uint32_t id;         /* the row to reuse (0: insert one) */
    uint32_t updated;    /* its updated (looked up rows) */
    int active;          /* that row is active (looked up rows) */
    int lookup;          /* its id was not known: looked up */
} sess_t;

typedef struct batch_s {
    const td_msg_send_t *s;   /* the messages */
    td_msg_sent_t *out;       /* their results */
    size_t n;
    size_t *pair_of;          /* message -> pair */
    long *first;              /* message -> earlier message with the same resend key, or -1 */
    pair_t *pairs;            /* distinct pairs, sorted */
    size_t npairs;
    size_t *busy;             /* pairs with new messages, in order */
    size_t nbusy;
    size_t *todo;             /* scratch: pairs a step works on */
    size_t ntodo;
    sess_t *sess;             /* session rows of the busy pairs, sorted by (user, peer) */
    size_t nsess;
    char (*content)[TD_MSG_AUDIO_ID_LEN]; /* voice messages' content */
    size_t *content_len;
    size_t *order;            /* scratch: indexes of messages or session rows */
    size_t norder;
    uint64_t affected;        /* rows the writes changed, summed */
    int fast;                 /* resend keys not read first: their insert tells */
    int redo;                 /* the fast attempt met a stored key: run the careful one */
    union {                   /* fetch buffers of the current query */
        struct { uint32_t from, msg_id, created; uint64_t key; } dd;
        struct { uint32_t lo, hi, rel, last, was, slo, shi; } pr;
        struct { uint32_t id, lo, hi, status; } rel;
        struct { uint64_t key; uint32_t last; } ctr;
        struct { uint32_t id, user, peer, status, updated; } ss;
    } f;
} batch_t;

static int cmp_pair(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int cmp_sess(const void *a, const void *b)
{
    const sess_t *x = a, *y = b;
    if (x->user != y->user)
        return x->user < y->user ? -1 : 1;
    return x->peer < y->peer ? -1 : x->peer > y->peer;
}

static pair_t *pair_find(batch_t *b, uint32_t lo, uint32_t hi)
{
    pair_t key = {.lo = lo, .hi = hi};
    return bsearch(&key, b->pairs, b->npairs, sizeof(pair_t), cmp_pair);
}

static int is_new(const batch_t *b, size_t i)
{
    return b->first[i] < 0 && !b->out[i].duplicate;
}

/* ---- the steps of one attempt ---- */

/* Every pair's row locked, nothing changed (the careful attempt, before its resend check). */
static void fill_lock(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    a[0] = TD_U32(b->pairs[i].lo);
    a[1] = TD_U32(b->pairs[i].hi);
    a[2] = TD_U32(0);
    a[3] = TD_U32(0);
}

/* Resend keys: the first message of each key (b->order). */
static void fill_dedupe_get(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const td_msg_send_t *s = &b->s[b->order[i]];
    a[0] = TD_U32(s->from);
    a[1] = TD_U64(s->client_key);
}

static int on_dedupe(void *arg)
{
    batch_t *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        const td_msg_send_t *s = &b->s[i];
        if (b->first[i] >= 0 || !s->dedupe_window || s->from != b->f.dd.from ||
            s->client_key != b->f.dd.key)
            continue;
        if (b->f.dd.msg_id != 0 && (uint64_t)b->f.dd.created + s->dedupe_window >= s->create_time) {
            b->out[i].msg_id = b->f.dd.msg_id;
            b->out[i].created = b->f.dd.created;
            b->out[i].duplicate = 1;
        }
    }
    return 0;
}

static int resend_check(td_conn_t *c, batch_t *b)
{
    b->norder = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->first[i] < 0 && b->s[i].dedupe_window)
            b->order[b->norder++] = i;
    td_col_t cols[] = {TD_COL_U32(&b->f.dd.from), TD_COL_U64(&b->f.dd.key),
                       TD_COL_U32(&b->f.dd.msg_id), TD_COL_U32(&b->f.dd.created)};
    return td_bulk_read(c, &g_sql, K_DEDUPE_GET, b->norder, fill_dedupe_get, b, cols, 4, on_dedupe);
}

/* The pairs of b->todo. */
static void fill_todo_pair(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const pair_t *p = &b->pairs[b->todo[i]];
    a[0] = TD_U32(p->lo);
    a[1] = TD_U32(p->hi);
}

static void fill_pair_up(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const pair_t *p = &b->pairs[b->todo[i]];
    a[0] = TD_U32(p->lo);
    a[1] = TD_U32(p->hi);
    a[2] = TD_U32(p->count);
    a[3] = TD_U32(p->when);
}

static int on_pair_row(void *arg)
{
    batch_t *b = arg;
    pair_t *p = pair_find(b, b->f.pr.lo, b->f.pr.hi);
    if (!p || !p->busy)
        return 0;
    p->filled = b->f.pr.rel != 0 && b->f.pr.last >= p->count;
    p->relate_id = p->filled ? b->f.pr.rel : 0;
    p->last = b->f.pr.last - (p->filled ? p->count : 0);
    p->sess_was = b->f.pr.was;
    p->sess_lo = b->f.pr.slo;
    p->sess_hi = b->f.pr.shi;
    return 0;
}

/* The busy pairs' rows: locked, their counters moved on by their new messages and their
 * session time raised, and read as they are then — one upsert with RETURNING per shape
 * (a batch of 253 conversations: 256 rows, 3 of them padding). */
static int pair_rows(td_conn_t *c, batch_t *b)
{
    memcpy(b->todo, b->busy, b->nbusy * sizeof(*b->todo));
    b->ntodo = b->nbusy;
    td_col_t cols[] = {TD_COL_U32(&b->f.pr.lo),   TD_COL_U32(&b->f.pr.hi),
                       TD_COL_U32(&b->f.pr.rel),  TD_COL_U32(&b->f.pr.last),
                       TD_COL_U32(&b->f.pr.was),  TD_COL_U32(&b->f.pr.slo),
                       TD_COL_U32(&b->f.pr.shi)};
    return td_bulk_read(c, &g_sql, K_PAIR_UP_GET, b->ntodo, fill_pair_up, b, cols, 7,
                        on_pair_row);
}

/* Relations of the pairs being filled: the active row with the smallest id, else the smallest
 * (reactivated), else a new one. */
static int on_relation(void *arg)
{
    batch_t *b = arg;
    pair_t *p = pair_find(b, b->f.rel.lo, b->f.rel.hi);
    if (!p || !p->busy || p->filled)
        return 0;
    int active = b->f.rel.status == 0;
    if (p->rel_id == 0 || (active && !p->rel_active) ||
        (active == p->rel_active && b->f.rel.id < p->rel_id)) {
        p->rel_id = b->f.rel.id;
        p->rel_active = active;
    }
    return 0;
}

static void fill_rel_on(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const pair_t *p = &b->pairs[b->todo[i]];
    a[0] = TD_U32(p->when);
    a[1] = TD_U32(p->rel_id);
}

static void fill_rel_add(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const pair_t *p = &b->pairs[b->todo[i]];
    a[0] = TD_U32(p->lo);
    a[1] = TD_U32(p->hi);
    a[2] = TD_U32(p->when);
    a[3] = TD_U32(p->when);
}

/* b->todo = the pairs being filled for which keep(p) holds; their number. */
static size_t todo_where(batch_t *b, int (*keep)(const pair_t *p))
{
    b->ntodo = 0;
    for (size_t k = 0; k < b->nbusy; k++) {
        const pair_t *p = &b->pairs[b->busy[k]];
        if (!p->filled && keep(p))
            b->todo[b->ntodo++] = b->busy[k];
    }
    return b->ntodo;
}

static int any_pair(const pair_t *p) { (void)p; return 1; }
static int rel_off(const pair_t *p) { return p->rel_id && !p->rel_active; }
static int rel_none(const pair_t *p) { return p->rel_id == 0; }
static int rel_old(const pair_t *p) { return !p->rel_new; }
static int ctr_none(const pair_t *p) { return !p->rel_new && !p->ctr_found; }
static int ctr_moved(const pair_t *p) { return p->ctr_found; }

static int relations(td_conn_t *c, batch_t *b)
{
    td_col_t cols[] = {TD_COL_U32(&b->f.rel.id), TD_COL_U32(&b->f.rel.lo),
                       TD_COL_U32(&b->f.rel.hi), TD_COL_U32(&b->f.rel.status)};
    todo_where(b, any_pair);
    if (td_bulk_read(c, &g_sql, K_REL_GET, b->ntodo, fill_todo_pair, b, cols, 4, on_relation) < 0)
        return -1;
    if (todo_where(b, rel_off) &&
        td_bulk_write(c, &g_sql, K_REL_ON, b->ntodo, fill_rel_on, b, &b->affected) < 0)
        return -1;
    if (todo_where(b, rel_none)) {
        for (size_t k = 0; k < b->ntodo; k++)
            b->pairs[b->todo[k]].rel_new = 1;
        if (td_bulk_write(c, &g_sql, K_REL_ADD, b->ntodo, fill_rel_add, b, &b->affected) < 0 ||
            td_bulk_read(c, &g_sql, K_REL_GET, b->ntodo, fill_todo_pair, b, cols, 4,
                         on_relation) < 0)
            return -1;
    }
    todo_where(b, any_pair);
    for (size_t k = 0; k < b->ntodo; k++) {
        pair_t *p = &b->pairs[b->todo[k]];
        if (p->rel_id == 0)
            return -1; /* the row just inserted is not there: cannot happen */
        p->relate_id = p->rel_id;
        p->last = 0;
        p->save = 1;
    }
    return 0;
}

/* Ids of the pairs being filled: a relation this batch made has no messages; an older one
 * continues from its tt_msg_counter row (which is then deleted: the counter lives in the
 * pair's row now, and an older db_proxy would fall back on MAX(msgId)), else from its
 * messages. */
static void fill_ctr_key(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    a[0] = TD_U64(td_msg_session_key(TD_SESSION_SINGLE, b->pairs[b->todo[i]].relate_id));
}

static int on_counter(void *arg)
{
    batch_t *b = arg;
    for (size_t k = 0; k < b->ntodo; k++) {
        pair_t *p = &b->pairs[b->todo[k]];
        if (td_msg_session_key(TD_SESSION_SINGLE, p->relate_id) == b->f.ctr.key) {
            p->last = b->f.ctr.last;
            p->ctr_found = 1;
        }
    }
    return 0;
}

static int counters(td_conn_t *c, batch_t *b)
{
    td_col_t cols[] = {TD_COL_U64(&b->f.ctr.key), TD_COL_U32(&b->f.ctr.last)};
    if (todo_where(b, rel_old) &&
        td_bulk_read(c, &g_sql, K_CTR_GET, b->ntodo, fill_ctr_key, b, cols, 2, on_counter) < 0)
        return -1;
    todo_where(b, ctr_none);
    for (size_t k = 0; k < b->ntodo; k++) {
        pair_t *p = &b->pairs[b->todo[k]];
        if (td_msg_max_id(c, p->relate_id, &p->last) < 0)
            return -1;
    }
    if (todo_where(b, ctr_moved) &&
        td_bulk_write(c, &g_sql, K_CTR_DEL, b->ntodo, fill_ctr_key, b, &b->affected) < 0)
        return -1;
    return 0;
}

static int assign_ids(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!is_new(b, i))
            continue;
        pair_t *p = &b->pairs[b->pair_of[i]];
        if (p->last == UINT32_MAX)
            return -1; /* never in practice: 4 billion messages in one conversation */
        b->out[i].msg_id = ++p->last;
        b->out[i].relate_id = p->relate_id;
        b->out[i].created = b->s[i].create_time;
    }
    return 0;
}

/* The messages, one bulk INSERT per shard (b->order: that shard's new messages). */
static void fill_msg(void *ctx, size_t k, td_arg_t *a)
{
    const batch_t *b = ctx;
    size_t i = b->order[k];
    const td_msg_send_t *s = &b->s[i];
    const td_msg_sent_t *o = &b->out[i];
    const char *content = (const char *)s->data;
    size_t len = s->len;
    if (s->type == TD_MSG_TYPE_AUDIO) {
        content = b->content[i];
        len = b->content_len[i];
    }
    a[0] = TD_U32(o->relate_id);
    a[1] = TD_U32(s->from);
    a[2] = TD_U32(s->to);
    a[3] = TD_U32(o->msg_id);
    a[4] = TD_STRN(content, len);
    a[5] = TD_U32(s->type);
    a[6] = TD_U32(s->create_time);
    a[7] = TD_U32(s->create_time);
}

static int insert_messages(td_conn_t *c, batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (is_new(b, i) && b->s[i].type == TD_MSG_TYPE_AUDIO &&
            td_msg_audio_store(c, &b->s[i], b->content[i], &b->content_len[i]) < 0)
            return -1;
    for (unsigned shard = 0; shard < TD_MSG_SHARDS; shard++) {
        b->norder = 0;
        for (size_t i = 0; i < b->n; i++)
            if (is_new(b, i) && td_msg_shard(b->out[i].relate_id) == shard)
                b->order[b->norder++] = i;
        if (b->norder && td_bulk_write(c, &g_sql, K_MSG_ADD + (int)shard, b->norder, fill_msg,
                                       b, &b->affected) < 0)
            return -1;
    }
    return 0;
}

/* Recent sessions: both rows of every busy pair active and updated at least to its newest
 * message — written only when the pair's row says they may be older. A row whose id the pair's
 * row does not know is looked up (the active one with the smallest id, else the smallest; none:
 * inserted), and the id learned is kept in the pair's row. */
static void fill_sess_get(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    a[0] = TD_U32(b->sess[b->order[i]].user);
    a[1] = TD_U32(b->sess[b->order[i]].peer);
}

static void fill_sess_put(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const sess_t *s = &b->sess[b->order[i]];
    a[0] = TD_U32(s->id);
    a[1] = TD_U32(s->user);
    a[2] = TD_U32(s->peer);
    a[3] = TD_U32(s->when);
    a[4] = TD_U32(s->when);
}

static int on_session_row(void *arg)
{
    batch_t *b = arg;
    sess_t key = {.user = b->f.ss.user, .peer = b->f.ss.peer};
    sess_t *s = bsearch(&key, b->sess, b->nsess, sizeof(sess_t), cmp_sess);
    if (!s || !s->lookup)
        return 0;
    int active = b->f.ss.status == 0;
    if (s->id == 0 || (active && !s->active) ||
        (active == s->active && b->f.ss.id < s->id)) {
        s->id = b->f.ss.id;
        s->active = active;
        s->updated = b->f.ss.updated;
    }
    return 0;
}

static int sessions(td_conn_t *c, batch_t *b)
{
    b->nsess = 0;
    for (size_t k = 0; k < b->nbusy; k++) {
        const pair_t *p = &b->pairs[b->busy[k]];
        if (p->sess_was >= p->when)
            continue; /* both rows are as new already */
        b->sess[b->nsess++] = (sess_t){.user = p->lo, .peer = p->hi, .when = p->when,
                                       .id = p->sess_lo, .lookup = p->sess_lo == 0};
        b->sess[b->nsess++] = (sess_t){.user = p->hi, .peer = p->lo, .when = p->when,
                                       .id = p->sess_hi, .lookup = p->sess_hi == 0};
    }
    if (b->nsess == 0)
        return 0;
    qsort(b->sess, b->nsess, sizeof(sess_t), cmp_sess);
    b->norder = 0;
    for (size_t k = 0; k < b->nsess; k++)
        if (b->sess[k].lookup)
            b->order[b->norder++] = k;
    td_col_t cols[] = {TD_COL_U32(&b->f.ss.id), TD_COL_U32(&b->f.ss.user),
                       TD_COL_U32(&b->f.ss.peer), TD_COL_U32(&b->f.ss.status),
                       TD_COL_U32(&b->f.ss.updated)};
    if (td_bulk_read(c, &g_sql, K_SESS_GET, b->norder, fill_sess_get, b, cols, 5,
                     on_session_row) < 0)
        return -1;
    b->norder = 0;
    for (size_t k = 0; k < b->nsess; k++) {
        sess_t *s = &b->sess[k];
        if (s->lookup && s->id) { /* learned: kept in the pair's row */
            pair_t *p = pair_find(b, s->user < s->peer ? s->user : s->peer,
                                  s->user < s->peer ? s->peer : s->user);
            if (p) {
                *(s->user == p->lo ? &p->sess_lo : &p->sess_hi) = s->id;
                p->save = 1;
            }
        }
        /* a row looked up and found active and as new is left as it is */
        if (!(s->lookup && s->id && s->active && s->updated >= s->when))
            b->order[b->norder++] = k;
    }
    return td_bulk_write(c, &g_sql, K_SESS_PUT, b->norder, fill_sess_put, b, &b->affected);
}

/* The rows filled or with session ids learned. */
static void fill_pair_set(void *ctx, size_t i, td_arg_t *a)
{
    const batch_t *b = ctx;
    const pair_t *p = &b->pairs[b->todo[i]];
    a[0] = TD_U32(p->lo);
    a[1] = TD_U32(p->hi);
    a[2] = TD_U32(p->relate_id);
    a[3] = TD_U32(p->last);
    a[4] = TD_U32(p->sess_lo);
    a[5] = TD_U32(p->sess_hi);
}

static int pair_save(td_conn_t *c, batch_t *b)
{
    b->ntodo = 0;
    for (size_t k = 0; k < b->nbusy; k++)
        if (b->pairs[b->busy[k]].save)
            b->todo[b->ntodo++] = b->busy[k];
    return td_bulk_write(c, &g_sql, K_PAIR_SET, b->ntodo, fill_pair_set, b, &b->affected);
}

static void fill_dedupe_put(void *ctx, size_t k, td_arg_t *a)
{
    const batch_t *b = ctx;
    size_t i = b->order[k];
    a[0] = TD_U32(b->s[i].from);
    a[1] = TD_U64(b->s[i].client_key);
    a[2] = TD_U32(b->out[i].msg_id);
    a[3] = TD_U32(b->s[i].create_time);
}

/* The busy pairs into b->busy, with their new messages' number and newest time; 0 when there
 * is none (everything is a resend). */
static size_t mark_busy(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!is_new(b, i))
            continue;
        pair_t *p = &b->pairs[b->pair_of[i]];
        p->busy = 1;
        p->count++;
        if (b->s[i].create_time > p->when)
            p->when = b->s[i].create_time;
    }
    b->nbusy = 0;
    for (size_t k = 0; k < b->npairs; k++)
        if (b->pairs[k].busy)
            b->busy[b->nbusy++] = k;
    return b->nbusy;
}

/* Some busy pair's row is not filled yet. */
static int relations_needed(batch_t *b)
{
    for (size_t k = 0; k < b->nbusy; k++)
        if (!b->pairs[b->busy[k]].filled)
            return 1;
    return 0;
}

static int batch_body(td_conn_t *c, void *arg)
{
    batch_t *b = arg;
    b->redo = 0;
    for (size_t i = 0; i < b->n; i++)
        memset(&b->out[i], 0, sizeof(b->out[i]));
    for (size_t k = 0; k < b->npairs; k++) {
        pair_t *p = &b->pairs[k];
        *p = (pair_t){.lo = p->lo, .hi = p->hi};
    }
    /* The careful attempt locks every pair before it reads the resend keys; the fast one
     * takes every message for new, its pair upsert being the lock. */
    if (!b->fast &&
        (td_bulk_write(c, &g_sql, K_PAIR_UP, b->npairs, fill_lock, b, &b->affected) < 0 ||
         resend_check(c, b) < 0))
        return -1;
    if (mark_busy(b) > 0) {
        if (pair_rows(c, b) < 0 ||
            (relations_needed(b) && (relations(c, b) < 0 || counters(c, b) < 0)))
            return -1;
        if (assign_ids(b) < 0 || sessions(c, b) < 0 || pair_save(c, b) < 0 ||
            insert_messages(c, b) < 0)
            return -1;
        b->norder = 0; /* the resend keys of the new messages that have one */
        for (size_t i = 0; i < b->n; i++)
            if (is_new(b, i) && b->s[i].dedupe_window)
                b->order[b->norder++] = i;
        if (b->norder) {
            b->affected = 0;
            if (td_bulk_write(c, &g_sql, K_DEDUPE_PUT, b->norder, fill_dedupe_put, b,
                              &b->affected) < 0)
                return -1;
            if (b->fast && b->affected != b->norder) {
                /* A key was there already (1 per row inserted, 2 per row updated): a resend,
                 * or a key older than the window. Undo, and look the keys up first. */
                b->redo = 1;
                return 1;
            }
        }
    }
    int wrote = 0;
    for (size_t i = 0; i < b->n; i++) {
        wrote |= is_new(b, i);
        if (b->first[i] >= 0) { /* a resend of a message earlier in this batch */
            b->out[i] = b->out[b->first[i]];
            b->out[i].duplicate = 2;
        }
    }
    return wrote ? 0 : 1; /* nothing new: roll back, only locks were taken */
}

/* Sorted distinct pairs and each message's pair and first copy. */
static int batch_prepare(batch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const td_msg_send_t *s = &b->s[i];
        if (s->from == 0 || s->to == 0 || s->from == s->to ||
            (s->type != TD_MSG_TYPE_TEXT && s->type != TD_MSG_TYPE_AUDIO))
            return -1;
        b->pairs[i].lo = s->from < s->to ? s->from : s->to;
        b->pairs[i].hi = s->from < s->to ? s->to : s->from;
        b->first[i] = -1;
        for (size_t k = 0; s->dedupe_window && k < i; k++)
            if (b->first[k] < 0 && b->s[k].dedupe_window && b->s[k].from == s->from &&
                b->s[k].client_key == s->client_key) {
                b->first[i] = (long)k;
                break;
            }
    }
    qsort(b->pairs, b->n, sizeof(pair_t), cmp_pair);
    b->npairs = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->npairs == 0 || cmp_pair(&b->pairs[b->npairs - 1], &b->pairs[i]) != 0)
            b->pairs[b->npairs++] = b->pairs[i];
    for (size_t i = 0; i < b->n; i++) {
        const td_msg_send_t *s = &b->s[i];
        pair_t *p = pair_find(b, s->from < s->to ? s->from : s->to,
                              s->from < s->to ? s->to : s->from);
        b->pair_of[i] = (size_t)(p - b->pairs);
    }
    return 0;
}

static void batch_free(batch_t *b)
{
    free(b->pair_of);
    free(b->first);
    free(b->pairs);
    free(b->sess);
    free(b->content);
    free(b->content_len);
    free(b->order);
    free(b->busy);
    free(b->todo);
}

int td_msg_store_batch(td_conn_t *c, const td_msg_send_t *s, size_t n, td_msg_sent_t *out)
{
    if (n == 0 || n > TD_MSG_BATCH_MAX)
        return -1;
    if (td_bulk_ready(&g_sql) < 0)
        return -1;
    batch_t b;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.out = out;
    b.n = n;
    b.pair_of = calloc(n, sizeof(*b.pair_of));
    b.first = calloc(n, sizeof(*b.first));
    b.pairs = calloc(n, sizeof(*b.pairs));
    b.sess = calloc(2 * n, sizeof(*b.sess));
    b.content = calloc(n, sizeof(*b.content));
    b.content_len = calloc(n, sizeof(*b.content_len));
    b.order = calloc(2 * n, sizeof(*b.order));
    b.busy = calloc(n, sizeof(*b.busy));
    b.todo = calloc(n, sizeof(*b.todo));
    int rc = -1, attempts = 0, more = 0;
    if (b.pair_of && b.first && b.pairs && b.sess && b.content && b.content_len && b.order &&
        b.busy && b.todo &&
        batch_prepare(&b) == 0) {
        b.fast = 1;
        rc = td_msg_tx(c, batch_body, &b, &attempts);
        if (rc == 0 && b.redo) {
            b.fast = 0;
            rc = td_msg_tx(c, batch_body, &b, &more);
            attempts += more;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rc < 0) /* rolled back: nothing of the last attempt holds */
            memset(&out[i], 0, sizeof(out[i]));
        out[i].attempts = attempts;
    }
    batch_free(&b);
    return rc;
}
