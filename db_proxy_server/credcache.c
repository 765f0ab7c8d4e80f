#include "credcache.h"
#include "tt_pdu.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4
#define TAG_LEN 32
#define FIELD_MAX 1024 /* longer stored values or passwords are never cached */

typedef struct slot_s {
    uint32_t uid;          /* 0: free */
    uint8_t tag[TAG_LEN];  /* HMAC of the credential */
    uint64_t used;         /* use counter, for the bucket's LRU */
    uint64_t addr_key;     /* the address recorded with it, and when */
    uint64_t addr_at;
} slot_t;

struct dbp_cred_s {
    pthread_mutex_t mu;    /* guards everything below */
    slot_t *slots;         /* nbuckets * WAYS */
    size_t nbuckets;       /* a power of two */
    size_t n;              /* slots in use */
    uint64_t clock;        /* use counter */
    uint64_t hits;
    uint8_t key[32];       /* HMAC key, random per process */
    uint64_t hkey;         /* bucket hash key */
};

dbp_cred_t *dbp_cred_new(size_t max)
{
    if (max < 1)
        return NULL;
    dbp_cred_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = 1;
    while (c->nbuckets * WAYS < max && c->nbuckets < ((size_t)1 << 24))
        c->nbuckets <<= 1;
    c->slots = calloc(c->nbuckets * WAYS, sizeof(*c->slots));
    if (!c->slots || RAND_bytes(c->key, sizeof(c->key)) != 1 ||
        RAND_bytes((unsigned char *)&c->hkey, sizeof(c->hkey)) != 1) {
        free(c->slots);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void dbp_cred_free(dbp_cred_t *c)
{
    if (!c)
        return;
    OPENSSL_cleanse(c->key, sizeof(c->key));
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

/* The tag of a credential; -1 when it is not cacheable. Fields are length-prefixed, so no two
 * different credentials give the same input. */
static int tag_of(const dbp_cred_t *c, uint32_t uid, const char *stored, const char *salt,
                  const char *client, size_t clen, uint8_t out[TAG_LEN])
{
    size_t sl = strlen(stored), tl = strlen(salt);
    if (uid == 0 || sl > FIELD_MAX || tl > FIELD_MAX || clen > FIELD_MAX)
        return -1;
    uint8_t buf[16 + 3 * FIELD_MAX], *p = buf;
    tt_put32(p, uid);
    tt_put32(p + 4, (uint32_t)sl);
    memcpy(p + 8, stored, sl);
    p += 8 + sl;
    tt_put32(p, (uint32_t)tl);
    memcpy(p + 4, salt, tl);
    p += 4 + tl;
    tt_put32(p, (uint32_t)clen);
    memcpy(p + 4, client, clen);
    p += 4 + clen;
    unsigned int len = TAG_LEN;
    int ok = HMAC(EVP_sha256(), c->key, sizeof(c->key), buf, (size_t)(p - buf), out, &len) &&
             len == TAG_LEN;
    OPENSSL_cleanse(buf, (size_t)(p - buf));
    return ok ? 0 : -1;
}

static slot_t *bucket(dbp_cred_t *c, uint32_t uid)
{
    uint64_t h = (uid ^ c->hkey) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return &c->slots[(h & (c->nbuckets - 1)) * WAYS];
}

static slot_t *find(dbp_cred_t *c, uint32_t uid)
{
    slot_t *b = bucket(c, uid);
    for (int i = 0; i < WAYS; i++)
        if (b[i].uid == uid)
            return &b[i];
    return NULL;
}

int dbp_cred_match(dbp_cred_t *c, uint32_t uid, const char *stored, const char *salt,
                   const char *client, size_t clen, uint64_t addr_key, uint64_t now,
                   uint64_t max_age, int *addr_fresh)
{
    uint8_t tag[TAG_LEN];
    if (addr_fresh)
        *addr_fresh = 0;
    if (tag_of(c, uid, stored, salt, client, clen, tag) < 0)
        return 0;
    pthread_mutex_lock(&c->mu);
    slot_t *s = find(c, uid);
    int ok = s && CRYPTO_memcmp(s->tag, tag, TAG_LEN) == 0;
    if (ok) {
        s->used = ++c->clock;
        c->hits++;
        if (addr_fresh)
            *addr_fresh = addr_key && s->addr_key == addr_key && now - s->addr_at <= max_age;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void dbp_cred_put(dbp_cred_t *c, uint32_t uid, const char *stored, const char *salt,
                  const char *client, size_t clen, uint64_t addr_key, uint64_t now)
{
    uint8_t tag[TAG_LEN];
    if (tag_of(c, uid, stored, salt, client, clen, tag) < 0) {
        dbp_cred_drop(c, uid);
        return;
    }
    pthread_mutex_lock(&c->mu);
    slot_t *s = find(c, uid);
    if (!s) {
        slot_t *b = bucket(c, uid);
        s = &b[0];
        for (int i = 0; i < WAYS; i++) {
            if (!b[i].uid) {
                s = &b[i];
                break;
            }
            if (b[i].used < s->used)
                s = &b[i];
        }
        if (!s->uid)
            c->n++;
        memset(s, 0, sizeof(*s));
        s->uid = uid;
    } else if (CRYPTO_memcmp(s->tag, tag, TAG_LEN) != 0) {
        s->addr_key = s->addr_at = 0;
    }
    memcpy(s->tag, tag, TAG_LEN);
    s->used = ++c->clock;
    if (addr_key) {
        s->addr_key = addr_key;
        s->addr_at = now;
    }
    pthread_mutex_unlock(&c->mu);
}

void dbp_cred_drop(dbp_cred_t *c, uint32_t uid)
{
    pthread_mutex_lock(&c->mu);
    slot_t *s = find(c, uid);
    if (s) {
        memset(s, 0, sizeof(*s));
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
}

size_t dbp_cred_size(dbp_cred_t *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

uint64_t dbp_cred_hits(dbp_cred_t *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->hits;
    pthread_mutex_unlock(&c->mu);
    return n;
}
