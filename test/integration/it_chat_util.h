/* Chat client helpers shared by the end-to-end chat tests (it_chat, it_ratelimit,
 * it_chat_faults): log in, send a message and wait for its ack, send without waiting, wait for
 * acks and delivered messages, history, unread counts, read acks. One-to-one (SESSION_TYPE_SINGLE)
 * only, every wait bounded. Failures inside the helpers (a refused login, a malformed
 * delivery) are reported as "FAIL:" lines and counted by itc_failures(), which the programs
 * add to their own count of failed checks. */
#ifndef IT_CHAT_UTIL_H
#define IT_CHAT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_client.h"

#define ITC_T 8000 /* default wait for an answer, ms */
#define ITC_PC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS
#define ITC_ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID
#define ITC_SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define ITC_CID_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define ITC_CID_ACK IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK
#define ITC_SINGLE IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE
#define ITC_TEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT

/* Failed checks made inside these helpers so far. */
int itc_failures(void);
/* Monotonic clock, seconds / milliseconds. */
double itc_now_s(void);
uint64_t itc_now_ms(void);

/* Connects to 127.0.0.1:port and logs user in (password test123) as client type; NULL (and a
 * failed check) when that does not work. */
ttc_t *itc_login(uint16_t port, const char *user, uint32_t type);
/* The same without the failed check, for callers that retry (reconnects during faults). */
ttc_t *itc_try_login(uint16_t port, const char *user, uint32_t type);

/* Sends one message with a client-local id and waits up to timeout_ms for its ack; returns the
 * server msg_id, 0 when no ack (for this receiver, one-to-one) came. */
uint32_t itc_send_data(ttc_t *c, uint32_t to, uint32_t local_id, uint32_t type,
                       const uint8_t *data, size_t len, int timeout_ms);
/* itc_send_data of a text, waiting ITC_T. */
uint32_t itc_send_text(ttc_t *c, uint32_t to, uint32_t local_id, const char *text);
/* Sends a text without waiting for the ack (pipelining); the request seq goes to *seq when
 * given. 0 ok, -1 error (ttc_send). */
int itc_send_text_async(ttc_t *c, uint32_t to, uint32_t local_id, const char *text,
                        uint16_t *seq);
/* Unpacks an IMMsgDataAck PDU (NULL when it does not parse); tt_pb_free it. */
IM__Message__IMMsgDataAck *itc_ack_of(const ttc_pdu_t *p);
/* The msg_id of the next ack on c (0: none within ms, or unparsable). */
uint32_t itc_next_ack(ttc_t *c, int ms);

/* Unpacks a delivered IMMsgData PDU (NULL when it does not parse; tt_pb_free it). A delivery
 * must carry seq 0 and no attach_data: a failed check otherwise. */
IM__Message__IMMsgData *itc_delivered(const ttc_pdu_t *p);
/* Waits up to ms for a delivered message; returns it (tt_pb_free) or NULL. */
IM__Message__IMMsgData *itc_recv_msg(ttc_t *c, int ms);
/* The next delivered message (within ITC_T) is text from `from` with msg_id id. */
int itc_got_text(ttc_t *c, uint32_t from, uint32_t id, const char *text);
/* Nothing is delivered within ms. */
int itc_nothing_more(ttc_t *c, int ms);
/* b holds exactly the bytes of text. */
int itc_same_bytes(const ProtobufCBinaryData *b, const char *text);
/* m (may be NULL) carries exactly the bytes of text. */
int itc_is_text(const IM__Message__IMMsgData *m, const char *text);

/* History of the conversation with peer: n messages from msg_id begin down (0: the newest),
 * newest first (tt_pb_free), or NULL when no answer came. */
IM__Message__IMGetMsgListRsp *itc_history(ttc_t *c, uint32_t peer, uint32_t begin, uint32_t n);
/* Unread counts of every conversation (tt_pb_free), or NULL. */
IM__Message__IMUnreadMsgCntRsp *itc_unread(ttc_t *c);
/* The unread count of the conversation with peer in u (NULL when it has none). */
IM__BaseDefine__UnreadInfo *itc_unread_info(IM__Message__IMUnreadMsgCntRsp *u, uint32_t peer);
/* The unread count of the conversation with peer (0 when none, or no answer). */
uint32_t itc_unread_from(ttc_t *c, uint32_t peer);
/* Marks the conversation with peer read up to msg_id (no answer is expected). */
void itc_read_ack(ttc_t *c, uint32_t peer, uint32_t msg_id);

#endif
