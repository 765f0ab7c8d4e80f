/* Disabled users lose their live sessions: the IMServerKickUser frames that say so, and the
 * check of a msg_server's logged-in users when its link comes up (IMOnlineUserInfo). The
 * poll that finds users disabled while they are online is status_poll.c; how both work
 * together is described there. A disabled user cannot log in again (h_login.c admits
 * status 0 only). */
#include <stdlib.h>
#include <string.h>

#include "IM.Server.pb-c.h"
#include "db_proxy.h"
#include "tt_buf.h"
#include "tt_log.h"

#define DBP_STATUS_MAX_CHECK 20000 /* users checked per IMOnlineUserInfo */

#define OTHER(cmd) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##cmd

/* Appends one IMServerKickUser for uid. The client type is not used on this link (every
 * connection of the user goes); the reason is what the clients are told. */
int dbp_kick_append(tt_buf_t *b, uint32_t uid)
{
    IM__Server__IMServerKickUser k = IM__SERVER__IMSERVER_KICK_USER__INIT;
    k.user_id = uid;
    k.client_type = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS;
    k.reason = IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER;
    return tt_pdu_append(b, DBP_SID_OTHER, OTHER(SERVER_KICK_USER), 0, &k.base);
}

/* ---- CID_OTHER_ONLINE_USER_INFO: a msg_server's logged-in users ---- */

static void online_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    (void)x;
    (void)m; /* nothing to answer without the database (and nothing the peer waits for) */
}

static int online_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Server__IMOnlineUserInfo *req = (const IM__Server__IMOnlineUserInfo *)m;
    size_t n = req->n_user_stat_list;
    if (n > DBP_STATUS_MAX_CHECK) {
        log_info("IMOnlineUserInfo from %s with %zu users: only the first %d checked", x->peer,
                 n, DBP_STATUS_MAX_CHECK);
        n = DBP_STATUS_MAX_CHECK;
    }
    if (n == 0)
        return 0;
    uint32_t *ids = malloc(n * sizeof(*ids));
    if (!ids)
        return -1;
    for (size_t i = 0; i < n; i++)
        ids[i] = req->user_stat_list[i]->user_id;
    td_user_list_t users = {0};
    td_conn_t *c = dbp_db(x, 0);
    int rc = -1;
    if (c) {
        rc = td_users_by_ids(c, ids, n, &users);
        if (rc < 0)
            dbp_db_failed(x, c, "status check");
        dbp_db_put(x, c, 0);
    }
    free(ids);
    if (rc < 0) {
        td_user_list_free(&users);
        return -1;
    }
    tt_buf_t b;
    tt_buf_init(&b);
    size_t kicks = 0;
    for (size_t i = 0; i < users.n; i++)
        if (users.v[i]->status == TD_USER_STATUS_LEFT && dbp_kick_append(&b, users.v[i]->id) == 0)
            kicks++;
    td_user_list_free(&users);
    log_info("%s reports %zu logged-in user(s); %zu of them disabled: disconnected", x->peer, n,
             kicks);
    if (kicks == 0) {
        tt_buf_free(&b);
        return 0;
    }
    x->frame = b.data; /* nothing was consumed: the frames start at data */
    x->frame_len = tt_buf_len(&b);
    return 0;
}

const dbp_cmd_t dbp_status_cmds[] = {
    {OTHER(ONLINE_USER_INFO), "IMOnlineUserInfo", &im__server__imonline_user_info__descriptor,
     DBP_SID_OTHER, OTHER(SERVER_KICK_USER), online_run, online_fail, NULL},
};
const size_t dbp_status_ncmds = sizeof(dbp_status_cmds) / sizeof(dbp_status_cmds[0]);
