/* Client connections and logged-in users (layer 1, ms_session.h): a client per connection,
 * look-up by handle and by user id, the per-user connection lists, notifications to a user's
 * or everybody's connections, kicks, and the pause of a connection's reading. */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "ms_session.h"
#include "tt_log.h"

int ms_is_mobile(uint32_t client_type) { return (client_type & 0x10) != 0; }

static int matches(const client_t *c, int filter)
{
    if (c->state != CLIENT_ONLINE)
        return 0;
    if (filter == MS_PC_ONLY)
        return !ms_is_mobile(c->client_type);
    if (filter == MS_MOBILE_ONLY)
        return ms_is_mobile(c->client_type);
    return 1;
}

user_t *ms_user_find(msg_server_t *ms, uint32_t user_id) { return tt_map_get(&ms->users, user_id); }

client_t *ms_client_find(msg_server_t *ms, uint32_t handle)
{
    return tt_map_get(&ms->clients, handle);
}

int ms_client_attach_user(client_t *c, uint32_t user_id)
{
    msg_server_t *ms = c->ms;
    user_t *u = ms_user_find(ms, user_id);
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u || tt_map_put(&ms->users, user_id, u) < 0) {
            free(u);
            return -1;
        }
        u->user_id = user_id;
    }
    c->user = u;
    c->user_id = user_id;
    c->prev = NULL;
    c->next = u->clients;
    if (u->clients)
        u->clients->prev = c;
    u->clients = c;
    return 0;
}

static void detach_user(client_t *c)
{
    user_t *u = c->user;
    if (!u)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        u->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->user = NULL;
    if (!u->clients) {
        tt_map_del(&c->ms->users, u->user_id);
        free(u);
    }
}

void ms_user_send(user_t *u, int filter, const client_t *except, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg)
{
    for (client_t *c = u->clients; c; c = c->next)
        if (c != except && matches(c, filter))
            tt_pdu_send(c->conn, sid, cid, 0, msg);
}

void ms_broadcast(msg_server_t *ms, int filter, uint16_t sid, uint16_t cid,
                  const ProtobufCMessage *msg)
{
    /* Pack once, write the same bytes to every matching connection. */
    size_t body = protobuf_c_message_get_packed_size(msg);
    uint8_t *frame = malloc(TT_PDU_HEADER_LEN + body);
    if (!frame)
        return;
    tt_pdu_encode_header(frame, (uint32_t)(TT_PDU_HEADER_LEN + body), sid, cid, 0);
    protobuf_c_message_pack(msg, frame + TT_PDU_HEADER_LEN);
    for (size_t i = 0; i < ms->clients.cap; i++) {
        client_t *c = ms->clients.slots[i].value;
        if (c && matches(c, filter))
            tt_conn_write(c->conn, frame, TT_PDU_HEADER_LEN + body);
    }
    free(frame);
}

void ms_kick_same_class(user_t *u, uint32_t client_type, uint32_t reason, const client_t *except)
{
    IM__Login__IMKickUser kick = IM__LOGIN__IMKICK_USER__INIT;
    kick.user_id = u->user_id;
    kick.kick_reason = reason;
    for (client_t *c = u->clients; c; c = c->next) {
        if (c == except || c->state != CLIENT_ONLINE ||
            ms_is_mobile(c->client_type) != ms_is_mobile(client_type))
            continue;
        log_notice("kicking user %u on %s (client type 0x%x, reason %u)", u->user_id,
                   c->conn->peer, c->client_type, reason);
        tt_pdu_send(c->conn, IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN,
                    IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER, 0, &kick.base);
        /* It receives nothing more and can send nothing more. */
        c->state = CLIENT_GONE;
        tt_conn_close_after_flush(c->conn, "kicked (reason %u)", reason);
    }
}

void ms_user_write(msg_server_t *ms, uint32_t user_id, const client_t *except,
                   const uint8_t *frame, size_t len)
{
    user_t *u = ms_user_find(ms, user_id);
    if (!u)
        return;
    for (client_t *c = u->clients; c; c = c->next)
        if (c != except && c->state == CLIENT_ONLINE)
            tt_conn_write(c->conn, frame, len);
}

void ms_client_update_pause(client_t *c)
{
    if (c->state == CLIENT_GONE || !tt_conn_is_open(c->conn))
        return;
    /* rate limit, window full, or too many messages with db_proxy_server */
    if (c->throttled || c->db_wait || (c->slots && c->count == MS_WINDOW))
        tt_conn_pause(c->conn);
    else
        tt_conn_resume(c->conn);
}

client_t *ms_client_new(msg_server_t *ms, tt_conn_t *conn)
{
    client_t *c = calloc(1, sizeof(*c));
    if (!c) {
        tt_conn_close(conn, "out of memory");
        return NULL;
    }
    do {
        ms->next_handle++;
    } while (ms->next_handle == 0 || tt_map_get(&ms->clients, ms->next_handle));
    c->ms = ms;
    c->conn = conn;
    c->handle = ms->next_handle;
    c->accepted_at = tt_loop_now(ms->d.loop);
    if (tt_map_put(&ms->clients, c->handle, c) < 0) {
        free(c);
        tt_conn_close(conn, "out of memory");
        return NULL;
    }
    conn->app = c;
    conn->id = c->handle;
    tt_conn_set_timeouts(conn, ms->login_timeout_ms, 0);
    /* Until it logs in it may send only a login request (well under 1 KiB) and heartbeats:
     * small buffers; the normal ones once it has logged in. */
    tt_conn_set_caps(conn, ms->prelogin_buffer, ms->prelogin_buffer);
    return c;
}

void ms_client_free(client_t *c)
{
    detach_user(c);
    tt_map_del(&c->ms->clients, c->handle);
    c->conn->app = NULL;
    free(c);
}

void ms_users_free(msg_server_t *ms)
{
    for (size_t i = 0; i < ms->users.cap; i++)
        free(ms->users.slots[i].value);
}
