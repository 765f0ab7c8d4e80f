/* login_server: tells clients over HTTP which msg_server to use, and keeps the registry of
 * msg_servers (they connect on MsgServerListenIP:MsgServerPort). This file wires it together:
 * msg_servers.c keeps the registry up to date, clients.c answers the clients. */
#include <string.h>

#include "login_server.h"
#include "tt_log.h"

static int configure(tt_daemon_t *d, void *udata)
{
    login_server_t *ls = udata;
    uint16_t port;
    long long max_req;
    uint32_t max_pdu;
    if (tt_daemon_cfg_port(d, "HttpPort", -1, &port) < 0 ||
        tt_daemon_cfg_port(d, "MsgServerPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "msfs", &ls->msfs) < 0 ||
        tt_daemon_cfg_str(d, "discovery", &ls->discovery) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxRequest", 1024, 256, 65536, &max_req) < 0 ||
        tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    ls->tcp_clients_on = tt_cfg_line(d->cfg, "ClientPort") != 0;
    if (ls->tcp_clients_on && tt_daemon_cfg_port(d, "ClientPort", -1, &port) < 0)
        return -1;
    ls->peer_opts = (tt_server_opts_t){.max_pdu = max_pdu,
                                       .lim = {.idle_ms = 30000, .keepalive_ms = 5000},
                                       .send_heartbeat = 1, .daemon_only = 1};
    ls->client_opts = (tt_server_opts_t){.max_pdu = 65536, .lim = {.idle_ms = 120000},
                                         .echo_heartbeat = 1};
    ls->http_lim = (tt_http_limits_t){.max_header = (size_t)max_req,
                                      .max_body = (size_t)max_req, .idle_ms = 60000};
    return tt_daemon_cfg_http(d, &ls->http_lim);
}

static int start(tt_daemon_t *d, void *udata)
{
    login_server_t *ls = udata;
    ls_registry_init(&ls->registry);
    if (tt_daemon_listen(d, "MsgServerListenIP", "MsgServerPort", &ls->peer_opts,
                         &ls_msg_server_handler, ls, &ls->msg_servers) < 0 ||
        tt_daemon_listen_http(d, "HttpListenIP", "HttpPort", &ls->http_lim, ls_http_request, ls,
                              &ls->http_srv) < 0)
        return -1;
    if (ls->tcp_clients_on &&
        tt_daemon_listen(d, "ClientListenIP", "ClientPort", &ls->client_opts,
                         &ls_tcp_client_handler, ls, &ls->tcp_clients) < 0)
        return -1;
    return 0;
}

/* Runs before the listeners are freed; their on_close callbacks no longer reach us then. */
static void finish(tt_daemon_t *d, void *udata)
{
    (void)d;
    login_server_t *ls = udata;
    ls_registry_free(&ls->registry);
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    login_server_t ls;
    memset(&ls, 0, sizeof(ls));
    return tt_daemon_main(&ls.d, "login_server", "loginserver.conf", argc, argv, &ops, &ls);
}
