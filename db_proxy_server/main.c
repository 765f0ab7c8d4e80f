/* db_proxy_server: the only daemon that touches MariaDB and Redis. msg_servers and
 * http_msg_servers connect on ListenIP:ListenPort. This file wires the daemon together. */
#include <stdio.h>
#include <string.h>

#include "tt_daemon.h"
#include "tt_log.h"

#define MAX_POOLS 8

typedef struct db_proxy_s {
    tt_daemon_t d;           /* process life, config, loop */
    tt_server_opts_t peer;   /* listener options */
    long long threads;       /* worker threads */
    const char *msfs_site;   /* msfs base URL for voice files */
    tt_server_t *peers;      /* msg_servers and http_msg_servers */
} db_proxy_t;

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
    log_info("peer %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t peer_handler = {NULL, on_peer_pdu, on_peer_close, NULL};

static int has_item(const char *list, int n, const char **items, const char *want)
{
    (void)list;
    for (int i = 0; i < n; i++)
        if (strcmp(items[i], want) == 0)
            return 1;
    return 0;
}

/* Checks the keys of every pool named in list_key; required names must be there. */
static int check_pools(tt_daemon_t *d, const char *list_key, const char *const *required,
                       const char *const *suffixes)
{
    const char *list;
    if (tt_daemon_cfg_str(d, list_key, &list) < 0)
        return -1;
    char buf[512];
    const char *names[MAX_POOLS];
    int n = tt_cfg_split(list, ',', buf, sizeof(buf), names, MAX_POOLS);
    for (int i = 0; required[i]; i++)
        if (!has_item(list, n, names, required[i]))
            return tt_daemon_cfg_error(d, "%s:%d: key '%s' must name the pool '%s'",
                                       tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, list_key),
                                       list_key, required[i]);
    for (int i = 0; i < n; i++) {
        char key[128];
        const char *s;
        long long v;
        uint16_t port;
        for (int k = 0; suffixes[k]; k++) {
            snprintf(key, sizeof(key), "%s_%s", names[i], suffixes[k]);
            int rc;
            if (strcmp(suffixes[k], "port") == 0)
                rc = tt_daemon_cfg_port(d, key, -1, &port);
            else if (strcmp(suffixes[k], "maxconncnt") == 0)
                rc = tt_daemon_cfg_int(d, key, -1, 1, 1024, &v);
            else if (strcmp(suffixes[k], "db") == 0)
                rc = tt_daemon_cfg_int(d, key, -1, 0, 1024, &v);
            else if (strcmp(suffixes[k], "password") == 0)
                rc = tt_cfg_line(d->cfg, key) ? 0 : tt_daemon_cfg_str(d, key, &s);
            else
                rc = tt_daemon_cfg_str(d, key, &s);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

static int configure(tt_daemon_t *d, void *udata)
{
    db_proxy_t *db = udata;
    static const char *const db_required[] = {"teamtalk_master", "teamtalk_slave", NULL};
    static const char *const db_keys[] = {"host", "port", "dbname", "username", "password",
                                          "maxconncnt", NULL};
    static const char *const cache_required[] = {"unread", "group_set", "token", "group_member",
                                                 NULL};
    static const char *const cache_keys[] = {"host", "port", "db", "maxconncnt", NULL};
    uint16_t port;
    uint32_t max_pdu;
    const char *aes;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "ThreadNum", -1, 1, 256, &db->threads) < 0 ||
        tt_daemon_cfg_str(d, "MsfsSite", &db->msfs_site) < 0 ||
        tt_daemon_cfg_str(d, "aesKey", &aes) < 0 || tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    if (strlen(aes) != 32)
        return tt_daemon_cfg_error(d, "%s:%d: key 'aesKey' must be exactly 32 characters",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "aesKey"));
    if (check_pools(d, "DBInstances", db_required, db_keys) < 0 ||
        check_pools(d, "CacheInstances", cache_required, cache_keys) < 0)
        return -1;
    db->peer = (tt_server_opts_t){.max_pdu = max_pdu,
                                  .lim = {.idle_ms = 30000, .keepalive_ms = 5000},
                                  .send_heartbeat = 1};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    db_proxy_t *db = udata;
    return tt_daemon_listen(d, "ListenIP", "ListenPort", &db->peer, &peer_handler, db,
                            &db->peers);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    db_proxy_t db = {0};
    return tt_daemon_main(&db.d, "db_proxy_server", "dbproxyserver.conf", argc, argv, &ops, &db);
}
