#include "tt_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry_s {
    char *key;   /* trimmed key */
    char *value; /* trimmed value */
    int line;    /* 1-based line in the file */
} entry_t;

struct tt_cfg_s {
    char *path;       /* file name used in messages */
    entry_t *entries; /* in file order, duplicates removed (first wins) */
    size_t n, cap;
};

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

static char *trim(char *s, char *end)
{
    while (s < end && is_blank(*s))
        s++;
    while (end > s && is_blank(end[-1]))
        end--;
    *end = '\0';
    return s;
}

static const entry_t *find(const tt_cfg_t *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

static int add(tt_cfg_t *cfg, const char *key, const char *value, int line)
{
    if (find(cfg, key))
        return 0; /* first occurrence wins, as in the original */
    if (cfg->n == cfg->cap) {
        size_t n = cfg->cap ? cfg->cap * 2 : 32;
        entry_t *e = realloc(cfg->entries, n * sizeof(*e));
        if (!e)
            return -1;
        cfg->entries = e;
        cfg->cap = n;
    }
    entry_t *e = &cfg->entries[cfg->n];
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return -1;
    }
    cfg->n++;
    return 0;
}

tt_cfg_t *tt_cfg_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    tt_cfg_t *cfg = calloc(1, sizeof(*cfg));
    char *copy = malloc(len + 1);
    if (!cfg || !copy || !(cfg->path = strdup(name))) {
        free(copy);
        tt_cfg_free(cfg);
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    int line = 0;
    char *p = copy, *stop = copy + len;
    while (p < stop) {
        line++;
        char *eol = memchr(p, '\n', (size_t)(stop - p));
        if (!eol)
            eol = stop;
        *eol = '\0';
        char *hash = strchr(p, '#');
        char *end = hash ? hash : eol;
        char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            char *key = trim(p, eq);
            char *value = trim(eq + 1, end);
            if (*key && add(cfg, key, value, line) < 0) {
                free(copy);
                tt_cfg_free(cfg);
                snprintf(err, errlen, "%s: out of memory", name);
                return NULL;
            }
        }
        p = eol + 1;
    }
    free(copy);
    return cfg;
}

tt_cfg_t *tt_cfg_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap > (64u << 20)) {
                fclose(f);
                free(text);
                snprintf(err, errlen, "%s: file too large", path);
                return NULL;
            }
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                fclose(f);
                free(text);
                snprintf(err, errlen, "%s: out of memory", path);
                return NULL;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        snprintf(err, errlen, "%s: read error", path);
        return NULL;
    }
    tt_cfg_t *cfg = tt_cfg_parse(path, text ? text : "", len, err, errlen);
    free(text);
    return cfg;
}

void tt_cfg_free(tt_cfg_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    free(cfg->entries);
    free(cfg->path);
    free(cfg);
}

const char *tt_cfg_path(const tt_cfg_t *cfg) { return cfg->path; }

const char *tt_cfg_str(const tt_cfg_t *cfg, const char *key, const char *def)
{
    const entry_t *e = find(cfg, key);
    return e ? e->value : def;
}

int tt_cfg_line(const tt_cfg_t *cfg, const char *key)
{
    const entry_t *e = find(cfg, key);
    return e ? e->line : 0;
}

int tt_cfg_need_str(const tt_cfg_t *cfg, const char *key, const char **out, char *err,
                    size_t errlen)
{
    const entry_t *e = find(cfg, key);
    if (!e || !*e->value) {
        if (e)
            snprintf(err, errlen, "%s:%d: key '%s' must not be empty", cfg->path, e->line, key);
        else
            snprintf(err, errlen, "%s: missing required key '%s'", cfg->path, key);
        return -1;
    }
    *out = e->value;
    return 0;
}

int tt_cfg_int(const tt_cfg_t *cfg, const char *key, long long def, long long min, long long max,
               long long *out, char *err, size_t errlen)
{
    const entry_t *e = find(cfg, key);
    if (!e) {
        if (def < min || def > max) {
            snprintf(err, errlen, "%s: missing required key '%s'", cfg->path, key);
            return -1;
        }
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(e->value, &end, 10);
    if (errno || end == e->value || *end != '\0' || v < min || v > max) {
        snprintf(err, errlen, "%s:%d: key '%s': '%s' is not an integer in [%lld, %lld]",
                 cfg->path, e->line, key, e->value, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int tt_cfg_port(const tt_cfg_t *cfg, const char *key, int def, uint16_t *out, char *err,
                size_t errlen)
{
    long long v;
    if (tt_cfg_int(cfg, key, def, 1, 65535, &v, err, errlen) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int tt_cfg_servers(const tt_cfg_t *cfg, const char *ip_prefix, const char *port_prefix,
                   const char **hosts, uint16_t *ports, int max, char *err, size_t errlen)
{
    int n = 0;
    for (int i = 1; n < max; i++) {
        char ipkey[128], portkey[128];
        snprintf(ipkey, sizeof(ipkey), "%s%d", ip_prefix, i);
        snprintf(portkey, sizeof(portkey), "%s%d", port_prefix, i);
        const char *ip = tt_cfg_str(cfg, ipkey, NULL);
        if (!ip || !*ip)
            break;
        if (!tt_cfg_line(cfg, portkey)) {
            snprintf(err, errlen, "%s:%d: key '%s' has no matching '%s'", cfg->path,
                     tt_cfg_line(cfg, ipkey), ipkey, portkey);
            return -1;
        }
        if (tt_cfg_port(cfg, portkey, 0, &ports[n], err, errlen) < 0)
            return -1;
        hosts[n++] = ip;
    }
    return n;
}

int tt_cfg_split(const char *value, char sep, char *buf, size_t buflen, const char **items,
                 int max)
{
    if (!value || buflen == 0)
        return 0;
    snprintf(buf, buflen, "%s", value);
    int n = 0;
    char *p = buf;
    while (n < max) {
        char *next = strchr(p, sep);
        if (next)
            *next = '\0';
        char *item = trim(p, p + strlen(p));
        if (*item)
            items[n++] = item;
        if (!next)
            break;
        p = next + 1;
    }
    return n;
}
