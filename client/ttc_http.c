#include "ttc_http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tt_net.h"
#include "tt_pdu.h"

enum {
    S_HEAD,        /* reading the status line and headers */
    S_BODY_LEN,    /* Content-Length body */
    S_BODY_CLOSE,  /* body until the server closes */
    S_CHUNK_SIZE,  /* chunk-size line */
    S_CHUNK_DATA,  /* chunk bytes */
    S_CHUNK_CRLF,  /* the line end after a chunk */
    S_TRAILER,     /* trailer lines after the last chunk */
    S_DONE,        /* complete */
    S_ERR,         /* rejected */
};

#define CHUNK_LINE_MAX 1024

uint64_t ttc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ttc_ms_left(uint64_t deadline_ms)
{
    if (deadline_ms == 0)
        return -1;
    uint64_t now = ttc_now_ms();
    if (now >= deadline_ms)
        return 0;
    uint64_t left = deadline_ms - now;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* ---- URL ---- */

int ttc_url_parse(const char *url, ttc_url_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!url || strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "not an http:// URL: %s", url ? url : "(null)");
        return -1;
    }
    const char *p = url + 7;
    const char *host_end, *after;
    const char *h = p;
    if (*p == '[') {
        h = p + 1;
        host_end = strchr(h, ']');
        if (!host_end) {
            snprintf(err, errlen, "bad IPv6 address in URL: %s", url);
            return -1;
        }
        after = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/?#");
        after = host_end;
    }
    size_t hl = (size_t)(host_end - h);
    if (hl == 0 || hl >= sizeof(out->host)) {
        snprintf(err, errlen, "bad host in URL: %s", url);
        return -1;
    }
    memcpy(out->host, h, hl);
    out->port = 80;
    if (*after == ':') {
        char *end;
        errno = 0;
        unsigned long v = strtoul(after + 1, &end, 10);
        if (end == after + 1 || errno || v == 0 || v > 65535 ||
            (*end && *end != '/' && *end != '?' && *end != '#')) {
            snprintf(err, errlen, "bad port in URL: %s", url);
            return -1;
        }
        out->port = (uint16_t)v;
        after = end;
    } else if (*after && *after != '/' && *after != '?' && *after != '#') {
        snprintf(err, errlen, "bad URL: %s", url);
        return -1;
    }
    const char *path = *after ? after : "/";
    size_t pl = strcspn(path, "#");
    if (pl >= sizeof(out->path)) {
        snprintf(err, errlen, "URL path too long");
        return -1;
    }
    if (path[0] != '/') { /* "http://h?x" */
        out->path[0] = '/';
        if (pl + 1 >= sizeof(out->path)) {
            snprintf(err, errlen, "URL path too long");
            return -1;
        }
        memcpy(out->path + 1, path, pl);
    } else {
        memcpy(out->path, path, pl);
    }
    for (const char *c = out->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f) {
            snprintf(err, errlen, "URL contains a space or control character");
            return -1;
        }
    for (const char *c = out->host; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '/' || *c == '@') {
            snprintf(err, errlen, "bad host in URL: %s", url);
            return -1;
        }
    return 0;
}

/* ---- response parser ---- */

void ttc_http_resp_init(ttc_http_resp_t *r, size_t max_body)
{
    memset(r, 0, sizeof(*r));
    tt_buf_init(&r->head);
    tt_buf_init(&r->body);
    r->state = S_HEAD;
    r->content_length = -1;
    r->max_body = max_body ? max_body : TTC_HTTP_MAX_BODY;
}

void ttc_http_resp_free(ttc_http_resp_t *r)
{
    tt_buf_free(&r->head);
    tt_buf_free(&r->body);
}

static int fail(ttc_http_resp_t *r, const char *why)
{
    snprintf(r->err, sizeof(r->err), "%s", why);
    r->state = S_ERR;
    return TT_ERR;
}

static int body_add(ttc_http_resp_t *r, const uint8_t *p, size_t n)
{
    if (tt_buf_len(&r->body) + n > r->max_body)
        return fail(r, "response body larger than the limit");
    if (n && tt_buf_append(&r->body, p, n) < 0)
        return fail(r, "out of memory");
    return TT_OK;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

static int ieq(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(e - s) == n && strncasecmp(s, word, n) == 0;
}

/* Parses the head in text[0..len). Returns TT_OK, or TT_ERR. */
static int parse_head(ttc_http_resp_t *r, const char *text, size_t len)
{
    const char *end = text + len;
    const char *line = text;
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *le = nl ? nl : end;
    const char *s = line, *e = le;
    trim(&s, &e);
    if (e - s < 12 || strncmp(s, "HTTP/1.", 7) != 0 || s[8] != ' ')
        return fail(r, "not an HTTP response");
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return fail(r, "bad HTTP status line");
        status = status * 10 + (s[i] - '0');
    }
    if (e - s > 12 && s[12] != ' ')
        return fail(r, "bad HTTP status line");
    if (status < 100)
        return fail(r, "bad HTTP status");
    r->status = status;
    r->chunked = 0;
    r->content_length = -1;
    line = nl ? nl + 1 : end;
    while (line < end) {
        nl = memchr(line, '\n', (size_t)(end - line));
        le = nl ? nl : end;
        const char *ne = le, *ns = line;
        trim(&ns, &ne);
        if (ns < ne) {
            const char *colon = memchr(ns, ':', (size_t)(ne - ns));
            if (!colon || colon == ns)
                return fail(r, "bad HTTP header line");
            const char *vs = colon + 1, *ve = ne, *ks = ns, *ke = colon;
            trim(&vs, &ve);
            trim(&ks, &ke);
            if (ieq(ks, ke, "Content-Length")) {
                if (vs == ve || ve - vs > 18)
                    return fail(r, "bad Content-Length");
                int64_t v = 0;
                for (const char *c = vs; c < ve; c++) {
                    if (*c < '0' || *c > '9')
                        return fail(r, "bad Content-Length");
                    v = v * 10 + (*c - '0');
                }
                if (r->content_length >= 0 && r->content_length != v)
                    return fail(r, "conflicting Content-Length headers");
                r->content_length = v;
            } else if (ieq(ks, ke, "Transfer-Encoding")) {
                for (const char *c = vs; c + 7 <= ve; c++)
                    if (strncasecmp(c, "chunked", 7) == 0)
                        r->chunked = 1;
            }
        }
        line = nl ? nl + 1 : end;
    }
    return TT_OK;
}

static int feed_body(ttc_http_resp_t *r, const uint8_t *p, size_t n);

/* Head bytes arrived: look for the blank line, then hand what follows to the body. */
static int feed_head(ttc_http_resp_t *r, const uint8_t *p, size_t n)
{
    size_t old = tt_buf_len(&r->head);
    if (tt_buf_append(&r->head, p, n) < 0)
        return fail(r, "out of memory");
    const uint8_t *h = tt_buf_head(&r->head);
    size_t len = tt_buf_len(&r->head);
    size_t from = old > 3 ? old - 3 : 0;
    size_t stop = 0;
    for (size_t i = from; i < len; i++) {
        if (h[i] != '\n')
            continue;
        if (i >= 1 && h[i - 1] == '\n') {
            stop = i + 1;
            break;
        }
        if (i >= 2 && h[i - 1] == '\r' && h[i - 2] == '\n') {
            stop = i + 1;
            break;
        }
    }
    if (!stop) {
        if (len > TTC_HTTP_MAX_HEAD)
            return fail(r, "HTTP response headers larger than the limit");
        return TT_AGAIN;
    }
    if (stop > TTC_HTTP_MAX_HEAD)
        return fail(r, "HTTP response headers larger than the limit");
    if (parse_head(r, (const char *)h, stop) != TT_OK)
        return TT_ERR;
    tt_buf_t rest = r->head;
    tt_buf_init(&r->head);
    tt_buf_consume(&rest, stop);
    int rc;
    if (r->status >= 100 && r->status < 200) {
        if (r->status == 101) {
            tt_buf_free(&rest);
            return fail(r, "unexpected protocol switch");
        }
        r->state = S_HEAD; /* interim response: the real one follows */
        rc = tt_buf_len(&rest) ? feed_head(r, tt_buf_head(&rest), tt_buf_len(&rest)) : TT_AGAIN;
        tt_buf_free(&rest);
        return rc;
    }
    if (r->status == 204 || r->status == 304) {
        r->state = S_DONE;
    } else if (r->chunked) {
        r->state = S_CHUNK_SIZE;
    } else if (r->content_length >= 0) {
        if ((uint64_t)r->content_length > r->max_body) {
            tt_buf_free(&rest);
            return fail(r, "response body larger than the limit");
        }
        r->state = r->content_length == 0 ? S_DONE : S_BODY_LEN;
    } else {
        r->state = S_BODY_CLOSE;
    }
    rc = r->state == S_DONE ? TT_OK : TT_AGAIN;
    if (r->state != S_DONE && tt_buf_len(&rest))
        rc = feed_body(r, tt_buf_head(&rest), tt_buf_len(&rest));
    tt_buf_free(&rest);
    return rc;
}

/* Collects one line (chunk size / CRLF / trailer) in r->head. Returns bytes used; *line_done. */
static size_t take_line(ttc_http_resp_t *r, const uint8_t *p, size_t n, int *line_done)
{
    const uint8_t *nl = memchr(p, '\n', n);
    size_t use = nl ? (size_t)(nl - p) + 1 : n;
    *line_done = nl != NULL;
    if (tt_buf_len(&r->head) + use > CHUNK_LINE_MAX) {
        fail(r, "chunk line too long");
        return n;
    }
    if (tt_buf_append(&r->head, p, use) < 0) {
        fail(r, "out of memory");
        return n;
    }
    return use;
}

/* The collected line without its line end, as a NUL-terminated string in a scratch buffer. */
static void line_text(ttc_http_resp_t *r, char *out, size_t outlen)
{
    size_t len = tt_buf_len(&r->head);
    const char *s = (const char *)tt_buf_head(&r->head);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, s, len);
    out[len] = 0;
    tt_buf_consume(&r->head, tt_buf_len(&r->head));
}

static int feed_body(ttc_http_resp_t *r, const uint8_t *p, size_t n)
{
    while (n > 0 || r->state == S_DONE) {
        switch (r->state) {
        case S_DONE:
            return TT_OK; /* anything after the response is ignored */
        case S_ERR:
            return TT_ERR;
        case S_HEAD:
            return feed_head(r, p, n);
        case S_BODY_LEN: {
            size_t left = (size_t)r->content_length - tt_buf_len(&r->body);
            size_t use = n < left ? n : left;
            if (body_add(r, p, use) != TT_OK)
                return TT_ERR;
            p += use;
            n -= use;
            if (tt_buf_len(&r->body) == (size_t)r->content_length)
                r->state = S_DONE;
            break;
        }
        case S_BODY_CLOSE:
            if (body_add(r, p, n) != TT_OK)
                return TT_ERR;
            n = 0;
            break;
        case S_CHUNK_CRLF:
            /* exactly the line end after the chunk's bytes ("\r\n", or a bare "\n") */
            if (*p == '\n')
                r->state = S_CHUNK_SIZE;
            else if (*p != '\r' || tt_buf_len(&r->head))
                return fail(r, "missing line end after a chunk");
            else if (tt_buf_append(&r->head, p, 1) < 0)
                return fail(r, "out of memory");
            if (r->state == S_CHUNK_SIZE)
                tt_buf_consume(&r->head, tt_buf_len(&r->head));
            p++;
            n--;
            break;
        case S_CHUNK_SIZE:
        case S_TRAILER: {
            int done = 0;
            size_t use = take_line(r, p, n, &done);
            if (r->state == S_ERR)
                return TT_ERR;
            p += use;
            n -= use;
            if (!done)
                break;
            char line[CHUNK_LINE_MAX + 1];
            line_text(r, line, sizeof(line));
            if (r->state == S_TRAILER) {
                if (!line[0])
                    r->state = S_DONE;
            } else {
                char *s = line;
                while (*s == ' ' || *s == '\t')
                    s++;
                uint64_t size = 0;
                int digits = 0;
                for (; *s; s++, digits++) {
                    int d;
                    if (*s >= '0' && *s <= '9')
                        d = *s - '0';
                    else if (*s >= 'a' && *s <= 'f')
                        d = *s - 'a' + 10;
                    else if (*s >= 'A' && *s <= 'F')
                        d = *s - 'A' + 10;
                    else
                        break;
                    if (size > (uint64_t)r->max_body)
                        return fail(r, "response body larger than the limit");
                    size = size * 16 + (uint64_t)d;
                }
                if (!digits || (*s && *s != ';' && *s != ' ' && *s != '\t'))
                    return fail(r, "bad chunk size");
                if (size > r->max_body - tt_buf_len(&r->body))
                    return fail(r, "response body larger than the limit");
                r->chunk_left = size;
                r->state = size ? S_CHUNK_DATA : S_TRAILER;
            }
            break;
        }
        case S_CHUNK_DATA: {
            size_t use = n < r->chunk_left ? n : (size_t)r->chunk_left;
            if (body_add(r, p, use) != TT_OK)
                return TT_ERR;
            p += use;
            n -= use;
            r->chunk_left -= use;
            if (!r->chunk_left)
                r->state = S_CHUNK_CRLF;
            break;
        }
        }
    }
    return r->state == S_DONE ? TT_OK : TT_AGAIN;
}

int ttc_http_resp_feed(ttc_http_resp_t *r, const void *p, size_t n)
{
    if (r->state == S_ERR)
        return TT_ERR;
    if (r->state == S_DONE)
        return TT_OK;
    if (n == 0)
        return TT_AGAIN;
    return feed_body(r, p, n);
}

int ttc_http_resp_eof(ttc_http_resp_t *r)
{
    switch (r->state) {
    case S_DONE:
        return TT_OK;
    case S_BODY_CLOSE:
    case S_TRAILER: /* last chunk seen; a missing final blank line is forgiven */
        r->state = S_DONE;
        return TT_OK;
    case S_ERR:
        return TT_ERR;
    case S_HEAD:
        return fail(r, tt_buf_len(&r->head) ? "connection closed inside the HTTP headers"
                                            : "connection closed without a response");
    default:
        return fail(r, "connection closed before the end of the response body");
    }
}

/* ---- sockets ---- */

int ttc_net_connect(const char *host, uint16_t port, uint64_t deadline_ms, char *err,
                    size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char portstr[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int saved = ETIMEDOUT;
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        tt_net_set_nodelay(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int n;
            do {
                n = poll(&pfd, 1, ttc_ms_left(deadline_ms));
            } while (n < 0 && errno == EINTR);
            if (n > 0) {
                int e = tt_net_connect_result(fd);
                if (e == 0)
                    break;
                saved = e;
            } else {
                saved = n == 0 ? ETIMEDOUT : errno;
            }
        } else {
            saved = errno;
        }
        close(fd);
        fd = -1;
        if (deadline_ms && ttc_ms_left(deadline_ms) == 0)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%u: %s", host, (unsigned)port,
                 saved == ETIMEDOUT ? "timed out" : strerror(saved));
    return fd;
}

/* Waits for fd to be ready for events within the deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int n;
    do {
        n = poll(&pfd, 1, ttc_ms_left(deadline));
    } while (n < 0 && errno == EINTR);
    return n;
}

int ttc_http_get(const char *url, int timeout_ms, int *status, char **body, size_t *body_len,
                 char *err, size_t errlen)
{
    ttc_url_t u;
    *body = NULL;
    *body_len = 0;
    if (ttc_url_parse(url, &u, err, errlen) < 0)
        return -1;
    uint64_t deadline = ttc_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 5000);
    int fd = ttc_net_connect(u.host, u.port, deadline, err, errlen);
    if (fd < 0)
        return -1;
    char req[1600];
    int is_v6 = strchr(u.host, ':') != NULL;
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUser-Agent: ttcli/0.1\r\n"
                      "Accept: */*\r\nConnection: close\r\n\r\n",
                      u.path, is_v6 ? "[" : "", u.host, is_v6 ? "]" : "", (unsigned)u.port);
    size_t off = 0;
    while (off < (size_t)rl) {
        ssize_t n = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = wait_fd(fd, POLLOUT, deadline);
            if (w > 0)
                continue;
            snprintf(err, errlen, "%s: %s", url, w == 0 ? "timed out sending the request"
                                                        : strerror(errno));
        } else {
            snprintf(err, errlen, "%s: cannot send the request: %s", url, strerror(errno));
        }
        close(fd);
        return -1;
    }
    ttc_http_resp_t r;
    ttc_http_resp_init(&r, 0);
    int rc = TT_AGAIN;
    uint8_t chunk[4096];
    while (rc == TT_AGAIN) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n > 0) {
            rc = ttc_http_resp_feed(&r, chunk, (size_t)n);
        } else if (n == 0) {
            rc = ttc_http_resp_eof(&r);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w <= 0) {
                snprintf(err, errlen, "%s: %s", url,
                         w == 0 ? "timed out waiting for the answer" : strerror(errno));
                break;
            }
        } else {
            snprintf(err, errlen, "%s: %s", url, strerror(errno));
            break;
        }
    }
    close(fd);
    if (rc == TT_ERR)
        snprintf(err, errlen, "%s: %s", url, r.err);
    if (rc != TT_OK) {
        ttc_http_resp_free(&r);
        return -1;
    }
    size_t len = tt_buf_len(&r.body);
    char *out = malloc(len + 1);
    if (!out) {
        ttc_http_resp_free(&r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (len)
        memcpy(out, tt_buf_head(&r.body), len);
    out[len] = 0;
    *status = r.status;
    *body = out;
    *body_len = len;
    ttc_http_resp_free(&r);
    return 0;
}
