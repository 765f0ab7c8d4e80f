#include "tb_cpu.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int tb_cpu_parse_stat(const char *text, uint64_t *ticks)
{
    /* "pid (comm) state ppid ...": comm may contain ") ", so the last ')' ends it */
    const char *p = strrchr(text, ')');
    if (!p || !strchr(text, '('))
        return -1;
    p++;
    unsigned long long ut = 0, st = 0;
    /* after ')' come fields 3.. : state(3) then 4..13, then utime(14), stime(15) */
    for (int field = 3; field <= 15; field++) {
        while (*p == ' ')
            p++;
        if (!*p || *p == '\n')
            return -1;
        if (field >= 14) {
            char *e;
            unsigned long long v = strtoull(p, &e, 10);
            if (e == p || (*e != ' ' && *e != '\n' && *e != '\0'))
                return -1;
            if (field == 14)
                ut = v;
            else
                st = v;
            p = e;
        } else
            while (*p && *p != ' ' && *p != '\n')
                p++;
    }
    *ticks = (uint64_t)ut + (uint64_t)st;
    return 0;
}

int tb_cpu_read(pid_t pid, uint64_t *ticks)
{
    char buf[2048];
    if (tb_proc_read(pid, "stat", buf, sizeof(buf)) < 0)
        return -1;
    return tb_cpu_parse_stat(buf, ticks);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_procs(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid)
{
    c->hz = sysconf(_SC_CLK_TCK);
    if (c->hz <= 0)
        c->hz = 100;
    c->n = 0;
    for (int i = 0; i < n_watch && c->n < TB_CPU_MAX - 1; i++) {
        tb_cpu_proc_t *p = &c->p[c->n++];
        snprintf(p->name, sizeof(p->name), "%s", watch[i].name);
        p->pid = watch[i].pid;
    }
    tb_cpu_proc_t *self = &c->p[c->n++];
    snprintf(self->name, sizeof(self->name), "tt-bench");
    self->pid = self_pid;
}

void tb_cpu_baseline(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid,
                     double seconds)
{
    memset(c, 0, sizeof(*c));
    set_procs(c, watch, n_watch, self_pid);
    uint64_t t0[TB_CPU_MAX], start = mono_us();
    int ok[TB_CPU_MAX];
    for (int i = 0; i < c->n; i++)
        ok[i] = tb_cpu_read(c->p[i].pid, &t0[i]) == 0;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    uint64_t wall = mono_us() - start;
    for (int i = 0; i < c->n; i++) {
        uint64_t t1;
        if (ok[i] && tb_cpu_read(c->p[i].pid, &t1) == 0 && t1 >= t0[i] && wall) {
            c->p[i].base_ok = 1;
            c->p[i].base_frac = (double)(t1 - t0[i]) / (double)c->hz / ((double)wall / 1e6);
        }
    }
    c->base_seconds = (double)wall / 1e6;
}

void tb_cpu_begin(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid,
                  uint64_t now_us)
{
    tb_cpu_t base = *c; /* the baseline, if one was taken */
    memset(c, 0, sizeof(*c));
    set_procs(c, watch, n_watch, self_pid);
    c->base_seconds = base.base_seconds;
    for (int i = 0; i < c->n; i++) {
        c->p[i].ok = tb_cpu_read(c->p[i].pid, &c->p[i].t0) == 0;
        if (base.base_seconds > 0 && i < base.n && base.p[i].pid == c->p[i].pid) {
            c->p[i].base_ok = base.p[i].base_ok;
            c->p[i].base_frac = base.p[i].base_frac;
        }
    }
    c->wall0_us = now_us;
    c->begun = 1;
}

void tb_cpu_end(tb_cpu_t *c, uint64_t now_us)
{
    if (!c->begun || c->ended)
        return;
    for (int i = 0; i < c->n; i++)
        if (c->p[i].ok && (tb_cpu_read(c->p[i].pid, &c->p[i].t1) < 0 || c->p[i].t1 < c->p[i].t0))
            c->p[i].ok = 0;
    c->wall1_us = now_us;
    c->ended = 1;
}

tb_cpu_fig_t tb_cpu_figures(uint64_t ticks, long hz, uint64_t wall_us, uint64_t msgs)
{
    tb_cpu_fig_t f;
    f.cpu_seconds = hz > 0 ? (double)ticks / (double)hz : 0;
    f.percent = wall_us ? f.cpu_seconds * 1e8 / (double)wall_us : 0;
    f.us_per_msg = msgs ? f.cpu_seconds * 1e6 / (double)msgs : -1;
    f.base_percent = f.net_us_per_msg = -1;
    return f;
}

void tb_cpu_net(tb_cpu_fig_t *f, double base_frac, uint64_t wall_us, uint64_t msgs)
{
    if (base_frac < 0)
        return;
    f->base_percent = base_frac * 100;
    double net = f->cpu_seconds - base_frac * (double)wall_us / 1e6;
    if (net < 0)
        net = 0;
    f->net_us_per_msg = msgs ? net * 1e6 / (double)msgs : -1;
}

tb_cpu_fig_t tb_cpu_proc_figures(const tb_cpu_t *c, int i, uint64_t msgs)
{
    const tb_cpu_proc_t *p = &c->p[i];
    uint64_t wall = c->wall1_us - c->wall0_us;
    tb_cpu_fig_t f = tb_cpu_figures(p->ok ? p->t1 - p->t0 : 0, c->hz, wall, msgs);
    if (c->base_seconds > 0 && p->base_ok)
        tb_cpu_net(&f, p->base_frac, wall, msgs);
    return f;
}

tb_cpu_fig_t tb_cpu_total_figures(const tb_cpu_t *c, uint64_t msgs)
{
    uint64_t t = 0, wall = c->wall1_us - c->wall0_us;
    double base = 0;
    int base_all = c->base_seconds > 0;
    for (int i = 0; i + 1 < c->n; i++) /* tt-bench itself (last) is not counted */
        if (c->p[i].ok) {
            t += c->p[i].t1 - c->p[i].t0;
            base += c->p[i].base_frac;
            base_all = base_all && c->p[i].base_ok;
        }
    tb_cpu_fig_t f = tb_cpu_figures(t, c->hz, wall, msgs);
    if (base_all)
        tb_cpu_net(&f, base, wall, msgs);
    return f;
}

static void fig_text(const char *name, long pid, int ok, tb_cpu_fig_t f, int base)
{
    char per[32] = "-", idle[32] = "-", net[32] = "-";
    if (ok && f.us_per_msg >= 0)
        snprintf(per, sizeof(per), "%.2f", f.us_per_msg);
    if (ok && f.base_percent >= 0)
        snprintf(idle, sizeof(idle), "%.1f", f.base_percent);
    if (ok && f.net_us_per_msg >= 0)
        snprintf(net, sizeof(net), "%.2f", f.net_us_per_msg);
    if (ok)
        printf("  %-16s %9.2f %9.1f %12s", name, f.cpu_seconds, f.percent, per);
    else
        printf("  %-16s %9s %9s %12s", name, "-", "-", "-");
    if (base)
        printf(" %9s %12s", ok ? idle : "-", ok ? net : "-");
    if (pid)
        printf(" %8ld%s", pid, ok ? "" : " (unreadable)");
    printf("\n");
}

void tb_cpu_report_text(const tb_cpu_t *c, uint64_t msgs)
{
    if (!c || !c->ended)
        return;
    printf("cpu (%.2f s from the measured window's start to the end of the drain)\n",
           (double)(c->wall1_us - c->wall0_us) / 1e6);
    int base = c->base_seconds > 0;
    if (base)
        printf("  (idle: %% of one core over %.2f s before the logins; net: CPU above idle per "
               "acked message)\n", c->base_seconds);
    printf("  %-16s %9s %9s %12s", "process", "cpu s", "% core", "us/acked msg");
    if (base)
        printf(" %9s %12s", "idle %", "net us/msg");
    printf(" %8s\n", "pid");
    for (int i = 0; i < c->n; i++)
        fig_text(c->p[i].name, (long)c->p[i].pid, c->p[i].ok, tb_cpu_proc_figures(c, i, msgs),
                 base);
    if (c->n > 1)
        fig_text("watched total", 0, 1, tb_cpu_total_figures(c, msgs), base);
}

static json_t *fig_json(tb_cpu_fig_t f)
{
    return json_pack("{s:f,s:f,s:o,s:o,s:o}", "cpu_seconds", f.cpu_seconds, "cpu_percent",
                     f.percent, "us_per_acked_msg",
                     f.us_per_msg >= 0 ? json_real(f.us_per_msg) : json_null(),
                     "idle_percent", f.base_percent >= 0 ? json_real(f.base_percent) : json_null(),
                     "net_us_per_acked_msg",
                     f.net_us_per_msg >= 0 ? json_real(f.net_us_per_msg) : json_null());
}

void *tb_cpu_json(const tb_cpu_t *c, uint64_t msgs)
{
    if (!c || !c->ended)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "seconds", json_real((double)(c->wall1_us - c->wall0_us) / 1e6));
    json_object_set_new(o, "acked", json_integer((json_int_t)msgs));
    json_object_set_new(o, "idle_baseline_seconds", json_real(c->base_seconds));
    json_t *arr = json_array();
    for (int i = 0; i < c->n; i++) {
        json_t *e = c->p[i].ok ? fig_json(tb_cpu_proc_figures(c, i, msgs)) : json_object();
        json_object_set_new(e, "name", json_string(c->p[i].name));
        json_object_set_new(e, "pid", json_integer((json_int_t)c->p[i].pid));
        json_object_set_new(e, "ok", json_boolean(c->p[i].ok));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "processes", arr);
    json_object_set_new(o, "watched_total",
                        c->n > 1 ? fig_json(tb_cpu_total_figures(c, msgs)) : json_null());
    return o;
}
