/* td_msg: the SQL of one-to-one chat — storing a message (relation, id counter, message,
 * recent sessions, resend dedupe: one transaction), history, messages by id, the latest
 * message of a conversation, recent sessions and their removal. Prepared statements only.
 *
 * Tables (PROTOCOL.md §7.1 and sql/migrations 003, 004, 009):
 *   IMRelationShip(smallId, bigId)   one per pair; its id (relateId) picks the message shard
 *   IMMessage_<relateId % 8>         the messages; text content = msg_data as sent, voice
 *                                    content = decimal IMAudio.id
 *   IMAudio + tt_audio_blob          voice: duration and size, and the audio bytes
 *   IMRecentSession(userId, peerId)  the recent-contact lists
 *   tt_pair_lock(smallId, bigId)     one row per conversation (migrations 004, 009): locked
 *                                    first by its writers; its relateId, last msgId and
 *                                    recent-session ids and time
 *   tt_msg_counter                   last msgId ((1 << 32) | relateId) of conversations older
 *                                    than their tt_pair_lock row: read once, then deleted
 *   tt_msg_dedupe                    (fromId, clientKey) -> msgId of a recent message
 * Functions return 0 (or 1/0 found flags as documented) and -1 on a database error, whose text
 * is td_conn_error(c). */
#ifndef TD_MSG_H
#define TD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "td_mysql.h"

#define TD_MSG_SHARDS 8            /* IMMessage_0 .. IMMessage_7 */
#define TD_MSG_TYPE_TEXT 1         /* MSG_TYPE_SINGLE_TEXT */
#define TD_MSG_TYPE_AUDIO 2        /* MSG_TYPE_SINGLE_AUDIO */
#define TD_MSG_TYPE_GROUP_TEXT 0x11  /* MSG_TYPE_GROUP_TEXT */
#define TD_MSG_TYPE_GROUP_AUDIO 0x12 /* MSG_TYPE_GROUP_AUDIO */
#define TD_SESSION_SINGLE 1        /* IMRecentSession.type, tt_msg_counter key type */
#define TD_SESSION_GROUP 2
#define TD_MSG_IDS_MAX 100         /* ids per td_msg_by_ids */
#define TD_MSG_TEXT_MAX 4096       /* IMMessage.content is varchar(4096) (characters) */
#define TD_MSG_TEXT_BYTES_MAX 16384 /* ... or VARBINARY(16384) since migration 005 */
#define TD_MSG_AUDIO_MAX (16u << 20) /* tt_audio_blob.data is a MEDIUMBLOB */
#define TD_MSG_BATCH_MAX 256       /* messages per td_msg_store_batch */
#define TD_MSG_AUDIO_ID_LEN 16     /* room for a voice message's content (decimal IMAudio.id) */

/* ---- pure parts ---- */

/* The resend key of a message: the first 8 bytes (big-endian) of SHA-256 over
 * BE32(to) BE32(client msg_id) BE32(type) BE32(len) data. Stable across versions and
 * machines: it is stored in tt_msg_dedupe. */
uint64_t td_msg_client_key(uint32_t to, uint32_t client_msg_id, uint32_t type,
                           const uint8_t *data, size_t len);
/* The resend key of a message without a client msg_id: the first 8 bytes (big-endian) of
 * SHA-256 over "tt-resend" BE32(to) BE32(type) BE32(seq_num) BE32(client create_time)
 * BE32(len) data. Stored in tt_msg_dedupe like td_msg_client_key's. */
uint64_t td_msg_resend_key(uint32_t to, uint32_t type, uint32_t seq, uint32_t client_time,
                           const uint8_t *data, size_t len);
/* IMMessage_<relate_id % 8>: the shard number. */
unsigned td_msg_shard(uint32_t relate_id);
/* tt_msg_counter.sessionKey of a conversation: (type << 32) | id. */
uint64_t td_msg_session_key(uint32_t type, uint32_t id);
/* Voice msg_data = BE32(duration seconds) + audio bytes. Split: 0 ok, -1 when len <= 4. */
int td_msg_audio_split(const uint8_t *data, size_t len, uint32_t *duration,
                       const uint8_t **audio, size_t *audio_len);

/* ---- storing ---- */

typedef struct td_msg_send_s {
    uint32_t from;            /* sender */
    uint32_t to;              /* receiver */
    uint32_t type;            /* TD_MSG_TYPE_TEXT or TD_MSG_TYPE_AUDIO */
    uint32_t create_time;     /* unix time stamped by msg_server: created / updated */
    uint64_t client_key;      /* td_msg_client_key / td_msg_resend_key of the request */
    uint32_t dedupe_window;   /* seconds a resend is recognised (0: never — no key) */
    const uint8_t *data;      /* msg_data */
    size_t len;
} td_msg_send_t;

typedef struct td_msg_sent_s {
    uint32_t msg_id;          /* the stored message's id */
    uint32_t created;         /* its create time (the first copy's for a resend) */
    uint32_t relate_id;       /* its conversation */
    int duplicate;            /* 1: a resend of a message stored before; nothing was written */
    int attempts;             /* transactions run (> 1: lock conflicts were retried) */
} td_msg_sent_t;

/* Stores one message: td_msg_store_batch of one. */
int td_msg_store(td_conn_t *c, const td_msg_send_t *s, td_msg_sent_t *out);
/* Stores n (1 .. TD_MSG_BATCH_MAX) messages in ONE transaction on c, with a number of
 * statements that does not grow with n: the conversations' tt_pair_lock rows (migration 009)
 * locked in sorted order, their counters moved on and their session times raised by one
 * upsert that returns them (relation id, last msgId, what the recent-session rows hold;
 * MariaDB >= 10.5 for INSERT ... RETURNING); resend keys
 * (a row of (from, client_key) within the window answers with its msgId and writes nothing);
 * a conversation whose row is not filled yet gets its relation (the active one with the
 * smallest id, else the smallest reactivated, else a new one) and continues its ids from its
 * tt_msg_counter row (then deleted) or from MAX(msgId) of its shard — all such conversations
 * together; for voice the IMAudio and tt_audio_blob rows; the messages (one bulk insert per
 * shard); both recent-session rows of a conversation active with updated >= its newest
 * create_time (never moved backwards), written only when the pair's row says they may be
 * older; the dedupe rows; COMMIT. Only old conversations without a counter row (one MAX each)
 * and voice messages cost statements of their own. out[i] is the result of s[i], ids
 * assigned in the order of s within each conversation, a resend of a stored message within
 * the window answered with its msgId (also when the first copy is earlier in this same batch:
 * then out[i].duplicate = 2). A deadlock or lock wait timeout is retried (3 attempts). 0 when
 * committed (or all duplicates), -1 on error (rolled back: none of them is stored). Every
 * s[i] must be valid (checked: -1 otherwise); each has its own dedupe_window (0: no resend
 * key is read or written for it). */
int td_msg_store_batch(td_conn_t *c, const td_msg_send_t *s, size_t n, td_msg_sent_t *out);
/* missing[i] = 1 for each ids[i] (n of them, repeats allowed) that has no IMUser row, else 0. */
int td_users_missing(td_conn_t *c, const uint32_t *ids, size_t n, uint8_t *missing);
/* One step of the dedupe purge: of the next 2000 rows of tt_msg_dedupe in primary-key order
 * (after where this process's last step ended; at the end of the table it starts again), the
 * ones older than window seconds (database clock) are deleted; *deleted gets their number.
 * Called every DBP_MSG_PURGE_EVERY messages, it visits every row at least once in about half
 * a window at any message rate, so the table stays below about 1.5 windows of keys. */
int td_msg_dedupe_purge(td_conn_t *c, uint32_t window, uint64_t *deleted);

/* ---- parts shared by the single and the batch store ---- */

/* Runs body(c, arg) inside a transaction: 0 commits, > 0 rolls back (nothing to keep) and
 * returns 0, < 0 rolls back and fails; a deadlock or lock wait timeout is retried (3 attempts
 * in all). *attempts (may be NULL) gets the number of transactions run. 0 / -1. */
int td_msg_tx(td_conn_t *c, int (*body)(td_conn_t *c, void *arg), void *arg, int *attempts);
/* MAX(msgId) of a conversation in its shard (0: none). */
int td_msg_max_id(td_conn_t *c, uint32_t relate_id, uint32_t *last);
/* Writes a voice message's IMAudio and tt_audio_blob rows; content (TD_MSG_AUDIO_ID_LEN bytes)
 * gets the message content, the decimal IMAudio.id, and *len its length. */
int td_msg_audio_store(td_conn_t *c, const td_msg_send_t *s, char *content, size_t *len);

/* ---- reading ---- */

/* One message. */
typedef struct td_msg_s {
    uint32_t msg_id;   /* per-conversation id */
    uint32_t from_id;  /* sender */
    uint32_t to_id;    /* receiver */
    uint32_t created;  /* unix time */
    uint32_t type;     /* MsgType as stored */
    uint8_t *data;     /* text: content as stored; voice (expanded): BE32 duration + bytes;
                        * voice (not expanded, summaries): the content (decimal audio id) */
    size_t len;        /* data length */
} td_msg_t;

typedef struct td_msg_list_s {
    td_msg_t **v; /* rows */
    size_t n;     /* rows used */
    size_t cap;   /* rows allocated */
} td_msg_list_t;

void td_msg_free(td_msg_t *m);
void td_msg_list_free(td_msg_list_t *l);

/* Messages of a query whose columns are (msgId, sender, receiver, created, type, content),
 * appended to out; voice (single or group) expanded and the list cut at max_bytes as for
 * td_msg_list, unless max_bytes is 0 (summaries: content as stored). */
int td_msg_rows(td_conn_t *c, const char *sql, const td_arg_t *a, int na, size_t max_bytes,
                td_msg_list_t *out);
/* The active relation of users a and b (either order): 1 found (*relate_id), 0 none. */
int td_relation_find(td_conn_t *c, uint32_t a, uint32_t b, uint32_t *relate_id);
/* History of a conversation: status 0, msgId <= begin (0: from the newest), newest first, at
 * most cnt. Voice is expanded; the list stops before the message that would take the data
 * beyond max_bytes (the first message is always kept). */
int td_msg_list(td_conn_t *c, uint32_t relate_id, uint32_t begin, uint32_t cnt,
                size_t max_bytes, td_msg_list_t *out);
/* The messages of a conversation with these ids (status 0, newest first, duplicates and
 * zeros ignored, at most TD_MSG_IDS_MAX ids looked at). Voice is expanded. */
int td_msg_by_ids(td_conn_t *c, uint32_t relate_id, const uint32_t *ids, size_t n,
                  size_t max_bytes, td_msg_list_t *out);
/* The newest message (status 0) of a conversation, voice NOT expanded: 1 found (*out, free
 * with td_msg_free), 0 none. */
int td_msg_latest(td_conn_t *c, uint32_t relate_id, td_msg_t **out);

/* ---- recent sessions ---- */

typedef struct td_session_s {
    uint32_t peer_id;  /* peer user id (or group id) */
    uint32_t type;     /* TD_SESSION_SINGLE / TD_SESSION_GROUP */
    uint32_t updated;  /* last activity */
} td_session_t;

/* Active sessions of user of this type with updated > since, newest first, at most max, one
 * per peer. *n gets the number written to out (max entries). */
int td_sessions_recent(td_conn_t *c, uint32_t user, uint32_t type, uint32_t since,
                       td_session_t *out, size_t max, size_t *n);
/* Removes the active session (user, peer, type): status 1, updated = now. For single
 * sessions the pair lock is taken, so a message being stored cannot interleave. *removed = 1
 * when an active row existed. */
int td_session_remove(td_conn_t *c, uint32_t user, uint32_t peer, uint32_t type, int *removed);

#endif
