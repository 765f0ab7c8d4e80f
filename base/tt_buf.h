/* tt_buf: a growable byte buffer with a read offset, owned by whoever embeds it.
 * Memory is allocated lazily and can be given back when the buffer drains, so idle
 * connections cost no buffer memory. */
#ifndef TT_BUF_H
#define TT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct tt_buf_s {
    uint8_t *data;  /* allocation, NULL until the first write */
    size_t start;   /* offset of the first unread byte */
    size_t end;     /* offset one past the last written byte */
    size_t cap;     /* size of the allocation */
} tt_buf_t;

void tt_buf_init(tt_buf_t *b);
void tt_buf_free(tt_buf_t *b);

static inline size_t tt_buf_len(const tt_buf_t *b) { return b->end - b->start; }
static inline uint8_t *tt_buf_head(const tt_buf_t *b) { return b->data + b->start; }
static inline uint8_t *tt_buf_tail(const tt_buf_t *b) { return b->data + b->end; }
static inline size_t tt_buf_room(const tt_buf_t *b) { return b->cap - b->end; }

/* Make at least n bytes writable at the tail. 0 ok, -1 out of memory. */
int tt_buf_reserve(tt_buf_t *b, size_t n);
/* Mark n bytes written at the tail (after tt_buf_reserve). */
void tt_buf_commit(tt_buf_t *b, size_t n);
int tt_buf_append(tt_buf_t *b, const void *p, size_t n);
/* Drop n bytes from the head. */
void tt_buf_consume(tt_buf_t *b, size_t n);
/* Give the memory back if the buffer is empty (keeps up to keep bytes allocated). */
void tt_buf_trim(tt_buf_t *b, size_t keep);

#endif
