/* multipart/form-data (RFC 7578 / RFC 2046) for uploads: the boundary of the request's
 * Content-Type, an iterator over the parts of a body held in memory (every pointer of a part
 * points into the body), and the search for the file part over a body fed in chunks (msfs
 * uploads: a bounded window, the file's data handed on as found). No allocation and no I/O.
 * Part header blocks are bounded. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "msfs.h"

static int is_ws(int c) { return c == ' ' || c == '\t'; }

static const char *skip_ws(const char *p)
{
    while (is_ws((unsigned char)*p))
        p++;
    return p;
}

int msfs_mp_boundary(const char *ct, char *out, size_t outlen)
{
    if (!ct)
        return MSFS_E_NO_BOUNDARY;
    const char *p = skip_ws(ct);
    if (strncasecmp(p, "multipart/", 10) != 0)
        return MSFS_E_NO_BOUNDARY;
    p = strchr(p, ';');
    while (p && *p) {
        p = skip_ws(p + 1); /* past ';' */
        const char *name = p;
        while (*p && *p != '=' && *p != ';' && !is_ws((unsigned char)*p))
            p++;
        size_t name_len = (size_t)(p - name);
        p = skip_ws(p);
        if (*p != '=') {
            p = strchr(p, ';');
            continue;
        }
        p = skip_ws(p + 1);
        const char *val;
        size_t val_len;
        if (*p == '"') {
            val = ++p;
            while (*p && *p != '"')
                p++;
            if (*p != '"')
                return MSFS_E_NO_BOUNDARY; /* unterminated quote */
            val_len = (size_t)(p - val);
            p++;
        } else {
            val = p;
            while (*p && *p != ';' && !is_ws((unsigned char)*p))
                p++;
            val_len = (size_t)(p - val);
        }
        if (name_len == 8 && strncasecmp(name, "boundary", 8) == 0) {
            if (val_len == 0 || val_len > MSFS_BOUNDARY_MAX || val_len + 1 > outlen)
                return MSFS_E_NO_BOUNDARY;
            for (size_t i = 0; i < val_len; i++)
                if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
                    return MSFS_E_NO_BOUNDARY;
            memcpy(out, val, val_len);
            out[val_len] = '\0';
            return 0;
        }
        p = strchr(p, ';');
    }
    return MSFS_E_NO_BOUNDARY;
}

void msfs_mp_init(msfs_mp_iter_t *it, const uint8_t *body, size_t len, const char *boundary)
{
    memset(it, 0, sizeof(*it));
    it->body = body;
    it->end = body + len;
    size_t blen = strlen(boundary);
    if (blen > MSFS_BOUNDARY_MAX)
        blen = MSFS_BOUNDARY_MAX;
    memcpy(it->delim, "\r\n--", 4);
    memcpy(it->delim + 4, boundary, blen);
    it->delim_len = 4 + blen;
}

/* Is there a complete delimiter line at q (q points at the "--" of the boundary)? A line is
 * "--boundary" then "--" (close) or optional spaces and CRLF. Sets *after and *close. */
static int delim_line_at(const msfs_mp_iter_t *it, const uint8_t *q, const uint8_t **after,
                         int *close)
{
    const uint8_t *p = q + it->delim_len - 2;
    if (it->end - p >= 2 && p[0] == '-' && p[1] == '-') {
        *close = 1;
        *after = p + 2;
        return 1;
    }
    while (p < it->end && is_ws(*p))
        p++;
    if (it->end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
        *close = 0;
        *after = p + 2;
        return 1;
    }
    return 0;
}

/* The next delimiter ("\r\n--boundary" + a complete line) at or after from: its start, or
 * NULL. A boundary string followed by anything else is not a delimiter (RFC 2046 forbids it in
 * data, so such bytes are taken as data). */
static const uint8_t *find_delim(const msfs_mp_iter_t *it, const uint8_t *from,
                                 const uint8_t **after, int *close)
{
    const uint8_t *p = from;
    while (p < it->end) {
        const uint8_t *q = memmem(p, (size_t)(it->end - p), it->delim, it->delim_len);
        if (!q)
            return NULL;
        if (delim_line_at(it, q + 2, after, close))
            return q;
        p = q + 1;
    }
    return NULL;
}

/* Parses the Content-Disposition value [v, end) for its filename parameter. */
static int parse_disposition(const char *v, const char *end, msfs_part_t *part)
{
    const char *p = memchr(v, ';', (size_t)(end - v)); /* skip the type ("form-data") */
    while (p && p < end) {
        p++; /* past ';' */
        while (p < end && is_ws((unsigned char)*p))
            p++;
        const char *name = p;
        while (p < end && *p != '=' && *p != ';' && !is_ws((unsigned char)*p))
            p++;
        size_t name_len = (size_t)(p - name);
        while (p < end && is_ws((unsigned char)*p))
            p++;
        if (p >= end || *p != '=') {
            p = memchr(p, ';', (size_t)(end - p));
            continue;
        }
        p++;
        while (p < end && is_ws((unsigned char)*p))
            p++;
        const char *val;
        size_t val_len;
        if (p < end && *p == '"') {
            /* WHATWG form encoding: '"' is sent as %22 and '\' as itself, so a quoted value
             * ends at the next '"' and backslashes are not escapes. */
            val = ++p;
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (!q)
                return MSFS_E_PART_HEADER;
            val_len = (size_t)(q - val);
            p = q + 1;
        } else {
            val = p;
            while (p < end && *p != ';' && !is_ws((unsigned char)*p))
                p++;
            val_len = (size_t)(p - val);
        }
        if (name_len == 8 && strncasecmp(name, "filename", 8) == 0 && !part->has_filename &&
            val_len > 0) {
            part->has_filename = 1;
            part->filename_len = val_len;
            size_t n = val_len > MSFS_NAME_MAX ? MSFS_NAME_MAX : val_len;
            memcpy(part->filename, val, n);
            part->filename[n] = '\0';
            for (size_t i = 0; i < val_len; i++) {
                unsigned char c = (unsigned char)val[i];
                if (c < 0x20 || c == 0x7f)
                    part->filename_bad = 1;
            }
        }
        if (p < end)
            p = memchr(p, ';', (size_t)(end - p));
    }
    return 0;
}

/* Parses the header block [p, end) (lines separated by CRLF). */
static int parse_part_headers(const char *p, const char *end, msfs_part_t *part)
{
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if (p < eol && !is_ws((unsigned char)*p)) { /* folded continuation lines are ignored */
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (!colon)
                return MSFS_E_PART_HEADER;
            const char *name_end = colon;
            while (name_end > p && is_ws((unsigned char)name_end[-1]))
                name_end--;
            if ((size_t)(name_end - p) == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
                part->has_disposition = 1;
                int rc = parse_disposition(colon + 1, eol, part);
                if (rc)
                    return rc;
            }
        }
        p = eol + 2;
    }
    return 0;
}

int msfs_mp_next(msfs_mp_iter_t *it, msfs_part_t *part)
{
    if (it->done)
        return 0;
    const uint8_t *after;
    int close;
    if (!it->pos) {
        /* The first delimiter may open the body (no CRLF before it). */
        int at_start = (size_t)(it->end - it->body) >= it->delim_len - 2 &&
                       memcmp(it->body, it->delim + 2, it->delim_len - 2) == 0 &&
                       delim_line_at(it, it->body, &after, &close);
        if (!at_start && !find_delim(it, it->body, &after, &close))
            return MSFS_E_NO_DELIMITER;
        if (close) {
            it->done = 1;
            return 0;
        }
        it->pos = after;
    }
    memset(part, 0, sizeof(*part));
    const uint8_t *p = it->pos;
    const uint8_t *data;
    if (it->end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
        data = p + 2; /* no headers */
    } else {
        size_t avail = (size_t)(it->end - p);
        size_t window = avail > MSFS_PART_HEADER_MAX + 4 ? MSFS_PART_HEADER_MAX + 4 : avail;
        const uint8_t *hend = memmem(p, window, "\r\n\r\n", 4);
        if (!hend)
            return window < avail ? MSFS_E_PART_HEADER : MSFS_E_PART_HEADERS_END;
        int rc = parse_part_headers((const char *)p, (const char *)hend + 2, part);
        if (rc)
            return rc;
        data = hend + 4;
    }
    /* The CRLF that ends the headers may be the one that starts the delimiter (empty data). */
    const uint8_t *q = find_delim(it, data - 2, &after, &close);
    if (!q)
        return MSFS_E_TRUNCATED;
    part->data = data;
    part->len = q > data ? (size_t)(q - data) : 0;
    if (close)
        it->done = 1;
    else
        it->pos = after;
    return 1;
}

int msfs_mp_find_file(const uint8_t *body, size_t len, const char *boundary, msfs_part_t *part)
{
    msfs_mp_iter_t it;
    msfs_mp_init(&it, body, len, boundary);
    int any_disposition = 0;
    for (;;) {
        int rc = msfs_mp_next(&it, part);
        if (rc == 0)
            return any_disposition ? MSFS_E_NO_FILENAME : MSFS_E_NO_DISPOSITION;
        if (rc != 1)
            return rc; /* a parse error */
        any_disposition |= part->has_disposition;
        if (part->has_filename)
            return 0;
    }
}

/* ---- the same over a body in chunks ---- */

enum { MPF_PREAMBLE, MPF_HEADERS, MPF_DATA, MPF_DONE };

void msfs_mpf_init(msfs_mpf_t *f, const char *boundary,
                   int (*begin)(void *udata, const msfs_part_t *part),
                   int (*data)(void *udata, const uint8_t *p, size_t n), void *udata)
{
    memset(f, 0, sizeof(*f));
    size_t blen = strlen(boundary);
    if (blen > MSFS_BOUNDARY_MAX)
        blen = MSFS_BOUNDARY_MAX;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, boundary, blen);
    f->delim_len = 4 + blen;
    f->begin = begin;
    f->data = data;
    f->udata = udata;
    /* The first delimiter may open the body: a CRLF in front makes it an ordinary one. */
    memcpy(f->win, "\r\n", 2);
    f->len = 2;
    f->state = MPF_PREAMBLE;
}

static void mpf_done(msfs_mpf_t *f, int code)
{
    f->state = MPF_DONE;
    f->code = code;
}

/* Drops the first n bytes of the window; in a file part, its data among them go to data(). */
static int mpf_shift(msfs_mpf_t *f, size_t n)
{
    if (f->state == MPF_DATA && n > f->skip) {
        f->part.len += n - f->skip;
        if (f->in_file && f->data(f->udata, f->win + f->skip, n - f->skip) < 0) {
            mpf_done(f, MSFS_E_STORE);
            return -1;
        }
    }
    f->skip = f->skip > n ? f->skip - n : 0;
    memmove(f->win, f->win + n, f->len - n);
    f->len -= n;
    return 0;
}

/* Is the delimiter at q followed by a complete delimiter line? 1 yes (*after past it, *close),
 * 0 no, -1 not known yet (more bytes needed; never when final). */
static int mpf_line(const msfs_mpf_t *f, size_t q, int final, size_t *after, int *close)
{
    size_t p = q + f->delim_len;
    if (p + 2 <= f->len && f->win[p] == '-' && f->win[p + 1] == '-') {
        *close = 1;
        *after = p + 2;
        return 1;
    }
    if (p + 1 == f->len && f->win[p] == '-')
        return final ? 0 : -1;
    while (p < f->len && is_ws(f->win[p]))
        p++;
    if (p + 2 <= f->len && f->win[p] == '\r' && f->win[p + 1] == '\n') {
        *close = 0;
        *after = p + 2;
        return 1;
    }
    if (p == f->len || (p + 1 == f->len && f->win[p] == '\r'))
        return final ? 0 : -1;
    return 0;
}

/* Looks for the next delimiter in the window: 1 found (*q, *after, *close), 0 none yet (bytes
 * before *q can go: they hold no delimiter start). */
static int mpf_find(const msfs_mpf_t *f, int final, size_t *q, size_t *after, int *close)
{
    size_t from = 0;
    while (from + f->delim_len <= f->len) {
        const uint8_t *m = memmem(f->win + from, f->len - from, f->delim, f->delim_len);
        if (!m)
            break;
        size_t at = (size_t)(m - f->win);
        int rc = mpf_line(f, at, final, after, close);
        if (rc == 1) {
            *q = at;
            return 1;
        }
        if (rc < 0 && !(at == 0 && f->len == sizeof(f->win))) {
            *q = at; /* decided by the bytes to come */
            return 0;
        }
        from = at + 1;
    }
    *q = f->len >= f->delim_len ? f->len - (f->delim_len - 1) : 0;
    return 0;
}

/* Runs the state machine over the window as far as it goes. */
static void mpf_run(msfs_mpf_t *f, int final)
{
    for (;;) {
        size_t q, after;
        int close;
        if (f->state == MPF_DONE)
            return;
        if (f->state == MPF_PREAMBLE || f->state == MPF_DATA) {
            if (!mpf_find(f, final, &q, &after, &close)) {
                if (mpf_shift(f, q) < 0)
                    return;
                if (final)
                    mpf_done(f, f->state == MPF_PREAMBLE ? MSFS_E_NO_DELIMITER
                                                         : MSFS_E_TRUNCATED);
                return;
            }
            if (mpf_shift(f, q) < 0)
                return;
            if (f->state == MPF_DATA) {
                if (f->in_file) {
                    mpf_done(f, MSFS_OK);
                    return;
                }
                f->any_disposition |= f->part.has_disposition;
            }
            f->skip = 0;
            memmove(f->win, f->win + (after - q), f->len - (after - q));
            f->len -= after - q;
            if (close) {
                mpf_done(f, f->state == MPF_PREAMBLE || !f->any_disposition
                                ? MSFS_E_NO_DISPOSITION
                                : MSFS_E_NO_FILENAME);
                return;
            }
            f->state = MPF_HEADERS;
            continue;
        }
        /* MPF_HEADERS */
        memset(&f->part, 0, sizeof(f->part));
        size_t hend;
        if (f->len >= 2 && f->win[0] == '\r' && f->win[1] == '\n') {
            hend = 0; /* no headers */
        } else {
            size_t window = f->len > MSFS_PART_HEADER_MAX + 4 ? MSFS_PART_HEADER_MAX + 4 : f->len;
            const uint8_t *h = memmem(f->win, window, "\r\n\r\n", 4);
            if (!h) {
                if (window < f->len)
                    mpf_done(f, MSFS_E_PART_HEADER);
                else if (final)
                    mpf_done(f, MSFS_E_PART_HEADERS_END);
                return;
            }
            hend = (size_t)(h - f->win) + 2;
            int rc = parse_part_headers((const char *)f->win, (const char *)f->win + hend,
                                        &f->part);
            if (rc) {
                mpf_done(f, rc);
                return;
            }
        }
        /* The CRLF that ends the headers may be the one that starts the delimiter. */
        memmove(f->win, f->win + hend, f->len - hend);
        f->len -= hend;
        f->skip = 2;
        f->state = MPF_DATA;
        if (f->part.has_filename) {
            f->in_file = 1;
            if (f->begin && f->begin(f->udata, &f->part) < 0) {
                mpf_done(f, MSFS_E_STORE);
                return;
            }
        }
    }
}

int msfs_mpf_feed(msfs_mpf_t *f, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0 && f->state != MPF_DONE) {
        size_t room = sizeof(f->win) - f->len;
        size_t take = n < room ? n : room;
        memcpy(f->win + f->len, b, take);
        f->len += take;
        b += take;
        n -= take;
        mpf_run(f, 0);
    }
    return f->state == MPF_DONE ? f->code : MSFS_OK;
}

int msfs_mpf_finish(msfs_mpf_t *f)
{
    mpf_run(f, 1);
    return f->code;
}
