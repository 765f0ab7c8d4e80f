/* http_msg_server: the HTTP/JSON API for other systems on ListenIP:ListenPort. The original
 * two endpoints (POST /query/CreateGroup, /query/ChangeMembers, BEHAVIOUR/PROTOCOL §5.3) are
 * asked of db_proxy_server (ConcurrentDBConnCnt links to each DBServerIP<n>, DaemonSecret
 * auth) with the HTTP request id in attach_data; the answer finds the request again by it. A
 * member change is also told to route_server (IMGroupChangeMemberNotify, user 0) so that the
 * msg_servers notify the members. Compatibility mode: with AppKey set, the body's app_key must
 * equal it (error 2 otherwise); without it, app_key is only required to be a string.
 * The /api/v1 endpoints (docs/HTTP_API.md) are signed (hs_auth.h, keys ApiKey<n>); failed
 * signature checks are counted per source address and over ApiFailLimit a minute the address
 * gets 429 without a check. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "hs_auth.h"
#include "tt_daemon.h"
#include "tt_link.h"
#include "tt_log.h"

#define MAX_DB 16
#define MAX_ROUTE 16
#define MAX_LINKS 256
#define MAX_IDS 2048          /* user ids in one request */
#define ATTACH_TYPE_HANDLE 1  /* attach_data: type, handle, service type (BE uint32 each) */
#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define GROUP(x) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##x
#define MAX_API_KEYS 64
#define FAIL_SLOTS 1024       /* source addresses tracked for failed signatures */

typedef struct fail_slot_s {
    char addr[56];
    int64_t minute;           /* unix time / 60 of the count */
    uint32_t count;
} fail_slot_t;

enum { E_OK = 0, E_PARAM = 1, E_APPKEY = 2, E_SERVER = 10, E_CREATE = 11, E_CHANGE = 12 };

typedef struct http_msg_server_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_http_limits_t http;      /* HTTP limits */
    long long db_conns;         /* connections per db_proxy_server */
    tt_http_server_t *api;      /* the API listener */
    const char *app_key;        /* AppKey (compatibility mode), NULL when off */
    char db_host[MAX_DB][256];
    uint16_t db_port[MAX_DB];
    int n_db_addr;
    char route_host[MAX_ROUTE][256];
    uint16_t route_port[MAX_ROUTE];
    int n_route_addr;
    tt_link_t *db[MAX_LINKS];
    int n_db;
    unsigned db_next;           /* round robin */
    tt_link_t *route[MAX_ROUTE];
    int n_route;
    hs_auth_t auth;             /* /api/v1 keys and nonces */
    long long fail_limit;       /* failed signatures per address and minute before 429 */
    fail_slot_t fails[FAIL_SLOTS];
} http_msg_server_t;

static const char V1_MARK; /* req->udata of an /api/v1 request: JSON content type */

/* ---- answers ---- */

static const char *error_msg(int code)
{
    switch (code) {
    case E_OK: return "成功";
    case E_PARAM: return "参数错误";
    case E_APPKEY: return "appKey不存在";
    case E_SERVER: return "服务器异常";
    case E_CREATE: return "创建群失败";
    case E_CHANGE: return "更改群成员失败";
    default: return "未知错误";
    }
}

/* Answers {"error_code":code,"error_msg":...} plus group_id when with_gid. */
static void answer(tt_http_req_t *req, int code, int with_gid, uint32_t gid)
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
    tt_http_respond_ex(req, 200,
                       req->udata == &V1_MARK ? "application/json" : "text/html;charset=utf-8",
                       "Cache-Control: no-cache\r\n", s, strlen(s), 0);
    free(s);
}

/* ---- links ---- */

static void db_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("db_proxy_server link to %s up", tt_link_name(l));
}

static void link_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("link to %s down: %s", tt_link_name(l), reason);
}

static int attach_id(const ProtobufCBinaryData *a, int has, uint64_t *id)
{
    if (!has || a->len != 12 || tt_get32(a->data) != ATTACH_TYPE_HANDLE)
        return -1;
    *id = tt_get32(a->data + 4);
    return 0;
}

static void notify_route(http_msg_server_t *hs, const IM__Group__IMGroupChangeMemberRsp *rsp)
{
    IM__Group__IMGroupChangeMemberNotify n = IM__GROUP__IMGROUP_CHANGE_MEMBER_NOTIFY__INIT;
    n.user_id = 0;
    n.change_type = rsp->change_type;
    n.group_id = rsp->group_id;
    n.n_cur_user_id_list = rsp->n_cur_user_id_list;
    n.cur_user_id_list = rsp->cur_user_id_list;
    n.n_chg_user_id_list = rsp->n_chg_user_id_list;
    n.chg_user_id_list = rsp->chg_user_id_list;
    tt_link_t *best = NULL; /* the oldest route_server link, as msg_server picks its master */
    for (int i = 0; i < hs->n_route; i++)
        if (tt_link_is_up(hs->route[i]) &&
            (!best || tt_link_up_since(hs->route[i]) < tt_link_up_since(best)))
            best = hs->route[i];
    if (best)
        tt_link_send(best, SID_GROUP, GROUP(CHANGE_MEMBER_NOTIFY), 0, &n.base);
    else
        log_warn("group %u changed but no route_server link is up: members not notified",
                 (unsigned)rsp->group_id);
}

static void db_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    http_msg_server_t *hs = udata;
    (void)l;
    uint64_t id;
    tt_http_req_t *req;
    if (pdu->command_id == GROUP(CREATE_RESPONSE)) {
        IM__Group__IMGroupCreateRsp *rsp = (IM__Group__IMGroupCreateRsp *)tt_pb_unpack(
            &im__group__imgroup_create_rsp__descriptor, pdu->body, pdu->body_len);
        if (rsp && attach_id(&rsp->attach_data, rsp->has_attach_data, &id) == 0 &&
            (req = tt_http_find(hs->api, id)) != NULL) {
            int ok = rsp->result_code == 0 && rsp->has_group_id;
            answer(req, ok ? E_OK : E_CREATE, 1, ok ? rsp->group_id : 0);
            if (ok)
                log_info("group %u created through the API", (unsigned)rsp->group_id);
        }
        tt_pb_free(rsp);
    } else if (pdu->command_id == GROUP(CHANGE_MEMBER_RESPONSE)) {
        IM__Group__IMGroupChangeMemberRsp *rsp = (IM__Group__IMGroupChangeMemberRsp *)tt_pb_unpack(
            &im__group__imgroup_change_member_rsp__descriptor, pdu->body, pdu->body_len);
        if (rsp && rsp->result_code == 0 && rsp->n_chg_user_id_list > 0)
            notify_route(hs, rsp);
        if (rsp && attach_id(&rsp->attach_data, rsp->has_attach_data, &id) == 0 &&
            (req = tt_http_find(hs->api, id)) != NULL)
            answer(req, rsp->result_code == 0 ? E_OK : E_CHANGE, 0, 0);
        tt_pb_free(rsp);
    }
}

static const tt_link_handler_t db_handler = {db_up, link_down, db_pdu};

static void route_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("route_server link to %s up", tt_link_name(l));
}

static void route_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l, (void)pdu, (void)udata; /* broadcasts for msg_servers: nothing for us */
}

static const tt_link_handler_t route_handler = {route_up, link_down, route_pdu};

/* A db_proxy_server link that is up, round robin; NULL when none is. */
static tt_link_t *db_link(http_msg_server_t *hs)
{
    for (int k = 0; k < hs->n_db; k++) {
        tt_link_t *l = hs->db[hs->db_next++ % (unsigned)hs->n_db];
        if (tt_link_is_up(l))
            return l;
    }
    return NULL;
}

/* ---- JSON fields ---- */

static int get_uint(json_t *o, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
        return -1;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static const char *get_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The ids of user_id_list into ids (malloc'ed); -1 when absent, not an array of uints, empty or
 * too long. */
static int get_ids(json_t *o, uint32_t **ids, size_t *n)
{
    json_t *a = json_object_get(o, "user_id_list");
    size_t len = json_array_size(a);
    if (!json_is_array(a) || len == 0 || len > MAX_IDS || !(*ids = malloc(len * sizeof(**ids))))
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > UINT32_MAX) {
            free(*ids);
            return -1;
        }
        (*ids)[i] = (uint32_t)json_integer_value(v);
    }
    *n = len;
    return 0;
}

/* ---- endpoints ---- */

static int create_group(http_msg_server_t *hs, tt_http_req_t *req, json_t *o, tt_link_t *db,
                        ProtobufCBinaryData *attach)
{
    IM__Group__IMGroupCreateReq r = IM__GROUP__IMGROUP_CREATE_REQ__INIT;
    uint32_t type;
    uint32_t *ids = NULL;
    size_t n = 0;
    (void)hs;
    const char *name = get_str(o, "group_name"), *avatar = get_str(o, "group_avatar");
    if (!name || !avatar || get_uint(o, "group_type", &type) < 0 ||
        (type != IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
         type != IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP) ||
        get_ids(o, &ids, &n) < 0) {
        answer(req, E_PARAM, 1, 0);
        return 0;
    }
    if (!db) {
        free(ids);
        answer(req, E_SERVER, 1, 0);
        return 0;
    }
    r.user_id = 0; /* admin: the group's creator is 0 */
    r.group_type = (IM__BaseDefine__GroupType)type;
    r.group_name = (char *)name;
    r.group_avatar = (char *)avatar;
    r.n_member_id_list = n;
    r.member_id_list = ids;
    r.has_attach_data = 1;
    r.attach_data = *attach;
    int rc = tt_link_send(db, SID_GROUP, GROUP(CREATE_REQUEST), 0, &r.base);
    free(ids);
    if (rc < 0)
        answer(req, E_SERVER, 1, 0);
    return 0;
}

static int change_members(http_msg_server_t *hs, tt_http_req_t *req, json_t *o, tt_link_t *db,
                          ProtobufCBinaryData *attach)
{
    IM__Group__IMGroupChangeMemberReq r = IM__GROUP__IMGROUP_CHANGE_MEMBER_REQ__INIT;
    uint32_t gid, type;
    uint32_t *ids = NULL;
    size_t n = 0;
    (void)hs;
    if (get_uint(o, "group_id", &gid) < 0 || get_uint(o, "modify_type", &type) < 0 ||
        (type != IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD &&
         type != IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL) ||
        get_ids(o, &ids, &n) < 0) {
        answer(req, E_PARAM, 0, 0);
        return 0;
    }
    if (!db) {
        free(ids);
        answer(req, E_SERVER, 0, 0);
        return 0;
    }
    r.user_id = 0; /* admin: no permission check */
    r.change_type = (IM__BaseDefine__GroupModifyType)type;
    r.group_id = gid;
    r.n_member_id_list = n;
    r.member_id_list = ids;
    r.has_attach_data = 1;
    r.attach_data = *attach;
    int rc = tt_link_send(db, SID_GROUP, GROUP(CHANGE_MEMBER_REQUEST), 0, &r.base);
    free(ids);
    if (rc < 0)
        answer(req, E_SERVER, 0, 0);
    return 0;
}

/* ---- /api/v1: signed requests ---- */

static void api_error(tt_http_req_t *req, int status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s)
        tt_http_respond(req, status, "application/json", s, strlen(s));
    else
        tt_http_drop(req, "no memory");
    free(s);
}

/* The source address of req without its port. */
static void peer_addr(tt_http_req_t *req, char out[56])
{
    snprintf(out, 56, "%s", req->conn->peer);
    char *colon = strrchr(out, ':');
    if (colon)
        *colon = '\0';
}

static fail_slot_t *fail_slot(http_msg_server_t *hs, const char *addr, int64_t minute, int add)
{
    uint32_t h = 2166136261u;
    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    fail_slot_t *f = &hs->fails[h % FAIL_SLOTS]; /* a collision shares a count: stricter */
    if (f->minute != minute || strcmp(f->addr, addr) != 0) {
        if (!add)
            return f->minute == minute ? f : NULL;
        snprintf(f->addr, sizeof(f->addr), "%s", addr);
        f->minute = minute;
        f->count = 0;
    }
    return f;
}

typedef struct route_s {
    const char *path;
    const char *perm;
    int create; /* 1: group create, 0: member change */
} route_t;

static const route_t routes[] = {
    {"/api/v1/group/create", "group.write", 1},
    {"/api/v1/group/members", "group.write", 0},
};

static void on_api(http_msg_server_t *hs, tt_http_req_t *req)
{
    const route_t *rt = NULL;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(req->url, routes[i].path) == 0)
            rt = &routes[i];
    if (!rt) {
        api_error(req, 404, "no such endpoint");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        api_error(req, 405, "POST only");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    char addr[56];
    peer_addr(req, addr);
    fail_slot_t *f = fail_slot(hs, addr, now / 60, 0);
    if (f && f->count >= hs->fail_limit) {
        api_error(req, 429, "too many failed signatures from this address");
        return;
    }
    size_t len = tt_buf_len(&req->body);
    hs_request_t r = {.method = req->method, .path = req->url,
                      .key = tt_http_header(req, "X-TT-Key"),
                      .timestamp = tt_http_header(req, "X-TT-Timestamp"),
                      .nonce = tt_http_header(req, "X-TT-Nonce"),
                      .signature = tt_http_header(req, "X-TT-Signature"),
                      .body = len ? req->body.data + req->body.start : NULL, .body_len = len};
    const hs_key_t *key;
    hs_result_t res = hs_auth_check(&hs->auth, &r, rt->perm, now, &key);
    if (res == HS_FORBIDDEN) {
        log_warn_rl("key %s lacks %s for %s", key->name, rt->perm, rt->path);
        api_error(req, 403, hs_result_str(res));
        return;
    }
    if (res == HS_FULL) {
        api_error(req, 429, hs_result_str(res));
        return;
    }
    if (res != HS_OK) {
        fail_slot(hs, addr, now / 60, 1)->count++;
        log_warn_rl("%s %s from %s refused: %s", req->method, rt->path, addr,
                    hs_result_str(res));
        api_error(req, 401, hs_result_str(res));
        return;
    }
    json_error_t jerr;
    json_t *o = len ? json_loadb((const char *)r.body, len, 0, &jerr) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        api_error(req, 400, "the body is not a JSON object (UTF-8)");
        return;
    }
    req->udata = (void *)&V1_MARK;
    uint8_t a[12];
    tt_put32(a, ATTACH_TYPE_HANDLE);
    tt_put32(a + 4, (uint32_t)req->id);
    tt_put32(a + 8, 0);
    ProtobufCBinaryData attach = {sizeof(a), a};
    log_info("%s by key %s", rt->path, key->name);
    if (rt->create)
        create_group(hs, req, o, db_link(hs), &attach);
    else
        change_members(hs, req, o, db_link(hs), &attach);
    json_decref(o);
}

static void on_http(tt_http_req_t *req, void *udata)
{
    http_msg_server_t *hs = udata;
    if (strncmp(req->url, "/api/v1/", 8) == 0) {
        on_api(hs, req);
        return;
    }
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
    const char *key = get_str(o, "app_key");
    if (!key || get_uint(o, "req_user_id", &req_user) < 0) {
        answer(req, E_PARAM, create, 0);
    } else if (hs->app_key && strcmp(key, hs->app_key) != 0) {
        log_warn_rl("request with a wrong app_key refused");
        answer(req, E_APPKEY, create, 0);
    } else {
        /* the request id fits the 32-bit handle: ids are counted from 1 per server and wrap
         * only after 4 billion requests, long after the request was answered */
        uint8_t a[12];
        tt_put32(a, ATTACH_TYPE_HANDLE);
        tt_put32(a + 4, (uint32_t)req->id);
        tt_put32(a + 8, 0);
        ProtobufCBinaryData attach = {sizeof(a), a};
        tt_link_t *db = db_link(hs);
        if (create)
            create_group(hs, req, o, db, &attach);
        else
            change_members(hs, req, o, db, &attach);
    }
    json_decref(o);
}

/* ---- life ---- */

static int configure(tt_daemon_t *d, void *udata)
{
    http_msg_server_t *hs = udata;
    uint16_t port;
    long long max_body;
    char err[512];
    const char *hosts[16];
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "ConcurrentDBConnCnt", 2, 1, 16, &hs->db_conns) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxBody", 64 << 10, 1024, 1 << 20, &max_body) < 0)
        return -1;
    int n = tt_cfg_servers(d->cfg, "DBServerIP", "DBServerPort", hosts, hs->db_port, MAX_DB,
                           err, sizeof(err));
    if (n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    for (int i = 0; i < n; i++)
        snprintf(hs->db_host[i], sizeof(hs->db_host[i]), "%s", hosts[i]);
    hs->n_db_addr = n;
    n = tt_cfg_servers(d->cfg, "RouteServerIP", "RouteServerPort", hosts, hs->route_port,
                       MAX_ROUTE, err, sizeof(err));
    if (n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    for (int i = 0; i < n; i++)
        snprintf(hs->route_host[i], sizeof(hs->route_host[i]), "%s", hosts[i]);
    hs->n_route_addr = n;
    long long window, cap;
    if (tt_daemon_cfg_int(d, "ApiWindow", 300, 10, 3600, &window) < 0 ||
        tt_daemon_cfg_int(d, "ApiNonceCap", 10000, 16, 1000000, &cap) < 0 ||
        tt_daemon_cfg_int(d, "ApiFailLimit", 10, 1, 1000000, &hs->fail_limit) < 0)
        return -1;
    hs_key_t *keys = calloc(MAX_API_KEYS, sizeof(*keys));
    if (!keys)
        return tt_daemon_cfg_error(d, "no memory");
    int nk = 0;
    for (; nk < MAX_API_KEYS; nk++) {
        char name[32];
        snprintf(name, sizeof(name), "ApiKey%d", nk + 1);
        const char *spec = tt_cfg_str(d->cfg, name, NULL);
        if (!spec)
            break;
        if (hs_key_parse(spec, &keys[nk], err, sizeof(err)) < 0) {
            free(keys);
            return tt_daemon_cfg_error(d, "%s: %s", name, err); /* the reason, not the value */
        }
        for (int j = 0; j < nk; j++)
            if (strcmp(keys[j].name, keys[nk].name) == 0) {
                free(keys);
                return tt_daemon_cfg_error(d, "%s: key name used twice", name);
            }
    }
    hs_auth_free(&hs->auth); /* configure may run again (-t then start) */
    if (hs_auth_init(&hs->auth, keys, nk, (uint32_t)window, (size_t)cap) < 0)
        return tt_daemon_cfg_error(d, "no memory for the nonce store");
    const char *k = tt_cfg_str(d->cfg, "AppKey", NULL);
    hs->app_key = k && k[0] ? k : NULL;
    /* The API's bodies are small JSON: a body over HttpMaxBody is refused with 413 as soon as
     * its Content-Length is read (or once that many bytes of a chunked body arrived). */
    hs->http = (tt_http_limits_t){.max_body = (size_t)max_body, .idle_ms = 60000};
    return tt_daemon_cfg_http(d, &hs->http);
}

static tt_link_t *new_link(http_msg_server_t *hs, const char *host, uint16_t port,
                           const tt_link_handler_t *h)
{
    tt_link_opts_t o = {.host = host, .port = port, .backoff_min_ms = 1000,
                        .auth = tt_daemon_auth(&hs->d)};
    tt_link_t *l = tt_link_new(hs->d.loop, &o, h, hs);
    if (l)
        tt_link_start(l);
    return l;
}

static int start(tt_daemon_t *d, void *udata)
{
    http_msg_server_t *hs = udata;
    for (int i = 0; i < hs->n_db_addr; i++)
        for (long long k = 0; k < hs->db_conns && hs->n_db < MAX_LINKS; k++)
            if ((hs->db[hs->n_db] = new_link(hs, hs->db_host[i], hs->db_port[i], &db_handler)))
                hs->n_db++;
    for (int i = 0; i < hs->n_route_addr; i++)
        if ((hs->route[hs->n_route] =
                 new_link(hs, hs->route_host[i], hs->route_port[i], &route_handler)))
            hs->n_route++;
    if (hs->app_key)
        log_notice("compatibility mode: the body's app_key must match AppKey");
    log_notice("%d API keys for /api/v1", hs->auth.n_keys);
    return tt_daemon_listen_http(d, "ListenIP", "ListenPort", &hs->http, on_http, hs, &hs->api);
}

static void finish(tt_daemon_t *d, void *udata)
{
    http_msg_server_t *hs = udata;
    (void)d;
    for (int i = 0; i < hs->n_db; i++)
        tt_link_free(hs->db[i]);
    for (int i = 0; i < hs->n_route; i++)
        tt_link_free(hs->route[i]);
    hs_auth_free(&hs->auth);
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    http_msg_server_t hs = {0};
    return tt_daemon_main(&hs.d, "http_msg_server", "httpmsgserver.conf", argc, argv, &ops,
                          &hs);
}
