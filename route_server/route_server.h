/* route_server: shared types. The msg_servers (and http_msg_servers) connected here, in the
 * order they connected; the presence state built from what they report; and the relays that
 * make several msg_servers behind one route_server look like one server to clients. */
#ifndef ROUTE_SERVER_H
#define ROUTE_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "presence.h"
#include "tt_daemon.h"
#include "tt_pdu.h"

#define RS_MAX_STAT_QUERY 10000 /* user ids answered per IMUsersStatReq */

typedef struct rs_peer_s rs_peer_t;
struct rs_peer_s {
    rs_peer_t *prev, *next; /* connection order */
    tt_conn_t *conn;        /* the connection (conn->app points back here) */
    uint64_t id;            /* key of its sessions in the presence state */
    uint32_t master;        /* IMRoleSet: 1 when the msg_server chose us as its master */
    uint64_t p2p_at;        /* P2P byte bucket of this sender (relay.c): last refill */
    uint64_t p2p_bytes;     /* bytes it may still relay now */
};

typedef struct route_server_s {
    tt_daemon_t d;               /* process life, config, loop */
    tt_server_opts_t peer_opts;  /* listener options */
    tt_server_t *listener;       /* msg_servers and http_msg_servers connect here */
    rs_peer_t *head, *tail;      /* connected peers, oldest first */
    size_t npeers;               /* peers in the list */
    uint64_t next_id;            /* ids given to peers */
    rs_presence_t presence;      /* who is logged in where */
    /* P2P commands (typing, shake) are best effort: capped, and never queued so deep that a
     * flood from one msg_server cuts the links to the others (relay.c) */
    uint32_t max_p2p;            /* largest relayed (bytes of the body) */
    uint64_t p2p_rate;           /* bytes per second relayed from one msg_server */
    uint64_t p2p_max_queued;     /* not queued to a peer with this much output waiting */
    uint64_t p2p_dropped;        /* P2P commands dropped so far */
} route_server_t;

/* peers.c: the connections and what they send. */
void rs_peers_init(route_server_t *rs);
void rs_peers_free(route_server_t *rs);
extern const tt_server_handler_t rs_peer_handler;

/* fanout.c: TT_CID_GROUP_FANOUT (base/tt_fanout.h) from a msg_server. */
void rs_group_fanout(void *ctx, tt_conn_t *from, const tt_pdu_t *pdu);

/* pushpresence.c: TT_CID_PUSH_PRESENCE_REQ (base/tt_pushpresence.h) from a msg_server. */
void rs_push_presence(void *ctx, tt_conn_t *from, const tt_pdu_t *pdu);

/* relay.c */
typedef enum {
    RS_RELAY_NONE,   /* not a relayed command */
    RS_RELAY_OTHERS, /* to every connection except the sender */
    RS_RELAY_ALL     /* to every connection, the sender included */
} rs_relay_scope_t;

rs_relay_scope_t rs_relay_scope(uint16_t command_id);
/* Relays a frame unchanged (the whole header and body) as its command says. Returns the scope
 * (RS_RELAY_NONE: not relayed, the caller handles it). */
rs_relay_scope_t rs_relay(route_server_t *rs, tt_conn_t *from, const tt_pdu_t *pdu);
/* Sends msg to every open connection but except (NULL: to all). Returns how many got it. */
size_t rs_broadcast(route_server_t *rs, const tt_conn_t *except, uint16_t service_id,
                    uint16_t command_id, const ProtobufCMessage *msg);

#endif
