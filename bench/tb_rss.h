/* tb_rss: resident memory of other processes, read from /proc/PID/status (VmRSS, VmHWM), for
 * --watch-pid. Sampled by the coordinating thread; nothing here allocates. */
#ifndef TB_RSS_H
#define TB_RSS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct tb_watch_s {
    char name[64];        /* label given on the command line */
    pid_t pid;            /* process */
    int gone;             /* 1 once /proc/PID/status could not be read */
    uint64_t before;      /* VmRSS in bytes before the first connection */
    uint64_t after_login; /* VmRSS once every client finished logging in */
    uint64_t peak;        /* highest VmRSS sampled during the run */
    uint64_t end;         /* VmRSS at the end (before disconnecting) */
    uint64_t hwm;         /* VmHWM at the end: the kernel's peak over the process life */
} tb_watch_t;

/* Reads VmRSS and VmHWM in bytes. 0 ok, -1 when the process is gone or unreadable. */
int tb_rss_read(pid_t pid, uint64_t *rss, uint64_t *hwm);
/* Parses the text of a /proc/PID/status file (exposed for the self-test). */
int tb_rss_parse(const char *text, uint64_t *rss, uint64_t *hwm);
/* Reads /proc/PID/NAME ("status", "stat") into buf, NUL-terminated (at most cap - 1 bytes: what
 * is beyond is cut). 0 ok, -1 when the process is gone or unreadable. Also for tb_cpu.c. */
int tb_proc_read(pid_t pid, const char *name, char *buf, size_t cap);

#endif
