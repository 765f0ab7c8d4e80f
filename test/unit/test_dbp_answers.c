/* db_proxy_server's command table and error answers (what peers get when MariaDB or Redis
 * failed, the queue is full or the daemon stops): one row per command, each error answer a
 * whole frame with the answer command, the request's seq_num, every required field (it parses),
 * attach_data echoed, and the documented content (validate: 2; results: 1; lists: empty with
 * latest_update_time echoed). Plus the string checks handlers use on client input. */
#include <stdlib.h>
#include <string.h>

#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Server.pb-c.h"
#include "TT.Admin.pb-c.h"
#include "db_proxy.h"
#include "tt_admin.h"
#include "tt_test.h"

static const uint8_t ATTACH[] = {0, 1, 2, 0xff, 'x'};
#define ATTACH_SET(m)                                                                          \
    do {                                                                                       \
        (m).has_attach_data = 1;                                                               \
        (m).attach_data.len = sizeof(ATTACH);                                                  \
        (m).attach_data.data = (uint8_t *)ATTACH;                                              \
    } while (0)

/* Runs the error answer of command cid for req; returns the unpacked answer (checked frame). */
static ProtobufCMessage *fail_answer(uint16_t cid, const ProtobufCMessage *req,
                                     const ProtobufCMessageDescriptor *rsp_desc, uint16_t rsp_cid)
{
    const dbp_cmd_t *cmd = dbp_cmd_find(cid);
    assert_non_null(cmd);
    assert_int_equal(cmd->rsp_cid, rsp_cid);
    /* the request goes through the wire format, as on a worker */
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *body = malloc(len + 1);
    protobuf_c_message_pack(req, body);
    ProtobufCMessage *m = tt_pb_unpack(cmd->req, body, len);
    assert_non_null(m);
    dbp_ctx_t x = {NULL, cmd, 0xbeef, "test", NULL, 0};
    (cmd->fail)(&x, m); /* parenthesised: cmocka has a fail() macro */
    tt_pb_free(m);
    free(body);
    assert_non_null(x.frame);
    tt_pdu_t pdu;
    char err[128];
    assert_int_equal(tt_pdu_parse(x.frame, x.frame_len, 1u << 20, &pdu, err, sizeof(err)), TT_OK);
    assert_int_equal(pdu.length, x.frame_len);
    assert_int_equal(pdu.command_id, rsp_cid);
    assert_int_equal(pdu.service_id, cmd->rsp_sid);
    assert_int_equal(pdu.service_id, rsp_cid >> 8);
    assert_int_equal(pdu.seq_num, 0xbeef);
    ProtobufCMessage *rsp = tt_pb_unpack(rsp_desc, pdu.body, pdu.body_len);
    assert_non_null(rsp); /* every required field is there */
    free(x.frame);
    return rsp;
}

static void assert_attach(protobuf_c_boolean has, ProtobufCBinaryData a)
{
    assert_true(has);
    assert_int_equal(a.len, sizeof(ATTACH));
    assert_memory_equal(a.data, ATTACH, sizeof(ATTACH));
}

static void test_validate(void **state)
{
    (void)state;
    IM__Server__IMValidateReq q = IM__SERVER__IMVALIDATE_REQ__INIT;
    q.user_name = "TT001";
    q.password = "e10adc3949ba59abbe56e057f20f883e";
    ATTACH_SET(q);
    IM__Server__IMValidateRsp *r = (IM__Server__IMValidateRsp *)fail_answer(
        IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_REQ, &q.base,
        &im__server__imvalidate_rsp__descriptor,
        IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_RSP);
    assert_string_equal(r->user_name, "TT001");
    assert_int_equal(r->result_code, 2);
    assert_string_equal(r->result_string, "服务端内部错误");
    assert_null(r->user_info);
    assert_attach(r->has_attach_data, r->attach_data);
    tt_pb_free(r);
}

static void test_lists(void **state)
{
    (void)state;
    IM__Buddy__IMAllUserReq a = IM__BUDDY__IMALL_USER_REQ__INIT;
    a.user_id = 7;
    a.latest_update_time = 1234;
    ATTACH_SET(a);
    IM__Buddy__IMAllUserRsp *ar = (IM__Buddy__IMAllUserRsp *)fail_answer(
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_REQUEST, &a.base,
        &im__buddy__imall_user_rsp__descriptor,
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_RESPONSE);
    assert_int_equal(ar->user_id, 7);
    assert_int_equal(ar->latest_update_time, 1234);
    assert_int_equal(ar->n_user_list, 0);
    assert_attach(ar->has_attach_data, ar->attach_data);
    tt_pb_free(ar);

    IM__Buddy__IMDepartmentReq d = IM__BUDDY__IMDEPARTMENT_REQ__INIT;
    d.user_id = 7;
    d.latest_update_time = 99;
    ATTACH_SET(d);
    IM__Buddy__IMDepartmentRsp *dr = (IM__Buddy__IMDepartmentRsp *)fail_answer(
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_REQUEST, &d.base,
        &im__buddy__imdepartment_rsp__descriptor,
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_RESPONSE);
    assert_int_equal(dr->latest_update_time, 99);
    assert_int_equal(dr->n_dept_list, 0);
    assert_attach(dr->has_attach_data, dr->attach_data);
    tt_pb_free(dr);

    uint32_t ids[] = {1, 2, 3};
    IM__Buddy__IMUsersInfoReq u = IM__BUDDY__IMUSERS_INFO_REQ__INIT;
    u.user_id = 7;
    u.n_user_id_list = 3;
    u.user_id_list = ids;
    ATTACH_SET(u);
    IM__Buddy__IMUsersInfoRsp *ur = (IM__Buddy__IMUsersInfoRsp *)fail_answer(
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_REQUEST, &u.base,
        &im__buddy__imusers_info_rsp__descriptor,
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_RESPONSE);
    assert_int_equal(ur->user_id, 7);
    assert_int_equal(ur->n_user_info_list, 0);
    assert_attach(ur->has_attach_data, ur->attach_data);
    tt_pb_free(ur);

    IM__Server__IMGetDeviceTokenReq t = IM__SERVER__IMGET_DEVICE_TOKEN_REQ__INIT;
    t.n_user_id = 3;
    t.user_id = ids;
    ATTACH_SET(t);
    IM__Server__IMGetDeviceTokenRsp *tr = (IM__Server__IMGetDeviceTokenRsp *)fail_answer(
        IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_GET_DEVICE_TOKEN_REQ, &t.base,
        &im__server__imget_device_token_rsp__descriptor,
        IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_GET_DEVICE_TOKEN_RSP);
    assert_int_equal(tr->n_user_token_info, 0);
    assert_attach(tr->has_attach_data, tr->attach_data);
    tt_pb_free(tr);
}

static void test_results(void **state)
{
    (void)state;
    IM__Buddy__IMChangeAvatarReq av = IM__BUDDY__IMCHANGE_AVATAR_REQ__INIT;
    av.user_id = 5;
    av.avatar_url = "http://x/y.png";
    ATTACH_SET(av);
    IM__Buddy__IMChangeAvatarRsp *avr = (IM__Buddy__IMChangeAvatarRsp *)fail_answer(
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, &av.base,
        &im__buddy__imchange_avatar_rsp__descriptor,
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE);
    assert_int_equal(avr->user_id, 5);
    assert_int_equal(avr->result_code, 1);
    assert_attach(avr->has_attach_data, avr->attach_data);
    tt_pb_free(avr);

    IM__Buddy__IMChangeSignInfoReq sg = IM__BUDDY__IMCHANGE_SIGN_INFO_REQ__INIT;
    sg.user_id = 5;
    sg.sign_info = "hi";
    ATTACH_SET(sg);
    IM__Buddy__IMChangeSignInfoRsp *sgr = (IM__Buddy__IMChangeSignInfoRsp *)fail_answer(
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, &sg.base,
        &im__buddy__imchange_sign_info_rsp__descriptor,
        IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE);
    assert_int_equal(sgr->user_id, 5);
    assert_int_equal(sgr->result_code, 1);
    assert_attach(sgr->has_attach_data, sgr->attach_data);
    tt_pb_free(sgr);

    IM__Login__IMPushShieldReq ps = IM__LOGIN__IMPUSH_SHIELD_REQ__INIT;
    ps.user_id = 5;
    ps.shield_status = 1;
    ATTACH_SET(ps);
    IM__Login__IMPushShieldRsp *psr = (IM__Login__IMPushShieldRsp *)fail_answer(
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_PUSH_SHIELD, &ps.base,
        &im__login__impush_shield_rsp__descriptor,
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_PUSH_SHIELD);
    assert_int_equal(psr->user_id, 5);
    assert_int_equal(psr->result_code, 1);
    assert_false(psr->has_shield_status);
    assert_attach(psr->has_attach_data, psr->attach_data);
    tt_pb_free(psr);

    IM__Login__IMQueryPushShieldReq qs = IM__LOGIN__IMQUERY_PUSH_SHIELD_REQ__INIT;
    qs.user_id = 5;
    ATTACH_SET(qs);
    IM__Login__IMQueryPushShieldRsp *qsr = (IM__Login__IMQueryPushShieldRsp *)fail_answer(
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_QUERY_PUSH_SHIELD, &qs.base,
        &im__login__imquery_push_shield_rsp__descriptor,
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_QUERY_PUSH_SHIELD);
    assert_int_equal(qsr->result_code, 1);
    assert_false(qsr->has_shield_status);
    assert_attach(qsr->has_attach_data, qsr->attach_data);
    tt_pb_free(qsr);

    IM__Login__IMDeviceTokenReq dt = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
    dt.user_id = 5;
    dt.device_token = "abc";
    ATTACH_SET(dt);
    IM__Login__IMDeviceTokenRsp *dtr = (IM__Login__IMDeviceTokenRsp *)fail_answer(
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_DEVICETOKEN, &dt.base,
        &im__login__imdevice_token_rsp__descriptor,
        IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_DEVICETOKEN);
    assert_int_equal(dtr->user_id, 5); /* the required field the original forgot */
    assert_attach(dtr->has_attach_data, dtr->attach_data);
    tt_pb_free(dtr);
}

static void test_table(void **state)
{
    (void)state;
    const dbp_cmd_t *groups[] = {dbp_login_cmds, dbp_buddy_cmds, dbp_push_cmds, dbp_group_cmds};
    size_t counts[] = {dbp_login_ncmds, dbp_buddy_ncmds, dbp_push_ncmds, dbp_group_ncmds};
    size_t total = 0;
    for (size_t g = 0; g < 4; g++)
        for (size_t i = 0; i < counts[g]; i++) {
            const dbp_cmd_t *c = &groups[g][i];
            assert_ptr_equal(dbp_cmd_find(c->command_id), c); /* ids are unique */
            assert_non_null(c->run);
            assert_non_null((c->fail));
            assert_non_null(c->req);
            total++;
        }
    assert_int_equal(total, 17); /* group: the dissolve command (base/tt_group_admin.h) too */
    assert_null(dbp_cmd_find(0x0701)); /* heartbeats never reach the table */
    assert_non_null(dbp_cmd_find(0x0401)); /* group commands (h_group.c) */
    assert_null(dbp_cmd_find(0x040b));     /* the member-change notify is msg_server's */
    assert_null(dbp_cmd_find(0xffff));
}

/* The administration commands (h_admin.c): "unavailable" with attach_data, in the admin range;
 * in the table once each. */
static void test_admin(void **state)
{
    (void)state;
    TT__Admin__UserReq u = TT__ADMIN__USER_REQ__INIT;
    u.op = TT__ADMIN__USER_OP__USER_CREATE;
    u.user_name = "x";
    ATTACH_SET(u);
    TT__Admin__UserRsp *ur = (TT__Admin__UserRsp *)fail_answer(
        TT_CID_ADMIN_USER_REQ, &u.base, &tt__admin__user_rsp__descriptor, TT_CID_ADMIN_USER_RSP);
    assert_int_equal(ur->result_code, TT__ADMIN__RESULT_CODE__ADMIN_UNAVAILABLE);
    assert_non_null(ur->result_text);
    assert_false(ur->has_user_id);
    assert_attach(ur->has_attach_data, ur->attach_data);
    tt_pb_free(ur);
    TT__Admin__DeptReq d = TT__ADMIN__DEPT_REQ__INIT;
    d.op = TT__ADMIN__DEPT_OP__DEPT_MOVE;
    ATTACH_SET(d);
    TT__Admin__DeptRsp *dr = (TT__Admin__DeptRsp *)fail_answer(
        TT_CID_ADMIN_DEPT_REQ, &d.base, &tt__admin__dept_rsp__descriptor, TT_CID_ADMIN_DEPT_RSP);
    assert_int_equal(dr->result_code, TT__ADMIN__RESULT_CODE__ADMIN_UNAVAILABLE);
    assert_attach(dr->has_attach_data, dr->attach_data);
    tt_pb_free(dr);
    assert_int_equal(dbp_admin_ncmds, 2);
    for (size_t i = 0; i < dbp_admin_ncmds; i++) {
        assert_true(TT_ADMIN_IS_CID(dbp_admin_cmds[i].command_id));
        assert_true(TT_ADMIN_IS_CID(dbp_admin_cmds[i].rsp_cid));
        assert_ptr_equal(dbp_cmd_find(dbp_admin_cmds[i].command_id), &dbp_admin_cmds[i]);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(dbp_utf8_valid("", 0));
    assert_true(dbp_utf8_valid("abc", 3));
    assert_true(dbp_utf8_valid("你好", 6));
    assert_true(dbp_utf8_valid("\xf0\x9f\x98\x80", 4)); /* emoji: utf8mb4 */
    assert_false(dbp_utf8_valid("\xff", 1));
    assert_false(dbp_utf8_valid("\xc3\x28", 2));         /* bad continuation */
    assert_false(dbp_utf8_valid("\xe4\xbd", 2));         /* cut */
    assert_false(dbp_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(dbp_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(dbp_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

static void test_printable(void **state)
{
    (void)state;
    char buf[300];
    assert_string_equal(dbp_printable("TT001", buf, sizeof(buf)), "TT001");
    assert_string_equal(dbp_printable("a\nb\\", buf, sizeof(buf)), "a\\x0ab\\x5c");
    char big[200];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    dbp_printable(big, buf, sizeof(buf));
    assert_int_equal(strlen(buf), 67); /* 64 + "..." */
    char small[8];
    dbp_printable("\x01\x02\x03\x04", small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate), cmocka_unit_test(test_lists),
        cmocka_unit_test(test_results),  cmocka_unit_test(test_table),
        cmocka_unit_test(test_utf8),     cmocka_unit_test(test_printable),
        cmocka_unit_test(test_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
