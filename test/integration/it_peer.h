/* A blocking peer of db_proxy_server for the integration programs that speak to it as a
 * msg_server does (it_dbproxy, it_dbproxy_group): connect with the daemon handshake, send
 * frames and requests, wait for the answer to a request with heartbeats kept up. Include
 * after it_check.h and it_auth.h. */
#ifndef IT_PEER_H
#define IT_PEER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_pdu.h"

#ifndef SID_OTHER
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#endif
#ifndef OTHER
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x
#endif

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- a connection ---- */

typedef struct peer_s {
    int fd;
    tt_pdu_reader_t rd;
    uint16_t seq;        /* last seq sent */
    uint64_t last_tx;    /* for heartbeats */
    uint8_t attach[8];   /* attach_data of the last request */
} peer_t;

static inline int peer_open(peer_t *p, uint16_t port)
{
    memset(p, 0, sizeof(*p));
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "connect 127.0.0.1:%u: %s\n", port, strerror(errno));
        return -1;
    }
    if (it_daemon_auth(p->fd) < 0)
        return -1;
    tt_pdu_reader_init(&p->rd, 64u << 20);
    p->seq = 100;
    return 0;
}

static inline void peer_close(peer_t *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    tt_pdu_reader_free(&p->rd);
}

static inline int send_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int send_raw(peer_t *p, uint16_t sid, uint16_t cid, uint16_t seq,
                           const uint8_t *body, size_t len)
{
    uint8_t *f = malloc(TT_PDU_HEADER_LEN + len + 1);
    tt_pdu_encode_header(f, (uint32_t)(TT_PDU_HEADER_LEN + len), sid, cid, seq);
    if (len)
        memcpy(f + TT_PDU_HEADER_LEN, body, len);
    int rc = send_all(p->fd, f, TT_PDU_HEADER_LEN + len);
    free(f);
    p->last_tx = now_ms();
    return rc;
}

static inline int send_msg(peer_t *p, uint16_t sid, uint16_t cid, uint16_t seq,
                           const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *body = malloc(len + 1);
    protobuf_c_message_pack(m, body);
    int rc = send_raw(p, sid, cid, seq, body, len);
    free(body);
    return rc;
}

/* An IMMsgData from -> to (created now): type, content (data, len), the client's msg_id and
 * attach_data (attach, attach_len), pointing into the caller's buffers. */
static inline IM__Message__IMMsgData msg_data(uint32_t from, uint32_t to, uint32_t client_id,
                                              uint32_t type, const void *data, size_t len,
                                              const uint8_t *attach, size_t attach_len)
{
    IM__Message__IMMsgData q = IM__MESSAGE__IMMSG_DATA__INIT;
    q.from_user_id = from;
    q.to_session_id = to;
    q.msg_id = client_id;
    q.create_time = (uint32_t)time(NULL);
    q.msg_type = type;
    q.msg_data = (ProtobufCBinaryData){len, (uint8_t *)data};
    q.has_attach_data = 1;
    q.attach_data = (ProtobufCBinaryData){attach_len, (uint8_t *)attach};
    return q;
}

static inline void heartbeat_if_idle(peer_t *p)
{
    if (now_ms() - p->last_tx > 3000)
        send_raw(p, SID_OTHER, OTHER(HEARTBEAT), 0, NULL, 0);
}

/* Next frame other than a heartbeat or a disabled user's kick (db_proxy_server sends those to
 * every peer, unasked, within seconds of a `ttadm user disable`): its command, seq and a copy
 * of its body. 0 ok, -1 timeout or closed. */
static inline int recv_frame(peer_t *p, int timeout_ms, uint16_t *cid, uint16_t *seq,
                             uint8_t **body, size_t *len)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        tt_pdu_t pdu;
        int rc = tt_pdu_reader_next(&p->rd, &pdu);
        if (rc == TT_OK) {
            if (pdu.command_id == OTHER(HEARTBEAT) ||
                (pdu.command_id == OTHER(SERVER_KICK_USER) && pdu.seq_num == 0))
                continue;
            *cid = pdu.command_id;
            *seq = pdu.seq_num;
            *len = pdu.body_len;
            *body = malloc(pdu.body_len + 1);
            memcpy(*body, pdu.body, pdu.body_len);
            return 0;
        }
        if (rc == TT_ERR)
            return -1;
        uint64_t now = now_ms();
        if (now >= deadline)
            return -1;
        heartbeat_if_idle(p);
        struct pollfd pf = {p->fd, POLLIN, 0};
        int left = (int)(deadline - now);
        if (poll(&pf, 1, left > 1000 ? 1000 : left) <= 0)
            continue;
        uint8_t buf[65536];
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return -1;
        tt_pdu_reader_feed(&p->rd, buf, (size_t)n);
    }
}

/* Sets a fresh attach_data on a request (field 20 of every request type here). */
static inline ProtobufCBinaryData fresh_attach(peer_t *p)
{
    for (size_t i = 0; i < sizeof(p->attach); i++)
        p->attach[i] = (uint8_t)(rand() & 0xff);
    p->attach[0] = 0; /* a NUL inside must survive too */
    return (ProtobufCBinaryData){sizeof(p->attach), p->attach};
}

static inline int attach_ok(peer_t *p, protobuf_c_boolean has, ProtobufCBinaryData a)
{
    return has && a.len == sizeof(p->attach) && memcmp(a.data, p->attach, a.len) == 0;
}

/* Sends m (with seq ++p->seq) and waits for the answer rsp_cid with the same seq. NULL (and a
 * failed check) on a timeout, a wrong command or seq, or a body that does not parse. */
static inline void *call(peer_t *p, uint16_t sid, uint16_t cid, const ProtobufCMessage *m,
                         uint16_t rsp_cid, const ProtobufCMessageDescriptor *desc,
                         int timeout_ms)
{
    uint16_t seq = ++p->seq;
    if (send_msg(p, sid, cid, seq, m) < 0) {
        check(0, "send 0x%04x", cid);
        return NULL;
    }
    uint16_t got_cid, got_seq;
    uint8_t *body;
    size_t len;
    if (recv_frame(p, timeout_ms, &got_cid, &got_seq, &body, &len) < 0) {
        check(0, "an answer to 0x%04x within %d ms", cid, timeout_ms);
        return NULL;
    }
    void *r = NULL;
    if (got_cid != rsp_cid || got_seq != seq)
        check(0, "answer to 0x%04x: got 0x%04x seq %u, want 0x%04x seq %u", cid, got_cid,
              got_seq, rsp_cid, seq);
    else if (!(r = protobuf_c_message_unpack(desc, NULL, len, body)))
        check(0, "answer 0x%04x parses with every required field", rsp_cid);
    free(body);
    return r;
}

#endif
