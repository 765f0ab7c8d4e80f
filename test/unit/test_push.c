/* push_server's pieces: the bounded queue and its drop counter, base64url, ES256 JWTs that
 * verify and are cached (renewed after 40 minutes), APNs payloads and headers for normal and
 * silent pushes, and which answers mean "unregistered". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "ps.h"

static ps_job_t *job(uint32_t uid)
{
    ps_job_t *j = calloc(1, sizeof(*j));
    j->uid = uid;
    j->token = strdup("a1a1");
    j->stored = strdup("ios:a1a1");
    j->flash = strdup("hi \"there\"");
    j->data = strdup("{\"k\":1}");
    j->badge = 9;
    return j;
}

static void test_queue(void **state)
{
    (void)state;
    ps_queue_t q;
    ps_queue_init(&q, 3);
    for (uint32_t i = 1; i <= 5; i++) {
        ps_job_t *j = job(i);
        if (ps_queue_push(&q, j) < 0)
            ps_job_free(j);
    }
    assert_int_equal(q.accepted, 3);
    assert_int_equal(q.dropped_full, 2);
    ps_job_t *j = ps_queue_pop(&q);
    assert_int_equal(j->uid, 1);
    ps_job_free(j);
    assert_int_equal(ps_queue_push(&q, job(6)), 0);
    assert_int_equal(q.n, 3);
    ps_queue_fini(&q); /* frees the rest */
}

static void test_b64url(void **state)
{
    (void)state;
    char out[16];
    const struct { const char *in; size_t len; const char *want; } v[] = {
        {"", 0, ""}, {"f", 1, "Zg"}, {"fo", 2, "Zm8"}, {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"}, {"\xfb\xff", 2, "-_8"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(ps_b64url((const uint8_t *)v[i].in, v[i].len, out), strlen(v[i].want));
        assert_string_equal(out, v[i].want);
    }
}

static int b64d(const char *s, size_t n, uint8_t *out)
{
    char buf[512];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        buf[k++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (k % 4)
        buf[k++] = '=';
    int len = EVP_DecodeBlock(out, (const uint8_t *)buf, (int)k);
    return len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
}

static void test_es256(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    char *t = ps_jwt_sign(key, 1, "{\"alg\":\"ES256\"}", "{\"iss\":\"T\"}");
    assert_non_null(t);
    char *dot2 = strrchr(t, '.');
    uint8_t sig[128];
    assert_int_equal(b64d(dot2 + 1, strlen(dot2 + 1), sig), 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    uint8_t *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(ctx, der, (size_t)dl, (const uint8_t *)t,
                                      (size_t)(dot2 - t)), 1);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(t);
    EVP_PKEY_free(key);
}

static char *header(struct curl_slist *l, const char *name)
{
    for (; l; l = l->next)
        if (strncmp(l->data, name, strlen(name)) == 0)
            return l->data + strlen(name);
    return NULL;
}

static void test_apns(void **state)
{
    (void)state;
    ps_apns_t a = {.enabled = 1, .url = "https://x", .topic = "com.t", .key_id = "K",
                   .team_id = "T", .sound = "default"};
    a.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CURL *e = curl_easy_init();
    ps_job_t *j = job(1);
    struct curl_slist *h = NULL;
    char *body = NULL;
    assert_int_equal(ps_apns_prepare(&a, e, j, &h, &body), 0);
    assert_string_equal(body, "{\"aps\":{\"alert\":{\"body\":\"hi \\\"there\\\"\"},\"badge\":9,"
                              "\"sound\":\"default\"},\"custom\":\"{\\\"k\\\":1}\"}");
    assert_string_equal(header(h, "apns-priority: "), "10");
    assert_string_equal(header(h, "apns-topic: "), "com.t");
    char *jwt1 = strdup(header(h, "authorization: bearer "));
    curl_slist_free_all(h);
    free(body);
    j->silent = 1;
    assert_int_equal(ps_apns_prepare(&a, e, j, &h, &body), 0);
    assert_string_equal(body, "{\"aps\":{\"badge\":9},\"custom\":\"{\\\"k\\\":1}\"}");
    assert_string_equal(header(h, "apns-priority: "), "5");
    assert_string_equal(header(h, "authorization: bearer "), jwt1); /* cached */
    curl_slist_free_all(h);
    free(body);
    a.jwt_iat -= 41 * 60; /* older than 40 minutes: signed again */
    assert_int_equal(ps_apns_prepare(&a, e, j, &h, &body), 0);
    assert_string_not_equal(header(h, "authorization: bearer "), jwt1);
    curl_slist_free_all(h);
    free(body);
    free(jwt1);
    ps_job_free(j);
    curl_easy_cleanup(e);
    ps_apns_free(&a);
}

static void test_gone(void **state)
{
    (void)state;
    assert_true(ps_apns_gone(410, ""));
    assert_true(ps_apns_gone(400, "{\"reason\":\"BadDeviceToken\"}"));
    assert_false(ps_apns_gone(400, "{\"reason\":\"BadTopic\"}"));
    assert_false(ps_apns_gone(429, ""));
    assert_true(ps_fcm_gone(404, ""));
    assert_true(ps_fcm_gone(400, "{\"errorCode\":\"UNREGISTERED\"}"));
    assert_false(ps_fcm_gone(500, "{}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue), cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_es256), cmocka_unit_test(test_apns),
        cmocka_unit_test(test_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
