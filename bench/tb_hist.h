/* tb_hist: a latency histogram with logarithmic buckets (HDR-like): values below 128 are
 * exact, above that every power of two is split into 64 buckets, so any percentile is off by
 * less than 1.6 %. Values are microseconds up to 2^40 (larger ones are clamped). Fixed size,
 * no allocation; histograms of several threads are merged by adding. */
#ifndef TB_HIST_H
#define TB_HIST_H

#include <stdint.h>

#define TB_HIST_BUCKETS 2240

typedef struct tb_hist_s {
    uint64_t counts[TB_HIST_BUCKETS]; /* per-bucket counts */
    uint64_t total;                   /* values recorded */
    uint64_t min, max;                /* exact extremes */
    double sum;                       /* for the mean */
} tb_hist_t;

void tb_hist_init(tb_hist_t *h);
void tb_hist_record(tb_hist_t *h, uint64_t v);
void tb_hist_merge(tb_hist_t *into, const tb_hist_t *from);
/* Value at quantile q in [0, 1]: the highest value of the bucket holding that rank (never
 * above the exact maximum). 0 when empty. */
uint64_t tb_hist_quantile(const tb_hist_t *h, double q);
double tb_hist_mean(const tb_hist_t *h);
/* Values above limit, to the bucket: values in limit's own bucket count as not above (so
 * the answer may miss values less than 1.6 % above limit). */
uint64_t tb_hist_count_above(const tb_hist_t *h, uint64_t limit);

/* Bucket helpers (exposed for the self-test). */
unsigned tb_hist_index(uint64_t v);
uint64_t tb_hist_upper(unsigned idx);

#endif
