/* h_msg: one-to-one chat in db_proxy_server (see h_msg.c). The answer builders are here so
 * that unit tests can check them without MariaDB or Redis. */
#ifndef DBP_H_MSG_H
#define DBP_H_MSG_H

#include <stdint.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "db_proxy.h"
#include "td_msg.h"

#define DBP_MSG_LIST_MAX 200          /* messages per history answer */
#define DBP_MSG_SESSIONS_MAX 100      /* recent sessions per answer */
#define DBP_MSG_UNREAD_MAX 1000       /* conversations with unread messages per answer */
#define DBP_MSG_DEDUPE_WINDOW_S 600   /* DedupeWindowSeconds default (same client msg_id) */
#define DBP_MSG_RESEND_WINDOW_S 120   /* ResendWindowSeconds default (same seq and client time) */
#define DBP_MSG_NO_USER_LOGS_PER_MIN 10 /* messages to unknown users logged, then a count */
#define DBP_MSG_KNOWN_USERS 65536     /* receivers remembered as existing (a power of two) */
#define DBP_MSG_PURGE_EVERY 1000      /* stored messages between two dedupe purges */
#define DBP_MSG_DONE_SPANS 60         /* a window's answered marks: in this many hashes */
#define DBP_MSG_BATCH_DEFAULT 256     /* MsgBatchMax default: messages per transaction */
#define DBP_MSG_BATCHES_DEFAULT 2     /* MsgBatchParallel default: such transactions at once */

/* The answered marks of the messages with a resend key of window w seconds (h_msg.c
 * after_commit) are fields of Redis hashes msg_done_<w>_<bucket>, bucket = unix time / span,
 * span = ceil(w / DBP_MSG_DONE_SPANS): one HSET per batch instead of a key per message. A hash
 * expires at dbp_msg_done_expiry (at least w after its last write); a mark written at t is
 * found by a resend at t2 <= t + w in a bucket from dbp_msg_done_first to dbp_msg_done_last of
 * t2 (a bucket of margin each side for clocks a second apart). */
uint32_t dbp_msg_done_span(uint32_t window);
uint32_t dbp_msg_done_bucket(uint32_t window, uint32_t now);
uint32_t dbp_msg_done_expiry(uint32_t window, uint32_t bucket);
uint32_t dbp_msg_done_first(uint32_t window, uint32_t now);
uint32_t dbp_msg_done_last(uint32_t window, uint32_t now);

/* latest_msg_data of a voice message in summaries: "[语音]" encrypted with the clients' fixed
 * key (PROTOCOL.md §6.2 test vector; the original encrypts it with aesKey at start-up). */
#define DBP_MSG_AUDIO_SUMMARY "QhGXlpFjvMFUNrtl1aaPzA=="

/* The answer to a resend that was stored before carries the request's 12-byte attach_data
 * followed by BE32(4) and these 4 bytes — a CPduAttachData (PROTOCOL.md §4.10) whose payload
 * says "duplicate", so that msg_server can acknowledge the sender without delivering the
 * message again. A msg_server that ignores the payload still decodes handle and slot. */
#define DBP_MSG_DUP_MARK "DUPE"
#define DBP_MSG_DUP_MARK_LEN 4

/* msg_server's attach_data on a chat message (msg_server/ms_attach.h MS_ATTACH_CHAT_LEN): the
 * 12-byte CDbAttachData head, BE32(12), this tag, BE32(request seq_num), BE32(the client's
 * create_time, before msg_server stamped its own). */
#define DBP_MSG_RESEND_TAG "RSND"
#define DBP_MSG_ATTACH_CHAT_LEN 28
/* A group message's form is 4 bytes longer: BE32(the version of the group's member list
 * msg_server has cached, 0 for none) follows. The answer to a stored group message carries,
 * after the 12-byte head, BE32(payload length) and the payload "GRPV", BE32(the version the
 * message was stored under), BE32(n), n x BE32(member id) — n 0 when msg_server's cached list
 * is that version, else the members of that version, read in the storing transaction. */
#define DBP_MSG_ATTACH_GROUP_LEN 32
#define DBP_MSG_GROUP_TAG "GRPV"
/* The seq_num and client create_time msg_server carried in req's attach_data: 1 (and both
 * set), 0 when it carries none (an older msg_server, another sender). */
int dbp_msg_resend_id(const IM__Message__IMMsgData *req, uint32_t *seq, uint32_t *client_time);
/* The cached member-list version of a group message's attach_data (0: none). */
uint32_t dbp_msg_group_version(const IM__Message__IMMsgData *req);

/* The answer to an IMMsgData: the request with msg_id (0: not stored) and create_time set,
 * attach_data echoed — msg_server's chat form cut to its 12-byte head — with the duplicate
 * mark after the 12-byte head when duplicate. 0 / -1. */
int dbp_msg_stored_answer(dbp_ctx_t *x, const IM__Message__IMMsgData *req, uint32_t msg_id,
                          uint32_t create_time, int duplicate);
/* A MsgInfo for a stored message (msg_data points into m). 0 ok, -1 when its type is not one
 * clients know for a one-to-one message (the row must be left out: the field is required). */
int dbp_msg_info(IM__BaseDefine__MsgInfo *mi, const td_msg_t *m);
/* latest_msg_data of a message in summaries (unread counts, recent sessions): the content as
 * stored, the placeholder for voice. */
ProtobufCBinaryData dbp_msg_summary(const td_msg_t *m);

#endif
