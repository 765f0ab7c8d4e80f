/*
 * Byte-exact tests of the TeamTalk protobuf definitions (the .proto files in pb/) as
 * compiled by protoc-c.
 *
 * Every expected encoding below was worked out by hand from the protobuf wire
 * format (tag = field_number << 3 | wire_type; wire type 0 = varint,
 * 2 = length-delimited; varints little-endian base-128, high bit = "more"),
 * NOT produced by the code under test.  The tests pack known messages and
 * compare byte-for-byte, then unpack the expected bytes and compare field
 * values, and check that malformed bodies are rejected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.File.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Other.pb-c.h"
#include "IM.Server.pb-c.h"
#include "IM.SwitchService.pb-c.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* Packs msg and asserts it equals exp[0..exp_len). */
static void assert_packs_to(const ProtobufCMessage *msg, const uint8_t *exp, size_t exp_len)
{
    size_t sz = protobuf_c_message_get_packed_size(msg);
    assert_int_equal(sz, exp_len);
    uint8_t *buf = malloc(exp_len + 16);
    assert_non_null(buf);
    memset(buf, 0xEE, exp_len + 16);
    size_t n = protobuf_c_message_pack(msg, buf);
    assert_int_equal(n, exp_len);
    if (exp_len > 0)
        assert_memory_equal(buf, exp, exp_len);
    assert_int_equal(buf[exp_len], 0xEE); /* nothing written past the end */
    free(buf);
}

static void assert_bin_equal(ProtobufCBinaryData b, const void *exp, size_t len)
{
    assert_int_equal(b.len, len);
    if (len > 0)
        assert_memory_equal(b.data, exp, len);
}

/* ------------------------------------------------------------------------ */
/* IM.Login.IMLoginReq - strings + enums                                    */
/* ------------------------------------------------------------------------ */

static const uint8_t LOGIN_REQ_BYTES[] = {
    0x0A, 0x05, 'a', 'l', 'i', 'c', 'e',              /* 1 user_name (len 5) */
    0x12, 0x20,                                       /* 2 password (len 32) */
    'e', '1', '0', 'a', 'd', 'c', '3', '9', '4', '9', 'b', 'a', '5', '9', 'a', 'b',
    'b', 'e', '5', '6', 'e', '0', '5', '7', 'f', '2', '0', 'f', '8', '8', '3', 'e',
    0x18, 0x01,                                       /* 3 online_status = USER_STATUS_ONLINE */
    0x20, 0x12,                                       /* 4 client_type = CLIENT_TYPE_ANDROID (18) */
    0x2A, 0x07, 'A', 'N', 'D', '/', '1', '.', '0',    /* 5 client_version */
};

static void test_login_req_pack(void **state)
{
    (void)state;
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = "alice";
    req.password = "e10adc3949ba59abbe56e057f20f883e";
    req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    req.client_type = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID;
    req.client_version = "AND/1.0";
    assert_packs_to(&req.base, LOGIN_REQ_BYTES, sizeof(LOGIN_REQ_BYTES));
    assert_int_equal(im__login__imlogin_req__get_packed_size(&req), sizeof(LOGIN_REQ_BYTES));

    /* Optional string left NULL is omitted entirely. */
    req.client_version = NULL;
    assert_packs_to(&req.base, LOGIN_REQ_BYTES, sizeof(LOGIN_REQ_BYTES) - 9);
}

static void test_login_req_unpack(void **state)
{
    (void)state;
    IM__Login__IMLoginReq *req =
        im__login__imlogin_req__unpack(NULL, sizeof(LOGIN_REQ_BYTES), LOGIN_REQ_BYTES);
    assert_non_null(req);
    assert_string_equal(req->user_name, "alice");
    assert_string_equal(req->password, "e10adc3949ba59abbe56e057f20f883e");
    assert_int_equal(req->online_status, IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE);
    assert_int_equal(req->client_type, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID);
    assert_non_null(req->client_version);
    assert_string_equal(req->client_version, "AND/1.0");
    im__login__imlogin_req__free_unpacked(req, NULL);

    /* Without the optional field 5. */
    req = im__login__imlogin_req__unpack(NULL, sizeof(LOGIN_REQ_BYTES) - 9, LOGIN_REQ_BYTES);
    assert_non_null(req);
    assert_null(req->client_version);
    im__login__imlogin_req__free_unpacked(req, NULL);
}

/* ------------------------------------------------------------------------ */
/* IM.BaseDefine.UserInfo - all 11 fields, multi-byte varints               */
/* ------------------------------------------------------------------------ */

static const uint8_t USER_INFO_BYTES[] = {
    0x08, 0x81, 0x80, 0x80, 0x80, 0x01,               /* 1 user_id = 268435457 (2^28 + 1) */
    0x10, 0x02,                                       /* 2 user_gender = 2 */
    0x1A, 0x04, 'n', 'i', 'c', 'k',                   /* 3 user_nick_name */
    0x22, 0x0E, 'h', 't', 't', 'p', ':', '/', '/', 'a', '/', 'b', '.', 'p', 'n', 'g',
                                                      /* 4 avatar_url (len 14) */
    0x28, 0xAC, 0x02,                                 /* 5 department_id = 300 */
    0x32, 0x05, 'a', '@', 'b', '.', 'c',              /* 6 email */
    0x3A, 0x05, 'a', 'l', 'i', 'c', 'e',              /* 7 user_real_name */
    0x42, 0x0B, '1', '3', '8', '0', '0', '1', '3', '8', '0', '0', '0',
                                                      /* 8 user_tel (len 11) */
    0x4A, 0x03, 'a', 'l', 'i',                        /* 9 user_domain */
    0x50, 0x03,                                       /* 10 status = 3 */
    0x5A, 0x02, 'h', 'i',                             /* 11 sign_info */
};
/* Offset just after field 10 (everything before the optional sign_info). */
#define USER_INFO_REQUIRED_LEN (sizeof(USER_INFO_BYTES) - 4)

static void fill_user_info(IM__BaseDefine__UserInfo *u)
{
    u->user_id = 268435457u;
    u->user_gender = 2;
    u->user_nick_name = "nick";
    u->avatar_url = "http://a/b.png";
    u->department_id = 300;
    u->email = "a@b.c";
    u->user_real_name = "alice";
    u->user_tel = "13800138000";
    u->user_domain = "ali";
    u->status = 3;
    u->sign_info = "hi";
}

static void test_user_info_pack(void **state)
{
    (void)state;
    assert_int_equal(sizeof(USER_INFO_BYTES), 71);
    IM__BaseDefine__UserInfo u = IM__BASE_DEFINE__USER_INFO__INIT;
    fill_user_info(&u);
    assert_packs_to(&u.base, USER_INFO_BYTES, sizeof(USER_INFO_BYTES));
}

static void test_user_info_unpack(void **state)
{
    (void)state;
    IM__BaseDefine__UserInfo *u =
        im__base_define__user_info__unpack(NULL, sizeof(USER_INFO_BYTES), USER_INFO_BYTES);
    assert_non_null(u);
    assert_int_equal(u->user_id, 268435457u);
    assert_int_equal(u->user_gender, 2);
    assert_string_equal(u->user_nick_name, "nick");
    assert_string_equal(u->avatar_url, "http://a/b.png");
    assert_int_equal(u->department_id, 300);
    assert_string_equal(u->email, "a@b.c");
    assert_string_equal(u->user_real_name, "alice");
    assert_string_equal(u->user_tel, "13800138000");
    assert_string_equal(u->user_domain, "ali");
    assert_int_equal(u->status, 3);
    assert_non_null(u->sign_info);
    assert_string_equal(u->sign_info, "hi");
    im__base_define__user_info__free_unpacked(u, NULL);
}

/* ------------------------------------------------------------------------ */
/* IM.Message.IMMsgData - bytes + attach_data (field 20)                    */
/* ------------------------------------------------------------------------ */

/* CDbAttachData: type=1 (ATTACH_TYPE_HANDLE), handle=7, service_type=0 (BE). */
static const uint8_t ATTACH[12] = {0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0};

static const uint8_t MSG_DATA_BYTES[] = {
    0x08, 0x01,                                       /* 1 from_user_id = 1 */
    0x10, 0x02,                                       /* 2 to_session_id = 2 */
    0x18, 0x80, 0x01,                                 /* 3 msg_id = 128 */
    0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,               /* 4 create_time = 0xFFFFFFFF */
    0x28, 0x11,                                       /* 5 msg_type = MSG_TYPE_GROUP_TEXT (17) */
    0x32, 0x05, 'h', 'e', 'l', 'l', 'o',              /* 6 msg_data */
    0xA2, 0x01, 0x0C,                                 /* 20 attach_data: tag 162 = A2 01, len 12 */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
};
#define MSG_DATA_NO_ATTACH_LEN (sizeof(MSG_DATA_BYTES) - 15)

static void test_msg_data_pack(void **state)
{
    (void)state;
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.from_user_id = 1;
    m.to_session_id = 2;
    m.msg_id = 128;
    m.create_time = 0xFFFFFFFFu;
    m.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT;
    m.msg_data.data = (uint8_t *)"hello";
    m.msg_data.len = 5;
    m.has_attach_data = 1;
    m.attach_data.data = (uint8_t *)ATTACH;
    m.attach_data.len = sizeof(ATTACH);
    assert_packs_to(&m.base, MSG_DATA_BYTES, sizeof(MSG_DATA_BYTES));

    /* has_attach_data = 0 -> field 20 absent. */
    m.has_attach_data = 0;
    assert_packs_to(&m.base, MSG_DATA_BYTES, MSG_DATA_NO_ATTACH_LEN);
}

static void test_msg_data_unpack(void **state)
{
    (void)state;
    IM__Message__IMMsgData *m =
        im__message__immsg_data__unpack(NULL, sizeof(MSG_DATA_BYTES), MSG_DATA_BYTES);
    assert_non_null(m);
    assert_int_equal(m->from_user_id, 1);
    assert_int_equal(m->to_session_id, 2);
    assert_int_equal(m->msg_id, 128);
    assert_int_equal(m->create_time, 0xFFFFFFFFu);
    assert_int_equal(m->msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT);
    assert_bin_equal(m->msg_data, "hello", 5);
    assert_true(m->has_attach_data);
    assert_bin_equal(m->attach_data, ATTACH, sizeof(ATTACH));
    im__message__immsg_data__free_unpacked(m, NULL);

    m = im__message__immsg_data__unpack(NULL, MSG_DATA_NO_ATTACH_LEN, MSG_DATA_BYTES);
    assert_non_null(m);
    assert_false(m->has_attach_data);
    im__message__immsg_data__free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------------ */
/* IM.Buddy.IMUsersStatReq - repeated uint32 emitted UNPACKED               */
/* ------------------------------------------------------------------------ */

static const uint8_t USERS_STAT_REQ_BYTES[] = {
    0x08, 0x05,                                       /* 1 user_id = 5 */
    0x10, 0x01,                                       /* 2 user_id_list[0] = 1 */
    0x10, 0xC8, 0x01,                                 /* 2 user_id_list[1] = 200 */
    0x10, 0x03,                                       /* 2 user_id_list[2] = 3 */
};

/* Same list in packed form: tag 2|LEN = 0x12, len 4, 01 C8 01 03. */
static const uint8_t USERS_STAT_REQ_PACKED_BYTES[] = {
    0x08, 0x05, 0x12, 0x04, 0x01, 0xC8, 0x01, 0x03,
};

static void test_users_stat_req_pack(void **state)
{
    (void)state;
    uint32_t ids[] = {1, 200, 3};
    IM__Buddy__IMUsersStatReq r = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    r.user_id = 5;
    r.n_user_id_list = 3;
    r.user_id_list = ids;
    assert_packs_to(&r.base, USERS_STAT_REQ_BYTES, sizeof(USERS_STAT_REQ_BYTES));

    /* Empty repeated field: nothing emitted for it. */
    r.n_user_id_list = 0;
    r.user_id_list = NULL;
    assert_packs_to(&r.base, USERS_STAT_REQ_BYTES, 2);
}

static void check_users_stat_req(const uint8_t *bytes, size_t len)
{
    IM__Buddy__IMUsersStatReq *r = im__buddy__imusers_stat_req__unpack(NULL, len, bytes);
    assert_non_null(r);
    assert_int_equal(r->user_id, 5);
    assert_int_equal(r->n_user_id_list, 3);
    assert_int_equal(r->user_id_list[0], 1);
    assert_int_equal(r->user_id_list[1], 200);
    assert_int_equal(r->user_id_list[2], 3);
    assert_false(r->has_attach_data);
    im__buddy__imusers_stat_req__free_unpacked(r, NULL);
}

static void test_users_stat_req_unpack(void **state)
{
    (void)state;
    check_users_stat_req(USERS_STAT_REQ_BYTES, sizeof(USERS_STAT_REQ_BYTES));
    /* proto2 parsers must also accept the packed form of a repeated scalar. */
    check_users_stat_req(USERS_STAT_REQ_PACKED_BYTES, sizeof(USERS_STAT_REQ_PACKED_BYTES));
}

/* ------------------------------------------------------------------------ */
/* IM.Buddy.IMAllUserRsp - nested repeated UserInfo                         */
/* ------------------------------------------------------------------------ */

static const uint8_t ALL_USER_RSP_BYTES[] = {
    0x08, 0x01,                                       /* 1 user_id = 1 */
    0x10, 0x80, 0xDE, 0xA0, 0xCB, 0x05,               /* 2 latest_update_time = 1500000000 */
    0x1A, 0x16,                                       /* 3 user_list[0], 22 bytes: */
        0x08, 0x0A,                                   /*   user_id = 10 */
        0x10, 0x01,                                   /*   user_gender = 1 */
        0x1A, 0x01, 'a',                              /*   user_nick_name = "a" */
        0x22, 0x00,                                   /*   avatar_url = "" (required: present) */
        0x28, 0x01,                                   /*   department_id = 1 */
        0x32, 0x00,                                   /*   email = "" */
        0x3A, 0x01, 'a',                              /*   user_real_name = "a" */
        0x42, 0x00,                                   /*   user_tel = "" */
        0x4A, 0x00,                                   /*   user_domain = "" */
        0x50, 0x00,                                   /*   status = 0 (required: present) */
    0x1A, 0x19,                                       /* 3 user_list[1], 25 bytes: */
        0x08, 0x0B,                                   /*   user_id = 11 */
        0x10, 0x02,                                   /*   user_gender = 2 */
        0x1A, 0x01, 'b',                              /*   user_nick_name = "b" */
        0x22, 0x00,                                   /*   avatar_url = "" */
        0x28, 0x01,                                   /*   department_id = 1 */
        0x32, 0x00,                                   /*   email = "" */
        0x3A, 0x01, 'b',                              /*   user_real_name = "b" */
        0x42, 0x00,                                   /*   user_tel = "" */
        0x4A, 0x00,                                   /*   user_domain = "" */
        0x50, 0x00,                                   /*   status = 0 */
        0x5A, 0x01, 's',                              /*   sign_info = "s" */
};

static void test_all_user_rsp_pack(void **state)
{
    (void)state;
    assert_int_equal(sizeof(ALL_USER_RSP_BYTES), 59);
    IM__BaseDefine__UserInfo u1 = IM__BASE_DEFINE__USER_INFO__INIT;
    IM__BaseDefine__UserInfo u2 = IM__BASE_DEFINE__USER_INFO__INIT;
    u1.user_id = 10;
    u1.user_gender = 1;
    u1.user_nick_name = "a";
    u1.avatar_url = "";
    u1.department_id = 1;
    u1.email = "";
    u1.user_real_name = "a";
    u1.user_tel = "";
    u1.user_domain = "";
    u1.status = 0;
    u2 = u1;
    u2.user_id = 11;
    u2.user_gender = 2;
    u2.user_nick_name = "b";
    u2.user_real_name = "b";
    u2.sign_info = "s";
    IM__BaseDefine__UserInfo *list[] = {&u1, &u2};

    IM__Buddy__IMAllUserRsp r = IM__BUDDY__IMALL_USER_RSP__INIT;
    r.user_id = 1;
    r.latest_update_time = 1500000000u;
    r.n_user_list = 2;
    r.user_list = list;
    assert_packs_to(&r.base, ALL_USER_RSP_BYTES, sizeof(ALL_USER_RSP_BYTES));
}

static void test_all_user_rsp_unpack(void **state)
{
    (void)state;
    IM__Buddy__IMAllUserRsp *r =
        im__buddy__imall_user_rsp__unpack(NULL, sizeof(ALL_USER_RSP_BYTES), ALL_USER_RSP_BYTES);
    assert_non_null(r);
    assert_int_equal(r->user_id, 1);
    assert_int_equal(r->latest_update_time, 1500000000u);
    assert_int_equal(r->n_user_list, 2);
    assert_false(r->has_attach_data);

    const IM__BaseDefine__UserInfo *u1 = r->user_list[0];
    assert_int_equal(u1->user_id, 10);
    assert_int_equal(u1->user_gender, 1);
    assert_string_equal(u1->user_nick_name, "a");
    assert_string_equal(u1->avatar_url, "");
    assert_int_equal(u1->department_id, 1);
    assert_string_equal(u1->email, "");
    assert_string_equal(u1->user_real_name, "a");
    assert_string_equal(u1->user_tel, "");
    assert_string_equal(u1->user_domain, "");
    assert_int_equal(u1->status, 0);
    assert_null(u1->sign_info);

    const IM__BaseDefine__UserInfo *u2 = r->user_list[1];
    assert_int_equal(u2->user_id, 11);
    assert_int_equal(u2->user_gender, 2);
    assert_string_equal(u2->user_nick_name, "b");
    assert_string_equal(u2->user_real_name, "b");
    assert_non_null(u2->sign_info);
    assert_string_equal(u2->sign_info, "s");
    im__buddy__imall_user_rsp__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------------------ */
/* Empty messages, defaults                                                 */
/* ------------------------------------------------------------------------ */

static void test_heartbeat_empty(void **state)
{
    (void)state;
    IM__Other__IMHeartBeat hb = IM__OTHER__IMHEART_BEAT__INIT;
    assert_int_equal(im__other__imheart_beat__get_packed_size(&hb), 0);
    uint8_t dummy[1] = {0xEE};
    assert_int_equal(im__other__imheart_beat__pack(&hb, dummy), 0);
    assert_int_equal(dummy[0], 0xEE);

    IM__Other__IMHeartBeat *p = im__other__imheart_beat__unpack(NULL, 0, dummy);
    assert_non_null(p);
    im__other__imheart_beat__free_unpacked(p, NULL);

    /* Other empty bodies. */
    IM__Login__IMLogoutReq lo = IM__LOGIN__IMLOGOUT_REQ__INIT;
    assert_int_equal(protobuf_c_message_get_packed_size(&lo.base), 0);
    IM__Server__IMFileServerIPReq fip = IM__SERVER__IMFILE_SERVER_IPREQ__INIT;
    assert_int_equal(protobuf_c_message_get_packed_size(&fip.base), 0);
}

static const uint8_t GROUP_CREATE_REQ_BYTES[] = {
    0x08, 0x00,                                       /* 1 user_id = 0 (required: present) */
    0x10, 0x02,                                       /* 2 group_type = GROUP_TYPE_TMP (default) */
    0x1A, 0x01, 'g',                                  /* 3 group_name */
    0x22, 0x00,                                       /* 4 group_avatar = "" */
    0x28, 0x01,                                       /* 5 member_id_list[0] = 1 */
    0x28, 0x02,                                       /* 5 member_id_list[1] = 2 */
};

static void test_group_create_default(void **state)
{
    (void)state;
    uint32_t members[] = {1, 2};
    IM__Group__IMGroupCreateReq g = IM__GROUP__IMGROUP_CREATE_REQ__INIT;
    assert_int_equal(g.group_type, IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP);
    g.user_id = 0;
    g.group_name = "g";
    g.group_avatar = "";
    g.n_member_id_list = 2;
    g.member_id_list = members;
    assert_packs_to(&g.base, GROUP_CREATE_REQ_BYTES, sizeof(GROUP_CREATE_REQ_BYTES));

    IM__Group__IMGroupCreateReq *u = im__group__imgroup_create_req__unpack(
        NULL, sizeof(GROUP_CREATE_REQ_BYTES), GROUP_CREATE_REQ_BYTES);
    assert_non_null(u);
    assert_int_equal(u->group_type, IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP);
    assert_string_equal(u->group_name, "g");
    assert_int_equal(u->n_member_id_list, 2);
    assert_int_equal(u->member_id_list[1], 2);
    im__group__imgroup_create_req__free_unpacked(u, NULL);
}

/* ------------------------------------------------------------------------ */
/* Rejection of malformed bodies                                            */
/* ------------------------------------------------------------------------ */

static void test_missing_required(void **state)
{
    (void)state;
    /* IMLoginReq without field 4 (client_type). */
    static const uint8_t no_client_type[] = {0x0A, 0x01, 'a', 0x12, 0x01, 'b', 0x18, 0x01};
    assert_null(im__login__imlogin_req__unpack(NULL, sizeof(no_client_type), no_client_type));

    /* Empty body for a message with required fields. */
    assert_null(im__login__imlogin_req__unpack(NULL, 0, no_client_type));
    assert_null(im__message__immsg_data__unpack(NULL, 0, MSG_DATA_BYTES));

    /* IMAllUserRsp whose nested UserInfo has only user_id. */
    static const uint8_t nested[] = {0x08, 0x01, 0x10, 0x00, 0x1A, 0x02, 0x08, 0x0A};
    assert_null(im__buddy__imall_user_rsp__unpack(NULL, sizeof(nested), nested));

    /* IMMsgData with only the optional attach_data. */
    assert_null(im__message__immsg_data__unpack(NULL, 15, MSG_DATA_BYTES + MSG_DATA_NO_ATTACH_LEN));
}

static void test_truncated(void **state)
{
    (void)state;
    /* Last byte of attach_data missing. */
    assert_null(im__message__immsg_data__unpack(NULL, sizeof(MSG_DATA_BYTES) - 1, MSG_DATA_BYTES));
    /* Cut after the first byte of the two-byte tag A2 01. */
    assert_null(im__message__immsg_data__unpack(NULL, MSG_DATA_NO_ATTACH_LEN + 1, MSG_DATA_BYTES));
    /* Cut inside the create_time varint (08 01 10 02 18 80 01 20 FF FF|). */
    assert_null(im__message__immsg_data__unpack(NULL, 10, MSG_DATA_BYTES));
    /* Nested message length says 22 but only 10 bytes follow. */
    assert_null(im__buddy__imall_user_rsp__unpack(NULL, 20, ALL_USER_RSP_BYTES));

    /* Every proper prefix of UserInfo is invalid, except the one that stops
     * exactly before the optional sign_info. */
    for (size_t k = 0; k < sizeof(USER_INFO_BYTES); k++) {
        IM__BaseDefine__UserInfo *u = im__base_define__user_info__unpack(NULL, k, USER_INFO_BYTES);
        if (k == USER_INFO_REQUIRED_LEN) {
            assert_non_null(u);
            assert_null(u->sign_info);
            im__base_define__user_info__free_unpacked(u, NULL);
        } else {
            if (u != NULL)
                fail_msg("prefix of length %zu accepted", k);
        }
    }
}

static void test_garbage(void **state)
{
    (void)state;
    /* 11 bytes of 0xFF: a varint tag longer than 10 bytes. */
    static const uint8_t ff[11] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    assert_null(im__message__immsg_data__unpack(NULL, sizeof(ff), ff));
    assert_null(im__login__imlogin_req__unpack(NULL, sizeof(ff), ff));
    /* Field 1 with invalid wire type 7, field 0 (invalid number). */
    static const uint8_t wt7[] = {0x0F, 0x01, 0x02, 0x03};
    assert_null(im__message__immsg_data__unpack(NULL, sizeof(wt7), wt7));
    static const uint8_t f0[] = {0x00, 0x01};
    assert_null(im__message__immsg_data__unpack(NULL, sizeof(f0), f0));
    /* Length-delimited field whose length exceeds the body. */
    static const uint8_t biglen[] = {0x32, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 'x'};
    assert_null(im__message__immsg_data__unpack(NULL, sizeof(biglen), biglen));

    /* Deterministic pseudo-random buffers (fixed-seed LCG). */
    uint32_t seed = 0x12345678u;
    uint8_t buf[64];
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = 1 + (size_t)(iter % (int)sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        IM__Message__IMMsgData *m = im__message__immsg_data__unpack(NULL, len, buf);
        if (m != NULL)
            fail_msg("garbage iteration %d accepted as IMMsgData", iter);
        IM__Buddy__IMAllUserRsp *a = im__buddy__imall_user_rsp__unpack(NULL, len, buf);
        if (a != NULL)
            fail_msg("garbage iteration %d accepted as IMAllUserRsp", iter);
    }
}

/* ------------------------------------------------------------------------ */
/* Enum values and descriptor names                                         */
/* ------------------------------------------------------------------------ */

static void test_enum_values(void **state)
{
    (void)state;
    assert_int_equal(IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN, 0x0001);
    assert_int_equal(IM__BASE_DEFINE__SERVICE_ID__SID_OTHER, 0x0007);
    assert_int_equal(IM__BASE_DEFINE__SERVICE_ID__SID_INTERNAL, 0x0008);
    assert_int_equal(IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN, 0x0103);
    assert_int_equal(IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_QUERY_PUSH_SHIELD, 0x010f);
    assert_int_equal(IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST, 0x020a);
    assert_int_equal(IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
                     0x0215);
    assert_int_equal(IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 0x0301);
    assert_int_equal(IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_RES, 0x030e);
    assert_int_equal(IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CHANGE_MEMBER_NOTIFY, 0x040b);
    assert_int_equal(IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_DEL_OFFLINE_REQ, 0x050c);
    assert_int_equal(IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, 0x0601);
    assert_int_equal(IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT, 0x0701);
    assert_int_equal(IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, 0x070d);
    assert_int_equal(IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_GET_SHIELD_RSP, 0x0712);
    assert_int_equal(IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_FILE_TRANSFER_REQ, 0x0731);
    assert_int_equal(IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_FILE_SERVER_IP_RSP, 0x0734);

    assert_int_equal(IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NONE, 0);
    assert_int_equal(IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_DB_VALIDATE_FAILED, 6);
    assert_int_equal(IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_MOBILE_KICK, 2);
    assert_int_equal(IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_LEAVE, 3);
    assert_int_equal(IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP, 2);
    assert_int_equal(IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO, 0x02);
    assert_int_equal(IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO, 0x12);
    assert_int_equal(IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS, 0x11);
    assert_int_equal(IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID, 0x12);
    assert_int_equal(IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL, 1);
    assert_int_equal(IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL, 2);
    assert_int_equal(IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_OFFLINE, 2);
    assert_int_equal(IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_PEER_READY, 0);
    assert_int_equal(IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, 3);
    assert_int_equal(IM__BASE_DEFINE__CLIENT_FILE_ROLE__CLIENT_OFFLINE_DOWNLOAD, 4);
    assert_int_equal(IM__BASE_DEFINE__FILE_SERVER_ERROR__FILE_SERVER_ERRNO_PULL_DATA_FINISHED, 0x0c);
    assert_int_equal(IM__BASE_DEFINE__SESSION_STATUS_TYPE__SESSION_STATUS_DELETE, 1);
    assert_int_equal(IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_DELETE, 1);
}

static void test_descriptor_names(void **state)
{
    (void)state;
    assert_string_equal(im__login__imlogin_req__descriptor.name, "IM.Login.IMLoginReq");
    assert_string_equal(im__base_define__user_info__descriptor.name, "IM.BaseDefine.UserInfo");
    assert_string_equal(im__message__immsg_data__descriptor.name, "IM.Message.IMMsgData");
    assert_string_equal(im__buddy__imall_user_rsp__descriptor.name, "IM.Buddy.IMAllUserRsp");
    assert_string_equal(im__group__imgroup_create_req__descriptor.name, "IM.Group.IMGroupCreateReq");
    assert_string_equal(im__file__imfile_pull_data_rsp__descriptor.name, "IM.File.IMFilePullDataRsp");
    assert_string_equal(im__switch_service__imp2_pcmd_msg__descriptor.name,
                        "IM.SwitchService.IMP2PCmdMsg");
    assert_string_equal(im__other__imheart_beat__descriptor.name, "IM.Other.IMHeartBeat");
    assert_string_equal(im__server__imfile_server_iprsp__descriptor.name,
                        "IM.Server.IMFileServerIPRsp");
    assert_int_equal(im__base_define__user_info__descriptor.n_fields, 11);

    /* attach_data is field 20, optional bytes. */
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(&im__message__immsg_data__descriptor,
                                                        "attach_data");
    assert_non_null(f);
    assert_int_equal(f->id, 20);
    assert_int_equal(f->label, PROTOBUF_C_LABEL_OPTIONAL);
    assert_int_equal(f->type, PROTOBUF_C_TYPE_BYTES);
    /* Repeated scalars are not packed. */
    f = protobuf_c_message_descriptor_get_field_by_name(&im__buddy__imusers_stat_req__descriptor,
                                                        "user_id_list");
    assert_non_null(f);
    assert_int_equal(f->label, PROTOBUF_C_LABEL_REPEATED);
    assert_int_equal(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_req_pack),
        cmocka_unit_test(test_login_req_unpack),
        cmocka_unit_test(test_user_info_pack),
        cmocka_unit_test(test_user_info_unpack),
        cmocka_unit_test(test_msg_data_pack),
        cmocka_unit_test(test_msg_data_unpack),
        cmocka_unit_test(test_users_stat_req_pack),
        cmocka_unit_test(test_users_stat_req_unpack),
        cmocka_unit_test(test_all_user_rsp_pack),
        cmocka_unit_test(test_all_user_rsp_unpack),
        cmocka_unit_test(test_heartbeat_empty),
        cmocka_unit_test(test_group_create_default),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_enum_values),
        cmocka_unit_test(test_descriptor_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
