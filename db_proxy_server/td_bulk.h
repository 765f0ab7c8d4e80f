/* td_bulk: the statement shapes of the batch stores (td_msg_batch.c, td_group_batch.c), on
 * td_mysql.h alone.
 *
 * A kind is a statement made of a head, rows (or conditions) between separators, and a tail.
 * A write has one row and runs as a bulk execution (td_exec_bulk: one round trip for any
 * number of rows). A read is built in fixed shapes (256, 64, 16, 4 and 1 rows); a read over
 * any number of items runs as a few statements of those shapes, padded by repeating the last
 * item, so each connection prepares a bounded set of statements once and reuses them.
 * Multi-row reads are best written as row IN lists, `(a, b) IN ((?, ?), ...)`, naming their
 * index: a third of the time of the same conditions OR-ed at 256 keys. A "read" may also be an
 * upsert with RETURNING (its padding rows then given zeros, pad_zero). */
#ifndef TD_BULK_H
#define TD_BULK_H

#include <stdatomic.h>

#include "td_mysql.h"

#define TD_BULK_SHAPES 5 /* 256, 64, 16, 4, 1 */

typedef struct td_bulk_kind_s {
    const char *head; /* text before the rows */
    const char *row;  /* one row (or condition) */
    const char *sep;  /* between rows */
    const char *tail; /* text after the rows */
    int args;         /* parameters per row (a read: at most TD_MAX_ARGS / 256) */
    int write;        /* one row, run in bulk (else a read, in shapes) */
    int pad_zero;     /* a read that writes (INSERT ... RETURNING), > 0: in a padding row the
                       * parameters from this one on are 0, and such a row must change
                       * nothing; 0: padding repeats the last item as it is */
} td_bulk_kind_t;

/* A table of kinds and the texts built from it, in static storage of the caller's:
 *   static char *text[N][TD_BULK_SHAPES];
 *   static td_bulk_t sql = {.kinds = KINDS, .nkinds = N, .text = text}; */
typedef struct td_bulk_s {
    const td_bulk_kind_t *kinds;
    int nkinds;
    char *(*text)[TD_BULK_SHAPES]; /* nkinds rows: a write's text in [0], a read's per shape */
    atomic_int state;              /* 0 not built yet, 1 built, -1 could not be built */
} td_bulk_t;

/* Builds the texts of t once (thread-safe; they are never freed: a few kilobytes). 0 when they
 * are there, -1 when they could not be built (out of memory, a read with too many
 * parameters): for good, the next calls fail too. */
int td_bulk_ready(td_bulk_t *t);

/* Writes the parameters of item i (kinds[kind].args of them) from ctx. */
typedef void (*td_bulk_fill_fn)(void *ctx, size_t i, td_arg_t *a);

/* A read of kind over `count` items: statements of the smallest shape that holds what is left
 * (at most 256), padded by repeating the last item — or of the next smaller one when padding
 * would more than double the conditions (every row read is checked against all of them); the
 * rows go to on_row(ctx) as for td_query. 0 ok (nothing run for count 0), -1 on a database
 * error or when on_row returned -1. */
int td_bulk_read(td_conn_t *c, const td_bulk_t *t, int kind, size_t count,
                 td_bulk_fill_fn fill, void *ctx, td_col_t *cols, int ncols,
                 int (*on_row)(void *ctx));

/* A write of kind for `count` rows in one bulk execution; the rows changed are added to
 * *affected (may be NULL). 0 ok (nothing run for count 0), -1 error. */
int td_bulk_write(td_conn_t *c, const td_bulk_t *t, int kind, size_t count,
                  td_bulk_fill_fn fill, void *ctx, uint64_t *affected);

#endif
