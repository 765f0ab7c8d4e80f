/* ttcli's conversations: send, chat, history, unread, sessions, groups and group
 * create/add/remove/leave. Peers are login names, user ids or group:GID; texts go through the
 * shipped clients' cipher (PROTOCOL §6.2). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tt_client.h"
#include "ttc_crypto.h"
#include "ttc_http.h"
#include "ttcli.h"

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

static ttc_cipher_t cipher;      /* the clients' message cipher */
static int on_tty; /* chat: stdin and stdout are a terminal */
static IM__Buddy__IMAllUserRsp *users; /* everybody, for names (may be NULL) */

static int load_users(cli_t *cli)
{
    char err[512];
    if (users)
        return 0;
    users = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    if (!users)
        return cli_die("users: %s", err);
    return 0;
}

/* The login name of user id, or its number when unknown. */
static const char *user_name(uint32_t id, char *buf, size_t len)
{
    const IM__BaseDefine__UserInfo *u = cli_find_user(users, id);
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
    return cli_die("no user %s (see ttcli users)", s);
}

/* USER or group:GID. 0 ok, else the exit status. */
static int resolve_peer(cli_t *cli, const char *s, peer_t *p)
{
    memset(p, 0, sizeof(*p));
    if (strncasecmp(s, "group:", 6) == 0) {
        p->type = GROUPS;
        if (parse_id(s + 6, &p->id) < 0)
            return cli_die("bad group %s (want group:GID, GID a number)", s);
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
void cli_put_content(uint32_t msg_type, const uint8_t *data, size_t len)
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

int cli_cmd_send(cli_t *cli, char **args)
{
    peer_t p;
    if (load_users(cli) || resolve_peer(cli, args[0], &p))
        return 1;
    char err[512];
    uint32_t id = 0;
    if (send_text(cli, &p, args[1], &id, err, sizeof(err)) < 0)
        return cli_die("send to %s: %s", p.name, err);
    printf("sent: msg_id %u to %s (%s %u)\n", id, p.name, p.type == GROUPS ? "group" : "user",
           p.id);
    return 0;
}

static void put_clock(uint32_t t)
{
    char when[64];
    cli_format_time(t ? (time_t)t : time(NULL), when, sizeof(when));
    printf("%s ", when);
}

/* One history line: "TIME #ID FROM: TEXT". */
static void put_msg_line(uint32_t t, uint32_t msg_id, uint32_t from, uint32_t type,
                         const uint8_t *data, size_t len)
{
    char buf[16];
    put_clock(t);
    printf("#%u ", msg_id);
    cli_put_clean(user_name(from, buf, sizeof(buf)));
    printf(": ");
    cli_put_content(type, data, len);
    putchar('\n');
}

/* Prints the newest n messages of p oldest first; *newest gets the highest id shown. */
static int show_history(cli_t *cli, const peer_t *p, uint32_t n, uint32_t *newest)
{
    char err[512];
    IM__Message__IMGetMsgListRsp *h = ttc_history(cli->c, p->id, p->type, 0, n,
                                                  cli->timeout_ms, err, sizeof(err));
    if (!h)
        return cli_die("history of %s: %s", p->name, err);
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

int cli_cmd_history(cli_t *cli, char **args)
{
    peer_t p;
    uint32_t n = HISTORY_DEFAULT;
    if (args[1] && (parse_id(args[1], &n) < 0 || n > HISTORY_MAX))
        return cli_die("bad count %s (1 to %d)", args[1], HISTORY_MAX);
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
        cli_put_clean(user_name(id, buf, sizeof(buf)));
}

int cli_cmd_unread(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Message__IMUnreadMsgCntRsp *u = ttc_unread(cli->c, cli->timeout_ms, err, sizeof(err));
    if (!u)
        return cli_die("unread: %s", err);
    printf("session\tunread\tlatest\n");
    uint32_t total = 0;
    for (size_t i = 0; i < u->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *x = u->unreadinfo_list[i];
        put_session_name((uint32_t)x->session_type, x->session_id);
        printf("\t%u\t#%u ", x->unread_cnt, x->latest_msg_id);
        char buf[16];
        cli_put_clean(user_name(x->latest_msg_from_user_id, buf, sizeof(buf)));
        printf(": ");
        cli_put_content((uint32_t)x->latest_msg_type, x->latest_msg_data.data,
                    x->latest_msg_data.len);
        putchar('\n');
        total += x->unread_cnt;
    }
    printf("unread: %u in %zu sessions\n", total, u->n_unreadinfo_list);
    tt_pb_free(u);
    return 0;
}

int cli_cmd_sessions(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Buddy__IMRecentContactSessionRsp *r = ttc_recent_sessions(cli->c, 0, cli->timeout_ms,
                                                                  err, sizeof(err));
    if (!r)
        return cli_die("sessions: %s", err);
    printf("session\tupdated\tlatest\n");
    for (size_t i = 0; i < r->n_contact_session_list; i++) {
        const IM__BaseDefine__ContactSessionInfo *s = r->contact_session_list[i];
        char when[64];
        cli_format_time((time_t)s->updated_time, when, sizeof(when));
        put_session_name((uint32_t)s->session_type, s->session_id);
        printf("\t%s\t#%u ", when, s->latest_msg_id);
        cli_put_content((uint32_t)s->latest_msg_type, s->latest_msg_data.data,
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
            printf("*** %s is %s\n", p->name, cli_presence_name((int)n->user_stat->status));
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
        cli_put_clean(user_name(m->from_user_id, buf, sizeof(buf)));
    printf(": ");
    cli_put_content((uint32_t)m->msg_type, m->msg_data.data, m->msg_data.len);
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
    cli_put_clean(line);
    putchar('\n');
    fflush(stdout);
}

int cli_cmd_chat(cli_t *cli, char **args)
{
    peer_t p;
    char err[512];
    if (load_users(cli) || resolve_peer(cli, args[0], &p))
        return 1;
    on_tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    printf("chat with %s (%s %u) as ", p.name, p.type == GROUPS ? "group" : "user", p.id);
    cli_put_clean(cli->login->user_info->user_real_name);
    printf("; type a line to send it, Ctrl-D to leave\n");
    if (p.type == SINGLE) {
        IM__Buddy__IMUsersStatRsp *st = ttc_users_status(cli->c, &p.id, 1, cli->timeout_ms,
                                                         err, sizeof(err));
        if (st && st->n_user_stat_list == 1)
            printf("*** %s is %s\n", p.name, cli_presence_name((int)st->user_stat_list[0]->status));
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
        return cli_die("out of memory");
    size_t used = 0;
    int too_long = 0, rc = 0, in_open = 1;
    uint64_t next_hb = ttc_now_ms() + HEARTBEAT_MS;
    while (!cli_stop) {
        ttc_pdu_t *pdu = NULL;
        while (ttc_poll(cli->c, &pdu) == 0) { /* everything already here first */
            int over = chat_pdu(cli, &p, pdu);
            ttc_pdu_free(pdu);
            if (over) {
                free(line);
                return cli_die("kicked by the server");
            }
        }
        if (ttc_is_closed(cli->c)) {
            rc = cli_die("connection closed: %s", ttc_error(cli->c));
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
            rc = cli_die("poll: %s", strerror(errno));
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
    cli_put_clean(g->group_name);
    printf("\tversion %u\t%s\t", g->version, g->shield_status ? "muted" : "-");
    for (size_t i = 0; i < g->n_group_member_list; i++) {
        printf(i ? "," : "");
        cli_put_clean(user_name(g->group_member_list[i], buf, sizeof(buf)));
    }
    putchar('\n');
}

int cli_cmd_groups(cli_t *cli, char **args)
{
    (void)args;
    char err[512];
    if (load_users(cli))
        return 1;
    IM__Group__IMNormalGroupListRsp *l = ttc_normal_groups(cli->c, cli->timeout_ms, err,
                                                           sizeof(err));
    if (!l)
        return cli_die("groups: %s%s", err, group_hint(err));
    /* normal groups from the list, temporary ones from the recent sessions (as clients do) */
    size_t n = 0, cap = l->n_group_version_list + 100;
    uint32_t *ids = calloc(cap, sizeof(*ids));
    if (!ids) {
        tt_pb_free(l);
        return cli_die("out of memory");
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
            rc = cli_die("group info: %s%s", err, group_hint(err));
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
            return cli_die("more than %d users", MEMBERS_MAX);
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
        cli_put_clean(user_name(ids[i], buf, sizeof(buf)));
    }
    putchar('\n');
}

int cli_cmd_group(cli_t *cli, char **args)
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
            return cli_die("group create: %s%s", err, group_hint(err));
        int rc = 0;
        if (r->result_code != 0 || !r->has_group_id) {
            rc = cli_die("group create refused (result %u)", r->result_code);
        } else {
            printf("group: %u created: ", r->group_id);
            cli_put_clean(r->group_name);
            putchar('\n');
            put_members("members", r->user_id_list, r->n_user_id_list);
        }
        tt_pb_free(r);
        return rc;
    }
    uint32_t gid;
    if (parse_id(args[1], &gid) < 0)
        return cli_die("bad group id %s", args[1]);
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
        return cli_die("group %s: %s%s", sub, err, group_hint(err));
    int rc = 0;
    if (r->result_code != 0) {
        rc = cli_die("group %s refused (result %u)", sub, r->result_code);
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

int cli_chat_start(void) { return ttc_cipher_init(&cipher, TTC_TT_KEY); }

void cli_chat_end(void)
{
    tt_pb_free(users);
    users = NULL;
    ttc_cipher_free(&cipher);
}

/* ---- for the other command files (ttcli.h) ---- */

int cli_resolve_user(cli_t *cli, const char *s, uint32_t *id) { return resolve_user(cli, s, id); }

const char *cli_user_name(cli_t *cli, uint32_t id, char *buf, size_t len)
{
    if (!users) {
        char err[512];
        users = ttc_all_users(cli->c, 0, cli->timeout_ms, err, sizeof(err));
    }
    return user_name(id, buf, len);
}
