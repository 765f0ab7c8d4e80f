#include "ratelimit.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s entry_t;
struct entry_s {
    entry_t *hnext;                         /* bucket chain */
    entry_t *lprev, *lnext;                 /* least recently failed first */
    uint64_t hash;                          /* keyed hash of the name */
    uint64_t times[DBP_RL_MAX_FAILURES_CAP]; /* the last failures (seconds), oldest first */
    uint32_t nfail;                         /* failures kept (<= max_failures) */
    size_t len;                             /* name length */
    char name[];                            /* the name (not NUL-terminated) */
};

struct dbp_rl_s {
    pthread_mutex_t mu;     /* guards everything */
    entry_t **buckets;      /* nbuckets chains */
    size_t nbuckets;        /* a power of two */
    size_t n, max;          /* names tracked, at most */
    uint32_t max_failures;  /* failures that lock */
    uint32_t window;        /* seconds */
    entry_t *lru_head;      /* oldest */
    entry_t *lru_tail;      /* newest */
    uint64_t key[2];        /* hash key */
};

/* FNV-1a over the key and the name, then a 64-bit finaliser (splitmix). Keyed, so a client
 * cannot choose names that share one chain. */
static uint64_t hash_name(const dbp_rl_t *rl, const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ rl->key[0];
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    h ^= rl->key[1];
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

dbp_rl_t *dbp_rl_new(size_t max_entries, uint32_t max_failures, uint32_t window_s)
{
    if (max_entries < 1 || max_failures < 1 || max_failures > DBP_RL_MAX_FAILURES_CAP)
        return NULL;
    dbp_rl_t *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->nbuckets = 16;
    while (rl->nbuckets < max_entries && rl->nbuckets < ((size_t)1 << 24))
        rl->nbuckets <<= 1;
    rl->buckets = calloc(rl->nbuckets, sizeof(*rl->buckets));
    if (!rl->buckets) {
        free(rl);
        return NULL;
    }
    rl->max = max_entries;
    rl->max_failures = max_failures;
    rl->window = window_s;
    if (RAND_bytes((unsigned char *)rl->key, sizeof(rl->key)) != 1) {
        rl->key[0] = (uint64_t)(uintptr_t)rl;
        rl->key[1] = (uint64_t)(uintptr_t)rl->buckets;
    }
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void dbp_rl_free(dbp_rl_t *rl)
{
    if (!rl)
        return;
    entry_t *e = rl->lru_head;
    while (e) {
        entry_t *next = e->lnext;
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&rl->mu);
    free(rl->buckets);
    free(rl);
}

static entry_t **find_slot(dbp_rl_t *rl, const char *name, size_t len, uint64_t h)
{
    entry_t **pp = &rl->buckets[h & (rl->nbuckets - 1)];
    while (*pp) {
        entry_t *e = *pp;
        if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
            return pp;
        pp = &e->hnext;
    }
    return pp;
}

static void lru_unlink(dbp_rl_t *rl, entry_t *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        rl->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        rl->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_append(dbp_rl_t *rl, entry_t *e)
{
    e->lprev = rl->lru_tail;
    e->lnext = NULL;
    if (rl->lru_tail)
        rl->lru_tail->lnext = e;
    else
        rl->lru_head = e;
    rl->lru_tail = e;
}

/* Removes e (its slot in the chain is *pp). */
static void remove_entry(dbp_rl_t *rl, entry_t **pp, entry_t *e)
{
    *pp = e->hnext;
    lru_unlink(rl, e);
    rl->n--;
    free(e);
}

static void evict_oldest(dbp_rl_t *rl)
{
    entry_t *e = rl->lru_head;
    if (!e)
        return;
    entry_t **pp = find_slot(rl, e->name, e->len, e->hash);
    remove_entry(rl, pp, e);
}

static size_t clip(size_t len) { return len > DBP_RL_MAX_NAME ? DBP_RL_MAX_NAME : len; }

static int entry_locked(const dbp_rl_t *rl, const entry_t *e, uint64_t now)
{
    return e && e->nfail >= rl->max_failures && now < e->times[0] + rl->window;
}

int dbp_rl_locked(dbp_rl_t *rl, const char *name, size_t len, uint64_t now)
{
    len = clip(len);
    uint64_t h = hash_name(rl, name, len);
    pthread_mutex_lock(&rl->mu);
    int locked = entry_locked(rl, *find_slot(rl, name, len, h), now);
    pthread_mutex_unlock(&rl->mu);
    return locked;
}

/* Records a failure at now; called with the lock held. */
static void fail_locked(dbp_rl_t *rl, const char *name, size_t len, uint64_t h, uint64_t now)
{
    entry_t **pp = find_slot(rl, name, len, h);
    entry_t *e = *pp;
    if (!e) {
        if (rl->n >= rl->max) {
            evict_oldest(rl);
            pp = find_slot(rl, name, len, h); /* the chain may have changed */
        }
        e = calloc(1, sizeof(*e) + len);
        if (!e)
            return; /* out of memory: this failure is not counted */
        e->hash = h;
        e->len = len;
        memcpy(e->name, name, len);
        *pp = e;
        rl->n++;
    } else {
        lru_unlink(rl, e);
    }
    if (e->nfail == rl->max_failures) {
        memmove(e->times, e->times + 1, (e->nfail - 1) * sizeof(e->times[0]));
        e->nfail--;
    }
    e->times[e->nfail++] = now;
    lru_append(rl, e);
}

void dbp_rl_fail(dbp_rl_t *rl, const char *name, size_t len, uint64_t now)
{
    len = clip(len);
    uint64_t h = hash_name(rl, name, len);
    pthread_mutex_lock(&rl->mu);
    fail_locked(rl, name, len, h, now);
    pthread_mutex_unlock(&rl->mu);
}

int dbp_rl_take(dbp_rl_t *rl, const char *name, size_t len, uint64_t now)
{
    len = clip(len);
    uint64_t h = hash_name(rl, name, len);
    pthread_mutex_lock(&rl->mu);
    int locked = entry_locked(rl, *find_slot(rl, name, len, h), now);
    if (!locked)
        fail_locked(rl, name, len, h, now);
    pthread_mutex_unlock(&rl->mu);
    return locked ? -1 : 0;
}

void dbp_rl_refund(dbp_rl_t *rl, const char *name, size_t len, uint64_t when)
{
    len = clip(len);
    uint64_t h = hash_name(rl, name, len);
    pthread_mutex_lock(&rl->mu);
    entry_t *e = *find_slot(rl, name, len, h);
    for (uint32_t i = e ? e->nfail : 0; i-- > 0;)
        if (e->times[i] == when) {
            memmove(e->times + i, e->times + i + 1, (e->nfail - i - 1) * sizeof(e->times[0]));
            e->nfail--;
            break;
        }
    pthread_mutex_unlock(&rl->mu);
}

void dbp_rl_clear(dbp_rl_t *rl, const char *name, size_t len)
{
    len = clip(len);
    uint64_t h = hash_name(rl, name, len);
    pthread_mutex_lock(&rl->mu);
    entry_t **pp = find_slot(rl, name, len, h);
    if (*pp)
        remove_entry(rl, pp, *pp);
    pthread_mutex_unlock(&rl->mu);
}

size_t dbp_rl_size(dbp_rl_t *rl)
{
    pthread_mutex_lock(&rl->mu);
    size_t n = rl->n;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
