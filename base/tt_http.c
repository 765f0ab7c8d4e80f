#include "tt_http.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_HEADERS 64

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
};

static http_conn_t *conn_of(http_parser *p)
{
    return (http_conn_t *)((char *)p - offsetof(http_conn_t, parser));
}

static void error_response(http_conn_t *hc, int status, const char *text)
{
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
    hc->req.method = http_method_str((enum http_method)p->method);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > hc->req.server->lim.max_body) {
        error_response(hc, 413, "request body too large\n");
        return -1;
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
    if (tt_buf_len(&hc->req.body) + len > hc->req.server->lim.max_body) {
        error_response(hc, 413, "request body too large\n");
        return -1;
    }
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
    if (hc->dispatched) {
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

static void http_on_close(tt_conn_t *c)
{
    http_conn_t *hc = c->udata;
    tt_http_server_t *s = hc->req.server;
    if (s) {
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
    (void)addr;
    tt_http_server_t *s = udata;
    if (s->nconns >= s->lim.max_conns) {
        close(fd); /* over the cap: refuse before allocating anything */
        return;
    }
    http_conn_t *hc = calloc(1, sizeof(*hc));
    if (!hc) {
        close(fd);
        return;
    }
    tt_conn_limits_t lim = {
        .max_in = s->lim.max_header + s->lim.max_body + 4096,
        .idle_ms = s->lim.idle_ms,
        .pool = s->lim.pool,
    };
    tt_conn_t *c = tt_conn_new(s->loop, fd, NULL, &http_conn_handler, hc, &lim);
    if (!c) {
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
    s->fn = fn;
    s->udata = udata;
    s->listener = tt_listener_new(loop, host, port, 511, http_accept, s, err, errlen);
    if (!s->listener) {
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
        hc->req.server = NULL;
        tt_conn_close(hc->req.conn, "server shut down");
    }
    free(s);
}

uint16_t tt_http_server_port(const tt_http_server_t *s) { return s->port; }
size_t tt_http_server_conns(const tt_http_server_t *s) { return s->nconns; }

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
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void tt_http_respond(tt_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    http_conn_t *hc = (http_conn_t *)((char *)req - offsetof(http_conn_t, req));
    if (hc->answered || !tt_conn_is_open(req->conn))
        return;
    hc->answered = 1;
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
                     "Content-Type: %s\r\nCache-Control: no-cache\r\n\r\n",
                     status, status_text(status), len, content_type ? content_type : "text/plain");
    if (tt_conn_write(req->conn, head, (size_t)n) == 0 && len > 0)
        tt_conn_write(req->conn, body, len);
    tt_conn_close_after_flush(req->conn, "response sent");
}

void tt_http_drop(tt_http_req_t *req, const char *why)
{
    http_conn_t *hc = (http_conn_t *)((char *)req - offsetof(http_conn_t, req));
    hc->answered = 1;
    tt_conn_close(req->conn, "%s", why);
}
