/* The HTTP side of msfs, on the loop thread: GET /<group>/<D1>/<D2>/<name> downloads, POST
 * (any path) uploads a multipart/form-data file, any other method is refused with 403. The
 * disk work runs on the pools; the finished job comes back here, finds its request by id (the
 * client may have left) and answers it. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "msfs.h"
#include "tt_log.h"

#define ANSWER_TYPE "text/html;charset=utf-8" /* iOS accepts nothing else (PROTOCOL.md §5.2) */

typedef struct upload_job_s {
    msfs_job_t job;          /* pool link and callbacks */
    msfs_t *m;               /* the daemon */
    tt_http_server_t *srv;   /* server of the request */
    uint64_t req_id;         /* the request, found again with tt_http_find */
    tt_buf_t body;           /* the request body, taken over from the request */
    char *content_type;      /* the request's Content-Type (copy), NULL when absent */
    char url_prefix[320];    /* "http://<host>" for the answer's url */
    char peer[64];           /* client address, for the logs */
    int code;                /* answer code (MSFS_OK or MSFS_E_*) */
    size_t file_len;         /* bytes of the stored file */
    char rel[512];           /* "<D1>/<D2>/<name>" of the stored file */
    char err[512];           /* why the store failed */
} upload_job_t;

typedef struct download_job_s {
    msfs_job_t job;          /* pool link and callbacks */
    msfs_t *m;               /* the daemon */
    tt_http_server_t *srv;   /* server of the request */
    uint64_t req_id;         /* the request, found again with tt_http_find */
    char rel[512];           /* "<D1>/<D2>/<name>" under BaseDir */
    char peer[64];           /* client address, for the logs */
    int rc;                  /* msfs_store_get result */
    uint8_t *data;           /* file bytes (malloc'ed) */
    size_t len;              /* their number */
    char err[512];           /* why the read failed */
} download_job_t;

/* ---- answers ---- */

int msfs_answer_status(int code)
{
    return code == MSFS_E_STORE ? 500 : code == MSFS_E_BUSY ? 503 : 200;
}

size_t msfs_answer_json(char *out, size_t outlen, int code, const char *rel,
                        const char *url_prefix)
{
    int n;
    if (code == MSFS_OK)
        n = snprintf(out, outlen,
                     "{\"error_code\":0,\"error_msg\": \"成功\",\"path\":\"" MSFS_GROUP
                     "/%s\",\"url\":\"%s/" MSFS_GROUP "/%s\"}",
                     rel, url_prefix, rel);
    else if (code == MSFS_E_TOO_BIG) /* the original's exact body: no "path" */
        n = snprintf(out, outlen, "{\"error_code\":1,\"error_msg\": \"上传文件过大\",\"url\":\"\"}");
    else
        n = snprintf(out, outlen,
                     "{\"error_code\":%d,\"error_msg\": \"%s\",\"path\":\"\",\"url\":\"\"}", code,
                     code == MSFS_E_STORE ? "存储失败" : code == MSFS_E_BUSY ? "服务器忙" : "格式错误");
    if (n < 0)
        return 0;
    return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

int msfs_host_ok(const char *host)
{
    if (!host)
        return 0;
    size_t len = strlen(host);
    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
            return 0;
    }
    return 1;
}

/* "http://<Host header>", else PublicUrl, else the address the client connected to. */
static void url_prefix(const msfs_t *m, const tt_http_req_t *req, char *out, size_t outlen)
{
    const char *host = tt_http_header(req, "Host");
    if (msfs_host_ok(host)) {
        snprintf(out, outlen, "http://%s", host);
        return;
    }
    if (m->public_url && *m->public_url) {
        size_t len = strlen(m->public_url);
        while (len > 0 && m->public_url[len - 1] == '/')
            len--;
        snprintf(out, outlen, "%.*s", (int)len, m->public_url);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "127.0.0.1";
    unsigned port = tt_http_server_port(req->server);
    if (req->conn->fd >= 0 && getsockname(req->conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
            port = ntohs(sin6->sin6_port);
            snprintf(out, outlen, "http://[%s]:%u", ip, port);
            return;
        }
    }
    snprintf(out, outlen, "http://%s:%u", ip, port);
}

static void answer_upload(tt_http_req_t *req, int code, const char *rel, const char *prefix)
{
    char body[1024];
    size_t len = msfs_answer_json(body, sizeof(body), code, rel, prefix);
    tt_http_respond(req, msfs_answer_status(code), ANSWER_TYPE, body, len);
}

/* ---- upload ---- */

static void upload_run(msfs_job_t *job)
{
    upload_job_t *u = (upload_job_t *)job;
    msfs_t *m = u->m;
    char boundary[MSFS_BOUNDARY_MAX + 1];
    msfs_part_t part;
    msfs_name_t name;
    int code = msfs_mp_boundary(u->content_type, boundary, sizeof(boundary));
    if (code == MSFS_OK)
        code = msfs_mp_find_file(tt_buf_head(&u->body), tt_buf_len(&u->body), boundary, &part);
    if (code == MSFS_OK)
        code = msfs_name_check(part.filename, part.filename_len, part.filename_bad, &name);
    if (code == MSFS_OK && part.len > m->max_file) {
        code = MSFS_E_TOO_BIG;
        u->file_len = part.len;
    }
    if (code == MSFS_OK) {
        u->file_len = part.len;
        if (msfs_store_put(&m->store, part.data, part.len, &name, u->rel, sizeof(u->rel), u->err,
                           sizeof(u->err)) < 0)
            code = MSFS_E_STORE;
    }
    u->code = code;
    tt_buf_free(&u->body); /* give the memory back before the job waits for the loop */
}

static void upload_free(upload_job_t *u)
{
    tt_buf_free(&u->body);
    free(u->content_type);
    free(u);
}

static void upload_done(msfs_job_t *job)
{
    upload_job_t *u = (upload_job_t *)job;
    msfs_t *m = u->m;
    if (job->cancelled)
        u->code = MSFS_E_BUSY;
    if (u->code == MSFS_OK) {
        m->uploads++;
        log_info("upload from %s: stored %s/%s (%zu bytes)", u->peer, MSFS_GROUP, u->rel,
                 u->file_len);
    } else if (u->code == MSFS_E_STORE) {
        log_error("upload from %s failed: %s", u->peer, u->err);
    } else if (u->code == MSFS_E_TOO_BIG) {
        log_info_rl("upload from %s refused: file of %zu bytes is over MaxFileSize %zu", u->peer,
                 u->file_len, m->max_file);
    } else if (job->cancelled) {
        log_warn("upload from %s dropped: msfs is stopping", u->peer);
    } else {
        log_info_rl("upload from %s refused: format error %d", u->peer, u->code);
    }
    tt_http_req_t *req = tt_http_find(u->srv, u->req_id);
    if (req)
        answer_upload(req, u->code, u->rel, u->url_prefix);
    else if (u->code == MSFS_OK)
        log_info_rl("client %s left before the answer for %s/%s", u->peer, MSFS_GROUP, u->rel);
    upload_free(u);
}

static void upload(msfs_t *m, tt_http_req_t *req)
{
    upload_job_t *u = calloc(1, sizeof(*u));
    const char *ct = tt_http_header(req, "Content-Type");
    if (!u || (ct && !(u->content_type = strdup(ct)))) {
        free(u);
        log_error("upload from %s: out of memory", req->conn->peer);
        answer_upload(req, MSFS_E_BUSY, "", "");
        return;
    }
    u->job.run = upload_run;
    u->job.done = upload_done;
    u->m = m;
    u->srv = req->server;
    u->req_id = req->id;
    snprintf(u->peer, sizeof(u->peer), "%s", req->conn->peer);
    url_prefix(m, req, u->url_prefix, sizeof(u->url_prefix));
    u->body = req->body; /* take the body over: the connection may close meanwhile */
    tt_buf_init(&req->body);
    if (msfs_pool_submit(&m->post_pool, &u->job) < 0) {
        m->refused_busy++;
        log_warn_rl("upload from %s refused: the upload queue is full (%zu)", u->peer,
                 m->post_queue);
        answer_upload(req, MSFS_E_BUSY, "", "");
        upload_free(u);
        return;
    }
}

/* ---- download ---- */

static void download_run(msfs_job_t *job)
{
    download_job_t *dj = (download_job_t *)job;
    dj->rc = msfs_store_get(&dj->m->store, dj->rel, MSFS_MAX_SERVE, &dj->data, &dj->len,
                            dj->err, sizeof(dj->err));
}

static void download_done(msfs_job_t *job)
{
    download_job_t *dj = (download_job_t *)job;
    msfs_t *m = dj->m;
    tt_http_req_t *req = tt_http_find(dj->srv, dj->req_id);
    if (job->cancelled) {
        if (req)
            tt_http_respond(req, 503, "text/plain", NULL, 0);
    } else if (dj->rc == 0) {
        m->downloads++;
        char type[64];
        msfs_layout_content_type(dj->rel, type, sizeof(type));
        log_debug("download by %s: %s (%zu bytes)", dj->peer, dj->rel, dj->len);
        if (req)
            tt_http_respond(req, 200, type, dj->data, dj->len);
    } else if (dj->rc == -1) {
        log_debug("download by %s: %s not found", dj->peer, dj->rel);
        if (req)
            tt_http_respond(req, 404, "text/plain", NULL, 0);
    } else {
        if (dj->rc == -2)
            log_warn_rl("download by %s: %s", dj->peer, dj->err);
        else
            log_error("download by %s: %s", dj->peer, dj->err);
        if (req)
            tt_http_respond(req, 500, "text/plain", NULL, 0);
    }
    free(dj->data);
    free(dj);
}

static void download(msfs_t *m, tt_http_req_t *req)
{
    char rel[512];
    if (msfs_layout_map_url(req->url, rel, sizeof(rel)) < 0) {
        log_debug("download by %s: %s is not a stored file's URL", req->conn->peer, req->url);
        tt_http_respond(req, 404, "text/plain", NULL, 0);
        return;
    }
    download_job_t *dj = calloc(1, sizeof(*dj));
    if (!dj) {
        log_error("download by %s: out of memory", req->conn->peer);
        tt_http_respond(req, 503, "text/plain", NULL, 0);
        return;
    }
    dj->job.run = download_run;
    dj->job.done = download_done;
    dj->m = m;
    dj->srv = req->server;
    dj->req_id = req->id;
    snprintf(dj->rel, sizeof(dj->rel), "%s", rel);
    snprintf(dj->peer, sizeof(dj->peer), "%s", req->conn->peer);
    if (msfs_pool_submit(&m->get_pool, &dj->job) < 0) {
        m->refused_busy++;
        log_warn_rl("download by %s refused: the download queue is full (%zu)", dj->peer,
                 m->get_queue);
        tt_http_respond(req, 503, "text/plain", NULL, 0);
        free(dj);
        return;
    }
}

void msfs_http_request(tt_http_req_t *req, void *udata)
{
    msfs_t *m = udata;
    if (strcmp(req->method, "GET") == 0)
        download(m, req);
    else if (strcmp(req->method, "POST") == 0)
        upload(m, req);
    else {
        log_debug("%s %s from %s: method not allowed", req->method, req->url, req->conn->peer);
        tt_http_respond(req, 403, "text/plain", NULL, 0);
    }
}
