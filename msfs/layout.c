/* The on-disk layout: which upload file names are accepted and what they give the stored
 * name (extension, iOS size hint), the directory fan-out from the running file number, and the
 * strict mapping of download URLs back to files under BaseDir (nothing else is reachable). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "msfs.h"

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_type_char(int c) { return is_alnum(c) || c == '_' || c == '-'; }

/* Number of digits at p (up to end); 0 if none. */
static size_t digits(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && is_digit((unsigned char)p[n]))
        n++;
    return n;
}

static unsigned to_uint(const char *p, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(p[i] - '0');
    return v;
}

int msfs_name_check(const char *name, size_t len, int has_bad_bytes, msfs_name_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len > MSFS_NAME_MAX)
        return MSFS_E_NAME_LONG;
    if (has_bad_bytes || len == 0 || memchr(name, '\0', len) || memchr(name, '/', len) ||
        memchr(name, '\\', len))
        return MSFS_E_NO_FILENAME;
    const char *end = name + len;
    const char *dot = memrchr(name, '.', len);
    if (!dot)
        return MSFS_E_NO_DOT;
    size_t type_len = (size_t)(end - dot - 1);
    if (type_len == 0 || type_len > MSFS_TYPE_MAX)
        return MSFS_E_TYPE;
    for (const char *p = dot + 1; p < end; p++)
        if (!is_type_char((unsigned char)*p))
            return MSFS_E_TYPE;
    memcpy(out->type, dot + 1, type_len);
    out->type[type_len] = '\0';
    /* iOS size hint: "..._<W>x<H>.<type>" with W and H of 1 to 4 digits. */
    const char *us = memrchr(name, '_', len);
    if (us && us < dot) {
        const char *w = us + 1;
        size_t wn = digits(w, dot);
        const char *x = w + wn;
        if (wn >= 1 && wn <= 4 && x < dot && *x == 'x') {
            size_t hn = digits(x + 1, dot);
            if (hn >= 1 && hn <= 4 && x + 1 + hn == dot) {
                out->has_size = 1;
                out->width = to_uint(w, wn);
                out->height = to_uint(x + 1, hn);
            }
        }
    }
    return 0;
}

void msfs_layout_dirs(uint64_t cnt, uint64_t per_dir, uint64_t *d1, uint64_t *d2)
{
    if (per_dir == 0)
        per_dir = 1;
    *d1 = (cnt / per_dir) / 255;
    *d2 = (cnt % (per_dir * 255)) / per_dir;
}

int msfs_layout_rel_path(char *out, size_t outlen, uint64_t cnt, uint64_t per_dir,
                         uint64_t usec, const msfs_name_t *name)
{
    uint64_t d1, d2;
    msfs_layout_dirs(cnt, per_dir, &d1, &d2);
    int n;
    if (name->has_size)
        n = snprintf(out, outlen, "%03llu/%03llu/%llu_%llu_%ux%u.%s", (unsigned long long)d1,
                     (unsigned long long)d2, (unsigned long long)usec, (unsigned long long)cnt,
                     name->width, name->height, name->type);
    else
        n = snprintf(out, outlen, "%03llu/%03llu/%llu_%llu.%s", (unsigned long long)d1,
                     (unsigned long long)d2, (unsigned long long)usec, (unsigned long long)cnt,
                     name->type);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* A stored file name: <digits>_<digits>[_<W>x<H>].<type>. */
static int stored_name_ok(const char *p, const char *end)
{
    if ((size_t)(end - p) > MSFS_NAME_MAX)
        return 0;
    size_t n = digits(p, end);
    if (n == 0 || n > 20 || p + n >= end || p[n] != '_')
        return 0;
    p += n + 1;
    n = digits(p, end);
    if (n == 0 || n > 20)
        return 0;
    p += n;
    if (p < end && *p == '_') {
        n = digits(p + 1, end);
        if (n == 0 || n > 4 || p + 1 + n >= end || p[1 + n] != 'x')
            return 0;
        p += 2 + n;
        n = digits(p, end);
        if (n == 0 || n > 4)
            return 0;
        p += n;
    }
    if (p >= end || *p != '.')
        return 0;
    p++;
    if (end - p < 1 || end - p > MSFS_TYPE_MAX)
        return 0;
    for (; p < end; p++)
        if (!is_type_char((unsigned char)*p))
            return 0;
    return 1;
}

/* Splits "/<group>/<D1>/<D2>/<name>[?query]" and checks group, D1 and D2: 0 with the start
 * of D1 in *rel, the name in [*name, *end), or -1. */
static int split_url(const char *url, const char **rel, const char **name, const char **end)
{
    if (!url || url[0] != '/')
        return -1;
    const char *e = url + strcspn(url, "?#");
    const char *seg[4], *seg_end[4];
    const char *p = url + 1;
    for (int i = 0; i < 4; i++) {
        seg[i] = p;
        while (p < e && *p != '/')
            p++;
        seg_end[i] = p;
        if (seg_end[i] == seg[i])
            return -1; /* empty segment */
        if (i < 3) {
            if (p >= e)
                return -1; /* too few segments */
            p++;
        }
    }
    if (p != e)
        return -1; /* more segments */
    size_t glen = (size_t)(seg_end[0] - seg[0]);
    if (glen > 15)
        return -1;
    for (const char *q = seg[0]; q < seg_end[0]; q++)
        if (!is_alnum((unsigned char)*q))
            return -1;
    size_t d1 = (size_t)(seg_end[1] - seg[1]), d2 = (size_t)(seg_end[2] - seg[2]);
    if (d1 < 3 || d1 > 10 || digits(seg[1], seg_end[1]) != d1 || d2 != 3 ||
        digits(seg[2], seg_end[2]) != 3)
        return -1;
    *rel = seg[1];
    *name = seg[3];
    *end = e;
    return 0;
}

int msfs_layout_map_url(const char *url, char *out, size_t outlen)
{
    const char *rel, *name, *end;
    if (split_url(url, &rel, &name, &end) < 0 || !stored_name_ok(name, end))
        return -1;
    size_t len = (size_t)(end - rel);
    if (len + 1 > outlen)
        return -1;
    memcpy(out, rel, len);
    out[len] = '\0';
    return 0;
}

int msfs_thumb_suffix(const char *p, const char *end, unsigned *w, unsigned *h, char *fmt,
                      size_t fmtlen)
{
    if (p >= end || *p != '_')
        return -1;
    p++;
    size_t wn = digits(p, end);
    if (wn == 0 || wn > 4 || p + wn >= end || p[wn] != 'x')
        return -1;
    const char *hp = p + wn + 1;
    size_t hn = digits(hp, end);
    if (hn == 0 || hn > 4 || hp + hn >= end || hp[hn] != '.')
        return -1;
    const char *ext = hp + hn + 1;
    size_t en = (size_t)(end - ext);
    static const char *const fmts[] = {"jpg", "jpeg", "png", "webp"};
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        if (en == strlen(fmts[i]) && strncasecmp(ext, fmts[i], en) == 0) {
            *w = to_uint(p, wn);
            *h = to_uint(hp, hn);
            snprintf(fmt, fmtlen, "%s", i < 2 ? "jpg" : fmts[i]);
            return 0;
        }
    }
    return -1;
}

int msfs_layout_map_thumb(const char *url, unsigned max_side, msfs_thumb_t *t)
{
    const char *rel, *name, *end;
    memset(t, 0, sizeof(*t));
    if (split_url(url, &rel, &name, &end) < 0)
        return -1;
    /* "<stored name>_<W>x<H>.<fmt>": the suffix starts at the last '_' */
    const char *us = NULL;
    for (const char *q = name; q < end; q++)
        if (*q == '_')
            us = q;
    if (!us || !stored_name_ok(name, us) ||
        msfs_thumb_suffix(us, end, &t->width, &t->height, t->fmt, sizeof(t->fmt)) < 0)
        return -1;
    if (t->width == 0 || t->height == 0 || t->width > max_side || t->height > max_side)
        return -2;
    size_t orig_len = (size_t)(us - rel), all_len = (size_t)(end - rel);
    if (all_len + 1 > sizeof(t->cache_rel))
        return -1;
    memcpy(t->rel, rel, orig_len);
    t->rel[orig_len] = '\0';
    memcpy(t->cache_rel, rel, all_len);
    t->cache_rel[all_len] = '\0';
    return 0;
}

int msfs_is_thumb_name(const char *name)
{
    const char *end = name + strlen(name), *us = strrchr(name, '_');
    unsigned w, h;
    char fmt[8];
    return us && stored_name_ok(name, us) &&
           msfs_thumb_suffix(us, end, &w, &h, fmt, sizeof(fmt)) == 0;
}

int msfs_is_stored_name(const char *name) { return stored_name_ok(name, name + strlen(name)); }

int msfs_range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    if (strncasecmp(h, "bytes=", 6) != 0)
        return 0;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ','))
        return 0; /* several ranges: the whole file (allowed by RFC 9110) */
    uint64_t a = 0, b = 0;
    size_t an = 0, bn = 0;
    for (; is_digit((unsigned char)*p); p++, an++) {
        if (an >= 19)
            return 0;
        a = a * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '-')
        return 0;
    p++;
    for (; is_digit((unsigned char)*p); p++, bn++) {
        if (bn >= 19)
            return 0;
        b = b * 10 + (uint64_t)(*p - '0');
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || (an == 0 && bn == 0))
        return 0;
    if (an == 0) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (bn > 0 && b < a)
        return 0; /* invalid: ignored */
    if (a >= size)
        return -1;
    *first = a;
    *last = bn == 0 || b >= size ? size - 1 : b;
    return 1;
}

void msfs_layout_content_type(const char *rel_path, char *out, size_t outlen)
{
    const char *dot = strrchr(rel_path, '.');
    const char *ext = dot ? dot + 1 : "";
    static const char *const images[] = {"jpg", "jpeg", "png", "gif"};
    for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
        if (strcasecmp(ext, images[i]) == 0) {
            snprintf(out, outlen, "image/%s", ext); /* as written, as the original */
            return;
        }
    }
    /* Other types the clients and db_proxy store: the mobile clients' voice is Ogg/Speex
     * (db_proxy names it "1.audio"). */
    static const char *const other[][2] = {
        {"webp", "image/webp"}, {"bmp", "image/bmp"},  {"audio", "audio/ogg"},
        {"ogg", "audio/ogg"},   {"spx", "audio/ogg"},  {"amr", "audio/amr"},
        {"mp3", "audio/mpeg"},  {"m4a", "audio/mp4"},  {"wav", "audio/wav"},
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        if (strcasecmp(ext, other[i][0]) == 0) {
            snprintf(out, outlen, "%s", other[i][1]);
            return;
        }
    }
    snprintf(out, outlen, "application/octet-stream");
}
