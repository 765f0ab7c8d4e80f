/* msg_server layer 2: ordered answers (answers.c) — a small ring of answer slots per client,
 * so that answers leave in request order whatever order the upstreams answer in. */
#ifndef MS_ANSWERS_H
#define MS_ANSWERS_H

#include "ms_core.h"

/* Reserves the next answer slot; NULL when the window is full (the caller pauses reading). */
slot_t *ms_slot_open(client_t *c, uint16_t seq, int link);
/* The bound on messages in flight to db_proxy_server (MaxMsgInFlight). Before a message is
 * taken: 1 when it must wait — at the bound, or while others wait — then its frame is kept
 * unconsumed, the client paused and queued; answers wake the queued clients one by one,
 * longest waiting first, and each then sends that message. So a backlog waits in the
 * clients' sockets, not in the servers' queues, and no message waits with db_proxy_server
 * longer than the bound's worth of its work. 0: go ahead. */
int ms_db_gate(client_t *c);
/* Counts the message of slot s as in flight until its answer (or until it is given up). */
void ms_slot_hold_db(client_t *c, slot_t *s);
/* Stops the wake-up timer (at exit). */
void ms_answers_stop(msg_server_t *ms);
/* 1 when the answer window is full. */
int ms_slots_full(const client_t *c);
/* Fills the slot with this ordinal with an answer (msg may be NULL: no answer). */
void ms_slot_answer(client_t *c, uint32_t ordinal, uint16_t sid, uint16_t cid,
                    const ProtobufCMessage *msg);
/* Gives up the slots waiting on a db link that went down (chat messages among them are
 * told to ms->on_msg_unanswered). */
void ms_slots_fail_link(msg_server_t *ms, int link);
/* The msg_key of a slot still waiting for its answer (0: none). */
uint64_t ms_slot_key(client_t *c, uint32_t ordinal);
void ms_slots_expire(client_t *c, uint64_t now);
void ms_slots_free(client_t *c);
/* Relays an upstream answer to the connection named in its attach_data, in its slot, with
 * attach_data removed. Returns the unpacked answer (caller frees) so that follow-up work can
 * use it, or NULL. *client gets the requester; request (when not NULL) a copy of the payload
 * the attach_data carried (caller frees its data). */
ProtobufCMessage *ms_relay_answer(msg_server_t *ms, const ProtobufCMessageDescriptor *desc,
                                  const tt_pdu_t *pdu, client_t **client,
                                  ProtobufCBinaryData *request);

#endif
