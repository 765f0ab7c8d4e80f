/* The per-connection message rate limit of msg_server, end to end (run by it_ratelimit.sh
 * against the whole suite with MsgRateLimit=RATE and MsgRateBurst=BURST):
 *   it_ratelimit MS_PORT RATE BURST
 * A sender pipelines far more messages than its burst at once. The original dropped what came
 * over 20/s silently; here the sender is read later: every message is stored, acked with
 * consecutive ids and delivered once in order, only spread over time at about RATE/s. Another
 * sender on the same msg_server is not slowed meanwhile.
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T 8000
#define N 120 /* messages pipelined by the limited sender */
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define CID_DATA IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA
#define CID_ACK IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ttc_t *login(uint16_t port, const char *user)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    IM__Login__IMLoginRes *res = NULL;
    if (!c || ttc_login(c, user, "test123", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID,
                        T, &res) != 0 ||
        !res || res->result_code) {
        check(0, "login %s on %u", user, port);
        tt_pb_free(res);
        ttc_close(c);
        return NULL;
    }
    tt_pb_free(res);
    ttc_set_queue_limit(c, 4 * N);
    return c;
}

static int send_text(ttc_t *c, uint32_t to, uint32_t local_id, const char *text, uint16_t *seq)
{
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.to_session_id = to;
    m.msg_id = local_id;
    m.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    m.msg_data.data = (uint8_t *)text;
    m.msg_data.len = strlen(text);
    return ttc_send(c, SID_MSG, CID_DATA, &m.base, seq);
}

/* The msg_id of the next ack on c (0: none within ms, or unparsable). */
static uint32_t next_ack(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, CID_ACK, ms, &p) != 0 || !p)
        return 0;
    IM__Message__IMMsgDataAck *a = (IM__Message__IMMsgDataAck *)tt_pb_unpack(
        &im__message__immsg_data_ack__descriptor, p->body, p->body_len);
    uint32_t id = a ? a->msg_id : 0;
    tt_pb_free(a);
    ttc_pdu_free(p);
    return id;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: it_ratelimit MS_PORT RATE BURST\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    double rate = atof(argv[2]), burst = atof(argv[3]);
    ttc_t *fast = login(port, "TT051"), *other = login(port, "TT052"), *to = login(port, "TT053");
    if (!fast || !other || !to)
        return 1;
    uint32_t to_id = ttc_user_id(to);

    /* N messages in one go: far over the burst */
    double t0 = now_s();
    int sent = 0;
    char text[64];
    for (int i = 1; i <= N; i++) {
        snprintf(text, sizeof(text), "limited %03d", i);
        sent += send_text(fast, to_id, 5000 + (uint32_t)i, text, NULL) == 0;
    }
    check(sent == N, "%d of %d pipelined messages written", sent, N);

    /* Meanwhile another connection is served at once: wait until the limited sender is
     * surely throttled (its first acks came), then time one message of the other. */
    uint32_t first = next_ack(fast, T);
    check(first > 0, "the limited sender's first message is acked (msg_id %u)", first);
    double o0 = now_s();
    uint16_t oseq = 0;
    uint32_t oid = 0;
    if (send_text(other, to_id, 1, "not limited", &oseq) == 0)
        oid = next_ack(other, T);
    double other_s = now_s() - o0;
    check(oid > 0 && other_s < 0.5 * (N - burst) / rate,
          "another sender is acked in %.3f s while the first is throttled", other_s);

    /* every message acked, with consecutive ids */
    uint32_t last = first, acked = 1;
    int consecutive = 1;
    while (acked < N) {
        uint32_t id = next_ack(fast, T);
        if (!id)
            break;
        consecutive &= id == last + 1;
        last = id;
        acked++;
    }
    double took = now_s() - t0;
    check(acked == N, "all %d messages acked (%u)", N, (unsigned)acked);
    check(consecutive, "with consecutive msg_ids %u..%u", first, last);
    /* about (N - burst) / rate seconds: the limit spreads them out (lower bound only, and a
     * generous one: the token bucket refills every 20 ms) */
    double floor_s = 0.8 * (N - burst) / rate;
    check(took >= floor_s, "spread over %.2f s (at least %.2f s at %.0f/s after a burst of %.0f)",
          took, floor_s, rate, burst);

    /* the receiver gets every one of them once, in order (and the other sender's one) */
    int in_order = 1, got = 0, other_seen = 0;
    for (;;) {
        ttc_pdu_t *p = NULL;
        if (ttc_wait(to, CID_DATA, got + other_seen < N + 1 ? T : 300, &p) != 0 || !p)
            break;
        IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
            &im__message__immsg_data__descriptor, p->body, p->body_len);
        ttc_pdu_free(p);
        if (!m)
            continue;
        if (m->from_user_id == ttc_user_id(other)) {
            other_seen++;
        } else {
            got++;
            snprintf(text, sizeof(text), "limited %03d", got);
            in_order &= m->msg_id == first + (uint32_t)got - 1 &&
                        m->msg_data.len == strlen(text) &&
                        memcmp(m->msg_data.data, text, m->msg_data.len) == 0;
        }
        tt_pb_free(m);
    }
    check(got == N && in_order, "the receiver got all %d once, in order (%d)", N, got);
    check(other_seen == 1, "and the other sender's message once (%d)", other_seen);
    check(!ttc_is_closed(fast), "the limited sender is still connected");
    ttc_close(fast);
    ttc_close(other);
    ttc_close(to);
    return failures ? 1 : 0;
}
