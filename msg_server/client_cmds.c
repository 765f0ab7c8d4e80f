/* Commands from clients. Before login only the login request (and heartbeats, echoed by the
 * listener) are accepted; anything else closes the connection. After login, a table maps each
 * command either to a handler here or to a forward to db_proxy_server / route_server, with the
 * requester's user id stamped in and attach_data set so that the answer finds its way back. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "IM.SwitchService.pb-c.h"
#include "msg_server.h"
#include "tt_log.h"

enum { TO_DB, TO_ROUTE };

typedef struct forward_s {
    uint16_t cid;                          /* client command */
    const ProtobufCMessageDescriptor *desc; /* its body */
    uint8_t dest;                          /* TO_DB or TO_ROUTE */
    uint8_t keep_request;                  /* carry the request in attach_data (type 3) */
} forward_t;

static const forward_t forwards[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_REQUEST,
     &im__buddy__imusers_info_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_REQUEST,
     &im__buddy__imall_user_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_REQUEST,
     &im__buddy__imdepartment_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
     &im__buddy__imchange_sign_info_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST,
     &im__buddy__imchange_avatar_req__descriptor, TO_DB, 1},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_PUSH_SHIELD,
     &im__login__impush_shield_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
     &im__login__imquery_push_shield_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST,
     &im__buddy__imusers_stat_req__descriptor, TO_ROUTE, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST,
     &im__buddy__imrecent_contact_session_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_REQ,
     &im__buddy__imremove_session_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_REQUEST,
     &im__message__imunread_msg_cnt_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_REQUEST,
     &im__message__imget_msg_list_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_REQ,
     &im__message__imget_latest_msg_id_req__descriptor, TO_DB, 0},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_REQ,
     &im__message__imget_msg_by_id_req__descriptor, TO_DB, 0},
};

/* A signature or avatar URL with a NUL byte: protobuf-c would hand it over cut at the NUL,
 * and the cut text would be stored while the client hears "ok". It is refused instead, with
 * the failure answer (result_code 1) of its command. */
static void refuse_nul(client_t *c, const tt_pdu_t *pdu)
{
    log_info("command 0x%04x of user %u refused: a NUL in its text", pdu->command_id,
             c->user_id);
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (!s)
        return;
    uint16_t sid = IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST;
    if (pdu->command_id == IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST) {
        IM__Buddy__IMChangeSignInfoRsp rsp = IM__BUDDY__IMCHANGE_SIGN_INFO_RSP__INIT;
        rsp.user_id = c->user_id;
        rsp.result_code = 1;
        ms_slot_answer(c, s->ordinal, sid,
                       IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
                       &rsp.base);
    } else {
        IM__Buddy__IMChangeAvatarRsp rsp = IM__BUDDY__IMCHANGE_AVATAR_RSP__INIT;
        rsp.user_id = c->user_id;
        rsp.result_code = 1;
        ms_slot_answer(c, s->ordinal, sid,
                       IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
                       &rsp.base);
    }
}

/* Stamps the user id and attach_data into the request and sends it upstream, with a slot
 * reserved for the answer. */
static void forward(client_t *c, const forward_t *f, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    if ((f->cid == IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST ||
         f->cid == IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST) &&
        tt_pb_field_has_nul(pdu->body, pdu->body_len, 2) == 1) { /* sign_info / avatar_url */
        refuse_nul(c, pdu);
        return;
    }
    ProtobufCMessage *m = tt_pb_unpack(f->desc, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("command 0x%04x from %s (user %u) does not parse: ignored", pdu->command_id,
                 c->conn->peer, c->user_id);
        return;
    }
    ms_pb_set_u32(m, "user_id", c->user_id);
    int link = -1;
    tt_link_t *to;
    if (f->dest == TO_DB) {
        link = ms_db_pick(ms, c);
        to = link >= 0 ? ms->db[link].link : NULL;
    } else {
        to = ms_route_master(ms);
    }
    if (!to) {
        /* No upstream: the request cannot be answered now; the client's timeout handles it. */
        log_warn_rl("command 0x%04x of user %u dropped: no %s link", pdu->command_id, c->user_id,
                 f->dest == TO_DB ? "db_proxy_server" : "route_server");
        tt_pb_free(m);
        return;
    }
    slot_t *s = ms_slot_open(c, pdu->seq_num, link);
    protobuf_c_boolean *has;
    ProtobufCBinaryData *attach = ms_pb_attach(m, &has);
    if (!s || !attach) {
        tt_pb_free(m);
        return;
    }
    free(attach->data); /* whatever the client put there is not trusted */
    attach->data = NULL;
    attach->len = 0;
    if (f->keep_request)
        ms_attach_encode_payload(attach, c->handle, s->ordinal, pdu->body, pdu->body_len);
    else if ((attach->data = malloc(12))) {
        ms_attach_encode(attach->data, c->handle, s->ordinal);
        attach->len = 12;
    }
    *has = attach->data != NULL;
    tt_link_send(to, pdu->service_id, pdu->command_id, pdu->seq_num, m);
    tt_pb_free(m);
}

static void client_time(client_t *c, const tt_pdu_t *pdu)
{
    IM__Message__IMClientTimeRsp rsp = IM__MESSAGE__IMCLIENT_TIME_RSP__INIT;
    rsp.server_time = (uint32_t)time(NULL);
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (s)
        ms_slot_answer(c, s->ordinal, IM__BASE_DEFINE__SERVICE_ID__SID_MSG,
                       IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_RESPONSE, &rsp.base);
}

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

static void data_ack(client_t *c, const tt_pdu_t *pdu)
{
    /* A receiving client confirms a delivery. Nothing is resent on a missing confirmation:
     * clients catch up through unread counts and history, so this only closes the loop. */
    (void)c;
    (void)pdu;
}

typedef struct local_cmd_s {
    uint16_t cid;
    void (*fn)(client_t *c, const tt_pdu_t *pdu);
} local_cmd_t;

static const local_cmd_t local_cmds[] = {
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_TIME_REQUEST, client_time},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_LOGINOUT, logout},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_DEVICETOKEN, device_token},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_KICKPCCLIENT, kick_pc},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, ms_chat_client_msg},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK, data_ack},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_ACK, ms_chat_read_ack},
    {IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, ms_chat_p2p},
};

void ms_client_pdu(client_t *c, const tt_pdu_t *pdu)
{
    if (pdu->command_id == IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN) {
        ms_login_request(c, pdu);
        return;
    }
    if (c->state != CLIENT_ONLINE) {
        if (c->state != CLIENT_GONE)
            tt_conn_close(c->conn, "command 0x%04x before login", pdu->command_id);
        return;
    }
    for (size_t i = 0; i < sizeof(local_cmds) / sizeof(local_cmds[0]); i++) {
        if (local_cmds[i].cid == pdu->command_id) {
            local_cmds[i].fn(c, pdu);
            return;
        }
    }
    for (size_t i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++) {
        if (forwards[i].cid == pdu->command_id) {
            forward(c, &forwards[i], pdu);
            return;
        }
    }
    log_info_rl("command 0x%04x from user %u not handled", pdu->command_id, c->user_id);
}
