/* db_proxy_server: shared types. The daemon (configuration, MariaDB and Redis pools, worker
 * threads, the login-failure table), the peer connections, and the command table: every
 * command maps to a handler that runs on a worker thread and to an error answer that needs no
 * backend (used when MariaDB/Redis fail, when the request queue is full and while stopping). */
#ifndef DB_PROXY_H
#define DB_PROXY_H

#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "IM.BaseDefine.pb-c.h"
#include "cache.h"
#include "credcache.h"
#include "ratelimit.h"
#include "td_mysql.h"
#include "td_store.h"
#include "tt_daemon.h"
#include "tt_pdu.h"
#include "workers.h"

#define DBP_MAX_CACHES 8                /* CacheInstances entries */
#define DBP_MAX_USER_IDS 1000           /* ids answered per IMUsersInfoReq */
#define DBP_MAX_TOKEN_USERS 10000       /* ids answered per IMGetDeviceTokenReq */
#define DBP_LOGIN_MAX_FAILURES 10       /* failed logins that lock an account ... */
#define DBP_LOGIN_WINDOW_S (30 * 60)    /* ... within this many seconds (defaults) */
#define DBP_LOGIN_ADDR_FAILURES 20      /* failed logins that lock an address ... */
#define DBP_LOGIN_ADDR_WINDOW_S 300     /* ... within this many seconds (defaults) */
#define DBP_LOGIN_TABLE_MAX 100000      /* accounts / addresses tracked by each table */
#define DBP_LOGIN_KNOWN_ADDR_S (30 * 86400) /* an address a user logged in from is known */
#define DBP_LOGIN_KNOWN_REFRESH_S 86400 /* Redis is told again at most this often */
#define DBP_LOGIN_CACHE_DEFAULT 200000  /* LoginCacheMax: verified credentials kept */

#define DBP_SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define DBP_SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define DBP_SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER

typedef struct db_proxy_s db_proxy_t;
typedef struct dbp_peer_s dbp_peer_t;
typedef struct dbp_cmd_s dbp_cmd_t;
typedef struct dbp_out_s dbp_out_t;
typedef struct dbp_status_s dbp_status_t;

/* One request being answered (on a worker, or on the reactor for error answers). */
typedef struct dbp_ctx_s {
    db_proxy_t *dbp;        /* the daemon (NULL in unit tests of error answers) */
    const dbp_cmd_t *cmd;   /* the command */
    uint16_t seq;           /* request seq_num, echoed */
    const char *peer;       /* "ip:port" of the asking connection, for logs */
    uint8_t *frame;         /* the answer frame (header + body), malloc'ed; NULL: none */
    size_t frame_len;       /* its length */
} dbp_ctx_t;

struct dbp_cmd_s {
    uint16_t command_id;                       /* request command */
    const char *name;                          /* for logs */
    const ProtobufCMessageDescriptor *req;     /* request body */
    uint16_t rsp_sid, rsp_cid;                 /* answer service and command */
    /* On a worker: answers through dbp_answer and returns 0; returns -1 when MariaDB or
     * Redis failed (nothing answered yet): the error answer is sent instead. */
    int (*run)(dbp_ctx_t *x, const ProtobufCMessage *req);
    /* The error answer, built without any backend. */
    void (*fail)(dbp_ctx_t *x, const ProtobufCMessage *req);
    /* Optional: n consecutive requests of this command of one connection at once (x[i]
     * answers req[i]); a request left without an answer frame gets the error answer. */
    void (*run_batch)(dbp_ctx_t *x, const ProtobufCMessage *const *req, size_t n);
};

struct db_proxy_s {
    tt_daemon_t d;                    /* process life, config, loop */
    tt_server_opts_t peer_opts;       /* listener options */
    tt_server_t *listener;            /* msg_servers and http_msg_servers */
    /* configuration */
    int threads;                      /* ThreadNum */
    const char *msfs_site;            /* MsfsSite (voice files; not used yet) */
    uint32_t kdf_iterations;          /* PasswordKdfIterations */
    size_t max_pending;               /* MaxPendingRequests */
    size_t max_pending_bytes;         /* MaxPendingBytes */
    uint32_t db_timeout_ms;           /* DBTimeoutMs */
    uint32_t cache_timeout_ms;        /* CacheTimeoutMs */
    uint32_t max_pdu;                 /* MaxPduSize: answers above it are not sent */
    uint32_t dedupe_window;           /* DedupeWindowSeconds: a resend with the same client
                                       * msg_id (not 0) recognised this long */
    uint32_t resend_window;           /* ResendWindowSeconds: one with the same seq_num and
                                       * client create_time (not 0) recognised this long */
    size_t msg_batch_max;             /* MsgBatchMax: messages stored per transaction */
    size_t msg_batches;               /* MsgBatchParallel: such transactions at once (0: any) */
    int login_threads;                /* LoginThreads: logins at once */
    int kdf_parallel;                 /* LoginKdfParallel: password hashes at once */
    pthread_mutex_t kdf_mu;           /* guards kdf_running */
    pthread_cond_t kdf_cv;            /* a hash finished */
    int kdf_running;                  /* password hashes running */
    size_t login_queue;               /* LoginQueueMax: logins admitted, at most */
    uint32_t login_max_wait_ms;       /* LoginMaxWaitMs: older queued logins answered busy */
    uint32_t addr_fail_limit, addr_fail_window; /* LoginFailLimit, LoginFailWindow */
    uint32_t user_fail_limit, user_fail_window; /* LoginUserFailLimit, LoginUserFailWindow */
    size_t login_cache_max;           /* LoginCacheMax */
    /* backends */
    td_db_t *master;                  /* teamtalk_master: writes */
    td_db_t *slave;                   /* teamtalk_slave: reads */
    dbp_cache_t *caches[DBP_MAX_CACHES]; /* CacheInstances, in order */
    int ncaches;
    dbp_cache_t *token;               /* the "token" cache (device tokens) */
    dbp_cache_t *unread;              /* the "unread" cache (unread counters) */
    dbp_rl_t *login_failures;         /* failed logins per user id (4 bytes, big endian) */
    dbp_rl_t *login_addr_failures;    /* failed logins per client address */
    dbp_rl_t *login_name_failures;    /* failed logins per name of nobody */
    dbp_cred_t *creds;                /* credentials verified recently */
    /* runtime */
    dbp_workers_t *workers;           /* request threads */
    dbp_workers_t *login_workers;     /* login threads (one lane per request) */
    uint64_t login_busy;              /* logins refused: login queue full */
    uint64_t last_busy_log;           /* loop time of the last "login queue full" warning */
    dbp_lane_t probe_lane;            /* the start-up backend probe */
    int mysql_ready;                  /* td_mysql_init done */
    pthread_mutex_t outbox_mu;        /* guards the three fields below */
    dbp_out_t *outbox_head, *outbox_tail; /* answers from the workers, for the reactor */
    int outbox_posted;                /* a flush is posted to the loop */
    int outbox_ready;                 /* outbox_mu initialised */
    dbp_peer_t *peers;                /* live connections (reactor thread) */
    size_t npeers;
    int stopping;                     /* SIGTERM seen: new requests get error answers */
    tt_timer_t stop_timer;            /* polls for the end of in-flight requests */
    uint64_t stop_deadline;           /* give up waiting at this loop time */
    uint64_t rejected;                /* requests answered with an error: queue full */
    size_t nheld;                     /* peers whose reading is paused: queue full */
    uint64_t holds;                   /* such pauses so far */
    tt_timer_t hold_timer;            /* while any is held: looks whether the queue drained */
    uint64_t last_reject_log;         /* loop time of the last "queue full" warning */
    dbp_status_t *status;             /* the disabled-user poll (status_poll.c) */
};

/* ---- peers.c: connections, dispatch, delivery ---- */
extern const tt_server_handler_t dbp_peer_handler;
/* SIGTERM: tell every peer to stop sending, stop listening, wait for in-flight requests
 * (bounded), then drain and stop. */
void dbp_peers_stop(db_proxy_t *dbp);
void dbp_peers_init(db_proxy_t *dbp);
/* After the workers stopped: writes the answers still waiting, forgets every peer. */
void dbp_peers_free(db_proxy_t *dbp);
const dbp_cmd_t *dbp_cmd_find(uint16_t command_id);
/* Reactor: writes the same bytes (whole frames) to every connected peer. */
void dbp_peers_send_all(db_proxy_t *dbp, const uint8_t *frames, size_t len);

/* ---- status_poll.c: sessions of disabled users are closed ---- */
int dbp_status_start(db_proxy_t *dbp); /* polls every 2 s from now on */
void dbp_status_free(db_proxy_t *dbp); /* after the workers stopped */

/* ---- backends.c: pools from the configuration ---- */
int dbp_backends_configure(tt_daemon_t *d);                /* checks the pool keys */
int dbp_backends_open(db_proxy_t *dbp);                    /* creates the pools */
void dbp_backends_probe(db_proxy_t *dbp);                  /* connects once, on a worker */
void dbp_backends_close(db_proxy_t *dbp);
void *dbp_thread_start(void *arg);
void dbp_thread_stop(void *thread, void *arg);

/* ---- answer.c: helpers for handlers ---- */
/* Packs msg as the answer frame of x (command x->cmd, seq x->seq). 0 ok, -1 out of memory. */
int dbp_answer(dbp_ctx_t *x, const ProtobufCMessage *msg);
/* Fills a UserInfo from a row; strings point into u. */
void dbp_user_info(IM__BaseDefine__UserInfo *ui, const td_user_t *u);
/* A checked-out MariaDB connection (write: master, else slave), or NULL (logged). */
td_conn_t *dbp_db(dbp_ctx_t *x, int write);
void dbp_db_put(dbp_ctx_t *x, td_conn_t *c, int write);
/* Logs a failed statement (warn) */
void dbp_db_failed(dbp_ctx_t *x, td_conn_t *c, const char *what);
/* A checked-out Redis connection of pool p, or NULL (logged). */
dbp_cache_conn_t *dbp_cache(dbp_ctx_t *x, dbp_cache_t *p);
int dbp_utf8_valid(const char *s, size_t n);
/* Copies a client-supplied string for a log line: printable ASCII kept, the rest escaped,
 * cut at 64 characters. */
const char *dbp_printable(const char *s, char *buf, size_t buflen);
uint64_t dbp_now_s(void); /* monotonic seconds */

/* ---- command groups ---- */
extern const dbp_cmd_t dbp_login_cmds[];   /* h_login.c: validate */
extern const size_t dbp_login_ncmds;
/* A command of dbp_login_cmds: runs on the login threads, in no order with the other
 * requests of its connection (the answer finds its client through attach_data). */
int dbp_cmd_is_login(const dbp_cmd_t *cmd);
/* n logins at once (x[i] answers req[i]): one lookup for all the names; done(i, arg) is
 * called as soon as x[i] has its answer frame (or none: then the error answer is due). */
void dbp_login_batch(dbp_ctx_t *x, const ProtobufCMessage *const *req, size_t n,
                     void (*done)(size_t i, void *arg), void *arg);
/* The answer to a login refused because the login queue is full. */
void dbp_login_busy(dbp_ctx_t *x, const ProtobufCMessage *req);
extern const dbp_cmd_t dbp_buddy_cmds[];   /* h_buddy.c: users, departments, avatar, sign */
extern const size_t dbp_buddy_ncmds;
extern const dbp_cmd_t dbp_push_cmds[];    /* h_push.c: push shield, device tokens */
extern const size_t dbp_push_ncmds;
extern const dbp_cmd_t dbp_push_gone_cmds[]; /* h_push.c: push_server's unregistered tokens */
extern const size_t dbp_push_gone_ncmds;
extern const dbp_cmd_t dbp_msg_cmds[];     /* h_msg.c: one-to-one chat, recent sessions */
extern const size_t dbp_msg_ncmds;
extern const dbp_cmd_t dbp_group_cmds[];   /* h_group.c: groups, members, shield */
extern const size_t dbp_group_ncmds;
extern const dbp_cmd_t dbp_status_cmds[];  /* h_status.c: a msg_server's users checked */
extern const size_t dbp_status_ncmds;
extern const dbp_cmd_t dbp_file_cmds[];    /* h_file.c: offline files (IMTransmitFile) */
extern const size_t dbp_file_ncmds;
extern const dbp_cmd_t dbp_admin_cmds[];   /* h_admin.c: users and departments (tt_admin.h) */
extern const size_t dbp_admin_ncmds;
/* h_status.c: appends an IMServerKickUser frame (seq 0) telling a msg_server that uid is
 * disabled: all of its connections are closed. 0 ok, -1 out of memory. */
int dbp_kick_append(tt_buf_t *b, uint32_t uid);

#endif
