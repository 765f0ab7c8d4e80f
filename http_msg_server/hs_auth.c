/* hs_auth: HMAC-SHA256 request signatures and the bounded nonce store (hs_auth.h). */
#include "hs_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static int token_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!name_char(s[n]) || n >= max)
            return 0;
    return n > 0;
}

int hs_key_parse(const char *spec, hs_key_t *k, char *err, size_t errlen)
{
    memset(k, 0, sizeof(*k));
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || (size_t)(c1 - spec) > HS_KEY_NAME_MAX || (size_t)(c2 - c1 - 1) > HS_SECRET_MAX) {
        snprintf(err, errlen, "not name:secret:perm,perm");
        return -1;
    }
    memcpy(k->name, spec, (size_t)(c1 - spec));
    memcpy(k->secret, c1 + 1, (size_t)(c2 - c1 - 1));
    if (!token_ok(k->name, HS_KEY_NAME_MAX)) {
        snprintf(err, errlen, "a key name is 1-%d of [A-Za-z0-9_.-]", HS_KEY_NAME_MAX);
        return -1;
    }
    if (strlen(k->secret) < 16) {
        snprintf(err, errlen, "key %s: the secret needs at least 16 characters", k->name);
        return -1;
    }
    const char *p = c2 + 1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n >= sizeof(k->perms[0]) || k->n_perms == HS_PERMS_MAX) {
            snprintf(err, errlen, "key %s: bad permission list", k->name);
            return -1;
        }
        memcpy(k->perms[k->n_perms], p, n);
        k->perms[k->n_perms][n] = '\0';
        if (strcmp(k->perms[k->n_perms], "*") != 0 && /* every permission */
            !token_ok(k->perms[k->n_perms], sizeof(k->perms[0]) - 1)) {
            snprintf(err, errlen, "key %s: bad permission list", k->name);
            return -1;
        }
        k->n_perms++;
        p += n + (e != NULL);
    }
    return 0;
}

int hs_auth_init(hs_auth_t *a, hs_key_t *keys, int n_keys, uint32_t window, size_t cap)
{
    memset(a, 0, sizeof(*a));
    a->nonces = calloc(cap ? cap : 1, sizeof(*a->nonces));
    if (!a->nonces) {
        free(keys);
        return -1;
    }
    a->keys = keys;
    a->n_keys = n_keys;
    a->window = window;
    a->cap = cap;
    return 0;
}

void hs_auth_free(hs_auth_t *a)
{
    if (a->keys)
        OPENSSL_cleanse(a->keys, (size_t)a->n_keys * sizeof(*a->keys));
    free(a->keys);
    free(a->nonces);
    memset(a, 0, sizeof(*a));
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int hs_sign(const char *secret, const hs_request_t *r, char out[65])
{
    unsigned char h[SHA256_DIGEST_LENGTH], mac[EVP_MAX_MD_SIZE];
    char bh[65];
    unsigned int maclen = 0;
    SHA256(r->body_len ? r->body : (const void *)"", r->body_len, h);
    hex(h, sizeof(h), bh);
    size_t n = strlen(r->method) + strlen(r->path) + strlen(r->timestamp) + strlen(r->nonce) +
               64 + 5;
    char *msg = malloc(n);
    if (!msg)
        return -1;
    int len = snprintf(msg, n, "%s\n%s\n%s\n%s\n%s", r->method, r->path, r->timestamp, r->nonce,
                       bh);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)len, mac,
         &maclen);
    free(msg);
    hex(mac, maclen, out);
    return 0;
}

static uint32_t fnv(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 16777619u;
    return h ? h : 1;
}

/* 1: stored now; 0: already there (replay); -1: store full. */
static int nonce_take(hs_auth_t *a, const char *key, const char *nonce, int64_t now)
{
    uint32_t h = fnv(key, nonce);
    hs_nonce_t *free_slot = NULL;
    for (size_t i = 0; i < a->cap; i++) {
        hs_nonce_t *e = &a->nonces[i];
        if (e->hash && e->expires < now)
            e->hash = 0; /* expired */
        if (!e->hash) {
            if (!free_slot)
                free_slot = e;
            continue;
        }
        if (e->hash == h && strcmp(e->key, key) == 0 && strcmp(e->nonce, nonce) == 0)
            return 0;
    }
    if (!free_slot)
        return -1;
    free_slot->hash = h;
    /* a timestamp is good within window either side, so the nonce is kept for 2 windows */
    free_slot->expires = now + 2 * (int64_t)a->window;
    snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
    snprintf(free_slot->nonce, sizeof(free_slot->nonce), "%s", nonce);
    return 1;
}

static int parse_ts(const char *s, int64_t *out)
{
    int64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 12)
            return -1;
        v = v * 10 + (s[n] - '0');
    }
    *out = v;
    return n ? 0 : -1;
}

hs_result_t hs_auth_check(hs_auth_t *a, const hs_request_t *r, const char *perm, int64_t now,
                          const hs_key_t **key)
{
    int64_t ts;
    *key = NULL;
    if (!r->key || !r->timestamp || !r->nonce || !r->signature ||
        !token_ok(r->nonce, HS_NONCE_MAX) || parse_ts(r->timestamp, &ts) < 0 ||
        strlen(r->signature) != 64)
        return HS_MISSING;
    const hs_key_t *k = NULL;
    for (int i = 0; i < a->n_keys && !k; i++)
        if (strcmp(a->keys[i].name, r->key) == 0)
            k = &a->keys[i];
    if (!k)
        return HS_UNKNOWN_KEY;
    char want[65];
    if (hs_sign(k->secret, r, want) < 0 || CRYPTO_memcmp(want, r->signature, 64) != 0)
        return HS_BAD_SIG;
    if (ts < now - (int64_t)a->window || ts > now + (int64_t)a->window)
        return HS_STALE;
    int t = nonce_take(a, k->name, r->nonce, now);
    if (t == 0)
        return HS_REPLAY;
    if (t < 0)
        return HS_FULL;
    *key = k;
    for (int i = 0; i < k->n_perms; i++)
        if (strcmp(k->perms[i], perm) == 0 || strcmp(k->perms[i], "*") == 0)
            return HS_OK;
    return HS_FORBIDDEN;
}

const char *hs_result_str(hs_result_t r)
{
    switch (r) {
    case HS_OK: return "ok";
    case HS_MISSING: return "missing or malformed X-TT-Key/Timestamp/Nonce/Signature";
    case HS_UNKNOWN_KEY: return "bad signature"; /* as for a wrong one: no key probing */
    case HS_BAD_SIG: return "bad signature";
    case HS_STALE: return "timestamp outside the window";
    case HS_REPLAY: return "nonce already used";
    case HS_FULL: return "too many requests";
    case HS_FORBIDDEN: return "key lacks the permission";
    }
    return "?";
}
