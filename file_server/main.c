/* file_server: file transfer for PC clients. Clients connect on
 * ClientListenIP:ClientListenPort, msg_servers on MsgServerListenIP:MsgServerListenPort.
 * This file wires the daemon together. */
#include "tt_daemon.h"
#include "tt_log.h"

typedef struct file_server_s {
    tt_daemon_t d;            /* process life, config, loop */
    tt_server_opts_t client;  /* client listener options */
    tt_server_opts_t peer;    /* msg_server listener options */
    const char *advertised;   /* FileServerIp: addresses given to clients */
    long long task_timeout;   /* seconds */
    tt_server_t *clients;     /* transfer connections */
    tt_server_t *msg_servers; /* msg_server connections */
} file_server_t;

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
    log_info_rl("connection %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t handler = {NULL, on_pdu, on_close, NULL};

static int configure(tt_daemon_t *d, void *udata)
{
    file_server_t *fs = udata;
    uint16_t port;
    uint32_t max_pdu;
    if (tt_daemon_cfg_port(d, "ClientListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_port(d, "MsgServerListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "FileServerIp", &fs->advertised) < 0 ||
        tt_daemon_cfg_int(d, "TaskTimeout", 3600, 1, 30 * 86400, &fs->task_timeout) < 0 ||
        tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    fs->client = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 120000},
                                    .echo_heartbeat = 1};
    fs->peer = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 30000},
                                  .echo_heartbeat = 1, .daemon_only = 1};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    file_server_t *fs = udata;
    if (tt_daemon_listen(d, "ClientListenIP", "ClientListenPort", &fs->client, &handler, fs,
                         &fs->clients) < 0 ||
        tt_daemon_listen(d, "MsgServerListenIP", "MsgServerListenPort", &fs->peer, &handler, fs,
                         &fs->msg_servers) < 0)
        return -1;
    log_notice("advertising %s to clients", fs->advertised);
    return 0;
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    file_server_t fs = {0};
    return tt_daemon_main(&fs.d, "file_server", "fileserver.conf", argc, argv, &ops, &fs);
}
