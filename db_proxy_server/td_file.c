/* td_file (td_file.h): IMTransmitFile through prepared statements only. */
#include <string.h>

#include "td_file.h"

static const char SQL_LIST[] =
    "SELECT fromId, size, taskId, fileName FROM IMTransmitFile "
    "WHERE toId = ? AND status = 0 ORDER BY created, id LIMIT ?";
/* One statement, so that two registrations of one task or a flood to one receiver cannot
 * slip past the checks between a read and the insert (the derived tables make MariaDB read
 * IMTransmitFile before it writes it). */
static const char SQL_ADD[] =
    "INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated) "
    "SELECT ?, ?, ?, ?, ?, 0, ?, ? FROM DUAL "
    "WHERE NOT EXISTS (SELECT 1 FROM (SELECT id FROM IMTransmitFile WHERE taskId = ?) t) "
    "AND (SELECT n FROM (SELECT COUNT(*) AS n FROM IMTransmitFile WHERE toId = ? AND status = 0) "
    "p) < ?";
static const char SQL_DEL[] =
    "DELETE FROM IMTransmitFile WHERE fromId = ? AND toId = ? AND taskId = ?";

typedef struct list_ctx_s {
    td_offline_file_t *out;
    size_t max, n;
    td_offline_file_t row;
    td_col_t *cols;
} list_ctx_t;

static int list_row(void *arg)
{
    list_ctx_t *l = arg;
    /* a name longer than what is kept is cut (only a hand-made row can have one) */
    if (l->cols[2].truncated || l->n == l->max)
        return 0;
    l->out[l->n++] = l->row;
    return 0;
}

int td_file_list(td_conn_t *c, uint32_t to_id, td_offline_file_t *out, size_t max)
{
    list_ctx_t l = {.out = out, .max = max};
    memset(&l.row, 0, sizeof(l.row));
    td_col_t cols[] = {TD_COL_U32(&l.row.from_id), TD_COL_U32(&l.row.size),
                       TD_COL_STR(l.row.task_id), TD_COL_STR(l.row.file_name)};
    l.cols = cols;
    td_arg_t a[] = {TD_U32(to_id), TD_U32(max)};
    if (td_query(c, SQL_LIST, a, 2, cols, 4, list_row, &l) < 0)
        return -1;
    return (int)l.n;
}

int td_file_add(td_conn_t *c, uint32_t from_id, uint32_t to_id, const char *task_id,
                const char *name, uint32_t size, uint32_t now, uint32_t max_pending, int *added)
{
    td_arg_t a[] = {TD_U32(from_id), TD_U32(to_id),  TD_STR(name),    TD_U32(size),
                    TD_STR(task_id), TD_U32(now),    TD_U32(now),     TD_STR(task_id),
                    TD_U32(to_id),   TD_U32(max_pending)};
    uint64_t n = 0;
    if (td_exec(c, SQL_ADD, a, 10, &n, NULL) < 0)
        return -1;
    *added = n > 0;
    return 0;
}

int td_file_del(td_conn_t *c, uint32_t from_id, uint32_t to_id, const char *task_id,
                uint64_t *deleted)
{
    td_arg_t a[] = {TD_U32(from_id), TD_U32(to_id), TD_STR(task_id)};
    return td_exec(c, SQL_DEL, a, 3, deleted, NULL);
}
