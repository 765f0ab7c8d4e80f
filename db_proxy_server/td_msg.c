#include "td_msg.h"
#include "tt_pdu.h"

#include <mysqld_error.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_ATTEMPTS 3   /* a deadlock / lock wait timeout is retried this many times in all */
#define SESSION_ROWS_MAX 16 /* duplicate session rows of one (user, peer, type) looked at */

/* ---- pure parts ---- */

/* The first 8 bytes of SHA-256(head, data) as a number; 0 when OpenSSL is out of memory (a
 * key that never matches a real one's pattern). */
static uint64_t sha256_key(const uint8_t *head, size_t hlen, const uint8_t *data, size_t len)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, head, hlen) &&
             (len == 0 || EVP_DigestUpdate(ctx, data, len)) &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 8;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return 0;
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | md[i];
    return k;
}

uint64_t td_msg_client_key(uint32_t to, uint32_t client_msg_id, uint32_t type,
                           const uint8_t *data, size_t len)
{
    uint8_t head[16];
    tt_put32(head, to);
    tt_put32(head + 4, client_msg_id);
    tt_put32(head + 8, type);
    tt_put32(head + 12, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    return sha256_key(head, sizeof(head), data, len);
}

uint64_t td_msg_resend_key(uint32_t to, uint32_t type, uint32_t seq, uint32_t client_time,
                           const uint8_t *data, size_t len)
{
    static const char tag[9] = "tt-resend"; /* not NUL-terminated: 9 bytes */
    uint8_t head[9 + 20];
    memcpy(head, tag, sizeof(tag));
    tt_put32(head + 9, to);
    tt_put32(head + 13, type);
    tt_put32(head + 17, seq);
    tt_put32(head + 21, client_time);
    tt_put32(head + 25, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    return sha256_key(head, sizeof(head), data, len);
}

unsigned td_msg_shard(uint32_t relate_id) { return relate_id % TD_MSG_SHARDS; }

uint64_t td_msg_session_key(uint32_t type, uint32_t id) { return (uint64_t)type << 32 | id; }

int td_msg_audio_split(const uint8_t *data, size_t len, uint32_t *duration,
                       const uint8_t **audio, size_t *audio_len)
{
    if (!data || len <= 4)
        return -1;
    *duration = tt_get32(data);
    *audio = data + 4;
    *audio_len = len - 4;
    return 0;
}

/* ---- statements ---- */

#define Q10 "?,?,?,?,?,?,?,?,?,?"
#define Q100 Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10 "," Q10
#define SHARD_SQL(macro)                                                                      \
    {macro(0), macro(1), macro(2), macro(3), macro(4), macro(5), macro(6), macro(7)}

#define MSG_COLS "msgId, fromId, toId, created, type, IFNULL(content, '')"
#define MSG_MAX(n) "SELECT IFNULL(MAX(msgId), 0) FROM IMMessage_" #n " WHERE relateId = ?"
#define MSG_LIST(n)                                                                           \
    "SELECT " MSG_COLS " FROM IMMessage_" #n " WHERE relateId = ? AND status = 0 AND "        \
    "msgId <= ? ORDER BY msgId DESC LIMIT ?"
#define MSG_BY_IDS(n)                                                                         \
    "SELECT " MSG_COLS " FROM IMMessage_" #n " WHERE relateId = ? AND status = 0 AND "        \
    "msgId IN (" Q100 ") ORDER BY msgId DESC LIMIT 100"

static const char *const SQL_MSG_MAX[TD_MSG_SHARDS] = SHARD_SQL(MSG_MAX);
static const char *const SQL_MSG_LIST[TD_MSG_SHARDS] = SHARD_SQL(MSG_LIST);
static const char *const SQL_MSG_BY_IDS[TD_MSG_SHARDS] = SHARD_SQL(MSG_BY_IDS);

/* A removed session: the pair's row locked (a message being stored cannot interleave) and
 * its session time forgotten, so the next message makes both session rows active again. */
static const char SQL_PAIR_SESS_RESET[] =
    "INSERT INTO tt_pair_lock (smallId, bigId) VALUES (?, ?) "
    "ON DUPLICATE KEY UPDATE sessTime = 0, sessWas = 0";
/* The dedupe purge walks the primary key in chunks (migration 010 dropped idx_created, whose
 * upkeep cost every message more than the walk): the key TD_DEDUPE_CHUNK rows after the
 * cursor (a plain read), then the old rows up to it deleted. */
static int on_chunk_end(void *arg) { (void)arg; return 0; }
#define TD_DEDUPE_CHUNK_LAST "1999" /* OFFSET of the last row of a chunk of 2000 */
#define AFTER_CURSOR "(fromId > ? OR (fromId = ? AND clientKey > ?))"
static const char SQL_DEDUPE_CHUNK_END[] =
    "SELECT fromId, clientKey FROM tt_msg_dedupe FORCE INDEX (PRIMARY) WHERE " AFTER_CURSOR
    " ORDER BY fromId, clientKey LIMIT 1 OFFSET " TD_DEDUPE_CHUNK_LAST;
static const char SQL_DEDUPE_PURGE_TO[] =
    "DELETE FROM tt_msg_dedupe WHERE " AFTER_CURSOR " AND (fromId < ? OR (fromId = ? AND "
    "clientKey <= ?)) AND created < UNIX_TIMESTAMP() - ?";
static const char SQL_DEDUPE_PURGE_END[] =
    "DELETE FROM tt_msg_dedupe WHERE " AFTER_CURSOR " AND created < UNIX_TIMESTAMP() - ?";
/* The readers take the active row with the smallest id, as the writer (td_msg_batch.c) does
 * when it fills a conversation's row. */
static const char SQL_REL_FIND[] =
    "SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0 "
    "ORDER BY id LIMIT 1";
static const char SQL_AUDIO_ADD[] =
    "INSERT INTO IMAudio (fromId, toId, path, size, duration, created) "
    "VALUES (?, ?, '', ?, ?, ?)";
static const char SQL_BLOB_ADD[] = "INSERT INTO tt_audio_blob (audioId, data) VALUES (?, ?)";
static const char SQL_AUDIO_GET[] =
    "SELECT a.duration, IFNULL(LENGTH(b.data), 0), b.audioId IS NOT NULL FROM IMAudio a "
    "LEFT JOIN tt_audio_blob b ON b.audioId = a.id WHERE a.id = ?";
static const char SQL_BLOB_GET[] = "SELECT data FROM tt_audio_blob WHERE audioId = ?";
static const char SQL_SESS_RECENT[] =
    "SELECT peerId, type, updated FROM IMRecentSession WHERE userId = ? AND status = 0 AND "
    "type = ? AND updated > ? ORDER BY updated DESC, id DESC LIMIT ?";
static const char SQL_SESS_ACTIVE[] =
    "SELECT id FROM IMRecentSession WHERE userId = ? AND peerId = ? AND type = ? AND "
    "status = 0 LIMIT 16";
static const char SQL_SESS_OFF[] =
    "UPDATE IMRecentSession SET status = 1, updated = UNIX_TIMESTAMP() WHERE id = ?";

static const char *const SQL_USERS[] = {
    "SELECT id FROM IMUser WHERE id IN (" Q100 ")",
    "SELECT id FROM IMUser WHERE id IN (" Q10 ")",
    "SELECT id FROM IMUser WHERE id IN (?)",
};
static const size_t USERS_SHAPES[] = {100, 10, 1};

/* ---- small query helpers ---- */

typedef struct first_row_s {
    int found; /* a row came (only the first one is kept) */
} first_row_t;

static int on_first_row(void *arg)
{
    first_row_t *f = arg;
    f->found = 1;
    return 1; /* stop: the first row is enough */
}

/* The first row's numbers (ncols U32 columns): 1 found, 0 no row, -1 error. */
static int query_u32s(td_conn_t *c, const char *sql, const td_arg_t *a, int na, uint32_t *v,
                      int ncols)
{
    td_col_t cols[4];
    for (int i = 0; i < ncols; i++)
        cols[i] = TD_COL_U32(&v[i]);
    first_row_t f = {0};
    int rc = td_query(c, sql, a, na, cols, ncols, on_first_row, &f);
    if (rc < 0)
        return -1;
    return f.found;
}

static void order_pair(uint32_t a, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

static int pair_sessions_reset(td_conn_t *c, uint32_t a, uint32_t b)
{
    uint32_t lo, hi;
    order_pair(a, b, &lo, &hi);
    td_arg_t args[] = {TD_U32(lo), TD_U32(hi)};
    return td_exec(c, SQL_PAIR_SESS_RESET, args, 2, NULL, NULL);
}

/* ---- storing ---- */

int td_msg_max_id(td_conn_t *c, uint32_t relate_id, uint32_t *last)
{
    td_arg_t r[] = {TD_U32(relate_id)};
    *last = 0;
    return query_u32s(c, SQL_MSG_MAX[td_msg_shard(relate_id)], r, 1, last, 1) < 0 ? -1 : 0;
}

int td_msg_audio_store(td_conn_t *c, const td_msg_send_t *s, char *content, size_t *len)
{
    uint32_t duration;
    const uint8_t *audio;
    size_t audio_len;
    if (td_msg_audio_split(s->data, s->len, &duration, &audio, &audio_len) < 0)
        return -1;
    uint64_t id = 0;
    td_arg_t a[] = {TD_U32(s->from), TD_U32(s->to), TD_U32(audio_len), TD_U32(duration),
                    TD_U32(s->create_time)};
    if (td_exec(c, SQL_AUDIO_ADD, a, 5, NULL, &id) < 0)
        return -1;
    td_arg_t b[] = {TD_U32(id), TD_STRN((const char *)audio, audio_len)};
    if (td_exec(c, SQL_BLOB_ADD, b, 2, NULL, NULL) < 0)
        return -1;
    *len = (size_t)snprintf(content, TD_MSG_AUDIO_ID_LEN, "%u", (unsigned)id);
    return 0;
}

static int retryable(unsigned e)
{
    /* lock conflicts; a duplicate key only if a writer without the pair lock raced us */
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_DUP_ENTRY;
}

int td_msg_tx(td_conn_t *c, int (*body)(td_conn_t *c, void *arg), void *arg, int *attempts)
{
    for (int attempt = 1;; attempt++) {
        if (attempts)
            *attempts = attempt;
        if (td_begin(c) < 0)
            return -1;
        int rc = body(c, arg);
        if (rc > 0) {
            td_rollback(c); /* nothing written worth keeping; a failure here changes nothing */
            return 0;
        }
        if (rc == 0 && td_commit(c) == 0)
            return 0;
        unsigned e = td_conn_errno(c);
        /* Keep the error text: a rollback on a lost connection would replace it (and the
         * pool drops such a connection anyway). */
        if (!td_error_is_connection(e))
            td_rollback(c);
        if (!retryable(e) || attempt >= STORE_ATTEMPTS)
            return -1;
    }
}

int td_msg_store(td_conn_t *c, const td_msg_send_t *s, td_msg_sent_t *out)
{
    memset(out, 0, sizeof(*out));
    return td_msg_store_batch(c, s, 1, out);
}

typedef struct users_found_s {
    uint32_t id;              /* fetch buffer */
    const uint32_t *ids;      /* this statement's ids */
    uint8_t *missing;         /* their flags */
    size_t n;
} users_found_t;

static int on_user(void *arg)
{
    users_found_t *u = arg;
    for (size_t i = 0; i < u->n; i++)
        if (u->ids[i] == u->id)
            u->missing[i] = 0;
    return 0;
}

int td_users_missing(td_conn_t *c, const uint32_t *ids, size_t n, uint8_t *missing)
{
    td_arg_t a[100];
    for (size_t i = 0; i < n; i++)
        missing[i] = 1;
    for (size_t i = 0; i < n;) {
        /* the smallest shape that holds what is left (padded), else the largest */
        size_t left = n - i, s = sizeof(USERS_SHAPES) / sizeof(USERS_SHAPES[0]) - 1;
        while (s > 0 && USERS_SHAPES[s] < left)
            s--;
        size_t shape = USERS_SHAPES[s], take = left < shape ? left : shape;
        for (size_t r = 0; r < shape; r++)
            a[r] = TD_U32(ids[i + (r < take ? r : take - 1)]); /* padded with the last id */
        users_found_t u = {0, ids + i, missing + i, take};
        td_col_t cols[] = {TD_COL_U32(&u.id)};
        if (td_query(c, SQL_USERS[s], a, (int)shape, cols, 1, on_user, &u) < 0)
            return -1;
        i += take;
    }
    return 0;
}

/* Where the purge goes on: after this key (0, 0: from the start). One per process; another
 * db_proxy_server on the same database walks on its own. */
static pthread_mutex_t g_purge_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t g_purge_from;
static uint64_t g_purge_key;

int td_msg_dedupe_purge(td_conn_t *c, uint32_t window, uint64_t *deleted)
{
    pthread_mutex_lock(&g_purge_lock);
    uint32_t from = g_purge_from, end_from = 0;
    uint64_t key = g_purge_key, end_key = 0;
    td_arg_t a[7] = {TD_U32(from), TD_U32(from), TD_U64(key)};
    td_col_t cols[] = {TD_COL_U32(&end_from), TD_COL_U64(&end_key)};
    int rc = td_query(c, SQL_DEDUPE_CHUNK_END, a, 3, cols, 2, on_chunk_end, NULL);
    int found = rc == 0 && end_from != 0;
    if (rc == 0 && found) {
        a[3] = TD_U32(end_from);
        a[4] = TD_U32(end_from);
        a[5] = TD_U64(end_key);
        a[6] = TD_U32(window);
        rc = td_exec(c, SQL_DEDUPE_PURGE_TO, a, 7, deleted, NULL);
    } else if (rc == 0) {
        a[3] = TD_U32(window);
        rc = td_exec(c, SQL_DEDUPE_PURGE_END, a, 4, deleted, NULL);
    }
    if (rc == 0) { /* next time: the next chunk, or from the start again */
        g_purge_from = found ? end_from : 0;
        g_purge_key = found ? end_key : 0;
    }
    pthread_mutex_unlock(&g_purge_lock);
    return rc;
}

/* ---- reading ---- */

void td_msg_free(td_msg_t *m)
{
    if (!m)
        return;
    free(m->data);
    free(m);
}

void td_msg_list_free(td_msg_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        td_msg_free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int list_push(td_msg_list_t *l, td_msg_t *m)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        td_msg_t **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = m;
    return 0;
}

/* Fetch buffers of one message row (content: varchar(4096) utf8mb4, up to 4 bytes each, or
 * VARBINARY(16384) since migration 005). */
typedef struct msg_row_s {
    td_msg_t m;                              /* numbers land here */
    char content[TD_MSG_TEXT_MAX * 4 + 1];   /* content */
    td_col_t cols[6];                        /* bindings */
    td_msg_list_t *out;                      /* rows go here */
} msg_row_t;

static msg_row_t *msg_row_new(td_msg_list_t *out)
{
    msg_row_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    td_col_t cols[6] = {TD_COL_U32(&r->m.msg_id),  TD_COL_U32(&r->m.from_id),
                        TD_COL_U32(&r->m.to_id),   TD_COL_U32(&r->m.created),
                        TD_COL_U32(&r->m.type),    TD_COL_STR(r->content)};
    memcpy(r->cols, cols, sizeof(cols));
    r->out = out;
    return r;
}

static int on_msg_row(void *arg)
{
    msg_row_t *r = arg;
    size_t len = r->cols[5].len;
    if (len > sizeof(r->content) - 1)
        len = sizeof(r->content) - 1; /* cannot happen with the original column */
    td_msg_t *m = malloc(sizeof(*m));
    uint8_t *data = malloc(len + 1);
    if (!m || !data) {
        free(m);
        free(data);
        return -1;
    }
    *m = r->m;
    memcpy(data, r->content, len);
    data[len] = '\0';
    m->data = data;
    m->len = len;
    if (list_push(r->out, m) < 0) {
        td_msg_free(m);
        return -1;
    }
    return 0;
}

static int msg_query(td_conn_t *c, const char *sql, const td_arg_t *a, int na,
                     td_msg_list_t *out)
{
    msg_row_t *r = msg_row_new(out);
    if (!r)
        return -1;
    int rc = td_query(c, sql, a, na, r->cols, 6, on_msg_row, r);
    free(r);
    return rc == 0 ? 0 : -1;
}

/* The decimal IMAudio.id in a voice message's content; 0 when it is not one. */
static uint32_t audio_id_of(const td_msg_t *m)
{
    if (m->len == 0 || m->len > 10)
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < m->len; i++) {
        if (m->data[i] < '0' || m->data[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(m->data[i] - '0');
    }
    return v > 0x7fffffff ? 0 : (uint32_t)v;
}

/* Replaces a voice message's content (the audio id) with duration + audio bytes. A message
 * whose audio is not here (an original database keeps it on msfs) gets its duration and no
 * bytes. */
static int audio_expand(td_conn_t *c, td_msg_t *m)
{
    uint32_t id = audio_id_of(m), v[3] = {0, 0, 0};
    int found = 0;
    if (id) {
        td_arg_t a[] = {TD_U32(id)};
        found = query_u32s(c, SQL_AUDIO_GET, a, 1, v, 3);
        if (found < 0)
            return -1;
    }
    size_t len = found && v[2] ? v[1] : 0;
    uint8_t *data = malloc(4 + len + 1);
    if (!data)
        return -1;
    tt_put32(data, v[0]);
    if (len) {
        td_arg_t a[] = {TD_U32(id)};
        td_col_t col = {TD_T_STR, data + 4, len + 1, 0, 0, 0};
        first_row_t f = {0};
        if (td_query(c, SQL_BLOB_GET, a, 1, &col, 1, on_first_row, &f) < 0) {
            free(data);
            return -1;
        }
        if (!f.found)
            len = 0; /* deleted meanwhile */
        else if (col.len < len)
            len = col.len;
    }
    free(m->data);
    m->data = data;
    m->len = 4 + len;
    return 0;
}

/* Expands the voice messages of a list, in order, dropping those beyond max_bytes. */
static int expand_list(td_conn_t *c, td_msg_list_t *l, size_t max_bytes)
{
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++) {
        td_msg_t *m = l->v[i];
        if ((m->type == TD_MSG_TYPE_AUDIO || m->type == TD_MSG_TYPE_GROUP_AUDIO) &&
            audio_expand(c, m) < 0)
            return -1;
        total += m->len + 32; /* + the MsgInfo around it */
        if (i > 0 && total > max_bytes) {
            for (size_t k = i; k < l->n; k++)
                td_msg_free(l->v[k]);
            l->n = i;
            break;
        }
    }
    return 0;
}

int td_msg_rows(td_conn_t *c, const char *sql, const td_arg_t *a, int na, size_t max_bytes,
                td_msg_list_t *out)
{
    if (msg_query(c, sql, a, na, out) < 0)
        return -1;
    return max_bytes ? expand_list(c, out, max_bytes) : 0;
}

int td_relation_find(td_conn_t *c, uint32_t a, uint32_t b, uint32_t *relate_id)
{
    uint32_t lo, hi;
    order_pair(a, b, &lo, &hi);
    td_arg_t args[] = {TD_U32(lo), TD_U32(hi)};
    return query_u32s(c, SQL_REL_FIND, args, 2, relate_id, 1);
}

int td_msg_list(td_conn_t *c, uint32_t relate_id, uint32_t begin, uint32_t cnt,
                size_t max_bytes, td_msg_list_t *out)
{
    if (cnt == 0)
        return 0;
    td_arg_t a[] = {TD_U32(relate_id), TD_U32(begin ? begin : UINT32_MAX), TD_U32(cnt)};
    if (msg_query(c, SQL_MSG_LIST[td_msg_shard(relate_id)], a, 3, out) < 0)
        return -1;
    return expand_list(c, out, max_bytes);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int td_msg_by_ids(td_conn_t *c, uint32_t relate_id, const uint32_t *ids, size_t n,
                  size_t max_bytes, td_msg_list_t *out)
{
    uint32_t sorted[TD_MSG_IDS_MAX];
    if (n > TD_MSG_IDS_MAX)
        n = TD_MSG_IDS_MAX;
    size_t m = 0;
    memcpy(sorted, ids, n * sizeof(*ids));
    qsort(sorted, n, sizeof(*sorted), cmp_u32);
    for (size_t i = 0; i < n; i++) /* distinct, non-zero */
        if (sorted[i] != 0 && (m == 0 || sorted[m - 1] != sorted[i]))
            sorted[m++] = sorted[i];
    if (m == 0)
        return 0;
    td_arg_t a[1 + TD_MSG_IDS_MAX];
    a[0] = TD_U32(relate_id);
    for (size_t k = 0; k < TD_MSG_IDS_MAX; k++) /* unused places repeat an id */
        a[1 + k] = TD_U32(sorted[k < m ? k : 0]);
    if (msg_query(c, SQL_MSG_BY_IDS[td_msg_shard(relate_id)], a, 1 + TD_MSG_IDS_MAX, out) < 0)
        return -1;
    return expand_list(c, out, max_bytes);
}

int td_msg_latest(td_conn_t *c, uint32_t relate_id, td_msg_t **out)
{
    *out = NULL;
    td_msg_list_t l = {0};
    td_arg_t a[] = {TD_U32(relate_id), TD_U32(UINT32_MAX), TD_U32(1)};
    if (msg_query(c, SQL_MSG_LIST[td_msg_shard(relate_id)], a, 3, &l) < 0) {
        td_msg_list_free(&l);
        return -1;
    }
    if (l.n == 0) {
        td_msg_list_free(&l);
        return 0;
    }
    *out = l.v[0];
    l.v[0] = NULL;
    l.n = 0;
    td_msg_list_free(&l);
    return 1;
}

/* ---- recent sessions ---- */

typedef struct session_rows_s {
    td_session_t row;  /* fetch buffer */
    td_session_t *out; /* results */
    size_t max, n;
} session_rows_t;

static int on_session(void *arg)
{
    session_rows_t *s = arg;
    for (size_t i = 0; i < s->n; i++)
        if (s->out[i].peer_id == s->row.peer_id)
            return 0; /* a duplicate row of the original: the newest one counts */
    if (s->n < s->max)
        s->out[s->n++] = s->row;
    return 0;
}

int td_sessions_recent(td_conn_t *c, uint32_t user, uint32_t type, uint32_t since,
                       td_session_t *out, size_t max, size_t *n)
{
    session_rows_t s;
    memset(&s, 0, sizeof(s));
    s.out = out;
    s.max = max;
    *n = 0;
    td_arg_t a[] = {TD_U32(user), TD_U32(type), TD_U32(since), TD_U32(max)};
    td_col_t cols[] = {TD_COL_U32(&s.row.peer_id), TD_COL_U32(&s.row.type),
                       TD_COL_U32(&s.row.updated)};
    if (td_query(c, SQL_SESS_RECENT, a, 4, cols, 3, on_session, &s) < 0)
        return -1;
    *n = s.n;
    return 0;
}

typedef struct ids_s {
    uint32_t id;                   /* fetch buffer */
    uint32_t v[SESSION_ROWS_MAX];  /* ids */
    size_t n;
} ids_t;

static int on_id(void *arg)
{
    ids_t *ids = arg;
    if (ids->n < SESSION_ROWS_MAX)
        ids->v[ids->n++] = ids->id;
    return 0;
}

static int session_remove_tx(td_conn_t *c, uint32_t user, uint32_t peer, uint32_t type,
                             int *removed)
{
    if (type == TD_SESSION_SINGLE && pair_sessions_reset(c, user, peer) < 0)
        return -1;
    ids_t ids;
    memset(&ids, 0, sizeof(ids));
    td_arg_t a[] = {TD_U32(user), TD_U32(peer), TD_U32(type)};
    td_col_t col[] = {TD_COL_U32(&ids.id)};
    if (td_query(c, SQL_SESS_ACTIVE, a, 3, col, 1, on_id, &ids) < 0)
        return -1;
    for (size_t i = 0; i < ids.n; i++) {
        td_arg_t u[] = {TD_U32(ids.v[i])};
        if (td_exec(c, SQL_SESS_OFF, u, 1, NULL, NULL) < 0)
            return -1;
    }
    *removed = ids.n > 0;
    return 0;
}

typedef struct remove_s {
    uint32_t user, peer, type;
    int removed;
} remove_t;

static int remove_body(td_conn_t *c, void *arg)
{
    remove_t *r = arg;
    r->removed = 0;
    return session_remove_tx(c, r->user, r->peer, r->type, &r->removed);
}

int td_session_remove(td_conn_t *c, uint32_t user, uint32_t peer, uint32_t type, int *removed)
{
    remove_t r = {user, peer, type, 0};
    int rc = td_msg_tx(c, remove_body, &r, NULL);
    *removed = rc == 0 ? r.removed : 0;
    return rc;
}
