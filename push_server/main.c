/* push_server: mobile push for msg_servers, which connect on ListenIP:ListenPort.
 * This file wires the daemon together. */
#include "tt_daemon.h"
#include "tt_log.h"

typedef struct push_server_s {
    tt_daemon_t d;           /* process life, config, loop */
    tt_server_opts_t peer;   /* msg_server listener options */
    long long sandbox;       /* 1: APNs sandbox */
    tt_server_t *msg_servers;
} push_server_t;

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    (void)udata;
    log_info_rl("command 0x%04x from %s not handled", pdu->command_id, c->peer);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_info_rl("msg_server %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t handler = {NULL, on_pdu, on_close, NULL};

static int configure(tt_daemon_t *d, void *udata)
{
    push_server_t *ps = udata;
    uint16_t port;
    uint32_t max_pdu;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "SandBox", 1, 0, 1, &ps->sandbox) < 0 ||
        tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    ps->peer = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 30000},
                                  .echo_heartbeat = 1, .daemon_only = 1};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    push_server_t *ps = udata;
    return tt_daemon_listen(d, "ListenIP", "ListenPort", &ps->peer, &handler, ps,
                            &ps->msg_servers);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    push_server_t ps = {0};
    return tt_daemon_main(&ps.d, "push_server", "pushserver.conf", argc, argv, &ops, &ps);
}
