/* file_server: the msg_server port (MsgServerListenIP:MsgServerListenPort, daemon secret
 * required). IMFileServerIPReq is answered with the FileServerIp list × ClientListenPort;
 * IMFileTransferReq creates a task bound to its two users and is answered with its id. A
 * request that cannot be served (bad mode, table full) gets result 1 and the connection stays
 * (the original closed it). Heartbeats are echoed by tt_server. */
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Server.pb-c.h"
#include "fs.h"
#include "tt_log.h"

#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x
#define MAX_ADDRS 16

static void ip_req(file_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu)
{
    char buf[512];
    const char *hosts[MAX_ADDRS];
    int n = tt_cfg_split(fs->advertised, ';', buf, sizeof(buf), hosts, MAX_ADDRS);
    IM__BaseDefine__IpAddr addrs[MAX_ADDRS], *list[MAX_ADDRS];
    for (int i = 0; i < n; i++) {
        im__base_define__ip_addr__init(&addrs[i]);
        addrs[i].ip = (char *)hosts[i];
        addrs[i].port = fs->client_port;
        list[i] = &addrs[i];
    }
    IM__Server__IMFileServerIPRsp rsp = IM__SERVER__IMFILE_SERVER_IPRSP__INIT;
    rsp.n_ip_addr_list = (size_t)n;
    rsp.ip_addr_list = list;
    tt_pdu_send(c, SID_OTHER, OTHER(FILE_SERVER_IP_RSP), pdu->seq_num, &rsp.base);
    log_info("msg_server %s asked for the client addresses: %d given", c->peer, n);
}

static void transfer_req(file_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu)
{
    IM__Server__IMFileTransferReq *req = (IM__Server__IMFileTransferReq *)tt_pb_unpack(
        &im__server__imfile_transfer_req__descriptor, pdu->body, pdu->body_len);
    if (!req) {
        log_warn_rl("IMFileTransferReq from %s does not parse: ignored", c->peer);
        return;
    }
    IM__Server__IMFileTransferRsp rsp = IM__SERVER__IMFILE_TRANSFER_RSP__INIT;
    rsp.result_code = 1;
    rsp.from_user_id = req->from_user_id;
    rsp.to_user_id = req->to_user_id;
    rsp.file_name = req->file_name;
    rsp.has_file_size = 1;
    rsp.file_size = req->file_size;
    rsp.task_id = "";
    rsp.has_trans_mode = 1;
    rsp.trans_mode = req->trans_mode;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    int mode = (int)req->trans_mode;
    fs_task_t *t = NULL;
    if (mode != FS_ONLINE && mode != FS_OFFLINE)
        log_warn_rl("IMFileTransferReq from %s: transfer mode %d refused", c->peer, mode);
    else if (!req->from_user_id || !req->to_user_id)
        log_warn_rl("IMFileTransferReq from %s: users %u -> %u refused", c->peer,
                    (unsigned)req->from_user_id, (unsigned)req->to_user_id);
    else if (!(t = fs_table_create(&fs->tasks, req->from_user_id, req->to_user_id,
                                   req->file_size, mode, req->file_name,
                                   (uint64_t)time(NULL), tt_loop_now(fs->d.loop))))
        log_warn_rl("IMFileTransferReq from %s: no task (%zu of MaxTasks=%zu in use)", c->peer,
                    fs_table_len(&fs->tasks), fs->tasks.max);
    if (t) {
        rsp.result_code = 0;
        rsp.task_id = t->id;
        log_info("task %s: %s, %u -> %u, %u bytes", t->id,
                 mode == FS_ONLINE ? "online" : "offline", (unsigned)t->from, (unsigned)t->to,
                 (unsigned)t->size);
    }
    tt_pdu_send(c, SID_OTHER, OTHER(FILE_TRANSFER_RSP), pdu->seq_num, &rsp.base);
    tt_pb_free(req);
}

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_notice_rl("msg_server connected from %s", c->peer);
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    file_server_t *fs = udata;
    if (pdu->command_id == OTHER(FILE_SERVER_IP_REQ))
        ip_req(fs, c, pdu);
    else if (pdu->command_id == OTHER(FILE_TRANSFER_REQ))
        transfer_req(fs, c, pdu);
    else
        log_info_rl("command 0x%04x from msg_server %s not handled", pdu->command_id, c->peer);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_notice_rl("msg_server %s gone: %s", c->peer, c->reason);
}

const tt_server_handler_t fs_peer_handler = {on_open, on_pdu, on_close, NULL};
