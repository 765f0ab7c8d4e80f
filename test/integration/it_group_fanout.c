/* A big group's fan-out (issue 9 §2), driven by it_group_fanout.sh, which has made accounts
 * TT001..TTn and group GID with all of them: every member logs in (Android, so logins cost no
 * presence broadcast), alternately on msg_server 1 and 2, and the first SENDERS members also on
 * a PC on the other msg_server; each sender writes MSGS messages; then every member connection
 * must have received each message exactly once, except the connection that sent it (the
 * sender's other device gets it), with the right sender, group, type and text. Correctness
 * only: the times printed are for information.
 * Usage: it_group_fanout MS1 MS2 GID MEMBERS SENDERS MSGS. Exit 1 on any failure. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define LOGIN(x) IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_##x
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define WINDOW 200          /* logins in flight */
#define LOGIN_WAIT_MS 30000 /* for one login answer */
#define DRAIN_MS 40000      /* for every delivery */
#define QUIET_MS 1000       /* after the last expected delivery: duplicates still count */
#define MAX_MEMBERS 5000
#define MAX_SENDERS 16
#define MAX_MSGS 64

typedef struct member_conn_s {
    ttc_t *c;
    uint32_t user;      /* its user id */
    uint32_t expected;  /* deliveries it must get */
    uint32_t received;  /* good first deliveries */
    uint8_t *seen;      /* per message: times delivered */
} member_conn_t;

typedef struct sent_s {
    uint32_t msg_id;
    uint32_t from;   /* sender's user id */
    size_t conn;     /* index of the sending connection */
    char text[64];
} sent_t;

static member_conn_t *conns;
static size_t n_conns;
static sent_t sent[MAX_SENDERS * MAX_MSGS];
static size_t n_sent;
static uint64_t dupes, echoes, strangers, malformed;
static uint32_t group_id;

static void name_of(uint32_t user, char *out, size_t len) { snprintf(out, len, "TT%03u", user); }

/* The msg_server of conns[i]: odd users' first device on 1, even users' on 2, second devices
 * on the other one. */
static uint16_t port_of(size_t i, size_t members, uint16_t p1, uint16_t p2)
{
    int on1 = (conns[i].user & 1) != 0;
    return (i < members ? on1 : !on1) ? p1 : p2;
}

/* Logs conns [from, to) in (PC when second, else Android), WINDOW at a time: connect and send
 * every login, then collect the answers. Returns the number that failed. */
static size_t login_range(size_t from, size_t to, size_t members, uint16_t p1, uint16_t p2,
                          int second)
{
    size_t bad = 0;
    char md5[33];
    ttc_md5_hex("test123", md5);
    for (size_t start = from; start < to; start += WINDOW) {
        size_t end = start + WINDOW < to ? start + WINDOW : to;
        for (size_t i = start; i < end; i++) {
            member_conn_t *m = &conns[i];
            char err[256], name[16];
            name_of(m->user, name, sizeof(name));
            m->c = ttc_connect("127.0.0.1", port_of(i, members, p1, p2), 10000, err,
                               sizeof(err));
            IM__Login__IMLoginReq req = IM__LOGIN__IMLOGIN_REQ__INIT;
            req.user_name = name;
            req.password = md5;
            req.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
            req.client_type = (IM__BaseDefine__ClientType)(second ? ITC_PC : ITC_ANDROID);
            req.client_version = "it_group_fanout";
            if (!m->c || ttc_send(m->c, SID_LOGIN, LOGIN(REQ_USERLOGIN), &req.base, NULL) != 0) {
                printf("  (%s: no connection: %s)\n", name, m->c ? ttc_error(m->c) : err);
                ttc_close(m->c);
                m->c = NULL;
            }
        }
        for (size_t i = start; i < end; i++) {
            member_conn_t *m = &conns[i];
            ttc_pdu_t *p = NULL;
            IM__Login__IMLoginRes *r = NULL;
            if (m->c && ttc_wait(m->c, LOGIN(RES_USERLOGIN), LOGIN_WAIT_MS, &p) == 0 && p)
                r = (IM__Login__IMLoginRes *)tt_pb_unpack(&im__login__imlogin_res__descriptor,
                                                          p->body, p->body_len);
            if (!r || r->result_code != 0 || !r->user_info || r->user_info->user_id != m->user) {
                if (bad++ < 5)
                    printf("  (login of user %u failed: %s)\n", m->user,
                           r ? "refused" : m->c ? ttc_error(m->c) : "not connected");
                ttc_close(m->c);
                m->c = NULL;
            }
            tt_pb_free(r);
            ttc_pdu_free(p);
        }
    }
    return bad;
}

/* One PDU that arrived on conns[i]. */
static void take(size_t i, const ttc_pdu_t *p)
{
    if (p->command_id != IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA)
        return;
    member_conn_t *m = &conns[i];
    IM__Message__IMMsgData *d = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, p->body, p->body_len);
    size_t k = n_sent;
    for (size_t j = 0; d && j < n_sent; j++)
        if (sent[j].msg_id == d->msg_id)
            k = j;
    if (!d || k == n_sent) {
        if (strangers++ < 5)
            printf("  (user %u got an unknown message %u)\n", m->user, d ? d->msg_id : 0);
    } else if (d->from_user_id != sent[k].from || d->to_session_id != group_id ||
               d->msg_type != GTEXT || !itc_same_bytes(&d->msg_data, sent[k].text)) {
        if (malformed++ < 5)
            printf("  (user %u got msg_id %u from %u to %u type %u: not what was sent)\n",
                   m->user, d->msg_id, d->from_user_id, d->to_session_id,
                   (unsigned)d->msg_type);
    } else if (sent[k].conn == i) {
        if (echoes++ < 5)
            printf("  (msg_id %u came back to the connection that sent it)\n", d->msg_id);
    } else if (m->seen[k]++) {
        if (dupes++ < 5)
            printf("  (user %u got msg_id %u %u times)\n", m->user, d->msg_id, m->seen[k]);
    } else {
        m->received++;
    }
    tt_pb_free(d);
}

/* Reads every connection until all have what they expect (or the deadline), then QUIET_MS
 * more. */
static void drain(void)
{
    struct pollfd *pf = calloc(n_conns, sizeof(*pf));
    if (!pf)
        return;
    uint64_t deadline = itc_now_ms() + DRAIN_MS, quiet_until = 0;
    int sweep = 1;
    for (;;) {
        size_t incomplete = 0;
        for (size_t i = 0; i < n_conns; i++) {
            pf[i].fd = conns[i].c ? ttc_fd(conns[i].c) : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        if (!sweep && poll(pf, n_conns, 100) < 0)
            break;
        for (size_t i = 0; i < n_conns; i++) {
            if (!conns[i].c || (!sweep && !pf[i].revents))
                continue;
            ttc_pdu_t *p = NULL;
            while (ttc_poll(conns[i].c, &p) == 0) {
                take(i, p);
                ttc_pdu_free(p);
                p = NULL;
            }
        }
        sweep = 0;
        for (size_t i = 0; i < n_conns; i++)
            incomplete += conns[i].c && conns[i].received < conns[i].expected;
        uint64_t now = itc_now_ms();
        if (!incomplete && !quiet_until)
            quiet_until = now + QUIET_MS;
        if ((quiet_until && now >= quiet_until) || now >= deadline)
            break;
    }
    free(pf);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: it_group_fanout MS1 MS2 GID MEMBERS SENDERS MSGS\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[1]), p2 = (uint16_t)atoi(argv[2]);
    uint32_t gid = (uint32_t)strtoul(argv[3], NULL, 10);
    group_id = gid;
    size_t members = strtoul(argv[4], NULL, 10), senders = strtoul(argv[5], NULL, 10),
           msgs = strtoul(argv[6], NULL, 10);
    if (!gid || members < 2 || members > MAX_MEMBERS || !senders || senders > MAX_SENDERS ||
        senders > members || !msgs || msgs > MAX_MSGS) {
        fprintf(stderr, "it_group_fanout: bad arguments\n");
        return 2;
    }
    /* conns [0, members): user i+1 on msg_server 1 when odd; then each sender's PC on the
     * other one */
    n_conns = members + senders;
    conns = calloc(n_conns, sizeof(*conns));
    if (!conns)
        return 1;
    for (size_t i = 0; i < n_conns; i++) {
        conns[i].user = (uint32_t)(i < members ? i + 1 : i - members + 1);
        conns[i].seen = calloc(senders * msgs, 1);
        if (!conns[i].seen)
            return 1;
    }
    double t0 = itc_now_s();
    size_t bad = 0;
    for (size_t s = 0; s < senders; s++) { /* with ttc_login: ttc_send_msg needs the user id */
        char name[16];
        name_of(conns[s].user, name, sizeof(name));
        conns[s].c = itc_login(port_of(s, members, p1, p2), name, ITC_ANDROID);
        bad += conns[s].c == NULL;
    }
    bad += login_range(senders, members, members, p1, p2, 0);
    bad += login_range(members, n_conns, members, p1, p2, 1);
    double t1 = itc_now_s();
    check(bad == 0, "%zu members and %zu second devices logged in over two msg_servers (%zu "
                    "failed, %.1f s)", members, senders, bad, t1 - t0);
    if (bad)
        return 1;

    /* the senders write, in turns, each message acked before the next */
    int acked = 1;
    for (size_t m = 0; m < msgs && acked; m++)
        for (size_t s = 0; s < senders && acked; s++) {
            sent_t *x = &sent[n_sent];
            x->from = (uint32_t)(s + 1);
            x->conn = s;
            snprintf(x->text, sizeof(x->text), "fan-out %zu from TT%03zu", m, s + 1);
            int rc = ttc_send_msg(conns[s].c, gid, GROUP, GTEXT, x->text, strlen(x->text),
                                  ITC_T, &x->msg_id);
            acked = rc == 0 && x->msg_id;
            if (!acked)
                printf("  (%s: %s)\n", x->text, ttc_error(conns[s].c));
            n_sent++;
        }
    check(acked, "%zu senders wrote %zu messages each to group %u, all acked", senders, msgs,
          gid);
    if (!acked)
        return 1;
    uint64_t total = 0;
    for (size_t i = 0; i < n_conns; i++) {
        for (size_t k = 0; k < n_sent; k++)
            conns[i].expected += sent[k].conn != i;
        total += conns[i].expected;
    }
    double t2 = itc_now_s();
    drain();
    double t3 = itc_now_s();
    uint64_t got_total = 0;
    size_t short_conns = 0;
    for (size_t i = 0; i < n_conns; i++) {
        got_total += conns[i].received;
        if (conns[i].received < conns[i].expected && short_conns++ < 5) {
            size_t k;
            for (k = 0; k < n_sent && (conns[i].seen[k] || sent[k].conn == i); k++)
                ;
            printf("  (connection %zu, user %u: %u of %u; msg_id %u missing)\n", i,
                   conns[i].user, conns[i].received, conns[i].expected,
                   k < n_sent ? sent[k].msg_id : 0);
        }
    }
    check(short_conns == 0 && got_total == total,
          "every member connection got every message but its own: %llu of %llu deliveries "
          "(%zu connections short; %.1f s after the last ack)",
          (unsigned long long)got_total, (unsigned long long)total, short_conns, t3 - t2);
    check(dupes == 0, "no message delivered twice to a connection (%llu)",
          (unsigned long long)dupes);
    check(echoes == 0, "none sent back to the connection that sent it (%llu)",
          (unsigned long long)echoes);
    check(strangers == 0 && malformed == 0,
          "each with the right sender, type and text (%llu unknown, %llu wrong)",
          (unsigned long long)strangers, (unsigned long long)malformed);
    uint64_t dropped = 0;
    for (size_t i = 0; i < n_conns; i++) {
        dropped += ttc_dropped(conns[i].c);
        ttc_close(conns[i].c);
        free(conns[i].seen);
    }
    check(dropped == 0, "no client queue overflowed (%llu dropped)", (unsigned long long)dropped);
    free(conns);
    int fails = failures + itc_failures();
    printf("%s: %d failed\n", fails ? "FAIL" : "ok", fails);
    return fails ? 1 : 0;
}
