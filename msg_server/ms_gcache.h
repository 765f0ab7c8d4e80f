/* msg_server layer 1: the group member cache (gcache.c) — the members of a group at a version,
 * as db_proxy_server gave them with a stored message (it sends them when the version this
 * server has is not the one the message was stored under). Marked stale on a member-change
 * notify (the next message asks for the list again; answers still in flight use it); bounded in total member ids (GroupCacheMembers): past it, other groups are dropped. It calls
 * nothing above it. */
#ifndef MS_GCACHE_H
#define MS_GCACHE_H

#include "ms_core.h"

typedef struct ms_group_s {
    uint32_t gid;     /* IMGroup.id */
    uint32_t version; /* IMGroup.version of the list */
    int stale;        /* a member change was told: ask for the list again (send version 0) */
    size_t n;         /* members */
    uint32_t ids[];   /* their user ids */
} ms_group_t;

/* The cached members of gid, NULL when none. */
const ms_group_t *ms_gcache_get(msg_server_t *ms, uint32_t gid);
/* Caches the n members (BE32 each in be_ids) of gid at version, replacing what was there.
 * The cached entry, or NULL (nothing cached) when out of memory or n is above the bound. */
const ms_group_t *ms_gcache_put(msg_server_t *ms, uint32_t gid, uint32_t version,
                                const uint8_t *be_ids, size_t n);
void ms_gcache_drop(msg_server_t *ms, uint32_t gid);
void ms_gcache_stale(msg_server_t *ms, uint32_t gid);
/* The version to tell db_proxy_server with a message to gid: the cached one, 0 when none or
 * stale. */
uint32_t ms_gcache_version(msg_server_t *ms, uint32_t gid);
void ms_gcache_free(msg_server_t *ms);

#endif
