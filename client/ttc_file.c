/* File transfer as the Windows client does it (CLIENTS §6, PROTOCOL §9.6): the requests to
 * msg_server (a transfer, the offline list, registering and deleting an offline file) and a
 * session with file_server (log in to a task with a role, then serve the pulls of the other
 * side, or pull the file block after block). Every file_server PDU is sent with seq 0, as the
 * Windows client sends them. Every wait is bounded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.File.pb-c.h"
#include "tt_client.h"
#include "ttc_internal.h"

#define SID_FILE IM__BASE_DEFINE__SERVICE_ID__SID_FILE
#define FCMD(x) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##x
#define FILE_HEARTBEAT_MS 5000   /* the Windows client's heartbeat on a file connection */
#define FILE_MAX_PULL (1u << 20) /* largest block served to one pull */

static void set_err(char *err, size_t errlen, const char *fmt, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, what);
}

IM__File__IMFileRsp *ttc_file_request(ttc_t *c, uint32_t to, const char *name, uint32_t size,
                                      uint32_t mode, int timeout_ms, char *err, size_t errlen)
{
    IM__File__IMFileReq req = IM__FILE__IMFILE_REQ__INIT;
    req.from_user_id = c ? ttc_user_id(c) : 0;
    req.to_user_id = to;
    req.file_name = (char *)name;
    req.file_size = size;
    req.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    return ttc_call(c, SID_FILE, FCMD(REQUEST), &req.base, FCMD(RESPONSE),
                    &im__file__imfile_rsp__descriptor, timeout_ms, err, errlen);
}

IM__File__IMFileHasOfflineRsp *ttc_file_offline_list(ttc_t *c, int timeout_ms, char *err,
                                                     size_t errlen)
{
    IM__File__IMFileHasOfflineReq req = IM__FILE__IMFILE_HAS_OFFLINE_REQ__INIT;
    req.user_id = c ? ttc_user_id(c) : 0;
    return ttc_call(c, SID_FILE, FCMD(HAS_OFFLINE_REQ), &req.base, FCMD(HAS_OFFLINE_RES),
                    &im__file__imfile_has_offline_rsp__descriptor, timeout_ms, err, errlen);
}

int ttc_file_add_offline(ttc_t *c, uint32_t from, uint32_t to, const char *task,
                         const char *name, uint32_t size)
{
    IM__File__IMFileAddOfflineReq req = IM__FILE__IMFILE_ADD_OFFLINE_REQ__INIT;
    req.from_user_id = from;
    req.to_user_id = to;
    req.task_id = (char *)task;
    req.file_name = (char *)name;
    req.file_size = size;
    return ttc_send(c, SID_FILE, FCMD(ADD_OFFLINE_REQ), &req.base, NULL);
}

int ttc_file_del_offline(ttc_t *c, uint32_t from, uint32_t to, const char *task)
{
    IM__File__IMFileDelOfflineReq req = IM__FILE__IMFILE_DEL_OFFLINE_REQ__INIT;
    req.from_user_id = from;
    req.to_user_id = to;
    req.task_id = (char *)task;
    return ttc_send(c, SID_FILE, FCMD(DEL_OFFLINE_REQ), &req.base, NULL);
}

ttc_t *ttc_file_login(const char *host, uint16_t port, uint32_t user_id, const char *task,
                      uint32_t role, int timeout_ms, char *err, size_t errlen)
{
    ttc_t *f = ttc_connect(host, port, timeout_ms, err, errlen);
    if (!f)
        return NULL;
    IM__File__IMFileLoginReq req = IM__FILE__IMFILE_LOGIN_REQ__INIT;
    req.user_id = user_id;
    req.task_id = (char *)task;
    req.file_role = (IM__BaseDefine__ClientFileRole)role;
    ttc_pdu_t *p = NULL;
    if (ttc_send_seq(f, SID_FILE, FCMD(LOGIN_REQ), 0, &req.base) != 0 ||
        ttc_wait(f, FCMD(LOGIN_RES), timeout_ms, &p) != 0) {
        set_err(err, errlen, "no file_server login answer: %s", ttc_error(f));
        ttc_close(f);
        return NULL;
    }
    IM__File__IMFileLoginRsp *r = (IM__File__IMFileLoginRsp *)tt_pb_unpack(
        &im__file__imfile_login_rsp__descriptor, p->body, p->body_len);
    ttc_pdu_free(p);
    if (!r || r->result_code != 0) {
        set_err(err, errlen, "file_server refused the login to task %s", task);
        tt_pb_free(r);
        ttc_close(f);
        return NULL;
    }
    tt_pb_free(r);
    return f;
}

/* The next frame from file_server other than heartbeats, sending ours every 5 s; waits at
 * most idle_ms in total. 0 with *p, -1 closed, -2 nothing in time. */
static int next_frame(ttc_t *f, int idle_ms, ttc_pdu_t **p)
{
    int waited = 0;
    for (;;) {
        int slice = idle_ms - waited < FILE_HEARTBEAT_MS ? idle_ms - waited : FILE_HEARTBEAT_MS;
        int rc = ttc_wait(f, 0, slice, p);
        if (rc != TTC_TIMEOUT)
            return rc;
        waited += slice;
        if (waited >= idle_ms)
            return TTC_TIMEOUT;
        if (ttc_heartbeat(f) != 0)
            return TTC_ERR;
    }
}

static int send_state(ttc_t *f, uint32_t state, const char *task, uint32_t user_id)
{
    IM__File__IMFileState s = IM__FILE__IMFILE_STATE__INIT;
    s.state = (IM__BaseDefine__ClientFileState)state;
    s.task_id = (char *)task;
    s.user_id = user_id;
    return ttc_send_seq(f, SID_FILE, FCMD(STATE), 0, &s.base);
}

/* The state in a CID_FILE_STATE PDU, -1 when it does not parse. */
static int state_of(const ttc_pdu_t *p)
{
    IM__File__IMFileState *s = (IM__File__IMFileState *)tt_pb_unpack(
        &im__file__imfile_state__descriptor, p->body, p->body_len);
    int v = s ? (int)s->state : -1;
    tt_pb_free(s);
    return v;
}

int ttc_file_serve(ttc_t *f, uint32_t user_id, const char *task, int fd, uint32_t size,
                   int idle_ms, uint64_t *served, char *err, size_t errlen)
{
    uint8_t *buf = malloc(FILE_MAX_PULL);
    if (!buf) {
        set_err(err, errlen, "%s", "out of memory");
        return TTC_ERR;
    }
    if (served)
        *served = 0;
    int result = TTC_ERR;
    for (;;) {
        ttc_pdu_t *p = NULL;
        int rc = next_frame(f, idle_ms, &p);
        if (rc != 0) {
            set_err(err, errlen, "%s", rc == TTC_TIMEOUT ? "file_server silent too long"
                                                         : "file_server closed the connection");
            result = rc;
            break;
        }
        if (p->command_id == FCMD(STATE)) {
            int st = state_of(p);
            ttc_pdu_free(p);
            if (st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE) {
                result = 0;
                break;
            }
            if (st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL ||
                st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_REFUSE) {
                set_err(err, errlen, "the other side %s",
                        st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL
                            ? "cancelled"
                            : "refused the file");
                break;
            }
            continue; /* PEER_READY */
        }
        if (p->command_id != FCMD(PULL_DATA_REQ)) {
            ttc_pdu_free(p);
            continue;
        }
        IM__File__IMFilePullDataReq *q = (IM__File__IMFilePullDataReq *)tt_pb_unpack(
            &im__file__imfile_pull_data_req__descriptor, p->body, p->body_len);
        ttc_pdu_free(p);
        if (!q) {
            set_err(err, errlen, "%s", "a pull request does not parse");
            break;
        }
        uint32_t want = q->data_size > FILE_MAX_PULL ? FILE_MAX_PULL : q->data_size;
        /* exactly the size asked, zero past the end of the file (as Windows) */
        memset(buf, 0, want);
        ssize_t got = q->offset < size ? pread(fd, buf, want, q->offset) : 0;
        IM__File__IMFilePullDataRsp r = IM__FILE__IMFILE_PULL_DATA_RSP__INIT;
        r.result_code = got < 0 ? 1 : 0;
        r.task_id = (char *)task;
        r.user_id = user_id;
        r.offset = q->offset;
        r.file_data.data = buf;
        r.file_data.len = want;
        tt_pb_free(q);
        if (ttc_send_seq(f, SID_FILE, FCMD(PULL_DATA_RSP), 0, &r.base) != 0) {
            set_err(err, errlen, "%s", "cannot send a block");
            break;
        }
        if (served && got > 0)
            *served += (uint64_t)got;
    }
    free(buf);
    return result;
}

int ttc_file_fetch(ttc_t *f, uint32_t user_id, const char *task, uint32_t mode, int fd,
                   uint32_t size, uint32_t block, int idle_ms, char *err, size_t errlen)
{
    uint32_t offset = 0;
    if (block == 0 || block > FILE_MAX_PULL)
        block = TTC_FILE_BLOCK;
    /* Online, a pull before the sender is there ends the task: wait until file_server says
     * both are in (a person accepting in the Windows client is that slow anyway). */
    while (mode == IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE) {
        ttc_pdu_t *p = NULL;
        int rc = next_frame(f, idle_ms, &p);
        if (rc != 0) {
            set_err(err, errlen, "%s", rc == TTC_TIMEOUT ? "the sender did not come in time"
                                                         : "file_server closed the connection");
            return rc;
        }
        int st = p->command_id == FCMD(STATE) ? state_of(p) : -1;
        ttc_pdu_free(p);
        if (st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_PEER_READY)
            break;
        if (st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL) {
            set_err(err, errlen, "%s", "the sender cancelled");
            return TTC_ERR;
        }
    }
    while (offset < size) {
        IM__File__IMFilePullDataReq q = IM__FILE__IMFILE_PULL_DATA_REQ__INIT;
        q.task_id = (char *)task;
        q.user_id = user_id;
        q.trans_mode = (IM__BaseDefine__TransferFileType)mode;
        q.offset = offset;
        q.data_size = size - offset < block ? size - offset : block;
        if (ttc_send_seq(f, SID_FILE, FCMD(PULL_DATA_REQ), 0, &q.base) != 0) {
            set_err(err, errlen, "%s", "cannot send a pull request");
            return TTC_ERR;
        }
        IM__File__IMFilePullDataRsp *r = NULL;
        while (!r) {
            ttc_pdu_t *p = NULL;
            int rc = next_frame(f, idle_ms, &p);
            if (rc != 0) {
                set_err(err, errlen, "%s", rc == TTC_TIMEOUT ? "no block in time"
                                                             : "file_server closed the connection");
                return rc;
            }
            if (p->command_id == FCMD(STATE)) {
                int st = state_of(p);
                ttc_pdu_free(p);
                if (st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL ||
                    st == IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_REFUSE) {
                    set_err(err, errlen, "%s", "the sender cancelled");
                    return TTC_ERR;
                }
                continue;
            }
            if (p->command_id == FCMD(PULL_DATA_RSP))
                r = (IM__File__IMFilePullDataRsp *)tt_pb_unpack(
                    &im__file__imfile_pull_data_rsp__descriptor, p->body, p->body_len);
            int bad = p->command_id == FCMD(PULL_DATA_RSP) && !r;
            ttc_pdu_free(p);
            if (bad) {
                set_err(err, errlen, "%s", "a block does not parse");
                return TTC_ERR;
            }
        }
        size_t len = r->file_data.len;
        if (len > size - offset)
            len = size - offset; /* an online sender pads the last block */
        int ok = r->result_code == 0 && r->offset == offset && len > 0 &&
                 pwrite(fd, r->file_data.data, len, offset) == (ssize_t)len;
        tt_pb_free(r);
        if (!ok) {
            if (err && errlen)
                snprintf(err, errlen, "the block at offset %u was refused, empty or not written",
                         offset);
            return TTC_ERR;
        }
        offset += (uint32_t)len;
    }
    if (mode == IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE)
        send_state(f, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, task, user_id);
    return 0;
}

int ttc_file_cancel(ttc_t *f, const char *task, uint32_t user_id)
{
    return send_state(f, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL, task, user_id);
}
