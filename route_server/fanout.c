/* Group message fan-out (base/tt_fanout.h): a stored group message comes from the msg_server
 * its sender is on, with every member of the group; it goes on once to each other msg_server
 * that holds sessions of members, with only the ids of those members, so that each member
 * connection gets it exactly once and a msg_server without members gets nothing. The cost is
 * one presence look-up per member, whatever the size of the cluster. */
#include <stdlib.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "route_server.h"
#include "tt_fanout.h"
#include "tt_log.h"

#define RS_FANOUT_MAX_IDS 200000 /* members in one fan-out (db_proxy caps groups far below) */

typedef struct dest_s {
    rs_peer_t *peer;
    uint8_t *ids; /* BE32 member ids online there */
    size_t n;
} dest_t;

/* The destination of connection id `conn` among d[0..k), NULL when it is not one. */
static dest_t *dest_of(dest_t *d, size_t k, uint64_t conn)
{
    for (size_t i = 0; i < k; i++)
        if (d[i].peer->id == conn)
            return &d[i];
    return NULL;
}

void rs_group_fanout(void *ctx, tt_conn_t *from, const tt_pdu_t *pdu)
{
    route_server_t *rs = ctx;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m)
        return;
    size_t n = m->has_attach_data ? m->attach_data.len / 4 : 0;
    if ((m->msg_type != IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT &&
         m->msg_type != IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO) ||
        n == 0 || m->attach_data.len % 4 || n > RS_FANOUT_MAX_IDS) {
        log_warn_rl("group fan-out from %s refused: not a group message with a member list",
                    from->peer);
        tt_pb_free(m);
        return;
    }
    size_t k = 0;
    dest_t *d = calloc(rs->npeers ? rs->npeers : 1, sizeof(*d));
    if (!d)
        goto out;
    for (rs_peer_t *p = rs->head; p; p = p->next)
        if (p->conn != from && tt_conn_is_open(p->conn) && k < rs->npeers)
            d[k++].peer = p;
    uint64_t conns[RS_MAX_USER_SESSIONS];
    for (size_t i = 0; i < n && k > 0; i++) {
        uint32_t uid = tt_fanout_id(m->attach_data.data, i);
        size_t c = rs_presence_user_conns(&rs->presence, uid, conns, RS_MAX_USER_SESSIONS);
        for (size_t j = 0; j < c; j++) {
            dest_t *t = dest_of(d, k, conns[j]);
            if (!t)
                continue; /* the sender's msg_server: it delivered there itself */
            if (!t->ids && !(t->ids = malloc(4 * n))) {
                log_error("out of memory in a group fan-out to %s", t->peer->conn->peer);
                continue;
            }
            tt_put32(t->ids + 4 * t->n++, uid);
        }
    }
    uint8_t *all = m->attach_data.data;
    size_t sent = 0;
    for (size_t i = 0; i < k; i++) {
        if (!d[i].n)
            continue;
        m->attach_data.data = d[i].ids;
        m->attach_data.len = 4 * d[i].n;
        if (tt_pdu_send(d[i].peer->conn, TT_SID_MSG, TT_CID_GROUP_FANOUT, 0, &m->base) == 0)
            sent++;
        else
            log_warn_rl("group message %u of group %u not queued to %s", m->msg_id,
                        m->to_session_id, d[i].peer->conn->peer);
    }
    m->attach_data.data = all;
    m->attach_data.len = 4 * n;
    log_debug("group message %u of group %u (%zu members) sent to %zu msg_server(s)", m->msg_id,
              m->to_session_id, n, sent);
    for (size_t i = 0; i < k; i++)
        free(d[i].ids);
out:
    free(d);
    tt_pb_free(m);
}
