/* Push settings: a user's do-not-disturb flag (IMUser.push_shield_status), the device token of
 * a mobile client (Redis pool "token": push_token_<uid> = "ios:<t>" | "android:<t>" | bare
 * token for other client types, and the reverse key push_owner_<token> = uid; the original's
 * device_* keys are still read, see below), and the tokens msg_server needs to push a message
 * (IMGetDeviceTokenReq). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.Login.pb-c.h"
#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "h_msg.h"
#include "td_group.h"
#include "tt_log.h"
#include "tt_map.h"

#define TOKEN_MAX 512     /* bytes; APNs tokens are 64 hex, FCM ones ~160 characters */
#define MGET_CHUNK 500    /* keys per MGET */

#define LOGIN(cmd) IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_##cmd
#define OTHER(cmd) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##cmd

/* ---- CID_LOGIN_REQ_PUSH_SHIELD ---- */

static void shield_set_answer(dbp_ctx_t *x, const IM__Login__IMPushShieldReq *req, uint32_t code)
{
    IM__Login__IMPushShieldRsp rsp = IM__LOGIN__IMPUSH_SHIELD_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    if (code == 0) {
        rsp.has_shield_status = 1;
        rsp.shield_status = req->shield_status;
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void shield_set_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    shield_set_answer(x, (const IM__Login__IMPushShieldReq *)m, 1);
}

static int shield_set_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Login__IMPushShieldReq *req = (const IM__Login__IMPushShieldReq *)m;
    if (req->shield_status > 1 || req->user_id == 0) {
        shield_set_answer(x, req, 1);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    uint64_t matched = 0;
    int rc = td_user_set_push_shield(c, req->user_id, req->shield_status, &matched);
    if (rc < 0)
        dbp_db_failed(x, c, "push shield update");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    shield_set_answer(x, req, matched ? 0 : 1);
    return 0;
}

/* ---- CID_LOGIN_REQ_QUERY_PUSH_SHIELD ---- */

static void shield_query_answer(dbp_ctx_t *x, const IM__Login__IMQueryPushShieldReq *req,
                                uint32_t code, uint32_t shield)
{
    IM__Login__IMQueryPushShieldRsp rsp = IM__LOGIN__IMQUERY_PUSH_SHIELD_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    if (code == 0) {
        rsp.has_shield_status = 1;
        rsp.shield_status = shield;
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void shield_query_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    shield_query_answer(x, (const IM__Login__IMQueryPushShieldReq *)m, 1, 0);
}

static int shield_query_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Login__IMQueryPushShieldReq *req = (const IM__Login__IMQueryPushShieldReq *)m;
    td_conn_t *c = dbp_db(x, 0);
    if (!c)
        return -1;
    uint32_t shield = 0;
    int rc = td_user_get_push_shield(c, req->user_id, &shield);
    if (rc < 0)
        dbp_db_failed(x, c, "push shield query");
    dbp_db_put(x, c, 0);
    if (rc < 0)
        return -1;
    shield_query_answer(x, req, rc == 1 ? 0 : 1, shield);
    return 0;
}

/* ---- CID_LOGIN_REQ_DEVICETOKEN ---- */

static void token_answer(dbp_ctx_t *x, const IM__Login__IMDeviceTokenReq *req)
{
    IM__Login__IMDeviceTokenRsp rsp = IM__LOGIN__IMDEVICE_TOKEN_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void token_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    token_answer(x, (const IM__Login__IMDeviceTokenReq *)m);
}

/* Key spaces. The original kept both directions in one space, device_<uid> = value and
 * device_<token> = uid, so a token that spells a user id ("34") overwrote that user's
 * registration. Here each direction has its own prefix, neither of which the original can
 * produce (all its keys start with "device_"):
 *   push_token_<uid>   = "ios:<t>" | "android:<t>" | bare token (other client types) | ""
 *                        ("" = no token: it also hides an original key of that user);
 *   push_owner_<token> = "<uid>".
 * An original deployment's keys are read (never written) for a user who has no
 * push_token_<uid> yet, and only when they are clearly of the right kind: device_<uid> must
 * hold an "ios:"/"android:" value (a reverse key holds digits), and that token's owner
 * (push_owner_<t>, else the original device_<t>, which must be digits) must be this user. */
#define KEY_TOKEN "push_token_"
#define KEY_OWNER "push_owner_"
#define KEY_ORIG "device_"
#define VALUE_MAX (TOKEN_MAX + 16) /* a device value buffer */
#define KEY_MAX (VALUE_MAX + 16)   /* a key built from the token of such a value */

/* The token inside a device value ("ios:<t>", "android:<t>" or bare). */
static const char *token_of(const char *value)
{
    if (strncmp(value, "ios:", 4) == 0)
        return value + 4;
    if (strncmp(value, "android:", 8) == 0)
        return value + 8;
    return value;
}

/* The token of a value that can be pushed ("ios:<t>" / "android:<t>", t not empty), or NULL. */
static const char *pushable(const char *value)
{
    const char *t = token_of(value);
    return t != value && t[0] ? t : NULL;
}

/* A user id as the original wrote it in device_<token>: decimal, no sign, no leading zero,
 * 1..UINT32_MAX. 0 for anything else. */
static uint32_t parse_uid(const char *s, size_t len)
{
    if (len == 0 || len > 10 || s[0] == '0')
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* GET key into buf. 1 found (a value that does not fit reads as ""), 0 absent, -1 on a Redis
 * failure. */
static int cache_get(dbp_cache_conn_t *rc, const char *key, char *buf, size_t buflen)
{
    redisReply *r = dbp_cache_cmdv(rc, "GET", key, NULL);
    if (!r)
        return -1;
    int rv = r->type == REDIS_REPLY_STRING ? 1 : r->type == REDIS_REPLY_NIL ? 0 : -1;
    buf[0] = '\0';
    if (rv == 1 && r->len < buflen && !memchr(r->str, '\0', r->len))
        memcpy(buf, r->str, r->len + 1);
    freeReplyObject(r);
    return rv;
}

/* Runs one command whose answer does not matter beyond success. */
static int cache_do(dbp_cache_conn_t *rc, const char *a0, const char *a1, const char *a2)
{
    redisReply *r = dbp_cache_cmdv(rc, a0, a1, a2, NULL);
    if (!r)
        return -1;
    int ok = r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* The user a token leads to (0: none). 0 ok, -1 on a Redis failure. */
static int token_owner(dbp_cache_conn_t *rc, const char *token, uint32_t *uid)
{
    char key[KEY_MAX], v[32];
    *uid = 0;
    snprintf(key, sizeof(key), KEY_OWNER "%s", token);
    int r = cache_get(rc, key, v, sizeof(v));
    if (r == 0) { /* not registered here: an original reverse key, if it holds a user id */
        snprintf(key, sizeof(key), KEY_ORIG "%s", token);
        r = cache_get(rc, key, v, sizeof(v));
    }
    if (r < 0)
        return -1;
    *uid = r == 1 ? parse_uid(v, strlen(v)) : 0;
    return 0;
}

/* The device value of uid ("" for none): push_token_<uid>, else a checked original key.
 * 0 ok, -1 on a Redis failure. */
static int token_value(dbp_cache_conn_t *rc, uint32_t uid, char *buf, size_t buflen)
{
    char key[32];
    snprintf(key, sizeof(key), KEY_TOKEN "%u", (unsigned)uid);
    int r = cache_get(rc, key, buf, buflen);
    if (r != 0)
        return r < 0 ? -1 : 0;
    snprintf(key, sizeof(key), KEY_ORIG "%u", (unsigned)uid);
    if (cache_get(rc, key, buf, buflen) < 0)
        return -1;
    const char *t = pushable(buf);
    uint32_t owner = 0;
    if (t && token_owner(rc, t, &owner) < 0)
        return -1;
    if (!t || owner != uid)
        buf[0] = '\0'; /* a reverse key, another client type's token, or a stale one */
    return 0;
}

/* Stores the token of user uid (only the new keys are written). Redis failures return -1
 * (the answer is the same). */
static int token_store(dbp_cache_conn_t *rc, uint32_t uid, const char *value, const char *token)
{
    char ukey[32], uid_s[16], old[VALUE_MAX], key[KEY_MAX], owner_s[32];
    snprintf(ukey, sizeof(ukey), KEY_TOKEN "%u", (unsigned)uid);
    snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)uid);
    if (token_value(rc, uid, old, sizeof(old)) < 0)
        return -1;
    /* The previous token of this user no longer leads to it. */
    const char *old_token = token_of(old);
    if (old_token[0] && strcmp(old_token, token) != 0) {
        snprintf(key, sizeof(key), KEY_OWNER "%s", old_token);
        int r = cache_get(rc, key, owner_s, sizeof(owner_s));
        if (r < 0 || (r == 1 && strcmp(owner_s, uid_s) == 0 && cache_do(rc, "DEL", key, NULL) < 0))
            return -1;
    }
    if (!token[0]) /* "" rather than no key: an original device_<uid> must not come back */
        return cache_do(rc, "SET", ukey, "");
    /* A device that changed hands: its previous user must not get this user's pushes. */
    uint32_t owner = 0;
    if (token_owner(rc, token, &owner) < 0)
        return -1;
    if (owner && owner != uid) {
        if (token_value(rc, owner, old, sizeof(old)) < 0)
            return -1;
        char okey[32];
        snprintf(okey, sizeof(okey), KEY_TOKEN "%u", (unsigned)owner);
        if (strcmp(token_of(old), token) == 0 && cache_do(rc, "SET", okey, "") < 0)
            return -1;
    }
    snprintf(key, sizeof(key), KEY_OWNER "%s", token);
    if (cache_do(rc, "SET", ukey, value) < 0 || cache_do(rc, "SET", key, uid_s) < 0)
        return -1;
    return 0;
}

static int token_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Login__IMDeviceTokenReq *req = (const IM__Login__IMDeviceTokenReq *)m;
    const char *token = req->device_token;
    size_t len = strlen(token);
    if (req->user_id == 0 || len > TOKEN_MAX) {
        log_info("device token of user %u not stored: %zu bytes", (unsigned)req->user_id, len);
        token_answer(x, req);
        return 0;
    }
    const char *prefix = "";
    if (req->has_client_type && req->client_type == IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS)
        prefix = "ios:";
    else if (req->has_client_type &&
             req->client_type == IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID)
        prefix = "android:";
    char value[TOKEN_MAX + 16];
    snprintf(value, sizeof(value), "%s%s", prefix, token);
    dbp_cache_conn_t *rc = dbp_cache(x, x->dbp->token);
    if (!rc)
        return -1;
    int r = token_store(rc, req->user_id, value, token);
    if (r < 0)
        log_warn("device token of user %u not stored: %s", (unsigned)req->user_id,
                 dbp_cache_error(rc));
    dbp_cache_put(x->dbp->token, rc);
    if (r < 0)
        return -1;
    log_debug("device token of user %u %s", (unsigned)req->user_id, len ? "set" : "cleared");
    token_answer(x, req);
    return 0;
}

/* ---- CID_OTHER_GET_DEVICE_TOKEN_REQ ---- */

static void tokens_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMGetDeviceTokenReq *req = (const IM__Server__IMGetDeviceTokenReq *)m;
    IM__Server__IMGetDeviceTokenRsp rsp = IM__SERVER__IMGET_DEVICE_TOKEN_RSP__INIT;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

/* One token found. */
typedef struct found_s {
    uint32_t uid;   /* its user */
    int ios;        /* 1 iOS, 0 Android */
    char *token;    /* malloc'ed */
} found_t;

/* Do-not-disturb hours (server local time), as the original: 22:00 to 07:59. */
static int quiet_hours(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return tm.tm_hour >= 22 || tm.tm_hour <= 7;
}

/* Groups of a member with unread messages, gathered for their counts. */
typedef struct unread_groups_s {
    uint32_t gid[DBP_MSG_UNREAD_MAX];
    uint32_t seen[DBP_MSG_UNREAD_MAX]; /* its read (or join) position */
    size_t n;
} unread_groups_t;

static int on_unread_group(void *arg, const td_member_group_t *g)
{
    unread_groups_t *u = arg;
    uint32_t seen = g->read_id > g->join_id ? g->read_id : g->join_id;
    if (g->last_id > seen && u->n < DBP_MSG_UNREAD_MAX) {
        u->gid[u->n] = g->gid;
        u->seen[u->n++] = seen;
    }
    return 0;
}

/* Group unread messages of uid: over its groups (at most DBP_MSG_UNREAD_MAX with unread
 * messages, as the unread-count answer), the messages after its read or join position,
 * counted as that answer counts them. 0 when unknown (db NULL or a failure, logged). */
static uint64_t group_unread_total(dbp_ctx_t *x, td_conn_t *db, uint32_t uid)
{
    if (!db)
        return 0;
    unread_groups_t *u = calloc(1, sizeof(*u));
    uint64_t sum = 0;
    if (!u || td_member_groups(db, uid, on_unread_group, u) < 0) {
        if (u)
            dbp_db_failed(x, db, "groups of a push recipient");
        free(u);
        return 0;
    }
    for (size_t i = 0; i < u->n; i++) {
        uint32_t n = 0;
        if (td_group_count_after(db, u->gid[i], u->seen[i], &n) < 0) {
            dbp_db_failed(x, db, "group unread count of a push recipient");
            break;
        }
        sum += n;
    }
    free(u);
    return sum;
}

/* The badge of uid: its single-chat unread messages (sum of unread_<uid>) plus its group
 * unread messages (db may be NULL: single only). A part that cannot be read counts 0. */
static uint32_t unread_total(dbp_ctx_t *x, dbp_cache_conn_t *rc, td_conn_t *db, uint32_t uid)
{
    uint64_t sum = group_unread_total(x, db, uid);
    if (!rc)
        return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
    char key[32];
    snprintf(key, sizeof(key), "unread_%u", (unsigned)uid);
    redisReply *r = dbp_cache_cmdv(rc, "HVALS", key, NULL);
    if (!r) {
        log_debug("%s: unread count of %u unknown: %s", x->cmd->name, (unsigned)uid,
                  dbp_cache_error(rc));
        return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                sum += strtoull(r->element[i]->str, NULL, 10);
    freeReplyObject(r);
    return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

/* Appends the token of value for user uid if it can be pushed. */
static void found_add(found_t *found, size_t *nfound, uint32_t uid, const char *value)
{
    const char *t = pushable(value);
    if (!t || !(found[*nfound].token = strdup(t)))
        return; /* bare tokens of other client types are never pushed */
    found[*nfound].uid = uid;
    found[*nfound].ios = value[0] == 'i';
    (*nfound)++;
}

/* A string reply as a C string that fits a device value, or NULL. */
static const char *reply_str(const redisReply *e)
{
    if (e->type != REDIS_REPLY_STRING || e->len > TOKEN_MAX + 8 || memchr(e->str, '\0', e->len))
        return NULL;
    return e->str;
}

/* One chunk of users without push_token_<uid>: their original device_<uid>, each checked
 * against the owner of its token (push_owner_<t>, else the original device_<t>). */
static int tokens_fetch_orig(dbp_cache_conn_t *rc, const uint32_t *ids, size_t n,
                             found_t *found, size_t *nfound)
{
    dbp_cache_cmd_t *cmds = calloc(2 * n, sizeof(*cmds));
    char (*keys)[KEY_MAX] = calloc(2 * n, sizeof(*keys));
    char (*vals)[VALUE_MAX] = calloc(n, sizeof(*vals));
    uint32_t *cand = calloc(n, sizeof(*cand)); /* users whose original value can be pushed */
    int ret = -1;
    if (!cmds || !keys || !vals || !cand)
        goto out;
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], KEY_MAX, KEY_ORIG "%u", (unsigned)ids[i]);
        cmds[i].argc = 2;
        cmds[i].argv[0] = "GET";
        cmds[i].argv[1] = keys[i];
    }
    if (dbp_cache_pipeline(rc, cmds, n) < 0)
        goto out;
    size_t k = 0; /* candidates (cand, vals) */
    for (size_t i = 0; i < n; i++) {
        const char *v = reply_str(cmds[i].reply);
        if (v && pushable(v)) {
            memcpy(vals[k], v, strlen(v) + 1);
            cand[k++] = ids[i];
        }
        freeReplyObject(cmds[i].reply);
    }
    memset(cmds, 0, 2 * n * sizeof(*cmds));
    for (size_t i = 0; i < k; i++) {
        const char *t = pushable(vals[i]);
        snprintf(keys[2 * i], KEY_MAX, KEY_OWNER "%s", t);
        snprintf(keys[2 * i + 1], KEY_MAX, KEY_ORIG "%s", t);
        for (int j = 0; j < 2; j++) {
            cmds[2 * i + j].argc = 2;
            cmds[2 * i + j].argv[0] = "GET";
            cmds[2 * i + j].argv[1] = keys[2 * i + j];
        }
    }
    if (k > 0 && dbp_cache_pipeline(rc, cmds, 2 * k) < 0)
        goto out;
    for (size_t i = 0; i < k; i++) {
        const redisReply *mine = cmds[2 * i].reply, *orig = cmds[2 * i + 1].reply;
        const redisReply *o = mine->type == REDIS_REPLY_NIL ? orig : mine;
        uint32_t owner = o->type == REDIS_REPLY_STRING ? parse_uid(o->str, o->len) : 0;
        if (owner == cand[i])
            found_add(found, nfound, cand[i], vals[i]);
    }
    for (size_t i = 0; i < 2 * k; i++)
        freeReplyObject(cmds[i].reply);
    ret = 0;
out:
    free(cmds);
    free(keys);
    free(vals);
    free(cand);
    return ret;
}

/* The pushable token of every user: push_token_<uid> (MGET), else an original key. */
static int tokens_fetch(dbp_cache_conn_t *rc, const uint32_t *ids, size_t n, found_t *found,
                        size_t *nfound)
{
    const char *argv[MGET_CHUNK + 1];
    char keys[MGET_CHUNK][32];
    uint32_t missing[MGET_CHUNK];
    for (size_t off = 0; off < n; off += MGET_CHUNK) {
        size_t k = n - off < MGET_CHUNK ? n - off : MGET_CHUNK;
        argv[0] = "MGET";
        for (size_t i = 0; i < k; i++) {
            snprintf(keys[i], sizeof(keys[i]), KEY_TOKEN "%u", (unsigned)ids[off + i]);
            argv[i + 1] = keys[i];
        }
        redisReply *r = dbp_cache_cmd(rc, (int)k + 1, argv, NULL);
        if (!r)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != k) {
            freeReplyObject(r);
            return -1;
        }
        size_t nmissing = 0;
        for (size_t i = 0; i < k; i++) {
            redisReply *e = r->element[i];
            const char *v = reply_str(e);
            if (e->type == REDIS_REPLY_NIL)
                missing[nmissing++] = ids[off + i];
            else if (v)
                found_add(found, nfound, ids[off + i], v);
        }
        freeReplyObject(r);
        if (nmissing > 0 && tokens_fetch_orig(rc, missing, nmissing, found, nfound) < 0)
            return -1;
    }
    return 0;
}

/* Drops the tokens of users with do-not-disturb on (only asked during the quiet hours). The
 * original only pushed iOS and so only silenced iOS; do-not-disturb is the user's, so it holds
 * for every phone (Android through FCM too). */
static int tokens_filter_quiet(dbp_ctx_t *x, found_t *found, size_t *nfound)
{
    if (*nfound == 0)
        return 0;
    uint32_t *ids = malloc(*nfound * sizeof(*ids));
    if (!ids)
        return -1;
    for (size_t i = 0; i < *nfound; i++)
        ids[i] = found[i].uid;
    td_user_list_t users = {0};
    td_conn_t *c = dbp_db(x, 0);
    int rc = c ? td_users_by_ids(c, ids, *nfound, &users) : -1;
    if (c && rc < 0)
        dbp_db_failed(x, c, "push shield lookup");
    if (c)
        dbp_db_put(x, c, 0);
    free(ids);
    tt_map_t quiet;
    tt_map_init(&quiet);
    for (size_t u = 0; rc == 0 && u < users.n; u++)
        if (users.v[u]->push_shield == 1 && tt_map_put(&quiet, users.v[u]->id, (void *)1) < 0)
            rc = -1;
    td_user_list_free(&users);
    if (rc < 0) {
        tt_map_free(&quiet);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < *nfound; i++) {
        if (tt_map_get(&quiet, found[i].uid))
            free(found[i].token);
        else
            found[k++] = found[i];
    }
    *nfound = k;
    tt_map_free(&quiet);
    return 0;
}

static int tokens_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMGetDeviceTokenReq *req = (const IM__Server__IMGetDeviceTokenReq *)m;
    db_proxy_t *dbp = x->dbp;
    size_t n = req->n_user_id;
    if (n > DBP_MAX_TOKEN_USERS) {
        log_info("IMGetDeviceTokenReq from %s for %zu users: only the first %d answered",
                 x->peer, n, DBP_MAX_TOKEN_USERS);
        n = DBP_MAX_TOKEN_USERS;
    }
    found_t *found = calloc(n ? n : 1, sizeof(*found));
    if (!found)
        return -1;
    size_t nfound = 0;
    int rc = 0;
    if (n > 0) {
        dbp_cache_conn_t *c = dbp_cache(x, dbp->token);
        if (!c) {
            free(found);
            return -1;
        }
        rc = tokens_fetch(c, req->user_id, n, found, &nfound);
        if (rc < 0)
            log_warn("%s from %s: token lookup failed: %s", x->cmd->name, x->peer,
                     dbp_cache_error(c));
        dbp_cache_put(dbp->token, c);
    }
    if (rc == 0 && nfound > 0 && quiet_hours())
        rc = tokens_filter_quiet(x, found, &nfound);
    IM__BaseDefine__UserTokenInfo *items = calloc(nfound ? nfound : 1, sizeof(*items));
    IM__BaseDefine__UserTokenInfo **ptrs = calloc(nfound ? nfound : 1, sizeof(*ptrs));
    if (rc == 0 && items && ptrs) {
        dbp_cache_conn_t *uc = nfound ? dbp_cache(x, dbp->unread) : NULL;
        td_conn_t *db = nfound ? dbp_db(x, 0) : NULL; /* NULL: the badges lack the groups */
        for (size_t i = 0; i < nfound; i++) {
            im__base_define__user_token_info__init(&items[i]);
            items[i].user_id = found[i].uid;
            items[i].user_type = found[i].ios ? IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS
                                              : IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID;
            items[i].token = found[i].token;
            items[i].push_count = unread_total(x, uc, db, found[i].uid);
            items[i].push_type = 1;
            ptrs[i] = &items[i];
        }
        if (uc)
            dbp_cache_put(dbp->unread, uc);
        if (db)
            dbp_db_put(x, db, 0);
        IM__Server__IMGetDeviceTokenRsp rsp = IM__SERVER__IMGET_DEVICE_TOKEN_RSP__INIT;
        rsp.n_user_token_info = nfound;
        rsp.user_token_info = ptrs;
        rsp.has_attach_data = req->has_attach_data;
        rsp.attach_data = req->attach_data;
        rc = dbp_answer(x, &rsp.base);
    } else {
        rc = -1;
    }
    free(items);
    free(ptrs);
    for (size_t i = 0; i < nfound; i++)
        free(found[i].token);
    free(found);
    return rc;
}

const dbp_cmd_t dbp_push_cmds[] = {
    {LOGIN(REQ_PUSH_SHIELD), "IMPushShieldReq", &im__login__impush_shield_req__descriptor,
     DBP_SID_LOGIN, LOGIN(RES_PUSH_SHIELD), shield_set_run, shield_set_fail, NULL},
    {LOGIN(REQ_QUERY_PUSH_SHIELD), "IMQueryPushShieldReq",
     &im__login__imquery_push_shield_req__descriptor, DBP_SID_LOGIN,
     LOGIN(RES_QUERY_PUSH_SHIELD), shield_query_run, shield_query_fail, NULL},
    {LOGIN(REQ_DEVICETOKEN), "IMDeviceTokenReq", &im__login__imdevice_token_req__descriptor,
     DBP_SID_LOGIN, LOGIN(RES_DEVICETOKEN), token_run, token_fail, NULL},
    {OTHER(GET_DEVICE_TOKEN_REQ), "IMGetDeviceTokenReq",
     &im__server__imget_device_token_req__descriptor, DBP_SID_OTHER, OTHER(GET_DEVICE_TOKEN_RSP),
     tokens_run, tokens_fail, NULL},
};
const size_t dbp_push_ncmds = sizeof(dbp_push_cmds) / sizeof(dbp_push_cmds[0]);

/* ---- TT_CID_PUSH_TOKEN_GONE (base/tt_push.h): push_server reports an unregistered token ---- */

#include "tt_push.h"

static void gone_answer(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Login__IMDeviceTokenReq *req = (const IM__Login__IMDeviceTokenReq *)m;
    IM__Login__IMDeviceTokenRsp rsp = IM__LOGIN__IMDEVICE_TOKEN_RSP__INIT;
    rsp.user_id = req->user_id;
    dbp_answer(x, &rsp.base);
}

/* Deletes push_token_<uid> only if it still holds the token (stored with or without its
 * prefix: the user may have registered a new device since), and push_owner_<token> only if
 * it still leads to uid. */
static int gone_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Login__IMDeviceTokenReq *req = (const IM__Login__IMDeviceTokenReq *)m;
    const char *token = token_of(req->device_token);
    if (req->user_id == 0 || !token[0] || strlen(req->device_token) > TOKEN_MAX) {
        gone_answer(x, m);
        return 0;
    }
    dbp_cache_conn_t *rc = dbp_cache(x, x->dbp->token);
    if (!rc)
        return -1;
    char ukey[32], uid_s[16], cur[VALUE_MAX], okey[KEY_MAX], owner[32];
    snprintf(ukey, sizeof(ukey), KEY_TOKEN "%u", (unsigned)req->user_id);
    snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)req->user_id);
    snprintf(okey, sizeof(okey), KEY_OWNER "%s", token);
    int r = cache_get(rc, ukey, cur, sizeof(cur));
    int removed = 0;
    if (r == 1 && strcmp(token_of(cur), token) == 0) {
        r = cache_do(rc, "DEL", ukey, NULL);
        removed = r == 0;
    }
    if (r >= 0) {
        r = cache_get(rc, okey, owner, sizeof(owner));
        if (r == 1 && strcmp(owner, uid_s) == 0)
            r = cache_do(rc, "DEL", okey, NULL);
    }
    if (r < 0)
        log_warn("unregistered token of user %u not removed: %s", (unsigned)req->user_id,
                 dbp_cache_error(rc));
    dbp_cache_put(x->dbp->token, rc);
    if (r < 0)
        return -1;
    log_info("device token of user %u %s (reported unregistered)", (unsigned)req->user_id,
             removed ? "removed" : "already replaced");
    gone_answer(x, m);
    return 0;
}

const dbp_cmd_t dbp_push_gone_cmds[] = {
    {TT_CID_PUSH_TOKEN_GONE, "PushTokenGone", &im__login__imdevice_token_req__descriptor,
     DBP_SID_OTHER, TT_CID_PUSH_TOKEN_GONE_RSP, gone_run, gone_answer, NULL},
};
const size_t dbp_push_gone_ncmds = sizeof(dbp_push_gone_cmds) / sizeof(dbp_push_gone_cmds[0]);
