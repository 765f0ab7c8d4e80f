/* Groups (issue 9 §1): the normal group list with versions, group info (only for groups whose
 * asked version is older, only to members, with the asking member's shield), temporary groups
 * made by clients, member changes with their permissions, and the per-member shield. MariaDB
 * (IMGroup, IMGroupMember, through td_group) is the truth; nothing here is kept in Redis.
 * Every refusal is an answer with a non-zero result, never silence. */
#include <stdlib.h>
#include <string.h>

#include "IM.Group.pb-c.h"
#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "h_group.h"
#include "h_msg.h"
#include "td_group.h"
#include "tt_group_admin.h"
#include "tt_log.h"

#define GROUP(cmd) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##cmd
#define OTHER(cmd) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##cmd
#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define INFO_MAX 200      /* groups asked per IMGroupInfoListReq */
#define REQ_IDS_MAX 4096  /* user ids per create / change / shield query */

/* ---- CID_GROUP_NORMAL_LIST_REQUEST ---- */

typedef struct vlist_s {
    IM__BaseDefine__GroupVersionInfo *v;
    IM__BaseDefine__GroupVersionInfo **p;
    size_t n, cap;
} vlist_t;

static int on_version(void *arg, uint32_t gid, uint32_t version)
{
    vlist_t *l = arg;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        IM__BaseDefine__GroupVersionInfo *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    IM__BaseDefine__GroupVersionInfo init = IM__BASE_DEFINE__GROUP_VERSION_INFO__INIT;
    l->v[l->n] = init;
    l->v[l->n].group_id = gid;
    l->v[l->n].version = version;
    l->n++;
    return 0;
}

static void list_answer(dbp_ctx_t *x, const IM__Group__IMNormalGroupListReq *req, vlist_t *l)
{
    IM__Group__IMNormalGroupListRsp rsp = IM__GROUP__IMNORMAL_GROUP_LIST_RSP__INIT;
    rsp.user_id = req->user_id;
    if (l && l->n) {
        l->p = malloc(l->n * sizeof(*l->p));
        if (l->p) {
            for (size_t i = 0; i < l->n; i++)
                l->p[i] = &l->v[i];
            rsp.n_group_version_list = l->n;
            rsp.group_version_list = l->p;
        }
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void list_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    list_answer(x, (const IM__Group__IMNormalGroupListReq *)m, NULL);
}

static int list_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMNormalGroupListReq *req = (const IM__Group__IMNormalGroupListReq *)m;
    vlist_t l = {0};
    if (req->user_id) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        int rc = td_groups_of_user(c, req->user_id, TD_GROUP_NORMAL, on_version, &l);
        if (rc < 0)
            dbp_db_failed(x, c, "normal group list");
        dbp_db_put(x, c, 0);
        if (rc < 0) {
            free(l.v);
            return -1;
        }
    }
    list_answer(x, req, &l);
    free(l.v);
    free(l.p);
    return 0;
}

/* ---- CID_GROUP_INFO_REQUEST ---- */

typedef struct info_s {
    td_group_t g;
    td_ids_t members;
    IM__BaseDefine__GroupInfo gi;
} info_t;

static void info_answer(dbp_ctx_t *x, const IM__Group__IMGroupInfoListReq *req, info_t *v,
                        size_t n)
{
    IM__Group__IMGroupInfoListRsp rsp = IM__GROUP__IMGROUP_INFO_LIST_RSP__INIT;
    IM__BaseDefine__GroupInfo *ptrs[INFO_MAX];
    rsp.user_id = req->user_id;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &v[i].gi;
    rsp.n_group_info_list = n;
    rsp.group_info_list = n ? ptrs : NULL;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void info_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    info_answer(x, (const IM__Group__IMGroupInfoListReq *)m, NULL, 0);
}

static int info_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMGroupInfoListReq *req = (const IM__Group__IMGroupInfoListReq *)m;
    size_t asked = req->n_group_version_list < INFO_MAX ? req->n_group_version_list : INFO_MAX;
    info_t *v = asked ? calloc(asked, sizeof(*v)) : NULL;
    if (asked && !v)
        return -1;
    size_t n = 0;
    int rc = 0;
    if (asked && req->user_id) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c) {
            free(v);
            return -1;
        }
        for (size_t i = 0; i < asked && rc >= 0; i++) {
            const IM__BaseDefine__GroupVersionInfo *a = req->group_version_list[i];
            info_t *it = &v[n];
            td_member_t me;
            int dup = 0;
            for (size_t k = 0; k < n; k++)
                dup |= v[k].g.id == a->group_id;
            if (dup || (rc = td_group_get(c, a->group_id, &it->g)) <= 0 ||
                a->version >= it->g.version)
                continue;
            if ((rc = td_group_member(c, a->group_id, req->user_id, &me)) <= 0)
                continue; /* only members get info */
            if ((rc = td_group_members(c, a->group_id, &it->members)) < 0)
                break;
            IM__BaseDefine__GroupInfo init = IM__BASE_DEFINE__GROUP_INFO__INIT;
            it->gi = init;
            it->gi.group_id = it->g.id;
            it->gi.version = it->g.version;
            it->gi.group_name = it->g.name;
            it->gi.group_avatar = it->g.avatar;
            it->gi.group_creator_id = it->g.creator;
            it->gi.group_type = it->g.type == TD_GROUP_TMP
                                    ? IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP
                                    : IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL;
            it->gi.shield_status = me.shield;
            it->gi.n_group_member_list = it->members.n;
            it->gi.group_member_list = it->members.v;
            n++;
        }
        if (rc < 0)
            dbp_db_failed(x, c, "group info");
        dbp_db_put(x, c, 0);
    }
    if (rc >= 0)
        info_answer(x, req, v, n);
    for (size_t i = 0; i < asked; i++)
        td_ids_free(&v[i].members);
    free(v);
    return rc < 0 ? -1 : 0;
}

/* ---- CID_GROUP_CREATE_REQUEST ---- */

static void create_answer(dbp_ctx_t *x, const IM__Group__IMGroupCreateReq *req, uint32_t code,
                          uint32_t gid, const uint32_t *ids, size_t n)
{
    IM__Group__IMGroupCreateRsp rsp = IM__GROUP__IMGROUP_CREATE_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    rsp.has_group_id = code == 0;
    rsp.group_id = gid;
    rsp.group_name = req->group_name;
    rsp.n_user_id_list = code == 0 ? n : 0;
    rsp.user_id_list = (uint32_t *)ids;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void create_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    create_answer(x, (const IM__Group__IMGroupCreateReq *)m, 1, 0, NULL, 0);
}

static int name_ok(const char *s, size_t max_bytes, int may_be_empty)
{
    size_t n = strlen(s);
    return (n || may_be_empty) && n <= max_bytes && dbp_utf8_valid(s, n);
}

static int create_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMGroupCreateReq *req = (const IM__Group__IMGroupCreateReq *)m;
    /* clients (user_id set by msg_server) make temporary groups; normal ones come from the
     * admin tools (user 0) */
    int type_ok = req->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP ||
                  (req->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
                   req->user_id == 0);
    if (!type_ok || !name_ok(req->group_name, TD_GROUP_NAME_MAX, 0) ||
        !name_ok(req->group_avatar, TD_GROUP_NAME_MAX, 1) ||
        req->n_member_id_list + 1 > REQ_IDS_MAX ||
        (req->n_member_id_list == 0 && req->user_id == 0)) {
        create_answer(x, req, 1, 0, NULL, 0);
        return 0;
    }
    /* the creator is a member; unknown users are dropped */
    size_t n = req->n_member_id_list;
    uint32_t *want = malloc((n + 1) * sizeof(*want));
    if (!want)
        return -1;
    memcpy(want, req->member_id_list, n * sizeof(*want));
    if (req->user_id)
        want[n++] = req->user_id;
    td_conn_t *c = dbp_db(x, 1);
    if (!c) {
        free(want);
        return -1;
    }
    td_user_list_t users = {0};
    uint32_t *ids = NULL, gid = 0;
    size_t k = 0;
    int rc = td_users_by_ids(c, want, n, &users);
    if (rc == 0 && (ids = malloc((users.n + 1) * sizeof(*ids))) == NULL)
        rc = -2;
    if (rc == 0) {
        if (req->user_id)
            ids[k++] = req->user_id; /* the creator first */
        for (size_t i = 0; i < users.n; i++)
            if (users.v[i]->id != req->user_id)
                ids[k++] = users.v[i]->id;
        if (req->user_id && (k == 0 || users.n == 0))
            k = 0;
    }
    if (rc == 0 && k > 0)
        rc = td_group_create(c, req->group_name, req->group_avatar, req->user_id,
                             (uint32_t)req->group_type, ids, k, &gid);
    if (rc == -1)
        dbp_db_failed(x, c, "group create");
    dbp_db_put(x, c, 1);
    td_user_list_free(&users);
    free(want);
    if (rc == 0)
        create_answer(x, req, k ? 0 : 1, gid, ids, k);
    free(ids);
    return rc < 0 ? -1 : 0;
}

/* ---- CID_GROUP_CHANGE_MEMBER_REQUEST ---- */

static void change_answer(dbp_ctx_t *x, const IM__Group__IMGroupChangeMemberReq *req,
                          uint32_t code, const td_group_change_t *r)
{
    IM__Group__IMGroupChangeMemberRsp rsp = IM__GROUP__IMGROUP_CHANGE_MEMBER_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.change_type = req->change_type;
    rsp.result_code = code;
    rsp.group_id = req->group_id;
    if (code == 0 && r) {
        rsp.n_cur_user_id_list = r->current.n;
        rsp.cur_user_id_list = r->current.v;
        rsp.n_chg_user_id_list = r->changed.n;
        rsp.chg_user_id_list = r->changed.v;
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void change_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    change_answer(x, (const IM__Group__IMGroupChangeMemberReq *)m, 1, NULL);
}

static int change_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMGroupChangeMemberReq *req = (const IM__Group__IMGroupChangeMemberReq *)m;
    int op = req->change_type == IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
                 ? TD_GROUP_ADD
             : req->change_type == IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL
                 ? TD_GROUP_DEL
                 : 0;
    if (!op || req->n_member_id_list == 0 || req->n_member_id_list > REQ_IDS_MAX) {
        change_answer(x, req, 1, NULL);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    const uint32_t *ids = req->member_id_list;
    size_t n = req->n_member_id_list;
    td_user_list_t users = {0};
    uint32_t *known = NULL;
    int rc = 0;
    if (op == TD_GROUP_ADD) { /* only existing users join */
        rc = td_users_by_ids(c, ids, n, &users);
        if (rc == 0 && (known = malloc((users.n + 1) * sizeof(*known))) == NULL)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < users.n; i++)
            known[i] = users.v[i]->id;
        ids = known;
        n = users.n;
    }
    td_group_change_t r;
    memset(&r, 0, sizeof(r));
    if (rc == 0)
        rc = td_group_change(c, req->group_id, req->user_id, op, ids, n, &r);
    if (rc < 0)
        dbp_db_failed(x, c, "group member change");
    dbp_db_put(x, c, 1);
    td_user_list_free(&users);
    free(known);
    if (rc < 0)
        return -1;
    if (r.result != TD_GC_OK)
        log_debug("%s: member change of group %u by user %u refused (%s)", x->peer,
                    (unsigned)req->group_id, (unsigned)req->user_id,
                    r.result == TD_GC_NO_GROUP ? "no such group" : "not allowed");
    change_answer(x, req, r.result == TD_GC_OK ? 0 : 1, &r);
    td_group_change_free(&r);
    return 0;
}

/* ---- TT_CID_GROUP_DISSOLVE_REQ (base/tt_group_admin.h) ---- */

static void dissolve_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    change_answer(x, (const IM__Group__IMGroupChangeMemberReq *)m, 1, NULL);
}

static int dissolve_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMGroupChangeMemberReq *req = (const IM__Group__IMGroupChangeMemberReq *)m;
    if (req->user_id != 0 || req->group_id == 0) {
        change_answer(x, req, 1, NULL);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    td_ids_t all = {0};
    td_group_change_t r;
    memset(&r, 0, sizeof(r));
    /* the members, then each removed; one joining in between is removed by the next round */
    int rc = 0;
    for (int round = 0; round < 3 && rc == 0; round++) {
        td_ids_t cur = {0};
        td_group_t g;
        rc = td_group_get(c, req->group_id, &g);
        if (rc <= 0) {
            if (rc == 0)
                r.result = TD_GC_NO_GROUP;
            rc = rc < 0 ? -1 : 1;
            break;
        }
        rc = td_group_members(c, req->group_id, &cur);
        if (rc == 0 && cur.n == 0) {
            td_ids_free(&cur);
            break;
        }
        td_group_change_t one;
        if (rc == 0)
            rc = td_group_change(c, req->group_id, 0, TD_GROUP_DEL, cur.v, cur.n, &one);
        td_ids_free(&cur);
        if (rc == 0) {
            for (size_t i = 0; i < one.changed.n && rc == 0; i++)
                rc = td_ids_push(&all, one.changed.v[i]);
            r.result = one.result;
            td_group_change_free(&one);
        }
    }
    if (rc < 0)
        dbp_db_failed(x, c, "group dissolve");
    dbp_db_put(x, c, 1);
    if (rc < 0) {
        td_ids_free(&all);
        return -1;
    }
    if (r.result == TD_GC_OK)
        log_info("%s: group %u dissolved, %zu members removed", x->peer,
                 (unsigned)req->group_id, all.n);
    r.changed = all; /* current stays empty */
    change_answer(x, req, r.result == TD_GC_OK ? 0 : 1, &r);
    td_ids_free(&all);
    return 0;
}

/* ---- CID_GROUP_SHIELD_GROUP_REQUEST ---- */

static void shield_answer(dbp_ctx_t *x, const IM__Group__IMGroupShieldReq *req, uint32_t code)
{
    IM__Group__IMGroupShieldRsp rsp = IM__GROUP__IMGROUP_SHIELD_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.group_id = req->group_id;
    rsp.result_code = code;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void shield_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    shield_answer(x, (const IM__Group__IMGroupShieldReq *)m, 1);
}

static int shield_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Group__IMGroupShieldReq *req = (const IM__Group__IMGroupShieldReq *)m;
    if (req->shield_status > 1 || req->user_id == 0) {
        shield_answer(x, req, 1);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    uint64_t matched = 0;
    int rc = td_group_set_shield(c, req->group_id, req->user_id, req->shield_status, &matched);
    if (rc < 0)
        dbp_db_failed(x, c, "group shield");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    shield_answer(x, req, matched ? 0 : 1);
    return 0;
}

/* ---- CID_OTHER_GET_SHIELD_REQ (msg_server, before pushing a group message) ---- */

typedef struct shields_s {
    const IM__Server__IMGroupGetShieldReq *req;
    IM__BaseDefine__ShieldStatus *v;
    size_t n;
} shields_t;

static int on_shield(void *arg, uint32_t uid, uint32_t shield)
{
    shields_t *s = arg;
    const IM__Server__IMGroupGetShieldReq *req = s->req;
    for (size_t i = 0; i < req->n_user_id && s->n < req->n_user_id; i++)
        if (req->user_id[i] == uid) {
            IM__BaseDefine__ShieldStatus init = IM__BASE_DEFINE__SHIELD_STATUS__INIT;
            s->v[s->n] = init;
            s->v[s->n].user_id = uid;
            s->v[s->n].group_id = req->group_id;
            s->v[s->n].shield_status = shield;
            s->n++;
            break;
        }
    return 0;
}

static void shields_answer(dbp_ctx_t *x, const IM__Server__IMGroupGetShieldReq *req,
                           shields_t *s)
{
    IM__Server__IMGroupGetShieldRsp rsp = IM__SERVER__IMGROUP_GET_SHIELD_RSP__INIT;
    IM__BaseDefine__ShieldStatus **p = NULL;
    rsp.group_id = req->group_id;
    if (s && s->n && (p = malloc(s->n * sizeof(*p))) != NULL) {
        for (size_t i = 0; i < s->n; i++)
            p[i] = &s->v[i];
        rsp.n_shield_status_list = s->n;
        rsp.shield_status_list = p;
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
    free(p);
}

static void shields_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    shields_answer(x, (const IM__Server__IMGroupGetShieldReq *)m, NULL);
}

static int shields_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMGroupGetShieldReq *req = (const IM__Server__IMGroupGetShieldReq *)m;
    shields_t s = {req, NULL, 0};
    if (req->n_user_id == 0 || req->n_user_id > REQ_IDS_MAX) {
        shields_answer(x, req, NULL);
        return 0;
    }
    s.v = calloc(req->n_user_id, sizeof(*s.v));
    if (!s.v)
        return -1;
    td_conn_t *c = dbp_db(x, 0);
    if (!c) {
        free(s.v);
        return -1;
    }
    int rc = td_group_shields(c, req->group_id, on_shield, &s);
    if (rc < 0)
        dbp_db_failed(x, c, "group shields");
    dbp_db_put(x, c, 0);
    if (rc == 0)
        shields_answer(x, req, &s);
    free(s.v);
    return rc < 0 ? -1 : 0;
}

const dbp_cmd_t dbp_group_cmds[] = {
    {GROUP(NORMAL_LIST_REQUEST), "IMNormalGroupListReq",
     &im__group__imnormal_group_list_req__descriptor, SID_GROUP, GROUP(NORMAL_LIST_RESPONSE),
     list_run, list_fail, NULL},
    {GROUP(INFO_REQUEST), "IMGroupInfoListReq", &im__group__imgroup_info_list_req__descriptor,
     SID_GROUP, GROUP(INFO_RESPONSE), info_run, info_fail, NULL},
    {GROUP(CREATE_REQUEST), "IMGroupCreateReq", &im__group__imgroup_create_req__descriptor,
     SID_GROUP, GROUP(CREATE_RESPONSE), create_run, create_fail, NULL},
    {GROUP(CHANGE_MEMBER_REQUEST), "IMGroupChangeMemberReq",
     &im__group__imgroup_change_member_req__descriptor, SID_GROUP, GROUP(CHANGE_MEMBER_RESPONSE),
     change_run, change_fail, NULL},
    {TT_CID_GROUP_DISSOLVE_REQ, "GroupDissolve", &im__group__imgroup_change_member_req__descriptor,
     SID_GROUP, TT_CID_GROUP_DISSOLVE_RSP, dissolve_run, dissolve_fail, NULL},
    {GROUP(SHIELD_GROUP_REQUEST), "IMGroupShieldReq", &im__group__imgroup_shield_req__descriptor,
     SID_GROUP, GROUP(SHIELD_GROUP_RESPONSE), shield_run, shield_fail, NULL},
    {OTHER(GET_SHIELD_REQ), "IMGroupGetShieldReq", &im__server__imgroup_get_shield_req__descriptor,
     DBP_SID_OTHER, OTHER(GET_SHIELD_RSP), shields_run, shields_fail, NULL},
};
const size_t dbp_group_ncmds = sizeof(dbp_group_cmds) / sizeof(dbp_group_cmds[0]);

/* ---- group messages (called by h_msg.c) ---- */

int dbp_group_msg_type(uint32_t type)
{
    return type == TD_MSG_TYPE_GROUP_TEXT || type == TD_MSG_TYPE_GROUP_AUDIO;
}

/* The answer to a stored group message: msg_server's 12-byte head, then the "GRPV" payload
 * (h_msg.h DBP_MSG_GROUP_TAG) with the version and, when msg_server's list is older, the
 * members. */
static int group_stored_answer(dbp_ctx_t *x, const IM__Message__IMMsgData *req,
                               const td_group_sent_t *out)
{
    IM__Message__IMMsgData rsp = IM__MESSAGE__IMMSG_DATA__INIT;
    rsp.from_user_id = req->from_user_id;
    rsp.to_session_id = req->to_session_id;
    rsp.msg_id = out->sent.msg_id;
    rsp.create_time = out->sent.created;
    rsp.msg_type = req->msg_type;
    rsp.msg_data = req->msg_data;
    size_t n = out->members.n, len = 16 + 12 + 4 * n;
    uint8_t *a = NULL;
    if (req->has_attach_data && req->attach_data.len >= 12 && (a = malloc(len))) {
        memcpy(a, req->attach_data.data, 12);
        tt_put32(a + 12, (uint32_t)(len - 16));
        memcpy(a + 16, DBP_MSG_GROUP_TAG, 4);
        tt_put32(a + 20, out->version);
        tt_put32(a + 24, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            tt_put32(a + 28 + 4 * i, out->members.v[i]);
        rsp.has_attach_data = 1;
        rsp.attach_data.data = a;
        rsp.attach_data.len = len;
    } else if (req->has_attach_data) { /* no memory: the head alone still finds the sender */
        rsp.has_attach_data = 1;
        rsp.attach_data.data = req->attach_data.data;
        rsp.attach_data.len = req->attach_data.len < 12 ? req->attach_data.len : 12;
    }
    int rc = dbp_answer(x, &rsp.base);
    free(a);
    return rc < 0 ? -1 : 0;
}

int dbp_group_msg_prepare(const db_proxy_t *dbp, const IM__Message__IMMsgData *req,
                          td_msg_send_t *s)
{
    const char *why = NULL;
    if (req->from_user_id == 0 || req->to_session_id == 0)
        why = "bad sender or group";
    else if (req->msg_data.len == 0)
        why = "empty";
    else if (req->msg_type == TD_MSG_TYPE_GROUP_TEXT && req->msg_data.len > TD_MSG_TEXT_BYTES_MAX)
        why = "text longer than IMGroupMessage.content holds";
    else if (req->msg_type == TD_MSG_TYPE_GROUP_AUDIO &&
             (req->msg_data.len <= 4 || req->msg_data.len - 4 >= TD_MSG_AUDIO_MAX))
        why = "voice without audio or above 16 MiB";
    if (why) {
        log_info("group message from user %u to group %u not stored: %s",
                 (unsigned)req->from_user_id, (unsigned)req->to_session_id, why);
        return -1;
    }
    /* resends are known as for one-to-one messages (h_msg.c) */
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
    *s = (td_msg_send_t){
        .from = req->from_user_id,
        .to = req->to_session_id,
        .type = req->msg_type,
        .create_time = req->create_time,
        .client_key = window ? key : 0,
        .dedupe_window = window,
        .data = req->msg_data.data,
        .len = req->msg_data.len,
    };
    return 0;
}

int dbp_group_msg_answer(dbp_ctx_t *x, const IM__Message__IMMsgData *req,
                         const td_group_sent_t *out)
{
    if (out->refused) {
        log_info("group message from user %u to group %u not stored: no such group or not a "
                 "member", (unsigned)req->from_user_id, (unsigned)req->to_session_id);
        return dbp_msg_stored_answer(x, req, 0, req->create_time, 0) < 0 ? -1 : 0;
    }
    if (out->sent.duplicate) {
        log_info("group message from user %u to group %u is a resend of msg_id %u: not stored "
                 "again", (unsigned)req->from_user_id, (unsigned)req->to_session_id,
                 (unsigned)out->sent.msg_id);
        return dbp_msg_stored_answer(x, req, out->sent.msg_id, out->sent.created, 1) < 0 ? -1
                                                                                        : 0;
    }
    return group_stored_answer(x, req, out);
}

int dbp_group_read_ack(dbp_ctx_t *x, const IM__Message__IMMsgDataReadAck *req)
{
    if (req->user_id == 0 || req->session_id == 0)
        return 0;
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    uint64_t matched = 0;
    int rc = td_group_read_all(c, req->session_id, req->user_id, &matched);
    if (rc < 0)
        dbp_db_failed(x, c, "group read ack");
    dbp_db_put(x, c, 1);
    return rc < 0 ? -1 : 0;
}

/* MsgInfo of group rows (data points into the rows). */
static IM__BaseDefine__MsgInfo **group_infos(const td_msg_list_t *l,
                                             IM__BaseDefine__MsgInfo **items, size_t *n)
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
    for (size_t i = 0; i < l->n; i++) {
        const td_msg_t *m = l->v[i];
        if (!dbp_group_msg_type(m->type))
            continue; /* a type clients would not know in a group */
        IM__BaseDefine__MsgInfo *mi = &(*items)[k];
        im__base_define__msg_info__init(mi);
        mi->msg_id = m->msg_id;
        mi->from_session_id = m->from_id;
        mi->create_time = m->created;
        mi->msg_type = (IM__BaseDefine__MsgType)m->type;
        mi->msg_data.data = m->data;
        mi->msg_data.len = m->len;
        ptrs[k++] = mi;
    }
    *n = k;
    return ptrs;
}

/* The asker's member row: 1 member, 0 not (answered empty), -1 error. */
static int member_of(dbp_ctx_t *x, td_conn_t *c, uint32_t gid, uint32_t uid, td_member_t *me)
{
    int rc = uid && gid ? td_group_member(c, gid, uid, me) : 0;
    if (rc < 0)
        dbp_db_failed(x, c, "group membership");
    return rc;
}

int dbp_group_list(dbp_ctx_t *x, const IM__Message__IMGetMsgListReq *req, size_t budget)
{
    td_msg_list_t l = {0};
    int rc = 0;
    if (req->msg_cnt) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        td_member_t me;
        uint32_t cnt = req->msg_cnt > DBP_MSG_LIST_MAX ? DBP_MSG_LIST_MAX : req->msg_cnt;
        rc = member_of(x, c, req->session_id, req->user_id, &me);
        if (rc > 0 && (rc = td_group_msgs(c, req->session_id, me.join_id, req->msg_id_begin, cnt,
                                          budget, &l)) < 0)
            dbp_db_failed(x, c, "group message list");
        dbp_db_put(x, c, 0);
    }
    IM__BaseDefine__MsgInfo *items = NULL;
    size_t n = 0;
    IM__BaseDefine__MsgInfo **ptrs = rc >= 0 ? group_infos(&l, &items, &n) : NULL;
    if (ptrs) {
        IM__Message__IMGetMsgListRsp rsp = IM__MESSAGE__IMGET_MSG_LIST_RSP__INIT;
        rsp.user_id = req->user_id;
        rsp.session_type = req->session_type;
        rsp.session_id = req->session_id;
        rsp.msg_id_begin = req->msg_id_begin;
        rsp.n_msg_list = n;
        rsp.msg_list = ptrs;
        rsp.has_attach_data = req->has_attach_data;
        rsp.attach_data = req->attach_data;
        rc = dbp_answer(x, &rsp.base);
    } else {
        rc = -1;
    }
    free(items);
    free(ptrs);
    td_msg_list_free(&l);
    return rc < 0 ? -1 : 0;
}

int dbp_group_by_ids(dbp_ctx_t *x, const IM__Message__IMGetMsgByIdReq *req, size_t budget)
{
    td_msg_list_t l = {0};
    int rc = 0;
    if (req->n_msg_id_list) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        td_member_t me;
        rc = member_of(x, c, req->session_id, req->user_id, &me);
        if (rc > 0 && (rc = td_group_msgs_by_ids(c, req->session_id, me.join_id,
                                                 req->msg_id_list, req->n_msg_id_list, budget,
                                                 &l)) < 0)
            dbp_db_failed(x, c, "group messages by id");
        dbp_db_put(x, c, 0);
    }
    IM__BaseDefine__MsgInfo *items = NULL;
    size_t n = 0;
    IM__BaseDefine__MsgInfo **ptrs = rc >= 0 ? group_infos(&l, &items, &n) : NULL;
    if (ptrs) {
        IM__Message__IMGetMsgByIdRsp rsp = IM__MESSAGE__IMGET_MSG_BY_ID_RSP__INIT;
        rsp.user_id = req->user_id;
        rsp.session_type = req->session_type;
        rsp.session_id = req->session_id;
        rsp.n_msg_list = n;
        rsp.msg_list = ptrs;
        rsp.has_attach_data = req->has_attach_data;
        rsp.attach_data = req->attach_data;
        rc = dbp_answer(x, &rsp.base);
    } else {
        rc = -1;
    }
    free(items);
    free(ptrs);
    td_msg_list_free(&l);
    return rc < 0 ? -1 : 0;
}

int dbp_group_latest(dbp_ctx_t *x, const IM__Message__IMGetLatestMsgIdReq *req)
{
    td_conn_t *c = dbp_db(x, 0);
    if (!c)
        return -1;
    td_member_t me;
    uint32_t last = 0;
    int rc = member_of(x, c, req->session_id, req->user_id, &me);
    if (rc > 0 && td_group_last_msg_id(c, req->session_id, &last) < 0) {
        dbp_db_failed(x, c, "group latest id");
        rc = -1;
    }
    dbp_db_put(x, c, 0);
    if (rc < 0)
        return -1;
    IM__Message__IMGetLatestMsgIdRsp rsp = IM__MESSAGE__IMGET_LATEST_MSG_ID_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.session_type = req->session_type;
    rsp.session_id = req->session_id;
    rsp.latest_msg_id = rc > 0 && last > me.join_id ? last : 0;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    return dbp_answer(x, &rsp.base) < 0 ? -1 : 0;
}

/* ---- group entries of unread counts and recent sessions ---- */

typedef struct mg_list_s {
    td_member_group_t *v;
    size_t n, cap;
    uint32_t since;
    int sessions;
} mg_list_t;

static int on_member_group(void *arg, const td_member_group_t *g)
{
    mg_list_t *l = arg;
    uint32_t seen = g->read_id > g->join_id ? g->read_id : g->join_id;
    if (l->sessions ? (g->last_id <= g->join_id || g->last_chated <= l->since)
                    : g->last_id <= seen)
        return 0;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        td_member_group_t *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = *g;
    return 0;
}

static int cmp_chatted(const void *a, const void *b)
{
    const td_member_group_t *x = a, *y = b;
    return x->last_chated < y->last_chated ? 1 : x->last_chated > y->last_chated ? -1 : 0;
}

static ProtobufCBinaryData summary(const td_msg_t *m)
{
    ProtobufCBinaryData d;
    if (m->type == TD_MSG_TYPE_GROUP_AUDIO) {
        d.data = (uint8_t *)DBP_MSG_AUDIO_SUMMARY;
        d.len = sizeof(DBP_MSG_AUDIO_SUMMARY) - 1;
    } else {
        d.data = m->data;
        d.len = m->len;
    }
    return d;
}

static int group_entries(dbp_ctx_t *x, td_conn_t *c, uint32_t uid, uint32_t since, size_t max,
                         int sessions, dbp_group_entries_t *e)
{
    memset(e, 0, sizeof(*e));
    mg_list_t l = {NULL, 0, 0, since, sessions};
    if (td_member_groups(c, uid, on_member_group, &l) < 0) {
        free(l.v);
        dbp_db_failed(x, c, "groups of a member");
        return -1;
    }
    if (sessions && l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), cmp_chatted);
    if (l.n > max)
        l.n = max;
    size_t cap = l.n ? l.n : 1;
    e->latest = calloc(cap, sizeof(*e->latest));
    if (sessions)
        e->sess = calloc(cap, sizeof(*e->sess));
    else
        e->unread = calloc(cap, sizeof(*e->unread));
    int rc = e->latest && (e->sess || e->unread) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const td_member_group_t *g = &l.v[i];
        td_msg_list_t one = {0};
        rc = td_group_msgs(c, g->gid, g->join_id, 0, 1, 0, &one);
        if (rc < 0) {
            dbp_db_failed(x, c, "latest group message");
            td_msg_list_free(&one);
            break;
        }
        if (one.n == 0 || !dbp_group_msg_type(one.v[0]->type)) {
            td_msg_list_free(&one);
            continue;
        }
        td_msg_t *lm = one.v[0];
        free(one.v);
        e->latest[e->n] = lm;
        uint32_t seen = g->read_id > g->join_id ? g->read_id : g->join_id;
        if (sessions) {
            IM__BaseDefine__ContactSessionInfo *s = &e->sess[e->n];
            im__base_define__contact_session_info__init(s);
            s->session_id = g->gid;
            s->session_type = IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP;
            s->session_status = IM__BASE_DEFINE__SESSION_STATUS_TYPE__SESSION_STATUS_OK;
            s->updated_time = g->last_chated;
            s->latest_msg_id = lm->msg_id;
            s->latest_msg_data = summary(lm);
            s->latest_msg_type = (IM__BaseDefine__MsgType)lm->type;
            s->latest_msg_from_user_id = lm->from_id;
        } else {
            IM__BaseDefine__UnreadInfo *u = &e->unread[e->n];
            im__base_define__unread_info__init(u);
            u->session_id = g->gid;
            u->session_type = IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP;
            if (td_group_count_after(c, g->gid, seen, &u->unread_cnt) < 0) {
                dbp_db_failed(x, c, "group unread count");
                rc = -1;
                e->n++; /* its latest is freed with the others */
                break;
            }
            if (u->unread_cnt == 0) {
                td_msg_free(lm);
                e->latest[e->n] = NULL;
                continue;
            }
            u->latest_msg_id = lm->msg_id;
            u->latest_msg_data = summary(lm);
            u->latest_msg_type = (IM__BaseDefine__MsgType)lm->type;
            u->latest_msg_from_user_id = lm->from_id;
            e->total += u->unread_cnt;
        }
        e->n++;
    }
    free(l.v);
    if (rc < 0)
        dbp_group_entries_free(e);
    return rc;
}

int dbp_group_unread(dbp_ctx_t *x, td_conn_t *c, uint32_t uid, dbp_group_entries_t *e)
{
    return group_entries(x, c, uid, 0, DBP_MSG_UNREAD_MAX, 0, e);
}

int dbp_group_sessions(dbp_ctx_t *x, td_conn_t *c, uint32_t uid, uint32_t since, size_t max,
                       dbp_group_entries_t *e)
{
    return group_entries(x, c, uid, since, max, 1, e);
}

void dbp_group_entries_free(dbp_group_entries_t *e)
{
    for (size_t i = 0; e->latest && i < e->n; i++)
        td_msg_free(e->latest[i]);
    free(e->latest);
    free(e->unread);
    free(e->sess);
    memset(e, 0, sizeof(*e));
}
