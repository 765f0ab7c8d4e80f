/* tt_link: an outgoing link to another daemon that keeps itself up. It connects, frames PDUs,
 * sends a heartbeat whenever it has sent nothing for heartbeat_ms, drops a peer that has been
 * silent for timeout_ms, and after any loss reconnects with exponential backoff
 * (backoff_min_ms, doubling up to backoff_max_ms, reset after a successful connect). */
#ifndef TT_LINK_H
#define TT_LINK_H

#include <stdint.h>

#include "tt_auth.h"
#include "tt_conn.h"
#include "tt_loop.h"
#include "tt_pdu.h"

typedef struct tt_link_s tt_link_t;

typedef struct tt_link_opts_s {
    const char *host;        /* peer address (copied) */
    uint16_t port;           /* peer port */
    uint32_t backoff_min_ms; /* first reconnect delay (0: 4000) */
    uint32_t backoff_max_ms; /* cap of the delay (0: 64000) */
    uint32_t heartbeat_ms;   /* send a heartbeat after this much silence (0: 5000) */
    uint32_t timeout_ms;     /* drop the peer after this much silence from it (0: 30000) */
    uint32_t max_pdu;        /* frame cap (0: TT_PDU_DEFAULT_MAX) */
    size_t max_out;          /* output cap (0: 64 MiB) */
    tt_auth_t *auth;         /* with a secret: the tt_auth handshake runs first, and the link
                              * is up (on_up, sends) only once the peer proved it has it */
} tt_link_opts_t;

typedef struct tt_link_handler_s {
    void (*on_up)(tt_link_t *l, void *udata);                      /* connected */
    void (*on_down)(tt_link_t *l, const char *reason, void *udata); /* lost or failed */
    void (*on_pdu)(tt_link_t *l, const tt_pdu_t *pdu, void *udata); /* a frame (not heartbeats) */
} tt_link_handler_t;

tt_link_t *tt_link_new(tt_loop_t *loop, const tt_link_opts_t *opts, const tt_link_handler_t *h,
                       void *udata);
/* Starts connecting (now). */
void tt_link_start(tt_link_t *l);
/* Closes and frees; no callback runs afterwards. */
void tt_link_free(tt_link_t *l);

int tt_link_is_up(const tt_link_t *l);
tt_conn_t *tt_link_conn(const tt_link_t *l); /* NULL while down or in the handshake */
const char *tt_link_name(const tt_link_t *l); /* "host:port" */
uint32_t tt_link_next_delay(const tt_link_t *l); /* delay of the next reconnect attempt */
void *tt_link_udata(const tt_link_t *l);
/* Monotonic ms when the current connection came up (for "oldest link" choices). */
uint64_t tt_link_up_since(const tt_link_t *l);

int tt_link_send(tt_link_t *l, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                 const ProtobufCMessage *msg);
int tt_link_send_raw(tt_link_t *l, uint16_t service_id, uint16_t command_id, uint16_t seq_num,
                     const uint8_t *body, size_t body_len);

#endif
