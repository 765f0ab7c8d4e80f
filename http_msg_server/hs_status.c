/* hs_status: who is online and a user's unread summary.
 *   POST /api/v1/user/online  {"user_ids":[..]}   (online.read) -> route_server's presence
 *        (IMUsersStatReq, as msg_server asks it: status 1 online, 2 offline, 3 leave)
 *   POST /api/v1/user/unread  {"user_id":u}       (unread.read) -> db_proxy_server
 *        (IMUnreadMsgCntReq): total and per conversation, the latest text decrypted. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "hs.h"
#include "tt_log.h"

#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define MSG(x) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##x
#define MAX_LATEST 16384 /* bytes of a decrypted latest message */

static const char *status_name(int s)
{
    switch (s) {
    case IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE: return "online";
    case IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_LEAVE: return "leave";
    default: return "offline";
    }
}

static void online_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)hs, (void)c;
    IM__Buddy__IMUsersStatRsp *r =
        hs_api_answer(req, pdu, &im__buddy__imusers_stat_rsp__descriptor, "route_server");
    if (!r)
        return;
    json_t *users = json_array();
    size_t online = 0;
    for (size_t i = 0; users && i < r->n_user_stat_list; i++) {
        int s = r->user_stat_list[i]->status;
        online += s != IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE;
        json_array_append_new(users, json_pack("{s:I,s:s}", "user_id",
                                               (json_int_t)r->user_stat_list[i]->user_id,
                                               "status", status_name(s)));
    }
    hs_api_reply(req, users ? json_pack("{s:I,s:o}", "online", (json_int_t)online, "users",
                                        users)
                            : NULL);
    tt_pb_free(r);
}

static void user_online(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    uint32_t *ids;
    size_t n;
    if (hs_get_ids(o, "user_ids", &ids, &n) < 0) {
        hs_api_error(req, 400, "user_ids must be an array of 1..2048 positive integers");
        return;
    }
    IM__Buddy__IMUsersStatReq r = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
    r.user_id = 0;
    r.n_user_id_list = n;
    r.user_id_list = ids;
    if (hs_route_call(hs, req, SID_BUDDY, BUDDY(USERS_STATUS_REQUEST),
                      BUDDY(USERS_STATUS_RESPONSE), &r.base, online_done, NULL) < 0)
        hs_api_error(req, 503, "no route_server link up, or too many requests pending");
    free(ids);
}

/* The latest message of an unread conversation as text: decrypted when it is text. */
static json_t *latest_text(hs_t *hs, const IM__BaseDefine__UnreadInfo *u)
{
    int text = u->latest_msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT ||
               u->latest_msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT;
    if (!text || !hs->have_cipher || u->latest_msg_data.len == 0)
        return json_null();
    uint8_t *out = malloc(MAX_LATEST);
    long n = out ? ttc_tt_decrypt(&hs->cipher, (const char *)u->latest_msg_data.data,
                                  u->latest_msg_data.len, out, MAX_LATEST)
                 : -1;
    json_t *s = n >= 0 ? json_stringn((const char *)out, (size_t)n) : NULL; /* NULL: not UTF-8 */
    free(out);
    return s ? s : json_null();
}

static void unread_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)c;
    IM__Message__IMUnreadMsgCntRsp *r =
        hs_api_answer(req, pdu, &im__message__imunread_msg_cnt_rsp__descriptor, "db_proxy_server");
    if (!r)
        return;
    json_t *list = json_array();
    for (size_t i = 0; list && i < r->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *u = r->unreadinfo_list[i];
        int group = u->session_type == IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP;
        json_array_append_new(
            list, json_pack("{s:I,s:s,s:I,s:I,s:I,s:o}", "session_id", (json_int_t)u->session_id,
                            "session_type", group ? "group" : "user", "unread",
                            (json_int_t)u->unread_cnt, "latest_msg_id",
                            (json_int_t)u->latest_msg_id, "latest_from_user_id",
                            (json_int_t)u->latest_msg_from_user_id, "latest_text",
                            latest_text(hs, u)));
    }
    hs_api_reply(req, list ? json_pack("{s:I,s:I,s:o}", "user_id", (json_int_t)r->user_id,
                                       "total", (json_int_t)r->total_cnt, "sessions", list)
                           : NULL);
    tt_pb_free(r);
}

static void user_unread(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    (void)key;
    uint32_t uid;
    if (hs_api_id(req, o, "user_id", &uid) < 0)
        return;
    IM__Message__IMUnreadMsgCntReq r = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    r.user_id = uid;
    hs_api_db_call(hs, req, SID_MSG, MSG(UNREAD_CNT_REQUEST), MSG(UNREAD_CNT_RESPONSE), &r.base,
                   unread_done);
}

const hs_route_t hs_status_routes[] = {
    {"/api/v1/user/online", "online.read", user_online},
    {"/api/v1/user/unread", "unread.read", user_unread},
    HS_ROUTES_END};
