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

static int validate_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMValidateReq *req = (const IM__Server__IMValidateReq *)m;
    db_proxy_t *dbp = x->dbp;
    const char *name = req->user_name, *pw = req->password;
    size_t nlen = strlen(name), plen = strlen(pw);
    char shown[300], akey[ADDR_KEY_MAX];
    dbp_printable(name, shown, sizeof(shown));
    size_t alen = addr_key(req->client_ip, akey);
    if (!alen)
        snprintf(akey, sizeof(akey), "-");
    uint64_t now = dbp_now_s();

    /* the address: counted now, given back on success */
    if (alen && dbp_rl_take(dbp->login_addr_failures, akey, alen, now) < 0) {
        log_info("login of %s from %s refused: too many failed attempts from this address",
                 shown, akey);
        answer(x, req, VALIDATE_LOCKED, NULL);
        return 0;
    }
    if (!name_acceptable(name, nlen)) {
        log_info("login of %s from %s refused: control characters or spaces around the name",
                 shown, akey);
        answer(x, req, VALIDATE_WRONG, NULL);
        return 0;
    }
    td_user_t *u = NULL;
    if (nlen > 0 && nlen <= NAME_MAX_BYTES && dbp_utf8_valid(name, nlen)) {
        td_conn_t *c = dbp_db(x, 0);
        int rc = -1;
        if (c) {
            rc = td_user_by_name(c, name, nlen, &u);
            if (rc < 0)
                dbp_db_failed(x, c, "user lookup");
            dbp_db_put(x, c, 0);
        }
        if (rc < 0) { /* not a guess: given back */
            if (alen)
                dbp_rl_refund(dbp->login_addr_failures, akey, alen, now);
            return -1;
        }
    }
    /* the account, across addresses: counted now, cleared on success. A name of nobody is
     * counted the same way (by its bytes, in a table of its own that cannot push accounts
     * out), so that being locked does not tell which names exist. */
    uint8_t ukey[4] = {0};
    if (!u && nlen > 0 &&
        dbp_rl_take(dbp->login_name_failures, name, nlen, now) < 0) {
        log_info("login of %s from %s refused: too many failed attempts for this name", shown,
                 akey);
        answer(x, req, VALIDATE_LOCKED, NULL);
        return 0;
    }
    int user_locked = 0;
    if (u) {
        tt_put32(ukey, u->id);
        user_locked = dbp_rl_take(dbp->login_failures, (const char *)ukey, 4, now) < 0;
        if (user_locked && !(alen && addr_known(x, u->id, akey))) {
            log_info("login of %s (id %u) from %s refused: too many failed attempts for this "
                     "account",
                     shown, (unsigned)u->id, akey);
            answer(x, req, VALIDATE_LOCKED, NULL);
            free(u);
            return 0;
        }
    }
    uint64_t ahash = alen ? addr_hash(akey, alen) : 0;
    int addr_fresh = 0, cached = 0;
    td_pw_check_t chk = {0};
    td_pw_result_t pr = TD_PW_MISMATCH;
    if (u && u->status == 0 &&
        dbp_cred_match(dbp->creds, u->id, u->password, u->salt, pw, plen, ahash, now,
                       DBP_LOGIN_KNOWN_REFRESH_S, &addr_fresh)) {
        pr = TD_PW_MATCH;
        cached = 1;
    } else if (u) {
        pr = td_pw_verify(u->password, u->salt, pw, plen, dbp->kdf_iterations, &chk);
        if (pr == TD_PW_MALFORMED)
            log_warn("user %s (id %u): the stored password is in no known format", shown,
                     (unsigned)u->id);
    }
    int ok = u && pr == TD_PW_MATCH && u->status == 0;
    char stored[TD_PW_STORED_MAX];
    int have_new = 0;
    if (ok && chk.needs_upgrade)
        have_new = td_pw_hash(pw, plen, dbp->kdf_iterations, stored, sizeof(stored)) == 0;
    else if (!cached && !chk.kdf_done)
        td_pw_dummy(dbp->kdf_iterations); /* same cost as a real check */

    if (!ok) {
        if (u && pr == TD_PW_MATCH)
            dbp_cred_drop(dbp->creds, u->id); /* disabled */
        log_info("login of %s from %s refused: %s", shown, akey,
                 !u                   ? "no such user"
                 : pr == TD_PW_MATCH ? "account disabled"
                                     : "wrong password");
        answer(x, req, VALIDATE_WRONG, NULL);
        free(u);
        return 0;
    }
    if (alen)
        dbp_rl_refund(dbp->login_addr_failures, akey, alen, now);
    /* A success clears the account's count — unless it was locked and this address is one
     * the user logged in from before: the stranger's lock stays for everybody else. */
    if (!user_locked)
        dbp_rl_clear(dbp->login_failures, (const char *)ukey, 4);
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
    if (alen && !addr_fresh && addr_remember(x, u->id, akey) == 0)
        recorded = ahash;
    if (now_stored && !(cached && addr_fresh))
        dbp_cred_put(dbp->creds, u->id, now_stored, now_salt, pw, plen, recorded, now);
    log_info("login of %s (id %u) from %s accepted (%s)", shown, (unsigned)u->id, akey,
             cached ? "cached credential" : "password checked");
    answer(x, req, VALIDATE_OK, u);
    free(u);
    return 0;
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
