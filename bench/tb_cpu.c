#include "tb_cpu.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return tb_cpu_parse_stat(buf, ticks);
}

void tb_cpu_begin(tb_cpu_t *c, const tb_watch_t *watch, int n_watch, pid_t self_pid,
                  uint64_t now_us)
{
    memset(c, 0, sizeof(*c));
    c->hz = sysconf(_SC_CLK_TCK);
    if (c->hz <= 0)
        c->hz = 100;
    for (int i = 0; i < n_watch && c->n < TB_CPU_MAX - 1; i++) {
        tb_cpu_proc_t *p = &c->p[c->n++];
        snprintf(p->name, sizeof(p->name), "%s", watch[i].name);
        p->pid = watch[i].pid;
    }
    tb_cpu_proc_t *self = &c->p[c->n++];
    snprintf(self->name, sizeof(self->name), "tt-bench");
    self->pid = self_pid;
    for (int i = 0; i < c->n; i++)
        c->p[i].ok = tb_cpu_read(c->p[i].pid, &c->p[i].t0) == 0;
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
    return f;
}

tb_cpu_fig_t tb_cpu_proc_figures(const tb_cpu_t *c, int i, uint64_t msgs)
{
    const tb_cpu_proc_t *p = &c->p[i];
    return tb_cpu_figures(p->ok ? p->t1 - p->t0 : 0, c->hz, c->wall1_us - c->wall0_us, msgs);
}

tb_cpu_fig_t tb_cpu_total_figures(const tb_cpu_t *c, uint64_t msgs)
{
    uint64_t t = 0;
    for (int i = 0; i + 1 < c->n; i++) /* tt-bench itself (last) is not counted */
        if (c->p[i].ok)
            t += c->p[i].t1 - c->p[i].t0;
    return tb_cpu_figures(t, c->hz, c->wall1_us - c->wall0_us, msgs);
}

static void fig_text(const char *name, long pid, int ok, tb_cpu_fig_t f)
{
    char per[32] = "-";
    if (ok && f.us_per_msg >= 0)
        snprintf(per, sizeof(per), "%.2f", f.us_per_msg);
    if (ok)
        printf("  %-16s %9.2f %9.1f %12s", name, f.cpu_seconds, f.percent, per);
    else
        printf("  %-16s %9s %9s %12s", name, "-", "-", "-");
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
    printf("  %-16s %9s %9s %12s %8s\n", "process", "cpu s", "% core", "us/acked msg", "pid");
    for (int i = 0; i < c->n; i++)
        fig_text(c->p[i].name, (long)c->p[i].pid, c->p[i].ok, tb_cpu_proc_figures(c, i, msgs));
    if (c->n > 1)
        fig_text("watched total", 0, 1, tb_cpu_total_figures(c, msgs));
}

static json_t *fig_json(tb_cpu_fig_t f)
{
    return json_pack("{s:f,s:f,s:o}", "cpu_seconds", f.cpu_seconds, "cpu_percent", f.percent,
                     "us_per_acked_msg", f.us_per_msg >= 0 ? json_real(f.us_per_msg) : json_null());
}

void *tb_cpu_json(const tb_cpu_t *c, uint64_t msgs)
{
    if (!c || !c->ended)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "seconds", json_real((double)(c->wall1_us - c->wall0_us) / 1e6));
    json_object_set_new(o, "acked", json_integer((json_int_t)msgs));
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
