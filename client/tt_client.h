/* tt_client: a small synchronous TeamTalk client. It asks login_server which msg_server to use,
 * connects, logs in and runs requests with timeouts, the way the shipped clients do. Every call
 * blocks for at most its timeout (poll(2), no threads, no signals), and a process may hold many
 * ttc_t at once. PDUs that arrive while a request waits for its reply (notifications, replies to
 * other requests) go to a bounded per-connection FIFO read with ttc_wait / ttc_poll; heartbeat
 * echoes are swallowed. Malformed server data never crashes: a bad frame closes the connection.
 *
 * Return codes: 0 ok, TTC_ERR (-1) error or connection closed, TTC_TIMEOUT (-2) nothing in time.
 * After a failure ttc_error() says why. Unpacked replies are freed with tt_pb_free(). */
#ifndef TT_CLIENT_H
#define TT_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.File.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_pdu.h"

#define TTC_OK 0
#define TTC_ERR (-1)
#define TTC_TIMEOUT (-2)

#define TTC_MAX_FRAME (16u << 20)  /* largest frame accepted from a server */
#define TTC_QUEUE_DEFAULT 10000    /* default FIFO bound, in PDUs */
#define TTC_CLIENT_VERSION "ttcli/0.1"

typedef struct ttc_s ttc_t;

/* What login_server answered on /msg_server (PROTOCOL §5.1). */
typedef struct ttc_server_s {
    int code;              /* 0 ok, 1 no msg_server, 2 all full, other: as sent */
    char msg[256];         /* server text ("" on success, "没有msg_server", ...) */
    char prior_ip[256];    /* msg_server address to use (priorIP) */
    char backup_ip[256];   /* the other address (backupIP; = prior_ip when absent) */
    uint16_t port;         /* msg_server client port (sent as a string, a number accepted) */
    char msfs_prior[512];  /* msfs base URL for uploads (msfsPrior, may be "") */
    char msfs_backup[512]; /* msfsBackup (may be "") */
    char discovery[512];   /* discovery page URL (may be "") */
} ttc_server_t;

/* One received PDU: the header fields and a private copy of the body. */
typedef struct ttc_pdu_s {
    uint32_t length;        /* whole frame, header included */
    uint16_t version;       /* as sent by the server */
    uint16_t flag;          /* as sent */
    uint16_t service_id;    /* service id */
    uint16_t command_id;    /* command id */
    uint16_t seq_num;       /* echo of the request seq, 0 for notifications */
    uint16_t reserved;      /* as sent */
    uint32_t body_len;      /* length - 16 */
    uint8_t *body;          /* body_len bytes, owned by this PDU */
    struct ttc_pdu_s *next; /* FIFO link (library use) */
} ttc_pdu_t;

/* ---- discovery (login_server, HTTP) ---- */

/* GETs login_url (http://host[:port]/path, e.g. http://127.0.0.1:8080/msg_server) with a 5 s
 * budget and parses the answer into *out. 0 ok; -1 with the reason in err, e.g.
 * "login_server: 没有msg_server (code 1)" (out->code and out->msg are still filled). */
int ttc_discover(const char *login_url, ttc_server_t *out, char *err, size_t errlen);
/* Same, with an explicit time budget in milliseconds. */
int ttc_discover_timeout(const char *login_url, int timeout_ms, ttc_server_t *out, char *err,
                         size_t errlen);
/* Parses a /msg_server JSON body (pure, no I/O). Same results as ttc_discover. */
int ttc_parse_discovery(const char *json, size_t len, ttc_server_t *out, char *err,
                        size_t errlen);

/* ---- connection ---- */

/* Connects to a msg_server (or any PDU server), trying every address of host in turn, within
 * timeout_ms in total. Returns the client or NULL with the reason in err. */
ttc_t *ttc_connect(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen);
/* Closes the socket and frees the client and everything queued. NULL is fine. */
void ttc_close(ttc_t *c);
/* The server closed the connection (EOF, socket error or a malformed frame). Reads whatever is
 * pending first (without blocking), so queued PDUs stay available to ttc_wait. */
int ttc_is_closed(ttc_t *c);
/* Why the last call failed (or why the connection closed); "" when nothing failed. */
const char *ttc_error(const ttc_t *c);
/* The socket, for callers multiplexing many clients with their own poll(2); -1 once closed. */
int ttc_fd(const ttc_t *c);
/* Time budget for writing one frame (default: the connect timeout, at least 1 s). */
void ttc_set_send_timeout(ttc_t *c, int timeout_ms);

/* ---- frames ---- */

/* Next request seq after prev: a 16-bit counter that starts at 1, skips 0 and wraps
 * 0xFFFF -> 1. Pure. */
uint16_t ttc_seq_next(uint16_t prev);
/* Makes the next request on c use seq (0 is taken as 1). For tests of wrap and collisions. */
void ttc_set_next_seq(ttc_t *c, uint16_t seq);
/* Sends one frame carrying msg (NULL: empty body) with the next request seq, stored in
 * *seq_out when given. 0 ok, -1 error (closed, or the peer did not drain in time). */
int ttc_send(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *msg,
             uint16_t *seq_out);
/* Sends a frame with an explicit seq (0 for client-originated notifications / acks). */
int ttc_send_seq(ttc_t *c, uint16_t sid, uint16_t cid, uint16_t seq, const ProtobufCMessage *msg);
/* Sends raw bytes as they are (malformed-frame tests). 0 ok, -1 error. */
int ttc_send_raw(ttc_t *c, const void *data, size_t len);
/* Sends a request and waits for the PDU whose command is want_cid and whose seq is the
 * request's; everything else arriving meanwhile is queued. *reply is the PDU (free it with
 * ttc_pdu_free). 0 ok, -1 closed/error, -2 timeout. A negative timeout waits forever. */
int ttc_request(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *msg,
                uint16_t want_cid, int timeout_ms, ttc_pdu_t **reply);
/* Waits for a PDU with command cid (0: any), oldest first; queued PDUs are looked at first.
 * 0 with *out set, -1 closed/error (and nothing matching queued), -2 timeout. */
int ttc_wait(ttc_t *c, uint16_t cid, int timeout_ms, ttc_pdu_t **out);
/* Non-blocking ttc_wait(c, 0, 0, out): reads what the socket has, returns the oldest PDU. */
int ttc_poll(ttc_t *c, ttc_pdu_t **out);
/* Frees a PDU returned by ttc_request / ttc_wait / ttc_poll. NULL is fine. */
void ttc_pdu_free(ttc_pdu_t *p);
/* Sends one heartbeat (SID_OTHER / CID_OTHER_HEARTBEAT, empty body). Echoes are swallowed. */
int ttc_heartbeat(ttc_t *c);
/* Number of PDUs waiting in the FIFO. */
size_t ttc_queued(const ttc_t *c);
/* Number of PDUs dropped because the FIFO was full (the oldest goes first). */
uint64_t ttc_dropped(const ttc_t *c);
/* Number of heartbeat echoes received (and swallowed). */
uint64_t ttc_heartbeats_seen(const ttc_t *c);
/* Changes the FIFO bound (default TTC_QUEUE_DEFAULT; at least 1). */
void ttc_set_queue_limit(ttc_t *c, size_t max_pdus);
/* Sends req, waits for want_cid with the same seq and unpacks it with desc. Returns the
 * message (tt_pb_free) or NULL with the reason in err (err may be NULL). */
void *ttc_call(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *req,
               uint16_t want_cid, const ProtobufCMessageDescriptor *desc, int timeout_ms,
               char *err, size_t errlen);

/* ---- login ---- */

/* Lowercase hex MD5 of s (32 characters and a NUL), as clients send passwords. */
void ttc_md5_hex(const char *s, char out[33]);
/* Logs in: IMLoginReq{user, md5 hex of plain_password, online 1, client_type, "ttcli/0.1"}.
 * 0 when a reply arrived and parsed, *res set (result_code 0 = logged in; otherwise the server
 * closes the connection); -1/-2 when no usable reply came. With res NULL, 0 means logged in. */
int ttc_login(ttc_t *c, const char *user, const char *plain_password, uint32_t client_type,
              int timeout_ms, IM__Login__IMLoginRes **res);
/* User id of the logged-in user (0 before a successful ttc_login). */
uint32_t ttc_user_id(const ttc_t *c);

/* ---- request wrappers: the unpacked reply (tt_pb_free) or NULL with the reason in err ---- */

/* Users changed since latest_update_time (0: everybody) — 0x0208 / 0x0209. */
IM__Buddy__IMAllUserRsp *ttc_all_users(ttc_t *c, uint32_t latest_update_time, int timeout_ms,
                                       char *err, size_t errlen);
/* Profiles of the given user ids — 0x0204 / 0x0205. */
IM__Buddy__IMUsersInfoRsp *ttc_users_info(ttc_t *c, const uint32_t *ids, size_t n,
                                          int timeout_ms, char *err, size_t errlen);
/* Departments changed since latest_update_time (0: all) — 0x0210 / 0x0211. */
IM__Buddy__IMDepartmentRsp *ttc_departments(ttc_t *c, uint32_t latest_update_time,
                                            int timeout_ms, char *err, size_t errlen);
/* Presence of the given user ids — 0x020a / 0x020b. */
IM__Buddy__IMUsersStatRsp *ttc_users_status(ttc_t *c, const uint32_t *ids, size_t n,
                                            int timeout_ms, char *err, size_t errlen);
/* Sets the own signature — 0x0213 / 0x0214 (result_code 0 ok, 1 refused). */
IM__Buddy__IMChangeSignInfoRsp *ttc_change_sign(ttc_t *c, const char *sign, int timeout_ms,
                                                char *err, size_t errlen);
/* Sets the own avatar URL — 0x020c / 0x020d. */
IM__Buddy__IMChangeAvatarRsp *ttc_change_avatar(ttc_t *c, const char *avatar_url, int timeout_ms,
                                                char *err, size_t errlen);
/* Logs out — 0x0105 / 0x0106; the server then closes the connection. */
IM__Login__IMLogoutRsp *ttc_logout(ttc_t *c, int timeout_ms, char *err, size_t errlen);
/* From a mobile session, kicks the user's PC session — 0x010a / 0x010b. */
IM__Login__IMKickPCClientRsp *ttc_kick_pc(ttc_t *c, int timeout_ms, char *err, size_t errlen);
/* Registers a push token (mobile sessions) — 0x0108 / 0x0109. */
IM__Login__IMDeviceTokenRsp *ttc_device_token(ttc_t *c, const char *token, int timeout_ms,
                                              char *err, size_t errlen);
/* Asks for the server's clock — 0x0305 / 0x0306. */
IM__Message__IMClientTimeRsp *ttc_client_time(ttc_t *c, int timeout_ms, char *err,
                                              size_t errlen);

/* ---- chat (one-to-one and group), as the shipped clients send it ---- */

/* Sends one IMMsgData to to_session_id (a user id for SESSION_TYPE_SINGLE, a group id for
 * SESSION_TYPE_GROUP) with msg_id 0 and create_time the clock, as Android does, and waits up to
 * timeout_ms for its IMMsgDataAck (matched by seq). 0 with *msg_id the server's id; -1 closed or
 * a bad ack; -2 no ack in time (the server sends none for a refused message: unknown receiver,
 * not a member, over a limit). msg_data is sent as given (encrypt text first). */
int ttc_send_msg(ttc_t *c, uint32_t to_session_id, uint32_t session_type, uint32_t msg_type,
                 const void *msg_data, size_t len, int timeout_ms, uint32_t *msg_id);
/* Acknowledges the delivery of msg_id in session (the sender for SINGLE, the group for GROUP),
 * as iOS and Windows do: IMMsgDataAck{user_id self, session_id, msg_id}. 0 ok, -1 error. */
int ttc_msg_delivered(ttc_t *c, uint32_t session_id, uint32_t session_type, uint32_t msg_id);
/* Marks the session read up to msg_id (IMMsgDataReadAck, no answer). 0 ok, -1 error. */
int ttc_msg_read(ttc_t *c, uint32_t session_id, uint32_t session_type, uint32_t msg_id);
/* History of a session: n messages from msg_id begin down (0: the newest), newest first. */
IM__Message__IMGetMsgListRsp *ttc_history(ttc_t *c, uint32_t session_id, uint32_t session_type,
                                          uint32_t begin, uint32_t n, int timeout_ms,
                                          char *err, size_t errlen);
/* Unread counts of every session. */
IM__Message__IMUnreadMsgCntRsp *ttc_unread(ttc_t *c, int timeout_ms, char *err, size_t errlen);
/* Recent sessions updated after latest_update_time (0: all), newest first. */
IM__Buddy__IMRecentContactSessionRsp *ttc_recent_sessions(ttc_t *c, uint32_t latest_update_time,
                                                          int timeout_ms, char *err,
                                                          size_t errlen);
/* The normal (type 1) groups the user is in, with versions — 0x0401 / 0x0402. */
IM__Group__IMNormalGroupListRsp *ttc_normal_groups(ttc_t *c, int timeout_ms, char *err,
                                                   size_t errlen);
/* Info of groups ids[i] the caller holds at versions[i] (NULL: all 0, i.e. "send it") —
 * 0x0403 / 0x0404; only groups newer than the given version come back. */
IM__Group__IMGroupInfoListRsp *ttc_group_info(ttc_t *c, const uint32_t *ids,
                                              const uint32_t *versions, size_t n, int timeout_ms,
                                              char *err, size_t errlen);
/* Creates a temporary group (type 2) of members (include yourself) — 0x0405 / 0x0406. */
IM__Group__IMGroupCreateRsp *ttc_group_create(ttc_t *c, const char *name, const uint32_t *members,
                                              size_t n, int timeout_ms, char *err,
                                              size_t errlen);
/* Adds (GROUP_MODIFY_TYPE_ADD) or removes (_DEL) members — 0x0407 / 0x0408. */
IM__Group__IMGroupChangeMemberRsp *ttc_group_change(ttc_t *c, uint32_t group_id,
                                                    uint32_t change_type, const uint32_t *members,
                                                    size_t n, int timeout_ms, char *err,
                                                    size_t errlen);

/* ---- files, as the Windows client transfers them (ttc_file.c; CLIENTS §6) ---- */

#define TTC_FILE_BLOCK (34 * 1024) /* the Windows client's pull size */

/* Asks msg_server for a transfer (mode: TransferFileType 1 online, 2 offline) — 0x0506 /
 * 0x0507. The answer's trans_mode is the mode to use (an online request to a user without a
 * PC client becomes offline), ip_addr_list[0] the file_server. */
IM__File__IMFileRsp *ttc_file_request(ttc_t *c, uint32_t to, const char *name, uint32_t size,
                                      uint32_t mode, int timeout_ms, char *err, size_t errlen);
/* The offline files waiting for this user, with a file_server's address — 0x0509 / 0x050a. */
IM__File__IMFileHasOfflineRsp *ttc_file_offline_list(ttc_t *c, int timeout_ms, char *err,
                                                     size_t errlen);
/* Registers an uploaded offline file (0x050b) / deletes one (0x050c); no answer. The server
 * takes the uploader (add) and the receiver (delete) from the session. 0 sent, -1 error. */
int ttc_file_add_offline(ttc_t *c, uint32_t from, uint32_t to, const char *task,
                         const char *name, uint32_t size);
int ttc_file_del_offline(ttc_t *c, uint32_t from, uint32_t to, const char *task);
/* Connects to a file_server's client port and logs in to task as user_id with role
 * (ClientFileRole: 1 online sender, 2 online receiver, 3 offline upload, 4 offline download).
 * NULL with the reason in err when it cannot or is refused. */
ttc_t *ttc_file_login(const char *host, uint16_t port, uint32_t user_id, const char *task,
                      uint32_t role, int timeout_ms, char *err, size_t errlen);
/* The sending side (roles 1 and 3): answers every pull with the block asked of fd (size bytes,
 * zero past its end) until file_server says DONE (0), the other side cancels or refuses, the
 * connection closes or nothing comes for idle_ms (-1 / -2). *served: file bytes sent. */
int ttc_file_serve(ttc_t *f, uint32_t user_id, const char *task, int fd, uint32_t size,
                   int idle_ms, uint64_t *served, char *err, size_t errlen);
/* The receiving side (roles 2 and 4): pulls size bytes into fd from offset 0 in blocks of
 * `block` (0: TTC_FILE_BLOCK), in order — online once file_server says the sender is in
 * (PEER_READY), and then it sends DONE. 0 when every byte came. */
int ttc_file_fetch(ttc_t *f, uint32_t user_id, const char *task, uint32_t mode, int fd,
                   uint32_t size, uint32_t block, int idle_ms, char *err, size_t errlen);
/* Sends CANCEL for task as user_id. */
int ttc_file_cancel(ttc_t *f, const char *task, uint32_t user_id);

#endif
