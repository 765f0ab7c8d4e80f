/* hs_msgs: POST /api/v1/msg/send — a text message from a user (permission msg.send_as_user)
 * or from the system account ApiSystemUserId (msg.send) to a user or a group. The text (UTF-8,
 * at most ApiMaxText bytes) is encrypted with aesKey as clients encrypt it, stored through
 * db_proxy_server as msg_server stores a client's IMMsgData (msg_id 0 and a 12-byte
 * attach_data: no resend detection, each request is a new message), and once stored delivered
 * as msg_server delivers one it stored: a one-to-one message to route_server as CID_MSG_DATA,
 * which relays it to every msg_server (each writes it to the receiver's and the sender's
 * connections); a group message to route_server as TT_CID_GROUP_FANOUT (base/tt_fanout.h)
 * with every member that db_proxy_server answered, which sends it on to the msg_servers
 * holding members. Answers {"msg_id":..,"create_time":..}; 422 when db_proxy_server did not
 * store it (no such receiver, the sender is not a member of the group), 503/504 as every
 * endpoint. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "hs.h"
#include "tt_fanout.h"
#include "tt_log.h"

#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define CID_MSG_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define ATTACH_TYPE_HANDLE 1
#define GROUP_TAG "GRPV" /* db_proxy_server/h_msg.h DBP_MSG_GROUP_TAG */

/* The members in a stored group message's answer: head 12 bytes, BE32 length, "GRPV",
 * BE32 version, BE32 n, n x BE32 ids. -1 when it has none. */
static int group_members(const IM__Message__IMMsgData *m, const uint8_t **ids, size_t *n)
{
    const uint8_t *a = m->attach_data.data;
    size_t len = m->attach_data.len;
    if (!m->has_attach_data || len < 28 || tt_get32(a + 12) != len - 16 ||
        memcmp(a + 16, GROUP_TAG, 4) != 0)
        return -1;
    *n = tt_get32(a + 24);
    if (*n == 0 || *n != (len - 28) / 4 || (len - 28) % 4)
        return -1;
    *ids = a + 28;
    return 0;
}

static void deliver(hs_t *hs, IM__Message__IMMsgData *m)
{
    int group = m->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT;
    if (!group) {
        m->has_attach_data = 0;
        if (hs_route_send(hs, SID_MSG, CID_MSG_DATA, &m->base) < 0)
            log_warn("message %u to user %u stored, but no route_server link is up: the "
                     "receiver finds it in the unread count",
                     (unsigned)m->msg_id, (unsigned)m->to_session_id);
        return;
    }
    const uint8_t *ids;
    size_t n;
    if (group_members(m, &ids, &n) < 0) {
        log_warn("group message %u stored without a member list: not delivered live",
                 (unsigned)m->msg_id);
        return;
    }
    uint8_t *all = m->attach_data.data;
    size_t len = m->attach_data.len;
    m->attach_data.data = (uint8_t *)ids;
    m->attach_data.len = 4 * n;
    if (hs_route_send(hs, TT_SID_MSG, TT_CID_GROUP_FANOUT, &m->base) < 0)
        log_warn("group message %u stored, but no route_server link is up: members find it "
                 "in their unread counts",
                 (unsigned)m->msg_id);
    m->attach_data.data = all;
    m->attach_data.len = len;
}

static void send_done(hs_t *hs, tt_http_req_t *req, const tt_pdu_t *pdu, hs_call_t *c)
{
    (void)c;
    if (!pdu) {
        if (req)
            hs_api_error(req, 504, "db_proxy_server did not answer in time");
        return;
    }
    IM__Message__IMMsgData *m = hs_unpack(&im__message__immsg_data__descriptor, pdu);
    if (!m || m->msg_id == 0) {
        if (req)
            hs_api_error(req, 422, m ? "not stored: no such receiver, or the sender is not a "
                                       "member of the group"
                                     : "db_proxy_server answer does not parse");
        tt_pb_free(m);
        return;
    }
    log_info("message %u from user %u to %s %u sent through the API", (unsigned)m->msg_id,
             (unsigned)m->from_user_id,
             m->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT ? "group" : "user",
             (unsigned)m->to_session_id);
    deliver(hs, m);
    if (req)
        hs_api_reply(req, json_pack("{s:I,s:I}", "msg_id", (json_int_t)m->msg_id,
                                    "create_time", (json_int_t)m->create_time));
    tt_pb_free(m);
}

static void msg_send(hs_t *hs, tt_http_req_t *req, json_t *o, const hs_key_t *key)
{
    uint32_t from = 0, to = 0;
    json_t *jfrom = json_object_get(o, "from_user_id");
    int to_user = json_object_get(o, "to_user_id") != NULL;
    int to_group = json_object_get(o, "to_group_id") != NULL;
    const char *text = hs_get_str(o, "text");
    if (to_user == to_group) {
        hs_api_error(req, 400, "exactly one of to_user_id and to_group_id is required");
        return;
    }
    if (hs_api_id(req, o, to_user ? "to_user_id" : "to_group_id", &to) < 0)
        return;
    if (!text) {
        hs_api_error(req, 400, "text (a string) is required");
        return;
    }
    size_t len = json_string_length(json_object_get(o, "text"));
    if (len == 0 || len > (size_t)hs->max_text || memchr(text, '\0', len)) {
        hs_api_error(req, 400, "text must be 1..ApiMaxText bytes of UTF-8 without NUL");
        return;
    }
    if (jfrom) {
        if (hs_api_id(req, o, "from_user_id", &from) < 0)
            return;
        if (!hs_key_has(key, "msg.send_as_user")) {
            hs_api_error(req, 403, "sending as a user needs the permission msg.send_as_user");
            return;
        }
    } else if (!(from = hs->system_user)) {
        hs_api_error(req, 400, "from_user_id is required: no ApiSystemUserId is configured");
        return;
    }
    if (to_user && to == from) {
        hs_api_error(req, 400, "a message to its own sender");
        return;
    }
    if (!hs->have_cipher) {
        hs_api_error(req, 503, "no aesKey configured: messages cannot be encrypted");
        return;
    }
    size_t cap = ttc_tt_cipher_text_len(len) + 1;
    char *cipher = malloc(cap);
    long clen = cipher ? ttc_tt_encrypt(&hs->cipher, text, len, cipher, cap) : -1;
    if (clen < 0) {
        free(cipher);
        hs_api_error(req, 500, "the text could not be encrypted");
        return;
    }
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    uint8_t attach[12];
    tt_put32(attach, ATTACH_TYPE_HANDLE);
    tt_put32(attach + 4, 0);
    tt_put32(attach + 8, 0);
    m.from_user_id = from;
    m.to_session_id = to;
    m.msg_id = 0;
    m.create_time = (uint32_t)time(NULL);
    m.msg_type = to_user ? IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT
                         : IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT;
    m.msg_data.data = (uint8_t *)cipher;
    m.msg_data.len = (size_t)clen;
    m.has_attach_data = 1;
    m.attach_data.data = attach;
    m.attach_data.len = sizeof(attach);
    hs_api_db_call(hs, req, SID_MSG, CID_MSG_DATA, CID_MSG_DATA, &m.base, send_done);
    free(cipher);
}

const hs_route_t hs_msgs_routes[] = {
    {"/api/v1/msg/send", "msg.send", msg_send},
    HS_ROUTES_END};
