/* tt_http: the server side of HTTP/1.1 on the reactor, parsed by http-parser. One request per
 * connection (the response closes it, as the original servers do), bounded header and body
 * sizes, an idle timeout, a connection cap in total and per source address, and deadlines for
 * the whole request: the request line and headers within header_ms, then the body at no less
 * than min_rate bytes/s on average after a grace of body_ms (so a slow sender is cut whatever
 * it trickles; 408). A handler may answer at once or later: it keeps the request id and finds
 * the request again with tt_http_find (NULL if the client left). By default the body is
 * gathered in req->body; a server with stream callbacks gets it chunk by chunk instead. */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "tt_buf.h"
#include "tt_conn.h"
#include "tt_loop.h"

typedef struct tt_http_server_s tt_http_server_t;
typedef struct tt_http_req_s tt_http_req_t;

typedef struct tt_http_limits_s {
    size_t max_header;  /* request line + headers (0: 8 KiB) */
    size_t max_body;    /* body (0: 1 MiB) */
    uint32_t idle_ms;   /* idle timeout (0: 60 s) */
    uint32_t max_conns; /* concurrent connections (0: 10000) */
    uint32_t max_per_addr; /* concurrent connections per source address, IPv6 per /64 (0: 64) */
    uint32_t header_ms; /* request line and headers must be in within this (0: 10 s) */
    uint32_t body_ms;   /* grace for the body before min_rate applies (0: 10 s) */
    uint32_t min_rate;  /* least average body rate in bytes/s after the grace (0: 4096) */
    tt_conn_pool_t *pool; /* total buffer cap shared with other connections (optional) */
} tt_http_limits_t;

struct tt_http_req_s {
    uint64_t id;              /* unique per server, for answering later */
    tt_http_server_t *server; /* owning server */
    tt_conn_t *conn;          /* transport */
    const char *method;       /* "GET", "POST", ... */
    char *url;                /* request target as sent (path and query) */
    tt_buf_t body;            /* request body (empty when streamed) */
    uint64_t content_length;  /* Content-Length, 0 when absent */
    void *udata;              /* free for the handler */
};

typedef void (*tt_http_handler_fn)(tt_http_req_t *req, void *udata);

/* Body streaming (optional, for large bodies): on_headers runs once the headers are in and
 * returns 0 to go on or an HTTP status to refuse the request with (the body is then not read);
 * on_body gets every body chunk and returns 0, or -1 to close the connection (after answering
 * with tt_http_respond, or without an answer). The handler runs when the body is complete, with
 * req->body empty. on_abort runs when a connection closes after on_headers returned 0 but
 * before the handler ran (client gone, deadline, error), so that the stream can be cleaned up. */
typedef struct tt_http_stream_s {
    int (*on_headers)(tt_http_req_t *req, void *udata);
    int (*on_body)(tt_http_req_t *req, const char *at, size_t len, void *udata);
    void (*on_abort)(tt_http_req_t *req, void *udata);
    /* Optional: the body is over max_body (its Content-Length, before any of it is read, or
     * the bytes of a chunked body as they pass it). It answers with tt_http_respond (else the
     * plain 413 goes out); the connection is closed after the answer either way. */
    void (*on_too_large)(tt_http_req_t *req, void *udata);
} tt_http_stream_t;

/* Listens on host:port. NULL with the reason in err. */
tt_http_server_t *tt_http_server_new(tt_loop_t *loop, const char *host, uint16_t port,
                                     const tt_http_limits_t *lim, tt_http_handler_fn fn,
                                     void *udata, char *err, size_t errlen);
/* Streams request bodies through st (kept by pointer) instead of gathering them. */
void tt_http_server_set_stream(tt_http_server_t *s, const tt_http_stream_t *st);
/* Stops listening; open connections are closed. */
void tt_http_server_free(tt_http_server_t *s);
uint16_t tt_http_server_port(const tt_http_server_t *s);
/* Stops accepting; requests in progress may still be answered. */
void tt_http_server_stop_listening(tt_http_server_t *s);
size_t tt_http_server_conns(const tt_http_server_t *s);
/* Connections refused over max_per_addr, and requests cut at their deadline, so far. */
uint64_t tt_http_server_refused_per_addr(const tt_http_server_t *s);
uint64_t tt_http_server_timed_out(const tt_http_server_t *s);

/* Case-insensitive header lookup; NULL when absent. */
const char *tt_http_header(const tt_http_req_t *req, const char *name);
tt_http_req_t *tt_http_find(tt_http_server_t *s, uint64_t id);

/* Sends the response (Content-Length, Connection: close) and closes after it is written. */
void tt_http_respond(tt_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* The same with extra header lines (each ending in "\r\n", NULL for none); with head_only
 * the headers say Content-Length: len but the body is not sent (HEAD). */
void tt_http_respond_ex(tt_http_req_t *req, int status, const char *content_type,
                        const char *extra_headers, const void *body, size_t len, int head_only);
/* Closes without an answer. */
void tt_http_drop(tt_http_req_t *req, const char *why);

#endif
