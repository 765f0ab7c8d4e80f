/* it_admin: the administration commands (pb/TT.Admin.proto, base/tt_admin.h), for
 * it_admin.sh and it_http_admin.sh.
 *   it_admin DBPORT db                  speaks to db_proxy_server as http_msg_server does:
 *                                       departments (create, rename, move, cycles) and users
 *                                       (create, update, disable, enable, password) with
 *                                       their errors; logins checked with IMValidateReq
 *   it_admin MSPORT relay USER          logs USER in on a msg_server and sends the admin
 *                                       commands as a client: no answer may come (the shell
 *                                       checks that nothing was written)
 *   it_admin MSPORT login NAME PLAIN CODE
 *                                       logs in on a msg_server: result_code CODE (0: in)
 * Exit status 0 when every check passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Server.pb-c.h"
#include "TT.Admin.pb-c.h"
#include "td_password.h"
#include "tt_admin.h"
#include "tt_client.h"
#include "tt_pdu.h"
#include "it_auth.h"
#include "it_check.h"
#include "it_peer.h"

#define T 8000
#define RC(x) TT__ADMIN__RESULT_CODE__ADMIN_##x
#define UOP(x) TT__ADMIN__USER_OP__USER_##x
#define DOP(x) TT__ADMIN__DEPT_OP__DEPT_##x

static uint32_t last_id; /* user_id / dept_id of the last answer */

/* Sends a UserReq; returns its result_code (99: no answer). */
static uint32_t user_call(peer_t *p, TT__Admin__UserReq *q)
{
    q->has_attach_data = 1;
    q->attach_data = fresh_attach(p);
    TT__Admin__UserRsp *r = call(p, TT_SID_ADMIN, TT_CID_ADMIN_USER_REQ, &q->base,
                                 TT_CID_ADMIN_USER_RSP, &tt__admin__user_rsp__descriptor, T);
    if (!r)
        return 99;
    check(attach_ok(p, r->has_attach_data, r->attach_data), "UserRsp echoes attach_data");
    uint32_t code = r->result_code;
    last_id = r->has_user_id ? r->user_id : 0;
    printf("   user op %u %s: %u %s\n", (unsigned)q->op, q->user_name, (unsigned)code,
           r->result_text ? r->result_text : "");
    tt_pb_free(r);
    return code;
}

static uint32_t dept_call(peer_t *p, TT__Admin__DeptReq *q)
{
    q->has_attach_data = 1;
    q->attach_data = fresh_attach(p);
    TT__Admin__DeptRsp *r = call(p, TT_SID_ADMIN, TT_CID_ADMIN_DEPT_REQ, &q->base,
                                 TT_CID_ADMIN_DEPT_RSP, &tt__admin__dept_rsp__descriptor, T);
    if (!r)
        return 99;
    check(attach_ok(p, r->has_attach_data, r->attach_data), "DeptRsp echoes attach_data");
    uint32_t code = r->result_code;
    last_id = r->has_dept_id ? r->dept_id : 0;
    printf("   dept op %u: %u %s\n", (unsigned)q->op, (unsigned)code,
           r->result_text ? r->result_text : "");
    tt_pb_free(r);
    return code;
}

static uint32_t dept(peer_t *p, uint32_t op, uint32_t id, const char *name, int has_parent,
                     uint32_t parent)
{
    TT__Admin__DeptReq q = TT__ADMIN__DEPT_REQ__INIT;
    q.op = op;
    q.has_dept_id = id != 0;
    q.dept_id = id;
    q.name = (char *)name;
    q.has_parent_id = has_parent;
    q.parent_id = parent;
    return dept_call(p, &q);
}

static uint32_t user(peer_t *p, uint32_t op, const char *name, const char *password)
{
    TT__Admin__UserReq q = TT__ADMIN__USER_REQ__INIT;
    q.op = op;
    q.user_name = (char *)name;
    q.password = (char *)password;
    return user_call(p, &q);
}

/* IMValidateReq with md5hex(plain): its result_code (99: no answer). */
static uint32_t validate(peer_t *p, const char *name, const char *plain)
{
    char md5[33];
    td_pw_md5hex(plain, strlen(plain), md5);
    IM__Server__IMValidateReq q = IM__SERVER__IMVALIDATE_REQ__INIT;
    q.user_name = (char *)name;
    q.password = md5;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Server__IMValidateRsp *r =
        call(p, SID_OTHER, OTHER(VALIDATE_REQ), &q.base, OTHER(VALIDATE_RSP),
             &im__server__imvalidate_rsp__descriptor, T);
    if (!r)
        return 99;
    uint32_t code = r->result_code;
    tt_pb_free(r);
    return code;
}

static void depts(peer_t *p)
{
    check(dept(p, DOP(CREATE), 0, "运维 Ops", 1, 1) == RC(OK) && last_id, "dept create under 1");
    uint32_t ops = last_id;
    check(dept(p, DOP(CREATE), 0, "Ops child", 1, ops) == RC(OK) && last_id > ops,
          "dept create under the new one");
    uint32_t child = last_id;
    check(dept(p, DOP(CREATE), 0, "Top", 0, 0) == RC(OK), "dept create at the top");
    uint32_t top = last_id;
    printf("DEPTS %u %u %u\n", (unsigned)ops, (unsigned)child, (unsigned)top);
    check(dept(p, DOP(CREATE), 0, "orphan", 1, 999999) == RC(NO_DEPT), "unknown parent");
    check(dept(p, DOP(CREATE), 0, "", 0, 0) == RC(INVALID), "empty name");
    check(dept(p, DOP(CREATE), 0, NULL, 0, 0) == RC(INVALID), "no name");
    check(dept(p, DOP(CREATE), 0, "bad \xff utf8", 0, 0) == RC(INVALID), "name not UTF-8");
    check(dept(p, DOP(CREATE), 0, "tab\there", 0, 0) == RC(INVALID), "control character");
    char long_name[200];
    memset(long_name, 0, sizeof(long_name));
    for (int i = 0; i < 65; i++)
        strcat(long_name, "部"); /* 65 characters, 195 bytes */
    check(dept(p, DOP(CREATE), 0, long_name, 0, 0) == RC(INVALID), "65 characters");
    long_name[64 * 3] = 0;
    check(dept(p, DOP(CREATE), 0, long_name, 0, 0) == RC(OK), "64 characters fit");
    check(dept(p, DOP(RENAME), ops, "Operations", 0, 0) == RC(OK), "rename");
    check(dept(p, DOP(RENAME), 999999, "x", 0, 0) == RC(NO_DEPT), "rename unknown");
    check(dept(p, DOP(RENAME), 0, "x", 0, 0) == RC(INVALID), "rename without dept_id");
    check(dept(p, DOP(RENAME), ops, "", 0, 0) == RC(INVALID), "rename to empty");
    check(dept(p, DOP(MOVE), ops, NULL, 1, child) == RC(DEPT_CYCLE), "move below its child");
    check(dept(p, DOP(MOVE), ops, NULL, 1, ops) == RC(DEPT_CYCLE), "move below itself");
    check(dept(p, DOP(MOVE), ops, NULL, 1, 999999) == RC(NO_DEPT), "move below unknown");
    check(dept(p, DOP(MOVE), 999999, NULL, 1, 1) == RC(NO_DEPT), "move unknown");
    check(dept(p, DOP(MOVE), ops, NULL, 0, 0) == RC(INVALID), "move without parent_id");
    check(dept(p, DOP(MOVE), child, NULL, 1, top) == RC(OK), "move child below top");
    check(dept(p, DOP(MOVE), top, NULL, 1, ops) == RC(OK), "move top below ops");
    check(dept(p, DOP(MOVE), ops, NULL, 1, child) == RC(DEPT_CYCLE),
          "move ops below its grandchild");
    check(dept(p, DOP(MOVE), top, NULL, 1, 0) == RC(OK), "move to the top again");
    check(dept(p, 9, 0, "x", 0, 0) == RC(INVALID), "unknown dept op");
}

static void users(peer_t *p)
{
    TT__Admin__UserReq q = TT__ADMIN__USER_REQ__INIT;
    q.op = UOP(CREATE);
    q.user_name = "carol";
    q.password = "pw carol 1";
    q.nick = "卡罗尔";
    q.email = "carol@example.com";
    q.phone = "13800000009";
    q.has_sex = 1;
    q.sex = 2;
    q.has_depart_id = 1;
    q.depart_id = 2;
    check(user_call(p, &q) == RC(OK) && last_id, "user create");
    printf("CAROL %u\n", (unsigned)last_id);
    check(validate(p, "carol", "pw carol 1") == 0, "carol logs in");
    check(validate(p, "carol", "wrong") != 0, "not with a wrong password");
    check(user_call(p, &q) == RC(NAME_TAKEN), "a second carol");
    q.user_name = "dave";
    q.depart_id = 999999;
    check(user_call(p, &q) == RC(NO_DEPT), "unknown department");
    q.depart_id = 2;
    q.has_sex = 1;
    q.sex = 3;
    check(user_call(p, &q) == RC(INVALID), "sex 3");
    q.sex = 1;
    q.phone = "123456789012";
    check(user_call(p, &q) == RC(INVALID), "a 12-digit phone");
    q.phone = NULL;
    q.nick = "bad \xc3\x28";
    check(user_call(p, &q) == RC(INVALID), "nick not UTF-8");
    q.nick = NULL;
    q.password = NULL;
    check(user_call(p, &q) == RC(INVALID), "no password");
    q.password = "";
    check(user_call(p, &q) == RC(INVALID), "empty password");
    q.password = "x";
    q.user_name = "abcdefghijklmnopqrstuvwxyz0123456";
    check(user_call(p, &q) == RC(INVALID), "33-character name");
    q.user_name = "";
    check(user_call(p, &q) == RC(INVALID), "empty name");
    check(user(p, 42, "carol", NULL) == RC(INVALID), "unknown user op");
    /* dave: no department given (the first one), no nick (the name) */
    check(user(p, UOP(CREATE), "Dave", "pw dave") == RC(OK), "user create, defaults");

    TT__Admin__UserReq u = TT__ADMIN__USER_REQ__INIT;
    u.op = UOP(UPDATE);
    u.user_name = "carol";
    u.nick = "Carol C.";
    u.sign_info = "hello; DROP TABLE IMUser; --";
    u.has_depart_id = 1;
    u.depart_id = 3;
    check(user_call(p, &u) == RC(OK), "user update");
    u.depart_id = 999999;
    check(user_call(p, &u) == RC(NO_DEPT), "update to an unknown department");
    u.has_depart_id = 0;
    u.email = "\x01";
    check(user_call(p, &u) == RC(INVALID), "update with a control character");
    u.email = NULL;
    u.user_name = "nobody";
    check(user_call(p, &u) == RC(NO_USER), "update of nobody");

    check(user(p, UOP(DISABLE), "carol", NULL) == RC(OK), "disable");
    check(validate(p, "carol", "pw carol 1") != 0, "a disabled user cannot log in");
    check(user(p, UOP(DISABLE), "nobody", NULL) == RC(NO_USER), "disable nobody");
    check(user(p, UOP(ENABLE), "carol", NULL) == RC(OK), "enable");
    check(validate(p, "carol", "pw carol 1") == 0, "an enabled user logs in again");
    check(user(p, UOP(ENABLE), "nobody", NULL) == RC(NO_USER), "enable nobody");
    check(user(p, UOP(PASSWORD), "carol", "new pw") == RC(OK), "set password");
    check(validate(p, "carol", "pw carol 1") != 0, "the old password no longer works");
    check(validate(p, "carol", "new pw") == 0, "the new one does");
    check(user(p, UOP(PASSWORD), "carol", "") == RC(INVALID), "empty password refused");
    check(user(p, UOP(PASSWORD), "nobody", "x") == RC(NO_USER), "password of nobody");
}

/* As a client on msg_server: the admin commands get no answer at all. */
static int relay(uint16_t port, const char *name)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    IM__Login__IMLoginRes *res = NULL;
    if (!check(c && ttc_login(c, name, "test123", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS,
                              T, &res) == 0 && res && res->result_code == 0,
               "%s logs in on msg_server", name)) {
        tt_pb_free(res);
        ttc_close(c);
        return 1;
    }
    tt_pb_free(res);
    TT__Admin__UserReq q = TT__ADMIN__USER_REQ__INIT;
    q.op = UOP(CREATE);
    q.user_name = "sneaky";
    q.password = "sneaky";
    TT__Admin__DeptReq d = TT__ADMIN__DEPT_REQ__INIT;
    d.op = DOP(CREATE);
    d.name = "SneakyDept";
    TT__Admin__UserReq e = TT__ADMIN__USER_REQ__INIT;
    e.op = UOP(PASSWORD);
    e.user_name = (char *)name;
    e.password = "taken over";
    check(ttc_send(c, TT_SID_ADMIN, TT_CID_ADMIN_USER_REQ, &q.base, NULL) == 0 &&
              ttc_send(c, TT_SID_ADMIN, TT_CID_ADMIN_DEPT_REQ, &d.base, NULL) == 0 &&
              ttc_send(c, TT_SID_ADMIN, TT_CID_ADMIN_USER_REQ, &e.base, NULL) == 0,
          "the admin commands sent as a client");
    ttc_pdu_t *pdu = NULL;
    int rc = ttc_wait(c, TT_CID_ADMIN_USER_RSP, 1500, &pdu);
    check(rc != 0, "no UserRsp comes back");
    ttc_pdu_free(pdu);
    pdu = NULL;
    rc = ttc_wait(c, TT_CID_ADMIN_DEPT_RSP, 200, &pdu);
    check(rc != 0, "no DeptRsp comes back");
    ttc_pdu_free(pdu);
    ttc_close(c);
    return failures != 0;
}

static int login(uint16_t port, const char *name, const char *plain, uint32_t want)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    IM__Login__IMLoginRes *res = NULL;
    int rc = c ? ttc_login(c, name, plain, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS, T,
                           &res)
               : -1;
    uint32_t got = res ? res->result_code : 99;
    check(c && (want ? res && got != 0 : rc == 0 && got == 0),
          "login %s: result %u (want %u)", name, (unsigned)got, (unsigned)want);
    tt_pb_free(res);
    ttc_close(c);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    uint16_t port = (uint16_t)atoi(argv[1]);
    if (strcmp(argv[2], "relay") == 0 && argc == 4)
        return relay(port, argv[3]);
    if (strcmp(argv[2], "login") == 0 && argc == 6)
        return login(port, argv[3], argv[4], (uint32_t)atoi(argv[5]));
    if (strcmp(argv[2], "db") != 0)
        return 2;
    peer_t p;
    if (peer_open(&p, port) < 0)
        return 1;
    depts(&p);
    users(&p);
    peer_close(&p);
    return failures != 0;
}
