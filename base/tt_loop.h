/* tt_loop: the reactor. One epoll set, an fd-indexed table of watchers, timers on the
 * monotonic clock kept in a binary heap, deferred work run before each sleep, and a
 * thread-safe queue through which worker threads hand work back to the loop thread. */
#ifndef TT_LOOP_H
#define TT_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define TT_READABLE 1
#define TT_WRITABLE 2

typedef struct tt_loop_s tt_loop_t;

/* Called with the events that fired (TT_READABLE | TT_WRITABLE, errors count as both). */
typedef void (*tt_fd_cb)(tt_loop_t *loop, int fd, int events, void *udata);

/* A timer is embedded by its owner (no allocation); the loop only links it into its heap. */
typedef struct tt_timer_s tt_timer_t;
typedef void (*tt_timer_cb)(tt_loop_t *loop, tt_timer_t *t, void *udata);
struct tt_timer_s {
    uint64_t when;      /* monotonic deadline in ms */
    uint64_t repeat;    /* period in ms, 0 for one-shot */
    uint64_t seq;       /* insertion order, breaks ties between equal deadlines */
    size_t heap_index;  /* position in the heap, SIZE_MAX when not armed */
    tt_timer_cb cb;     /* callback */
    void *udata;        /* callback argument */
};

/* Deferred work: run once before the loop next sleeps (e.g. flush output, free a closed
 * connection). A node is queued at most once; nodes queued while running run in the same pass. */
typedef struct tt_defer_s tt_defer_t;
struct tt_defer_s {
    tt_defer_t *prev, *next; /* list links while queued */
    int queued;              /* 1 while in the list */
    void (*fn)(tt_defer_t *d);
};

typedef void (*tt_post_fn)(void *arg);

tt_loop_t *tt_loop_new(void);
void tt_loop_free(tt_loop_t *loop);
/* Runs until tt_loop_stop(). 0 on a clean stop, -1 if epoll failed. */
int tt_loop_run(tt_loop_t *loop);
/* Runs one iteration, waiting at most max_wait_ms (-1: until the next timer). */
int tt_loop_run_once(tt_loop_t *loop, int max_wait_ms);
void tt_loop_stop(tt_loop_t *loop);
int tt_loop_stopped(const tt_loop_t *loop);

/* Sets the interest mask of fd (0 removes it). 0 ok, -1 error (errno set). */
int tt_loop_watch(tt_loop_t *loop, int fd, int mask, tt_fd_cb cb, void *udata);
int tt_loop_mask(const tt_loop_t *loop, int fd);

/* Monotonic time in ms, refreshed once per loop iteration. */
uint64_t tt_loop_now(const tt_loop_t *loop);
uint64_t tt_clock_ms(void);

void tt_timer_init(tt_timer_t *t, tt_timer_cb cb, void *udata);
/* (Re)arms the timer to fire after ms, then every repeat ms if repeat > 0. */
int tt_timer_start(tt_loop_t *loop, tt_timer_t *t, uint64_t ms, uint64_t repeat);
void tt_timer_stop(tt_loop_t *loop, tt_timer_t *t);
static inline int tt_timer_active(const tt_timer_t *t) { return t->heap_index != (size_t)-1; }

void tt_defer_init(tt_defer_t *d, void (*fn)(tt_defer_t *d));
void tt_loop_defer(tt_loop_t *loop, tt_defer_t *d);
void tt_loop_cancel_defer(tt_loop_t *loop, tt_defer_t *d);

/* Thread-safe: queue fn(arg) to run on the loop thread. -1 when the queue holds
 * max_posted items already (see tt_loop_set_post_limit) or memory is short. */
int tt_loop_post(tt_loop_t *loop, tt_post_fn fn, void *arg);
void tt_loop_set_post_limit(tt_loop_t *loop, size_t max_posted);
/* Thread- and async-signal-safe: make a sleeping loop iterate. */
void tt_loop_wake(tt_loop_t *loop);

#endif
