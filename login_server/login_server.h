/* login_server: shared types. The registry of msg_servers (one record per registered
 * connection, kept in registration order), the choice of the msg_server a client should use,
 * and the daemon struct that holds the listeners and the registry. */
#ifndef LOGIN_SERVER_H
#define LOGIN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tt_daemon.h"
#include "tt_map.h"

/* Result of a pick: the codes of the HTTP answer and of IMMsgServRsp.result_code. */
#define LS_PICK_OK 0   /* a msg_server was found */
#define LS_PICK_NONE 1 /* no msg_server registered (REFUSE_REASON_NO_MSG_SERVER) */
#define LS_PICK_FULL 2 /* every msg_server is full (REFUSE_REASON_MSG_SERVER_FULL) */

/* IMUserCntUpdate.user_action */
#define LS_CNT_INC 1
#define LS_CNT_DEC 2

typedef struct ls_msg_server_s ls_msg_server_t;
struct ls_msg_server_s {
    ls_msg_server_t *prev, *next; /* registration order */
    uint64_t conn_id;             /* the connection it registered on */
    char *ip1;                    /* IpAddr1, given to clients as priorIP */
    char *ip2;                    /* IpAddr2, given to clients as backupIP */
    char *host_name;              /* gethostname() of the msg_server, for the logs */
    uint32_t port;                /* client port of the msg_server */
    uint32_t max_conn_cnt;        /* MaxConnCnt: full at this many connections */
    uint32_t cur_conn_cnt;        /* logged-in client connections it holds now */
};

typedef struct ls_registry_s {
    tt_map_t by_conn;             /* connection id -> ls_msg_server_t */
    ls_msg_server_t *head, *tail; /* registration order (ties in a pick go to the oldest) */
} ls_registry_t;

void ls_registry_init(ls_registry_t *r);
void ls_registry_free(ls_registry_t *r);
size_t ls_registry_len(const ls_registry_t *r);
/* Registers the msg_server of conn_id, or updates it in place when it registers again (it
 * keeps its place in the order). NULL when memory is short. */
ls_msg_server_t *ls_registry_set(ls_registry_t *r, uint64_t conn_id, const char *ip1,
                                 const char *ip2, uint32_t port, uint32_t max_conn_cnt,
                                 uint32_t cur_conn_cnt, const char *host_name);
ls_msg_server_t *ls_registry_find(const ls_registry_t *r, uint64_t conn_id);
/* Forgets the msg_server of conn_id; 1 when there was one, 0 otherwise. */
int ls_registry_remove(ls_registry_t *r, uint64_t conn_id);
/* Applies an IMUserCntUpdate action (LS_CNT_INC / LS_CNT_DEC); the count never goes below 0
 * nor wraps. -1 for an unknown action (nothing changes). */
int ls_registry_count(ls_msg_server_t *m, uint32_t action);
/* The msg_server with the smallest cur_conn_cnt among those with cur_conn_cnt < max_conn_cnt,
 * the oldest registration on ties. NULL with *code = LS_PICK_NONE / LS_PICK_FULL otherwise. */
const ls_msg_server_t *ls_registry_pick(const ls_registry_t *r, int *code);

/* The JSON body of the /msg_server answer (PROTOCOL.md §5.1) for a pick: code, msg and, on
 * success, priorIP, backupIP, port (a string), msfsPrior, msfsBackup, discovery. Keys sorted,
 * compact. Returns a malloc'ed NUL-terminated string (length in *len), NULL when memory is
 * short. */
char *ls_discovery_json(const ls_msg_server_t *m, int code, const char *msfs,
                        const char *discovery, size_t *len);

typedef struct login_server_s {
    tt_daemon_t d;                 /* process life, config, loop */
    tt_server_opts_t peer_opts;    /* msg_server listener options */
    tt_server_opts_t client_opts;  /* deprecated TCP client listener options */
    tt_http_limits_t http_lim;     /* HTTP limits */
    int tcp_clients_on;            /* ClientPort is configured */
    const char *msfs;              /* msfs base URL for clients */
    const char *discovery;         /* discovery URL for clients */
    tt_server_t *msg_servers;      /* msg_server connections */
    tt_server_t *tcp_clients;      /* deprecated IMMsgServReq clients (when ClientPort is set) */
    tt_http_server_t *http_srv;    /* GET /msg_server */
    ls_registry_t registry;        /* registered msg_servers */
    uint64_t next_conn_id;         /* ids given to msg_server connections */
} login_server_t;

/* msg_server connections (msg_servers.c). */
extern const tt_server_handler_t ls_msg_server_handler;
/* Clients asking for a msg_server (clients.c): HTTP and the deprecated TCP port. */
void ls_http_request(tt_http_req_t *req, void *udata);
extern const tt_server_handler_t ls_tcp_client_handler;

#endif
