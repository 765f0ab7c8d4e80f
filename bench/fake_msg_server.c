/* fake-msg-server: a stand-in msg_server (and login_server /msg_server answer) for checking
 * tt-bench itself, not a server to measure. It accepts any user name and password, gives each
 * new name a user id, acknowledges every IMMsgData with the next msg_id of the conversation
 * and delivers it at once (seq 0) to the receiver if connected. No storage, no upstreams.
 * Faults can be injected to prove the harness counts them: --drop-every N (ack, do not
 * deliver), --no-ack-every N (deliver, do not ack), --rate-limit N (silently drop a
 * connection's messages beyond N per second, like the original msg_server with 20).
 * Temporary groups: IMGroupCreateReq makes one (creator + listed users), a group text from a
 * member is acked and written to every member's connection but the sender's (--drop-every and
 * --dup-every N then apply to every Nth delivery), a non-member's is dropped. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_http.h"
#include "tt_loop.h"
#include "tt_map.h"
#include "tt_pdu.h"
#include "tt_server.h"

#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define FIRST_USER_ID 1000
#define FIRST_GROUP_ID 5000
#define GROUP_MEMBERS_MAX 100000

typedef struct fake_group_s {
    uint32_t id, last_msg_id, n; /* n member ids follow */
    uint32_t members[];
} fake_group_t;

typedef struct fake_user_s {
    char name[128];          /* login name */
    uint32_t id;             /* assigned user id */
    tt_conn_t *conn;         /* its current connection, NULL when offline */
} fake_user_t;

typedef struct fake_conn_s {
    fake_user_t *user;       /* set once logged in */
    uint64_t second;         /* current 1-second tick of the rate limit */
    uint32_t in_second;      /* messages in that tick */
} fake_conn_t;

typedef struct fake_server_s {
    tt_loop_t *loop;            /* reactor */
    tt_server_t *pdu;           /* client listener */
    tt_http_server_t *http;     /* /msg_server answers (optional) */
    int sigfd;                  /* TERM / INT */
    tt_map_t users_by_name;     /* fnv1a64(name) (+ probing) -> fake_user_t */
    tt_map_t users_by_id;       /* id -> fake_user_t */
    tt_map_t conversations;     /* (low id << 32 | high id) -> uint32_t last msg_id */
    tt_map_t groups;            /* group id -> fake_group_t */
    uint32_t next_group_id;     /* next group id to assign */
    uint32_t dup_every;         /* --dup-every (group deliveries) */
    uint64_t group_deliveries;  /* group deliveries attempted (for the fault counters) */
    uint32_t next_user_id;      /* next id to assign */
    uint32_t drop_every;        /* --drop-every */
    uint32_t no_ack_every;      /* --no-ack-every */
    uint32_t rate_limit;        /* --rate-limit */
    const char *advertise;      /* priorIP in /msg_server answers */
    uint64_t logins, kicks, msgs, acked, delivered, receipts, dropped, unknown, refused_early;
} fake_server_t;

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static fake_user_t *user_for(fake_server_t *fs, const char *name)
{
    uint64_t key = fnv1a64(name);
    for (;; key++) {
        fake_user_t *u = tt_map_get(&fs->users_by_name, key);
        if (!u)
            break;
        if (strcmp(u->name, name) == 0)
            return u;
    }
    fake_user_t *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    snprintf(u->name, sizeof(u->name), "%s", name);
    u->id = fs->next_user_id++;
    if (tt_map_put(&fs->users_by_name, key, u) < 0 || tt_map_put(&fs->users_by_id, u->id, u) < 0) {
        tt_map_del(&fs->users_by_name, key);
        free(u);
        return NULL;
    }
    return u;
}

static void on_login(fake_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu)
{
    fake_conn_t *fc = c->app;
    if (fc->user)
        return; /* a second IMLoginReq is ignored */
    IM__Login__IMLoginReq *req =
        (IM__Login__IMLoginReq *)tt_pb_unpack(&im__login__imlogin_req__descriptor, pdu->body,
                                              pdu->body_len);
    if (!req) {
        tt_conn_close(c, "IMLoginReq does not parse");
        return;
    }
    fake_user_t *u = user_for(fs, req->user_name);
    tt_pb_free(req);
    if (!u) {
        tt_conn_close(c, "out of memory");
        return;
    }
    if (u->conn && u->conn != c) {
        IM__Login__IMKickUser kick = IM__LOGIN__IMKICK_USER__INIT;
        kick.user_id = u->id;
        kick.kick_reason = IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER;
        tt_pdu_send(u->conn, SID_LOGIN, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER, 0,
                    &kick.base);
        fake_conn_t *old = u->conn->app;
        if (old)
            old->user = NULL;
        fs->kicks++;
    }
    u->conn = c;
    fc->user = u;
    fs->logins++;
    IM__BaseDefine__UserInfo info = IM__BASE_DEFINE__USER_INFO__INIT;
    info.user_id = u->id;
    info.user_gender = 1;
    info.user_nick_name = u->name;
    info.avatar_url = (char *)"";
    info.department_id = 1;
    info.email = (char *)"";
    info.user_real_name = u->name;
    info.user_tel = (char *)"";
    info.user_domain = u->name;
    info.status = 0;
    IM__Login__IMLoginRes res = IM__LOGIN__IMLOGIN_RES__INIT;
    res.server_time = (uint32_t)time(NULL);
    res.result_code = IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_NONE;
    res.result_string = (char *)"\xe6\x88\x90\xe5\x8a\x9f"; /* 成功 */
    res.has_online_status = 1;
    res.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    res.user_info = &info;
    tt_pdu_send(c, SID_LOGIN, IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_USERLOGIN,
                pdu->seq_num, &res.base);
}

static void on_group_create(fake_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu)
{
    fake_conn_t *fc = c->app;
    IM__Group__IMGroupCreateReq *req = (IM__Group__IMGroupCreateReq *)tt_pb_unpack(
        &im__group__imgroup_create_req__descriptor, pdu->body, pdu->body_len);
    if (!req)
        return;
    IM__Group__IMGroupCreateRsp rsp = IM__GROUP__IMGROUP_CREATE_RSP__INIT;
    rsp.user_id = fc->user->id;
    rsp.result_code = 1;
    rsp.group_name = req->group_name;
    size_t n = req->n_member_id_list + 1;
    fake_group_t *g = n <= GROUP_MEMBERS_MAX ? calloc(1, sizeof(*g) + n * sizeof(uint32_t)) : NULL;
    if (g) {
        g->id = fs->next_group_id++;
        g->members[g->n++] = fc->user->id;
        for (size_t i = 0; i < req->n_member_id_list; i++)
            if (req->member_id_list[i] != fc->user->id)
                g->members[g->n++] = req->member_id_list[i];
        if (tt_map_put(&fs->groups, g->id, g) < 0) {
            free(g);
            g = NULL;
        }
    }
    if (g) {
        rsp.result_code = 0;
        rsp.has_group_id = 1;
        rsp.group_id = g->id;
        rsp.n_user_id_list = g->n;
        rsp.user_id_list = g->members;
    }
    tt_pdu_send(c, IM__BASE_DEFINE__SERVICE_ID__SID_GROUP,
                IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CREATE_RESPONSE, pdu->seq_num, &rsp.base);
    tt_pb_free(req);
}

static void on_group_msg(fake_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu,
                         IM__Message__IMMsgData *m)
{
    fake_conn_t *fc = c->app;
    fake_group_t *g = tt_map_get(&fs->groups, m->to_session_id);
    int member = 0;
    for (uint32_t i = 0; g && i < g->n && !member; i++)
        member = g->members[i] == fc->user->id;
    if (!member || m->msg_data.len == 0) {
        fs->dropped++;
        return;
    }
    fs->msgs++;
    IM__Message__IMMsgDataAck ack = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
    ack.user_id = fc->user->id;
    ack.session_id = g->id;
    ack.msg_id = ++g->last_msg_id;
    ack.session_type = IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP;
    tt_pdu_send(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK, pdu->seq_num,
                &ack.base);
    fs->acked++;
    m->from_user_id = fc->user->id;
    m->msg_id = g->last_msg_id;
    m->create_time = (uint32_t)time(NULL);
    m->has_attach_data = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        fake_user_t *u = tt_map_get(&fs->users_by_id, g->members[i]);
        if (!u || !u->conn || u->conn == c)
            continue;
        fs->group_deliveries++;
        if (fs->drop_every && fs->group_deliveries % fs->drop_every == 0)
            continue;
        int copies = fs->dup_every && fs->group_deliveries % fs->dup_every == 0 ? 2 : 1;
        for (int k = 0; k < copies; k++) {
            tt_pdu_send(u->conn, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 0,
                        &m->base);
            fs->delivered++;
        }
    }
}

static void on_msg_data(fake_server_t *fs, tt_conn_t *c, const tt_pdu_t *pdu)
{
    fake_conn_t *fc = c->app;
    IM__Message__IMMsgData *m = (IM__Message__IMMsgData *)tt_pb_unpack(
        &im__message__immsg_data__descriptor, pdu->body, pdu->body_len);
    if (!m)
        return;
    uint32_t from = fc->user->id, to = m->to_session_id;
    if (fs->rate_limit) {
        uint64_t sec = tt_loop_now(fs->loop) / 1000;
        if (sec != fc->second) {
            fc->second = sec;
            fc->in_second = 0;
        }
        if (++fc->in_second > fs->rate_limit) {
            fs->dropped++;
            tt_pb_free(m);
            return;
        }
    }
    if (m->msg_type == IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT) {
        on_group_msg(fs, c, pdu, m);
        tt_pb_free(m);
        return;
    }
    /* the original drops these silently too */
    if (m->msg_data.len == 0 || from == to ||
        m->msg_type != IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT) {
        fs->dropped++;
        tt_pb_free(m);
        return;
    }
    fs->msgs++;
    uint64_t key = from < to ? (uint64_t)from << 32 | to : (uint64_t)to << 32 | from;
    uint32_t *counter = tt_map_get(&fs->conversations, key);
    if (!counter) {
        counter = calloc(1, sizeof(*counter));
        if (!counter || tt_map_put(&fs->conversations, key, counter) < 0) {
            free(counter);
            tt_pb_free(m);
            return;
        }
    }
    uint32_t msg_id = ++*counter;
    if (!fs->no_ack_every || fs->msgs % fs->no_ack_every != 0) {
        IM__Message__IMMsgDataAck ack = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
        ack.user_id = from;
        ack.session_id = to;
        ack.msg_id = msg_id;
        ack.session_type = IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE;
        tt_pdu_send(c, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK, pdu->seq_num,
                    &ack.base);
        fs->acked++;
    }
    fake_user_t *rcv = tt_map_get(&fs->users_by_id, to);
    if (rcv && rcv->conn && (!fs->drop_every || fs->msgs % fs->drop_every != 0)) {
        m->from_user_id = from;
        m->msg_id = msg_id;
        m->create_time = (uint32_t)time(NULL);
        m->has_attach_data = 0;
        tt_pdu_send(rcv->conn, SID_MSG, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 0, &m->base);
        fs->delivered++;
    }
    tt_pb_free(m);
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    fake_server_t *fs = udata;
    fake_conn_t *fc = c->app;
    if (!fc)
        return;
    switch (pdu->command_id) {
    case IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_USERLOGIN:
        on_login(fs, c, pdu);
        return;
    case IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT:
        return; /* echoed by tt_server */
    default:
        break;
    }
    if (!fc->user) {
        fs->refused_early++;
        tt_conn_close(c, "command 0x%04x before login", (unsigned)pdu->command_id);
        return;
    }
    if (pdu->command_id == IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA)
        on_msg_data(fs, c, pdu);
    else if (pdu->command_id == IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK)
        fs->receipts++;
    else if (pdu->command_id == IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CREATE_REQUEST)
        on_group_create(fs, c, pdu);
    else
        fs->unknown++;
}

static void on_open(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    c->app = calloc(1, sizeof(fake_conn_t));
    if (!c->app)
        tt_conn_close(c, "out of memory");
}

static void detach(tt_conn_t *c)
{
    fake_conn_t *fc = c->app;
    if (!fc)
        return;
    if (fc->user && fc->user->conn == c)
        fc->user->conn = NULL;
    free(fc);
    c->app = NULL;
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    detach(c);
}

static void detach_each(tt_conn_t *c, void *arg)
{
    (void)arg;
    detach(c);
}

static const tt_server_handler_t pdu_handler = {.on_open = on_open, .on_pdu = on_pdu,
                                                .on_close = on_close};

static void on_http(tt_http_req_t *req, void *udata)
{
    fake_server_t *fs = udata;
    if (strncmp(req->url, "/msg_server", 11) != 0) {
        tt_http_drop(req, "not /msg_server");
        return;
    }
    char body[512];
    unsigned port = tt_server_port(fs->pdu);
    int n = snprintf(body, sizeof(body),
                     "{\n   \"backupIP\" : \"%s\",\n   \"code\" : 0,\n"
                     "   \"discovery\" : \"http://127.0.0.1/api/discovery\",\n"
                     "   \"msfsBackup\" : \"http://127.0.0.1:8700/\",\n"
                     "   \"msfsPrior\" : \"http://127.0.0.1:8700/\",\n   \"msg\" : \"\",\n"
                     "   \"port\" : \"%u\",\n   \"priorIP\" : \"%s\"\n}\n",
                     fs->advertise, port, fs->advertise);
    tt_http_respond(req, 200, "text/html;charset=utf-8", body, (size_t)n);
}

static void on_signal(tt_loop_t *loop, int fd, int events, void *udata)
{
    (void)events;
    (void)udata;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    }
    tt_loop_stop(loop);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: fake-msg-server [--listen HOST] [--port P] [--http-port P] "
               "[--advertise IP]\n"
               "                       [--drop-every N] [--no-ack-every N] [--rate-limit N]\n"
               "                       [--dup-every N (group deliveries)]\n"
               "                       [--port-file FILE]\n"
               "Port 0 picks a free port; the ports are printed (\"pdu_port=P http_port=H\") and\n"
               "written to --port-file. Statistics are printed on SIGTERM/SIGINT.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, 'p'},
        {"http-port", required_argument, NULL, 'H'},
        {"advertise", required_argument, NULL, 'a'},
        {"drop-every", required_argument, NULL, 'd'},
        {"no-ack-every", required_argument, NULL, 'n'},
        {"rate-limit", required_argument, NULL, 'r'},
        {"dup-every", required_argument, NULL, 'D'},
        {"port-file", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static fake_server_t fs;
    const char *listen_host = "127.0.0.1", *port_file = NULL;
    long port = 0, http_port = -1;
    fs.advertise = "127.0.0.1";
    fs.next_user_id = FIRST_USER_ID;
    fs.next_group_id = FIRST_GROUP_ID;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_host = optarg; break;
        case 'p': port = strtol(optarg, NULL, 10); break;
        case 'H': http_port = strtol(optarg, NULL, 10); break;
        case 'a': fs.advertise = optarg; break;
        case 'd': fs.drop_every = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'n': fs.no_ack_every = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'r': fs.rate_limit = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'D': fs.dup_every = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'f': port_file = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (port < 0 || port > 65535 || http_port > 65535) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    fs.sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    fs.loop = tt_loop_new();
    if (fs.sigfd < 0 || !fs.loop) {
        fprintf(stderr, "fake-msg-server: setup failed: %s\n", strerror(errno));
        return 1;
    }
    tt_map_init(&fs.users_by_name);
    tt_map_init(&fs.users_by_id);
    tt_map_init(&fs.conversations);
    tt_map_init(&fs.groups);
    tt_loop_watch(fs.loop, fs.sigfd, TT_READABLE, on_signal, &fs);
    char err[256];
    tt_server_opts_t so = {.hosts = listen_host, .port = (uint16_t)port, .max_conns = 1000000,
                           .echo_heartbeat = 1};
    so.lim.max_out = 64u << 20;
    fs.pdu = tt_server_new(fs.loop, &so, &pdu_handler, &fs, err, sizeof(err));
    if (!fs.pdu) {
        fprintf(stderr, "fake-msg-server: %s\n", err);
        return 1;
    }
    if (http_port >= 0) {
        fs.http = tt_http_server_new(fs.loop, listen_host, (uint16_t)http_port, NULL, on_http, &fs,
                                     err, sizeof(err));
        if (!fs.http) {
            fprintf(stderr, "fake-msg-server: %s\n", err);
            return 1;
        }
    }
    unsigned hp = fs.http ? tt_http_server_port(fs.http) : 0;
    printf("pdu_port=%u http_port=%u\n", (unsigned)tt_server_port(fs.pdu), hp);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "pdu_port=%u http_port=%u\n", (unsigned)tt_server_port(fs.pdu), hp);
            fclose(f);
        }
    }
    tt_loop_run(fs.loop);

    fprintf(stderr,
            "fake-msg-server: users %zu, logins %llu, kicks %llu, messages %llu, acked %llu, "
            "delivered %llu, receipts %llu, dropped %llu, other commands %llu, closed before "
            "login %llu\n",
            tt_map_len(&fs.users_by_id), (unsigned long long)fs.logins,
            (unsigned long long)fs.kicks, (unsigned long long)fs.msgs,
            (unsigned long long)fs.acked, (unsigned long long)fs.delivered,
            (unsigned long long)fs.receipts, (unsigned long long)fs.dropped,
            (unsigned long long)fs.unknown, (unsigned long long)fs.refused_early);
    tt_server_foreach(fs.pdu, detach_each, NULL);
    tt_server_free(fs.pdu);
    if (fs.http)
        tt_http_server_free(fs.http);
    tt_loop_run_once(fs.loop, 0); /* frees the closed connections */
    for (size_t i = 0; i < fs.users_by_id.cap; i++)
        free(fs.users_by_id.slots[i].value);
    for (size_t i = 0; i < fs.conversations.cap; i++)
        free(fs.conversations.slots[i].value);
    tt_map_free(&fs.users_by_name);
    tt_map_free(&fs.users_by_id);
    for (size_t i = 0; i < fs.groups.cap; i++)
        free(fs.groups.slots[i].value);
    tt_map_free(&fs.groups);
    tt_map_free(&fs.conversations);
    tt_loop_watch(fs.loop, fs.sigfd, 0, NULL, NULL);
    close(fs.sigfd);
    tt_loop_free(fs.loop);
    return 0;
}
