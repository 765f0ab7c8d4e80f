/* td_password: how IMUser.password is stored and checked. Clients send md5hex(plain) (32
 * lowercase hex characters); new and changed passwords are stored as
 *     pbkdf2_sha256$<iterations>$<salt, base64>$<hash, base64>
 * = PBKDF2-HMAC-SHA256 over exactly what the client sends, a random 16-byte salt and a 32-byte
 * hash (standard base64 with padding). Rows in the original TeamTalk format — 32 hex characters
 * md5hex(client_md5 . IMUser.salt) — are still accepted, and reported as needing an upgrade.
 * Comparisons are constant-time. Pure functions, no I/O, no logging; thread-safe. */
#ifndef TD_PASSWORD_H
#define TD_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

#define TD_PW_PREFIX "pbkdf2_sha256$"
#define TD_PW_DEFAULT_ITER 25000u
#define TD_PW_MIN_ITER 1000u
#define TD_PW_MAX_ITER 10000000u   /* stored strings above this are malformed (cost cap) */
#define TD_PW_SALT_LEN 16
#define TD_PW_HASH_LEN 32
#define TD_PW_STORED_MAX 128       /* longest string td_pw_hash writes, NUL included */
#define TD_PW_CLIENT_MAX 256       /* longer client passwords never match */

typedef enum {
    TD_PW_MATCH = 0,     /* the password is right */
    TD_PW_MISMATCH = 1,  /* wrong password */
    TD_PW_MALFORMED = 2  /* the stored value is in no format we know (never matches) */
} td_pw_result_t;

typedef struct td_pw_check_s {
    int legacy;        /* the stored value is in the original md5 format */
    int needs_upgrade; /* on a match: store td_pw_hash() instead (legacy, or fewer iterations) */
    int kdf_done;      /* a PBKDF2 was computed (for callers that equalise timing) */
} td_pw_check_t;

/* Hashes a client password with a fresh random salt. 0 ok, -1 (no randomness, bad args). */
int td_pw_hash(const char *client, size_t len, uint32_t iterations, char *out, size_t outlen);
/* The same with a given salt (tests, and the dummy computation). */
int td_pw_hash_salt(const char *client, size_t len, uint32_t iterations,
                    const uint8_t salt[TD_PW_SALT_LEN], char *out, size_t outlen);
/* Checks a client password against a stored value (and the IMUser.salt of legacy rows).
 * want_iterations: rows hashed with fewer iterations are reported as needing an upgrade. */
td_pw_result_t td_pw_verify(const char *stored, const char *legacy_salt, const char *client,
                            size_t len, uint32_t want_iterations, td_pw_check_t *info);
/* Spends the time of one PBKDF2 (unknown users cost the same as wrong passwords). */
void td_pw_dummy(uint32_t iterations);
/* md5 as 32 lowercase hex characters (what clients send for a plain password). 0 / -1. */
int td_pw_md5hex(const void *p, size_t n, char out[33]);

/* Standard base64 with padding. encode: returns the length written (out needs
 * 4*ceil(n/3)+1 bytes), -1 if it does not fit. decode: strict (length multiple of 4, padding
 * only at the end); returns the decoded length or -1. */
int td_b64_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
int td_b64_decode(const char *in, size_t n, uint8_t *out, size_t outlen);

#endif
