/* msg_server's bound on the messages in flight to db_proxy_server, end to end (run by
 * it_inflight.sh against the whole suite with MaxMsgInFlight=2):
 *   it_inflight MS_PORT
 * Three senders each pipeline N messages at once to one receiver, far more than the bound:
 * the senders are read later, in turn, and nothing is refused or lost — every message is
 * acked, each sender's with consecutive ids, and the receiver gets every one once, each
 * sender's in order. The senders stay connected.
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
#define N 40 /* messages pipelined by each sender */
#define SENDERS 3

static ttc_t *login(uint16_t port, const char *user)
{
    ttc_t *c = itc_login(port, user, ITC_ANDROID);
    if (c)
        ttc_set_queue_limit(c, 4 * N * SENDERS);
    return c;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: it_inflight MS_PORT\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    static const char *names[SENDERS] = {"TT061", "TT062", "TT063"};
    ttc_t *snd[SENDERS], *to = login(port, "TT064");
    for (int k = 0; k < SENDERS; k++)
        if (!(snd[k] = login(port, names[k])))
            return 1;
    if (!to)
        return 1;
    uint32_t to_id = ttc_user_id(to);

    /* all senders' messages written at once, interleaved */
    char text[64];
    int sent = 0;
    for (int i = 1; i <= N; i++)
        for (int k = 0; k < SENDERS; k++) {
            snprintf(text, sizeof(text), "bounded %d %03d", k, i);
            sent += itc_send_text_async(snd[k], to_id, 7000 + (uint32_t)i, text, NULL) == 0;
        }
    check(sent == N * SENDERS, "%d of %d pipelined messages written", sent, N * SENDERS);

    uint32_t first[SENDERS] = {0};
    for (int k = 0; k < SENDERS; k++) {
        uint32_t last = 0, acked = 0;
        int consecutive = 1;
        while (acked < N) {
            uint32_t id = itc_next_ack(snd[k], T);
            if (!id)
                break;
            if (acked == 0)
                first[k] = id;
            else
                consecutive &= id == last + 1;
            last = id;
            acked++;
        }
        check(acked == N, "sender %d: all %d messages acked (%u)", k, N, (unsigned)acked);
        check(consecutive, "sender %d: with consecutive msg_ids %u..%u", k, first[k], last);
        check(!ttc_is_closed(snd[k]), "sender %d is still connected", k);
    }

    /* the receiver gets every one once, each sender's in order */
    int got[SENDERS] = {0}, in_order = 1, foreign = 0, total = 0;
    for (;;) {
        IM__Message__IMMsgData *m = itc_recv_msg(to, total < N * SENDERS ? T : 300);
        if (!m)
            break;
        int k = 0;
        while (k < SENDERS && m->from_user_id != ttc_user_id(snd[k]))
            k++;
        if (k == SENDERS) {
            foreign++;
        } else {
            got[k]++;
            snprintf(text, sizeof(text), "bounded %d %03d", k, got[k]);
            in_order &= m->msg_id == first[k] + (uint32_t)got[k] - 1 && itc_is_text(m, text);
        }
        total++;
        tt_pb_free(m);
    }
    for (int k = 0; k < SENDERS; k++)
        check(got[k] == N, "the receiver got sender %d's %d messages once (%d)", k, N, got[k]);
    check(in_order && foreign == 0, "each sender's in order, nothing else");
    for (int k = 0; k < SENDERS; k++)
        ttc_close(snd[k]);
    ttc_close(to);
    failures += itc_failures();
    return failures ? 1 : 0;
}
