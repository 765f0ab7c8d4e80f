/* hs_auth: key specs, HMAC-SHA256 signatures (a known vector), the time window, the nonce
 * store (replays refused, bounded, entries expire) and permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hs_auth.h"

#define SECRET "0123456789abcdef0123"
#define NOW 1700000000
#define VECTOR_SIG "df6230250dbf774e6b9cbead53423e634a94aa14332b8be3fdcec60478e3141b"

static hs_auth_t *setup_auth(size_t cap)
{
    static hs_auth_t a;
    char err[128];
    hs_key_t *k = calloc(2, sizeof(*k));
    assert_non_null(k);
    assert_int_equal(hs_key_parse("crm:" SECRET ":group.write,msg.send", &k[0], err,
                                  sizeof(err)), 0);
    assert_int_equal(hs_key_parse("ro:" SECRET "XY:online.read", &k[1], err, sizeof(err)), 0);
    assert_int_equal(hs_auth_init(&a, k, 2, 300, cap), 0);
    return &a;
}

static void signed_req(hs_request_t *r, const char *key, const char *secret, const char *ts,
                       const char *nonce, const char *body, char sig[65])
{
    *r = (hs_request_t){.method = "POST", .path = "/api/v1/group/create", .key = key,
                        .timestamp = ts, .nonce = nonce, .signature = sig, .body = body,
                        .body_len = strlen(body)};
    assert_int_equal(hs_sign(secret, r, sig), 0);
}

static void test_key_parse(void **state)
{
    (void)state;
    hs_key_t k;
    char err[128];
    assert_int_equal(hs_key_parse("a:" SECRET ":p1,p2", &k, err, sizeof(err)), 0);
    assert_string_equal(k.name, "a");
    assert_string_equal(k.secret, SECRET);
    assert_int_equal(k.n_perms, 2);
    assert_string_equal(k.perms[1], "p2");
    assert_int_equal(hs_key_parse("a:" SECRET ":", &k, err, sizeof(err)), 0);
    assert_int_equal(k.n_perms, 0);
    assert_int_equal(hs_key_parse("a:short:p", &k, err, sizeof(err)), -1);
    assert_int_equal(hs_key_parse("a:" SECRET, &k, err, sizeof(err)), -1);
    assert_int_equal(hs_key_parse(":" SECRET ":p", &k, err, sizeof(err)), -1);
    assert_int_equal(hs_key_parse("a b:" SECRET ":p", &k, err, sizeof(err)), -1);
    assert_int_equal(hs_key_parse("a:" SECRET ":p,,q", &k, err, sizeof(err)), -1);
    /* "*" is every permission (docs/HTTP_API.md); other punctuation is not a permission */
    assert_int_equal(hs_key_parse("demo:" SECRET ":*", &k, err, sizeof(err)), 0);
    assert_int_equal(k.n_perms, 1);
    assert_string_equal(k.perms[0], "*");
    assert_int_equal(hs_key_parse("a:" SECRET ":p*", &k, err, sizeof(err)), -1);
}

/* The vector computed independently: python3 hmac.new(secret, msg, sha256) over
 * "POST\n/p\n1700000000\nn1\n" + sha256("{}").hexdigest(). */
static void test_sign_vector(void **state)
{
    (void)state;
    hs_request_t r = {.method = "POST", .path = "/p", .timestamp = "1700000000", .nonce = "n1",
                      .body = "{}", .body_len = 2};
    char sig[65];
    assert_int_equal(hs_sign(SECRET, &r, sig), 0);
    assert_string_equal(sig, VECTOR_SIG);
}

static void test_check(void **state)
{
    (void)state;
    hs_auth_t *a = setup_auth(16);
    hs_request_t r;
    char sig[65];
    const hs_key_t *k;
    signed_req(&r, "crm", SECRET, "1700000000", "n-1", "{\"a\":1}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_OK);
    assert_string_equal(k->name, "crm");
    /* the same nonce again: a replay, even with a fresh signature */
    signed_req(&r, "crm", SECRET, "1700000001", "n-1", "{\"a\":1}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_REPLAY);
    /* a changed body, path or method breaks the signature */
    signed_req(&r, "crm", SECRET, "1700000000", "n-2", "{\"a\":1}", sig);
    r.body = "{\"a\":2}";
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_BAD_SIG);
    r.body = "{\"a\":1}";
    r.path = "/api/v1/group/members";
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_BAD_SIG);
    r.path = "/api/v1/group/create";
    r.method = "GET";
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_BAD_SIG);
    /* ... and a failed check does not use up the nonce */
    r.method = "POST";
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_OK);
    /* another key's secret, an unknown key, headers missing or malformed */
    signed_req(&r, "crm", SECRET "XY", "1700000000", "n-3", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_BAD_SIG);
    signed_req(&r, "nobody", SECRET, "1700000000", "n-3", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_UNKNOWN_KEY);
    signed_req(&r, "crm", SECRET, "1700000000", "n-3", "{}", sig);
    r.signature = NULL;
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_MISSING);
    r.signature = "abc";
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_MISSING);
    signed_req(&r, "crm", SECRET, "17e8", "n-3", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_MISSING);
    signed_req(&r, "crm", SECRET, "1700000000", "bad nonce", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_MISSING);
    /* the window: 300 s either side */
    signed_req(&r, "crm", SECRET, "1699999699", "n-4", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_STALE);
    signed_req(&r, "crm", SECRET, "1700000301", "n-4", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_STALE);
    signed_req(&r, "crm", SECRET, "1699999700", "n-4", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_OK);
    /* a good signature without the permission */
    signed_req(&r, "ro", SECRET "XY", "1700000000", "n-5", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_FORBIDDEN);
    signed_req(&r, "ro", SECRET "XY", "1700000000", "n-6", "{}", sig);
    assert_int_equal(hs_auth_check(a, &r, "online.read", NOW, &k), HS_OK);
    hs_auth_free(a);
}

static void test_nonce_store_bounded(void **state)
{
    (void)state;
    hs_auth_t *a = setup_auth(4);
    hs_request_t r;
    char sig[65], nonce[16];
    const hs_key_t *k;
    for (int i = 0; i < 4; i++) {
        snprintf(nonce, sizeof(nonce), "x%d", i);
        signed_req(&r, "crm", SECRET, "1700000000", nonce, "", sig);
        assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_OK);
    }
    signed_req(&r, "crm", SECRET, "1700000000", "x4", "", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW, &k), HS_FULL);
    /* the same nonce under another key is another entry, refused too while full */
    signed_req(&r, "ro", SECRET "XY", "1700000000", "x0", "", sig);
    assert_int_equal(hs_auth_check(a, &r, "online.read", NOW, &k), HS_FULL);
    /* two windows later the entries expired: room again, and old nonces are stale anyway */
    char ts[16];
    snprintf(ts, sizeof(ts), "%d", NOW + 601);
    signed_req(&r, "crm", SECRET, ts, "x4", "", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW + 601, &k), HS_OK);
    signed_req(&r, "crm", SECRET, ts, "x0", "", sig);
    assert_int_equal(hs_auth_check(a, &r, "group.write", NOW + 601, &k), HS_OK);
    hs_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_nonce_store_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
