/* End-to-end: log in and see your company, against real daemons, MariaDB and Redis.
 * Run by it_login.sh in phases:
 *   it_login main LOGIN_URL MS1_PORT MS2_PORT   discovery, logins, sync, presence, kicks,
 *                                               notifications, timeouts, malformed frames
 *   it_login dbdown MS1_PORT                    logins refused cleanly while db_proxy is gone
 *   it_login dbback MS1_PORT                    and accepted again once it is back
 * Prints "ok: ..." / "FAIL: ..." per check; exits 1 if any check failed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T 5000 /* ms */
#define PC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS
#define MAC IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC
#define ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID


static ttc_t *conn(uint16_t port)
{
    char err[256];
    ttc_t *c = ttc_connect("127.0.0.1", port, T, err, sizeof(err));
    if (!c)
        check(0, "connect to %u: %s", port, err);
    return c;
}

/* Connects and logs in; returns the client or NULL (result code in *code when given). */
static ttc_t *login(uint16_t port, const char *user, const char *pw, uint32_t type, int *code)
{
    ttc_t *c = conn(port);
    if (!c)
        return NULL;
    IM__Login__IMLoginRes *res = NULL;
    int rc = ttc_login(c, user, pw, type, T, &res);
    int result = rc == 0 && res ? (int)res->result_code : -1;
    if (code)
        *code = result;
    tt_pb_free(res);
    if (result != 0) {
        ttc_close(c);
        return NULL;
    }
    return c;
}

/* Waits for a notification of command cid; returns the unpacked body or NULL. */
static void *wait_for(ttc_t *c, uint16_t cid, const ProtobufCMessageDescriptor *d, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, cid, ms, &p) != 0 || !p)
        return NULL;
    void *m = tt_pb_unpack(d, p->body, p->body_len);
    int seq = p->seq_num;
    ttc_pdu_free(p);
    if (m && seq != 0)
        check(0, "notification 0x%04x carries seq %d (must be 0)", cid, seq);
    return m;
}

/* Clients that must outlive the short ClientTimeoutPc of this test: heartbeats while waiting. */
static ttc_t *keep[8];

static void keep_alive(void)
{
    static uint64_t last;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now - last < 1000)
        return;
    last = now;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (keep[i])
            ttc_heartbeat(keep[i]);
}

/* Waits until the server has closed c (reading whatever comes first). */
static int closed_within(ttc_t *c, int ms)
{
    for (int waited = 0; waited < ms; waited += 100) {
        keep_alive();
        ttc_pdu_t *p = NULL;
        ttc_wait(c, 0, 100, &p);
        ttc_pdu_free(p);
        if (ttc_is_closed(c))
            return 1;
    }
    return ttc_is_closed(c);
}

static int still_serves(ttc_t *c)
{
    char err[256];
    IM__Message__IMClientTimeRsp *t = ttc_client_time(c, T, err, sizeof(err));
    int ok = t && t->server_time > 1600000000u;
    tt_pb_free(t);
    return ok;
}

static void phase_main(const char *url, uint16_t ms1, uint16_t ms2)
{
    char err[256];
    /* discovery */
    ttc_server_t srv;
    int rc = ttc_discover(url, &srv, err, sizeof(err));
    check(rc == 0 && (srv.port == ms1 || srv.port == ms2), "login_server names one of our msg_servers (%s)",
          rc == 0 ? "answered" : err);

    /* good, wrong, unknown, disabled */
    int code = -1;
    ttc_t *a = login(ms1, "TT001", "test123", PC, &code);
    check(a != NULL, "TT001 logs in on msg_server 1 (result %d)", code);
    ttc_t *x = login(ms1, "TT002", "wrong", PC, &code);
    check(!x && code == IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_DB_VALIDATE_FAILED,
          "wrong password refused with 6 (got %d)", code);
    x = login(ms2, "nobody", "test123", PC, &code);
    check(!x && code == 6, "unknown user refused with 6 (got %d)", code);
    x = login(ms2, "TT099", "test123", PC, &code);
    check(!x && code == 6, "disabled user refused with 6 (got %d)", code);
    x = login(ms2, "x' OR '1'='1", "test123", PC, &code);
    check(!x && code == 6, "SQL in the user name is just a wrong name (got %d)", code);
    if (!a)
        return;

    /* the company, incrementally */
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(a, 0, T, err, sizeof(err));
    check(all && all->n_user_list == 99, "all users: 99 (TT099 has left) (got %zu)",
          all ? all->n_user_list : 0);
    uint32_t t0 = all ? all->latest_update_time : 0;
    int complete = 1;
    for (size_t i = 0; all && i < all->n_user_list; i++)
        if (!all->user_list[i]->user_real_name || !all->user_list[i]->email)
            complete = 0;
    check(complete, "every UserInfo has its required fields");
    tt_pb_free(all);
    IM__Buddy__IMDepartmentRsp *dep = ttc_departments(a, 0, T, err, sizeof(err));
    check(dep && dep->n_dept_list == 5, "departments: 5 (got %zu)", dep ? dep->n_dept_list : 0);
    uint32_t d0 = dep ? dep->latest_update_time : 0;
    tt_pb_free(dep);
    dep = ttc_departments(a, d0, T, err, sizeof(err));
    check(dep && dep->n_dept_list == 0 && dep->latest_update_time == d0,
          "departments since the last sync: none, time echoed");
    tt_pb_free(dep);
    uint32_t ids[] = {1, 2, 999999};
    IM__Buddy__IMUsersInfoRsp *info = ttc_users_info(a, ids, 3, T, err, sizeof(err));
    check(info && info->n_user_info_list == 2, "user info for 1, 2 and a missing id: 2 profiles");
    tt_pb_free(info);

    /* presence across msg_servers */
    ttc_t *b = login(ms2, "TT002", "test123", PC, &code);
    check(b != NULL, "TT002 logs in on msg_server 2 (result %d)", code);
    if (!b)
        return;
    keep[0] = a;
    keep[1] = b;
    ttc_t *c = login(ms1, "TT003", "test123", MAC, &code);
    IM__Buddy__IMUserStatNotify *n = NULL;
    for (int i = 0; i < 5; i++) { /* skip notifications about other users */
        n = wait_for(b, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY,
                     &im__buddy__imuser_stat_notify__descriptor, T);
        if (!n || n->user_stat->user_id == 3)
            break;
        tt_pb_free(n);
    }
    check(c && n && n->user_stat->user_id == 3 && n->user_stat->status == 1,
          "TT002 on server 2 sees TT003 come online on server 1");
    tt_pb_free(n);
    uint32_t q[] = {3, 4};
    IM__Buddy__IMUsersStatRsp *st = ttc_users_status(b, q, 2, T, err, sizeof(err));
    check(st && st->n_user_stat_list == 2 && st->user_stat_list[0]->status == 1 &&
              st->user_stat_list[1]->status == 2,
          "users status: TT003 online, TT004 offline");
    tt_pb_free(st);
    ttc_close(c);
    n = wait_for(b, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY,
                 &im__buddy__imuser_stat_notify__descriptor, T);
    check(n && n->user_stat->user_id == 3 && n->user_stat->status == 2,
          "TT002 sees TT003 go offline");
    tt_pb_free(n);

    /* sign and avatar changes reach users on the other server */
    IM__Buddy__IMChangeSignInfoRsp *sr = ttc_change_sign(a, "hello from TT001", T, err, sizeof(err));
    check(sr && sr->result_code == 0, "sign change accepted");
    tt_pb_free(sr);
    IM__Buddy__IMSignInfoChangedNotify *sn =
        wait_for(b, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
                 &im__buddy__imsign_info_changed_notify__descriptor, T);
    check(sn && sn->changed_user_id == 1 && strcmp(sn->sign_info, "hello from TT001") == 0,
          "TT002 is told TT001's new signature");
    tt_pb_free(sn);
    char longsign[200];
    memset(longsign, 's', sizeof(longsign) - 1);
    longsign[sizeof(longsign) - 1] = 0;
    sr = ttc_change_sign(a, longsign, T, err, sizeof(err));
    check(sr && sr->result_code == 1, "a signature over 128 bytes is refused");
    tt_pb_free(sr);
    IM__Buddy__IMChangeAvatarRsp *ar =
        ttc_change_avatar(a, "http://127.0.0.1:8700/g0/000/000/a.png", T, err, sizeof(err));
    check(ar && ar->result_code == 0, "avatar change accepted");
    tt_pb_free(ar);
    IM__Buddy__IMAvatarChangedNotify *an =
        wait_for(b, IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY,
                 &im__buddy__imavatar_changed_notify__descriptor, T);
    check(an && an->changed_user_id == 1, "TT002 is told TT001's new avatar");
    tt_pb_free(an);
    all = ttc_all_users(b, t0 + 1, T, err, sizeof(err));
    check(all && all->n_user_list == 1 && all->user_list[0]->user_id == 1 &&
              strcmp(all->user_list[0]->sign_info, "hello from TT001") == 0,
          "incremental user sync returns just the changed TT001 (got %zu)",
          all ? all->n_user_list : 0);
    tt_pb_free(all);

    /* duplicate login: the newer PC session wins, across servers; other class untouched */
    ttc_t *d1 = login(ms1, "TT004", "test123", PC, &code);
    ttc_t *m1 = login(ms1, "TT004", "test123", ANDROID, &code);
    ttc_t *d2 = login(ms2, "TT004", "test123", MAC, &code);
    IM__Login__IMKickUser *k = d1 ? wait_for(d1, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER,
                                             &im__login__imkick_user__descriptor, T)
                                  : NULL;
    check(k && k->user_id == 4 && k->kick_reason == 1, "older PC session of TT004 is kicked");
    tt_pb_free(k);
    check(d1 && closed_within(d1, T), "and its connection is closed");
    check(d2 && still_serves(d2), "the new PC session works");
    check(m1 && still_serves(m1), "the mobile session is not kicked");
    keep[2] = d2;
    keep[3] = m1;

    /* a silent client is dropped after the idle timeout; one sending heartbeats is not */
    ttc_t *silent = login(ms1, "TT005", "test123", PC, &code);
    ttc_t *alive = login(ms1, "TT006", "test123", PC, &code);
    for (int i = 0; i < 6 && alive; i++) {
        ttc_heartbeat(alive);
        ttc_pdu_t *p = NULL;
        ttc_wait(alive, 0xffff, 1000, &p);
        ttc_pdu_free(p);
        keep_alive();
    }
    check(silent && ttc_is_closed(silent) + closed_within(silent, 1000) > 0,
          "a silent client is dropped after ClientTimeoutPc");
    check(alive && !ttc_is_closed(alive) && still_serves(alive), "a client sending heartbeats stays");

    /* malformed input from one connection closes it and nobody else */
    static const struct { const char *what; const char *bytes; size_t len; } bad[] = {
        {"length 0", "\x00\x00\x00\x00", 4},
        {"length 5", "\x00\x00\x00\x05xxxxxxxxxxxxxxxx", 20},
        {"length 15", "\x00\x00\x00\x0f\x00\x01\x00\x00\x00\x01\x01\x03\x00\x01\x00", 15},
        {"length above the maximum", "\x7f\xff\xff\xff\x00\x01\x00\x00\x00\x01\x01\x03\x00\x01\x00\x00", 16},
        {"garbage login body",
         "\x00\x00\x00\x18\x00\x01\x00\x00\x00\x01\x01\x03\x00\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff", 24},
        {"random bytes", "\x93\x11\xc4\x08\x7a\x00\x21\x55\xde\xad\xbe\xef\x01\x02\x03\x04\x05", 17},
        {"command before login",
         "\x00\x00\x00\x12\x00\x01\x00\x00\x00\x02\x02\x08\x00\x01\x00\x00\x08\x00", 18},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ttc_t *evil = conn(ms1);
        if (!evil)
            continue;
        ttc_send_raw(evil, bad[i].bytes, bad[i].len);
        check(closed_within(evil, T), "%s: that connection is closed", bad[i].what);
        ttc_close(evil);
    }
    ttc_t *cut = conn(ms1); /* a frame cut off mid-way: waits, then the login deadline */
    if (cut) {
        ttc_send_raw(cut, "\x00\x00\x00\x40\x00\x01\x00\x00\x00\x01\x01\x03", 12);
        check(!closed_within(cut, 500), "a frame cut off mid-way is waited for");
        check(closed_within(cut, 8000), "and the connection dropped at the login deadline");
        ttc_close(cut);
    }
    check(still_serves(a) && still_serves(b), "other clients were not disturbed");

    memset(keep, 0, sizeof(keep));
    IM__Login__IMLogoutRsp *lo = ttc_logout(b, T, err, sizeof(err));
    check(lo && lo->result_code == 0 && closed_within(b, T), "logout answered, then closed");
    tt_pb_free(lo);
    ttc_close(a);
    ttc_close(b);
    ttc_close(d1);
    ttc_close(d2);
    ttc_close(m1);
    ttc_close(silent);
    ttc_close(alive);
}

static void phase_dbdown(uint16_t ms1)
{
    int code = -1;
    ttc_t *c = login(ms1, "TT007", "test123", PC, &code);
    check(!c && code == IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NO_DB_SERVER,
          "without db_proxy a login is refused with 3 (got %d), not left hanging", code);
    ttc_close(c);
}

static void phase_dbback(uint16_t ms1)
{
    int code = -1;
    ttc_t *c = NULL;
    for (int i = 0; i < 60 && !c; i++) { /* the link comes back by itself */
        c = login(ms1, "TT007", "test123", PC, &code);
        if (!c)
            usleep(250000);
    }
    check(c != NULL, "with db_proxy back, logins work again (result %d)", code);
    ttc_close(c);
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "main") == 0)
        phase_main(argv[2], (uint16_t)atoi(argv[3]), (uint16_t)atoi(argv[4]));
    else if (argc >= 3 && strcmp(argv[1], "dbdown") == 0)
        phase_dbdown((uint16_t)atoi(argv[2]));
    else if (argc >= 3 && strcmp(argv[1], "dbback") == 0)
        phase_dbback((uint16_t)atoi(argv[2]));
    else {
        fprintf(stderr, "usage: it_login main URL MS1 MS2 | dbdown MS1 | dbback MS1\n");
        return 2;
    }
    printf("%s: %d failed checks\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
