/* td_file: the SQL of offline files (IMTransmitFile, sql/schema.sql): the pending files of a
 * receiver, a new one registered by its uploader, one deleted by its receiver. Functions
 * return 0 (or a count) and -1 on a database error, whose text is td_conn_error(c). */
#ifndef TD_FILE_H
#define TD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "td_mysql.h"

#define TD_FILE_TASK_MAX 128 /* bytes of a task id (IMTransmitFile.taskId) */
#define TD_FILE_NAME_MAX 512 /* bytes of a file name kept (the header field of file_server) */

typedef struct td_offline_file_s {
    uint32_t from_id;                     /* uploader */
    uint32_t size;                        /* bytes */
    char task_id[TD_FILE_TASK_MAX + 1];   /* file_server task */
    char file_name[TD_FILE_NAME_MAX + 1]; /* as the uploader named it */
} td_offline_file_t;

/* The pending files of receiver to_id, oldest first, at most max in out[]: their count. */
int td_file_list(td_conn_t *c, uint32_t to_id, td_offline_file_t *out, size_t max);
/* Registers a pending file unless one with the same task id exists or the receiver already
 * has max_pending pending ones: *added 1 when a row was inserted, 0 when not. */
int td_file_add(td_conn_t *c, uint32_t from_id, uint32_t to_id, const char *task_id,
                const char *name, uint32_t size, uint32_t now, uint32_t max_pending, int *added);
/* Deletes the row (from_id, to_id, task_id): *deleted rows gone. */
int td_file_del(td_conn_t *c, uint32_t from_id, uint32_t to_id, const char *task_id,
                uint64_t *deleted);

#endif
