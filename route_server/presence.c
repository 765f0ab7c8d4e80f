/* Presence state of route_server; see presence.h. */
#include "presence.h"

#include <stdlib.h>
#include <string.h>

/* One kind of login of a user on one connection. */
typedef struct rs_session_s {
    uint64_t conn;        /* connection (msg_server) holding it */
    uint32_t client_type; /* IM.BaseDefine.ClientType */
    uint32_t count;       /* how many such logins (duplicates until the kick closes one) */
} rs_session_t;

typedef struct rs_user_s {
    uint32_t id;          /* user id */
    uint32_t pc;          /* PC-class logins over all sessions */
    size_t n, cap;        /* sessions in use / allocated */
    rs_session_t *s;      /* sessions, every count > 0 */
} rs_user_t;

void rs_presence_init(rs_presence_t *p, const rs_presence_sink_t *sink)
{
    memset(p, 0, sizeof(*p));
    tt_map_init(&p->users);
    tt_map_init(&p->conns);
    if (sink)
        p->sink = *sink;
}

static void free_user(rs_user_t *u)
{
    free(u->s);
    free(u);
}

void rs_presence_free(rs_presence_t *p)
{
    for (size_t i = 0; i < p->users.cap; i++)
        if (p->users.slots[i].value)
            free_user(p->users.slots[i].value);
    for (size_t i = 0; i < p->conns.cap; i++) {
        tt_map_t *set = p->conns.slots[i].value;
        if (set) {
            tt_map_free(set);
            free(set);
        }
    }
    tt_map_free(&p->users);
    tt_map_free(&p->conns);
    memset(p, 0, sizeof(*p));
}

static void notify(rs_presence_t *p, uint32_t user_id, int pc_online)
{
    if (p->sink.pc_login)
        p->sink.pc_login(p->sink.arg, user_id, pc_online ? 1 : 0);
    if (p->sink.user_stat)
        p->sink.user_stat(p->sink.arg, user_id, pc_online ? RS_STATUS_ONLINE : RS_STATUS_OFFLINE);
}

static rs_user_t *get_user(rs_presence_t *p, uint32_t user_id, int create)
{
    rs_user_t *u = tt_map_get(&p->users, user_id);
    if (u || !create)
        return u;
    if (!(u = calloc(1, sizeof(*u))))
        return NULL;
    u->id = user_id;
    if (tt_map_put(&p->users, user_id, u) < 0) {
        free(u);
        return NULL;
    }
    return u;
}

/* Deletes the user once it has no session left. */
static void release_user(rs_presence_t *p, rs_user_t *u)
{
    if (u->n == 0) {
        tt_map_del(&p->users, u->id);
        free_user(u);
    }
}

static int holds_conn(const rs_user_t *u, uint64_t conn)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->s[i].conn == conn)
            return 1;
    return 0;
}

/* 0 added (or counted), 1 refused (the user has RS_MAX_USER_SESSIONS kinds already), -1 no
 * memory. Every scan here is over at most RS_MAX_USER_SESSIONS sessions. */
static int add_session(rs_presence_t *p, uint64_t conn, rs_user_t *u, uint32_t client_type)
{
    for (size_t i = 0; i < u->n; i++) {
        rs_session_t *s = &u->s[i];
        if (s->conn == conn && s->client_type == client_type) {
            if (s->count == UINT32_MAX)
                return 0; /* cannot happen with real msg_servers; keep the counts sane */
            s->count++;
            goto counted;
        }
    }
    if (u->n >= RS_MAX_USER_SESSIONS)
        return 1;
    tt_map_t *set = tt_map_get(&p->conns, conn);
    if (!set) {
        if (!(set = calloc(1, sizeof(*set))))
            return -1;
        tt_map_init(set);
        if (tt_map_put(&p->conns, conn, set) < 0) {
            free(set);
            return -1;
        }
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 2;
        rs_session_t *s = realloc(u->s, cap * sizeof(*s));
        if (!s)
            goto fail;
        u->s = s;
        u->cap = cap;
    }
    if (!holds_conn(u, conn) && tt_map_put(set, u->id, u) < 0)
        goto fail;
    u->s[u->n++] = (rs_session_t){conn, client_type, 1};
counted:
    if (rs_is_pc(client_type))
        u->pc++;
    p->sessions++;
    return 0;
fail:
    if (tt_map_len(set) == 0) {
        tt_map_del(&p->conns, conn);
        tt_map_free(set);
        free(set);
    }
    return -1;
}

/* Takes the user off conn's set once no session of it remains there. */
static void unlink_conn(rs_presence_t *p, uint64_t conn, rs_user_t *u)
{
    if (holds_conn(u, conn))
        return;
    tt_map_t *set = tt_map_get(&p->conns, conn);
    if (!set)
        return;
    tt_map_del(set, u->id);
    if (tt_map_len(set) == 0) {
        tt_map_del(&p->conns, conn);
        tt_map_free(set);
        free(set);
    }
}

/* Removes one login of client_type on conn; -1 when there is none. */
static int remove_session(rs_presence_t *p, uint64_t conn, rs_user_t *u, uint32_t client_type)
{
    for (size_t i = 0; i < u->n; i++) {
        rs_session_t *s = &u->s[i];
        if (s->conn != conn || s->client_type != client_type)
            continue;
        if (rs_is_pc(client_type))
            u->pc--;
        p->sessions--;
        if (--s->count == 0) {
            u->s[i] = u->s[--u->n];
            unlink_conn(p, conn, u);
        }
        return 0;
    }
    return -1;
}

/* Removes every session of u on conn (conn's set is the caller's business). */
static void strip_conn(rs_presence_t *p, uint64_t conn, rs_user_t *u)
{
    size_t i = 0;
    while (i < u->n) {
        rs_session_t *s = &u->s[i];
        if (s->conn != conn) {
            i++;
            continue;
        }
        if (rs_is_pc(s->client_type))
            u->pc -= s->count;
        p->sessions -= s->count;
        u->s[i] = u->s[--u->n];
    }
}

int rs_presence_update(rs_presence_t *p, uint64_t conn, uint32_t user_id, uint32_t status,
                       uint32_t client_type)
{
    int pc = rs_is_pc(client_type);
    if (status == RS_STATUS_OFFLINE) {
        rs_user_t *u = get_user(p, user_id, 0);
        if (!u || remove_session(p, conn, u, client_type) < 0)
            return 1;
        int pc_left = u->pc > 0;
        release_user(p, u);
        if (pc && !pc_left)
            notify(p, user_id, 0);
        return 0;
    }
    if (status != RS_STATUS_ONLINE && status != RS_STATUS_LEAVE)
        return 1;
    rs_user_t *u = get_user(p, user_id, 1);
    if (!u)
        return -1;
    int added = add_session(p, conn, u, client_type);
    if (added != 0) {
        release_user(p, u);
        return added;
    }
    if (u->pc > 0 && p->sink.pc_login)
        p->sink.pc_login(p->sink.arg, user_id, 1);
    if (pc && p->sink.user_stat)
        p->sink.user_stat(p->sink.arg, user_id, RS_STATUS_ONLINE);
    return 0;
}

/* Users touched by a replacement, with their PC state before it, in first-seen order. */
typedef struct touched_s {
    uint32_t *ids;  /* user ids */
    uint8_t *had;   /* 1 when the user had a PC client before */
    size_t n, cap;
    tt_map_t seen;  /* user id -> (void *)1 */
} touched_t;

static int touch(touched_t *t, uint32_t id, int had_pc)
{
    if (tt_map_get(&t->seen, id))
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        uint32_t *ids = realloc(t->ids, cap * sizeof(*ids));
        if (!ids)
            return -1;
        t->ids = ids;
        uint8_t *had = realloc(t->had, cap);
        if (!had)
            return -1;
        t->had = had;
        t->cap = cap;
    }
    if (tt_map_put(&t->seen, id, (void *)1) < 0)
        return -1;
    t->ids[t->n] = id;
    t->had[t->n++] = (uint8_t)had_pc;
    return 0;
}

int rs_presence_replace(rs_presence_t *p, uint64_t conn,
                        IM__BaseDefine__ServerUserStat *const *list, size_t n)
{
    int rc = 0;
    size_t refused = 0;
    if (n > RS_MAX_ONLINE_ENTRIES) {
        refused = n - RS_MAX_ONLINE_ENTRIES;
        n = RS_MAX_ONLINE_ENTRIES;
    }
    touched_t t;
    memset(&t, 0, sizeof(t));
    tt_map_init(&t.seen);
    /* Out with the old sessions of conn, noting who had a PC client before. */
    tt_map_t *set = tt_map_del(&p->conns, conn);
    if (set) {
        for (size_t i = 0; i < set->cap; i++) {
            rs_user_t *u = set->slots[i].value;
            if (!u)
                continue;
            if (touch(&t, u->id, u->pc > 0) < 0)
                rc = -1; /* the user then goes without notification */
            strip_conn(p, conn, u);
            release_user(p, u);
        }
        tt_map_free(set);
        free(set);
    }
    /* In with the new ones. */
    for (size_t i = 0; i < n; i++) {
        const IM__BaseDefine__ServerUserStat *e = list[i];
        if (!e || e->status == RS_STATUS_OFFLINE)
            continue;
        rs_user_t *u = get_user(p, e->user_id, 0);
        if (touch(&t, e->user_id, u && u->pc > 0) < 0) {
            rc = -1;
            continue; /* skipped rather than added unannounced */
        }
        int added = -1;
        u = get_user(p, e->user_id, 1);
        if (!u || (added = add_session(p, conn, u, e->client_type)) != 0) {
            if (u)
                release_user(p, u);
            if (added > 0)
                refused++;
            else
                rc = -1;
        }
    }
    /* Tell the others about every change of PC presence. */
    for (size_t i = 0; i < t.n; i++) {
        int now = rs_presence_status(p, t.ids[i]) == RS_STATUS_ONLINE;
        if (now != t.had[i])
            notify(p, t.ids[i], now);
    }
    free(t.ids);
    free(t.had);
    tt_map_free(&t.seen);
    return rc < 0 ? -1 : (int)(refused > INT32_MAX ? INT32_MAX : refused);
}

size_t rs_presence_drop(rs_presence_t *p, uint64_t conn)
{
    tt_map_t *set = tt_map_del(&p->conns, conn);
    if (!set)
        return 0;
    size_t users = tt_map_len(set);
    for (size_t i = 0; i < set->cap; i++) {
        rs_user_t *u = set->slots[i].value;
        if (!u)
            continue;
        uint32_t id = u->id;
        int had_pc = u->pc > 0;
        strip_conn(p, conn, u);
        int pc_left = u->pc > 0;
        release_user(p, u);
        if (had_pc && !pc_left)
            notify(p, id, 0);
    }
    tt_map_free(set);
    free(set);
    return users;
}

uint32_t rs_presence_status(const rs_presence_t *p, uint32_t user_id)
{
    const rs_user_t *u = tt_map_get(&p->users, user_id);
    return u && u->pc > 0 ? RS_STATUS_ONLINE : RS_STATUS_OFFLINE;
}

unsigned rs_presence_kinds(const rs_presence_t *p, uint32_t user_id)
{
    const rs_user_t *u = tt_map_get(&p->users, user_id);
    unsigned k = 0;
    if (!u)
        return 0;
    if (u->pc > 0)
        k |= RS_KIND_PC;
    for (size_t i = 0; i < u->n; i++)
        if (!rs_is_pc(u->s[i].client_type))
            k |= RS_KIND_MOBILE;
    return k;
}

size_t rs_presence_users(const rs_presence_t *p) { return tt_map_len(&p->users); }

size_t rs_presence_conn_sessions(const rs_presence_t *p, uint64_t conn)
{
    const tt_map_t *set = tt_map_get(&p->conns, conn);
    size_t n = 0;
    if (!set)
        return 0;
    for (size_t i = 0; i < set->cap; i++) {
        const rs_user_t *u = set->slots[i].value;
        for (size_t k = 0; u && k < u->n; k++)
            if (u->s[k].conn == conn)
                n += u->s[k].count;
    }
    return n;
}

size_t rs_presence_user_conns(const rs_presence_t *p, uint32_t user_id, uint64_t *out,
                              size_t max)
{
    const rs_user_t *u = tt_map_get(&p->users, user_id);
    size_t k = 0;
    for (size_t i = 0; u && i < u->n && k < max; i++) {
        size_t j = 0;
        while (j < k && out[j] != u->s[i].conn)
            j++;
        if (j == k)
            out[k++] = u->s[i].conn;
    }
    return k;
}
