/* ttcli end to end against a small fake msg_server thread (one connection per run): the output
 * of login, whoami, users, departments, online, sign, watch, send, chat and the group commands
 * (what tests grep; the groups only here, msg_server does not serve them yet), refusals
 * with a clear message and exit 1, and the option checks. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Message.pb-c.h"
#include "tt_net.h"
#include "tt_pdu.h"
#include "tt_test.h"

#ifndef TTCLI_PATH
#error "TTCLI_PATH must name the ttcli binary"
#endif

#define LOGIN_CMD(x) IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_##x
#define BUDDY_CMD(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define GM_ADD IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
#define GM_DEL IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL

/* ---- a fake msg_server that answers by command ---- */

typedef struct fake_s {
    int lfd;              /* listening socket */
    uint16_t port;        /* its port */
    pthread_t thread;     /* serves one connection */
    int refuse;           /* answer the login with result 6 */
    int watch;            /* after the user list: push notifications (1: then kick; 2: no
                           * kick; 3: none, chat: the peer answers each message) */
    int hb_seen;          /* heartbeats received */
    char sign[256];       /* last signature set */
    /* chat and groups */
    int msgs;             /* IMMsgData received */
    uint32_t msg_to, msg_type, msg_id, msg_time; /* the last one's fields */
    char msg_data[256];   /* its msg_data (the cipher text) */
    int acks, reads;      /* IMMsgDataAck / IMMsgDataReadAck received */
    uint32_t ack_user, ack_session, ack_msg, ack_type;   /* the last delivery ack */
    uint32_t read_session, read_msg, read_type;          /* the last read ack */
    uint32_t change_type, change_group, change_n, change_first; /* the last member change */
    uint32_t create_n;    /* members in the last create */
} fake_t;

#define HELLO_CT "nnZSBwfPCz60q69ddmfIJA==" /* "hello" in the clients' cipher (PROTOCOL §6.2) */

static const struct {
    uint32_t id;
    const char *name, *nick;
    uint32_t dept;
    const char *sign;
} users[] = {
    {1, "TT001", "Alice", 1, "hello"},
    {2, "TT002", "Bob\twith tab", 2, ""},
    {42, "TT042", "Me", 1, "mine"},
};

static void fill_user(IM__BaseDefine__UserInfo *u, size_t i)
{
    im__base_define__user_info__init(u);
    u->user_id = users[i].id;
    u->user_gender = 1;
    u->user_nick_name = (char *)users[i].nick;
    u->avatar_url = "http://a/1.png";
    u->department_id = users[i].dept;
    u->email = "x@y";
    u->user_real_name = (char *)users[i].name;
    u->user_tel = "123";
    u->user_domain = "d";
    u->status = 0;
    u->sign_info = (char *)users[i].sign;
}

static void put(int fd, uint16_t sid, uint16_t cid, uint16_t seq, const ProtobufCMessage *m)
{
    tt_buf_t b;
    tt_buf_init(&b);
    tt_pdu_append(&b, sid, cid, seq, m);
    if (send(fd, tt_buf_head(&b), tt_buf_len(&b), MSG_NOSIGNAL) < 0) {
        /* the client left */
    }
    tt_buf_free(&b);
}

static void push_notifications(int fd, int kick)
{
    IM__BaseDefine__UserStat st = IM__BASE_DEFINE__USER_STAT__INIT;
    st.user_id = 1;
    st.status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
    IM__Buddy__IMUserStatNotify sn = IM__BUDDY__IMUSER_STAT_NOTIFY__INIT;
    sn.user_stat = &st;
    put(fd, 2, BUDDY_CMD(STATUS_NOTIFY), 0, &sn.base);
    IM__Buddy__IMSignInfoChangedNotify si = IM__BUDDY__IMSIGN_INFO_CHANGED_NOTIFY__INIT;
    si.changed_user_id = 2;
    si.sign_info = "new sign";
    put(fd, 2, BUDDY_CMD(SIGN_INFO_CHANGED_NOTIFY), 0, &si.base);
    IM__Buddy__IMAvatarChangedNotify av = IM__BUDDY__IMAVATAR_CHANGED_NOTIFY__INIT;
    av.changed_user_id = 1;
    av.avatar_url = "http://a/2.png";
    put(fd, 2, BUDDY_CMD(AVATAR_CHANGED_NOTIFY), 0, &av.base);
    IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
    m.from_user_id = 1;
    m.to_session_id = 42;
    m.msg_id = 5;
    m.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
    m.msg_data.data = (uint8_t *)HELLO_CT;
    m.msg_data.len = strlen(HELLO_CT);
    put(fd, 3, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 0, &m.base);
    put(fd, 3, 0x0304, 0, NULL); /* something watch has no words for */
    if (!kick)
        return;
    usleep(100000);
    IM__Login__IMKickUser k = IM__LOGIN__IMKICK_USER__INIT;
    k.user_id = 42;
    k.kick_reason = IM__BASE_DEFINE__KICK_REASON_TYPE__KICK_REASON_DUPLICATE_USER;
    put(fd, 1, LOGIN_CMD(KICK_USER), 0, &k.base);
}

static void answer(fake_t *f, int fd, const tt_pdu_t *p)
{
    IM__BaseDefine__UserInfo infos[3], *ptrs[3];
    for (size_t i = 0; i < 3; i++) {
        fill_user(&infos[i], i);
        ptrs[i] = &infos[i];
    }
    switch (p->command_id) {
    case IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_HEARTBEAT:
        f->hb_seen++;
        put(fd, 7, p->command_id, p->seq_num, NULL);
        break;
    case LOGIN_CMD(REQ_USERLOGIN): {
        IM__Login__IMLoginRes r = IM__LOGIN__IMLOGIN_RES__INIT;
        r.server_time = 1700000000;
        if (f->refuse) {
            r.result_code = IM__BASE_DEFINE__RESULT_TYPE__REFUSE_REASON_DB_VALIDATE_FAILED;
            r.result_string = "用户名/密码错误";
        } else {
            r.result_string = "成功";
            r.has_online_status = 1;
            r.online_status = IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE;
            r.user_info = ptrs[2];
        }
        put(fd, 1, LOGIN_CMD(RES_USERLOGIN), p->seq_num, &r.base);
        break;
    }
    case BUDDY_CMD(ALL_USER_REQUEST): {
        IM__Buddy__IMAllUserRsp r = IM__BUDDY__IMALL_USER_RSP__INIT;
        r.user_id = 42;
        r.latest_update_time = 1700000000;
        IM__BaseDefine__UserInfo *rev[3] = {ptrs[2], ptrs[0], ptrs[1]}; /* unsorted */
        r.n_user_list = 3;
        r.user_list = rev;
        put(fd, 2, BUDDY_CMD(ALL_USER_RESPONSE), p->seq_num, &r.base);
        if (f->watch == 1 || f->watch == 2) /* 3 is chat */
            push_notifications(fd, f->watch == 1);
        break;
    }
    case BUDDY_CMD(DEPARTMENT_REQUEST): {
        IM__BaseDefine__DepartInfo d1 = IM__BASE_DEFINE__DEPART_INFO__INIT;
        d1.dept_id = 1;
        d1.priority = 1;
        d1.dept_name = "研发部";
        IM__BaseDefine__DepartInfo d3 = IM__BASE_DEFINE__DEPART_INFO__INIT;
        d3.dept_id = 3;
        d3.priority = 2;
        d3.dept_name = "Old";
        d3.parent_dept_id = 1;
        d3.dept_status = IM__BASE_DEFINE__DEPARTMENT_STATUS_TYPE__DEPT_STATUS_DELETE;
        IM__BaseDefine__DepartInfo *dl[2] = {&d3, &d1};
        IM__Buddy__IMDepartmentRsp r = IM__BUDDY__IMDEPARTMENT_RSP__INIT;
        r.user_id = 42;
        r.n_dept_list = 2;
        r.dept_list = dl;
        put(fd, 2, BUDDY_CMD(DEPARTMENT_RESPONSE), p->seq_num, &r.base);
        break;
    }
    case BUDDY_CMD(USERS_STATUS_REQUEST): {
        IM__Buddy__IMUsersStatReq *q = (IM__Buddy__IMUsersStatReq *)tt_pb_unpack(
            &im__buddy__imusers_stat_req__descriptor, p->body, p->body_len);
        if (!q)
            break;
        IM__BaseDefine__UserStat st[8], *sp[8];
        size_t n = q->n_user_id_list < 8 ? q->n_user_id_list : 8;
        for (size_t i = 0; i < n; i++) {
            im__base_define__user_stat__init(&st[i]);
            st[i].user_id = q->user_id_list[i];
            st[i].status = st[i].user_id == 42 || st[i].user_id == 1
                               ? IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_ONLINE
                               : IM__BASE_DEFINE__USER_STAT_TYPE__USER_STATUS_OFFLINE;
            sp[i] = &st[i];
        }
        IM__Buddy__IMUsersStatRsp r = IM__BUDDY__IMUSERS_STAT_RSP__INIT;
        r.user_id = 42;
        r.n_user_stat_list = n;
        r.user_stat_list = sp;
        put(fd, 2, BUDDY_CMD(USERS_STATUS_RESPONSE), p->seq_num, &r.base);
        tt_pb_free(q);
        break;
    }
    case BUDDY_CMD(CHANGE_SIGN_INFO_REQUEST): {
        IM__Buddy__IMChangeSignInfoReq *q = (IM__Buddy__IMChangeSignInfoReq *)tt_pb_unpack(
            &im__buddy__imchange_sign_info_req__descriptor, p->body, p->body_len);
        if (!q)
            break;
        snprintf(f->sign, sizeof(f->sign), "%s", q->sign_info);
        IM__Buddy__IMChangeSignInfoRsp r = IM__BUDDY__IMCHANGE_SIGN_INFO_RSP__INIT;
        r.user_id = 42;
        r.result_code = strlen(q->sign_info) > 128;
        put(fd, 2, BUDDY_CMD(CHANGE_SIGN_INFO_RESPONSE), p->seq_num, &r.base);
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA: {
        IM__Message__IMMsgData *q = (IM__Message__IMMsgData *)tt_pb_unpack(
            &im__message__immsg_data__descriptor, p->body, p->body_len);
        if (!q)
            break;
        f->msgs++;
        f->msg_to = q->to_session_id;
        f->msg_type = (uint32_t)q->msg_type;
        f->msg_id = q->msg_id;
        f->msg_time = q->create_time;
        snprintf(f->msg_data, sizeof(f->msg_data), "%.*s", (int)q->msg_data.len,
                 (const char *)q->msg_data.data);
        if (q->to_session_id != 99) { /* 99: a receiver the server refuses, no ack */
            IM__Message__IMMsgDataAck a = IM__MESSAGE__IMMSG_DATA_ACK__INIT;
            a.user_id = 42;
            a.session_id = q->to_session_id;
            a.msg_id = 7;
            a.session_type = q->msg_type >= IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
                                 ? IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
                                 : IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE;
            put(fd, 3, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK, p->seq_num, &a.base);
            /* and the peer answers "hello" */
            IM__Message__IMMsgData m = IM__MESSAGE__IMMSG_DATA__INIT;
            m.from_user_id = 1;
            m.to_session_id = 42;
            m.msg_id = 8;
            m.create_time = 1700000000;
            m.msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
            m.msg_data.data = (uint8_t *)HELLO_CT;
            m.msg_data.len = strlen(HELLO_CT);
            put(fd, 3, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA, 0, &m.base);
        }
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_DATA_ACK: {
        IM__Message__IMMsgDataAck *q = (IM__Message__IMMsgDataAck *)tt_pb_unpack(
            &im__message__immsg_data_ack__descriptor, p->body, p->body_len);
        if (!q)
            break;
        f->acks++;
        f->ack_user = q->user_id;
        f->ack_session = q->session_id;
        f->ack_msg = q->msg_id;
        f->ack_type = (uint32_t)q->session_type;
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_READ_ACK: {
        IM__Message__IMMsgDataReadAck *q = (IM__Message__IMMsgDataReadAck *)tt_pb_unpack(
            &im__message__immsg_data_read_ack__descriptor, p->body, p->body_len);
        if (!q)
            break;
        f->reads++;
        f->read_session = q->session_id;
        f->read_msg = q->msg_id;
        f->read_type = (uint32_t)q->session_type;
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_REQUEST: {
        IM__Message__IMUnreadMsgCntRsp r = IM__MESSAGE__IMUNREAD_MSG_CNT_RSP__INIT;
        r.user_id = 42;
        put(fd, 3, IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_UNREAD_CNT_RESPONSE, p->seq_num,
            &r.base);
        break;
    }
    case IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST: {
        IM__BaseDefine__ContactSessionInfo s1 = IM__BASE_DEFINE__CONTACT_SESSION_INFO__INIT;
        s1.session_id = 300; /* a temporary group found through the sessions */
        s1.session_type = IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP;
        s1.latest_msg_id = 3;
        s1.latest_msg_data.data = (uint8_t *)HELLO_CT;
        s1.latest_msg_data.len = strlen(HELLO_CT);
        s1.latest_msg_type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT;
        IM__BaseDefine__ContactSessionInfo *sl[1] = {&s1};
        IM__Buddy__IMRecentContactSessionRsp r = IM__BUDDY__IMRECENT_CONTACT_SESSION_RSP__INIT;
        r.user_id = 42;
        r.n_contact_session_list = 1;
        r.contact_session_list = sl;
        put(fd, 2, p->command_id + 1, p->seq_num, &r.base);
        break;
    }
    case IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_NORMAL_LIST_REQUEST: {
        IM__BaseDefine__GroupVersionInfo v = IM__BASE_DEFINE__GROUP_VERSION_INFO__INIT;
        v.group_id = 200;
        v.version = 4;
        IM__BaseDefine__GroupVersionInfo *vl[1] = {&v};
        IM__Group__IMNormalGroupListRsp r = IM__GROUP__IMNORMAL_GROUP_LIST_RSP__INIT;
        r.user_id = 42;
        r.n_group_version_list = 1;
        r.group_version_list = vl;
        put(fd, 4, p->command_id + 1, p->seq_num, &r.base);
        break;
    }
    case IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_INFO_REQUEST: {
        IM__Group__IMGroupInfoListReq *q = (IM__Group__IMGroupInfoListReq *)tt_pb_unpack(
            &im__group__imgroup_info_list_req__descriptor, p->body, p->body_len);
        if (!q)
            break;
        IM__BaseDefine__GroupInfo g[4], *gl[4];
        uint32_t members[3] = {42, 1, 2};
        size_t n = 0;
        for (size_t i = 0; i < q->n_group_version_list && n < 4; i++) {
            uint32_t id = q->group_version_list[i]->group_id;
            im__base_define__group_info__init(&g[n]);
            g[n].group_id = id;
            g[n].version = id == 200 ? 4 : 1;
            g[n].group_name = id == 200 ? "全体" : "lunch";
            g[n].group_avatar = "";
            g[n].group_creator_id = id == 200 ? 0 : 42;
            g[n].group_type = id == 200 ? IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL
                                        : IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP;
            g[n].shield_status = id == 300;
            g[n].n_group_member_list = id == 200 ? 3 : 2;
            g[n].group_member_list = members;
            gl[n] = &g[n];
            n++;
        }
        IM__Group__IMGroupInfoListRsp r = IM__GROUP__IMGROUP_INFO_LIST_RSP__INIT;
        r.user_id = 42;
        r.n_group_info_list = n;
        r.group_info_list = gl;
        put(fd, 4, p->command_id + 1, p->seq_num, &r.base);
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CREATE_REQUEST: {
        IM__Group__IMGroupCreateReq *q = (IM__Group__IMGroupCreateReq *)tt_pb_unpack(
            &im__group__imgroup_create_req__descriptor, p->body, p->body_len);
        if (!q)
            break;
        f->create_n = (uint32_t)q->n_member_id_list;
        IM__Group__IMGroupCreateRsp r = IM__GROUP__IMGROUP_CREATE_RSP__INIT;
        r.user_id = 42;
        r.result_code = q->group_type != IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP;
        r.has_group_id = 1;
        r.group_id = 301;
        r.group_name = q->group_name;
        r.n_user_id_list = q->n_member_id_list;
        r.user_id_list = q->member_id_list;
        put(fd, 4, p->command_id + 1, p->seq_num, &r.base);
        tt_pb_free(q);
        break;
    }
    case IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_CHANGE_MEMBER_REQUEST: {
        IM__Group__IMGroupChangeMemberReq *q = (IM__Group__IMGroupChangeMemberReq *)tt_pb_unpack(
            &im__group__imgroup_change_member_req__descriptor, p->body, p->body_len);
        if (!q)
            break;
        f->change_type = (uint32_t)q->change_type;
        f->change_group = q->group_id;
        f->change_n = (uint32_t)q->n_member_id_list;
        f->change_first = q->n_member_id_list ? q->member_id_list[0] : 0;
        if (q->group_id == 667) { /* 667: no answer, as a msg_server without groups */
            tt_pb_free(q);
            break;
        }
        uint32_t cur[2] = {42, 1};
        IM__Group__IMGroupChangeMemberRsp r = IM__GROUP__IMGROUP_CHANGE_MEMBER_RSP__INIT;
        r.user_id = 42;
        r.change_type = q->change_type;
        r.result_code = q->group_id == 666; /* 666: refused */
        r.group_id = q->group_id;
        if (!r.result_code) {
            r.n_cur_user_id_list = 2;
            r.cur_user_id_list = cur;
            r.n_chg_user_id_list = q->n_member_id_list;
            r.chg_user_id_list = q->member_id_list;
        }
        put(fd, 4, p->command_id + 1, p->seq_num, &r.base);
        tt_pb_free(q);
        break;
    }
    default:
        break;
    }
}

static void *fake_main(void *arg)
{
    fake_t *f = arg;
    struct pollfd lp = {.fd = f->lfd, .events = POLLIN};
    if (poll(&lp, 1, 10000) != 1)
        return NULL;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    tt_pdu_reader_t rd;
    tt_pdu_reader_init(&rd, 1u << 20);
    for (;;) {
        tt_pdu_t p;
        int rc = tt_pdu_reader_next(&rd, &p);
        if (rc == TT_OK) {
            answer(f, fd, &p);
            if (f->refuse && p.command_id == LOGIN_CMD(REQ_USERLOGIN))
                break; /* then close, like msg_server */
            continue;
        }
        if (rc == TT_ERR)
            break;
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 10000) != 1)
            break;
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        tt_pdu_reader_feed(&rd, buf, (size_t)n);
    }
    tt_pdu_reader_free(&rd);
    close(fd);
    return NULL;
}

static void fake_start(fake_t *f, int refuse, int watch)
{
    char err[128];
    memset(f, 0, sizeof(*f));
    f->lfd = tt_net_listen("127.0.0.1", 0, 4, err, sizeof(err));
    assert_true(f->lfd >= 0);
    f->port = tt_net_local_port(f->lfd);
    f->refuse = refuse;
    f->watch = watch;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake_t *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

/* ---- running ttcli ---- */

typedef struct run_s {
    int status;      /* exit status */
    char out[8192];  /* stdout */
    char err[4096];  /* stderr */
} run_t;

static void slurp(int fd, char *buf, size_t len)
{
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
}

/* When set, ttcli's stdin is a pipe that gets this text and stays open until ttcli ends. */
static const char *stdin_text;

/* Runs ttcli with args (NULL-terminated), TT_PASSWORD from env_pw when not NULL; when
 * interrupt_at is given, sends SIGINT once stdout shows it (or after 20 s). */
static void ttcli_run(run_t *r, const char *env_pw, const char *interrupt_at,
                      const char *const *args)
{
    char outname[] = "/tmp/ttcli-out-XXXXXX", errname[] = "/tmp/ttcli-err-XXXXXX";
    int ofd = mkstemp(outname), efd = mkstemp(errname);
    assert_true(ofd >= 0 && efd >= 0);
    unlink(outname);
    unlink(errname);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = TTCLI_PATH;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    /* the environment is built before fork: the child of a threaded process must not malloc */
    extern char **environ;
    static char pwvar[128];
    const char *envp[256];
    size_t e = 0;
    for (char **v = environ; *v && e < 254; v++)
        if (strncmp(*v, "TT_PASSWORD=", 12) != 0)
            envp[e++] = *v;
    if (env_pw) {
        snprintf(pwvar, sizeof(pwvar), "TT_PASSWORD=%s", env_pw);
        envp[e++] = pwvar;
    }
    envp[e] = NULL;
    int in[2] = {-1, -1};
    if (stdin_text)
        assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int nul = stdin_text ? in[0] : open("/dev/null", O_RDONLY);
        if (stdin_text)
            close(in[1]);
        dup2(nul, 0);
        dup2(ofd, 1);
        dup2(efd, 2);
        setsid(); /* no controlling terminal: a password prompt must fail, not hang */
        execve(TTCLI_PATH, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    if (stdin_text) {
        close(in[0]);
        assert_int_equal(write(in[1], stdin_text, strlen(stdin_text)),
                         (ssize_t)strlen(stdin_text));
    }
    if (interrupt_at) {
        for (int i = 0; i < 2000; i++) {
            char seen[8192];
            ssize_t n = pread(ofd, seen, sizeof(seen) - 1, 0);
            seen[n > 0 ? n : 0] = 0;
            if (strstr(seen, interrupt_at))
                break;
            usleep(10000);
        }
        kill(pid, SIGINT);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (stdin_text)
        close(in[1]);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(ofd, r->out, sizeof(r->out));
    slurp(efd, r->err, sizeof(r->err));
}

static void ttcli(run_t *r, const char *env_pw, const char *const *args)
{
    ttcli_run(r, env_pw, NULL, args);
}

static void has(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("\"%s\" not found in:\n%s", needle, text);
}

static fake_t last_fake; /* the fake of the last run_against, for its records */

static void run_against(run_t *r, int refuse, int watch, const char *env_pw,
                        const char *const *cmd)
{
    const char *interrupt_at = watch == 2 ? "pdu 0x0304" : watch == 3 ? "#8 TT001: hello" : NULL;
    fake_t f;
    fake_start(&f, refuse, watch);
    char where[32];
    snprintf(where, sizeof(where), "127.0.0.1:%u", (unsigned)f.port);
    const char *args[16] = {"-m", where, "-u", "TT042"};
    size_t n = 4;
    for (size_t i = 0; cmd[i] && n < 15; i++)
        args[n++] = cmd[i];
    args[n] = NULL;
    ttcli_run(r, env_pw, interrupt_at, args);
    fake_stop(&f);
    last_fake = f;
}

/* ---- tests ---- */

static void test_login_and_whoami(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, NULL, (const char *[]){"-p", "test123", "-t", "android", "login", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "result: 成功\n");
    has(r.out, "user_id: 42\n");
    has(r.out, "name: TT042\n");
    has(r.out, "nick: Me\n");
    has(r.out, "department_id: 1\n");
    has(r.out, "sign: mine\n");
    has(r.out, "online_status: online\n");
    has(r.out, "server_time: 1700000000 (");
    has(r.out, "msg_server: 127.0.0.1:");
    assert_string_equal(r.err, "");

    run_against(&r, 0, 0, "test123", (const char *[]){"whoami", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "name: TT042\nuser_id: 42\nnick: Me\nclient: pc\nmsg_server: 127.0.0.1:");
}

static void test_refused(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 1, 0, "wrong", (const char *[]){"login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: login refused: 用户名/密码错误 (result 6)\n");
    assert_string_equal(r.out, "");
}

static void test_users_and_departments(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, "test123", (const char *[]){"users", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "id\tname\tnick\tdepartment\tstatus\tsign\n"
                               "1\tTT001\tAlice\t研发部\tactive\thello\n"
                               "2\tTT002\tBob with tab\t2\tactive\t\n"
                               "42\tTT042\tMe\t研发部\tactive\tmine\n"
                               "total: 3\n");
    run_against(&r, 0, 0, "test123", (const char *[]){"departments", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "id\tname\tparent\tpriority\tstatus\n"
                               "1\t研发部\t0\t1\tok\n"
                               "3\tOld\t1\t2\tdeleted\n"
                               "total: 2\n");
}

static void test_online(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, "test123", (const char *[]){"online", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "id\tname\tnick\tstatus\n"
                               "1\tTT001\tAlice\tonline\n"
                               "42\tTT042\tMe\tonline\n"
                               "online: 2 of 3\n");
}

static void test_sign(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, "test123", (const char *[]){"sign", "hello there", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "sign: hello there\n");
    char longsign[200];
    memset(longsign, 's', sizeof(longsign) - 1);
    longsign[sizeof(longsign) - 1] = 0;
    run_against(&r, 0, 0, "test123", (const char *[]){"sign", longsign, NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: sign refused (result 1)");
}

static void test_watch(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 1, "test123", (const char *[]){"watch", NULL});
    assert_int_equal(r.status, 1);
    has(r.out, "watching: TT042 (user 42) on 127.0.0.1:");
    has(r.out, " status 1 TT001 online\n");
    has(r.out, " sign 2 TT002 new sign\n");
    has(r.out, " avatar 1 TT001 http://a/2.png\n");
    has(r.out, " message 1 TT001 to 42 msg_id 5 type 1 (24 bytes): hello\n");
    has(r.out, " pdu 0x0304 seq 0 (0 bytes)\n");
    has(r.out, " kicked duplicate login (reason 1)\n");
    has(r.err, "ttcli: kicked by the server");
    /* lines start with a time stamp */
    const char *line = strstr(r.out, "\n") + 1;
    assert_true(line[4] == '-' && line[7] == '-' && line[10] == ' ' && line[13] == ':');

    /* Ctrl-C ends a quiet watch with exit 0 */
    run_against(&r, 0, 2, "test123", (const char *[]){"watch", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, " sign 2 TT002 new sign\n");
    assert_null(strstr(r.out, "kicked"));
    assert_string_equal(r.err, "");
}

static void test_options(void **state)
{
    (void)state;
    run_t r;
    ttcli(&r, NULL, (const char *[]){"-h", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "usage: ttcli");
    has(r.out, "watch");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "dance", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "unknown command dance");
    ttcli(&r, "x", (const char *[]){"login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "no user given");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "-t", "fax", "login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "unknown client type fax");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "sign", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "sign needs the TEXT");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "-m", "nohostport", "login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "bad -m nohostport");
    /* no password and no terminal */
    ttcli(&r, NULL, (const char *[]){"-u", "TT001", "login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "no password");
    /* login_server not there */
    char err[128], url[64];
    int lfd = tt_net_listen("127.0.0.1", 0, 1, err, sizeof(err));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/msg_server", tt_net_local_port(lfd));
    close(lfd);
    ttcli(&r, "x", (const char *[]){"-s", url, "-u", "TT001", "login", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: login_server: ");
    has(r.err, "cannot connect");
}

static void test_send(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, "test123", (const char *[]){"send", "TT001", "hello", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "sent: msg_id 7 to TT001 (user 1)\n");
    assert_string_equal(r.err, "");
    /* sent as Android does: msg_id 0, the clock, the clients' cipher */
    assert_int_equal(last_fake.msgs, 1);
    assert_int_equal(last_fake.msg_to, 1);
    assert_int_equal(last_fake.msg_id, 0);
    assert_true(last_fake.msg_time > 1700000000);
    assert_int_equal(last_fake.msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT);
    assert_string_equal(last_fake.msg_data, HELLO_CT);
    run_against(&r, 0, 0, "test123", (const char *[]){"send", "group:300", "hello", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "sent: msg_id 7 to group:300 (group 300)\n");
    assert_int_equal(last_fake.msg_type, IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT);
    /* no ack: a clear error in the time given */
    run_against(&r, 0, 0, "test123", (const char *[]){"-w", "1", "send", "99", "hi", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: send to 99: no ack from the server within 1000 ms: the message was "
               "refused");
    run_against(&r, 0, 0, "test123", (const char *[]){"send", "TT777", "hi", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: no user TT777");
    assert_int_equal(last_fake.msgs, 0);
    run_against(&r, 0, 0, "test123", (const char *[]){"send", "group:x", "hi", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "bad group group:x");
}

static void test_chat(void **state)
{
    (void)state;
    run_t r;
    static char text[9000 + 16];
    memset(text, 'x', 9000); /* longer than a line may be: refused, the next one goes */
    snprintf(text + 9000, sizeof(text) - 9000, "\n\nhello\n");
    stdin_text = text;
    run_against(&r, 0, 3, "test123", (const char *[]){"chat", "TT001", NULL});
    stdin_text = NULL;
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "ttcli: line longer than 8192 bytes, not sent\n");
    has(r.out, "chat with TT001 (user 1) as TT042;");
    has(r.out, "\n*** TT001 is online\n");
    has(r.out, " #7 you: hello\n");
    has(r.out, " #8 TT001: hello\n");
    assert_int_equal(last_fake.msgs, 1); /* neither the long line nor the empty one */
    assert_string_equal(last_fake.msg_data, HELLO_CT);
    /* the delivery acknowledged as iOS and Windows do, and marked read */
    assert_int_equal(last_fake.acks, 1);
    assert_int_equal(last_fake.ack_user, 42);
    assert_int_equal(last_fake.ack_session, 1);
    assert_int_equal(last_fake.ack_msg, 8);
    assert_int_equal(last_fake.ack_type, IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE);
    assert_int_equal(last_fake.reads, 1);
    assert_int_equal(last_fake.read_session, 1);
    assert_int_equal(last_fake.read_msg, 8);
    assert_int_equal(last_fake.read_type, IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_SINGLE);
}

static void test_groups(void **state)
{
    (void)state;
    run_t r;
    run_against(&r, 0, 0, "test123", (const char *[]){"groups", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "200\tnormal\t全体\tversion 4\t-\tTT042,TT001,TT002\n");
    has(r.out, "300\ttemp\tlunch\tversion 1\tmuted\tTT042,TT001\n");
    has(r.out, "groups: 2\n");
    assert_string_equal(r.err, "");
    run_against(&r, 0, 0, "test123",
                (const char *[]){"group", "create", "lunch", "TT001", "2", "TT001", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "group: 301 created: lunch\nmembers: TT001 TT002 TT042\n");
    assert_int_equal(last_fake.create_n, 3); /* duplicates out, the creator in */
    run_against(&r, 0, 0, "test123", (const char *[]){"group", "add", "300", "TT002", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "group: 300 changed\nadded: TT002\nmembers: TT042 TT001\n");
    assert_int_equal(last_fake.change_type, GM_ADD);
    run_against(&r, 0, 0, "test123", (const char *[]){"group", "remove", "300", "1", NULL});
    assert_int_equal(r.status, 0);
    assert_int_equal(last_fake.change_type, GM_DEL);
    assert_int_equal(last_fake.change_first, 1);
    run_against(&r, 0, 0, "test123", (const char *[]){"group", "leave", "300", NULL});
    assert_int_equal(r.status, 0);
    has(r.out, "group: 300 left\n");
    assert_string_equal(r.err, "");
    assert_int_equal(last_fake.change_type, GM_DEL);
    assert_int_equal(last_fake.change_n, 1);
    assert_int_equal(last_fake.change_first, 42);
    run_against(&r, 0, 0, "test123", (const char *[]){"group", "add", "666", "TT002", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: group add refused (result 1)");
    run_against(&r, 0, 0, "test123",
                (const char *[]){"-w", "1", "group", "add", "667", "TT002", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "ttcli: group add: no answer 0x0408 to 0x0407");
    has(r.err, " within 1000 ms (does this msg_server serve groups yet?)\n");
    /* argument checks, before any connection */
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "group", "leave", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "group needs create NAME USER...");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "group", "add", "5", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "group add needs GID and at least one USER");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "group", "join", "5", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "unknown group command join");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "send", "TT002", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "send needs USER|group:GID and the TEXT");
    ttcli(&r, "x", (const char *[]){"-u", "TT001", "history", "TT002", "5", "6", NULL});
    assert_int_equal(r.status, 1);
    has(r.err, "too many arguments for history");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_and_whoami),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_users_and_departments),
        cmocka_unit_test(test_online),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_chat),
        cmocka_unit_test(test_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
