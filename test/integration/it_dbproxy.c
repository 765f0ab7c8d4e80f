/* it_dbproxy: drives db_proxy_server directly with PDUs, as a msg_server would, for
 * it_dbproxy.sh. Every answer must carry the request's seq_num and attach_data.
 *   it_dbproxy PORT legacy                 TT001 logs in with its original md5 row
 *   it_dbproxy PORT main                   logins, lockout, users, departments, profile, push
 *   it_dbproxy PORT dbkilled               MariaDB killed, Redis up: logins answered 2 at
 *                                          once, Redis-only requests still served
 *   it_dbproxy PORT dbdown                 MariaDB and Redis gone: error answers, quickly
 *   it_dbproxy PORT dbback                 and real answers once they are back
 *   it_dbproxy PORT login NAME PLAIN CODE  one login, expecting result CODE
 *   it_dbproxy PORT sync SINCE NAME STATUS the incremental user list has NAME with STATUS
 *   it_dbproxy PORT batch                  300 messages at once: stored in batches, ids in
 *                                          order, a repeat marked as duplicate
 *   it_dbproxy PORT batchresend            resends: marked only where the first was answered
 *   it_dbproxy PORT batchagain             all 300 again at once: the first ids, nothing new
 *   it_dbproxy PORT batchnoredis           resends with Redis down: all marked
 *   it_dbproxy PORT spray N FIRST U1 U2 [U3 U4 ...]
 *                                          N texts at once over the pairs (U1, U2), ...,
 *                                          round robin, each direction in turn: all stored,
 *                                          ids going up by one per pair in the order sent,
 *                                          from FIRST (0: from anything)
 *   it_dbproxy PORT flood                  more requests than MaxPendingRequests at once
 *   it_dbproxy PORT stopwait               waits for IMStopReceivePacket (db_proxy stopping)
 * Exit status 0 when every check passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "td_password.h"
#include "tt_pdu.h"
#include "it_auth.h"
#include "it_check.h"
#include "it_peer.h"

#define T 8000 /* ms to wait for an answer */

#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define LOGIN(x) IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_##x
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x

/* ---- requests ---- */

static char *md5hex(const char *plain)
{
    static char out[33];
    td_pw_md5hex(plain, strlen(plain), out);
    return out;
}

/* Validates; returns the answer (NULL on failure). */
static IM__Server__IMValidateRsp *validate(peer_t *p, const char *name, const char *client_pw,
                                           int timeout_ms)
{
    IM__Server__IMValidateReq q = IM__SERVER__IMVALIDATE_REQ__INIT;
    q.user_name = (char *)name;
    q.password = (char *)client_pw;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Server__IMValidateRsp *r =
        call(p, SID_OTHER, OTHER(VALIDATE_REQ), &q.base, OTHER(VALIDATE_RSP),
             &im__server__imvalidate_rsp__descriptor, timeout_ms);
    if (r && (!attach_ok(p, r->has_attach_data, r->attach_data) ||
              strcmp(r->user_name, name) != 0)) {
        check(0, "validate answer echoes user_name and attach_data");
        tt_pb_free(r);
        return NULL;
    }
    return r;
}

/* Result code of a login with a plain password, -1 when there was no (valid) answer. */
static int login_code(peer_t *p, const char *name, const char *plain)
{
    IM__Server__IMValidateRsp *r = validate(p, name, md5hex(plain), T);
    int code = r ? (int)r->result_code : -1;
    tt_pb_free(r);
    return code;
}

static IM__Buddy__IMAllUserRsp *all_users(peer_t *p, uint32_t since)
{
    IM__Buddy__IMAllUserReq q = IM__BUDDY__IMALL_USER_REQ__INIT;
    q.user_id = 1;
    q.latest_update_time = since;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Buddy__IMAllUserRsp *r = call(p, SID_BUDDY, BUDDY(ALL_USER_REQUEST), &q.base,
                                      BUDDY(ALL_USER_RESPONSE),
                                      &im__buddy__imall_user_rsp__descriptor, T);
    if (r && (!attach_ok(p, r->has_attach_data, r->attach_data) || r->user_id != 1)) {
        check(0, "all users answer echoes user_id and attach_data");
        tt_pb_free(r);
        return NULL;
    }
    return r;
}

static IM__Buddy__IMDepartmentRsp *departments(peer_t *p, uint32_t since)
{
    IM__Buddy__IMDepartmentReq q = IM__BUDDY__IMDEPARTMENT_REQ__INIT;
    q.user_id = 1;
    q.latest_update_time = since;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Buddy__IMDepartmentRsp *r = call(p, SID_BUDDY, BUDDY(DEPARTMENT_REQUEST), &q.base,
                                         BUDDY(DEPARTMENT_RESPONSE),
                                         &im__buddy__imdepartment_rsp__descriptor, T);
    if (r && !attach_ok(p, r->has_attach_data, r->attach_data)) {
        check(0, "department answer echoes attach_data");
        tt_pb_free(r);
        return NULL;
    }
    return r;
}

static IM__Buddy__IMUsersInfoRsp *users_info(peer_t *p, const uint32_t *ids, size_t n)
{
    IM__Buddy__IMUsersInfoReq q = IM__BUDDY__IMUSERS_INFO_REQ__INIT;
    q.user_id = 1;
    q.n_user_id_list = n;
    q.user_id_list = (uint32_t *)ids;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Buddy__IMUsersInfoRsp *r = call(p, SID_BUDDY, BUDDY(USER_INFO_REQUEST), &q.base,
                                        BUDDY(USER_INFO_RESPONSE),
                                        &im__buddy__imusers_info_rsp__descriptor, T);
    if (r && !attach_ok(p, r->has_attach_data, r->attach_data)) {
        check(0, "users info answer echoes attach_data");
        tt_pb_free(r);
        return NULL;
    }
    return r;
}

static int change_sign(peer_t *p, uint32_t uid, const char *sign)
{
    IM__Buddy__IMChangeSignInfoReq q = IM__BUDDY__IMCHANGE_SIGN_INFO_REQ__INIT;
    q.user_id = uid;
    q.sign_info = (char *)sign;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Buddy__IMChangeSignInfoRsp *r = call(p, SID_BUDDY, BUDDY(CHANGE_SIGN_INFO_REQUEST),
                                             &q.base, BUDDY(CHANGE_SIGN_INFO_RESPONSE),
                                             &im__buddy__imchange_sign_info_rsp__descriptor, T);
    int code = -1;
    if (r && attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid &&
        r->sign_info && strcmp(r->sign_info, sign) == 0)
        code = (int)r->result_code;
    else if (r)
        check(0, "sign answer echoes user_id, sign_info and attach_data");
    tt_pb_free(r);
    return code;
}

static int change_avatar(peer_t *p, uint32_t uid, const char *url)
{
    IM__Buddy__IMChangeAvatarReq q = IM__BUDDY__IMCHANGE_AVATAR_REQ__INIT;
    q.user_id = uid;
    q.avatar_url = (char *)url;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Buddy__IMChangeAvatarRsp *r = call(p, SID_BUDDY, BUDDY(CHANGE_AVATAR_REQUEST), &q.base,
                                           BUDDY(CHANGE_AVATAR_RESPONSE),
                                           &im__buddy__imchange_avatar_rsp__descriptor, T);
    int code = -1;
    if (r && attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid)
        code = (int)r->result_code;
    else if (r)
        check(0, "avatar answer echoes user_id and attach_data");
    tt_pb_free(r);
    return code;
}

/* Returns result_code; *shield gets shield_status (-1 when absent). */
static int shield_set(peer_t *p, uint32_t uid, uint32_t v, int *shield)
{
    IM__Login__IMPushShieldReq q = IM__LOGIN__IMPUSH_SHIELD_REQ__INIT;
    q.user_id = uid;
    q.shield_status = v;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Login__IMPushShieldRsp *r = call(p, SID_LOGIN, LOGIN(REQ_PUSH_SHIELD), &q.base,
                                         LOGIN(RES_PUSH_SHIELD),
                                         &im__login__impush_shield_rsp__descriptor, T);
    int code = -1;
    *shield = -1;
    if (r && attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid) {
        code = (int)r->result_code;
        if (r->has_shield_status)
            *shield = (int)r->shield_status;
    } else if (r) {
        check(0, "push shield answer echoes user_id and attach_data");
    }
    tt_pb_free(r);
    return code;
}

static int shield_query(peer_t *p, uint32_t uid, int *shield)
{
    IM__Login__IMQueryPushShieldReq q = IM__LOGIN__IMQUERY_PUSH_SHIELD_REQ__INIT;
    q.user_id = uid;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Login__IMQueryPushShieldRsp *r = call(p, SID_LOGIN, LOGIN(REQ_QUERY_PUSH_SHIELD),
                                              &q.base, LOGIN(RES_QUERY_PUSH_SHIELD),
                                              &im__login__imquery_push_shield_rsp__descriptor, T);
    int code = -1;
    *shield = -1;
    if (r && attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid) {
        code = (int)r->result_code;
        if (r->has_shield_status)
            *shield = (int)r->shield_status;
    } else if (r) {
        check(0, "query push shield answer echoes user_id and attach_data");
    }
    tt_pb_free(r);
    return code;
}

/* 0 when answered with the user id and attach_data. */
static int device_token(peer_t *p, uint32_t uid, int client_type, const char *token)
{
    IM__Login__IMDeviceTokenReq q = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
    q.user_id = uid;
    q.device_token = (char *)token;
    if (client_type) {
        q.has_client_type = 1;
        q.client_type = (IM__BaseDefine__ClientType)client_type;
    }
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Login__IMDeviceTokenRsp *r = call(p, SID_LOGIN, LOGIN(REQ_DEVICETOKEN), &q.base,
                                          LOGIN(RES_DEVICETOKEN),
                                          &im__login__imdevice_token_rsp__descriptor, T);
    int ok = r && attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid;
    tt_pb_free(r);
    return ok ? 0 : -1;
}

static IM__Server__IMGetDeviceTokenRsp *get_tokens(peer_t *p, const uint32_t *ids, size_t n)
{
    IM__Server__IMGetDeviceTokenReq q = IM__SERVER__IMGET_DEVICE_TOKEN_REQ__INIT;
    q.n_user_id = n;
    q.user_id = (uint32_t *)ids;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Server__IMGetDeviceTokenRsp *r = call(p, SID_OTHER, OTHER(GET_DEVICE_TOKEN_REQ), &q.base,
                                              OTHER(GET_DEVICE_TOKEN_RSP),
                                              &im__server__imget_device_token_rsp__descriptor, T);
    if (r && !attach_ok(p, r->has_attach_data, r->attach_data)) {
        check(0, "device tokens answer echoes attach_data");
        tt_pb_free(r);
        return NULL;
    }
    return r;
}

static const IM__BaseDefine__UserInfo *find_user(IM__BaseDefine__UserInfo **l, size_t n,
                                                  uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (l[i]->user_id == id)
            return l[i];
    return NULL;
}

/* ---- phases ---- */

static void phase_legacy(peer_t *p)
{
    IM__Server__IMValidateRsp *r = validate(p, "TT001", md5hex("test123"), T);
    check(r && r->result_code == 0 && r->result_string && strcmp(r->result_string, "成功") == 0,
          "TT001 logs in with its original-format password (result %d)",
          r ? (int)r->result_code : -1);
    check(r && r->user_info && r->user_info->user_id == 1 &&
              strcmp(r->user_info->user_real_name, "TT001") == 0 && r->user_info->status == 0 &&
              r->user_info->sign_info != NULL,
          "with its complete profile (user 1, real name TT001, status 0, sign_info set)");
    tt_pb_free(r);
}

static double login_ms(peer_t *p, const char *name, const char *plain, int *code)
{
    uint64_t t0 = now_ms();
    *code = login_code(p, name, plain);
    return (double)(now_ms() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void phase_logins(peer_t *p)
{
    check(login_code(p, "TT001", "test123") == 0, "TT001 logs in again with the upgraded row");
    IM__Server__IMValidateRsp *r = validate(p, "TT002", md5hex("wrong"), T);
    check(r && r->result_code == 1 && r->result_string &&
              strcmp(r->result_string, "用户名/密码错误") == 0 && !r->user_info,
          "wrong password: result 1 \"用户名/密码错误\", no profile");
    tt_pb_free(r);
    check(login_code(p, "nobody", "test123") == 1, "unknown user: result 1");
    check(login_code(p, "TT099", "test123") == 1, "disabled user (status 3): result 1");
    check(login_code(p, "TT098", "test123") == 1, "user with status 1 may not log in either");
    check(login_code(p, "x' OR '1'='1", "test123") == 1, "a quote and SQL in the name: result 1");
    check(login_code(p, "TT001' -- ", "test123") == 1, "a comment in the name: result 1");
    check(login_code(p, "TT001\\", "test123") == 1, "a backslash in the name: result 1");
    check(login_code(p, "\xff\xfe", "test123") == 1, "a name that is not UTF-8: result 1");
    char longname[400];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    check(login_code(p, longname, "test123") == 1, "a 399-byte name: result 1");
    r = validate(p, "TT003", "", T);
    check(r && r->result_code == 1, "an empty password: result 1");
    tt_pb_free(r);
    check(login_code(p, "tt001", "test123") == 1, "names are case-sensitive");

    /* unknown users cost a password hash too */
    double unknown[5], wrong[5];
    int code;
    for (int i = 0; i < 5; i++) {
        unknown[i] = login_ms(p, "nobody-at-all", "x", &code);
        wrong[i] = login_ms(p, "TT004", "x", &code);
    }
    qsort(unknown, 5, sizeof(double), cmp_double);
    qsort(wrong, 5, sizeof(double), cmp_double);
    check(unknown[2] * 4 >= wrong[2], "an unknown name takes about as long as a wrong password "
                                      "(median %.1f ms vs %.1f ms)",
          unknown[2], wrong[2]);

    /* lockout after 10 failures within 30 minutes, per name */
    int codes_ok = 1;
    for (int i = 0; i < 10; i++)
        codes_ok &= login_code(p, "TT010", "bad") == 1;
    check(codes_ok, "TT010: ten wrong passwords, each result 1");
    r = validate(p, "TT010", md5hex("test123"), T);
    check(r && r->result_code == 6 && r->result_string &&
              strcmp(r->result_string, "用户名/密码错误次数太多") == 0,
          "the 11th attempt is refused with 6 even with the right password (got %d)",
          r ? (int)r->result_code : -1);
    tt_pb_free(r);
    check(login_code(p, "TT011", "test123") == 0, "another user is not affected");
    codes_ok = 1;
    for (int i = 0; i < 9; i++)
        codes_ok &= login_code(p, "TT012", "bad") == 1;
    check(codes_ok && login_code(p, "TT012", "test123") == 0, "TT012: 9 failures then success");
    for (int i = 0; i < 9; i++)
        codes_ok &= login_code(p, "TT012", "bad") == 1;
    check(codes_ok && login_code(p, "TT012", "test123") == 0,
          "a success clears the count: 9 more failures do not lock");
    for (int i = 0; i < 10; i++)
        login_code(p, "nobody2", "bad");
    check(login_code(p, "nobody2", "bad") == 6, "unknown names are locked out too");
}

static void phase_company(peer_t *p)
{
    /* the script sets IMUser.updated = 1700000000 + id, IMDepart.updated = 1700000000 + id */
    IM__Buddy__IMAllUserRsp *all = all_users(p, 0);
    check(all && all->n_user_list == 99, "all users: 99 of 100 (TT099 left) (got %zu)",
          all ? all->n_user_list : 0);
    check(all && !find_user(all->user_list, all->n_user_list, 99),
          "TT099 (status 3) is not in the full list");
    check(all && all->latest_update_time == 1700000100,
          "latest_update_time = max(updated) = 1700000100 (got %u)",
          all ? all->latest_update_time : 0);
    const IM__BaseDefine__UserInfo *u1 = all ? find_user(all->user_list, all->n_user_list, 1)
                                             : NULL;
    /* the script sets TT001's sex, phone and department */
    check(u1 && strcmp(u1->user_real_name, "TT001") == 0 && strcmp(u1->user_domain, "tt001") == 0 &&
              strcmp(u1->email, "tt001@example.com") == 0 && u1->department_id == 3 &&
              u1->user_gender == 2 && strcmp(u1->user_tel, "13800000001") == 0 &&
              u1->sign_info && u1->avatar_url && u1->user_nick_name && u1->status == 0,
          "TT001's profile is complete");
    tt_pb_free(all);
    all = all_users(p, 1700000095);
    int has99 = 0;
    for (size_t i = 0; all && i < all->n_user_list; i++)
        if (all->user_list[i]->user_id == 99 && all->user_list[i]->status == 3)
            has99 = 1;
    check(all && all->n_user_list == 6 && has99,
          "since 1700000095: users 95..100, the one who left included (got %zu)",
          all ? all->n_user_list : 0);
    check(all && all->latest_update_time == 1700000100, "latest 1700000100");
    tt_pb_free(all);
    all = all_users(p, 1700000101);
    check(all && all->n_user_list == 0 && all->latest_update_time == 1700000101,
          "nothing changed since: empty, time echoed (TT001's password upgrade is not a change)");
    tt_pb_free(all);

    uint32_t ids[] = {1, 2, 999999, 2, 0};
    IM__Buddy__IMUsersInfoRsp *info = users_info(p, ids, 5);
    check(info && info->n_user_info_list == 2 && info->user_id == 1,
          "users info for 1, 2, a missing id, a repeat and 0: two profiles (got %zu)",
          info ? info->n_user_info_list : 0);
    tt_pb_free(info);
    uint32_t id99 = 99;
    info = users_info(p, &id99, 1);
    check(info && info->n_user_info_list == 1 && info->user_info_list[0]->status == 3,
          "users info answers users who left, with their status");
    tt_pb_free(info);
    uint32_t *many = malloc(1001 * sizeof(*many));
    for (int i = 0; i < 1000; i++)
        many[i] = 500000 + (uint32_t)i;
    many[1000] = 1;
    info = users_info(p, many, 1001);
    check(info && info->n_user_info_list == 0, "only the first 1000 ids are looked up");
    tt_pb_free(info);
    for (int i = 0; i < 1000; i++)
        many[i] = (uint32_t)(i % 100) + 1;
    info = users_info(p, many, 1000);
    check(info && info->n_user_info_list == 100, "1000 ids (100 distinct): 100 profiles");
    tt_pb_free(info);
    free(many);

    IM__Buddy__IMDepartmentRsp *dep = departments(p, 0);
    check(dep && dep->n_dept_list == 5 && dep->latest_update_time == 1700000005,
          "departments: 5, latest 1700000005 (got %zu, %u)", dep ? dep->n_dept_list : 0,
          dep ? dep->latest_update_time : 0);
    tt_pb_free(dep);
    dep = departments(p, 1700000003);
    check(dep && dep->n_dept_list == 2, "departments since 1700000003: 4 and 5 (got %zu)",
          dep ? dep->n_dept_list : 0);
    tt_pb_free(dep);
    dep = departments(p, 1700000005);
    check(dep && dep->n_dept_list == 0 && dep->latest_update_time == 1700000005,
          "departments since the last: none, time echoed");
    tt_pb_free(dep);
}

static void phase_profile(peer_t *p)
{
    check(change_sign(p, 1, "hello from TT001") == 0, "sign change accepted");
    char sign[200];
    memset(sign, 's', 128);
    sign[128] = 0;
    check(change_sign(p, 1, sign) == 0, "a 128-byte signature is accepted");
    memset(sign, 's', 129);
    sign[129] = 0;
    check(change_sign(p, 1, sign) == 1, "a 129-byte signature is refused (result 1)");
    check(change_sign(p, 1, "\xc3\x28") == 1, "a signature that is not UTF-8 is refused");
    check(change_sign(p, 1, "it's \"quoted\"; DROP TABLE IMUser; -- 你好") == 0,
          "quotes and SQL in a signature are just text");
    check(change_sign(p, 999999, "x") == 1, "sign change of a missing user: result 1");
    check(change_avatar(p, 1, "http://127.0.0.1:8700/g0/000/000/a.png") == 0,
          "avatar change accepted");
    char url[300];
    memset(url, 'u', 256);
    url[256] = 0;
    check(change_avatar(p, 1, url) == 1, "a 256-byte avatar URL is refused (result 1)");
    IM__Buddy__IMAllUserRsp *all = all_users(p, 1700000101);
    const IM__BaseDefine__UserInfo *u1 = all ? find_user(all->user_list, all->n_user_list, 1)
                                             : NULL;
    check(all && all->n_user_list == 1 && u1 &&
              strcmp(u1->sign_info, "it's \"quoted\"; DROP TABLE IMUser; -- 你好") == 0 &&
              strcmp(u1->avatar_url, "http://127.0.0.1:8700/g0/000/000/a.png") == 0,
          "incremental sync returns just TT001, with the new signature and avatar (got %zu)",
          all ? all->n_user_list : 0);
    check(all && all->latest_update_time > 1700000101, "and a newer latest_update_time");
    tt_pb_free(all);

    int shield;
    check(shield_set(p, 1, 1, &shield) == 0 && shield == 1, "push shield on: result 0, status 1");
    check(shield_query(p, 1, &shield) == 0 && shield == 1, "query: result 0, status 1");
    check(shield_set(p, 1, 0, &shield) == 0 && shield == 0, "push shield off");
    check(shield_query(p, 1, &shield) == 0 && shield == 0, "query: status 0");
    check(shield_set(p, 1, 7, &shield) == 1 && shield == -1, "shield status 7: result 1");
    check(shield_query(p, 999999, &shield) == 1 && shield == -1, "query of a missing user: 1");
}

static void phase_push(peer_t *p)
{
    int ios = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS;
    int android = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID;
    check(device_token(p, 1, ios, "abc123") == 0, "device token of user 1 (iOS) set");
    check(device_token(p, 1, ios, "def456") == 0, "and replaced");
    check(device_token(p, 2, android, "tokA") == 0, "device token of user 2 (Android) set");
    check(device_token(p, 3, android, "tokA") == 0, "the same device now used by user 3");
    check(device_token(p, 4, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC, "pc-token") == 0,
          "a PC token is stored bare");
    check(device_token(p, 5, ios, "gone") == 0 && device_token(p, 5, ios, "") == 0,
          "user 5 sets and clears a token");
    uint32_t ids[] = {1, 2, 3, 4, 5, 6};
    IM__Server__IMGetDeviceTokenRsp *r = get_tokens(p, ids, 6);
    int ok1 = 0, ok3 = 0;
    for (size_t i = 0; r && i < r->n_user_token_info; i++) {
        IM__BaseDefine__UserTokenInfo *t = r->user_token_info[i];
        if (t->user_id == 1 && t->user_type == (IM__BaseDefine__ClientType)ios &&
            strcmp(t->token, "def456") == 0 && t->push_type == 1)
            ok1 = 1;
        if (t->user_id == 3 && t->user_type == (IM__BaseDefine__ClientType)android &&
            strcmp(t->token, "tokA") == 0 && t->push_count == 5)
            ok3 = 1;
    }
    check(r && r->n_user_token_info == 2 && ok1 && ok3,
          "device tokens: user 1 iOS def456, user 3 Android tokA with 5 unread; none for the "
          "user whose device changed hands, the PC or the cleared one (got %zu)",
          r ? r->n_user_token_info : 0);
    tt_pb_free(r);

    /* A token that spells another user's id does not touch that user's registration. */
    check(device_token(p, 34, ios, "feedface34") == 0 && device_token(p, 35, ios, "34") == 0,
          "user 34 registers a token, user 35 the token \"34\"");
    /* Keys of an original deployment (planted by the script): 11 registered, 12's device went
     * to 13, 15 registered the token "14" (which overwrote device_14), 16's original key is
     * hidden by a cleared new one. */
    uint32_t ids2[] = {34, 35, 11, 12, 13, 14, 15, 16};
    r = get_tokens(p, ids2, 8);
    const char *want[17] = {0};
    want[11] = "legacy11";
    want[13] = "stale12";
    want[15] = "14";
    int good = r != NULL, n34 = 0, n35 = 0;
    for (size_t i = 0; r && i < r->n_user_token_info; i++) {
        IM__BaseDefine__UserTokenInfo *t = r->user_token_info[i];
        if (t->user_id == 34)
            n34 += strcmp(t->token, "feedface34") == 0;
        else if (t->user_id == 35)
            n35 += strcmp(t->token, "34") == 0;
        else if (t->user_id > 16 || !want[t->user_id] || strcmp(t->token, want[t->user_id]))
            good = 0;
    }
    check(good && n34 == 1 && n35 == 1 && r->n_user_token_info == 5,
          "pushes go to 34's and 35's own tokens, and to the original keys that are still "
          "right: 11, 13 and 15 (got %zu)", r ? r->n_user_token_info : 0);
    tt_pb_free(r);
}

/* Do-not-disturb (IMUser.push_shield_status): during the quiet hours (22:00-07:59, the
 * db_proxy_server's local time) no token of a user who set it is answered, iOS or Android;
 * outside them, and always for the others, they are. quiet: what the caller made the
 * db_proxy_server's clock say. */
static void phase_dnd(peer_t *p, int quiet)
{
    int ios = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS;
    int android = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID;
    int shield;
    check(device_token(p, 40, ios, "dnd40") == 0 && device_token(p, 41, android, "dnd41") == 0 &&
              device_token(p, 42, ios, "dnd42") == 0,
          "tokens of users 40 (iOS), 41 (Android) and 42 (iOS) set");
    check(shield_set(p, 40, 1, &shield) == 0 && shield_set(p, 41, 1, &shield) == 0 &&
              shield_set(p, 42, 0, &shield) == 0,
          "do-not-disturb on for 40 and 41, off for 42");
    uint32_t ids[] = {40, 41, 42};
    IM__Server__IMGetDeviceTokenRsp *r = get_tokens(p, ids, 3);
    int seen[3] = {0, 0, 0};
    for (size_t i = 0; r && i < r->n_user_token_info; i++) {
        uint32_t u = r->user_token_info[i]->user_id;
        if (u >= 40 && u <= 42)
            seen[u - 40]++;
    }
    if (quiet)
        check(r && r->n_user_token_info == 1 && seen[2] == 1,
              "quiet hours: only 42's token (40's iOS and 41's Android are silenced; got %zu)",
              r ? r->n_user_token_info : 0);
    else
        check(r && r->n_user_token_info == 3 && seen[0] == 1 && seen[1] == 1 && seen[2] == 1,
              "outside the quiet hours: all three tokens (got %zu)",
              r ? r->n_user_token_info : 0);
    tt_pb_free(r);
}

/* Several requests sent at once come back in the order sent. */
static void phase_pipeline(peer_t *p)
{
    enum { N = 40 };
    uint16_t first = (uint16_t)(p->seq + 1);
    for (int i = 0; i < N; i++) {
        char sign[32];
        snprintf(sign, sizeof(sign), "sign %d", i);
        IM__Buddy__IMChangeSignInfoReq q = IM__BUDDY__IMCHANGE_SIGN_INFO_REQ__INIT;
        q.user_id = 7;
        q.sign_info = sign;
        IM__Buddy__IMUsersInfoReq u = IM__BUDDY__IMUSERS_INFO_REQ__INIT;
        uint32_t id = 7;
        u.user_id = 7;
        u.n_user_id_list = 1;
        u.user_id_list = &id;
        if (i % 2)
            send_msg(p, SID_BUDDY, BUDDY(CHANGE_SIGN_INFO_REQUEST), ++p->seq, &q.base);
        else
            send_msg(p, SID_BUDDY, BUDDY(USER_INFO_REQUEST), ++p->seq, &u.base);
    }
    int in_order = 1;
    for (int i = 0; i < N; i++) {
        uint16_t cid, seq;
        uint8_t *body;
        size_t len;
        if (recv_frame(p, T, &cid, &seq, &body, &len) < 0) {
            in_order = 0;
            break;
        }
        free(body);
        uint16_t want = i % 2 ? BUDDY(CHANGE_SIGN_INFO_RESPONSE) : BUDDY(USER_INFO_RESPONSE);
        if (seq != (uint16_t)(first + i) || cid != want)
            in_order = 0;
    }
    check(in_order, "%d pipelined requests are answered in the order sent", N);
    uint32_t id = 7;
    IM__Buddy__IMUsersInfoRsp *info = users_info(p, &id, 1);
    check(info && info->n_user_info_list == 1 &&
              strcmp(info->user_info_list[0]->sign_info, "sign 39") == 0,
          "and the last signature change won");
    tt_pb_free(info);

    /* an unknown command and a body that does not parse get no answer; the next does */
    send_raw(p, SID_OTHER, 0x0799, ++p->seq, (const uint8_t *)"\x08\x01", 2);
    send_raw(p, SID_OTHER, OTHER(VALIDATE_REQ), ++p->seq, (const uint8_t *)"\xff\xff\xff", 3);
    send_raw(p, SID_BUDDY, BUDDY(ALL_USER_REQUEST), ++p->seq, NULL, 0); /* required fields */
    IM__Buddy__IMDepartmentRsp *dep = departments(p, 1700000005);
    check(dep != NULL, "unknown commands and bad bodies are dropped without an answer");
    tt_pb_free(dep);
}

/* More requests at once than MaxPendingRequests (16 on this db_proxy_server): the ones that
 * do not fit are not answered with errors but read later (the peer's reading is paused until
 * the queue drains), so every one gets its real answer, in the order sent. */
static void phase_queuefull(peer_t *p)
{
    enum { N = 300 };
    uint16_t first = (uint16_t)(p->seq + 1);
    uint32_t id = 7;
    IM__Buddy__IMUsersInfoReq u = IM__BUDDY__IMUSERS_INFO_REQ__INIT;
    u.user_id = 7;
    u.n_user_id_list = 1;
    u.user_id_list = &id;
    for (int i = 0; i < N; i++)
        send_msg(p, SID_BUDDY, BUDDY(USER_INFO_REQUEST), ++p->seq, &u.base);
    int in_order = 1, real = 0;
    for (int i = 0; i < N; i++) {
        uint16_t cid, seq;
        uint8_t *body;
        size_t len;
        if (recv_frame(p, T, &cid, &seq, &body, &len) < 0) {
            in_order = 0;
            break;
        }
        IM__Buddy__IMUsersInfoRsp *r = (IM__Buddy__IMUsersInfoRsp *)protobuf_c_message_unpack(
            &im__buddy__imusers_info_rsp__descriptor, NULL, len, body);
        free(body);
        if (seq != (uint16_t)(first + i) || cid != BUDDY(USER_INFO_RESPONSE))
            in_order = 0;
        if (r && r->n_user_info_list == 1)
            real++;
        tt_pb_free(r);
    }
    check(in_order && real == N,
          "%d requests at once with MaxPendingRequests 16: %d answered for real (no error "
          "answers), in the order sent",
          N, real);
}

/* ---- messages stored in batches ---- */

#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define MSG_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define BATCH_N 300   /* requests sent at once: they wait together on the lane */
#define BATCH_DUP 11  /* request BATCH_DUP repeats request BATCH_DUP - 1 */

/* Request k of the batch phase: conversations (1001 <-> 1002 both ways, 1003 -> 1004) in
 * turn, every 50th a voice message from 1005 to 1006; its client msg_id is k + 1. */
typedef struct bmsg_s {
    uint32_t from, to, client_id, type;
    char text[48];
    uint8_t voice[4 + 300];
    uint8_t attach[12];
} bmsg_t;

static void batch_msg(int k, bmsg_t *m)
{
    static const uint32_t conv[3][2] = {{1001, 1002}, {1002, 1001}, {1003, 1004}};
    if (k == BATCH_DUP)
        k = BATCH_DUP - 1;
    memset(m, 0, sizeof(*m));
    m->client_id = (uint32_t)k + 1;
    m->type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    m->from = conv[k % 3][0];
    m->to = conv[k % 3][1];
    if (k % 50 == 49) {
        m->from = 1005;
        m->to = 1006;
        m->type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO;
        tt_put32(m->voice, 3);
        for (size_t i = 4; i < sizeof(m->voice); i++)
            m->voice[i] = (uint8_t)(i * 7 + (size_t)k);
    }
    snprintf(m->text, sizeof(m->text), "batch message %d", k);
    for (size_t i = 0; i < sizeof(m->attach); i++)
        m->attach[i] = (uint8_t)(k + (int)i);
}

static int batch_send(peer_t *p, int k, uint16_t seq)
{
    bmsg_t m;
    batch_msg(k, &m);
    int voice = m.type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO;
    IM__Message__IMMsgData q =
        msg_data(m.from, m.to, m.client_id, m.type, voice ? (const void *)m.voice : m.text,
                 voice ? sizeof(m.voice) : strlen(m.text), m.attach, sizeof(m.attach));
    return send_msg(p, SID_MSG, MSG_DATA, seq, &q.base);
}

/* The answer to request k: its msg_id (0: none or wrong) and whether it carries the
 * duplicate mark (the request's 12 attach bytes + BE32(4) "DUPE"). */
static uint32_t batch_answer(peer_t *p, int k, uint16_t seq, int *dupe)
{
    uint16_t cid, got;
    uint8_t *body;
    size_t len;
    *dupe = -1;
    if (recv_frame(p, T, &cid, &got, &body, &len) < 0)
        return 0;
    IM__Message__IMMsgData *a =
        (IM__Message__IMMsgData *)tt_pb_unpack(&im__message__immsg_data__descriptor, body, len);
    free(body);
    bmsg_t m;
    batch_msg(k, &m);
    uint32_t id = 0;
    if (a && cid == MSG_DATA && got == seq && a->from_user_id == m.from &&
        a->to_session_id == m.to && a->has_attach_data && a->attach_data.len >= 12 &&
        memcmp(a->attach_data.data, m.attach, 12) == 0) {
        id = a->msg_id;
        if (a->attach_data.len == 12)
            *dupe = 0;
        else if (a->attach_data.len == 20 && memcmp(a->attach_data.data + 12,
                                                     "\0\0\0\4DUPE", 8) == 0)
            *dupe = 1;
    }
    tt_pb_free(a);
    return id;
}

/* it_dbproxy PORT batch: BATCH_N messages sent at once and answered in order: ids 1..N per
 * conversation in the order sent (both directions share one), the repeated request answered
 * with the first one's id and the duplicate mark.
 * it_dbproxy PORT batchagain: the same BATCH_N sent again at once, all resends: each answered
 * with the id it got the first time (the batch finds its resend keys taken, undoes itself and
 * looks them up). */
static void phase_batch(peer_t *p, int again)
{
    uint16_t first = (uint16_t)(p->seq + 1);
    for (int k = 0; k < BATCH_N; k++)
        batch_send(p, k, ++p->seq);
    uint32_t next[3] = {1, 1, 1}, ids[BATCH_N];
    int order_ok = 1, answered = 0, dupe_ok = 0, marks = 0;
    for (int k = 0; k < BATCH_N; k++) {
        int dupe;
        ids[k] = batch_answer(p, k, (uint16_t)(first + k), &dupe);
        answered += ids[k] != 0 && dupe >= 0;
        bmsg_t m;
        batch_msg(k, &m);
        int c = m.from == 1005 ? 2 : m.from == 1003 ? 1 : 0;
        if (k == BATCH_DUP) {
            dupe_ok = dupe == 1 && ids[k] == ids[k - 1];
            continue;
        }
        marks += dupe == 1;
        if (ids[k] != next[c]++)
            order_ok = 0;
    }
    check(answered == BATCH_N, "%d pipelined messages all answered in order with their attach "
          "data (%d)", BATCH_N, answered);
    check(order_ok, "ids go 1, 2, 3 ... per conversation in the order sent, both directions "
          "sharing one%s", again ? ": the first time's ids" : "");
    check(dupe_ok, "a message repeated right behind itself is answered with the first id and "
          "the duplicate mark");
    if (!again)
        check(marks == 0, "no other answer carries the mark (%d)", marks);
}

/* ---- it_dbproxy PORT spray N FIRST U1 U2 ... ---- */

#define SPRAY_MAX 1000
#define SPRAY_PAIRS 8

/* Message k of a spray over np pairs: its pair, sender and receiver. */
static void spray_msg(const uint32_t *u, int np, int k, int *pair, uint32_t *from, uint32_t *to)
{
    *pair = k % np;
    int back = (k / np) % 2;
    *from = u[2 * *pair + back];
    *to = u[2 * *pair + 1 - back];
}

static void phase_spray(peer_t *p, int n, uint32_t first, const uint32_t *u, int np)
{
    uint32_t tag = (uint32_t)getpid() << 12 ^ (uint32_t)time(NULL); /* texts of this run */
    uint16_t seq0 = (uint16_t)(p->seq + 1);
    for (int k = 0; k < n; k++) {
        int pair;
        uint32_t from, to;
        spray_msg(u, np, k, &pair, &from, &to);
        char text[64];
        snprintf(text, sizeof(text), "spray %u %d", (unsigned)tag, k);
        uint8_t attach[12];
        tt_put32(attach, (uint32_t)k);
        tt_put32(attach + 4, tag);
        tt_put32(attach + 8, 0);
        /* a client id: a resend key, as with the batch phase */
        IM__Message__IMMsgData q =
            msg_data(from, to, tag + (uint32_t)k, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT,
                     text, strlen(text), attach, sizeof(attach));
        send_msg(p, SID_MSG, MSG_DATA, ++p->seq, &q.base);
    }
    uint32_t last[SPRAY_PAIRS] = {0};
    int answered = 0, order_ok = 1, first_ok = 1;
    for (int k = 0; k < n; k++) {
        uint16_t cid, got;
        uint8_t *body;
        size_t len;
        if (recv_frame(p, T, &cid, &got, &body, &len) < 0)
            break;
        IM__Message__IMMsgData *a = (IM__Message__IMMsgData *)tt_pb_unpack(
            &im__message__immsg_data__descriptor, body, len);
        free(body);
        int pair;
        uint32_t from, to;
        spray_msg(u, np, k, &pair, &from, &to);
        if (a && cid == MSG_DATA && got == (uint16_t)(seq0 + k) && a->from_user_id == from &&
            a->to_session_id == to && a->msg_id != 0 && a->has_attach_data &&
            a->attach_data.len == 12 && tt_get32(a->attach_data.data) == (uint32_t)k) {
            answered++;
            if (last[pair] == 0 && first && a->msg_id != first)
                first_ok = 0;
            if (last[pair] != 0 && a->msg_id != last[pair] + 1 && first)
                order_ok = 0; /* alone on its pairs: no other writer's ids in between */
            if (last[pair] != 0 && a->msg_id <= last[pair])
                order_ok = 0;
            last[pair] = a->msg_id;
        }
        tt_pb_free(a);
    }
    check(answered == n, "%d messages over %d pair(s) all answered, new, in order (%d)", n, np,
          answered);
    check(order_ok, "ids go up per pair in the order sent%s", first ? ", by one" : "");
    if (first)
        check(first_ok, "every pair's first id is %u", (unsigned)first);
}

/* it_dbproxy PORT batchresend: after the answered marks of user 1003 were deleted from Redis
 * (as if db_proxy had stopped between its commit and its answer): its resent messages are
 * answered with their first id and WITHOUT the mark (msg_server then delivers them); the
 * resends of 1001, whose marks are there, with the mark.
 * it_dbproxy PORT batchnoredis: the same resends with Redis down: every one marked (whether the
 * first copy was answered cannot be known, and a message is never delivered twice). */
static void phase_batch_resend(peer_t *p, int no_redis)
{
    static const int again[] = {2, 5, 8, 0, 3, BATCH_DUP, 1};
    static const uint32_t want[] = {1, 2, 3, 1, 3, 8, 2}; /* ids from phase_batch */
    static const int want_mark[] = {0, 0, 0, 1, 1, 1, 1};
    int ok = 0;
    for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
        uint16_t seq = ++p->seq;
        batch_send(p, again[i], seq);
        int dupe, mark = no_redis ? 1 : want_mark[i];
        uint32_t id = batch_answer(p, again[i], seq, &dupe);
        if (id == want[i] && dupe == mark)
            ok++;
        else
            check(0, "resend of request %d: id %u mark %d, want %u mark %d", again[i], id, dupe,
                  want[i], mark);
    }
    check(ok == (int)(sizeof(again) / sizeof(again[0])), "resends: first ids; %s",
          no_redis ? "all marked" : "the mark only where the first copy was answered");
}

static void phase_main(peer_t *p)
{
    phase_logins(p);
    phase_company(p);
    phase_profile(p);
    phase_push(p);
    phase_pipeline(p);
}

/* MariaDB was killed (SIGKILL, Redis still up): every login is answered 2 within a few
 * seconds, not left unanswered, and requests that need only Redis are still served. */
static void phase_dbkilled(peer_t *p)
{
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = now_ms();
        IM__Server__IMValidateRsp *r = validate(p, "TT021", md5hex("test123"), 10000);
        uint64_t took = now_ms() - t0;
        check(r && r->result_code == 2 && took < 3000,
              "MariaDB killed: validate #%d answered 2 in %llu ms (got %d)", i + 1,
              (unsigned long long)took, r ? (int)r->result_code : -1);
        tt_pb_free(r);
    }
    IM__Buddy__IMAllUserRsp *all = all_users(p, 4321);
    check(all && all->n_user_list == 0 && all->latest_update_time == 4321,
          "all users: empty list, time echoed");
    tt_pb_free(all);
    int shield;
    check(shield_query(p, 1, &shield) == 1, "query push shield: result 1");
    check(device_token(p, 8, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID, "killed8") == 0,
          "device token (Redis only): answered");
    uint32_t id = 8;
    IM__Server__IMGetDeviceTokenRsp *t = get_tokens(p, &id, 1);
    check(t && t->n_user_token_info == 1 && strcmp(t->user_token_info[0]->token, "killed8") == 0,
          "and found again: Redis is used while MariaDB is away");
    tt_pb_free(t);
}

static void phase_dbdown(peer_t *p)
{
    uint64_t t0 = now_ms();
    IM__Server__IMValidateRsp *r = validate(p, "TT020", md5hex("test123"), 10000);
    uint64_t took = now_ms() - t0;
    check(r && r->result_code == 2 && r->result_string &&
              strcmp(r->result_string, "服务端内部错误") == 0,
          "MariaDB down: validate answered 2 \"服务端内部错误\" in %llu ms (got %d)",
          (unsigned long long)took, r ? (int)r->result_code : -1);
    tt_pb_free(r);
    int all2 = 1;
    for (int i = 0; i < 12; i++)
        all2 &= login_code(p, "TT020", "test123") == 2;
    check(all2, "every attempt answered 2 (and none counts as a failed login)");
    IM__Buddy__IMAllUserRsp *all = all_users(p, 1234);
    check(all && all->n_user_list == 0 && all->latest_update_time == 1234,
          "all users: empty list, time echoed");
    tt_pb_free(all);
    IM__Buddy__IMDepartmentRsp *dep = departments(p, 77);
    check(dep && dep->n_dept_list == 0 && dep->latest_update_time == 77,
          "departments: empty list, time echoed");
    tt_pb_free(dep);
    uint32_t ids[] = {1, 2};
    IM__Buddy__IMUsersInfoRsp *info = users_info(p, ids, 2);
    check(info && info->n_user_info_list == 0, "users info: empty list");
    tt_pb_free(info);
    check(change_sign(p, 1, "x") == 1, "sign change: result 1");
    check(change_avatar(p, 1, "http://x/y.png") == 1, "avatar change: result 1");
    int shield;
    check(shield_set(p, 1, 1, &shield) == 1, "push shield: result 1");
    check(shield_query(p, 1, &shield) == 1, "query push shield: result 1");
    check(device_token(p, 1, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS, "zzz") == 0,
          "device token (Redis down): answered");
    IM__Server__IMGetDeviceTokenRsp *t = get_tokens(p, ids, 2);
    check(t && t->n_user_token_info == 0, "device tokens: empty list");
    tt_pb_free(t);
}

static void phase_dbback(peer_t *p)
{
    uint64_t deadline = now_ms() + 30000;
    int code = -1;
    while (now_ms() < deadline) {
        code = login_code(p, "TT020", "test123");
        if (code == 0)
            break;
        usleep(200 * 1000);
    }
    check(code == 0, "MariaDB back: TT020 logs in again (not locked out by the errors)");
    IM__Buddy__IMAllUserRsp *all = NULL;
    for (int i = 0; i < 50; i++) {
        all = all_users(p, 0);
        if (all && all->n_user_list > 0)
            break;
        tt_pb_free(all);
        all = NULL;
        usleep(200 * 1000);
    }
    check(all && all->n_user_list >= 99, "and the user list is served again");
    tt_pb_free(all);
    int ok = -1;
    for (int i = 0; i < 50 && ok != 0; i++) {
        ok = device_token(p, 9, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS, "back9");
        uint32_t id = 9;
        IM__Server__IMGetDeviceTokenRsp *t = get_tokens(p, &id, 1);
        ok = t && t->n_user_token_info == 1 ? 0 : -1;
        tt_pb_free(t);
        if (ok != 0)
            usleep(200 * 1000);
    }
    check(ok == 0, "and Redis: a device token is stored and found again");
}

/* More requests at once than MaxPendingRequests: the overflow gets error answers (2), and
 * every answer still comes back in request order. */
static void phase_flood(peer_t *p)
{
    enum { N = 200 };
    uint16_t first = (uint16_t)(p->seq + 1);
    IM__Server__IMValidateReq q = IM__SERVER__IMVALIDATE_REQ__INIT;
    q.user_name = "TT030";
    q.password = md5hex("test123");
    for (int i = 0; i < N; i++)
        send_msg(p, SID_OTHER, OTHER(VALIDATE_REQ), ++p->seq, &q.base);
    /* logins run on their own threads, in no order: each answer finds its request by seq */
    int once = 1, ok = 0, busy = 0;
    unsigned char seen[N] = {0};
    for (int i = 0; i < N; i++) {
        uint16_t cid, seq;
        uint8_t *body;
        size_t len;
        if (recv_frame(p, 20000, &cid, &seq, &body, &len) < 0) {
            once = 0;
            break;
        }
        IM__Server__IMValidateRsp *r = (IM__Server__IMValidateRsp *)protobuf_c_message_unpack(
            &im__server__imvalidate_rsp__descriptor, NULL, len, body);
        free(body);
        uint16_t k = (uint16_t)(seq - first);
        if (!r || cid != OTHER(VALIDATE_RSP) || k >= N || seen[k]++)
            once = 0;
        if (r && r->result_code == 0)
            ok++;
        else if (r && r->result_code == 3)
            busy++;
        tt_pb_free(r);
    }
    check(once && ok >= 16 && busy > 0 && ok + busy == N,
          "%d validations at once with LoginQueueMax 16: %d answered, %d refused as busy "
          "(3), each request answered once",
          N, ok, busy);
    check(login_code(p, "TT030", "test123") == 0, "and the next one is served again");
}

/* Requests in flight when db_proxy_server is told to stop are answered (result 0, or 2 when
 * they arrived after the stop began), and the peer is told IMStopReceivePacket. */
static void phase_stopwait(peer_t *p)
{
    enum { N = 20 };
    IM__Server__IMValidateReq q = IM__SERVER__IMVALIDATE_REQ__INIT;
    q.user_name = "TT031";
    q.password = md5hex("test123");
    /* One answered first: the connection is up at db_proxy_server (past the daemon handshake)
     * before the 20 are sent and the stop comes. */
    send_msg(p, SID_OTHER, OTHER(VALIDATE_REQ), ++p->seq, &q.base);
    uint16_t wcid = 0, wseq;
    uint8_t *wbody = NULL;
    size_t wlen = 0;
    while (recv_frame(p, 15000, &wcid, &wseq, &wbody, &wlen) == 0 && wcid != OTHER(VALIDATE_RSP)) {
        free(wbody);
        wbody = NULL;
    }
    free(wbody);
    uint16_t first = (uint16_t)(p->seq + 1);
    for (int i = 0; i < N; i++)
        send_msg(p, SID_OTHER, OTHER(VALIDATE_REQ), ++p->seq, &q.base);
    printf("ready\n");
    fflush(stdout);
    uint16_t cid = 0, seq;
    uint8_t *body = NULL;
    size_t len = 0;
    int stop = 0, answers = 0, in_order = 1;
    while ((!stop || answers < N) && recv_frame(p, 15000, &cid, &seq, &body, &len) == 0) {
        if (cid == OTHER(STOP_RECV_PACKET)) {
            IM__Server__IMStopReceivePacket *m = (IM__Server__IMStopReceivePacket *)
                protobuf_c_message_unpack(&im__server__imstop_receive_packet__descriptor, NULL,
                                          len, body);
            stop = m && m->result == 0 && seq == 0;
            tt_pb_free(m);
        } else if (cid == OTHER(VALIDATE_RSP)) {
            IM__Server__IMValidateRsp *r = (IM__Server__IMValidateRsp *)protobuf_c_message_unpack(
                &im__server__imvalidate_rsp__descriptor, NULL, len, body);
            uint16_t k = (uint16_t)(seq - first); /* logins: in no particular order */
            if (!r || k >= N || (r->result_code != 0 && r->result_code != 2))
                in_order = 0;
            answers++;
            tt_pb_free(r);
        }
        free(body);
    }
    check(stop, "db_proxy_server says IMStopReceivePacket (result 0, seq 0) when it stops");
    check(answers == N && in_order, "the %d requests in flight were all answered (%d)", N,
          answers);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: it_dbproxy PORT legacy|main|dbkilled|dbdown|dbback|batch|"
                        "batchresend|batchagain|\n"
                        "       batchnoredis|flood|stopwait\n"
                        "       it_dbproxy PORT spray N FIRST U1 U2 [U3 U4 ...]\n"
                        "       it_dbproxy PORT login NAME PLAIN CODE\n"
                        "       it_dbproxy PORT sync SINCE NAME STATUS\n");
        return 2;
    }
    srand((unsigned)time(NULL));
    peer_t p;
    if (peer_open(&p, (uint16_t)atoi(argv[1])) < 0)
        return 1;
    const char *phase = argv[2];
    if (strcmp(phase, "legacy") == 0) {
        phase_legacy(&p);
    } else if (strcmp(phase, "main") == 0) {
        phase_main(&p);
    } else if (strcmp(phase, "dnd") == 0 || strcmp(phase, "dndquiet") == 0) {
        phase_dnd(&p, strcmp(phase, "dndquiet") == 0);
    } else if (strcmp(phase, "dbkilled") == 0) {
        phase_dbkilled(&p);
    } else if (strcmp(phase, "dbdown") == 0) {
        phase_dbdown(&p);
    } else if (strcmp(phase, "dbback") == 0) {
        phase_dbback(&p);
    } else if (strcmp(phase, "batch") == 0) {
        phase_batch(&p, 0);
    } else if (strcmp(phase, "batchagain") == 0) {
        phase_batch(&p, 1);
    } else if (strcmp(phase, "batchresend") == 0) {
        phase_batch_resend(&p, 0);
    } else if (strcmp(phase, "batchnoredis") == 0) {
        phase_batch_resend(&p, 1);
    } else if (strcmp(phase, "spray") == 0 && argc >= 7 && argc % 2 == 1 &&
               (argc - 5) / 2 <= SPRAY_PAIRS && atoi(argv[3]) > 0 &&
               atoi(argv[3]) <= SPRAY_MAX) {
        uint32_t u[2 * SPRAY_PAIRS];
        for (int i = 5; i < argc; i++)
            u[i - 5] = (uint32_t)strtoul(argv[i], NULL, 10);
        phase_spray(&p, atoi(argv[3]), (uint32_t)strtoul(argv[4], NULL, 10), u, (argc - 5) / 2);
    } else if (strcmp(phase, "queuefull") == 0) {
        phase_queuefull(&p);
    } else if (strcmp(phase, "flood") == 0) {
        phase_flood(&p);
    } else if (strcmp(phase, "stopwait") == 0) {
        phase_stopwait(&p);
    } else if (strcmp(phase, "login") == 0 && argc >= 6) {
        int code = login_code(&p, argv[3], argv[4]);
        check(code == atoi(argv[5]), "login of %s: result %d (want %s)", argv[3], code, argv[5]);
    } else if (strcmp(phase, "sync") == 0 && argc >= 6) {
        IM__Buddy__IMAllUserRsp *all = all_users(&p, (uint32_t)strtoul(argv[3], NULL, 10));
        int found = 0;
        for (size_t i = 0; all && i < all->n_user_list; i++)
            if (strcmp(all->user_list[i]->user_real_name, argv[4]) == 0 &&
                all->user_list[i]->status == (uint32_t)atoi(argv[5]))
                found = 1;
        check(found, "incremental sync since %s has %s with status %s", argv[3], argv[4],
              argv[5]);
        tt_pb_free(all);
    } else {
        fprintf(stderr, "unknown phase %s\n", phase);
        peer_close(&p);
        return 2;
    }
    peer_close(&p);
    printf("%s: %d failure(s)\n", phase, failures);
    return failures ? 1 : 0;
}
