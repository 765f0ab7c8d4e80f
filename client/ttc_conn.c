/* The PDU connection: connect, frames out, frames in, the FIFO, requests and waits. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "tt_client.h"
#include "ttc_http.h"
#include "ttc_internal.h"

#define RECV_CHUNK 65536
#define READ_BUDGET (4u << 20) /* bytes read per call before returning to the caller */
#define READER_KEEP 4096       /* input buffer kept allocated while idle */

enum { WANT_NONE, WANT_REPLY, WANT_CID };

struct ttc_s {
    int fd;                  /* socket, -1 once closed */
    int closed;              /* the server closed, the socket failed, or a frame was bad */
    uint16_t next_seq;       /* seq of the next request (never 0) */
    int send_timeout_ms;     /* budget for writing one frame */
    tt_pdu_reader_t reader;  /* framing of the input stream */
    ttc_pdu_t *q_head;       /* FIFO of unclaimed PDUs, oldest first */
    ttc_pdu_t *q_tail;       /* newest queued PDU */
    size_t q_len;            /* PDUs queued */
    size_t q_max;            /* FIFO bound */
    uint64_t dropped;        /* PDUs dropped because the FIFO was full */
    uint64_t heartbeats;     /* heartbeat echoes swallowed */
    int want;                /* what the current call waits for (WANT_*) */
    uint16_t want_cid;       /* command waited for (0 with WANT_CID: any) */
    uint16_t want_seq;       /* seq waited for (WANT_REPLY) */
    ttc_pdu_t *got;          /* the PDU that matched, handed to the waiting call */
    uint32_t user_id;        /* set by a successful login */
    char err[256];           /* why the last call failed */
};

void ttc_set_error(ttc_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

const char *ttc_error(const ttc_t *c) { return c ? c->err : "no client"; }
int ttc_fd(const ttc_t *c) { return c ? c->fd : -1; }
size_t ttc_queued(const ttc_t *c) { return c->q_len; }
uint64_t ttc_dropped(const ttc_t *c) { return c->dropped; }
uint64_t ttc_heartbeats_seen(const ttc_t *c) { return c->heartbeats; }
uint32_t ttc_user_id(const ttc_t *c) { return c->user_id; }
void ttc_set_user_id(ttc_t *c, uint32_t user_id) { c->user_id = user_id; }
void ttc_set_queue_limit(ttc_t *c, size_t max_pdus) { c->q_max = max_pdus ? max_pdus : 1; }
void ttc_set_send_timeout(ttc_t *c, int timeout_ms) { c->send_timeout_ms = timeout_ms; }

uint16_t ttc_seq_next(uint16_t prev) { return prev == 0xFFFF ? 1 : (uint16_t)(prev + 1); }

void ttc_set_next_seq(ttc_t *c, uint16_t seq) { c->next_seq = seq ? seq : 1; }

static uint16_t take_seq(ttc_t *c)
{
    uint16_t seq = c->next_seq;
    c->next_seq = ttc_seq_next(seq);
    return seq;
}

ttc_t *ttc_connect(const char *host, uint16_t port, int timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline = timeout_ms > 0 ? ttc_now_ms() + (uint64_t)timeout_ms : 0;
    int fd = ttc_net_connect(host, port, deadline, err, errlen);
    if (fd < 0)
        return NULL;
    ttc_t *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->fd = fd;
    c->next_seq = 1;
    c->send_timeout_ms = timeout_ms > 1000 ? timeout_ms : timeout_ms > 0 ? 1000 : 5000;
    c->q_max = TTC_QUEUE_DEFAULT;
    tt_pdu_reader_init(&c->reader, TTC_MAX_FRAME);
    return c;
}

static void drop_socket(ttc_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->closed = 1;
    tt_pdu_reader_free(&c->reader);
    tt_pdu_reader_init(&c->reader, TTC_MAX_FRAME);
}

void ttc_close(ttc_t *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    tt_pdu_reader_free(&c->reader);
    while (c->q_head) {
        ttc_pdu_t *p = c->q_head;
        c->q_head = p->next;
        free(p);
    }
    free(c->got);
    free(c);
}

void ttc_pdu_free(ttc_pdu_t *p) { free(p); }

/* ---- input ---- */

static ttc_pdu_t *copy_pdu(const tt_pdu_t *in)
{
    ttc_pdu_t *p = malloc(sizeof(*p) + in->body_len + 1);
    if (!p)
        return NULL;
    p->length = in->length;
    p->version = in->version;
    p->flag = in->flag;
    p->service_id = in->service_id;
    p->command_id = in->command_id;
    p->seq_num = in->seq_num;
    p->reserved = in->reserved;
    p->body_len = in->body_len;
    p->body = (uint8_t *)(p + 1);
    if (in->body_len)
        memcpy(p->body, in->body, in->body_len);
    p->body[in->body_len] = 0; /* convenience for text bodies; not counted */
    p->next = NULL;
    return p;
}

static void queue_push(ttc_t *c, ttc_pdu_t *p)
{
    while (c->q_len >= c->q_max && c->q_head) {
        ttc_pdu_t *old = c->q_head;
        c->q_head = old->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->q_len--;
        c->dropped++;
        free(old);
    }
    if (c->q_tail)
        c->q_tail->next = p;
    else
        c->q_head = p;
    c->q_tail = p;
    c->q_len++;
}

/* Removes and returns the oldest queued PDU with command cid (0: any), or NULL. */
static ttc_pdu_t *queue_take(ttc_t *c, uint16_t cid)
{
    ttc_pdu_t *prev = NULL;
    for (ttc_pdu_t *p = c->q_head; p; prev = p, p = p->next) {
        if (cid && p->command_id != cid)
            continue;
        if (prev)
            prev->next = p->next;
        else
            c->q_head = p->next;
        if (c->q_tail == p)
            c->q_tail = prev;
        c->q_len--;
        p->next = NULL;
        return p;
    }
    return NULL;
}

/* One whole frame from the server: swallow, hand to the waiting call, or queue. */
static int deliver(ttc_t *c, const tt_pdu_t *in)
{
    if (in->command_id == IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT) {
        c->heartbeats++;
        return 0;
    }
    ttc_pdu_t *p = copy_pdu(in);
    if (!p) {
        ttc_set_error(c, "out of memory");
        drop_socket(c);
        return -1;
    }
    int match = 0;
    if (!c->got && c->want == WANT_REPLY)
        match = p->command_id == c->want_cid && p->seq_num == c->want_seq;
    else if (!c->got && c->want == WANT_CID)
        match = !c->want_cid || p->command_id == c->want_cid;
    if (match)
        c->got = p;
    else
        queue_push(c, p);
    return 0;
}

/* Reads what the socket has without blocking and delivers every whole frame.
 * Returns frames delivered (>= 0), or -1 when the connection is (now) closed. */
static int read_some(ttc_t *c)
{
    if (c->closed)
        return -1;
    uint8_t chunk[RECV_CHUNK];
    size_t total = 0;
    int frames = 0;
    while (total < READ_BUDGET) {
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (n == 0)
                ttc_set_error(c, "server closed the connection");
            else
                ttc_set_error(c, "connection failed: %s", strerror(errno));
            drop_socket(c);
            return frames ? frames : -1;
        }
        total += (size_t)n;
        if (tt_pdu_reader_feed(&c->reader, chunk, (size_t)n) < 0) {
            ttc_set_error(c, "out of memory");
            drop_socket(c);
            return -1;
        }
        for (;;) {
            tt_pdu_t pdu;
            int rc = tt_pdu_reader_next(&c->reader, &pdu);
            if (rc == TT_AGAIN)
                break;
            if (rc == TT_ERR) {
                ttc_set_error(c, "bad frame from the server: %s", c->reader.err);
                drop_socket(c);
                return frames ? frames : -1;
            }
            if (deliver(c, &pdu) < 0)
                return -1;
            frames++;
        }
        if ((size_t)n < sizeof(chunk))
            break; /* the socket is most likely drained */
    }
    tt_buf_trim(&c->reader.buf, READER_KEEP);
    return frames;
}

/* Waits up to timeout_ms (negative: forever) for input and reads it.
 * 1 something was read (maybe nothing whole yet), 0 timeout, -1 closed. */
static int pump(ttc_t *c, int timeout_ms)
{
    if (c->closed)
        return -1;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        ttc_set_error(c, "poll: %s", strerror(errno));
        return -1;
    }
    if (n == 0)
        return 0;
    return read_some(c) < 0 ? -1 : 1;
}

int ttc_is_closed(ttc_t *c)
{
    if (!c)
        return 1;
    if (!c->closed)
        read_some(c);
    return c->closed;
}

/* ---- output ---- */

static int write_all(ttc_t *c, const uint8_t *p, size_t n)
{
    if (c->closed) {
        if (!c->err[0])
            ttc_set_error(c, "connection closed");
        return -1;
    }
    uint64_t deadline = ttc_now_ms() + (uint64_t)(c->send_timeout_ms > 0 ? c->send_timeout_ms
                                                                         : 5000);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, p + off, n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Keep reading while we wait, so a server that is busy writing to us cannot
             * deadlock against our write. */
            int left = ttc_ms_left(deadline);
            struct pollfd pfd = {.fd = c->fd, .events = POLLOUT | POLLIN};
            int r = left == 0 ? 0 : poll(&pfd, 1, left);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                ttc_set_error(c, "poll: %s", strerror(errno));
                drop_socket(c);
                return -1;
            }
            if (r == 0) {
                ttc_set_error(c, "timed out sending a frame (%zu of %zu bytes written)", off, n);
                drop_socket(c);
                return -1;
            }
            if (r > 0 && (pfd.revents & POLLIN) && read_some(c) < 0 && c->closed)
                return -1; /* c->err says why */
            continue;
        }
        int e = w < 0 ? errno : EIO;
        read_some(c); /* keep what the server said before it went away */
        if (!c->closed) {
            ttc_set_error(c, "send: %s", strerror(e));
            drop_socket(c);
        }
        return -1;
    }
    return 0;
}

int ttc_send_raw(ttc_t *c, const void *data, size_t len)
{
    if (!c)
        return -1;
    return write_all(c, data, len);
}

int ttc_send_seq(ttc_t *c, uint16_t sid, uint16_t cid, uint16_t seq, const ProtobufCMessage *msg)
{
    if (!c)
        return -1;
    if (msg && protobuf_c_message_get_packed_size(msg) > TTC_MAX_FRAME - TT_PDU_HEADER_LEN) {
        ttc_set_error(c, "message for 0x%04x is too large", cid);
        return -1;
    }
    tt_buf_t b;
    tt_buf_init(&b);
    if (tt_pdu_append(&b, sid, cid, seq, msg) < 0) {
        tt_buf_free(&b);
        ttc_set_error(c, "out of memory");
        return -1;
    }
    int rc = write_all(c, tt_buf_head(&b), tt_buf_len(&b));
    tt_buf_free(&b);
    return rc;
}

int ttc_send(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *msg,
             uint16_t *seq_out)
{
    if (!c)
        return -1;
    uint16_t seq = take_seq(c);
    if (seq_out)
        *seq_out = seq;
    return ttc_send_seq(c, sid, cid, seq, msg);
}

int ttc_heartbeat(ttc_t *c)
{
    return ttc_send(c, IM__BASE_DEFINE__SERVICE_ID__SID_OTHER,
                    IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT, NULL, NULL);
}

/* ---- waiting ---- */

/* Runs the input until c->got is set, the deadline passes or the connection closes. */
static int wait_got(ttc_t *c, int timeout_ms)
{
    uint64_t deadline = timeout_ms > 0 ? ttc_now_ms() + (uint64_t)timeout_ms : 0;
    if (timeout_ms == 0) {
        read_some(c);
        return c->got ? 0 : c->closed ? TTC_ERR : TTC_TIMEOUT;
    }
    while (!c->got) {
        if (c->closed)
            return TTC_ERR;
        int left = timeout_ms < 0 ? -1 : ttc_ms_left(deadline);
        if (left == 0)
            return TTC_TIMEOUT;
        pump(c, left);
    }
    return 0;
}

int ttc_request(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *msg,
                uint16_t want_cid, int timeout_ms, ttc_pdu_t **reply)
{
    *reply = NULL;
    if (!c)
        return TTC_ERR;
    if (c->closed) {
        if (!c->err[0])
            ttc_set_error(c, "connection closed");
        return TTC_ERR;
    }
    uint16_t seq = take_seq(c);
    c->want = WANT_REPLY;
    c->want_cid = want_cid;
    c->want_seq = seq;
    c->got = NULL;
    int rc = ttc_send_seq(c, sid, cid, seq, msg);
    if (rc == 0 || c->got) /* the reply may come in while a slow send waits */
        rc = c->got ? 0 : wait_got(c, timeout_ms);
    c->want = WANT_NONE;
    if (rc == 0) {
        *reply = c->got;
        c->got = NULL;
        c->err[0] = 0;
        return 0;
    }
    if (rc == TTC_TIMEOUT)
        ttc_set_error(c, "no answer 0x%04x to 0x%04x (seq %u) within %d ms", want_cid, cid, seq,
                      timeout_ms);
    else if (!c->err[0])
        ttc_set_error(c, "connection closed");
    return rc;
}

int ttc_wait(ttc_t *c, uint16_t cid, int timeout_ms, ttc_pdu_t **out)
{
    *out = NULL;
    if (!c)
        return TTC_ERR;
    ttc_pdu_t *p = queue_take(c, cid);
    if (p) {
        *out = p;
        return 0;
    }
    /* Nothing queued matches, so the first matching arrival is the oldest match. */
    c->want = WANT_CID;
    c->want_cid = cid;
    c->got = NULL;
    int rc = wait_got(c, timeout_ms);
    c->want = WANT_NONE;
    *out = c->got;
    c->got = NULL;
    if (rc == TTC_TIMEOUT)
        ttc_set_error(c, "nothing%s within %d ms", cid ? " matching" : "", timeout_ms);
    return rc;
}

int ttc_poll(ttc_t *c, ttc_pdu_t **out)
{
    *out = NULL;
    if (!c)
        return TTC_ERR;
    if (!c->closed)
        read_some(c);
    ttc_pdu_t *p = queue_take(c, 0);
    if (p) {
        *out = p;
        return 0;
    }
    return c->closed ? TTC_ERR : TTC_TIMEOUT;
}

void *ttc_call(ttc_t *c, uint16_t sid, uint16_t cid, const ProtobufCMessage *req,
               uint16_t want_cid, const ProtobufCMessageDescriptor *desc, int timeout_ms,
               char *err, size_t errlen)
{
    ttc_pdu_t *p = NULL;
    char scratch[8];
    if (!err) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    if (!c) {
        snprintf(err, errlen, "no client");
        return NULL;
    }
    if (ttc_request(c, sid, cid, req, want_cid, timeout_ms, &p) != 0) {
        snprintf(err, errlen, "%s", c->err);
        return NULL;
    }
    void *m = tt_pb_unpack(desc, p->body, p->body_len);
    if (!m) {
        snprintf(err, errlen, "answer 0x%04x (%u bytes) does not parse as %s", want_cid,
                 p->body_len, desc->name);
        ttc_set_error(c, "%s", err);
    }
    ttc_pdu_free(p);
    return m;
}
