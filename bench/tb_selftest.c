/* tt-bench --self-test: the pieces that must match real clients byte for byte (the §6.2
 * cipher vectors, §6.4 md5, §5.1 JSON), and the measuring parts (histogram, payload). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tb_group.h"
#include "tb_real.h"
#include "tt_bench.h"

static int checks, failures;

static void check(int ok, const char *what)
{
    checks++;
    if (!ok) {
        failures++;
        printf("FAIL: %s\n", what);
    }
}

static void test_cipher(void)
{
    static const struct {
        const char *plain, *b64;
    } vec[] = {
        {"hello", "nnZSBwfPCz60q69ddmfIJA=="},
        {"123456789012", "qRbX2o2N6/0vxpOpQhCOOg=="},
        {"1234567890123", "ovYKzOY+0lEFsnZlqUWIQAr+GZ43+2mMfQMFqTsGBjY="},
        {"1234567890123456", "zyFIAqnq8fihaJFqgH9gVAfU6OB7fpsvZh6GP3dYB9g="},
        {"\xe4\xbd\xa0\xe5\xa5\xbd", "UKheN9KmjZEOcj7ZdGedvw=="},          /* 你好 */
        {"[\xe8\xaf\xad\xe9\x9f\xb3]", "QhGXlpFjvMFUNrtl1aaPzA=="},         /* [语音] */
    };
    ttc_cipher_t c;
    check(ttc_cipher_init(&c, TTC_TT_KEY) == 0, "cipher init");
    check(ttc_cipher_init(&(ttc_cipher_t){0}, "short") < 0, "a key that is not 32 bytes is refused");
    char out[256], what[512];
    uint8_t plain[256];
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t L = strlen(vec[i].plain);
        long n = ttc_tt_encrypt(&c, vec[i].plain, L, out, sizeof(out));
        snprintf(what, sizeof(what), "§6.2 vector %zu encrypts to %s (got %s)", i, vec[i].b64,
                 n > 0 ? out : "error");
        check(n > 0 && strcmp(out, vec[i].b64) == 0, what);
        check(n == (long)ttc_tt_cipher_text_len(L), "cipher text length formula");
        long m = ttc_tt_decrypt(&c, vec[i].b64, strlen(vec[i].b64), plain, sizeof(plain));
        snprintf(what, sizeof(what), "§6.2 vector %zu decrypts", i);
        check(m == (long)L && memcmp(plain, vec[i].plain, L) == 0, what);
    }
    /* padding boundaries: r = 0, 1..12, 13..15 */
    check(ttc_tt_padded_len(1) == 16 && ttc_tt_padded_len(12) == 16 && ttc_tt_padded_len(13) == 32 &&
              ttc_tt_padded_len(16) == 32 && ttc_tt_padded_len(17) == 32 &&
              ttc_tt_padded_len(28) == 32 && ttc_tt_padded_len(29) == 48,
          "padded lengths follow §6.2 step 1");
    /* round trips of every length up to 200 */
    uint8_t src[200];
    char big[400];
    int rt_ok = 1;
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 37 + 11);
    for (size_t L = 1; L <= sizeof(src); L++) {
        long n = ttc_tt_encrypt(&c, src, L, big, sizeof(big));
        long m = n > 0 ? ttc_tt_decrypt(&c, big, (size_t)n, plain, sizeof(plain)) : -1;
        if (m != (long)L || memcmp(plain, src, L) != 0)
            rt_ok = 0;
    }
    check(rt_ok, "encrypt/decrypt round trip for lengths 1..200");
    check(ttc_tt_encrypt(&c, "", 0, out, sizeof(out)) < 0, "empty plaintext is refused (§6.2)");
    check(ttc_tt_encrypt(&c, "hello", 5, out, 10) < 0, "output buffer too small is refused");
    check(ttc_tt_decrypt(&c, "", 0, plain, sizeof(plain)) < 0, "empty ciphertext is refused");
    check(ttc_tt_decrypt(&c, "aGVsbG8=", 8, plain, sizeof(plain)) < 0,
          "ciphertext not a multiple of 16 is refused");
    check(ttc_tt_decrypt(&c, "nnZSBwfP!z60q69ddmfIJA==", 24, plain, sizeof(plain)) < 0,
          "ciphertext outside the Base64 alphabet is refused");
    check(ttc_tt_decrypt(&c, "nnZSBwfPCz60q69ddmfIJA==", 24, plain, 4) < 0,
          "plaintext larger than the buffer is refused");
    /* a block whose length trailer says more than the block holds */
    char bogus[64];
    uint8_t zero[16] = {0};
    ttc_b64_encode(zero, 16, bogus);
    long z = ttc_tt_decrypt(&c, bogus, strlen(bogus), plain, sizeof(plain));
    check(z < 0 || z <= 16, "a garbage trailer never yields more than the ciphertext");
    ttc_cipher_free(&c);
}

static void test_base64(void)
{
    static const char *vec[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                   {"foobar", "Zm9vYmFy"}};
    char out[32];
    uint8_t dec[32];
    size_t n;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        ttc_b64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), out);
        check(strcmp(out, vec[i][1]) == 0, "RFC 4648 Base64 encoding");
        check(ttc_b64_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof(dec), &n) == 0 &&
                  n == strlen(vec[i][0]) && memcmp(dec, vec[i][0], n) == 0,
              "RFC 4648 Base64 decoding");
    }
    check(ttc_b64_decode("Zm9v\r\nYmFy", 10, dec, sizeof(dec), &n) == 0 && n == 6 &&
              memcmp(dec, "foobar", 6) == 0,
          "Base64 decoding skips line breaks");
    check(ttc_b64_decode("Zm9vYmFy", 8, dec, 5, &n) < 0, "Base64 decoding respects its buffer");
}

static void test_md5(void)
{
    char hex[33];
    check(ttc_md5_hex_buf("123456", 6, hex) == 0 && strcmp(hex, "e10adc3949ba59abbe56e057f20f883e") == 0,
          "§6.4 md5(\"123456\")");
    char salted[64];
    snprintf(salted, sizeof(salted), "%s1234", hex);
    check(ttc_md5_hex_buf(salted, strlen(salted), hex) == 0 &&
              strcmp(hex, "b605e86d02eef8bfd0646f6a704c17c9") == 0,
          "§6.4 stored form md5(md5(p) . salt)");
    check(ttc_md5_hex_buf("test123", 7, hex) == 0 &&
              strcmp(hex, "cc03e747a6afbbcbf8be7668acfebee5") == 0,
          "md5 of the demo password test123");
}

static void test_json(void)
{
    /* §5.1, jsoncpp styled output as the original sends it */
    static const char styled[] =
        "{\n   \"backupIP\" : \"10.0.0.5\",\n   \"code\" : 0,\n"
        "   \"discovery\" : \"http://127.0.0.1/api/discovery\",\n"
        "   \"msfsBackup\" : \"http://127.0.0.1:8700/\",\n"
        "   \"msfsPrior\" : \"http://127.0.0.1:8700/\",\n   \"msg\" : \"\",\n"
        "   \"port\" : \"8000\",\n   \"priorIP\" : \"10.0.0.5\"\n}\n";
    char ip[64], err[256];
    uint16_t port = 0;
    int rc = tb_msg_server_json(styled, strlen(styled), ip, sizeof(ip), &port, err, sizeof(err));
    check(rc == 0 && strcmp(ip, "10.0.0.5") == 0 && port == 8000,
          "§5.1 answer: priorIP and port (a string)");
    static const char compact[] = "{\"code\":0,\"msg\":\"\",\"priorIP\":\"127.0.0.1\","
                                  "\"backupIP\":\"127.0.0.1\",\"port\":8001}";
    check(tb_msg_server_json(compact, strlen(compact), ip, sizeof(ip), &port, err, sizeof(err)) ==
                  0 && port == 8001,
          "a numeric port is accepted too");
    static const char refused[] = "{\"code\":1,\"msg\":\"\xe6\xb2\xa1\xe6\x9c\x89msg_server\"}";
    check(tb_msg_server_json(refused, strlen(refused), ip, sizeof(ip), &port, err, sizeof(err)) <
                  0 && strstr(err, "code 1") != NULL,
          "code 1 (no msg_server) is reported with its code");
    static const char *bad[] = {
        "not json", "[1,2]", "{\"msg\":\"\"}", "{\"code\":0,\"port\":\"8000\"}",
        "{\"code\":0,\"priorIP\":\"1.2.3.4\",\"port\":\"80x\"}",
        "{\"code\":0,\"priorIP\":\"1.2.3.4\",\"port\":\"70000\"}",
        "{\"code\":0,\"priorIP\":\"\",\"port\":\"8000\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check(tb_msg_server_json(bad[i], strlen(bad[i]), ip, sizeof(ip), &port, err, sizeof(err)) <
                  0,
              "an unusable discovery answer is refused");
}

static void test_http(void)
{
    int st;
    const char *body;
    size_t bl;
    /* the original's header style: no space after the colon */
    static const char orig[] = "HTTP/1.1 200 OK\r\nConnection:close\r\nContent-Length:7\r\n"
                               "Content-Type:text/html;charset=utf-8\r\n\r\n{\"a\":1}";
    check(tb_http_response(orig, strlen(orig), 0, &st, &body, &bl) == 0 && st == 200 && bl == 7 &&
              memcmp(body, "{\"a\":1}", 7) == 0,
          "HTTP answer with Content-Length (original header style)");
    check(tb_http_response(orig, strlen(orig) - 1, 0, &st, &body, &bl) == -2,
          "HTTP answer cut in the body needs more bytes");
    check(tb_http_response(orig, 20, 0, &st, &body, &bl) == -2,
          "HTTP answer cut in the headers needs more bytes");
    check(tb_http_response(orig, strlen(orig) - 1, 1, &st, &body, &bl) == -1,
          "HTTP answer cut by the end of stream is refused");
    static const char noclen[] = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n{}";
    check(tb_http_response(noclen, strlen(noclen), 0, &st, &body, &bl) == -2 &&
              tb_http_response(noclen, strlen(noclen), 1, &st, &body, &bl) == 0 && bl == 2,
          "HTTP answer without Content-Length ends with the stream");
    static const char chunked[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    check(tb_http_response(chunked, strlen(chunked), 1, &st, &body, &bl) == -1,
          "chunked HTTP answers are refused");
    check(tb_http_response("garbage\r\n\r\n", 11, 1, &st, &body, &bl) == -1,
          "a non-HTTP answer is refused");
    static const char st404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    check(tb_http_response(st404, strlen(st404), 0, &st, &body, &bl) == 0 && st == 404,
          "HTTP status is reported");

    tb_url_t u;
    char err[256], req[2048];
    check(tb_url_parse("http://127.0.0.1:8080/msg_server", &u, err, sizeof(err)) == 0 &&
              strcmp(u.host, "127.0.0.1") == 0 && u.port == 8080 &&
              strcmp(u.path, "/msg_server") == 0,
          "URL with host, port and path");
    check(tb_url_parse("http://login.example", &u, err, sizeof(err)) == 0 && u.port == 80 &&
              strcmp(u.path, "/") == 0,
          "URL without port and path");
    check(tb_url_parse("http://h:1/msg_server?x=1", &u, err, sizeof(err)) == 0 &&
              strcmp(u.path, "/msg_server?x=1") == 0,
          "URL with a query");
    check(tb_url_parse("https://h/", &u, err, sizeof(err)) < 0, "https is refused");
    check(tb_url_parse("http://h:99999/", &u, err, sizeof(err)) < 0, "a bad port is refused");
    check(tb_url_parse("http:///x", &u, err, sizeof(err)) < 0, "an empty host is refused");
    tb_url_parse("http://127.0.0.1:8080/msg_server", &u, err, sizeof(err));
    check(tb_http_get_request(&u, req, sizeof(req)) > 0 &&
              strncmp(req, "GET /msg_server HTTP/1.1\r\n", 26) == 0 &&
              strstr(req, "\r\n\r\n") == req + strlen(req) - 4,
          "GET request line and end of headers");
}

static void test_hist(void)
{
    tb_hist_t h;
    tb_hist_init(&h);
    check(tb_hist_quantile(&h, 0.5) == 0, "empty histogram");
    for (uint64_t v = 1; v <= 100000; v++)
        tb_hist_record(&h, v);
    uint64_t p50 = tb_hist_quantile(&h, 0.5), p99 = tb_hist_quantile(&h, 0.99);
    check(p50 >= 50000 && p50 <= 50000 * 1.016, "p50 of 1..100000 within 1.6 %");
    check(p99 >= 99000 && p99 <= 99000 * 1.016, "p99 of 1..100000 within 1.6 %");
    check(tb_hist_quantile(&h, 1.0) == 100000 && h.min == 1, "exact max and min");
    check(tb_hist_mean(&h) > 50000.4 && tb_hist_mean(&h) < 50000.6, "mean");
    int mono = 1;
    for (uint64_t v = 1; v < (UINT64_C(1) << 40); v = v * 3 / 2 + 1) {
        unsigned i = tb_hist_index(v);
        if (i >= TB_HIST_BUCKETS || tb_hist_upper(i) < v || (i > 0 && tb_hist_upper(i - 1) >= v))
            mono = 0;
    }
    check(mono, "every value falls in the bucket whose range holds it");
    check(tb_hist_index(UINT64_MAX) == TB_HIST_BUCKETS - 1, "huge values are clamped");
    tb_hist_t a, b;
    tb_hist_init(&a);
    tb_hist_init(&b);
    tb_hist_record(&a, 10);
    tb_hist_record(&b, 1000);
    tb_hist_merge(&a, &b);
    check(a.total == 2 && a.min == 10 && a.max == 1000 && tb_hist_quantile(&a, 0.5) == 10,
          "merge");
}

static void test_payload(void)
{
    uint8_t buf[100];
    memset(buf, 'x', sizeof(buf));
    tb_payload_t p = {0xdeadbeef, 123456, UINT64_C(0x0123456789abcdef), UINT64_C(987654321)}, q;
    tb_payload_write(buf, &p);
    check(tb_payload_parse(buf, sizeof(buf), &q) == 0 && q.run_id == p.run_id &&
              q.sender == p.sender && q.seq == p.seq && q.send_us == p.send_us &&
              buf[TB_PAYLOAD_HEADER] == 'x',
          "payload header round trip");
    check(tb_payload_parse(buf, TB_PAYLOAD_HEADER - 1, &q) < 0, "short payload is refused");
    buf[30] = 'G';
    check(tb_payload_parse(buf, sizeof(buf), &q) < 0, "payload with a bad digit is refused");
    check(tb_pattern_ok("TT%03d") == 0 && tb_pattern_ok("user%u@x") == 0 &&
              tb_pattern_ok("100%%-%d") == 0,
          "account patterns with one integer");
    check(tb_pattern_ok("TT") < 0 && tb_pattern_ok("%d%d") < 0 && tb_pattern_ok("%s") < 0 &&
              tb_pattern_ok("%n%d") < 0,
          "account patterns without exactly one integer are refused");
    check(tb_pair_shift(200, 100) == 100 && tb_pair_shift(10, 7) == 7 &&
              tb_pair_shift(10, 10) == 5 && tb_pair_shift(5, 5) == 2 && tb_pair_shift(1, 1) == 0,
          "pairing shift");
    /* every client receives from at most one sender, never from itself */
    int ok = 1;
    for (uint32_t n = 2; n < 40; n++)
        for (uint32_t m = 1; m <= n; m++) {
            uint32_t s = tb_pair_shift(n, m);
            int got[40] = {0};
            for (uint32_t i = 0; i < m; i++) {
                uint32_t r = (i + s) % n;
                if (r == i || got[r]++)
                    ok = 0;
            }
        }
    check(ok, "pairs: distinct receivers, nobody sends to itself");

    int slots_ok = 1;
    for (uint32_t w = 1; w <= 4096; w++) {
        uint32_t n = tb_slot_count(w);
        if (TB_MSG_SEQS % n != 0 || n < 2 * w + 8)
            slots_ok = 0;
    }
    check(slots_ok, "window slots divide the message seq cycle and hold two windows");
    /* across the wrap (seq 32765 -> 1, message index 16382 -> 0) the slot keeps counting up */
    uint32_t n = tb_slot_count(8);
    check(((TB_MSG_SEQS - 1) % n + 1) % n == 0, "slot index is continuous across the seq wrap");
    check(2 * (TB_MSG_SEQS - 1) + 1 == 32765, "message seqs are the odd numbers up to 32765");

    tb_rx_window_t rx;
    memset(&rx, 0, sizeof(rx));
    int dedupe_ok = tb_rx_first_time(&rx, 1) && tb_rx_first_time(&rx, 3) &&
                    !tb_rx_first_time(&rx, 1) && tb_rx_first_time(&rx, 2) &&
                    !tb_rx_first_time(&rx, 3) && !tb_rx_first_time(&rx, 2);
    dedupe_ok = dedupe_ok && tb_rx_first_time(&rx, 1000) && tb_rx_first_time(&rx, 500) &&
                !tb_rx_first_time(&rx, 500) && tb_rx_first_time(&rx, 5000) &&
                tb_rx_first_time(&rx, 4000) && !tb_rx_first_time(&rx, 4000) &&
                tb_rx_first_time(&rx, 3999) && !tb_rx_first_time(&rx, 5000);
    for (uint64_t q = 5001; q < 5001 + 3 * TB_RX_WINDOW; q++)
        if (!tb_rx_first_time(&rx, q))
            dedupe_ok = 0;
    check(dedupe_ok, "receiver duplicate window: new, duplicate, out of order, jumps");
}

static void test_rss(void)
{
    static const char status[] = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\n"
                                 "VmRSS:\t    1024 kB\nThreads:\t1\n";
    uint64_t rss = 0, hwm = 0;
    check(tb_rss_parse(status, &rss, &hwm) == 0 && rss == 1024 * 1024 && hwm == 2048 * 1024,
          "/proc/PID/status VmRSS and VmHWM");
    check(tb_rss_parse("Name:\tx\n", &rss, &hwm) < 0, "status without VmRSS");
    check(tb_rss_read(getpid(), &rss, &hwm) == 0 && rss > 0, "own RSS is readable");
}

int tb_self_test(void)
{
    test_cipher();
    test_base64();
    test_md5();
    test_json();
    test_http();
    test_hist();
    test_payload();
    test_rss();
    failures += tb_group_self_test(&checks);
    failures += tb_real_self_test(&checks); /* tb_real.c: pairing, CPU accounting, sweep */
    printf("tt-bench self-test: %d checks, %d failed\n", checks, failures);
    return failures ? -1 : 0;
}
