/* The HTTP side of msfs, on the loop thread: GET /<group>/<D1>/<D2>/<name> downloads, POST
 * (any path) uploads a multipart/form-data file, any other method is refused with 403. GET
 * and HEAD serve single byte ranges, and "<stored name>_<W>x<H>.<fmt>" is a thumbnail made
 * (then cached) by the thumbnail workers. An
 * upload's body is parsed as it arrives and its file part written to a temp file here (page
 * cache writes only); syncing and placing it, and reading downloads, run on the pools; the
 * finished job comes back here, finds its request by id (the client may have left) and
 * answers it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msfs.h"
#include "tt_log.h"

#define ANSWER_TYPE "text/html;charset=utf-8" /* iOS accepts nothing else (PROTOCOL.md §5.2) */

/* An upload, from its headers on: the body is parsed as it arrives and the file part is
 * written to a temp file (on the loop thread: page cache writes), then a post worker syncs it
 * and links it under its name. */
typedef struct upload_job_s {
    msfs_job_t job;          /* pool link and callbacks */
    msfs_t *m;               /* the daemon */
    tt_http_server_t *srv;   /* server of the request */
    uint64_t req_id;         /* the request, found again with tt_http_find */
    int boundary_code;       /* MSFS_E_NO_BOUNDARY when the Content-Type has none: no parse */
    int name_code;           /* msfs_name_check of the file part's name */
    int too_big;             /* the file part went over MaxFileSize: answered, then cut */
    msfs_name_t name;        /* what the file name gives the stored name */
    int fd;                  /* the temp file, -1 when none is open */
    char *tmp;               /* its path, NULL when there is none (or it was placed) */
    char url_prefix[320];    /* "http://<host>" for the answer's url */
    char peer[64];           /* client address, for the logs */
    int code;                /* answer code (MSFS_OK or MSFS_E_*) */
    size_t file_len;         /* bytes of the file part */
    char rel[512];           /* "<D1>/<D2>/<name>" of the stored file */
    char err[512];           /* why the store failed */
    msfs_mpf_t mpf;          /* the multipart parser over the body */
} upload_job_t;

typedef struct download_job_s {
    msfs_job_t job;          /* pool link and callbacks */
    msfs_t *m;               /* the daemon */
    tt_http_server_t *srv;   /* server of the request */
    uint64_t req_id;         /* the request, found again with tt_http_find */
    int head;                /* HEAD: the headers only */
    int is_thumb;            /* a thumbnail request (thumb is set) */
    msfs_thumb_t thumb;      /* what to make */
    char rel[600];           /* "<D1>/<D2>/<name>" under BaseDir (of the file served) */
    char range[128];         /* the Range header ("" when none) */
    char peer[64];           /* client address, for the logs */
    int rc;                  /* msfs_store_get or msfs_thumb_get result */
    int cached;              /* the thumbnail came from the cache */
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

/* Closes and removes the temp file, if any. */
static void upload_drop_tmp(upload_job_t *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    if (u->tmp)
        unlink(u->tmp);
    free(u->tmp);
    u->tmp = NULL;
}

static void upload_free(upload_job_t *u)
{
    upload_drop_tmp(u);
    free(u);
}

static void upload_log(const upload_job_t *u, int cancelled)
{
    const msfs_t *m = u->m;
    if (u->code == MSFS_OK)
        log_info("upload from %s: stored %s/%s (%zu bytes)", u->peer, MSFS_GROUP, u->rel,
                 u->file_len);
    else if (u->code == MSFS_E_STORE)
        log_error("upload from %s failed: %s", u->peer, u->err);
    else if (u->code == MSFS_E_TOO_BIG)
        log_info_rl("upload from %s refused: file of %zu bytes is over MaxFileSize %zu",
                    u->peer, u->file_len, m->max_file);
    else if (cancelled)
        log_warn("upload from %s dropped: msfs is stopping", u->peer);
    else if (u->code != MSFS_E_BUSY)
        log_info_rl("upload from %s refused: format error %d", u->peer, u->code);
}

/* The parser met the file part: check its name and open the temp file. */
static int upload_begin(void *udata, const msfs_part_t *part)
{
    upload_job_t *u = udata;
    u->name_code = msfs_name_check(part->filename, part->filename_len, part->filename_bad,
                                   &u->name);
    if (u->name_code != MSFS_OK)
        return 0; /* the data is dropped; the answer says why */
    char path[4096];
    u->fd = msfs_store_tmp_create(&u->m->store, path, sizeof(path), u->err, sizeof(u->err));
    if (u->fd < 0 || !(u->tmp = strdup(path))) {
        if (u->fd >= 0) {
            close(u->fd);
            unlink(path);
            u->fd = -1;
            snprintf(u->err, sizeof(u->err), "out of memory");
        }
        return -1;
    }
    return 0;
}

static int upload_data(void *udata, const uint8_t *p, size_t n)
{
    upload_job_t *u = udata;
    u->file_len += n;
    if (u->fd < 0)
        return 0;
    if (u->file_len > u->m->max_file) {
        u->too_big = 1; /* answered with error 1 by stream_body, and cut */
        upload_drop_tmp(u);
        return -1;
    }
    if (msfs_write_all(u->fd, p, n) < 0) {
        snprintf(u->err, sizeof(u->err), "cannot write %s: %s", u->tmp, strerror(errno));
        upload_drop_tmp(u);
        return -1;
    }
    return 0;
}

/* A body over HttpMaxBody (by its Content-Length before any of it is read, or a chunked one
 * as it passes it): the original's error 1, then the connection is closed. */
static void stream_too_large(tt_http_req_t *req, void *udata)
{
    msfs_t *m = udata;
    if (strcmp(req->method, "POST") != 0)
        return; /* the plain 413 */
    log_info_rl("upload from %s refused: body over HttpMaxBody %zu", req->conn->peer,
                m->http.max_body);
    answer_upload(req, MSFS_E_TOO_BIG, "", "");
}

/* Headers of any request are in: a POST gets its upload state and parser; one whose
 * Content-Length cannot hold anything but a file over MaxFileSize is refused at once. */
static int stream_headers(tt_http_req_t *req, void *udata)
{
    msfs_t *m = udata;
    if (strcmp(req->method, "POST") != 0)
        return 0;
    if (req->content_length > (uint64_t)m->max_file + MSFS_FORM_SLACK) {
        log_info_rl("upload from %s refused: Content-Length %llu is over MaxFileSize %zu",
                    req->conn->peer, (unsigned long long)req->content_length, m->max_file);
        answer_upload(req, MSFS_E_TOO_BIG, "", "");
        return 413; /* answered: the body is not read and the connection closes */
    }
    upload_job_t *u = calloc(1, sizeof(*u));
    if (!u) {
        log_error("upload from %s: out of memory", req->conn->peer);
        return 503;
    }
    u->m = m;
    u->fd = -1;
    snprintf(u->peer, sizeof(u->peer), "%s", req->conn->peer);
    char boundary[MSFS_BOUNDARY_MAX + 1];
    u->boundary_code = msfs_mp_boundary(tt_http_header(req, "Content-Type"), boundary,
                                        sizeof(boundary));
    if (u->boundary_code == MSFS_OK)
        msfs_mpf_init(&u->mpf, boundary, upload_begin, upload_data, u);
    req->udata = u;
    return 0;
}

static int stream_body(tt_http_req_t *req, const char *at, size_t len, void *udata)
{
    (void)udata;
    upload_job_t *u = req->udata;
    if (u && u->boundary_code == MSFS_OK)
        msfs_mpf_feed(&u->mpf, at, len); /* once it has a result, it ignores the rest */
    if (u && u->too_big && req->content_length == 0) {
        /* A chunked body has no end in sight: answered now, the rest is not read. (With a
         * Content-Length, at most MSFS_FORM_SLACK bytes are left: they are read and dropped,
         * so that the client is reading when the answer comes, not still sending.) */
        u->code = MSFS_E_TOO_BIG;
        upload_log(u, 0);
        answer_upload(req, MSFS_E_TOO_BIG, "", "");
        return -1;
    }
    return 0;
}

/* The client left (or was cut) before its body was complete: nothing of it stays. */
static void stream_abort(tt_http_req_t *req, void *udata)
{
    (void)udata;
    upload_job_t *u = req->udata;
    req->udata = NULL;
    if (u)
        upload_free(u);
}

const tt_http_stream_t msfs_http_stream = {stream_headers, stream_body, stream_abort,
                                           stream_too_large};

static void upload_run(msfs_job_t *job)
{
    upload_job_t *u = (upload_job_t *)job;
    int fd = u->fd;
    u->fd = -1; /* msfs_store_put_tmp closes it and removes or places the temp file */
    if (msfs_store_put_tmp(&u->m->store, fd, u->tmp, &u->name, u->rel, sizeof(u->rel), u->err,
                           sizeof(u->err)) < 0)
        u->code = MSFS_E_STORE;
    free(u->tmp);
    u->tmp = NULL;
}

static void upload_done(msfs_job_t *job)
{
    upload_job_t *u = (upload_job_t *)job;
    if (job->cancelled)
        u->code = MSFS_E_BUSY;
    if (u->code == MSFS_OK)
        u->m->uploads++;
    upload_log(u, job->cancelled);
    tt_http_req_t *req = tt_http_find(u->srv, u->req_id);
    if (req)
        answer_upload(req, u->code, u->rel, u->url_prefix);
    else if (u->code == MSFS_OK)
        log_info_rl("client %s left before the answer for %s/%s", u->peer, MSFS_GROUP, u->rel);
    upload_free(u);
}

/* The body is complete: answer a refused upload at once, hand a good one to a post worker. */
static void upload(msfs_t *m, tt_http_req_t *req)
{
    upload_job_t *u = req->udata;
    req->udata = NULL;
    if (!u) { /* not possible: stream_headers ran */
        answer_upload(req, MSFS_E_BUSY, "", "");
        return;
    }
    int code = u->boundary_code != MSFS_OK ? u->boundary_code : msfs_mpf_finish(&u->mpf);
    if (code == MSFS_OK)
        code = u->name_code;
    if (u->too_big)
        code = MSFS_E_TOO_BIG;
    u->code = code;
    if (code != MSFS_OK) {
        upload_log(u, 0);
        answer_upload(req, code, "", "");
        upload_free(u);
        return;
    }
    u->job.run = upload_run;
    u->job.done = upload_done;
    u->srv = req->server;
    u->req_id = req->id;
    url_prefix(m, req, u->url_prefix, sizeof(u->url_prefix));
    if (msfs_pool_submit(&m->post_pool, &u->job) < 0) {
        m->refused_busy++;
        log_warn_rl("upload from %s refused: the upload queue is full (%zu)", u->peer,
                 m->post_queue);
        answer_upload(req, MSFS_E_BUSY, "", "");
        upload_free(u);
    }
}

/* ---- download ---- */

static void download_run(msfs_job_t *job)
{
    download_job_t *dj = (download_job_t *)job;
    if (dj->is_thumb)
        dj->rc = msfs_thumb_get(&dj->m->store, &dj->thumb, &dj->m->thumb_lim, &dj->data,
                                &dj->len, &dj->cached, dj->err, sizeof(dj->err));
    else
        dj->rc = msfs_store_get(&dj->m->store, dj->rel, MSFS_MAX_SERVE, &dj->data, &dj->len,
                                dj->err, sizeof(dj->err));
}

/* 200 with the whole file, 206 with one range, 416 for a range past the end. */
static void serve(download_job_t *dj, tt_http_req_t *req)
{
    char type[64], extra[160];
    if (dj->is_thumb) /* never served by the original: the registered types */
        snprintf(type, sizeof(type), "image/%s",
                 strcmp(dj->thumb.fmt, "jpg") == 0 ? "jpeg" : dj->thumb.fmt);
    else
        msfs_layout_content_type(dj->rel, type, sizeof(type));
    uint64_t first, last;
    int r = dj->range[0] ? msfs_range_parse(dj->range, dj->len, &first, &last) : 0;
    if (r < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\n", dj->len);
        tt_http_respond_ex(req, 416, "text/plain", extra, NULL, 0, dj->head);
        return;
    }
    if (r > 0) {
        snprintf(extra, sizeof(extra),
                 "Accept-Ranges: bytes\r\nContent-Range: bytes %llu-%llu/%zu\r\n",
                 (unsigned long long)first, (unsigned long long)last, dj->len);
        tt_http_respond_ex(req, 206, type, extra, dj->data + first, (size_t)(last - first + 1),
                           dj->head);
        return;
    }
    tt_http_respond_ex(req, 200, type, "Accept-Ranges: bytes\r\n", dj->data, dj->len,
                       dj->head);
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
        if (dj->is_thumb) {
            if (dj->cached)
                m->thumbs_cached++;
            else
                m->thumbs_made++;
            if (dj->err[0])
                log_warn_rl("thumbnail %s: %s", dj->rel, dj->err);
            if (dj->cached)
                log_debug("thumbnail for %s: %s (%zu bytes) from the cache", dj->peer, dj->rel,
                          dj->len);
            else
                log_info("thumbnail for %s: made %s (%zu bytes)", dj->peer, dj->rel, dj->len);
        } else {
            log_debug("download by %s: %s (%zu bytes)", dj->peer, dj->rel, dj->len);
        }
        if (req)
            serve(dj, req);
    } else if (dj->is_thumb && dj->rc != MSFS_THUMB_ERROR) {
        int status = dj->rc == MSFS_THUMB_MISSING ? 404 : 415;
        if (status == 415)
            log_info_rl("thumbnail for %s refused: %s", dj->peer,
                        dj->err[0] ? dj->err : "not an image type");
        if (req)
            tt_http_respond(req, status, "text/plain", NULL, 0);
    } else if (!dj->is_thumb && dj->rc == -1) {
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

static void download(msfs_t *m, tt_http_req_t *req, int head)
{
    char rel[512];
    msfs_thumb_t thumb;
    int is_thumb = 0;
    if (msfs_layout_map_url(req->url, rel, sizeof(rel)) < 0) {
        int t = msfs_layout_map_thumb(req->url, m->thumb_max_side, &thumb);
        if (t < 0) {
            log_debug("download by %s: %s is not a stored file's URL%s", req->conn->peer,
                      req->url, t == -2 ? " (thumbnail size out of bounds)" : "");
            tt_http_respond(req, 404, "text/plain", NULL, 0);
            return;
        }
        is_thumb = 1;
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
    dj->head = head;
    dj->is_thumb = is_thumb;
    if (is_thumb) {
        dj->thumb = thumb;
        snprintf(dj->rel, sizeof(dj->rel), "%s", thumb.cache_rel);
    } else {
        snprintf(dj->rel, sizeof(dj->rel), "%s", rel);
    }
    const char *range = tt_http_header(req, "Range");
    if (range && strlen(range) < sizeof(dj->range))
        snprintf(dj->range, sizeof(dj->range), "%s", range);
    snprintf(dj->peer, sizeof(dj->peer), "%s", req->conn->peer);
    msfs_pool_t *pool = is_thumb ? &m->thumb_pool : &m->get_pool;
    if (msfs_pool_submit(pool, &dj->job) < 0) {
        m->refused_busy++;
        log_warn_rl("download by %s refused: the %s queue is full (%zu)", dj->peer,
                    is_thumb ? "thumbnail" : "download", is_thumb ? m->thumb_queue : m->get_queue);
        tt_http_respond(req, 503, "text/plain", NULL, 0);
        free(dj);
        return;
    }
}

void msfs_http_request(tt_http_req_t *req, void *udata)
{
    msfs_t *m = udata;
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        download(m, req, req->method[0] == 'H');
    else if (strcmp(req->method, "POST") == 0)
        upload(m, req);
    else {
        log_debug("%s %s from %s: method not allowed", req->method, req->url, req->conn->peer);
        tt_http_respond(req, 403, "text/plain", NULL, 0);
    }
}
