/* Client side HTTP: URL splitting, the incremental response parser (fed whole, byte by byte,
 * split at every point and in small chunks), and ttc_http_get / ttc_discover against a tiny
 * server thread that writes its answer in pieces. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tt_client.h"
#include "tt_net.h"
#include "tt_test.h"
#include "ttc_http.h"

/* ---- URL ---- */

static void test_url(void **state)
{
    (void)state;
    ttc_url_t u;
    char err[128];
    assert_int_equal(ttc_url_parse("http://127.0.0.1:8080/msg_server", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.path, "/msg_server");
    assert_int_equal(ttc_url_parse("HTTP://login.example", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "login.example");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(ttc_url_parse("http://[::1]:81/msg_server?x=1#frag", &u, err, sizeof(err)),
                     0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 81);
    assert_string_equal(u.path, "/msg_server?x=1");
    assert_int_equal(ttc_url_parse("http://h?x=1", &u, err, sizeof(err)), 0);
    assert_string_equal(u.path, "/?x=1");

    static const char *bad[] = {
        "https://h/", "ftp://h", "h:80/x", "http://", "http://:80/", "http://h:0/",
        "http://h:99999/", "http://h:8a/", "http://h:/", "http://[::1/", "http://h x/",
        "http://h/a b", "http://u@h/", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        assert_int_equal(ttc_url_parse(bad[i], &u, err, sizeof(err)), -1);
        assert_true(err[0] != 0);
    }
    assert_int_equal(ttc_url_parse(NULL, &u, err, sizeof(err)), -1);
}

/* ---- response parser ---- */

enum { WHOLE, BYTES, CHUNKS3, CHUNKS7, N_MODES };

/* Feeds resp in the given mode; stops at the first non-AGAIN result; eof after everything. */
static int feed(ttc_http_resp_t *r, const char *resp, size_t len, int mode, int eof)
{
    size_t step = mode == WHOLE ? len : mode == BYTES ? 1 : mode == CHUNKS3 ? 3 : 7;
    if (step == 0)
        step = 1;
    int rc = TT_AGAIN;
    for (size_t off = 0; off < len && rc == TT_AGAIN; off += step) {
        size_t n = len - off < step ? len - off : step;
        rc = ttc_http_resp_feed(r, resp + off, n);
    }
    if (rc == TT_AGAIN && eof)
        rc = ttc_http_resp_eof(r);
    return rc;
}

/* Feeds in every mode and at every two-piece split; checks result, status and body. */
static void expect(const char *resp, size_t len, int eof, size_t max_body, int want_rc,
                   int want_status, const char *want_body)
{
    for (int mode = 0; mode < N_MODES + 1; mode++) {
        size_t splits = mode == N_MODES ? len + 1 : 1;
        for (size_t cut = 0; cut < splits; cut++) {
            ttc_http_resp_t r;
            ttc_http_resp_init(&r, max_body);
            int rc;
            if (mode == N_MODES) {
                rc = ttc_http_resp_feed(&r, resp, cut);
                if (rc == TT_AGAIN)
                    rc = ttc_http_resp_feed(&r, resp + cut, len - cut);
                if (rc == TT_AGAIN && eof)
                    rc = ttc_http_resp_eof(&r);
            } else {
                rc = feed(&r, resp, len, mode, eof);
            }
            if (rc != want_rc)
                fail_msg("mode %d cut %zu: rc %d, want %d (%s)", mode, cut, rc, want_rc, r.err);
            if (want_rc == TT_OK) {
                assert_int_equal(r.status, want_status);
                assert_int_equal(tt_buf_len(&r.body), strlen(want_body));
                if (strlen(want_body))
                    assert_memory_equal(tt_buf_head(&r.body), want_body, strlen(want_body));
                /* more bytes after a complete response are ignored */
                assert_int_equal(ttc_http_resp_feed(&r, "junk", 4), TT_OK);
                assert_int_equal(ttc_http_resp_eof(&r), TT_OK);
            } else if (want_rc == TT_ERR) {
                assert_true(r.err[0] != 0);
            }
            ttc_http_resp_free(&r);
        }
    }
}

#define S(lit) lit, sizeof(lit) - 1

static void test_content_length(void **state)
{
    (void)state;
    /* login_server style: no space after the colon */
    expect(S("HTTP/1.1 200 OK\r\nConnection:close\r\nContent-Length:11\r\n"
             "Content-Type:text/html;charset=utf-8\r\n\r\n{\"code\":0}\n"),
           0, 0, TT_OK, 200, "{\"code\":0}\n");
    /* complete before the close, with trailing bytes in the same read */
    expect(S("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloEXTRA"), 0, 0, TT_OK, 200,
           "hello");
    expect(S("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"), 0, 0, TT_OK, 404, "");
    /* bare LF line ends, no reason phrase */
    expect(S("HTTP/1.1 200\nContent-Length: 2\n\nok"), 0, 0, TT_OK, 200, "ok");
    /* the same Content-Length twice is fine */
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"), 0, 0,
           TT_OK, 200, "ok");
    /* cut short: the close is an error */
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), 1, 0, TT_ERR, 0, NULL);
    /* without the close it just waits */
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), 0, 0, TT_AGAIN, 0, NULL);
}

static void test_close_delimited(void **state)
{
    (void)state;
    expect(S("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"code\":1,\"msg\":\"x\"}"), 1, 0,
           TT_OK, 200, "{\"code\":1,\"msg\":\"x\"}");
    /* until the close nothing is complete */
    expect(S("HTTP/1.1 200 OK\r\n\r\nabc"), 0, 0, TT_AGAIN, 0, NULL);
    /* an empty body, closed right after the head */
    expect(S("HTTP/1.1 200 OK\r\n\r\n"), 1, 0, TT_OK, 200, "");
}

static void test_chunked(void **state)
{
    (void)state;
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6;name=v\r\n world\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n"),
           0, 0, TT_OK, 200, "hello world0123456789");
    /* closed after the last chunk without the final blank line: accepted */
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"), 1, 0,
           TT_OK, 200, "ok");
    /* chunked wins over Content-Length */
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nok\r\n0\r\n\r\n"),
           0, 0, TT_OK, 200, "ok");
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 0, 0, TT_ERR, 0,
           NULL);
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX"), 0, 0, TT_ERR,
           0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), 1, 0, TT_ERR, 0,
           NULL);
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n"), 0,
           0, TT_ERR, 0, NULL);
}

static void test_interim_and_no_body(void **state)
{
    (void)state;
    expect(S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 0,
           0, TT_OK, 200, "ok");
    expect(S("HTTP/1.1 204 No Content\r\n\r\n"), 0, 0, TT_OK, 204, "");
}

static void test_garbage(void **state)
{
    (void)state;
    expect(S("SSH-2.0-OpenSSH_9.2\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 abc OK\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 2000 OK\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 099 Low\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"), 0, 0,
           TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 101 Switching\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    /* closed without a response, or inside the head */
    expect(S(""), 1, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nContent-"), 1, 0, TT_ERR, 0, NULL);
    /* a body over the cap, by length and by close */
    expect(S("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n"), 0, 0, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\n\r\n0123456789abcdef"), 1, 8, TT_ERR, 0, NULL);
    expect(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"), 0, 8, TT_ERR, 0,
           NULL);
}

static void test_huge_head(void **state)
{
    (void)state;
    size_t n = TTC_HTTP_MAX_HEAD + 100;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', n - 20);
    for (int mode = 0; mode < N_MODES; mode++) {
        ttc_http_resp_t r;
        ttc_http_resp_init(&r, 0);
        assert_int_equal(feed(&r, big, n, mode == BYTES ? CHUNKS7 : mode, 0), TT_ERR);
        ttc_http_resp_free(&r);
    }
    free(big);
}

/* ---- against a socket ---- */

typedef struct http_srv_s {
    int lfd;             /* listening socket */
    const char *answer;  /* bytes to write */
    size_t piece;        /* write size (0: all at once) */
    int keep_open;       /* do not close after writing (Content-Length must end it) */
    char request[2048];  /* what the client sent */
} http_srv_t;

static void *http_srv_main(void *arg)
{
    http_srv_t *s = arg;
    struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
    if (poll(&pfd, 1, 5000) != 1)
        return NULL;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t used = 0;
    while (used < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")) {
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 5000) != 1)
            break;
        ssize_t n = recv(fd, s->request + used, sizeof(s->request) - 1 - used, 0);
        if (n <= 0)
            break;
        used += (size_t)n;
        s->request[used] = 0;
    }
    size_t len = strlen(s->answer), step = s->piece ? s->piece : len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        if (send(fd, s->answer + off, n, MSG_NOSIGNAL) < 0)
            break;
        if (s->piece)
            usleep(2000);
    }
    if (s->keep_open)
        usleep(300000);
    close(fd);
    return NULL;
}

/* Serves one answer; returns the URL to ask. */
static void serve(http_srv_t *s, pthread_t *th, const char *answer, size_t piece, int keep_open,
                  char *url, size_t urllen)
{
    char err[128];
    memset(s, 0, sizeof(*s));
    s->lfd = tt_net_listen("127.0.0.1", 0, 4, err, sizeof(err));
    assert_true(s->lfd >= 0);
    s->answer = answer;
    s->piece = piece;
    s->keep_open = keep_open;
    snprintf(url, urllen, "http://127.0.0.1:%u/msg_server", (unsigned)tt_net_local_port(s->lfd));
    assert_int_equal(pthread_create(th, NULL, http_srv_main, s), 0);
}

static void finish(http_srv_t *s, pthread_t th)
{
    pthread_join(th, NULL);
    close(s->lfd);
}

static const char ok_body[] =
    "{\n   \"backupIP\" : \"127.0.0.2\",\n   \"code\" : 0,\n"
    "   \"discovery\" : \"http://127.0.0.1/api/discovery\",\n"
    "   \"msfsBackup\" : \"http://127.0.0.1:8700/\",\n"
    "   \"msfsPrior\" : \"http://127.0.0.1:8700/\",\n"
    "   \"msg\" : \"\",\n   \"port\" : \"8000\",\n   \"priorIP\" : \"127.0.0.1\"\n}\n";

static void test_get_and_discover(void **state)
{
    (void)state;
    char answer[1024], url[128], err[256];
    http_srv_t s;
    pthread_t th;
    snprintf(answer, sizeof(answer),
             "HTTP/1.1 200 OK\r\nConnection:close\r\nContent-Length:%zu\r\n"
             "Content-Type:text/html;charset=utf-8\r\n\r\n%s",
             strlen(ok_body), ok_body);

    /* Content-Length, in 50-byte pieces, server keeps the socket open a while */
    serve(&s, &th, answer, 50, 1, url, sizeof(url));
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    uint64_t t0 = ttc_now_ms();
    assert_int_equal(ttc_http_get(url, 3000, &status, &body, &len, err, sizeof(err)), 0);
    assert_true(ttc_now_ms() - t0 < 250); /* done by length, not by the close */
    finish(&s, th);
    assert_int_equal(status, 200);
    assert_int_equal(len, strlen(ok_body));
    assert_string_equal(body, ok_body);
    free(body);
    assert_non_null(strstr(s.request, "GET /msg_server HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Connection: close\r\n"));
    assert_non_null(strstr(s.request, "Host: 127.0.0.1:"));

    /* the whole discovery */
    serve(&s, &th, answer, 0, 0, url, sizeof(url));
    ttc_server_t srv;
    assert_int_equal(ttc_discover(url, &srv, err, sizeof(err)), 0);
    finish(&s, th);
    assert_string_equal(srv.prior_ip, "127.0.0.1");
    assert_string_equal(srv.backup_ip, "127.0.0.2");
    assert_int_equal(srv.port, 8000);
    assert_string_equal(srv.msfs_prior, "http://127.0.0.1:8700/");

    /* close-delimited refusal, byte by byte */
    serve(&s, &th, "HTTP/1.1 200 OK\r\n\r\n{\"code\":1,\"msg\":\"没有msg_server\"}", 1, 0, url,
          sizeof(url));
    assert_int_equal(ttc_discover(url, &srv, err, sizeof(err)), -1);
    finish(&s, th);
    assert_string_equal(err, "login_server: 没有msg_server (code 1)");
    assert_int_equal(srv.code, 1);

    /* HTTP error status */
    serve(&s, &th, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", 0, 0, url, sizeof(url));
    assert_int_equal(ttc_discover(url, &srv, err, sizeof(err)), -1);
    finish(&s, th);
    assert_non_null(strstr(err, "HTTP status 500"));

    /* the server closes without answering (like login_server on a wrong path) */
    serve(&s, &th, "", 0, 0, url, sizeof(url));
    assert_int_equal(ttc_discover(url, &srv, err, sizeof(err)), -1);
    finish(&s, th);
    assert_non_null(strstr(err, "without a response"));

    /* the server says nothing and keeps the socket: the time budget ends it */
    serve(&s, &th, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{", 0, 1, url, sizeof(url));
    t0 = ttc_now_ms();
    assert_int_equal(ttc_discover_timeout(url, 100, &srv, err, sizeof(err)), -1);
    assert_true(ttc_now_ms() - t0 < 1000);
    finish(&s, th);
    assert_non_null(strstr(err, "timed out"));

    /* nobody listening */
    int lfd = tt_net_listen("127.0.0.1", 0, 1, err, sizeof(err));
    unsigned port = tt_net_local_port(lfd);
    close(lfd);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/msg_server", port);
    assert_int_equal(ttc_discover(url, &srv, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot connect"));
    assert_int_equal(ttc_discover("https://127.0.0.1/msg_server", &srv, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_interim_and_no_body),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_huge_head),
        cmocka_unit_test(test_get_and_discover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
