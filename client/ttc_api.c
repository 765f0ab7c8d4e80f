/* Login and the request wrappers: one function per request/response pair. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "tt_client.h"
#include "ttc_internal.h"

#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define LOGIN(x) IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_##x
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define MSG(x) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##x

void ttc_md5_hex(const char *s, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL) || n != 16) {
        out[0] = 0; /* only when OpenSSL refuses MD5 (a FIPS-only build) */
        return;
    }
    for (unsigned int i = 0; i < 16; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[32] = 0;
}

int ttc_login(ttc_t *c, const char *user, const char *plain_password, uint32_t client_type,
              int timeout_ms, IM__Login__IMLoginRes **res)
{
    if (res)
        *res = NULL;
    if (!c)
        return TTC_ERR;
    char md5[33];
    ttc_md5_hex(plain_password ? plain_password : "", md5);
    if (!md5[0]) {
        ttc_set_error(c, "MD5 is not available");
        return TTC_ERR;
    }
    IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
    req.user_name = (char *)(user ? user : "");
    req.password = md5;
    req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    req.client_type = (IM__BaseDefine__ClientType)client_type;
    req.client_version = TTC_CLIENT_VERSION;
    ttc_pdu_t *p = NULL;
    int rc = ttc_request(c, SID_LOGIN, LOGIN(REQ_USERLOGIN), &req.base, LOGIN(RES_USERLOGIN),
                         timeout_ms, &p);
    if (rc != 0)
        return rc;
    IM__Login__IMLoginRes *r = (IM__Login__IMLoginRes *)tt_pb_unpack(
        &im__login__imlogin_res__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    if (!r) {
        ttc_set_error(c, "login answer does not parse");
        return TTC_ERR;
    }
    if (r->result_code == 0 && r->user_info)
        ttc_set_user_id(c, r->user_info->user_id);
    else if (r->result_code != 0)
        ttc_set_error(c, "login refused: %s (result %d)",
                      r->result_string && r->result_string[0] ? r->result_string : "no reason",
                      (int)r->result_code);
    if (res) {
        *res = r;
        return 0;
    }
    rc = r->result_code == 0 ? 0 : TTC_ERR;
    tt_pb_free(r);
    return rc;
}

IM__Buddy__IMAllUserRsp *ttc_all_users(ttc_t *c, uint32_t latest_update_time, int timeout_ms,
                                       char *err, size_t errlen)
{
    IM__Buddy__IMAllUserReq req = IM__BUDDY__IMALL_USER_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.latest_update_time = latest_update_time;
    return ttc_call(c, SID_BUDDY, BUDDY(ALL_USER_REQUEST), &req.base, BUDDY(ALL_USER_RESPONSE),
                    &im__buddy__imall_user_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Buddy__IMUsersInfoRsp *ttc_users_info(ttc_t *c, const uint32_t *ids, size_t n,
                                          int timeout_ms, char *err, size_t errlen)
{
    IM__Buddy__IMUsersInfoReq req = IM__BUDDY__IMUSERS_INFO_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.n_user_id_list = n;
    req.user_id_list = (uint32_t *)ids;
    return ttc_call(c, SID_BUDDY, BUDDY(USER_INFO_REQUEST), &req.base, BUDDY(USER_INFO_RESPONSE),
                    &im__buddy__imusers_info_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Buddy__IMDepartmentRsp *ttc_departments(ttc_t *c, uint32_t latest_update_time,
                                            int timeout_ms, char *err, size_t errlen)
{
    IM__Buddy__IMDepartmentReq req = IM__BUDDY__IMDEPARTMENT_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.latest_update_time = latest_update_time;
    return ttc_call(c, SID_BUDDY, BUDDY(DEPARTMENT_REQUEST), &req.base,
                    BUDDY(DEPARTMENT_RESPONSE), &im__buddy__imdepartment_rsp__descriptor,
                    timeout_ms, err, errlen);
}

IM__Buddy__IMUsersStatRsp *ttc_users_status(ttc_t *c, const uint32_t *ids, size_t n,
                                            int timeout_ms, char *err, size_t errlen)
{
    IM__Buddy__IMUsersStatReq req = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.n_user_id_list = n;
    req.user_id_list = (uint32_t *)ids;
    return ttc_call(c, SID_BUDDY, BUDDY(USERS_STATUS_REQUEST), &req.base,
                    BUDDY(USERS_STATUS_RESPONSE), &im__buddy__imusers_stat_rsp__descriptor,
                    timeout_ms, err, errlen);
}

IM__Buddy__IMChangeSignInfoRsp *ttc_change_sign(ttc_t *c, const char *sign, int timeout_ms,
                                                char *err, size_t errlen)
{
    IM__Buddy__IMChangeSignInfoReq req = IM__BUDDY__IMCHANGE_SIGN_INFO_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.sign_info = (char *)(sign ? sign : "");
    return ttc_call(c, SID_BUDDY, BUDDY(CHANGE_SIGN_INFO_REQUEST), &req.base,
                    BUDDY(CHANGE_SIGN_INFO_RESPONSE),
                    &im__buddy__imchange_sign_info_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Buddy__IMChangeAvatarRsp *ttc_change_avatar(ttc_t *c, const char *avatar_url, int timeout_ms,
                                                char *err, size_t errlen)
{
    IM__Buddy__IMChangeAvatarReq req = IM__BUDDY__IMCHANGE_AVATAR_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.avatar_url = (char *)(avatar_url ? avatar_url : "");
    return ttc_call(c, SID_BUDDY, BUDDY(CHANGE_AVATAR_REQUEST), &req.base,
                    BUDDY(CHANGE_AVATAR_RESPONSE), &im__buddy__imchange_avatar_rsp__descriptor,
                    timeout_ms, err, errlen);
}

IM__Login__IMLogoutRsp *ttc_logout(ttc_t *c, int timeout_ms, char *err, size_t errlen)
{
    IM__Login__IMLogoutReq req = IM__LOGIN__IMLOGOUT_REQ__INIT;
    return ttc_call(c, SID_LOGIN, LOGIN(REQ_LOGINOUT), &req.base, LOGIN(RES_LOGINOUT),
                    &im__login__imlogout_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Login__IMKickPCClientRsp *ttc_kick_pc(ttc_t *c, int timeout_ms, char *err, size_t errlen)
{
    IM__Login__IMKickPCClientReq req = IM__LOGIN__IMKICK_PCCLIENT_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    return ttc_call(c, SID_LOGIN, LOGIN(REQ_KICKPCCLIENT), &req.base, LOGIN(RES_KICKPCCLIENT),
                    &im__login__imkick_pcclient_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Login__IMDeviceTokenRsp *ttc_device_token(ttc_t *c, const char *token, int timeout_ms,
                                              char *err, size_t errlen)
{
    IM__Login__IMDeviceTokenReq req = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    req.device_token = (char *)(token ? token : "");
    return ttc_call(c, SID_LOGIN, LOGIN(REQ_DEVICETOKEN), &req.base, LOGIN(RES_DEVICETOKEN),
                    &im__login__imdevice_token_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Message__IMClientTimeRsp *ttc_client_time(ttc_t *c, int timeout_ms, char *err,
                                              size_t errlen)
{
    IM__Message__IMClientTimeReq req = IM__MESSAGE__IMCLIENT_TIME_REQ__INIT;
    return ttc_call(c, SID_MSG, MSG(TIME_REQUEST), &req.base, MSG(TIME_RESPONSE),
                    &im__message__imclient_time_rsp__descriptor, timeout_ms, err, errlen);
}
