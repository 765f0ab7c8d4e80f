/* msg_server layer 4: dispatch (dispatch.c) — the client listener's callbacks, and the
 * routing of every frame through the tables the features export: a client's command to its
 * feature's handler or forwarded to db_proxy_server / route_server (user id stamped in,
 * attach_data set so that the answer finds its way back), and an upstream's answer or
 * notification to its feature's handler or relayed as is to the requester. It knows no
 * feature: main.c registers them (ms_dispatch_register). Adding a command is adding a row. */
#ifndef MS_DISPATCH_H
#define MS_DISPATCH_H

#include "ms_core.h"

enum { MS_TO_DB = 0, MS_TO_ROUTE = 1 };
#define MS_TAG_LEN 4 /* bytes of a route_tag */

/* A client command: handled by fn, or (fn NULL) forwarded upstream as a desc body. */
typedef struct ms_client_cmd_s {
    uint16_t cid;
    void (*fn)(client_t *c, const tt_pdu_t *pdu);
    const ProtobufCMessageDescriptor *desc; /* forwarded: its body */
    uint8_t dest;                           /* forwarded: MS_TO_DB or MS_TO_ROUTE */
    uint8_t keep_request;                   /* forwarded: the request rides in attach_data */
    uint8_t before_login;                   /* accepted in every state (the login request) */
} ms_client_cmd_t;

/* An answer or notification from an upstream: handled by fn, or (fn NULL) relayed as a desc
 * body to the requester named in its attach_data. */
typedef struct ms_answer_s {
    uint16_t cid;
    const ProtobufCMessageDescriptor *desc;
    void (*fn)(msg_server_t *ms, const tt_pdu_t *pdu);
} ms_answer_t;

/* What a feature module exports. */
struct ms_feature_s {
    const char *name;
    const ms_client_cmd_t *client_cmds; /* commands from clients */
    size_t n_client_cmds;
    const ms_answer_t *db_answers; /* frames from db_proxy_server */
    size_t n_db_answers;
    const ms_answer_t *route_answers; /* frames from route_server */
    size_t n_route_answers;
    /* Frames from route_server whose attach_data carries a payload starting with route_tag
     * (MS_TAG_LEN bytes): they run these rows instead of route_answers', so that a feature
     * may ask route_server what another one asks too and get its own answers back. */
    const char *route_tag;
    const ms_answer_t *tagged_route_answers;
    size_t n_tagged_route_answers;
    int (*init)(msg_server_t *ms);       /* at start, may be NULL */
    void (*finish)(msg_server_t *ms);    /* at exit, may be NULL */
    void (*client_closed)(client_t *c);  /* a logged-in connection went away, may be NULL */
};

/* Adds a feature's tables. -1 (logged, nothing added) when the features are too many, a row
 * has nothing to run (no handler and no body to forward or relay, or a forward before login),
 * or a command of a table is claimed twice. */
int ms_dispatch_register(msg_server_t *ms, const ms_feature_t *f);
/* Runs every registered feature's init (-1 when one fails) / finish. */
int ms_features_init(msg_server_t *ms);
void ms_features_finish(msg_server_t *ms);
/* The client listener (on_pdu: the client command tables). */
extern const tt_server_handler_t ms_client_handler;
/* Frames from the upstreams (ms->on_db_pdu, ms->on_route_pdu). */
void ms_dispatch_db(msg_server_t *ms, int link, const tt_pdu_t *pdu);
void ms_dispatch_route(msg_server_t *ms, const tt_pdu_t *pdu);
/* Forwards a client's request upstream as a desc body, with the requester's user id stamped in
 * and a slot reserved for the answer (what a row with fn NULL does). */
void ms_forward(client_t *c, const ProtobufCMessageDescriptor *desc, int dest, int keep_request,
                const tt_pdu_t *pdu);

#endif
