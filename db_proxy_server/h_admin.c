/* Administration of users and departments (pb/TT.Admin.proto, base/tt_admin.h): the
 * server-only UserReq / DeptReq that http_msg_server sends on behalf of other systems. Every
 * field is checked here (UTF-8 without control characters, lengths in characters as the
 * columns hold them, ranges, an existing department, a free user name, no department below
 * itself) and every answer says what was wrong. The rules are those of tools/ttadm.c:
 * passwords stored as PBKDF2 over md5hex(plain) (what clients send), a disabled user is
 * status 3 (hidden from clients, cannot log in; status_poll.c closes its sessions), every
 * write sets `updated` so that clients see it in their changed-since lists.
 * Creating a user (name check + insert) and moving a department (cycle check + update) are
 * serialised within this process; one db_proxy_server should do the administration. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "TT.Admin.pb-c.h"
#include "db_proxy.h"
#include "td_password.h"
#include "tt_admin.h"
#include "tt_log.h"

#define ADMIN_PASSWORD_MAX 128 /* bytes of a plain password */

#define RC(x) TT__ADMIN__RESULT_CODE__ADMIN_##x

static pthread_mutex_t admin_mu = PTHREAD_MUTEX_INITIALIZER;

/* Characters in s (UTF-8, no control characters), or -1. */
static long text_chars(const char *s)
{
    size_t n = strlen(s);
    if (!dbp_utf8_valid(s, n))
        return -1;
    long chars = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -1;
        chars += (c & 0xc0) != 0x80;
    }
    return chars;
}

/* 0 when s is acceptable text of min..max characters, else -1 with *why set. */
static int check_text(const char *what, const char *s, long min, long max, char *why,
                      size_t len)
{
    long n = text_chars(s);
    if (n < 0)
        snprintf(why, len, "%s must be UTF-8 text without control characters", what);
    else if (n < min)
        snprintf(why, len, "%s must not be empty", what);
    else if (n > max)
        snprintf(why, len, "%s is %ld characters long; at most %ld fit", what, n, max);
    else
        return 0;
    return -1;
}

/* ---- users ---- */

typedef struct user_ans_s {
    uint32_t code;
    char text[160];
    uint32_t user_id;
} user_ans_t;

static int user_answer(dbp_ctx_t *x, const TT__Admin__UserReq *req, const user_ans_t *a)
{
    TT__Admin__UserRsp r = TT__ADMIN__USER_RSP__INIT;
    r.result_code = a->code;
    if (a->text[0])
        r.result_text = (char *)a->text;
    if (a->user_id) {
        r.has_user_id = 1;
        r.user_id = a->user_id;
    }
    r.has_attach_data = req->has_attach_data;
    r.attach_data = req->attach_data;
    return dbp_answer(x, &r.base);
}

static void user_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    user_ans_t a = {RC(UNAVAILABLE), "the database is unavailable", 0};
    user_answer(x, (const TT__Admin__UserReq *)m, &a);
}

/* The optional profile fields of req, checked; they go into u (strings point into req). */
static int user_fields(const TT__Admin__UserReq *req, td_user_t *u, char *why, size_t len)
{
    static const struct {
        const char *what;
        size_t off;
        long max;
    } f[] = {
        {"nick", offsetof(TT__Admin__UserReq, nick), 32},
        {"domain", offsetof(TT__Admin__UserReq, domain), 32},
        {"phone", offsetof(TT__Admin__UserReq, phone), 11},
        {"email", offsetof(TT__Admin__UserReq, email), 64},
        {"avatar", offsetof(TT__Admin__UserReq, avatar), 255},
        {"sign_info", offsetof(TT__Admin__UserReq, sign_info), 128},
    };
    char **dst[] = {&u->nick, &u->domain, &u->phone, &u->email, &u->avatar, &u->sign_info};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        char *s = *(char *const *)((const char *)req + f[i].off);
        if (!s)
            continue;
        if (check_text(f[i].what, s, 0, f[i].max, why, len) < 0)
            return -1;
        *dst[i] = s;
    }
    if (req->has_sex) {
        if (req->sex > 2) {
            snprintf(why, len, "sex must be 0 (unknown), 1 (male) or 2 (female)");
            return -1;
        }
        u->sex = req->sex;
    }
    if (req->has_depart_id)
        u->depart_id = req->depart_id;
    return 0;
}

/* The stored form of a plain password, or -1 with *why set. */
static int user_hash(dbp_ctx_t *x, const char *plain, char *stored, size_t slen, char *why,
                     size_t len)
{
    size_t n = plain ? strlen(plain) : 0;
    if (n == 0 || n > ADMIN_PASSWORD_MAX || !dbp_utf8_valid(plain, n)) {
        snprintf(why, len, "password must be 1..%d bytes of UTF-8", ADMIN_PASSWORD_MAX);
        return -1;
    }
    char client[33];
    uint32_t iter = x->dbp ? x->dbp->kdf_iterations : TD_PW_DEFAULT_ITER;
    if (td_pw_md5hex(plain, n, client) < 0 || td_pw_hash(client, 32, iter, stored, slen) < 0) {
        snprintf(why, len, "cannot hash the password");
        return -1;
    }
    return 0;
}

/* 1 when the department can take users, 0 with a in the answer, -1 error. */
static int user_dept_ok(td_conn_t *c, uint32_t dept, user_ans_t *a)
{
    int rc = td_dept_exists(c, dept, 1);
    if (rc == 0) {
        a->code = RC(NO_DEPT);
        snprintf(a->text, sizeof(a->text), "no active department with id %u", (unsigned)dept);
    }
    return rc;
}

static int user_create(dbp_ctx_t *x, td_conn_t *c, const TT__Admin__UserReq *req, user_ans_t *a)
{
    td_user_t u;
    memset(&u, 0, sizeof(u));
    char stored[TD_PW_STORED_MAX];
    if (user_fields(req, &u, a->text, sizeof(a->text)) < 0 ||
        user_hash(x, req->password, stored, sizeof(stored), a->text, sizeof(a->text)) < 0) {
        a->code = RC(INVALID);
        return 0;
    }
    char domain[129];
    if (!u.domain) {
        snprintf(domain, sizeof(domain), "%s", req->user_name);
        for (char *p = domain; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        u.domain = domain;
    }
    if (!u.nick)
        u.nick = req->user_name;
    u.name = req->user_name;
    u.password = stored;
    u.status = 0;
    int rc;
    pthread_mutex_lock(&admin_mu);
    if (req->has_depart_id)
        rc = user_dept_ok(c, u.depart_id, a);
    else if ((rc = td_dept_first(c, &u.depart_id)) == 0) {
        a->code = RC(NO_DEPT);
        snprintf(a->text, sizeof(a->text), "there is no department yet");
    }
    uint32_t count = 0;
    if (rc > 0 && (rc = td_user_count_by_name(c, u.name, &count)) == 0) {
        rc = 1;
        if (count) {
            a->code = RC(NAME_TAKEN);
            snprintf(a->text, sizeof(a->text), "a user of that name exists already");
            rc = 0;
        }
    }
    if (rc > 0 && (rc = td_user_add(c, &u, &a->user_id)) == 0)
        a->code = RC(OK);
    pthread_mutex_unlock(&admin_mu);
    return rc < 0 ? -1 : 0;
}

static int user_update(td_conn_t *c, const TT__Admin__UserReq *req, user_ans_t *a)
{
    td_user_t *old = NULL;
    int rc = td_user_by_name(c, req->user_name, strlen(req->user_name), &old);
    if (rc <= 0) {
        a->code = RC(NO_USER);
        snprintf(a->text, sizeof(a->text), "no user of that name");
        return rc;
    }
    td_user_t u = *old;
    a->user_id = u.id;
    if (user_fields(req, &u, a->text, sizeof(a->text)) < 0) {
        a->code = RC(INVALID);
        free(old);
        return 0;
    }
    if (req->has_depart_id && req->depart_id != old->depart_id &&
        (rc = user_dept_ok(c, u.depart_id, a)) <= 0) {
        free(old);
        return rc;
    }
    uint64_t matched = 0;
    rc = td_user_update(c, &u, &matched);
    free(old);
    if (rc < 0)
        return -1;
    a->code = matched ? RC(OK) : RC(NO_USER);
    return 0;
}

static int user_simple(dbp_ctx_t *x, td_conn_t *c, const TT__Admin__UserReq *req, user_ans_t *a)
{
    uint64_t matched = 0;
    int rc;
    if (req->op == TT__ADMIN__USER_OP__USER_PASSWORD) {
        char stored[TD_PW_STORED_MAX];
        if (user_hash(x, req->password, stored, sizeof(stored), a->text, sizeof(a->text)) < 0) {
            a->code = RC(INVALID);
            return 0;
        }
        rc = td_user_set_password(c, req->user_name, stored, &matched);
    } else {
        uint32_t status = req->op == TT__ADMIN__USER_OP__USER_DISABLE ? TD_USER_STATUS_LEFT : 0;
        rc = td_user_set_status(c, req->user_name, status, &matched);
    }
    if (rc < 0)
        return -1;
    if (!matched) {
        a->code = RC(NO_USER);
        snprintf(a->text, sizeof(a->text), "no user of that name");
        return 0;
    }
    a->code = RC(OK);
    td_user_t *u = NULL; /* the id, for the answer */
    if ((rc = td_user_by_name(c, req->user_name, strlen(req->user_name), &u)) > 0)
        a->user_id = u->id;
    free(u);
    return rc < 0 ? -1 : 0;
}

static int user_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const TT__Admin__UserReq *req = (const TT__Admin__UserReq *)m;
    user_ans_t a = {RC(INVALID), "", 0};
    if (req->op < TT__ADMIN__USER_OP__USER_CREATE || req->op > TT__ADMIN__USER_OP__USER_PASSWORD)
        snprintf(a.text, sizeof(a.text), "unknown operation %u", (unsigned)req->op);
    else if (check_text("user_name", req->user_name, 1, 32, a.text, sizeof(a.text)) == 0)
        a.code = RC(OK);
    if (a.code != RC(OK))
        return user_answer(x, req, &a) < 0 ? -1 : 0;
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    int rc;
    if (req->op == TT__ADMIN__USER_OP__USER_CREATE)
        rc = user_create(x, c, req, &a);
    else if (req->op == TT__ADMIN__USER_OP__USER_UPDATE)
        rc = user_update(c, req, &a);
    else
        rc = user_simple(x, c, req, &a);
    if (rc < 0)
        dbp_db_failed(x, c, "user administration");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    char nb[80];
    log_info("admin from %s: user %s op %u: result %u%s%s", x->peer,
             dbp_printable(req->user_name, nb, sizeof(nb)), (unsigned)req->op, (unsigned)a.code,
             a.text[0] ? ": " : "", a.text);
    return user_answer(x, req, &a) < 0 ? -1 : 0;
}

/* ---- departments ---- */

typedef struct dept_ans_s {
    uint32_t code;
    char text[160];
    uint32_t dept_id;
} dept_ans_t;

static int dept_answer(dbp_ctx_t *x, const TT__Admin__DeptReq *req, const dept_ans_t *a)
{
    TT__Admin__DeptRsp r = TT__ADMIN__DEPT_RSP__INIT;
    r.result_code = a->code;
    if (a->text[0])
        r.result_text = (char *)a->text;
    if (a->dept_id) {
        r.has_dept_id = 1;
        r.dept_id = a->dept_id;
    }
    r.has_attach_data = req->has_attach_data;
    r.attach_data = req->attach_data;
    return dbp_answer(x, &r.base);
}

static void dept_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    dept_ans_t a = {RC(UNAVAILABLE), "the database is unavailable", 0};
    dept_answer(x, (const TT__Admin__DeptReq *)m, &a);
}

/* The request's fields, checked: 0 ok, -1 with a->text set. */
static int dept_check(const TT__Admin__DeptReq *req, dept_ans_t *a)
{
    int op = (int)req->op;
    if (op < TT__ADMIN__DEPT_OP__DEPT_CREATE || op > TT__ADMIN__DEPT_OP__DEPT_MOVE) {
        snprintf(a->text, sizeof(a->text), "unknown operation %u", (unsigned)req->op);
        return -1;
    }
    if (op != TT__ADMIN__DEPT_OP__DEPT_CREATE && (!req->has_dept_id || req->dept_id == 0)) {
        snprintf(a->text, sizeof(a->text), "dept_id is required");
        return -1;
    }
    if (op != TT__ADMIN__DEPT_OP__DEPT_MOVE &&
        (!req->name || check_text("name", req->name, 1, 64, a->text, sizeof(a->text)) < 0)) {
        if (!req->name)
            snprintf(a->text, sizeof(a->text), "name is required");
        return -1;
    }
    if (op == TT__ADMIN__DEPT_OP__DEPT_MOVE && !req->has_parent_id) {
        snprintf(a->text, sizeof(a->text), "parent_id is required");
        return -1;
    }
    return 0;
}

/* 1 when department id exists (any status), 0 with a NO_DEPT answer, -1 error. */
static int dept_found(td_conn_t *c, uint32_t id, const char *what, dept_ans_t *a)
{
    int rc = td_dept_exists(c, id, 0);
    if (rc == 0) {
        a->code = RC(NO_DEPT);
        snprintf(a->text, sizeof(a->text), "no %s with id %u", what, (unsigned)id);
    }
    return rc;
}

static int dept_do(td_conn_t *c, const TT__Admin__DeptReq *req, dept_ans_t *a)
{
    uint64_t matched = 0;
    int rc;
    switch (req->op) {
    case TT__ADMIN__DEPT_OP__DEPT_CREATE:
        if (req->parent_id && (rc = dept_found(c, req->parent_id, "parent department", a)) <= 0)
            return rc;
        if (td_dept_add(c, req->name, req->parent_id, req->priority, &a->dept_id) < 0)
            return -1;
        a->code = RC(OK);
        return 0;
    case TT__ADMIN__DEPT_OP__DEPT_RENAME:
        a->dept_id = req->dept_id;
        if (td_dept_rename(c, req->dept_id, req->name, &matched) < 0)
            return -1;
        break;
    default: /* move */
        a->dept_id = req->dept_id;
        if ((rc = dept_found(c, req->dept_id, "department", a)) <= 0)
            return rc;
        if (req->parent_id && (rc = dept_found(c, req->parent_id, "parent department", a)) <= 0)
            return rc;
        pthread_mutex_lock(&admin_mu);
        rc = td_dept_would_cycle(c, req->dept_id, req->parent_id);
        if (rc == 0)
            rc = td_dept_move(c, req->dept_id, req->parent_id, &matched);
        else if (rc > 0) {
            a->code = RC(DEPT_CYCLE);
            snprintf(a->text, sizeof(a->text), "department %u would be below itself",
                     (unsigned)req->dept_id);
        }
        pthread_mutex_unlock(&admin_mu);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        break;
    }
    if (!matched) {
        a->code = RC(NO_DEPT);
        snprintf(a->text, sizeof(a->text), "no department with id %u", (unsigned)req->dept_id);
    } else {
        a->code = RC(OK);
    }
    return 0;
}

static int dept_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const TT__Admin__DeptReq *req = (const TT__Admin__DeptReq *)m;
    dept_ans_t a = {RC(INVALID), "", 0};
    if (dept_check(req, &a) < 0)
        return dept_answer(x, req, &a) < 0 ? -1 : 0;
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    int rc = dept_do(c, req, &a);
    if (rc < 0)
        dbp_db_failed(x, c, "department administration");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    log_info("admin from %s: department op %u id %u: result %u%s%s", x->peer,
             (unsigned)req->op, (unsigned)a.dept_id, (unsigned)a.code, a.text[0] ? ": " : "",
             a.text);
    return dept_answer(x, req, &a) < 0 ? -1 : 0;
}

const dbp_cmd_t dbp_admin_cmds[] = {
    {TT_CID_ADMIN_USER_REQ, "AdminUserReq", &tt__admin__user_req__descriptor, TT_SID_ADMIN,
     TT_CID_ADMIN_USER_RSP, user_run, user_fail, NULL},
    {TT_CID_ADMIN_DEPT_REQ, "AdminDeptReq", &tt__admin__dept_req__descriptor, TT_SID_ADMIN,
     TT_CID_ADMIN_DEPT_RSP, dept_run, dept_fail, NULL},
};
const size_t dbp_admin_ncmds = sizeof(dbp_admin_cmds) / sizeof(dbp_admin_cmds[0]);
