/* td_bulk: statement shapes built once, reads in fixed shapes, writes in bulk (td_bulk.h). */
#include "td_bulk.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t SHAPES[TD_BULK_SHAPES] = {256, 64, 16, 4, 1}; /* rows per read statement */

static pthread_mutex_t g_build_lock = PTHREAD_MUTEX_INITIALIZER;

/* The text of kind d with `rows` rows (malloc'ed), or NULL. */
static char *kind_text(const td_bulk_kind_t *d, size_t rows)
{
    size_t len = strlen(d->head) + strlen(d->tail) + 1 +
                 rows * (strlen(d->row) + strlen(d->sep));
    char *q = malloc(len);
    if (!q)
        return NULL;
    size_t o = (size_t)snprintf(q, len, "%s", d->head);
    for (size_t r = 0; r < rows; r++)
        o += (size_t)snprintf(q + o, len - o, "%s%s", r ? d->sep : "", d->row);
    snprintf(q + o, len - o, "%s", d->tail);
    return q;
}

static int build(td_bulk_t *t)
{
    for (int k = 0; k < t->nkinds; k++) {
        const td_bulk_kind_t *d = &t->kinds[k];
        if (!d->write && SHAPES[0] * (size_t)d->args > TD_MAX_ARGS)
            return -1;
        for (size_t s = 0; s < (d->write ? 1 : TD_BULK_SHAPES); s++)
            if (!(t->text[k][s] = kind_text(d, d->write ? 1 : SHAPES[s])))
                return -1;
    }
    return 0;
}

int td_bulk_ready(td_bulk_t *t)
{
    int state = atomic_load_explicit(&t->state, memory_order_acquire);
    if (state == 0) {
        pthread_mutex_lock(&g_build_lock);
        state = atomic_load_explicit(&t->state, memory_order_relaxed);
        if (state == 0) {
            state = build(t) == 0 ? 1 : -1;
            atomic_store_explicit(&t->state, state, memory_order_release);
        }
        pthread_mutex_unlock(&g_build_lock);
    }
    return state > 0 ? 0 : -1;
}

int td_bulk_read(td_conn_t *c, const td_bulk_t *t, int kind, size_t count,
                 td_bulk_fill_fn fill, void *ctx, td_col_t *cols, int ncols,
                 int (*on_row)(void *ctx))
{
    td_arg_t args[TD_MAX_ARGS];
    size_t per = (size_t)t->kinds[kind].args;
    for (size_t i = 0; i < count;) {
        size_t left = count - i, s = 0;
        while (s + 1 < TD_BULK_SHAPES && SHAPES[s + 1] >= left)
            s++;
        if (SHAPES[s] > 2 * left && s + 1 < TD_BULK_SHAPES)
            s++; /* padding would more than double it: this smaller shape, then another */
        size_t take = left < SHAPES[s] ? left : SHAPES[s];
        for (size_t r = 0; r < SHAPES[s]; r++) {
            fill(ctx, i + (r < take ? r : take - 1), args + r * per);
            for (size_t a = (size_t)t->kinds[kind].pad_zero; r >= take && a && a < per; a++)
                args[r * per + a].num = 0; /* a padding row that changes nothing */
        }
        if (td_query(c, t->text[kind][s], args, (int)(SHAPES[s] * per), cols, ncols, on_row,
                     ctx) < 0)
            return -1;
        i += take;
    }
    return 0;
}

int td_bulk_write(td_conn_t *c, const td_bulk_t *t, int kind, size_t count,
                  td_bulk_fill_fn fill, void *ctx, uint64_t *affected)
{
    if (count == 0)
        return 0;
    size_t per = (size_t)t->kinds[kind].args;
    td_arg_t *args = malloc(count * per * sizeof(*args));
    if (!args)
        return -1;
    for (size_t i = 0; i < count; i++)
        fill(ctx, i, args + i * per);
    uint64_t changed = 0;
    int rc = td_exec_bulk(c, t->text[kind][0], args, (int)per, count, &changed);
    free(args);
    if (affected)
        *affected += changed;
    return rc;
}
