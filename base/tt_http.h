/* tt_http: the server side of HTTP/1.1 on the reactor, parsed by http-parser. One request per
 * connection (the response closes it, as the original servers do), bounded header and body
 * sizes, an idle timeout and a connection cap. A handler may answer at once or later: it keeps
 * the request id and finds the request again with tt_http_find (NULL if the client left). */
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
    tt_conn_pool_t *pool; /* total buffer cap shared with other connections (optional) */
} tt_http_limits_t;

struct tt_http_req_s {
    uint64_t id;              /* unique per server, for answering later */
    tt_http_server_t *server; /* owning server */
    tt_conn_t *conn;          /* transport */
    const char *method;       /* "GET", "POST", ... */
    char *url;                /* request target as sent (path and query) */
    tt_buf_t body;            /* request body */
    void *udata;              /* free for the handler */
};

typedef void (*tt_http_handler_fn)(tt_http_req_t *req, void *udata);

/* Listens on host:port. NULL with the reason in err. */
tt_http_server_t *tt_http_server_new(tt_loop_t *loop, const char *host, uint16_t port,
                                     const tt_http_limits_t *lim, tt_http_handler_fn fn,
                                     void *udata, char *err, size_t errlen);
/* Stops listening; open connections are closed. */
void tt_http_server_free(tt_http_server_t *s);
uint16_t tt_http_server_port(const tt_http_server_t *s);
/* Stops accepting; requests in progress may still be answered. */
void tt_http_server_stop_listening(tt_http_server_t *s);
size_t tt_http_server_conns(const tt_http_server_t *s);

/* Case-insensitive header lookup; NULL when absent. */
const char *tt_http_header(const tt_http_req_t *req, const char *name);
tt_http_req_t *tt_http_find(tt_http_server_t *s, uint64_t id);

/* Sends the response (Content-Length, Connection: close) and closes after it is written. */
void tt_http_respond(tt_http_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* Closes without an answer. */
void tt_http_drop(tt_http_req_t *req, const char *why);

#endif
