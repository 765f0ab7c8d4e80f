/* file_server: the client port. A client logs in to a task with its user id and role; the
 * role must be free and bound to that user (the task's from_user sends, its to_user
 * receives), else the answer is result 1 and the connection closes. Then:
 *  - online: the receiver pulls blocks (at most MaxBlockSize, inside the file), each relayed
 *    to the sender and its answer relayed back with the receiver's seq; one block per task
 *    in flight (a second pull waits, unread, for the answer); states end the task;
 *  - offline upload: file_server pulls 32 KiB blocks at the offset of the next byte it needs
 *    and writes only the bytes that came (store.c), then sends DONE;
 *  - offline download: blocks strictly in order, DONE after the last; the file is deleted
 *    once the downloader has it all.
 * Blocks asked and not answered count in MaxBytesInFlight: over it, a pull waits in a queue.
 * An asked block must arrive within BlockTimeout, a task without progress for TaskTimeout
 * ends, a client that does not log in within its first seconds is closed (fs_clients_tick). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.File.pb-c.h"
#include "fs.h"
#include "tt_log.h"

#define SID_FILE IM__BASE_DEFINE__SERVICE_ID__SID_FILE
#define FILE_CID(x) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##x

typedef struct fs_client_s fs_client_t;
struct fs_client_s {
    fs_client_t *prev, *next; /* every client connection (freed at the end if still here) */
    file_server_t *fs;
    tt_conn_t *conn;
    fs_task_t *task;          /* NULL until logged in, and once the task ended */
    int role;                 /* FS_SENDER .. FS_DOWNLOAD */
    uint64_t opened_ms;       /* for the login deadline */
    int held;                 /* a pull of this receiver waits (conn paused, frame kept) */
};

static fs_client_t *all_clients;

static int side_of(int role) { return role == FS_SENDER || role == FS_UPLOAD ? FS_SRC : FS_DST; }
static const char *role_name(int role)
{
    static const char *n[] = {"?", "sender", "receiver", "uploader", "downloader"};
    return role >= 1 && role <= 4 ? n[role] : n[0];
}

/* ---- the in-flight budget ---- */

static void wait_remove(file_server_t *fs, fs_task_t *t)
{
    fs_task_t **p = &fs->wait_head, *prev = NULL;
    while (*p && *p != t) {
        prev = *p;
        p = &(*p)->wait_next;
    }
    if (!*p)
        return;
    *p = t->wait_next;
    if (fs->wait_tail == t)
        fs->wait_tail = prev;
    t->wait_next = NULL;
    t->want = 0;
}

/* 1 when t may put len bytes in flight now (then they are counted), 0 when it must wait. */
static int budget_take(file_server_t *fs, fs_task_t *t, uint32_t len)
{
    if (t->reserved >= len)
        return 1; /* reserved for it when it left the queue */
    uint64_t need = len - t->reserved;
    if (t->want == 0 && !fs->wait_head && (fs->inflight + need <= fs->max_inflight ||
                                           fs->inflight == 0)) {
        fs->inflight += need;
        t->reserved += (uint32_t)need;
        return 1;
    }
    if (t->want == 0) { /* to the tail of the queue */
        t->want = len;
        t->wait_next = NULL;
        if (fs->wait_tail)
            fs->wait_tail->wait_next = t;
        else
            fs->wait_head = t;
        fs->wait_tail = t;
    }
    return 0;
}

static void ask_block(file_server_t *fs, fs_task_t *t);

/* Hands the freed budget to the tasks waiting, oldest first. */
static void budget_wake(file_server_t *fs)
{
    while (fs->wait_head) {
        fs_task_t *t = fs->wait_head;
        uint64_t need = t->want > t->reserved ? t->want - t->reserved : 0;
        if (fs->inflight + need > fs->max_inflight && fs->inflight > 0)
            return;
        fs->wait_head = t->wait_next;
        if (!fs->wait_head)
            fs->wait_tail = NULL;
        t->wait_next = NULL;
        t->want = 0;
        fs->inflight += need;
        t->reserved += (uint32_t)need;
        if (t->mode == FS_OFFLINE)
            ask_block(fs, t);
        else if (t->conn[FS_DST]) /* its held pull is read again */
            tt_conn_resume(t->conn[FS_DST]);
    }
}

void fs_budget_release(file_server_t *fs, fs_task_t *t)
{
    fs->inflight -= t->reserved;
    t->reserved = 0;
    budget_wake(fs);
}

/* ---- tasks ---- */

void fs_task_end(file_server_t *fs, fs_task_t *t, const char *why)
{
    wait_remove(fs, t);
    fs->inflight -= t->reserved;
    t->reserved = 0;
    for (int i = 0; i < 2; i++) {
        tt_conn_t *c = t->conn[i];
        if (!c)
            continue;
        t->conn[i] = NULL;
        fs_client_t *cl = c->app;
        if (cl)
            cl->task = NULL;
        tt_conn_close_after_flush(c, "task %s ended: %s", t->id, why);
    }
    if (t->mode == FS_OFFLINE) {
        if (!t->complete) {
            fs_store_discard(fs, t);
        } else {
            if (t->fd >= 0)
                close(t->fd);
            t->fd = -1;
            if (t->delete_on_close)
                fs_store_unlink(fs, t->id);
        }
    }
    log_info("task %s ended: %s%s", t->id, why,
             t->delete_on_close ? " (downloaded: file deleted)" : "");
    fs_table_remove(&fs->tasks, t);
    free(t);
    budget_wake(fs);
}

/* ---- sending ---- */

static void send_login_rsp(tt_conn_t *c, uint16_t seq, uint32_t result, const char *id)
{
    IM__File__IMFileLoginRsp r = IM__FILE__IMFILE_LOGIN_RSP__INIT;
    r.result_code = result;
    r.task_id = (char *)id;
    tt_pdu_send(c, SID_FILE, FILE_CID(LOGIN_RES), seq, &r.base);
}

static void send_state(tt_conn_t *c, uint32_t state, const char *id, uint32_t user)
{
    IM__File__IMFileState s = IM__FILE__IMFILE_STATE__INIT;
    s.state = (IM__BaseDefine__ClientFileState)state;
    s.task_id = (char *)id;
    s.user_id = user;
    tt_pdu_send(c, SID_FILE, FILE_CID(STATE), 0, &s.base);
}

/* Offline upload: asks the uploader for the next bytes (or waits for budget). */
static void ask_block(file_server_t *fs, fs_task_t *t)
{
    tt_conn_t *c = t->conn[FS_SRC];
    if (!c || t->pulling || t->done >= t->size)
        return;
    uint32_t len = t->size - (uint32_t)t->done;
    if (len > FS_SEGMENT)
        len = FS_SEGMENT;
    if (!budget_take(fs, t, len))
        return;
    IM__File__IMFilePullDataReq q = IM__FILE__IMFILE_PULL_DATA_REQ__INIT;
    q.task_id = t->id;
    q.user_id = t->from;
    q.trans_mode = IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_OFFLINE;
    q.offset = (uint32_t)t->done;
    q.data_size = len;
    t->pulling = 1;
    t->pull_off = (uint32_t)t->done;
    t->pull_len = len;
    t->pull_seq = 0;
    t->pull_at = tt_loop_now(fs->d.loop);
    tt_pdu_send(c, SID_FILE, FILE_CID(PULL_DATA_REQ), 0, &q.base);
}

static void upload_done(file_server_t *fs, fs_task_t *t)
{
    char err[256];
    if (fs_store_finish(fs, t, err, sizeof(err)) < 0) {
        log_error("task %s: %s", t->id, err);
        fs_task_end(fs, t, "could not store the file");
        return;
    }
    log_info("task %s: offline file of %u bytes stored for user %u", t->id, (unsigned)t->size,
             (unsigned)t->to);
    if (t->conn[FS_SRC])
        send_state(t->conn[FS_SRC], IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, t->id,
                   t->from);
    fs_task_end(fs, t, "upload complete");
}

/* ---- IMFilePullDataRsp without a copy of its block ---- */

typedef struct pull_rsp_s {
    uint32_t result, user, offset;
    const uint8_t *id, *data;
    size_t id_len, data_len;
} pull_rsp_t;

static int parse_pull_rsp(const tt_pdu_t *pdu, pull_rsp_t *r)
{
    size_t pos = 0;
    unsigned seen = 0;
    tt_pb_field_t f;
    int rc;
    memset(r, 0, sizeof(*r));
    while ((rc = tt_pb_next_field(pdu->body, pdu->body_len, &pos, &f)) == 1) {
        if (f.number >= 1 && f.number <= 5) {
            if (f.wire != (f.number == 2 || f.number == 5 ? 2u : 0u))
                return -1; /* a known field of the wrong type */
            seen |= 1u << f.number;
        }
        switch (f.number) {
        case 1: r->result = (uint32_t)f.value; break;
        case 2: r->id = f.data; r->id_len = f.len; break;
        case 3: r->user = (uint32_t)f.value; break;
        case 4: r->offset = (uint32_t)f.value; break;
        case 5: r->data = f.data; r->data_len = f.len; break;
        default: break;
        }
    }
    return rc == 0 && seen == 0x3e ? 0 : -1;
}

static int same_id(const fs_task_t *t, const void *id, size_t len)
{
    return len == FS_ID_LEN && memcmp(t->id, id, len) == 0;
}

/* ---- commands ---- */

/* Why a login is refused, or NULL with *tp its task. A download of a stored file that is not
 * in memory loads the task from the file's header. */
static const char *login_check(file_server_t *fs, const IM__File__IMFileLoginReq *q,
                               fs_task_t **tp, char *err, size_t errlen)
{
    int role = (int)q->file_role;
    if (!fs_task_id_valid(q->task_id))
        return "not a task id";
    if (role < FS_SENDER || role > FS_DOWNLOAD)
        return "unknown role";
    fs_task_t *t = fs_table_get(&fs->tasks, q->task_id);
    if (!t && role == FS_DOWNLOAD) {
        fs_header_t h;
        int fd;
        if (fs_store_open(fs, q->task_id, q->user_id, &h, &fd, err, errlen) < 0)
            return err;
        if (!(t = fs_table_adopt(&fs->tasks, &h, tt_loop_now(fs->d.loop)))) {
            close(fd);
            return "too many tasks";
        }
        t->fd = fd;
    }
    if (!t)
        return "no such task";
    if ((t->mode == FS_ONLINE) != (role == FS_SENDER || role == FS_RECVER))
        return "role not of this task's mode";
    if (q->user_id != (side_of(role) == FS_SRC ? t->from : t->to))
        return "user not bound to this role";
    if (t->conn[side_of(role)])
        return "role already taken";
    if (role == FS_DOWNLOAD && !t->complete)
        return "upload not finished";
    if (role == FS_UPLOAD && fs_store_create(fs, t, err, errlen) < 0) {
        log_error("task %s: %s", t->id, err);
        return "cannot store the file";
    }
    *tp = t;
    return NULL;
}

static void login(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu)
{
    IM__File__IMFileLoginReq *q = (IM__File__IMFileLoginReq *)tt_pb_unpack(
        &im__file__imfile_login_req__descriptor, pdu->body, pdu->body_len);
    if (!q) {
        tt_conn_close(c, "IMFileLoginReq does not parse");
        return;
    }
    int role = (int)q->file_role;
    fs_task_t *t = NULL;
    char err[256] = "";
    const char *why = login_check(fs, q, &t, err, sizeof(err));
    if (why) {
        log_info_rl("login of user %u as %s to task %.40s from %s refused: %s",
                    (unsigned)q->user_id, role_name(role), q->task_id, c->peer, why);
        send_login_rsp(c, pdu->seq_num, 1, q->task_id);
        tt_conn_close_after_flush(c, "login refused: %s", why);
        tt_pb_free(q);
        return;
    }
    cl->task = t;
    cl->role = role;
    t->conn[side_of(role)] = c;
    t->active_ms = tt_loop_now(fs->d.loop);
    send_login_rsp(c, pdu->seq_num, 0, t->id);
    log_info("task %s: user %u logged in as %s from %s", t->id, (unsigned)q->user_id,
             role_name(role), c->peer);
    tt_pb_free(q);
    if (t->mode == FS_ONLINE && t->conn[FS_SRC] && t->conn[FS_DST])
        send_state(t->conn[FS_DST], IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_PEER_READY,
                   t->id, t->from);
    else if (role == FS_UPLOAD) {
        if (t->size == 0)
            upload_done(fs, t);
        else
            ask_block(fs, t);
    } else if (role == FS_DOWNLOAD && t->size == 0) {
        send_state(c, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, t->id, t->from);
        t->last_sent = 1;
        tt_conn_close_after_flush(c, "download complete");
    }
}

static void online_pull(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu,
                        const IM__File__IMFilePullDataReq *q)
{
    fs_task_t *t = cl->task;
    if (cl->role != FS_RECVER || q->user_id != t->to) {
        tt_conn_close(c, "pull from user %u as %s", (unsigned)q->user_id, role_name(cl->role));
        return;
    }
    if (!q->data_size || q->data_size > fs->max_block ||
        (uint64_t)q->offset + q->data_size > t->size) {
        tt_conn_close(c, "pull of %u bytes at %u refused (file %u bytes, blocks up to %u)",
                      (unsigned)q->data_size, (unsigned)q->offset, (unsigned)t->size,
                      (unsigned)fs->max_block);
        return;
    }
    if (!t->conn[FS_SRC]) {
        tt_conn_close(c, "pull before the sender logged in");
        return;
    }
    if (t->pulling || !budget_take(fs, t, q->data_size)) {
        c->hold_frame = 1; /* read again once the block before it (or budget) is there */
        tt_conn_pause(c);
        cl->held = 1;
        return;
    }
    cl->held = 0;
    t->pulling = 1;
    t->pull_off = q->offset;
    t->pull_len = q->data_size;
    t->pull_seq = pdu->seq_num;
    t->pull_at = tt_loop_now(fs->d.loop);
    tt_pdu_send_raw(t->conn[FS_SRC], pdu->service_id, pdu->command_id, pdu->seq_num, pdu->body,
                    pdu->body_len);
}

static void download_pull(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu,
                          const IM__File__IMFilePullDataReq *q)
{
    fs_task_t *t = cl->task;
    if (cl->role != FS_DOWNLOAD || q->user_id != t->to) {
        tt_conn_close(c, "pull from user %u as %s", (unsigned)q->user_id, role_name(cl->role));
        return;
    }
    if (q->offset != t->done || t->done >= t->size) {
        tt_conn_close(c, "pull at %u out of order (next byte %llu of %u)", (unsigned)q->offset,
                      (unsigned long long)t->done, (unsigned)t->size);
        return;
    }
    uint32_t len = t->size - (uint32_t)t->done;
    if (len > FS_SEGMENT)
        len = FS_SEGMENT;
    ssize_t got = pread(t->fd, fs->block, len, (off_t)(FS_HEADER_LEN + t->done));
    IM__File__IMFilePullDataRsp r = IM__FILE__IMFILE_PULL_DATA_RSP__INIT;
    r.task_id = t->id;
    r.user_id = q->user_id;
    r.offset = q->offset;
    if (got != (ssize_t)len) {
        log_error("task %s: cannot read the stored file at %llu", t->id,
                  (unsigned long long)t->done);
        r.result_code = 1;
        tt_pdu_send(c, SID_FILE, FILE_CID(PULL_DATA_RSP), pdu->seq_num, &r.base);
        tt_conn_close_after_flush(c, "stored file unreadable");
        return;
    }
    r.file_data = (ProtobufCBinaryData){len, fs->block};
    tt_pdu_send(c, SID_FILE, FILE_CID(PULL_DATA_RSP), pdu->seq_num, &r.base);
    t->done += len;
    fs->bytes_served += len;
    t->active_ms = tt_loop_now(fs->d.loop);
    if (t->done == t->size) {
        send_state(c, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, t->id, t->from);
        t->last_sent = 1;
        tt_conn_close_after_flush(c, "download complete");
    }
}

static void pull_req(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu)
{
    IM__File__IMFilePullDataReq *q = (IM__File__IMFilePullDataReq *)tt_pb_unpack(
        &im__file__imfile_pull_data_req__descriptor, pdu->body, pdu->body_len);
    if (!q) {
        tt_conn_close(c, "IMFilePullDataReq does not parse");
        return;
    }
    if (strcmp(q->task_id, cl->task->id) != 0)
        tt_conn_close(c, "pull for another task");
    else if (cl->task->mode == FS_ONLINE)
        online_pull(fs, cl, c, pdu, q);
    else
        download_pull(fs, cl, c, pdu, q);
    tt_pb_free(q);
}

static void pull_rsp(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu)
{
    fs_task_t *t = cl->task;
    pull_rsp_t r;
    if (parse_pull_rsp(pdu, &r) < 0) {
        tt_conn_close(c, "IMFilePullDataRsp does not parse");
        return;
    }
    if (cl->role != FS_SENDER && cl->role != FS_UPLOAD) {
        tt_conn_close(c, "block from the %s", role_name(cl->role));
        return;
    }
    if (!same_id(t, r.id, r.id_len) || !t->pulling || r.offset != t->pull_off ||
        r.data_len > t->pull_len || (cl->role == FS_UPLOAD && r.data_len == 0)) {
        tt_conn_close(c, "block not asked for (%zu bytes at %u; asked %s%u at %u)", r.data_len,
                      (unsigned)r.offset, t->pulling ? "" : "none, last ", (unsigned)t->pull_len,
                      (unsigned)t->pull_off);
        return;
    }
    if (r.result != 0) {
        fs_task_end(fs, t, "the sender could not read its file");
        return;
    }
    t->pulling = 0;
    t->active_ms = tt_loop_now(fs->d.loop);
    if (t->mode == FS_ONLINE) {
        tt_conn_t *dst = t->conn[FS_DST];
        if (dst)
            tt_pdu_send_raw(dst, pdu->service_id, pdu->command_id, t->pull_seq, pdu->body,
                            pdu->body_len);
        fs->bytes_relayed += r.data_len;
        fs_client_t *dcl = dst ? dst->app : NULL;
        if (dcl && dcl->held) /* its next pull waited for this one */
            tt_conn_resume(dst);
        fs_budget_release(fs, t);
        return;
    }
    char err[256];
    if (fs_store_write(fs, t, r.data, r.data_len, err, sizeof(err)) < 0) {
        log_error("task %s: %s", t->id, err);
        fs_task_end(fs, t, "could not store the file");
        return;
    }
    fs->bytes_stored += r.data_len;
    fs->inflight -= t->reserved;
    t->reserved = 0;
    if (t->done == t->size)
        upload_done(fs, t);
    else
        ask_block(fs, t);
    budget_wake(fs);
}

static void state(file_server_t *fs, fs_client_t *cl, tt_conn_t *c, const tt_pdu_t *pdu)
{
    IM__File__IMFileState *s = (IM__File__IMFileState *)tt_pb_unpack(
        &im__file__imfile_state__descriptor, pdu->body, pdu->body_len);
    fs_task_t *t = cl->task;
    if (!s || strcmp(s->task_id, t->id) != 0 || s->state < 1 || s->state > 3) {
        tt_conn_close(c, "bad IMFileState");
        tt_pb_free(s);
        return;
    }
    static const char *names[] = {"ready", "cancel", "refuse", "done"};
    char why[64];
    snprintf(why, sizeof(why), "%s from the %s", names[s->state], role_name(cl->role));
    tt_conn_t *other = t->conn[1 - side_of(cl->role)];
    if (other) /* to the other party, as it came */
        tt_pdu_send_raw(other, pdu->service_id, pdu->command_id, pdu->seq_num, pdu->body,
                        pdu->body_len);
    if (cl->role == FS_DOWNLOAD &&
        ((s->state == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE &&
          t->done == t->size) ||
         s->state == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_REFUSE))
        t->delete_on_close = 1;
    tt_pb_free(s);
    fs_task_end(fs, t, why);
}

/* ---- connection life ---- */

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    file_server_t *fs = udata;
    fs_client_t *cl = calloc(1, sizeof(*cl));
    if (!cl) {
        tt_conn_close(c, "out of memory");
        return;
    }
    cl->fs = fs;
    cl->conn = c;
    cl->opened_ms = tt_loop_now(fs->d.loop);
    cl->next = all_clients;
    if (all_clients)
        all_clients->prev = cl;
    all_clients = cl;
    c->app = cl;
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    file_server_t *fs = udata;
    fs_client_t *cl = c->app;
    if (!cl)
        return;
    if (pdu->command_id == FILE_CID(LOGIN_REQ)) {
        if (cl->role)
            tt_conn_close(c, "second IMFileLoginReq");
        else
            login(fs, cl, c, pdu);
        return;
    }
    if (!cl->task) {
        if (!cl->role)
            tt_conn_close(c, "command 0x%04x before IMFileLoginReq", pdu->command_id);
        return; /* its task ended: the connection is closing */
    }
    switch (pdu->command_id) {
    case FILE_CID(PULL_DATA_REQ): pull_req(fs, cl, c, pdu); break;
    case FILE_CID(PULL_DATA_RSP): pull_rsp(fs, cl, c, pdu); break;
    case FILE_CID(STATE): state(fs, cl, c, pdu); break;
    default:
        log_info_rl("command 0x%04x from client %s not handled", pdu->command_id, c->peer);
    }
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    file_server_t *fs = udata;
    fs_client_t *cl = c->app;
    if (!cl)
        return;
    c->app = NULL;
    fs_task_t *t = cl->task;
    if (t) {
        t->conn[side_of(cl->role)] = NULL;
        /* everything written (the peer had it all) when the last block went out */
        if (cl->role == FS_DOWNLOAD && t->last_sent && tt_buf_len(&c->out) == 0)
            t->delete_on_close = 1;
        char why[200];
        snprintf(why, sizeof(why), "%s gone (%s)", role_name(cl->role), c->reason);
        fs_task_end(fs, t, why);
    }
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        all_clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    free(cl);
}

const tt_server_handler_t fs_client_handler = {on_open, on_pdu, on_close, NULL};

/* ---- timeouts (every second) ---- */

typedef struct tick_s {
    uint64_t now, block_ms, task_ms;
} tick_t;

static int overdue(const fs_task_t *t, void *arg)
{
    const tick_t *k = arg;
    return (t->pulling && k->now - t->pull_at > k->block_ms) || k->now - t->active_ms > k->task_ms;
}

void fs_clients_tick(file_server_t *fs)
{
    tick_t k = {tt_loop_now(fs->d.loop), fs->block_timeout_ms, fs->task_timeout_ms};
    fs_task_t *batch[128];
    size_t n;
    while ((n = fs_table_select(&fs->tasks, overdue, &k, batch, 128)) > 0) {
        for (size_t i = 0; i < n; i++) {
            fs_task_t *t = batch[i];
            char why[160];
            if (t->pulling && k.now - t->pull_at > k.block_ms) {
                fs->peers_cut++;
                snprintf(why, sizeof(why), "the %s did not send the block asked %llu ms ago",
                         t->mode == FS_ONLINE ? "sender" : "uploader",
                         (unsigned long long)(k.now - t->pull_at));
            } else {
                fs->tasks_expired++;
                snprintf(why, sizeof(why), "expired (no progress for %llu s)",
                         (unsigned long long)(k.now - t->active_ms) / 1000);
            }
            log_notice("task %s: %s", t->id, why);
            fs_task_end(fs, t, why);
        }
    }
    for (fs_client_t *cl = all_clients; cl; cl = cl->next)
        if (!cl->role && tt_conn_is_open(cl->conn) && k.now - cl->opened_ms > fs->login_timeout_ms)
            tt_conn_close(cl->conn, "no IMFileLoginReq within %llu ms",
                          (unsigned long long)fs->login_timeout_ms);
}

void fs_clients_free(void)
{
    while (all_clients) {
        fs_client_t *cl = all_clients;
        all_clients = cl->next;
        if (cl->conn)
            cl->conn->app = NULL;
        free(cl);
    }
}
