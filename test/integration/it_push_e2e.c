/* Mobile push end to end (issue 12), driven by it_push_e2e.sh: clients on the wire, two
 * msg_servers, route_server, db_proxy_server, the real push_server, h2_stand.py as APNs and
 * FCM. This program sends the messages and waits for what reaches the stand-in (its JSON-line
 * log); push_e2e_check.py checks the requests' form afterwards. Users (group GID = 1..6, user
 * 5 shields it): 1 sends (PC, ms1); 2 registered an iOS token and went away without logging
 * out; 3 the same with an Android token (FCM); 4 has an iOS token and is on a PC (ms2: silent);
 * 5 has an iOS token and shields the group; 6 is on a PC (ms2) without a token; 7's iOS token
 * is answered 410 and 8's Android token UNREGISTERED (the stand-in's script).
 * Usage: it_push_e2e MS1 MS2 H2LOG REDIS_PORT GID PHASE, PHASE one of
 *   setup   tokens registered (IMDeviceTokenReq from iOS / Android clients), clients closed
 *           without logout, until every one of them is offline;
 *   main    one request per offline device, a silent one for 4, none for 5, one per device
 *           for a group message over both msg_servers, 7 and 8's tokens gone from Redis
 *           after their answers and no request for them afterwards;
 *   down    (push_server killed) messages acked at once and delivered, nothing at the stand-in;
 *   resume  (push_server restarted) 2 and 3 pushed again.
 * Exit 1 on any failure. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "ttc_crypto.h"

#define IOS IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS
#define GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define OFFLINE IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE
#define WAIT_MS 8000  /* for a request at the stand-in */
#define QUIET_MS 700  /* after the awaited ones, for one that must not come */

static const char *h2log;
static int redis_port;
static ttc_cipher_t cipher;

/* The device token of user u, as the stand-in sees it (APNs: 64 hex; FCM: a name). */
static const char *token_of(uint32_t u)
{
    static char buf[9][72];
    if (u == 3)
        return "fcm-three";
    if (u == 8)
        return "fcm-gone-eight";
    for (int i = 0; i < 64; i++)
        buf[u][i] = "0123456789abcdef"[(u * 5 + (uint32_t)i) % 16];
    buf[u][64] = '\0';
    return buf[u];
}

/* Requests at the stand-in for user u's token so far. */
static int count(uint32_t u)
{
    FILE *f = fopen(h2log, "r");
    char line[16384], path[128];
    int n = 0;
    if (!f)
        return 0;
    snprintf(path, sizeof(path), "/3/device/%s", token_of(u));
    while (fgets(line, sizeof(line), f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *p = json_string_value(json_object_get(j, "path"));
        if (p && strcmp(p, path) == 0)
            n++;
        else if (p && strncmp(p, "/v1/", 4) == 0) {
            json_t *b = json_loads(json_string_value(json_object_get(j, "body")), 0, NULL);
            json_t *m = json_object_get(b, "message");
            const char *t = json_string_value(json_object_get(m, "token"));
            n += t && strcmp(t, token_of(u)) == 0;
            json_decref(b);
        }
        json_decref(j);
    }
    fclose(f);
    return n;
}

/* All requests at the stand-in (the token endpoint's too). */
static int total(void)
{
    FILE *f = fopen(h2log, "r");
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* Waits until user u has `want` requests (at most WAIT_MS); 1 when reached. */
static int wait_count(uint32_t u, int want)
{
    uint64_t end = itc_now_ms() + WAIT_MS;
    while (count(u) < want && itc_now_ms() < end)
        usleep(50000);
    return count(u) >= want;
}

/* 1 when Redis (pool "token", db 4) still has user u's token. */
static int redis_has_token(uint32_t u)
{
    char cmd[128], out[64] = "";
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d -n 4 EXISTS push_token_%u", redis_port, u);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    pclose(p);
    return atoi(out);
}

static uint32_t send_text(ttc_t *c, uint32_t to, int group, const char *text)
{
    char enc[4096];
    long n = ttc_tt_encrypt(&cipher, text, strlen(text), enc, sizeof(enc));
    uint32_t id = 0;
    if (n < 0 || ttc_send_msg(c, to, group ? GROUP : ITC_SINGLE, group ? GTEXT : ITC_TEXT, enc,
                              (size_t)n, ITC_T, &id) != 0)
        return 0;
    return id;
}

/* A message is delivered to c within ITC_T. */
static int got(ttc_t *c)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, ITC_T);
    tt_pb_free(m);
    return m != NULL;
}

/* Users ids[0..n) all offline, as c's msg_server (and route_server) sees them, within 10 s. */
static int all_offline(ttc_t *c, const uint32_t *ids, size_t n)
{
    uint64_t end = itc_now_ms() + 10000;
    char err[256];
    do {
        IM__Buddy__IMUsersStatRsp *r = ttc_users_status(c, ids, n, ITC_T, err, sizeof(err));
        size_t off = 0;
        for (size_t i = 0; r && i < r->n_user_stat_list; i++)
            off += r->user_stat_list[i]->status == OFFLINE;
        size_t got_n = r ? r->n_user_stat_list : 0;
        tt_pb_free(r);
        if (got_n == n && off == n)
            return 1;
        usleep(100000);
    } while (itc_now_ms() < end);
    return 0;
}

static void register_token(uint16_t port, const char *name, uint32_t u, uint32_t type)
{
    ttc_t *c = itc_login(port, name, type);
    char err[256];
    IM__Login__IMDeviceTokenRsp *r = c ? ttc_device_token(c, token_of(u), ITC_T, err, sizeof(err))
                                       : NULL;
    check(r != NULL, "%s registers its %s token", name, type == IOS ? "iOS" : "Android");
    tt_pb_free(r);
    if (c)
        ttc_close(c); /* no logout: the token stays */
}

static int setup(uint16_t p1, uint16_t p2)
{
    register_token(p2, "TT002", 2, IOS);
    register_token(p1, "TT003", 3, ITC_ANDROID);
    register_token(p1, "TT004", 4, IOS);
    register_token(p2, "TT005", 5, IOS);
    register_token(p1, "TT007", 7, IOS);
    register_token(p2, "TT008", 8, ITC_ANDROID);
    for (uint32_t u = 2; u <= 8; u++)
        if (u != 6)
            check(redis_has_token(u) == 1, "user %u's token stored", u);
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    const uint32_t ids[] = {2, 3, 4, 5, 7, 8};
    check(c1 && all_offline(c1, ids, 6), "every token owner is offline");
    if (c1)
        ttc_close(c1);
    return 0;
}

/* 1 sends to `to` (single); checks the ack and that user `to` gets its next request. */
static void single_pushed(ttc_t *c1, uint32_t to, const char *text, const char *what)
{
    int before = count(to);
    check(send_text(c1, to, 0, text) != 0, "%s: acked", what);
    check(wait_count(to, before + 1), "%s: a request for user %u's token", what, to);
}

static int main_phase(uint16_t p1, uint16_t p2, uint32_t gid)
{
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *c4 = itc_login(p2, "TT004", ITC_PC);
    ttc_t *c6 = itc_login(p2, "TT006", ITC_PC);
    if (!c1 || !c4 || !c6)
        return 1;
    check(total() == 0, "nothing at the stand-in before the first message");

    single_pushed(c1, 2, "hello ios", "1 -> 2 (iOS, offline)");
    single_pushed(c1, 3, "hello android", "1 -> 3 (Android, offline)");
    check(send_text(c1, 4, 0, "on your pc") != 0, "1 -> 4 (PC online): acked");
    check(got(c4), "1 -> 4: delivered to its PC");
    check(wait_count(4, 1), "1 -> 4: a (silent) request for its iOS token");

    /* group: members on both msg_servers; one request per device, none for 5 */
    check(send_text(c1, gid, 1, "group hi") != 0, "group message acked");
    check(got(c4), "group message delivered to 4 (ms2)");
    check(got(c6), "group message delivered to 6 (ms2)");
    check(wait_count(2, 2) && wait_count(3, 2) && wait_count(4, 2),
          "group: a request for each of 2, 3 and 4");
    usleep(QUIET_MS * 1000);
    check(count(2) == 2 && count(3) == 2 && count(4) == 2,
          "group: exactly one request per device (%d %d %d)", count(2) - 1, count(3) - 1,
          count(4) - 1);
    check(count(5) == 0, "group: none for 5 (shields the group)");

    /* unregistered tokens */
    single_pushed(c1, 7, "to a gone phone", "1 -> 7 (APNs answers 410)");
    single_pushed(c1, 8, "to a gone android", "1 -> 8 (FCM answers UNREGISTERED)");
    uint64_t end = itc_now_ms() + WAIT_MS;
    while ((redis_has_token(7) || redis_has_token(8)) && itc_now_ms() < end)
        usleep(50000);
    check(redis_has_token(7) == 0, "user 7's token gone from Redis after the 410");
    check(redis_has_token(8) == 0, "user 8's token gone from Redis after UNREGISTERED");
    check(send_text(c1, 7, 0, "again") != 0 && send_text(c1, 8, 0, "again") != 0,
          "1 -> 7, 1 -> 8 again: acked");
    single_pushed(c1, 2, "after the gone ones", "1 -> 2 (sent after them)");
    usleep(QUIET_MS * 1000);
    check(count(7) == 1 && count(8) == 1, "no request for the gone tokens (%d %d)", count(7),
          count(8));
    check(count(2) == 3 && count(3) == 2 && count(4) == 2 && count(5) == 0,
          "nobody else pushed");
    ttc_close(c1);
    ttc_close(c4);
    ttc_close(c6);
    return 0;
}

/* push_server is dead: chat as usual, acks at once, nothing reaches the stand-in. */
static int down_phase(uint16_t p1, uint16_t p2, uint32_t gid)
{
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *c4 = itc_login(p2, "TT004", ITC_PC);
    ttc_t *c6 = itc_login(p2, "TT006", ITC_PC);
    if (!c1 || !c4 || !c6)
        return 1;
    int before = total();
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = itc_now_ms();
        check(send_text(c1, 4, 0, "no push_server") != 0, "down: 1 -> 4 acked (%d)", i);
        uint64_t ms = itc_now_ms() - t0;
        check(ms < 1000, "down: ... within %llu ms", (unsigned long long)ms);
        check(got(c4), "down: delivered to 4 (%d)", i);
        check(send_text(c1, 2, 0, "offline, no push") != 0, "down: 1 -> 2 acked (%d)", i);
    }
    check(send_text(c1, gid, 1, "group, no push") != 0, "down: group acked");
    check(got(c4) && got(c6), "down: group delivered to 4 and 6");
    usleep(QUIET_MS * 1000);
    check(total() == before, "down: nothing at the stand-in (%d new)", total() - before);
    ttc_close(c1);
    ttc_close(c4);
    ttc_close(c6);
    return 0;
}

static int resume_phase(uint16_t p1)
{
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    if (!c1)
        return 1;
    int n4 = count(4), n5 = count(5);
    single_pushed(c1, 2, "push is back", "resumed: 1 -> 2");
    single_pushed(c1, 3, "push is back", "resumed: 1 -> 3");
    check(count(2) == 4 && count(3) == 3, "resumed: one request each (%d %d)", count(2), count(3));
    check(count(4) == n4 && count(5) == n5, "resumed: nobody else pushed");
    ttc_close(c1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: it_push_e2e MS1 MS2 H2LOG REDIS_PORT GID setup|main|down|resume\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[1]), p2 = (uint16_t)atoi(argv[2]);
    h2log = argv[3];
    redis_port = atoi(argv[4]);
    uint32_t gid = (uint32_t)atoi(argv[5]);
    const char *phase = argv[6];
    if (ttc_cipher_init(&cipher, TTC_TT_KEY) < 0)
        return 2;
    int rc = 2;
    if (strcmp(phase, "setup") == 0)
        rc = setup(p1, p2);
    else if (strcmp(phase, "main") == 0)
        rc = main_phase(p1, p2, gid);
    else if (strcmp(phase, "down") == 0)
        rc = down_phase(p1, p2, gid);
    else if (strcmp(phase, "resume") == 0)
        rc = resume_phase(p1);
    ttc_cipher_free(&cipher);
    return rc || failures || itc_failures() ? (rc == 2 ? 2 : 1) : 0;
}
