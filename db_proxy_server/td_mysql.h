/* td_mysql: a pool of MariaDB connections that repairs itself, and prepared statements only.
 * Connections are opened lazily up to max_conns. A connection that fails with a
 * connection-level error (server gone, lost, refused, shutting down...) is dropped and opened
 * again on its next use; while the server cannot be reached the pool fails fast for a short,
 * growing backoff instead of trying on every request. A connection that was idle, or checked
 * out after another one saw the server go away, is pinged first, so a restarted server costs no
 * failed request. Every statement is prepared (and cached per connection): values travel as
 * bound parameters, never inside SQL text. Thread-safe; nothing here logs — state changes go
 * to an optional event callback, errors into the connection's errstr. */
#ifndef TD_MYSQL_H
#define TD_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#define TD_MAX_ARGS 1024 /* bound parameters per statement (a read of 256 rows of 4) */
#define TD_MAX_COLS 32  /* result columns per statement */
#define TD_BULK_MAX_ROWS 4096 /* rows per td_exec_bulk */

typedef struct td_db_s td_db_t;
typedef struct td_conn_s td_conn_t;

typedef struct td_db_opts_s {
    const char *name;        /* pool name for messages (e.g. "teamtalk_master") */
    const char *host;        /* server address */
    uint16_t port;           /* server port */
    const char *dbname;      /* database */
    const char *user;        /* account */
    const char *password;    /* its password */
    uint32_t max_conns;      /* connections at most (0: 1) */
    uint32_t timeout_ms;     /* connect, read and write timeout (0: 5000) */
    uint32_t wait_ms;        /* how long td_db_get waits for a free connection (0: timeout_ms) */
    uint32_t backoff_min_ms; /* fail fast this long after a failed connect (0: 500) ... */
    uint32_t backoff_max_ms; /* ... doubling up to this (0: 5000) */
    /* State changes: problem = 1 for "cannot connect" / "lost", 0 for "connected". */
    void (*on_event)(void *arg, int problem, const char *msg);
    void *arg;               /* for on_event */
} td_db_opts_t;

/* Types of parameters and result columns. */
enum { TD_T_U32 = 1, TD_T_U64, TD_T_STR };

typedef struct td_arg_s {
    int type;         /* TD_T_U32, TD_T_U64 or TD_T_STR */
    uint64_t num;     /* numbers */
    const char *str;  /* strings (not necessarily NUL-terminated) */
    size_t len;       /* string length */
} td_arg_t;

#define TD_U32(v) ((td_arg_t){TD_T_U32, (uint64_t)(v), NULL, 0})
#define TD_U64(v) ((td_arg_t){TD_T_U64, (uint64_t)(v), NULL, 0})
#define TD_STR(s) ((td_arg_t){TD_T_STR, 0, (s), strlen(s)})
#define TD_STRN(s, n) ((td_arg_t){TD_T_STR, 0, (s), (n)})

typedef struct td_col_s {
    int type;           /* TD_T_U32, TD_T_U64 or TD_T_STR */
    void *dst;          /* uint32_t *, uint64_t * or char buffer */
    size_t cap;         /* buffer size for strings (NUL included) */
    unsigned long len;  /* after a fetch: full length of the value */
    int is_null;        /* after a fetch: the value was NULL (numbers 0, strings "") */
    int truncated;      /* after a fetch: the string did not fit and was cut */
} td_col_t;

#define TD_COL_U32(p) ((td_col_t){TD_T_U32, (p), 0, 0, 0, 0})
#define TD_COL_U64(p) ((td_col_t){TD_T_U64, (p), 0, 0, 0, 0})
#define TD_COL_STR(buf) ((td_col_t){TD_T_STR, (buf), sizeof(buf), 0, 0, 0})

/* Calls mysql_library_init; once per process, before any thread starts. */
int td_mysql_init(void);
void td_mysql_end(void);
/* Per thread that uses connections (mysql_thread_init / mysql_thread_end). */
void td_mysql_thread_init(void);
void td_mysql_thread_end(void);

/* Creates the pool; no connection is opened yet. NULL on out-of-memory. */
td_db_t *td_db_new(const td_db_opts_t *opts);
/* Closes every connection; none may be checked out. */
void td_db_free(td_db_t *db);
const char *td_db_name(const td_db_t *db);

/* Checks out a working connection, connecting if needed. NULL when the server cannot be
 * reached (or no connection became free in time): the reason is in err. */
td_conn_t *td_db_get(td_db_t *db, char *err, size_t errlen);
/* Gives a connection back (NULL is fine). */
void td_db_put(td_db_t *db, td_conn_t *c);

/* Runs a statement that returns no rows. 0 ok, -1 error (td_conn_error). affected counts
 * matched rows (CLIENT_FOUND_ROWS); both out pointers may be NULL. */
int td_exec(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, uint64_t *affected,
            uint64_t *insert_id);
/* Runs a statement that returns no rows once per row of args (rows x nargs values, row after
 * row; every row with the same types) as ONE bulk execution: one round trip to the server
 * whatever the number of rows (MariaDB's array binding). affected: the sum (may be NULL).
 * 0 ok, -1 error (td_conn_error). Meant for transactions: after an error some rows may have
 * been applied, and only a rollback undoes them. */
int td_exec_bulk(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, size_t rows,
                 uint64_t *affected);
/* Runs a query; for every row the columns are filled and on_row(arg) is called: 0 goes on,
 * anything else stops and is returned (-1 meaning the caller's own error). 0 when every row
 * was seen, -1 on a database error (td_conn_error). */
int td_query(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, td_col_t *cols,
             int ncols, int (*on_row)(void *arg), void *arg);
/* Transactions on this connection: START TRANSACTION, then COMMIT or ROLLBACK (autocommit
 * stays on). After an error that ends the transaction on the server (a deadlock), statements
 * up to td_rollback would each commit on their own: stop at the first error. 0 / -1. */
int td_begin(td_conn_t *c);
int td_commit(td_conn_t *c);
int td_rollback(td_conn_t *c);

/* 1 when a MariaDB error number means the connection cannot be used any more (client errors,
 * server shutdown, killed or broken connection); the pool then drops it. */
int td_error_is_connection(unsigned e);
/* The last error of this connection: text and MariaDB error number (0: none). */
const char *td_conn_error(const td_conn_t *c);
unsigned td_conn_errno(const td_conn_t *c);

#endif
