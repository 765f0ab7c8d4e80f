/* ttc_http: the client side of one HTTP/1.1 GET over a plain socket (Connection: close), as
 * needed to ask login_server for a msg_server. The response parser is pure and incremental:
 * feed any pieces, it says OK (complete), AGAIN (more) or ERR, and ttc_http_resp_eof tells it
 * the server closed. Bodies are delimited by Content-Length, chunked encoding or the close.
 * Also the URL splitter and a connect-with-deadline shared with the PDU client. */
#ifndef TTC_HTTP_H
#define TTC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "tt_buf.h"

#define TTC_HTTP_MAX_HEAD (16u << 10) /* status line + headers */
#define TTC_HTTP_MAX_BODY (1u << 20)  /* default body cap */

/* Parts of an http:// URL. */
typedef struct ttc_url_s {
    char host[256]; /* name or address, without IPv6 brackets */
    uint16_t port;  /* 80 when absent */
    char path[1024];/* path and query, "/" when absent */
} ttc_url_t;

/* Splits "http://host[:port][/path]" ("[v6]:port" accepted). 0 ok, -1 with a reason. */
int ttc_url_parse(const char *url, ttc_url_t *out, char *err, size_t errlen);

/* Incremental HTTP response reader. */
typedef struct ttc_http_resp_s {
    int state;              /* parser state (internal) */
    int status;             /* status code, once the head is read */
    int chunked;            /* Transfer-Encoding: chunked */
    int64_t content_length; /* -1 when absent (then: chunked or until close) */
    size_t max_body;        /* body cap */
    uint64_t chunk_left;    /* bytes left in the current chunk */
    tt_buf_t head;          /* status line and headers while being read; chunk-size lines */
    tt_buf_t body;          /* the (decoded) body */
    char err[128];          /* why the response was rejected */
} ttc_http_resp_t;

/* max_body 0 = TTC_HTTP_MAX_BODY. */
void ttc_http_resp_init(ttc_http_resp_t *r, size_t max_body);
void ttc_http_resp_free(ttc_http_resp_t *r);
/* TT_OK: the response is complete (bytes after it are ignored); TT_AGAIN; TT_ERR (r->err). */
int ttc_http_resp_feed(ttc_http_resp_t *r, const void *p, size_t n);
/* The server closed: TT_OK when that completes the response, TT_ERR when it was cut short. */
int ttc_http_resp_eof(ttc_http_resp_t *r);

/* Connects to host:port trying each address until one answers, all within deadline_ms
 * (a tt_clock-style monotonic ms value; 0 = no deadline). Returns a non-blocking fd or -1. */
int ttc_net_connect(const char *host, uint16_t port, uint64_t deadline_ms, char *err,
                    size_t errlen);
/* Monotonic clock in ms. */
uint64_t ttc_now_ms(void);
/* ms left until deadline (0 = none: returns -1, meaning "forever" for poll). */
int ttc_ms_left(uint64_t deadline_ms);

/* GET url within timeout_ms. On 0: *status, and *body (NUL-terminated, malloc'd, free it)
 * of *body_len bytes. -1 with a reason in err. */
int ttc_http_get(const char *url, int timeout_ms, int *status, char **body, size_t *body_len,
                 char *err, size_t errlen);

#endif
