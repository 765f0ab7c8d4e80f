/* credcache: credentials that passed a password check recently, so that the same user's next
 * login (a reconnect storm: a msg_server restart, Monday 9:00) costs an HMAC instead of a
 * PBKDF2. For each user id at most one tag is kept: HMAC-SHA256 under a random per-process key
 * over the user id, the stored password and salt of the row that was checked, and the
 * password the client sent. A login matches only when all four are the same again, so a
 * password change (also one made by ttadm directly in MariaDB) makes the tag stop matching;
 * the caller checks the row's status itself on every login. Nothing secret is kept in the
 * clear, and the key never leaves the process (a restart empties the cache).
 * Bounded: max entries in buckets of 4; a full bucket forgets its least recently used entry.
 * Thread-safe, no I/O. */
#ifndef DBP_CREDCACHE_H
#define DBP_CREDCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct dbp_cred_s dbp_cred_t;

/* NULL on out-of-memory, no randomness, or max 0. */
dbp_cred_t *dbp_cred_new(size_t max);
void dbp_cred_free(dbp_cred_t *c);

/* 1 when (uid, stored, salt, client) is the credential last verified for uid. Then, when
 * addr_fresh is given, *addr_fresh tells whether dbp_cred_put recorded the same addr_key for
 * uid at most max_age seconds before now. */
int dbp_cred_match(dbp_cred_t *c, uint32_t uid, const char *stored, const char *salt,
                   const char *client, size_t clen, uint64_t addr_key, uint64_t now,
                   uint64_t max_age, int *addr_fresh);
/* Remembers a verified credential (replacing uid's previous one), and the address it came from
 * (addr_key, at now; 0: keep what was recorded if the tag is the same). */
void dbp_cred_put(dbp_cred_t *c, uint32_t uid, const char *stored, const char *salt,
                  const char *client, size_t clen, uint64_t addr_key, uint64_t now);
/* Forgets uid. */
void dbp_cred_drop(dbp_cred_t *c, uint32_t uid);
/* Entries kept; logins answered from the cache so far. */
size_t dbp_cred_size(dbp_cred_t *c);
uint64_t dbp_cred_hits(dbp_cred_t *c);

#endif
