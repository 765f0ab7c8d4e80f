/* tt_conn: a byte-stream connection on the reactor. It owns its input and output buffers,
 * caps both, times out idle peers, sends keepalives through its owner, and closes either at
 * once or after its output drained. Socket I/O goes through a small vtable so that tests and
 * fuzzers can drive a connection from memory. A connection is never freed inside one of its
 * own callbacks: closing marks it, and the free happens in the loop's before-sleep pass, right
 * after on_close. */
#ifndef TT_CONN_H
#define TT_CONN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "tt_buf.h"
#include "tt_loop.h"

typedef struct tt_conn_s tt_conn_t;
typedef struct tt_conn_pool_s tt_conn_pool_t;

typedef struct tt_conn_io_s {
    /* > 0 bytes moved, 0 end of stream (recv only), -1 error (errno set), -2 would block */
    ssize_t (*recv)(tt_conn_t *c, void *buf, size_t len);
    ssize_t (*send)(tt_conn_t *c, const void *buf, size_t len);
    void (*close)(tt_conn_t *c);
} tt_conn_io_t;

typedef struct tt_conn_handler_s {
    void (*on_connect)(tt_conn_t *c);   /* outgoing connect completed (optional) */
    void (*on_read)(tt_conn_t *c);      /* new bytes in c->in: consume what can be used */
    void (*on_keepalive)(tt_conn_t *c); /* nothing queued for keepalive_ms (optional) */
    void (*on_close)(tt_conn_t *c);     /* gone; c->reason says why; c is freed on return */
} tt_conn_handler_t;

typedef enum {
    TT_CONN_CONNECTING, /* outgoing connect in progress */
    TT_CONN_OPEN,       /* reading and writing */
    TT_CONN_DRAINING,   /* no more reading; closes once the output is written */
    TT_CONN_CLOSED      /* closed, waiting for the before-sleep pass to free it */
} tt_conn_state_t;

typedef struct tt_conn_limits_s {
    size_t max_in;         /* input bytes buffered but not consumed (0: 1 MiB) */
    size_t max_out;        /* output bytes queued (0: 8 MiB); over it the peer is cut off */
    uint32_t idle_ms;      /* close when nothing was received for this long (0: never) */
    uint32_t keepalive_ms; /* call on_keepalive when nothing was queued for this long */
    uint32_t connect_ms;   /* outgoing connect timeout (0: 10 s) */
    uint32_t linger_ms;    /* how long close-after-flush waits for the peer (0: 10 s) */
    tt_conn_pool_t *pool;  /* shared cap on the buffers of many connections (optional) */
} tt_conn_limits_t;

struct tt_conn_s {
    tt_loop_t *loop;             /* owning loop */
    int fd;                      /* socket, -1 for memory-driven connections */
    tt_conn_state_t state;       /* life-cycle state */
    int paused;                  /* 1 while reading is suspended by the owner */
    int hold_frame;              /* set by a frame handler of tt_pdu_conn_drain (which clears
                                  * it) to keep the frame unconsumed: with the connection
                                  * paused, it is handled again once reading resumes */
    const tt_conn_io_t *io;      /* transport */
    const tt_conn_handler_t *h;  /* owner callbacks */
    void *udata;                 /* data of the handler's owner (e.g. tt_server) */
    void *app;                   /* data of the daemon using the connection */
    uint64_t id;                 /* owner-assigned handle (e.g. for attach_data) */
    tt_buf_t in;                 /* received, not yet consumed */
    tt_buf_t out;                /* queued, not yet written */
    tt_conn_limits_t lim;        /* bounds and timeouts */
    uint64_t last_rx;            /* loop time of the last received bytes */
    uint64_t last_tx;            /* loop time of the last queued bytes */
    uint64_t bytes_in, bytes_out;/* counters */
    tt_timer_t timer;            /* idle / keepalive / connect / linger timer */
    tt_defer_t flush_defer;      /* pending output flush */
    tt_defer_t read_defer;       /* buffered input to process after a resume */
    tt_defer_t free_defer;       /* final on_close + free */
    char peer[56];               /* "ip:port" of the peer ("[v6]:port" fits) */
    char *reason;                /* why it closed ("" until then; owned by the connection) */
    tt_conn_pool_t *pool;        /* buffer pool it is counted in, NULL for none */
    tt_conn_t *pool_prev, *pool_next; /* the pool's members */
    size_t pool_bytes;           /* buffer bytes counted in the pool for this connection */
};

/* A cap on the buffer memory of a set of connections (e.g. all those a daemon accepted),
 * like Redis's maxmemory-clients. The allocations of each member's input and output buffers
 * are counted as they grow and shrink (O(1) per change). When the total passes the limit, one
 * pass before the loop sleeps closes members until the total is under it again: those with the
 * most output queued (peers that do not read) first, then those holding the most input. */
struct tt_conn_pool_s {
    tt_loop_t *loop;             /* loop of the members */
    size_t limit;                /* bytes; 0: no limit */
    size_t used;                 /* bytes of the members' buffer allocations */
    uint32_t members;            /* connections counted */
    uint64_t cut;                /* members closed to get under the limit, ever */
    tt_conn_t *head;             /* members */
    tt_defer_t evict;            /* the pending pass */
    int evict_wait;              /* the pass was put back behind the pending flushes */
};

void tt_conn_pool_init(tt_conn_pool_t *p, tt_loop_t *loop, size_t limit);
/* Forgets the members still counted (they are no longer accounted) and any pending pass. */
void tt_conn_pool_fini(tt_conn_pool_t *p);

extern const tt_conn_io_t tt_conn_socket_io;

/* Wraps an accepted (or otherwise connected) non-blocking fd. NULL on out-of-memory. */
tt_conn_t *tt_conn_new(tt_loop_t *loop, int fd, const tt_conn_io_t *io,
                       const tt_conn_handler_t *h, void *udata, const tt_conn_limits_t *lim);
/* Starts an outgoing connection; on_connect runs when it is up, on_close if it fails. */
tt_conn_t *tt_conn_connect(tt_loop_t *loop, const char *host, uint16_t port,
                           const tt_conn_handler_t *h, void *udata, const tt_conn_limits_t *lim,
                           char *err, size_t errlen);

/* Queues bytes. -1 when the connection is closing or the output cap was hit (it then closes). */
int tt_conn_write(tt_conn_t *c, const void *p, size_t n);
/* Zero-copy variant: reserve room in c->out, write there, then commit. */
uint8_t *tt_conn_reserve(tt_conn_t *c, size_t n);
int tt_conn_commit(tt_conn_t *c, size_t n);

/* Closes now (queued output is dropped). The format gives the reason. */
void tt_conn_close(tt_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stops reading and closes once queued output is written (or linger_ms passed). */
void tt_conn_close_after_flush(tt_conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int tt_conn_is_open(const tt_conn_t *c) { return c->state == TT_CONN_OPEN; }

/* Changes the idle and keepalive timeouts (e.g. once a client has logged in). */
void tt_conn_set_timeouts(tt_conn_t *c, uint32_t idle_ms, uint32_t keepalive_ms);

/* Changes the input and output caps (e.g. small before a login, normal after it); 0 gives the
 * default. Already buffered bytes over a lowered cap close the connection on its next read or
 * write. */
void tt_conn_set_caps(tt_conn_t *c, size_t max_in, size_t max_out);

/* Flow control: stop / restart reading from the peer. */
void tt_conn_pause(tt_conn_t *c);
void tt_conn_resume(tt_conn_t *c);

/* Memory transport helper: behave as if the bytes had been received. */
void tt_conn_feed(tt_conn_t *c, const void *p, size_t n);

/* Listening socket that hands accepted fds to its owner. */
typedef struct tt_listener_s tt_listener_t;
typedef void (*tt_accept_cb)(tt_listener_t *l, int fd, const struct sockaddr_storage *addr,
                             void *udata);
tt_listener_t *tt_listener_new(tt_loop_t *loop, const char *host, uint16_t port, int backlog,
                               tt_accept_cb cb, void *udata, char *err, size_t errlen);
void tt_listener_free(tt_listener_t *l);
uint16_t tt_listener_port(const tt_listener_t *l);

#endif
