/* file_server: the task table, task ids, the on-disk names and the 960-byte offline file
 * header. No sockets and no files here (unit-tested in test/unit/test_fs_task.c). */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/* ---- ids ---- */

int fs_task_id_new(char out[FS_ID_LEN + 1])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -1;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int fs_task_id_valid(const char *s)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < FS_ID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0; /* a NUL ends it here too */
    }
    return s[FS_ID_LEN] == '\0';
}

uint64_t fs_task_key(const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return h;
}

int fs_task_subdir(char *out, size_t outlen, const char *dir, const char *id)
{
    if (!fs_task_id_valid(id))
        return -1;
    int n = snprintf(out, outlen, "%s/%.2s", dir, id);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int fs_task_path(char *out, size_t outlen, const char *dir, const char *id, const char *suffix)
{
    if (!fs_task_id_valid(id))
        return -1;
    int n = snprintf(out, outlen, "%s/%.2s/%s%s", dir, id, id, suffix ? suffix : "");
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---- header ---- */

#define H_ID 0
#define H_FROM 128
#define H_TO 192
#define H_TIME 256
#define H_NAME 384
#define H_SIZE 896

static void put_field(uint8_t *out, size_t off, size_t width, const char *s)
{
    size_t n = strlen(s);
    if (n > width - 1)
        n = width - 1; /* always NUL-terminated, as the original reads it */
    memcpy(out + off, s, n);
}

void fs_header_encode(uint8_t out[FS_HEADER_LEN], const fs_header_t *h)
{
    char num[32];
    memset(out, 0, FS_HEADER_LEN);
    put_field(out, H_ID, 128, h->id);
    snprintf(num, sizeof(num), "%u", (unsigned)h->from);
    put_field(out, H_FROM, 64, num);
    snprintf(num, sizeof(num), "%u", (unsigned)h->to);
    put_field(out, H_TO, 64, num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)h->created);
    put_field(out, H_TIME, 128, num);
    put_field(out, H_NAME, 512, h->name);
    snprintf(num, sizeof(num), "%u", (unsigned)h->size);
    put_field(out, H_SIZE, 64, num);
}

/* A NUL-terminated field copied out; -1 when it fills its width. */
static int get_field(const uint8_t *in, size_t off, size_t width, char *out, size_t outlen)
{
    const uint8_t *nul = memchr(in + off, 0, width);
    if (!nul)
        return -1;
    size_t n = (size_t)(nul - (in + off));
    if (n >= outlen)
        return -1;
    memcpy(out, in + off, n);
    out[n] = '\0';
    return 0;
}

static int get_number(const uint8_t *in, size_t off, size_t width, uint64_t max, uint64_t *v)
{
    char s[64];
    if (get_field(in, off, width, s, sizeof(s)) < 0 || !s[0] || strlen(s) > 20)
        return -1;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (x > (max - (uint64_t)(*p - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return 0;
}

int fs_header_decode(const uint8_t in[FS_HEADER_LEN], fs_header_t *h)
{
    uint64_t from, to, size, created;
    memset(h, 0, sizeof(*h));
    /* what the original checks on a download (to_user, size) and what names the file must be
     * right; the time and the name (which the original leaves empty) are only informative */
    if (get_field(in, H_ID, 128, h->id, sizeof(h->id)) < 0 || !fs_task_id_valid(h->id) ||
        get_number(in, H_FROM, 64, UINT32_MAX, &from) < 0 ||
        get_number(in, H_TO, 64, UINT32_MAX, &to) < 0 ||
        get_number(in, H_SIZE, 64, UINT32_MAX, &size) < 0)
        return -1;
    if (get_number(in, H_TIME, 128, UINT64_MAX, &created) < 0)
        created = 0;
    if (get_field(in, H_NAME, 512, h->name, sizeof(h->name)) < 0) {
        memcpy(h->name, in + H_NAME, sizeof(h->name) - 1);
        h->name[sizeof(h->name) - 1] = '\0';
    }
    h->from = (uint32_t)from;
    h->to = (uint32_t)to;
    h->size = (uint32_t)size;
    h->created = created;
    return 0;
}

/* ---- table ---- */

void fs_table_init(fs_table_t *t, size_t max)
{
    tt_map_init(&t->map);
    t->max = max;
}

void fs_table_free(fs_table_t *t)
{
    for (size_t i = 0; i < t->map.cap; i++) {
        fs_task_t *task = t->map.slots[i].value;
        if (!task)
            continue;
        if (task->fd >= 0)
            close(task->fd);
        free(task);
    }
    tt_map_free(&t->map);
}

fs_task_t *fs_table_get(const fs_table_t *t, const char *id)
{
    if (!fs_task_id_valid(id))
        return NULL;
    fs_task_t *task = tt_map_get(&t->map, fs_task_key(id));
    return task && strcmp(task->id, id) == 0 ? task : NULL;
}

static fs_task_t *insert(fs_table_t *t, fs_task_t *task)
{
    task->key = fs_task_key(task->id);
    task->fd = -1;
    if (tt_map_get(&t->map, task->key) || tt_map_put(&t->map, task->key, task) < 0) {
        free(task);
        return NULL;
    }
    return task;
}

fs_task_t *fs_table_create(fs_table_t *t, uint32_t from, uint32_t to, uint32_t size, int mode,
                           const char *name, uint64_t now_s, uint64_t now_ms)
{
    if (fs_table_len(t) >= t->max)
        return NULL;
    fs_task_t *task = calloc(1, sizeof(*task));
    if (!task)
        return NULL;
    for (int tries = 0;; tries++) { /* a key already used (2^-64 per task) draws again */
        if (tries == 4 || fs_task_id_new(task->id) < 0) {
            free(task);
            return NULL;
        }
        if (!tt_map_get(&t->map, fs_task_key(task->id)))
            break;
    }
    task->from = from;
    task->to = to;
    task->size = size;
    task->mode = mode;
    snprintf(task->name, sizeof(task->name), "%s", name ? name : "");
    task->created = now_s;
    task->active_ms = now_ms;
    return insert(t, task);
}

fs_task_t *fs_table_adopt(fs_table_t *t, const fs_header_t *h, uint64_t now_ms)
{
    if (fs_table_len(t) >= t->max || !fs_task_id_valid(h->id))
        return NULL;
    fs_task_t *task = calloc(1, sizeof(*task));
    if (!task)
        return NULL;
    memcpy(task->id, h->id, sizeof(task->id));
    task->from = h->from;
    task->to = h->to;
    task->size = h->size;
    task->mode = FS_OFFLINE;
    snprintf(task->name, sizeof(task->name), "%s", h->name);
    task->created = h->created;
    task->active_ms = now_ms;
    task->complete = 1;
    return insert(t, task);
}

void fs_table_remove(fs_table_t *t, fs_task_t *task)
{
    if (tt_map_get(&t->map, task->key) == task)
        tt_map_del(&t->map, task->key);
}

size_t fs_table_select(const fs_table_t *t, int (*fn)(const fs_task_t *, void *), void *arg,
                       fs_task_t **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < t->map.cap && n < max; i++) {
        fs_task_t *task = t->map.slots[i].value;
        if (task && fn(task, arg))
            out[n++] = task;
    }
    return n;
}
