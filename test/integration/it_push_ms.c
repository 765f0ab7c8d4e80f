/* Who gets a push (msg_server push.c, route_server's presence answer, db_proxy's tokens and
 * badges), driven by it_push_ms.sh: two msg_servers, both with a push_recorder.py standing in
 * for push_server, group GID = users 1..6 with user 5 shielding it. Users: 1 sends (PC, ms1);
 * 2 registered an iOS token and went away without logging out (normal pushes); 3 did the same
 * and is on a PC (ms2: silent pushes); 4 keeps its iOS client connected (ms2: no push); 5 has a
 * token and shields the group; 6 is on a PC (ms1) without a token. Checks: one request per
 * message with exactly the right tokens, types, alert, custom data and badge (total unread,
 * single + group); a group message decided once although its members are on both
 * msg_servers; with the recorder killed (its pid given) messages are still acked and
 * delivered.
 * With "route-down" (a new recorder; the pid given is route_server's, stopped with SIGTERM
 * once users 1 and 3 logged in: logins need route_server): a decision that cannot ask
 * route_server pushes as normal — user 3 on a PC gets a normal push then, user 2 still one.
 * Usage: it_push_ms MS1 MS2 RECORD_FILE PID GID [route-down]. Exit 1 on any failure. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Login.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "ttc_crypto.h"

#define IOS IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS
#define GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define WAIT_MS 5000  /* for a push request */
#define QUIET_MS 1500 /* for one that must not come */

static const char *record;
static ttc_cipher_t cipher;

static void token_of(uint32_t user, char out[65])
{
    for (int i = 0; i < 64; i++)
        out[i] = "0123456789abcdef"[(user * 7 + (uint32_t)i) % 16];
    out[64] = '\0';
}

/* Lines in the record file. */
static size_t lines(void)
{
    FILE *f = fopen(record, "r");
    size_t n = 0;
    int ch;
    if (!f)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

/* Waits until the record has more than `have` lines (at most ms); returns the count. */
static size_t wait_lines(size_t have, int ms)
{
    uint64_t end = itc_now_ms() + (uint64_t)ms;
    size_t n;
    while ((n = lines()) <= have && itc_now_ms() < end)
        usleep(50000);
    return n;
}

/* Record line i (0-based), parsed (json_decref), or NULL. */
static json_t *line_at(size_t i)
{
    FILE *f = fopen(record, "r");
    char buf[8192];
    json_t *j = NULL;
    for (size_t k = 0; f && fgets(buf, sizeof(buf), f); k++)
        if (k == i) {
            j = json_loads(buf, 0, NULL);
            break;
        }
    if (f)
        fclose(f);
    return j;
}

/* The token entry of user in a request, NULL when it has none; *count entries of it. */
static json_t *entry_of(json_t *req, uint32_t user, int *count)
{
    json_t *toks = json_object_get(req, "tokens"), *found = NULL;
    size_t i;
    json_t *t;
    *count = 0;
    json_array_foreach(toks, i, t)
    {
        if (json_integer_value(json_object_get(t, "user_id")) == user) {
            found = t;
            (*count)++;
        }
    }
    return found;
}

static long long field(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* Checks the entry of user in req: one, iOS, its token, push_type, badge (-1: any > 0). */
static void check_entry(json_t *req, uint32_t user, int type, long long badge, const char *what)
{
    int n;
    json_t *e = entry_of(req, user, &n);
    char tok[65];
    token_of(user, tok);
    if (!check(e && n == 1, "%s: one token of user %u", what, user))
        return;
    check(field(e, "push_type") == type, "%s: user %u push_type %lld, want %d", what, user,
          field(e, "push_type"), type);
    check(field(e, "user_type") == IOS, "%s: user %u user_type iOS", what, user);
    check(strcmp(json_string_value(json_object_get(e, "token")), tok) == 0,
          "%s: user %u its token", what, user);
    if (badge < 0)
        check(field(e, "push_count") > 0, "%s: user %u badge %lld > 0", what, user,
              field(e, "push_count"));
    else
        check(field(e, "push_count") == badge, "%s: user %u badge %lld, want %lld", what, user,
              field(e, "push_count"), badge);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A message is delivered to c within ITC_T. */
static int got(ttc_t *c)
{
    IM__Message__IMMsgData *m = itc_recv_msg(c, ITC_T);
    tt_pb_free(m);
    return m != NULL;
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

/* The next request must come, alone, for this message: returns it (json_decref) or NULL. */
static json_t *one_request(size_t *have, const char *what)
{
    size_t n = wait_lines(*have, WAIT_MS);
    if (!check(n > *have, "%s: a push request", what))
        return NULL;
    json_t *r = line_at(*have);
    usleep(QUIET_MS * 1000);
    n = lines();
    check(n == *have + 1, "%s: exactly one request (%zu)", what, n - *have);
    *have = n;
    return r;
}

static ttc_t *register_token(uint16_t port, const char *name, uint32_t user)
{
    ttc_t *c = itc_login(port, name, IOS);
    char tok[65], err[256];
    token_of(user, tok);
    IM__Login__IMDeviceTokenRsp *r = c ? ttc_device_token(c, tok, ITC_T, err, sizeof(err)) : NULL;
    check(r != NULL, "%s registers an iOS token", name);
    tt_pb_free(r);
    return c;
}

/* route_server is down: no presence to ask, normal pushes. */
static int route_down(uint16_t p1, uint16_t p2, pid_t route)
{
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *c3 = itc_login(p2, "TT003", ITC_PC);
    if (!c1 || !c3)
        return 1;
    usleep(300000); /* route_server hears of the logins */
    kill(route, SIGTERM);
    usleep(1000000); /* both msg_servers see their route link go */
    size_t have = lines();
    check(send_text(c1, 2, 0, "no route") != 0, "route down: 1 -> 2 acked");
    json_t *r = one_request(&have, "route down: 1 -> 2");
    if (r) {
        check_entry(r, 2, 1, -1, "route down: 1 -> 2");
        json_decref(r);
    }
    check(send_text(c1, 3, 0, "no route to your pc") != 0, "route down: 1 -> 3 acked");
    r = one_request(&have, "route down: 1 -> 3");
    if (r) {
        check_entry(r, 3, 1, -1, "route down: 1 -> 3 (normal: nobody to ask)");
        json_decref(r);
    }
    ttc_close(c1);
    ttc_close(c3);
    ttc_cipher_free(&cipher);
    return failures + itc_failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "route-down") == 0)) {
        fprintf(stderr, "usage: it_push_ms MS1 MS2 RECORD_FILE RECORDER_PID GID [route-down]\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[1]), p2 = (uint16_t)atoi(argv[2]);
    record = argv[3];
    pid_t recorder = (pid_t)atoi(argv[4]);
    uint32_t gid = (uint32_t)atoi(argv[5]);
    if (ttc_cipher_init(&cipher, TTC_TT_KEY) < 0)
        return 2;
    if (argc == 7)
        return route_down(p1, p2, recorder);

    /* tokens: 2, 3, 5 go away without logging out (the token stays); 4 stays */
    ttc_t *t2 = register_token(p2, "TT002", 2);
    ttc_t *t3 = register_token(p2, "TT003", 3);
    ttc_t *c4 = register_token(p2, "TT004", 4);
    ttc_t *t5 = register_token(p1, "TT005", 5);
    ttc_close(t2);
    ttc_close(t3);
    ttc_close(t5);
    ttc_t *c1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *c3 = itc_login(p2, "TT003", ITC_PC);
    ttc_t *c6 = itc_login(p1, "TT006", ITC_PC);
    if (!c1 || !c3 || !c4 || !c6)
        return 1;
    usleep(500000); /* route_server hears of the closes */
    size_t have = lines();
    check(have == 0, "no push before any message");

    /* 1 -> 2: offline, token: a normal push, badge 1 */
    check(send_text(c1, 2, 0, "hello push") != 0, "1 -> 2 acked");
    json_t *r = one_request(&have, "1 -> 2");
    if (r) {
        check_entry(r, 2, 1, 1, "1 -> 2");
        check(json_array_size(json_object_get(r, "tokens")) == 1, "1 -> 2: only user 2");
        check(strcmp(str(r, "flash"), "User 001:hello push") == 0, "1 -> 2: flash '%s'",
              str(r, "flash"));
        check(strcmp(str(r, "data"), "{\"msg_type\":1,\"from_id\":1}") == 0,
              "1 -> 2: data '%s'", str(r, "data"));
        json_decref(r);
    }
    /* 1 -> 4: its iOS client is connected (on the other msg_server): no push */
    check(send_text(c1, 4, 0, "you are here") != 0, "1 -> 4 acked");
    check(wait_lines(have, QUIET_MS) == have, "1 -> 4: no push (mobile connected)");
    /* 1 -> 3: on a PC: silent */
    check(send_text(c1, 3, 0, "on your pc") != 0, "1 -> 3 acked");
    check(got(c3), "1 -> 3 delivered to its PC");
    r = one_request(&have, "1 -> 3");
    if (r) {
        check_entry(r, 3, 2, -1, "1 -> 3");
        json_decref(r);
    }
    /* an image, and a long text cut at a character boundary */
    check(send_text(c1, 2, 0, "&$#@~^@[{:http://x/y.jpg:}]&$~@#@") != 0, "image 1 -> 2 acked");
    r = one_request(&have, "image 1 -> 2");
    if (r) {
        check(strcmp(str(r, "flash"), "您收到了一条消息") == 0, "image: generic flash '%s'",
              str(r, "flash"));
        check_entry(r, 2, 1, 2, "image 1 -> 2");
        json_decref(r);
    }
    check(send_text(c1, 2, 0, "一二三四五六七八九十一二三四五六七八九十") != 0, "long 1 -> 2 acked");
    r = one_request(&have, "long 1 -> 2");
    if (r) {
        check(strcmp(str(r, "flash"), "User 001:一二三四五六七八九...") == 0,
              "long: cut flash '%s'", str(r, "flash"));
        json_decref(r);
    }

    /* a group message: members on both msg_servers; decided once, on ms1: 2 normal (badge 3
     * single + 1 group), 3 silent, 4 (mobile) and 5 (shields) none, 1 (sender) never */
    uint32_t gm = send_text(c1, gid, 1, "group hi");
    check(gm != 0, "group message acked");
    check(got(c3), "group message delivered to 3 (ms2)");
    check(got(c6), "group message delivered to 6 (ms1)");
    r = one_request(&have, "group");
    if (r) {
        int n;
        check_entry(r, 2, 1, 4, "group");
        check_entry(r, 3, 2, -1, "group");
        check(!entry_of(r, 4, &n), "group: no push to 4 (mobile connected)");
        check(!entry_of(r, 5, &n), "group: no push to 5 (shields the group)");
        check(!entry_of(r, 1, &n), "group: never the sender");
        check(json_array_size(json_object_get(r, "tokens")) == 2, "group: two tokens");
        check(strcmp(str(r, "flash"), "User 001:group hi") == 0, "group: flash '%s'",
              str(r, "flash"));
        char want[96];
        snprintf(want, sizeof(want), "{\"msg_type\":17,\"from_id\":1,\"group_id\":%u}", gid);
        check(strcmp(str(r, "data"), want) == 0, "group: data '%s'", str(r, "data"));
        json_decref(r);
    }

    /* push_server gone: chat goes on */
    kill(recorder, SIGKILL);
    usleep(300000);
    for (int i = 0; i < 5; i++) {
        check(send_text(c1, 3, 0, "still here") != 0, "without push_server: 1 -> 3 acked (%d)", i);
        check(got(c3), "without push_server: delivered to 3 (%d)", i);
        check(send_text(c1, 2, 0, "offline") != 0, "without push_server: 1 -> 2 acked (%d)", i);
    }
    check(send_text(c1, gid, 1, "group again") != 0, "without push_server: group acked");
    check(got(c6), "without push_server: group delivered to 6");
    check(got(c3), "without push_server: group delivered to 3");
    check(lines() == have, "nothing recorded after the recorder died");
    usleep(500000); /* the last decision ends while 4's phone is still connected */
    ttc_close(c1);
    ttc_close(c3);
    ttc_close(c4);
    ttc_close(c6);
    ttc_cipher_free(&cipher);
    return failures + itc_failures() ? 1 : 0;
}
