/* A repeated message is a new message; only what the client marks as the same message is a
 * resend (run by it_resend.sh against the whole suite):
 *   it_resend main MS1 MS2
 *     - the same text three times 1.3 s apart with msg_id 0, create_time 0 and new seqs (iOS,
 *       Mac), and with the client's clock (Android, Windows): three messages, three acks with
 *       their own ids, delivered to the receiver (on both msg_servers), three in history; the
 *       same seq twice with create_time 0: two messages
 *     - a Windows-style resend (same PDU: same seq, same create_time) on a NEW connection after
 *       the first connection went away before its ack: acked with the first id, not delivered
 *       again, one message in history; the same on the same connection
 *     - a message to a user id that does not exist: no ack (the client shows it failed), the
 *       sender's next message is acked as usual
 *     - text that is not UTF-8 (0xff 0xfe 0x00 ...) is stored, delivered and read back through
 *       history byte for byte
 *   it_resend after MS1
 *     - after the resend keys were aged past ResendWindowSeconds: the Windows PDU sent again is
 *       a new message
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. The shell checks MariaDB, Redis
 * and the logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"

#define T ITC_T
#define NOBODY 99999u /* no such user id */
#define WHEN1 1750000001u /* Windows's create_times (its clock is the server's, synced) */
#define WHEN2 1750000002u

/* Sends an IMMsgData the way a shipped client does: msg_id 0, the given seq and create_time. */
static int send_as_client(ttc_t *c, uint32_t to, uint16_t seq, uint32_t create_time,
                          const uint8_t *data, size_t len)
{
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.to_session_id = to;
    m.msg_id = 0;
    m.create_time = create_time;
    m.msg_type = ITC_TEXT;
    m.msg_data.data = (uint8_t *)data;
    m.msg_data.len = len;
    return ttc_send_seq(c, ITC_SID_MSG, ITC_CID_DATA, seq, &m.base);
}

/* The msg_id of the ack with this seq (0: none within ms). */
static uint32_t ack_of_seq(ttc_t *c, uint16_t seq, int ms)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t now = itc_now_ms();
        if (now >= end)
            return 0;
        ttc_pdu_t *p = NULL;
        if (ttc_wait(c, ITC_CID_ACK, (int)(end - now), &p) != 0 || !p)
            return 0;
        uint16_t got = p->seq_num;
        IM__Message__IMMsgDataAck *a = itc_ack_of(p);
        uint32_t id = a ? a->msg_id : 0;
        tt_pb_free(a);
        ttc_pdu_free(p);
        if (got == seq)
            return id;
    }
}

/* The next delivery to c is (from, id, bytes). */
static int got_bytes(ttc_t *c, uint32_t from, uint32_t id, const uint8_t *data, size_t len)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, T);
    int ok = m && m->from_user_id == from && m->msg_id == id && m->msg_data.len == len &&
             memcmp(m->msg_data.data, data, len) == 0;
    if (m && !ok)
        printf("  got msg %u from %u, %zu bytes\n", m->msg_id, m->from_user_id, m->msg_data.len);
    tt_pb_free(m);
    return ok;
}

/* History of c with peer holds exactly n messages, each with these bytes, ids distinct. */
static int history_is(ttc_t *c, uint32_t peer, size_t n, const uint8_t *data, size_t len)
{
    IM__Message__IMGetMsgListRsp *h = itc_history(c, peer, 0, 20);
    int ok = h && h->n_msg_list == n;
    for (size_t i = 0; ok && i < n; i++) {
        const IM__BaseDefine__MsgInfo *mi = h->msg_list[i];
        ok = mi->msg_data.len == len && memcmp(mi->msg_data.data, data, len) == 0 &&
             (i == 0 || mi->msg_id != h->msg_list[i - 1]->msg_id);
    }
    if (h && !ok)
        printf("  history with %u: %zu messages\n", peer, h->n_msg_list);
    tt_pb_free(h);
    return ok;
}

/* Three times the same bytes, 1.3 s apart, new seqs; create_time 0 or the client's clock. */
static void three_times(ttc_t *a, ttc_t *b, ttc_t *b2, uint32_t from, uint32_t to,
                        uint16_t seq0, int clock, const char *text, const char *style)
{
    const uint8_t *d = (const uint8_t *)text;
    size_t len = strlen(text);
    uint32_t ids[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i)
            usleep(1300 * 1000);
        uint16_t seq = (uint16_t)(seq0 + i);
        uint32_t when = clock ? (uint32_t)time(NULL) : 0;
        send_as_client(a, to, seq, when, d, len);
        ids[i] = ack_of_seq(a, seq, T);
        check(ids[i] != 0 && (i == 0 || ids[i] == ids[i - 1] + 1),
              "%s: copy %d of \"%s\" acked with its own msg_id (%u)", style, i + 1, text, ids[i]);
        check(got_bytes(b, from, ids[i], d, len), "%s: copy %d delivered to the receiver",
              style, i + 1);
        check(got_bytes(b2, from, ids[i], d, len),
              "%s: copy %d delivered to the receiver's device on the other msg_server", style,
              i + 1);
    }
    check(history_is(b, from, 3, d, len), "%s: the receiver's history holds the three", style);
    check(history_is(a, to, 3, d, len), "%s: the sender's history holds the three", style);
}

static void phase_repeats(uint16_t ms1, uint16_t ms2)
{
    ttc_t *ios = itc_login(ms1, "TT020", ITC_ANDROID); /* create_time 0, as iOS and Mac */
    ttc_t *b = itc_login(ms1, "TT021", ITC_PC);
    ttc_t *b2 = itc_login(ms2, "TT021", ITC_ANDROID);
    ttc_t *c = itc_login(ms1, "TT022", ITC_PC);
    ttc_t *c2 = itc_login(ms2, "TT022", ITC_ANDROID);
    if (ios && b && b2)
        three_times(ios, b, b2, 20, 21, 100, 0, "ok", "create_time 0");
    if (ios && c && c2)
        three_times(ios, c, c2, 20, 22, 200, 1, "好的", "client clock");
    /* the same seq with create_time 0 (a client that reuses a seq): still two messages */
    ttc_t *e = itc_login(ms1, "TT029", ITC_PC);
    if (ios && e) {
        const uint8_t *d = (const uint8_t *)"ok";
        uint32_t id[2];
        for (int i = 0; i < 2; i++) {
            send_as_client(ios, 29, 900, 0, d, 2);
            id[i] = ack_of_seq(ios, 900, T);
            check(got_bytes(e, 20, id[i], d, 2), "same seq, create_time 0: copy %d delivered",
                  i + 1);
        }
        check(id[0] == 1 && id[1] == 2, "same seq, create_time 0: two messages (%u, %u)",
              id[0], id[1]);
    }
    ttc_close(e);
    ttc_close(ios);
    ttc_close(b);
    ttc_close(b2);
    ttc_close(c);
    ttc_close(c2);
}

static void phase_windows_resend(uint16_t ms1, uint16_t ms2)
{
    ttc_t *d = itc_login(ms1, "TT023", ITC_PC);
    ttc_t *d2 = itc_login(ms2, "TT023", ITC_ANDROID);
    ttc_t *w = itc_login(ms1, "TT024", ITC_PC);
    if (!d || !d2 || !w)
        return;
    const uint8_t *ok = (const uint8_t *)"ok";
    uint32_t when = WHEN1;
    /* the first copy; the connection goes away before its ack can arrive */
    send_as_client(w, 23, 777, when, ok, 2);
    ttc_close(w);
    IM__Message__IMMsgData *m = itc_recv_msg(d, T);
    uint32_t first = m && m->from_user_id == 24 ? m->msg_id : 0;
    tt_pb_free(m);
    check(first != 0, "the first copy is stored and delivered (msg_id %u)", first);
    check(got_bytes(d2, 24, first, ok, 2), "and to the receiver's other device");
    /* Windows logs in again (3 s later; here at once) and resends the same PDU */
    w = itc_login(ms1, "TT024", ITC_PC);
    if (!w)
        return;
    send_as_client(w, 23, 777, when, ok, 2);
    uint32_t again = ack_of_seq(w, 777, T);
    check(again == first, "the resend on a new connection is acked with the first id (%u)",
          again);
    check(itc_nothing_more(d, 2000) && itc_nothing_more(d2, 100),
          "and not delivered a second time");
    check(history_is(d, 24, 1, ok, 2), "one message in history");
    /* on the same connection: a new message, then its resend (the ack was lost on the way) */
    uint32_t when2 = WHEN2;
    send_as_client(w, 23, 778, when2, ok, 2);
    uint32_t second = ack_of_seq(w, 778, T);
    check(second == first + 1, "the same text with a new seq is a new message (%u)", second);
    check(got_bytes(d, 24, second, ok, 2), "and delivered");
    send_as_client(w, 23, 778, when2, ok, 2);
    uint32_t resent = ack_of_seq(w, 778, T);
    check(resent == second, "its resend on the same connection is acked with its id (%u)",
          resent);
    check(itc_nothing_more(d, 1500), "and not delivered again");
    check(history_is(d, 24, 2, ok, 2), "two messages in history");
    ttc_close(w);
    ttc_close(d);
    ttc_close(d2);
}

static void phase_nobody(uint16_t ms1)
{
    ttc_t *a = itc_login(ms1, "TT025", ITC_ANDROID);
    ttc_t *b = itc_login(ms1, "TT026", ITC_PC);
    if (!a || !b)
        return;
    const uint8_t *hi = (const uint8_t *)"hello?";
    for (int i = 0; i < 40; i++)
        send_as_client(a, NOBODY, (uint16_t)(300 + i), (uint32_t)time(NULL), hi, 6);
    ttc_pdu_t *p = NULL;
    int acked = ttc_wait(a, ITC_CID_ACK, 3000, &p) == 0 && p;
    if (acked)
        printf("  ack with seq %u\n", p->seq_num);
    ttc_pdu_free(p);
    check(!acked, "40 messages to user id %u that does not exist: no ack", NOBODY);
    send_as_client(a, 26, 400, 0, hi, 6);
    uint32_t id = ack_of_seq(a, 400, T);
    check(id == 1, "the sender's next message to a real user is acked (msg_id %u)", id);
    check(got_bytes(b, 25, id, hi, 6), "and delivered");
    ttc_close(a);
    ttc_close(b);
}

static void phase_bytes(uint16_t ms1, uint16_t ms2)
{
    ttc_t *a = itc_login(ms1, "TT027", ITC_PC);
    ttc_t *b = itc_login(ms2, "TT028", ITC_ANDROID);
    if (!a || !b)
        return;
    static const uint8_t junk[] = {0xff, 0xfe, 0x00, 0x01, 0x80, 'o', 'k', 0x00,
                                   0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8, '\n', 0xc0};
    send_as_client(a, 28, 500, (uint32_t)time(NULL), junk, sizeof(junk));
    uint32_t id = ack_of_seq(a, 500, T);
    check(id == 1, "text that is not UTF-8 (with NULs) is stored and acked (msg_id %u)", id);
    check(got_bytes(b, 27, id, junk, sizeof(junk)), "delivered byte for byte");
    check(history_is(b, 27, 1, junk, sizeof(junk)), "and read back byte for byte from history");
    ttc_close(a);
    ttc_close(b);
}

/* After it_resend.sh aged the resend keys past ResendWindowSeconds: the Windows PDU sent
 * again is a new message. */
static void phase_after(uint16_t ms1)
{
    ttc_t *d = itc_login(ms1, "TT023", ITC_PC);
    ttc_t *w = itc_login(ms1, "TT024", ITC_PC);
    if (d && w) {
        const uint8_t *ok = (const uint8_t *)"ok";
        send_as_client(w, 23, 778, WHEN2, ok, 2);
        uint32_t id = ack_of_seq(w, 778, T);
        check(id == 3, "the same PDU after the resend window is a new message (msg_id %u)", id);
        check(got_bytes(d, 24, id, ok, 2), "and delivered");
        check(history_is(d, 24, 3, ok, 2), "three messages in history");
    }
    ttc_close(d);
    ttc_close(w);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "after") == 0) {
        phase_after((uint16_t)atoi(argv[2]));
        return failures + itc_failures() ? 1 : 0;
    }
    if (argc != 4 || strcmp(argv[1], "main") != 0) {
        fprintf(stderr, "usage: it_resend main MS1_PORT MS2_PORT | after MS1_PORT\n");
        return 2;
    }
    uint16_t ms1 = (uint16_t)atoi(argv[2]), ms2 = (uint16_t)atoi(argv[3]);
    phase_repeats(ms1, ms2);
    phase_windows_resend(ms1, ms2);
    phase_nobody(ms1);
    phase_bytes(ms1, ms2);
    return failures + itc_failures() ? 1 : 0;
}
