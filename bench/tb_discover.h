/* tb_discover: msg_server discovery the way a client does it (§5.1): GET the login_server URL,
 * read the JSON, take priorIP and port (a string in the original; a number is accepted too).
 * The parsers are pure (used by the asynchronous per-client path and the self-test); the
 * blocking GET is used once at start-up. */
#ifndef TB_DISCOVER_H
#define TB_DISCOVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tb_url_s {
    char host[256];   /* host name or address */
    uint16_t port;    /* port, 80 when absent */
    char path[1024];  /* path and query, "/" when absent */
} tb_url_t;

/* Parses "http://host[:port][/path]". 0 ok, -1 (reason in err). */
int tb_url_parse(const char *url, tb_url_t *u, char *err, size_t errlen);

/* Writes the GET request for u into out (NUL-terminated). Returns its length or -1. */
int tb_http_get_request(const tb_url_t *u, char *out, size_t cap);

/* Looks at a buffered HTTP response. 0: whole (status and body set), -2: more bytes needed
 * (with eof = 1 the body runs to the end of the buffer), -1: not a usable response. */
int tb_http_response(const char *buf, size_t len, int eof, int *status, const char **body,
                     size_t *body_len);

/* Parses the /msg_server JSON. 0 ok (ip, port set), -1 with the reason (including the
 * server's code and msg for a refusal). */
int tb_msg_server_json(const char *body, size_t len, char *ip, size_t iplen, uint16_t *port,
                       char *err, size_t errlen);

/* IPv4 address of host (dotted quad, or a name looked up, blocking). 0 ok, -1. */
int tb_resolve4(const char *host, uint16_t port, struct sockaddr_in *out);

/* GET url and parse the answer, waiting at most timeout_ms. 0 ok, -1 (reason in err). */
int tb_discover(const char *url, int timeout_ms, char *ip, size_t iplen, uint16_t *port,
                char *err, size_t errlen);

#endif
