/* tt_map: a hash map from 64-bit integer keys to pointers (open addressing, linear probing,
 * backward-shift deletion). Used for user ids, connection handles and the like. */
#ifndef TT_MAP_H
#define TT_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct tt_map_slot_s {
    uint64_t key;  /* key */
    void *value;   /* NULL marks an empty slot (values are never NULL) */
} tt_map_slot_t;

typedef struct tt_map_s {
    tt_map_slot_t *slots; /* capacity entries, a power of two */
    size_t cap;           /* number of slots */
    size_t len;           /* number of entries */
} tt_map_t;

void tt_map_init(tt_map_t *m);
void tt_map_free(tt_map_t *m);
void *tt_map_get(const tt_map_t *m, uint64_t key);
/* Inserts or replaces (value must not be NULL). 0 ok, -1 out of memory. */
int tt_map_put(tt_map_t *m, uint64_t key, void *value);
/* Removes the key; returns its value or NULL. */
void *tt_map_del(tt_map_t *m, uint64_t key);
static inline size_t tt_map_len(const tt_map_t *m) { return m->len; }

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].value) ... (do not modify
 * the map while iterating; collect keys first). */

#endif
