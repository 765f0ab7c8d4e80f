#include "tb_discover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tt_loop.h"
#include "tt_net.h"

int tb_url_parse(const char *url, tb_url_t *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "only http:// URLs are supported: '%s'", url);
        return -1;
    }
    const char *h = url + 7, *end = h + strcspn(h, "/?");
    const char *colon = memchr(h, ':', (size_t)(end - h));
    const char *hend = colon ? colon : end;
    if (hend == h || (size_t)(hend - h) >= sizeof(u->host)) {
        snprintf(err, errlen, "bad host in '%s'", url);
        return -1;
    }
    memcpy(u->host, h, (size_t)(hend - h));
    u->port = 80;
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p < 1 || p > 65535) {
            snprintf(err, errlen, "bad port in '%s'", url);
            return -1;
        }
        u->port = (uint16_t)p;
    }
    size_t lead = *end == '/' ? 0 : 1; /* "" and "?q" get a leading '/' */
    if (strlen(end) + lead >= sizeof(u->path)) {
        snprintf(err, errlen, "path too long in '%s'", url);
        return -1;
    }
    u->path[0] = '/';
    memcpy(u->path + lead, end, strlen(end) + 1);
    return 0;
}

int tb_http_get_request(const tb_url_t *u, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: tt-bench\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     u->path, u->host, (unsigned)u->port);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int tb_http_response(const char *buf, size_t len, int eof, int *status, const char **body,
                     size_t *body_len)
{
    const char *hdr_end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            hdr_end = buf + i + 4;
            break;
        }
    if (!hdr_end)
        return eof ? -1 : -2;
    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        st = st * 10 + (buf[i] - '0');
    }
    long clen = -1;
    /* headers: one per line, names compared case-insensitively */
    const char *line = memchr(buf, '\n', (size_t)(hdr_end - buf));
    while (line && line + 1 < hdr_end - 2) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(hdr_end - line));
        if (!eol)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            char tmp[32];
            size_t vl = ll - 15 < sizeof(tmp) - 1 ? ll - 15 : sizeof(tmp) - 1;
            memcpy(tmp, line + 15, vl);
            tmp[vl] = '\0';
            char *e;
            clen = strtol(tmp, &e, 10);
            while (*e == ' ' || *e == '\r' || *e == '\t')
                e++;
            if (*e || clen < 0)
                return -1;
        } else if (ll > 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            return -1; /* chunked: not used by login_server */
        }
        line = eol;
    }
    size_t have = len - (size_t)(hdr_end - buf);
    if (clen >= 0) {
        if (have < (size_t)clen)
            return eof ? -1 : -2;
        have = (size_t)clen;
    } else if (!eof)
        return -2;
    *status = st;
    *body = hdr_end;
    *body_len = have;
    return 0;
}

int tb_msg_server_json(const char *body, size_t len, char *ip, size_t iplen, uint16_t *port,
                       char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "answer is not JSON: %s", jerr.text);
        return -1;
    }
    int rc = -1;
    json_t *code = json_object_get(root, "code");
    if (!json_is_object(root) || !json_is_integer(code)) {
        snprintf(err, errlen, "answer has no integer \"code\"");
        goto out;
    }
    if (json_integer_value(code) != 0) {
        const char *msg = json_string_value(json_object_get(root, "msg"));
        snprintf(err, errlen, "login_server refused: code %lld, msg \"%s\"",
                 (long long)json_integer_value(code), msg ? msg : "");
        goto out;
    }
    const char *pip = json_string_value(json_object_get(root, "priorIP"));
    json_t *jp = json_object_get(root, "port");
    long p = -1;
    if (json_is_string(jp)) {
        char *e;
        const char *s = json_string_value(jp);
        p = strtol(s, &e, 10);
        if (e == s || *e)
            p = -1;
    } else if (json_is_integer(jp))
        p = (long)json_integer_value(jp);
    if (!pip || !*pip || strlen(pip) >= iplen) {
        snprintf(err, errlen, "answer has no usable \"priorIP\"");
        goto out;
    }
    if (p < 1 || p > 65535) {
        snprintf(err, errlen, "answer has no usable \"port\"");
        goto out;
    }
    snprintf(ip, iplen, "%s", pip);
    *port = (uint16_t)p;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int tb_discover(const char *url, int timeout_ms, char *ip, size_t iplen, uint16_t *port,
                char *err, size_t errlen)
{
    tb_url_t u;
    char req[1400];
    if (tb_url_parse(url, &u, err, errlen) < 0)
        return -1;
    int reqlen = tb_http_get_request(&u, req, sizeof(req));
    if (reqlen < 0) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    int in_progress = 0;
    int fd = tt_net_connect(u.host, u.port, &in_progress, err, errlen);
    if (fd < 0)
        return -1;
    uint64_t deadline = tt_clock_ms() + (uint64_t)timeout_ms;
    size_t sent = 0, len = 0, cap = 4096;
    char *buf = malloc(cap);
    int rc = -1, eof = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (;;) {
        uint64_t now = tt_clock_ms();
        if (now >= deadline) {
            snprintf(err, errlen, "no answer from %s within %d ms", url, timeout_ms);
            goto out;
        }
        struct pollfd pfd = {fd, (short)((size_t)reqlen > sent ? POLLOUT : POLLIN), 0};
        int n = poll(&pfd, 1, (int)(deadline - now));
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            goto out;
        }
        if (n <= 0)
            continue;
        if ((size_t)reqlen > sent) {
            int e = tt_net_connect_result(fd);
            if (e) {
                snprintf(err, errlen, "cannot connect to %s:%u: %s", u.host, (unsigned)u.port,
                         strerror(e));
                goto out;
            }
            ssize_t w = send(fd, req + sent, (size_t)reqlen - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                snprintf(err, errlen, "send: %s", strerror(errno));
                goto out;
            }
            if (w > 0)
                sent += (size_t)w;
            continue;
        }
        if (len + 1024 > cap) {
            if (cap >= (1u << 20)) {
                snprintf(err, errlen, "answer larger than 1 MiB");
                goto out;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            snprintf(err, errlen, "recv: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            eof = 1;
        len += (size_t)r;
        int status;
        const char *body;
        size_t blen;
        int pr = tb_http_response(buf, len, eof, &status, &body, &blen);
        if (pr == -2)
            continue;
        if (pr < 0) {
            snprintf(err, errlen, "malformed HTTP answer from %s", url);
            goto out;
        }
        if (status != 200) {
            snprintf(err, errlen, "HTTP status %d from %s", status, url);
            goto out;
        }
        rc = tb_msg_server_json(body, blen, ip, iplen, port, err, errlen);
        goto out;
    }
out:
    free(buf);
    close(fd);
    return rc;
}

int tb_resolve4(const char *host, uint16_t port, struct sockaddr_in *out)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &out->sin_addr) == 1)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}
