/* hs_groups: groups through db_proxy_server: create, members, list, info, dissolve (a
 * server-only command, base/tt_group_admin.h). create and members answer in the original's
 * error_code format (they serve the /query endpoints too); a member change is also told to route_server
 * (IMGroupChangeMemberNotify, user 0) so that the msg_servers notify the members. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "hs.h"
#include "tt_group_admin.h"
#include "tt_log.h"

#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define GROUP(x) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##x

/* ---- create ---- */

static void create_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    IM__Group__IMGroupCreateRsp *rsp =
        pdu ? hs_unpack(&im__group__imgroup_create_rsp__descriptor, pdu) : NULL;
    int ok = rsp && rsp->result_code == 0 && rsp->has_group_id;
    if (ok)
        log_info("group %u created through the API", (unsigned)rsp->group_id);
    if (req)
        hs_answer_code(req, !pdu ? HS_E_SERVER : ok ? HS_E_OK : HS_E_CREATE, 1,
                       ok ? rsp->group_id : 0);
    tt_pb_free(rsp);
}

void hs_group_create(hs_t *hs, tt_http_req_t *req, json_t *o)
{
    IM__Group__IMGroupCreateReq r = IM__GROUP__IMGROUP_CREATE_REQ__INIT;
    uint32_t type;
    uint32_t *ids = NULL;
    size_t n = 0;
    const char *name = hs_get_str(o, "group_name"), *avatar = hs_get_str(o, "group_avatar");
    if (!name || !avatar || hs_get_uint(o, "group_type", &type) < 0 ||
        (type != IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
         type != IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP) ||
        hs_get_ids(o, "user_id_list", &ids, &n) < 0) {
        hs_answer_code(req, HS_E_PARAM, 1, 0);
        return;
    }
    r.user_id = 0; /* admin: the group's creator is 0 */
    r.group_type = (IM__BaseDefine__GroupType)type;
    r.group_name = (char *)name;
    r.group_avatar = (char *)avatar;
    r.n_member_id_list = n;
    r.member_id_list = ids;
    if (hs_db_call(hs, req, SID_GROUP, GROUP(CREATE_REQUEST), GROUP(CREATE_RESPONSE), &r.base,
                   create_done, NULL) < 0)
        hs_answer_code(req, HS_E_SERVER, 1, 0);
    free(ids);
}

/* ---- members ---- */

static void notify_route(hs_t *hs, const IM__Group__IMGroupChangeMemberRsp *rsp)
{
    IM__Group__IMGroupChangeMemberNotify n = IM__GROUP__IMGROUP_CHANGE_MEMBER_NOTIFY__INIT;
    n.user_id = 0;
    n.change_type = rsp->change_type;
    n.group_id = rsp->group_id;
    n.n_cur_user_id_list = rsp->n_cur_user_id_list;
    n.cur_user_id_list = rsp->cur_user_id_list;
    n.n_chg_user_id_list = rsp->n_chg_user_id_list;
    n.chg_user_id_list = rsp->chg_user_id_list;
    if (hs_route_send(hs, SID_GROUP, GROUP(CHANGE_MEMBER_NOTIFY), &n.base) < 0)
        log_warn("group %u changed but no route_server link is up: members not notified",
                 (unsigned)rsp->group_id);
}

static void members_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)c;
    IM__Group__IMGroupChangeMemberRsp *rsp =
        pdu ? hs_unpack(&im__group__imgroup_change_member_rsp__descriptor, pdu) : NULL;
    if (rsp && rsp->result_code == 0 && rsp->n_chg_user_id_list > 0)
        notify_route(hs, rsp);
    if (req)
        hs_answer_code(req, !pdu ? HS_E_SERVER : rsp && rsp->result_code == 0 ? HS_E_OK
                                                                                : HS_E_CHANGE,
                       0, 0);
    tt_pb_free(rsp);
}

void hs_group_members(hs_t *hs, tt_http_req_t *req, json_t *o)
{
    IM__Group__IMGroupChangeMemberReq r = IM__GROUP__IMGROUP_CHANGE_MEMBER_REQ__INIT;
    uint32_t gid, type;
    uint32_t *ids = NULL;
    size_t n = 0;
    if (hs_get_uint(o, "group_id", &gid) < 0 || hs_get_uint(o, "modify_type", &type) < 0 ||
        (type != IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD &&
         type != IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL) ||
        hs_get_ids(o, "user_id_list", &ids, &n) < 0) {
        hs_answer_code(req, HS_E_PARAM, 0, 0);
        return;
    }
    r.user_id = 0; /* admin: no permission check */
    r.change_type = (IM__BaseDefine__GroupModifyType)type;
    r.group_id = gid;
    r.n_member_id_list = n;
    r.member_id_list = ids;
    if (hs_db_call(hs, req, SID_GROUP, GROUP(CHANGE_MEMBER_REQUEST),
                   GROUP(CHANGE_MEMBER_RESPONSE), &r.base, members_done, NULL) < 0)
        hs_answer_code(req, HS_E_SERVER, 0, 0);
    free(ids);
}

static void v1_create(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    hs_group_create(hs, req, o);
}

static void v1_members(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    hs_group_members(hs, req, o);
}

/* ---- list and info (as a member sees them: db_proxy_server answers members only) ---- */

#define MAX_INFO 64 /* groups in one info request */

static void list_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    IM__Group__IMNormalGroupListRsp *r = hs_api_answer(
        req, pdu, &im__group__imnormal_group_list_rsp__descriptor, "db_proxy_server");
    if (!r)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n_group_version_list; i++)
        json_array_append_new(list, json_pack("{s:I,s:I}", "group_id",
                                              (json_int_t)r->group_version_list[i]->group_id,
                                              "version",
                                              (json_int_t)r->group_version_list[i]->version));
    hs_api_reply(req, json_pack("{s:I,s:o}", "user_id", (json_int_t)r->user_id, "groups",
                                list ? list : json_array()));
    tt_pb_free(r);
}

static void v1_list(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    uint32_t uid;
    if (hs_api_id(req, o, "user_id", &uid) < 0)
        return;
    IM__Group__IMNormalGroupListReq r = IM__GROUP__IMNORMAL_GROUP_LIST_REQ__INIT;
    r.user_id = uid;
    hs_api_db_call(hs, req, SID_GROUP, GROUP(NORMAL_LIST_REQUEST), GROUP(NORMAL_LIST_RESPONSE),
                   &r.base, list_done);
}

static void info_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    IM__Group__IMGroupInfoListRsp *r =
        hs_api_answer(req, pdu, &im__group__imgroup_info_list_rsp__descriptor, "db_proxy_server");
    if (!r)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n_group_info_list; i++) {
        const IM__BaseDefine__GroupInfo *g = r->group_info_list[i];
        json_t *members = json_array();
        for (size_t k = 0; members && k < g->n_group_member_list; k++)
            json_array_append_new(members, json_integer(g->group_member_list[k]));
        json_t *one = json_pack("{s:I,s:I,s:s,s:s,s:I,s:i,s:o}", "group_id",
                                (json_int_t)g->group_id, "version", (json_int_t)g->version,
                                "name", g->group_name ? g->group_name : "", "avatar",
                                g->group_avatar ? g->group_avatar : "", "creator_id",
                                (json_int_t)g->group_creator_id, "type", (int)g->group_type,
                                "members", members ? members : json_array());
        json_array_append_new(list, one); /* NULL (a name not UTF-8): left out */
    }
    hs_api_reply(req, list ? json_pack("{s:o}", "groups", list) : NULL);
    tt_pb_free(r);
}

static void v1_info(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    uint32_t uid, *ids = NULL;
    size_t n = 0;
    if (hs_get_uint(o, "user_id", &uid) < 0 || uid == 0) {
        hs_api_error(req, 400, "user_id (a member the groups are seen as) must be a positive "
                               "integer");
        return;
    }
    int bad = hs_get_ids(o, "group_ids", &ids, &n) < 0;
    if (bad || n > MAX_INFO) {
        if (!bad)
            free(ids);
        hs_api_error(req, 400, "group_ids must be an array of 1..64 positive integers");
        return;
    }
    IM__BaseDefine__GroupVersionInfo v[MAX_INFO], *p[MAX_INFO];
    for (size_t i = 0; i < n; i++) {
        im__base_define__group_version_info__init(&v[i]);
        v[i].group_id = ids[i];
        v[i].version = 0; /* 0: always answered */
        p[i] = &v[i];
    }
    free(ids);
    IM__Group__IMGroupInfoListReq r = IM__GROUP__IMGROUP_INFO_LIST_REQ__INIT;
    r.user_id = uid;
    r.n_group_version_list = n;
    r.group_version_list = p;
    hs_api_db_call(hs, req, SID_GROUP, GROUP(INFO_REQUEST), GROUP(INFO_RESPONSE), &r.base,
                   info_done);
}

/* ---- dissolve (base/tt_group_admin.h) ---- */

static void dissolve_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)c;
    if (!pdu) {
        if (req)
            hs_api_error(req, 504, "db_proxy_server did not answer in time");
        return;
    }
    IM__Group__IMGroupChangeMemberRsp *rsp =
        hs_unpack(&im__group__imgroup_change_member_rsp__descriptor, pdu);
    if (rsp && rsp->result_code == 0 && rsp->n_chg_user_id_list > 0)
        notify_route(hs, rsp);
    if (req && !rsp) {
        hs_api_error(req, 502, "db_proxy_server answer does not parse");
    } else if (req && rsp->result_code != 0) {
        hs_api_error(req, 404, "no such group");
    } else if (req) {
        json_t *ids = json_array();
        for (size_t i = 0; ids && i < rsp->n_chg_user_id_list; i++)
            json_array_append_new(ids, json_integer(rsp->chg_user_id_list[i]));
        hs_api_reply(req, ids ? json_pack("{s:I,s:o}", "group_id", (json_int_t)rsp->group_id,
                                          "removed", ids)
                              : NULL);
    }
    if (rsp && rsp->result_code == 0)
        log_info("group %u dissolved through the API", (unsigned)rsp->group_id);
    tt_pb_free(rsp);
}

static void v1_dissolve(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    uint32_t gid;
    if (hs_api_id(req, o, "group_id", &gid) < 0)
        return;
    IM__Group__IMGroupChangeMemberReq r = IM__GROUP__IMGROUP_CHANGE_MEMBER_REQ__INIT;
    r.user_id = 0;
    r.change_type = IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL;
    r.group_id = gid;
    hs_api_db_call(hs, req, TT_SID_GROUP, TT_CID_GROUP_DISSOLVE_REQ, TT_CID_GROUP_DISSOLVE_RSP,
                   &r.base, dissolve_done);
}

const hs_route_t hs_groups_routes[] = {
    {"/api/v1/group/create", "group.write", v1_create},
    {"/api/v1/group/members", "group.write", v1_members},
    {"/api/v1/group/list", "group.read", v1_list},
    {"/api/v1/group/info", "group.read", v1_info},
    {"/api/v1/group/dissolve", "group.write", v1_dissolve},
    HS_ROUTES_END};
