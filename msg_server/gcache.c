/* The group member cache (layer 1, ms_gcache.h). */
#include "ms_gcache.h"

#include <stdlib.h>

const ms_group_t *ms_gcache_get(msg_server_t *ms, uint32_t gid)
{
    return tt_map_get(&ms->groups, gid);
}

void ms_gcache_drop(msg_server_t *ms, uint32_t gid)
{
    ms_group_t *g = tt_map_del(&ms->groups, gid);
    if (g) {
        ms->group_ids -= g->n;
        free(g);
    }
}

void ms_gcache_stale(msg_server_t *ms, uint32_t gid)
{
    ms_group_t *g = tt_map_get(&ms->groups, gid);
    if (g)
        g->stale = 1;
}

uint32_t ms_gcache_version(msg_server_t *ms, uint32_t gid)
{
    const ms_group_t *g = tt_map_get(&ms->groups, gid);
    return g && !g->stale ? g->version : 0;
}

/* Drops groups (the ones after a moving cursor, so not always the same) until `need` more ids
 * fit. */
static void make_room(msg_server_t *ms, size_t need)
{
    while (ms->group_ids + need > ms->group_cache_max && tt_map_len(&ms->groups) > 0) {
        size_t cap = ms->groups.cap;
        for (size_t k = 0; k < cap; k++) {
            size_t i = (ms->group_evict + k) & (cap - 1);
            if (ms->groups.slots[i].value) {
                ms->group_evict = i + 1;
                ms_gcache_drop(ms, (uint32_t)ms->groups.slots[i].key);
                break;
            }
        }
    }
}

const ms_group_t *ms_gcache_put(msg_server_t *ms, uint32_t gid, uint32_t version,
                                const uint8_t *be_ids, size_t n)
{
    ms_gcache_drop(ms, gid);
    if (n > ms->group_cache_max)
        return NULL;
    make_room(ms, n);
    ms_group_t *g = malloc(sizeof(*g) + n * sizeof(g->ids[0]));
    if (!g)
        return NULL;
    g->gid = gid;
    g->version = version;
    g->stale = 0;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        g->ids[i] = tt_get32(be_ids + 4 * i);
    if (tt_map_put(&ms->groups, gid, g) < 0) {
        free(g);
        return NULL;
    }
    ms->group_ids += n;
    return g;
}

void ms_gcache_free(msg_server_t *ms)
{
    for (size_t i = 0; i < ms->groups.cap; i++)
        free(ms->groups.slots[i].value);
    tt_map_free(&ms->groups);
    tt_map_init(&ms->groups);
    ms->group_ids = 0;
}
