/* ttcli: a command-line TeamTalk client. Asks login_server for a msg_server (or takes one with
 * -m), logs in and runs one command: login, whoami, users, departments, online, watch, sign,
 * send, chat, history, unread, sessions, groups, group create|add|remove|leave. Texts are
 * encrypted and decrypted with the shipped clients' cipher and key (PROTOCOL §6.2); the
 * conversation commands are in ttcli_chat.c.
 * Output is plain, line-oriented and stable (tests grep it); errors go to stderr as
 * "ttcli: ..." and the exit status is 0 on success, 1 on any error. */
#include <errno.h>
#include <fcntl.h>
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
#include "ttc_http.h"
#include "ttcli.h"

#define DEFAULT_URL "http://127.0.0.1:8080/msg_server"
#define STATUS_CHUNK 200           /* user ids per users-status request */

volatile sig_atomic_t cli_stop;

static void on_signal(int sig)
{
    (void)sig;
    cli_stop = 1;
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
            "  send-file [--online] USER PATH   send a file through file_server: offline\n"
            "                     (stored until USER gets it) unless --online (USER's PC\n"
            "                     client takes it now; offline if USER has no PC online)\n"
            "  files              offline files waiting for you: task, sender, size, name\n"
            "  get-file TASK [OUT]  download one (to OUT, default its name here)\n"
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

int cli_die(const char *fmt, ...)
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
void cli_put_clean(const char *s)
{
    for (; s && *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

const char *cli_presence_name(int status)
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

void cli_format_time(time_t t, char *out, size_t len)
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
        if (r < 0 && errno == EINTR && !cli_stop)
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
            return cli_die("bad -m %s (want HOST:PORT)", cli->direct);
    } else {
        if (ttc_discover_timeout(cli->url, cli->timeout_ms, &srv, err, sizeof(err)) < 0)
            return cli_die("%s", err);
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
        return cli_die("msg_server: %s", err);
    int rc = ttc_login(cli->c, cli->user, cli->password, cli->client_type, cli->timeout_ms,
                       &cli->login);
    if (rc != 0)
        return cli_die("login failed: %s", ttc_error(cli->c));
    if (cli->login->result_code != 0)
        return cli_die("login refused: %s (result %d)",
                   cli->login->result_string && cli->login->result_string[0]
                       ? cli->login->result_string
                       : "no reason given",
                   (int)cli->login->result_code);
    if (!cli->login->user_info)
        return cli_die("login answer has no user profile");
    return 0;
}

/* ---- commands ---- */

static int cmd_login(cli_t *cli, char **args)
{
    (void)args;
    const IM__Login__IMLoginRes *r = cli->login;
    const IM__BaseDefine__UserInfo *u = r->user_info;
    char when[64], buf[16];
    cli_format_time((time_t)r->server_time, when, sizeof(when));
    printf("result: %s\n", r->result_string ? r->result_string : "");
    printf("user_id: %u\n", u->user_id);
    printf("name: ");
    cli_put_clean(u->user_real_name);
    printf("\nnick: ");
    cli_put_clean(u->user_nick_name);
    printf("\ngender: %u\ndepartment_id: %u\nemail: ", u->user_gender, u->department_id);
    cli_put_clean(u->email);
    printf("\nphone: ");
    cli_put_clean(u->user_tel);
    printf("\ndomain: ");
    cli_put_clean(u->user_domain);
    printf("\navatar: ");
    cli_put_clean(u->avatar_url);
    printf("\nstatus: %s\nsign: ", employment_name(u->status, buf, sizeof(buf)));
    cli_put_clean(u->sign_info);
    printf("\nonline_status: %s\n",
           cli_presence_name(r->has_online_status ? (int)r->online_status : 1));
    printf("server_time: %u (%s)\n", r->server_time, when);
    printf("msg_server: %s:%u\n", cli->host, (unsigned)cli->port);
    return 0;
}

static int cmd_whoami(cli_t *cli, char **args)
{
    (void)args;
    const IM__BaseDefine__UserInfo *u = cli->login->user_info;
    printf("name: ");
    cli_put_clean(u->user_real_name);
    printf("\nuser_id: %u\nnick: ", u->user_id);
    cli_put_clean(u->user_nick_name);
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

const IM__BaseDefine__UserInfo *cli_find_user(const IM__Buddy__IMAllUserRsp *all,
                                              uint32_t id)
{
    for (size_t i = 0; all && i < all->n_user_list; i++)
        if (all->user_list[i]->user_id == id)
            return all->user_list[i];
    return NULL;
}

static int cmd_users(cli_t *cli, char **args)
{
    (void)args;
    char err[512], buf[16];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        return cli_die("users: %s", err);
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
        cli_put_clean(u->user_real_name);
        putchar('\t');
        cli_put_clean(u->user_nick_name);
        putchar('\t');
        if (d)
            cli_put_clean(d->dept_name);
        else
            printf("%u", u->department_id);
        printf("\t%s\t", employment_name(u->status, buf, sizeof(buf)));
        cli_put_clean(u->sign_info);
        putchar('\n');
    }
    printf("total: %zu\n", all->n_user_list);
    tt_pb_free(dep);
    tt_pb_free(all);
    return 0;
}

static int cmd_departments(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    IM__Buddy__IMDepartmentRsp *dep = ttc_departments(cli->c, 0, cli->timeout_ms, err,
                                                      sizeof(err));
    if (!dep)
        return cli_die("departments: %s", err);
    qsort(dep->dept_list, dep->n_dept_list, sizeof(dep->dept_list[0]), by_dept_id);
    printf("id\tname\tparent\tpriority\tstatus\n");
    for (size_t i = 0; i < dep->n_dept_list; i++) {
        const IM__BaseDefine__DepartInfo *d = dep->dept_list[i];
        printf("%u\t", d->dept_id);
        cli_put_clean(d->dept_name);
        printf("\t%u\t%u\t%s\n", d->parent_dept_id, d->priority,
               d->dept_status == IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_OK
                   ? "ok"
                   : "deleted");
    }
    printf("total: %zu\n", dep->n_dept_list);
    tt_pb_free(dep);
    return 0;
}

static int cmd_online(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        return cli_die("users: %s", err);
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
            rc = cli_die("users status: %s", err);
            break;
        }
        for (size_t i = 0; i < st->n_user_stat_list; i++) {
            const IM__BaseDefine__UserStat *s = st->user_stat_list[i];
            if (s->status == IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE)
                continue;
            const IM__BaseDefine__UserInfo *u = cli_find_user(all, s->user_id);
            printf("%u\t", s->user_id);
            cli_put_clean(u ? u->user_real_name : "?");
            putchar('\t');
            cli_put_clean(u ? u->user_nick_name : "?");
            printf("\t%s\n", cli_presence_name((int)s->status));
            online++;
        }
        tt_pb_free(st);
    }
    if (rc == 0)
        printf("online: %zu of %zu\n", online, n);
    tt_pb_free(all);
    return rc;
}

static int cmd_sign(cli_t *cli, char **args)
{
    const char *text = args[0];
    char err[512];
    IM__Buddy__IMChangeSignInfoRsp *r = ttc_change_sign(cli->c, text, cli->timeout_ms, err,
                                                        sizeof(err));
    if (!r)
        return cli_die("sign: %s", err);
    int rc = 0;
    if (r->result_code != 0) {
        rc = cli_die("sign refused (result %u)", r->result_code);
    } else {
        printf("sign: ");
        cli_put_clean(text);
        putchar('\n');
    }
    tt_pb_free(r);
    return rc;
}

/* watch: prints "<time> <what> ..." per notification. */
static void stamp(void)
{
    char when[64];
    cli_format_time(time(NULL), when, sizeof(when));
    printf("%s ", when);
}

static void put_user(const IM__Buddy__IMAllUserRsp *all, uint32_t id)
{
    const IM__BaseDefine__UserInfo *u = cli_find_user(all, id);
    printf("%u ", id);
    cli_put_clean(u ? u->user_real_name : "?");
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
        printf(" %s\n", cli_presence_name((int)n->user_stat->status));
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
        cli_put_clean(n->sign_info);
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
        cli_put_clean(n->avatar_url);
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
        printf(" %s\n", cli_presence_name((int)n->login_stat));
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
        cli_put_content((uint32_t)n->msg_type, n->msg_data.data, n->msg_data.len);
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

static int cmd_watch(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    IM__Buddy__IMAllUserRsp *all = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!all)
        fprintf(stderr, "ttcli: users: %s (names will be missing)\n", err);
    printf("watching: ");
    cli_put_clean(cli->login->user_info->user_real_name);
    printf(" (user %u) on %s:%u\n", cli->login->user_info->user_id, cli->host,
           (unsigned)cli->port);
    fflush(stdout);
    uint64_t next_hb = ttc_now_ms() + HEARTBEAT_MS;
    int rc = 0;
    while (!cli_stop) {
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
                rc = cli_die("kicked by the server");
                break;
            }
        } else if (w == TTC_ERR) {
            break;
        }
    }
    if (!cli_stop && rc == 0) {
        stamp();
        printf("closed: %s\n", ttc_error(cli->c));
        rc = cli_die("connection closed: %s", ttc_error(cli->c));
    }
    tt_pb_free(all);
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
                return cli_die("unknown client type %s (pc, mac, ios, android)", optarg);
            cli.client_type = client_types[i].type;
            cli.type_name = client_types[i].name;
            break;
        }
        case 'w': {
            char *end;
            double s = strtod(optarg, &end);
            if (end == optarg || *end || s <= 0 || s > 3600)
                return cli_die("bad -w %s (seconds, up to 3600)", optarg);
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
        return cli_die("no command given");
    }
    const char *cmd = argv[optind];
    char **args = argv + optind + 1;
    int nargs = argc - optind - 1;
    const char *arg = nargs > 0 ? args[0] : NULL;
    static const struct {
        const char *name;
        int min, max; /* arguments; max -1: any number */
        const char *want;
        int (*run)(cli_t *cli, char **args);
    } known[] = {
        {"login", 0, 0, "", cmd_login},
        {"whoami", 0, 0, "", cmd_whoami},
        {"users", 0, 0, "", cmd_users},
        {"departments", 0, 0, "", cmd_departments},
        {"online", 0, 0, "", cmd_online},
        {"watch", 0, 0, "", cmd_watch},
        {"sign", 1, 1, "the TEXT to set", cmd_sign},
        {"send", 2, 2, "USER|group:GID and the TEXT", cli_cmd_send},
        {"chat", 1, 1, "USER|group:GID", cli_cmd_chat},
        {"history", 1, 2, "USER|group:GID [N]", cli_cmd_history},
        {"unread", 0, 0, "", cli_cmd_unread},
        {"sessions", 0, 0, "", cli_cmd_sessions},
        {"groups", 0, 0, "", cli_cmd_groups},
        {"group", 2, -1, "create NAME USER..., add|remove GID USER... or leave GID",
         cli_cmd_group},
        {"send-file", 2, 3, "[--online] USER PATH", cli_cmd_send_file},
        {"files", 0, 0, "", cli_cmd_files},
        {"get-file", 1, 2, "TASK [OUT]", cli_cmd_get_file},
    };
    size_t k;
    for (k = 0; k < sizeof(known) / sizeof(known[0]) && strcmp(cmd, known[k].name) != 0; k++)
        ;
    if (k == sizeof(known) / sizeof(known[0]))
        return cli_die("unknown command %s (see ttcli -h)", cmd);
    if (nargs < known[k].min)
        return cli_die("%s needs %s", cmd, known[k].want);
    if (known[k].max >= 0 && nargs > known[k].max)
        return cli_die("too many arguments for %s", cmd);
    if (strcmp(cmd, "group") == 0) {
        int leave = strcmp(arg, "leave") == 0;
        if (!leave && strcmp(arg, "create") != 0 && strcmp(arg, "add") != 0 &&
            strcmp(arg, "remove") != 0)
            return cli_die("unknown group command %s (create, add, remove, leave)", arg);
        if (leave ? nargs != 2 : nargs < 3)
            return cli_die("group %s needs %s", arg,
                       leave ? "GID and nothing else"
                             : strcmp(arg, "create") == 0 ? "NAME and at least one USER"
                                                          : "GID and at least one USER");
    }
    if (!cli.user || !cli.user[0])
        return cli_die("no user given (-u USER)");

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
            return cli_die("password too long");
        snprintf(cli.password, sizeof(cli.password), "%s", password);
    } else if (prompt_password(cli.user, cli.password, sizeof(cli.password)) < 0) {
        if (cli_stop)
            return cli_die("interrupted");
        return cli_die("no password: use -p, set TT_PASSWORD or run on a terminal");
    }
    if (strcmp(cmd, "watch") != 0 && strcmp(cmd, "chat") != 0) { /* these stop gracefully */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }

    if (cli_chat_start() < 0)
        return cli_die("the message cipher does not start (OpenSSL without AES-256-ECB?)");
    int rc = open_session(&cli);
    if (rc == 0)
        rc = known[k].run(&cli, args);
    memset(cli.password, 0, sizeof(cli.password));
    tt_pb_free(cli.login);
    cli_chat_end();
    ttc_close(cli.c);
    return rc;
}
