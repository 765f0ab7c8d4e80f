/* hs: what http_msg_server's layers share. The layers (as in db_proxy_server/):
 *   hs_core.c    links to db_proxy_server and route_server and the call table: a request to
 *                db_proxy_server carries the call's slot and generation in seq_num, its answer
 *                (same seq, the expected command id) finds the call again; a call not answered
 *                within ApiTimeoutMs is finished with pdu NULL (504 / error_code 10); at most
 *                ApiMaxPending calls are open, more are refused at once.
 *   hs_api.c     /api/v1: signature check (hs_auth.h), JSON body, the route table.
 *   hs_compat.c  the original /query/CreateGroup and /query/ChangeMembers (AppKey mode).
 *   hs_groups.c, hs_msgs.c, hs_status.c ...: one file per feature, a route table and its
 *                handlers.
 *   main.c       configuration and life.
 * Adding a feature: write hs_<name>.c with handlers (hs_handler_fn) and
 *   const hs_route_t hs_<name>_routes[] = {{"/api/v1/<name>/<op>", "<perm>", handler}, ...,
 *                                         HS_ROUTES_END};
 * then declare it with HS_FEATURE(<name>) below and add it to hs_features[] in hs_api.c and
 * the file to CMakeLists.txt. */
#ifndef HS_H
#define HS_H

#include <jansson.h>
#include <stdint.h>

#include "hs_auth.h"
#include "ttc_crypto.h"
#include "tt_daemon.h"
#include "tt_link.h"

#define HS_MAX_DB 16
#define HS_MAX_ROUTE 16
#define HS_MAX_LINKS 256
#define HS_MAX_IDS 2048       /* user ids in one request */
#define HS_MAX_CALLS 1024     /* call slots (seq_num: 10 bits of slot, 6 of generation) */
#define HS_FAIL_SLOTS 1024    /* source addresses tracked for failed signatures */

typedef struct hs_s hs_t;
typedef struct hs_call_s hs_call_t;

/* A db_proxy_server (or route_server) answer for call c, or pdu NULL when none came in time or
 * the link went down. req is NULL when the HTTP client went away meanwhile (side effects such
 * as notifying route_server still run). */
typedef void (*hs_done_fn)(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c);

struct hs_call_s {
    hs_t *hs;
    int used;
    uint16_t gen;             /* 1..63, bumped on each use */
    uint16_t rsp_cid;         /* the answer's command id */
    uint64_t req_id;          /* the HTTP request */
    hs_done_fn done;
    uint32_t arg[4];          /* free for the feature */
    tt_timer_t timer;         /* the deadline */
};

typedef struct hs_fail_slot_s {
    char addr[56];
    int64_t minute;           /* unix time / 60 of the count */
    uint32_t count;
} hs_fail_slot_t;

struct hs_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_http_limits_t http;      /* HTTP limits */
    long long db_conns;         /* connections per db_proxy_server */
    tt_http_server_t *api;      /* the API listener */
    const char *app_key;        /* AppKey (compatibility mode), NULL when off */
    char db_host[HS_MAX_DB][256];
    uint16_t db_port[HS_MAX_DB];
    int n_db_addr;
    char route_host[HS_MAX_ROUTE][256];
    uint16_t route_port[HS_MAX_ROUTE];
    int n_route_addr;
    tt_link_t *db[HS_MAX_LINKS];
    int n_db;
    unsigned db_next;           /* round robin */
    tt_link_t *route[HS_MAX_ROUTE];
    int n_route;
    hs_auth_t auth;             /* /api/v1 keys and nonces */
    long long fail_limit;       /* failed signatures per address and minute before 429 */
    hs_fail_slot_t fails[HS_FAIL_SLOTS];
    long long timeout_ms;       /* ApiTimeoutMs: deadline of a db_proxy_server call */
    long long max_calls;        /* ApiMaxPending */
    hs_call_t calls[HS_MAX_CALLS];
    int n_calls;                /* open calls */
    uint64_t calls_refused, calls_timed_out;
    ttc_cipher_t cipher;        /* aesKey: message texts as clients encrypt them */
    int have_cipher;
    uint32_t system_user;       /* ApiSystemUserId: the sender of system messages, 0: none */
    long long max_text;         /* ApiMaxText: bytes of a message text */
};

/* ---- hs_core.c ---- */
void hs_links_start(hs_t *hs);
void hs_links_free(hs_t *hs);
/* Sends m to a db_proxy_server link that is up as a call answered by rsp_cid; done runs once
 * with the answer or NULL. -1 (done never runs) when no link is up or the table is full. */
int hs_db_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
               const ProtobufCMessage *m, hs_done_fn done, hs_call_t **out);
/* The same to the master route_server link (the oldest up, as msg_server picks). */
int hs_route_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
                  const ProtobufCMessage *m, hs_done_fn done, hs_call_t **out);
/* A notification to the master route_server link; -1 when none is up. */
int hs_route_send(hs_t *hs, uint16_t sid, uint16_t cid, const ProtobufCMessage *m);
/* The body of pdu unpacked as desc (tt_pb_free it), NULL when it does not parse. */
void *hs_unpack(const ProtobufCMessageDescriptor *desc, const tt_pdu_t *pdu);

/* JSON fields: 0 when present and of the type (and range), -1 otherwise. */
int hs_get_uint(json_t *o, const char *key, uint32_t *out);
const char *hs_get_str(json_t *o, const char *key);
/* The ids of the array at key into *ids (malloc'ed): -1 when absent, not an array of positive
 * uint32, empty or over HS_MAX_IDS. */
int hs_get_ids(json_t *o, const char *key, uint32_t **ids, size_t *n);

/* ---- hs_compat.c ---- */
enum { HS_E_OK = 0, HS_E_PARAM = 1, HS_E_APPKEY = 2, HS_E_SERVER = 10, HS_E_CREATE = 11,
       HS_E_CHANGE = 12 };
/* Answers {"error_code":code,"error_msg":...} (plus group_id when with_gid), the original's
 * format; JSON content type for an /api/v1 request. */
void hs_answer_code(tt_http_req_t *req, int code, int with_gid, uint32_t gid);
void hs_on_query(hs_t *hs, tt_http_req_t *req);

/* ---- hs_api.c ---- */
typedef void (*hs_handler_fn)(hs_t *hs, tt_http_req_t *req, json_t *body, const hs_key_t *key);
typedef struct hs_route_s {
    const char *path;         /* NULL ends a table */
    const char *perm;         /* the key needs it */
    hs_handler_fn fn;
} hs_route_t;
#define HS_ROUTES_END {NULL, NULL, NULL}
#define HS_FEATURE(name) extern const hs_route_t hs_##name##_routes[]

HS_FEATURE(groups);
HS_FEATURE(msgs);
HS_FEATURE(status);
HS_FEATURE(users);
HS_FEATURE(depts);

void hs_on_api(hs_t *hs, tt_http_req_t *req);
int hs_is_v1(const tt_http_req_t *req);
/* 1 when key holds perm. */
int hs_key_has(const hs_key_t *key, const char *perm);
/* {"error":msg} with status. */
void hs_api_error(tt_http_req_t *req, int status, const char *msg);
/* 200 with o (taken) serialized; 500 when that fails. */
void hs_api_reply(tt_http_req_t *req, json_t *o);
/* o's key as a positive id into *out: 0, or -1 with the 400 answered. */
int hs_api_id(tt_http_req_t *req, json_t *o, const char *key, uint32_t *out);
/* hs_db_call answering 503 when the call cannot be made. */
void hs_api_db_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
                    const ProtobufCMessage *m, hs_done_fn done);
/* In a done callback: the answer unpacked as desc (tt_pb_free it), or NULL when there is no
 * request left to answer, or after answering 504 (no answer from `from` in time) or 502 (it
 * does not parse). */
void *hs_api_answer(tt_http_req_t *req, const tt_pdu_t *pdu,
                    const ProtobufCMessageDescriptor *desc, const char *from);

/* ---- hs_groups.c (used by hs_compat.c too) ---- */
void hs_group_create(hs_t *hs, tt_http_req_t *req, json_t *o);
void hs_group_members(hs_t *hs, tt_http_req_t *req, json_t *o);

#endif
