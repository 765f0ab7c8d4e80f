/* msfs: the store and the worker pools. FileCnt persisted in BaseDir/msfs.state after every
 * upload and taken back at the next open (also from a larger FileCnt of the config), the
 * directory fan-out on disk, no temp files left behind, one msfs per BaseDir, reads that refuse
 * symlinks, directories and oversize files; streamed uploads stored from their temp file;
 * the retention sweep (old files and orphaned thumbnails only, nothing outside the layout) and
 * the walk that `ttadm msfs usage` counts with; pools that run every job once, stay within their
 * queue bound, hand results back on the loop thread and cancel what never started. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msfs.h"
#include "tt_test.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/test_msfs_store.XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/base/%s", root, rel);
}

static void write_text(const char *rel, const char *text)
{
    char p[512];
    path_of(p, sizeof(p), rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static uint64_t state_cnt(void)
{
    char p[512], line[128];
    path_of(p, sizeof(p), MSFS_STATE_FILE);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    unsigned long long v = ~0ULL;
    while (fgets(line, sizeof(line), f))
        sscanf(line, "FileCnt=%llu", &v);
    fclose(f);
    return v;
}

static void open_store(msfs_store_t *st, uint64_t per_dir, uint64_t conf_cnt)
{
    char base[300], err[512] = "";
    snprintf(base, sizeof(base), "%s/base", root);
    if (msfs_store_open(st, base, per_dir, conf_cnt, err, sizeof(err)) < 0)
        fail_msg("open: %s", err);
}

static void put(msfs_store_t *st, const char *data, const char *type, int has_size,
                char *rel, size_t rellen)
{
    msfs_name_t n = {.has_size = has_size, .width = 10, .height = 20};
    snprintf(n.type, sizeof(n.type), "%s", type);
    char err[512] = "";
    if (msfs_store_put(st, data, strlen(data), &n, rel, rellen, err, sizeof(err)) < 0)
        fail_msg("put: %s", err);
}

static void assert_content(msfs_store_t *st, const char *rel, const char *want)
{
    uint8_t *data;
    size_t len;
    char err[512];
    assert_int_equal(msfs_store_get(st, rel, 1 << 20, &data, &len, err, sizeof(err)), 0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    free(data);
}

static void test_put_get_and_count(void **state)
{
    (void)state;
    msfs_store_t st;
    open_store(&st, 1, 0);
    assert_int_equal(msfs_store_count(&st), 0);
    assert_int_equal(state_cnt(), 0);
    char rel[3][512];
    put(&st, "zero", "png", 0, rel[0], sizeof(rel[0]));
    put(&st, "one", "jpg", 0, rel[1], sizeof(rel[1]));
    put(&st, "two", "png", 1, rel[2], sizeof(rel[2]));
    assert_int_equal(strncmp(rel[0], "000/000/", 8), 0);
    assert_non_null(strstr(rel[0], "_0.png"));
    assert_int_equal(strncmp(rel[1], "000/001/", 8), 0);
    assert_non_null(strstr(rel[1], "_1.jpg"));
    assert_int_equal(strncmp(rel[2], "000/002/", 8), 0);
    assert_non_null(strstr(rel[2], "_2_10x20.png"));
    for (int i = 0; i < 3; i++) {
        char url[2048], back[512];
        snprintf(url, sizeof(url), "/g0/%s", rel[i]);
        assert_int_equal(msfs_layout_map_url(url, back, sizeof(back)), 0);
        assert_string_equal(back, rel[i]);
    }
    assert_content(&st, rel[0], "zero");
    assert_content(&st, rel[1], "one");
    assert_content(&st, rel[2], "two");
    assert_int_equal(msfs_store_count(&st), 3);
    assert_int_equal(state_cnt(), 3); /* persisted at once, not at shutdown */
    /* nothing left in .tmp */
    char tmp[512];
    path_of(tmp, sizeof(tmp), ".tmp/0.part");
    assert_int_equal(access(tmp, F_OK), -1);
    msfs_store_close(&st);

    /* the count survives; a larger FileCnt of the config wins; a smaller one does not */
    open_store(&st, 1, 2);
    assert_int_equal(msfs_store_count(&st), 3);
    msfs_store_close(&st);
    open_store(&st, 1, 10);
    assert_int_equal(msfs_store_count(&st), 10);
    assert_int_equal(state_cnt(), 10);
    put(&st, "ten", "gif", 0, rel[0], sizeof(rel[0]));
    assert_int_equal(strncmp(rel[0], "000/010/", 8), 0);
    assert_content(&st, rel[0], "ten");
    msfs_store_close(&st);

    /* the earlier files are still there, untouched */
    open_store(&st, 1, 0);
    assert_content(&st, rel[1], "one");
    assert_int_equal(msfs_store_count(&st), 11);
    msfs_store_close(&st);
}

static void test_open_checks(void **state)
{
    (void)state;
    msfs_store_t st, st2;
    char err[512], base[300];
    open_store(&st, 30000, 0);
    /* one msfs per BaseDir */
    snprintf(base, sizeof(base), "%s/base", root);
    assert_int_equal(msfs_store_open(&st2, base, 30000, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "in use"));
    msfs_store_close(&st2);
    msfs_store_close(&st);

    /* crash leftovers in .tmp are removed */
    write_text(".tmp/7.part", "half a file");
    open_store(&st, 30000, 0);
    char p[512];
    path_of(p, sizeof(p), ".tmp/7.part");
    assert_int_equal(access(p, F_OK), -1);
    msfs_store_close(&st);

    /* a broken state file is reported, not silently reset */
    write_text(MSFS_STATE_FILE, "FileCnt=banana\n");
    assert_int_equal(msfs_store_open(&st, base, 30000, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "state file"));
    msfs_store_close(&st);
    write_text(MSFS_STATE_FILE, "FileCnt=5\n");
    open_store(&st, 30000, 0);
    assert_int_equal(msfs_store_count(&st), 5);
    msfs_store_close(&st);

    /* BaseDir's parent must exist; BaseDir must be a directory */
    snprintf(base, sizeof(base), "%s/missing/base", root);
    assert_int_equal(msfs_store_open(&st, base, 30000, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot create BaseDir"));
    msfs_store_close(&st);
    snprintf(base, sizeof(base), "%s/base/" MSFS_STATE_FILE, root);
    assert_int_equal(msfs_store_open(&st, base, 30000, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a directory"));
    msfs_store_close(&st);
}

static void test_get_refusals(void **state)
{
    (void)state;
    msfs_store_t st;
    open_store(&st, 30000, 0);
    char rel[512], p[512], target[512], err[512];
    put(&st, "0123456789", "png", 0, rel, sizeof(rel));
    uint8_t *data;
    size_t len;
    assert_int_equal(msfs_store_get(&st, "000/000/1_1.png", 100, &data, &len, err, sizeof(err)),
                     -1);
    assert_int_equal(msfs_store_get(&st, rel, 9, &data, &len, err, sizeof(err)), -2);
    assert_null(data);
    assert_int_equal(msfs_store_get(&st, rel, 10, &data, &len, err, sizeof(err)), 0);
    free(data);
    /* a symlink (say, to the state file) is not followed */
    path_of(p, sizeof(p), "000/000/2_2.png");
    path_of(target, sizeof(target), MSFS_STATE_FILE);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(msfs_store_get(&st, "000/000/2_2.png", 100, &data, &len, err, sizeof(err)),
                     -1);
    /* nor is a directory served */
    path_of(p, sizeof(p), "000/000/3_3.png");
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(msfs_store_get(&st, "000/000/3_3.png", 100, &data, &len, err, sizeof(err)),
                     -1);
    /* an empty file is fine */
    write_text("000/000/4_4.png", "");
    assert_int_equal(msfs_store_get(&st, "000/000/4_4.png", 100, &data, &len, err, sizeof(err)),
                     0);
    assert_int_equal(len, 0);
    free(data);
    msfs_store_close(&st);
}

/* ---- pools ---- */

typedef struct test_job_s {
    msfs_job_t job;         /* pool link */
    int id;                 /* submission order */
    pthread_t ran_on;       /* worker thread */
    pthread_t done_on;      /* thread of done() */
    int ran, done, cancelled;
} test_job_t;

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open = 1;   /* jobs with id 0 wait until this is set */
static int gate_waiting;    /* the job with id 0 is running */
static volatile int done_count;

static void job_run(msfs_job_t *j)
{
    test_job_t *t = (test_job_t *)j;
    t->ran_on = pthread_self();
    __atomic_add_fetch(&t->ran, 1, __ATOMIC_SEQ_CST);
    if (t->id == 0) {
        pthread_mutex_lock(&gate_lock);
        gate_waiting = 1;
        pthread_cond_broadcast(&gate_cond);
        while (!gate_open)
            pthread_cond_wait(&gate_cond, &gate_lock);
        pthread_mutex_unlock(&gate_lock);
    }
}

static void job_done(msfs_job_t *j)
{
    test_job_t *t = (test_job_t *)j;
    t->done_on = pthread_self();
    t->done++;
    t->cancelled = j->cancelled;
    done_count++;
}

static void init_jobs(test_job_t *jobs, int n)
{
    memset(jobs, 0, sizeof(*jobs) * (size_t)n);
    for (int i = 0; i < n; i++) {
        jobs[i].id = i;
        jobs[i].job.run = job_run;
        jobs[i].job.done = job_done;
    }
    done_count = 0;
}

static void test_pool_runs_everything(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    assert_non_null(loop);
    msfs_pool_t pool;
    char err[256];
    assert_int_equal(msfs_pool_start(&pool, loop, "t", 4, 1000, err, sizeof(err)), 0);
    enum { N = 300 };
    static test_job_t jobs[N];
    init_jobs(jobs, N);
    gate_open = 1;
    for (int i = 0; i < N; i++)
        assert_int_equal(msfs_pool_submit(&pool, &jobs[i].job), 0);
    uint64_t deadline = tt_clock_ms() + 10000;
    while (done_count < N && tt_clock_ms() < deadline)
        tt_loop_run_once(loop, 10);
    assert_int_equal(done_count, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i].ran, 1);
        assert_int_equal(jobs[i].done, 1);
        assert_false(jobs[i].cancelled);
        assert_true(pthread_equal(jobs[i].done_on, pthread_self()));
        assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
    }
    msfs_pool_stop(&pool);
    assert_int_equal(msfs_pool_submit(&pool, &jobs[0].job), -1);
    msfs_pool_stop(&pool); /* twice is harmless */
    tt_loop_free(loop);
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

static void test_pool_bound_and_stop(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    assert_non_null(loop);
    msfs_pool_t pool;
    char err[256];
    assert_int_equal(msfs_pool_start(&pool, loop, "t", 1, 2, err, sizeof(err)), 0);
    test_job_t jobs[4];
    init_jobs(jobs, 4);
    gate_open = 0;
    gate_waiting = 0;
    assert_int_equal(msfs_pool_submit(&pool, &jobs[0].job), 0);
    pthread_mutex_lock(&gate_lock);
    while (!gate_waiting)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    /* job 0 runs and blocks: two more fit in the queue, the next does not */
    assert_int_equal(msfs_pool_submit(&pool, &jobs[1].job), 0);
    assert_int_equal(msfs_pool_submit(&pool, &jobs[2].job), 0);
    assert_int_equal(msfs_pool_submit(&pool, &jobs[3].job), -1);
    /* stop while job 0 still runs: it finishes and is handed back, 1 and 2 are cancelled */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, open_gate_later, NULL), 0);
    msfs_pool_stop(&pool);
    pthread_join(th, NULL);
    assert_int_equal(jobs[0].ran, 1);
    assert_int_equal(jobs[0].done, 1);
    assert_false(jobs[0].cancelled);
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(jobs[i].ran, 0);
        assert_int_equal(jobs[i].done, 1);
        assert_true(jobs[i].cancelled);
    }
    assert_int_equal(jobs[3].done, 0);
    /* a drain posted by the worker may still sit in the loop: running it now is harmless */
    tt_loop_run_once(loop, 0);
    assert_int_equal(jobs[0].done, 1);
    tt_loop_free(loop);
}

static int tmp_dir_entries(void)
{
    char p[512], cmd[600];
    path_of(p, sizeof(p), ".tmp");
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", p);
    return system(cmd) == 0 ? 0 : 1;
}

/* Uploads streamed into a temp file: stored under the next number with the bytes written, the
 * temp file gone; a temp file that cannot be stored is removed too. */
static void test_put_tmp(void **state)
{
    (void)state;
    msfs_store_t st;
    open_store(&st, 1, 5);
    char path[4096], err[512] = "", rel[512];
    int fd = msfs_store_tmp_create(&st, path, sizeof(path), err, sizeof(err));
    assert_true(fd >= 0);
    assert_non_null(strstr(path, "/.tmp/up"));
    assert_int_equal(tmp_dir_entries(), 1);
    assert_int_equal(msfs_write_all(fd, "stre", 4), 0);
    assert_int_equal(msfs_write_all(fd, "amed", 4), 0);
    msfs_name_t n = {.type = "png"};
    if (msfs_store_put_tmp(&st, fd, path, &n, rel, sizeof(rel), err, sizeof(err)) < 0)
        fail_msg("put_tmp: %s", err);
    assert_non_null(strstr(rel, "_5.png"));
    assert_content(&st, rel, "streamed");
    assert_int_equal(msfs_store_count(&st), 6);
    assert_int_equal(state_cnt(), 6);
    assert_int_equal(tmp_dir_entries(), 0);
    /* two at once get distinct temp files */
    char path2[4096];
    fd = msfs_store_tmp_create(&st, path, sizeof(path), err, sizeof(err));
    int fd2 = msfs_store_tmp_create(&st, path2, sizeof(path2), err, sizeof(err));
    assert_true(fd >= 0 && fd2 >= 0);
    assert_string_not_equal(path, path2);
    close(fd2);
    unlink(path2);
    /* an fd that cannot be synced (closed under it): an error, no number used, no temp file */
    close(fd);
    assert_int_equal(msfs_store_put_tmp(&st, fd, path, &n, rel, sizeof(rel), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "cannot write"));
    assert_int_equal(msfs_store_count(&st), 6);
    assert_int_equal(tmp_dir_entries(), 0);
    msfs_store_close(&st);
}

static void make_file(const char *rel, const char *text, time_t mtime)
{
    char path[512];
    path_of(path, sizeof(path), rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int exists(const char *rel)
{
    char path[512];
    path_of(path, sizeof(path), rel);
    return access(path, F_OK) == 0;
}

typedef struct count_s {
    int files, thumbs;
    uint64_t bytes;
} count_t;

static int count_cb(void *arg, int dirfd, const msfs_entry_t *e)
{
    (void)dirfd;
    count_t *c = arg;
    if (e->is_thumb)
        c->thumbs++;
    else
        c->files++;
    c->bytes += e->size;
    return 0;
}

static void test_sweep(void **state)
{
    (void)state;
    char path[512];
    const char *dirs[] = {"", "000", "000/000", "000/001", "1000", "1000/254", ".tmp", "other"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        path_of(path, sizeof(path), dirs[i]);
        assert_int_equal(mkdir(path, 0755), 0);
    }
    time_t now = time(NULL), old = now - 40 * 86400, cutoff = now - 30 * 86400;
    make_file("000/000/1_0.png", "old image", old);
    make_file("000/000/1_0.png_100x100.jpg", "its thumbnail, made yesterday", now - 86400);
    make_file("000/000/2_1.png", "new image", now);
    make_file("000/000/2_1.png_100x100.jpg", "new thumbnail", now);
    make_file("000/001/3_2.audio", "old voice", old);
    make_file("000/001/9_9.png_10x10.png", "orphaned thumbnail", now);
    make_file("1000/254/4_3_640x480.png", "old iOS upload", old);
    make_file("000/000/notes.txt", "not of the layout", old);
    make_file(".tmp/5_4.png", "a temp file", old);
    make_file("other/6_5.png", "outside the layout", old);
    make_file("msfs.state", "FileCnt=7\n", old);

    count_t c = {0};
    char err[256];
    path_of(path, sizeof(path), "");
    assert_int_equal(msfs_walk(path, count_cb, &c, err, sizeof(err)), 0);
    assert_int_equal(c.files, 4);
    assert_int_equal(c.thumbs, 3);

    msfs_sweep_stats_t st;
    int stop = 1; /* a stopping msfs sweeps nothing */
    assert_int_equal(msfs_sweep(path, cutoff, &stop, &st, err, sizeof(err)), 0);
    assert_int_equal(st.files + st.thumbs, 0);
    assert_true(exists("000/000/1_0.png"));

    assert_int_equal(msfs_sweep(path, cutoff, NULL, &st, err, sizeof(err)), 0);
    assert_int_equal(st.files, 3);
    assert_int_equal(st.thumbs, 2);
    assert_false(exists("000/000/1_0.png"));
    assert_false(exists("000/000/1_0.png_100x100.jpg")); /* its original went */
    assert_false(exists("000/001/3_2.audio"));
    assert_false(exists("000/001/9_9.png_10x10.png"));
    assert_false(exists("1000/254/4_3_640x480.png"));
    assert_true(exists("000/000/2_1.png"));
    assert_true(exists("000/000/2_1.png_100x100.jpg"));
    assert_true(exists("000/000/notes.txt"));
    assert_true(exists(".tmp/5_4.png"));
    assert_true(exists("other/6_5.png"));
    assert_true(exists("msfs.state"));

    path_of(path, sizeof(path), "missing");
    assert_int_equal(msfs_sweep(path, cutoff, NULL, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test(test_pool_runs_everything),
        cmocka_unit_test(test_pool_bound_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
