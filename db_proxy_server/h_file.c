/* Offline files (IMTransmitFile): the list of a receiver's pending files, a file registered
 * by its uploader once file_server has it all, and a file deleted by its receiver. msg_server
 * stamps the session's user into every request (the uploader of an add, the receiver of a
 * list and of a delete), so a request here acts for the user who sent it. Adds and deletes
 * have no answer (as in the original); a receiver has at most DBP_FILE_MAX_PENDING pending
 * files, a further one is not registered. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.File.pb-c.h"
#include "db_proxy.h"
#include "td_file.h"
#include "tt_log.h"

#define DBP_FILE_MAX_PENDING 100 /* pending files of one receiver, and files listed */

#define SID_FILE IM__BASE_DEFINE__SERVICE_ID__SID_FILE
#define FCMD(cmd) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##cmd

/* A task id or file name as stored: not empty (the name may be), within its column, valid
 * UTF-8, no control characters. */
static int text_ok(const char *s, size_t max, int may_be_empty)
{
    size_t n = strlen(s);
    if ((n == 0 && !may_be_empty) || n > max || !dbp_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* ---- CID_FILE_HAS_OFFLINE_REQ ---- */

static void list_answer(dbp_ctx_t *x, const IM__File__IMFileHasOfflineReq *req,
                        const td_offline_file_t *rows, size_t n)
{
    IM__BaseDefine__OfflineFileInfo info[DBP_FILE_MAX_PENDING];
    IM__BaseDefine__OfflineFileInfo *list[DBP_FILE_MAX_PENDING];
    for (size_t i = 0; i < n; i++) {
        im__base_define__offline_file_info__init(&info[i]);
        info[i].from_user_id = rows[i].from_id;
        info[i].task_id = (char *)rows[i].task_id;
        info[i].file_name = (char *)rows[i].file_name;
        info[i].file_size = rows[i].size;
        list[i] = &info[i];
    }
    IM__File__IMFileHasOfflineRsp rsp = IM__FILE__IMFILE_HAS_OFFLINE_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.n_offline_file_list = n;
    rsp.offline_file_list = list;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void list_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    list_answer(x, (const IM__File__IMFileHasOfflineReq *)m, NULL, 0);
}

static int list_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__File__IMFileHasOfflineReq *req = (const IM__File__IMFileHasOfflineReq *)m;
    td_offline_file_t *rows = calloc(DBP_FILE_MAX_PENDING, sizeof(*rows));
    if (!rows)
        return -1;
    td_conn_t *c = dbp_db(x, 0);
    int n = -1;
    if (c) {
        n = td_file_list(c, req->user_id, rows, DBP_FILE_MAX_PENDING);
        if (n < 0)
            dbp_db_failed(x, c, "offline file list");
        dbp_db_put(x, c, 0);
    }
    if (n >= 0)
        list_answer(x, req, rows, (size_t)n);
    free(rows);
    return n < 0 ? -1 : 0;
}

/* ---- CID_FILE_ADD_OFFLINE_REQ (no answer) ---- */

static void no_answer(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    (void)x;
    (void)m;
}

static int add_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__File__IMFileAddOfflineReq *req = (const IM__File__IMFileAddOfflineReq *)m;
    if (req->from_user_id == 0 || req->to_user_id == 0 || !text_ok(req->task_id, TD_FILE_TASK_MAX, 0) ||
        !text_ok(req->file_name, TD_FILE_NAME_MAX, 1)) {
        log_info_rl("offline file from user %u to %u refused: bad ids, task id or name",
                    req->from_user_id, req->to_user_id);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return 0; /* nothing to answer either way */
    int added = 0;
    if (td_file_add(c, req->from_user_id, req->to_user_id, req->task_id, req->file_name,
                    req->file_size, (uint32_t)time(NULL), DBP_FILE_MAX_PENDING, &added) < 0)
        dbp_db_failed(x, c, "offline file add");
    else if (!added)
        log_info_rl("offline file %.40s from user %u to %u not registered: known task or %d "
                    "files pending",
                    req->task_id, req->from_user_id, req->to_user_id, DBP_FILE_MAX_PENDING);
    dbp_db_put(x, c, 1);
    return 0;
}

/* ---- CID_FILE_DEL_OFFLINE_REQ (no answer) ---- */

static int del_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__File__IMFileDelOfflineReq *req = (const IM__File__IMFileDelOfflineReq *)m;
    if (!text_ok(req->task_id, TD_FILE_TASK_MAX, 0))
        return 0;
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return 0;
    uint64_t n = 0;
    if (td_file_del(c, req->from_user_id, req->to_user_id, req->task_id, &n) < 0)
        dbp_db_failed(x, c, "offline file delete");
    dbp_db_put(x, c, 1);
    return 0;
}

const dbp_cmd_t dbp_file_cmds[] = {
    {FCMD(HAS_OFFLINE_REQ), "IMFileHasOfflineReq", &im__file__imfile_has_offline_req__descriptor,
     SID_FILE, FCMD(HAS_OFFLINE_RES), list_run, list_fail, NULL},
    /* no answer: run and fail leave the frame empty */
    {FCMD(ADD_OFFLINE_REQ), "IMFileAddOfflineReq", &im__file__imfile_add_offline_req__descriptor,
     SID_FILE, FCMD(ADD_OFFLINE_REQ), add_run, no_answer, NULL},
    {FCMD(DEL_OFFLINE_REQ), "IMFileDelOfflineReq", &im__file__imfile_del_offline_req__descriptor,
     SID_FILE, FCMD(DEL_OFFLINE_REQ), del_run, no_answer, NULL},
};
const size_t dbp_file_ncmds = sizeof(dbp_file_cmds) / sizeof(dbp_file_cmds[0]);
