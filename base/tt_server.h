/* tt_server: the accepting side of the PDU protocol. Listens on a ';'-separated address list
 * and one port, refuses connections over max_conns before allocating anything, frames PDUs
 * with a size cap, optionally echoes heartbeats (for clients and for peers that expect an
 * echo) or sends its own when idle (server-to-server links), and hands every other frame to
 * the daemon. */
#ifndef TT_SERVER_H
#define TT_SERVER_H

#include <stdint.h>

#include "tt_auth.h"
#include "tt_conn.h"
#include "tt_pdu.h"

typedef struct tt_server_s tt_server_t;

typedef struct tt_server_opts_s {
    const char *hosts;      /* "0.0.0.0" or "0.0.0.0;10.0.0.1" */
    uint16_t port;          /* 0 picks a free port (tests) */
    uint32_t max_conns;     /* refuse beyond this many (0: 100000) */
    uint32_t max_pdu;       /* frame cap (0: TT_PDU_DEFAULT_MAX) */
    tt_conn_limits_t lim;   /* per-connection bounds; lim.max_in defaults to max_pdu + 64 KiB */
    int echo_heartbeat;     /* answer each heartbeat with the same frame */
    int send_heartbeat;     /* send a heartbeat after lim.keepalive_ms of silence */
    int daemon_only;        /* only other daemons connect here (see tt_daemon_listen) */
    tt_auth_t *auth;        /* when it has a secret: every peer must pass the tt_auth
                             * handshake first; before that the daemon does not see it (no
                             * on_open, on_pdu, on_close, foreach) and nothing else is sent */
} tt_server_opts_t;

typedef struct tt_server_handler_s {
    void (*on_open)(tt_server_t *s, tt_conn_t *c, void *udata);  /* accepted (optional) */
    void (*on_pdu)(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata);
    void (*on_close)(tt_server_t *s, tt_conn_t *c, void *udata); /* c->reason says why */
    void (*on_refused)(tt_server_t *s, const char *peer, void *udata); /* over max_conns */
} tt_server_handler_t;

tt_server_t *tt_server_new(tt_loop_t *loop, const tt_server_opts_t *opts,
                           const tt_server_handler_t *h, void *udata, char *err, size_t errlen);
/* Closes the listeners and every connection. */
void tt_server_free(tt_server_t *s);
/* Closes the listeners only (graceful stop: existing connections stay). */
void tt_server_stop_listening(tt_server_t *s);
/* Closes every connection, after its queued output is written. */
void tt_server_close_all(tt_server_t *s, const char *reason);
uint32_t tt_server_conn_count(const tt_server_t *s);
uint16_t tt_server_port(const tt_server_t *s);
/* Calls fn for each open connection (fn must not free connections; closing is fine). */
void tt_server_foreach(tt_server_t *s, void (*fn)(tt_conn_t *c, void *arg), void *arg);

#endif
