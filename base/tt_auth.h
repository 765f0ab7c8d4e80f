/* tt_auth: mutual authentication of the two ends of a daemon-to-daemon link with a shared
 * secret, before any other frame is sent or accepted on it.
 *
 * Handshake (SID_OTHER, command ids unused by every client and by the original daemons):
 *   both ends, at once:  AUTH_HELLO  body = "TTA1" + 32 random bytes (the end's nonce)
 *   on the peer's hello: AUTH_PROOF  body = HMAC-SHA256(secret, label + Nc + Ns)
 * where Nc is the connecting end's nonce, Ns the accepting end's, and label is
 * "teamtalk-c daemon auth v1 connector" or "... acceptor" by the sender's role, so that
 * a proof can neither be replayed (the other end's nonce is fresh) nor reflected (the roles
 * differ). A proof is checked in constant time. An end is authenticated once it has checked
 * the peer's proof; until then any other frame, a frame out of order, a wrong proof or a
 * handshake not done within the deadline closes the link, and the failure is counted and
 * logged at a bounded rate. The traffic itself is not encrypted. */
#ifndef TT_AUTH_H
#define TT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "tt_cfg.h"
#include "tt_conn.h"
#include "tt_pdu.h"

#define TT_AUTH_SID 0x0007
#define TT_AUTH_CID_HELLO 0x07f0
#define TT_AUTH_CID_PROOF 0x07f1
#define TT_AUTH_NONCE_LEN 32
#define TT_AUTH_MAC_LEN 32
#define TT_AUTH_MIN_SECRET 16  /* bytes */
#define TT_AUTH_MAX_SECRET 256 /* bytes */
#define TT_AUTH_DEFAULT_MS 5000
#define TT_AUTH_MAX_FRAME 256 /* no handshake frame is longer */

/* A daemon's secret and its failure count (one per daemon, shared by its links and ports). */
typedef struct tt_auth_s {
    uint8_t secret[TT_AUTH_MAX_SECRET];
    size_t len;             /* 0: no secret set */
    uint32_t deadline_ms;   /* a handshake must be done within this long (0: 5 s) */
    uint64_t failures;      /* peers that failed, since start */
    uint64_t log_window;    /* monotonic second of the current log window */
    uint32_t logged;        /* lines logged in that window */
    uint64_t unlogged;      /* failures not reported since the last report */
    /* Reports failures at a bounded rate (base/ does not log; tt_daemon logs them): peer and
     * why for one failure, or peer NULL and `others` failures that were not reported. */
    void (*report)(void *arg, const char *peer, const char *why, uint64_t total,
                   uint64_t others);
    void *report_arg;
} tt_auth_t;

/* Sets the secret (len bytes; TT_AUTH_MIN_SECRET..TT_AUTH_MAX_SECRET). -1 with a reason. */
int tt_auth_set_secret(tt_auth_t *a, const void *secret, size_t len, char *err, size_t errlen);
/* Reads DaemonSecret= or DaemonSecretFile= (a file holding the secret on its first line; a
 * relative path is taken from the configuration file's directory). Neither set: a->len = 0
 * (no secret). Both set, a short secret or an unreadable file: -1 with the reason. */
int tt_auth_from_cfg(tt_auth_t *a, const tt_cfg_t *cfg, char *err, size_t errlen);
static inline int tt_auth_enabled(const tt_auth_t *a) { return a && a->len > 0; }

/* Counts a failed peer and reports it (at most 5 per 10 s, then a count of the others). */
void tt_auth_failed(tt_auth_t *a, const char *peer, const char *why);

/* ---- one handshake ---- */

enum { TT_AUTH_CONNECTOR = 0, TT_AUTH_ACCEPTOR = 1 };
enum { TT_AUTH_MORE = 0, TT_AUTH_DONE = 1, TT_AUTH_FAIL = -1 };

typedef struct tt_auth_hs_s {
    const tt_auth_t *auth;                /* the secret */
    int role;                             /* TT_AUTH_CONNECTOR / TT_AUTH_ACCEPTOR */
    int got_hello;                        /* the peer's nonce arrived */
    uint8_t mine[TT_AUTH_NONCE_LEN];      /* this end's nonce */
    uint8_t peer[TT_AUTH_NONCE_LEN];      /* the peer's nonce */
} tt_auth_hs_t;

/* Draws a fresh nonce and writes this end's hello body (4 + 32 bytes). -1 when no random. */
int tt_auth_hs_start(tt_auth_hs_t *hs, const tt_auth_t *auth, int role, uint8_t *hello,
                     size_t *hello_len);
/* One frame from the peer. MORE: *out_len bytes of out (if any) are to be sent with command
 * *out_cid; DONE: the peer proved it knows the secret; FAIL: why says what was wrong. */
int tt_auth_hs_frame(tt_auth_hs_t *hs, const tt_pdu_t *pdu, uint8_t *out, size_t *out_len,
                     uint16_t *out_cid, char *why, size_t whylen);

/* On a tt_conn: starts (sends the hello) and feeds frames (sends the proof). FAIL closes c. */
int tt_auth_conn_start(tt_auth_hs_t *hs, tt_auth_t *auth, int role, tt_conn_t *c);
int tt_auth_conn_frame(tt_auth_hs_t *hs, tt_auth_t *auth, tt_conn_t *c, const tt_pdu_t *pdu);

/* The connecting side on a blocking socket (tools and tests): the whole handshake within
 * timeout_ms, reading nothing past the peer's proof. 0 ok, -1 with the reason. */
int tt_auth_client_fd(int fd, const tt_auth_t *auth, int timeout_ms, char *err, size_t errlen);

#endif
