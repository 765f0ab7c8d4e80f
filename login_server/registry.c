/* The registry of msg_servers and the choice of the least loaded one. Pure state: no I/O,
 * no logging; msg_servers.c feeds it and clients.c asks it. */
#include <stdlib.h>
#include <string.h>

#include "login_server.h"

void ls_registry_init(ls_registry_t *r)
{
    memset(r, 0, sizeof(*r));
    tt_map_init(&r->by_conn);
}

static void free_record(ls_msg_server_t *m)
{
    free(m->ip1);
    free(m->ip2);
    free(m->host_name);
    free(m);
}

void ls_registry_free(ls_registry_t *r)
{
    ls_msg_server_t *m = r->head;
    while (m) {
        ls_msg_server_t *next = m->next;
        free_record(m);
        m = next;
    }
    tt_map_free(&r->by_conn);
    memset(r, 0, sizeof(*r));
}

size_t ls_registry_len(const ls_registry_t *r) { return tt_map_len(&r->by_conn); }

ls_msg_server_t *ls_registry_find(const ls_registry_t *r, uint64_t conn_id)
{
    return tt_map_get(&r->by_conn, conn_id);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

ls_msg_server_t *ls_registry_set(ls_registry_t *r, uint64_t conn_id, const char *ip1,
                                 const char *ip2, uint32_t port, uint32_t max_conn_cnt,
                                 uint32_t cur_conn_cnt, const char *host_name)
{
    char *a = dup_or_empty(ip1), *b = dup_or_empty(ip2), *h = dup_or_empty(host_name);
    if (!a || !b || !h)
        goto oom;
    ls_msg_server_t *m = ls_registry_find(r, conn_id);
    if (m) { /* registered again on the same connection: new values, same place */
        free(m->ip1);
        free(m->ip2);
        free(m->host_name);
    } else {
        if (!(m = calloc(1, sizeof(*m))))
            goto oom;
        if (tt_map_put(&r->by_conn, conn_id, m) < 0) {
            free(m);
            goto oom;
        }
        m->conn_id = conn_id;
        m->prev = r->tail;
        if (r->tail)
            r->tail->next = m;
        else
            r->head = m;
        r->tail = m;
    }
    m->ip1 = a;
    m->ip2 = b;
    m->host_name = h;
    m->port = port;
    m->max_conn_cnt = max_conn_cnt;
    m->cur_conn_cnt = cur_conn_cnt;
    return m;
oom:
    free(a);
    free(b);
    free(h);
    return NULL;
}

int ls_registry_remove(ls_registry_t *r, uint64_t conn_id)
{
    ls_msg_server_t *m = tt_map_del(&r->by_conn, conn_id);
    if (!m)
        return 0;
    if (m->prev)
        m->prev->next = m->next;
    else
        r->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        r->tail = m->prev;
    free_record(m);
    return 1;
}

int ls_registry_count(ls_msg_server_t *m, uint32_t action)
{
    switch (action) {
    case LS_CNT_INC:
        if (m->cur_conn_cnt < UINT32_MAX)
            m->cur_conn_cnt++;
        return 0;
    case LS_CNT_DEC:
        if (m->cur_conn_cnt > 0)
            m->cur_conn_cnt--;
        return 0;
    default:
        return -1;
    }
}

const ls_msg_server_t *ls_registry_pick(const ls_registry_t *r, int *code)
{
    const ls_msg_server_t *best = NULL;
    for (const ls_msg_server_t *m = r->head; m; m = m->next)
        if (m->cur_conn_cnt < m->max_conn_cnt && (!best || m->cur_conn_cnt < best->cur_conn_cnt))
            best = m;
    *code = best ? LS_PICK_OK : r->head ? LS_PICK_FULL : LS_PICK_NONE;
    return best;
}
