#include "tt_map.h"

#include <stdlib.h>
#include <string.h>

static size_t hash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k;
}

void tt_map_init(tt_map_t *m) { memset(m, 0, sizeof(*m)); }

void tt_map_free(tt_map_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

void *tt_map_get(const tt_map_t *m, uint64_t key)
{
    if (m->len == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
        if (!m->slots[i].value)
            return NULL;
        if (m->slots[i].key == key)
            return m->slots[i].value;
    }
}

static int grow(tt_map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    tt_map_slot_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].value)
            continue;
        size_t j = hash(m->slots[i].key) & (cap - 1);
        while (slots[j].value)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int tt_map_put(tt_map_t *m, uint64_t key, void *value)
{
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    size_t mask = m->cap - 1;
    size_t i = hash(key) & mask;
    while (m->slots[i].value && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->slots[i].value)
        m->len++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return 0;
}

void *tt_map_del(tt_map_t *m, uint64_t key)
{
    if (m->len == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = hash(key) & mask;
    while (m->slots[i].value && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->slots[i].value)
        return NULL;
    void *v = m->slots[i].value;
    m->len--;
    /* Backward-shift: move later entries of the same probe run into the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
        size_t home = hash(m->slots[j].key) & mask;
        /* j may fill the hole if its home is not in (hole, j] cyclically */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].value = NULL;
    m->slots[hole].key = 0;
    return v;
}
