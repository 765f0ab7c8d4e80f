/* msg_server layer 2: limits (limits.c) — token buckets, the per-connection message rate
 * limit (a sender over it is read later, never dropped), the voice rate per user and the
 * P2P command caps. */
#ifndef MS_LIMITS_H
#define MS_LIMITS_H

#include "ms_core.h"

/* Takes a token (1) or finds none (0); the bucket refills at per_min a minute up to burst. */
int ms_bucket_take(ms_bucket_t *b, uint64_t now, uint32_t per_min, uint32_t burst);
int ms_bucket_ready(ms_bucket_t *b, uint64_t now, uint32_t per_min, uint32_t burst);
/* A P2P command from a client within MaxP2pCommand and P2pRateLimit (0: drop it, counted). */
int ms_p2p_allowed(client_t *c, const tt_pdu_t *pdu);
/* A P2P command from route_server within MaxP2pCommand. */
int ms_p2p_routed_allowed(msg_server_t *ms, const tt_pdu_t *pdu);
/* An accepted voice message of c's user: takes a voice token; when none is left, c is read
 * later (ms_client_throttle) until ms_voice_ready. */
void ms_voice_spend(client_t *c);
int ms_voice_ready(client_t *c, uint64_t now);
/* A message of c (MsgRateLimit): takes one token; when none is left, c is read later. */
void ms_msg_spend(client_t *c);
/* Stops reading c until its message tokens (and voice, when it waits for that) are back. */
void ms_client_throttle(client_t *c);
void ms_throttle_free(msg_server_t *ms, client_t *c);
void ms_limits_init(msg_server_t *ms);
void ms_limits_stop(msg_server_t *ms);

#endif
