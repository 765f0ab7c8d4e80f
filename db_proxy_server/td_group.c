/* td_group: groups in MariaDB (see td_group.h). */
#include "td_group.h"

#include <stdlib.h>
#include <string.h>

#include "td_msg.h"

static const char SQL_GROUP_GET[] =
    "SELECT id, creator, type, IFNULL(status, 0), version, userCnt, created, updated, name, "
    "avatar FROM IMGroup WHERE id = ?";
static const char SQL_GROUP_LOCK[] =
    "SELECT id, creator, type, IFNULL(status, 0), version, userCnt, created, updated, name, "
    "avatar FROM IMGroup WHERE id = ? FOR UPDATE";
static const char SQL_GROUPS_ALL[] =
    "SELECT id, creator, type, IFNULL(status, 0), version, userCnt, created, updated, name, "
    "avatar FROM IMGroup WHERE (? = 0 OR type = ?) ORDER BY id LIMIT 10000";
static const char SQL_GROUP_ADD[] =
    "INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, lastChated, "
    "updated, created) VALUES (?, ?, ?, ?, 0, 0, 1, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP())";
static const char SQL_GROUP_BUMP[] =
    "UPDATE IMGroup SET version = version + 1, userCnt = ?, updated = UNIX_TIMESTAMP() "
    "WHERE id = ?";
static const char SQL_GROUP_CNT[] = "UPDATE IMGroup SET userCnt = ? WHERE id = ?";
/* An existing database may hold several rows of one (group, user): the active one, else the
 * one with the smallest id, is the one written. */
static const char SQL_MEMBERS[] =
    "SELECT userId FROM IMGroupMember WHERE groupId = ? AND status = 0 "
    "GROUP BY userId ORDER BY MIN(id) LIMIT 10000";
static const char SQL_MEMBER_ROW[] =
    "SELECT id, status FROM IMGroupMember WHERE groupId = ? AND userId = ? "
    "ORDER BY status <> 0, id LIMIT 1";
static const char SQL_MEMBER_ADD[] =
    "INSERT INTO IMGroupMember (groupId, userId, status, created, updated, joinMsgId, readMsgId) "
    "VALUES (?, ?, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), ?, ?)";
static const char SQL_MEMBER_ON[] =
    "UPDATE IMGroupMember SET status = 0, updated = UNIX_TIMESTAMP(), joinMsgId = ?, "
    "readMsgId = ? WHERE id = ?";
static const char SQL_MEMBER_OFF[] =
    "UPDATE IMGroupMember SET status = 1, updated = UNIX_TIMESTAMP() "
    "WHERE groupId = ? AND userId = ? AND status = 0";
static const char SQL_USER_GROUPS[] =
    "SELECT g.id, g.version FROM IMGroup g JOIN IMGroupMember m ON m.groupId = g.id "
    "WHERE m.userId = ? AND m.status = 0 AND (? = 0 OR g.type = ?) "
    "GROUP BY g.id, g.version, g.updated ORDER BY g.updated DESC, g.id DESC LIMIT 10000";
static const char SQL_MEMBER_GET[] =
    "SELECT shield, joinMsgId, readMsgId FROM IMGroupMember WHERE groupId = ? AND userId = ? "
    "AND status = 0 ORDER BY id LIMIT 1";
static const char SQL_SHIELD_SET[] =
    "UPDATE IMGroupMember SET shield = ? WHERE groupId = ? AND userId = ? AND status = 0";
static const char SQL_SHIELDS[] =
    "SELECT userId, MAX(shield) FROM IMGroupMember WHERE groupId = ? AND status = 0 "
    "GROUP BY userId LIMIT 10000";
static const char SQL_CTR_GET[] = "SELECT lastMsgId FROM tt_msg_counter WHERE sessionKey = ?";
static const char SQL_CTR_INIT[] =
    "INSERT INTO tt_msg_counter (sessionKey, lastMsgId) VALUES (?, 0) "
    "ON DUPLICATE KEY UPDATE lastMsgId = lastMsgId";
static const char SQL_CTR_LOCK[] =
    "SELECT lastMsgId FROM tt_msg_counter WHERE sessionKey = ? FOR UPDATE";
static const char SQL_CTR_ADD[] =
    "INSERT INTO tt_msg_counter (sessionKey, lastMsgId) VALUES (?, ?)";
static const char SQL_CTR_SET[] = "UPDATE tt_msg_counter SET lastMsgId = ? WHERE sessionKey = ?";
static const char SQL_DEDUPE_GET[] =
    "SELECT msgId, created FROM tt_msg_dedupe WHERE fromId = ? AND clientKey = ? AND "
    "created >= UNIX_TIMESTAMP() - ?";
static const char SQL_DEDUPE_PUT[] =
    "INSERT INTO tt_msg_dedupe (fromId, clientKey, msgId, created) "
    "VALUES (?, ?, ?, UNIX_TIMESTAMP()) "
    "ON DUPLICATE KEY UPDATE msgId = VALUES(msgId), created = VALUES(created)";
/* The group row locked: a member change (which locks it for update) cannot commit between
 * the membership check of a message and its commit, and the version read is the one the
 * message is stored under. For update, not shared: the transaction writes the row
 * (lastChated) before it commits, and two writers holding it shared would each wait for the
 * other's lock there (a deadlock whenever two messages of one group are stored at once). */
static const char SQL_GROUP_MSG_LOCK[] = "SELECT version FROM IMGroup WHERE id = ? FOR UPDATE";
static const char SQL_MEMBER_IS[] =
    "SELECT id FROM IMGroupMember WHERE groupId = ? AND userId = ? AND status = 0 LIMIT 1";
static const char SQL_MEMBER_READ[] =
    "UPDATE IMGroupMember SET readMsgId = GREATEST(readMsgId, ?) "
    "WHERE groupId = ? AND userId = ? AND status = 0";
static const char SQL_CHATTED[] = "UPDATE IMGroup SET lastChated = ? WHERE id = ?";
static const char SQL_MEMBER_GROUPS[] =
    "SELECT m.groupId, IFNULL(c.lastMsgId, 0), MAX(m.joinMsgId), MAX(m.readMsgId), "
    "MAX(g.lastChated) FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId "
    "LEFT JOIN tt_msg_counter c ON c.sessionKey = (2 << 32) | m.groupId "
    "WHERE m.userId = ? AND m.status = 0 GROUP BY m.groupId, c.lastMsgId LIMIT 10000";
#define GADD(n) "INSERT INTO IMGroupMessage_" #n " (groupId, userId, msgId, content, type, " \
    "status, updated, created) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"
static const char *const SQL_GMSG_ADD[8] = {GADD(0), GADD(1), GADD(2), GADD(3),
                                            GADD(4), GADD(5), GADD(6), GADD(7)};
#define GLIST(n) "SELECT msgId, userId, groupId, created, type, content FROM IMGroupMessage_" \
    #n " WHERE groupId = ? AND status = 0 AND msgId > ? AND msgId <= ? " \
    "ORDER BY msgId DESC, id DESC LIMIT ?"
static const char *const SQL_GMSG_LIST[8] = {GLIST(0), GLIST(1), GLIST(2), GLIST(3),
                                             GLIST(4), GLIST(5), GLIST(6), GLIST(7)};
#define Q10 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
#define Q100 Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10 ", " Q10
#define GIDS(n) "SELECT msgId, userId, groupId, created, type, content FROM IMGroupMessage_" \
    #n " WHERE groupId = ? AND status = 0 AND msgId > ? AND msgId IN (" Q100 ") " \
    "ORDER BY msgId DESC, id DESC LIMIT 100"
static const char *const SQL_GMSG_IDS[8] = {GIDS(0), GIDS(1), GIDS(2), GIDS(3),
                                            GIDS(4), GIDS(5), GIDS(6), GIDS(7)};
#define GCNT(n) "SELECT COUNT(*) FROM (SELECT 1 FROM IMGroupMessage_" #n " WHERE groupId = ? " \
    "AND status = 0 AND msgId > ? LIMIT 10000) t"
static const char *const SQL_GMSG_COUNT[8] = {GCNT(0), GCNT(1), GCNT(2), GCNT(3),
                                              GCNT(4), GCNT(5), GCNT(6), GCNT(7)};
#define MAXQ(n) "SELECT IFNULL(MAX(msgId), 0) FROM IMGroupMessage_" #n " WHERE groupId = ?"
static const char *const SQL_MSG_MAX[8] = {MAXQ(0), MAXQ(1), MAXQ(2), MAXQ(3),
                                           MAXQ(4), MAXQ(5), MAXQ(6), MAXQ(7)};

unsigned td_group_shard(uint32_t gid)
{
    return gid % 8;
}

void td_ids_free(td_ids_t *l)
{
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int td_ids_push(td_ids_t *l, uint32_t id)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        uint32_t *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = id;
    return 0;
}

static int ids_has(const td_ids_t *l, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return 1;
    return 0;
}

void td_group_change_free(td_group_change_t *r)
{
    td_ids_free(&r->changed);
    td_ids_free(&r->current);
}

/* ---- reading ---- */

typedef struct group_row_s {
    td_group_t g;
    td_col_t cols[10];
    int found;
    int (*on_group)(void *arg, const td_group_t *g);
    void *arg;
} group_row_t;

static void group_cols(group_row_t *r)
{
    td_group_t *g = &r->g;
    td_col_t cols[10] = {TD_COL_U32(&g->id),      TD_COL_U32(&g->creator),
                         TD_COL_U32(&g->type),    TD_COL_U32(&g->status),
                         TD_COL_U32(&g->version), TD_COL_U32(&g->user_cnt),
                         TD_COL_U32(&g->created), TD_COL_U32(&g->updated),
                         TD_COL_STR(g->name),     TD_COL_STR(g->avatar)};
    memcpy(r->cols, cols, sizeof(cols));
}

static int on_group_row(void *arg)
{
    group_row_t *r = arg;
    r->found = 1;
    return r->on_group ? r->on_group(r->arg, &r->g) : 1;
}

static int group_read(td_conn_t *c, const char *sql, uint32_t gid, td_group_t *g)
{
    group_row_t r;
    memset(&r, 0, sizeof(r));
    group_cols(&r);
    td_arg_t a[] = {TD_U32(gid)};
    if (td_query(c, sql, a, 1, r.cols, 10, on_group_row, &r) < 0)
        return -1;
    if (r.found)
        *g = r.g;
    return r.found;
}

int td_group_get(td_conn_t *c, uint32_t gid, td_group_t *g)
{
    return group_read(c, SQL_GROUP_GET, gid, g);
}

int td_groups_all(td_conn_t *c, uint32_t type, int (*on_group)(void *arg, const td_group_t *g),
                  void *arg)
{
    group_row_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    group_cols(r);
    r->on_group = on_group;
    r->arg = arg;
    td_arg_t a[] = {TD_U32(type), TD_U32(type)};
    int rc = td_query(c, SQL_GROUPS_ALL, a, 2, r->cols, 10, on_group_row, r);
    free(r);
    return rc < 0 ? -1 : 0;
}

typedef struct id_rows_s {
    uint32_t id;
    td_ids_t *out;
    int oom;
} id_rows_t;

static int on_id(void *arg)
{
    id_rows_t *r = arg;
    if (td_ids_push(r->out, r->id) < 0) {
        r->oom = 1;
        return -1;
    }
    return 0;
}

int td_group_members(td_conn_t *c, uint32_t gid, td_ids_t *out)
{
    id_rows_t r = {0, out, 0};
    td_col_t col = TD_COL_U32(&r.id);
    td_arg_t a[] = {TD_U32(gid)};
    return td_query(c, SQL_MEMBERS, a, 1, &col, 1, on_id, &r) < 0 ? -1 : 0;
}

static int on_first(void *arg)
{
    *(int *)arg = 1;
    return 1;
}

/* The first row's numbers: 1 found, 0 no row, -1 error. */
static int first_u32(td_conn_t *c, const char *sql, const td_arg_t *a, int na, uint32_t *v,
                     int ncols)
{
    td_col_t cols[4];
    for (int i = 0; i < ncols; i++)
        cols[i] = TD_COL_U32(&v[i]);
    int found = 0;
    int rc = td_query(c, sql, a, na, cols, ncols, on_first, &found);
    return rc < 0 ? -1 : found;
}

typedef struct pair_rows_s {
    uint32_t a, b;
    int (*on_row)(void *arg, uint32_t a, uint32_t b);
    void *arg;
} pair_rows_t;

static int on_pair(void *arg)
{
    pair_rows_t *r = arg;
    return r->on_row(r->arg, r->a, r->b);
}

static int pairs(td_conn_t *c, const char *sql, const td_arg_t *a, int na,
                 int (*on_row)(void *arg, uint32_t a, uint32_t b), void *arg)
{
    pair_rows_t r = {0, 0, on_row, arg};
    td_col_t cols[2] = {TD_COL_U32(&r.a), TD_COL_U32(&r.b)};
    return td_query(c, sql, a, na, cols, 2, on_pair, &r) < 0 ? -1 : 0;
}

int td_groups_of_user(td_conn_t *c, uint32_t uid, uint32_t type,
                      int (*on_row)(void *arg, uint32_t gid, uint32_t version), void *arg)
{
    td_arg_t a[] = {TD_U32(uid), TD_U32(type), TD_U32(type)};
    return pairs(c, SQL_USER_GROUPS, a, 3, on_row, arg);
}

int td_group_shields(td_conn_t *c, uint32_t gid,
                     int (*on_row)(void *arg, uint32_t uid, uint32_t shield), void *arg)
{
    td_arg_t a[] = {TD_U32(gid)};
    return pairs(c, SQL_SHIELDS, a, 1, on_row, arg);
}

int td_group_member(td_conn_t *c, uint32_t gid, uint32_t uid, td_member_t *m)
{
    uint32_t v[3];
    td_arg_t a[] = {TD_U32(gid), TD_U32(uid)};
    int rc = first_u32(c, SQL_MEMBER_GET, a, 2, v, 3);
    if (rc == 1) {
        m->shield = v[0];
        m->join_id = v[1];
        m->read_id = v[2];
    }
    return rc;
}

int td_group_set_shield(td_conn_t *c, uint32_t gid, uint32_t uid, uint32_t shield,
                        uint64_t *matched)
{
    td_arg_t a[] = {TD_U32(shield), TD_U32(gid), TD_U32(uid)};
    return td_exec(c, SQL_SHIELD_SET, a, 3, matched, NULL);
}

int td_group_last_msg_id(td_conn_t *c, uint32_t gid, uint32_t *last)
{
    td_arg_t k[] = {TD_U64(td_msg_session_key(TD_SESSION_GROUP, gid))};
    int rc = first_u32(c, SQL_CTR_GET, k, 1, last, 1);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return td_group_msg_max(c, gid, last);
}

int td_group_msg_max(td_conn_t *c, uint32_t gid, uint32_t *last)
{
    td_arg_t g[] = {TD_U32(gid)};
    *last = 0;
    return first_u32(c, SQL_MSG_MAX[td_group_shard(gid)], g, 1, last, 1) < 0 ? -1 : 0;
}

/* ---- writing (inside a transaction) ---- */

/* Makes `uid` a member (join position: last); 1 when it was not one, 0 when it was. */
static int member_on(td_conn_t *c, uint32_t gid, uint32_t uid, uint32_t last)
{
    uint32_t row[2];
    td_arg_t a[] = {TD_U32(gid), TD_U32(uid)};
    int rc = first_u32(c, SQL_MEMBER_ROW, a, 2, row, 2);
    if (rc < 0)
        return -1;
    if (rc && row[1] == 0)
        return 0;
    if (rc) {
        td_arg_t u[] = {TD_U32(last), TD_U32(last), TD_U32(row[0])};
        return td_exec(c, SQL_MEMBER_ON, u, 3, NULL, NULL) < 0 ? -1 : 1;
    }
    td_arg_t ins[] = {TD_U32(gid), TD_U32(uid), TD_U32(last), TD_U32(last)};
    return td_exec(c, SQL_MEMBER_ADD, ins, 4, NULL, NULL) < 0 ? -1 : 1;
}

static int member_off(td_conn_t *c, uint32_t gid, uint32_t uid)
{
    uint64_t n = 0;
    td_arg_t a[] = {TD_U32(gid), TD_U32(uid)};
    if (td_exec(c, SQL_MEMBER_OFF, a, 2, &n, NULL) < 0)
        return -1;
    return n > 0;
}

static int fail_rollback(td_conn_t *c)
{
    td_rollback(c);
    return -1;
}

int td_group_create(td_conn_t *c, const char *name, const char *avatar, uint32_t creator,
                    uint32_t type, const uint32_t *members, size_t n, uint32_t *gid)
{
    if (n > TD_GROUP_MEMBERS_MAX)
        return -1;
    if (td_begin(c) < 0)
        return -1;
    uint64_t id = 0;
    td_arg_t a[] = {TD_STR(name), TD_STR(avatar), TD_U32(creator), TD_U32(type)};
    if (td_exec(c, SQL_GROUP_ADD, a, 4, NULL, &id) < 0 || id == 0 || id > UINT32_MAX)
        return fail_rollback(c);
    td_arg_t k[] = {TD_U64(td_msg_session_key(TD_SESSION_GROUP, (uint32_t)id))};
    if (td_exec(c, SQL_CTR_INIT, k, 1, NULL, NULL) < 0)
        return fail_rollback(c);
    uint32_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = member_on(c, (uint32_t)id, members[i], 0);
        if (rc < 0)
            return fail_rollback(c);
        cnt += (uint32_t)rc;
    }
    td_arg_t u[] = {TD_U32(cnt), TD_U32(id)};
    if (td_exec(c, SQL_GROUP_CNT, u, 2, NULL, NULL) < 0 || td_commit(c) < 0)
        return fail_rollback(c);
    *gid = (uint32_t)id;
    return 0;
}

static int allowed(const td_group_t *g, uint32_t requester, int op, const uint32_t *ids,
                   size_t n, const td_ids_t *cur)
{
    int member = ids_has(cur, requester);
    if (requester == 0 || (requester == g->creator && (g->type != TD_GROUP_TMP || member)))
        return 1; /* a creator who left a temporary group has no say in it any more */
    if (g->type != TD_GROUP_TMP || !member)
        return 0;
    if (op == TD_GROUP_ADD)
        return 1;
    for (size_t i = 0; i < n; i++) /* a member may leave, nothing more */
        if (ids[i] != requester)
            return 0;
    return 1;
}

int td_group_change(td_conn_t *c, uint32_t gid, uint32_t requester, int op, const uint32_t *ids,
                    size_t n, td_group_change_t *r)
{
    memset(r, 0, sizeof(*r));
    if (n > TD_GROUP_MEMBERS_MAX || (op != TD_GROUP_ADD && op != TD_GROUP_DEL))
        return -1;
    if (td_begin(c) < 0)
        return -1;
    td_group_t *g = malloc(sizeof(*g));
    if (!g)
        return fail_rollback(c);
    int rc = group_read(c, SQL_GROUP_LOCK, gid, g);
    if (rc <= 0) {
        free(g);
        if (rc < 0)
            return fail_rollback(c);
        r->result = TD_GC_NO_GROUP;
        return td_rollback(c);
    }
    uint32_t last = 0;
    if (td_group_members(c, gid, &r->current) < 0 || td_group_last_msg_id(c, gid, &last) < 0)
        goto fail;
    r->version = g->version;
    if (!allowed(g, requester, op, ids, n, &r->current)) {
        r->result = TD_GC_DENIED;
        free(g);
        return td_rollback(c);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0 || ids_has(&r->changed, ids[i]))
            continue;
        if (op == TD_GROUP_ADD && r->current.n + r->changed.n >= TD_GROUP_MEMBERS_MAX)
            break;
        rc = op == TD_GROUP_ADD ? member_on(c, gid, ids[i], last) : member_off(c, gid, ids[i]);
        if (rc < 0 || (rc > 0 && td_ids_push(&r->changed, ids[i]) < 0))
            goto fail;
    }
    if (r->changed.n) {
        td_ids_free(&r->current);
        if (td_group_members(c, gid, &r->current) < 0)
            goto fail;
        td_arg_t u[] = {TD_U32(r->current.n), TD_U32(gid)};
        if (td_exec(c, SQL_GROUP_BUMP, u, 2, NULL, NULL) < 0)
            goto fail;
        r->version = g->version + 1;
    }
    free(g);
    if (td_commit(c) < 0) {
        td_group_change_free(r);
        return fail_rollback(c);
    }
    return 0;
fail:
    free(g);
    td_group_change_free(r);
    return fail_rollback(c);
}

/* ---- group messages ---- */

typedef struct gstore_s {
    const td_msg_send_t *s;
    td_msg_sent_t *out;
    int refused;
    uint32_t have_version; /* the caller's cached version of the member list */
    uint32_t version;      /* the group's version under the message */
    td_ids_t *members;     /* filled when version != have_version */
} gstore_t;

static int gstore_body(td_conn_t *c, void *arg)
{
    gstore_t *g = arg;
    const td_msg_send_t *s = g->s;
    uint32_t gid = s->to;
    g->refused = 0;
    g->out->duplicate = 0;
    uint64_t key = td_msg_session_key(TD_SESSION_GROUP, gid);
    /* First, before any plain read makes the transaction's snapshot: the group row locked,
     * so that what is read below is after every member change that committed. */
    td_arg_t gk[] = {TD_U32(gid)};
    int rc = first_u32(c, SQL_GROUP_MSG_LOCK, gk, 1, &g->version, 1);
    if (rc <= 0) { /* no such group */
        g->refused = rc == 0;
        return rc < 0 ? -1 : 1;
    }
    td_arg_t k[] = {TD_U64(key)};
    uint32_t last = 0;
    rc = first_u32(c, SQL_CTR_LOCK, k, 1, &last, 1);
    if (rc < 0)
        return -1;
    if (rc == 0) { /* a group an imported database has: its counter starts after its rows */
        td_arg_t a[] = {TD_U32(gid)};
        if (first_u32(c, SQL_MSG_MAX[td_group_shard(gid)], a, 1, &last, 1) < 0)
            return -1;
        td_arg_t ins[] = {TD_U64(key), TD_U32(last)};
        if (td_exec(c, SQL_CTR_ADD, ins, 2, NULL, NULL) < 0)
            return -1;
    }
    if (s->dedupe_window) {
        uint32_t v[2];
        td_arg_t a[] = {TD_U32(s->from), TD_U64(s->client_key), TD_U32(s->dedupe_window)};
        rc = first_u32(c, SQL_DEDUPE_GET, a, 3, v, 2);
        if (rc < 0)
            return -1;
        if (rc) {
            g->out->msg_id = v[0];
            g->out->created = s->create_time;
            g->out->duplicate = 1;
            return 1; /* nothing to write */
        }
    }
    uint32_t row;
    td_arg_t m[] = {TD_U32(gid), TD_U32(s->from)};
    rc = first_u32(c, SQL_MEMBER_IS, m, 2, &row, 1);
    if (rc <= 0) {
        g->refused = rc == 0;
        return rc < 0 ? -1 : 1;
    }
    td_ids_free(g->members); /* a retried transaction starts again */
    if (g->version != g->have_version && td_group_members(c, gid, g->members) < 0)
        return -1;
    uint32_t id = last + 1;
    if (id == 0)
        return -1; /* 2^32 messages: no id left */
    td_arg_t set[] = {TD_U32(id), TD_U64(key)};
    if (td_exec(c, SQL_CTR_SET, set, 2, NULL, NULL) < 0)
        return -1;
    char audio[TD_MSG_AUDIO_ID_LEN];
    const char *content = (const char *)s->data;
    size_t len = s->len;
    if (s->type == TD_MSG_TYPE_GROUP_AUDIO) {
        if (td_msg_audio_store(c, s, audio, &len) < 0)
            return -1;
        content = audio;
    }
    td_arg_t ins[] = {TD_U32(gid),       TD_U32(s->from),        TD_U32(id),
                      TD_STRN(content, len), TD_U32(s->type),    TD_U32(s->create_time),
                      TD_U32(s->create_time)};
    td_arg_t rd[] = {TD_U32(id), TD_U32(gid), TD_U32(s->from)};
    td_arg_t ch[] = {TD_U32(s->create_time), TD_U32(gid)};
    if (td_exec(c, SQL_GMSG_ADD[td_group_shard(gid)], ins, 7, NULL, NULL) < 0 ||
        td_exec(c, SQL_MEMBER_READ, rd, 3, NULL, NULL) < 0 ||
        td_exec(c, SQL_CHATTED, ch, 2, NULL, NULL) < 0)
        return -1;
    if (s->dedupe_window) {
        td_arg_t d[] = {TD_U32(s->from), TD_U64(s->client_key), TD_U32(id)};
        if (td_exec(c, SQL_DEDUPE_PUT, d, 3, NULL, NULL) < 0)
            return -1;
    }
    g->out->msg_id = id;
    g->out->created = s->create_time;
    return 0;
}

int td_group_store(td_conn_t *c, const td_msg_send_t *s, td_group_sent_t *out)
{
    uint32_t have = out->have_version;
    memset(out, 0, sizeof(*out));
    out->have_version = have;
    gstore_t g = {s, &out->sent, 0, have, 0, &out->members};
    int rc = td_msg_tx(c, gstore_body, &g, &out->sent.attempts);
    out->refused = g.refused;
    out->version = g.version;
    if (rc < 0 || out->refused || out->sent.duplicate)
        td_ids_free(&out->members);
    return rc;
}

int td_group_read_all(td_conn_t *c, uint32_t gid, uint32_t uid, uint64_t *matched)
{
    uint32_t last;
    if (td_group_last_msg_id(c, gid, &last) < 0)
        return -1;
    td_arg_t a[] = {TD_U32(last), TD_U32(gid), TD_U32(uid)};
    return td_exec(c, SQL_MEMBER_READ, a, 3, matched, NULL);
}

int td_group_msgs(td_conn_t *c, uint32_t gid, uint32_t join, uint32_t begin, uint32_t cnt,
                  size_t max_bytes, td_msg_list_t *out)
{
    if (cnt == 0)
        return 0;
    td_arg_t a[] = {TD_U32(gid), TD_U32(join), TD_U32(begin ? begin : UINT32_MAX), TD_U32(cnt)};
    return td_msg_rows(c, SQL_GMSG_LIST[td_group_shard(gid)], a, 4, max_bytes, out);
}

int td_group_msgs_by_ids(td_conn_t *c, uint32_t gid, uint32_t join, const uint32_t *ids,
                         size_t n, size_t max_bytes, td_msg_list_t *out)
{
    if (n > TD_MSG_IDS_MAX)
        n = TD_MSG_IDS_MAX;
    size_t m = 0;
    uint32_t v[TD_MSG_IDS_MAX];
    for (size_t i = 0; i < n; i++)
        if (ids[i])
            v[m++] = ids[i];
    if (m == 0)
        return 0;
    td_arg_t a[2 + TD_MSG_IDS_MAX];
    a[0] = TD_U32(gid);
    a[1] = TD_U32(join);
    for (size_t k = 0; k < TD_MSG_IDS_MAX; k++) /* unused places repeat an id */
        a[2 + k] = TD_U32(v[k < m ? k : 0]);
    return td_msg_rows(c, SQL_GMSG_IDS[td_group_shard(gid)], a, 2 + TD_MSG_IDS_MAX, max_bytes,
                       out);
}

typedef struct mg_rows_s {
    td_member_group_t g;
    int (*on_row)(void *arg, const td_member_group_t *g);
    void *arg;
} mg_rows_t;

static int on_mg(void *arg)
{
    mg_rows_t *r = arg;
    return r->on_row(r->arg, &r->g);
}

int td_member_groups(td_conn_t *c, uint32_t uid,
                     int (*on_row)(void *arg, const td_member_group_t *g), void *arg)
{
    mg_rows_t r;
    memset(&r, 0, sizeof(r));
    r.on_row = on_row;
    r.arg = arg;
    td_col_t cols[5] = {TD_COL_U32(&r.g.gid), TD_COL_U32(&r.g.last_id), TD_COL_U32(&r.g.join_id),
                        TD_COL_U32(&r.g.read_id), TD_COL_U32(&r.g.last_chated)};
    td_arg_t a[] = {TD_U32(uid)};
    return td_query(c, SQL_MEMBER_GROUPS, a, 1, cols, 5, on_mg, &r) < 0 ? -1 : 0;
}

int td_group_count_after(td_conn_t *c, uint32_t gid, uint32_t after, uint32_t *n)
{
    td_arg_t a[] = {TD_U32(gid), TD_U32(after)};
    *n = 0;
    return first_u32(c, SQL_GMSG_COUNT[td_group_shard(gid)], a, 2, n, 1) < 0 ? -1 : 0;
}
