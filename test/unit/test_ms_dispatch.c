/* msg_server's dispatch: the features' tables register once each (a command claimed twice, or
 * a row with nothing to run, is refused); a client's command runs its row, before login only a
 * before_login row runs and anything else closes the connection; an upstream's frame runs its
 * row, a route_server frame whose attach_data payload starts with a feature's route_tag its
 * tagged row. */
#include <stdlib.h>
#include <string.h>

#include "IM.Buddy.pb-c.h"
#include "msg_server.h"
#include "tt_test.h"

static ssize_t cap_recv(tt_conn_t *c, void *b, size_t n)
{
    (void)c;
    (void)b;
    (void)n;
    return -2;
}
static ssize_t cap_send(tt_conn_t *c, const void *b, size_t n)
{
    (void)c;
    (void)b;
    return (ssize_t)n;
}
static void cap_close(tt_conn_t *c) { (void)c; }
static const tt_conn_io_t cap_io = {cap_recv, cap_send, cap_close};
static void noop_read(tt_conn_t *c) { (void)c; }
static const tt_conn_handler_t noop = {NULL, noop_read, NULL, NULL};

static int g_cmd, g_login, g_db, g_route;
static void on_cmd(client_t *c, const tt_pdu_t *pdu)
{
    (void)c;
    (void)pdu;
    g_cmd++;
}
static void on_login(client_t *c, const tt_pdu_t *pdu)
{
    (void)c;
    (void)pdu;
    g_login++;
}
static void on_db(msg_server_t *ms, const tt_pdu_t *pdu)
{
    (void)ms;
    (void)pdu;
    g_db++;
}
static void on_route(msg_server_t *ms, const tt_pdu_t *pdu)
{
    (void)ms;
    (void)pdu;
    g_route++;
}

static const ms_client_cmd_t fake_cmds[] = {
    {0x7001, on_cmd, NULL, 0, 0, 0},
    {0x7002, on_login, NULL, 0, 0, 1},
};
static const ms_answer_t fake_db[] = {{0x7001, NULL, on_db}};
static const ms_answer_t fake_route[] = {{0x7001, NULL, on_route}};
static const ms_feature_t fake = {
    .name = "fake",
    .client_cmds = fake_cmds,
    .n_client_cmds = 2,
    .db_answers = fake_db,
    .n_db_answers = 1,
    .route_answers = fake_route,
    .n_route_answers = 1,
};

static void test_register(void **state)
{
    (void)state;
    static msg_server_t ms;
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(ms_dispatch_register(&ms, &ms_login_feature), 0);
    assert_int_equal(ms_dispatch_register(&ms, &ms_buddy_feature), 0);
    assert_int_equal(ms_dispatch_register(&ms, &ms_chat_feature), 0);
    assert_int_equal(ms_dispatch_register(&ms, &fake), 0);
    /* chat's commands are chat's already */
    assert_int_equal(ms_dispatch_register(&ms, &ms_chat_feature), -1);
    assert_int_equal(ms.n_features, 4);
    /* a command claimed twice within one table */
    static const ms_client_cmd_t twice[] = {{0x7101, on_cmd, NULL, 0, 0, 0},
                                            {0x7101, on_cmd, NULL, 0, 0, 0}};
    ms_feature_t f2 = {.name = "twice", .client_cmds = twice, .n_client_cmds = 2};
    assert_int_equal(ms_dispatch_register(&ms, &f2), -1);
    /* rows with nothing to run */
    static const ms_client_cmd_t empty[] = {{0x7102, NULL, NULL, 0, 0, 0}};
    ms_feature_t f3 = {.name = "empty", .client_cmds = empty, .n_client_cmds = 1};
    assert_int_equal(ms_dispatch_register(&ms, &f3), -1);
    static const ms_answer_t nothing[] = {{0x7103, NULL, NULL}};
    ms_feature_t f4 = {.name = "nothing", .route_answers = nothing, .n_route_answers = 1};
    assert_int_equal(ms_dispatch_register(&ms, &f4), -1);
    /* the server-only administration commands can never be a client's (base/tt_admin.h) */
    static const ms_client_cmd_t admin[] = {{0x07f0, NULL, &im__buddy__imall_user_req__descriptor,
                                             1, 0, 0}};
    ms_feature_t f5 = {.name = "admin", .client_cmds = admin, .n_client_cmds = 1};
    assert_int_equal(ms_dispatch_register(&ms, &f5), -1);
    static const ms_client_cmd_t admin_last[] = {{0x07ff, on_cmd, NULL, 0, 0, 0}};
    ms_feature_t f6 = {.name = "admin2", .client_cmds = admin_last, .n_client_cmds = 1};
    assert_int_equal(ms_dispatch_register(&ms, &f6), -1);
    assert_int_equal(ms.n_features, 4);
}

static void send_cmd(msg_server_t *ms, client_t *c, uint16_t cid)
{
    tt_pdu_t pdu;
    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = cid;
    pdu.seq_num = 1;
    ms_client_handler.on_pdu(NULL, c->conn, &pdu, ms);
}

static void test_client_and_upstream_frames(void **state)
{
    (void)state;
    static msg_server_t ms;
    memset(&ms, 0, sizeof(ms));
    ms.d.loop = tt_loop_new();
    ms.login_timeout_ms = 1000;
    ms.prelogin_buffer = 32768;
    tt_map_init(&ms.clients);
    tt_map_init(&ms.users);
    assert_int_equal(ms_dispatch_register(&ms, &fake), 0);
    g_cmd = g_login = g_db = g_route = 0;

    client_t *stranger =
        ms_client_new(&ms, tt_conn_new(ms.d.loop, -1, &cap_io, &noop, NULL, NULL));
    client_t *online = ms_client_new(&ms, tt_conn_new(ms.d.loop, -1, &cap_io, &noop, NULL, NULL));
    assert_non_null(stranger);
    assert_non_null(online);
    assert_ptr_equal(ms_client_find(&ms, online->handle), online);
    online->state = CLIENT_ONLINE;

    send_cmd(&ms, stranger, 0x7002); /* the login row runs before login */
    assert_int_equal(g_login, 1);
    assert_true(tt_conn_is_open(stranger->conn));
    send_cmd(&ms, online, 0x7001);
    assert_int_equal(g_cmd, 1);
    send_cmd(&ms, online, 0x7fff); /* nobody's: ignored */
    assert_true(tt_conn_is_open(online->conn));
    send_cmd(&ms, stranger, 0x7001); /* before login: closed, not run */
    assert_int_equal(g_cmd, 1);
    assert_false(tt_conn_is_open(stranger->conn));

    tt_pdu_t pdu;
    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = 0x7001;
    ms_dispatch_db(&ms, 0, &pdu);
    ms_dispatch_route(&ms, &pdu);
    pdu.command_id = 0x7fff;
    ms_dispatch_db(&ms, 0, &pdu);
    assert_int_equal(g_db, 1);
    assert_int_equal(g_route, 1);

    tt_conn_t *a = stranger->conn, *b = online->conn;
    ms_client_free(stranger);
    ms_client_free(online);
    tt_conn_close(b, "test over");
    (void)a;
    tt_loop_run_once(ms.d.loop, 0);
    tt_map_free(&ms.clients);
    tt_map_free(&ms.users);
    tt_loop_free(ms.d.loop);
}

/* ---- tagged route_server rows ---- */

static int g_tagged;
static void on_tagged(msg_server_t *ms, const tt_pdu_t *pdu)
{
    (void)ms;
    (void)pdu;
    g_tagged++;
}
static const ms_answer_t tagged_rows[] = {{0x7001, NULL, on_tagged}};
static const ms_feature_t tagged = {
    .name = "tagged",
    .route_tag = "TAGX",
    .tagged_route_answers = tagged_rows,
    .n_tagged_route_answers = 1,
};

/* A body holding only attach_data (field 20) = blob. */
static size_t attach_body(uint8_t *out, const ProtobufCBinaryData *blob)
{
    out[0] = 0xa2; /* field 20, length-delimited */
    out[1] = 0x01;
    out[2] = (uint8_t)blob->len; /* < 128 here */
    memcpy(out + 3, blob->data, blob->len);
    return 3 + blob->len;
}

static void route_with_payload(msg_server_t *ms, const char *payload)
{
    ProtobufCBinaryData blob = {0, NULL};
    uint8_t small[12];
    if (payload) {
        assert_int_equal(ms_attach_encode_payload(&blob, 1, 2, (const uint8_t *)payload,
                                                  strlen(payload)),
                         0);
    } else {
        ms_attach_encode(small, 1, 2);
        blob.data = small;
        blob.len = 12;
    }
    uint8_t body[128];
    tt_pdu_t pdu;
    memset(&pdu, 0, sizeof(pdu));
    pdu.command_id = 0x7001;
    pdu.body = body;
    pdu.body_len = (uint32_t)attach_body(body, &blob);
    ms_dispatch_route(ms, &pdu);
    if (payload)
        free(blob.data);
}

static void test_tagged_route_rows(void **state)
{
    (void)state;
    static msg_server_t ms;
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(ms_dispatch_register(&ms, &fake), 0);
    assert_int_equal(ms_dispatch_register(&ms, &tagged), 0);
    /* the same tag and command twice, and a tag of the wrong length, are refused */
    ms_feature_t again = tagged;
    again.name = "again";
    assert_int_equal(ms_dispatch_register(&ms, &again), -1);
    ms_feature_t short_tag = tagged;
    short_tag.name = "short";
    short_tag.route_tag = "TAG";
    assert_int_equal(ms_dispatch_register(&ms, &short_tag), -1);
    assert_int_equal(ms.n_features, 2);
    /* the file feature's rows fit with everybody else's */
    assert_int_equal(ms_dispatch_register(&ms, &ms_buddy_feature), 0);
    assert_int_equal(ms_dispatch_register(&ms, &ms_file_feature), 0);

    g_route = g_tagged = 0;
    route_with_payload(&ms, "TAGXrest");
    assert_int_equal(g_tagged, 1);
    assert_int_equal(g_route, 0);
    route_with_payload(&ms, "OTHRrest"); /* another payload: the plain row */
    route_with_payload(&ms, NULL);       /* the 12-byte form: the plain row */
    route_with_payload(&ms, "TA");       /* shorter than a tag */
    assert_int_equal(g_tagged, 1);
    assert_int_equal(g_route, 3);
    tt_pdu_t none;
    memset(&none, 0, sizeof(none));
    none.command_id = 0x7001; /* no attach_data at all */
    ms_dispatch_route(&ms, &none);
    assert_int_equal(g_route, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_client_and_upstream_frames),
        cmocka_unit_test(test_tagged_route_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
