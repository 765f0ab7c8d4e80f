/* The msg_server (and http_msg_server) connections: their life, and the commands they send.
 * Presence reports go into the presence state, whose notifications are broadcast to every
 * connection; presence queries are answered on the asking connection; relays go to relay.c.
 * Heartbeats are handled by tt_server (5 s / 30 s). */
#include <stdlib.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Server.pb-c.h"
#include "route_server.h"
#include "tt_fanout.h"
#include "tt_pushpresence.h"
#include "tt_log.h"

#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER

/* ---- presence notifications: to every connection ---- */

static void notify_pc_login(void *arg, uint32_t user_id, uint32_t login_status)
{
    route_server_t *rs = arg;
    IM__Server__IMServerPCLoginStatusNotify n = IM__SERVER__IMSERVER_PCLOGIN_STATUS_NOTIFY__INIT;
    n.user_id = user_id;
    n.login_status = login_status;
    rs_broadcast(rs, NULL, SID_OTHER, IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_LOGIN_STATUS_NOTIFY,
                 &n.base);
}

static void notify_user_stat(void *arg, uint32_t user_id, uint32_t status)
{
    route_server_t *rs = arg;
    IM__BaseDefine__UserStat st = IM__BASE_DEFINE__USER_STAT__INIT;
    st.user_id = user_id;
    st.status = (IM__BaseDefine__UserStatType)status;
    IM__Buddy__IMUserStatNotify n = IM__BUDDY__IMUSER_STAT_NOTIFY__INIT;
    n.user_stat = &st;
    rs_broadcast(rs, NULL, SID_BUDDY,
                 IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY, &n.base);
    log_info("user %u is now %s", (unsigned)user_id,
             status == RS_STATUS_ONLINE ? "online" : "offline");
}

void rs_peers_init(route_server_t *rs)
{
    rs_presence_sink_t sink = {notify_pc_login, notify_user_stat, rs};
    rs_presence_init(&rs->presence, &sink);
}

void rs_peers_free(route_server_t *rs)
{
    rs_peer_t *p = rs->head;
    while (p) {
        rs_peer_t *next = p->next;
        p->conn->app = NULL;
        free(p);
        p = next;
    }
    rs->head = rs->tail = NULL;
    rs->npeers = 0;
    rs_presence_free(&rs->presence);
}

/* ---- commands ---- */

#define UNPACK(type, desc, pdu) ((type *)tt_pb_unpack(&(desc), (pdu)->body, (pdu)->body_len))

static void online_user_info(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    route_server_t *rs = ctx;
    rs_peer_t *p = c->app;
    IM__Server__IMOnlineUserInfo *m = UNPACK(IM__Server__IMOnlineUserInfo,
                                             im__server__imonline_user_info__descriptor, pdu);
    if (!m) {
        log_warn_rl("IMOnlineUserInfo from %s does not parse: ignored", c->peer);
        return;
    }
    int refused = rs_presence_replace(&rs->presence, p->id, m->user_stat_list,
                                      m->n_user_stat_list);
    if (refused < 0)
        log_error("out of memory: the online users of %s are incomplete", c->peer);
    else if (refused > 0)
        log_warn("IMOnlineUserInfo from %s: %d of %zu entries refused (at most %d per frame, "
                 "%d kinds of login per user)", c->peer, refused, m->n_user_stat_list,
                 RS_MAX_ONLINE_ENTRIES, RS_MAX_USER_SESSIONS);
    log_notice("msg_server %s reports %zu online client(s); %zu user(s) online in all",
               c->peer, rs_presence_conn_sessions(&rs->presence, p->id),
               rs_presence_users(&rs->presence));
    tt_pb_free(m);
}

static void user_status_update(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    route_server_t *rs = ctx;
    rs_peer_t *p = c->app;
    IM__Server__IMUserStatusUpdate *m = UNPACK(IM__Server__IMUserStatusUpdate,
                                               im__server__imuser_status_update__descriptor, pdu);
    if (!m) {
        log_warn_rl("IMUserStatusUpdate from %s does not parse: ignored", c->peer);
        return;
    }
    log_debug("user %u client type 0x%02x status %u on %s", (unsigned)m->user_id,
              (unsigned)m->client_type, (unsigned)m->user_status, c->peer);
    int rc = rs_presence_update(&rs->presence, p->id, m->user_id, m->user_status,
                                (uint32_t)m->client_type);
    if (rc < 0)
        log_error("out of memory: status of user %u on %s lost", (unsigned)m->user_id, c->peer);
    else if (rc > 0)
        log_info_rl("IMUserStatusUpdate from %s ignored: user %u, type 0x%02x, status %u %s",
                 c->peer, (unsigned)m->user_id, (unsigned)m->client_type,
                 (unsigned)m->user_status,
                 m->user_status == RS_STATUS_OFFLINE ? "not logged in there"
                 : m->user_status == RS_STATUS_ONLINE || m->user_status == RS_STATUS_LEAVE
                     ? "(too many kinds of login for the user)"
                     : "unknown");
    tt_pb_free(m);
}

static void role_set(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    (void)ctx;
    rs_peer_t *p = c->app;
    IM__Server__IMRoleSet *m = UNPACK(IM__Server__IMRoleSet, im__server__imrole_set__descriptor,
                                      pdu);
    if (!m) {
        log_warn_rl("IMRoleSet from %s does not parse: ignored", c->peer);
        return;
    }
    p->master = m->master;
    log_info("msg_server %s uses this route_server as its %s", c->peer,
             m->master ? "master" : "slave");
    tt_pb_free(m);
}

static void users_stat(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    route_server_t *rs = ctx;
    IM__Buddy__IMUsersStatReq *req = UNPACK(IM__Buddy__IMUsersStatReq,
                                            im__buddy__imusers_stat_req__descriptor, pdu);
    if (!req) {
        log_warn_rl("IMUsersStatReq from %s does not parse: ignored", c->peer);
        return;
    }
    size_t n = req->n_user_id_list;
    if (n > RS_MAX_STAT_QUERY) {
        log_warn_rl("IMUsersStatReq from %s for %zu users: only the first %d answered", c->peer, n,
                 RS_MAX_STAT_QUERY);
        n = RS_MAX_STAT_QUERY;
    }
    IM__BaseDefine__UserStat *stats = calloc(n ? n : 1, sizeof(*stats));
    IM__BaseDefine__UserStat **list = calloc(n ? n : 1, sizeof(*list));
    if (!stats || !list) {
        log_error("out of memory answering IMUsersStatReq from %s", c->peer);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        im__base_define__user_stat__init(&stats[i]);
        stats[i].user_id = req->user_id_list[i];
        stats[i].status = (IM__BaseDefine__UserStatType)rs_presence_status(&rs->presence,
                                                                           stats[i].user_id);
        list[i] = &stats[i];
    }
    IM__Buddy__IMUsersStatRsp rsp = IM__BUDDY__IMUSERS_STAT_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.n_user_stat_list = n;
    rsp.user_stat_list = list;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    tt_pdu_send(c, SID_BUDDY,
                IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
                pdu->seq_num, &rsp.base);
out:
    free(stats);
    free(list);
    tt_pb_free(req);
}

static const tt_cmd_t peer_cmds[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ONLINE_USER_INFO, online_user_info},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_STATUS_UPDATE, user_status_update},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ROLE_SET, role_set},
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST, users_stat},
    {TT_CID_GROUP_FANOUT, rs_group_fanout},
    {TT_CID_PUSH_PRESENCE_REQ, rs_push_presence},
};

/* ---- connection life ---- */

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    route_server_t *rs = udata;
    rs_peer_t *p = calloc(1, sizeof(*p));
    if (!p) {
        tt_conn_close(c, "out of memory");
        return;
    }
    p->conn = c;
    p->id = ++rs->next_id;
    p->prev = rs->tail;
    if (rs->tail)
        rs->tail->next = p;
    else
        rs->head = p;
    rs->tail = p;
    rs->npeers++;
    c->app = p;
    log_notice_rl("msg_server connected from %s (%zu connected)", c->peer, rs->npeers);
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    route_server_t *rs = udata;
    if (!c->app)
        return;
    const tt_cmd_t *cmd = tt_cmd_find(peer_cmds, sizeof(peer_cmds) / sizeof(peer_cmds[0]),
                                      pdu->command_id);
    if (cmd)
        cmd->fn(rs, c, pdu);
    else if (rs_relay(rs, c, pdu) == RS_RELAY_NONE)
        log_info_rl("command 0x%04x from %s not handled", pdu->command_id, c->peer);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    route_server_t *rs = udata;
    rs_peer_t *p = c->app;
    if (!p)
        return;
    /* Off the list first: the OFFLINE notifications go to the connections that remain. */
    if (p->prev)
        p->prev->next = p->next;
    else
        rs->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        rs->tail = p->prev;
    rs->npeers--;
    c->app = NULL;
    size_t users = rs_presence_drop(&rs->presence, p->id);
    log_notice_rl("msg_server %s gone (%s): %zu of its user(s) removed; %zu connected", c->peer,
               c->reason, users, rs->npeers);
    free(p);
}

const tt_server_handler_t rs_peer_handler = {on_open, on_pdu, on_close, NULL};
