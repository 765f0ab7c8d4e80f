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

static int ids_push(td_ids_t *l, uint32_t id)
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
    if (ids_push(r->out, r->id) < 0) {
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
    if (requester == 0 || requester == g->creator)
        return 1;
    if (g->type != TD_GROUP_TMP || !ids_has(cur, requester))
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
        if (rc < 0 || (rc > 0 && ids_push(&r->changed, ids[i]) < 0))
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
