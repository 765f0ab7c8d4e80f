/* Groups (a feature, layer 5, ms_group.h): the normal group list, group info, creating a
 * temporary group, member changes and shield. Every request is forwarded to db_proxy_server
 * with the session's user id (the one in the message is overwritten) and its answer relayed
 * as it is, in the order the client asked; db_proxy_server decides who may see and change
 * what (h_group.c). Group messages and the member-change notify are not served yet. */
#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "ms_group.h"

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

static const ms_answer_t db_answers[] = {
    {GROUP(NORMAL_LIST_RESPONSE), &im__group__imnormal_group_list_rsp__descriptor, NULL},
    {GROUP(INFO_RESPONSE), &im__group__imgroup_info_list_rsp__descriptor, NULL},
    {GROUP(CREATE_RESPONSE), &im__group__imgroup_create_rsp__descriptor, NULL},
    {GROUP(CHANGE_MEMBER_RESPONSE), &im__group__imgroup_change_member_rsp__descriptor, NULL},
    {GROUP(SHIELD_GROUP_RESPONSE), &im__group__imgroup_shield_rsp__descriptor, NULL},
};

const ms_feature_t ms_group_feature = {
    .name = "group",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
};
