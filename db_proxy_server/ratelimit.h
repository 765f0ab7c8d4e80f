/* ratelimit: failed logins per key (a user id, a client address, a name of nobody). After
 * max_failures failures within window seconds a key is locked (db_proxy answers result 6
 * without checking the password) until the oldest of those failures leaves the window. Each
 * key has its own entry in a chain (never shared with, nor reset by, another key); the table
 * is bounded: at most max_entries keys, the one that failed least recently is forgotten first.
 * Keys are hashed with a per-process random key (no collision flooding). Thread-safe, no I/O:
 * the caller passes the time (monotonic seconds). */
#ifndef DBP_RATELIMIT_H
#define DBP_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define DBP_RL_MAX_FAILURES_CAP 32 /* max_failures is at most this */
#define DBP_RL_MAX_NAME 256        /* longer names are keyed by their first 256 bytes */

typedef struct dbp_rl_s dbp_rl_t;

/* NULL on out-of-memory or bad arguments (max_failures 1..32, max_entries >= 1). */
dbp_rl_t *dbp_rl_new(size_t max_entries, uint32_t max_failures, uint32_t window_s);
void dbp_rl_free(dbp_rl_t *rl);

/* 1 when the name is locked at time now. */
int dbp_rl_locked(dbp_rl_t *rl, const char *name, size_t len, uint64_t now);
/* Records a failure at time now. */
void dbp_rl_fail(dbp_rl_t *rl, const char *name, size_t len, uint64_t now);
/* Counts an attempt when it arrives: 0 when the key is not locked at now, and then a failure
 * at now is recorded at once (given back with dbp_rl_refund if the attempt succeeds), so that
 * attempts running in parallel each see the ones before them; -1 (nothing recorded) when
 * locked. */
int dbp_rl_take(dbp_rl_t *rl, const char *name, size_t len, uint64_t now);
/* Takes back one failure recorded at time when (by dbp_rl_take), if still kept. */
void dbp_rl_refund(dbp_rl_t *rl, const char *name, size_t len, uint64_t when);
/* Forgets the name (after a successful login). */
void dbp_rl_clear(dbp_rl_t *rl, const char *name, size_t len);
/* Names tracked. */
size_t dbp_rl_size(dbp_rl_t *rl);

#endif
