/* http_msg_server: the HTTP/JSON API for other systems on ListenIP:ListenPort (docs/HTTP_API.md).
 * The layers are described in hs.h; this file reads the configuration and runs the process. */
#include <stdlib.h>
#include <string.h>

#include "hs.h"
#include "tt_log.h"

#define HS_MAX_API_KEYS 64

static void on_http(tt_http_req_t *req, void *udata)
{
    if (strncmp(req->url, "/api/v1/", 8) == 0)
        hs_on_api(udata, req);
    else
        hs_on_query(udata, req);
}

/* ---- life ---- */

static int configure(tt_daemon_t *d, void *udata)
{
    hs_t *hs = udata;
    uint16_t port;
    long long max_body;
    char err[512];
    const char *hosts[16];
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "ConcurrentDBConnCnt", 2, 1, 16, &hs->db_conns) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxBody", 64 << 10, 1024, 1 << 20, &max_body) < 0)
        return -1;
    int n = tt_cfg_servers(d->cfg, "DBServerIP", "DBServerPort", hosts, hs->db_port, HS_MAX_DB,
                           err, sizeof(err));
    if (n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    for (int i = 0; i < n; i++)
        snprintf(hs->db_host[i], sizeof(hs->db_host[i]), "%s", hosts[i]);
    hs->n_db_addr = n;
    n = tt_cfg_servers(d->cfg, "RouteServerIP", "RouteServerPort", hosts, hs->route_port,
                       HS_MAX_ROUTE, err, sizeof(err));
    if (n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    for (int i = 0; i < n; i++)
        snprintf(hs->route_host[i], sizeof(hs->route_host[i]), "%s", hosts[i]);
    hs->n_route_addr = n;
    long long window, cap;
    if (tt_daemon_cfg_int(d, "ApiWindow", 300, 10, 3600, &window) < 0 ||
        tt_daemon_cfg_int(d, "ApiNonceCap", 10000, 16, 1000000, &cap) < 0 ||
        tt_daemon_cfg_int(d, "ApiFailLimit", 10, 1, 1000000, &hs->fail_limit) < 0 ||
        tt_daemon_cfg_int(d, "ApiTimeoutMs", 5000, 100, 600000, &hs->timeout_ms) < 0 ||
        tt_daemon_cfg_int(d, "ApiMaxPending", 512, 1, HS_MAX_CALLS, &hs->max_calls) < 0)
        return -1;
    hs_key_t *keys = calloc(HS_MAX_API_KEYS, sizeof(*keys));
    if (!keys)
        return tt_daemon_cfg_error(d, "no memory");
    int nk = 0;
    for (; nk < HS_MAX_API_KEYS; nk++) {
        char name[32];
        snprintf(name, sizeof(name), "ApiKey%d", nk + 1);
        const char *spec = tt_cfg_str(d->cfg, name, NULL);
        if (!spec)
            break;
        if (hs_key_parse(spec, &keys[nk], err, sizeof(err)) < 0) {
            free(keys);
            return tt_daemon_cfg_error(d, "%s: %s", name, err); /* the reason, not the value */
        }
        for (int j = 0; j < nk; j++)
            if (strcmp(keys[j].name, keys[nk].name) == 0) {
                free(keys);
                return tt_daemon_cfg_error(d, "%s: key name used twice", name);
            }
    }
    hs_auth_free(&hs->auth); /* configure may run again (-t then start) */
    if (hs_auth_init(&hs->auth, keys, nk, (uint32_t)window, (size_t)cap) < 0)
        return tt_daemon_cfg_error(d, "no memory for the nonce store");
    long long sys_user;
    if (tt_daemon_cfg_int(d, "ApiSystemUserId", 0, 0, UINT32_MAX, &sys_user) < 0 ||
        tt_daemon_cfg_int(d, "ApiMaxText", 4096, 1, 12000, &hs->max_text) < 0)
        return -1;
    hs->system_user = (uint32_t)sys_user;
    const char *aes = tt_cfg_str(d->cfg, "aesKey", NULL);
    if (aes && strlen(aes) != 32)
        return tt_daemon_cfg_error(d, "%s:%d: key 'aesKey' must be exactly 32 characters",
                                   tt_cfg_path(d->cfg), tt_cfg_line(d->cfg, "aesKey"));
    if (hs->have_cipher)
        ttc_cipher_free(&hs->cipher);
    hs->have_cipher = 0;
    if (aes) {
        if (ttc_cipher_init(&hs->cipher, aes) < 0)
            return tt_daemon_cfg_error(d, "aesKey: the cipher cannot be set up");
        hs->have_cipher = 1;
    }
    const char *k = tt_cfg_str(d->cfg, "AppKey", NULL);
    hs->app_key = k && k[0] ? k : NULL;
    /* The API's bodies are small JSON: a body over HttpMaxBody is refused with 413 as soon as
     * its Content-Length is read (or once that many bytes of a chunked body arrived). */
    hs->http = (tt_http_limits_t){.max_body = (size_t)max_body, .idle_ms = 60000};
    return tt_daemon_cfg_http(d, &hs->http);
}

static int start(tt_daemon_t *d, void *udata)
{
    hs_t *hs = udata;
    hs_links_start(hs);
    if (hs->app_key)
        log_notice("compatibility mode: the body's app_key must match AppKey");
    log_notice("%d API keys for /api/v1", hs->auth.n_keys);
    return tt_daemon_listen_http(d, "ListenIP", "ListenPort", &hs->http, on_http, hs, &hs->api);
}

static void finish(tt_daemon_t *d, void *udata)
{
    hs_t *hs = udata;
    (void)d;
    hs_links_free(hs);
    hs_auth_free(&hs->auth);
    if (hs->have_cipher)
        ttc_cipher_free(&hs->cipher);
    hs->have_cipher = 0;
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    static hs_t hs; /* large (the call table): not on the stack */
    return tt_daemon_main(&hs.d, "http_msg_server", "httpmsgserver.conf", argc, argv, &ops,
                          &hs);
}
