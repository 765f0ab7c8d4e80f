/* ttcli: a command-line TeamTalk client. Asks login_server for a msg_server (or takes one with
 * -m), logs in and runs one command: login, whoami, users, departments, online, watch, sign,
 * send, chat, history, unread, sessions, groups, group create|add|remove|leave. Texts are
 * encrypted and decrypted with the shipped clients' cipher and key (PROTOCOL §6.2).
 * Output is plain, line-oriented and stable (tests grep it); errors go to stderr as
 * "ttcli: ..." and the exit status is 0 on success, 1 on any error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tt_client.h"
#include "ttc_crypto.h"
#include "ttc_http.h"

#define DEFAULT_URL "http://127.0.0.1:8080/msg_server"
#define STATUS_CHUNK 200           /* user ids per users-status request */
#define HEARTBEAT_MS 30000         /* watch: heartbeat period */
#define WATCH_SLICE_MS 500         /* watch: how often the stop flag is looked at */

/* Command line and session. */
typedef struct cli_s {
    const char *url;         /* login_server discovery URL (-s) */
    const char *direct;      /* HOST:PORT of a msg_server (-m), or NULL */
    const char *user;        /* login name (-u) */
    char password[256];      /* plain password (-p, TT_PASSWORD or prompt) */
    uint32_t client_type;    /* -t */
    const char *type_name;   /* -t as given ("pc", ...) */
    int timeout_ms;          /* per request (-w) */
    char host[256];          /* msg_server used */
    uint16_t port;           /* its port */
    ttc_t *c;                /* the connection */
    IM__Login__IMLoginRes *login; /* the login answer */
} cli_t;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ttcli [-s URL | -m HOST:PORT] -u USER [-p PASSWORD] [-t TYPE] [-w SECONDS]\n"
            "             COMMAND [ARG...]\n"
            "\n"
            "commands:\n"
            "  login        log in; print your profile and the server time\n"
            "  whoami       log in; print who you are and where\n"
            "  users        all users: id, login name, nick, department, status, sign\n"
            "  departments  all departments: id, name, parent, priority, status\n"
            "  online       users online now: id, login name, nick, status\n"
            "  watch        stay connected, print presence, signature, avatar, kick and\n"
            "               message notifications one per line with a time stamp, until Ctrl-C\n"
            "               (exit 0) or a kick or closed connection (exit 1)\n"
            "  sign TEXT    set your signature\n"
            "  send PEER TEXT     send one message; PEER is a login name (TT002), a user id\n"
            "                     or group:GID\n"
            "  chat PEER          talk: messages are printed as they arrive, each line you\n"
            "                     type is sent, Ctrl-D (or the end of a pipe) leaves\n"
            "  history PEER [N]   the last N messages (default 20), oldest first\n"
            "  unread             unread counts per conversation\n"
            "  sessions           recent conversations, newest first\n"
            "  groups             your groups: id, type, name, version, mute, members\n"
            "  group create NAME USER...   make a temporary group (you are in it)\n"
            "  group add GID USER...       add members\n"
            "  group remove GID USER...    remove members\n"
            "  group leave GID             leave a group\n"
            "\n"
            "options:\n"
            "  -s URL        login_server discovery URL (default " DEFAULT_URL ")\n"
            "  -m HOST:PORT  use this msg_server directly, without login_server\n"
            "  -u USER       login name\n"
            "  -p PASSWORD   password (default: $TT_PASSWORD, else asked without echo)\n"
            "  -t TYPE       client type: pc (default), mac, ios, android\n"
            "  -w SECONDS    time allowed per request (default 10)\n"
            "  -h            this help\n"
            "\n"
            "exit status: 0 ok, 1 error (the reason is printed on stderr)\n");
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("ttcli: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* ---- small helpers ---- */

static const struct {
    const char *name;
    uint32_t type;
} client_types[] = {
    {"pc", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS},
    {"windows", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS},
    {"mac", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_MAC},
    {"ios", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS},
    {"android", IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID},
};

/* Prints s with tabs, newlines and other control characters turned into spaces. */
static void put_clean(const char *s)
{
    for (; s && *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static const char *presence_name(int status)
{
    switch (status) {
    case IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE: return "online";
    case IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE: return "offline";
    case IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_LEAVE: return "leave";
    default: return "unknown";
    }
}

/* Employment status of UserInfo.status. */
static const char *employment_name(uint32_t status, char *buf, size_t len)
{
    static const char *names[] = {"active", "probation", "regular", "resigned", "intern"};
    if (status < sizeof(names) / sizeof(names[0]))
        return names[status];
    snprintf(buf, len, "%u", status);
    return buf;
}

static const char *kick_reason(uint32_t r)
{
    switch (r) {
    case IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER: return "duplicate login";
    case IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_MOBILE_KICK: return "kicked from mobile";
    default: return "unknown reason";
    }
}

static void format_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Reads a password from the terminal without echo. 0 ok, -1 no terminal. */
static int prompt_password(const char *user, char *out, size_t len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char prompt[300];
    int n = snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
    if (write(fd, prompt, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    struct termios old, quiet;
    int have_tc = tcgetattr(fd, &old) == 0;
    if (have_tc) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    size_t used = 0;
    int rc = -1;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR && !stop_flag)
            continue;
        if (r <= 0)
            break;
        if (ch == '\n' || ch == '\r') {
            rc = 0;
            break;
        }
        if (used + 1 < len)
            out[used++] = ch;
    }
    out[used] = 0;
    if (have_tc)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0)
        rc = -1;
    close(fd);
    return rc;
}

/* "host:port" or "[v6]:port". */
static int parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (end == colon + 1 || *end || errno || p == 0 || p > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (uint16_t)p;
    return 0;
}

/* ---- session ---- */

/* Finds a msg_server, connects and logs in. 0 ok, else the exit status. */
static int open_session(cli_t *cli)
{
    char err[512];
    ttc_server_t srv;
    const char *second = NULL;
    if (cli->direct) {
        if (parse_hostport(cli->direct, cli->host, sizeof(cli->host), &cli->port) < 0)
            return die("bad -m %s (want HOST:PORT)", cli->direct);
    } else {
        if (ttc_discover_timeout(cli->url, cli->timeout_ms, &srv, err, sizeof(err)) < 0)
            return die("%s", err);
        snprintf(cli->host, sizeof(cli->host), "%s", srv.prior_ip);
        cli->port = srv.port;
        if (strcmp(srv.backup_ip, srv.prior_ip) != 0)
            second = srv.backup_ip;
    }
    cli->c = ttc_connect(cli->host, cli->port, cli->timeout_ms, err, sizeof(err));
    if (!cli->c && second) {
        char err2[512];
        cli->c = ttc_connect(second, cli->port, cli->timeout_ms, err2, sizeof(err2));
        if (cli->c)
            snprintf(cli->host, sizeof(cli->host), "%s", second);
    }
    if (!cli->c)
        return die("msg_server: %s", err);
    int rc = ttc_login(cli->c, cli->user, cli->password, cli->client_type, cli->timeout_ms,
                       &cli->login);
    if (rc != 0)
        return die("login failed: %s", ttc_error(cli->c));
    if (cli->login->result_code != 0)
        return die("login refused: %s (result %d)",
                   cli->login->result_string && cli->login->result_string[0]
                       ? cli->login->result_string
                       : "no reason given",
                   (int)cli->login->result_code);
    if (!cli->login->user_info)
        return die("login answer has no user profile");
    return 0;
}

/* ---- commands ---- */

static int cmd_login(cli_t *cli)
{
    const IM__Login__IMLoginRes *r = cli->login;
    const IM__BaseDefine__UserInfo *u = r->user_info;
    char when[64], buf[16];
    format_time((time_t)r->server_time, when, sizeof(when));
    printf("result: %s\n", r->result_string ? r->result_string : "");
    printf("user_id: %u\n", u->user_id);
    printf("name: ");
    put_clean(u->user_real_name);
    printf("\nnick: ");
    put_clean(u->user_nick_name);
    printf("\ngender: %u\ndepartment_id: %u\nemail: ", u->user_gender, u->department_id);
    put_clean(u->email);
    printf("\nphone: ");
    put_clean(u->user_tel);
    printf("\ndomain: ");
    put_clean(u->user_domain);
    printf("\navatar: ");
    put_clean(u->avatar_url);
    printf("\nstatus: %s\nsign: ", employment_name(u->status, buf, sizeof(buf)));
    put_clean(u->sign_info);
    printf("\nonline_status: %s\n",
           presence_name(r->has_online_status ? (int)r->online_status : 1));
    printf("server_time: %u (%s)\n", r->server_time, when);
    printf("msg_server: %s:%u\n", cli->host, (unsigned)cli->port);
    return 0;
}

static int cmd_whoami(cli_t *cli)
{
    const IM__BaseDefine__UserInfo *u = cli->login->user_info;
    printf("name: ");
    put_clean(u->user_real_name);
    printf("\nuser_id: %u\nnick: ", u->user_id);
    put_clean(u->user_nick_name);
    printf("\nclient: %s\nmsg_server: %s:%u\n", cli->type_name, cli->host, (unsigned)cli->port);
    return 0;
}

static int by_user_id(const void *a, const void *b)
{
    uint32_t x = (*(IM__BaseDefine__UserInfo *const *)a)->user_id;
    uint32_t y = (*(IM__BaseDefine__UserInfo *const *)b)->user_id;
    return x < y ? -1 : x > y;
}

static int by_dept_id(const void *a, const void *b)
{
    uint32_t x = (*(IM__BaseDefine__DepartInfo *const *)a)->dept_id;
    uint32_t y = (*(IM__BaseDefine__DepartInfo *const *)b)->dept_id;
    return x < y ? -1 : x > y;
}

static const IM__BaseDefine__DepartInfo *find_dept(const IM__Buddy__IMDepartmentRsp *d,
                                                   uint32_t id)
{
    for (size_t i = 0; d && i < d->n_dept_list; i++)
        if (d->dept_list[i]->dept_id == id)
            return d->dept_list[i];
    return NULL;
}

static const IM__BaseDefine__UserInfo *find_user(const IM__Buddy__IMAllUserRsp *all, uint32_t id)
{
    for (size_t i = 0; all && i < all->n_user_list; i++)
        if (all->user_list[i]->user_id == id)
            return all->user_list[i];
    return NULL;
}

static int cmd_users(cli_t *cli)
{
    char err[512], buf[16];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        return die("users: %s", err);
    IM__Buddy__IMDepartmentRsp *dep = ttc_departments(cli->c, 0, cli->timeout_ms, err,
                                                      sizeof(err));
    if (!dep)
        fprintf(stderr, "ttcli: departments: %s (showing department ids)\n", err);
    qsort(all->user_list, all->n_user_list, sizeof(all->user_list[0]), by_user_id);
    printf("id\tname\tnick\tdepartment\tstatus\tsign\n");
    for (size_t i = 0; i < all->n_user_list; i++) {
        const IM__BaseDefine__UserInfo *u = all->user_list[i];
        const IM__BaseDefine__DepartInfo *d = find_dept(dep, u->department_id);
        printf("%u\t", u->user_id);
        put_clean(u->user_real_name);
        putchar('\t');
        put_clean(u->user_nick_name);
        putchar('\t');
        if (d)
            put_clean(d->dept_name);
        else
            printf("%u", u->department_id);
        printf("\t%s\t", employment_name(u->status, buf, sizeof(buf)));
        put_clean(u->sign_info);
        putchar('\n');
    }
    printf("total: %zu\n", all->n_user_list);
    tt_pb_free(dep);
    tt_pb_free(all);
    return 0;
}

static int cmd_departments(cli_t *cli)
{
    char err[512];
    IM__Buddy__IMDepartmentRsp *dep = ttc_departments(cli->c, 0, cli->timeout_ms, err,
                                                      sizeof(err));
    if (!dep)
        return die("departments: %s", err);
    qsort(dep->dept_list, dep->n_dept_list, sizeof(dep->dept_list[0]), by_dept_id);
    printf("id\tname\tparent\tpriority\tstatus\n");
    for (size_t i = 0; i < dep->n_dept_list; i++) {
        const IM__BaseDefine__DepartInfo *d = dep->dept_list[i];
        printf("%u\t", d->dept_id);
        put_clean(d->dept_name);
        printf("\t%u\t%u\t%s\n", d->parent_dept_id, d->priority,
               d->dept_status == IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_OK
                   ? "ok"
                   : "deleted");
    }
    printf("total: %zu\n", dep->n_dept_list);
    tt_pb_free(dep);
    return 0;
}

static int cmd_online(cli_t *cli)
{
    char err[512];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        return die("users: %s", err);
    qsort(all->user_list, all->n_user_list, sizeof(all->user_list[0]), by_user_id);
    size_t n = all->n_user_list, online = 0;
    uint32_t ids[STATUS_CHUNK];
    int rc = 0;
    printf("id\tname\tnick\tstatus\n");
    for (size_t off = 0; off < n && rc == 0; off += STATUS_CHUNK) {
        size_t k = n - off < STATUS_CHUNK ? n - off : STATUS_CHUNK;
        for (size_t i = 0; i < k; i++)
            ids[i] = all->user_list[off + i]->user_id;
        IM__Buddy__IMUsersStatRsp *st = ttc_users_status(cli->c, ids, k, cli->timeout_ms, err,
                                                         sizeof(err));
        if (!st) {
            rc = die("users status: %s", err);
            break;
        }
        for (size_t i = 0; i < st->n_user_stat_list; i++) {
            const IM__BaseDefine__UserStat *s = st->user_stat_list[i];
            if (s->status == IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE)
                continue;
            const IM__BaseDefine__UserInfo *u = find_user(all, s->user_id);
            printf("%u\t", s->user_id);
            put_clean(u ? u->user_real_name : "?");
            putchar('\t');
            put_clean(u ? u->user_nick_name : "?");
            printf("\t%s\n", presence_name((int)s->status));
            online++;
        }
        tt_pb_free(st);
    }
    if (rc == 0)
        printf("online: %zu of %zu\n", online, n);
    tt_pb_free(all);
    return rc;
}

static int cmd_sign(cli_t *cli, const char *text)
{
    char err[512];
    IM__Buddy__IMChangeSignInfoRsp *r = ttc_change_sign(cli->c, text, cli->timeout_ms, err,
                                                        sizeof(err));
    if (!r)
        return die("sign: %s", err);
    int rc = 0;
    if (r->result_code != 0) {
        rc = die("sign refused (result %u)", r->result_code);
    } else {
        printf("sign: ");
        put_clean(text);
        putchar('\n');
    }
    tt_pb_free(r);
    return rc;
}

static void put_content(uint32_t msg_type, const uint8_t *data, size_t len);

/* watch: prints "<time> <what> ..." per notification. */
static void stamp(void)
{
    char when[64];
    format_time(time(NULL), when, sizeof(when));
    printf("%s ", when);
}

static void put_user(const IM__Buddy__IMAllUserRsp *all, uint32_t id)
{
    const IM__BaseDefine__UserInfo *u = find_user(all, id);
    printf("%u ", id);
    put_clean(u ? u->user_real_name : "?");
}

/* Prints one notification; returns 1 when the session is over (kicked). */
static int show_pdu(const IM__Buddy__IMAllUserRsp *all, const ttc_pdu_t *p)
{
    ProtobufCMessage *m = NULL;
    int over = 0;
    stamp();
    switch (p->command_id) {
    case IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY: {
        IM__Buddy__IMUserStatNotify *n = (IM__Buddy__IMUserStatNotify *)(m = tt_pb_unpack(
            &im__buddy__imuser_stat_notify__descriptor, p->body, p->body_len));
        if (!n)
            break;
        printf("status ");
        put_user(all, n->user_stat->user_id);
        printf(" %s\n", presence_name((int)n->user_stat->status));
        break;
    }
    case IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY: {
        IM__Buddy__IMSignInfoChangedNotify *n = (IM__Buddy__IMSignInfoChangedNotify *)(
            m = tt_pb_unpack(&im__buddy__imsign_info_changed_notify__descriptor, p->body,
                             p->body_len));
        if (!n)
            break;
        printf("sign ");
        put_user(all, n->changed_user_id);
        putchar(' ');
        put_clean(n->sign_info);
        putchar('\n');
        break;
    }
    case IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY: {
        IM__Buddy__IMAvatarChangedNotify *n = (IM__Buddy__IMAvatarChangedNotify *)(
            m = tt_pb_unpack(&im__buddy__imavatar_changed_notify__descriptor, p->body,
                             p->body_len));
        if (!n)
            break;
        printf("avatar ");
        put_user(all, n->changed_user_id);
        putchar(' ');
        put_clean(n->avatar_url);
        putchar('\n');
        break;
    }
    case IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY: {
        IM__Buddy__IMPCLoginStatusNotify *n = (IM__Buddy__IMPCLoginStatusNotify *)(
            m = tt_pb_unpack(&im__buddy__impclogin_status_notify__descriptor, p->body,
                             p->body_len));
        if (!n)
            break;
        printf("pc-login ");
        put_user(all, n->user_id);
        printf(" %s\n", presence_name((int)n->login_stat));
        break;
    }
    case IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER: {
        IM__Login__IMKickUser *n = (IM__Login__IMKickUser *)(
            m = tt_pb_unpack(&im__login__imkick_user__descriptor, p->body, p->body_len));
        if (!n)
            break;
        printf("kicked %s (reason %u)\n", kick_reason(n->kick_reason), n->kick_reason);
        over = 1;
        break;
    }
    case IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA: {
        IM__Message__IMMsgData *n = (IM__Message__IMMsgData *)(
            m = tt_pb_unpack(&im__message__immsg_data__descriptor, p->body, p->body_len));
        if (!n)
            break;
        printf("message ");
        put_user(all, n->from_user_id);
        printf(" to %u msg_id %u type %u (%zu bytes): ", n->to_session_id, n->msg_id,
               (unsigned)n->msg_type, n->msg_data.len);
        put_content((uint32_t)n->msg_type, n->msg_data.data, n->msg_data.len);
        putchar('\n');
        break;
    }
    default:
        printf("pdu 0x%04x seq %u (%u bytes)\n", p->command_id, p->seq_num, p->body_len);
        return 0;
    }
    if (!m)
        printf("pdu 0x%04x does not parse (%u bytes)\n", p->command_id, p->body_len);
    tt_pb_free(m);
    return over;
}

static int cmd_watch(cli_t *cli)
{
    char err[512];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        fprintf(stderr, "ttcli: users: %s (names will be missing)\n", err);
    printf("watching: ");
    put_clean(cli->login->user_info->user_real_name);
    printf(" (user %u) on %s:%u\n", cli->login->user_info->user_id, cli->host,
           (unsigned)cli->port);
    fflush(stdout);
    uint64_t next_hb = ttc_now_ms() + HEARTBEAT_MS;
    int rc = 0;
    while (!stop_flag) {
        uint64_t now = ttc_now_ms();
        if (now >= next_hb) {
            if (ttc_heartbeat(cli->c) < 0)
                break;
            next_hb = now + HEARTBEAT_MS;
        }
        int slice = (int)(next_hb - now < WATCH_SLICE_MS ? next_hb - now : WATCH_SLICE_MS);
        ttc_pdu_t *p = NULL;
        int w = ttc_wait(cli->c, 0, slice, &p);
        if (w == 0) {
            int over = show_pdu(all, p);
            ttc_pdu_free(p);
            fflush(stdout);
            if (over) {
                rc = die("kicked by the server");
                break;
            }
        } else if (w == TTC_ERR) {
            break;
        }
    }
    if (!stop_flag && rc == 0) {
        stamp();
        printf("closed: %s\n", ttc_error(cli->c));
        rc = die("connection closed: %s", ttc_error(cli->c));
    }
    tt_pb_free(all);
    return rc;
}

/* ---- chat: peers, texts, send, chat, history, unread, sessions, groups ---- */

#define SINGLE IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE
#define GROUPS IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define HISTORY_DEFAULT 20   /* history: messages shown without N */
#define HISTORY_MAX 1000     /* history: most messages asked for */
#define CHAT_BACKLOG 50      /* chat: unread messages shown on entry, at most */
#define LINE_MAX_BYTES 8192  /* chat: longest line sent (longer ones are refused) */
#define MEMBERS_MAX 500      /* group create/add/remove: users per command */

/* A conversation: a user (SESSION_TYPE_SINGLE) or a group. */
typedef struct peer_s {
    uint32_t type;   /* SINGLE or GROUPS */
    uint32_t id;     /* user id or group id */
    char name[128];  /* login name, or "group:GID" */
} peer_t;

static ttc_cipher_t cipher;
static int on_tty; /* chat: stdin and stdout are a terminal */
static IM__Buddy__IMAllUserRsp *users; /* everybody, for names (may be NULL) */

static int load_users(cli_t *cli)
{
    char err[512];
    if (users)
        return 0;
    users = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!users)
        return die("users: %s", err);
    return 0;
}

/* The login name of user id, or its number when unknown. */
static const char *user_name(uint32_t id, char *buf, size_t len)
{
    const IM__BaseDefine__UserInfo *u = find_user(users, id);
    if (u && u->user_real_name && u->user_real_name[0])
        return u->user_real_name;
    snprintf(buf, len, "%u", id);
    return buf;
}

static int parse_id(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v == 0 || v > 0xffffffffUL)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* A user by login name (exact, then ignoring case) or by id. 0 ok, else the exit status. */
static int resolve_user(cli_t *cli, const char *s, uint32_t *id)
{
    if (parse_id(s, id) == 0)
        return 0;
    if (load_users(cli))
        return 1;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < users->n_user_list; i++) {
            const char *n = users->user_list[i]->user_real_name;
            if (n && (pass ? strcasecmp(n, s) : strcmp(n, s)) == 0) {
                *id = users->user_list[i]->user_id;
                return 0;
            }
        }
    return die("no user %s (see ttcli users)", s);
}

/* USER or group:GID. 0 ok, else the exit status. */
static int resolve_peer(cli_t *cli, const char *s, peer_t *p)
{
    memset(p, 0, sizeof(*p));
    if (strncasecmp(s, "group:", 6) == 0) {
        p->type = GROUPS;
        if (parse_id(s + 6, &p->id) < 0)
            return die("bad group %s (want group:GID, GID a number)", s);
        snprintf(p->name, sizeof(p->name), "group:%u", p->id);
        return 0;
    }
    p->type = SINGLE;
    if (resolve_user(cli, s, &p->id))
        return 1;
    char buf[16];
    if (users)
        snprintf(p->name, sizeof(p->name), "%s", user_name(p->id, buf, sizeof(buf)));
    else
        snprintf(p->name, sizeof(p->name), "%s", s);
    return 0;
}

/* Prints message content: text decrypted (clean of control characters), voice as its size. */
static void put_content(uint32_t msg_type, const uint8_t *data, size_t len)
{
    if (msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO ||
        msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO) {
        printf("[voice, %zu bytes]", len);
        return;
    }
    uint8_t *plain = malloc(len + 1);
    long n = plain && len ? ttc_tt_decrypt(&cipher, (const char *)data, len, plain, len) : -1;
    if (n < 0) {
        printf("[undecryptable, %zu bytes]", len);
    } else {
        plain[n] = 0;
        for (long i = 0; i < n; i++) /* NULs too: shown as spaces */
            putchar(plain[i] < 0x20 || plain[i] == 0x7f ? ' ' : plain[i]);
    }
    free(plain);
}

/* Encrypts text and sends it to p, waiting for the ack. 0 ok with *msg_id, else -1 with why. */
static int send_text(cli_t *cli, const peer_t *p, const char *text, uint32_t *msg_id,
                     char *err, size_t errlen)
{
    size_t L = strlen(text);
    if (L == 0) {
        snprintf(err, errlen, "empty message");
        return -1;
    }
    size_t cap = ttc_tt_cipher_text_len(L) + 1;
    char *ct = malloc(cap);
    long n = ct ? ttc_tt_encrypt(&cipher, text, L, ct, cap) : -1;
    if (n < 0) {
        free(ct);
        snprintf(err, errlen, "cannot encrypt the message");
        return -1;
    }
    uint32_t type = p->type == GROUPS ? IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
                                      : IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    int rc = ttc_send_msg(cli->c, p->id, p->type, type, ct, (size_t)n, cli->timeout_ms, msg_id);
    free(ct);
    if (rc != 0)
        snprintf(err, errlen, "%s", ttc_error(cli->c));
    return rc == 0 ? 0 : -1;
}

static int cmd_send(cli_t *cli, char **args)
{
    peer_t p;
    if (load_users(cli) || resolve_peer(cli, args[0], &p))
        return 1;
    char err[512];
    uint32_t id = 0;
    if (send_text(cli, &p, args[1], &id, err, sizeof(err)) < 0)
        return die("send to %s: %s", p.name, err);
    printf("sent: msg_id %u to %s (%s %u)\n", id, p.name, p.type == GROUPS ? "group" : "user",
           p.id);
    return 0;
}

static void put_clock(uint32_t t)
{
    char when[64];
    format_time(t ? (time_t)t : time(NULL), when, sizeof(when));
    printf("%s ", when);
}

/* One history line: "TIME #ID FROM: TEXT". */
static void put_msg_line(uint32_t t, uint32_t msg_id, uint32_t from, uint32_t type,
                         const uint8_t *data, size_t len)
{
    char buf[16];
    put_clock(t);
    printf("#%u ", msg_id);
    put_clean(user_name(from, buf, sizeof(buf)));
    printf(": ");
    put_content(type, data, len);
    putchar('\n');
}

/* Prints the newest n messages of p oldest first; *newest gets the highest id shown. */
static int show_history(cli_t *cli, const peer_t *p, uint32_t n, uint32_t *newest)
{
    char err[512];
    IM__Message__IMGetMsgListRsp *h = ttc_history(cli->c, p->id, p->type, 0, n,
                                                  cli->timeout_ms, err, sizeof(err));
    if (!h)
        return die("history of %s: %s", p->name, err);
    for (size_t i = h->n_msg_list; i-- > 0;) {
        const IM__BaseDefine__MsgInfo *m = h->msg_list[i];
        put_msg_line(m->create_time, m->msg_id, m->from_session_id, (uint32_t)m->msg_type,
                     m->msg_data.data, m->msg_data.len);
        if (newest && m->msg_id > *newest)
            *newest = m->msg_id;
    }
    size_t shown = h->n_msg_list;
    tt_pb_free(h);
    return shown ? 0 : -1;
}

static int cmd_history(cli_t *cli, char **args)
{
    peer_t p;
    uint32_t n = HISTORY_DEFAULT;
    if (args[1] && (parse_id(args[1], &n) < 0 || n > HISTORY_MAX))
        return die("bad count %s (1 to %d)", args[1], HISTORY_MAX);
    if (load_users(cli) || resolve_peer(cli, args[0], &p))
        return 1;
    int rc = show_history(cli, &p, n, NULL);
    if (rc < 0)
        printf("no messages with %s\n", p.name);
    return rc > 0 ? rc : 0;
}

static void put_session_name(uint32_t type, uint32_t id)
{
    char buf[16];
    if (type == GROUPS)
        printf("group:%u", id);
    else
        put_clean(user_name(id, buf, sizeof(buf)));
}

static int cmd_unread(cli_t *cli)
{
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Message__IMUnreadMsgCntRsp *u = ttc_unread(cli->c, cli->timeout_ms, err, sizeof(err));
    if (!u)
        return die("unread: %s", err);
    printf("session\tunread\tlatest\n");
    uint32_t total = 0;
    for (size_t i = 0; i < u->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *x = u->unreadinfo_list[i];
        put_session_name((uint32_t)x->session_type, x->session_id);
        printf("\t%u\t#%u ", x->unread_cnt, x->latest_msg_id);
        char buf[16];
        put_clean(user_name(x->latest_msg_from_user_id, buf, sizeof(buf)));
        printf(": ");
        put_content((uint32_t)x->latest_msg_type, x->latest_msg_data.data,
                    x->latest_msg_data.len);
        putchar('\n');
        total += x->unread_cnt;
    }
    printf("unread: %u in %zu sessions\n", total, u->n_unreadinfo_list);
    tt_pb_free(u);
    return 0;
}

static int cmd_sessions(cli_t *cli)
{
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Buddy__IMRecentContactSessionRsp *r = ttc_recent_sessions(cli->c, 0, cli->timeout_ms,
                                                                  err, sizeof(err));
    if (!r)
        return die("sessions: %s", err);
    printf("session\tupdated\tlatest\n");
    for (size_t i = 0; i < r->n_contact_session_list; i++) {
        const IM__BaseDefine__ContactSessionInfo *s = r->contact_session_list[i];
        char when[64];
        format_time((time_t)s->updated_time, when, sizeof(when));
        put_session_name((uint32_t)s->session_type, s->session_id);
        printf("\t%s\t#%u ", when, s->latest_msg_id);
        put_content((uint32_t)s->latest_msg_type, s->latest_msg_data.data,
                    s->latest_msg_data.len);
        putchar('\n');
    }
    printf("sessions: %zu\n", r->n_contact_session_list);
    tt_pb_free(r);
    return 0;
}

/* chat: prints one delivered message if it belongs here (or says where it is from), acks the
 * delivery and marks what was printed read. Returns 1 when the session is over (kicked). */
static int chat_pdu(cli_t *cli, const peer_t *p, const ttc_pdu_t *pdu)
{
    uint32_t me = ttc_user_id(cli->c);
    char buf[16];
    if (pdu->command_id == IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER) {
        printf("*** kicked by the server\n");
        return 1;
    }
    if (pdu->command_id == IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_STATUS_NOTIFY &&
        p->type == SINGLE) {
        IM__Buddy__IMUserStatNotify *n = (IM__Buddy__IMUserStatNotify *)tt_pb_unpack(
            &im__buddy__imuser_stat_notify__descriptor, pdu->body, pdu->body_len);
        if (n && n->user_stat->user_id == p->id) {
            put_clock(0);
            printf("*** %s is %s\n", p->name, presence_name((int)n->user_stat->status));
            fflush(stdout);
        }
        tt_pb_free(n);
        return 0;
    }
    if (pdu->command_id != IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA)
        return 0;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m)
        return 0;
    int group = m->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT ||
                m->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO;
    uint32_t stype = group ? GROUPS : SINGLE;
    /* the conversation: the group, the sender, or (a copy from my other device) the receiver */
    uint32_t sid = group ? m->to_session_id : m->from_user_id == me ? m->to_session_id
                                                                      : m->from_user_id;
    if (m->from_user_id != me)
        ttc_msg_delivered(cli->c, group ? m->to_session_id : m->from_user_id, stype, m->msg_id);
    put_clock(m->create_time);
    if (stype != p->type || sid != p->id) {
        printf("(in ");
        put_session_name(stype, sid);
        printf(") ");
    }
    printf("#%u ", m->msg_id);
    if (m->from_user_id == me)
        printf("you (other device)");
    else
        put_clean(user_name(m->from_user_id, buf, sizeof(buf)));
    printf(": ");
    put_content((uint32_t)m->msg_type, m->msg_data.data, m->msg_data.len);
    putchar('\n');
    fflush(stdout);
    ttc_msg_read(cli->c, sid, stype, m->msg_id);
    tt_pb_free(m);
    return 0;
}

/* chat: one typed line. */
static void chat_line(cli_t *cli, const peer_t *p, char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = 0;
    if (!n)
        return;
    char err[512];
    uint32_t id = 0;
    if (send_text(cli, p, line, &id, err, sizeof(err)) < 0) {
        fflush(stdout);
        fprintf(stderr, "ttcli: not sent: %s\n", err);
        return;
    }
    if (on_tty) /* the terminal echoed the typed line: this one replaces it */
        printf("\033[A\r\033[2K");
    put_clock(0);
    printf("#%u you: ", id);
    put_clean(line);
    putchar('\n');
    fflush(stdout);
}

static int cmd_chat(cli_t *cli, char **args)
{
    peer_t p;
    char err[512];
    if (load_users(cli) || resolve_peer(cli, args[0], &p))
        return 1;
    on_tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    printf("chat with %s (%s %u) as ", p.name, p.type == GROUPS ? "group" : "user", p.id);
    put_clean(cli->login->user_info->user_real_name);
    printf("; type a line to send it, Ctrl-D to leave\n");
    if (p.type == SINGLE) {
        IM__Buddy__IMUsersStatRsp *st = ttc_users_status(cli->c, &p.id, 1, cli->timeout_ms,
                                                         err, sizeof(err));
        if (st && st->n_user_stat_list == 1)
            printf("*** %s is %s\n", p.name, presence_name((int)st->user_stat_list[0]->status));
        tt_pb_free(st);
    }
    /* what came while we were away */
    IM__Message__IMUnreadMsgCntRsp *u = ttc_unread(cli->c, cli->timeout_ms, err, sizeof(err));
    for (size_t i = 0; u && i < u->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *x = u->unreadinfo_list[i];
        if ((uint32_t)x->session_type != p.type || x->session_id != p.id || !x->unread_cnt)
            continue;
        uint32_t newest = 0;
        printf("--- %u unread\n", x->unread_cnt);
        show_history(cli, &p, x->unread_cnt < CHAT_BACKLOG ? x->unread_cnt : CHAT_BACKLOG,
                     &newest);
        if (newest)
            ttc_msg_read(cli->c, p.id, p.type, newest);
        printf("---\n");
    }
    tt_pb_free(u);
    fflush(stdout);

    char *line = malloc(LINE_MAX_BYTES + 2);
    if (!line)
        return die("out of memory");
    size_t used = 0;
    int too_long = 0, rc = 0, in_open = 1;
    uint64_t next_hb = ttc_now_ms() + HEARTBEAT_MS;
    while (!stop_flag) {
        ttc_pdu_t *pdu = NULL;
        while (ttc_poll(cli->c, &pdu) == 0) { /* everything already here first */
            int over = chat_pdu(cli, &p, pdu);
            ttc_pdu_free(pdu);
            if (over) {
                free(line);
                return die("kicked by the server");
            }
        }
        if (ttc_is_closed(cli->c)) {
            rc = die("connection closed: %s", ttc_error(cli->c));
            break;
        }
        if (!in_open)
            break;
        uint64_t now = ttc_now_ms();
        if (now >= next_hb) {
            ttc_heartbeat(cli->c);
            next_hb = now + HEARTBEAT_MS;
        }
        struct pollfd pf[2] = {{.fd = ttc_fd(cli->c), .events = POLLIN},
                               {.fd = STDIN_FILENO, .events = POLLIN}};
        int slice = (int)(next_hb - now < WATCH_SLICE_MS ? next_hb - now : WATCH_SLICE_MS);
        if (poll(pf, 2, slice) < 0 && errno != EINTR) {
            rc = die("poll: %s", strerror(errno));
            break;
        }
        if (!(pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t r = read(STDIN_FILENO, line + used, LINE_MAX_BYTES + 1 - used);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0) { /* Ctrl-D or the end of the pipe: send what is left, then leave */
            line[used] = 0;
            if (too_long)
                fprintf(stderr, "ttcli: line longer than %d bytes, not sent\n", LINE_MAX_BYTES);
            else if (used)
                chat_line(cli, &p, line);
            in_open = 0;
            continue;
        }
        used += (size_t)r;
        char *start = line, *nl;
        while ((nl = memchr(start, '\n', used - (size_t)(start - line)))) {
            *nl = 0;
            if (too_long)
                fprintf(stderr, "ttcli: line longer than %d bytes, not sent\n", LINE_MAX_BYTES);
            else
                chat_line(cli, &p, start);
            too_long = 0;
            start = nl + 1;
        }
        used -= (size_t)(start - line);
        memmove(line, start, used);
        if (used > LINE_MAX_BYTES) { /* no newline in sight: drop it up to the next one */
            too_long = 1;
            used = 0;
        }
    }
    free(line);
    return rc;
}

/* ---- groups ---- */

/* A group request that got no answer: say why that may be. */
static const char *group_hint(const char *err)
{
    return strncmp(err, "no answer", 9) == 0 ? " (does this msg_server serve groups yet?)" : "";
}

static void put_group(const IM__BaseDefine__GroupInfo *g)
{
    char buf[16];
    printf("%u\t%s\t", g->group_id,
           g->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL ? "normal" : "temp");
    put_clean(g->group_name);
    printf("\tversion %u\t%s\t", g->version, g->shield_status ? "muted" : "-");
    for (size_t i = 0; i < g->n_group_member_list; i++) {
        printf(i ? "," : "");
        put_clean(user_name(g->group_member_list[i], buf, sizeof(buf)));
    }
    putchar('\n');
}

static int cmd_groups(cli_t *cli)
{
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Group__IMNormalGroupListRsp *l = ttc_normal_groups(cli->c, cli->timeout_ms, err,
                                                           sizeof(err));
    if (!l)
        return die("groups: %s%s", err, group_hint(err));
    /* normal groups from the list, temporary ones from the recent sessions (as clients do) */
    size_t n = 0, cap = l->n_group_version_list + 100;
    uint32_t *ids = calloc(cap, sizeof(*ids));
    if (!ids) {
        tt_pb_free(l);
        return die("out of memory");
    }
    for (size_t i = 0; i < l->n_group_version_list; i++)
        ids[n++] = l->group_version_list[i]->group_id;
    tt_pb_free(l);
    IM__Buddy__IMRecentContactSessionRsp *r = ttc_recent_sessions(cli->c, 0, cli->timeout_ms,
                                                                  err, sizeof(err));
    for (size_t i = 0; r && i < r->n_contact_session_list && n < cap; i++) {
        const IM__BaseDefine__ContactSessionInfo *s = r->contact_session_list[i];
        size_t k;
        for (k = 0; k < n && ids[k] != s->session_id; k++)
            ;
        if (s->session_type == GROUPS && k == n)
            ids[n++] = s->session_id;
    }
    tt_pb_free(r);
    int rc = 0;
    printf("id\ttype\tname\tversion\tmute\tmembers\n");
    size_t shown = 0;
    for (size_t off = 0; off < n; off += 100) {
        size_t k = n - off < 100 ? n - off : 100;
        IM__Group__IMGroupInfoListRsp *g = ttc_group_info(cli->c, ids + off, NULL, k,
                                                          cli->timeout_ms, err, sizeof(err));
        if (!g) {
            rc = die("group info: %s%s", err, group_hint(err));
            break;
        }
        for (size_t i = 0; i < g->n_group_info_list; i++)
            put_group(g->group_info_list[i]);
        shown += g->n_group_info_list;
        tt_pb_free(g);
    }
    if (rc == 0)
        printf("groups: %zu\n", shown);
    free(ids);
    return rc;
}

/* USER... into ids (at most MEMBERS_MAX); 0 ok, else the exit status. */
static int resolve_users(cli_t *cli, char **args, uint32_t *ids, size_t *n)
{
    *n = 0;
    for (; *args; args++) {
        if (*n == MEMBERS_MAX)
            return die("more than %d users", MEMBERS_MAX);
        if (resolve_user(cli, *args, &ids[*n]))
            return 1;
        size_t k;
        for (k = 0; k < *n && ids[k] != ids[*n]; k++)
            ;
        if (k == *n)
            (*n)++;
    }
    return 0;
}

static void put_members(const char *what, const uint32_t *ids, size_t n)
{
    char buf[16];
    printf("%s:", what);
    for (size_t i = 0; i < n; i++) {
        putchar(' ');
        put_clean(user_name(ids[i], buf, sizeof(buf)));
    }
    putchar('\n');
}

static int cmd_group(cli_t *cli, char **args)
{
    char err[512];
    uint32_t ids[MEMBERS_MAX + 1];
    size_t n = 0;
    const char *sub = args[0];
    if (load_users(cli))
        return 1;
    if (strcmp(sub, "create") == 0) {
        if (resolve_users(cli, args + 2, ids, &n))
            return 1;
        uint32_t me = ttc_user_id(cli->c);
        size_t k;
        for (k = 0; k < n && ids[k] != me; k++)
            ;
        if (k == n) /* the creator is a member too (Android sends itself as well) */
            ids[n++] = me;
        IM__Group__IMGroupCreateRsp *r = ttc_group_create(cli->c, args[1], ids, n,
                                                          cli->timeout_ms, err, sizeof(err));
        if (!r)
            return die("group create: %s%s", err, group_hint(err));
        int rc = 0;
        if (r->result_code != 0 || !r->has_group_id) {
            rc = die("group create refused (result %u)", r->result_code);
        } else {
            printf("group: %u created: ", r->group_id);
            put_clean(r->group_name);
            putchar('\n');
            put_members("members", r->user_id_list, r->n_user_id_list);
        }
        tt_pb_free(r);
        return rc;
    }
    uint32_t gid;
    if (parse_id(args[1], &gid) < 0)
        return die("bad group id %s", args[1]);
    uint32_t type = IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD;
    if (strcmp(sub, "leave") == 0) {
        ids[n++] = ttc_user_id(cli->c);
        type = IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL;
    } else {
        if (strcmp(sub, "remove") == 0)
            type = IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL;
        if (resolve_users(cli, args + 2, ids, &n))
            return 1;
    }
    IM__Group__IMGroupChangeMemberRsp *r = ttc_group_change(cli->c, gid, type, ids, n,
                                                            cli->timeout_ms, err, sizeof(err));
    if (!r)
        return die("group %s: %s%s", sub, err, group_hint(err));
    int rc = 0;
    if (r->result_code != 0) {
        rc = die("group %s refused (result %u)", sub, r->result_code);
    } else {
        printf("group: %u %s\n", r->group_id, strcmp(sub, "leave") == 0 ? "left" : "changed");
        put_members(type == IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
                        ? "added"
                        : "removed",
                    r->chg_user_id_list, r->n_chg_user_id_list);
        put_members("members", r->cur_user_id_list, r->n_cur_user_id_list);
    }
    tt_pb_free(r);
    return rc;
}

int main(int argc, char **argv)
{
    cli_t cli;
    memset(&cli, 0, sizeof(cli));
    cli.url = DEFAULT_URL;
    cli.client_type = IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_WINDOWS;
    cli.type_name = "pc";
    cli.timeout_ms = 10000;
    const char *password = NULL;
    int opt;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while ((opt = getopt(argc, argv, "+s:m:u:p:t:w:h")) != -1) {
        switch (opt) {
        case 's': cli.url = optarg; break;
        case 'm': cli.direct = optarg; break;
        case 'u': cli.user = optarg; break;
        case 'p': password = optarg; break;
        case 't': {
            size_t i, n = sizeof(client_types) / sizeof(client_types[0]);
            for (i = 0; i < n && strcasecmp(optarg, client_types[i].name) != 0; i++)
                ;
            if (i == n)
                return die("unknown client type %s (pc, mac, ios, android)", optarg);
            cli.client_type = client_types[i].type;
            cli.type_name = client_types[i].name;
            break;
        }
        case 'w': {
            char *end;
            double s = strtod(optarg, &end);
            if (end == optarg || *end || s <= 0 || s > 3600)
                return die("bad -w %s (seconds, up to 3600)", optarg);
            cli.timeout_ms = (int)(s * 1000);
            if (cli.timeout_ms < 1)
                cli.timeout_ms = 1;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return die("no command given");
    }
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    const char *arg = nargs > 0 ? args[0] : NULL;
    static const struct {
        const char *name;
        int min, max; /* arguments; max -1: any number */
        const char *want;
    } known[] = {
        {"login", 0, 0, ""},          {"whoami", 0, 0, ""},
        {"users", 0, 0, ""},          {"departments", 0, 0, ""},
        {"online", 0, 0, ""},         {"watch", 0, 0, ""},
        {"sign", 1, 1, "the TEXT to set"},
        {"send", 2, 2, "USER|group:GID and the TEXT"},
        {"chat", 1, 1, "USER|group:GID"},
        {"history", 1, 2, "USER|group:GID [N]"},
        {"unread", 0, 0, ""},         {"sessions", 0, 0, ""},
        {"groups", 0, 0, ""},
        {"group", 2, -1, "create NAME USER..., add|remove GID USER... or leave GID"},
    };
    size_t k;
    for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcmp(cmd, known[k].name) != 0; k++)
        ;
    if (k == sizeof(known) / sizeof(known[0]))
        return die("unknown command %s (see ttcli -h)", cmd);
    if (nargs < known[k].min)
        return die("%s needs %s", cmd, known[k].want);
    if (known[k].max >= 0 && nargs > known[k].max)
        return die("too many arguments for %s", cmd);
    if (strcmp(cmd, "group") == 0) {
        int leave = strcmp(arg, "leave") == 0;
        if (!leave && strcmp(arg, "create") != 0 && strcmp(arg, "add") != 0 &&
            strcmp(arg, "remove") != 0)
            return die("unknown group command %s (create, add, remove, leave)", arg);
        if (leave ? nargs != 2 : nargs < 3)
            return die("group %s needs %s", arg,
                       leave ? "GID and nothing else"
                             : strcmp(arg, "create") == 0 ? "NAME and at least one USER"
                                                          : "GID and at least one USER");
    }
    if (!cli.user || !cli.user[0])
        return die("no user given (-u USER)");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* the prompt restores the terminal; watch stops cleanly */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!password)
        password = getenv("TT_PASSWORD");
    if (password) {
        if (strlen(password) >= sizeof(cli.password))
            return die("password too long");
        snprintf(cli.password, sizeof(cli.password), "%s", password);
    } else if (prompt_password(cli.user, cli.password, sizeof(cli.password)) < 0) {
        if (stop_flag)
            return die("interrupted");
        return die("no password: use -p, set TT_PASSWORD or run on a terminal");
    }
    if (strcmp(cmd, "watch") != 0 && strcmp(cmd, "chat") != 0) { /* these stop gracefully */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }

    if (ttc_cipher_init(&cipher, TTC_TT_KEY) < 0)
        return die("the message cipher does not start (OpenSSL without AES-256-ECB?)");
    int rc = open_session(&cli);
    if (rc == 0) {
        if (strcmp(cmd, "login") == 0)
            rc = cmd_login(&cli);
        else if (strcmp(cmd, "whoami") == 0)
            rc = cmd_whoami(&cli);
        else if (strcmp(cmd, "users") == 0)
            rc = cmd_users(&cli);
        else if (strcmp(cmd, "departments") == 0)
            rc = cmd_departments(&cli);
        else if (strcmp(cmd, "online") == 0)
            rc = cmd_online(&cli);
        else if (strcmp(cmd, "watch") == 0)
            rc = cmd_watch(&cli);
        else if (strcmp(cmd, "send") == 0)
            rc = cmd_send(&cli, args);
        else if (strcmp(cmd, "chat") == 0)
            rc = cmd_chat(&cli, args);
        else if (strcmp(cmd, "history") == 0)
            rc = cmd_history(&cli, args);
        else if (strcmp(cmd, "unread") == 0)
            rc = cmd_unread(&cli);
        else if (strcmp(cmd, "sessions") == 0)
            rc = cmd_sessions(&cli);
        else if (strcmp(cmd, "groups") == 0)
            rc = cmd_groups(&cli);
        else if (strcmp(cmd, "group") == 0)
            rc = cmd_group(&cli, args);
        else
            rc = cmd_sign(&cli, arg);
    }
    memset(cli.password, 0, sizeof(cli.password));
    tt_pb_free(cli.login);
    tt_pb_free(users);
    ttc_cipher_free(&cipher);
    ttc_close(cli.c);
    return rc;
}
