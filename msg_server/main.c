/* msg_server: holds client connections, the heart of chat. Clients connect on
 * ListenIP:ListenPort. This file wires the daemon together. */
#include <string.h>

#include "tt_daemon.h"
#include "tt_log.h"

#define MAX_UPSTREAMS 16

typedef struct upstreams_s {
    const char *host[MAX_UPSTREAMS]; /* from XxxIP<n> */
    uint16_t port[MAX_UPSTREAMS];    /* from XxxPort<n> */
    int n;
} upstreams_t;

typedef struct msg_server_s {
    tt_daemon_t d;            /* process life, config, loop */
    tt_server_opts_t client;  /* client listener options */
    const char *ip1, *ip2;    /* addresses advertised through login_server */
    long long max_conn_cnt;   /* capacity advertised to login_server */
    long long db_conns;       /* connections per db_proxy_server */
    upstreams_t db, login, route, push, file;
    tt_server_t *clients;     /* client connections */
} msg_server_t;

static void on_client_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    (void)udata;
    log_info("command 0x%04x from %s not handled", pdu->command_id, c->peer);
}

static void on_client_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_info("client %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t client_handler = {NULL, on_client_pdu, on_client_close, NULL};

static int read_upstreams(tt_daemon_t *d, const char *ip, const char *port, upstreams_t *u,
                          int min)
{
    char err[512];
    u->n = tt_cfg_servers(d->cfg, ip, port, u->host, u->port, MAX_UPSTREAMS, err, sizeof(err));
    if (u->n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    if (u->n < min)
        return tt_daemon_cfg_error(d, "%s: at least %d %s1/%s1 entry is required",
                                   tt_cfg_path(d->cfg), min, ip, port);
    return 0;
}

static int configure(tt_daemon_t *d, void *udata)
{
    msg_server_t *ms = udata;
    uint16_t port;
    uint32_t max_pdu;
    const char *aes;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "IpAddr1", &ms->ip1) < 0 ||
        tt_daemon_cfg_int(d, "MaxConnCnt", -1, 1, 10000000, &ms->max_conn_cnt) < 0 ||
        tt_daemon_cfg_int(d, "ConcurrentDBConnCnt", 2, 1, 64, &ms->db_conns) < 0 ||
        tt_daemon_cfg_str(d, "aesKey", &aes) < 0 || tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    if (strlen(aes) != 32)
        return tt_daemon_cfg_error(d, "%s:%d: key 'aesKey' must be exactly 32 characters",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "aesKey"));
    ms->ip2 = tt_cfg_str(d->cfg, "IpAddr2", "");
    if (!*ms->ip2)
        ms->ip2 = ms->ip1;
    if (read_upstreams(d, "DBServerIP", "DBServerPort", &ms->db, 1) < 0 ||
        read_upstreams(d, "LoginServerIP", "LoginServerPort", &ms->login, 1) < 0 ||
        read_upstreams(d, "RouteServerIP", "RouteServerPort", &ms->route, 1) < 0 ||
        read_upstreams(d, "PushServerIP", "PushServerPort", &ms->push, 0) < 0 ||
        read_upstreams(d, "FileServerIP", "FileServerPort", &ms->file, 0) < 0)
        return -1;
    ms->client = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 120000},
                                    .echo_heartbeat = 1};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    msg_server_t *ms = udata;
    return tt_daemon_listen(d, "ListenIP", "ListenPort", &ms->client, &client_handler, ms,
                            &ms->clients);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    msg_server_t ms = {0};
    return tt_daemon_main(&ms.d, "msg_server", "msgserver.conf", argc, argv, &ops, &ms);
}
