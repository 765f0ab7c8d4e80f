/* CID_OTHER_VALIDATE_REQ: msg_server asks whether user_name / password (md5 hex from the
 * client) may log in. Every attempt costs one PBKDF2, whether the user exists, the password is
 * right or wrong, or the row is still in the original md5 format (so answers do not reveal
 * which names exist). Only status 0 users may log in. A name with 10 failures in 30 minutes is
 * refused (result 6) without a check until the oldest failure is 30 minutes old. A successful
 * login with a row in the original format (or hashed with fewer iterations) rewrites it in the
 * current format, only if it did not change meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "td_password.h"
#include "tt_log.h"

enum { VALIDATE_OK = 0, VALIDATE_WRONG = 1, VALIDATE_INTERNAL = 2, VALIDATE_LOCKED = 6 };

#define NAME_MAX_BYTES 128        /* IMUser.name is varchar(32) utf8mb4 */
#define ER_DATA_TOO_LONG_NUM 1406 /* MariaDB: a value does not fit its column */

static const char *result_text(uint32_t code)
{
    switch (code) {
    case VALIDATE_OK:
        return "成功";
    case VALIDATE_WRONG:
        return "用户名/密码错误";
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

/* Rewrites the stored password of u in the current format (best effort). */
static void upgrade(dbp_ctx_t *x, const td_user_t *u, const char *stored, const char *shown)
{
    td_conn_t *c = dbp_db(x, 1);
    if (!c) {
        log_warn("password of %s not upgraded: no database", shown);
        return;
    }
    uint64_t matched = 0;
    if (td_user_upgrade_password(c, u->id, u->password, stored, &matched) < 0)
        log_warn("password of %s not upgraded (tried again at the next login): %s%s", shown,
                 td_conn_error(c),
                 td_conn_errno(c) == ER_DATA_TOO_LONG_NUM
                     ? " (apply sql/migrations/002_password_kdf.sql: IMUser.password is too "
                       "narrow)"
                     : "");
    else if (matched)
        log_info("password of %s (id %u) now stored as pbkdf2_sha256", shown, (unsigned)u->id);
    dbp_db_put(x, c, 1);
}

static int validate_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMValidateReq *req = (const IM__Server__IMValidateReq *)m;
    db_proxy_t *dbp = x->dbp;
    const char *name = req->user_name, *pw = req->password;
    size_t nlen = strlen(name), plen = strlen(pw);
    char shown[300];
    dbp_printable(name, shown, sizeof(shown));

    if (dbp_rl_locked(dbp->login_failures, name, nlen, dbp_now_s())) {
        log_info("login of %s refused: too many failed attempts", shown);
        answer(x, req, VALIDATE_LOCKED, NULL);
        return 0;
    }
    td_user_t *u = NULL;
    if (nlen > 0 && nlen <= NAME_MAX_BYTES && dbp_utf8_valid(name, nlen)) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        int rc = td_user_by_name(c, name, nlen, &u);
        if (rc < 0)
            dbp_db_failed(x, c, "user lookup");
        dbp_db_put(x, c, 0);
        if (rc < 0)
            return -1;
    }
    td_pw_check_t chk = {0};
    td_pw_result_t pr = TD_PW_MISMATCH;
    if (u) {
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
    else if (!chk.kdf_done)
        td_pw_dummy(dbp->kdf_iterations); /* same cost as a real check */

    if (!ok) {
        if (pr != TD_PW_MATCH)
            dbp_rl_fail(dbp->login_failures, name, nlen, dbp_now_s());
        log_info("login of %s refused: %s", shown,
                 !u                   ? "no such user"
                 : pr == TD_PW_MATCH ? "account disabled"
                                     : "wrong password");
        answer(x, req, VALIDATE_WRONG, NULL);
        free(u);
        return 0;
    }
    dbp_rl_clear(dbp->login_failures, name, nlen);
    if (have_new)
        upgrade(x, u, stored, shown);
    log_info("login of %s (id %u) accepted", shown, (unsigned)u->id);
    answer(x, req, VALIDATE_OK, u);
    free(u);
    return 0;
}

const dbp_cmd_t dbp_login_cmds[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_REQ, "IMValidateReq",
     &im__server__imvalidate_req__descriptor, DBP_SID_OTHER,
     IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_RSP, validate_run, validate_fail, NULL},
};
const size_t dbp_login_ncmds = sizeof(dbp_login_cmds) / sizeof(dbp_login_cmds[0]);
