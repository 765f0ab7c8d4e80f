/* What db_proxy_server and route_server send to this msg_server: answers to client requests
 * (relayed to the requesting connection, in request order, with attach_data removed), and
 * notifications (presence, kicks, profile changes) fanned out to the right connections. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "msg_server.h"
#include "tt_log.h"

#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST

/* Relays an answer to the connection named in its attach_data. Returns the unpacked answer
 * (caller frees) so that follow-up work can use it, or NULL. *client gets the requester. */
static ProtobufCMessage *relay_answer(msg_server_t *ms, const ProtobufCMessageDescriptor *desc,
                                      const tt_pdu_t *pdu, client_t **client,
                                      ProtobufCBinaryData *request)
{
    *client = NULL;
    ProtobufCMessage *m = tt_pb_unpack(desc, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("answer 0x%04x does not parse: dropped", pdu->command_id);
        return NULL;
    }
    protobuf_c_boolean *has;
    ProtobufCBinaryData *attach = ms_pb_attach(m, &has);
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    if (!attach || !*has || ms_attach_decode(attach, &handle, &ordinal, &payload, &plen) < 0) {
        log_warn_rl("answer 0x%04x without a valid attach_data: dropped", pdu->command_id);
        tt_pb_free(m);
        return NULL;
    }
    client_t *c = ms_client_find(ms, handle);
    uint32_t uid;
    if (!c || c->state != CLIENT_ONLINE ||
        (ms_pb_get_u32(m, "user_id", &uid) == 0 && uid != c->user_id)) {
        tt_pb_free(m); /* the requester left (or the handle was reused) */
        return NULL;
    }
    if (request && payload) {
        request->data = malloc(plen ? plen : 1);
        if (request->data) {
            memcpy(request->data, payload, plen);
            request->len = plen;
        }
    }
    /* Clients never see attach_data. */
    free(attach->data);
    attach->data = NULL;
    attach->len = 0;
    *has = 0;
    ms_slot_answer(c, ordinal, pdu->service_id, pdu->command_id, m);
    *client = c;
    return m;
}

static void relay_plain(msg_server_t *ms, const ProtobufCMessageDescriptor *desc,
                        const tt_pdu_t *pdu)
{
    client_t *c;
    tt_pb_free(relay_answer(ms, desc, pdu, &c, NULL));
}

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
    IM__Buddy__IMChangeSignInfoRsp *rsp = (IM__Buddy__IMChangeSignInfoRsp *)relay_answer(
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
    IM__Buddy__IMChangeAvatarRsp *rsp = (IM__Buddy__IMChangeAvatarRsp *)relay_answer(
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
    IM__Buddy__IMRemoveSessionRsp *rsp = (IM__Buddy__IMRemoveSessionRsp *)relay_answer(
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

typedef struct answer_s {
    uint16_t cid;
    const ProtobufCMessageDescriptor *desc; /* relayed as is when fn is NULL */
    void (*fn)(msg_server_t *ms, const tt_pdu_t *pdu);
} answer_t;

static void validated(msg_server_t *ms, const tt_pdu_t *pdu) { ms_login_validated(ms, pdu); }
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

static const answer_t db_answers[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_VALIDATE_RSP, NULL, validated},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USER_INFO_RESPONSE,
     &im__buddy__imusers_info_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_ALL_USER_RESPONSE,
     &im__buddy__imall_user_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_DEPARTMENT_RESPONSE,
     &im__buddy__imdepartment_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_PUSH_SHIELD,
     &im__login__impush_shield_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_QUERY_PUSH_SHIELD,
     &im__login__imquery_push_shield_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, NULL,
     sign_info_answer},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, NULL,
     avatar_answer},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, NULL, ms_chat_stored},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
     &im__buddy__imrecent_contact_session_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_RES, NULL, session_removed},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_RESPONSE,
     &im__message__imunread_msg_cnt_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_LIST_RESPONSE,
     &im__message__imget_msg_list_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_LATEST_MSG_ID_RSP,
     &im__message__imget_latest_msg_id_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_GET_BY_MSG_ID_RES,
     &im__message__imget_msg_by_id_rsp__descriptor, NULL},
    /* the client was answered at once; db_proxy's confirmation is not needed */
    {IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_DEVICETOKEN, NULL, ignored},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, NULL, user_disabled},
};

/* Runs the table entry for the command: its handler, or a plain relay to the requester. */
static void dispatch(msg_server_t *ms, const answer_t *table, size_t n, const char *from,
                     const tt_pdu_t *pdu)
{
    for (size_t i = 0; i < n; i++) {
        const answer_t *a = &table[i];
        if (a->cid != pdu->command_id)
            continue;
        if (a->fn)
            a->fn(ms, pdu);
        else
            relay_plain(ms, a->desc, pdu);
        return;
    }
    log_info_rl("command 0x%04x from %s not handled", pdu->command_id, from);
}

void ms_db_pdu(msg_server_t *ms, int link, const tt_pdu_t *pdu)
{
    (void)link;
    dispatch(ms, db_answers, sizeof(db_answers) / sizeof(db_answers[0]), "db_proxy_server", pdu);
}

/* ---- route_server ---- */

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

static const answer_t route_cmds[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY, NULL, status_notify},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_LOGIN_STATUS_NOTIFY, NULL, pc_login_notify},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, NULL, server_kick},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
     &im__buddy__imusers_stat_rsp__descriptor, NULL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, NULL,
     sign_changed},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY, NULL,
     avatar_changed},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, NULL, ms_chat_routed},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, NULL, ms_chat_read_notify},
    {IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, NULL, ms_chat_p2p_routed},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, NULL,
     ms_chat_remove_notify},
};

void ms_route_pdu(msg_server_t *ms, const tt_pdu_t *pdu)
{
    dispatch(ms, route_cmds, sizeof(route_cmds) / sizeof(route_cmds[0]), "route_server", pdu);
}
