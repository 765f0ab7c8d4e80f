/* tt-floor: what this machine allows at all — the kernel floor under tt-bench's shapes.
 *
 * Two (or three) processes on loopback TCP doing only the system calls a message needs, with
 * no protocol, no parsing, no database: a "server" in the place of msg_server and a "client"
 * process in the place of tt-bench (and, for chat --store-hop, a "store" in the place of
 * db_proxy_server that answers every message at once). Whatever the real suite does costs at
 * least this; a target this program misses on a machine cannot be met there by the suite with
 * its load generator on the same cores. Frames have fixed sizes and carry the CLOCK_MONOTONIC
 * time they were made (all processes are on one machine), so latencies are exact.
 *
 *   tt-floor fanout [--members N] [--rate R] [--duration S] [--no-receipts]
 *       the server sends one 120-byte frame to each of N connections R times a second (a group
 *       message to N online members); each member answers with a 20-byte receipt, which the
 *       server reads. Reported: CPU per delivery of both sides and, per message, the time from
 *       its fan-out start to its last delivery read by the client (send->last).
 *   tt-floor chat [--pairs P] [--rate R] [--duration S] [--window W] [--store-hop]
 *       P senders each send a 64-byte frame R times a second (at most W unacked, as tt-bench
 *       real's window); the server answers each with a 20-byte ack to the sender and an 80-byte
 *       delivery to the sender's peer, which answers with a 20-byte receipt the server reads.
 *       With --store-hop the server first forwards every message over one link to the store
 *       (records of a loop pass in one send, as msg_server batches to db_proxy_server) and acks
 *       and delivers when the store's answer comes. Reported: CPU per message of every process
 *       and send->ack percentiles.
 *
 * Every send is non-blocking; a frame that does not fit is counted as dropped and the run is
 * then not a valid floor (it says so). Exit status 0, 1 for a run with drops or losses, 2 for
 * bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tb_hist.h"

#define FAN_FRAME 120
#define MSG_FRAME 64
#define ACK_FRAME 20
#define DEL_FRAME 80
#define RCPT_FRAME 20
#define HOP_REC 16 /* store link record: sender index (4), pad (4), time (8) */
#define MAX_CONNS 18000
#define EVENTS 512

typedef struct opts_s {
    int fanout;       /* mode */
    int n;            /* members, or pairs */
    double rate;      /* per second: fan-outs, or messages per sender */
    double duration;  /* seconds of sending */
    int receipts;     /* fanout: members answer */
    int window;       /* chat: unacked per sender */
    int store_hop;    /* chat: via the store */
} opts_t;

/* A connection's partial frame: frames have one size per direction. */
typedef struct part_s {
    uint8_t buf[128];
    uint32_t have;
} part_t;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
           (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
}

/* No Nagle delay, and room for a backlog of small frames (a real server queues them in its
 * own buffers instead). */
static int nodelay(int fd)
{
    int one = 1, room = 1 << 20;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0
               ? -1
               : setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &room, sizeof(room));
}

static int listener(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    socklen_t len = sizeof(*a);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 || listen(fd, 8192) < 0 ||
        getsockname(fd, (struct sockaddr *)a, &len) < 0) {
        perror("tt-floor: listen");
        exit(2);
    }
    return fd;
}

/* Connects and says which index this connection is (4 bytes), so the accepting side can file
 * it whatever the order accept() returns them in. */
static int dial(const struct sockaddr_in *a, uint32_t idx)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0 || nodelay(fd) < 0 ||
        send(fd, &idx, sizeof(idx), 0) != (ssize_t)sizeof(idx)) {
        perror("tt-floor: connect");
        exit(2);
    }
    return fd;
}

static void accept_all(int lfd, int *fds, int n)
{
    for (int k = 0; k < n; k++) {
        int fd = accept(lfd, NULL, NULL);
        uint32_t idx;
        if (fd < 0 || recv(fd, &idx, sizeof(idx), MSG_WAITALL) != (ssize_t)sizeof(idx) ||
            idx >= (uint32_t)n || nodelay(fd) < 0) {
            fprintf(stderr, "tt-floor: bad accept\n");
            exit(2);
        }
        fds[idx] = fd;
    }
}

static void watch(int ep, int fd, uint32_t tag)
{
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = tag};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
        perror("tt-floor: epoll_ctl");
        exit(2);
    }
}

static long g_dropped; /* frames that did not fit into a socket at once */

static void put(int fd, const void *frame, size_t len)
{
    if (send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
        g_dropped++;
}

/* Reads what fd has and calls fn for every whole frame of size len; -1 at end of stream. */
typedef void (*frame_fn)(void *ctx, uint32_t tag, const uint8_t *frame);

static int take(int fd, part_t *p, size_t len, uint32_t tag, frame_fn fn, void *ctx)
{
    uint8_t buf[16384];
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0)
        return r == 0 || errno != EAGAIN ? -1 : 0;
    size_t off = 0;
    while (off < (size_t)r) {
        size_t want = len - p->have, got = (size_t)r - off < want ? (size_t)r - off : want;
        memcpy(p->buf + p->have, buf + off, got);
        p->have += (uint32_t)got;
        off += got;
        if (p->have == len) {
            fn(ctx, tag, p->buf);
            p->have = 0;
        }
    }
    return 0;
}

static double frame_time(const uint8_t *f)
{
    double t;
    memcpy(&t, f, sizeof(t));
    return t;
}

static void stamp(uint8_t *f, double t)
{
    memcpy(f, &t, sizeof(t));
}

static void report_cpu(const char *who, double cpu, double wall, long units, const char *unit)
{
    printf("  %-7s CPU %.2f s = %.1f %% of a core, %.2f us per %s\n", who, cpu,
           100.0 * cpu / wall, units ? cpu * 1e6 / (double)units : 0.0, unit);
}

/* ------------------------------------------------------------------ fanout */

typedef struct fan_client_s {
    int *fds;
    part_t *parts;
    int receipts;
    long reads;
    uint32_t ticks;       /* fan-outs expected */
    double *last;         /* per fan-out: latest delivery latency seen */
    uint32_t *reached;    /* per fan-out: members that read it */
} fan_client_t;

static void fan_frame(void *ctx, uint32_t tag, const uint8_t *f)
{
    fan_client_t *c = ctx;
    uint32_t tick;
    memcpy(&tick, f + 8, sizeof(tick));
    c->reads++;
    if (tick < c->ticks) {
        double lat = now_s() - frame_time(f);
        if (lat > c->last[tick])
            c->last[tick] = lat;
        c->reached[tick]++;
    }
    if (c->receipts) {
        uint8_t r[RCPT_FRAME] = {0};
        put(c->fds[tag], r, sizeof(r));
    }
}

static int fan_client(const opts_t *o, const struct sockaddr_in *a, uint32_t ticks)
{
    fan_client_t c = {.receipts = o->receipts, .ticks = ticks};
    c.fds = calloc((size_t)o->n, sizeof(int));
    c.parts = calloc((size_t)o->n, sizeof(part_t));
    c.last = calloc(ticks, sizeof(double));
    c.reached = calloc(ticks, sizeof(uint32_t));
    int ep = epoll_create1(0);
    if (!c.fds || !c.parts || !c.last || !c.reached || ep < 0)
        return 2;
    for (int i = 0; i < o->n; i++) {
        c.fds[i] = dial(a, (uint32_t)i);
        watch(ep, c.fds[i], (uint32_t)i);
    }
    struct epoll_event ev[EVENTS];
    double c0 = -1, t0 = 0, t1 = 0;
    for (;;) {
        int k = epoll_wait(ep, ev, EVENTS, 3000);
        if (k <= 0)
            break;
        if (c0 < 0) {
            c0 = cpu_s();
            t0 = now_s();
        }
        int closed = 0;
        for (int j = 0; j < k; j++) {
            uint32_t i = ev[j].data.u32;
            if (take(c.fds[i], &c.parts[i], FAN_FRAME, i, fan_frame, &c) < 0)
                closed = 1;
        }
        t1 = now_s();
        if (closed)
            break;
    }
    double cpu = cpu_s() - c0;
    tb_hist_t h;
    tb_hist_init(&h);
    uint32_t short_ticks = 0;
    for (uint32_t t = 0; t < ticks; t++) {
        if (c.reached[t] == (uint32_t)o->n)
            tb_hist_record(&h, (uint64_t)(c.last[t] * 1e6));
        else
            short_ticks++;
    }
    report_cpu("client", cpu, t1 - t0, c.reads, "delivery read");
    printf("  send->last delivery over %llu messages: p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
           "messages that did not reach every member: %u\n",
           (unsigned long long)h.total, (double)tb_hist_quantile(&h, 0.5) / 1e3,
           (double)tb_hist_quantile(&h, 0.99) / 1e3, (double)h.max / 1e3, short_ticks);
    printf("  client dropped %ld frames\n", g_dropped);
    fflush(stdout);
    for (int i = 0; i < o->n; i++)
        close(c.fds[i]);
    close(ep);
    free(c.fds);
    free(c.parts);
    free(c.last);
    free(c.reached);
    return short_ticks || g_dropped ? 1 : 0;
}

static void count_frame(void *ctx, uint32_t tag, const uint8_t *f)
{
    (void)tag;
    (void)f;
    (*(long *)ctx)++;
}

static int fanout(const opts_t *o)
{
    struct sockaddr_in a;
    int lfd = listener(&a);
    uint32_t ticks = (uint32_t)(o->rate * o->duration);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(lfd);
        exit(fan_client(o, &a, ticks));
    }
    int *fds = calloc((size_t)o->n, sizeof(int));
    part_t *parts = calloc((size_t)o->n, sizeof(part_t));
    int ep = epoll_create1(0);
    if (!fds || !parts || ep < 0)
        return 2;
    accept_all(lfd, fds, o->n);
    for (int i = 0; i < o->n; i++)
        watch(ep, fds[i], (uint32_t)i);
    usleep(300000);
    uint8_t frame[FAN_FRAME] = {0};
    struct epoll_event ev[EVENTS];
    long sends = 0, receipts = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (uint32_t tick = 0; tick < ticks;) {
        double due = t0 + tick / o->rate;
        if (now_s() >= due) {
            stamp(frame, now_s());
            memcpy(frame + 8, &tick, sizeof(tick));
            for (int i = 0; i < o->n; i++)
                put(fds[i], frame, sizeof(frame));
            sends += o->n;
            tick++;
            continue;
        }
        int wait_ms = (int)((due - now_s()) * 1e3) + 1;
        int k = epoll_wait(ep, ev, EVENTS, wait_ms);
        for (int j = 0; j < k; j++) {
            uint32_t i = ev[j].data.u32;
            take(fds[i], &parts[i], RCPT_FRAME, i, count_frame, &receipts);
        }
    }
    /* the receipts of the last fan-outs */
    double end = now_s() + 0.5;
    while (now_s() < end) {
        int k = epoll_wait(ep, ev, EVENTS, 50);
        for (int j = 0; j < k; j++) {
            uint32_t i = ev[j].data.u32;
            take(fds[i], &parts[i], RCPT_FRAME, i, count_frame, &receipts);
        }
    }
    double cpu = cpu_s() - c0, wall = now_s() - t0;
    for (int i = 0; i < o->n; i++)
        close(fds[i]);
    close(ep);
    close(lfd);
    free(fds);
    free(parts);
    int st = 0;
    waitpid(pid, &st, 0);
    printf("  server: %ld deliveries sent (%.0f/s), %ld receipts read, %ld dropped\n", sends,
           (double)sends / o->duration, receipts, g_dropped);
    report_cpu("server", cpu, wall, sends, "delivery");
    int bad = g_dropped || (o->receipts && receipts != sends) || !WIFEXITED(st) ||
              WEXITSTATUS(st);
    if (bad)
        printf("  NOT a valid floor: frames dropped or lost\n");
    return bad ? 1 : 0;
}

/* ------------------------------------------------------------------ chat */

typedef struct chat_client_s {
    const opts_t *o;
    int *fds;           /* 2i: sender i, 2i+1: its peer */
    part_t *parts;
    int *inflight;      /* per sender */
    long sent, acks, deliveries, held;
    tb_hist_t ack_lat, del_lat;
} chat_client_t;

static void chat_client_frame(void *ctx, uint32_t tag, const uint8_t *f)
{
    chat_client_t *c = ctx;
    double lat = now_s() - frame_time(f);
    if (tag & 1) { /* a delivery: the receipt */
        uint8_t r[RCPT_FRAME] = {0};
        c->deliveries++;
        tb_hist_record(&c->del_lat, (uint64_t)(lat * 1e6));
        put(c->fds[tag], r, sizeof(r));
    } else {
        c->acks++;
        c->inflight[tag / 2]--;
        tb_hist_record(&c->ack_lat, (uint64_t)(lat * 1e6));
    }
}

static int chat_client(const opts_t *o, const struct sockaddr_in *a)
{
    int n = 2 * o->n;
    chat_client_t c = {.o = o};
    c.fds = calloc((size_t)n, sizeof(int));
    c.parts = calloc((size_t)n, sizeof(part_t));
    c.inflight = calloc((size_t)o->n, sizeof(int));
    tb_hist_init(&c.ack_lat);
    tb_hist_init(&c.del_lat);
    int ep = epoll_create1(0);
    if (!c.fds || !c.parts || !c.inflight || ep < 0)
        return 2;
    for (int i = 0; i < n; i++) {
        c.fds[i] = dial(a, (uint32_t)i);
        watch(ep, c.fds[i], (uint32_t)i);
    }
    usleep(500000);
    /* message m (counting over all senders) is due at t0 + m / (P x R), for sender m mod P:
     * every sender at its rate, the senders evenly staggered */
    double per_s = o->n * o->rate, t0 = now_s(), c0 = cpu_s(), tend = t0 + o->duration;
    uint64_t m = 0;
    uint8_t frame[MSG_FRAME] = {0};
    struct epoll_event ev[EVENTS];
    for (;;) {
        double t = now_s();
        if (t >= tend + 2.0 || (t >= tend && c.acks >= c.sent && c.deliveries >= c.acks))
            break;
        while (t < tend && t0 + (double)m / per_s <= t) {
            uint32_t s = (uint32_t)(m % (uint64_t)o->n);
            m++;
            if (c.inflight[s] >= o->window) {
                c.held++; /* the window is full: this slot is lost, as tt-bench's sender waits */
                continue;
            }
            stamp(frame, t);
            put(c.fds[2 * s], frame, sizeof(frame));
            c.inflight[s]++;
            c.sent++;
        }
        int wait_ms = t < tend ? (int)((t0 + (double)m / per_s - now_s()) * 1e3) + 1 : 10;
        if (wait_ms < 1)
            wait_ms = 1;
        int k = epoll_wait(ep, ev, EVENTS, wait_ms);
        for (int j = 0; j < k; j++) {
            uint32_t i = ev[j].data.u32;
            take(c.fds[i], &c.parts[i], i & 1 ? DEL_FRAME : ACK_FRAME, i, chat_client_frame, &c);
        }
    }
    double cpu = cpu_s() - c0, wall = now_s() - t0;
    printf("  client: %ld sent (%.0f/s), %ld slots skipped with the window full, %ld acked, "
           "%ld delivered, %ld dropped\n",
           c.sent, (double)c.sent / o->duration, c.held, c.acks, c.deliveries, g_dropped);
    report_cpu("client", cpu, wall, c.acks, "message");
    printf("  send->ack p50 %.2f ms, p99 %.2f ms, max %.2f ms; send->delivery p99 %.2f ms\n",
           (double)tb_hist_quantile(&c.ack_lat, 0.5) / 1e3,
           (double)tb_hist_quantile(&c.ack_lat, 0.99) / 1e3, (double)c.ack_lat.max / 1e3,
           (double)tb_hist_quantile(&c.del_lat, 0.99) / 1e3);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        close(c.fds[i]);
    close(ep);
    free(c.fds);
    free(c.parts);
    free(c.inflight);
    return g_dropped || c.acks != c.sent || c.deliveries != c.acks ? 1 : 0;
}

/* The store: answers every record it reads, all of one read in one send. */
static int store(const struct sockaddr_in *a)
{
    int fd = dial(a, 0);
    uint8_t buf[65536];
    size_t have = 0;
    long recs = 0;
    double c0 = cpu_s(), t0 = 0, t1 = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (r <= 0)
            break;
        if (!t0)
            t0 = now_s();
        have += (size_t)r;
        size_t whole = have - have % HOP_REC;
        if (whole) {
            if (send(fd, buf, whole, MSG_NOSIGNAL) != (ssize_t)whole)
                break;
            recs += (long)(whole / HOP_REC);
        }
        memmove(buf, buf + whole, have - whole);
        have -= whole;
        t1 = now_s();
    }
    report_cpu("store", cpu_s() - c0, t1 - t0, recs, "message");
    fflush(stdout);
    return 0;
}

typedef struct chat_server_s {
    int *fds;
    int link;              /* to the store, -1: none */
    uint8_t *out;          /* records of this loop pass */
    size_t out_len, out_cap;
    long msgs, receipts;
} chat_server_t;

static void answer(chat_server_t *s, uint32_t sender, double t)
{
    uint8_t ack[ACK_FRAME] = {0}, del[DEL_FRAME] = {0};
    stamp(ack, t);
    stamp(del, t);
    put(s->fds[2 * sender], ack, sizeof(ack));
    put(s->fds[2 * sender + 1], del, sizeof(del));
}

static void chat_server_frame(void *ctx, uint32_t tag, const uint8_t *f)
{
    chat_server_t *s = ctx;
    if (tag & 1) {
        s->receipts++;
        return;
    }
    s->msgs++;
    if (s->link < 0) {
        answer(s, tag / 2, frame_time(f));
        return;
    }
    if (s->out_len + HOP_REC > s->out_cap)
        return; /* cannot happen: out_cap is every connection's worth */
    uint8_t *r = s->out + s->out_len;
    uint32_t sender = tag / 2, pad = 0;
    memcpy(r, &sender, 4);
    memcpy(r + 4, &pad, 4);
    memcpy(r + 8, f, 8);
    s->out_len += HOP_REC;
}

static void store_answer(void *ctx, uint32_t tag, const uint8_t *r)
{
    uint32_t sender;
    (void)tag;
    memcpy(&sender, r, 4);
    answer(ctx, sender, frame_time(r + 8));
}

static int chat(const opts_t *o)
{
    struct sockaddr_in a, sa;
    int lfd = listener(&a), slfd = o->store_hop ? listener(&sa) : -1;
    int n = 2 * o->n;
    fflush(stdout);
    pid_t spid = -1;
    if (o->store_hop) {
        spid = fork();
        if (spid == 0) {
            close(lfd);
            close(slfd);
            exit(store(&sa));
        }
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(lfd);
        exit(chat_client(o, &a));
    }
    chat_server_t s = {.link = -1};
    s.fds = calloc((size_t)n, sizeof(int));
    part_t *parts = calloc((size_t)n + 1, sizeof(part_t));
    s.out_cap = (size_t)EVENTS * 256 * HOP_REC;
    s.out = malloc(s.out_cap);
    int ep = epoll_create1(0);
    if (!s.fds || !parts || !s.out || ep < 0)
        return 2;
    if (o->store_hop) {
        accept_all(slfd, &s.link, 1);
        watch(ep, s.link, (uint32_t)n);
    }
    accept_all(lfd, s.fds, n);
    for (int i = 0; i < n; i++)
        watch(ep, s.fds[i], (uint32_t)i);
    struct epoll_event ev[EVENTS];
    double c0 = -1, t0 = 0, t1 = 0;
    for (;;) {
        int k = epoll_wait(ep, ev, EVENTS, 3000);
        if (k <= 0)
            break;
        if (c0 < 0) {
            c0 = cpu_s();
            t0 = now_s();
        }
        int closed = 0;
        for (int j = 0; j < k; j++) {
            uint32_t i = ev[j].data.u32;
            int rc = i == (uint32_t)n
                         ? take(s.link, &parts[n], HOP_REC, i, store_answer, &s)
                         : take(s.fds[i], &parts[i], i & 1 ? RCPT_FRAME : MSG_FRAME, i,
                                chat_server_frame, &s);
            if (rc < 0)
                closed = 1;
        }
        if (s.out_len) { /* one send to the store per loop pass */
            if (send(s.link, s.out, s.out_len, MSG_NOSIGNAL) != (ssize_t)s.out_len)
                g_dropped++;
            s.out_len = 0;
        }
        t1 = now_s();
        if (closed)
            break;
    }
    double cpu = cpu_s() - c0;
    int st = 0, sst = 0;
    waitpid(pid, &st, 0);
    for (int i = 0; i < n; i++)
        close(s.fds[i]);
    close(ep);
    close(lfd);
    if (slfd >= 0)
        close(slfd);
    free(s.fds);
    free(parts);
    free(s.out);
    if (s.link >= 0)
        close(s.link);
    if (spid > 0)
        waitpid(spid, &sst, 0);
    printf("  server: %ld messages, %ld receipts read, %ld dropped\n", s.msgs, s.receipts,
           g_dropped);
    report_cpu("server", cpu, t1 - t0, s.msgs, "message");
    int bad = g_dropped || !WIFEXITED(st) || WEXITSTATUS(st);
    if (bad)
        printf("  NOT a valid floor: frames dropped or lost\n");
    return bad ? 1 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: tt-floor fanout [--members N] [--rate R] [--duration S] [--no-receipts]\n"
            "       tt-floor chat [--pairs P] [--rate R] [--duration S] [--window W] "
            "[--store-hop]\n");
    exit(2);
}

static double num(const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s ? s : "", &end);
    if (!s || *end || v < lo || v > hi)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    opts_t o = {.rate = 20, .duration = 10, .receipts = 1, .window = 4};
    if (!strcmp(argv[1], "fanout")) {
        o.fanout = 1;
        o.n = 2000;
    } else if (!strcmp(argv[1], "chat")) {
        o.n = 1000;
        o.rate = 15;
    } else {
        usage();
    }
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((o.fanout && !strcmp(argv[i], "--members")) ||
            (!o.fanout && !strcmp(argv[i], "--pairs"))) {
            o.n = (int)num(v, 1, o.fanout ? MAX_CONNS : MAX_CONNS / 2);
            i++;
        } else if (!strcmp(argv[i], "--rate")) {
            o.rate = num(v, 0.1, 100000);
            i++;
        } else if (!strcmp(argv[i], "--duration")) {
            o.duration = num(v, 1, 3600);
            i++;
        } else if (!strcmp(argv[i], "--window") && !o.fanout) {
            o.window = (int)num(v, 1, 1000);
            i++;
        } else if (!strcmp(argv[i], "--no-receipts") && o.fanout) {
            o.receipts = 0;
        } else if (!strcmp(argv[i], "--store-hop") && !o.fanout) {
            o.store_hop = 1;
        } else {
            usage();
        }
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (o.fanout)
        printf("tt-floor fanout: %d members x %g/s for %g s, receipts %s\n", o.n, o.rate,
               o.duration, o.receipts ? "on" : "off");
    else
        printf("tt-floor chat: %d pairs x %g/s for %g s, window %d%s\n", o.n, o.rate,
               o.duration, o.window, o.store_hop ? ", via the store" : "");
    return o.fanout ? fanout(&o) : chat(&o);
}
