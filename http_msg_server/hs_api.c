/* hs_api: the signed /api/v1 endpoints (docs/HTTP_API.md). A request is found in the route
 * tables of the features (hs_features[]), must be a POST, signed (hs_auth.h, keys ApiKey<n>)
 * by a key holding the route's permission, and carry a JSON object (UTF-8, checked by jansson)
 * of at most HttpMaxBody bytes. Failed signature checks are counted per source address and
 * over ApiFailLimit a minute the address gets 429 without a check. Keys are never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hs.h"
#include "tt_log.h"

/* The features' route tables: a new feature adds its table here. */
static const hs_route_t *const hs_features[] = {
    hs_groups_routes,
    hs_msgs_routes,
    hs_status_routes,
    hs_users_routes,
    hs_depts_routes,
};

static const char V1_MARK; /* req->udata of an /api/v1 request: JSON content type */

int hs_is_v1(const tt_http_req_t *req)
{
    return req->udata == &V1_MARK;
}

int hs_key_has(const hs_key_t *key, const char *perm)
{
    for (int i = 0; i < key->n_perms; i++)
        if (strcmp(key->perms[i], perm) == 0 || strcmp(key->perms[i], "*") == 0)
            return 1;
    return 0;
}

void hs_api_error(tt_http_req_t *req, int status, const char *msg)
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

int hs_api_id(tt_http_req_t *req, json_t *o, const char *key, uint32_t *out)
{
    if (hs_get_uint(o, key, out) == 0 && *out != 0)
        return 0;
    char msg[64];
    snprintf(msg, sizeof(msg), "%s must be a positive integer", key);
    hs_api_error(req, 400, msg);
    return -1;
}

void hs_api_db_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
                    const ProtobufCMessage *m, hs_done_fn done)
{
    if (hs_db_call(hs, req, sid, cid, rsp_cid, m, done, NULL) < 0)
        hs_api_error(req, 503, "no db_proxy_server link up, or too many requests pending");
}

void *hs_api_answer(tt_http_req_t *req, const tt_pdu_t *pdu,
                    const ProtobufCMessageDescriptor *desc, const char *from)
{
    if (!req)
        return NULL;
    char msg[80];
    if (!pdu) {
        snprintf(msg, sizeof(msg), "%s did not answer in time", from);
        hs_api_error(req, 504, msg);
        return NULL;
    }
    void *r = hs_unpack(desc, pdu);
    if (!r) {
        snprintf(msg, sizeof(msg), "%s answer does not parse", from);
        hs_api_error(req, 502, msg);
    }
    return r;
}

void hs_api_reply(tt_http_req_t *req, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s)
        tt_http_respond(req, 200, "application/json", s, strlen(s));
    else
        hs_api_error(req, 500, "no memory");
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

static hs_fail_slot_t *fail_slot(hs_t *hs, const char *addr, int64_t minute, int add)
{
    uint32_t h = 2166136261u;
    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    hs_fail_slot_t *f = &hs->fails[h % HS_FAIL_SLOTS]; /* a collision shares a count: stricter */
    if (f->minute != minute || strcmp(f->addr, addr) != 0) {
        if (!add)
            return f->minute == minute ? f : NULL;
        snprintf(f->addr, sizeof(f->addr), "%s", addr);
        f->minute = minute;
        f->count = 0;
    }
    return f;
}

static const hs_route_t *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof(hs_features) / sizeof(hs_features[0]); i++)
        for (const hs_route_t *r = hs_features[i]; r->path; r++)
            if (strcmp(path, r->path) == 0)
                return r;
    return NULL;
}

void hs_on_api(hs_t *hs, tt_http_req_t *req)
{
    const hs_route_t *rt = find_route(req->url);
    if (!rt) {
        hs_api_error(req, 404, "no such endpoint");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        hs_api_error(req, 405, "POST only");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    char addr[56];
    peer_addr(req, addr);
    hs_fail_slot_t *f = fail_slot(hs, addr, now / 60, 0);
    if (f && f->count >= hs->fail_limit) {
        hs_api_error(req, 429, "too many failed signatures from this address");
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
        hs_api_error(req, 403, hs_result_str(res));
        return;
    }
    if (res == HS_FULL) {
        hs_api_error(req, 429, hs_result_str(res));
        return;
    }
    if (res != HS_OK) {
        fail_slot(hs, addr, now / 60, 1)->count++;
        log_warn_rl("%s %s from %s refused: %s", req->method, rt->path, addr,
                    hs_result_str(res));
        hs_api_error(req, 401, hs_result_str(res));
        return;
    }
    json_error_t jerr;
    json_t *o = len ? json_loadb((const char *)r.body, len, 0, &jerr) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        hs_api_error(req, 400, "the body is not a JSON object (UTF-8)");
        return;
    }
    req->udata = (void *)&V1_MARK;
    log_info("%s by key %s", rt->path, key->name);
    rt->fn(hs, req, o, key);
    json_decref(o);
}
