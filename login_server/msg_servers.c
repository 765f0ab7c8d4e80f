/* msg_server connections: each registers with IMMsgServInfo right after connecting and then
 * reports every client login / logout with IMUserCntUpdate. A connection that drops takes its
 * registration with it at once. Heartbeats are handled by tt_server (5 s / 30 s). */
#include "IM.BaseDefine.pb-c.h"
#include "IM.Server.pb-c.h"
#include "login_server.h"
#include "tt_log.h"

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    login_server_t *ls = udata;
    c->id = ++ls->next_conn_id;
    log_info_rl("msg_server connection %llu from %s", (unsigned long long)c->id, c->peer);
}

static void msg_serv_info(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    login_server_t *ls = ctx;
    IM__Server__IMMsgServInfo *info = (IM__Server__IMMsgServInfo *)tt_pb_unpack(
        &im__server__immsg_serv_info__descriptor, pdu->body, pdu->body_len);
    if (!info) {
        log_warn_rl("IMMsgServInfo from %s does not parse: ignored", c->peer);
        return;
    }
    if (info->port == 0 || info->port > 65535 || !*info->ip1) {
        log_warn_rl("IMMsgServInfo from %s names no usable address (ip1 '%s', port %u): ignored",
                 c->peer, info->ip1, (unsigned)info->port);
        tt_pb_free(info);
        return;
    }
    const char *ip2 = *info->ip2 ? info->ip2 : info->ip1; /* clients need a backup address */
    int again = ls_registry_find(&ls->registry, c->id) != NULL;
    ls_msg_server_t *m = ls_registry_set(&ls->registry, c->id, info->ip1, ip2, info->port,
                                         info->max_conn_cnt, info->cur_conn_cnt, info->host_name);
    if (m)
        log_notice("msg_server '%s' %s from %s: %s / %s port %u, %u of %u connections; "
                   "%zu registered",
                   m->host_name, again ? "registered again" : "registered", c->peer, m->ip1,
                   m->ip2, (unsigned)m->port, (unsigned)m->cur_conn_cnt,
                   (unsigned)m->max_conn_cnt, ls_registry_len(&ls->registry));
    else
        log_error("out of memory registering the msg_server at %s", c->peer);
    tt_pb_free(info);
}

static void user_cnt_update(void *ctx, tt_conn_t *c, const tt_pdu_t *pdu)
{
    login_server_t *ls = ctx;
    IM__Server__IMUserCntUpdate *u = (IM__Server__IMUserCntUpdate *)tt_pb_unpack(
        &im__server__imuser_cnt_update__descriptor, pdu->body, pdu->body_len);
    if (!u) {
        log_warn_rl("IMUserCntUpdate from %s does not parse: ignored", c->peer);
        return;
    }
    ls_msg_server_t *m = ls_registry_find(&ls->registry, c->id);
    if (!m)
        log_warn_rl("IMUserCntUpdate from unregistered msg_server %s: ignored", c->peer);
    else if (ls_registry_count(m, u->user_action) < 0)
        log_warn_rl("IMUserCntUpdate from %s: unknown action %u ignored", c->peer,
                 (unsigned)u->user_action);
    else
        log_debug("msg_server '%s': user %u %s, %u of %u connections", m->host_name,
                  (unsigned)u->user_id, u->user_action == LS_CNT_INC ? "in" : "out",
                  (unsigned)m->cur_conn_cnt, (unsigned)m->max_conn_cnt);
    tt_pb_free(u);
}

static const tt_cmd_t peer_cmds[] = {
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_MSG_SERV_INFO, msg_serv_info},
    {IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_USER_CNT_UPDATE, user_cnt_update},
};

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    const tt_cmd_t *cmd = tt_cmd_find(peer_cmds, sizeof(peer_cmds) / sizeof(peer_cmds[0]),
                                      pdu->command_id);
    if (cmd)
        cmd->fn(udata, c, pdu);
    else
        log_info_rl("command 0x%04x from msg_server %s not handled", pdu->command_id, c->peer);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    login_server_t *ls = udata;
    ls_msg_server_t *m = ls_registry_find(&ls->registry, c->id);
    if (!m) {
        log_info_rl("msg_server connection %s closed: %s", c->peer, c->reason);
        return;
    }
    log_notice("msg_server '%s' (%s port %u) unregistered: %s; %zu left", m->host_name, m->ip1,
               (unsigned)m->port, c->reason, ls_registry_len(&ls->registry) - 1);
    ls_registry_remove(&ls->registry, c->id);
}

const tt_server_handler_t ls_msg_server_handler = {on_open, on_pdu, on_close, NULL};
