#include "tt_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TT_NO_INDEX ((size_t)-1)
#define TT_MAX_EVENTS 256

typedef struct watcher_s {
    int mask;       /* current interest */
    tt_fd_cb cb;    /* callback */
    void *udata;    /* callback argument */
} watcher_t;

typedef struct post_item_s {
    struct post_item_s *next;
    tt_post_fn fn;
    void *arg;
} post_item_t;

struct tt_loop_s {
    int epfd;                 /* epoll set */
    int wakefd;               /* eventfd for tt_loop_post / tt_loop_wake */
    watcher_t *watchers;      /* indexed by fd */
    int nwatchers;            /* size of watchers[] */
    tt_timer_t **heap;        /* timer min-heap on (when, seq) */
    size_t nheap, capheap;
    uint64_t timer_seq;       /* next timer insertion number */
    uint64_t now;             /* cached monotonic ms */
    tt_defer_t defer_head;    /* sentinel of the deferred-work list */
    int stop;                 /* set by tt_loop_stop */
    pthread_mutex_t post_lock;/* guards the post queue */
    post_item_t *post_head, *post_tail;
    size_t nposted, max_posted;
};

uint64_t tt_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wake_cb(tt_loop_t *loop, int fd, int events, void *udata);

tt_loop_t *tt_loop_new(void)
{
    tt_loop_t *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || loop->wakefd < 0)
        goto fail;
    pthread_mutex_init(&loop->post_lock, NULL);
    loop->max_posted = (size_t)1 << 20;
    loop->defer_head.next = loop->defer_head.prev = &loop->defer_head;
    loop->now = tt_clock_ms();
    if (tt_loop_watch(loop, loop->wakefd, TT_READABLE, wake_cb, NULL) < 0)
        goto fail;
    return loop;
fail:
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->wakefd >= 0)
        close(loop->wakefd);
    free(loop->watchers);
    free(loop);
    return NULL;
}

void tt_loop_free(tt_loop_t *loop)
{
    if (!loop)
        return;
    post_item_t *p = loop->post_head;
    while (p) {
        post_item_t *n = p->next;
        free(p);
        p = n;
    }
    close(loop->epfd);
    close(loop->wakefd);
    pthread_mutex_destroy(&loop->post_lock);
    free(loop->watchers);
    free(loop->heap);
    free(loop);
}

void tt_loop_stop(tt_loop_t *loop) { loop->stop = 1; }
int tt_loop_stopped(const tt_loop_t *loop) { return loop->stop; }
uint64_t tt_loop_now(const tt_loop_t *loop) { return loop->now; }

/* ---- fd watchers ---- */

int tt_loop_watch(tt_loop_t *loop, int fd, int mask, tt_fd_cb cb, void *udata)
{
    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (fd >= loop->nwatchers) {
        if (mask == 0)
            return 0;
        int n = loop->nwatchers ? loop->nwatchers : 64;
        while (n <= fd)
            n *= 2;
        watcher_t *w = realloc(loop->watchers, (size_t)n * sizeof(*w));
        if (!w)
            return -1;
        memset(w + loop->nwatchers, 0, (size_t)(n - loop->nwatchers) * sizeof(*w));
        loop->watchers = w;
        loop->nwatchers = n;
    }
    watcher_t *w = &loop->watchers[fd];
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (mask & TT_READABLE)
        ev.events |= EPOLLIN;
    if (mask & TT_WRITABLE)
        ev.events |= EPOLLOUT;
    int rc;
    if (mask == 0) {
        rc = w->mask ? epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &ev) : 0;
        w->cb = NULL;
        w->udata = NULL;
    } else {
        rc = epoll_ctl(loop->epfd, w->mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
        if (rc == 0) {
            w->cb = cb;
            w->udata = udata;
        }
    }
    if (rc == 0)
        w->mask = mask;
    return rc;
}

int tt_loop_mask(const tt_loop_t *loop, int fd)
{
    if (fd < 0 || fd >= loop->nwatchers)
        return 0;
    return loop->watchers[fd].mask;
}

/* ---- timers: binary min-heap ordered by (when, seq) ---- */

static int timer_less(const tt_timer_t *a, const tt_timer_t *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(tt_loop_t *loop, size_t i, tt_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(tt_loop_t *loop, size_t i)
{
    tt_timer_t *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(t, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(tt_loop_t *loop, size_t i)
{
    tt_timer_t *t = loop->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const tt_timer_t *best = t;
        if (l < loop->nheap && timer_less(loop->heap[l], best)) {
            m = l;
            best = loop->heap[l];
        }
        if (r < loop->nheap && timer_less(loop->heap[r], best))
            m = r;
        if (m == i)
            break;
        heap_set(loop, i, loop->heap[m]);
        i = m;
    }
    heap_set(loop, i, t);
}

static void heap_remove(tt_loop_t *loop, tt_timer_t *t)
{
    size_t i = t->heap_index;
    t->heap_index = TT_NO_INDEX;
    loop->nheap--;
    if (i == loop->nheap)
        return;
    tt_timer_t *moved = loop->heap[loop->nheap];
    heap_set(loop, i, moved);
    heap_down(loop, i);
    heap_up(loop, moved->heap_index);
}

void tt_timer_init(tt_timer_t *t, tt_timer_cb cb, void *udata)
{
    memset(t, 0, sizeof(*t));
    t->heap_index = TT_NO_INDEX;
    t->cb = cb;
    t->udata = udata;
}

int tt_timer_start(tt_loop_t *loop, tt_timer_t *t, uint64_t ms, uint64_t repeat)
{
    if (t->heap_index != TT_NO_INDEX)
        heap_remove(loop, t);
    if (loop->nheap == loop->capheap) {
        size_t n = loop->capheap ? loop->capheap * 2 : 64;
        tt_timer_t **h = realloc(loop->heap, n * sizeof(*h));
        if (!h)
            return -1;
        loop->heap = h;
        loop->capheap = n;
    }
    t->when = tt_clock_ms() + ms;
    t->repeat = repeat;
    t->seq = loop->timer_seq++;
    heap_set(loop, loop->nheap++, t);
    heap_up(loop, t->heap_index);
    return 0;
}

void tt_timer_stop(tt_loop_t *loop, tt_timer_t *t)
{
    if (t->heap_index != TT_NO_INDEX)
        heap_remove(loop, t);
}

static void run_timers(tt_loop_t *loop)
{
    /* Only timers already due when we start: a callback re-arming for 0 ms waits a turn. */
    uint64_t now = loop->now;
    uint64_t limit = loop->timer_seq;
    while (loop->nheap > 0 && loop->heap[0]->when <= now && loop->heap[0]->seq < limit) {
        tt_timer_t *t = loop->heap[0];
        heap_remove(loop, t);
        if (t->repeat > 0) {
            t->when += t->repeat;
            if (t->when <= now)
                t->when = now + t->repeat;
            t->seq = loop->timer_seq++;
            heap_set(loop, loop->nheap++, t);
            heap_up(loop, t->heap_index);
        }
        t->cb(loop, t, t->udata);
        if (loop->stop)
            return;
    }
}

/* ---- deferred work ---- */

void tt_defer_init(tt_defer_t *d, void (*fn)(tt_defer_t *d))
{
    d->prev = d->next = NULL;
    d->queued = 0;
    d->fn = fn;
}

void tt_loop_defer(tt_loop_t *loop, tt_defer_t *d)
{
    if (d->queued)
        return;
    d->queued = 1;
    d->next = &loop->defer_head;
    d->prev = loop->defer_head.prev;
    d->prev->next = d;
    loop->defer_head.prev = d;
}

void tt_loop_cancel_defer(tt_loop_t *loop, tt_defer_t *d)
{
    (void)loop;
    if (!d->queued)
        return;
    d->prev->next = d->next;
    d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->queued = 0;
}

static void run_deferred(tt_loop_t *loop)
{
    while (loop->defer_head.next != &loop->defer_head) {
        tt_defer_t *d = loop->defer_head.next;
        tt_loop_cancel_defer(loop, d);
        d->fn(d);
    }
}

/* ---- cross-thread posting ---- */

void tt_loop_set_post_limit(tt_loop_t *loop, size_t max_posted)
{
    pthread_mutex_lock(&loop->post_lock);
    loop->max_posted = max_posted;
    pthread_mutex_unlock(&loop->post_lock);
}

void tt_loop_wake(tt_loop_t *loop)
{
    uint64_t one = 1;
    ssize_t n = write(loop->wakefd, &one, sizeof(one));
    (void)n; /* EAGAIN means the counter is already non-zero: the loop will wake anyway */
}

int tt_loop_post(tt_loop_t *loop, tt_post_fn fn, void *arg)
{
    post_item_t *item = malloc(sizeof(*item));
    if (!item)
        return -1;
    item->next = NULL;
    item->fn = fn;
    item->arg = arg;
    pthread_mutex_lock(&loop->post_lock);
    if (loop->nposted >= loop->max_posted) {
        pthread_mutex_unlock(&loop->post_lock);
        free(item);
        return -1;
    }
    int was_empty = loop->post_head == NULL;
    if (loop->post_tail)
        loop->post_tail->next = item;
    else
        loop->post_head = item;
    loop->post_tail = item;
    loop->nposted++;
    pthread_mutex_unlock(&loop->post_lock);
    if (was_empty)
        tt_loop_wake(loop);
    return 0;
}

static void run_posted(tt_loop_t *loop)
{
    pthread_mutex_lock(&loop->post_lock);
    post_item_t *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    loop->nposted = 0;
    pthread_mutex_unlock(&loop->post_lock);
    while (p) {
        post_item_t *n = p->next;
        p->fn(p->arg);
        free(p);
        p = n;
    }
}

static void wake_cb(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)events;
    (void)udata;
    uint64_t v;
    while (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
    }
    run_posted(loop);
}

/* ---- the loop ---- */

int tt_loop_run_once(tt_loop_t *loop, int max_wait_ms)
{
    struct epoll_event events[TT_MAX_EVENTS];

    run_deferred(loop);
    if (loop->stop)
        return 0;

    int timeout = max_wait_ms;
    if (loop->nheap > 0) {
        uint64_t now = tt_clock_ms();
        uint64_t when = loop->heap[0]->when;
        int t = when <= now ? 0 : (when - now > 3600000u ? 3600000 : (int)(when - now));
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    int n = epoll_wait(loop->epfd, events, TT_MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR)
        return -1;
    loop->now = tt_clock_ms();
    for (int i = 0; i < n && !loop->stop; i++) {
        int fd = events[i].data.fd;
        if (fd >= loop->nwatchers)
            continue;
        watcher_t *w = &loop->watchers[fd];
        int ev = 0;
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            ev |= TT_READABLE;
        if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            ev |= TT_WRITABLE;
        ev &= w->mask;
        /* The watcher may have been removed or replaced by an earlier callback. */
        if (ev && w->cb)
            w->cb(loop, fd, ev, w->udata);
    }
    if (!loop->stop)
        run_timers(loop);
    return 0;
}

int tt_loop_run(tt_loop_t *loop)
{
    while (!loop->stop) {
        if (tt_loop_run_once(loop, -1) < 0)
            return -1;
    }
    run_deferred(loop);
    return 0;
}
