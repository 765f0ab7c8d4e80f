#include "tb_rss.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int field_kb(const char *text, const char *key, uint64_t *out)
{
    const char *p = text;
    size_t kl = strlen(key);
    while (p && *p) {
        if (strncmp(p, key, kl) == 0) {
            char *e;
            unsigned long long v = strtoull(p + kl, &e, 10);
            if (e == p + kl)
                return -1;
            *out = (uint64_t)v * 1024;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

int tb_rss_parse(const char *text, uint64_t *rss, uint64_t *hwm)
{
    if (field_kb(text, "VmRSS:", rss) < 0)
        return -1;
    if (field_kb(text, "VmHWM:", hwm) < 0)
        *hwm = *rss;
    return 0;
}

int tb_proc_read(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

int tb_rss_read(pid_t pid, uint64_t *rss, uint64_t *hwm)
{
    char buf[4096];
    if (tb_proc_read(pid, "status", buf, sizeof(buf)) < 0)
        return -1;
    return tb_rss_parse(buf, rss, hwm);
}
