/* CID_OTHER_VALIDATE_REQ: msg_server asks whether user_name / password (md5 hex from the
 * client) may log in, from the client address in client_ip. These requests run in their own
 * pool of threads with its own bounded queue (peers.c, LoginThreads / LoginQueueMax): when it
 * is full the login is refused at once as busy (result 3), and chat, history and presence
 * never wait behind a login.
 *
 * Guessing is slowed, without giving strangers a way to lock a user out:
 *  - per client address: LoginFailLimit attempts (default 20) within LoginFailWindow seconds
 *    (default 300), then result 6 without a check until the oldest leaves the window;
 *  - per account, across addresses: LoginUserFailLimit (10) within LoginUserFailWindow
 *    (1800 s; names of nobody alike, so that a lock does not tell which names exist) — except from an address this user logged in from successfully in the last 30
 *    days (remembered in Redis, pool "token", key login_addr_<uid>_<address>), which only its
 *    own address counter can lock.
 * An attempt counts when it starts (not when its answer is known), so attempts running in
 * parallel see each other; a success gives its address attempt back and clears the
 * account's. Accounts are counted by user id, not by the bytes of the name (the collation
 * ignores case and trailing spaces); names with control characters or leading or trailing
 * spaces are refused before any lookup. IPv6 addresses are counted per /64.
 *
 * Every check costs one PBKDF2 whether the user exists, the password is right or wrong, or the
 * row is still in the original md5 format (answers do not reveal which names exist) — except
 * when the credential matches the one verified last for this user (credcache.h: an HMAC over
 * the uid, the stored hash and salt, and the password sent), which costs microseconds and
 * stops matching as soon as the stored password changes. Only status 0 users may log in (the
 * row is read on every login). A successful login with a row in the original format (or
 * hashed with fewer iterations) rewrites it in the current format, only if it did not change
 * meanwhile. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "td_password.h"
#include "tt_log.h"

enum {
    VALIDATE_OK = 0,
    VALIDATE_WRONG = 1,
    VALIDATE_INTERNAL = 2,
    VALIDATE_BUSY = 3,
    VALIDATE_LOCKED = 6
};

#define NAME_MAX_BYTES 128        /* IMUser.name is varchar(32) utf8mb4 */
#define ER_DATA_TOO_LONG_NUM 1406 /* MariaDB: a value does not fit its column */
#define ADDR_KEY_MAX 48

static const char *result_text(uint32_t code)
{
    switch (code) {
    case VALIDATE_OK:
        return "成功";
    case VALIDATE_WRONG:
        return "用户名/密码错误";
    case VALIDATE_BUSY:
        return "服务器忙，请稍后再试";
    case VALIDATE_LOCKED:
        return "用户名/密码错误次数太多";
    default:
        return "服务端内部错误";
    }
}

static void answer(dbp_ctx_t *x, const IM__Server__IMValidateReq *req, uint32_t code,
                   const td_user_t *u)
{
    IM__Server__IMValidateRsp rsp = IM__SERVER__IMVALIDATE_RSP__INIT;
    IM__BaseDefine__UserInfo ui;
    rsp.user_name = req->user_name;
    rsp.result_code = code;
    rsp.result_string = (char *)result_text(code);
    if (u) {
        dbp_user_info(&ui, u);
        ui.status = 0; /* as the original: a user who may log in is shown as active */
        rsp.user_info = &ui;
    }
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void validate_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    answer(x, (const IM__Server__IMValidateReq *)m, VALIDATE_INTERNAL, NULL);
}

void dbp_login_busy(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    answer(x, (const IM__Server__IMValidateReq *)m, VALIDATE_BUSY, NULL);
}

/* A name that can be a login name: no control characters (C0, DEL, C1), no space at either
 * end. The empty name passes (it is simply nobody). */
static int name_acceptable(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n > 0 && (p[0] == ' ' || p[n - 1] == ' '))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
        if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
            return 0;
    }
    return 1;
}

/* The counting key of a client address (text): an IPv4 address as is, an IPv6 one by its /64
 * (an IPv4-mapped one as IPv4); anything else by its text. 0: no address given. */
static size_t addr_key(const char *ip, char out[ADDR_KEY_MAX])
{
    if (!ip || !*ip)
        return 0;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        inet_ntop(AF_INET, &a4, out, ADDR_KEY_MAX);
    } else if (inet_pton(AF_INET6, ip, &a6) == 1) {
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            memcpy(&a4, a6.s6_addr + 12, 4);
            inet_ntop(AF_INET, &a4, out, ADDR_KEY_MAX);
        } else {
            memset(a6.s6_addr + 8, 0, 8);
            inet_ntop(AF_INET6, &a6, out, ADDR_KEY_MAX - 4);
            strcat(out, "/64");
        }
    } else {
        snprintf(out, ADDR_KEY_MAX, "?%.40s", ip);
    }
    return strlen(out);
}

static uint64_t addr_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)k[i];
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static void known_key(char *buf, size_t len, uint32_t uid, const char *akey)
{
    snprintf(buf, len, "login_addr_%u_%s", (unsigned)uid, akey);
}

/* 1 when uid logged in from akey successfully in the last 30 days (Redis); 0 otherwise, also
 * when Redis cannot be asked. */
static int addr_known(dbp_ctx_t *x, uint32_t uid, const char *akey)
{
    dbp_cache_conn_t *c = dbp_cache(x, x->dbp->token);
    if (!c)
        return 0;
    char key[96];
    known_key(key, sizeof(key), uid, akey);
    redisReply *r = dbp_cache_cmdv(c, "EXISTS", key, NULL);
    int known = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (!r)
        log_warn("login: known-address lookup failed: %s", dbp_cache_error(c));
    freeReplyObject(r);
    dbp_cache_put(x->dbp->token, c);
    return known;
}

static int addr_remember(dbp_ctx_t *x, uint32_t uid, const char *akey)
{
    dbp_cache_conn_t *c = dbp_cache(x, x->dbp->token);
    if (!c)
        return -1;
    char key[96], ttl[24];
    known_key(key, sizeof(key), uid, akey);
    snprintf(ttl, sizeof(ttl), "%u", (unsigned)DBP_LOGIN_KNOWN_ADDR_S);
    redisReply *r = dbp_cache_cmdv(c, "SET", key, "1", "EX", ttl, NULL);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (!r)
        log_warn("login: known address not remembered: %s", dbp_cache_error(c));
    freeReplyObject(r);
    dbp_cache_put(x->dbp->token, c);
    return ok ? 0 : -1;
}

/* Rewrites the stored password of u in the current format (best effort). 1 when it was
 * rewritten, 0 otherwise. */
static int upgrade(dbp_ctx_t *x, const td_user_t *u, const char *stored, const char *shown)
{
    td_conn_t *c = dbp_db(x, 1);
    if (!c) {
        log_warn("password of %s not upgraded: no database", shown);
        return 0;
    }
    uint64_t matched = 0;
    int done = 0;
    if (td_user_upgrade_password(c, u->id, u->password, stored, &matched) < 0) {
        log_warn("password of %s not upgraded (tried again at the next login): %s%s", shown,
                 td_conn_error(c),
                 td_conn_errno(c) == ER_DATA_TOO_LONG_NUM
                     ? " (apply sql/migrations/002_password_kdf.sql: IMUser.password is too "
                       "narrow)"
                     : "");
    } else if (matched) {
        log_info("password of %s (id %u) now stored as pbkdf2_sha256", shown, (unsigned)u->id);
        done = 1;
    }
    dbp_db_put(x, c, 1);
    return done;
}

/* At most LoginKdfParallel password hashes at once (default: the number of CPUs), whatever
 * LoginThreads is: the other login threads go on with logins that need no hash (lookups,
 * cached credentials), and chat keeps CPU for itself. */
static void kdf_enter(db_proxy_t *dbp)
{
    pthread_mutex_lock(&dbp->kdf_mu);
    while (dbp->kdf_running >= dbp->kdf_parallel)
        pthread_cond_wait(&dbp->kdf_cv, &dbp->kdf_mu);
    dbp->kdf_running++;
    pthread_mutex_unlock(&dbp->kdf_mu);
}

static void kdf_leave(db_proxy_t *dbp)
{
    pthread_mutex_lock(&dbp->kdf_mu);
    dbp->kdf_running--;
    pthread_cond_signal(&dbp->kdf_cv);
    pthread_mutex_unlock(&dbp->kdf_mu);
}

/* One login on its way: v_start (the name), the lookup, v_check (address and account counts,
 * the credential cache), v_finish (the hash if needed, the outcome, the counts settled). */
typedef struct vstate_s {
    const IM__Server__IMValidateReq *req;
    size_t nlen, plen, alen;
    uint64_t now;
    int lookup;        /* the name is looked up in IMUser */
    int cached;        /* the credential matched the cache */
    int addr_fresh;    /* ... and Redis knows the address already */
    int user_locked;   /* the account was locked (an address known to it let it pass) */
    uint8_t ukey[4];   /* the account's key: its id */
    td_user_t *u;      /* its row */
    char shown[300], akey[ADDR_KEY_MAX];
} vstate_t;

/* 1: answered already (x->frame); 0: go on (v->lookup: look the name up). */
static int v_start(dbp_ctx_t *x, vstate_t *v, const IM__Server__IMValidateReq *req)
{
    memset(v, 0, offsetof(vstate_t, shown));
    v->req = req;
    v->nlen = strlen(req->user_name);
    v->plen = strlen(req->password);
    dbp_printable(req->user_name, v->shown, sizeof(v->shown));
    v->alen = addr_key(req->client_ip, v->akey);
    if (!v->alen)
        snprintf(v->akey, sizeof(v->akey), "-");
    v->now = dbp_now_s();
    if (!name_acceptable(req->user_name, v->nlen)) {
        log_info_rl("login of %s from %s refused: control characters or spaces around the name",
                 v->shown, v->akey);
        answer(x, req, VALIDATE_WRONG, NULL);
        return 1;
    }
    v->lookup = v->nlen > 0 && v->nlen <= NAME_MAX_BYTES && dbp_utf8_valid(req->user_name, v->nlen);
    return 0;
}

/* The lookup failed: not a guess (nothing counted yet); the error answer. */
static void v_lookup_failed(dbp_ctx_t *x, vstate_t *v)
{
    validate_fail(x, &v->req->base);
}

/* After the lookup (v->u). 1: answered (v->u freed); 0: go on to v_finish. */
static int v_check(dbp_ctx_t *x, vstate_t *v)
{
    db_proxy_t *dbp = x->dbp;
    const IM__Server__IMValidateReq *req = v->req;
    /* the address: counted now, given back on success */
    if (v->alen && dbp_rl_take(dbp->login_addr_failures, v->akey, v->alen, v->now) < 0) {
        log_info_rl("login of %s from %s refused: too many failed attempts from this address",
                 v->shown, v->akey);
        answer(x, req, VALIDATE_LOCKED, NULL);
        free(v->u);
        v->u = NULL;
        return 1;
    }
    /* the account, across addresses: counted now, cleared on success. A name of nobody is
     * counted the same way (by its bytes, in a table of its own that cannot push accounts
     * out), so that being locked does not tell which names exist. */
    if (!v->u && v->nlen > 0 &&
        dbp_rl_take(dbp->login_name_failures, req->user_name, v->nlen, v->now) < 0) {
        log_info_rl("login of %s from %s refused: too many failed attempts for this name",
                 v->shown, v->akey);
        answer(x, req, VALIDATE_LOCKED, NULL);
        return 1; /* keeps the address attempt: a guess */
    }
    td_user_t *u = v->u;
    if (!u)
        return 0;
    tt_put32(v->ukey, u->id);
    v->user_locked = dbp_rl_take(dbp->login_failures, (const char *)v->ukey, 4, v->now) < 0;
    if (v->user_locked && !(v->alen && addr_known(x, u->id, v->akey))) {
        log_info_rl("login of %s (id %u) from %s refused: too many failed attempts for this "
                 "account",
                 v->shown, (unsigned)u->id, v->akey);
        answer(x, req, VALIDATE_LOCKED, NULL);
        free(u);
        v->u = NULL;
        return 1;
    }
    uint64_t ahash = v->alen ? addr_hash(v->akey, v->alen) : 0;
    v->cached = u->status == 0 &&
                dbp_cred_match(dbp->creds, u->id, u->password, u->salt, req->password,
                               v->plen, ahash, v->now, DBP_LOGIN_KNOWN_REFRESH_S,
                               &v->addr_fresh);
    return 0;
}

/* The password check (unless cached) and the answer; frees v->u. */
static void v_finish(dbp_ctx_t *x, vstate_t *v)
{
    db_proxy_t *dbp = x->dbp;
    const IM__Server__IMValidateReq *req = v->req;
    const char *pw = req->password, *shown = v->shown, *akey = v->akey;
    size_t plen = v->plen;
    td_user_t *u = v->u;
    int cached = v->cached;
    td_pw_check_t chk = {0};
    td_pw_result_t pr = TD_PW_MISMATCH;
    if (cached) {
        pr = TD_PW_MATCH;
    } else if (u) {
        kdf_enter(dbp);
        pr = td_pw_verify(u->password, u->salt, pw, plen, dbp->kdf_iterations, &chk);
        kdf_leave(dbp);
        if (pr == TD_PW_MALFORMED)
            log_warn("user %s (id %u): the stored password is in no known format", shown,
                     (unsigned)u->id);
    }
    int ok = u && pr == TD_PW_MATCH && u->status == 0;
    char stored[TD_PW_STORED_MAX];
    int have_new = 0;
    if (ok && chk.needs_upgrade) {
        kdf_enter(dbp);
        have_new = td_pw_hash(pw, plen, dbp->kdf_iterations, stored, sizeof(stored)) == 0;
        kdf_leave(dbp);
    } else if (!cached && !chk.kdf_done) {
        kdf_enter(dbp);
        td_pw_dummy(dbp->kdf_iterations); /* same cost as a real check */
        kdf_leave(dbp);
    }

    if (!ok) {
        if (u && pr == TD_PW_MATCH)
            dbp_cred_drop(dbp->creds, u->id); /* disabled */
        log_info_rl("login of %s from %s refused: %s", shown, akey,
                 !u                   ? "no such user"
                 : pr == TD_PW_MATCH ? "account disabled"
                                     : "wrong password");
        answer(x, req, VALIDATE_WRONG, NULL);
        free(u);
        v->u = NULL;
        return;
    }
    if (v->alen)
        dbp_rl_refund(dbp->login_addr_failures, akey, v->alen, v->now);
    /* A success clears the account's count — unless it was locked and this address is one
     * the user logged in from before: the stranger's lock stays for everybody else. */
    if (!v->user_locked)
        dbp_rl_clear(dbp->login_failures, (const char *)v->ukey, 4);
    const char *now_stored = u->password, *now_salt = u->salt;
    if (have_new && upgrade(x, u, stored, shown)) {
        now_stored = stored;
        now_salt = "";
    } else if (have_new) {
        now_stored = NULL; /* the row is not what was checked: nothing to cache */
    }
    /* the address is known from now on (Redis is told again after a day, or when another
     * address was seen in between) */
    uint64_t recorded = 0;
    if (v->alen && !v->addr_fresh && addr_remember(x, u->id, akey) == 0)
        recorded = addr_hash(akey, v->alen);
    if (now_stored && !(cached && v->addr_fresh))
        dbp_cred_put(dbp->creds, u->id, now_stored, now_salt, pw, plen, recorded, v->now);
    log_info("login of %s (id %u) from %s accepted (%s)", shown, (unsigned)u->id, akey,
             cached ? "cached credential" : "password checked");
    answer(x, req, VALIDATE_OK, u);
    free(u);
    v->u = NULL;
}

static int validate_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    vstate_t v;
    if (v_start(x, &v, (const IM__Server__IMValidateReq *)m))
        return 0;
    if (v.lookup) {
        td_conn_t *c = dbp_db(x, 0);
        int rc = -1;
        if (c) {
            rc = td_user_by_name(c, v.req->user_name, v.nlen, &v.u);
            if (rc < 0)
                dbp_db_failed(x, c, "user lookup");
            dbp_db_put(x, c, 0);
        }
        if (rc < 0) {
            v_lookup_failed(x, &v);
            return 0;
        }
    }
    if (!v_check(x, &v))
        v_finish(x, &v);
    return 0;
}

/* The credential matches the cache and neither the address nor the account is locked
 * (nothing counted yet). */
static int likely_cached(dbp_ctx_t *x, const vstate_t *v)
{
    db_proxy_t *dbp = x->dbp;
    const td_user_t *u = v->u;
    uint8_t k[4];
    if (!u || u->status != 0)
        return 0;
    tt_put32(k, u->id);
    return !(v->alen && dbp_rl_locked(dbp->login_addr_failures, v->akey, v->alen, v->now)) &&
           !dbp_rl_locked(dbp->login_failures, (const char *)k, 4, v->now) &&
           dbp_cred_match(dbp->creds, u->id, u->password, u->salt, v->req->password, v->plen,
                          0, v->now, 0, NULL);
}

/* The row for the name of v among rows (the same choice as td_user_by_name: an active row
 * first, then the lowest id); taken out of rows. */
static td_user_t *pick_row(td_user_list_t *rows, const vstate_t *v)
{
    size_t best = rows->n;
    for (size_t i = 0; i < rows->n; i++) {
        td_user_t *r = rows->v[i];
        size_t rl = r ? strlen(r->name) : 0;
        while (rl > 0 && r->name[rl - 1] == ' ') /* as the collation compares (PAD SPACE) */
            rl--;
        if (!r || rl != v->nlen || memcmp(r->name, v->req->user_name, v->nlen))
            continue;
        if (best == rows->n) {
            best = i;
            continue;
        }
        td_user_t *b = rows->v[best];
        int ra = r->status == 0, ba = b->status == 0;
        if (ra > ba || (ra == ba && r->id < b->id))
            best = i;
    }
    if (best == rows->n)
        return NULL;
    /* a copy: several requests may name the same user */
    td_user_t *r = rows->v[best], *u = td_user_dup(r);
    return u;
}

void dbp_login_batch(dbp_ctx_t *x, const ProtobufCMessage *const *m, size_t n,
                     void (*done)(size_t i, void *arg), void *arg)
{
    vstate_t *v = calloc(n, sizeof(*v));
    unsigned char *left = calloc(n, 1);
    if (!v || !left) { /* out of memory: one at a time */
        free(v);
        free(left);
        for (size_t i = 0; i < n; i++) {
            if (validate_run(&x[i], m[i]) < 0)
                validate_fail(&x[i], m[i]);
            done(i, arg);
        }
        return;
    }
    const char **names = calloc(n, sizeof(*names));
    size_t *lens = calloc(n, sizeof(*lens)), nq = 0;
    for (size_t i = 0; i < n; i++) {
        if (v_start(&x[i], &v[i], (const IM__Server__IMValidateReq *)m[i])) {
            done(i, arg);
            continue;
        }
        left[i] = 1;
        if (v[i].lookup && names && lens) {
            names[nq] = v[i].req->user_name;
            lens[nq++] = v[i].nlen;
        }
    }
    /* the names in as few statements as possible (TD_NAMES_PER_QUERY each; a batch of the
     * workers is at most that many logins) */
    td_user_list_t rows = {0};
    int rc = names && lens ? 0 : -1;
    if (nq) {
        td_conn_t *c = dbp_db(&x[0], 0);
        rc = -1;
        if (c) {
            rc = 0;
            for (size_t off = 0; off < nq && rc == 0; off += TD_NAMES_PER_QUERY)
                rc = td_users_by_names(c, names + off, lens + off,
                                       nq - off < TD_NAMES_PER_QUERY ? nq - off
                                                                     : TD_NAMES_PER_QUERY,
                                       &rows);
            if (rc < 0)
                dbp_db_failed(&x[0], c, "user lookup");
            dbp_db_put(&x[0], c, 0);
        }
    }
    free(names);
    free(lens);
    for (size_t i = 0; i < n; i++) {
        if (!left[i])
            continue;
        if (v[i].lookup && rc < 0) {
            v_lookup_failed(&x[i], &v[i]);
            left[i] = 0;
            done(i, arg);
            continue;
        }
        if (v[i].lookup)
            v[i].u = pick_row(&rows, &v[i]);
        /* a cached credential of an account that is not locked: answered now; the others
         * (a hash, or a refusal) one by one afterwards, each counted and settled before the
         * next is counted */
        if (likely_cached(&x[i], &v[i])) {
            if (!v_check(&x[i], &v[i]))
                v_finish(&x[i], &v[i]);
            left[i] = 0;
            done(i, arg);
        }
    }
    td_user_list_free(&rows);
    for (size_t i = 0; i < n; i++)
        if (left[i]) {
            if (!v_check(&x[i], &v[i]))
                v_finish(&x[i], &v[i]);
            done(i, arg);
        }
    free(v);
    free(left);
}

int dbp_cmd_is_login(const dbp_cmd_t *cmd)
{
    return cmd >= dbp_login_cmds && cmd < dbp_login_cmds + dbp_login_ncmds;
}

const dbp_cmd_t dbp_login_cmds[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_REQ, "IMValidateReq",
     &im__server__imvalidate_req__descriptor, DBP_SID_OTHER,
     IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_RSP, validate_run, validate_fail, NULL},
};
const size_t dbp_login_ncmds = sizeof(dbp_login_cmds) / sizeof(dbp_login_cmds[0]);
