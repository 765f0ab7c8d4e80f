/* td_group_store_batch: the group messages of a batch in one transaction with a number of
 * statements that does not grow with the batch (td_group.h).
 *
 * The rules are those of td_group_store, for every message in the order given:
 *   1. the IMGroup rows of the batch's groups locked for update, in ascending id order, before
 *      anything else is read (so the reads below see every member change that committed, and
 *      none commits until this transaction does; td_group_change locks the same row first,
 *      and two batches lock their groups in the same order);
 *   2. resend keys (a stored (from, client_key) within the window: answered with its id);
 *   3. membership of each (group, sender) (a non-member's message is refused, alone);
 *   4. the member list of a group read once, when some stored message's cached version is
 *      not the group's;
 *   5. ids from tt_msg_counter (continued from MAX(msgId) of the shard for a group without a
 *      counter row), given in order within each group, then the counters, the message rows
 *      (one bulk INSERT per shard), voice rows, the senders' read positions, lastChated and
 *      the resend keys written.
 * Reads are multi-row statements in fixed shapes (256, 64, 16, 4, 1 conditions, padded by
 * repeating the last one), writes bulk executions of a one-row statement (td_exec_bulk), as in
 * td_msg_batch.c (td_bulk.h). */
#include <stdlib.h>
#include <string.h>

#include "td_bulk.h"
#include "td_group.h"

/* ---- statement shapes ---- */

enum {
    G_LOCK,       /* group rows, for update */
    G_DEDUPE_GET, /* resend keys */
    G_MEMBER_IS,  /* (group, sender) member rows */
    G_MEMBERS,    /* member lists */
    G_CTR_GET,    /* id counters */
    G_CTR_PUT,
    G_READ_PUT,   /* the senders' read positions */
    G_CHATTED,    /* IMGroup.lastChated */
    G_DEDUPE_PUT,
    G_MSG_ADD,    /* + shard */
    G_COUNT = G_MSG_ADD + 8
};

#define GMSG_KIND(n)                                                                          \
    {"INSERT INTO IMGroupMessage_" #n " (groupId, userId, msgId, content, type, status, "      \
     "updated, created) VALUES ",                                                             \
     "(?, ?, ?, ?, ?, 0, ?, ?)", "", "", 7, 1}

/* The reads of pairs list them as a row IN list (a third of the time of the same conditions
 * OR-ed, td_msg_batch.c) and name their index: with a few hundred rows and 256 keys the
 * optimizer would otherwise scan the whole table. */
static const td_bulk_kind_t KINDS[G_COUNT] = {
    [G_LOCK] = {"SELECT id, version FROM IMGroup WHERE id IN (", "?", ", ", ") FOR UPDATE", 1,
                0},
    [G_DEDUPE_GET] = {"SELECT fromId, clientKey, msgId, created FROM tt_msg_dedupe FORCE INDEX "
                      "(PRIMARY) WHERE (fromId, clientKey) IN (",
                      "(?, ?)", ", ", ")", 2, 0},
    [G_MEMBER_IS] = {"SELECT groupId, userId FROM IMGroupMember FORCE INDEX "
                     "(idx_groupId_userId_status) WHERE status = 0 AND (groupId, userId) IN (",
                     "(?, ?)", ", ", ")", 2, 0},
    /* as td_group_members: each member once, in the order of its first row */
    [G_MEMBERS] = {"SELECT groupId, userId FROM IMGroupMember WHERE status = 0 AND groupId IN (",
                   "?", ", ", ") GROUP BY groupId, userId ORDER BY groupId, MIN(id)", 1, 0},
    [G_CTR_GET] = {"SELECT sessionKey, lastMsgId FROM tt_msg_counter WHERE sessionKey IN (", "?",
                   ", ", ")", 1, 0},
    [G_CTR_PUT] = {"INSERT INTO tt_msg_counter (sessionKey, lastMsgId) VALUES ", "(?, ?)", "",
                   " ON DUPLICATE KEY UPDATE lastMsgId = VALUES(lastMsgId)", 2, 1},
    [G_READ_PUT] = {"UPDATE IMGroupMember SET readMsgId = GREATEST(readMsgId, ?) ", "", "",
                    "WHERE groupId = ? AND userId = ? AND status = 0", 3, 1},
    [G_CHATTED] = {"UPDATE IMGroup SET lastChated = ? WHERE id = ?", "", "", "", 2, 1},
    [G_DEDUPE_PUT] = {"INSERT INTO tt_msg_dedupe (fromId, clientKey, msgId, created) VALUES ",
                      "(?, ?, ?, ?)", "",
                      " ON DUPLICATE KEY UPDATE msgId = VALUES(msgId), created = "
                      "VALUES(created)",
                      4, 1},
    [G_MSG_ADD + 0] = GMSG_KIND(0), [G_MSG_ADD + 1] = GMSG_KIND(1),
    [G_MSG_ADD + 2] = GMSG_KIND(2), [G_MSG_ADD + 3] = GMSG_KIND(3),
    [G_MSG_ADD + 4] = GMSG_KIND(4), [G_MSG_ADD + 5] = GMSG_KIND(5),
    [G_MSG_ADD + 6] = GMSG_KIND(6), [G_MSG_ADD + 7] = GMSG_KIND(7),
};

static char *g_text[G_COUNT][TD_BULK_SHAPES];
static td_bulk_t g_sql = {.kinds = KINDS, .nkinds = G_COUNT, .text = g_text};

/* ---- the batch ---- */

typedef struct grp_s {
    uint32_t gid;
    uint32_t version;  /* IMGroup.version, read under the lock */
    uint32_t last;     /* last msgId given out */
    uint32_t chatted;  /* create time of its last new message */
    int found;         /* the group exists */
    int ctr_found;     /* tt_msg_counter has its row */
    int busy;          /* it has new messages */
    int want_members;  /* a new message's cached version is not the group's */
    td_ids_t members;  /* then its members */
} grp_t;

typedef struct snd_s {
    uint32_t gid, uid; /* a sender in a group */
    uint32_t read;     /* its last new message */
    int asked;         /* its membership is looked up */
    int member;        /* it is a member */
} snd_t;

typedef struct gbatch_s {
    const td_msg_send_t *s;
    td_group_sent_t *out;
    size_t n;
    size_t *grp_of;    /* message -> group */
    size_t *snd_of;    /* message -> sender */
    long *first;       /* message -> earlier message with the same resend key, or -1 */
    grp_t *g;          /* distinct groups, sorted by id */
    size_t ng;
    snd_t *snd;        /* distinct (group, sender), sorted */
    size_t nsnd;
    char (*content)[TD_MSG_AUDIO_ID_LEN]; /* voice messages' content */
    size_t *content_len;
    size_t *order;     /* scratch: indexes of messages, groups or senders */
    size_t norder;
    union {            /* fetch buffers of the current query */
        struct { uint32_t id, version; } lk;
        struct { uint32_t from, msg_id, created; uint64_t key; } dd;
        struct { uint32_t gid, uid; } mb;
        struct { uint64_t key; uint32_t last; } ctr;
    } f;
} gbatch_t;

static int cmp_grp(const void *a, const void *b)
{
    const grp_t *x = a, *y = b;
    return x->gid < y->gid ? -1 : x->gid > y->gid;
}

static int cmp_snd(const void *a, const void *b)
{
    const snd_t *x = a, *y = b;
    if (x->gid != y->gid)
        return x->gid < y->gid ? -1 : 1;
    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static grp_t *grp_find(gbatch_t *b, uint32_t gid)
{
    grp_t key = {.gid = gid};
    return bsearch(&key, b->g, b->ng, sizeof(grp_t), cmp_grp);
}

static snd_t *snd_find(gbatch_t *b, uint32_t gid, uint32_t uid)
{
    snd_t key = {.gid = gid, .uid = uid};
    return bsearch(&key, b->snd, b->nsnd, sizeof(snd_t), cmp_snd);
}

/* Not yet decided: not refused, not a resend, the first copy of its key. */
static int open_msg(const gbatch_t *b, size_t i)
{
    return b->first[i] < 0 && !b->out[i].refused && !b->out[i].sent.duplicate;
}

/* ---- 1. the group rows, locked ---- */

static void fill_gid(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    a[0] = TD_U32(b->g[i].gid);
}

static int on_lock(void *arg)
{
    gbatch_t *b = arg;
    grp_t *g = grp_find(b, b->f.lk.id);
    if (g) {
        g->found = 1;
        g->version = b->f.lk.version;
    }
    return 0;
}

static int lock_groups(td_conn_t *c, gbatch_t *b)
{
    td_col_t cols[] = {TD_COL_U32(&b->f.lk.id), TD_COL_U32(&b->f.lk.version)};
    if (td_bulk_read(c, &g_sql, G_LOCK, b->ng, fill_gid, b, cols, 2, on_lock) < 0)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (!b->g[b->grp_of[i]].found)
            b->out[i].refused = 1; /* no such group */
    return 0;
}

/* ---- 2. resend keys ---- */

static void fill_dedupe_get(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    const td_msg_send_t *s = &b->s[b->order[i]];
    a[0] = TD_U32(s->from);
    a[1] = TD_U64(s->client_key);
}

static int on_dedupe(void *arg)
{
    gbatch_t *b = arg;
    for (size_t k = 0; k < b->norder; k++) {
        size_t i = b->order[k];
        const td_msg_send_t *s = &b->s[i];
        if (s->from != b->f.dd.from || s->client_key != b->f.dd.key || b->f.dd.msg_id == 0 ||
            (uint64_t)b->f.dd.created + s->dedupe_window < s->create_time)
            continue;
        b->out[i].sent.msg_id = b->f.dd.msg_id;
        b->out[i].sent.created = b->f.dd.created;
        b->out[i].sent.duplicate = 1;
    }
    return 0;
}

static int resend_check(td_conn_t *c, gbatch_t *b)
{
    b->norder = 0;
    for (size_t i = 0; i < b->n; i++)
        if (open_msg(b, i) && b->s[i].dedupe_window)
            b->order[b->norder++] = i;
    td_col_t cols[] = {TD_COL_U32(&b->f.dd.from), TD_COL_U64(&b->f.dd.key),
                       TD_COL_U32(&b->f.dd.msg_id), TD_COL_U32(&b->f.dd.created)};
    return td_bulk_read(c, &g_sql, G_DEDUPE_GET, b->norder, fill_dedupe_get, b, cols, 4, on_dedupe);
}

/* ---- 3. membership ---- */

static void fill_snd(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    const snd_t *s = &b->snd[b->order[i]];
    a[0] = TD_U32(s->gid);
    a[1] = TD_U32(s->uid);
}

static int on_member(void *arg)
{
    gbatch_t *b = arg;
    snd_t *s = snd_find(b, b->f.mb.gid, b->f.mb.uid);
    if (s)
        s->member = 1;
    return 0;
}

static int membership(td_conn_t *c, gbatch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (open_msg(b, i))
            b->snd[b->snd_of[i]].asked = 1;
    b->norder = 0;
    for (size_t k = 0; k < b->nsnd; k++)
        if (b->snd[k].asked)
            b->order[b->norder++] = k;
    td_col_t cols[] = {TD_COL_U32(&b->f.mb.gid), TD_COL_U32(&b->f.mb.uid)};
    if (td_bulk_read(c, &g_sql, G_MEMBER_IS, b->norder, fill_snd, b, cols, 2, on_member) < 0)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (open_msg(b, i) && !b->snd[b->snd_of[i]].member)
            b->out[i].refused = 1; /* not a member */
    return 0;
}

/* ---- 4. member lists ---- */

static void fill_busy_gid(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    a[0] = TD_U32(b->g[b->order[i]].gid);
}

static int on_member_row(void *arg)
{
    gbatch_t *b = arg;
    grp_t *g = grp_find(b, b->f.mb.gid);
    if (!g || !g->want_members || g->members.n >= TD_GROUP_MEMBERS_MAX)
        return 0;
    if (g->members.n == g->members.cap) {
        size_t ncap = g->members.cap ? g->members.cap * 2 : 16;
        uint32_t *nv = realloc(g->members.v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        g->members.v = nv;
        g->members.cap = ncap;
    }
    g->members.v[g->members.n++] = b->f.mb.uid;
    return 0;
}

static int member_lists(td_conn_t *c, gbatch_t *b)
{
    b->norder = 0;
    for (size_t k = 0; k < b->ng; k++)
        if (b->g[k].want_members)
            b->order[b->norder++] = k;
    td_col_t cols[] = {TD_COL_U32(&b->f.mb.gid), TD_COL_U32(&b->f.mb.uid)};
    return td_bulk_read(c, &g_sql, G_MEMBERS, b->norder, fill_busy_gid, b, cols, 2, on_member_row);
}

/* ---- 5. ids and the writes ---- */

static void fill_ctr_get(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    a[0] = TD_U64(td_msg_session_key(TD_SESSION_GROUP, b->g[b->order[i]].gid));
}

static void fill_ctr_put(void *ctx, size_t i, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    const grp_t *g = &b->g[b->order[i]];
    a[0] = TD_U64(td_msg_session_key(TD_SESSION_GROUP, g->gid));
    a[1] = TD_U32(g->last);
}

static int on_counter(void *arg)
{
    gbatch_t *b = arg;
    uint64_t key = b->f.ctr.key;
    if (key >> 32 != TD_SESSION_GROUP)
        return 0;
    grp_t *g = grp_find(b, (uint32_t)key);
    if (g) {
        g->last = b->f.ctr.last;
        g->ctr_found = 1;
    }
    return 0;
}

static int assign_ids(td_conn_t *c, gbatch_t *b)
{
    /* b->order: the busy groups */
    td_col_t cols[] = {TD_COL_U64(&b->f.ctr.key), TD_COL_U32(&b->f.ctr.last)};
    if (td_bulk_read(c, &g_sql, G_CTR_GET, b->norder, fill_ctr_get, b, cols, 2, on_counter) < 0)
        return -1;
    for (size_t k = 0; k < b->norder; k++) { /* an imported group: after its stored rows */
        grp_t *g = &b->g[b->order[k]];
        if (!g->ctr_found && td_group_msg_max(c, g->gid, &g->last) < 0)
            return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!open_msg(b, i))
            continue;
        grp_t *g = &b->g[b->grp_of[i]];
        if (g->last == UINT32_MAX)
            return -1; /* 2^32 messages: no id left */
        b->out[i].sent.msg_id = ++g->last;
        b->out[i].sent.created = b->s[i].create_time;
        b->out[i].version = g->version;
        g->chatted = b->s[i].create_time;
        b->snd[b->snd_of[i]].read = g->last;
    }
    return td_bulk_write(c, &g_sql, G_CTR_PUT, b->norder, fill_ctr_put, b, NULL);
}

static void fill_msg(void *ctx, size_t k, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    size_t i = b->order[k];
    const td_msg_send_t *s = &b->s[i];
    const char *content = (const char *)s->data;
    size_t len = s->len;
    if (s->type == TD_MSG_TYPE_GROUP_AUDIO) {
        content = b->content[i];
        len = b->content_len[i];
    }
    a[0] = TD_U32(s->to);
    a[1] = TD_U32(s->from);
    a[2] = TD_U32(b->out[i].sent.msg_id);
    a[3] = TD_STRN(content, len);
    a[4] = TD_U32(s->type);
    a[5] = TD_U32(s->create_time);
    a[6] = TD_U32(s->create_time);
}

static int insert_messages(td_conn_t *c, gbatch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (open_msg(b, i) && b->s[i].type == TD_MSG_TYPE_GROUP_AUDIO &&
            td_msg_audio_store(c, &b->s[i], b->content[i], &b->content_len[i]) < 0)
            return -1;
    for (unsigned shard = 0; shard < 8; shard++) {
        b->norder = 0;
        for (size_t i = 0; i < b->n; i++)
            if (open_msg(b, i) && td_group_shard(b->s[i].to) == shard)
                b->order[b->norder++] = i;
        if (td_bulk_write(c, &g_sql, G_MSG_ADD + (int)shard, b->norder, fill_msg, b, NULL) < 0)
            return -1;
    }
    return 0;
}

static void fill_read(void *ctx, size_t k, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    const snd_t *s = &b->snd[b->order[k]];
    a[0] = TD_U32(s->read);
    a[1] = TD_U32(s->gid);
    a[2] = TD_U32(s->uid);
}

static void fill_chatted(void *ctx, size_t k, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    const grp_t *g = &b->g[b->order[k]];
    a[0] = TD_U32(g->chatted);
    a[1] = TD_U32(g->gid);
}

static void fill_dedupe_put(void *ctx, size_t k, td_arg_t *a)
{
    const gbatch_t *b = ctx;
    size_t i = b->order[k];
    a[0] = TD_U32(b->s[i].from);
    a[1] = TD_U64(b->s[i].client_key);
    a[2] = TD_U32(b->out[i].sent.msg_id);
    a[3] = TD_U32(b->s[i].create_time);
}

static int positions(td_conn_t *c, gbatch_t *b)
{
    b->norder = 0;
    for (size_t k = 0; k < b->nsnd; k++)
        if (b->snd[k].read)
            b->order[b->norder++] = k;
    if (td_bulk_write(c, &g_sql, G_READ_PUT, b->norder, fill_read, b, NULL) < 0)
        return -1;
    b->norder = 0;
    for (size_t k = 0; k < b->ng; k++)
        if (b->g[k].busy)
            b->order[b->norder++] = k;
    if (td_bulk_write(c, &g_sql, G_CHATTED, b->norder, fill_chatted, b, NULL) < 0)
        return -1;
    b->norder = 0;
    for (size_t i = 0; i < b->n; i++)
        if (open_msg(b, i) && b->s[i].dedupe_window)
            b->order[b->norder++] = i;
    return td_bulk_write(c, &g_sql, G_DEDUPE_PUT, b->norder, fill_dedupe_put, b, NULL);
}

/* The busy groups into b->order (and whether each needs its member list); their number. */
static size_t mark_busy(gbatch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!open_msg(b, i))
            continue;
        grp_t *g = &b->g[b->grp_of[i]];
        g->busy = 1;
        if (b->out[i].have_version != g->version)
            g->want_members = 1;
    }
    b->norder = 0;
    for (size_t k = 0; k < b->ng; k++)
        if (b->g[k].busy)
            b->order[b->norder++] = k;
    return b->norder;
}

static void reset(gbatch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        uint32_t have = b->out[i].have_version;
        td_ids_free(&b->out[i].members);
        memset(&b->out[i], 0, sizeof(b->out[i]));
        b->out[i].have_version = have;
    }
    for (size_t k = 0; k < b->ng; k++) {
        grp_t *g = &b->g[k];
        td_ids_free(&g->members);
        *g = (grp_t){.gid = g->gid};
    }
    for (size_t k = 0; k < b->nsnd; k++)
        b->snd[k] = (snd_t){.gid = b->snd[k].gid, .uid = b->snd[k].uid};
}

static int copy_ids(td_ids_t *to, const td_ids_t *from)
{
    if (from->n == 0)
        return 0;
    to->v = malloc(from->n * sizeof(*to->v));
    if (!to->v)
        return -1;
    memcpy(to->v, from->v, from->n * sizeof(*to->v));
    to->n = to->cap = from->n;
    return 0;
}

static int gbatch_body(td_conn_t *c, void *arg)
{
    gbatch_t *b = arg;
    reset(b);
    if (lock_groups(c, b) < 0 || resend_check(c, b) < 0 || membership(c, b) < 0)
        return -1;
    int wrote = 0;
    if (mark_busy(b) > 0) {
        size_t busy = b->norder;
        if (member_lists(c, b) < 0)
            return -1;
        b->norder = 0; /* member_lists used the scratch: the busy groups again */
        for (size_t k = 0; k < b->ng && b->norder < busy; k++)
            if (b->g[k].busy)
                b->order[b->norder++] = k;
        if (assign_ids(c, b) < 0 || insert_messages(c, b) < 0 || positions(c, b) < 0)
            return -1;
        wrote = 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        td_group_sent_t *o = &b->out[i];
        if (b->first[i] >= 0) { /* a resend of a message earlier in this batch */
            const td_group_sent_t *f = &b->out[b->first[i]];
            o->sent = f->sent;
            o->refused = f->refused;
            o->version = f->version;
            o->sent.duplicate = !f->refused;
        } else if (!o->refused && !o->sent.duplicate) {
            const grp_t *g = &b->g[b->grp_of[i]];
            if (o->have_version != g->version && copy_ids(&o->members, &g->members) < 0)
                return -1;
        }
        if (o->refused || o->sent.duplicate)
            o->version = b->g[b->grp_of[i]].version;
    }
    return wrote ? 0 : 1; /* nothing new: roll back, only locks were taken */
}

/* Sorted distinct groups and senders, each message's, and each message's first copy. */
static int gbatch_prepare(gbatch_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const td_msg_send_t *s = &b->s[i];
        if (s->from == 0 || s->to == 0 ||
            (s->type != TD_MSG_TYPE_GROUP_TEXT && s->type != TD_MSG_TYPE_GROUP_AUDIO))
            return -1;
        b->g[i].gid = s->to;
        b->snd[i] = (snd_t){.gid = s->to, .uid = s->from};
        b->first[i] = -1;
        for (size_t k = 0; s->dedupe_window && k < i; k++)
            if (b->first[k] < 0 && b->s[k].dedupe_window && b->s[k].from == s->from &&
                b->s[k].to == s->to && b->s[k].client_key == s->client_key) {
                b->first[i] = (long)k;
                break;
            }
    }
    qsort(b->g, b->n, sizeof(grp_t), cmp_grp);
    qsort(b->snd, b->n, sizeof(snd_t), cmp_snd);
    b->ng = b->nsnd = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->ng == 0 || b->g[b->ng - 1].gid != b->g[i].gid)
            b->g[b->ng++] = b->g[i];
        if (b->nsnd == 0 || cmp_snd(&b->snd[b->nsnd - 1], &b->snd[i]) != 0)
            b->snd[b->nsnd++] = b->snd[i];
    }
    for (size_t i = 0; i < b->n; i++) {
        b->grp_of[i] = (size_t)(grp_find(b, b->s[i].to) - b->g);
        b->snd_of[i] = (size_t)(snd_find(b, b->s[i].to, b->s[i].from) - b->snd);
    }
    return 0;
}

int td_group_store_batch(td_conn_t *c, const td_msg_send_t *s, size_t n, td_group_sent_t *out)
{
    if (n == 0 || n > TD_MSG_BATCH_MAX)
        return -1;
    if (td_bulk_ready(&g_sql) < 0)
        return -1;
    gbatch_t b;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.out = out;
    b.n = n;
    b.grp_of = calloc(n, sizeof(*b.grp_of));
    b.snd_of = calloc(n, sizeof(*b.snd_of));
    b.first = calloc(n, sizeof(*b.first));
    b.g = calloc(n, sizeof(*b.g));
    b.snd = calloc(n, sizeof(*b.snd));
    b.content = calloc(n, sizeof(*b.content));
    b.content_len = calloc(n, sizeof(*b.content_len));
    b.order = calloc(n, sizeof(*b.order));
    int rc = -1, attempts = 0;
    if (b.grp_of && b.snd_of && b.first && b.g && b.snd && b.content && b.content_len &&
        b.order && gbatch_prepare(&b) == 0)
        rc = td_msg_tx(c, gbatch_body, &b, &attempts);
    for (size_t i = 0; i < n; i++) {
        if (rc < 0) { /* rolled back: nothing of the last attempt holds */
            uint32_t have = out[i].have_version;
            td_ids_free(&out[i].members);
            memset(&out[i], 0, sizeof(out[i]));
            out[i].have_version = have;
        }
        out[i].sent.attempts = attempts;
    }
    for (size_t k = 0; b.g && k < b.ng; k++)
        td_ids_free(&b.g[k].members);
    free(b.grp_of);
    free(b.snd_of);
    free(b.first);
    free(b.g);
    free(b.snd);
    free(b.content);
    free(b.content_len);
    free(b.order);
    return rc;
}
