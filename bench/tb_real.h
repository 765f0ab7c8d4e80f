/* tb_real: tt-bench's realistic mode ("tt-bench real"): many conversations, each sender at a
 * human pace, with msg_id 0 and the shipped clients' create_time, and the runs built on it:
 * a first-contact run and a warm one reported apart (--contact both), and a sweep of
 * increasing offered rates that finds the highest one whose p99 send->ack stays under a bound
 * (--sweep). A single run is an ordinary send run with other defaults, made in this process;
 * --contact both and --sweep run every step in a forked child (the same code, --json) and
 * read its JSON back. The pure parts (pairing, sweep lists, verdicts) are exposed for the
 * self-test. */
#ifndef TB_REAL_H
#define TB_REAL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_cpu.h"

/* The half rule of --pair-offset K: of count clients, receivers are the upper half
 * base = count - count/2 .. count-1; sender i (i < senders <= count/2) sends to
 * base + (i + K) mod (count/2). Pairs of two different K (mod count/2) share nothing, so a
 * new K gives conversations that never talked. */
uint32_t tb_half_partner(uint32_t count, uint32_t offset, uint32_t i);
/* The sender of client j under that rule, UINT32_MAX when nobody sends to it. */
uint32_t tb_half_sender(uint32_t count, uint32_t senders, uint32_t offset, uint32_t j);

/* --sweep conversations=LIST | rate=LIST: strictly increasing values, comma separated. */
#define TB_SWEEP_MAX 32
typedef enum { TB_SWEEP_NONE, TB_SWEEP_CONVERSATIONS, TB_SWEEP_RATE } tb_sweep_kind_t;
typedef struct tb_sweep_s {
    tb_sweep_kind_t kind;
    int n;                       /* values */
    double v[TB_SWEEP_MAX];      /* conversations (integers) or messages/s per sender */
} tb_sweep_t;
int tb_sweep_parse(const char *arg, tb_sweep_t *sw, char *err, size_t errlen);

/* One run's figures, read from its JSON. */
typedef struct tb_step_cpu_s {
    char name[64];
    int ok;
    double percent, us_per_msg; /* us_per_msg < 0: nothing acked */
    double net_us_per_msg;      /* above the idle baseline, < 0: unknown */
} tb_step_cpu_t;

typedef struct tb_step_s {
    char label[32];              /* "prime", "1", "first-contact", "warm" */
    uint32_t conversations;
    double rate, offered;        /* per sender; conversations x rate */
    int rc;                      /* the run's exit status (130 interrupted) */
    int ran;                     /* its JSON was read */
    int counted;                 /* part of the sweep's verdict (the prime step is not) */
    uint64_t login_failed, sent, acked, unacked5;
    double sent_ps, acked_ps, delivered_ps;
    double p50_ms, p99_ms;       /* send->ack; -1 when nothing was acked */
    int n_cpu;
    tb_step_cpu_t cpu[TB_CPU_MAX];
    double watched_us_per_msg;   /* sum over the watched processes, -1 unknown */
    double watched_net_us_per_msg; /* the same above the idle baseline, -1 unknown */
    int pass;                    /* verdict */
    char why[128];               /* why it failed */
    void *json;                  /* the run's JSON object (json_t *), owned */
} tb_step_t;

/* Pass: figures read, exit 0, no failed login, p99 <= bound, nothing unacked after 5 s and
 * acked/s >= min_share x offered. Sets st->pass and st->why; returns st->pass. */
int tb_step_verdict(tb_step_t *st, double p99_bound_ms, double min_share);
/* The step with the highest offered rate among the counted steps that passed before the first
 * counted one that failed; -1 when the first one failed (or none ran). */
int tb_sweep_best(const tb_step_t *steps, int n);
/* Fills st from a run's JSON text (st->json then owns the parsed object). 0 ok, -1 not a
 * tt-bench send run's JSON. */
int tb_step_from_json(tb_step_t *st, const char *text, size_t len);
void tb_step_free(tb_step_t *st);

/* Entry point: the realistic mode when "real" is the mode (positional or --mode real), else
 * bench_main(argc, argv) itself. std_opts: tt-bench's own options. */
int tb_real_main(int argc, char **argv, const struct option *std_opts,
                 int (*bench_main)(int, char **));

/* Self-test of the pure parts: returns failures, adds to *checks. */
int tb_real_self_test(int *checks);

#endif
