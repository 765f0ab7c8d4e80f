/* hs_auth: request signatures for http_msg_server's /api/v1 endpoints. Keys come from the
 * config (ApiKey<n>=name:secret:perm,perm,...). A request carries X-TT-Key (the name),
 * X-TT-Timestamp (unix seconds), X-TT-Nonce (1..64 of [A-Za-z0-9_-]) and X-TT-Signature, the
 * lowercase hex HMAC-SHA256 under the key's secret of
 *   METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body))
 * The timestamp must be within window seconds of now, and a nonce is refused when the same key
 * used it within the window (a bounded store; when full, requests are refused until entries
 * expire). Secrets are never logged. */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define HS_KEY_NAME_MAX 64
#define HS_SECRET_MAX 256
#define HS_NONCE_MAX 64
#define HS_PERMS_MAX 16

typedef struct hs_key_s {
    char name[HS_KEY_NAME_MAX + 1];
    char secret[HS_SECRET_MAX + 1];
    char perms[HS_PERMS_MAX][32];
    int n_perms;
} hs_key_t;

typedef struct hs_nonce_s {
    uint32_t hash;           /* of key name and nonce, 0: free */
    int64_t expires;         /* unix seconds */
    char key[HS_KEY_NAME_MAX + 1];
    char nonce[HS_NONCE_MAX + 1];
} hs_nonce_t;

typedef struct hs_auth_s {
    hs_key_t *keys;
    int n_keys;
    uint32_t window;         /* seconds either side of now */
    hs_nonce_t *nonces;      /* the nonce store, cap entries */
    size_t cap;
    size_t used;             /* entries not yet expired at the last sweep */
} hs_auth_t;

typedef enum {
    HS_OK = 0,
    HS_MISSING,      /* a header is missing or malformed */
    HS_UNKNOWN_KEY,  /* no such key */
    HS_BAD_SIG,      /* signature does not match */
    HS_STALE,        /* timestamp outside the window */
    HS_REPLAY,       /* nonce already used within the window */
    HS_FULL,         /* nonce store full */
    HS_FORBIDDEN,    /* signature good, the key lacks the permission */
} hs_result_t;

typedef struct hs_request_s {
    const char *method, *path;
    const char *key, *timestamp, *nonce, *signature; /* the X-TT-* headers (NULL: absent) */
    const void *body;
    size_t body_len;
} hs_request_t;

/* Parses "name:secret:perm,perm" into k. -1 with the reason in err. */
int hs_key_parse(const char *spec, hs_key_t *k, char *err, size_t errlen);
/* Takes the keys (malloc'ed array, owned afterwards) and a nonce store of cap entries. */
int hs_auth_init(hs_auth_t *a, hs_key_t *keys, int n_keys, uint32_t window, size_t cap);
void hs_auth_free(hs_auth_t *a);
/* Checks r at time now for permission perm; on HS_OK/HS_FORBIDDEN *key is the key used. */
hs_result_t hs_auth_check(hs_auth_t *a, const hs_request_t *r, const char *perm, int64_t now,
                          const hs_key_t **key);
/* The signature of r under secret, 64 hex digits and a NUL into out; -1 without memory. */
int hs_sign(const char *secret, const hs_request_t *r, char out[65]);
const char *hs_result_str(hs_result_t r);

#endif
