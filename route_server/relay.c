/* Relays: what one msg_server sends for users that may be on another goes to the others (or
 * to all, for notifications every msg_server delivers itself). Route_server does not look at
 * user ids: every relay is a broadcast, as in the original. Frames are passed on byte for
 * byte (version, flag, seq_num and reserved included).
 * P2P commands (typing, shake) are best effort: over MaxP2pCommand, over P2pBytesPerSecond
 * from one msg_server, or to a msg_server with more than P2pMaxQueued bytes of output waiting,
 * they are dropped (counted, logged at a bounded rate), so that a flood of them never fills a
 * link's output cap and cuts the link that carries other people's messages. */
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "route_server.h"
#include "tt_log.h"

typedef struct relay_s {
    uint16_t command_id;    /* what is relayed */
    rs_relay_scope_t scope; /* to whom */
} relay_t;

static const relay_t relays[] = {
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_NOTIFY, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_SERVER_KICK_USER, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CHANGE_MEMBER_NOTIFY, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_NOTIFY, RS_RELAY_OTHERS},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, RS_RELAY_OTHERS},
    /* every msg_server, the origin included, delivers these to its own clients */
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, RS_RELAY_ALL},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY, RS_RELAY_ALL},
};

rs_relay_scope_t rs_relay_scope(uint16_t command_id)
{
    for (size_t i = 0; i < sizeof(relays) / sizeof(relays[0]); i++)
        if (relays[i].command_id == command_id)
            return relays[i].scope;
    return RS_RELAY_NONE;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Queues the frame exactly as it was received. */
static int send_frame(tt_conn_t *c, const tt_pdu_t *pdu)
{
    uint8_t *p = tt_conn_reserve(c, pdu->length);
    if (!p)
        return -1;
    uint8_t head[TT_PDU_HEADER_LEN];
    tt_pdu_encode_header(head, pdu->length, pdu->service_id, pdu->command_id, pdu->seq_num);
    put16(head + 4, pdu->version);
    put16(head + 6, pdu->flag);
    put16(head + 14, pdu->reserved);
    memcpy(p, head, sizeof(head));
    if (pdu->body_len)
        memcpy(p + TT_PDU_HEADER_LEN, pdu->body, pdu->body_len);
    return tt_conn_commit(c, pdu->length);
}

/* A P2P command from `from` within the size cap and its sender's byte rate. */
static int p2p_allowed(route_server_t *rs, tt_conn_t *from, const tt_pdu_t *pdu)
{
    rs_peer_t *p = from->app;
    if (pdu->body_len > rs->max_p2p) {
        rs->p2p_dropped++;
        log_info_rl("P2P command of %u bytes from %s dropped: over MaxP2pCommand %u (%llu "
                    "dropped so far)",
                    (unsigned)pdu->body_len, from->peer, rs->max_p2p,
                    (unsigned long long)rs->p2p_dropped);
        return 0;
    }
    uint64_t now = tt_loop_now(from->loop), burst = 2 * rs->p2p_rate;
    if (p->p2p_at == 0)
        p->p2p_bytes = burst;
    else if (now > p->p2p_at)
        p->p2p_bytes += (now - p->p2p_at) * rs->p2p_rate / 1000;
    if (p->p2p_bytes > burst)
        p->p2p_bytes = burst;
    p->p2p_at = now;
    if (p->p2p_bytes < pdu->length) {
        rs->p2p_dropped++;
        log_info_rl("P2P commands from %s dropped: over P2pBytesPerSecond %llu (%llu dropped "
                    "so far)",
                    from->peer, (unsigned long long)rs->p2p_rate,
                    (unsigned long long)rs->p2p_dropped);
        return 0;
    }
    p->p2p_bytes -= pdu->length;
    return 1;
}

rs_relay_scope_t rs_relay(route_server_t *rs, tt_conn_t *from, const tt_pdu_t *pdu)
{
    rs_relay_scope_t scope = rs_relay_scope(pdu->command_id);
    if (scope == RS_RELAY_NONE)
        return scope;
    int p2p = pdu->command_id == IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD;
    if (p2p && !p2p_allowed(rs, from, pdu))
        return scope;
    size_t sent = 0;
    for (rs_peer_t *p = rs->head; p; p = p->next) {
        if (!tt_conn_is_open(p->conn) || (scope == RS_RELAY_OTHERS && p->conn == from))
            continue;
        if (p2p && tt_buf_len(&p->conn->out) + pdu->length > rs->p2p_max_queued) {
            rs->p2p_dropped++;
            log_info_rl("P2P command from %s not queued to %s: %zu bytes already wait there "
                        "(%llu dropped so far)",
                        from->peer, p->conn->peer, tt_buf_len(&p->conn->out),
                        (unsigned long long)rs->p2p_dropped);
            continue;
        }
        if (send_frame(p->conn, pdu) == 0)
            sent++;
    }
    log_debug("command 0x%04x (%u bytes) from %s relayed to %zu connection(s)", pdu->command_id,
              (unsigned)pdu->length, from->peer, sent);
    return scope;
}

size_t rs_broadcast(route_server_t *rs, const tt_conn_t *except, uint16_t service_id,
                    uint16_t command_id, const ProtobufCMessage *msg)
{
    size_t sent = 0;
    for (rs_peer_t *p = rs->head; p; p = p->next)
        if (p->conn != except && tt_conn_is_open(p->conn) &&
            tt_pdu_send(p->conn, service_id, command_id, 0, msg) == 0)
            sent++;
    return sent;
}
