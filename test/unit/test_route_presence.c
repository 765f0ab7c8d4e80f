/* route_server presence: ONLINE iff a PC-class client is logged in somewhere; the right
 * PC-login and user-status notifications for logins, logouts, PC vs mobile, two PC sessions
 * on two msg_servers, a msg_server that drops, and online-user-info replacement; and, over a
 * random run, notifications that keep an observer in step with the state. */
#include <stdlib.h>
#include <string.h>

#include "presence.h"
#include "tt_test.h"

#define ON RS_STATUS_ONLINE
#define OFF RS_STATUS_OFFLINE
#define WIN IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS
#define MAC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC
#define IOS IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS
#define ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID

typedef struct event_s {
    char kind;      /* 'P' PC-login notify, 'S' user status notify */
    uint32_t user;  /* user id */
    uint32_t value; /* login_status (P) or status (S) */
} event_t;

typedef struct fixture_s {
    rs_presence_t p;
    event_t ev[64];
    size_t n;
} fixture_t;

static void on_pc_login(void *arg, uint32_t user, uint32_t v)
{
    fixture_t *f = arg;
    assert_true(f->n < 64);
    f->ev[f->n++] = (event_t){'P', user, v};
}

static void on_user_stat(void *arg, uint32_t user, uint32_t v)
{
    fixture_t *f = arg;
    assert_true(f->n < 64);
    f->ev[f->n++] = (event_t){'S', user, v};
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    rs_presence_sink_t sink = {on_pc_login, on_user_stat, f};
    rs_presence_init(&f->p, &sink);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    rs_presence_free(&f->p);
    free(f);
    return 0;
}

/* Checks that exactly the given events (kind, user, value triples) were reported, then
 * forgets them. */
static void expect_events(fixture_t *f, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    assert_int_equal(f->n, n);
    for (size_t i = 0; i < n; i++) {
        int kind = va_arg(ap, int);
        uint32_t user = va_arg(ap, uint32_t);
        uint32_t value = va_arg(ap, uint32_t);
        assert_int_equal(f->ev[i].kind, kind);
        assert_int_equal(f->ev[i].user, user);
        assert_int_equal(f->ev[i].value, value);
    }
    va_end(ap);
    f->n = 0;
}

/* Whether the event was reported (for events whose order follows a hash map). */
static int has_event(const fixture_t *f, char kind, uint32_t user, uint32_t value)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->ev[i].kind == kind && f->ev[i].user == user && f->ev[i].value == value)
            return 1;
    return 0;
}

#define NONE(f) expect_events(f, 0)
#define LOGIN(f, u) expect_events(f, 2, 'P', (uint32_t)(u), 1u, 'S', (uint32_t)(u), (uint32_t)ON)
#define LOGOUT(f, u) expect_events(f, 2, 'P', (uint32_t)(u), 0u, 'S', (uint32_t)(u), (uint32_t)OFF)

static void test_pc_online_offline(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(rs_presence_status(&f->p, 1), OFF);
    assert_int_equal(rs_presence_update(&f->p, 10, 1, ON, WIN), 0);
    LOGIN(f, 1);
    assert_int_equal(rs_presence_status(&f->p, 1), ON);
    assert_int_equal(rs_presence_users(&f->p), 1);
    assert_int_equal(rs_presence_conn_sessions(&f->p, 10), 1);
    assert_int_equal(rs_presence_update(&f->p, 10, 1, OFF, WIN), 0);
    LOGOUT(f, 1);
    assert_int_equal(rs_presence_status(&f->p, 1), OFF);
    assert_int_equal(rs_presence_users(&f->p), 0);
    assert_int_equal(rs_presence_conn_sessions(&f->p, 10), 0);
    /* LEAVE counts as logged in; an unknown status is ignored */
    assert_int_equal(rs_presence_update(&f->p, 10, 1, RS_STATUS_LEAVE, MAC), 0);
    LOGIN(f, 1);
    assert_int_equal(rs_presence_update(&f->p, 10, 1, 7, MAC), 1);
    NONE(f);
    assert_int_equal(rs_presence_status(&f->p, 1), ON);
}

static void test_pc_vs_mobile(void **state)
{
    fixture_t *f = *state;
    /* mobile only: nobody is told, and the user looks offline */
    assert_int_equal(rs_presence_update(&f->p, 10, 2, ON, ANDROID), 0);
    NONE(f);
    assert_int_equal(rs_presence_status(&f->p, 2), OFF);
    /* a PC joins: both notifications */
    assert_int_equal(rs_presence_update(&f->p, 10, 2, ON, MAC), 0);
    LOGIN(f, 2);
    /* another mobile while a PC is on: only the PC-login notice, for the mobiles */
    assert_int_equal(rs_presence_update(&f->p, 11, 2, ON, IOS), 0);
    expect_events(f, 1, 'P', 2u, 1u);
    assert_int_equal(rs_presence_update(&f->p, 11, 2, OFF, IOS), 0);
    NONE(f);
    assert_int_equal(rs_presence_status(&f->p, 2), ON);
    /* the PC leaves: offline, though the phone is still there */
    assert_int_equal(rs_presence_update(&f->p, 10, 2, OFF, MAC), 0);
    LOGOUT(f, 2);
    assert_int_equal(rs_presence_status(&f->p, 2), OFF);
    assert_int_equal(rs_presence_users(&f->p), 1);
    assert_int_equal(rs_presence_update(&f->p, 10, 2, OFF, ANDROID), 0);
    NONE(f);
    assert_int_equal(rs_presence_users(&f->p), 0);
}

/* What push decisions ask (rs_presence_kinds): a mobile connected, a PC online, anywhere. */
static void test_kinds(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(rs_presence_kinds(&f->p, 5), 0);
    assert_int_equal(rs_presence_update(&f->p, 10, 5, ON, IOS), 0);
    assert_int_equal(rs_presence_kinds(&f->p, 5), RS_KIND_MOBILE);
    assert_int_equal(rs_presence_update(&f->p, 11, 5, ON, MAC), 0);
    assert_int_equal(rs_presence_kinds(&f->p, 5), RS_KIND_MOBILE | RS_KIND_PC);
    assert_int_equal(rs_presence_update(&f->p, 10, 5, OFF, IOS), 0);
    assert_int_equal(rs_presence_kinds(&f->p, 5), RS_KIND_PC);
    rs_presence_drop(&f->p, 11);
    assert_int_equal(rs_presence_kinds(&f->p, 5), 0);
    assert_int_equal(rs_presence_update(&f->p, 12, 5, ON, ANDROID), 0);
    assert_int_equal(rs_presence_kinds(&f->p, 5), RS_KIND_MOBILE);
    assert_int_equal(rs_presence_kinds(&f->p, 6), 0);
}

static void test_two_pc_on_two_servers(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(rs_presence_update(&f->p, 10, 3, ON, WIN), 0);
    LOGIN(f, 3);
    assert_int_equal(rs_presence_update(&f->p, 11, 3, ON, MAC), 0);
    LOGIN(f, 3);
    /* one PC leaves while the other stays: nothing to tell */
    assert_int_equal(rs_presence_update(&f->p, 10, 3, OFF, WIN), 0);
    NONE(f);
    assert_int_equal(rs_presence_status(&f->p, 3), ON);
    assert_int_equal(rs_presence_update(&f->p, 11, 3, OFF, MAC), 0);
    LOGOUT(f, 3);
    assert_int_equal(rs_presence_status(&f->p, 3), OFF);
}

/* The connections a user is on (the group fan-out's look-up): each once. */
static void test_user_conns(void **state)
{
    fixture_t *f = *state;
    uint64_t c[8];
    assert_int_equal(rs_presence_user_conns(&f->p, 4, c, 8), 0);
    rs_presence_update(&f->p, 10, 4, ON, WIN);
    rs_presence_update(&f->p, 10, 4, ON, ANDROID);
    rs_presence_update(&f->p, 12, 4, ON, IOS);
    rs_presence_update(&f->p, 10, 4, ON, WIN); /* a duplicate login, counted */
    assert_int_equal(rs_presence_user_conns(&f->p, 4, c, 8), 2);
    assert_true((c[0] == 10 && c[1] == 12) || (c[0] == 12 && c[1] == 10));
    assert_int_equal(rs_presence_user_conns(&f->p, 4, c, 1), 1);
    rs_presence_drop(&f->p, 12);
    assert_int_equal(rs_presence_user_conns(&f->p, 4, c, 8), 1);
    assert_int_equal(c[0], 10);
}

static void test_duplicate_and_unknown_sessions(void **state)
{
    fixture_t *f = *state;
    /* two Windows logins on one server (the older is being kicked) */
    assert_int_equal(rs_presence_update(&f->p, 10, 4, ON, WIN), 0);
    assert_int_equal(rs_presence_update(&f->p, 10, 4, ON, WIN), 0);
    f->n = 0;
    assert_int_equal(rs_presence_conn_sessions(&f->p, 10), 2);
    /* an OFFLINE from a server that does not hold it, or for the wrong type: ignored */
    assert_int_equal(rs_presence_update(&f->p, 11, 4, OFF, WIN), 1);
    assert_int_equal(rs_presence_update(&f->p, 10, 4, OFF, MAC), 1);
    assert_int_equal(rs_presence_update(&f->p, 10, 99, OFF, WIN), 1);
    NONE(f);
    assert_int_equal(rs_presence_update(&f->p, 10, 4, OFF, WIN), 0);
    NONE(f);
    assert_int_equal(rs_presence_status(&f->p, 4), ON);
    assert_int_equal(rs_presence_update(&f->p, 10, 4, OFF, WIN), 0);
    LOGOUT(f, 4);
    assert_int_equal(rs_presence_update(&f->p, 10, 4, OFF, WIN), 1);
    NONE(f);
}

static void test_server_drop(void **state)
{
    fixture_t *f = *state;
    const uint64_t A = 10, B = 11;
    rs_presence_update(&f->p, A, 1, ON, WIN);     /* only on A */
    rs_presence_update(&f->p, A, 2, ON, WIN);     /* PC on A and B */
    rs_presence_update(&f->p, B, 2, ON, MAC);
    rs_presence_update(&f->p, A, 3, ON, ANDROID); /* mobile on A */
    rs_presence_update(&f->p, B, 4, ON, WIN);     /* only on B */
    rs_presence_update(&f->p, A, 5, ON, WIN);     /* PC on A, phone on B */
    rs_presence_update(&f->p, B, 5, ON, IOS);
    f->n = 0;
    assert_int_equal(rs_presence_drop(&f->p, A), 4);
    /* 1 and 5 lost their last PC (order follows the map, so check by user) */
    assert_int_equal(f->n, 4);
    for (size_t i = 0; i < 4; i += 2) {
        uint32_t u = f->ev[i].user;
        assert_true(u == 1 || u == 5);
        assert_int_equal(f->ev[i].kind, 'P');
        assert_int_equal(f->ev[i].value, 0);
        assert_int_equal(f->ev[i + 1].kind, 'S');
        assert_int_equal(f->ev[i + 1].user, u);
        assert_int_equal(f->ev[i + 1].value, OFF);
    }
    assert_int_not_equal(f->ev[0].user, f->ev[2].user);
    f->n = 0;
    assert_int_equal(rs_presence_status(&f->p, 1), OFF);
    assert_int_equal(rs_presence_status(&f->p, 2), ON);
    assert_int_equal(rs_presence_status(&f->p, 3), OFF);
    assert_int_equal(rs_presence_status(&f->p, 4), ON);
    assert_int_equal(rs_presence_status(&f->p, 5), OFF);
    assert_int_equal(rs_presence_users(&f->p), 3); /* 2, 4, and 5's phone */
    assert_int_equal(rs_presence_conn_sessions(&f->p, A), 0);
    assert_int_equal(rs_presence_conn_sessions(&f->p, B), 3);
    /* late reports from the dropped server change nothing */
    assert_int_equal(rs_presence_update(&f->p, A, 2, OFF, WIN), 1);
    NONE(f);
    assert_int_equal(rs_presence_drop(&f->p, A), 0);
    assert_int_equal(rs_presence_drop(&f->p, B), 3);
    assert_int_equal(f->n, 4); /* 2 and 4 */
    assert_int_equal(rs_presence_users(&f->p), 0);
}

static IM__BaseDefine__ServerUserStat stat_of(uint32_t user, uint32_t status, uint32_t type)
{
    IM__BaseDefine__ServerUserStat s = IM__BASE_DEFINE__SERVER_USER_STAT__INIT;
    s.user_id = user;
    s.status = (IM__BaseDefine__UserStatType)status;
    s.client_type = (IM__BaseDefine__ClientType)type;
    return s;
}

static void test_online_user_info_replaces(void **state)
{
    fixture_t *f = *state;
    const uint64_t A = 10, B = 11;
    IM__BaseDefine__ServerUserStat s[4] = {stat_of(1, ON, WIN), stat_of(2, ON, WIN),
                                           stat_of(3, ON, ANDROID), stat_of(2, ON, IOS)};
    IM__BaseDefine__ServerUserStat *list[4] = {&s[0], &s[1], &s[2], &s[3]};
    /* first report of A: 1 and 2 appear */
    assert_int_equal(rs_presence_replace(&f->p, A, list, 4), 0);
    assert_int_equal(f->n, 4);
    assert_int_equal(f->ev[0].user, 1);
    assert_int_equal(f->ev[2].user, 2);
    f->n = 0;
    assert_int_equal(rs_presence_conn_sessions(&f->p, A), 4);
    rs_presence_update(&f->p, B, 2, ON, MAC);
    f->n = 0;
    /* the same report again: nothing changes, nothing is said */
    assert_int_equal(rs_presence_replace(&f->p, A, list, 4), 0);
    NONE(f);
    assert_int_equal(rs_presence_conn_sessions(&f->p, A), 4);
    /* A reconnects: 1 is gone, 2 stays (PC there and on B), 3 now on PC (LEAVE counts),
     * 6 on a phone, 7 listed OFFLINE (skipped) */
    IM__BaseDefine__ServerUserStat t[4] = {stat_of(2, ON, WIN), stat_of(3, RS_STATUS_LEAVE, MAC),
                                           stat_of(6, ON, ANDROID), stat_of(7, OFF, WIN)};
    IM__BaseDefine__ServerUserStat *list2[4] = {&t[0], &t[1], &t[2], &t[3]};
    assert_int_equal(rs_presence_replace(&f->p, A, list2, 4), 0);
    assert_int_equal(f->n, 4);
    assert_true(has_event(f, 'P', 1, 0) && has_event(f, 'S', 1, OFF));
    assert_true(has_event(f, 'P', 3, 1) && has_event(f, 'S', 3, ON));
    f->n = 0;
    assert_int_equal(rs_presence_status(&f->p, 1), OFF);
    assert_int_equal(rs_presence_status(&f->p, 2), ON);
    assert_int_equal(rs_presence_status(&f->p, 3), ON);
    assert_int_equal(rs_presence_status(&f->p, 6), OFF);
    assert_int_equal(rs_presence_status(&f->p, 7), OFF);
    assert_int_equal(rs_presence_conn_sessions(&f->p, A), 3);
    assert_int_equal(rs_presence_users(&f->p), 3);
    /* an empty report: 3 goes, 2 keeps its PC on B */
    assert_int_equal(rs_presence_replace(&f->p, A, NULL, 0), 0);
    LOGOUT(f, 3);
    assert_int_equal(rs_presence_users(&f->p), 1);
    assert_int_equal(rs_presence_drop(&f->p, B), 1);
    LOGOUT(f, 2);
    assert_int_equal(rs_presence_users(&f->p), 0);
}

/* A 100k-entry IMOnlineUserInfo of one user with 100k client types (today a linear scan per
 * entry over the user's sessions: seconds of a frozen route_server): the user's sessions are
 * capped, so each entry costs O(1); entries over the per-frame cap are refused. */
#ifndef RS_MAX_USER_SESSIONS
#define RS_MAX_USER_SESSIONS 64 /* what the fixed code caps at (presence.h) */
#endif
static void test_huge_online_user_info(void **state)
{
    (void)state;
    rs_presence_t p;
    rs_presence_init(&p, NULL);
    const size_t n = 100000;
    IM__BaseDefine__ServerUserStat *s = calloc(n, sizeof(*s));
    IM__BaseDefine__ServerUserStat **list = calloc(n, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        s[i] = stat_of(42, ON, (uint32_t)(i + 1));
        list[i] = &s[i];
    }
    assert_true(rs_presence_replace(&p, 1, list, n) >= 0);
    assert_int_equal(rs_presence_status(&p, 42), ON);
    assert_true(rs_presence_conn_sessions(&p, 1) <= RS_MAX_USER_SESSIONS);
    /* one at a time through IMUserStatusUpdate: refused past the cap as well */
    for (uint32_t i = 0; i < 1000; i++)
        rs_presence_update(&p, 2, 42, ON, 0x1000 + i);
    assert_true(rs_presence_conn_sessions(&p, 2) + rs_presence_conn_sessions(&p, 1) <=
                RS_MAX_USER_SESSIONS);
    rs_presence_drop(&p, 2);
    /* the same user and client type 100k times is one session counted 100k times */
    for (size_t i = 0; i < n; i++)
        s[i] = stat_of(43, ON, WIN);
    assert_true(rs_presence_replace(&p, 3, list, n) >= 0);
    assert_int_equal(rs_presence_conn_sessions(&p, 3), n);
    /* distinct users: taken up to the per-frame cap, the rest refused */
    const size_t big = RS_MAX_ONLINE_ENTRIES + 1000;
    IM__BaseDefine__ServerUserStat *b = calloc(big, sizeof(*b));
    IM__BaseDefine__ServerUserStat **bl = calloc(big, sizeof(*bl));
    for (size_t i = 0; i < big; i++) {
        b[i] = stat_of((uint32_t)(1000 + i), ON, WIN);
        bl[i] = &b[i];
    }
    assert_int_equal(rs_presence_replace(&p, 4, bl, big), 1000);
    assert_int_equal(rs_presence_conn_sessions(&p, 4), RS_MAX_ONLINE_ENTRIES);
    assert_int_equal(rs_presence_status(&p, (uint32_t)(1000 + big - 1)), OFF);
    rs_presence_free(&p);
    free(s);
    free(list);
    free(b);
    free(bl);
}

/* Random run against a reference: after every step the statuses match the reference, and an
 * observer that applies the notifications agrees with the state. */
static void test_random_model(void **state)
{
    fixture_t *f = *state;
    enum { USERS = 40, CONNS = 3, TYPES = 4, STEPS = 30000 };
    static const uint32_t types[TYPES] = {WIN, MAC, IOS, ANDROID};
    static uint32_t ref[USERS][CONNS][TYPES];
    static int seen_stat[USERS], seen_pc[USERS];
    memset(ref, 0, sizeof(ref));
    memset(seen_stat, 0, sizeof(seen_stat));
    memset(seen_pc, 0, sizeof(seen_pc));
    unsigned seed = 12345;
    for (int step = 0; step < STEPS; step++) {
        uint32_t u = (uint32_t)(rand_r(&seed) % USERS), k = (uint32_t)(rand_r(&seed) % CONNS);
        uint32_t ti = (uint32_t)(rand_r(&seed) % TYPES);
        int op = rand_r(&seed) % 100;
        if (op < 50) {
            assert_int_equal(rs_presence_update(&f->p, k + 1, u + 100, ON, types[ti]), 0);
            ref[u][k][ti]++;
        } else if (op < 97) {
            int rc = rs_presence_update(&f->p, k + 1, u + 100, OFF, types[ti]);
            assert_int_equal(rc, ref[u][k][ti] ? 0 : 1);
            if (ref[u][k][ti])
                ref[u][k][ti]--;
        } else if (op < 99) {
            rs_presence_drop(&f->p, k + 1);
            for (int x = 0; x < USERS; x++)
                memset(ref[x][k], 0, sizeof(ref[x][k]));
        } else {
            /* replace k's sessions with a few random ones */
            IM__BaseDefine__ServerUserStat s[8];
            IM__BaseDefine__ServerUserStat *list[8];
            size_t n = (size_t)(rand_r(&seed) % 8);
            for (int x = 0; x < USERS; x++)
                memset(ref[x][k], 0, sizeof(ref[x][k]));
            for (size_t i = 0; i < n; i++) {
                uint32_t uu = (uint32_t)(rand_r(&seed) % USERS);
                uint32_t tt = (uint32_t)(rand_r(&seed) % TYPES);
                s[i] = stat_of(uu + 100, ON, types[tt]);
                list[i] = &s[i];
                ref[uu][k][tt]++;
            }
            assert_int_equal(rs_presence_replace(&f->p, k + 1, list, n), 0);
        }
        for (size_t i = 0; i < f->n; i++) {
            uint32_t x = f->ev[i].user - 100;
            assert_true(x < USERS);
            if (f->ev[i].kind == 'P')
                seen_pc[x] = f->ev[i].value == 1;
            else
                seen_stat[x] = f->ev[i].value == ON;
        }
        f->n = 0;
        size_t users = 0, sessions[CONNS] = {0};
        for (int x = 0; x < USERS; x++) {
            uint32_t pc = 0, all = 0;
            for (int kk = 0; kk < CONNS; kk++)
                for (int tt = 0; tt < TYPES; tt++) {
                    all += ref[x][kk][tt];
                    sessions[kk] += ref[x][kk][tt];
                    if (tt < 2)
                        pc += ref[x][kk][tt];
                }
            users += all > 0;
            assert_int_equal(rs_presence_status(&f->p, (uint32_t)x + 100), pc ? ON : OFF);
            assert_int_equal(seen_stat[x], pc > 0);
            assert_int_equal(seen_pc[x], pc > 0);
        }
        assert_int_equal(rs_presence_users(&f->p), users);
        for (int kk = 0; kk < CONNS; kk++)
            assert_int_equal(rs_presence_conn_sessions(&f->p, (uint64_t)kk + 1), sessions[kk]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pc_online_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pc_vs_mobile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_pc_on_two_servers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_conns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_unknown_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_online_user_info_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_model, setup, teardown),
        cmocka_unit_test(test_huge_online_user_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
