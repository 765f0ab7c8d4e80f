/* File transfer (a feature, layer 5, ms_file.h). msg_server keeps a link to every configured
 * file_server (FileServerIP<n>/FileServerPort<n>, authenticated with DaemonSecret like every
 * daemon link, reconnecting like the others) and asks each, whenever its link comes up, for
 * the addresses its clients connect to (IMFileServerIPReq); that list goes into every answer
 * and notify that sends a client to that file_server.
 * - A client's IMFileReq becomes an IMFileTransferReq to a file_server: offline as asked, or
 *   online when the receiver has a PC client — here, or anywhere as route_server says (asked
 *   with IMUsersStatReq, attach_data tagged "FILE" with the request inside) — and offline
 *   otherwise, as in the original. file_server's IMFileTransferRsp becomes the sender's
 *   IMFileRsp, and, when a task was made, an IMFileNotify to the receiver's PC connections here
 *   and through route_server to its connections on every other msg_server. No file_server up,
 *   or a request over the limits: an IMFileRsp with result 1 and no address.
 * - The offline-file list (IMFileHasOfflineReq) goes to db_proxy_server with the session's
 *   user id; its answer gets a file_server's addresses. A registration (IMFileAddOfflineReq)
 *   goes there with the session's user as the uploader, and the receiver is told the file is
 *   ready; a delete (IMFileDelOfflineReq) with the session's user as the receiver, so nobody
 *   adds files in another's name or deletes another's (the original trusted the message).
 * Bounds: names, task ids and addresses by length, file requests and registrations per user
 * by a token bucket (FileRateLimit a minute, FileRateBurst at once). */
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.File.pb-c.h"
#include "IM.Server.pb-c.h"
#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_file.h"
#include "ms_limits.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_log.h"

#define SID_FILE IM__BASE_DEFINE__SERVICE_ID__SID_FILE
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define FCMD(cmd) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##cmd
#define OTHER(cmd) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##cmd
#define ONLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE
#define OFFLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_OFFLINE

#define FILE_TAG "FILE"       /* route_tag of the IMUsersStatReq asked for a transfer */
#define FILE_MAX_IPS 8        /* client addresses kept per file_server */
#define FILE_IP_MAX 64        /* bytes of one address */
#define FILE_NAME_MAX 1024    /* bytes of a file name in a transfer request (a full path) */
#define FILE_STORED_NAME_MAX 512 /* bytes of a registered offline file's name */
#define FILE_TASK_MAX 128     /* bytes of a task id */

typedef struct fs_link_s {
    struct ms_files_s *files; /* owner */
    tt_link_t *link;          /* to the file_server */
    size_t n_ips;             /* its client addresses, from IMFileServerIPRsp */
    char ip[FILE_MAX_IPS][FILE_IP_MAX + 1];
    IM__BaseDefine__IpAddr addr[FILE_MAX_IPS];
    IM__BaseDefine__IpAddr *list[FILE_MAX_IPS]; /* points at addr, for the answers */
} fs_link_t;

typedef struct ms_files_s {
    msg_server_t *ms;
    fs_link_t fs[MS_MAX_UPSTREAMS];
    int n;
    uint32_t next;              /* where the next pick starts */
    uint32_t rate, burst;       /* FileRateLimit (a minute), FileRateBurst */
} ms_files_t;

/* ---- the file_server links ---- */

/* A file_server that is up and told its addresses, in turn; NULL when none is. */
static fs_link_t *fs_pick(msg_server_t *ms)
{
    ms_files_t *f = ms->files;
    if (!f)
        return NULL;
    for (int k = 0; k < f->n; k++) {
        fs_link_t *l = &f->fs[(f->next + (uint32_t)k) % (uint32_t)f->n];
        if (tt_link_is_up(l->link) && l->n_ips > 0) {
            f->next = (f->next + (uint32_t)k + 1) % (uint32_t)f->n;
            return l;
        }
    }
    return NULL;
}

/* Whether fs_pick would find one (without moving the turn on). */
static int fs_any(const msg_server_t *ms)
{
    const ms_files_t *f = ms->files;
    for (int k = 0; f && k < f->n; k++)
        if (tt_link_is_up(f->fs[k].link) && f->fs[k].n_ips > 0)
            return 1;
    return 0;
}

static void fs_up(tt_link_t *l, void *udata)
{
    fs_link_t *fs = udata;
    fs->n_ips = 0;
    IM__Server__IMFileServerIPReq req = IM__SERVER__IMFILE_SERVER_IPREQ__INIT;
    tt_link_send(l, SID_OTHER, OTHER(FILE_SERVER_IP_REQ), 0, &req.base);
    log_notice("file_server link %s up", tt_link_name(l));
}

static void fs_down(tt_link_t *l, const char *reason, void *udata)
{
    fs_link_t *fs = udata;
    fs->n_ips = 0;
    if (tt_link_up_since(l) != 0)
        log_warn("file_server link %s down: %s", tt_link_name(l), reason);
}

static void ip_list(fs_link_t *fs, const tt_pdu_t *pdu)
{
    IM__Server__IMFileServerIPRsp *r = (IM__Server__IMFileServerIPRsp *)tt_pb_unpack(
        &im__server__imfile_server_iprsp__descriptor, pdu->body, pdu->body_len);
    if (!r) {
        log_warn_rl("IMFileServerIPRsp from %s does not parse: ignored", tt_link_name(fs->link));
        return;
    }
    fs->n_ips = 0;
    for (size_t i = 0; i < r->n_ip_addr_list && fs->n_ips < FILE_MAX_IPS; i++) {
        const IM__BaseDefine__IpAddr *a = r->ip_addr_list[i];
        size_t len = strlen(a->ip);
        if (len == 0 || len > FILE_IP_MAX || a->port == 0 || a->port > 65535) {
            log_warn_rl("file_server %s: address %zu of its list refused", tt_link_name(fs->link),
                        i);
            continue;
        }
        size_t k = fs->n_ips++;
        memcpy(fs->ip[k], a->ip, len + 1);
        im__base_define__ip_addr__init(&fs->addr[k]);
        fs->addr[k].ip = fs->ip[k];
        fs->addr[k].port = a->port;
        fs->list[k] = &fs->addr[k];
    }
    log_notice("file_server %s gives %zu client address(es)%s%s", tt_link_name(fs->link),
               fs->n_ips, fs->n_ips ? ", first " : "", fs->n_ips ? fs->ip[0] : "");
    tt_pb_free(r);
}

static void transfer_answer(msg_server_t *ms, fs_link_t *fs, const tt_pdu_t *pdu);

static void fs_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    fs_link_t *fs = udata;
    if (pdu->command_id == OTHER(FILE_SERVER_IP_RSP))
        ip_list(fs, pdu);
    else if (pdu->command_id == OTHER(FILE_TRANSFER_RSP))
        transfer_answer(fs->files->ms, fs, pdu);
    else
        log_info_rl("command 0x%04x from file_server %s not handled", pdu->command_id,
                    tt_link_name(l));
}

static const tt_link_handler_t fs_handler = {fs_up, fs_down, fs_pdu};

/* ---- checks ---- */

/* A name or task id as a client sends it: not empty (unless may_be_empty), at most max bytes,
 * no NUL inside (protobuf-c would cut it there: field `field` of the raw body) and no control
 * character. */
static int text_ok(const tt_pdu_t *pdu, uint32_t field, const char *s, size_t max,
                   int may_be_empty)
{
    size_t n = strlen(s);
    if ((n == 0 && !may_be_empty) || n > max ||
        tt_pb_field_has_nul(pdu->body, pdu->body_len, field) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* A file request or registration of c's user within the rate limit (takes a token). */
static int rate_ok(client_t *c)
{
    ms_files_t *f = c->ms->files;
    return ms_bucket_take(&c->user->file, tt_loop_now(c->ms->d.loop), f->rate, f->burst);
}

static int has_pc(const user_t *u)
{
    for (const client_t *k = u->clients; k; k = k->next)
        if (k->state == CLIENT_ONLINE && !ms_is_mobile(k->client_type))
            return 1;
    return 0;
}

/* ---- a transfer request ---- */

/* The answer with result 1 (no task, no address: the client gives up). */
static void refuse(client_t *c, uint32_t ordinal, const IM__File__IMFileReq *r, uint32_t mode)
{
    IM__File__IMFileRsp rsp = IM__FILE__IMFILE_RSP__INIT;
    rsp.result_code = 1;
    rsp.from_user_id = c->user_id;
    rsp.to_user_id = r->to_user_id;
    rsp.file_name = r->file_name;
    rsp.task_id = "";
    rsp.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    ms_slot_answer(c, ordinal, SID_FILE, FCMD(RESPONSE), &rsp.base);
}

/* Asks a file_server for the task, in mode; refuses when none is up. */
static void send_transfer(client_t *c, uint32_t ordinal, const IM__File__IMFileReq *r,
                          uint32_t mode)
{
    fs_link_t *fs = fs_pick(c->ms);
    if (!fs) {
        log_info_rl("file request of user %u to %u refused: no file_server up", c->user_id,
                    r->to_user_id);
        refuse(c, ordinal, r, mode);
        return;
    }
    uint8_t attach[12];
    ms_attach_encode(attach, c->handle, ordinal);
    IM__Server__IMFileTransferReq t = IM__SERVER__IMFILE_TRANSFER_REQ__INIT;
    t.from_user_id = c->user_id;
    t.to_user_id = r->to_user_id;
    t.file_name = r->file_name;
    t.file_size = r->file_size;
    t.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    t.has_attach_data = 1;
    t.attach_data.data = attach;
    t.attach_data.len = sizeof(attach);
    if (tt_link_send(fs->link, SID_OTHER, OTHER(FILE_TRANSFER_REQ), 0, &t.base) < 0)
        refuse(c, ordinal, r, mode);
}

static void file_request(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    IM__File__IMFileReq *r = (IM__File__IMFileReq *)tt_pb_unpack(
        &im__file__imfile_req__descriptor, pdu->body, pdu->body_len);
    if (!r) {
        log_warn_rl("IMFileReq from user %u does not parse: ignored", c->user_id);
        return;
    }
    slot_t *s = ms_slot_open(c, pdu->seq_num, -1);
    if (!s) {
        tt_pb_free(r);
        return;
    }
    uint32_t ordinal = s->ordinal;
    r->from_user_id = c->user_id; /* the session's, whatever the message said */
    uint32_t mode = r->trans_mode;
    const char *why = NULL;
    if (r->to_user_id == 0) /* oneself is allowed, as in the original */
        why = "bad receiver";
    else if (mode != ONLINE && mode != OFFLINE)
        why = "bad mode";
    else if (!text_ok(pdu, 3, r->file_name, FILE_NAME_MAX, 0))
        why = "bad file name";
    else if (!rate_ok(c))
        why = "over FileRateLimit";
    if (why) {
        log_info_rl("file request of user %u to %u refused: %s", c->user_id, r->to_user_id, why);
        refuse(c, ordinal, r, mode == ONLINE || mode == OFFLINE ? mode : OFFLINE);
        tt_pb_free(r);
        return;
    }
    user_t *to = ms_user_find(ms, r->to_user_id);
    tt_link_t *route = ms_route_master(ms);
    if (mode == OFFLINE || (to && has_pc(to)) || !fs_any(ms)) {
        send_transfer(c, ordinal, r, mode);
    } else if (!route) {
        send_transfer(c, ordinal, r, OFFLINE); /* nobody can say the receiver is online */
    } else {
        /* Online only if a PC client of the receiver is somewhere: route_server knows. */
        size_t len = protobuf_c_message_get_packed_size(&r->base);
        uint8_t *payload = malloc(MS_TAG_LEN + len);
        IM__Buddy__IMUsersStatReq q = IM__BUDDY__IMUSERS_STAT_REQ__INIT;
        uint32_t id = r->to_user_id;
        if (payload) {
            memcpy(payload, FILE_TAG, MS_TAG_LEN);
            protobuf_c_message_pack(&r->base, payload + MS_TAG_LEN);
        }
        if (!payload || ms_attach_encode_payload(&q.attach_data, c->handle, ordinal, payload,
                                                 MS_TAG_LEN + len) < 0) {
            refuse(c, ordinal, r, mode);
        } else {
            q.user_id = c->user_id;
            q.n_user_id_list = 1;
            q.user_id_list = &id;
            q.has_attach_data = 1;
            tt_link_send(route, IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST,
                         IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_REQUEST,
                         0, &q.base);
            free(q.attach_data.data);
        }
        free(payload);
    }
    tt_pb_free(r);
}

/* route_server's answer about the receiver of an online request: online if a PC client of it
 * is somewhere, offline otherwise. */
static void receiver_status(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__Buddy__IMUsersStatRsp *rsp = (IM__Buddy__IMUsersStatRsp *)tt_pb_unpack(
        &im__buddy__imusers_stat_rsp__descriptor, pdu->body, pdu->body_len);
    if (!rsp)
        return;
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    client_t *c = NULL;
    IM__File__IMFileReq *r = NULL;
    if (rsp->has_attach_data &&
        ms_attach_decode(&rsp->attach_data, &handle, &ordinal, &payload, &plen) == 0 &&
        payload && plen >= MS_TAG_LEN)
        c = ms_client_find(ms, handle);
    if (c && c->state == CLIENT_ONLINE && c->user_id == rsp->user_id)
        r = (IM__File__IMFileReq *)tt_pb_unpack(&im__file__imfile_req__descriptor,
                                                payload + MS_TAG_LEN, plen - MS_TAG_LEN);
    if (r && r->from_user_id == c->user_id) {
        uint32_t mode = OFFLINE;
        for (size_t i = 0; i < rsp->n_user_stat_list; i++)
            if (rsp->user_stat_list[i]->user_id == r->to_user_id &&
                rsp->user_stat_list[i]->status ==
                    IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE)
                mode = ONLINE;
        send_transfer(c, ordinal, r, mode);
    }
    tt_pb_free(r);
    tt_pb_free(rsp);
}

/* Tells the receiver about a task: its PC connections here, and through route_server its
 * connections on the other msg_servers. */
static void notify_receiver(msg_server_t *ms, IM__File__IMFileNotify *n)
{
    user_t *u = ms_user_find(ms, n->to_user_id);
    if (u)
        ms_user_send(u, MS_PC_ONLY, NULL, SID_FILE, FCMD(NOTIFY), &n->base);
    tt_link_t *route = ms_route_master(ms);
    if (route)
        tt_link_send(route, SID_FILE, FCMD(NOTIFY), 0, &n->base);
}

static void transfer_answer(msg_server_t *ms, fs_link_t *fs, const tt_pdu_t *pdu)
{
    IM__Server__IMFileTransferRsp *t = (IM__Server__IMFileTransferRsp *)tt_pb_unpack(
        &im__server__imfile_transfer_rsp__descriptor, pdu->body, pdu->body_len);
    if (!t) {
        log_warn_rl("IMFileTransferRsp from %s does not parse: dropped", tt_link_name(fs->link));
        return;
    }
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    client_t *c = NULL;
    if (t->has_attach_data &&
        ms_attach_decode(&t->attach_data, &handle, &ordinal, &payload, &plen) == 0)
        c = ms_client_find(ms, handle);
    if (!c || c->state != CLIENT_ONLINE || c->user_id != t->from_user_id) {
        tt_pb_free(t); /* the sender left: nobody will send that file */
        return;
    }
    const char *task = t->task_id ? t->task_id : "";
    const char *name = t->file_name ? t->file_name : "";
    uint32_t mode = t->has_trans_mode ? t->trans_mode : OFFLINE;
    int ok = t->result_code == 0 && *task && strlen(task) <= FILE_TASK_MAX;
    IM__File__IMFileRsp rsp = IM__FILE__IMFILE_RSP__INIT;
    rsp.result_code = ok ? 0 : 1;
    rsp.from_user_id = t->from_user_id;
    rsp.to_user_id = t->to_user_id;
    rsp.file_name = (char *)name;
    rsp.task_id = ok ? (char *)task : "";
    rsp.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    if (ok) {
        rsp.n_ip_addr_list = fs->n_ips;
        rsp.ip_addr_list = fs->list;
    }
    ms_slot_answer(c, ordinal, SID_FILE, FCMD(RESPONSE), &rsp.base);
    if (ok) {
        IM__File__IMFileNotify n = IM__FILE__IMFILE_NOTIFY__INIT;
        n.from_user_id = t->from_user_id;
        n.to_user_id = t->to_user_id;
        n.file_name = (char *)name;
        n.file_size = t->file_size;
        n.task_id = (char *)task;
        n.n_ip_addr_list = fs->n_ips;
        n.ip_addr_list = fs->list;
        n.trans_mode = (IM__BaseDefine__TransferFileType)mode;
        n.offline_ready = 0;
        notify_receiver(ms, &n);
    } else {
        log_info_rl("file_server %s made no task for user %u to %u (result %u)",
                    tt_link_name(fs->link), t->from_user_id, t->to_user_id, t->result_code);
    }
    tt_pb_free(t);
}

/* A notify from another msg_server: to every connection of the receiver here (as the
 * original). */
static void routed_notify(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__File__IMFileNotify *n = (IM__File__IMFileNotify *)tt_pb_unpack(
        &im__file__imfile_notify__descriptor, pdu->body, pdu->body_len);
    if (!n)
        return;
    user_t *u = ms_user_find(ms, n->to_user_id);
    if (u)
        ms_user_send(u, MS_ALL, NULL, SID_FILE, FCMD(NOTIFY), &n->base);
    tt_pb_free(n);
}

/* ---- offline files (db_proxy_server) ---- */

/* The list of pending files, with the addresses of a file_server added. */
static void has_offline_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    IM__File__IMFileHasOfflineRsp *rsp = (IM__File__IMFileHasOfflineRsp *)tt_pb_unpack(
        &im__file__imfile_has_offline_rsp__descriptor, pdu->body, pdu->body_len);
    if (!rsp)
        return;
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    client_t *c = NULL;
    if (rsp->has_attach_data &&
        ms_attach_decode(&rsp->attach_data, &handle, &ordinal, &payload, &plen) == 0)
        c = ms_client_find(ms, handle);
    if (c && c->state == CLIENT_ONLINE && c->user_id == rsp->user_id) {
        free(rsp->attach_data.data); /* clients never see attach_data */
        rsp->attach_data.data = NULL;
        rsp->attach_data.len = 0;
        rsp->has_attach_data = 0;
        fs_link_t *fs = fs_pick(ms);
        size_t n_ips = rsp->n_ip_addr_list;
        IM__BaseDefine__IpAddr **ips = rsp->ip_addr_list;
        rsp->n_ip_addr_list = fs ? fs->n_ips : 0;
        rsp->ip_addr_list = fs ? fs->list : NULL;
        ms_slot_answer(c, ordinal, pdu->service_id, pdu->command_id, &rsp->base);
        rsp->n_ip_addr_list = n_ips; /* freed with the answer */
        rsp->ip_addr_list = ips;
    }
    tt_pb_free(rsp);
}

/* An uploader registers a file file_server holds now: stored with the session's user as the
 * uploader, and the receiver told it is ready. No answer. */
static void add_offline(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    IM__File__IMFileAddOfflineReq *r = (IM__File__IMFileAddOfflineReq *)tt_pb_unpack(
        &im__file__imfile_add_offline_req__descriptor, pdu->body, pdu->body_len);
    if (!r)
        return;
    r->from_user_id = c->user_id;
    int link = ms_db_pick(ms, c);
    if (r->to_user_id == 0 || !text_ok(pdu, 3, r->task_id, FILE_TASK_MAX, 0) ||
        !text_ok(pdu, 4, r->file_name, FILE_STORED_NAME_MAX, 1) || !rate_ok(c)) {
        log_info_rl("offline file of user %u to %u refused: bad receiver, task id or name, or "
                    "over FileRateLimit",
                    c->user_id, r->to_user_id);
    } else if (link < 0) {
        log_warn_rl("offline file of user %u to %u dropped: no db_proxy_server link", c->user_id,
                    r->to_user_id);
    } else {
        tt_link_send(ms->db[link].link, SID_FILE, FCMD(ADD_OFFLINE_REQ), pdu->seq_num, &r->base);
        fs_link_t *fs = fs_pick(ms);
        IM__File__IMFileNotify n = IM__FILE__IMFILE_NOTIFY__INIT;
        n.from_user_id = c->user_id;
        n.to_user_id = r->to_user_id;
        n.file_name = r->file_name;
        n.file_size = r->file_size;
        n.task_id = r->task_id;
        n.n_ip_addr_list = fs ? fs->n_ips : 0;
        n.ip_addr_list = fs ? fs->list : NULL;
        n.trans_mode = OFFLINE;
        n.offline_ready = 1;
        notify_receiver(ms, &n);
    }
    tt_pb_free(r);
}

/* A receiver is done with a file (downloaded or refused): its row goes, only ever one
 * addressed to the session's user. No answer. */
static void del_offline(client_t *c, const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    IM__File__IMFileDelOfflineReq *r = (IM__File__IMFileDelOfflineReq *)tt_pb_unpack(
        &im__file__imfile_del_offline_req__descriptor, pdu->body, pdu->body_len);
    if (!r)
        return;
    r->to_user_id = c->user_id;
    int link = ms_db_pick(ms, c);
    if (!text_ok(pdu, 3, r->task_id, FILE_TASK_MAX, 0))
        log_info_rl("offline file delete of user %u refused: bad task id", c->user_id);
    else if (link >= 0)
        tt_link_send(ms->db[link].link, SID_FILE, FCMD(DEL_OFFLINE_REQ), pdu->seq_num, &r->base);
    tt_pb_free(r);
}

/* ---- life ---- */

static int file_init(msg_server_t *ms)
{
    ms_files_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->ms = ms;
    f->rate = ms->file_rate;
    f->burst = ms->file_burst;
    ms->files = f;
    for (int i = 0; i < ms->n_file_addr; i++) {
        fs_link_t *fs = &f->fs[f->n];
        fs->files = f;
        if (!(fs->link = ms_link_new(ms, &ms->file_addr[i], &fs_handler, 0, fs)))
            return -1;
        f->n++;
        tt_link_start(fs->link);
    }
    if (ms->n_file_addr == 0)
        log_notice("no FileServerIP1/FileServerPort1: file requests get an error answer");
    return 0;
}

static void file_finish(msg_server_t *ms)
{
    ms_files_t *f = ms->files;
    if (!f)
        return;
    for (int k = 0; k < f->n; k++)
        tt_link_free(f->fs[k].link);
    free(f);
    ms->files = NULL;
}

static const ms_client_cmd_t client_cmds[] = {
    {FCMD(REQUEST), file_request, NULL, 0, 0, 0},
    {FCMD(HAS_OFFLINE_REQ), NULL, &im__file__imfile_has_offline_req__descriptor, MS_TO_DB, 0, 0},
    {FCMD(ADD_OFFLINE_REQ), add_offline, NULL, 0, 0, 0},
    {FCMD(DEL_OFFLINE_REQ), del_offline, NULL, 0, 0, 0},
};

static const ms_answer_t db_answers[] = {
    {FCMD(HAS_OFFLINE_RES), NULL, has_offline_answer},
};

static const ms_answer_t route_answers[] = {
    {FCMD(NOTIFY), NULL, routed_notify},
};

static const ms_answer_t tagged_route_answers[] = {
    {IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_USERS_STATUS_RESPONSE, NULL,
     receiver_status},
};

const ms_feature_t ms_file_feature = {
    .name = "file",
    .client_cmds = client_cmds,
    .n_client_cmds = sizeof(client_cmds) / sizeof(client_cmds[0]),
    .db_answers = db_answers,
    .n_db_answers = sizeof(db_answers) / sizeof(db_answers[0]),
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
    .route_tag = FILE_TAG,
    .tagged_route_answers = tagged_route_answers,
    .n_tagged_route_answers = sizeof(tagged_route_answers) / sizeof(tagged_route_answers[0]),
    .init = file_init,
    .finish = file_finish,
};
