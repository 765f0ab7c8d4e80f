/* msg_server: shared types. The server struct holds the configuration, the client listener,
 * the links to db_proxy_server, login_server and route_server, and the tables of clients
 * (by connection handle) and of logged-in users (by user id). */
#ifndef MSG_SERVER_H
#define MSG_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "tt_daemon.h"
#include "tt_link.h"
#include "tt_map.h"
#include "tt_pdu.h"

#define MS_MAX_UPSTREAMS 16
#define MS_MAX_DB_LINKS 256
#define MS_WINDOW 32 /* requests a client may have in flight before its reading pauses */

typedef struct user_s user_t;
/* A token bucket (limits.c), in thousandths of a token. */
typedef struct ms_bucket_s {
    uint64_t at;    /* loop time of the last refill (0: full, never used) */
    uint64_t milli; /* tokens x 1000 */
} ms_bucket_t;
typedef struct client_s client_t;
typedef struct msg_server_s msg_server_t;

typedef enum {
    CLIENT_NEW,        /* connected, no login request yet */
    CLIENT_VALIDATING, /* login request sent to db_proxy_server */
    CLIENT_ONLINE,     /* logged in */
    CLIENT_GONE        /* kicked or logged out: closing, nothing more in or out */
} client_state_t;

/* One answer slot: requests are answered in the order the client sent them. */
typedef struct slot_s {
    uint32_t ordinal;  /* request number on this connection */
    uint16_t seq;      /* the client's seq_num */
    uint8_t done;      /* answer ready (or given up) */
    uint8_t link;      /* index of the db link the request went to, 0xff for others */
    uint8_t validate;  /* a login validation: giving up answers the login with an error */
    uint64_t deadline; /* give up waiting at this loop time */
    uint8_t *frame;    /* the answer, a whole PDU, NULL for none */
    uint32_t frame_len;
    uint64_t msg_key;  /* a chat message: ms_chat_key of what the client sent (0: other) */
} slot_t;

struct client_s {
    msg_server_t *ms;          /* owner */
    tt_conn_t *conn;           /* transport */
    uint32_t handle;           /* id carried in attach_data */
    uint64_t accepted_at;      /* loop time of the accept (login deadline) */
    client_state_t state;      /* life cycle */
    uint32_t user_id;          /* once logged in */
    uint32_t client_type;      /* IM.BaseDefine.ClientType */
    uint32_t online_status;    /* requested status, coerced to 1..3 */
    user_t *user;              /* once logged in */
    client_t *prev, *next;     /* the user's clients */
    uint32_t next_ordinal;     /* ordinal of the next request */
    slot_t *slots;             /* MS_WINDOW slots, allocated while requests are in flight */
    uint32_t head, count;      /* ring: oldest slot and number in use */
    uint32_t tokens;           /* messages this connection may still send now (rate limit) */
    uint64_t refilled_at;      /* loop time tokens were last topped up */
    int throttled;             /* reading paused by the rate limit */
    client_t *next_throttled;  /* list of throttled clients */
    ms_bucket_t p2p;           /* P2P commands (limits.c) */
    int voice_wait;            /* throttled until the user's voice bucket has a token */
};

struct user_s {
    uint32_t user_id;   /* IMUser.id */
    client_t *clients;  /* logged-in connections on this server */
    int pc_online;      /* route_server says a PC client is online somewhere */
    ms_bucket_t voice;  /* voice messages of this user here (limits.c) */
};

/* One configured upstream address (XxxIP<n>/XxxPort<n>). */
typedef struct upstream_addr_s {
    const char *host;
    uint16_t port;
} upstream_addr_t;

typedef struct db_link_s {
    msg_server_t *ms; /* owner */
    int index;        /* position in ms->db */
    tt_link_t *link;  /* the connection */
    int stopped;      /* the db_proxy said CID_OTHER_STOP_RECV_PACKET: do not use */
    int reported;     /* the online users were reported to its db_proxy on this link */
} db_link_t;

struct msg_server_s {
    tt_daemon_t d;                       /* process life, config, loop */
    /* configuration */
    tt_server_opts_t client_opts;        /* client listener */
    const char *ip1, *ip2;               /* advertised addresses */
    uint16_t listen_port;                /* advertised port */
    uint32_t max_conn_cnt;               /* advertised capacity */
    uint32_t db_conns;                   /* ConcurrentDBConnCnt */
    uint32_t login_timeout_ms;           /* login must finish within */
    uint32_t prelogin_buffer;            /* input and output caps before login (bytes) */
    uint32_t pc_timeout_ms;              /* idle timeout of PC clients */
    uint32_t mobile_timeout_ms;          /* idle timeout of mobile clients */
    uint32_t request_timeout_ms;         /* an upstream answer is given up after */
    uint32_t reconnect_ms;               /* first upstream reconnect delay */
    uint32_t msg_rate;                   /* messages per second per connection */
    uint32_t msg_burst;                  /* bucket size */
    uint32_t max_text;                   /* largest text message (bytes of msg_data) */
    uint32_t max_voice;                  /* largest voice message (bytes of msg_data) */
    uint32_t voice_rate, voice_burst;    /* voice messages per minute per user, at once */
    uint32_t max_p2p;                    /* largest P2P command (bytes of the PDU body) */
    uint32_t p2p_rate, p2p_burst;        /* P2P commands per second per connection, at once */
    upstream_addr_t db_addr[MS_MAX_UPSTREAMS], login_addr[MS_MAX_UPSTREAMS],
        route_addr[MS_MAX_UPSTREAMS];
    int n_db_addr, n_login_addr, n_route_addr;
    /* runtime */
    tt_server_t *clients_srv;            /* client listener */
    db_link_t db[MS_MAX_DB_LINKS];       /* n_db_addr * db_conns links */
    int n_db;
    tt_link_t *login[MS_MAX_UPSTREAMS];  /* login_servers */
    tt_link_t *route[MS_MAX_UPSTREAMS];  /* route_servers */
    tt_map_t clients;                    /* handle -> client_t */
    tt_map_t users;                      /* user id -> user_t */
    uint32_t next_handle;                /* last handle given out */
    uint32_t online;                     /* logged-in connections */
    tt_timer_t tick;                     /* 1 s housekeeping */
    tt_timer_t unthrottle;               /* resumes rate-limited clients */
    client_t *throttled;                 /* clients paused by the rate limit */
    struct ms_unanswered_s *unanswered;  /* messages whose db link died unanswered (chat.c) */
    uint64_t p2p_dropped;                /* P2P commands over a limit (limits.c) */
};

/* ---- clients and users (session.c) ---- */
extern const tt_server_handler_t ms_client_handler;
user_t *ms_user_find(msg_server_t *ms, uint32_t user_id);
client_t *ms_client_find(msg_server_t *ms, uint32_t handle);
/* Marks the client logged in as user_id (creating the user). */
int ms_client_attach_user(client_t *c, uint32_t user_id);
int ms_is_mobile(uint32_t client_type);
/* Sends a notification (seq 0) to every client of user matching the filter. */
enum { MS_ALL = 0, MS_PC_ONLY = 1, MS_MOBILE_ONLY = 2 };
void ms_user_send(user_t *u, int filter, const client_t *except, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg);
void ms_broadcast(msg_server_t *ms, int filter, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg);
/* Kicks (notice + close) the user's connections of the same class as client_type. */
void ms_kick_same_class(user_t *u, uint32_t client_type, uint32_t reason, const client_t *except);

/* ---- ordered answers (answers.c) ---- */
/* Reserves the next answer slot; NULL when the window is full (the caller pauses reading). */
slot_t *ms_slot_open(client_t *c, uint16_t seq, int link);
/* 1 when the answer window is full. */
int ms_slots_full(const client_t *c);
/* Fills the slot with this ordinal with an answer (msg may be NULL: no answer). */
void ms_slot_answer(client_t *c, uint32_t ordinal, uint16_t sid, uint16_t cid,
                    const ProtobufCMessage *msg);
/* Gives up the slots waiting on a db link that went down (chat messages among them are
 * remembered with ms_chat_unanswered). */
void ms_slots_fail_link(msg_server_t *ms, int link);
/* The msg_key of a slot still waiting for its answer (0: none). */
uint64_t ms_slot_key(client_t *c, uint32_t ordinal);
void ms_slots_expire(client_t *c, uint64_t now);
void ms_slots_free(client_t *c);

/* ---- upstream links (upstream.c) ---- */
int ms_upstreams_start(msg_server_t *ms);
void ms_upstreams_stop(msg_server_t *ms);
/* A usable db link for this client (-1 if none). */
int ms_db_pick(msg_server_t *ms, const client_t *c);
int ms_login_up(msg_server_t *ms);
tt_link_t *ms_route_master(msg_server_t *ms);
void ms_login_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m);
void ms_route_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m);

/* ---- attach_data (attach.c) ---- */
/* The 12-byte CDbAttachData: type 1, handle, and our request ordinal in service_type. */
void ms_attach_encode(uint8_t out[12], uint32_t handle, uint32_t ordinal);
/* The 16+N-byte CPduAttachData (type 3) carrying an extra payload (the original request). */
int ms_attach_encode_payload(ProtobufCBinaryData *out, uint32_t handle, uint32_t ordinal,
                             const uint8_t *payload, size_t len);
/* A chat message's attach_data to db_proxy_server: the type-3 form (28 bytes) whose payload is
 * MS_RESEND_TAG, BE32(request seq_num), BE32(the client's create_time) — what db_proxy needs to
 * recognise a client's resend (db_proxy_server/h_msg.h DBP_MSG_RESEND_TAG), since this server
 * stamps create_time itself. */
#define MS_RESEND_TAG "RSND"
#define MS_ATTACH_CHAT_LEN 28
void ms_attach_encode_chat(uint8_t out[MS_ATTACH_CHAT_LEN], uint32_t handle, uint32_t ordinal,
                           uint16_t seq, uint32_t client_time);
/* The payload db_proxy_server appends to a stored-message answer for a resend that was
 * already answered and delivered (db_proxy_server/h_msg.h DBP_MSG_DUP_MARK). */
#define MS_DUP_MARK "DUPE"
#define MS_DUP_MARK_LEN 4
/* Reads either form; payload is NULL for the 12-byte one. -1 when malformed. */
int ms_attach_decode(const ProtobufCBinaryData *a, uint32_t *handle, uint32_t *ordinal,
                     const uint8_t **payload, size_t *plen);
/* Reflection helpers: the attach_data field (20) and a uint32 field by name. */
ProtobufCBinaryData *ms_pb_attach(ProtobufCMessage *m, protobuf_c_boolean **has);
int ms_pb_set_u32(ProtobufCMessage *m, const char *name, uint32_t v);
int ms_pb_get_u32(const ProtobufCMessage *m, const char *name, uint32_t *v);

/* ---- client commands (client_cmds.c) and upstream answers (upstream_cmds.c) ---- */
void ms_client_pdu(client_t *c, const tt_pdu_t *pdu);
void ms_db_pdu(msg_server_t *ms, int link, const tt_pdu_t *pdu);
void ms_route_pdu(msg_server_t *ms, const tt_pdu_t *pdu);
void ms_client_closed(client_t *c);

/* ---- one-to-one chat (chat.c) ---- */
void ms_chat_client_msg(client_t *c, const tt_pdu_t *pdu);
void ms_chat_stored(msg_server_t *ms, const tt_pdu_t *pdu);
void ms_chat_routed(msg_server_t *ms, const tt_pdu_t *pdu);
void ms_chat_read_ack(client_t *c, const tt_pdu_t *pdu);
void ms_chat_read_notify(msg_server_t *ms, const tt_pdu_t *pdu);
void ms_chat_p2p(client_t *c, const tt_pdu_t *pdu);
void ms_chat_p2p_routed(msg_server_t *ms, const tt_pdu_t *pdu);
void ms_chat_remove_notify(msg_server_t *ms, const tt_pdu_t *pdu);
/* Reading is paused while the answer window is full or the rate limit holds; resumes when
 * neither does. */
void ms_client_update_pause(client_t *c);
void ms_throttle_free(msg_server_t *ms, client_t *c);
void ms_chat_init(msg_server_t *ms);
void ms_chat_free(msg_server_t *ms);
/* What identifies a client's message across resends (a 64-bit FNV-1a hash, never 0 for a
 * message that can be resent): receiver, type and content with the client msg_id when it is
 * not 0, else with the request seq_num and the client's create_time when that is not 0. 0: a
 * message no resend can be recognised as (msg_id and create_time both 0: iOS, Mac). */
uint64_t ms_chat_key(uint32_t to, uint32_t client_msg_id, uint32_t type, uint16_t seq,
                     uint32_t client_time, const uint8_t *data, size_t len);
/* A message of user_id was sent to a db link that went down before answering: this server did
 * not deliver it. Remembered for a while so that its resend is delivered even if db_proxy
 * answers it as already stored. */
void ms_chat_unanswered(msg_server_t *ms, uint32_t user_id, uint64_t key);

/* Stops reading c until its message tokens (and voice, when it waits for that) are back. */
void ms_client_throttle(client_t *c);

/* ---- abuse limits (limits.c) ---- */
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

/* ---- login (login.c) ---- */
void ms_login_request(client_t *c, const tt_pdu_t *pdu);
void ms_login_validated(msg_server_t *ms, const tt_pdu_t *pdu);

#endif
