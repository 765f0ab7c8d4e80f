/* Links to the other daemons, kept up by tt_link: ConcurrentDBConnCnt connections to every
 * db_proxy_server, one to every login_server (registration and user counts) and one to every
 * route_server (presence and relays; the oldest one is the master for relays). Layer 3
 * (ms_upstream.h): what the links bring goes up through ms->on_db_pdu and ms->on_route_pdu. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Server.pb-c.h"
#include "ms_answers.h"
#include "ms_upstream.h"
#include "tt_log.h"

#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER

tt_link_t *ms_link_new(msg_server_t *ms, const upstream_addr_t *a, const tt_link_handler_t *h,
                       size_t max_out, void *udata)
{
    tt_link_opts_t o = {
        .host = a->host,
        .port = a->port,
        .backoff_min_ms = ms->reconnect_ms,
        .backoff_max_ms = 64000 > ms->reconnect_ms ? 64000 : ms->reconnect_ms,
        .max_pdu = ms->client_opts.max_pdu,
        .max_out = max_out,
        .auth = tt_daemon_auth(&ms->d),
    };
    return tt_link_new(ms->d.loop, &o, h, udata);
}

/* Sends IMOnlineUserInfo with the logged-in connections, at most chunk entries per frame.
 * Returns the number reported. */
static size_t send_online(msg_server_t *ms, tt_link_t *l, size_t chunk)
{
    IM__Server__IMOnlineUserInfo info = IM__SERVER__IMONLINE_USER_INFO__INIT;
    IM__BaseDefine__ServerUserStat *stats = calloc(ms->online ? ms->online : 1, sizeof(*stats));
    IM__BaseDefine__ServerUserStat **ptrs = calloc(ms->online ? ms->online : 1, sizeof(*ptrs));
    size_t n = 0;
    if (stats && ptrs) {
        for (size_t i = 0; i < ms->clients.cap && n < ms->online; i++) {
            client_t *c = ms->clients.slots[i].value;
            if (!c || c->state != CLIENT_ONLINE)
                continue;
            im__base_define__server_user_stat__init(&stats[n]);
            stats[n].user_id = c->user_id;
            stats[n].status = c->online_status;
            stats[n].client_type = c->client_type;
            ptrs[n] = &stats[n];
            n++;
        }
    }
    size_t off = 0;
    do { /* an empty list is sent too */
        info.n_user_stat_list = n - off < chunk ? n - off : chunk;
        info.user_stat_list = ptrs ? ptrs + off : NULL;
        tt_link_send(l, SID_OTHER, IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ONLINE_USER_INFO, 0,
                     &info.base);
        off += info.n_user_stat_list;
    } while (off < n);
    free(stats);
    free(ptrs);
    return n;
}

/* ---- db_proxy_server ---- */

#define DB_ONLINE_CHUNK 5000 /* users per IMOnlineUserInfo to db_proxy_server */

static void db_up(tt_link_t *l, void *udata)
{
    db_link_t *db = udata;
    msg_server_t *ms = db->ms;
    db->stopped = 0;
    log_notice("db_proxy_server link %d to %s up", db->index, tt_link_name(l));
    /* The first link up to a db_proxy_server tells it who is logged in here, so that users
     * disabled while it could not tell us are disconnected (db_proxy_server/status_poll.c). */
    int group = db->index / (int)ms->db_conns;
    for (int i = group * (int)ms->db_conns; i < ms->n_db && i / (int)ms->db_conns == group; i++)
        if (i != db->index && ms->db[i].reported && tt_link_is_up(ms->db[i].link))
            return;
    db->reported = 1;
    size_t n = send_online(ms, l, DB_ONLINE_CHUNK);
    log_info("%zu online users reported to db_proxy_server %s", n, tt_link_name(l));
}

static void db_down(tt_link_t *l, const char *reason, void *udata)
{
    db_link_t *db = udata;
    db->reported = 0;
    if (tt_link_up_since(l) != 0 && !db->stopped)
        log_warn("db_proxy_server link %d to %s down: %s", db->index, tt_link_name(l), reason);
    ms_slots_fail_link(db->ms, db->index);
}

static void db_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    db_link_t *db = udata;
    if (pdu->command_id == IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_STOP_RECV_PACKET) {
        log_notice("db_proxy_server %s is stopping: link %d not used any more", tt_link_name(l),
                   db->index);
        db->stopped = 1;
        ms_slots_fail_link(db->ms, db->index);
        return;
    }
    if (db->ms->on_db_pdu)
        db->ms->on_db_pdu(db->ms, db->index, pdu);
}

static const tt_link_handler_t db_handler = {db_up, db_down, db_pdu};

int ms_db_pick(msg_server_t *ms, const client_t *c)
{
    if (ms->n_db == 0)
        return -1;
    /* The same client keeps using the same link while it is up. */
    int start = (int)(c ? c->handle % (uint32_t)ms->n_db : 0);
    for (int k = 0; k < ms->n_db; k++) {
        int i = (start + k) % ms->n_db;
        if (!ms->db[i].stopped && tt_link_is_up(ms->db[i].link))
            return i;
    }
    return -1;
}

/* ---- login_server ---- */

static void login_up(tt_link_t *l, void *udata)
{
    msg_server_t *ms = udata;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    IM__Server__IMMsgServInfo info = IM__SERVER__IMMSG_SERV_INFO__INIT;
    info.ip1 = (char *)ms->ip1;
    info.ip2 = (char *)ms->ip2;
    info.port = ms->listen_port;
    info.max_conn_cnt = ms->max_conn_cnt;
    info.cur_conn_cnt = ms->online;
    info.host_name = host;
    tt_link_send(l, SID_OTHER, IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_MSG_SERV_INFO, 0,
                 &info.base);
    log_notice("registered with login_server %s (%u online)", tt_link_name(l), ms->online);
}

static void login_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("login_server link %s down: %s", tt_link_name(l), reason);
}

static void login_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    (void)pdu;
    (void)udata; /* login_server sends nothing but heartbeats */
}

static const tt_link_handler_t login_handler = {login_up, login_down, login_pdu};

int ms_login_up(msg_server_t *ms)
{
    for (int i = 0; i < ms->n_login_addr; i++)
        if (tt_link_is_up(ms->login[i]))
            return 1;
    return 0;
}

void ms_login_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m)
{
    for (int i = 0; i < ms->n_login_addr; i++)
        tt_link_send(ms->login[i], sid, cid, 0, m);
}

/* ---- route_server ---- */

static void route_up(tt_link_t *l, void *udata)
{
    msg_server_t *ms = udata;
    /* Tell it who is online here, so that it can rebuild its view after a restart. */
    size_t n = send_online(ms, l, SIZE_MAX);
    if (ms_route_master(ms) == l) {
        IM__Server__IMRoleSet role = IM__SERVER__IMROLE_SET__INIT;
        role.master = 1;
        tt_link_send(l, SID_OTHER, IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_ROLE_SET, 0,
                     &role.base);
    }
    log_notice("route_server link %s up (%zu online users reported)", tt_link_name(l), n);
}

static void route_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("route_server link %s down: %s", tt_link_name(l), reason);
}

static void route_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    msg_server_t *ms = udata;
    if (ms->on_route_pdu)
        ms->on_route_pdu(ms, pdu);
}

static const tt_link_handler_t route_handler = {route_up, route_down, route_pdu};

tt_link_t *ms_route_master(msg_server_t *ms)
{
    tt_link_t *best = NULL;
    for (int i = 0; i < ms->n_route_addr; i++) {
        tt_link_t *l = ms->route[i];
        if (tt_link_is_up(l) && (!best || tt_link_up_since(l) < tt_link_up_since(best)))
            best = l;
    }
    return best;
}

void ms_route_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m)
{
    for (int i = 0; i < ms->n_route_addr; i++)
        tt_link_send(ms->route[i], sid, cid, 0, m);
}

/* ---- life ---- */

int ms_upstreams_start(msg_server_t *ms)
{
    if (!tt_daemon_auth(&ms->d))
        log_warn("no DaemonSecret set: the links to db_proxy, login and route servers are not "
                 "authenticated (they must listen on loopback only)");
    for (int a = 0; a < ms->n_db_addr; a++) {
        for (uint32_t k = 0; k < ms->db_conns && ms->n_db < MS_MAX_DB_LINKS; k++) {
            db_link_t *db = &ms->db[ms->n_db];
            db->ms = ms;
            db->index = ms->n_db;
            db->link = ms_link_new(ms, &ms->db_addr[a], &db_handler, 0, db);
            if (!db->link)
                return -1;
            ms->n_db++;
        }
    }
    for (int i = 0; i < ms->n_login_addr; i++)
        if (!(ms->login[i] = ms_link_new(ms, &ms->login_addr[i], &login_handler, 0, ms)))
            return -1;
    for (int i = 0; i < ms->n_route_addr; i++)
        if (!(ms->route[i] = ms_link_new(ms, &ms->route_addr[i], &route_handler, 0, ms)))
            return -1;
    for (int i = 0; i < ms->n_db; i++)
        tt_link_start(ms->db[i].link);
    for (int i = 0; i < ms->n_login_addr; i++)
        tt_link_start(ms->login[i]);
    for (int i = 0; i < ms->n_route_addr; i++)
        tt_link_start(ms->route[i]);
    return 0;
}

void ms_upstreams_stop(msg_server_t *ms)
{
    for (int i = 0; i < ms->n_db; i++)
        tt_link_free(ms->db[i].link);
    for (int i = 0; i < ms->n_login_addr; i++)
        tt_link_free(ms->login[i]);
    for (int i = 0; i < ms->n_route_addr; i++)
        tt_link_free(ms->route[i]);
    ms->n_db = ms->n_login_addr = ms->n_route_addr = 0;
}
