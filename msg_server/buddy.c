/* Buddy list, organisation and profile (a feature, layer 5, ms_buddy.h): user info, all
 * users and departments, presence, signature and avatar changes (announced through
 * route_server to every msg_server), recent sessions and their removal (the user's other
 * devices follow). Most commands are forwarded to db_proxy_server or route_server and their
 * answers relayed as they are; the rows say which. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "ms_answers.h"
#include "ms_buddy.h"
#include "ms_dispatch.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_log.h"

#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST

/* ---- commands from clients ---- */

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

/* A signature or avatar with a NUL byte is refused; the others are forwarded to db_proxy. */
static void change_sign(client_t *c, const tt_pdu_t *pdu)
{
    if (tt_pb_field_has_nul(pdu->body, pdu->body_len, 2) == 1) /* sign_info */
        refuse_nul(c, pdu);
    else
        ms_forward(c, &im__buddy__imchange_sign_info_req__descriptor, MS_TO_DB, 0, pdu);
}

static void change_avatar(client_t *c, const tt_pdu_t *pdu)
{
    if (tt_pb_field_has_nul(pdu->body, pdu->body_len, 2) == 1) /* avatar_url */
        refuse_nul(c, pdu);
    else /* the request rides along: its URL goes into the change notify */
        ms_forward(c, &im__buddy__imchange_avatar_req__descriptor, MS_TO_DB, 1, pdu);
}

static const ms_client_cmd_t client_cmds[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_REQUEST, NULL,
     &im__buddy__imusers_info_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_REQUEST, NULL,
     &im__buddy__imall_user_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_REQUEST, NULL,
     &im__buddy__imdepartment_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, change_sign,
     NULL, 0, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, change_avatar,
     NULL, 0, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST, NULL,
     &im__buddy__imusers_stat_req__descriptor, MS_TO_ROUTE, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, NULL,
     &im__buddy__imrecent_contact_session_req__descriptor, MS_TO_DB, 0, 0},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_REQ, NULL,
     &im__buddy__imremove_session_req__descriptor, MS_TO_DB, 0, 0},
};

/* ---- answers from db_proxy_server ---- */

/* Profile changes go to route_server, which sends them to every msg_server including this
 * one; without a route_server they are at least delivered here. */
static void announce(msg_server_t *ms, uint16_t cid, const ProtobufCMessage *notify)
{
    tt_link_t *master = ms_route_master(ms);
    if (master)
        tt_link_send(master, SID_BUDDY, cid, 0, notify);
    else
        ms_broadcast(ms, MS_ALL, SID_BUDDY, cid, notify);
}

static void sign_info_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    client_t *c;
    IM__Buddy__IMChangeSignInfoRsp *rsp = (IM__Buddy__IMChangeSignInfoRsp *)ms_relay_answer(
        ms, &im__buddy__imchange_sign_info_rsp__descriptor, pdu, &c, NULL);
    if (rsp && rsp->result_code == 0 && rsp->sign_info) {
        IM__Buddy__IMSignInfoChangedNotify n = IM__BUDDY__IMSIGN_INFO_CHANGED_NOTIFY__INIT;
        n.changed_user_id = c->user_id;
        n.sign_info = rsp->sign_info;
        announce(ms, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
                 &n.base);
    }
    tt_pb_free(rsp);
}

static void avatar_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    client_t *c;
    ProtobufCBinaryData request = {0, NULL};
    IM__Buddy__IMChangeAvatarRsp *rsp = (IM__Buddy__IMChangeAvatarRsp *)ms_relay_answer(
        ms, &im__buddy__imchange_avatar_rsp__descriptor, pdu, &c, &request);
    if (rsp && rsp->result_code == 0 && request.data) {
        IM__Buddy__IMChangeAvatarReq *req = (IM__Buddy__IMChangeAvatarReq *)tt_pb_unpack(
            &im__buddy__imchange_avatar_req__descriptor, request.data, request.len);
        if (req) {
            IM__Buddy__IMAvatarChangedNotify n = IM__BUDDY__IMAVATAR_CHANGED_NOTIFY__INIT;
            n.changed_user_id = c->user_id;
            n.avatar_url = req->avatar_url;
            announce(ms, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY,
                     &n.base);
            tt_pb_free(req);
        }
    }
    free(request.data);
    tt_pb_free(rsp);
}

static void session_removed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    client_t *c;
    IM__Buddy__IMRemoveSessionRsp *rsp = (IM__Buddy__IMRemoveSessionRsp *)ms_relay_answer(
        ms, &im__buddy__imremove_session_rsp__descriptor, pdu, &c, NULL);
    if (rsp && rsp->result_code == 0 &&
        rsp->session_type == IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE) {
        IM__Buddy__IMRemoveSessionNotify n = IM__BUDDY__IMREMOVE_SESSION_NOTIFY__INIT;
        n.user_id = c->user_id;
        n.session_type = rsp->session_type;
        n.session_id = rsp->session_id;
        ms_user_send(c->user, MS_ALL, c, SID_BUDDY,
                     IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
                     &n.base);
        tt_link_t *route = ms_route_master(ms);
        if (route)
            tt_link_send(route, SID_BUDDY,
                         IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
                         0, &n.base);
    }
    tt_pb_free(rsp);
}

static const ms_answer_t db_answers[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_RESPONSE,
     &im__buddy__imusers_info_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_RESPONSE,
     &im__buddy__imall_user_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_RESPONSE,
     &im__buddy__imdepartment_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, NULL,
     sign_info_answer},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, NULL,
     avatar_answer},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
     &im__buddy__imrecent_contact_session_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_RES, NULL, session_removed},
};

/* ---- from route_server ---- */

static void status_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Buddy__IMUserStatNotify *n = (IM__Buddy__IMUserStatNotify *)tt_pb_unpack(
        &im__buddy__imuser_stat_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    /* Presence goes to PC clients (mobile clients ask for it), as the shipped clients expect. */
    ms_broadcast(ms, MS_PC_ONLY, SID_BUDDY, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY,
                 &n->base);
    tt_pb_free(n);
}

/* Forwards a notification to every client unchanged (but with seq 0). */
static void to_all_clients(msg_server_t *ms, const ProtobufCMessageDescriptor *desc,
                           const tt_pdu_t *pdu)
{
    ProtobufCMessage *m = tt_pb_unpack(desc, pdu->body, pdu->body_len);
    if (!m)
        return;
    ms_broadcast(ms, MS_ALL, pdu->service_id, pdu->command_id, m);
    tt_pb_free(m);
}

static void sign_changed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    to_all_clients(ms, &im__buddy__imsign_info_changed_notify__descriptor, pdu);
}

static void avatar_changed(msg_server_t *ms, const tt_pdu_t *pdu)
{
    to_all_clients(ms, &im__buddy__imavatar_changed_notify__descriptor, pdu);
}

static void remove_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Buddy__IMRemoveSessionNotify *n = (IM__Buddy__IMRemoveSessionNotify *)tt_pb_unpack(
        &im__buddy__imremove_session_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    user_t *u = ms_user_find(ms, n->user_id);
    if (u)
        ms_user_send(u, MS_ALL, NULL, IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST,
                     IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
                     &n->base);
    tt_pb_free(n);
}

static const ms_answer_t route_answers[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY, NULL, status_notify},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
     &im__buddy__imusers_stat_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, NULL,
     sign_changed},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY, NULL,
     avatar_changed},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, NULL,
     remove_notify},
};

const ms_feature_t ms_buddy_feature = {
    .name = "buddy",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
};
