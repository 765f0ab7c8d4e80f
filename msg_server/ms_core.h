/* msg_server layer 0: the shared types, no functions. The server struct holds the
 * configuration, the client listener, the links to db_proxy_server, login_server and
 * route_server, the tables of clients (by connection handle) and of logged-in users (by user
 * id), and the hooks through which the lower layers reach the features without calling them
 * (set by main.c). The layers: docs/ARCHITECTURE.md, "msg_server: layers". */
#ifndef MS_CORE_H
#define MS_CORE_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "tt_daemon.h"
#include "tt_link.h"
#include "tt_map.h"
#include "tt_pdu.h"

#define MS_MAX_UPSTREAMS 16
#define MS_MAX_DB_LINKS 256
#define MS_WINDOW 32 /* requests a client may have in flight before its reading pauses */
#define MS_MAX_FEATURES 16

typedef struct user_s user_t;
/* A token bucket (limits.c), in thousandths of a token. */
typedef struct ms_bucket_s {
    uint64_t at;    /* loop time of the last refill (0: full, never used) */
    uint64_t milli; /* tokens x 1000 */
} ms_bucket_t;
typedef struct client_s client_t;
typedef struct msg_server_s msg_server_t;
typedef struct ms_feature_s ms_feature_t; /* ms_dispatch.h */

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
    uint8_t held;      /* a message counted in ms->msg_inflight until its answer (answers.c) */
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
    int db_wait;               /* paused: MaxMsgInFlight messages are with db_proxy_server */
    int dbw_pass;              /* woken from db_wait: its next message goes ahead */
    client_t *dbw_prev, *dbw_next; /* the FIFO of clients in db_wait (answers.c) */
};

#define MS_NICK_MAX 63 /* bytes of a nick kept for push alerts (cut at a character) */

struct user_s {
    uint32_t user_id;   /* IMUser.id */
    char nick[MS_NICK_MAX + 1]; /* IMUser.nick at its login here (push alerts, push.c) */
    client_t *clients;  /* logged-in connections on this server */
    int pc_online;      /* route_server says a PC client is online somewhere */
    ms_bucket_t voice;  /* voice messages of this user here (limits.c) */
    ms_bucket_t file;   /* file requests of this user here (file.c) */
};

/* One configured upstream address (XxxIP<n>/XxxPort<n>). */
typedef struct upstream_addr_s {
    const char *host;
    uint16_t port;
} upstream_addr_t;

/* A message just stored, as chat.c hands it to the push decision (on_msg_stored). */
typedef struct ms_stored_msg_s {
    uint32_t from, to, msg_id, type; /* to: the receiver, or the group */
    const uint8_t *data;             /* msg_data as stored (text: the client's ciphertext) */
    size_t len;
    const uint8_t *members;          /* a group message: its members (BE32 ids) */
    size_t n_members;
} ms_stored_msg_t;

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
    uint32_t max_msg_inflight;           /* MaxMsgInFlight: messages with db_proxy at most
                                          * before clients are read later (0: no bound) */
    upstream_addr_t db_addr[MS_MAX_UPSTREAMS], login_addr[MS_MAX_UPSTREAMS],
        route_addr[MS_MAX_UPSTREAMS];
    int n_db_addr, n_login_addr, n_route_addr;
    upstream_addr_t file_addr[MS_MAX_UPSTREAMS]; /* FileServerIP<n>/FileServerPort<n> (file.c) */
    int n_file_addr;
    uint32_t file_rate, file_burst;      /* FileRateLimit a minute, FileRateBurst (file.c) */
    upstream_addr_t push_addr[MS_MAX_UPSTREAMS]; /* PushServerIP<n>/PushServerPort<n> (push.c) */
    int n_push_addr;
    uint32_t push_queue_max;             /* PushQueueMax: push decisions pending at most */
    uint32_t push_timeout_ms;            /* PushTimeout: a decision is given up after */
    const char *aes_key;                 /* aesKey: decrypts text for the push alert */
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
    uint32_t msg_inflight;               /* messages sent to db_proxy, not answered */
    client_t *dbw_head, *dbw_tail;       /* clients paused for that, longest waiting first */
    uint32_t dbw_count;                  /* how many */
    uint64_t dbw_pauses;                 /* pauses for it, ever */
    tt_timer_t dbw_timer;                /* wakes waiting clients the answers did not wake */
    struct ms_unanswered_s *unanswered;  /* messages whose db link died unanswered (chat.c) */
    uint64_t p2p_dropped;                /* P2P commands over a limit (limits.c) */
    tt_map_t groups;                     /* group id -> ms_group_t, member cache (gcache.c) */
    size_t group_ids;                    /* member ids cached over all groups */
    size_t group_cache_max;              /* GroupCacheMembers: the bound of group_ids */
    size_t group_evict;                  /* where the cache drops from next */
    struct ms_files_s *files;            /* the file feature's links and state (file.c) */
    struct ms_push_s *push;              /* the push feature's links and decisions (push.c) */
    const ms_feature_t *features[MS_MAX_FEATURES]; /* registered by main.c (dispatch.c) */
    int n_features;
    /* Hooks: how a lower layer reaches up, set by main.c. NULL: nothing to do. */
    /* a frame from db_proxy_server link `link` (other than the stop notice) (upstream.c) */
    void (*on_db_pdu)(msg_server_t *ms, int link, const tt_pdu_t *pdu);
    /* a frame from a route_server (upstream.c) */
    void (*on_route_pdu)(msg_server_t *ms, const tt_pdu_t *pdu);
    /* a chat message's slot was given up with its db link, unanswered (answers.c) */
    void (*on_msg_unanswered)(msg_server_t *ms, uint32_t user_id, uint64_t msg_key);
    /* a message was stored and delivered from this server, its sender's (chat.c) */
    void (*on_msg_stored)(msg_server_t *ms, const ms_stored_msg_t *m);
};

#endif
