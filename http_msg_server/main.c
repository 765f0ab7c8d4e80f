/* http_msg_server: the HTTP/JSON API for other systems (POST /query/CreateGroup,
 * /query/ChangeMembers) on ListenIP:ListenPort. This file wires the daemon together. */
#include <string.h>

#include "tt_daemon.h"
#include "tt_log.h"

typedef struct http_msg_server_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_http_limits_t http;      /* HTTP limits */
    long long db_conns;         /* connections per db_proxy_server */
    tt_http_server_t *api;      /* the API listener */
} http_msg_server_t;

static void on_http(tt_http_req_t *req, void *udata)
{
    (void)udata;
    if (strncmp(req->url, "/query/", 7) != 0) {
        tt_http_drop(req, "unknown path"); /* as the original: no answer */
        return;
    }
    /* The API needs db_proxy_server, which this daemon does not reach yet. */
    static const char body[] = "{\"error_code\":10,\"error_msg\":\"服务器异常\"}";
    tt_http_respond(req, 200, "text/html;charset=utf-8", body, sizeof(body) - 1);
}

static int configure(tt_daemon_t *d, void *udata)
{
    http_msg_server_t *hs = udata;
    uint16_t port;
    long long max_body;
    char err[512];
    const char *hosts[16];
    uint16_t ports[16];
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "ConcurrentDBConnCnt", 2, 1, 64, &hs->db_conns) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxBody", 64 << 10, 1024, 1 << 20, &max_body) < 0)
        return -1;
    if (tt_cfg_servers(d->cfg, "DBServerIP", "DBServerPort", hosts, ports, 16, err,
                       sizeof(err)) < 0 ||
        tt_cfg_servers(d->cfg, "RouteServerIP", "RouteServerPort", hosts, ports, 16, err,
                       sizeof(err)) < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    /* The API's bodies are small JSON: a body over HttpMaxBody is refused with 413 as soon as
     * its Content-Length is read (or once that many bytes of a chunked body arrived). */
    hs->http = (tt_http_limits_t){.max_body = (size_t)max_body, .idle_ms = 60000};
    return tt_daemon_cfg_http(d, &hs->http);
}

static int start(tt_daemon_t *d, void *udata)
{
    http_msg_server_t *hs = udata;
    return tt_daemon_listen_http(d, "ListenIP", "ListenPort", &hs->http, on_http, hs, &hs->api);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    http_msg_server_t hs = {0};
    return tt_daemon_main(&hs.d, "http_msg_server", "httpmsgserver.conf", argc, argv, &ops,
                          &hs);
}
