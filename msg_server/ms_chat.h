/* msg_server feature (layer 5): one-to-one chat, read acks and notifies, typing/shake (P2P),
 * history and unread counts (chat.c). */
#ifndef MS_CHAT_H
#define MS_CHAT_H

#include "ms_dispatch.h"

extern const ms_feature_t ms_chat_feature;

/* What identifies a client's message across resends (a 64-bit FNV-1a hash, never 0 for a
 * message that can be resent): receiver, type and content with the client msg_id when it is
 * not 0, else with the request seq_num and the client's create_time when that is not 0. 0: a
 * message no resend can be recognised as (msg_id and create_time both 0: iOS, Mac). */
uint64_t ms_chat_key(uint32_t to, uint32_t client_msg_id, uint32_t type, uint16_t seq,
                     uint32_t client_time, const uint8_t *data, size_t len);
/* A message of user_id was sent to a db link that went down before answering: this server did
 * not deliver it. Remembered for a while so that its resend is delivered even if db_proxy
 * answers it as already stored. (main.c makes it ms->on_msg_unanswered.) */
void ms_chat_unanswered(msg_server_t *ms, uint32_t user_id, uint64_t key);

#endif
