/* The login_server /msg_server answer (PROTOCOL §5.1): port as a string or a number, error
 * codes with their text, missing and mistyped fields, and garbage that must not crash. */
#include <stdio.h>
#include <string.h>

#include "tt_client.h"
#include "tt_test.h"

static int parse(const char *json, ttc_server_t *out, char *err, size_t errlen)
{
    err[0] = 0;
    return ttc_parse_discovery(json, strlen(json), out, err, errlen);
}

static void test_success(void **state)
{
    (void)state;
    ttc_server_t s;
    char err[256];
    /* the original's styled output, keys in alphabetical order */
    const char *styled = "{\n   \"backupIP\" : \"10.0.0.6\",\n   \"code\" : 0,\n"
                         "   \"discovery\" : \"http://127.0.0.1/api/discovery\",\n"
                         "   \"msfsBackup\" : \"http://127.0.0.1:8701/\",\n"
                         "   \"msfsPrior\" : \"http://127.0.0.1:8700/\",\n"
                         "   \"msg\" : \"\",\n   \"port\" : \"8000\",\n"
                         "   \"priorIP\" : \"10.0.0.5\"\n}\n";
    assert_int_equal(parse(styled, &s, err, sizeof(err)), 0);
    assert_int_equal(s.code, 0);
    assert_string_equal(s.msg, "");
    assert_string_equal(s.prior_ip, "10.0.0.5");
    assert_string_equal(s.backup_ip, "10.0.0.6");
    assert_int_equal(s.port, 8000);
    assert_string_equal(s.msfs_prior, "http://127.0.0.1:8700/");
    assert_string_equal(s.msfs_backup, "http://127.0.0.1:8701/");
    assert_string_equal(s.discovery, "http://127.0.0.1/api/discovery");

    /* port as a number; only the required fields; backupIP falls back to priorIP */
    assert_int_equal(parse("{\"code\":0,\"priorIP\":\"127.0.0.1\",\"port\":8001}", &s, err,
                           sizeof(err)),
                     0);
    assert_int_equal(s.port, 8001);
    assert_string_equal(s.backup_ip, "127.0.0.1");
    assert_string_equal(s.msfs_prior, "");
    assert_string_equal(s.discovery, "");
    /* code as a string, null optional fields, unknown keys ignored */
    assert_int_equal(parse("{\"code\":\"0\",\"priorIP\":\"h\",\"port\":\" 65535 \","
                           "\"msfsPrior\":null,\"extra\":[1,{}]}",
                           &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.port, 65535);
}

static void test_refusals(void **state)
{
    (void)state;
    ttc_server_t s;
    char err[256];
    assert_int_equal(parse("{\n   \"code\" : 1,\n   \"msg\" : \"没有msg_server\"\n}\n", &s, err,
                           sizeof(err)),
                     -1);
    assert_string_equal(err, "login_server: 没有msg_server (code 1)");
    assert_int_equal(s.code, 1);
    assert_string_equal(s.msg, "没有msg_server");
    assert_int_equal(parse("{\"code\":2,\"msg\":\"负载过高\"}", &s, err, sizeof(err)), -1);
    assert_string_equal(err, "login_server: 负载过高 (code 2)");
    assert_int_equal(parse("{\"code\":7}", &s, err, sizeof(err)), -1);
    assert_string_equal(err, "login_server: refused (code 7)");
    assert_int_equal(s.code, 7);
}

static void test_missing_and_bad_fields(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *why; /* substring of the error */
    } cases[] = {
        {"{\"priorIP\":\"h\",\"port\":\"8000\"}", "no \"code\""},
        {"{\"code\":null}", "no \"code\""},
        {"{\"code\":true}", "bad \"code\""},
        {"{\"code\":\"zero\"}", "bad \"code\""},
        {"{\"code\":1.5}", "bad \"code\""},
        {"{\"code\":99999999999}", "bad \"code\""},
        {"{\"code\":1,\"msg\":3}", "bad \"msg\""},
        {"{\"code\":0,\"port\":\"8000\"}", "priorIP"},
        {"{\"code\":0,\"priorIP\":\"\",\"port\":\"8000\"}", "priorIP"},
        {"{\"code\":0,\"priorIP\":5,\"port\":\"8000\"}", "priorIP"},
        {"{\"code\":0,\"priorIP\":\"h\"}", "no \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"\"}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"80x\"}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"0\"}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":70000}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":-1}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":[8000]}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"99999999999999999999999\"}", "bad \"port\""},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"8000\",\"backupIP\":{}}", "backupIP"},
        {"{\"code\":0,\"priorIP\":\"h\",\"port\":\"8000\",\"msfsPrior\":1}", "URL"},
        {"{\"code\":0,\"code\":1}", "not JSON"},
        {"[1,2,3]", "not a JSON object"},
        {"\"code\"", "not a JSON object"},
        {"null", "not a JSON object"},
        {"", "not JSON"},
        {"{\"code\":0,", "not JSON"},
        {"<html>502 Bad Gateway</html>", "not JSON"},
        {"{\"code\":0,\"priorIP\":\"h\\u0000\",\"port\":1}", "not JSON"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ttc_server_t s;
        char err[256];
        if (parse(cases[i].json, &s, err, sizeof(err)) != -1)
            fail_msg("case %zu accepted: %s", i, cases[i].json);
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].why);
        assert_true(strncmp(err, "login_server: ", 14) == 0);
    }
}

static void test_garbage_bytes(void **state)
{
    (void)state;
    /* binary junk, embedded NULs, huge nesting: errors, never crashes */
    unsigned char junk[512];
    unsigned v = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        v = v * 1103515245u + 12345u;
        junk[i] = (unsigned char)(v >> 16);
    }
    ttc_server_t s;
    char err[256];
    for (size_t n = 0; n <= sizeof(junk); n += 17)
        assert_int_equal(ttc_parse_discovery((const char *)junk, n, &s, err, sizeof(err)), -1);
    char deep[4096];
    memset(deep, '[', sizeof(deep));
    assert_int_equal(ttc_parse_discovery(deep, sizeof(deep), &s, err, sizeof(err)), -1);
    assert_int_equal(ttc_parse_discovery(NULL, 0, &s, err, sizeof(err)), -1);
    /* a field longer than our buffer is cut, not overflowed */
    char longip[2048];
    int n = snprintf(longip, sizeof(longip), "{\"code\":0,\"port\":1,\"priorIP\":\"");
    memset(longip + n, 'a', 1000);
    strcpy(longip + n + 1000, "\"}");
    assert_int_equal(parse(longip, &s, err, sizeof(err)), 0);
    assert_int_equal(strlen(s.prior_ip), sizeof(s.prior_ip) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_missing_and_bad_fields),
        cmocka_unit_test(test_garbage_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
