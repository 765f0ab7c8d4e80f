/* Login: the request from the client, the validation through db_proxy_server, the duplicate
 * login rules (one PC-class and one mobile-class connection per user across the cluster, the
 * newer wins), presence updates. Password guessing is slowed by db_proxy_server, which gets the
 * client's address in IMValidateReq.client_ip; names with a NUL, control characters or spaces
 * at either end are refused here. Also logout, push tokens, a phone kicking the PC session,
 * push shield, kicks of disabled users and PC login notices. A feature: layer 5 (ms_login.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Server.pb-c.h"
#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_dispatch.h"
#include "ms_login.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_log.h"
#include "tt_utf8.h"

#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define DBP_VALIDATE_BUSY 3 /* IMValidateRsp.result_code: db_proxy_server's login queue full */

/* The length of the last field `field` (length-delimited) at the top level of a protobuf
 * message, -1 when absent or the message does not parse: protobuf-c cuts strings at a NUL,
 * so this is how a name with a NUL is told from its first part. */
static int read_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= n)
            return -1;
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

static long raw_field_len(const uint8_t *p, size_t n, uint32_t field)
{
    long found = -1;
    size_t i = 0;
    uint64_t tag, v;
    while (i < n && read_varint(p, n, &i, &tag) == 0) {
        switch (tag & 7) {
        case 0:
            if (read_varint(p, n, &i, &v) < 0)
                return found;
            break;
        case 1:
        case 5:
            v = (tag & 7) == 1 ? 8 : 4;
            if (v > n - i)
                return found;
            i += (size_t)v;
            break;
        case 2:
            if (read_varint(p, n, &i, &v) < 0 || v > n - i)
                return found;
            if ((tag >> 3) == field)
                found = (long)v;
            i += (size_t)v;
            break;
        default:
            return found;
        }
    }
    return found;
}

/* A login name as msg_server forwards it: no NUL (see raw_field_len), no control characters,
 * no space at either end (the collation would ignore a trailing one). */
static int name_acceptable(const char *name, long raw_len)
{
    size_t n = strlen(name);
    if (raw_len >= 0 && (size_t)raw_len != n)
        return 0;
    if (n > 0 && (name[0] == ' ' || name[n - 1] == ' '))
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return 0;
    return 1;
}

/* The client's address without the port ("a.b.c.d" or an IPv6 literal, brackets removed). */
static void client_ip(const char *peer, char *out, size_t len)
{
    const char *end = strrchr(peer, ':');
    size_t n = end ? (size_t)(end - peer) : strlen(peer);
    if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    if (n >= len)
        n = len - 1;
    memcpy(out, peer, n);
    out[n] = '\0';
}

static void refuse(client_t *c, uint16_t seq, uint32_t result, const char *text,
                   const char *why)
{
    IM__Login__IMLoginRes res = IM__LOGIN__IMLOGIN_RES__INIT;
    res.server_time = (uint32_t)time(NULL);
    res.result_code = result;
    res.result_string = (char *)text;
    tt_pdu_send(c->conn, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN, seq, &res.base);
    c->state = CLIENT_GONE;
    tt_conn_close_after_flush(c->conn, "login refused: %s", why);
}

static void login_request(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if (c->state != CLIENT_NEW)
        return; /* a second login request on this connection is ignored */
    IM__Login__IMLoginReq *req = (IM__Login__IMLoginReq *)tt_pb_unpack(
        &im__login__imlogin_req__descriptor, pdu->body, pdu->body_len);
    if (!req) {
        tt_conn_close(c->conn, "login request does not parse");
        return;
    }
    int link = ms_db_pick(ms, c);
    if (link < 0)
        refuse(c, pdu->seq_num, IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NO_DB_SERVER,
               "服务端异常", "no db_proxy_server");
    else if (!ms_login_up(ms))
        refuse(c, pdu->seq_num, IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NO_LOGIN_SERVER,
               "服务端异常", "no login_server");
    else if (!ms_route_master(ms))
        refuse(c, pdu->seq_num, IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NO_ROUTE_SERVER,
               "服务端异常", "no route_server");
    else if (!name_acceptable(req->user_name, raw_field_len(pdu->body, pdu->body_len, 1))) {
        log_info_rl("login from %s refused: a NUL, control characters or spaces around the name",
                    c->conn->peer);
        refuse(c, pdu->seq_num, IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_DB_VALIDATE_FAILED,
               "用户名/密码错误", "malformed user name");
    } else {
        c->client_type = req->client_type;
        c->online_status = req->online_status >= 1 && req->online_status <= 3
                               ? req->online_status
                               : IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
        slot_t *s = ms_slot_open(c, pdu->seq_num, link);
        if (!s) {
            tt_conn_close(c->conn, "out of memory");
        } else {
            s->validate = 1;
            uint8_t attach[12];
            ms_attach_encode(attach, c->handle, s->ordinal);
            IM__Server__IMValidateReq v = IM__SERVER__IMVALIDATE_REQ__INIT;
            char ip[64];
            client_ip(c->conn->peer, ip, sizeof(ip));
            v.user_name = req->user_name;
            v.password = req->password;
            v.client_ip = ip; /* db_proxy_server counts failures per address */
            v.has_attach_data = 1;
            v.attach_data.data = attach;
            v.attach_data.len = sizeof(attach);
            c->state = CLIENT_VALIDATING;
            tt_link_send(ms->db[link].link, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                         IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_REQ, pdu->seq_num,
                         &v.base);
            log_info("login of '%s' from %s (client type 0x%x, %s)", req->user_name,
                     c->conn->peer, req->client_type,
                     req->client_version ? req->client_version : "-");
        }
    }
    tt_pb_free(req);
}

static void go_online(client_t *c, const IM__BaseDefine__UserInfo *info, uint32_t ordinal,
                      const char *text)
{
    msg_server_t *ms = c->ms;
    uint32_t uid = info->user_id;
    if (ms_client_attach_user(c, uid) < 0) {
        tt_conn_close(c->conn, "out of memory");
        return;
    }
    if (info->user_nick_name) { /* for push alerts of its messages (push.c) */
        size_t n = tt_utf8_prefix(info->user_nick_name, strlen(info->user_nick_name),
                                  MS_NICK_MAX);
        memcpy(c->user->nick, info->user_nick_name, n);
        c->user->nick[n] = '\0';
    }
    /* The newer login wins: same-class connections here, and everywhere else via route. */
    ms_kick_same_class(c->user, c->client_type,
                       IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER, c);
    IM__Server__IMServerKickUser kick = IM__SERVER__IMSERVER_KICK_USER__INIT;
    kick.user_id = uid;
    kick.client_type = c->client_type;
    kick.reason = IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER;
    tt_link_t *master = ms_route_master(ms);
    if (master)
        tt_link_send(master, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                     IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, 0, &kick.base);

    c->state = CLIENT_ONLINE;
    ms->online++;
    /* Logged in: the normal buffer caps instead of the small ones of a stranger. */
    tt_conn_set_caps(c->conn, ms->client_opts.lim.max_in, ms->client_opts.lim.max_out);
    tt_conn_set_timeouts(c->conn,
                         ms_is_mobile(c->client_type) ? ms->mobile_timeout_ms : ms->pc_timeout_ms,
                         0);
    IM__Server__IMUserCntUpdate cnt = IM__SERVER__IMUSER_CNT_UPDATE__INIT;
    cnt.user_action = 1;
    cnt.user_id = uid;
    ms_login_send_all(ms, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                      IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_CNT_UPDATE, &cnt.base);
    IM__Server__IMUserStatusUpdate st = IM__SERVER__IMUSER_STATUS_UPDATE__INIT;
    st.user_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    st.user_id = uid;
    st.client_type = c->client_type;
    ms_route_send_all(ms, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                      IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_STATUS_UPDATE, &st.base);

    IM__Login__IMLoginRes res = IM__LOGIN__IMLOGIN_RES__INIT;
    res.server_time = (uint32_t)time(NULL);
    res.result_code = 0;
    res.result_string = (char *)(text ? text : "成功");
    res.has_online_status = 1;
    res.online_status = c->online_status;
    res.user_info = (IM__BaseDefine__UserInfo *)info;
    ms_slot_answer(c, ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                   IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN, &res.base);
    log_info("user %u logged in from %s (client type 0x%x)", uid, c->conn->peer, c->client_type);
}

static void validated(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Server__IMValidateRsp *rsp = (IM__Server__IMValidateRsp *)tt_pb_unpack(
        &im__server__imvalidate_rsp__descriptor, pdu->body, pdu->body_len);
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    if (!rsp || !rsp->has_attach_data ||
        ms_attach_decode(&rsp->attach_data, &handle, &ordinal, &payload, &plen) < 0) {
        log_warn("validate answer from db_proxy_server does not parse");
        tt_pb_free(rsp);
        return;
    }
    client_t *c = ms_client_find(ms, handle);
    if (!c || c->state != CLIENT_VALIDATING) {
        tt_pb_free(rsp); /* the client left meanwhile */
        return;
    }
    if (rsp->result_code == 0 && rsp->user_info && rsp->user_info->user_id != 0) {
        go_online(c, rsp->user_info, ordinal, rsp->result_string);
    } else {
        const char *text = rsp->result_string ? rsp->result_string : "用户名/密码错误";
        log_info_rl("login of '%s' from %s refused by db_proxy_server: %u %s", rsp->user_name,
                 c->conn->peer, rsp->result_code, text);
        IM__Login__IMLoginRes res = IM__LOGIN__IMLOGIN_RES__INIT;
        res.server_time = (uint32_t)time(NULL);
        /* db_proxy_server busy (3): a code the clients retry (6 means "wrong password, do not
         * retry" to Android) */
        res.result_code = rsp->result_code == DBP_VALIDATE_BUSY
                              ? IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_MSG_SERVER_FULL
                              : IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_DB_VALIDATE_FAILED;
        res.result_string = (char *)text;
        ms_slot_answer(c, ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                       IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN, &res.base);
        c->state = CLIENT_GONE;
        tt_conn_close_after_flush(c->conn, "login refused");
    }
    tt_pb_free(rsp);
}

/* Presence and counters when a logged-in connection goes away (any reason). */
static void client_closed(client_t *c)
{
    msg_server_t *ms = c->ms;
    if (ms->online > 0)
        ms->online--;
    IM__Server__IMUserCntUpdate cnt = IM__SERVER__IMUSER_CNT_UPDATE__INIT;
    cnt.user_action = 2;
    cnt.user_id = c->user_id;
    ms_login_send_all(ms, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                      IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_CNT_UPDATE, &cnt.base);
    IM__Server__IMUserStatusUpdate st = IM__SERVER__IMUSER_STATUS_UPDATE__INIT;
    st.user_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE;
    st.user_id = c->user_id;
    st.client_type = c->client_type;
    ms_route_send_all(ms, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                      IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_STATUS_UPDATE, &st.base);
}

/* ---- logout, push tokens, kicks ---- */

static void logout(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    /* Forget the push token of this device: it logged out. */
    if (ms_is_mobile(c->client_type)) {
        int link = ms_db_pick(ms, c);
        IM__Login__IMDeviceTokenReq t = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
        t.user_id = c->user_id;
        t.device_token = "";
        t.has_client_type = 1;
        t.client_type = c->client_type;
        if (link >= 0)
            tt_link_send(ms->db[link].link, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                         IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_DEVICETOKEN, 0, &t.base);
    }
    IM__Login__IMLogoutRsp rsp = IM__LOGIN__IMLOGOUT_RSP__INIT;
    rsp.result_code = 0;
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (s)
        ms_slot_answer(c, s->ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                       IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_LOGINOUT, &rsp.base);
    c->state = CLIENT_GONE;
    tt_conn_close_after_flush(c->conn, "logged out");
}

static void device_token(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if (!ms_is_mobile(c->client_type))
        return; /* only mobile clients have push tokens */
    IM__Login__IMDeviceTokenReq *req = (IM__Login__IMDeviceTokenReq *)tt_pb_unpack(
        &im__login__imdevice_token_req__descriptor, pdu->body, pdu->body_len);
    if (!req)
        return;
    IM__Login__IMDeviceTokenRsp rsp = IM__LOGIN__IMDEVICE_TOKEN_RSP__INIT;
    rsp.user_id = c->user_id;
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (s)
        ms_slot_answer(c, s->ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                       IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_DEVICETOKEN, &rsp.base);
    req->user_id = c->user_id;
    req->has_client_type = 1;
    req->client_type = c->client_type;
    req->has_attach_data = 0;
    int link = ms_db_pick(ms, c);
    if (link >= 0)
        tt_link_send(ms->db[link].link, pdu->service_id, pdu->command_id, 0, &req->base);
    tt_pb_free(req);
}

static void kick_pc(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if (!ms_is_mobile(c->client_type))
        return; /* only a phone may kick the PC session */
    ms_kick_same_class(c->user, IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC,
                       IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_MOBILE_KICK, c);
    IM__Server__IMServerKickUser kick = IM__SERVER__IMSERVER_KICK_USER__INIT;
    kick.user_id = c->user_id;
    kick.client_type = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC;
    kick.reason = IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_MOBILE_KICK;
    tt_link_t *master = ms_route_master(ms);
    if (master)
        tt_link_send(master, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                     IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, 0, &kick.base);
    IM__Login__IMKickPCClientRsp rsp = IM__LOGIN__IMKICK_PCCLIENT_RSP__INIT;
    rsp.user_id = c->user_id;
    rsp.result_code = 0;
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (s)
        ms_slot_answer(c, s->ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                       IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_KICKPCCLIENT, &rsp.base);
}

/* the client was answered at once; db_proxy's confirmation is not needed */
static void ignored(msg_server_t *ms, const tt_pdu_t *pdu)
{
    (void)ms;
    (void)pdu;
}

/* db_proxy_server: this user is disabled (db_proxy_server/status_poll.c). Every connection of
 * it is kicked (IMKickUser, which makes every shipped client stop, then closed); nothing it
 * sends afterwards is read. */
static void user_disabled(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Server__IMServerKickUser *k = (IM__Server__IMServerKickUser *)tt_pb_unpack(
        &im__server__imserver_kick_user__descriptor, pdu->body, pdu->body_len);
    if (!k)
        return;
    uint32_t reason = k->reason == IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_MOBILE_KICK
                          ? k->reason
                          : IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER;
    static const uint32_t classes[] = {IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS,
                                       IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS};
    if (ms_user_find(ms, k->user_id))
        log_notice("user %u is disabled: disconnecting it", (unsigned)k->user_id);
    for (size_t i = 0; i < 2; i++) {
        user_t *u = ms_user_find(ms, k->user_id); /* looked up again: a kick may free it */
        if (u)
            ms_kick_same_class(u, classes[i], reason, NULL);
    }
    tt_pb_free(k);
}

static void pc_login_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Server__IMServerPCLoginStatusNotify *n =
        (IM__Server__IMServerPCLoginStatusNotify *)tt_pb_unpack(
            &im__server__imserver_pclogin_status_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    user_t *u = ms_user_find(ms, n->user_id);
    if (u) {
        u->pc_online = n->login_status == 1;
        IM__Buddy__IMPCLoginStatusNotify out = IM__BUDDY__IMPCLOGIN_STATUS_NOTIFY__INIT;
        out.user_id = n->user_id;
        out.login_stat = u->pc_online ? IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE
                                      : IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE;
        ms_user_send(u, MS_MOBILE_ONLY, NULL, SID_BUDDY,
                     IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY,
                     &out.base);
    }
    tt_pb_free(n);
}

static void server_kick(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Server__IMServerKickUser *k = (IM__Server__IMServerKickUser *)tt_pb_unpack(
        &im__server__imserver_kick_user__descriptor, pdu->body, pdu->body_len);
    if (!k)
        return;
    user_t *u = ms_user_find(ms, k->user_id);
    if (u)
        ms_kick_same_class(u, k->client_type, k->reason, NULL);
    tt_pb_free(k);
}

static const ms_client_cmd_t client_cmds[] = {
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN, login_request, NULL, 0, 0, 1},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_LOGINOUT, logout, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_DEVICETOKEN, device_token, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_KICKPCCLIENT, kick_pc, NULL, 0, 0, 0},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_PUSH_SHIELD, NULL,
     &im__login__impush_shield_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_QUERY_PUSH_SHIELD, NULL,
     &im__login__imquery_push_shield_req__descriptor, MS_TO_DB, 0, 0},
};

static const ms_answer_t db_answers[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_RSP, NULL, validated},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_PUSH_SHIELD,
     &im__login__impush_shield_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_QUERY_PUSH_SHIELD,
     &im__login__imquery_push_shield_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_DEVICETOKEN, NULL, ignored},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, NULL, user_disabled},
};

static const ms_answer_t route_answers[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_LOGIN_STATUS_NOTIFY, NULL, pc_login_notify},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, NULL, server_kick},
};

const ms_feature_t ms_login_feature = {
    .name = "login",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
    .client_closed = client_closed,
};
