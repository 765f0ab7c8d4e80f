#include "tb_hist.h"

#include <string.h>

#define SUB_BITS 6 /* 64 buckets per power of two */
#define MAX_VALUE ((UINT64_C(1) << 40) - 1)

void tb_hist_init(tb_hist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static unsigned msb(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

unsigned tb_hist_index(uint64_t v)
{
    if (v > MAX_VALUE)
        v = MAX_VALUE;
    if (v < (1u << (SUB_BITS + 1)))
        return (unsigned)v;
    unsigned shift = msb(v) - SUB_BITS;
    return shift * (1u << SUB_BITS) + (unsigned)(v >> shift);
}

uint64_t tb_hist_upper(unsigned idx)
{
    if (idx < (1u << (SUB_BITS + 1)))
        return idx;
    unsigned shift = idx / (1u << SUB_BITS) - 1;
    uint64_t m = idx % (1u << SUB_BITS) + (1u << SUB_BITS);
    return ((m + 1) << shift) - 1;
}

void tb_hist_record(tb_hist_t *h, uint64_t v)
{
    h->counts[tb_hist_index(v)]++;
    h->total++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->sum += (double)v;
}

void tb_hist_merge(tb_hist_t *into, const tb_hist_t *from)
{
    for (unsigned i = 0; i < TB_HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->sum += from->sum;
}

uint64_t tb_hist_quantile(const tb_hist_t *h, double q)
{
    if (h->total == 0)
        return 0;
    if (q >= 1.0)
        return h->max;
    uint64_t rank = (uint64_t)(q * (double)h->total);
    if ((double)rank < q * (double)h->total)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < TB_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = tb_hist_upper(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

double tb_hist_mean(const tb_hist_t *h) { return h->total ? h->sum / (double)h->total : 0.0; }

uint64_t tb_hist_count_above(const tb_hist_t *h, uint64_t limit)
{
    if (h->total == 0 || h->max <= limit)
        return 0;
    uint64_t n = 0;
    for (unsigned i = tb_hist_index(limit) + 1; i < TB_HIST_BUCKETS; i++)
        n += h->counts[i];
    return n;
}
