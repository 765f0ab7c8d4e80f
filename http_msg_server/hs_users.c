/* hs_users: users through db_proxy_server (its administration commands, base/tt_admin.h):
 * POST /api/v1/user/create, update, disable, enable, password (permission user.write). The
 * body's fields are checked here for type and size; their content (lengths in characters,
 * UTF-8 without control characters, an existing department, a free name) by db_proxy_server,
 * whose answer text is passed on. Passwords are plain text here, hashed by db_proxy_server,
 * never logged. Also the shared helpers of hs_admin.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "TT.Admin.pb-c.h"
#include "hs_admin.h"
#include "tt_admin.h"
#include "tt_log.h"

#define UOP(x) TT__ADMIN__USER_OP__USER_##x

/* ---- hs_admin.h ---- */

int hs_admin_fields(tt_http_req_t *req, json_t *body, const hs_field_t *fields)
{
    char why[160];
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        const hs_field_t *f = fields;
        while (f->name && strcmp(f->name, k) != 0)
            f++;
        if (!f->name) {
            snprintf(why, sizeof(why), "unknown field %.64s", k);
            hs_api_error(req, 400, why);
            return -1;
        }
        int ok = f->type == HS_F_STR
                     ? json_is_string(v) && json_string_length(v) <= HS_ADMIN_STR_MAX &&
                           strlen(json_string_value(v)) == json_string_length(v)
                     : json_is_integer(v) && json_integer_value(v) >= 0 &&
                           json_integer_value(v) <= UINT32_MAX;
        if (!ok) {
            snprintf(why, sizeof(why), "%s must be %s", f->name,
                     f->type == HS_F_STR ? "a string of at most 1024 bytes without NUL"
                                         : "an integer from 0 to 4294967295");
            hs_api_error(req, 400, why);
            return -1;
        }
    }
    for (const hs_field_t *f = fields; f->name; f++)
        if (f->required && !json_object_get(body, f->name)) {
            snprintf(why, sizeof(why), "%s is required", f->name);
            hs_api_error(req, 400, why);
            return -1;
        }
    return 0;
}

void hs_admin_answer(tt_http_req_t *req, uint32_t code, const char *text, const char *key,
                     uint32_t id)
{
    int status;
    const char *dflt;
    switch (code) {
    case TT__ADMIN__RESULT_CODE__ADMIN_OK:
        hs_api_reply(req, json_pack("{s:I}", key, (json_int_t)id));
        return;
    case TT__ADMIN__RESULT_CODE__ADMIN_INVALID: status = 400, dflt = "invalid field"; break;
    case TT__ADMIN__RESULT_CODE__ADMIN_NO_USER: status = 404, dflt = "no such user"; break;
    case TT__ADMIN__RESULT_CODE__ADMIN_NO_DEPT: status = 404, dflt = "no such department"; break;
    case TT__ADMIN__RESULT_CODE__ADMIN_NAME_TAKEN: status = 409, dflt = "name taken"; break;
    case TT__ADMIN__RESULT_CODE__ADMIN_DEPT_CYCLE: status = 409, dflt = "cycle"; break;
    default: status = 503, dflt = "the database is unavailable"; break;
    }
    hs_api_error(req, status, text && *text ? text : dflt);
}

/* ---- users ---- */

static void user_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    TT__Admin__UserRsp *rsp = pdu ? hs_unpack(&tt__admin__user_rsp__descriptor, pdu) : NULL;
    if (rsp && rsp->result_code == 0)
        log_info("user %u changed through the API", (unsigned)rsp->user_id);
    if (req) {
        if (!pdu)
            hs_api_error(req, 504, "db_proxy_server did not answer in time");
        else if (!rsp)
            hs_api_error(req, 502, "db_proxy_server's answer does not parse");
        else
            hs_admin_answer(req, rsp->result_code, rsp->result_text, "user_id",
                            rsp->has_user_id ? rsp->user_id : 0);
    }
    tt_pb_free(rsp);
}

static const hs_field_t name_only[] = {{"user_name", HS_F_STR, 1}, {NULL, 0, 0}};
static const hs_field_t with_password[] = {
    {"user_name", HS_F_STR, 1}, {"password", HS_F_STR, 1}, {NULL, 0, 0}};
#define PROFILE                                                                               \
    {"nick", HS_F_STR, 0}, {"domain", HS_F_STR, 0}, {"phone", HS_F_STR, 0},                   \
        {"email", HS_F_STR, 0}, {"avatar", HS_F_STR, 0}, {"sign_info", HS_F_STR, 0},          \
        {"sex", HS_F_UINT, 0}, {"depart_id", HS_F_UINT, 0}
static const hs_field_t create_fields[] = {
    {"user_name", HS_F_STR, 1}, {"password", HS_F_STR, 1}, PROFILE, {NULL, 0, 0}};
static const hs_field_t update_fields[] = {{"user_name", HS_F_STR, 1}, PROFILE, {NULL, 0, 0}};

static void user_call(hs_t *hs, tt_http_req_t *req, json_t *o, uint32_t op,
                      const hs_field_t *fields)
{
    if (hs_admin_fields(req, o, fields) < 0)
        return;
    TT__Admin__UserReq r = TT__ADMIN__USER_REQ__INIT;
    r.op = op;
    r.user_name = (char *)hs_get_str(o, "user_name");
    r.password = (char *)hs_get_str(o, "password");
    r.nick = (char *)hs_get_str(o, "nick");
    r.domain = (char *)hs_get_str(o, "domain");
    r.phone = (char *)hs_get_str(o, "phone");
    r.email = (char *)hs_get_str(o, "email");
    r.avatar = (char *)hs_get_str(o, "avatar");
    r.sign_info = (char *)hs_get_str(o, "sign_info");
    r.has_sex = hs_get_uint(o, "sex", &r.sex) == 0;
    r.has_depart_id = hs_get_uint(o, "depart_id", &r.depart_id) == 0;
    hs_api_db_call(hs, req, TT_SID_ADMIN, TT_CID_ADMIN_USER_REQ, TT_CID_ADMIN_USER_RSP, &r.base,
                   user_done);
}

static void v1_create(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    user_call(hs, req, o, UOP(CREATE), create_fields);
}

static void v1_update(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    user_call(hs, req, o, UOP(UPDATE), update_fields);
}

static void v1_disable(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    user_call(hs, req, o, UOP(DISABLE), name_only);
}

static void v1_enable(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    user_call(hs, req, o, UOP(ENABLE), name_only);
}

static void v1_password(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    user_call(hs, req, o, UOP(PASSWORD), with_password);
}

const hs_route_t hs_users_routes[] = {
    {"/api/v1/user/create", "user.write", v1_create},
    {"/api/v1/user/update", "user.write", v1_update},
    {"/api/v1/user/disable", "user.write", v1_disable},
    {"/api/v1/user/enable", "user.write", v1_enable},
    {"/api/v1/user/password", "user.write", v1_password},
    HS_ROUTES_END};
