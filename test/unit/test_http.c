#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_http.h"
#include "tt_net.h"
#include "tt_test.h"

typedef struct app_s {
    int requests;
    uint64_t deferred_id;  /* answer later when set */
    int defer;
    char last_url[256];
    char last_host[64];
    size_t last_body;
} app_t;

static void handle(tt_http_req_t *req, void *udata)
{
    app_t *a = udata;
    a->requests++;
    snprintf(a->last_url, sizeof(a->last_url), "%s", req->url);
    const char *host = tt_http_header(req, "host");
    snprintf(a->last_host, sizeof(a->last_host), "%s", host ? host : "");
    a->last_body = tt_buf_len(&req->body);
    if (a->defer) {
        a->deferred_id = req->id;
        return;
    }
    if (strncmp(req->url, "/drop", 5) == 0) {
        tt_http_drop(req, "unknown path");
        return;
    }
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"method\":\"%s\",\"len\":%zu}", req->method,
                     tt_buf_len(&req->body));
    tt_http_respond(req, 200, "text/html;charset=utf-8", body, (size_t)n);
}

/* Sends raw bytes, returns everything the server wrote until it closed. */
static char *roundtrip(tt_loop_t *loop, uint16_t port, const char *req, size_t reqlen)
{
    char err[128];
    int inprog;
    int fd = tt_net_connect("127.0.0.1", port, &inprog, err, sizeof(err));
    assert_true(fd >= 0);
    size_t off = 0;
    tt_buf_t out;
    tt_buf_init(&out);
    uint64_t end = tt_clock_ms() + 3000;
    for (;;) {
        assert_true(tt_clock_ms() < end);
        if (off < reqlen) {
            ssize_t w = write(fd, req + off, reqlen - off);
            if (w > 0)
                off += (size_t)w;
        }
        tt_loop_run_once(loop, 5);
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r > 0)
            tt_buf_append(&out, buf, (size_t)r);
        else if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN))
            break;
    }
    close(fd);
    tt_buf_append(&out, "", 1);
    char *s = strdup((char *)tt_buf_head(&out));
    tt_buf_free(&out);
    return s;
}

static void test_get_and_post(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    app_t a = {0};
    char err[128];
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, NULL, handle, &a, err,
                                             sizeof(err));
    assert_non_null(s);
    uint16_t port = tt_http_server_port(s);
    const char *get = "GET /msg_server?x=1 HTTP/1.1\r\nHost: example:8080\r\n\r\n";
    char *resp = roundtrip(loop, port, get, strlen(get));
    assert_non_null(strstr(resp, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(resp, "Content-Type: text/html;charset=utf-8\r\n"));
    assert_non_null(strstr(resp, "{\"method\":\"GET\",\"len\":0}"));
    assert_string_equal(a.last_url, "/msg_server?x=1");
    assert_string_equal(a.last_host, "example:8080");
    free(resp);

    const char *post = "POST /query/CreateGroup HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world";
    resp = roundtrip(loop, port, post, strlen(post));
    assert_non_null(strstr(resp, "{\"method\":\"POST\",\"len\":11}"));
    free(resp);

    const char *expect = "POST /up HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc";
    resp = roundtrip(loop, port, expect, strlen(expect));
    assert_non_null(strstr(resp, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"));
    free(resp);

    resp = roundtrip(loop, port, "GET /drop HTTP/1.1\r\n\r\n", 22);
    assert_string_equal(resp, ""); /* closed without an answer */
    free(resp);
    assert_int_equal(a.requests, 4);
    tt_http_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_limits(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    app_t a = {0};
    char err[128];
    tt_http_limits_t lim = {.max_header = 256, .max_body = 100, .idle_ms = 100};
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, &lim, handle, &a, err,
                                             sizeof(err));
    uint16_t port = tt_http_server_port(s);
    char big[1024];
    snprintf(big, sizeof(big), "GET /%0600d HTTP/1.1\r\n\r\n", 7);
    char *resp = roundtrip(loop, port, big, strlen(big));
    assert_non_null(strstr(resp, "431"));
    free(resp);
    const char *post = "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
    resp = roundtrip(loop, port, post, strlen(post));
    assert_non_null(strstr(resp, "413"));
    free(resp);
    resp = roundtrip(loop, port, "BLAH\r\n\r\n", 8);
    assert_non_null(strstr(resp, "400"));
    free(resp);
    /* a client that sends half a request is dropped after the idle timeout */
    uint64_t start = tt_clock_ms();
    resp = roundtrip(loop, port, "GET / HTTP/1.1\r\n", 16);
    assert_string_equal(resp, "");
    assert_true(tt_clock_ms() - start >= 90);
    free(resp);
    assert_int_equal(a.requests, 0);
    tt_http_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

static void test_deferred_answer(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    app_t a = {.defer = 1};
    char err[128];
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, NULL, handle, &a, err,
                                             sizeof(err));
    uint16_t port = tt_http_server_port(s);
    int inprog;
    int fd = tt_net_connect("127.0.0.1", port, &inprog, err, sizeof(err));
    uint64_t end = tt_clock_ms() + 2000;
    const char *get = "GET /later HTTP/1.1\r\n\r\n";
    while (write(fd, get, strlen(get)) < 0 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 5);
    while (a.requests == 0 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 5);
    assert_int_equal(a.requests, 1);
    tt_http_req_t *req = tt_http_find(s, a.deferred_id);
    assert_non_null(req);
    tt_http_respond(req, 503, "text/plain", "busy", 4);
    assert_null(tt_http_find(s, a.deferred_id)); /* answered: gone */
    char buf[512] = {0};
    size_t got = 0;
    while (tt_clock_ms() < end) {
        tt_loop_run_once(loop, 5);
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r == 0)
            break;
        if (r > 0)
            got += (size_t)r;
    }
    assert_non_null(strstr(buf, "HTTP/1.1 503"));
    assert_non_null(strstr(buf, "\r\n\r\nbusy"));
    close(fd);
    /* a client that leaves before the answer: find() says so */
    a.requests = 0;
    fd = tt_net_connect("127.0.0.1", port, &inprog, err, sizeof(err));
    while (write(fd, get, strlen(get)) < 0 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 5);
    while (a.requests == 0 && tt_clock_ms() < end)
        tt_loop_run_once(loop, 5);
    close(fd);
    for (int i = 0; i < 10; i++)
        tt_loop_run_once(loop, 5);
    assert_null(tt_http_find(s, a.deferred_id));
    tt_http_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

/* A client that sends head at once, then piece every interval_ms (each write when due),
 * until the server closes or give_up_ms passed. Returns what the server wrote; *took_ms says
 * when it closed. */
static char *trickle(tt_loop_t *loop, uint16_t port, const char *head, const char *piece,
                     uint32_t interval_ms, uint32_t give_up_ms, uint64_t *took_ms)
{
    char err[128];
    int inprog;
    int fd = tt_net_connect("127.0.0.1", port, &inprog, err, sizeof(err));
    assert_true(fd >= 0);
    uint64_t start = tt_clock_ms(), next = start + interval_ms;
    size_t off = 0, hlen = strlen(head);
    tt_buf_t out;
    tt_buf_init(&out);
    for (;;) {
        uint64_t now = tt_clock_ms();
        assert_true(now - start < give_up_ms);
        if (off < hlen) {
            ssize_t w = write(fd, head + off, hlen - off);
            if (w > 0)
                off += (size_t)w;
        } else if (now >= next) {
            if (write(fd, piece, strlen(piece)) < 0 && errno != EAGAIN && errno != ENOTCONN)
                break; /* reset: the server is gone */
            next += interval_ms;
        }
        tt_loop_run_once(loop, 5);
        char buf[4096];
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r > 0)
            tt_buf_append(&out, buf, (size_t)r);
        else if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN))
            break;
    }
    *took_ms = tt_clock_ms() - start;
    close(fd);
    tt_buf_append(&out, "", 1);
    char *text = strdup((char *)tt_buf_head(&out));
    tt_buf_free(&out);
    return text;
}

/* Deadlines for the whole request: a sender that trickles its headers (or its body below the
 * minimum rate) is cut with 408 although it is never idle; a body at a fair rate gets in. */
static void test_request_deadlines(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    app_t a = {0};
    char err[128];
    tt_http_limits_t lim = {.max_body = 1 << 20, .idle_ms = 10000, .header_ms = 400,
                            .body_ms = 400, .min_rate = 2000};
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, &lim, handle, &a, err,
                                             sizeof(err));
    assert_non_null(s);
    uint16_t port = tt_http_server_port(s);
    uint64_t took;
    /* headers: one byte every 50 ms */
    char *resp = trickle(loop, port, "GET / HTTP/1.1\r\n", "X", 50, 5000, &took);
    assert_non_null(strstr(resp, "HTTP/1.1 408 Request Timeout"));
    assert_true(took >= 350 && took < 3000);
    free(resp);
    /* body: 20 bytes every 50 ms (400 B/s) where 2000 B/s are asked for: the grace of 400 ms
     * and the credit of what came (1/2000 s a byte) run out within about a second */
    resp = trickle(loop, port, "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
                   "aaaaaaaaaaaaaaaaaaaa", 50, 5000, &took);
    assert_non_null(strstr(resp, "HTTP/1.1 408 Request Timeout"));
    assert_true(took >= 400 && took < 3000);
    free(resp);
    assert_int_equal(a.requests, 0);
    assert_int_equal(tt_http_server_timed_out(s), 2);
    /* a body sent at 20 kB/s, for 1.5 s: well past the grace, never cut */
    static char piece[1001];
    memset(piece, 'b', 1000);
    resp = trickle(loop, port, "POST / HTTP/1.1\r\nContent-Length: 30000\r\n\r\n", piece, 50,
                   10000, &took);
    assert_non_null(strstr(resp, "{\"method\":\"POST\",\"len\":30000}"));
    assert_true(took >= 1000);
    free(resp);
    assert_int_equal(a.requests, 1);
    tt_http_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

/* A connected socket from source address src to 127.0.0.1:port. */
static int connect_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &sa.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Has the server closed fd (end of stream or reset), within the loop turns given? */
static int closed_by_server(tt_loop_t *loop, int fd, int turns)
{
    for (int i = 0; i < turns; i++) {
        tt_loop_run_once(loop, 5);
        char buf[512];
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return 1;
    }
    return 0;
}

/* The per-address cap: over it a connection is refused, another address still gets in, and a
 * closed connection frees its place. */
static void test_per_address_cap(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    app_t a = {0};
    char err[128];
    tt_http_limits_t lim = {.max_per_addr = 2};
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, &lim, handle, &a, err,
                                             sizeof(err));
    assert_non_null(s);
    uint16_t port = tt_http_server_port(s);
    int a1 = connect_from("127.0.0.1", port), a2 = connect_from("127.0.0.1", port);
    assert_false(closed_by_server(loop, a1, 10));
    assert_false(closed_by_server(loop, a2, 1));
    int a3 = connect_from("127.0.0.1", port);
    assert_true(closed_by_server(loop, a3, 20));
    assert_int_equal(tt_http_server_refused_per_addr(s), 1);
    int b1 = connect_from("127.0.0.2", port);
    assert_false(closed_by_server(loop, b1, 10));
    assert_int_equal(tt_http_server_conns(s), 3);
    /* b1 gets its answer; a1 leaves and its place is free again */
    const char *get = "GET / HTTP/1.1\r\n\r\n";
    assert_int_equal(write(b1, get, strlen(get)), (ssize_t)strlen(get));
    assert_true(closed_by_server(loop, b1, 100));
    assert_int_equal(a.requests, 1);
    close(a1);
    for (int i = 0; i < 10; i++)
        tt_loop_run_once(loop, 5);
    int a4 = connect_from("127.0.0.1", port);
    assert_false(closed_by_server(loop, a4, 10));
    assert_int_equal(tt_http_server_refused_per_addr(s), 1);
    assert_int_equal(tt_http_server_conns(s), 2);
    close(a2);
    close(a3);
    close(a4);
    close(b1);
    tt_http_server_free(s);
    tt_loop_run_once(loop, 0);
    tt_loop_free(loop);
}

typedef struct stream_app_s {
    int headers, aborted, requests;
    size_t bytes;
} stream_app_t;

static int st_headers(tt_http_req_t *req, void *udata)
{
    stream_app_t *a = udata;
    a->headers++;
    return strcmp(req->url, "/refuse") == 0 ? 403 : 0;
}

static int st_body(tt_http_req_t *req, const char *at, size_t len, void *udata)
{
    (void)req;
    (void)at;
    stream_app_t *a = udata;
    a->bytes += len;
    return 0;
}

static void st_abort(tt_http_req_t *req, void *udata)
{
    (void)req;
    stream_app_t *a = udata;
    a->aborted++;
}

static void st_handle(tt_http_req_t *req, void *udata)
{
    stream_app_t *a = udata;
    a->requests++;
    assert_int_equal(tt_buf_len(&req->body), 0); /* streamed, not gathered */
    char body[64];
    int n = snprintf(body, sizeof(body), "got %zu", a->bytes);
    tt_http_respond(req, 200, "text/plain", body, (size_t)n);
}

/* Streamed bodies: chunks go to on_body (chunked encoding too), the handler runs once the body
 * is in, on_headers can refuse, and a client that leaves mid-body is reported to on_abort. */
static void test_stream(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    stream_app_t a = {0};
    char err[128];
    static const tt_http_stream_t st = {st_headers, st_body, st_abort, NULL};
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, NULL, st_handle, &a, err,
                                             sizeof(err));
    assert_non_null(s);
    tt_http_server_set_stream(s, &st);
    uint16_t port = tt_http_server_port(s);
    const char *post = "POST /up HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world";
    char *resp = roundtrip(loop, port, post, strlen(post));
    assert_non_null(strstr(resp, "got 11"));
    free(resp);
    a.bytes = 0;
    const char *chunked = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
    resp = roundtrip(loop, port, chunked, strlen(chunked));
    assert_non_null(strstr(resp, "got 8"));
    free(resp);
    resp = roundtrip(loop, port, "POST /refuse HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 45);
    assert_non_null(strstr(resp, "HTTP/1.1 403"));
    free(resp);
    assert_int_equal(a.requests, 2);
    assert_int_equal(a.aborted, 0);
    /* half a body, then the client leaves */
    int fd = connect_from("127.0.0.1", port);
    const char *half = "POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789";
    assert_int_equal(write(fd, half, strlen(half)), (ssize_t)strlen(half));
    for (int i = 0; i < 20 && a.headers < 4; i++)
        tt_loop_run_once(loop, 5);
    close(fd);
    for (int i = 0; i < 20 && !a.aborted; i++)
        tt_loop_run_once(loop, 5);
    assert_int_equal(a.aborted, 1);
    /* the same when the server shuts down under it */
    fd = connect_from("127.0.0.1", port);
    assert_int_equal(write(fd, half, strlen(half)), (ssize_t)strlen(half));
    for (int i = 0; i < 20 && a.headers < 5; i++)
        tt_loop_run_once(loop, 5);
    assert_int_equal(a.headers, 5);
    tt_http_server_free(s);
    assert_int_equal(a.aborted, 2);
    tt_loop_run_once(loop, 0);
    close(fd);
    assert_int_equal(a.requests, 2);
    tt_loop_free(loop);
}

static void st_too_large(tt_http_req_t *req, void *udata)
{
    stream_app_t *a = udata;
    a->requests += 100;
    tt_http_respond(req, 200, "text/html", "{\"error_code\":1}", 16);
}

static void ex_handle(tt_http_req_t *req, void *udata)
{
    (void)udata;
    tt_http_respond_ex(req, 206, "image/png", "Content-Range: bytes 0-3/10\r\n", "abcd", 4,
                       strcmp(req->method, "HEAD") == 0);
}

/* on_too_large answers a body over max_body in its own words, before any of it is read (by its
 * Content-Length) or as a chunked one passes it, and the answer reaches a client that keeps
 * sending (linger); tt_http_respond_ex adds header lines and leaves the body out for HEAD. */
static void test_too_large_and_ex(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    stream_app_t a = {0};
    char err[128];
    static const tt_http_stream_t st = {st_headers, st_body, st_abort, st_too_large};
    tt_http_limits_t lim = {.max_body = 16};
    tt_http_server_t *s = tt_http_server_new(loop, "127.0.0.1", 0, &lim, st_handle, &a, err,
                                             sizeof(err));
    assert_non_null(s);
    tt_http_server_set_stream(s, &st);
    uint16_t port = tt_http_server_port(s);
    const char *big = "POST /up HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
    char *resp = roundtrip(loop, port, big, strlen(big)); /* no body sent at all */
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "{\"error_code\":1}"));
    free(resp);
    assert_int_equal(a.bytes, 0);
    /* a client that sends its body anyway still reads the answer: the rest is read and
     * dropped, and the answer is followed by an end of stream, not a reset */
    size_t hl = strlen(big), bl = 300 * 1024;
    char *with_body = malloc(hl + bl);
    assert_non_null(with_body);
    memcpy(with_body, big, hl);
    memset(with_body + hl, 'x', bl);
    resp = roundtrip(loop, port, with_body, hl + bl);
    assert_non_null(strstr(resp, "{\"error_code\":1}"));
    free(resp);
    free(with_body);
    a.requests -= 100;
    const char *chunked = "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
    resp = roundtrip(loop, port, chunked, strlen(chunked));
    assert_non_null(strstr(resp, "{\"error_code\":1}"));
    free(resp);
    assert_int_equal(a.requests, 200); /* twice on_too_large, never the handler */
    tt_http_server_free(s);

    s = tt_http_server_new(loop, "127.0.0.1", 0, NULL, ex_handle, NULL, err, sizeof(err));
    assert_non_null(s);
    port = tt_http_server_port(s);
    resp = roundtrip(loop, port, "GET /x HTTP/1.1\r\n\r\n", 20);
    assert_non_null(strstr(resp, "HTTP/1.1 206 Partial Content\r\n"));
    assert_non_null(strstr(resp, "Content-Range: bytes 0-3/10\r\n"));
    assert_non_null(strstr(resp, "Content-Length: 4\r\n"));
    assert_non_null(strstr(resp, "\r\n\r\nabcd"));
    free(resp);
    resp = roundtrip(loop, port, "HEAD /x HTTP/1.1\r\n\r\n", 21);
    assert_non_null(strstr(resp, "Content-Length: 4\r\n"));
    size_t n = strlen(resp);
    assert_true(n >= 4 && strcmp(resp + n - 4, "\r\n\r\n") == 0); /* no body */
    free(resp);
    tt_http_server_free(s);
    tt_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_deferred_answer),
        cmocka_unit_test(test_request_deadlines),
        cmocka_unit_test(test_per_address_cap),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_too_large_and_ex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
