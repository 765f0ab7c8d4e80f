/* msg_server's group member cache (gcache.c): lists by group and version, stale after a
 * change notify (version 0 told to db_proxy, the list still there for answers in flight), the
 * bound on member ids over all groups, and the attach_data forms of group messages. */
#include <stdlib.h>
#include <string.h>

#include "msg_server.h"
#include "tt_test.h"

static uint8_t *be_ids(uint32_t first, size_t n)
{
    uint8_t *b = malloc(4 * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        tt_put32(b + 4 * i, first + (uint32_t)i);
    return b;
}

static void setup_ms(msg_server_t *ms, size_t max)
{
    memset(ms, 0, sizeof(*ms));
    tt_map_init(&ms->groups);
    ms->group_cache_max = max;
}

static void test_put_get_stale(void **state)
{
    (void)state;
    static msg_server_t ms;
    setup_ms(&ms, 1000);
    uint8_t *b = be_ids(10, 3);
    assert_null(ms_gcache_get(&ms, 7));
    assert_int_equal(ms_gcache_version(&ms, 7), 0);
    const ms_group_t *g = ms_gcache_put(&ms, 7, 4, b, 3);
    assert_non_null(g);
    assert_int_equal(g->n, 3);
    assert_int_equal(g->ids[0], 10);
    assert_int_equal(g->ids[2], 12);
    assert_int_equal(ms_gcache_version(&ms, 7), 4);
    ms_gcache_stale(&ms, 7);
    assert_int_equal(ms_gcache_version(&ms, 7), 0); /* the next message asks again */
    assert_non_null(ms_gcache_get(&ms, 7));         /* answers in flight still use it */
    g = ms_gcache_put(&ms, 7, 5, b, 2);
    assert_int_equal(ms_gcache_version(&ms, 7), 5);
    assert_int_equal(ms.group_ids, 2);
    ms_gcache_drop(&ms, 7);
    assert_null(ms_gcache_get(&ms, 7));
    assert_int_equal(ms.group_ids, 0);
    free(b);
    ms_gcache_free(&ms);
}

static void test_bound(void **state)
{
    (void)state;
    static msg_server_t ms;
    setup_ms(&ms, 1000);
    uint8_t *b = be_ids(1, 1001);
    assert_null(ms_gcache_put(&ms, 1, 1, b, 1001)); /* bigger than the bound: not cached */
    assert_int_equal(ms.group_ids, 0);
    for (uint32_t gid = 1; gid <= 50; gid++)
        assert_non_null(ms_gcache_put(&ms, gid, 1, b, 300));
    assert_true(ms.group_ids <= 1000);
    assert_true(tt_map_len(&ms.groups) <= 3);
    assert_non_null(ms_gcache_get(&ms, 50)); /* the newest is kept */
    size_t sum = 0;
    for (size_t i = 0; i < ms.groups.cap; i++)
        if (ms.groups.slots[i].value)
            sum += ((ms_group_t *)ms.groups.slots[i].value)->n;
    assert_int_equal(sum, ms.group_ids);
    free(b);
    ms_gcache_free(&ms);
}

static void test_attach_forms(void **state)
{
    (void)state;
    uint8_t a[MS_ATTACH_GROUP_LEN];
    ms_attach_encode_group(a, 0x01020304, 9, 77, 1234, 42);
    ProtobufCBinaryData bin = {sizeof(a), a};
    uint32_t handle, ordinal;
    const uint8_t *payload;
    size_t plen;
    assert_int_equal(ms_attach_decode(&bin, &handle, &ordinal, &payload, &plen), 0);
    assert_int_equal(handle, 0x01020304);
    assert_int_equal(ordinal, 9);
    assert_int_equal(plen, 16);
    assert_memory_equal(payload, MS_RESEND_TAG, 4);
    assert_int_equal(tt_get32(payload + 4), 77);
    assert_int_equal(tt_get32(payload + 8), 1234);
    assert_int_equal(tt_get32(payload + 12), 42);
    /* the answer's payload */
    uint8_t p[12 + 8];
    memcpy(p, MS_GROUP_TAG, 4);
    tt_put32(p + 4, 6);
    tt_put32(p + 8, 2);
    tt_put32(p + 12, 5);
    tt_put32(p + 16, 8);
    uint32_t version;
    const uint8_t *ids;
    size_t n;
    assert_int_equal(ms_attach_group(p, sizeof(p), &version, &ids, &n), 0);
    assert_int_equal(version, 6);
    assert_int_equal(n, 2);
    assert_int_equal(tt_get32(ids + 4), 8);
    tt_put32(p + 8, 3); /* a count the bytes do not hold */
    assert_int_equal(ms_attach_group(p, sizeof(p), &version, &ids, &n), -1);
    assert_int_equal(ms_attach_group(p, 11, &version, &ids, &n), -1);
    assert_int_equal(ms_attach_group((const uint8_t *)"DUPE", 4, &version, &ids, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_stale),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_attach_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
