/* login_server: the registry of msg_servers and the choice given to clients — least loaded,
 * full ones skipped, none registered, ties to the oldest registration, counts that never go
 * below zero — and the exact JSON of the /msg_server answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login_server.h"
#include "tt_test.h"

#define MSFS "http://127.0.0.1:8700/"
#define DISCOVERY "http://127.0.0.1/api/discovery"

static ls_msg_server_t *reg(ls_registry_t *r, uint64_t id, const char *ip, uint32_t port,
                            uint32_t max, uint32_t cur)
{
    char ip2[64];
    snprintf(ip2, sizeof(ip2), "%s.2", ip);
    ls_msg_server_t *m = ls_registry_set(r, id, ip, ip2, port, max, cur, "host");
    assert_non_null(m);
    return m;
}

static uint32_t picked_port(const ls_registry_t *r, int *code)
{
    const ls_msg_server_t *m = ls_registry_pick(r, code);
    return m ? m->port : 0;
}

static void assert_json(const ls_registry_t *r, const char *want)
{
    int code;
    const ls_msg_server_t *m = ls_registry_pick(r, &code);
    size_t len = 0;
    char *s = ls_discovery_json(m, code, MSFS, DISCOVERY, &len);
    assert_non_null(s);
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

static void test_none(void **state)
{
    (void)state;
    ls_registry_t r;
    ls_registry_init(&r);
    int code = -1;
    assert_null(ls_registry_pick(&r, &code));
    assert_int_equal(code, LS_PICK_NONE);
    assert_json(&r, "{\"code\":1,\"msg\":\"没有msg_server\"}");
    /* one registers and leaves again */
    reg(&r, 7, "10.0.0.1", 8000, 10, 0);
    assert_int_equal(ls_registry_remove(&r, 7), 1);
    assert_int_equal(ls_registry_remove(&r, 7), 0);
    assert_null(ls_registry_pick(&r, &code));
    assert_int_equal(code, LS_PICK_NONE);
    ls_registry_free(&r);
}

static void test_least_loaded(void **state)
{
    (void)state;
    ls_registry_t r;
    ls_registry_init(&r);
    int code = -1;
    reg(&r, 1, "10.0.0.1", 8001, 100, 5);
    reg(&r, 2, "10.0.0.2", 8002, 100, 3);
    reg(&r, 3, "10.0.0.3", 8003, 100, 4);
    assert_int_equal(ls_registry_len(&r), 3);
    assert_int_equal(picked_port(&r, &code), 8002);
    assert_int_equal(code, LS_PICK_OK);
    assert_json(&r, "{\"backupIP\":\"10.0.0.2.2\",\"code\":0,\"discovery\":\"" DISCOVERY
                    "\",\"msfsBackup\":\"" MSFS "\",\"msfsPrior\":\"" MSFS
                    "\",\"msg\":\"\",\"port\":\"8002\",\"priorIP\":\"10.0.0.2\"}");
    /* logins on 2 move the choice to 3, then to 1 */
    ls_msg_server_t *two = ls_registry_find(&r, 2);
    assert_int_equal(ls_registry_count(two, LS_CNT_INC), 0);
    assert_int_equal(ls_registry_count(two, LS_CNT_INC), 0);
    assert_int_equal(two->cur_conn_cnt, 5);
    assert_int_equal(picked_port(&r, &code), 8003);
    ls_registry_count(ls_registry_find(&r, 3), LS_CNT_INC);
    ls_registry_count(ls_registry_find(&r, 3), LS_CNT_INC);
    assert_int_equal(picked_port(&r, &code), 8001); /* 5, 5, 6: tie between 1 and 2 */
    /* 1 drops: 2 at once */
    assert_int_equal(ls_registry_remove(&r, 1), 1);
    assert_int_equal(picked_port(&r, &code), 8002);
    ls_registry_free(&r);
}

static void test_ties_go_to_the_oldest(void **state)
{
    (void)state;
    ls_registry_t r;
    ls_registry_init(&r);
    int code;
    /* ids do not decide, registration order does */
    reg(&r, 9, "10.0.0.9", 8009, 10, 2);
    reg(&r, 4, "10.0.0.4", 8004, 10, 2);
    reg(&r, 6, "10.0.0.6", 8006, 10, 2);
    assert_int_equal(picked_port(&r, &code), 8009);
    /* registering again on the same connection updates in place and keeps the place */
    ls_msg_server_t *m = reg(&r, 9, "10.1.0.9", 8019, 10, 2);
    assert_string_equal(m->ip1, "10.1.0.9");
    assert_int_equal(ls_registry_len(&r), 3);
    assert_int_equal(picked_port(&r, &code), 8019);
    assert_int_equal(ls_registry_remove(&r, 9), 1);
    assert_int_equal(picked_port(&r, &code), 8004);
    /* it comes back on a new connection: last in line */
    reg(&r, 10, "10.0.0.9", 8009, 10, 2);
    assert_int_equal(picked_port(&r, &code), 8004);
    ls_registry_remove(&r, 4);
    assert_int_equal(picked_port(&r, &code), 8006);
    ls_registry_remove(&r, 6);
    assert_int_equal(picked_port(&r, &code), 8009);
    ls_registry_free(&r);
}

static void test_full(void **state)
{
    (void)state;
    ls_registry_t r;
    ls_registry_init(&r);
    int code;
    reg(&r, 1, "10.0.0.1", 8001, 10, 10);
    reg(&r, 2, "10.0.0.2", 8002, 0, 0); /* MaxConnCnt 0: always full */
    reg(&r, 3, "10.0.0.3", 8003, 5, 9); /* reported over its maximum */
    assert_null(ls_registry_pick(&r, &code));
    assert_int_equal(code, LS_PICK_FULL);
    assert_json(&r, "{\"code\":2,\"msg\":\"负载过高\"}");
    /* one logout on 1 makes room, even though 2 has fewer connections */
    ls_registry_count(ls_registry_find(&r, 1), LS_CNT_DEC);
    assert_int_equal(picked_port(&r, &code), 8001);
    assert_int_equal(code, LS_PICK_OK);
    /* a full one is skipped in favour of a busier one with room */
    reg(&r, 4, "10.0.0.4", 8004, 1000, 500);
    ls_registry_count(ls_registry_find(&r, 1), LS_CNT_INC);
    assert_int_equal(picked_port(&r, &code), 8004);
    ls_registry_free(&r);
}

static void test_counts(void **state)
{
    (void)state;
    ls_registry_t r;
    ls_registry_init(&r);
    ls_msg_server_t *m = reg(&r, 1, "10.0.0.1", 8001, 10, 1);
    assert_int_equal(ls_registry_count(m, LS_CNT_DEC), 0);
    assert_int_equal(m->cur_conn_cnt, 0);
    assert_int_equal(ls_registry_count(m, LS_CNT_DEC), 0); /* never below 0 */
    assert_int_equal(m->cur_conn_cnt, 0);
    assert_int_equal(ls_registry_count(m, 0), -1);
    assert_int_equal(ls_registry_count(m, 3), -1);
    assert_int_equal(m->cur_conn_cnt, 0);
    assert_int_equal(ls_registry_count(m, LS_CNT_INC), 0);
    assert_int_equal(m->cur_conn_cnt, 1);
    m->cur_conn_cnt = UINT32_MAX;
    assert_int_equal(ls_registry_count(m, LS_CNT_INC), 0); /* nor wraps */
    assert_int_equal(m->cur_conn_cnt, UINT32_MAX);
    /* missing strings become empty ones */
    m = ls_registry_set(&r, 2, NULL, NULL, 1, 1, 0, NULL);
    assert_non_null(m);
    assert_string_equal(m->ip1, "");
    assert_string_equal(m->host_name, "");
    ls_registry_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_least_loaded),
        cmocka_unit_test(test_ties_go_to_the_oldest),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
