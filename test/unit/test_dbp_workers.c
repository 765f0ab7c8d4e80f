/* workers: the jobs of one lane run one at a time and in order while lanes run in parallel;
 * the budget (jobs and bytes) refuses beyond its bounds until settled; closing a lane cancels
 * what waits; stopping releases what never ran. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_test.h"
#include "workers.h"

#define LANES 8
#define PER_LANE 400

typedef struct fixture_s fixture_t;

typedef struct job_s {
    dbp_job_t job;        /* first */
    fixture_t *f;
    int lane, index;      /* which lane, position in it */
    int sleep_us;         /* work */
} job_t;

struct fixture_s {
    dbp_workers_t *w;
    dbp_lane_t lanes[LANES];
    atomic_int next[LANES];      /* next index expected per lane */
    atomic_int busy[LANES];      /* jobs of the lane running now */
    atomic_int errors;           /* order or overlap violations */
    atomic_int ran, released, cancelled;
    atomic_int running, max_running; /* parallelism seen */
    atomic_int threads_started, threads_stopped;
    pthread_mutex_t gate_mu;     /* jobs with sleep_us < 0 wait for the gate */
    pthread_cond_t gate_cv;
    int gate_open;
    size_t batches[64];          /* sizes of the run_many calls, in order */
    atomic_int nbatches;
};

static void job_run(dbp_job_t *j, void *thread)
{
    job_t *x = (job_t *)j;
    fixture_t *f = x->f;
    if (thread != (void *)f)
        atomic_fetch_add(&f->errors, 1);
    if (atomic_fetch_add(&f->busy[x->lane], 1) != 0)
        atomic_fetch_add(&f->errors, 1); /* two jobs of one lane at once */
    if (atomic_load(&f->next[x->lane]) != x->index)
        atomic_fetch_add(&f->errors, 1); /* out of order */
    atomic_store(&f->next[x->lane], x->index + 1);
    int r = atomic_fetch_add(&f->running, 1) + 1;
    int m = atomic_load(&f->max_running);
    while (r > m && !atomic_compare_exchange_weak(&f->max_running, &m, r)) {
    }
    if (x->sleep_us > 0) {
        usleep((useconds_t)x->sleep_us);
    } else if (x->sleep_us < 0) {
        pthread_mutex_lock(&f->gate_mu);
        while (!f->gate_open)
            pthread_cond_wait(&f->gate_cv, &f->gate_mu);
        pthread_mutex_unlock(&f->gate_mu);
    }
    atomic_fetch_sub(&f->running, 1);
    atomic_fetch_sub(&f->busy[x->lane], 1);
    atomic_fetch_add(&f->ran, 1);
}

/* A batch: each job checked as if run alone, and the batch size recorded. */
static void job_run_many(dbp_job_t *j, size_t n, void *thread)
{
    fixture_t *f = ((job_t *)j)->f;
    int b = atomic_fetch_add(&f->nbatches, 1);
    if (b < 64)
        f->batches[b] = n;
    size_t seen = 0;
    for (; j; j = j->next, seen++)
        job_run(j, thread);
    if (seen != n)
        atomic_fetch_add(&f->errors, 1);
}

static void job_release(dbp_job_t *j, int ran)
{
    job_t *x = (job_t *)j;
    if (!ran)
        atomic_fetch_add(&x->f->cancelled, 1);
    atomic_fetch_add(&x->f->released, 1);
    dbp_workers_settle(x->f->w, j->cost);
    free(x);
}

static void *thread_start(void *arg)
{
    fixture_t *f = arg;
    atomic_fetch_add(&f->threads_started, 1);
    return f;
}

static void thread_stop(void *thread, void *arg)
{
    fixture_t *f = arg;
    if (thread == arg)
        atomic_fetch_add(&f->threads_stopped, 1);
}

static fixture_t *fixture_batches(int threads, size_t max_jobs, size_t max_bytes,
                                  size_t max_batch, size_t max_batches)
{
    fixture_t *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->gate_mu, NULL);
    pthread_cond_init(&f->gate_cv, NULL);
    for (int i = 0; i < LANES; i++)
        dbp_lane_init(&f->lanes[i]);
    dbp_workers_opts_t o = {threads, max_jobs,  max_bytes,  thread_start, thread_stop,
                            f,       max_batch, max_batches};
    f->w = dbp_workers_new(&o);
    assert_non_null(f->w);
    return f;
}

static fixture_t *fixture_batch(int threads, size_t max_jobs, size_t max_bytes,
                                size_t max_batch)
{
    return fixture_batches(threads, max_jobs, max_bytes, max_batch, 0);
}

static fixture_t *fixture(int threads, size_t max_jobs, size_t max_bytes)
{
    return fixture_batch(threads, max_jobs, max_bytes, 0);
}

static void fixture_free(fixture_t *f)
{
    dbp_workers_free(f->w);
    pthread_mutex_destroy(&f->gate_mu);
    pthread_cond_destroy(&f->gate_cv);
    free(f);
}

static int submit_kind(fixture_t *f, int lane, int index, int sleep_us, size_t cost, int many)
{
    job_t *x = calloc(1, sizeof(*x));
    x->job.cost = cost;
    x->job.run = job_run;
    x->job.run_many = many ? job_run_many : NULL;
    x->job.release = job_release;
    x->f = f;
    x->lane = lane;
    x->index = index;
    x->sleep_us = sleep_us;
    if (dbp_workers_submit(f->w, &f->lanes[lane], &x->job, 0) < 0) {
        free(x);
        return -1;
    }
    return 0;
}

static int submit(fixture_t *f, int lane, int index, int sleep_us, size_t cost)
{
    return submit_kind(f, lane, index, sleep_us, cost, 0);
}

static void wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < 5000 && atomic_load(v) < want; i++)
        usleep(1000);
}

static void open_gate(fixture_t *f)
{
    pthread_mutex_lock(&f->gate_mu);
    f->gate_open = 1;
    pthread_cond_broadcast(&f->gate_cv);
    pthread_mutex_unlock(&f->gate_mu);
}

static void test_order_per_lane(void **state)
{
    (void)state;
    fixture_t *f = fixture(4, 100000, 1u << 30);
    wait_for(&f->threads_started, 4);
    for (int i = 0; i < PER_LANE; i++)
        for (int l = 0; l < LANES; l++)
            assert_int_equal(submit(f, l, i, (i % 50 == 0) ? 200 : 0, 10), 0);
    wait_for(&f->ran, LANES * PER_LANE);
    assert_int_equal(atomic_load(&f->ran), LANES * PER_LANE);
    assert_int_equal(atomic_load(&f->errors), 0);
    wait_for(&f->released, LANES * PER_LANE);
    assert_int_equal(dbp_workers_pending(f->w), 0);
    assert_true(atomic_load(&f->max_running) > 1); /* lanes did run in parallel */
    dbp_workers_stop(f->w);
    assert_int_equal(atomic_load(&f->threads_stopped), 4);
    fixture_free(f);
}

static void test_parallel_lanes(void **state)
{
    (void)state;
    fixture_t *f = fixture(4, 100, 1u << 20);
    for (int l = 0; l < 4; l++)
        assert_int_equal(submit(f, l, 0, -1, 1), 0); /* all wait at the gate */
    wait_for(&f->running, 4);
    assert_int_equal(atomic_load(&f->running), 4); /* four lanes, four threads */
    open_gate(f);
    wait_for(&f->released, 4);
    assert_int_equal(atomic_load(&f->errors), 0);
    fixture_free(f);
}

static void test_budget(void **state)
{
    (void)state;
    fixture_t *f = fixture(1, 3, 1000);
    assert_int_equal(submit(f, 0, 0, -1, 100), 0); /* runs, blocked at the gate */
    wait_for(&f->running, 1);
    assert_int_equal(submit(f, 0, 1, 0, 100), 0);
    assert_int_equal(submit(f, 1, 0, 0, 100), 0);
    assert_int_equal(submit(f, 1, 1, 0, 100), -1); /* 3 jobs: full */
    assert_int_equal(dbp_workers_pending(f->w), 3);
    open_gate(f);
    wait_for(&f->released, 3);
    assert_int_equal(dbp_workers_pending(f->w), 0);
    /* bytes */
    pthread_mutex_lock(&f->gate_mu);
    f->gate_open = 0;
    pthread_mutex_unlock(&f->gate_mu);
    assert_int_equal(submit(f, 2, 0, -1, 900), 0);
    assert_int_equal(submit(f, 2, 1, 0, 200), -1); /* 1100 bytes > 1000 */
    assert_int_equal(submit(f, 2, 1, 0, 100), 0);
    dbp_workers_charge(f->w, 1);                   /* an answer being held */
    assert_int_equal(submit(f, 3, 0, 0, 1), -1);   /* 1001 */
    open_gate(f);
    wait_for(&f->released, 5);
    assert_int_equal(dbp_workers_pending(f->w), 0);
    assert_int_equal(atomic_load(&f->errors), 0);
    fixture_free(f);
}

static void test_close_lane(void **state)
{
    (void)state;
    fixture_t *f = fixture(1, 100, 1u << 20);
    assert_int_equal(submit(f, 0, 0, -1, 1), 0); /* running */
    wait_for(&f->running, 1);
    for (int i = 1; i < 10; i++)
        assert_int_equal(submit(f, 0, i, 0, 1), 0);
    assert_int_equal(submit(f, 1, 0, 0, 1), 0);
    dbp_lane_close(f->w, &f->lanes[0]);
    assert_int_equal(atomic_load(&f->cancelled), 9); /* released at once */
    assert_int_equal(submit(f, 0, 10, 0, 1), -1);     /* closed */
    open_gate(f);
    wait_for(&f->released, 11);
    assert_int_equal(atomic_load(&f->ran), 2); /* the running one and lane 1's */
    assert_int_equal(dbp_workers_pending(f->w), 0);
    fixture_free(f);
}

static void test_stop_releases_waiting(void **state)
{
    (void)state;
    fixture_t *f = fixture(2, 100, 1u << 20);
    assert_int_equal(submit(f, 0, 0, 20000, 1), 0); /* 20 ms each */
    assert_int_equal(submit(f, 1, 0, 20000, 1), 0);
    for (int i = 1; i < 20; i++) {
        assert_int_equal(submit(f, 0, i, 20000, 1), 0);
        assert_int_equal(submit(f, 1, i, 20000, 1), 0);
    }
    wait_for(&f->running, 2);
    dbp_workers_stop(f->w);
    assert_int_equal(atomic_load(&f->released), 40); /* everything released */
    assert_true(atomic_load(&f->cancelled) >= 30);
    assert_int_equal(atomic_load(&f->ran) + atomic_load(&f->cancelled), 40);
    assert_int_equal(atomic_load(&f->threads_stopped), 2);
    assert_int_equal(submit(f, 2, 0, 0, 1), -1); /* stopped */
    assert_int_equal(dbp_workers_pending(f->w), 0);
    fixture_free(f);
}

/* Jobs with run_many waiting together at the head of a lane run as one call, at most
 * max_batch at a time, in order; a job without it splits them; other lanes are not mixed in. */
static void test_batches(void **state)
{
    (void)state;
    fixture_t *f = fixture_batch(1, 1000, 1u << 20, 5);
    int i = 0;
    assert_int_equal(submit(f, 0, i++, -1, 1), 0); /* holds the only thread until the gate */
    usleep(20000);
    for (int k = 0; k < 12; k++)
        assert_int_equal(submit_kind(f, 0, i++, 0, 1, 1), 0);
    assert_int_equal(submit(f, 0, i++, 0, 1), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(submit_kind(f, 0, i++, 0, 1, 1), 0);
    for (int k = 0; k < 2; k++) /* another lane: its own batch */
        assert_int_equal(submit_kind(f, 1, k, 0, 1, 1), 0);
    open_gate(f);
    wait_for(&f->released, i + 2);
    assert_int_equal(atomic_load(&f->ran), i + 2);
    assert_int_equal(atomic_load(&f->errors), 0);
    assert_int_equal(dbp_workers_pending(f->w), 0);
    /* lane 1 was queued while lane 0 ran its first job, so it runs next: 2; then lane 0's
     * twelve in batches of 5, 5, 2, the plain job alone (not a run_many call), and 3 */
    size_t want[] = {2, 5, 5, 2, 3};
    assert_int_equal(atomic_load(&f->nbatches), 5);
    for (int b = 0; b < 5; b++)
        assert_int_equal(f->batches[b], want[b]);
    fixture_free(f);
}

/* A small batch takes the same kind of jobs from the heads of other waiting lanes, up to half
 * of max_batch, each lane's jobs in order; the lane left over runs after. */
static void test_merge_lanes(void **state)
{
    (void)state;
    fixture_t *f = fixture_batch(1, 1000, 1u << 20, 16);
    assert_int_equal(submit(f, 0, 0, -1, 1), 0); /* holds the only thread until the gate */
    usleep(20000);
    for (int l = 1; l <= 4; l++)
        for (int k = 0; k < 2; k++)
            assert_int_equal(submit_kind(f, l, k, 0, 1, 1), 0);
    for (int k = 1; k <= 2; k++)
        assert_int_equal(submit_kind(f, 0, k, 0, 1, 1), 0);
    open_gate(f);
    wait_for(&f->released, 11);
    assert_int_equal(atomic_load(&f->ran), 11);
    assert_int_equal(atomic_load(&f->errors), 0);
    /* run queue after the gate job: lanes 1, 2, 3, 4, 0; lane 1's two take lanes 2, 3 and 4
     * along (8 = half of 16), lane 0 runs alone */
    assert_int_equal(atomic_load(&f->nbatches), 2);
    assert_int_equal(f->batches[0], 8);
    assert_int_equal(f->batches[1], 2);
    fixture_free(f);
}

/* With max_batches batches running, a lane whose next job is a batch waits; plain jobs of
 * other lanes still run on the free threads. */
static void test_max_batches(void **state)
{
    (void)state;
    fixture_t *f = fixture_batches(2, 1000, 1u << 20, 16, 1);
    wait_for(&f->threads_started, 2);
    assert_int_equal(submit_kind(f, 0, 0, -1, 1, 1), 0); /* a batch held at the gate */
    usleep(20000);
    assert_int_equal(submit_kind(f, 1, 0, 0, 1, 1), 0);
    assert_int_equal(submit_kind(f, 1, 1, 0, 1, 1), 0);
    assert_int_equal(submit(f, 2, 0, 0, 1), 0);
    usleep(50000);
    assert_int_equal(atomic_load(&f->ran), 1); /* the plain job only */
    assert_int_equal(atomic_load(&f->nbatches), 1);
    open_gate(f);
    wait_for(&f->released, 4);
    assert_int_equal(atomic_load(&f->ran), 4);
    assert_int_equal(atomic_load(&f->errors), 0);
    assert_int_equal(atomic_load(&f->nbatches), 2);
    assert_int_equal(f->batches[1], 2);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_per_lane), cmocka_unit_test(test_parallel_lanes),
        cmocka_unit_test(test_budget),         cmocka_unit_test(test_close_lane),
        cmocka_unit_test(test_stop_releases_waiting), cmocka_unit_test(test_batches),
        cmocka_unit_test(test_merge_lanes),    cmocka_unit_test(test_max_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
