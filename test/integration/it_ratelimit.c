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

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define N 120 /* messages pipelined by the limited sender */

/* An Android session whose queue holds every ack and delivery of the burst. */
static ttc_t *login(uint16_t port, const char *user)
{
    ttc_t *c = itc_login(port, user, ITC_ANDROID);
    if (c)
        ttc_set_queue_limit(c, 4 * N);
    return c;
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
    double t0 = itc_now_s();
    int sent = 0;
    char text[64];
    for (int i = 1; i <= N; i++) {
        snprintf(text, sizeof(text), "limited %03d", i);
        sent += itc_send_text_async(fast, to_id, 5000 + (uint32_t)i, text, NULL) == 0;
    }
    check(sent == N, "%d of %d pipelined messages written", sent, N);

    /* Meanwhile another connection is served at once: wait until the limited sender is
     * surely throttled (its first acks came), then time one message of the other. */
    uint32_t first = itc_next_ack(fast, T);
    check(first > 0, "the limited sender's first message is acked (msg_id %u)", first);
    double o0 = itc_now_s();
    uint16_t oseq = 0;
    uint32_t oid = 0;
    if (itc_send_text_async(other, to_id, 1, "not limited", &oseq) == 0)
        oid = itc_next_ack(other, T);
    double other_s = itc_now_s() - o0;
    check(oid > 0 && other_s < 0.5 * (N - burst) / rate,
          "another sender is acked in %.3f s while the first is throttled", other_s);

    /* every message acked, with consecutive ids */
    uint32_t last = first, acked = 1;
    int consecutive = 1;
    while (acked < N) {
        uint32_t id = itc_next_ack(fast, T);
        if (!id)
            break;
        consecutive &= id == last + 1;
        last = id;
        acked++;
    }
    double took = itc_now_s() - t0;
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
        IM__Message__IMMsgData *m = itc_recv_msg(to, got + other_seen < N + 1 ? T : 300);
        if (!m)
            break;
        if (m->from_user_id == ttc_user_id(other)) {
            other_seen++;
        } else {
            got++;
            snprintf(text, sizeof(text), "limited %03d", got);
            in_order &= m->msg_id == first + (uint32_t)got - 1 && itc_is_text(m, text);
        }
        tt_pb_free(m);
    }
    check(got == N && in_order, "the receiver got all %d once, in order (%d)", N, got);
    check(other_seen == 1, "and the other sender's message once (%d)", other_seen);
    check(!ttc_is_closed(fast), "the limited sender is still connected");
    ttc_close(fast);
    ttc_close(other);
    ttc_close(to);
    failures += itc_failures();
    return failures ? 1 : 0;
}
