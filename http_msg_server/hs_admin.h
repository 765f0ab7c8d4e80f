/* hs_admin: what hs_users.c and hs_depts.c share: the JSON field checks of their bodies and
 * the HTTP answer to a db_proxy_server administration result (pb/TT.Admin.proto). */
#ifndef HS_ADMIN_H
#define HS_ADMIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "hs.h"

#define HS_ADMIN_STR_MAX 1024 /* bytes of any string field (db_proxy_server checks characters) */

/* One field an endpoint accepts. */
typedef struct hs_field_s {
    const char *name;
    int type;     /* HS_F_STR or HS_F_UINT */
    int required;
} hs_field_t;
#define HS_F_STR 1
#define HS_F_UINT 2

/* Checks body against fields (NULL name ends them): every required one present, every present
 * one of its type (strings without NUL, at most HS_ADMIN_STR_MAX bytes; integers 0..2^32-1),
 * no other keys. 0 ok; -1 with a 400 answered. */
int hs_admin_fields(tt_http_req_t *req, json_t *body, const hs_field_t *fields);
/* Answers a db_proxy_server result: 200 with {key: id} on success, else the error with its
 * status (400 invalid, 404 no such user / department, 409 name taken / cycle, 503 busy) and
 * db_proxy_server's text; 504 when pdu is NULL, 502 when it does not parse. */
void hs_admin_answer(tt_http_req_t *req, uint32_t code, const char *text, const char *key,
                     uint32_t id);

#endif
