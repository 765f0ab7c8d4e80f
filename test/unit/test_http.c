#include <errno.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_deferred_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
