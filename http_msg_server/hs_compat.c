/* hs_compat: the original two endpoints, POST /query/CreateGroup and /query/ChangeMembers
 * (BEHAVIOUR/PROTOCOL §5.3), with the same JSON fields and error codes so that the original PHP
 * admin console keeps working. Compatibility mode: with AppKey set, the body's app_key must
 * equal it (error 2 otherwise); without it, app_key is only required to be a string. An
 * unknown path or a body that is not a JSON object is dropped without an answer, as the
 * original does. */
#include <stdlib.h>
#include <string.h>

#include "hs.h"
#include "tt_log.h"

static const char *error_msg(int code)
{
    switch (code) {
    case HS_E_OK: return "成功";
    case HS_E_PARAM: return "参数错误";
    case HS_E_APPKEY: return "appKey不存在";
    case HS_E_SERVER: return "服务器异常";
    case HS_E_CREATE: return "创建群失败";
    case HS_E_CHANGE: return "更改群成员失败";
    default: return "未知错误";
    }
}

void hs_answer_code(tt_http_req_t *req, int code, int with_gid, uint32_t gid)
{
    json_t *o = json_pack("{s:i,s:s}", "error_code", code, "error_msg", error_msg(code));
    if (o && with_gid)
        json_object_set_new(o, "group_id", json_integer(gid));
    char *s = o ? json_dumps(o, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) {
        tt_http_drop(req, "no memory");
        return;
    }
    tt_http_respond_ex(req, 200, hs_is_v1(req) ? "application/json" : "text/html;charset=utf-8",
                       "Cache-Control: no-cache\r\n", s, strlen(s), 0);
    free(s);
}

void hs_on_query(hs_t *hs, tt_http_req_t *req)
{
    int create = strcmp(req->url, "/query/CreateGroup") == 0;
    if (!create && strcmp(req->url, "/query/ChangeMembers") != 0) {
        tt_http_drop(req, "unknown path"); /* as the original: no answer */
        return;
    }
    json_error_t jerr;
    size_t len = tt_buf_len(&req->body);
    json_t *o = len ? json_loadb((const char *)req->body.data + req->body.start, len, 0, &jerr)
                    : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        tt_http_drop(req, "body is not a JSON object"); /* as the original */
        return;
    }
    uint32_t req_user;
    const char *key = hs_get_str(o, "app_key");
    if (!key || hs_get_uint(o, "req_user_id", &req_user) < 0) {
        hs_answer_code(req, HS_E_PARAM, create, 0);
    } else if (hs->app_key && strcmp(key, hs->app_key) != 0) {
        log_warn_rl("request with a wrong app_key refused");
        hs_answer_code(req, HS_E_APPKEY, create, 0);
    } else if (create) {
        hs_group_create(hs, req, o);
    } else {
        hs_group_members(hs, req, o);
    }
    json_decref(o);
}
