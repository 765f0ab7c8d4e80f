/* credcache: a verified credential matches again only with the same uid, stored hash, salt
 * and client password; a new stored value (a password change) or another password does not
 * match; drop forgets; the address recorded with it is fresh for max_age; bounded. */
#include <stdio.h>
#include <string.h>

#include "credcache.h"
#include "tt_test.h"

#define PW "cc03e747a6afbbcbf8be7668acfebee5"
#define ST "pbkdf2_sha256$25000$c2FsdA==$aGFzaA=="

static void test_match(void **state)
{
    (void)state;
    dbp_cred_t *c = dbp_cred_new(100);
    assert_non_null(c);
    assert_false(dbp_cred_match(c, 7, ST, "", PW, 32, 0, 0, 0, NULL));
    dbp_cred_put(c, 7, ST, "", PW, 32, 0, 0);
    assert_true(dbp_cred_match(c, 7, ST, "", PW, 32, 0, 0, 0, NULL));
    assert_false(dbp_cred_match(c, 8, ST, "", PW, 32, 0, 0, 0, NULL));        /* another uid */
    assert_false(dbp_cred_match(c, 7, ST "x", "", PW, 32, 0, 0, 0, NULL));    /* changed row */
    assert_false(dbp_cred_match(c, 7, ST, "1234", PW, 32, 0, 0, 0, NULL));    /* salt */
    assert_false(dbp_cred_match(c, 7, ST, "", "00000000000000000000000000000000", 32, 0, 0, 0,
                                NULL));                                     /* password */
    assert_false(dbp_cred_match(c, 7, ST, "", PW, 31, 0, 0, 0, NULL));        /* its prefix */
    assert_int_equal(dbp_cred_hits(c), 1);
    dbp_cred_put(c, 7, ST "x", "", PW, 32, 0, 0); /* a new password: the old one is gone */
    assert_false(dbp_cred_match(c, 7, ST, "", PW, 32, 0, 0, 0, NULL));
    assert_true(dbp_cred_match(c, 7, ST "x", "", PW, 32, 0, 0, 0, NULL));
    dbp_cred_drop(c, 7);
    assert_false(dbp_cred_match(c, 7, ST "x", "", PW, 32, 0, 0, 0, NULL));
    assert_int_equal(dbp_cred_size(c), 0);
    dbp_cred_free(c);
}

static void test_address(void **state)
{
    (void)state;
    dbp_cred_t *c = dbp_cred_new(100);
    int fresh = -1;
    dbp_cred_put(c, 9, ST, "", PW, 32, 1234, 1000);
    assert_true(dbp_cred_match(c, 9, ST, "", PW, 32, 1234, 1500, 600, &fresh));
    assert_true(fresh);
    assert_true(dbp_cred_match(c, 9, ST, "", PW, 32, 1234, 1700, 600, &fresh));
    assert_false(fresh); /* older than max_age */
    assert_true(dbp_cred_match(c, 9, ST, "", PW, 32, 99, 1500, 600, &fresh));
    assert_false(fresh); /* another address */
    dbp_cred_put(c, 9, ST, "", PW, 32, 0, 1800); /* same tag, no address: the old one stays */
    assert_true(dbp_cred_match(c, 9, ST, "", PW, 32, 1234, 1500, 600, &fresh));
    assert_true(fresh);
    dbp_cred_free(c);
}

static void test_bounded(void **state)
{
    (void)state;
    dbp_cred_t *c = dbp_cred_new(64);
    for (uint32_t uid = 1; uid <= 10000; uid++)
        dbp_cred_put(c, uid, ST, "", PW, 32, 0, 0);
    assert_true(dbp_cred_size(c) <= 64);
    assert_true(dbp_cred_match(c, 10000, ST, "", PW, 32, 0, 0, 0, NULL)); /* the newest */
    assert_null(dbp_cred_new(0));
    dbp_cred_free(NULL);
    dbp_cred_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
