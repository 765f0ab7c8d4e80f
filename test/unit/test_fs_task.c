/* file_server: task ids (random, UUID shape, validated before any path is built), the
 * on-disk names, the original's 960-byte offline header both ways, and the task table
 * (lookups by id, MaxTasks, files adopted from disk, selection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "tt_test.h"

static void test_id_new(void **state)
{
    (void)state;
    char a[FS_ID_LEN + 1], b[FS_ID_LEN + 1];
    assert_int_equal(fs_task_id_new(a), 0);
    assert_int_equal(fs_task_id_new(b), 0);
    assert_int_equal(strlen(a), 36);
    assert_true(fs_task_id_valid(a));
    assert_true(fs_task_id_valid(b));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4'); /* version 4 */
    assert_non_null(strchr("89ab", a[19]));
    for (int i = 0; i < 36; i++) /* lowercase, as libuuid writes them */
        assert_false(a[i] >= 'A' && a[i] <= 'F');
    /* 1000 draws, no repeat of the first */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(fs_task_id_new(b), 0);
        assert_string_not_equal(a, b);
    }
}

static void test_id_valid(void **state)
{
    (void)state;
    assert_true(fs_task_id_valid("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"));
    assert_true(fs_task_id_valid("0F1E2D3C-4B5A-4968-8776-A5B4C3D2E1F0"));
    const char *bad[] = {
        "",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f",   /* short */
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f00", /* long */
        "0f1e2d3c04b5a-4968-8776-a5b4c3d2e1f0",  /* dash missing */
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1g0",  /* not hex */
        "../../../../etc/passwd-aaaa-aaaa-aaaa",
        "0f/e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "..1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fs_task_id_valid(bad[i]))
            fail_msg("'%s' taken as a task id", bad[i]);
    assert_false(fs_task_id_valid(NULL));
}

static void test_paths(void **state)
{
    (void)state;
    char p[128];
    const char *id = "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f";
    assert_int_equal(fs_task_path(p, sizeof(p), "offline_file", id, NULL), 0);
    assert_string_equal(p, "offline_file/ab/ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f");
    assert_int_equal(fs_task_path(p, sizeof(p), "/var/fs", id, ".part"), 0);
    assert_string_equal(p, "/var/fs/ab/ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f.part");
    assert_int_equal(fs_task_subdir(p, sizeof(p), "d", id), 0);
    assert_string_equal(p, "d/ab");
    /* no path at all for anything that is not an id, nor when it does not fit */
    assert_int_equal(fs_task_path(p, sizeof(p), "d", "../../etc/passwd", NULL), -1);
    assert_int_equal(fs_task_path(p, sizeof(p), "d", "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2", NULL),
                     -1);
    assert_int_equal(fs_task_subdir(p, sizeof(p), "d", "../x"), -1);
    assert_int_equal(fs_task_path(p, 20, "d", id, NULL), -1);
}

static void test_header(void **state)
{
    (void)state;
    fs_header_t h = {.from = 1001, .to = 4294967295u, .size = 123456789, .created = 1418888888};
    strcpy(h.id, "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f");
    strcpy(h.name, "report.pdf");
    uint8_t b[FS_HEADER_LEN];
    fs_header_encode(b, &h);
    /* the original's offsets: task_id[128] from[64] to[64] create_time[128] name[512] size[64] */
    assert_string_equal((char *)b, h.id);
    assert_string_equal((char *)b + 128, "1001");
    assert_string_equal((char *)b + 192, "4294967295");
    assert_string_equal((char *)b + 256, "1418888888");
    assert_string_equal((char *)b + 384, "report.pdf");
    assert_string_equal((char *)b + 896, "123456789");
    assert_int_equal(b[959], 0);
    fs_header_t d;
    assert_int_equal(fs_header_decode(b, &d), 0);
    assert_string_equal(d.id, h.id);
    assert_int_equal(d.from, 1001);
    assert_int_equal(d.to, 4294967295u);
    assert_int_equal(d.size, 123456789);
    assert_int_equal(d.created, 1418888888);
    assert_string_equal(d.name, "report.pdf");
    /* the original writes an empty name */
    b[384] = 0;
    assert_int_equal(fs_header_decode(b, &d), 0);
    assert_string_equal(d.name, "");
    /* a long name is cut, still NUL-terminated */
    memset(h.name, 'n', sizeof(h.name) - 1);
    h.name[sizeof(h.name) - 1] = 0;
    fs_header_encode(b, &h);
    assert_int_equal(b[384 + 511], 0);
    assert_int_equal(fs_header_decode(b, &d), 0);
    assert_int_equal(strlen(d.name), 511);
    /* broken fields */
    uint8_t c[FS_HEADER_LEN];
    memcpy(c, b, sizeof(c));
    strcpy((char *)c + 896, "12x");
    assert_int_equal(fs_header_decode(c, &d), -1);
    memcpy(c, b, sizeof(c));
    strcpy((char *)c + 192, "4294967296"); /* over uint32 */
    assert_int_equal(fs_header_decode(c, &d), -1);
    memcpy(c, b, sizeof(c));
    memset(c + 896, '7', 64); /* no NUL */
    assert_int_equal(fs_header_decode(c, &d), -1);
    memcpy(c, b, sizeof(c));
    strcpy((char *)c, "../../x");
    assert_int_equal(fs_header_decode(c, &d), -1);
    memcpy(c, b, sizeof(c));
    c[128] = 0;
    assert_int_equal(fs_header_decode(c, &d), -1);
    /* only informative fields: a bad time is 0, an unterminated name is cut */
    memcpy(c, b, sizeof(c));
    strcpy((char *)c + 256, "soon");
    memset(c + 384, 'x', 512);
    assert_int_equal(fs_header_decode(c, &d), 0);
    assert_int_equal(d.created, 0);
    assert_int_equal(strlen(d.name), 511);
    assert_int_equal(d.size, 123456789);
}

static int is_offline(const fs_task_t *t, void *arg)
{
    (void)arg;
    return t->mode == FS_OFFLINE;
}

static void test_table(void **state)
{
    (void)state;
    fs_table_t t;
    fs_table_init(&t, 3);
    fs_task_t *a = fs_table_create(&t, 1, 2, 100, FS_ONLINE, "a.txt", 1000, 5);
    fs_task_t *b = fs_table_create(&t, 1, 3, 200, FS_OFFLINE, NULL, 1000, 5);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(fs_task_id_valid(a->id));
    assert_string_not_equal(a->id, b->id);
    assert_int_equal(a->from, 1);
    assert_int_equal(a->to, 2);
    assert_int_equal(a->size, 100);
    assert_int_equal(a->fd, -1);
    assert_string_equal(a->name, "a.txt");
    assert_string_equal(b->name, "");
    assert_ptr_equal(fs_table_get(&t, a->id), a);
    assert_ptr_equal(fs_table_get(&t, b->id), b);
    assert_null(fs_table_get(&t, "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f"));
    assert_null(fs_table_get(&t, "../etc"));
    /* adopted from disk */
    fs_header_t h = {.from = 7, .to = 8, .size = 9, .created = 10};
    strcpy(h.id, "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f");
    fs_task_t *c = fs_table_adopt(&t, &h, 5);
    assert_non_null(c);
    assert_int_equal(c->complete, 1);
    assert_int_equal(c->mode, FS_OFFLINE);
    assert_ptr_equal(fs_table_get(&t, h.id), c);
    /* MaxTasks */
    assert_int_equal(fs_table_len(&t), 3);
    assert_null(fs_table_create(&t, 1, 2, 3, FS_ONLINE, "", 0, 0));
    strcpy(h.id, "bb3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f");
    assert_null(fs_table_adopt(&t, &h, 5));
    fs_task_t *sel[4];
    assert_int_equal(fs_table_select(&t, is_offline, NULL, sel, 4), 2);
    assert_int_equal(fs_table_select(&t, is_offline, NULL, sel, 1), 1);
    fs_table_remove(&t, a);
    free(a);
    assert_int_equal(fs_table_len(&t), 2);
    fs_task_t *d = fs_table_create(&t, 1, 2, 3, FS_ONLINE, "", 0, 0);
    assert_non_null(d);
    fs_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_new), cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_paths), cmocka_unit_test(test_header),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
