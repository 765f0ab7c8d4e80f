/* Groups (a feature, layer 5, ms_group.h): the normal group list, group info, creating a
 * temporary group, member changes and shield. Every request is forwarded to db_proxy_server
 * with the session's user id (the one in the message is overwritten) and its answer relayed
 * as it is, in the order the client asked; db_proxy_server decides who may see and change
 * what (h_group.c). A member change that was done is told to the members (the current ones and,
 * for a removal, the removed ones) with the change notify: here directly, except on the
 * requesting connection which has its answer, and through route_server on every other
 * msg_server, and the member list cached here for group messages (gcache.c) is marked stale.
 * Group messages themselves are chat's (chat.c: one command, CID_MSG_DATA, for both). */
#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "ms_answers.h"
#include "ms_gcache.h"
#include "ms_group.h"
#include "ms_session.h"
#include "ms_upstream.h"

#define GROUP(cmd) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##cmd

static const ms_client_cmd_t client_cmds[] = {
    {GROUP(NORMAL_LIST_REQUEST), NULL, &im__group__imnormal_group_list_req__descriptor,
     MS_TO_DB, 0, 0},
    {GROUP(INFO_REQUEST), NULL, &im__group__imgroup_info_list_req__descriptor, MS_TO_DB, 0, 0},
    {GROUP(CREATE_REQUEST), NULL, &im__group__imgroup_create_req__descriptor, MS_TO_DB, 0, 0},
    {GROUP(CHANGE_MEMBER_REQUEST), NULL, &im__group__imgroup_change_member_req__descriptor,
     MS_TO_DB, 0, 0},
    {GROUP(SHIELD_GROUP_REQUEST), NULL, &im__group__imgroup_shield_req__descriptor, MS_TO_DB, 0,
     0},
};

/* Sends the change notify to the connections here of the users in the notify's lists (the
 * changed users of an addition are among the current ones), except `except`. */
static void notify_members(msg_server_t *ms, const IM__Group__IMGroupChangeMemberNotify *n,
                           const client_t *except)
{
    int removal = n->change_type == IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL;
    for (int list = 0; list < 1 + removal; list++) {
        size_t count = list ? n->n_chg_user_id_list : n->n_cur_user_id_list;
        const uint32_t *ids = list ? n->chg_user_id_list : n->cur_user_id_list;
        for (size_t i = 0; i < count; i++) {
            user_t *u = ms_user_find(ms, ids[i]);
            if (u)
                ms_user_send(u, MS_ALL, except, IM__BASE_DEFINE__SERVICE_ID__SID_GROUP,
                             GROUP(CHANGE_MEMBER_NOTIFY), &n->base);
        }
    }
}

/* The answer to a member change: relayed to the requester (when it is still here), and a change
 * that was done is told to the members whether or not the requester is. */
static void change_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    client_t *c;
    tt_pb_free(ms_relay_answer(ms, &im__group__imgroup_change_member_rsp__descriptor, pdu, &c,
                               NULL));
    IM__Group__IMGroupChangeMemberRsp *rsp = (IM__Group__IMGroupChangeMemberRsp *)tt_pb_unpack(
        &im__group__imgroup_change_member_rsp__descriptor, pdu->body, pdu->body_len);
    if (rsp && rsp->result_code == 0 && rsp->n_chg_user_id_list > 0) {
        ms_gcache_stale(ms, rsp->group_id);
        IM__Group__IMGroupChangeMemberNotify n = IM__GROUP__IMGROUP_CHANGE_MEMBER_NOTIFY__INIT;
        n.user_id = rsp->user_id;
        n.change_type = rsp->change_type;
        n.group_id = rsp->group_id;
        n.n_cur_user_id_list = rsp->n_cur_user_id_list;
        n.cur_user_id_list = rsp->cur_user_id_list;
        n.n_chg_user_id_list = rsp->n_chg_user_id_list;
        n.chg_user_id_list = rsp->chg_user_id_list;
        notify_members(ms, &n, c);
        tt_link_t *route = ms_route_master(ms);
        if (route)
            tt_link_send(route, IM__BASE_DEFINE__SERVICE_ID__SID_GROUP,
                         GROUP(CHANGE_MEMBER_NOTIFY), 0, &n.base);
    }
    tt_pb_free(rsp);
}

/* A change made through another msg_server. */
static void change_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Group__IMGroupChangeMemberNotify *n = (IM__Group__IMGroupChangeMemberNotify *)tt_pb_unpack(
        &im__group__imgroup_change_member_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    ms_gcache_stale(ms, n->group_id);
    notify_members(ms, n, NULL);
    tt_pb_free(n);
}

static const ms_answer_t route_answers[] = {
    {GROUP(CHANGE_MEMBER_NOTIFY), NULL, change_notify},
};

static const ms_answer_t db_answers[] = {
    {GROUP(NORMAL_LIST_RESPONSE), &im__group__imnormal_group_list_rsp__descriptor, NULL},
    {GROUP(INFO_RESPONSE), &im__group__imgroup_info_list_rsp__descriptor, NULL},
    {GROUP(CREATE_RESPONSE), &im__group__imgroup_create_rsp__descriptor, NULL},
    {GROUP(CHANGE_MEMBER_RESPONSE), NULL, change_answer},
    {GROUP(SHIELD_GROUP_RESPONSE), &im__group__imgroup_shield_rsp__descriptor, NULL},
};

const ms_feature_t ms_group_feature = {
    .name = "group",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
};
