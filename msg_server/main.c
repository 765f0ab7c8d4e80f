/* msg_server: holds client connections, the heart of chat. Clients connect on
 * ListenIP:ListenPort; the server keeps links to db_proxy_server, login_server and
 * route_server. This file reads the configuration and wires the parts together: the features
 * register their tables with dispatch, and the hooks through which the lower layers reach up
 * are set here (docs/ARCHITECTURE.md, "msg_server: layers"). */
#include <stdlib.h>
#include <string.h>

#include "ms_answers.h"
#include "ms_buddy.h"
#include "ms_chat.h"
#include "ms_dispatch.h"
#include "ms_file.h"
#include "ms_gcache.h"
#include "ms_group.h"
#include "ms_limits.h"
#include "ms_login.h"
#include "ms_push.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_log.h"

static int read_upstreams(tt_daemon_t *d, const char *ip, const char *port, upstream_addr_t *a,
                          int *n, int min)
{
    char err[512];
    const char *hosts[MS_MAX_UPSTREAMS];
    uint16_t ports[MS_MAX_UPSTREAMS];
    *n = tt_cfg_servers(d->cfg, ip, port, hosts, ports, MS_MAX_UPSTREAMS, err, sizeof(err));
    if (*n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    if (*n < min)
        return tt_daemon_cfg_error(d, "%s: at least %d %s1/%s1 entry is required",
                                   tt_cfg_path(d->cfg), min, ip, port);
    for (int i = 0; i < *n; i++) {
        a[i].host = hosts[i];
        a[i].port = ports[i];
    }
    return 0;
}

static int seconds(tt_daemon_t *d, const char *key, long long def, long long max, uint32_t *ms)
{
    long long v;
    if (tt_daemon_cfg_int(d, key, def, 1, max, &v) < 0)
        return -1;
    *ms = (uint32_t)(v * 1000);
    return 0;
}

/* The limits of limits.c (and the voice size cap of chat.c). */
static int read_abuse_limits(tt_daemon_t *d, msg_server_t *ms)
{
    long long max_voice, voice_rate, voice_burst, max_p2p, p2p_rate, p2p_burst, group_cache;
    long long inflight;
    if (tt_daemon_cfg_int(d, "MaxVoiceMessage", 256 * 1024, 64, 64 << 20, &max_voice) < 0 ||
        tt_daemon_cfg_int(d, "VoiceRateLimit", 30, 1, 1000000, &voice_rate) < 0 ||
        tt_daemon_cfg_int(d, "VoiceRateBurst", 10, 1, 1000000, &voice_burst) < 0 ||
        tt_daemon_cfg_int(d, "MaxP2pCommand", 4096, 64, 64 << 20, &max_p2p) < 0 ||
        tt_daemon_cfg_int(d, "P2pRateLimit", 20, 1, 1000000, &p2p_rate) < 0 ||
        tt_daemon_cfg_int(d, "P2pRateBurst", 40, 1, 1000000, &p2p_burst) < 0 ||
        tt_daemon_cfg_int(d, "GroupCacheMembers", 1000000, 1000, 1000000000, &group_cache) < 0 ||
        tt_daemon_cfg_int(d, "MaxMsgInFlight", 3072, 0, 1000000, &inflight) < 0)
        return -1;
    ms->max_msg_inflight = (uint32_t)inflight;
    ms->group_cache_max = (size_t)group_cache;
    ms->max_voice = (uint32_t)max_voice;
    ms->voice_rate = (uint32_t)voice_rate;
    ms->voice_burst = (uint32_t)voice_burst;
    ms->max_p2p = (uint32_t)max_p2p;
    ms->p2p_rate = (uint32_t)p2p_rate;
    ms->p2p_burst = (uint32_t)p2p_burst;
    return 0;
}

static void on_stop(void *udata)
{
    msg_server_t *ms = udata;
    tt_timer_stop(ms->d.loop, &ms->tick);
    tt_daemon_drain(&ms->d); /* clients get their queued answers, then are closed */
}

static int configure(tt_daemon_t *d, void *udata)
{
    msg_server_t *ms = udata;
    long long rate, burst, max_text, max_conn, db_conns, reconnect, max_clients, prelogin;
    uint32_t max_pdu;
    const char *aes;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &ms->listen_port) < 0 ||
        tt_daemon_cfg_str(d, "IpAddr1", &ms->ip1) < 0 ||
        tt_daemon_cfg_int(d, "MaxConnCnt", -1, 1, 10000000, &max_conn) < 0 ||
        tt_daemon_cfg_int(d, "ConcurrentDBConnCnt", 2, 1, 64, &db_conns) < 0 ||
        tt_daemon_cfg_str(d, "aesKey", &aes) < 0 || tt_daemon_max_pdu(d, &max_pdu) < 0 ||
        seconds(d, "LoginTimeout", 15, 3600, &ms->login_timeout_ms) < 0 ||
        seconds(d, "ClientTimeoutPc", 120, 86400, &ms->pc_timeout_ms) < 0 ||
        seconds(d, "ClientTimeoutMobile", 300, 86400, &ms->mobile_timeout_ms) < 0 ||
        seconds(d, "RequestTimeout", 10, 3600, &ms->request_timeout_ms) < 0 ||
        tt_daemon_cfg_int(d, "UpstreamReconnectMs", 4000, 10, 600000, &reconnect) < 0 ||
        tt_daemon_cfg_int(d, "MsgRateLimit", 50, 1, 1000000, &rate) < 0 ||
        tt_daemon_cfg_int(d, "MaxTextMessage", 8192, 16, 1 << 20, &max_text) < 0 ||
        tt_daemon_cfg_int(d, "PreLoginBuffer", 32768, 4096, 1 << 20, &prelogin) < 0)
        return -1;
    ms->prelogin_buffer = (uint32_t)prelogin;
    if (tt_daemon_cfg_int(d, "MsgRateBurst", rate * 2, 1, 10000000, &burst) < 0)
        return -1;
    ms->msg_rate = (uint32_t)rate;
    ms->msg_burst = (uint32_t)burst;
    ms->max_text = (uint32_t)max_text;
    if (tt_daemon_cfg_int(d, "MaxClients", max_conn + 1000, 1, 10000000, &max_clients) < 0 ||
        read_abuse_limits(d, ms) < 0)
        return -1;
    d->on_stop = on_stop;
    if (strlen(aes) != 32)
        return tt_daemon_cfg_error(d, "%s:%d: key 'aesKey' must be exactly 32 characters",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "aesKey"));
    ms->max_conn_cnt = (uint32_t)max_conn;
    ms->db_conns = (uint32_t)db_conns;
    ms->reconnect_ms = (uint32_t)reconnect;
    ms->ip2 = tt_cfg_str(d->cfg, "IpAddr2", "");
    if (!*ms->ip2)
        ms->ip2 = ms->ip1;
    if (read_upstreams(d, "DBServerIP", "DBServerPort", ms->db_addr, &ms->n_db_addr, 1) < 0 ||
        read_upstreams(d, "LoginServerIP", "LoginServerPort", ms->login_addr, &ms->n_login_addr,
                       1) < 0 ||
        read_upstreams(d, "RouteServerIP", "RouteServerPort", ms->route_addr, &ms->n_route_addr,
                       1) < 0 ||
        read_upstreams(d, "FileServerIP", "FileServerPort", ms->file_addr, &ms->n_file_addr,
                       0) < 0)
        return -1;
    long long file_rate, file_burst;
    if (tt_daemon_cfg_int(d, "FileRateLimit", 30, 1, 1000000, &file_rate) < 0 ||
        tt_daemon_cfg_int(d, "FileRateBurst", 10, 1, 1000000, &file_burst) < 0)
        return -1;
    ms->file_rate = (uint32_t)file_rate;
    ms->file_burst = (uint32_t)file_burst;
    /* the push_server links are the push feature's (push.c), made from push_addr */
    long long push_queue;
    if (read_upstreams(d, "PushServerIP", "PushServerPort", ms->push_addr, &ms->n_push_addr,
                       0) < 0 ||
        tt_daemon_cfg_int(d, "PushQueueMax", 10000, 1, 10000000, &push_queue) < 0 ||
        seconds(d, "PushTimeout", 5, 3600, &ms->push_timeout_ms) < 0)
        return -1;
    ms->push_queue_max = (uint32_t)push_queue;
    ms->aes_key = aes;
    /* the file_server links are the file feature's (file.c), made from file_addr */
    ms->client_opts = (tt_server_opts_t){
        .max_pdu = max_pdu,
        .max_conns = (uint32_t)max_clients,
        .lim = {.idle_ms = ms->login_timeout_ms,
                .max_in = (size_t)max_pdu + 65536,
                .max_out = 16u << 20},
        .echo_heartbeat = 1,
    };
    return 0;
}

/* Housekeeping once a second: login deadline and answers given up. */
static void tick(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    msg_server_t *ms = udata;
    uint64_t now = tt_loop_now(loop);
    for (size_t i = 0; i < ms->clients.cap; i++) {
        client_t *c = ms->clients.slots[i].value;
        if (!c)
            continue;
        if ((c->state == CLIENT_NEW || c->state == CLIENT_VALIDATING) &&
            now - c->accepted_at >= ms->login_timeout_ms) {
            c->state = CLIENT_GONE;
            tt_conn_close(c->conn, "not logged in within %u ms", ms->login_timeout_ms);
            continue;
        }
        if (c->slots)
            ms_slots_expire(c, now);
    }
}

/* The features, in the order their tables are searched. A new feature is a row here. */
static const ms_feature_t *const features[] = {&ms_login_feature, &ms_buddy_feature,
                                               &ms_chat_feature, &ms_group_feature,
                                               &ms_file_feature, &ms_push_feature};

static int start(tt_daemon_t *d, void *udata)
{
    msg_server_t *ms = udata;
    tt_map_init(&ms->clients);
    tt_map_init(&ms->users);
    tt_map_init(&ms->groups);
    ms_limits_init(ms);
    tt_timer_init(&ms->tick, tick, ms);
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        if (ms_dispatch_register(ms, features[i]) < 0)
            return -1;
    ms->on_db_pdu = ms_dispatch_db;
    ms->on_route_pdu = ms_dispatch_route;
    ms->on_msg_unanswered = ms_chat_unanswered;
    ms->on_msg_stored = ms_push_stored;
    if (ms_features_init(ms) < 0 ||tt_daemon_listen(d, "ListenIP", "ListenPort", &ms->client_opts, &ms_client_handler, ms,
                         &ms->clients_srv) < 0 ||
        ms_upstreams_start(ms) < 0)
        return -1;
    tt_timer_start(d->loop, &ms->tick, 1000, 1000);
    return 0;
}

static void finish(tt_daemon_t *d, void *udata)
{
    msg_server_t *ms = udata;
    if (d->loop && ms->tick.cb) { /* start() ran */
        tt_timer_stop(d->loop, &ms->tick);
        ms_limits_stop(ms);
        ms_answers_stop(ms);
    }
    /* Close the clients first (their close handlers use the links), then the links. */
    if (d->loop) {
        for (size_t i = 0; i < ms->clients.cap; i++) {
            client_t *c = ms->clients.slots[i].value;
            if (c)
                tt_conn_close(c->conn, "server stopped");
        }
        tt_loop_run_once(d->loop, 0);
    }
    ms_upstreams_stop(ms);
    if (d->loop)
        tt_loop_run_once(d->loop, 0);
    ms_features_finish(ms);
    ms_gcache_free(ms);
    ms_users_free(ms);
    tt_map_free(&ms->users);
    tt_map_free(&ms->clients);
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    static msg_server_t ms; /* large (links, tables): not on the stack */
    return tt_daemon_main(&ms.d, "msg_server", "msgserver.conf", argc, argv, &ops, &ms);
}
