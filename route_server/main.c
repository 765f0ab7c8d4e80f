/* route_server: presence and message routing between msg_servers. It listens for msg_servers
 * and http_msg_servers on ListenIP:ListenMsgPort. This file wires the daemon together:
 * peers.c handles the connections, presence.c keeps who is online, relay.c passes frames on. */
#include <string.h>

#include "route_server.h"
#include "tt_log.h"

static int configure(tt_daemon_t *d, void *udata)
{
    route_server_t *rs = udata;
    uint16_t port;
    rs->peer_opts = (tt_server_opts_t){
        .lim = {.idle_ms = 30000, .keepalive_ms = 5000},
        .send_heartbeat = 1,
        .daemon_only = 1,
    };
    long long max_p2p, p2p_rate, p2p_queued;
    if (tt_daemon_cfg_port(d, "ListenMsgPort", -1, &port) < 0 ||
        tt_daemon_max_pdu(d, &rs->peer_opts.max_pdu) < 0 ||
        tt_daemon_cfg_int(d, "MaxP2pCommand", 8192, 64, 64 << 20, &max_p2p) < 0 ||
        tt_daemon_cfg_int(d, "P2pBytesPerSecond", 4 << 20, 1024, 1LL << 32, &p2p_rate) < 0 ||
        tt_daemon_cfg_int(d, "P2pMaxQueued", 1 << 20, 4096, 1LL << 32, &p2p_queued) < 0)
        return -1;
    rs->max_p2p = (uint32_t)max_p2p;
    rs->p2p_rate = (uint64_t)p2p_rate;
    rs->p2p_max_queued = (uint64_t)p2p_queued;
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    route_server_t *rs = udata;
    rs_peers_init(rs);
    return tt_daemon_listen(d, "ListenIP", "ListenMsgPort", &rs->peer_opts, &rs_peer_handler, rs,
                            &rs->listener);
}

/* Runs before the listener is freed; its on_close callbacks no longer reach us then. */
static void finish(tt_daemon_t *d, void *udata)
{
    (void)d;
    rs_peers_free(udata);
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    route_server_t rs;
    memset(&rs, 0, sizeof(rs));
    return tt_daemon_main(&rs.d, "route_server", "routeserver.conf", argc, argv, &ops, &rs);
}
