/* login_server: tells clients over HTTP which msg_server to use, and keeps the registry of
 * msg_servers (they connect on MsgServerListenIP:MsgServerPort). This file wires it together. */
#include <string.h>

#include "tt_daemon.h"
#include "tt_log.h"

typedef struct login_server_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_server_opts_t peer;      /* msg_server listener options */
    tt_server_opts_t client;    /* deprecated TCP client listener options */
    tt_http_limits_t http;      /* HTTP limits */
    const char *msfs;           /* msfs base URL for clients */
    const char *discovery;      /* discovery URL for clients */
    tt_server_t *msg_servers;   /* registered msg_servers */
    tt_server_t *tcp_clients;   /* deprecated IMMsgServReq clients (when ClientPort is set) */
    tt_http_server_t *http_srv; /* GET /msg_server */
} login_server_t;

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
    log_info("connection %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t peer_handler = {NULL, on_peer_pdu, on_peer_close, NULL};

static void on_http(tt_http_req_t *req, void *udata)
{
    (void)udata;
    if (strncmp(req->url, "/msg_server", 11) != 0) {
        tt_http_drop(req, "unknown path"); /* as the original: no answer */
        return;
    }
    /* No msg_server has registered with this login_server. */
    static const char body[] = "{\"code\":1,\"msg\":\"没有msg_server\"}";
    tt_http_respond(req, 200, "text/html;charset=utf-8", body, sizeof(body) - 1);
}

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
    if (tt_cfg_line(d->cfg, "ClientPort") && tt_daemon_cfg_port(d, "ClientPort", -1, &port) < 0)
        return -1;
    ls->peer = (tt_server_opts_t){.max_pdu = max_pdu,
                                  .lim = {.idle_ms = 30000, .keepalive_ms = 5000},
                                  .send_heartbeat = 1};
    ls->client = (tt_server_opts_t){.max_pdu = 65536, .lim = {.idle_ms = 120000},
                                    .echo_heartbeat = 1};
    ls->http = (tt_http_limits_t){.max_header = (size_t)max_req, .max_body = (size_t)max_req,
                                  .idle_ms = 60000};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    login_server_t *ls = udata;
    if (tt_daemon_listen(d, "MsgServerListenIP", "MsgServerPort", &ls->peer, &peer_handler, ls,
                         &ls->msg_servers) < 0 ||
        tt_daemon_listen_http(d, "HttpListenIP", "HttpPort", &ls->http, on_http, ls,
                              &ls->http_srv) < 0)
        return -1;
    if (tt_cfg_line(d->cfg, "ClientPort") &&
        tt_daemon_listen(d, "ClientListenIP", "ClientPort", &ls->client, &peer_handler, ls,
                         &ls->tcp_clients) < 0)
        return -1;
    return 0;
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    login_server_t ls = {0};
    return tt_daemon_main(&ls.d, "login_server", "loginserver.conf", argc, argv, &ops, &ls);
}
