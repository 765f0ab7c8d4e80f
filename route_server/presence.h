/* presence: who is logged in where, as route_server sees it. Pure state (no I/O): per user
 * the sessions (connection, client type, count) reported by the msg_servers, per connection
 * the users it holds. A user is ONLINE iff at least one PC-class client (client_type & 0x10
 * == 0) is logged in anywhere, else OFFLINE. Changes that other msg_servers must hear about
 * are reported through a sink, in the order they are to be sent. */
#ifndef RS_PRESENCE_H
#define RS_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "IM.BaseDefine.pb-c.h"
#include "tt_map.h"

#define RS_STATUS_ONLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE
#define RS_STATUS_OFFLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE
#define RS_STATUS_LEAVE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_LEAVE

/* Bounds that keep every entry O(1): kinds of login (connection, client type) per user (real
 * users have a few: four client types over their msg_servers), and entries taken from one
 * IMOnlineUserInfo (more than a msg_server holds; the rest of a bigger frame is refused). */
#define RS_MAX_USER_SESSIONS 64
#define RS_MAX_ONLINE_ENTRIES 200000

/* Windows and Mac are PC class (high nibble 0); iOS and Android are mobile (0x1_). */
static inline int rs_is_pc(uint32_t client_type) { return (client_type & 0x10) == 0; }

typedef struct rs_presence_sink_s {
    /* IMServerPCLoginStatusNotify{user_id, login_status} to every connection: 1 a PC client
     * is online, 0 none is. */
    void (*pc_login)(void *arg, uint32_t user_id, uint32_t login_status);
    /* IMUserStatNotify{UserStat{user_id, status}} to every connection (ONLINE / OFFLINE). */
    void (*user_stat)(void *arg, uint32_t user_id, uint32_t status);
    void *arg; /* passed to both */
} rs_presence_sink_t;

typedef struct rs_presence_s {
    tt_map_t users;          /* user id -> its sessions (rs_user_t, presence.c) */
    tt_map_t conns;          /* connection id -> tt_map_t of user id -> rs_user_t */
    rs_presence_sink_t sink; /* where notifications go */
    size_t sessions;         /* logged-in client connections over all users */
} rs_presence_t;

void rs_presence_init(rs_presence_t *p, const rs_presence_sink_t *sink);
void rs_presence_free(rs_presence_t *p);

/* IMUserStatusUpdate from connection conn. ONLINE (or LEAVE) adds one session of client_type
 * there, OFFLINE removes one. Notifies: PC-login 1 after an ONLINE when the user has a PC
 * client; PC-login 0 after a PC OFFLINE that left no PC client; for PC types the user status
 * (ONLINE, or OFFLINE once no PC client remains). Returns 0 when applied, 1 when ignored (an
 * OFFLINE for a session not held there, an unknown status, or a new kind of login for a user
 * who has RS_MAX_USER_SESSIONS already), -1 when memory is short. */
int rs_presence_update(rs_presence_t *p, uint64_t conn, uint32_t user_id, uint32_t status,
                       uint32_t client_type);
/* IMOnlineUserInfo from conn: its sessions become exactly the listed ones (entries with
 * status OFFLINE are skipped), in O(n). Users who lose their last PC client are notified
 * OFFLINE (PC-login 0, then user status), users who gain their first one ONLINE. Returns how
 * many entries were refused (past RS_MAX_ONLINE_ENTRIES, or past RS_MAX_USER_SESSIONS for
 * their user), or -1 when memory is short (the state is then consistent but may lack some of
 * the entries). */
int rs_presence_replace(rs_presence_t *p, uint64_t conn,
                        IM__BaseDefine__ServerUserStat *const *list, size_t n);
/* The connection is gone: its sessions go, and users left without a PC client are notified
 * OFFLINE. Returns how many users had sessions there. */
size_t rs_presence_drop(rs_presence_t *p, uint64_t conn);

/* ONLINE or OFFLINE. */
uint32_t rs_presence_status(const rs_presence_t *p, uint32_t user_id);
/* The connections holding sessions of user_id, each once, at most max of them in out (a user
 * has at most RS_MAX_USER_SESSIONS). Returns how many. */
size_t rs_presence_user_conns(const rs_presence_t *p, uint32_t user_id, uint64_t *out,
                              size_t max);
/* What kinds of client user_id has logged in anywhere: RS_KIND_MOBILE and / or RS_KIND_PC
 * (0: none). O(its sessions), at most RS_MAX_USER_SESSIONS. */
#define RS_KIND_MOBILE 0x01
#define RS_KIND_PC 0x02
unsigned rs_presence_kinds(const rs_presence_t *p, uint32_t user_id);
/* Users with at least one session. */
size_t rs_presence_users(const rs_presence_t *p);
/* Sessions (logged-in client connections) held on conn. */
size_t rs_presence_conn_sessions(const rs_presence_t *p, uint64_t conn);

#endif
