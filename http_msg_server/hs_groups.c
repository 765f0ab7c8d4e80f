/* hs_groups: groups through db_proxy_server. create and members answer in the original's
 * error_code format (they serve the /query endpoints too); a member change is also told to route_server
 * (IMGroupChangeMemberNotify, user 0) so that the msg_servers notify the members. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "hs.h"
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

const hs_route_t hs_groups_routes[] = {
    {"/api/v1/group/create", "group.write", v1_create},
    {"/api/v1/group/members", "group.write", v1_members},
    HS_ROUTES_END};
