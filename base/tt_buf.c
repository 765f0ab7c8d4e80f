#include "tt_buf.h"

#include <stdlib.h>
#include <string.h>

void tt_buf_init(tt_buf_t *b) { memset(b, 0, sizeof(*b)); }

void tt_buf_free(tt_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int tt_buf_reserve(tt_buf_t *b, size_t n)
{
    if (b->cap - b->end >= n)
        return 0;
    size_t len = b->end - b->start;
    /* Slide unread bytes to the front when that makes enough room. */
    if (b->start > 0 && b->cap - len >= n) {
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = len;
        return 0;
    }
    if (n > SIZE_MAX / 2 - len)
        return -1;
    size_t want = len + n;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    uint8_t *p;
    if (b->start == 0) {
        p = realloc(b->data, cap);
        if (!p)
            return -1;
    } else {
        p = malloc(cap);
        if (!p)
            return -1;
        memcpy(p, b->data + b->start, len);
        free(b->data);
    }
    b->data = p;
    b->cap = cap;
    b->start = 0;
    b->end = len;
    return 0;
}

void tt_buf_commit(tt_buf_t *b, size_t n) { b->end += n; }

int tt_buf_append(tt_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (tt_buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->end, p, n);
    b->end += n;
    return 0;
}

void tt_buf_consume(tt_buf_t *b, size_t n)
{
    b->start += n;
    if (b->start >= b->end)
        b->start = b->end = 0;
}

void tt_buf_trim(tt_buf_t *b, size_t keep)
{
    if (b->start != b->end || b->cap <= keep)
        return;
    free(b->data);
    b->data = NULL;
    b->cap = b->start = b->end = 0;
}
