/* Chat requests: messages out and their acks, delivery and read acks, history, unread counts,
 * recent sessions and the group requests (PROTOCOL §4.4, §4.5; CLIENTS §1). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tt_client.h"
#include "ttc_internal.h"

#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define MSG(x) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##x
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define GROUP(x) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##x

int ttc_send_msg(ttc_t *c, uint32_t to_session_id, uint32_t session_type, uint32_t msg_type,
                 const void *msg_data, size_t len, int timeout_ms, uint32_t *msg_id)
{
    if (msg_id)
        *msg_id = 0;
    if (!c)
        return TTC_ERR;
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.from_user_id = ttc_user_id(c);
    m.to_session_id = to_session_id;
    m.msg_id = 0;
    m.create_time = (uint32_t)time(NULL);
    m.msg_type = (IM__BaseDefine__MsgType)msg_type;
    m.msg_data.data = (uint8_t *)msg_data;
    m.msg_data.len = len;
    ttc_pdu_t *p = NULL;
    int rc = ttc_request(c, SID_MSG, MSG(DATA), &m.base, MSG(DATA_ACK), timeout_ms, &p);
    if (rc == TTC_TIMEOUT) {
        ttc_set_error(c, "no ack from the server within %d ms: the message was refused (unknown "
                      "receiver, not a member, or over a limit) or the server is too slow",
                      timeout_ms);
        return rc;
    }
    if (rc != 0)
        return rc;
    IM__Message__IMMsgDataAck *a = (IM__Message__IMMsgDataAck *)tt_pb_unpack(
        &im__message__immsg_data_ack__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    if (!a) {
        ttc_set_error(c, "the ack does not parse");
        return TTC_ERR;
    }
    rc = 0;
    if (a->session_id != to_session_id || (uint32_t)a->session_type != session_type ||
        a->msg_id == 0) {
        ttc_set_error(c, "the ack is for session %u type %u msg_id %u, not for %u type %u",
                      a->session_id, (unsigned)a->session_type, a->msg_id, to_session_id,
                      session_type);
        rc = TTC_ERR;
    } else if (msg_id) {
        *msg_id = a->msg_id;
    }
    tt_pb_free(a);
    return rc;
}

int ttc_msg_delivered(ttc_t *c, uint32_t session_id, uint32_t session_type, uint32_t msg_id)
{
    if (!c)
        return TTC_ERR;
    IM__Message__IMMsgDataAck a = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
    a.user_id = ttc_user_id(c);
    a.session_id = session_id;
    a.msg_id = msg_id;
    a.session_type = (IM__BaseDefine__SessionType)session_type;
    return ttc_send_seq(c, SID_MSG, MSG(DATA_ACK), 0, &a.base);
}

int ttc_msg_read(ttc_t *c, uint32_t session_id, uint32_t session_type, uint32_t msg_id)
{
    if (!c)
        return TTC_ERR;
    IM__Message__IMMsgDataReadAck a = IM__MESSAGE__IMMSG_DATA_READ_ACK__INIT;
    a.user_id = ttc_user_id(c);
    a.session_id = session_id;
    a.msg_id = msg_id;
    a.session_type = (IM__BaseDefine__SessionType)session_type;
    return ttc_send(c, SID_MSG, MSG(READ_ACK), &a.base, NULL);
}

IM__Message__IMGetMsgListRsp *ttc_history(ttc_t *c, uint32_t session_id, uint32_t session_type,
                                          uint32_t begin, uint32_t n, int timeout_ms,
                                          char *err, size_t errlen)
{
    IM__Message__IMGetMsgListReq r = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    r.session_type = (IM__BaseDefine__SessionType)session_type;
    r.session_id = session_id;
    r.msg_id_begin = begin;
    r.msg_cnt = n;
    return ttc_call(c, SID_MSG, MSG(LIST_REQUEST), &r.base, MSG(LIST_RESPONSE),
                    &im__message__imget_msg_list_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Message__IMUnreadMsgCntRsp *ttc_unread(ttc_t *c, int timeout_ms, char *err, size_t errlen)
{
    IM__Message__IMUnreadMsgCntReq r = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    return ttc_call(c, SID_MSG, MSG(UNREAD_CNT_REQUEST), &r.base, MSG(UNREAD_CNT_RESPONSE),
                    &im__message__imunread_msg_cnt_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Buddy__IMRecentContactSessionRsp *ttc_recent_sessions(ttc_t *c, uint32_t latest_update_time,
                                                          int timeout_ms, char *err,
                                                          size_t errlen)
{
    IM__Buddy__IMRecentContactSessionReq r = IM__BUDDY__IMRECENT_CONTACT_SESSION_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    r.latest_update_time = latest_update_time;
    return ttc_call(c, SID_BUDDY, BUDDY(RECENT_CONTACT_SESSION_REQUEST), &r.base,
                    BUDDY(RECENT_CONTACT_SESSION_RESPONSE),
                    &im__buddy__imrecent_contact_session_rsp__descriptor, timeout_ms, err,
                    errlen);
}

IM__Group__IMNormalGroupListRsp *ttc_normal_groups(ttc_t *c, int timeout_ms, char *err,
                                                   size_t errlen)
{
    IM__Group__IMNormalGroupListReq r = IM__GROUP__IMNORMAL_GROUP_LIST_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    return ttc_call(c, SID_GROUP, GROUP(NORMAL_LIST_REQUEST), &r.base,
                    GROUP(NORMAL_LIST_RESPONSE), &im__group__imnormal_group_list_rsp__descriptor,
                    timeout_ms, err, errlen);
}

#define GROUP_INFO_MAX 1000 /* groups per info request */

IM__Group__IMGroupInfoListRsp *ttc_group_info(ttc_t *c, const uint32_t *ids,
                                              const uint32_t *versions, size_t n, int timeout_ms,
                                              char *err, size_t errlen)
{
    if (n > GROUP_INFO_MAX) {
        if (err)
            snprintf(err, errlen, "more than %d groups in one request", GROUP_INFO_MAX);
        return NULL;
    }
    IM__BaseDefine__GroupVersionInfo v[GROUP_INFO_MAX];
    IM__BaseDefine__GroupVersionInfo *pv[GROUP_INFO_MAX];
    for (size_t i = 0; i < n; i++) {
        im__base_define__group_version_info__init(&v[i]);
        v[i].group_id = ids[i];
        v[i].version = versions ? versions[i] : 0;
        pv[i] = &v[i];
    }
    IM__Group__IMGroupInfoListReq r = IM__GROUP__IMGROUP_INFO_LIST_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    r.n_group_version_list = n;
    r.group_version_list = pv;
    return ttc_call(c, SID_GROUP, GROUP(INFO_REQUEST), &r.base, GROUP(INFO_RESPONSE),
                    &im__group__imgroup_info_list_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Group__IMGroupCreateRsp *ttc_group_create(ttc_t *c, const char *name, const uint32_t *members,
                                              size_t n, int timeout_ms, char *err,
                                              size_t errlen)
{
    IM__Group__IMGroupCreateReq r = IM__GROUP__IMGROUP_CREATE_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    r.group_type = IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP;
    r.group_name = (char *)(name ? name : "");
    r.group_avatar = "";
    r.n_member_id_list = n;
    r.member_id_list = (uint32_t *)members;
    return ttc_call(c, SID_GROUP, GROUP(CREATE_REQUEST), &r.base, GROUP(CREATE_RESPONSE),
                    &im__group__imgroup_create_rsp__descriptor, timeout_ms, err, errlen);
}

IM__Group__IMGroupChangeMemberRsp *ttc_group_change(ttc_t *c, uint32_t group_id,
                                                    uint32_t change_type, const uint32_t *members,
                                                    size_t n, int timeout_ms, char *err,
                                                    size_t errlen)
{
    IM__Group__IMGroupChangeMemberReq r = IM__GROUP__IMGROUP_CHANGE_MEMBER_REQ__INIT;
    r.user_id = c ? ttc_user_id(c) : 0;
    r.change_type = (IM__BaseDefine__GroupModifyType)change_type;
    r.group_id = group_id;
    r.n_member_id_list = n;
    r.member_id_list = (uint32_t *)members;
    return ttc_call(c, SID_GROUP, GROUP(CHANGE_MEMBER_REQUEST), &r.base,
                    GROUP(CHANGE_MEMBER_RESPONSE),
                    &im__group__imgroup_change_member_rsp__descriptor, timeout_ms, err, errlen);
}
