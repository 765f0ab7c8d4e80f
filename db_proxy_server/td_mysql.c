#include "td_mysql.h"

#include <errno.h>
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STMT_CACHE 192      /* prepared statements kept per connection */
#define PING_IDLE_MS 2000   /* a connection idle longer than this is pinged before use */

/* Session settings: utf8mb4 is set through the charset option; strict mode makes a value
 * that does not fit its column an error instead of a silent truncation. */
#define INIT_COMMAND                                                                          \
    "SET SESSION sql_mode = IF(@@SESSION.sql_mode = '', 'STRICT_ALL_TABLES', "                \
    "CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))"

enum { ST_UNKNOWN, ST_UP, ST_LOST, ST_DOWN }; /* what the pool reported last */

typedef struct stmt_slot_s {
    const char *sql;  /* the statement text (the caller's string) */
    MYSQL_STMT *st;   /* prepared on this connection */
} stmt_slot_t;

struct td_conn_s {
    td_db_t *db;                     /* owning pool */
    MYSQL *my;                       /* NULL while disconnected */
    int in_use;                      /* checked out */
    int in_tx;                       /* inside td_begin .. td_commit/td_rollback */
    uint64_t last_used;              /* monotonic ms of the last check-in */
    unsigned gen;                    /* pool generation when last known good */
    stmt_slot_t stmts[STMT_CACHE];   /* prepared statements */
    int nstmts;                      /* slots used */
    int next_evict;                  /* round-robin victim when the cache is full */
    unsigned errnum;                 /* last error number */
    char err[256];                   /* last error text */
};

struct td_db_s {
    char *name, *host, *dbname, *user, *password; /* copies of the options */
    td_db_opts_t o;                  /* options (strings point to the copies) */
    pthread_mutex_t mu;              /* guards everything below */
    pthread_cond_t cv;               /* a connection was given back */
    td_conn_t *conns;                /* max_conns slots */
    uint64_t down_until;             /* fail fast until this monotonic ms */
    uint32_t backoff;                /* next fail-fast period */
    unsigned gen;                    /* bumped whenever a connection saw the server go */
    int state;                       /* ST_*: what was reported last */
    char last_err[256];              /* why the last connect failed */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int td_mysql_init(void) { return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1; }
void td_mysql_end(void) { mysql_library_end(); }
void td_mysql_thread_init(void) { mysql_thread_init(); }
void td_mysql_thread_end(void) { mysql_thread_end(); }

static void event(td_db_t *db, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void event(td_db_t *db, int problem, const char *fmt, ...)
{
    if (!db->o.on_event)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    db->o.on_event(db->o.arg, problem, msg);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

td_db_t *td_db_new(const td_db_opts_t *opts)
{
    td_db_t *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->o = *opts;
    if (!db->o.max_conns)
        db->o.max_conns = 1;
    if (!db->o.timeout_ms)
        db->o.timeout_ms = 5000;
    if (!db->o.wait_ms)
        db->o.wait_ms = db->o.timeout_ms;
    if (!db->o.backoff_min_ms)
        db->o.backoff_min_ms = 500;
    if (db->o.backoff_max_ms < db->o.backoff_min_ms)
        db->o.backoff_max_ms = db->o.backoff_min_ms * 10 > 5000 ? db->o.backoff_min_ms * 10
                                                                 : 5000;
    db->name = dup_or_empty(opts->name);
    db->host = dup_or_empty(opts->host);
    db->dbname = dup_or_empty(opts->dbname);
    db->user = dup_or_empty(opts->user);
    db->password = dup_or_empty(opts->password);
    db->conns = calloc(db->o.max_conns, sizeof(*db->conns));
    if (!db->name || !db->host || !db->dbname || !db->user || !db->password || !db->conns) {
        td_db_free(db);
        return NULL;
    }
    db->o.name = db->name;
    db->o.host = db->host;
    db->o.dbname = db->dbname;
    db->o.user = db->user;
    db->o.password = db->password;
    for (uint32_t i = 0; i < db->o.max_conns; i++)
        db->conns[i].db = db;
    db->backoff = db->o.backoff_min_ms;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    return db;
}

static void conn_drop(td_conn_t *c)
{
    for (int i = 0; i < c->nstmts; i++)
        mysql_stmt_close(c->stmts[i].st);
    c->nstmts = 0;
    c->next_evict = 0;
    c->in_tx = 0;
    if (c->my)
        mysql_close(c->my);
    c->my = NULL;
}

void td_db_free(td_db_t *db)
{
    if (!db)
        return;
    if (db->conns) {
        for (uint32_t i = 0; i < db->o.max_conns; i++)
            conn_drop(&db->conns[i]);
        pthread_mutex_destroy(&db->mu);
        pthread_cond_destroy(&db->cv);
    }
    free(db->conns);
    free(db->name);
    free(db->host);
    free(db->dbname);
    free(db->user);
    free(db->password);
    free(db);
}

const char *td_db_name(const td_db_t *db) { return db->name; }

static void set_err(td_conn_t *c, unsigned num, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(td_conn_t *c, unsigned num, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    c->errnum = num;
}

/* Opens c->my. 0 ok, -1 with the reason in c->err. Called without the pool lock. */
static int conn_open(td_conn_t *c)
{
    td_db_t *db = c->db;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        set_err(c, 0, "out of memory");
        return -1;
    }
    /* No MYSQL_OPT_RECONNECT (off by default, deprecated): a lost connection is dropped and
     * opened again by the pool, which also knows to re-prepare its statements. */
    unsigned int secs = (db->o.timeout_ms + 999) / 1000;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &secs);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(m, MYSQL_INIT_COMMAND, INIT_COMMAND);
    if (!mysql_real_connect(m, db->host, db->user, db->password, db->dbname, db->o.port, NULL,
                            CLIENT_FOUND_ROWS)) {
        set_err(c, mysql_errno(m), "%s", mysql_error(m));
        mysql_close(m);
        return -1;
    }
    c->my = m;
    return 0;
}

int td_error_is_connection(unsigned e)
{
    return (e >= 2000 && e < 3000) || e == ER_SERVER_SHUTDOWN || e == ER_CONNECTION_KILLED ||
           e == ER_NET_READ_ERROR || e == ER_NET_READ_INTERRUPTED ||
           e == ER_NET_ERROR_ON_WRITE || e == ER_NET_WRITE_INTERRUPTED ||
           e == ER_ABORTING_CONNECTION || e == ER_NEW_ABORTING_CONNECTION;
}

/* Connection-level failure while checked out: close it, make the others ping first. */
static void conn_lost(td_conn_t *c)
{
    td_db_t *db = c->db;
    conn_drop(c);
    pthread_mutex_lock(&db->mu);
    db->gen++;
    int report = db->state == ST_UP || db->state == ST_UNKNOWN;
    if (report)
        db->state = ST_LOST;
    pthread_mutex_unlock(&db->mu);
    if (report)
        event(db, 1, "%s: lost the connection to %s:%u: %s", db->name, db->host,
              (unsigned)db->o.port, c->err);
}

td_conn_t *td_db_get(td_db_t *db, char *err, size_t errlen)
{
    uint64_t deadline = now_ms() + db->o.wait_ms;
    pthread_mutex_lock(&db->mu);
    td_conn_t *c = NULL;
    for (;;) {
        td_conn_t *closed = NULL;
        for (uint32_t i = 0; i < db->o.max_conns; i++) {
            td_conn_t *x = &db->conns[i];
            if (x->in_use)
                continue;
            if (x->my) {
                c = x;
                break;
            }
            if (!closed)
                closed = x;
        }
        if (!c)
            c = closed;
        if (c)
            break;
        uint64_t now = now_ms();
        if (now >= deadline) {
            pthread_mutex_unlock(&db->mu);
            snprintf(err, errlen, "%s: no free connection within %u ms", db->name,
                     (unsigned)db->o.wait_ms);
            return NULL;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = deadline - now;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&db->cv, &db->mu, &ts);
    }
    uint64_t now = now_ms();
    int need_connect = c->my == NULL;
    if (need_connect && now < db->down_until) {
        snprintf(err, errlen, "%s: %s:%u unreachable (%s); next try in %u ms", db->name,
                 db->host, (unsigned)db->o.port, db->last_err,
                 (unsigned)(db->down_until - now));
        pthread_mutex_unlock(&db->mu);
        return NULL;
    }
    int need_ping = !need_connect && (c->gen != db->gen || now - c->last_used > PING_IDLE_MS);
    c->in_use = 1;
    pthread_mutex_unlock(&db->mu);

    if (need_ping && mysql_ping(c->my) != 0) {
        set_err(c, mysql_errno(c->my), "%s", mysql_error(c->my));
        conn_lost(c);
        need_connect = 1;
    }
    if (need_connect) {
        int rc = conn_open(c);
        pthread_mutex_lock(&db->mu);
        if (rc < 0) {
            db->down_until = now_ms() + db->backoff;
            uint32_t next = db->backoff * 2;
            db->backoff = next > db->o.backoff_max_ms ? db->o.backoff_max_ms : next;
            db->gen++;
            snprintf(db->last_err, sizeof(db->last_err), "%s", c->err);
            int report = db->state != ST_DOWN;
            db->state = ST_DOWN;
            c->in_use = 0;
            pthread_cond_signal(&db->cv);
            pthread_mutex_unlock(&db->mu);
            if (report)
                event(db, 1, "%s: cannot connect to %s:%u: %s (requests fail until it is back)",
                      db->name, db->host, (unsigned)db->o.port, c->err);
            snprintf(err, errlen, "%s: cannot connect to %s:%u: %s", db->name, db->host,
                     (unsigned)db->o.port, c->err);
            return NULL;
        }
        db->backoff = db->o.backoff_min_ms;
        db->down_until = 0;
        int report = db->state != ST_UP;
        db->state = ST_UP;
        pthread_mutex_unlock(&db->mu);
        if (report)
            event(db, 0, "%s: connected to %s:%u database %s", db->name, db->host,
                  (unsigned)db->o.port, db->dbname);
    }
    pthread_mutex_lock(&db->mu);
    c->gen = db->gen;
    pthread_mutex_unlock(&db->mu);
    c->errnum = 0;
    c->err[0] = '\0';
    return c;
}

void td_db_put(td_db_t *db, td_conn_t *c)
{
    if (!c)
        return;
    if (c->in_tx && c->my) { /* a transaction left open is rolled back */
        if (mysql_rollback(c->my) != 0) {
            set_err(c, mysql_errno(c->my), "%s", mysql_error(c->my));
            conn_lost(c);
        }
        c->in_tx = 0;
    }
    pthread_mutex_lock(&db->mu);
    c->in_use = 0;
    c->last_used = now_ms();
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

const char *td_conn_error(const td_conn_t *c) { return c->err; }
unsigned td_conn_errno(const td_conn_t *c) { return c->errnum; }

/* ---- statements ---- */

static void forget_stmt(td_conn_t *c, const char *sql)
{
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql || strcmp(c->stmts[i].sql, sql) == 0) {
            mysql_stmt_close(c->stmts[i].st);
            c->stmts[i] = c->stmts[--c->nstmts];
            return;
        }
}

static MYSQL_STMT *get_stmt(td_conn_t *c, const char *sql)
{
    for (int i = 0; i < c->nstmts; i++) /* callers pass their static strings: cheap first */
        if (c->stmts[i].sql == sql)
            return c->stmts[i].st;
    for (int i = 0; i < c->nstmts; i++)
        if (strcmp(c->stmts[i].sql, sql) == 0)
            return c->stmts[i].st;
    MYSQL_STMT *st = mysql_stmt_init(c->my);
    if (!st) {
        set_err(c, mysql_errno(c->my), "statement init: %s", mysql_error(c->my));
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) != 0) {
        set_err(c, mysql_stmt_errno(st), "prepare: %s", mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    int slot;
    if (c->nstmts < STMT_CACHE) {
        slot = c->nstmts++;
    } else {
        slot = c->next_evict;
        c->next_evict = (c->next_evict + 1) % STMT_CACHE;
        mysql_stmt_close(c->stmts[slot].st);
    }
    c->stmts[slot].sql = sql;
    c->stmts[slot].st = st;
    return st;
}

/* Prepares (or reuses), binds b (rows > 1: arrays of rows values per parameter, one bulk
 * execution) and executes. 0 with *out set, -1 on error. */
static int execute(td_conn_t *c, const char *sql, MYSQL_BIND *b, int nargs, unsigned rows,
                   MYSQL_STMT **out)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        MYSQL_STMT *st = get_stmt(c, sql);
        if (!st)
            goto fail;
        if (mysql_stmt_param_count(st) != (unsigned long)nargs) {
            set_err(c, 0, "statement takes %lu parameters, %d given",
                    mysql_stmt_param_count(st), nargs);
            return -1;
        }
        unsigned size = rows > 1 ? rows : 0;
        if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) != 0 ||
            (nargs > 0 && mysql_stmt_bind_param(st, b) != 0)) {
            set_err(c, mysql_stmt_errno(st), "bind: %s", mysql_stmt_error(st));
            goto fail;
        }
        int rc = mysql_stmt_execute(st);
        unsigned e = rc ? mysql_stmt_errno(st) : 0;
        if (rc)
            set_err(c, e, "%s", mysql_stmt_error(st));
        if (size) { /* the cached statement goes back to single executions */
            size = 0;
            mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size);
        }
        if (rc) {
            if (e == ER_NEED_REPREPARE && attempt == 0) { /* the table changed under it */
                forget_stmt(c, sql);
                continue;
            }
            goto fail;
        }
        *out = st;
        return 0;
    }
fail:
    if (td_error_is_connection(c->errnum))
        conn_lost(c);
    return -1;
}

static int check_conn(td_conn_t *c, int nargs)
{
    if (!c->my) {
        set_err(c, CR_SERVER_GONE_ERROR, "not connected");
        return -1;
    }
    if (nargs < 0 || nargs > TD_MAX_ARGS) {
        set_err(c, 0, "too many parameters (%d)", nargs);
        return -1;
    }
    return 0;
}

/* One execution with args. */
static int run(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, MYSQL_STMT **out)
{
    if (check_conn(c, nargs) < 0)
        return -1;
    MYSQL_BIND b[TD_MAX_ARGS > 0 ? TD_MAX_ARGS : 1];
    unsigned int u32[TD_MAX_ARGS];
    unsigned long long u64[TD_MAX_ARGS];
    unsigned long lens[TD_MAX_ARGS];
    memset(b, 0, sizeof(MYSQL_BIND) * (size_t)(nargs > 0 ? nargs : 1));
    for (int i = 0; i < nargs; i++) {
        switch (args[i].type) {
        case TD_T_U32:
            u32[i] = (unsigned int)args[i].num;
            b[i].buffer_type = MYSQL_TYPE_LONG;
            b[i].buffer = &u32[i];
            b[i].is_unsigned = 1;
            break;
        case TD_T_U64:
            u64[i] = (unsigned long long)args[i].num;
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &u64[i];
            b[i].is_unsigned = 1;
            break;
        case TD_T_STR:
            lens[i] = (unsigned long)args[i].len;
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)(args[i].str ? args[i].str : "");
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
            break;
        default:
            set_err(c, 0, "parameter %d has no type", i);
            return -1;
        }
    }
    return execute(c, sql, b, nargs, 1, out);
}

int td_exec_bulk(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, size_t rows,
                 uint64_t *affected)
{
    if (rows == 1 || nargs == 0)
        return td_exec(c, sql, args, nargs, affected, NULL);
    if (check_conn(c, nargs) < 0)
        return -1;
    if (rows == 0 || rows > TD_BULK_MAX_ROWS) {
        set_err(c, 0, "bad bulk row count %zu", rows);
        return -1;
    }
    /* Column-wise arrays: numbers as unsigned 64-bit, strings as pointers and lengths. */
    MYSQL_BIND b[TD_MAX_ARGS];
    unsigned long long *num = calloc((size_t)nargs * rows, sizeof(*num));
    char **str = calloc((size_t)nargs * rows, sizeof(*str));
    unsigned long *lens = calloc((size_t)nargs * rows, sizeof(*lens));
    int rc = -1;
    if (!num || !str || !lens) {
        set_err(c, 0, "out of memory");
        goto done;
    }
    memset(b, 0, sizeof(MYSQL_BIND) * (size_t)nargs);
    for (int i = 0; i < nargs; i++) {
        int type = args[i].type;
        size_t base = (size_t)i * rows;
        for (size_t r = 0; r < rows; r++) {
            const td_arg_t *a = &args[r * (size_t)nargs + (size_t)i];
            if (a->type != type) {
                set_err(c, 0, "parameter %d changes type in row %zu", i, r);
                goto done;
            }
            num[base + r] = a->num;
            str[base + r] = (char *)(a->str ? a->str : "");
            lens[base + r] = (unsigned long)a->len;
        }
        if (type == TD_T_U32 || type == TD_T_U64) {
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &num[base];
            b[i].is_unsigned = 1;
        } else if (type == TD_T_STR) {
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = &str[base];
            b[i].length = &lens[base];
        } else {
            set_err(c, 0, "parameter %d has no type", i);
            goto done;
        }
    }
    MYSQL_STMT *st;
    rc = execute(c, sql, b, nargs, (unsigned)rows, &st);
    if (rc == 0) {
        if (affected)
            *affected = (uint64_t)mysql_stmt_affected_rows(st);
        mysql_stmt_free_result(st);
    }
done:
    free(num);
    free(str);
    free(lens);
    return rc;
}

int td_exec(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, uint64_t *affected,
            uint64_t *insert_id)
{
    MYSQL_STMT *st;
    if (run(c, sql, args, nargs, &st) < 0)
        return -1;
    if (affected)
        *affected = (uint64_t)mysql_stmt_affected_rows(st);
    if (insert_id)
        *insert_id = (uint64_t)mysql_stmt_insert_id(st);
    mysql_stmt_free_result(st);
    return 0;
}

int td_query(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs, td_col_t *cols,
             int ncols, int (*on_row)(void *arg), void *arg)
{
    if (ncols < 1 || ncols > TD_MAX_COLS) {
        set_err(c, 0, "bad column count %d", ncols);
        return -1;
    }
    MYSQL_STMT *st;
    if (run(c, sql, args, nargs, &st) < 0)
        return -1;
    if (mysql_stmt_field_count(st) != (unsigned)ncols) {
        set_err(c, 0, "query returns %u columns, %d bound", mysql_stmt_field_count(st), ncols);
        mysql_stmt_free_result(st);
        return -1;
    }
    MYSQL_BIND rb[TD_MAX_COLS];
    my_bool nulls[TD_MAX_COLS], errs[TD_MAX_COLS];
    unsigned long lens[TD_MAX_COLS];
    memset(rb, 0, sizeof(MYSQL_BIND) * (size_t)ncols);
    for (int i = 0; i < ncols; i++) {
        rb[i].is_null = &nulls[i];
        rb[i].error = &errs[i];
        rb[i].length = &lens[i];
        switch (cols[i].type) {
        case TD_T_U32:
            rb[i].buffer_type = MYSQL_TYPE_LONG;
            rb[i].is_unsigned = 1;
            rb[i].buffer = cols[i].dst;
            break;
        case TD_T_U64:
            rb[i].buffer_type = MYSQL_TYPE_LONGLONG;
            rb[i].is_unsigned = 1;
            rb[i].buffer = cols[i].dst;
            break;
        case TD_T_STR:
            if (cols[i].cap < 1) {
                set_err(c, 0, "column %d has no buffer", i);
                mysql_stmt_free_result(st);
                return -1;
            }
            rb[i].buffer_type = MYSQL_TYPE_STRING;
            rb[i].buffer = cols[i].dst;
            rb[i].buffer_length = (unsigned long)cols[i].cap - 1;
            break;
        default:
            set_err(c, 0, "column %d has no type", i);
            mysql_stmt_free_result(st);
            return -1;
        }
    }
    if (mysql_stmt_bind_result(st, rb) != 0 || mysql_stmt_store_result(st) != 0) {
        set_err(c, mysql_stmt_errno(st), "%s", mysql_stmt_error(st));
        mysql_stmt_free_result(st);
        if (td_error_is_connection(c->errnum))
            conn_lost(c);
        return -1;
    }
    int rc = 0;
    for (;;) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA)
            break;
        if (f != 0 && f != MYSQL_DATA_TRUNCATED) {
            set_err(c, mysql_stmt_errno(st), "fetch: %s", mysql_stmt_error(st));
            rc = -1;
            break;
        }
        for (int i = 0; i < ncols; i++) {
            td_col_t *col = &cols[i];
            col->is_null = nulls[i] != 0;
            col->len = nulls[i] ? 0 : lens[i];
            col->truncated = 0;
            if (col->type == TD_T_STR) {
                char *s = col->dst;
                size_t n = col->len;
                if (n > col->cap - 1) {
                    n = col->cap - 1;
                    col->truncated = 1;
                }
                s[n] = '\0';
            } else if (nulls[i]) {
                if (col->type == TD_T_U32)
                    *(uint32_t *)col->dst = 0;
                else
                    *(uint64_t *)col->dst = 0;
            }
        }
        if ((rc = on_row(arg)) != 0) {
            if (rc == -1)
                set_err(c, 0, "a row could not be kept (out of memory)");
            break;
        }
    }
    mysql_stmt_free_result(st);
    if (rc == -1 && td_error_is_connection(c->errnum))
        conn_lost(c);
    return rc;
}

int td_begin(td_conn_t *c)
{
    /* START TRANSACTION with autocommit left on: COMMIT or ROLLBACK ends it, one round trip
     * less than switching autocommit off and on again around it. */
    static const char begin[] = "START TRANSACTION";
    if (!c->my || mysql_real_query(c->my, begin, sizeof(begin) - 1) != 0) {
        if (c->my) {
            set_err(c, mysql_errno(c->my), "%s", mysql_error(c->my));
            if (td_error_is_connection(c->errnum))
                conn_lost(c);
        } else {
            set_err(c, CR_SERVER_GONE_ERROR, "not connected");
        }
        return -1;
    }
    c->in_tx = 1;
    return 0;
}

static int end_tx(td_conn_t *c, int commit)
{
    if (!c->my) {
        set_err(c, CR_SERVER_GONE_ERROR, "not connected");
        return -1;
    }
    int rc = commit ? mysql_commit(c->my) : mysql_rollback(c->my);
    if (rc != 0) {
        set_err(c, mysql_errno(c->my), "%s", mysql_error(c->my));
        if (td_error_is_connection(c->errnum))
            conn_lost(c);
        return -1;
    }
    c->in_tx = 0;
    return 0;
}

int td_commit(td_conn_t *c) { return end_tx(c, 1); }
int td_rollback(td_conn_t *c) { return end_tx(c, 0); }
