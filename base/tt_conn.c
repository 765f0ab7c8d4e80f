#include "tt_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_net.h"

#define READ_CHUNK 16384
#define READ_BUDGET (256 * 1024) /* bytes read per readiness event, for fairness */
#define DEFAULT_MAX_IN (1u << 20)
#define DEFAULT_MAX_OUT (8u << 20)
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_LINGER_MS 10000

/* ---- socket transport ---- */

static ssize_t sock_recv(tt_conn_t *c, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = recv(c->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -2;
    return n;
}

static ssize_t sock_send(tt_conn_t *c, const void *buf, size_t len)
{
    ssize_t n;
    do {
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -2;
    return n;
}

static void sock_close(tt_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

const tt_conn_io_t tt_conn_socket_io = {sock_recv, sock_send, sock_close};

/* ---- helpers ---- */

/* Reads land in a buffer of the thread (one loop per thread) when the connection holds no
 * input: the frames in it are handled in place, and only a partial frame left over is copied
 * into the connection's own buffer. So the common case — whole frames arriving — allocates
 * nothing per read. */
static __thread uint8_t scratch[READ_CHUNK];
static __thread int scratch_busy;


static void watch(tt_conn_t *c);
static void arm_timer(tt_conn_t *c);

/* Brings the pool's count up to date with this connection's buffer allocations; a growth
 * over the limit schedules the eviction pass. */
static void account(tt_conn_t *c)
{
    tt_conn_pool_t *p = c->pool;
    if (!p)
        return;
    size_t now = (c->in.data == scratch ? 0 : c->in.cap) + c->out.cap; /* scratch: not its own */
    if (now == c->pool_bytes)
        return;
    p->used = p->used - c->pool_bytes + now;
    int grew = now > c->pool_bytes;
    c->pool_bytes = now;
    if (grew && p->limit && p->used > p->limit)
        tt_loop_defer(p->loop, &p->evict);
}

static void pool_join(tt_conn_t *c, tt_conn_pool_t *p)
{
    c->pool = p;
    c->pool_prev = NULL;
    c->pool_next = p->head;
    if (p->head)
        p->head->pool_prev = c;
    p->head = c;
    p->members++;
}

static void pool_leave(tt_conn_t *c)
{
    tt_conn_pool_t *p = c->pool;
    if (!p)
        return;
    p->used -= c->pool_bytes;
    c->pool_bytes = 0;
    if (c->pool_prev)
        c->pool_prev->pool_next = c->pool_next;
    else
        p->head = c->pool_next;
    if (c->pool_next)
        c->pool_next->pool_prev = c->pool_prev;
    p->members--;
    c->pool = NULL;
}

/* The reason is kept on the heap: it is written once per connection, at its close, and an
 * idle connection should not carry room for it. */
static char no_reason[] = "", oom_reason[] = "out of memory";

static void free_reason(tt_conn_t *c)
{
    if (c->reason != no_reason && c->reason != oom_reason)
        free(c->reason);
    c->reason = no_reason;
}

static void set_reason(tt_conn_t *c, const char *fmt, va_list ap)
{
    char *r = NULL;
    if (vasprintf(&r, fmt, ap) < 0)
        r = NULL;
    free_reason(c);
    c->reason = r ? r : oom_reason;
}

static void do_close(tt_conn_t *c)
{
    if (c->state == TT_CONN_CLOSED)
        return;
    c->state = TT_CONN_CLOSED;
    if (c->fd >= 0)
        tt_loop_watch(c->loop, c->fd, 0, NULL, NULL);
    tt_timer_stop(c->loop, &c->timer);
    tt_loop_cancel_defer(c->loop, &c->flush_defer);
    tt_loop_cancel_defer(c->loop, &c->read_defer);
    c->io->close(c);
    tt_loop_defer(c->loop, &c->free_defer);
}

void tt_conn_close(tt_conn_t *c, const char *fmt, ...)
{
    if (c->state == TT_CONN_CLOSED)
        return;
    va_list ap;
    va_start(ap, fmt);
    set_reason(c, fmt, ap);
    va_end(ap);
    do_close(c);
}

static void flush(tt_conn_t *c)
{
    while (tt_buf_len(&c->out) > 0) {
        ssize_t n = c->io->send(c, tt_buf_head(&c->out), tt_buf_len(&c->out));
        if (n == -2)
            break;
        if (n < 0) {
            tt_conn_close(c, "write error: %s", strerror(errno));
            return;
        }
        tt_buf_consume(&c->out, (size_t)n);
        c->bytes_out += (uint64_t)n;
    }
    if (tt_buf_len(&c->out) == 0) {
        tt_buf_trim(&c->out, 0);
        account(c);
        if (c->state == TT_CONN_DRAINING) {
            do_close(c);
            return;
        }
    }
    watch(c);
}

static void flush_defer_cb(tt_defer_t *d)
{
    tt_conn_t *c = (tt_conn_t *)((char *)d - offsetof(tt_conn_t, flush_defer));
    if (c->state == TT_CONN_OPEN || c->state == TT_CONN_DRAINING)
        flush(c);
}

static void process_input(tt_conn_t *c)
{
    if (tt_buf_len(&c->in) > 0 && c->state == TT_CONN_OPEN && !c->paused)
        c->h->on_read(c);
    if (c->state == TT_CONN_OPEN && tt_buf_len(&c->in) > c->lim.max_in)
        tt_conn_close(c, "input limit of %zu bytes exceeded", c->lim.max_in);
    if (tt_buf_len(&c->in) == 0)
        tt_buf_trim(&c->in, 0);
    account(c);
}

static void read_defer_cb(tt_defer_t *d)
{
    tt_conn_t *c = (tt_conn_t *)((char *)d - offsetof(tt_conn_t, read_defer));
    process_input(c);
}

static void free_defer_cb(tt_defer_t *d)
{
    tt_conn_t *c = (tt_conn_t *)((char *)d - offsetof(tt_conn_t, free_defer));
    if (c->h->on_close)
        c->h->on_close(c);
    pool_leave(c);
    tt_buf_free(&c->in);
    tt_buf_free(&c->out);
    free_reason(c);
    free(c);
}

/* Runs on_read over the n bytes just read into the scratch buffer, then keeps what is left. */
static void process_scratch(tt_conn_t *c, size_t n)
{
    c->in.data = scratch;
    c->in.cap = READ_CHUNK;
    c->in.start = 0;
    c->in.end = n;
    scratch_busy = 1;
    if (c->state == TT_CONN_OPEN && !c->paused)
        c->h->on_read(c);
    scratch_busy = 0;
    size_t left = tt_buf_len(&c->in);
    const uint8_t *rest = tt_buf_head(&c->in);
    tt_buf_init(&c->in);
    if (left && c->state != TT_CONN_CLOSED && tt_buf_append(&c->in, rest, left) < 0) {
        tt_conn_close(c, "out of memory");
        return;
    }
    if (c->state == TT_CONN_OPEN && tt_buf_len(&c->in) > c->lim.max_in)
        tt_conn_close(c, "input limit of %zu bytes exceeded", c->lim.max_in);
    account(c);
}

static void on_readable(tt_conn_t *c)
{
    size_t budget = READ_BUDGET;
    while (c->state == TT_CONN_OPEN && !c->paused && budget > 0) {
        int use_scratch = c->in.cap == 0 && !scratch_busy;
        size_t room;
        ssize_t n;
        if (use_scratch) {
            room = READ_CHUNK;
            n = c->io->recv(c, scratch, room);
        } else {
            if (tt_buf_reserve(&c->in, READ_CHUNK) < 0) {
                tt_conn_close(c, "out of memory");
                return;
            }
            room = tt_buf_room(&c->in);
            n = c->io->recv(c, tt_buf_tail(&c->in), room);
        }
        if (n == -2)
            break;
        if (n == 0) {
            /* Process what arrived before the end of stream, then close. */
            process_input(c);
            tt_conn_close(c, "closed by peer");
            return;
        }
        if (n < 0) {
            tt_conn_close(c, "read error: %s", strerror(errno));
            return;
        }
        c->bytes_in += (uint64_t)n;
        c->last_rx = tt_loop_now(c->loop);
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        if (use_scratch) {
            process_scratch(c, (size_t)n);
        } else {
            tt_buf_commit(&c->in, (size_t)n);
            process_input(c);
        }
        /* A short read emptied the socket: the next bytes are reported by the (level-
         * triggered) loop; asking again now would only return "would block". */
        if ((size_t)n < room)
            break;
    }
    if (c->state == TT_CONN_OPEN && tt_buf_len(&c->in) == 0)
        tt_buf_trim(&c->in, 0);
    account(c);
}

static void on_connected(tt_conn_t *c)
{
    int e = c->fd >= 0 ? tt_net_connect_result(c->fd) : 0;
    if (e != 0) {
        tt_conn_close(c, "connect failed: %s", strerror(e));
        return;
    }
    c->state = TT_CONN_OPEN;
    c->last_rx = c->last_tx = tt_loop_now(c->loop);
    watch(c);
    arm_timer(c);
    if (c->h->on_connect)
        c->h->on_connect(c);
}

static void fd_cb(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)loop;
    (void)fd;
    tt_conn_t *c = udata;
    if (c->state == TT_CONN_CONNECTING) {
        on_connected(c);
        return;
    }
    if ((events & TT_READABLE) && c->state == TT_CONN_OPEN)
        on_readable(c);
    if ((events & TT_WRITABLE) && (c->state == TT_CONN_OPEN || c->state == TT_CONN_DRAINING))
        flush(c);
}

static void watch(tt_conn_t *c)
{
    if (c->fd < 0 || c->state == TT_CONN_CLOSED)
        return;
    int mask = 0;
    if (c->state == TT_CONN_CONNECTING)
        mask = TT_WRITABLE;
    else {
        if (c->state == TT_CONN_OPEN && !c->paused)
            mask |= TT_READABLE;
        if (tt_buf_len(&c->out) > 0)
            mask |= TT_WRITABLE;
    }
    if (mask != tt_loop_mask(c->loop, c->fd) &&
        tt_loop_watch(c->loop, c->fd, mask, fd_cb, c) < 0)
        tt_conn_close(c, "epoll: %s", strerror(errno));
}

/* One timer per connection serves every deadline; it is re-armed for the nearest one. */
static void timer_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    tt_conn_t *c = udata;
    uint64_t now = tt_loop_now(loop);
    switch (c->state) {
    case TT_CONN_CONNECTING:
        tt_conn_close(c, "connect timed out after %u ms", (unsigned)c->lim.connect_ms);
        return;
    case TT_CONN_DRAINING:
        tt_conn_close(c, "peer did not read its last %zu bytes within %u ms",
                      tt_buf_len(&c->out), (unsigned)c->lim.linger_ms);
        return;
    case TT_CONN_CLOSED:
        return;
    case TT_CONN_OPEN:
        break;
    }
    if (c->lim.idle_ms && now - c->last_rx >= c->lim.idle_ms) {
        tt_conn_close(c, "idle timeout: nothing received for %u ms", (unsigned)c->lim.idle_ms);
        return;
    }
    if (c->lim.keepalive_ms && now - c->last_tx >= c->lim.keepalive_ms && c->h->on_keepalive) {
        c->h->on_keepalive(c);
        c->last_tx = now; /* even if the owner chose not to send: do not ask again at once */
    }
    arm_timer(c);
}

static void arm_timer(tt_conn_t *c)
{
    if (c->state == TT_CONN_CLOSED)
        return;
    uint64_t now = tt_loop_now(c->loop), wait = UINT64_MAX;
    if (c->state == TT_CONN_CONNECTING)
        wait = c->lim.connect_ms;
    else if (c->state == TT_CONN_DRAINING)
        wait = c->lim.linger_ms;
    else {
        if (c->lim.idle_ms) {
            uint64_t due = c->last_rx + c->lim.idle_ms;
            wait = due > now ? due - now : 0;
        }
        if (c->lim.keepalive_ms && c->h->on_keepalive) {
            uint64_t due = c->last_tx + c->lim.keepalive_ms;
            uint64_t w = due > now ? due - now : 0;
            if (w < wait)
                wait = w;
        }
    }
    if (wait == UINT64_MAX)
        tt_timer_stop(c->loop, &c->timer);
    else
        tt_timer_start(c->loop, &c->timer, wait, 0);
}

static tt_conn_t *conn_alloc(tt_loop_t *loop, int fd, const tt_conn_io_t *io,
                             const tt_conn_handler_t *h, void *udata,
                             const tt_conn_limits_t *lim)
{
    tt_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = loop;
    c->fd = fd;
    c->io = io ? io : &tt_conn_socket_io;
    c->h = h;
    c->udata = udata;
    if (lim)
        c->lim = *lim;
    if (!c->lim.max_in)
        c->lim.max_in = DEFAULT_MAX_IN;
    if (!c->lim.max_out)
        c->lim.max_out = DEFAULT_MAX_OUT;
    if (!c->lim.connect_ms)
        c->lim.connect_ms = DEFAULT_CONNECT_MS;
    if (!c->lim.linger_ms)
        c->lim.linger_ms = DEFAULT_LINGER_MS;
    tt_buf_init(&c->in);
    tt_buf_init(&c->out);
    c->reason = no_reason;
    tt_timer_init(&c->timer, timer_cb, c);
    tt_defer_init(&c->flush_defer, flush_defer_cb);
    tt_defer_init(&c->read_defer, read_defer_cb);
    tt_defer_init(&c->free_defer, free_defer_cb);
    c->last_rx = c->last_tx = tt_loop_now(loop);
    c->lim.pool = NULL;
    if (lim && lim->pool)
        pool_join(c, lim->pool);
    snprintf(c->peer, sizeof(c->peer), "-");
    if (fd >= 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
            tt_net_format_addr(&ss, c->peer, sizeof(c->peer));
    }
    return c;
}

tt_conn_t *tt_conn_new(tt_loop_t *loop, int fd, const tt_conn_io_t *io,
                       const tt_conn_handler_t *h, void *udata, const tt_conn_limits_t *lim)
{
    tt_conn_t *c = conn_alloc(loop, fd, io, h, udata, lim);
    if (!c)
        return NULL;
    c->state = TT_CONN_OPEN;
    if (fd >= 0 && tt_loop_watch(loop, fd, TT_READABLE, fd_cb, c) < 0) {
        pool_leave(c);
        free(c);
        return NULL;
    }
    arm_timer(c);
    return c;
}

tt_conn_t *tt_conn_connect(tt_loop_t *loop, const char *host, uint16_t port,
                           const tt_conn_handler_t *h, void *udata, const tt_conn_limits_t *lim,
                           char *err, size_t errlen)
{
    int in_progress = 0;
    int fd = tt_net_connect(host, port, &in_progress, err, errlen);
    if (fd < 0)
        return NULL;
    tt_conn_t *c = conn_alloc(loop, fd, NULL, h, udata, lim);
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%u", host, (unsigned)port);
    c->state = TT_CONN_CONNECTING;
    /* Completion (even an immediate one) is reported from the loop, never from here. */
    if (tt_loop_watch(loop, fd, TT_WRITABLE, fd_cb, c) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(fd);
        pool_leave(c);
        free(c);
        return NULL;
    }
    arm_timer(c);
    return c;
}

uint8_t *tt_conn_reserve(tt_conn_t *c, size_t n)
{
    if (c->state != TT_CONN_OPEN && c->state != TT_CONN_CONNECTING)
        return NULL;
    if (tt_buf_len(&c->out) + n > c->lim.max_out) {
        tt_conn_close(c, "output limit of %zu bytes exceeded (peer not reading)", c->lim.max_out);
        return NULL;
    }
    if (tt_buf_reserve(&c->out, n) < 0) {
        tt_conn_close(c, "out of memory");
        return NULL;
    }
    return tt_buf_tail(&c->out);
}

int tt_conn_commit(tt_conn_t *c, size_t n)
{
    if (c->state != TT_CONN_OPEN && c->state != TT_CONN_CONNECTING)
        return -1;
    tt_buf_commit(&c->out, n);
    c->last_tx = tt_loop_now(c->loop);
    if (c->state == TT_CONN_OPEN)
        tt_loop_defer(c->loop, &c->flush_defer);
    account(c); /* after the flush was queued: the pass sees what could not be written */
    return 0;
}

int tt_conn_write(tt_conn_t *c, const void *p, size_t n)
{
    uint8_t *dst = tt_conn_reserve(c, n);
    if (!dst)
        return -1;
    if (n)
        memcpy(dst, p, n);
    return tt_conn_commit(c, n);
}

void tt_conn_close_after_flush(tt_conn_t *c, const char *fmt, ...)
{
    if (c->state != TT_CONN_OPEN)
        return;
    va_list ap;
    va_start(ap, fmt);
    set_reason(c, fmt, ap);
    va_end(ap);
    c->state = TT_CONN_DRAINING;
    tt_loop_cancel_defer(c->loop, &c->read_defer);
    watch(c);
    arm_timer(c);
    tt_loop_defer(c->loop, &c->flush_defer);
}

void tt_conn_set_timeouts(tt_conn_t *c, uint32_t idle_ms, uint32_t keepalive_ms)
{
    c->lim.idle_ms = idle_ms;
    c->lim.keepalive_ms = keepalive_ms;
    if (c->state == TT_CONN_OPEN)
        arm_timer(c);
}

void tt_conn_set_caps(tt_conn_t *c, size_t max_in, size_t max_out)
{
    c->lim.max_in = max_in ? max_in : DEFAULT_MAX_IN;
    c->lim.max_out = max_out ? max_out : DEFAULT_MAX_OUT;
}

void tt_conn_pause(tt_conn_t *c)
{
    if (c->paused || c->state != TT_CONN_OPEN)
        return;
    c->paused = 1;
    watch(c);
}

void tt_conn_resume(tt_conn_t *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    if (c->state != TT_CONN_OPEN)
        return;
    watch(c);
    if (tt_buf_len(&c->in) > 0)
        tt_loop_defer(c->loop, &c->read_defer);
}

void tt_conn_feed(tt_conn_t *c, const void *p, size_t n)
{
    if (c->state != TT_CONN_OPEN)
        return;
    if (tt_buf_append(&c->in, p, n) < 0) {
        tt_conn_close(c, "out of memory");
        return;
    }
    c->bytes_in += n;
    c->last_rx = tt_loop_now(c->loop);
    process_input(c);
}

/* ---- buffer pool ---- */

typedef struct victim_s {
    size_t out;    /* output queued: a peer that does not read */
    size_t bytes;  /* buffer bytes it holds */
    tt_conn_t *c;
} victim_t;

static int victim_cmp(const void *a, const void *b)
{
    const victim_t *x = a, *y = b;
    if (x->out != y->out)
        return x->out < y->out ? 1 : -1;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return 0;
}

static void pool_cut(tt_conn_pool_t *p, tt_conn_t *c)
{
    p->cut++;
    tt_conn_close(c, "buffers of all connections over %zu bytes: cut with %zu bytes queued "
                     "and %zu received", p->limit, tt_buf_len(&c->out), tt_buf_len(&c->in));
}

/* Runs only when the total is over the limit: one scan of the members, then the biggest are
 * closed (their buffers are freed in this same before-sleep pass). */
static void pool_evict_cb(tt_defer_t *d)
{
    tt_conn_pool_t *p = (tt_conn_pool_t *)((char *)d - offsetof(tt_conn_pool_t, evict));
    if (!p->limit || p->used <= p->limit) {
        p->evict_wait = 0;
        return;
    }
    if (!p->evict_wait) {
        /* Once more at the end of this before-sleep pass: the output flushes queued before
         * now run first, so that only what the peers do not take is counted against them. */
        p->evict_wait = 1;
        tt_loop_defer(p->loop, &p->evict);
        return;
    }
    p->evict_wait = 0;
    size_t used = p->used, n = 0;
    victim_t *v = p->members ? malloc(p->members * sizeof(*v)) : NULL;
    for (tt_conn_t *c = p->head; c; c = c->pool_next) {
        if (c->state == TT_CONN_CLOSED) {
            used -= c->pool_bytes; /* already going */
            continue;
        }
        if (v && c->pool_bytes > 0 && n < p->members)
            v[n++] = (victim_t){tt_buf_len(&c->out), c->pool_bytes, c};
    }
    if (v) {
        qsort(v, n, sizeof(*v), victim_cmp);
        for (size_t i = 0; i < n && used > p->limit; i++) {
            pool_cut(p, v[i].c);
            used -= v[i].bytes;
        }
        free(v);
        return;
    }
    /* No memory for the list: cut the biggest one at a time. */
    while (used > p->limit) {
        victim_t best = {0, 0, NULL};
        for (tt_conn_t *c = p->head; c; c = c->pool_next) {
            victim_t cand = {tt_buf_len(&c->out), c->pool_bytes, c};
            if (c->state != TT_CONN_CLOSED && c->pool_bytes > 0 &&
                (!best.c || victim_cmp(&cand, &best) < 0))
                best = cand;
        }
        if (!best.c)
            break;
        pool_cut(p, best.c);
        used -= best.bytes;
    }
}

void tt_conn_pool_init(tt_conn_pool_t *p, tt_loop_t *loop, size_t limit)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->limit = limit;
    tt_defer_init(&p->evict, pool_evict_cb);
}

void tt_conn_pool_fini(tt_conn_pool_t *p)
{
    if (p->loop)
        tt_loop_cancel_defer(p->loop, &p->evict);
    while (p->head)
        pool_leave(p->head);
}

/* ---- listener ---- */

struct tt_listener_s {
    tt_loop_t *loop;     /* owning loop */
    int fd;              /* listening socket */
    tt_accept_cb cb;     /* owner callback per accepted fd */
    void *udata;         /* owner data */
    tt_timer_t backoff;  /* re-enables accepting after running out of descriptors */
};

static void listener_fd_cb(tt_loop_t *loop, int fd, int events, void *udata);

static void listener_backoff_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    tt_listener_t *l = udata;
    tt_loop_watch(loop, l->fd, TT_READABLE, listener_fd_cb, l);
}

static void listener_fd_cb(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)events;
    tt_listener_t *l = udata;
    for (int i = 0; i < 128; i++) {
        struct sockaddr_storage ss;
        int cfd = tt_net_accept(fd, &ss);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop accepting for a moment instead of spinning. */
                tt_loop_watch(loop, fd, 0, NULL, NULL);
                tt_timer_start(loop, &l->backoff, 100, 0);
            }
            return;
        }
        l->cb(l, cfd, &ss, l->udata);
    }
}

tt_listener_t *tt_listener_new(tt_loop_t *loop, const char *host, uint16_t port, int backlog,
                               tt_accept_cb cb, void *udata, char *err, size_t errlen)
{
    int fd = tt_net_listen(host, port, backlog, err, errlen);
    if (fd < 0)
        return NULL;
    tt_listener_t *l = calloc(1, sizeof(*l));
    if (!l) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->loop = loop;
    l->fd = fd;
    l->cb = cb;
    l->udata = udata;
    tt_timer_init(&l->backoff, listener_backoff_cb, l);
    if (tt_loop_watch(loop, fd, TT_READABLE, listener_fd_cb, l) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(fd);
        free(l);
        return NULL;
    }
    return l;
}

void tt_listener_free(tt_listener_t *l)
{
    if (!l)
        return;
    tt_timer_stop(l->loop, &l->backoff);
    tt_loop_watch(l->loop, l->fd, 0, NULL, NULL);
    close(l->fd);
    free(l);
}

uint16_t tt_listener_port(const tt_listener_t *l) { return tt_net_local_port(l->fd); }
