/* msg_server layer 1: the connection and user registry (session.c) — client connections by
 * handle, logged-in users by user id with their connection lists, notifications to a user's
 * or everybody's connections, kicks, and whether a connection's reading is paused. It calls
 * nothing above it. */
#ifndef MS_SESSION_H
#define MS_SESSION_H

#include "ms_core.h"

user_t *ms_user_find(msg_server_t *ms, uint32_t user_id);
client_t *ms_client_find(msg_server_t *ms, uint32_t handle);
/* A new connection: a client with a fresh handle, in the table, with the pre-login caps and
 * timeouts. NULL (the connection closed) when out of memory. */
client_t *ms_client_new(msg_server_t *ms, tt_conn_t *conn);
/* Takes the client out of its user (freed with its last connection) and the table, frees it.
 * What it holds in the layers above is freed before (dispatch.c). */
void ms_client_free(client_t *c);
/* Marks the client logged in as user_id (creating the user). */
int ms_client_attach_user(client_t *c, uint32_t user_id);
int ms_is_mobile(uint32_t client_type);
/* Sends a notification (seq 0) to every client of user matching the filter. */
enum { MS_ALL = 0, MS_PC_ONLY = 1, MS_MOBILE_ONLY = 2 };
void ms_user_send(user_t *u, int filter, const client_t *except, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg);
/* Writes the same frame to every logged-in connection of a user here, except one. */
void ms_user_write(msg_server_t *ms, uint32_t user_id, const client_t *except,
                   const uint8_t *frame, size_t len);
void ms_broadcast(msg_server_t *ms, int filter, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg);
/* Kicks (notice + close) the user's connections of the same class as client_type. */
void ms_kick_same_class(user_t *u, uint32_t client_type, uint32_t reason, const client_t *except);
/* Reading is paused while the answer window is full, the rate limit holds or the client waits
 * for room among the messages in flight to db_proxy_server; resumes when none does. */
void ms_client_update_pause(client_t *c);
/* Frees the users (at exit, after every connection closed). */
void ms_users_free(msg_server_t *ms);

#endif
