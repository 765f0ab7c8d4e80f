/* msfs: HTTP storage for images, avatars and voice on ListenIP:ListenPort, files under
 * BaseDir. This file wires the daemon together. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "tt_daemon.h"
#include "tt_log.h"

typedef struct msfs_s {
    tt_daemon_t d;          /* process life, config, loop */
    tt_http_limits_t http;  /* HTTP limits */
    const char *base_dir;   /* storage root */
    long long files_per_dir;
    tt_http_server_t *api;  /* the HTTP listener */
} msfs_t;

static void on_http(tt_http_req_t *req, void *udata)
{
    (void)udata;
    if (strstr(req->url, "..")) {
        tt_http_drop(req, "path with '..'"); /* as the original */
        return;
    }
    if (strcmp(req->method, "GET") == 0) {
        tt_http_respond(req, 404, "text/plain", NULL, 0);
        return;
    }
    if (strcmp(req->method, "POST") == 0) {
        static const char body[] = "{\"error_code\":8,\"error_msg\":\"upload not available\","
                                   "\"path\":\"\",\"url\":\"\"}";
        tt_http_respond(req, 503, "text/html;charset=utf-8", body, sizeof(body) - 1);
        return;
    }
    tt_http_respond(req, 403, "text/plain", NULL, 0);
}

static int configure(tt_daemon_t *d, void *udata)
{
    msfs_t *m = udata;
    uint16_t port;
    long long v, max_body;
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "BaseDir", &m->base_dir) < 0 ||
        tt_daemon_cfg_int(d, "FilesPerDir", 30000, 1, 1000000, &m->files_per_dir) < 0 ||
        tt_daemon_cfg_int(d, "FileCnt", 0, 0, 1LL << 40, &v) < 0 ||
        tt_daemon_cfg_int(d, "GetThreadCount", 4, 1, 256, &v) < 0 ||
        tt_daemon_cfg_int(d, "PostThreadCount", 2, 1, 256, &v) < 0 ||
        tt_daemon_cfg_int(d, "HttpMaxBody", 10 << 20, 1024, 1LL << 30, &max_body) < 0)
        return -1;
    m->http = (tt_http_limits_t){.max_body = (size_t)max_body, .idle_ms = 30000};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    msfs_t *m = udata;
    if (mkdir(m->base_dir, 0755) < 0 && errno != EEXIST) {
        log_error("cannot create BaseDir %s: %s", m->base_dir, strerror(errno));
        return -1;
    }
    return tt_daemon_listen_http(d, "ListenIP", "ListenPort", &m->http, on_http, m, &m->api);
}

static const tt_daemon_ops_t ops = {configure, start, NULL};

int main(int argc, char **argv)
{
    msfs_t m = {0};
    return tt_daemon_main(&m.d, "msfs", "msfs.conf", argc, argv, &ops, &m);
}
