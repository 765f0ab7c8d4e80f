#include "tt_http.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tt_log.h"
#include "tt_map.h"

#define MAX_HEADERS 64
/* An answer given while the client may still be sending its body (a refusal after the
 * headers, a body cut): the rest is read and dropped for up to LINGER_MS after the answer,
 * and the write side is shut once the answer is out, so that the client reads the answer
 * and an end of stream instead of a reset that would destroy it. */
#define LINGER_MS 2000
#define LINGER_TICK_MS 20

typedef struct http_conn_s http_conn_t;

struct tt_http_server_s {
    tt_loop_t *loop;         /* owning loop */
    tt_listener_t *listener; /* NULL once stopped */
    tt_http_limits_t lim;    /* bounds */
    tt_http_handler_fn fn;   /* request handler */
    void *udata;             /* handler data */
    uint64_t next_id;        /* next request id */
    http_conn_t *conns;      /* live connections (doubly linked) */
    size_t nconns;
    tt_map_t per_addr;       /* address key -> live connections from it (never 0: removed) */
    const tt_http_stream_t *stream; /* body streaming callbacks, NULL: gather bodies */
    uint64_t refused_per_addr; /* connections refused over max_per_addr */
    uint64_t timed_out;      /* requests cut at their deadline */
    uint64_t limits_logged_at; /* loop time of the last line about them (0: never) */
    uint16_t port;           /* bound port */
};

struct http_conn_s {
    http_conn_t *prev, *next;   /* server list links */
    tt_http_req_t req;          /* the (single) request of this connection */
    http_parser parser;         /* incremental parser state */
    tt_buf_t hdr;               /* "name\0value\0" pairs */
    size_t nheaders;            /* pairs stored */
    size_t header_bytes;        /* bytes of request line and headers seen */
    int in_value;               /* last header callback was a value */
    int dispatched;             /* the handler has the request */
    int answered;               /* a response was queued */
    int streaming;              /* on_headers accepted: on_body/on_abort are due */
    int headers_done;           /* the headers are in */
    uint64_t addr_key;          /* key of the source address in per_addr */
    uint64_t start_ms;          /* loop time of the accept */
    uint64_t headers_at;        /* loop time the headers were complete */
    uint64_t body_bytes;        /* body bytes received */
    tt_timer_t deadline;        /* checks the request deadlines (and the linger) */
    int lingering;              /* answered before the body ended: input is dropped */
    int shut_wr;                /* the answer is out and the write side shut */
    uint64_t linger_until;      /* loop time the lingering connection is closed */
};

static http_conn_t *conn_of(http_parser *p)
{
    return (http_conn_t *)((char *)p - offsetof(http_conn_t, parser));
}

static void error_response(http_conn_t *hc, int status, const char *text)
{
    const tt_http_stream_t *st = hc->req.server ? hc->req.server->stream : NULL;
    if (status == 413 && st && st->on_too_large && !hc->answered)
        st->on_too_large(&hc->req, hc->req.server->udata);
    tt_http_respond(&hc->req, status, "text/plain; charset=utf-8", text, strlen(text));
}

static int count_header_bytes(http_conn_t *hc, size_t len)
{
    hc->header_bytes += len;
    if (hc->header_bytes > hc->req.server->lim.max_header) {
        error_response(hc, 431, "request header too large\n");
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_conn_t *hc = conn_of(p);
    if (count_header_bytes(hc, len) < 0)
        return -1;
    size_t old = hc->req.url ? strlen(hc->req.url) : 0;
    char *u = realloc(hc->req.url, old + len + 1);
    if (!u)
        return -1;
    memcpy(u + old, at, len);
    u[old + len] = '\0';
    hc->req.url = u;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_conn_t *hc = conn_of(p);
    if (count_header_bytes(hc, len) < 0)
        return -1;
    if (hc->in_value || hc->nheaders == 0) {
        if (hc->nheaders >= MAX_HEADERS) {
            error_response(hc, 431, "too many request headers\n");
            return -1;
        }
        hc->nheaders++;
        hc->in_value = 0;
    } else if (tt_buf_len(&hc->hdr) > 0) {
        hc->hdr.end--; /* continue the previous name: drop its terminator */
    }
    return tt_buf_append(&hc->hdr, at, len) < 0 || tt_buf_append(&hc->hdr, "", 1) < 0 ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_conn_t *hc = conn_of(p);
    if (count_header_bytes(hc, len) < 0)
        return -1;
    if (hc->in_value)
        hc->hdr.end--; /* continue the previous value */
    hc->in_value = 1;
    return tt_buf_append(&hc->hdr, at, len) < 0 || tt_buf_append(&hc->hdr, "", 1) < 0 ? -1 : 0;
}

static int on_headers_complete(http_parser *p)
{
    http_conn_t *hc = conn_of(p);
    tt_http_server_t *s = hc->req.server;
    hc->req.method = http_method_str((enum http_method)p->method);
    hc->headers_done = 1;
    hc->headers_at = tt_loop_now(s->loop);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > s->lim.max_body) {
        error_response(hc, 413, "request body too large\n");
        return -1;
    }
    if (p->flags & F_CONTENTLENGTH)
        hc->req.content_length = p->content_length;
    if (s->stream && s->stream->on_headers) {
        int status = s->stream->on_headers(&hc->req, s->udata);
        if (status != 0) {
            error_response(hc, status, "request refused\n");
            return -1;
        }
        hc->streaming = 1;
    }
    /* curl and PHP wait for this before sending a body; without it uploads stall a second. */
    const char *expect = tt_http_header(&hc->req, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && p->content_length > 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        tt_conn_write(hc->req.conn, cont, sizeof(cont) - 1);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_conn_t *hc = conn_of(p);
    tt_http_server_t *s = hc->req.server;
    if (hc->body_bytes + len > s->lim.max_body) {
        error_response(hc, 413, "request body too large\n");
        return -1;
    }
    hc->body_bytes += len;
    if (hc->streaming)
        return s->stream->on_body && s->stream->on_body(&hc->req, at, len, s->udata) < 0 ? -1 : 0;
    return tt_buf_append(&hc->req.body, at, len);
}

static int on_message_complete(http_parser *p)
{
    http_conn_t *hc = conn_of(p);
    hc->dispatched = 1;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void http_on_read(tt_conn_t *c)
{
    http_conn_t *hc = c->udata;
    if (hc->dispatched || hc->lingering) {
        /* One request per connection: anything after it is ignored. */
        tt_buf_consume(&c->in, tt_buf_len(&c->in));
        return;
    }
    size_t len = tt_buf_len(&c->in);
    size_t n = http_parser_execute(&hc->parser, &parser_settings,
                                   (const char *)tt_buf_head(&c->in), len);
    tt_buf_consume(&c->in, len);
    if (hc->dispatched) {
        tt_http_server_t *s = hc->req.server;
        tt_timer_stop(s->loop, &hc->deadline); /* answering is the handler's business */
        s->fn(&hc->req, s->udata);
        return;
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&hc->parser);
    if ((e != HPE_OK || n != len) && !hc->answered && tt_conn_is_open(c)) {
        char text[160];
        snprintf(text, sizeof(text), "bad request: %s\n", http_errno_description(e));
        error_response(hc, 400, text);
    }
}

/* One key per IPv4 address and per IPv6 /64 (what one subscriber usually gets). An IPv4-mapped
 * IPv6 address counts as its IPv4 address. */
static uint64_t addr_key(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        return (uint64_t)ntohl(sin->sin_addr.s_addr) | (1ull << 32);
    }
    if (addr->ss_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0)
            return ((uint64_t)b[12] << 24 | (uint64_t)b[13] << 16 | (uint64_t)b[14] << 8 |
                    b[15]) | (1ull << 32);
        uint64_t k = 0;
        for (int i = 0; i < 8; i++)
            k = k << 8 | b[i];
        return k;
    }
    return 0; /* other families (none in practice) share one count */
}

/* At most one line a minute per listener about refused and cut clients, with the totals. */
static void log_limits(tt_http_server_t *s, const char *what, const char *who)
{
    uint64_t now = tt_loop_now(s->loop);
    if (s->limits_logged_at && now - s->limits_logged_at < 60000)
        return;
    s->limits_logged_at = now ? now : 1;
    log_warn("HTTP port %u: %s %s (so far %llu connections refused over the per-address cap "
             "of %u, %llu requests cut at their deadline; next line in a minute at most)",
             (unsigned)s->port, what, who, (unsigned long long)s->refused_per_addr,
             (unsigned)s->lim.max_per_addr, (unsigned long long)s->timed_out);
}

static size_t addr_count(const tt_http_server_t *s, uint64_t key)
{
    return (size_t)(uintptr_t)tt_map_get(&s->per_addr, key);
}

/* The request deadline: headers within header_ms of the accept, then the body at min_rate
 * after a grace of body_ms (every byte received buys 1/min_rate s more). */
static uint64_t request_deadline(const http_conn_t *hc, const tt_http_limits_t *lim)
{
    if (!hc->headers_done)
        return hc->start_ms + lim->header_ms;
    return hc->headers_at + lim->body_ms + hc->body_bytes * 1000u / lim->min_rate;
}

static void deadline_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    http_conn_t *hc = udata;
    tt_http_server_t *s = hc->req.server;
    if (s && hc->lingering && tt_conn_is_open(hc->req.conn)) {
        tt_conn_t *c = hc->req.conn;
        if (!hc->shut_wr && tt_buf_len(&c->out) == 0 && c->fd >= 0) {
            shutdown(c->fd, SHUT_WR);
            hc->shut_wr = 1;
        }
        if (tt_loop_now(loop) >= hc->linger_until)
            tt_conn_close(c, "answered before the end of the request body");
        else
            tt_timer_start(loop, &hc->deadline, LINGER_TICK_MS, 0);
        return;
    }
    if (!s || hc->dispatched || hc->answered || !tt_conn_is_open(hc->req.conn))
        return;
    uint64_t now = tt_loop_now(loop), due = request_deadline(hc, &s->lim);
    if (now < due) {
        tt_timer_start(loop, &hc->deadline, due - now, 0);
        return;
    }
    s->timed_out++;
    log_limits(s, hc->headers_done ? "body too slow from" : "headers too slow from",
               hc->req.conn->peer);
    error_response(hc, 408, hc->headers_done ? "request body too slow\n"
                                             : "request headers too slow\n");
}

static void http_on_close(tt_conn_t *c)
{
    http_conn_t *hc = c->udata;
    tt_http_server_t *s = hc->req.server;
    if (s) {
        tt_timer_stop(s->loop, &hc->deadline);
        size_t n = addr_count(s, hc->addr_key);
        if (n > 1)
            tt_map_put(&s->per_addr, hc->addr_key, (void *)(uintptr_t)(n - 1));
        else
            tt_map_del(&s->per_addr, hc->addr_key);
        if (hc->streaming && !hc->dispatched && s->stream->on_abort)
            s->stream->on_abort(&hc->req, s->udata);
        if (hc->prev)
            hc->prev->next = hc->next;
        else
            s->conns = hc->next;
        if (hc->next)
            hc->next->prev = hc->prev;
        s->nconns--;
    }
    free(hc->req.url);
    tt_buf_free(&hc->req.body);
    tt_buf_free(&hc->hdr);
    free(hc);
}

static const tt_conn_handler_t http_conn_handler = {NULL, http_on_read, NULL, http_on_close};

static void http_accept(tt_listener_t *l, int fd, const struct sockaddr_storage *addr,
                        void *udata)
{
    (void)l;
    tt_http_server_t *s = udata;
    if (s->nconns >= s->lim.max_conns) {
        close(fd); /* over the cap: refuse before allocating anything */
        return;
    }
    uint64_t key = addr_key(addr);
    size_t from_addr = addr_count(s, key);
    if (from_addr >= s->lim.max_per_addr) {
        s->refused_per_addr++;
        char ip[INET6_ADDRSTRLEN] = "?";
        if (addr->ss_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
        else if (addr->ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof(ip));
        log_limits(s, "too many connections from", ip);
        close(fd);
        return;
    }
    http_conn_t *hc = calloc(1, sizeof(*hc));
    if (!hc || tt_map_put(&s->per_addr, key, (void *)(uintptr_t)(from_addr + 1)) < 0) {
        free(hc);
        close(fd);
        return;
    }
    hc->addr_key = key;
    tt_conn_limits_t lim = {
        .max_in = s->lim.max_header + s->lim.max_body + 4096,
        .idle_ms = s->lim.idle_ms,
        .pool = s->lim.pool,
    };
    tt_conn_t *c = tt_conn_new(s->loop, fd, NULL, &http_conn_handler, hc, &lim);
    if (!c) {
        if (from_addr > 0)
            tt_map_put(&s->per_addr, key, (void *)(uintptr_t)from_addr);
        else
            tt_map_del(&s->per_addr, key);
        free(hc);
        close(fd);
        return;
    }
    http_parser_init(&hc->parser, HTTP_REQUEST);
    tt_buf_init(&hc->hdr);
    tt_buf_init(&hc->req.body);
    hc->req.id = ++s->next_id;
    hc->req.server = s;
    hc->req.conn = c;
    hc->req.method = "";
    hc->start_ms = tt_loop_now(s->loop);
    tt_timer_init(&hc->deadline, deadline_cb, hc);
    tt_timer_start(s->loop, &hc->deadline, s->lim.header_ms, 0);
    hc->next = s->conns;
    if (s->conns)
        s->conns->prev = hc;
    s->conns = hc;
    s->nconns++;
}

tt_http_server_t *tt_http_server_new(tt_loop_t *loop, const char *host, uint16_t port,
                                     const tt_http_limits_t *lim, tt_http_handler_fn fn,
                                     void *udata, char *err, size_t errlen)
{
    tt_http_server_t *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    if (lim)
        s->lim = *lim;
    if (!s->lim.max_header)
        s->lim.max_header = 8192;
    if (!s->lim.max_body)
        s->lim.max_body = 1u << 20;
    if (!s->lim.idle_ms)
        s->lim.idle_ms = 60000;
    if (!s->lim.max_conns)
        s->lim.max_conns = 10000;
    if (!s->lim.max_per_addr)
        s->lim.max_per_addr = 64;
    if (!s->lim.header_ms)
        s->lim.header_ms = 10000;
    if (!s->lim.body_ms)
        s->lim.body_ms = 10000;
    if (!s->lim.min_rate)
        s->lim.min_rate = 4096;
    tt_map_init(&s->per_addr);
    s->fn = fn;
    s->udata = udata;
    s->listener = tt_listener_new(loop, host, port, 511, http_accept, s, err, errlen);
    if (!s->listener) {
        tt_map_free(&s->per_addr);
        free(s);
        return NULL;
    }
    s->port = tt_listener_port(s->listener);
    return s;
}

void tt_http_server_stop_listening(tt_http_server_t *s)
{
    tt_listener_free(s->listener);
    s->listener = NULL;
}

void tt_http_server_free(tt_http_server_t *s)
{
    if (!s)
        return;
    tt_http_server_stop_listening(s);
    for (http_conn_t *hc = s->conns; hc; hc = hc->next) {
        tt_timer_stop(s->loop, &hc->deadline);
        if (hc->streaming && !hc->dispatched && s->stream->on_abort)
            s->stream->on_abort(&hc->req, s->udata);
        hc->req.server = NULL;
        tt_conn_close(hc->req.conn, "server shut down");
    }
    tt_map_free(&s->per_addr);
    free(s);
}

void tt_http_server_set_stream(tt_http_server_t *s, const tt_http_stream_t *st)
{
    s->stream = st;
}

uint16_t tt_http_server_port(const tt_http_server_t *s) { return s->port; }
size_t tt_http_server_conns(const tt_http_server_t *s) { return s->nconns; }
uint64_t tt_http_server_refused_per_addr(const tt_http_server_t *s)
{
    return s->refused_per_addr;
}
uint64_t tt_http_server_timed_out(const tt_http_server_t *s) { return s->timed_out; }

const char *tt_http_header(const tt_http_req_t *req, const char *name)
{
    const http_conn_t *hc = (const http_conn_t *)((const char *)req - offsetof(http_conn_t, req));
    const char *p = (const char *)tt_buf_head(&hc->hdr);
    const char *end = p + tt_buf_len(&hc->hdr);
    while (p < end) {
        const char *value = p + strlen(p) + 1;
        if (value >= end)
            break;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

tt_http_req_t *tt_http_find(tt_http_server_t *s, uint64_t id)
{
    for (http_conn_t *hc = s->conns; hc; hc = hc->next)
        if (hc->req.id == id && !hc->answered && tt_conn_is_open(hc->req.conn))
            return &hc->req;
    return NULL;
}

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void tt_http_respond_ex(tt_http_req_t *req, int status, const char *content_type,
                        const char *extra_headers, const void *body, size_t len, int head_only)
{
    http_conn_t *hc = (http_conn_t *)((char *)req - offsetof(http_conn_t, req));
    if (hc->answered || !tt_conn_is_open(req->conn))
        return;
    hc->answered = 1;
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
                     "Content-Type: %s\r\nCache-Control: no-cache\r\n%s\r\n",
                     status, status_text(status), len, content_type ? content_type : "text/plain",
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= sizeof(head)) {
        tt_conn_close(req->conn, "response header too long");
        return;
    }
    if (tt_conn_write(req->conn, head, (size_t)n) == 0 && len > 0 && !head_only)
        tt_conn_write(req->conn, body, len);
    tt_http_server_t *s = req->server;
    if (s && hc->headers_done && !hc->dispatched && status != 408) {
        hc->lingering = 1;
        hc->linger_until = tt_loop_now(s->loop) + LINGER_MS;
        tt_timer_start(s->loop, &hc->deadline, LINGER_TICK_MS, 0);
        return;
    }
    tt_conn_close_after_flush(req->conn, "response sent");
}

void tt_http_respond(tt_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    tt_http_respond_ex(req, status, content_type, NULL, body, len, 0);
}

void tt_http_drop(tt_http_req_t *req, const char *why)
{
    http_conn_t *hc = (http_conn_t *)((char *)req - offsetof(http_conn_t, req));
    hc->answered = 1;
    tt_conn_close(req->conn, "%s", why);
}
