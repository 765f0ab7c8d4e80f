/* hs_depts: departments through db_proxy_server (base/tt_admin.h): POST /api/v1/dept/create
 * (name, parent_id, priority), /api/v1/dept/rename (dept_id, name), /api/v1/dept/move (dept_id,
 * parent_id; 0 = top), permission dept.write. Types and sizes are checked here, the content
 * (name length in characters, UTF-8, existing departments, no department below itself) by
 * db_proxy_server. */
#include <stdlib.h>

#include "TT.Admin.pb-c.h"
#include "hs_admin.h"
#include "tt_admin.h"
#include "tt_log.h"

#define DOP(x) TT__ADMIN__DEPT_OP__DEPT_##x

static void dept_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    TT__Admin__DeptRsp *rsp = pdu ? hs_unpack(&tt__admin__dept_rsp__descriptor, pdu) : NULL;
    if (rsp && rsp->result_code == 0)
        log_info("department %u changed through the API", (unsigned)rsp->dept_id);
    if (req) {
        if (!pdu)
            hs_api_error(req, 504, "db_proxy_server did not answer in time");
        else if (!rsp)
            hs_api_error(req, 502, "db_proxy_server's answer does not parse");
        else
            hs_admin_answer(req, rsp->result_code, rsp->result_text, "dept_id",
                            rsp->has_dept_id ? rsp->dept_id : 0);
    }
    tt_pb_free(rsp);
}

static const hs_field_t create_fields[] = {
    {"name", HS_F_STR, 1}, {"parent_id", HS_F_UINT, 0}, {"priority", HS_F_UINT, 0}, {NULL, 0, 0}};
static const hs_field_t rename_fields[] = {
    {"dept_id", HS_F_UINT, 1}, {"name", HS_F_STR, 1}, {NULL, 0, 0}};
static const hs_field_t move_fields[] = {
    {"dept_id", HS_F_UINT, 1}, {"parent_id", HS_F_UINT, 1}, {NULL, 0, 0}};

static void dept_call(hs_t *hs, tt_http_req_t *req, json_t *o, uint32_t op,
                      const hs_field_t *fields)
{
    if (hs_admin_fields(req, o, fields) < 0)
        return;
    TT__Admin__DeptReq r = TT__ADMIN__DEPT_REQ__INIT;
    r.op = op;
    r.name = (char *)hs_get_str(o, "name");
    r.has_dept_id = hs_get_uint(o, "dept_id", &r.dept_id) == 0;
    r.has_parent_id = hs_get_uint(o, "parent_id", &r.parent_id) == 0;
    r.has_priority = hs_get_uint(o, "priority", &r.priority) == 0;
    hs_api_db_call(hs, req, TT_SID_ADMIN, TT_CID_ADMIN_DEPT_REQ, TT_CID_ADMIN_DEPT_RSP, &r.base,
                   dept_done);
}

static void v1_create(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    dept_call(hs, req, o, DOP(CREATE), create_fields);
}

static void v1_rename(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    dept_call(hs, req, o, DOP(RENAME), rename_fields);
}

static void v1_move(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    dept_call(hs, req, o, DOP(MOVE), move_fields);
}

const hs_route_t hs_depts_routes[] = {
    {"/api/v1/dept/create", "dept.write", v1_create},
    {"/api/v1/dept/rename", "dept.write", v1_rename},
    {"/api/v1/dept/move", "dept.write", v1_move},
    HS_ROUTES_END};
