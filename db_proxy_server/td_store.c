#include "td_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- users ---- */

#define USER_COLS                                                                             \
    "id, IFNULL(sex, 0), name, domain, nick, password, salt, phone, email, IFNULL(avatar, ''), " \
    "departId, IFNULL(status, 0), created, updated, push_shield_status, sign_info"

#define Q10 "?,?,?,?,?,?,?,?,?,?"
#define Q100 Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10

static const char SQL_USER_BY_NAME[] =
    "SELECT " USER_COLS " FROM IMUser WHERE name = ? ORDER BY IFNULL(status, 0) <> 0, id LIMIT 1";
static const char SQL_USERS_BY_IDS[] = "SELECT " USER_COLS " FROM IMUser WHERE id IN (" Q100 ")";
static const char SQL_USERS_ACTIVE[] =
    "SELECT " USER_COLS " FROM IMUser WHERE IFNULL(status, 0) <> 3";
static const char SQL_USERS_SINCE[] = "SELECT " USER_COLS " FROM IMUser WHERE updated >= ?";
static const char SQL_USERS_ALL[] = "SELECT " USER_COLS " FROM IMUser ORDER BY id";
static const char SQL_USER_COUNT[] = "SELECT COUNT(*) FROM IMUser WHERE name = ?";
static const char SQL_SET_SIGN[] =
    "UPDATE IMUser SET sign_info = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";
static const char SQL_SET_AVATAR[] =
    "UPDATE IMUser SET avatar = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";
static const char SQL_SET_SHIELD[] =
    "UPDATE IMUser SET push_shield_status = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";
static const char SQL_SET_PASSWORD[] =
    "UPDATE IMUser SET password = ?, salt = '', updated = UNIX_TIMESTAMP() WHERE name = ?";
static const char SQL_SET_STATUS[] =
    "UPDATE IMUser SET status = ?, updated = UNIX_TIMESTAMP() WHERE name = ?";
static const char SQL_UPGRADE_PASSWORD[] =
    "UPDATE IMUser SET password = ?, salt = '' WHERE id = ? AND password = ?";
static const char SQL_GET_SHIELD[] = "SELECT push_shield_status FROM IMUser WHERE id = ?";
static const char SQL_NOW[] = "SELECT UNIX_TIMESTAMP()";
static const char SQL_LEFT_SINCE[] =
    "SELECT id FROM IMUser WHERE updated >= ? AND status = 3 LIMIT 100000"; /* TD_LEFT_MAX */
static const char SQL_USER_UPDATE[] =
    "UPDATE IMUser SET sex = ?, domain = ?, nick = ?, phone = ?, email = ?, avatar = ?, "
    "departId = ?, sign_info = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";
static const char SQL_USER_ADD[] =
    "INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, "
    "departId, status, created, updated, push_shield_status, sign_info) "
    "VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 0, ?)";

/* Fetch buffers of one IMUser row (utf8mb4: up to 4 bytes per character). */
typedef struct user_row_s {
    td_user_t u;                                 /* numbers land here */
    char name[129], domain[129], nick[129];      /* varchar(32) */
    char password[1021], salt[17], phone[45];    /* varchar(255), (4), (11) */
    char email[257], avatar[1021], sign[513];    /* varchar(64), (255), (128) */
    td_col_t cols[16];                           /* bindings */
    td_user_list_t *list;                        /* rows go here */
} user_row_t;

static void user_row_bind(user_row_t *r)
{
    td_col_t cols[16] = {
        TD_COL_U32(&r->u.id),        TD_COL_U32(&r->u.sex),      TD_COL_STR(r->name),
        TD_COL_STR(r->domain),       TD_COL_STR(r->nick),        TD_COL_STR(r->password),
        TD_COL_STR(r->salt),         TD_COL_STR(r->phone),       TD_COL_STR(r->email),
        TD_COL_STR(r->avatar),       TD_COL_U32(&r->u.depart_id), TD_COL_U32(&r->u.status),
        TD_COL_U32(&r->u.created),   TD_COL_U32(&r->u.updated),  TD_COL_U32(&r->u.push_shield),
        TD_COL_STR(r->sign),
    };
    memcpy(r->cols, cols, sizeof(cols));
}

/* Copies the fetched row into one allocation. */
static td_user_t *user_copy(const user_row_t *r)
{
    const char *src[9] = {r->name,  r->domain, r->nick,  r->password, r->salt,
                          r->phone, r->email,  r->avatar, r->sign};
    size_t lens[9], total = 0;
    for (int i = 0; i < 9; i++)
        total += (lens[i] = strlen(src[i])) + 1;
    td_user_t *u = malloc(sizeof(*u) + total);
    if (!u)
        return NULL;
    *u = r->u;
    char *p = (char *)(u + 1);
    char **dst[9] = {&u->name,  &u->domain, &u->nick,   &u->password, &u->salt,
                     &u->phone, &u->email,  &u->avatar, &u->sign_info};
    for (int i = 0; i < 9; i++) {
        memcpy(p, src[i], lens[i] + 1);
        *dst[i] = p;
        p += lens[i] + 1;
    }
    return u;
}

static int list_push(void ***v, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        void **nv = realloc(*v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = item;
    return 0;
}

static int on_user_row(void *arg)
{
    user_row_t *r = arg;
    td_user_t *u = user_copy(r);
    if (!u)
        return -1;
    if (list_push((void ***)&r->list->v, &r->list->n, &r->list->cap, u) < 0) {
        free(u);
        return -1;
    }
    return 0;
}

void td_user_list_free(td_user_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int user_query(td_conn_t *c, const char *sql, const td_arg_t *args, int nargs,
                      td_user_list_t *out)
{
    user_row_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    user_row_bind(r);
    r->list = out;
    int rc = td_query(c, sql, args, nargs, r->cols, 16, on_user_row, r);
    free(r);
    return rc == 0 ? 0 : -1;
}

int td_user_by_name(td_conn_t *c, const char *name, size_t len, td_user_t **out)
{
    *out = NULL;
    td_user_list_t rows = {0};
    td_arg_t a[] = {TD_STRN(name, len)};
    if (user_query(c, SQL_USER_BY_NAME, a, 1, &rows) < 0) {
        td_user_list_free(&rows);
        return -1;
    }
    if (rows.n == 0) {
        td_user_list_free(&rows);
        return 0;
    }
    *out = rows.v[0]; /* LIMIT 1 */
    rows.v[0] = NULL;
    td_user_list_free(&rows);
    return 1;
}

#define Q32 Q10 "," Q10 "," Q10 ",?,?"
static const char SQL_USERS_BY_NAMES[] = "SELECT " USER_COLS " FROM IMUser WHERE name IN (" Q32 ")";

int td_users_by_names(td_conn_t *c, const char *const *names, const size_t *lens, size_t n,
                      td_user_list_t *out)
{
    if (n == 0)
        return 0;
    if (n > TD_NAMES_PER_QUERY)
        return -1;
    td_arg_t a[TD_NAMES_PER_QUERY];
    for (size_t k = 0; k < TD_NAMES_PER_QUERY; k++) /* unused places repeat a name */
        a[k] = TD_STRN(names[k < n ? k : 0], lens[k < n ? k : 0]);
    return user_query(c, SQL_USERS_BY_NAMES, a, TD_NAMES_PER_QUERY, out);
}

td_user_t *td_user_dup(const td_user_t *u)
{
    user_row_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->u = *u;
    struct {
        char *dst;
        size_t cap;
        const char *src;
    } f[9] = {
        {r->name, sizeof(r->name), u->name},
        {r->domain, sizeof(r->domain), u->domain},
        {r->nick, sizeof(r->nick), u->nick},
        {r->password, sizeof(r->password), u->password},
        {r->salt, sizeof(r->salt), u->salt},
        {r->phone, sizeof(r->phone), u->phone},
        {r->email, sizeof(r->email), u->email},
        {r->avatar, sizeof(r->avatar), u->avatar},
        {r->sign, sizeof(r->sign), u->sign_info},
    };
    for (int i = 0; i < 9; i++)
        snprintf(f[i].dst, f[i].cap, "%s", f[i].src ? f[i].src : "");
    td_user_t *out = user_copy(r);
    free(r);
    return out;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int td_users_by_ids(td_conn_t *c, const uint32_t *ids, size_t n, td_user_list_t *out)
{
    if (n == 0)
        return 0;
    uint32_t *sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return -1;
    memcpy(sorted, ids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_u32);
    size_t m = 0; /* distinct, non-zero ids */
    for (size_t i = 0; i < n; i++)
        if (sorted[i] != 0 && (m == 0 || sorted[m - 1] != sorted[i]))
            sorted[m++] = sorted[i];
    int rc = 0;
    for (size_t off = 0; off < m && rc == 0; off += TD_IDS_PER_QUERY) {
        td_arg_t a[TD_IDS_PER_QUERY];
        for (size_t k = 0; k < TD_IDS_PER_QUERY; k++) /* unused places repeat an id */
            a[k] = TD_U32(sorted[off + k < m ? off + k : off]);
        rc = user_query(c, SQL_USERS_BY_IDS, a, TD_IDS_PER_QUERY, out);
    }
    free(sorted);
    return rc;
}

int td_users_changed(td_conn_t *c, uint32_t since, td_user_list_t *out)
{
    if (since == 0)
        return user_query(c, SQL_USERS_ACTIVE, NULL, 0, out);
    td_arg_t a[] = {TD_U32(since)};
    return user_query(c, SQL_USERS_SINCE, a, 1, out);
}

int td_users_all(td_conn_t *c, td_user_list_t *out)
{
    return user_query(c, SQL_USERS_ALL, NULL, 0, out);
}

typedef struct one_u32_s {
    uint32_t v;  /* fetched value */
    int found;   /* a row came */
} one_u32_t;

static int on_one_u32(void *arg)
{
    ((one_u32_t *)arg)->found = 1;
    return 0;
}

/* A query returning one unsigned number: 1 found, 0 no row, -1 error. */
static int query_u32(td_conn_t *c, const char *sql, const td_arg_t *a, int n, uint32_t *out)
{
    one_u32_t r = {0, 0};
    td_col_t col[] = {TD_COL_U32(&r.v)};
    if (td_query(c, sql, a, n, col, 1, on_one_u32, &r) != 0)
        return -1;
    if (r.found)
        *out = r.v;
    return r.found;
}

int td_user_count_by_name(td_conn_t *c, const char *name, uint32_t *count)
{
    td_arg_t a[] = {TD_STR(name)};
    *count = 0;
    return query_u32(c, SQL_USER_COUNT, a, 1, count) < 0 ? -1 : 0;
}

typedef struct id_rows_s {
    uint32_t id;     /* the fetched column */
    uint32_t *v;     /* ids so far */
    size_t n, cap;
} id_rows_t;

static int on_id_row(void *arg)
{
    id_rows_t *r = arg;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        uint32_t *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n++] = r->id;
    return 0;
}

int td_users_left_since(td_conn_t *c, uint32_t since, uint32_t *now, uint32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    *now = 0;
    if (query_u32(c, SQL_NOW, NULL, 0, now) != 1)
        return -1;
    id_rows_t r = {0};
    td_col_t cols[] = {TD_COL_U32(&r.id)};
    td_arg_t a[] = {TD_U32(since)};
    if (td_query(c, SQL_LEFT_SINCE, a, 1, cols, 1, on_id_row, &r) != 0) {
        free(r.v);
        return -1;
    }
    *ids = r.v;
    *n = r.n;
    return 0;
}

int td_user_set_sign(td_conn_t *c, uint32_t id, const char *sign, uint64_t *matched)
{
    td_arg_t a[] = {TD_STR(sign), TD_U32(id)};
    return td_exec(c, SQL_SET_SIGN, a, 2, matched, NULL);
}

int td_user_set_avatar(td_conn_t *c, uint32_t id, const char *url, uint64_t *matched)
{
    td_arg_t a[] = {TD_STR(url), TD_U32(id)};
    return td_exec(c, SQL_SET_AVATAR, a, 2, matched, NULL);
}

int td_user_set_push_shield(td_conn_t *c, uint32_t id, uint32_t shield, uint64_t *matched)
{
    td_arg_t a[] = {TD_U32(shield), TD_U32(id)};
    return td_exec(c, SQL_SET_SHIELD, a, 2, matched, NULL);
}

int td_user_set_password(td_conn_t *c, const char *name, const char *stored, uint64_t *matched)
{
    td_arg_t a[] = {TD_STR(stored), TD_STR(name)};
    return td_exec(c, SQL_SET_PASSWORD, a, 2, matched, NULL);
}

int td_user_set_status(td_conn_t *c, const char *name, uint32_t status, uint64_t *matched)
{
    td_arg_t a[] = {TD_U32(status), TD_STR(name)};
    return td_exec(c, SQL_SET_STATUS, a, 2, matched, NULL);
}

int td_user_upgrade_password(td_conn_t *c, uint32_t id, const char *old, const char *stored,
                             uint64_t *matched)
{
    td_arg_t a[] = {TD_STR(stored), TD_U32(id), TD_STR(old)};
    return td_exec(c, SQL_UPGRADE_PASSWORD, a, 3, matched, NULL);
}

int td_user_get_push_shield(td_conn_t *c, uint32_t id, uint32_t *shield)
{
    td_arg_t a[] = {TD_U32(id)};
    return query_u32(c, SQL_GET_SHIELD, a, 1, shield);
}

int td_user_update(td_conn_t *c, const td_user_t *u, uint64_t *matched)
{
#define S(x) TD_STR((x) ? (x) : "")
    td_arg_t a[] = {TD_U32(u->sex),  S(u->domain), S(u->nick),           S(u->phone),
                    S(u->email),     S(u->avatar), TD_U32(u->depart_id), S(u->sign_info),
                    TD_U32(u->id)};
#undef S
    return td_exec(c, SQL_USER_UPDATE, a, 9, matched, NULL);
}

int td_user_add(td_conn_t *c, const td_user_t *u, uint32_t *id)
{
#define S(x) TD_STR((x) ? (x) : "")
    td_arg_t a[] = {TD_U32(u->sex), S(u->name),      S(u->domain), S(u->nick),
                    S(u->password), S(u->phone),     S(u->email),  S(u->avatar),
                    TD_U32(u->depart_id), TD_U32(u->status), S(u->sign_info)};
#undef S
    uint64_t insert_id = 0;
    if (td_exec(c, SQL_USER_ADD, a, 11, NULL, &insert_id) < 0)
        return -1;
    *id = (uint32_t)insert_id;
    return 0;
}

/* ---- departments ---- */

static const char SQL_DEPTS_SINCE[] =
    "SELECT id, priority, parentId, status, created, updated, departName FROM IMDepart "
    "WHERE updated > ?";
static const char SQL_DEPTS_ALL[] =
    "SELECT id, priority, parentId, status, created, updated, departName FROM IMDepart "
    "ORDER BY id";
static const char SQL_DEPT_EXISTS[] = "SELECT COUNT(*) FROM IMDepart WHERE id = ?";
static const char SQL_DEPT_ACTIVE[] = "SELECT COUNT(*) FROM IMDepart WHERE id = ? AND status = 0";
static const char SQL_DEPT_FIRST[] = "SELECT MIN(id) FROM IMDepart WHERE status = 0";
static const char SQL_DEPT_ADD[] =
    "INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) "
    "VALUES (?, ?, ?, 0, UNIX_TIMESTAMP(), UNIX_TIMESTAMP())";
static const char SQL_DEPT_RENAME[] =
    "UPDATE IMDepart SET departName = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";
static const char SQL_DEPT_PARENT[] = "SELECT parentId FROM IMDepart WHERE id = ?";
static const char SQL_DEPT_MOVE[] =
    "UPDATE IMDepart SET parentId = ?, updated = UNIX_TIMESTAMP() WHERE id = ?";

typedef struct dept_row_s {
    td_dept_t d;         /* numbers land here */
    char name[257];      /* varchar(64) */
    td_dept_list_t *out; /* rows go here */
} dept_row_t;

static int on_dept_row(void *arg)
{
    dept_row_t *r = arg;
    size_t len = strlen(r->name);
    td_dept_t *d = malloc(sizeof(*d) + len + 1);
    if (!d)
        return -1;
    *d = r->d;
    d->name = (char *)(d + 1);
    memcpy(d->name, r->name, len + 1);
    if (list_push((void ***)&r->out->v, &r->out->n, &r->out->cap, d) < 0) {
        free(d);
        return -1;
    }
    return 0;
}

void td_dept_list_free(td_dept_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int dept_query(td_conn_t *c, const char *sql, const td_arg_t *a, int n,
                      td_dept_list_t *out)
{
    dept_row_t r;
    memset(&r, 0, sizeof(r));
    r.out = out;
    td_col_t cols[] = {TD_COL_U32(&r.d.id),      TD_COL_U32(&r.d.priority),
                       TD_COL_U32(&r.d.parent_id), TD_COL_U32(&r.d.status),
                       TD_COL_U32(&r.d.created), TD_COL_U32(&r.d.updated),
                       TD_COL_STR(r.name)};
    return td_query(c, sql, a, n, cols, 7, on_dept_row, &r) == 0 ? 0 : -1;
}

int td_depts_changed(td_conn_t *c, uint32_t since, td_dept_list_t *out)
{
    td_arg_t a[] = {TD_U32(since)};
    return dept_query(c, SQL_DEPTS_SINCE, a, 1, out);
}

int td_depts_all(td_conn_t *c, td_dept_list_t *out)
{
    return dept_query(c, SQL_DEPTS_ALL, NULL, 0, out);
}

int td_dept_exists(td_conn_t *c, uint32_t id, int active_only)
{
    td_arg_t a[] = {TD_U32(id)};
    uint32_t n = 0;
    if (query_u32(c, active_only ? SQL_DEPT_ACTIVE : SQL_DEPT_EXISTS, a, 1, &n) < 0)
        return -1;
    return n > 0;
}

int td_dept_first(td_conn_t *c, uint32_t *id)
{
    /* MIN() over no rows is one NULL row, read as 0 */
    uint32_t v = 0;
    if (query_u32(c, SQL_DEPT_FIRST, NULL, 0, &v) < 0)
        return -1;
    *id = v;
    return v != 0;
}

int td_dept_add(td_conn_t *c, const char *name, uint32_t parent, uint32_t priority,
                uint32_t *id)
{
    td_arg_t a[] = {TD_STR(name), TD_U32(priority), TD_U32(parent)};
    uint64_t insert_id = 0;
    if (td_exec(c, SQL_DEPT_ADD, a, 3, NULL, &insert_id) < 0)
        return -1;
    *id = (uint32_t)insert_id;
    return 0;
}

int td_dept_rename(td_conn_t *c, uint32_t id, const char *name, uint64_t *matched)
{
    td_arg_t a[] = {TD_STR(name), TD_U32(id)};
    return td_exec(c, SQL_DEPT_RENAME, a, 2, matched, NULL);
}

int td_dept_parent(td_conn_t *c, uint32_t id, uint32_t *parent)
{
    td_arg_t a[] = {TD_U32(id)};
    return query_u32(c, SQL_DEPT_PARENT, a, 1, parent);
}

int td_dept_would_cycle(td_conn_t *c, uint32_t id, uint32_t parent)
{
    /* walks up from the new parent: meeting id (or a loop already there) is a cycle */
    uint32_t at = parent;
    for (int steps = 0; at != 0; steps++) {
        if (at == id || steps >= TD_DEPT_MAX_DEPTH)
            return 1;
        uint32_t up = 0;
        int rc = td_dept_parent(c, at, &up);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0; /* a dangling parent id ends the chain */
        at = up;
    }
    return 0;
}

int td_dept_move(td_conn_t *c, uint32_t id, uint32_t parent, uint64_t *matched)
{
    td_arg_t a[] = {TD_U32(parent), TD_U32(id)};
    return td_exec(c, SQL_DEPT_MOVE, a, 2, matched, NULL);
}
