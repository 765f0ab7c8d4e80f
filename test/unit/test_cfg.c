#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_cfg.h"
#include "tt_test.h"

static tt_cfg_t *parse(const char *text)
{
    char err[256];
    tt_cfg_t *cfg = tt_cfg_parse("test.conf", text, strlen(text), err, sizeof(err));
    assert_non_null(cfg);
    return cfg;
}

static void test_format(void **state)
{
    (void)state;
    tt_cfg_t *cfg = parse("# comment line\n"
                          "ListenIP = 0.0.0.0;127.0.0.1  # trailing comment\n"
                          "\tListenPort\t=\t8000\t\r\n"
                          "no equals sign here\n"
                          "ListenPort=9999\n"
                          "Empty=\n"
                          "aesKey=12345678901234567890123456789012\n");
    assert_string_equal(tt_cfg_str(cfg, "ListenIP", NULL), "0.0.0.0;127.0.0.1");
    assert_string_equal(tt_cfg_str(cfg, "ListenPort", NULL), "8000"); /* first wins */
    assert_int_equal(tt_cfg_line(cfg, "ListenPort"), 3);
    assert_string_equal(tt_cfg_str(cfg, "Empty", "x"), "");
    assert_null(tt_cfg_str(cfg, "listenport", NULL)); /* keys are case-sensitive */
    assert_string_equal(tt_cfg_str(cfg, "Missing", "def"), "def");
    tt_cfg_free(cfg);
}

static void test_int_errors_name_file_line_key(void **state)
{
    (void)state;
    tt_cfg_t *cfg = parse("A=12\nB=12x\nC=70000\nD=-5\n");
    char err[256];
    long long v;
    assert_int_equal(tt_cfg_int(cfg, "A", 0, 0, 100, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 12);
    assert_int_equal(tt_cfg_int(cfg, "B", 0, 0, 100, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "test.conf:2: key 'B'"));
    assert_non_null(strstr(err, "'12x'"));
    uint16_t port;
    assert_int_equal(tt_cfg_port(cfg, "C", 1, &port, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "test.conf:3: key 'C'"));
    assert_int_equal(tt_cfg_int(cfg, "D", 0, 0, 10, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "test.conf:4"));
    /* absent with a default inside the range: the default */
    assert_int_equal(tt_cfg_int(cfg, "E", 7, 0, 10, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 7);
    /* absent with a default outside the range: required */
    assert_int_equal(tt_cfg_int(cfg, "E", -1, 0, 10, &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "test.conf: missing required key 'E'"));
    const char *s;
    assert_int_equal(tt_cfg_need_str(cfg, "Nope", &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "missing required key 'Nope'"));
    tt_cfg_free(cfg);
}

static void test_servers_and_split(void **state)
{
    (void)state;
    tt_cfg_t *cfg = parse("DBServerIP1=127.0.0.1\nDBServerPort1=10600\n"
                          "DBServerIP2=db2\nDBServerPort2=10601\n"
                          "DBServerIP4=skipped\nDBServerPort4=1\n"
                          "RouteServerIP1=r\nRouteServerPort1=abc\n"
                          "LoginServerIP1=l\n");
    const char *hosts[8];
    uint16_t ports[8];
    char err[256];
    assert_int_equal(tt_cfg_servers(cfg, "DBServerIP", "DBServerPort", hosts, ports, 8, err,
                                    sizeof(err)),
                     2);
    assert_string_equal(hosts[1], "db2");
    assert_int_equal(ports[1], 10601);
    assert_int_equal(tt_cfg_servers(cfg, "RouteServerIP", "RouteServerPort", hosts, ports, 8, err,
                                    sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "RouteServerPort1"));
    assert_int_equal(tt_cfg_servers(cfg, "LoginServerIP", "LoginServerPort", hosts, ports, 8, err,
                                    sizeof(err)),
                     -1);
    assert_int_equal(tt_cfg_servers(cfg, "PushServerIP", "PushServerPort", hosts, ports, 8, err,
                                    sizeof(err)),
                     0);
    char buf[128];
    const char *items[4];
    assert_int_equal(tt_cfg_split(" 0.0.0.0 ; 10.0.0.1;;", ';', buf, sizeof(buf), items, 4), 2);
    assert_string_equal(items[0], "0.0.0.0");
    assert_string_equal(items[1], "10.0.0.1");
    tt_cfg_free(cfg);
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tt_cfg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "Key=Value\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    char err[256];
    tt_cfg_t *cfg = tt_cfg_load(path, err, sizeof(err));
    assert_non_null(cfg);
    assert_string_equal(tt_cfg_str(cfg, "Key", NULL), "Value");
    assert_string_equal(tt_cfg_path(cfg), path);
    tt_cfg_free(cfg);
    unlink(path);
    assert_null(tt_cfg_load(path, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_int_errors_name_file_line_key),
        cmocka_unit_test(test_servers_and_split),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
