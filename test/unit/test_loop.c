#include <pthread.h>
#include <string.h>

#include "tt_test.h"

typedef struct order_s {
    int log[32];
    int n;
} order_t;

typedef struct tagged_s {
    tt_timer_t t;
    int tag;
    order_t *order;
} tagged_t;

static void record_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    tagged_t *x = udata;
    x->order->log[x->order->n++] = x->tag;
}

static void test_timer_order(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    order_t order = {0};
    tagged_t timers[6];
    const uint64_t delays[6] = {40, 10, 30, 10, 20, 0};
    for (int i = 0; i < 6; i++) {
        timers[i].tag = i;
        timers[i].order = &order;
        tt_timer_init(&timers[i].t, record_cb, &timers[i]);
        assert_int_equal(tt_timer_start(loop, &timers[i].t, delays[i], 0), 0);
    }
    tt_timer_stop(loop, &timers[2].t); /* cancelled: never fires */
    assert_false(tt_timer_active(&timers[2].t));
    uint64_t end = tt_clock_ms() + 200;
    while (tt_clock_ms() < end && order.n < 5)
        tt_loop_run_once(loop, 5);
    assert_int_equal(order.n, 5);
    /* by deadline; equal deadlines in start order */
    const int want[5] = {5, 1, 3, 4, 0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(order.log[i], want[i]);
    tt_loop_free(loop);
}

typedef struct periodic_s {
    tt_timer_t t;
    int fired;
    tt_timer_t *victim;
} periodic_t;

static void periodic_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    periodic_t *p = udata;
    p->fired++;
    if (p->victim)
        tt_timer_stop(loop, p->victim); /* cancelling another timer from a callback */
    if (p->fired == 3)
        tt_timer_stop(loop, t);
}

static void never_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    fail_msg("cancelled timer fired (%p)", udata);
}

static void test_periodic_and_cancel_from_callback(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    periodic_t p = {0};
    tt_timer_t victim;
    tt_timer_init(&victim, never_cb, NULL);
    tt_timer_start(loop, &victim, 15, 0);
    p.victim = &victim;
    tt_timer_init(&p.t, periodic_cb, &p);
    tt_timer_start(loop, &p.t, 5, 5);
    uint64_t end = tt_clock_ms() + 100;
    while (tt_clock_ms() < end)
        tt_loop_run_once(loop, 5);
    assert_int_equal(p.fired, 3);
    assert_false(tt_timer_active(&p.t));
    tt_loop_free(loop);
}

static void count_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    (*(int *)udata)++;
}

static void test_many_timers_heap(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    enum { N = 500 };
    static tt_timer_t ts[N];
    int fired = 0;
    /* start in a scrambled order, cancel every third, and check none is lost or repeated */
    for (int k = 0; k < N; k++)
        tt_timer_init(&ts[k], count_cb, &fired);
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % N;
        tt_timer_start(loop, &ts[k], (uint64_t)(k % 17), 0);
    }
    int active = 0;
    for (int k = 0; k < N; k++) {
        if (k % 3 == 0)
            tt_timer_stop(loop, &ts[k]);
        else
            active++;
    }
    uint64_t end = tt_clock_ms() + 500;
    while (tt_clock_ms() < end && fired < active)
        tt_loop_run_once(loop, 2);
    tt_loop_run_once(loop, 20);
    assert_int_equal(fired, active);
    for (int k = 0; k < N; k++)
        assert_false(tt_timer_active(&ts[k]));
    tt_loop_free(loop);
}

typedef struct defer_ctx_s {
    tt_defer_t a, b;
    int log[4];
    int n;
} defer_ctx_t;

static defer_ctx_t *g_dctx;

static void defer_b(tt_defer_t *d)
{
    (void)d;
    g_dctx->log[g_dctx->n++] = 2;
}

static tt_loop_t *g_loop;

static void defer_a(tt_defer_t *d)
{
    (void)d;
    g_dctx->log[g_dctx->n++] = 1;
    tt_loop_defer(g_loop, &g_dctx->b); /* queued while running: same pass */
}

static void test_defer(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    defer_ctx_t ctx = {0};
    g_dctx = &ctx;
    g_loop = loop;
    tt_defer_init(&ctx.a, defer_a);
    tt_defer_init(&ctx.b, defer_b);
    tt_loop_defer(loop, &ctx.a);
    tt_loop_defer(loop, &ctx.a); /* queued once */
    tt_loop_run_once(loop, 0);
    assert_int_equal(ctx.n, 2);
    assert_int_equal(ctx.log[0], 1);
    assert_int_equal(ctx.log[1], 2);
    tt_loop_defer(loop, &ctx.b);
    tt_loop_cancel_defer(loop, &ctx.b);
    tt_loop_run_once(loop, 0);
    assert_int_equal(ctx.n, 2);
    tt_loop_free(loop);
}

typedef struct post_ctx_s {
    tt_loop_t *loop;
    pthread_t loop_thread;
    int ran;          /* only touched on the loop thread */
    int wrong_thread; /* counts callbacks not on the loop thread */
    int failed_posts;
} post_ctx_t;

static void posted(void *arg)
{
    post_ctx_t *ctx = arg;
    if (!pthread_equal(pthread_self(), ctx->loop_thread))
        ctx->wrong_thread++;
    ctx->ran++;
}

static void *poster(void *arg)
{
    post_ctx_t *ctx = arg;
    for (int i = 0; i < 1000; i++)
        if (tt_loop_post(ctx->loop, posted, ctx) < 0)
            __atomic_add_fetch(&ctx->failed_posts, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void test_post_from_threads(void **state)
{
    (void)state;
    post_ctx_t ctx = {0};
    ctx.loop = tt_loop_new();
    ctx.loop_thread = pthread_self();
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, poster, &ctx);
    uint64_t end = tt_clock_ms() + 5000;
    while (ctx.ran < 4000 && tt_clock_ms() < end)
        tt_loop_run_once(ctx.loop, 10);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    tt_loop_run_once(ctx.loop, 0);
    assert_int_equal(ctx.failed_posts, 0);
    assert_int_equal(ctx.ran, 4000);
    assert_int_equal(ctx.wrong_thread, 0);

    /* the queue is bounded */
    tt_loop_set_post_limit(ctx.loop, 2);
    assert_int_equal(tt_loop_post(ctx.loop, posted, &ctx), 0);
    assert_int_equal(tt_loop_post(ctx.loop, posted, &ctx), 0);
    assert_int_equal(tt_loop_post(ctx.loop, posted, &ctx), -1);
    tt_loop_run_once(ctx.loop, 10);
    assert_int_equal(ctx.ran, 4002);
    tt_loop_free(ctx.loop);
}

static void stop_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    (void)udata;
    tt_loop_stop(loop);
}

static void test_run_and_stop(void **state)
{
    (void)state;
    tt_loop_t *loop = tt_loop_new();
    tt_timer_t t;
    tt_timer_init(&t, stop_cb, NULL);
    tt_timer_start(loop, &t, 10, 0);
    uint64_t start = tt_clock_ms();
    assert_int_equal(tt_loop_run(loop), 0);
    assert_true(tt_clock_ms() - start >= 9);
    assert_true(tt_loop_stopped(loop));
    tt_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_order),
        cmocka_unit_test(test_periodic_and_cancel_from_callback),
        cmocka_unit_test(test_many_timers_heap),
        cmocka_unit_test(test_defer),
        cmocka_unit_test(test_post_from_threads),
        cmocka_unit_test(test_run_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
