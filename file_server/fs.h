/* file_server: shared types. A task is one file going from one user to another: created by a
 * msg_server (IMFileTransferReq), then joined by the two clients with their roles. Online
 * tasks relay the blocks the receiver pulls from the sender; offline tasks store the file on
 * disk (the original's layout: offline_file/<2 chars>/<task id>, a 960-byte header, the
 * bytes) and serve it to the receiver later. task.c is the table, the ids and the on-disk
 * names and header (no sockets); store.c the files; peers.c the msg_server port; clients.c
 * the client port; main.c the daemon. */
#ifndef FILE_SERVER_H
#define FILE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "tt_conn.h"
#include "tt_daemon.h"
#include "tt_map.h"

#define FS_ID_LEN 36          /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define FS_HEADER_LEN 960     /* the original's OfflineFileHeader */
#define FS_SEGMENT 32768      /* offline blocks (the original's segment size) */
#define FS_MAX_BLOCK_CAP (1u << 20)

enum { FS_ONLINE = 1, FS_OFFLINE = 2 };
/* IM.BaseDefine.ClientFileRole */
enum { FS_SENDER = 1, FS_RECVER = 2, FS_UPLOAD = 3, FS_DOWNLOAD = 4 };
/* the two ends of a task: conn[FS_SRC] sends the bytes (sender, uploader), conn[FS_DST]
 * receives them (receiver, downloader) */
enum { FS_SRC = 0, FS_DST = 1 };

typedef struct fs_task_s fs_task_t;
struct fs_task_s {
    char id[FS_ID_LEN + 1];
    uint64_t key;               /* fs_task_key(id) in the table */
    uint32_t from, to;          /* the users bound to the two roles */
    uint32_t size;              /* file size (uint32 on the wire) */
    int mode;                   /* FS_ONLINE / FS_OFFLINE */
    char name[512];             /* file name as msg_server gave it (offline header) */
    uint64_t created;           /* Unix seconds */
    uint64_t active_ms;         /* loop time of the last progress (login, block) */
    tt_conn_t *conn[2];         /* FS_SRC / FS_DST, NULL while not logged in */
    /* the block asked and not answered yet */
    int pulling;                /* 1 while one is outstanding */
    uint32_t pull_off, pull_len;/* what was asked */
    uint16_t pull_seq;          /* the receiver's seq, for the answer (online) */
    uint64_t pull_at;           /* loop time it was asked */
    uint32_t reserved;          /* bytes of the in-flight budget it holds */
    uint32_t want;              /* bytes it waits for in the budget queue (0: not queued) */
    fs_task_t *wait_next;       /* budget queue */
    /* offline */
    int fd;                     /* the file, -1 when not open */
    uint64_t done;              /* bytes stored (upload) or sent (download) */
    int complete;               /* the whole file is on disk under its final name */
    int last_sent;              /* download: the last block was queued */
    int delete_on_close;        /* download: the file goes once the downloader is gone */
};

typedef struct fs_table_s {
    tt_map_t map;               /* key -> task */
    size_t max;                 /* MaxTasks */
} fs_table_t;

/* ---- task.c: ids, names, header, table (pure) ---- */

/* A new random task id (RAND_bytes, UUID version 4 shape, lowercase). -1 when no random. */
int fs_task_id_new(char out[FS_ID_LEN + 1]);
/* 1 when s is a task id this server accepts: 36 characters, hex digits (either case) and
 * '-' at 8, 13, 18 and 23. Nothing else ever reaches a path. */
int fs_task_id_valid(const char *s);
uint64_t fs_task_key(const char *id);
/* "<dir>/<first 2 chars>/<id>" (with suffix appended, e.g. ".part"). -1 on a bad id or when
 * it does not fit. */
int fs_task_path(char *out, size_t outlen, const char *dir, const char *id, const char *suffix);
int fs_task_subdir(char *out, size_t outlen, const char *dir, const char *id);

/* The 960-byte header: NUL-padded ASCII task_id[128], from_user_id[64], to_user_id[64],
 * create_time[128], file_name[512], file_size[64]. */
typedef struct fs_header_s {
    char id[FS_ID_LEN + 1];
    uint32_t from, to, size;
    uint64_t created;
    char name[512];
} fs_header_t;
void fs_header_encode(uint8_t out[FS_HEADER_LEN], const fs_header_t *h);
/* -1 when the id is not valid or from, to or size is not a decimal uint32; an unreadable
 * time gives 0 and an unterminated name is cut (neither is checked by the original). */
int fs_header_decode(const uint8_t in[FS_HEADER_LEN], fs_header_t *h);

void fs_table_init(fs_table_t *t, size_t max);
/* Frees every task left (closing their files); the caller detached the connections. */
void fs_table_free(fs_table_t *t);
fs_task_t *fs_table_get(const fs_table_t *t, const char *id);
/* A new task with a fresh id, or NULL (table full, no random, out of memory). */
fs_task_t *fs_table_create(fs_table_t *t, uint32_t from, uint32_t to, uint32_t size, int mode,
                           const char *name, uint64_t now_s, uint64_t now_ms);
/* A task for an id read from disk (no check that it is new: the caller looked it up). */
fs_task_t *fs_table_adopt(fs_table_t *t, const fs_header_t *h, uint64_t now_ms);
void fs_table_remove(fs_table_t *t, fs_task_t *task);
static inline size_t fs_table_len(const fs_table_t *t) { return tt_map_len(&t->map); }
/* Fills up to max tasks for which fn(task, arg) is non-zero; returns how many. */
size_t fs_table_select(const fs_table_t *t, int (*fn)(const fs_task_t *, void *), void *arg,
                       fs_task_t **out, size_t max);

/* ---- the daemon ---- */

typedef struct file_server_s {
    tt_daemon_t d;              /* process life, config, loop */
    tt_server_opts_t client;    /* client listener options */
    tt_server_opts_t peer;      /* msg_server listener options */
    const char *advertised;     /* FileServerIp: addresses given to clients */
    uint16_t client_port;       /* ClientListenPort, advertised with them */
    const char *dir;            /* OfflineDir */
    uint64_t task_timeout_ms;   /* TaskTimeout: a task without progress this long goes */
    uint64_t offline_timeout_s; /* OfflineFileTimeout: stored files older than this go */
    uint64_t block_timeout_ms;  /* BlockTimeout: an asked block must arrive within it */
    uint64_t login_timeout_ms;  /* a client must log in within it */
    uint32_t max_block;         /* MaxBlockSize: largest block a receiver may pull */
    uint64_t max_inflight;      /* MaxBytesInFlight: asked blocks not yet answered, in all */
    uint64_t inflight;          /* bytes of asked blocks not answered yet */
    fs_task_t *wait_head, *wait_tail; /* tasks waiting for budget, oldest first */
    fs_table_t tasks;           /* MaxTasks */
    tt_server_t *clients;       /* transfer connections */
    tt_server_t *msg_servers;   /* msg_server connections */
    tt_timer_t tick;            /* 1 s: timeouts */
    tt_timer_t sweep;           /* expired offline files */
    uint64_t sweep_every_ms;
    uint8_t *block;             /* FS_SEGMENT bytes read from disk for a download */
    /* counters */
    uint64_t bytes_relayed, bytes_stored, bytes_served;
    uint64_t tasks_expired, files_expired, peers_cut;
} file_server_t;

/* budget (clients.c) */
void fs_budget_release(file_server_t *fs, fs_task_t *t);
/* Ends a task: closes its connections after their output, releases what it holds, removes
 * an unfinished upload's file, frees it. */
void fs_task_end(file_server_t *fs, fs_task_t *t, const char *why);

/* store.c */
int fs_store_create(file_server_t *fs, fs_task_t *t, char *err, size_t errlen);
int fs_store_write(file_server_t *fs, fs_task_t *t, const uint8_t *p, size_t n, char *err,
                   size_t errlen);
int fs_store_finish(file_server_t *fs, fs_task_t *t, char *err, size_t errlen);
void fs_store_discard(file_server_t *fs, fs_task_t *t);
/* Opens a stored file for user `to`: 0 with *h filled and *fd open; -1 with the reason. */
int fs_store_open(file_server_t *fs, const char *id, uint32_t to, fs_header_t *h, int *fd,
                  char *err, size_t errlen);
void fs_store_unlink(file_server_t *fs, const char *id);
/* Deletes stored files older than the offline timeout and left-over partial uploads;
 * returns how many went. */
size_t fs_store_sweep(file_server_t *fs, uint64_t now_s);

/* peers.c, clients.c */
extern const tt_server_handler_t fs_peer_handler;
extern const tt_server_handler_t fs_client_handler;
void fs_clients_tick(file_server_t *fs);
void fs_clients_free(void); /* client records still there at the end */

#endif
