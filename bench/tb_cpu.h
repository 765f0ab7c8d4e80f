/* tb_cpu: CPU time of other processes over the measured phase, from /proc/PID/stat (utime +
 * stime, clock ticks), for every --watch-pid process and tt-bench itself. The coordinator
 * samples once when the measured window starts and once when the run ends (after the drain);
 * the report turns the difference into % of one core and CPU microseconds per acked message.
 * Nothing here allocates. */
#ifndef TB_CPU_H
#define TB_CPU_H

#include <stdint.h>
#include <sys/types.h>

#include "tb_rss.h"

#define TB_CPU_MAX 17 /* TB_MAX_WATCH watched processes + tt-bench itself */

typedef struct tb_cpu_proc_s {
    char name[64];      /* --watch-pid label, or "tt-bench" */
    pid_t pid;          /* process */
    int ok;             /* both samples read */
    uint64_t t0, t1;    /* utime + stime in clock ticks at the two samples */
    int base_ok;        /* idle baseline read */
    double base_frac;   /* idle baseline: CPU seconds per second before the logins */
} tb_cpu_proc_t;

typedef struct tb_cpu_s {
    int n;                       /* processes, tt-bench itself last */
    int begun, ended;            /* samples taken */
    long hz;                     /* clock ticks per second (sysconf _SC_CLK_TCK) */
    double base_seconds;         /* length of the idle baseline, 0: none */
    uint64_t wall0_us, wall1_us; /* monotonic times of the two samples */
    tb_cpu_proc_t p[TB_CPU_MAX];
} tb_cpu_t;

/* Figures of one process over the sampled interval. */
typedef struct tb_cpu_fig_s {
    double cpu_seconds;   /* CPU time used */
    double percent;       /* of one core: cpu_seconds / wall seconds * 100 */
    double us_per_msg;    /* CPU microseconds per acked message, -1 when none was acked */
    double base_percent;  /* idle baseline, % of one core (-1: none) */
    double net_us_per_msg;/* (CPU - baseline x wall) per acked message, >= 0; -1: unknown */
} tb_cpu_fig_t;

/* utime + stime (fields 14 and 15) of the text of a /proc/PID/stat file; the command name
 * (field 2) may hold spaces and parentheses. 0 ok, -1 malformed. */
int tb_cpu_parse_stat(const char *text, uint64_t *ticks);
/* Reads /proc/PID/stat. 0 ok, -1 gone or unreadable. */
int tb_cpu_read(pid_t pid, uint64_t *ticks);
/* Idle baseline (before any client connects): samples the processes over `seconds` (sleeps);
 * tb_cpu_begin keeps it. */
void tb_cpu_baseline(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid,
                     double seconds);
/* First sample: the watched processes, then tt-bench itself (self_pid). */
void tb_cpu_begin(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid,
                  uint64_t now_us);
/* Second sample (no-op unless begun, once). */
void tb_cpu_end(tb_cpu_t *c, uint64_t now_us);
/* Figures from raw numbers (pure; exposed for the self-test). */
tb_cpu_fig_t tb_cpu_figures(uint64_t ticks, long hz, uint64_t wall_us, uint64_t msgs);
/* Adds the baseline figures (base_frac < 0: none). */
void tb_cpu_net(tb_cpu_fig_t *f, double base_frac, uint64_t wall_us, uint64_t msgs);
/* Figures of process i of c; msgs: acked messages the CPU is divided by. */
tb_cpu_fig_t tb_cpu_proc_figures(const tb_cpu_t *c, int i, uint64_t msgs);
/* Sum over the watched processes that were read (tt-bench itself not included). */
tb_cpu_fig_t tb_cpu_total_figures(const tb_cpu_t *c, uint64_t msgs);

/* Report parts (text table on stdout; a JSON object, a json_t *, returned as void *). */
void tb_cpu_report_text(const tb_cpu_t *c, uint64_t msgs);
void *tb_cpu_json(const tb_cpu_t *c, uint64_t msgs);

#endif
