/* msg_server layer 3: the links to the other daemons (upstream.c) — db_proxy_servers,
 * login_servers, route_servers. Frames from them go to ms->on_db_pdu / ms->on_route_pdu. */
#ifndef MS_UPSTREAM_H
#define MS_UPSTREAM_H

#include "ms_core.h"

int ms_upstreams_start(msg_server_t *ms);
void ms_upstreams_stop(msg_server_t *ms);
/* A usable db link for this client (-1 if none). */
int ms_db_pick(msg_server_t *ms, const client_t *c);
/* A link (not started) to another daemon at a, with msg_server's reconnect back-off, frame cap
 * and daemon secret; max_out: its output cap (0: tt_link's default). */
tt_link_t *ms_link_new(msg_server_t *ms, const upstream_addr_t *a, const tt_link_handler_t *h,
                       size_t max_out, void *udata);
int ms_login_up(msg_server_t *ms);
tt_link_t *ms_route_master(msg_server_t *ms);
void ms_login_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m);
void ms_route_send_all(msg_server_t *ms, uint16_t sid, uint16_t cid, const ProtobufCMessage *m);

#endif
