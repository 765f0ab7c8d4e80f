/* Abuse limits a person never notices, end to end (run by it_abuse.sh against the whole suite):
 *   it_abuse p2p MS1 MS2 USER_BASE [route-only]
 *                                    a client on MS1 floods 4 MiB and then many small P2P
 *                                    commands at a user on MS2; meanwhile two other pairs of
 *                                    users on different msg_servers chat, and each of their
 *                                    messages must be delivered live (within LIVE_MS); after
 *                                    it a normal typing command still crosses msg_servers
 *                                    (route-only: MS1 has no P2P limits, route_server's alone
 *                                    apply: no per-connection rate)
 *   it_abuse voice MS1               a normal voice message is stored and delivered, an
 *                                    over-size voice message and an over-size text get no ack
 *                                    and are not stored; a burst of voice messages over the
 *                                    per-user rate is read later: all acked, spread in time
 *   it_abuse junk PORT MIB [USER]    MIB MiB of 16-byte frames of an unknown command on one
 *                                    connection (after logging in as USER: a msg_server), then
 *                                    connections that send garbage
 * USER_BASE: users TT<base>..TT<base+5> are used (the two p2p runs use different ones).
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.SwitchService.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define LIVE_MS 3000 /* a message is "live" when it arrives this soon after its ack */
#define SID_SWITCH IM__BASE_DEFINE__SERVICE_ID__SID_SWITCH_SERVICE
#define CID_P2P IM__BASE_DEFINE__SWITCH_SERVICE_CMD_ID__CID_SWITCH_P2P_CMD
#define AUDIO IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO
#define BIG_P2P 24      /* 4 MiB P2P commands in the flood */
#define SMALL_P2P 60000 /* small ones after them */

static int send_p2p(ttc_t *c, uint32_t to, const char *data)
{
    IM__SwitchService__IMP2PCmdMsg m = IM__SWITCH_SERVICE__IMP2_PCMD_MSG__INIT;
    m.from_user_id = ttc_user_id(c);
    m.to_user_id = to;
    m.cmd_msg_data = (char *)data;
    return ttc_send_seq(c, SID_SWITCH, CID_P2P, 0, &m.base);
}

/* The flood, in a child process: its own connection, as fast as msg_server reads. */
static void flood(uint16_t ms, const char *user, uint32_t victim)
{
    ttc_t *f = itc_try_login(ms, user, ITC_ANDROID);
    if (!f)
        _exit(3);
    ttc_set_send_timeout(f, 60000);
    ttc_set_queue_limit(f, 16);
    size_t big = (4u << 20) - 64; /* the frame just under the 4 MiB MaxPduSize */
    char *s = malloc(big + 1);
    if (!s)
        _exit(3);
    memset(s, 'x', big);
    s[big] = 0;
    int sent = 0;
    for (int i = 0; i < BIG_P2P && send_p2p(f, victim, s) == 0; i++)
        sent++;
    free(s);
    const char *typing = "{\"cmd_id\":1,\"content\":\"writing\",\"service_id\":1}";
    for (int i = 0; i < SMALL_P2P && send_p2p(f, victim, typing) == 0; i++) {
        sent++;
        if (i % 1000 == 0) { /* drain what comes back so that our socket never stalls */
            ttc_pdu_t *p;
            while (ttc_poll(f, &p) == 0)
                ttc_pdu_free(p);
        }
    }
    printf("flood: %d P2P commands written (%s)\n", sent, ttc_error(f));
    fflush(stdout);
    ttc_close(f);
    _exit(sent == BIG_P2P + SMALL_P2P ? 0 : 4);
}

static ttc_t *login(uint16_t port, int base, int n, uint32_t type)
{
    char name[16];
    snprintf(name, sizeof(name), "TT%03d", base + n);
    ttc_t *c = itc_login(port, name, type);
    if (c)
        ttc_set_queue_limit(c, 100000);
    return c;
}

/* One message from a to b: acked, then delivered to b within LIVE_MS. 1 when live. */
static int live_one(ttc_t *a, ttc_t *b, uint32_t local_id, int *acked)
{
    char text[64];
    snprintf(text, sizeof(text), "bystander %u", local_id);
    uint32_t id = itc_send_text(a, ttc_user_id(b), local_id, text);
    if (!id)
        return 0;
    (*acked)++;
    uint64_t until = itc_now_ms() + LIVE_MS;
    for (;;) {
        int64_t left = (int64_t)(until - itc_now_ms());
        if (left <= 0)
            return 0;
        IM__Message__IMMsgData *m = itc_recv_msg(b, (int)left);
        if (!m)
            return 0;
        int ok = m->msg_id == id && m->from_user_id == ttc_user_id(a) && itc_is_text(m, text);
        tt_pb_free(m);
        if (ok)
            return 1;
    }
}

static void phase_p2p(uint16_t ms1, uint16_t ms2, int base, int ms_limits)
{
    /* the victim on MS2; two bystander pairs across the msg_servers, one each way */
    ttc_t *victim = login(ms2, base, 1, ITC_PC);
    ttc_t *s1 = login(ms1, base, 2, ITC_PC), *r1 = login(ms2, base, 3, ITC_ANDROID);
    ttc_t *s2 = login(ms2, base, 4, ITC_ANDROID), *r2 = login(ms1, base, 5, ITC_PC);
    if (!victim || !s1 || !r1 || !s2 || !r2)
        return;
    char flooder[16];
    snprintf(flooder, sizeof(flooder), "TT%03d", base);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        flood(ms1, flooder, ttc_user_id(victim));
    check(pid > 0, "flooding client started");
    if (pid < 0)
        return;
    /* while it floods (and a little longer), both pairs chat every 100 ms */
    int tries = 0, acked = 0, live = 0, status = 0;
    uint32_t local = 95000000;
    double t0 = itc_now_s();
    int running = 1;
    while (running || tries < 20) {
        if (running && waitpid(pid, &status, WNOHANG) == pid)
            running = 0;
        if (itc_now_s() - t0 > 240) { /* the flood should take seconds, not minutes */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            check(0, "the flood finished within 240 s");
            break;
        }
        live += live_one(s1, r1, ++local, &acked);
        live += live_one(s2, r2, ++local, &acked);
        tries += 2;
        usleep(100 * 1000);
    }
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the flooder wrote all %d P2P commands (exit %d)", BIG_P2P + SMALL_P2P,
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    check(acked == tries, "every bystander message during the flood is acked (%d of %d)", acked,
          tries);
    check(live == tries,
          "every bystander message across msg_servers is delivered live, within %d ms (%d of "
          "%d, over %.1f s)",
          LIVE_MS, live, tries, itc_now_s() - t0);
    /* what reached the victim: no big command; small ones, at a human rate at most */
    size_t small = 0, bigger = 0;
    ttc_pdu_t *p;
    while (ttc_wait(victim, CID_P2P, 300, &p) == 0 && p) {
        if (p->body_len > 4096)
            bigger++;
        else
            small++;
        ttc_pdu_free(p);
    }
    check(bigger == 0, "no P2P command over 4096 bytes reached the victim (%zu)", bigger);
    if (ms_limits) /* msg_server's rate per connection; route_server only caps bytes */
        check(small > 0 && small < SMALL_P2P / 10,
              "some typing commands reached the victim, far from all %d (%zu)", SMALL_P2P, small);
    else
        check(small > 0, "typing commands reached the victim (%zu)", small);
    check(!ttc_is_closed(victim), "the victim is still connected");
    /* a person's typing still crosses the msg_servers at once */
    const char *typing = "{\"cmd_id\":1,\"content\":\"writing\",\"service_id\":1}";
    int got = 0;
    if (send_p2p(s1, ttc_user_id(r1), typing) == 0 && ttc_wait(r1, CID_P2P, T, &p) == 0 && p) {
        IM__SwitchService__IMP2PCmdMsg *m = (IM__SwitchService__IMP2PCmdMsg *)tt_pb_unpack(
            &im__switch_service__imp2_pcmd_msg__descriptor, p->body, p->body_len);
        got = m && m->from_user_id == ttc_user_id(s1) && strcmp(m->cmd_msg_data, typing) == 0;
        tt_pb_free(m);
        ttc_pdu_free(p);
    }
    check(got, "after the flood a typing command crosses msg_servers");
    ttc_close(victim);
    ttc_close(s1);
    ttc_close(r1);
    ttc_close(s2);
    ttc_close(r2);
}

static uint8_t *voice_of(size_t len, uint32_t seconds)
{
    uint8_t *v = malloc(len);
    if (!v)
        return NULL;
    tt_put32(v, seconds);
    for (size_t i = 4; i < len; i++)
        v[i] = (uint8_t)(i * 7 + (i >> 9));
    return v;
}

static void phase_voice(uint16_t ms1)
{
    ttc_t *a = login(ms1, 80, 0, ITC_ANDROID), *b = login(ms1, 80, 1, ITC_ANDROID);
    if (!a || !b)
        return;
    uint32_t to = ttc_user_id(b);
    /* about a minute of Speex narrowband at its highest rate: 4 + 180000 bytes */
    size_t normal = 4 + 180000;
    uint8_t *v = voice_of(normal, 60);
    uint32_t v1 = v ? itc_send_data(a, to, 96000001, AUDIO, v, normal, T) : 0;
    check(v1 == 1, "a one-minute voice message is acked (msg_id %u)", v1);
    IM__Message__IMMsgData *m = itc_recv_msg(b, T);
    check(m && m->msg_id == v1 && m->msg_data.len == normal &&
              memcmp(m->msg_data.data, v, normal) == 0,
          "and delivered byte for byte");
    tt_pb_free(m);
    free(v);
    /* over MaxVoiceMessage (256 KiB): no ack, not stored, not delivered */
    size_t over = 4 + 300000;
    v = voice_of(over, 60);
    uint32_t v2 = v ? itc_send_data(a, to, 96000002, AUDIO, v, over, 7000) : 1;
    free(v);
    check(v2 == 0, "a voice message of %zu bytes gets no ack (%u)", over, v2);
    /* an over-size text likewise (MaxTextMessage 8192) */
    char *text = malloc(9001);
    if (text) {
        memset(text, 'A', 9000);
        text[9000] = 0;
    }
    uint32_t t1 = text ? itc_send_text(a, to, 96000003, text) : 1;
    free(text);
    check(t1 == 0, "a text of 9000 bytes gets no ack (%u)", t1);
    check(itc_nothing_more(b, 500), "neither is delivered");
    uint32_t t2 = itc_send_text(a, to, 96000004, "a normal text");
    check(t2 == v1 + 1, "a normal text right after is stored with the next id (%u)", t2);
    check(itc_got_text(b, ttc_user_id(a), t2, "a normal text"), "and delivered");
    IM__Message__IMGetMsgListRsp *h = itc_history(a, to, 0, 10);
    check(h && h->n_msg_list == 2 && h->msg_list[0]->msg_id == t2 &&
              h->msg_list[1]->msg_id == v1 && h->msg_list[1]->msg_data.len == normal,
          "history holds the normal voice and text only (%zu)", h ? h->n_msg_list : 0);
    tt_pb_free(h);
    /* Mac's longest text (3,500 bytes of plain text, ~4,700 once encrypted and base64'd) is
     * under the cap and stored (the original's 4096-byte column lost it) */
    char *mac = malloc(4801);
    if (mac) {
        memset(mac, 'B', 4800);
        mac[4800] = 0;
    }
    uint32_t t3 = mac ? itc_send_text(a, to, 96000005, mac) : 0;
    check(t3 == t2 + 1, "a text of 4800 bytes is stored (%u)", t3);
    check(mac && itc_got_text(b, ttc_user_id(a), t3, mac), "and delivered whole");
    free(mac);

    /* a burst of voice messages over VoiceRateLimit (30/min, burst 10): read later */
    enum { N = 14, BURST = 10 };
    size_t small = 4 + 2000;
    v = voice_of(small, 2);
    double t0 = itc_now_s();
    int sent = 0;
    for (int i = 0; v && i < N; i++) {
        IM__Message__IMMsgData d = IM__MESSAGE__IMMSG_DATA__INIT;
        d.to_session_id = to;
        d.msg_id = 96000100 + (uint32_t)i;
        d.msg_type = AUDIO;
        d.msg_data.data = v;
        d.msg_data.len = small;
        sent += ttc_send(a, ITC_SID_MSG, ITC_CID_DATA, &d.base, NULL) == 0;
    }
    free(v);
    uint32_t last = t3, acked = 0;
    int consecutive = 1;
    double tburst = 0;
    while (acked < (uint32_t)sent) {
        uint32_t id = itc_next_ack(a, 15000);
        if (!id)
            break;
        consecutive &= id == last + 1;
        last = id;
        if (++acked == BURST)
            tburst = itc_now_s() - t0;
    }
    double took = itc_now_s() - t0;
    check(acked == N && consecutive, "all %d voice messages of a burst are acked, in order (%u)",
          N, (unsigned)acked);
    check(tburst < 5, "the first %d at once (%.2f s)", BURST, tburst);
    /* the other 4 one every 2 s (30/min); generous lower bound */
    check(took >= 0.7 * (N - BURST) * 2.0, "the rest read later: %.2f s for all %d", took, N);
    int delivered = 0;
    while ((m = itc_recv_msg(b, delivered < N ? T : 300)) != NULL) {
        delivered += m->msg_type == AUDIO && m->msg_data.len == small;
        tt_pb_free(m);
    }
    check(delivered == N, "and each delivered once (%d)", delivered);
    ttc_close(a);
    ttc_close(b);
}

static void phase_junk(uint16_t port, int mib, const char *user)
{
    ttc_t *c;
    char err[256];
    if (user)
        c = itc_login(port, user, ITC_PC);
    else
        c = ttc_connect("127.0.0.1", port, 5000, err, sizeof(err));
    check(c != NULL, "connected to port %u", port);
    if (!c)
        return;
    ttc_set_send_timeout(c, 60000);
    /* 16-byte frames of command 0x7f7f (unknown everywhere), 64 KiB at a time */
    enum { CHUNK = 65536 };
    static uint8_t buf[CHUNK];
    for (size_t i = 0; i < CHUNK; i += TT_PDU_HEADER_LEN)
        tt_pdu_encode_header(buf + i, TT_PDU_HEADER_LEN, 0x7f, 0x7f7f, (uint16_t)i);
    size_t chunks = (size_t)mib * 16, done = 0;
    for (; done < chunks; done++) {
        if (ttc_send_raw(c, buf, CHUNK) != 0)
            break;
        if (done % 64 == 0) {
            ttc_pdu_t *p;
            while (ttc_poll(c, &p) == 0)
                ttc_pdu_free(p);
        }
    }
    printf("junk: %zu KiB of unknown frames written to port %u (%s)\n", done * CHUNK / 1024,
           port, ttc_is_closed(c) ? "then closed" : "connection open");
    ttc_close(c);
    /* then garbage on many short connections: each is a bad frame that closes it */
    int conns = 0;
    for (int i = 0; i < 500; i++) {
        ttc_t *g = ttc_connect("127.0.0.1", port, 5000, err, sizeof(err));
        if (!g)
            continue;
        conns++;
        uint8_t junk[64];
        memset(junk, 0xff, sizeof(junk));
        junk[i % 64] = (uint8_t)i;
        ttc_send_raw(g, junk, sizeof(junk));
        ttc_close(g);
    }
    check(conns > 0, "%d garbage connections to port %u", conns, port);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 5 && strcmp(argv[1], "p2p") == 0)
        phase_p2p((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]), atoi(argv[4]),
                  argc < 6 || strcmp(argv[5], "route-only") != 0);
    else if (argc == 3 && strcmp(argv[1], "voice") == 0)
        phase_voice((uint16_t)atoi(argv[2]));
    else if (argc >= 4 && strcmp(argv[1], "junk") == 0)
        phase_junk((uint16_t)atoi(argv[2]), atoi(argv[3]), argc > 4 ? argv[4] : NULL);
    else {
        fprintf(stderr, "usage: it_abuse p2p MS1 MS2 BASE | voice MS1 | junk PORT MIB [USER]\n");
        return 2;
    }
    failures += itc_failures();
    return failures ? 1 : 0;
}
