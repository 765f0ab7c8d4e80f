/* msg_server feature (layer 5): mobile push decisions (push.c) — the links to the
 * push_servers, and for each message stored from this server (its sender's) who of the
 * recipients gets a push, with which alert, sent without waiting on anything. */
#ifndef MS_PUSH_H
#define MS_PUSH_H

#include <stddef.h>

#include "ms_dispatch.h"

#define MS_PUSH_FLASH_CUT 37 /* bytes of alert text kept before "..." (the original's) */
#define MS_PUSH_FLASH_CAP 64 /* a buffer that holds any alert (37 + "..." + NUL) */
#define MS_PUSH_GENERIC "您收到了一条消息"

extern const ms_feature_t ms_push_feature;
/* ms->on_msg_stored: starts a push decision for the message (never blocks, never fails the
 * chat: a full queue or no push_server drops it, counted). */
void ms_push_stored(msg_server_t *ms, const ms_stored_msg_t *m);
/* The alert for a message of `type` from the sender whose nick is `nick` (NULL or "": not
 * known here): text is the decrypted msg_data of a text message (NULL: could not be
 * decrypted). Writes at most MS_PUSH_FLASH_CAP bytes with the NUL into out; returns the
 * length. Image markers, unknown senders and undecryptable or non-UTF-8 text give
 * MS_PUSH_GENERIC; voice gives the voice notice; longer than MS_PUSH_FLASH_CUT bytes is cut at
 * a character boundary with "..." appended; control characters become spaces. */
size_t ms_push_flash(char out[MS_PUSH_FLASH_CAP], const char *nick, uint32_t type,
                     const char *text, size_t len);

#endif
