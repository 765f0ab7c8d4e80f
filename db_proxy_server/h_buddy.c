/* The company: all users (full and incremental), users by id, departments (incremental), and a
 * user's own avatar and signature. Reads go to teamtalk_slave, writes to teamtalk_master; every
 * change sets IMUser.updated so that other clients' incremental sync picks it up (there is no
 * "last user change" gate: admin changes are seen at the next sync). */
#include <stdlib.h>
#include <string.h>

#include "IM.Buddy.pb-c.h"
#include "db_proxy.h"
#include "tt_log.h"

#define AVATAR_MAX 255 /* bytes: IMUser.avatar is varchar(255) */
#define SIGN_MAX 128   /* bytes (the original's limit) */

/* UserInfo messages for a list of rows (strings point into the rows). */
typedef struct user_infos_s {
    IM__BaseDefine__UserInfo *items; /* one per row */
    IM__BaseDefine__UserInfo **ptrs; /* what the message points to */
} user_infos_t;

static int user_infos(user_infos_t *ui, const td_user_list_t *l, size_t n)
{
    ui->items = calloc(n ? n : 1, sizeof(*ui->items));
    ui->ptrs = calloc(n ? n : 1, sizeof(*ui->ptrs));
    if (!ui->items || !ui->ptrs) {
        free(ui->items);
        free(ui->ptrs);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        dbp_user_info(&ui->items[i], l->v[i]);
        ui->ptrs[i] = &ui->items[i];
    }
    return 0;
}

static void user_infos_free(user_infos_t *ui)
{
    free(ui->items);
    free(ui->ptrs);
}

/* ---- CID_BUDDY_LIST_ALL_USER_REQUEST ---- */

static void all_users_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMAllUserReq *req = (const IM__Buddy__IMAllUserReq *)m;
    IM__Buddy__IMAllUserRsp rsp = IM__BUDDY__IMALL_USER_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.latest_update_time = req->latest_update_time; /* the client simply asks again later */
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static int all_users_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMAllUserReq *req = (const IM__Buddy__IMAllUserReq *)m;
    td_user_list_t users = {0};
    td_conn_t *c = dbp_db(x, 0);
    if (!c)
        return -1;
    int rc = td_users_changed(c, req->latest_update_time, &users);
    if (rc < 0)
        dbp_db_failed(x, c, "user list");
    dbp_db_put(x, c, 0);
    user_infos_t ui;
    if (rc < 0 || user_infos(&ui, &users, users.n) < 0) {
        td_user_list_free(&users);
        return -1;
    }
    IM__Buddy__IMAllUserRsp rsp = IM__BUDDY__IMALL_USER_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.latest_update_time = req->latest_update_time;
    if (users.n) {
        uint32_t latest = 0;
        for (size_t i = 0; i < users.n; i++)
            if (users.v[i]->updated > latest)
                latest = users.v[i]->updated;
        rsp.latest_update_time = latest;
    }
    rsp.n_user_list = users.n;
    rsp.user_list = ui.ptrs;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    log_debug("all users since %u for user %u: %zu", (unsigned)req->latest_update_time,
              (unsigned)req->user_id, users.n);
    rc = dbp_answer(x, &rsp.base);
    user_infos_free(&ui);
    td_user_list_free(&users);
    return rc;
}

/* ---- CID_BUDDY_LIST_USER_INFO_REQUEST ---- */

static void users_info_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMUsersInfoReq *req = (const IM__Buddy__IMUsersInfoReq *)m;
    IM__Buddy__IMUsersInfoRsp rsp = IM__BUDDY__IMUSERS_INFO_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

/* At most DBP_MAX_USER_IDS ids are looked up; ids beyond are ignored (a client asks for the
 * profiles it is missing, a few at a time; a longer list is not a real client). */
static int users_info_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMUsersInfoReq *req = (const IM__Buddy__IMUsersInfoReq *)m;
    size_t n = req->n_user_id_list;
    if (n > DBP_MAX_USER_IDS) {
        log_info("IMUsersInfoReq from %s for %zu users: only the first %d answered", x->peer,
                 n, DBP_MAX_USER_IDS);
        n = DBP_MAX_USER_IDS;
    }
    td_user_list_t users = {0};
    int rc = 0;
    if (n > 0) {
        td_conn_t *c = dbp_db(x, 0);
        if (!c)
            return -1;
        rc = td_users_by_ids(c, req->user_id_list, n, &users);
        if (rc < 0)
            dbp_db_failed(x, c, "users by id");
        dbp_db_put(x, c, 0);
    }
    user_infos_t ui;
    if (rc < 0 || user_infos(&ui, &users, users.n) < 0) {
        td_user_list_free(&users);
        return -1;
    }
    IM__Buddy__IMUsersInfoRsp rsp = IM__BUDDY__IMUSERS_INFO_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.n_user_info_list = users.n;
    rsp.user_info_list = ui.ptrs;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    rc = dbp_answer(x, &rsp.base);
    user_infos_free(&ui);
    td_user_list_free(&users);
    return rc;
}

/* ---- CID_BUDDY_LIST_DEPARTMENT_REQUEST ---- */

static void depts_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMDepartmentReq *req = (const IM__Buddy__IMDepartmentReq *)m;
    IM__Buddy__IMDepartmentRsp rsp = IM__BUDDY__IMDEPARTMENT_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.latest_update_time = req->latest_update_time;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static int depts_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMDepartmentReq *req = (const IM__Buddy__IMDepartmentReq *)m;
    td_dept_list_t depts = {0};
    td_conn_t *c = dbp_db(x, 0);
    if (!c)
        return -1;
    int rc = td_depts_changed(c, req->latest_update_time, &depts);
    if (rc < 0)
        dbp_db_failed(x, c, "department list");
    dbp_db_put(x, c, 0);
    IM__BaseDefine__DepartInfo *items = calloc(depts.n ? depts.n : 1, sizeof(*items));
    IM__BaseDefine__DepartInfo **ptrs = calloc(depts.n ? depts.n : 1, sizeof(*ptrs));
    if (rc < 0 || !items || !ptrs) {
        free(items);
        free(ptrs);
        td_dept_list_free(&depts);
        return -1;
    }
    uint32_t latest = req->latest_update_time;
    size_t k = 0;
    for (size_t i = 0; i < depts.n; i++) {
        const td_dept_t *d = depts.v[i];
        if (d->updated > latest)
            latest = d->updated; /* skipped rows count too, or they would come back forever */
        if (d->status != IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_OK &&
            d->status != IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_DELETE)
            continue; /* not a value clients know */
        im__base_define__depart_info__init(&items[k]);
        items[k].dept_id = d->id;
        items[k].priority = d->priority;
        items[k].dept_name = d->name;
        items[k].parent_dept_id = d->parent_id;
        items[k].dept_status = (IM__BaseDefine__DepartmentStatusType)d->status;
        ptrs[k] = &items[k];
        k++;
    }
    IM__Buddy__IMDepartmentRsp rsp = IM__BUDDY__IMDEPARTMENT_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.latest_update_time = latest;
    rsp.n_dept_list = k;
    rsp.dept_list = ptrs;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    rc = dbp_answer(x, &rsp.base);
    free(items);
    free(ptrs);
    td_dept_list_free(&depts);
    return rc;
}

/* ---- CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST ---- */

static void avatar_answer(dbp_ctx_t *x, const IM__Buddy__IMChangeAvatarReq *req, uint32_t code)
{
    IM__Buddy__IMChangeAvatarRsp rsp = IM__BUDDY__IMCHANGE_AVATAR_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void avatar_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    avatar_answer(x, (const IM__Buddy__IMChangeAvatarReq *)m, 1);
}

static int avatar_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMChangeAvatarReq *req = (const IM__Buddy__IMChangeAvatarReq *)m;
    size_t len = strlen(req->avatar_url);
    if (len > AVATAR_MAX || !dbp_utf8_valid(req->avatar_url, len) || req->user_id == 0) {
        log_info("avatar of user %u refused: %zu bytes", (unsigned)req->user_id, len);
        avatar_answer(x, req, 1);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    uint64_t matched = 0;
    int rc = td_user_set_avatar(c, req->user_id, req->avatar_url, &matched);
    if (rc < 0)
        dbp_db_failed(x, c, "avatar update");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    avatar_answer(x, req, matched ? 0 : 1);
    return 0;
}

/* ---- CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST ---- */

static void sign_answer(dbp_ctx_t *x, const IM__Buddy__IMChangeSignInfoReq *req, uint32_t code)
{
    IM__Buddy__IMChangeSignInfoRsp rsp = IM__BUDDY__IMCHANGE_SIGN_INFO_RSP__INIT;
    rsp.user_id = req->user_id;
    rsp.result_code = code;
    rsp.sign_info = req->sign_info; /* msg_server tells everybody on success */
    rsp.has_attach_data = req->has_attach_data;
    rsp.attach_data = req->attach_data;
    dbp_answer(x, &rsp.base);
}

static void sign_fail(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    sign_answer(x, (const IM__Buddy__IMChangeSignInfoReq *)m, 1);
}

static int sign_run(dbp_ctx_t *x, const ProtobufCMessage *m)
{
    const IM__Buddy__IMChangeSignInfoReq *req = (const IM__Buddy__IMChangeSignInfoReq *)m;
    size_t len = strlen(req->sign_info);
    if (len > SIGN_MAX || !dbp_utf8_valid(req->sign_info, len) || req->user_id == 0) {
        log_info("signature of user %u refused: %zu bytes", (unsigned)req->user_id, len);
        sign_answer(x, req, 1);
        return 0;
    }
    td_conn_t *c = dbp_db(x, 1);
    if (!c)
        return -1;
    uint64_t matched = 0;
    int rc = td_user_set_sign(c, req->user_id, req->sign_info, &matched);
    if (rc < 0)
        dbp_db_failed(x, c, "signature update");
    dbp_db_put(x, c, 1);
    if (rc < 0)
        return -1;
    sign_answer(x, req, matched ? 0 : 1);
    return 0;
}

#define BUDDY(cmd) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##cmd

const dbp_cmd_t dbp_buddy_cmds[] = {
    {BUDDY(ALL_USER_REQUEST), "IMAllUserReq", &im__buddy__imall_user_req__descriptor,
     DBP_SID_BUDDY, BUDDY(ALL_USER_RESPONSE), all_users_run, all_users_fail, NULL},
    {BUDDY(USER_INFO_REQUEST), "IMUsersInfoReq", &im__buddy__imusers_info_req__descriptor,
     DBP_SID_BUDDY, BUDDY(USER_INFO_RESPONSE), users_info_run, users_info_fail, NULL},
    {BUDDY(DEPARTMENT_REQUEST), "IMDepartmentReq", &im__buddy__imdepartment_req__descriptor,
     DBP_SID_BUDDY, BUDDY(DEPARTMENT_RESPONSE), depts_run, depts_fail, NULL},
    {BUDDY(CHANGE_AVATAR_REQUEST), "IMChangeAvatarReq",
     &im__buddy__imchange_avatar_req__descriptor, DBP_SID_BUDDY, BUDDY(CHANGE_AVATAR_RESPONSE),
     avatar_run, avatar_fail, NULL},
    {BUDDY(CHANGE_SIGN_INFO_REQUEST), "IMChangeSignInfoReq",
     &im__buddy__imchange_sign_info_req__descriptor, DBP_SID_BUDDY,
     BUDDY(CHANGE_SIGN_INFO_RESPONSE), sign_run, sign_fail, NULL},
};
const size_t dbp_buddy_ncmds = sizeof(dbp_buddy_cmds) / sizeof(dbp_buddy_cmds[0]);
