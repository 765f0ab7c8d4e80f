/* cache: a pool of Redis connections (hiredis) for one CacheInstances entry (host, port, DB
 * number). Connections are opened lazily up to max_conns, SELECT their DB, and carry a command
 * timeout. A connection whose command fails at the I/O level is dropped and opened again on its
 * next use; while the server cannot be reached the pool fails fast for a short, growing
 * backoff. Commands go out with redisCommandArgv only: every key and value is one binary-safe
 * argument. Thread-safe; state changes go to an optional event callback. */
#ifndef DBP_CACHE_H
#define DBP_CACHE_H

#include <hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dbp_cache_s dbp_cache_t;
typedef struct dbp_cache_conn_s dbp_cache_conn_t;

typedef struct dbp_cache_opts_s {
    const char *name;        /* pool name (e.g. "token") */
    const char *host;        /* server address */
    uint16_t port;           /* server port */
    uint32_t db;             /* SELECT this DB */
    uint32_t max_conns;      /* connections at most (0: 1) */
    uint32_t timeout_ms;     /* connect and command timeout (0: 2000) */
    uint32_t backoff_min_ms; /* fail fast this long after a failed connect (0: 500) ... */
    uint32_t backoff_max_ms; /* ... doubling up to this (0: 5000) */
    void (*on_event)(void *arg, int problem, const char *msg); /* state changes */
    void *arg;
} dbp_cache_opts_t;

dbp_cache_t *dbp_cache_new(const dbp_cache_opts_t *opts);
void dbp_cache_free(dbp_cache_t *p);
const char *dbp_cache_name(const dbp_cache_t *p);

/* Checks out a working connection. NULL (reason in err) when Redis cannot be reached. */
dbp_cache_conn_t *dbp_cache_get(dbp_cache_t *p, char *err, size_t errlen);
void dbp_cache_put(dbp_cache_t *p, dbp_cache_conn_t *c);

/* Runs one command. NULL on an I/O error (the connection is then dropped; reason in
 * dbp_cache_error); an error reply (REDIS_REPLY_ERROR) is returned as a reply. */
redisReply *dbp_cache_cmd(dbp_cache_conn_t *c, int argc, const char **argv, const size_t *lens);
/* The same with NUL-terminated arguments, the list ending with NULL. */
redisReply *dbp_cache_cmdv(dbp_cache_conn_t *c, ...) __attribute__((sentinel));
const char *dbp_cache_error(const dbp_cache_conn_t *c);

#define DBP_CACHE_ARGS_MAX 8 /* arguments per pipelined command */

/* One command of a pipeline: its arguments in (a length of 0 means strlen), its reply out
 * (free with freeReplyObject). A longer command (argc > DBP_CACHE_ARGS_MAX, e.g. an HSET of
 * many fields) gives its arguments in the caller's arrays av and al instead (every length
 * given, no 0). */
typedef struct dbp_cache_cmd_s {
    int argc;
    const char *argv[DBP_CACHE_ARGS_MAX];
    size_t lens[DBP_CACHE_ARGS_MAX];
    redisReply *reply;
    const char *const *av; /* NULL: argv and lens */
    const size_t *al;
} dbp_cache_cmd_t;

/* Sends n commands at once and reads their n replies: one round trip. 0 with every reply set
 * (error replies included); -1 on an I/O error, with no reply kept (the connection is then
 * dropped; reason in dbp_cache_error). */
int dbp_cache_pipeline(dbp_cache_conn_t *c, dbp_cache_cmd_t *cmds, size_t n);

#endif
