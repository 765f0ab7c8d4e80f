/* route_server: presence and message routing between msg_servers. It listens for msg_servers
 * and http_msg_servers on ListenIP:ListenMsgPort. This file wires the daemon together. */
#include "tt_daemon.h"
#include "tt_log.h"

typedef struct route_server_s {
    tt_daemon_t d;          /* process life, config, loop */
    tt_server_opts_t peer;  /* listener options for msg_servers */
    tt_server_t *msg_peers; /* msg_servers and http_msg_servers */
} route_server_t;

static void on_peer_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_info("msg_server connected from %s", c->peer);
}

static void on_peer_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    (void)udata;
    log_info("command 0x%04x from %s not handled", pdu->command_id, c->peer);
}

static void on_peer_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_info("msg_server %s gone: %s", c->peer, c->reason);
}

static const tt_server_handler_t peer_handler = {on_peer_open, on_peer_pdu, on_peer_close, NULL};

static int configure(tt_daemon_t *d, void *udata)
{
    route_server_t *rs = udata;
    uint16_t port;
    rs->peer = (tt_server_opts_t){
        .lim = {.idle_ms = 30000, .keepalive_ms = 5000},
        .send_heartbeat = 1,
    };
    return tt_daemon_cfg_port(d, "ListenMsgPort", -1, &port) < 0 ||
                   tt_daemon_max_pdu(d, &rs->peer.max_pdu) < 0
               ? -1
               : 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    route_server_t *rs = udata;
    return tt_daemon_listen(d, "ListenIP", "ListenMsgPort", &rs->peer, &peer_handler, rs,
                            &rs->msg_peers);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    route_server_t rs = {0};
    return tt_daemon_main(&rs.d, "route_server", "routeserver.conf", argc, argv, &ops, &rs);
}
