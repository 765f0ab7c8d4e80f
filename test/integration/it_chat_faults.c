/* One-to-one chat while daemons die, against the whole suite (run by it_chat_faults.sh):
 *   it_chat_faults burst MS1 MS2 STEPS   db_proxy_server SIGKILLed (eight times, each
 *                                        restarted ~1 s later) during a burst: six senders (four
 *                                        across msg_servers) keep up to 8 messages in flight and
 *                                        resend, oldest first, whatever is not acked in time
 *                                        (half with a client msg_id, half as Windows: msg_id 0,
 *                                        a resend with the same seq and create_time);
 *                                        every message ends acked with one id, ids 1..N per
 *                                        conversation, delivered once and in order, complete in
 *                                        history. Several kills, because only a kill between a
 *                                        commit and its answer reaching msg_server loses an
 *                                        answer, and that window is narrow
 *   it_chat_faults route MS1 MS2 STEPS   route_server SIGKILLed: chat across msg_servers is
 *                                        still stored and acked, the receiver catches up through
 *                                        unread counts and history; restarted: live delivery and
 *                                        presence across msg_servers come back by themselves
 * The faults themselves are the script's: the program prints "STEP name" and the script does
 * it (kills, restarts), then creates the file STEPS/name. The burst also writes
 * STEPS/expected.tsv (from, to, msg_id, content of every acked message) for the script to
 * compare with MariaDB. Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define ONLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE

static const char *steps_dir;

/* Asks the script to do a step ("STEP name" on stdout). */
static void step(const char *name)
{
    printf("STEP %s\n", name);
    fflush(stdout);
}

/* The script did the step. */
static int step_done(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", steps_dir, name);
    return access(path, F_OK) == 0;
}

/* Asks for a step and waits until it is done (at most 30 s). */
static int step_wait(const char *name)
{
    step(name);
    uint64_t deadline = itc_now_ms() + 30000;
    while (!step_done(name) && itc_now_ms() < deadline)
        usleep(10 * 1000);
    return check(step_done(name), "step %s done", name);
}

/* ==== scenario A: db_proxy_server killed during a windowed burst ==== */

enum {
    PAIRS = 6,         /* sender/receiver pairs */
    N = 300,           /* messages per sender */
    WINDOW = 8,        /* unacked messages a sender keeps in flight */
    RESEND_MS = 1500,  /* a message unacked this long is sent again */
    DEADLINE_MS = 60000,
    KILLS = 8,          /* times db_proxy_server is killed during the burst */
    SEG = N / (KILLS + 1),
    CLIENT_ID = 7000000, /* client-local msg_id of message 0 */
    WIN_TIME = 1750000000 /* create_time of message 0 of a Windows-style sender */
};

typedef struct msg_s {
    uint32_t acked_id; /* the msg_id of its first ack; 0 while unacked */
    uint64_t sent_ms;  /* when the last copy was sent; 0 before the first */
    int due;           /* send again now (its connection was replaced) */
} msg_t;

typedef struct pair_s {
    const char *from_name, *to_name; /* TTnnn */
    uint32_t from, to;               /* user ids */
    uint16_t from_port, to_port;     /* msg_servers of sender and receiver */
    ttc_t *snd, *rcv;
    uint64_t reconnect_ms;           /* next reconnect attempt of a closed sender */
    int reconnects;                  /* sender connections replaced */
    msg_t msg[N];
    uint16_t by_seq[65536];          /* request seq of the sender's connection -> index + 1 */
    int next;                        /* first message never sent */
    int in_flight;                   /* sent, not acked */
    int acked;                       /* messages acked */
    int conflicts;                   /* acks of one message with another msg_id */
    int bad_acks;                    /* acks that are no ack of one of ours */
    /* the receiver's side, by msg_id */
    int got[N + 1];                  /* deliveries of each msg_id */
    int text_of[N + 1];              /* message index its text says, -1: none yet */
    int wrong_text;                  /* a msg_id delivered with two texts */
    int stray;                       /* deliveries not from the sender, or id out of 1..N */
    int out_of_order;                /* deliveries whose msg_id was not above the previous */
    uint32_t last_id;                /* highest msg_id delivered so far */
} pair_t;

static void fault_text(char *buf, size_t len, int pair, int k)
{
    snprintf(buf, len, "fault %d-%03d", pair, k);
}

/* Message index of a delivered text of pair i, -1 when it is none of its texts. */
static int index_of(const IM__Message__IMMsgData *m, int pair)
{
    char text[64], want[64];
    if (m->msg_data.len >= sizeof(text))
        return -1;
    memcpy(text, m->msg_data.data, m->msg_data.len);
    text[m->msg_data.len] = 0;
    int p, k;
    if (sscanf(text, "fault %d-%d", &p, &k) != 2 || p != pair || k < 0 || k >= N)
        return -1;
    fault_text(want, sizeof(want), p, k);
    return strcmp(text, want) == 0 ? k : -1;
}

/* Pairs 0, 2, 4 send a client msg_id; pairs 1, 3, 5 send as Windows does: msg_id 0, and every
 * copy of message k (a resend, on the same or a new connection) with the same seq (k + 1) and
 * the same create_time. */
static int send_copy(pair_t *pr, int i, int k, uint64_t now)
{
    char text[64];
    uint16_t seq = 0;
    fault_text(text, sizeof(text), i, k);
    if (i % 2) {
        IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
        m.to_session_id = pr->to;
        m.create_time = WIN_TIME + (uint32_t)k;
        m.msg_type = ITC_TEXT;
        m.msg_data.data = (uint8_t *)text;
        m.msg_data.len = strlen(text);
        seq = (uint16_t)(k + 1);
        if (ttc_send_seq(pr->snd, ITC_SID_MSG, ITC_CID_DATA, seq, &m.base) != 0)
            return -1;
    } else if (itc_send_text_async(pr->snd, pr->to, CLIENT_ID + (uint32_t)k, text, &seq) != 0) {
        return -1;
    }
    pr->by_seq[seq] = (uint16_t)(k + 1);
    pr->msg[k].sent_ms = now;
    pr->msg[k].due = 0;
    return 0;
}

/* A sender whose connection closed logs in again; what is in flight goes again at once. */
static void reconnect(pair_t *pr, uint64_t now)
{
    if (now < pr->reconnect_ms)
        return;
    pr->reconnect_ms = now + 500;
    ttc_close(pr->snd);
    pr->snd = itc_try_login(pr->from_port, pr->from_name, ITC_PC);
    if (!pr->snd)
        return;
    pr->reconnects++;
    memset(pr->by_seq, 0, sizeof(pr->by_seq));
    for (int k = 0; k < pr->next; k++)
        pr->msg[k].due = !pr->msg[k].acked_id;
}

/* Resends, then fills the window (up to `limit` messages in all). When one unacked message
 * is overdue, every unacked one goes again, oldest first, as a client that keeps its
 * conversation in order does. */
static int send_more(pair_t *pr, int i, int limit, uint64_t now)
{
    int overdue = 0, copies = 0;
    for (int k = 0; k < pr->next && !overdue; k++)
        overdue = !pr->msg[k].acked_id && (pr->msg[k].due || now - pr->msg[k].sent_ms >= RESEND_MS);
    for (int k = 0; overdue && k < pr->next; k++)
        if (!pr->msg[k].acked_id && send_copy(pr, i, k, now) == 0)
            copies++;
    while (pr->in_flight < WINDOW && pr->next < limit && send_copy(pr, i, pr->next, now) == 0) {
        pr->next++;
        pr->in_flight++;
    }
    return copies;
}

static void on_ack(pair_t *pr, const ttc_pdu_t *p)
{
    IM__Message__IMMsgDataAck *a = itc_ack_of(p);
    int k = pr->by_seq[p->seq_num] - 1;
    if (!a || k < 0 || a->session_id != pr->to || a->msg_id == 0) {
        pr->bad_acks++;
    } else if (!pr->msg[k].acked_id) {
        pr->msg[k].acked_id = a->msg_id;
        pr->in_flight--;
        pr->acked++;
    } else if (pr->msg[k].acked_id != a->msg_id) {
        pr->conflicts++;
    }
    tt_pb_free(a);
}

static void on_delivery(pair_t *pr, int i, const ttc_pdu_t *p)
{
    IM__Message__IMMsgData *m = itc_delivered(p);
    if (!m || m->from_user_id != pr->from || m->msg_id < 1 || m->msg_id > N) {
        pr->stray++;
        tt_pb_free(m);
        return;
    }
    uint32_t id = m->msg_id;
    if (id <= pr->last_id)
        pr->out_of_order++;
    else
        pr->last_id = id;
    int k = index_of(m, i);
    if (pr->got[id]++ == 0)
        pr->text_of[id] = k;
    else if (pr->text_of[id] != k)
        pr->wrong_text++;
    tt_pb_free(m);
}

/* Reads whatever the sender and receiver of every pair have (waiting up to ms for any). */
static void pump(pair_t *prs, int ms)
{
    struct pollfd fds[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        fds[2 * i] = (struct pollfd){.fd = prs[i].snd ? ttc_fd(prs[i].snd) : -1, .events = POLLIN};
        fds[2 * i + 1] = (struct pollfd){.fd = ttc_fd(prs[i].rcv), .events = POLLIN};
    }
    poll(fds, 2 * PAIRS, ms);
    for (int i = 0; i < PAIRS; i++) {
        ttc_pdu_t *p;
        while (prs[i].snd && ttc_poll(prs[i].snd, &p) == 0) {
            if (p->command_id == ITC_CID_ACK)
                on_ack(&prs[i], p);
            ttc_pdu_free(p);
        }
        while (ttc_poll(prs[i].rcv, &p) == 0) {
            if (p->command_id == ITC_CID_DATA)
                on_delivery(&prs[i], i, p);
            ttc_pdu_free(p);
        }
    }
}

static int all_delivered(const pair_t *prs)
{
    for (int i = 0; i < PAIRS; i++)
        for (int id = 1; id <= N; id++)
            if (!prs[i].got[id])
                return 0;
    return 1;
}

/* Every msg_id 1..N of the pair appears in its history once, with the text it was acked
 * with; returns the number of ids missing, doubled or wrong. */
static int history_errors(pair_t *pr, int i, const int *index_by_id)
{
    int seen[N + 1] = {0}, wrong = 0;
    uint32_t begin = 0;
    for (int page = 0; page < 10; page++) {
        IM__Message__IMGetMsgListRsp *h = itc_history(pr->rcv, pr->from, begin, 100);
        if (!h || h->n_msg_list == 0) {
            tt_pb_free(h);
            break;
        }
        for (size_t j = 0; j < h->n_msg_list; j++) {
            IM__BaseDefine__MsgInfo *mi = h->msg_list[j];
            char want[64];
            if (mi->msg_id < 1 || mi->msg_id > N || mi->from_session_id != pr->from) {
                wrong++;
                continue;
            }
            seen[mi->msg_id]++;
            fault_text(want, sizeof(want), i, index_by_id[mi->msg_id]);
            wrong += !itc_same_bytes(&mi->msg_data, want);
        }
        begin = h->msg_list[h->n_msg_list - 1]->msg_id;
        tt_pb_free(h);
        if (begin <= 1)
            break;
        begin--;
    }
    for (int id = 1; id <= N; id++)
        wrong += seen[id] != 1;
    return wrong;
}

/* The kills: kill j is asked for once the acks reach the middle of segment j (of KILLS + 1
 * per conversation) and the previous db_proxy_server is back; until it happened, no sender
 * goes past the end of that segment, so every kill comes with the burst in full swing. The
 * restart follows ~1 s after each kill (same port, same config). */
typedef struct faults_s {
    int asked;          /* kills asked for */
    int done;           /* kills done */
    int restarted;      /* restarts asked for */
    int in_middle;      /* kills done with messages in flight and more to come */
    uint64_t killed_ms; /* when the last kill was done */
} faults_t;

static void step_n(const char *what, int n, char *name, size_t len)
{
    snprintf(name, len, "%s.%d", what, n);
}

/* The highest message index a sender may send now (exclusive). */
static int gate(const faults_t *f)
{
    return f->done == KILLS ? N : SEG * (f->done + 1) + SEG / 2;
}

static void drive_faults(faults_t *f, const pair_t *prs, int acked, uint64_t now)
{
    char name[32];
    int back = 1;
    if (f->asked > 0) {
        step_n("restart-db", f->asked - 1, name, sizeof(name));
        back = step_done(name);
    }
    if (f->asked == f->restarted && f->asked < KILLS && back &&
        acked >= PAIRS * (SEG * (f->asked + 1) - SEG / 2)) {
        step_n("kill-db", f->asked++, name, sizeof(name));
        step(name);
    }
    step_n("kill-db", f->done, name, sizeof(name));
    if (f->done < f->asked && step_done(name)) {
        int in_flight = 0;
        for (int i = 0; i < PAIRS; i++)
            in_flight += prs[i].in_flight;
        f->in_middle += in_flight > 0 && acked < PAIRS * N;
        f->killed_ms = now;
        f->done++;
    }
    if (f->restarted < f->done && now - f->killed_ms >= 1000) {
        step_n("restart-db", f->restarted++, name, sizeof(name));
        step(name);
    }
}

/* The checks after the burst; writes STEPS/expected.tsv. */
static void burst_checks(pair_t *prs)
{
    int all_ids_ok = 1, conflicts = 0, bad_acks = 0, missing = 0, doubled = 0, wrong_text = 0;
    int stray = 0, out_of_order = 0, closed = 0, hist = 0;
    char path[512];
    snprintf(path, sizeof(path), "%s/expected.tsv", steps_dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < PAIRS; i++) {
        pair_t *pr = &prs[i];
        /* index_by_id[id]: the message acked with msg_id id */
        int index_by_id[N + 1], times[N + 1] = {0}, ids_ok = 1;
        for (int id = 0; id <= N; id++)
            index_by_id[id] = -1;
        for (int k = 0; k < N; k++) {
            uint32_t id = pr->msg[k].acked_id;
            if (id >= 1 && id <= N) {
                times[id]++;
                index_by_id[id] = k;
            }
        }
        for (int id = 1; id <= N; id++) {
            char text[64];
            ids_ok &= times[id] == 1;
            missing += pr->got[id] == 0;
            doubled += pr->got[id] > 1;
            wrong_text += pr->got[id] && pr->text_of[id] != index_by_id[id];
            if (pr->got[id] != 1 && missing + doubled <= 10)
                printf("  conversation %u->%u: msg_id %d (message %d) delivered %d times\n",
                       pr->from, pr->to, id, index_by_id[id], pr->got[id]);
            fault_text(text, sizeof(text), i, index_by_id[id]);
            if (f && index_by_id[id] >= 0)
                fprintf(f, "%u\t%u\t%d\t%s\n", pr->from, pr->to, id, text);
        }
        conflicts += pr->conflicts;
        bad_acks += pr->bad_acks;
        wrong_text += pr->wrong_text;
        stray += pr->stray;
        out_of_order += pr->out_of_order;
        closed += ttc_is_closed(pr->rcv);
        all_ids_ok &= ids_ok;
        if (ids_ok)
            hist += history_errors(pr, i, index_by_id);
    }
    if (f)
        fclose(f);
    check(f != NULL, "expected rows written to %s", path);
    check(conflicts == 0 && bad_acks == 0,
          "no message acked with two msg_ids (%d), no stray acks (%d)", conflicts, bad_acks);
    check(all_ids_ok, "each conversation's messages were acked with exactly the ids 1..%d", N);
    check(closed == 0, "the receivers stayed connected (%d closed)", closed);
    check(missing == 0 && stray == 0,
          "each receiver got every message of its conversation (%d missing, %d stray)", missing,
          stray);
    check(doubled == 0, "no message delivered twice (%d twice or more)", doubled);
    check(out_of_order == 0, "deliveries in increasing msg_id order (%d out of order)",
          out_of_order);
    check(wrong_text == 0, "each delivered msg_id carries the text it was acked for (%d not)",
          wrong_text);
    check(all_ids_ok && hist == 0, "history holds every message once, with its text (%d errors)",
          hist);
}

static void scenario_burst(uint16_t ms1, uint16_t ms2)
{
    static const char *names[PAIRS][2] = {{"TT021", "TT031"}, {"TT022", "TT032"},
                                          {"TT023", "TT033"}, {"TT024", "TT034"},
                                          {"TT025", "TT035"}, {"TT026", "TT036"}};
    /* where sender and receiver are: 0 MS1, 1 MS2 (four pairs across msg_servers) */
    static const int where[PAIRS][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}, {0, 1}, {1, 0}};
    static pair_t prs[PAIRS];
    const uint16_t port[2] = {ms1, ms2};
    for (int i = 0; i < PAIRS; i++) {
        pair_t *pr = &prs[i];
        pr->from_name = names[i][0];
        pr->to_name = names[i][1];
        pr->from_port = port[where[i][0]];
        pr->to_port = port[where[i][1]];
        pr->snd = itc_login(pr->from_port, pr->from_name, ITC_PC);
        pr->rcv = itc_login(pr->to_port, pr->to_name, ITC_PC);
        if (!pr->snd || !pr->rcv)
            return;
        pr->from = ttc_user_id(pr->snd);
        pr->to = ttc_user_id(pr->rcv);
    }
    const int total = PAIRS * N;
    faults_t f = {0};
    int acked = 0, resends = 0;
    uint64_t t0 = itc_now_ms(), now = t0, all_acked_ms = 0;
    while (now - t0 < DEADLINE_MS) {
        for (int i = 0; i < PAIRS; i++) {
            if (!prs[i].snd || ttc_is_closed(prs[i].snd))
                reconnect(&prs[i], now);
            if (prs[i].snd)
                resends += send_more(&prs[i], i, gate(&f), now);
        }
        pump(prs, 10);
        now = itc_now_ms();
        acked = 0;
        for (int i = 0; i < PAIRS; i++)
            acked += prs[i].acked;
        drive_faults(&f, prs, acked, now);
        if (acked == total && !all_acked_ms)
            all_acked_ms = now;
        /* done when everything is acked and delivered, or 5 s after the last ack */
        if (all_acked_ms && (all_delivered(prs) || now - all_acked_ms > 5000))
            break;
    }
    pump(prs, 500); /* anything delivered twice comes now */
    int reconnects = 0;
    for (int i = 0; i < PAIRS; i++)
        reconnects += prs[i].reconnects;
    printf("burst: %d messages, %d resent copies, %d sender reconnects, %.1f s\n", total,
           resends, reconnects, (double)(now - t0) / 1000);
    check(f.in_middle == KILLS,
          "db_proxy_server was killed %d times in the middle of the burst, messages in flight "
          "(%d of %d)", KILLS, f.in_middle, f.done);
    check(acked == total, "every message acked within %d s in spite of it (%d of %d)",
          DEADLINE_MS / 1000, acked, total);
    burst_checks(prs);
    for (int i = 0; i < PAIRS; i++) {
        ttc_close(prs[i].snd);
        ttc_close(prs[i].rcv);
    }
}

/* ==== scenario B: route_server killed, then restarted ==== */

/* Sends probes from x to y (on another msg_server) every 500 ms until one is delivered live,
 * within deadline_ms; returns the seconds it took (negative: never). A delivered message must
 * be one of the probes, with the id it was acked with. */
static double until_live(ttc_t *x, ttc_t *y, uint32_t base_local_id, int deadline_ms,
                         int *wrong)
{
    enum { MAX_PROBES = 64 };
    uint32_t ids[MAX_PROBES];
    uint64_t t0 = itc_now_ms();
    for (int k = 0; k < MAX_PROBES && itc_now_ms() - t0 < (uint64_t)deadline_ms; k++) {
        char text[48];
        snprintf(text, sizeof(text), "probe %d", k);
        ids[k] = itc_send_text(x, ttc_user_id(y), base_local_id + (uint32_t)k, text);
        IM__Message__IMMsgData *m = itc_recv_msg(y, 500);
        if (!m)
            continue;
        /* which probe is it? */
        int found = 0;
        for (int j = 0; j <= k; j++) {
            snprintf(text, sizeof(text), "probe %d", j);
            found |= m->msg_id == ids[j] && ids[j] != 0 && itc_is_text(m, text) &&
                     m->from_user_id == ttc_user_id(x);
        }
        *wrong += !found;
        tt_pb_free(m);
        return (double)(itc_now_ms() - t0) / 1000;
    }
    return -1;
}

static int is_online(ttc_t *c, uint32_t user)
{
    IM__Buddy__IMUsersStatRsp *r = ttc_users_status(c, &user, 1, 2000, NULL, 0);
    int online = r && r->n_user_stat_list == 1 && r->user_stat_list[0]->user_id == user &&
                 r->user_stat_list[0]->status == ONLINE;
    tt_pb_free(r);
    return online;
}

/* Some message in the first n entries of h has msg_id id, sender from and text. */
static int in_history(const IM__Message__IMGetMsgListRsp *h, uint32_t id, uint32_t from,
                      const char *text)
{
    for (size_t i = 0; h && i < h->n_msg_list; i++) {
        const IM__BaseDefine__MsgInfo *mi = h->msg_list[i];
        if (mi->msg_id == id && mi->from_session_id == from && itc_same_bytes(&mi->msg_data, text))
            return 1;
    }
    return 0;
}

static void scenario_route(uint16_t ms1, uint16_t ms2)
{
    enum { DOWN = 3 }; /* messages sent while route_server is down */
    ttc_t *x = itc_login(ms1, "TT061", ITC_PC), *y = itc_login(ms2, "TT062", ITC_PC);
    if (!x || !y)
        return;
    uint32_t xid = ttc_user_id(x), yid = ttc_user_id(y);
    uint32_t id0 = itc_send_text(x, yid, 8000001, "before");
    check(id0 == 1 && itc_got_text(y, xid, id0, "before"),
          "MS1 -> MS2 live before route_server is killed (msg_id %u)", id0);
    itc_read_ack(y, xid, id0);
    if (!step_wait("kill-route"))
        return;

    /* route_server is gone: stored and acked all the same */
    uint32_t ids[DOWN];
    char text[DOWN][48];
    int acked = 1;
    for (int j = 0; j < DOWN; j++) {
        snprintf(text[j], sizeof(text[j]), "while route_server is down %d", j);
        ids[j] = itc_send_text(x, yid, 8000010 + (uint32_t)j, text[j]);
        acked &= ids[j] == id0 + 1 + (uint32_t)j;
    }
    check(acked, "with route_server down, MS1 -> MS2 messages are stored and acked (%u..%u)",
          ids[0], ids[DOWN - 1]);
    uint32_t reply = itc_send_text(y, xid, 8000020, "reply while down");
    check(reply == id0 + DOWN + 1, "and MS2 -> MS1 too (msg_id %u)", reply);
    /* the receiver catches up: unread count (the read ack of "before" may still be on its
     * way to db_proxy) and history */
    uint32_t unread = 0;
    for (int i = 0; i < 40 && (unread = itc_unread_from(y, xid)) != DOWN; i++)
        usleep(50 * 1000);
    check(unread == DOWN, "the receiver on MS2 has %d unread from MS1's user (%u)", DOWN, unread);
    IM__Message__IMGetMsgListRsp *h = itc_history(y, xid, 0, 10);
    int all = h && h->n_msg_list == DOWN + 2 && in_history(h, reply, yid, "reply while down");
    for (int j = 0; j < DOWN; j++)
        all &= in_history(h, ids[j], xid, text[j]);
    tt_pb_free(h);
    check(all, "and finds them in history");
    check(itc_unread_from(x, yid) == 1, "the other side has its reply unread");
    /* whatever was delivered live meanwhile, each once at most */
    int live = 0, wrong = 0;
    IM__Message__IMMsgData *m;
    while ((m = itc_recv_msg(y, 200))) {
        int known = 0;
        for (int j = 0; j < DOWN; j++)
            known |= m->msg_id == ids[j] && itc_is_text(m, text[j]);
        wrong += !known;
        live++;
        tt_pb_free(m);
    }
    check(wrong == 0, "nothing else reached the receiver while route_server was down (%d "
          "delivered live)", live);

    if (!step_wait("restart-route"))
        return;
    int bad = 0;
    double s1 = until_live(x, y, 8001000, 20000, &bad);
    check(s1 >= 0 && !bad, "after the restart, MS1 -> MS2 is delivered live again (%.1f s)", s1);
    uint32_t next = itc_send_text(x, yid, 8002000, "after the restart");
    check(next && itc_got_text(y, xid, next, "after the restart"),
          "and the next message at once (msg_id %u)", next);
    double s2 = until_live(y, x, 8003000, 20000, &bad);
    check(s2 >= 0 && !bad, "MS2 -> MS1 too (%.1f s)", s2);
    check(itc_nothing_more(y, 300) && itc_nothing_more(x, 100), "nothing delivered twice");
    /* presence: route_server rebuilt who is online where from the msg_servers */
    int seen = 0;
    for (int i = 0; i < 20 && !(seen = is_online(x, yid) && is_online(y, xid)); i++)
        usleep(250 * 1000);
    check(seen, "both users are seen online across msg_servers again");
    ttc_close(x);
    ttc_close(y);
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "burst") != 0 && strcmp(argv[1], "route") != 0)) {
        fprintf(stderr, "usage: it_chat_faults burst|route MS1 MS2 STEPS_DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    steps_dir = argv[4];
    uint16_t ms1 = (uint16_t)atoi(argv[2]), ms2 = (uint16_t)atoi(argv[3]);
    if (strcmp(argv[1], "burst") == 0)
        scenario_burst(ms1, ms2);
    else
        scenario_route(ms1, ms2);
    failures += itc_failures();
    printf("%s: %d failed checks\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
