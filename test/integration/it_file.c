/* File transfer through msg_server (issue 11), driven by it_file.sh.
 *   it_file requests MS1 MS2   — no file_server up: requests refused with result 1; offline
 *       files registered, listed and deleted through db_proxy_server with the session's user
 *       whatever the message says, the ready notify to the receiver on the other msg_server,
 *       bad task ids refused, the per-user rate, the per-receiver cap (TT007 has 99 pending
 *       files, put there by the script).
 *   it_file transfer MS1 MS2   — file_server up: an online transfer between TT001 (msg_server
 *       1) and TT002 (msg_server 2) through file_server, an online request to a user with no
 *       PC client that becomes offline, the offline upload, registration, list, download and
 *       delete, a stranger refused on a task.
 * Users TT001.. are ids 1.., password test123. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "IM.File.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define FCMD(x) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##x
#define ONLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE
#define OFFLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_OFFLINE
#define T 5000

static IM__File__IMFileRsp *request(ttc_t *c, uint32_t to, const char *name, uint32_t size,
                                    uint32_t mode)
{
    char err[128] = "";
    IM__File__IMFileRsp *r = ttc_file_request(c, to, name, size, mode, T, err, sizeof(err));
    if (!r)
        printf("  (no file answer: %s)\n", err);
    return r;
}

/* The result of a request (-1: no answer); a refusal must carry no task and no address. */
static long result_of(ttc_t *c, uint32_t to, const char *name, uint32_t mode, uint32_t self)
{
    IM__File__IMFileRsp *r = request(c, to, name, 10, mode);
    if (!r)
        return -1;
    long v = r->result_code;
    if (v != 0)
        check(r->task_id && !*r->task_id && r->n_ip_addr_list == 0 && r->from_user_id == self,
              "a refusal has no task id, no address and the session's user as sender");
    tt_pb_free(r);
    return v;
}

/* The next file notify on c within ms (tt_pb_free), NULL when none. */
static IM__File__IMFileNotify *notified(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, FCMD(NOTIFY), ms, &p) != 0)
        return NULL;
    IM__File__IMFileNotify *n = (IM__File__IMFileNotify *)tt_pb_unpack(
        &im__file__imfile_notify__descriptor, p->body, p->body_len);
    check(n && p->seq_num == 0, "a file notify parses and has seq 0");
    ttc_pdu_free(p);
    return n;
}

static IM__File__IMFileHasOfflineRsp *list(ttc_t *c)
{
    char err[128] = "";
    IM__File__IMFileHasOfflineRsp *r = ttc_file_offline_list(c, T, err, sizeof(err));
    if (!r)
        printf("  (no offline list: %s)\n", err);
    else
        check(!r->has_attach_data && r->user_id == ttc_user_id(c),
              "the offline list is the session user's, without attach_data");
    return r;
}

/* The entry for task in c's offline list: its uploader, or 0 when not listed (-1 no list). */
static long listed_from(ttc_t *c, const char *task, size_t *count)
{
    IM__File__IMFileHasOfflineRsp *r = list(c);
    if (!r)
        return -1;
    long from = 0;
    for (size_t i = 0; i < r->n_offline_file_list; i++)
        if (strcmp(r->offline_file_list[i]->task_id, task) == 0)
            from = r->offline_file_list[i]->from_user_id;
    if (count)
        *count = r->n_offline_file_list;
    tt_pb_free(r);
    return from;
}

/* Adds and deletes have no answer: look again until the list shows the change. */
static long listed_from_eventually(ttc_t *c, const char *task, long want)
{
    long v = -1;
    for (int i = 0; i < 50; i++) {
        v = listed_from(c, task, NULL);
        if (v == want)
            break;
        usleep(100000);
    }
    return v;
}

/* Sends cid with a raw body (seq 77). */
static void send_raw(ttc_t *c, uint16_t cid, const uint8_t *body, size_t len)
{
    uint8_t frame[256];
    tt_pdu_encode_header(frame, (uint32_t)(TT_PDU_HEADER_LEN + len),
                         IM__BASE_DEFINE__SERVICE_ID__SID_FILE, cid, 77);
    memcpy(frame + TT_PDU_HEADER_LEN, body, len);
    ttc_send_raw(c, frame, TT_PDU_HEADER_LEN + len);
}

/* Junk and a name with a NUL: no answer or a refusal, and the connection goes on. */
static void junk(ttc_t *u1, ttc_t *u2)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x07, 0x12};
    send_raw(u1, FCMD(REQUEST), garbage, sizeof(garbage));
    send_raw(u1, FCMD(ADD_OFFLINE_REQ), garbage, sizeof(garbage));
    send_raw(u1, FCMD(DEL_OFFLINE_REQ), garbage, sizeof(garbage));
    send_raw(u1, FCMD(HAS_OFFLINE_REQ), garbage, sizeof(garbage));
    /* IMFileReq{from 1, to 2, name "a\0b", size 1, mode 2} */
    static const uint8_t nul_name[] = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x03, 'a', 0x00,
                                       'b',  0x20, 0x01, 0x28, 0x02};
    send_raw(u1, FCMD(REQUEST), nul_name, sizeof(nul_name));
    ttc_pdu_t *p = NULL;
    int rc = ttc_wait(u1, FCMD(RESPONSE), T, &p);
    IM__File__IMFileRsp *r =
        rc == 0 ? (IM__File__IMFileRsp *)tt_pb_unpack(&im__file__imfile_rsp__descriptor,
                                                      p->body, p->body_len)
                : NULL;
    check(r && r->result_code == 1 && p->seq_num == 77,
          "a file name with a NUL inside is refused (with the request's seq)");
    tt_pb_free(r);
    ttc_pdu_free(p);
    /* IMFileAddOfflineReq{from 1, to 2, task "t\0x", name "n", size 1} */
    static const uint8_t nul_task[] = {0x08, 0x01, 0x10, 0x02, 0x1a, 0x03, 't', 0x00,
                                       'x',  0x22, 0x01, 'n',  0x28, 0x01};
    send_raw(u1, FCMD(ADD_OFFLINE_REQ), nul_task, sizeof(nul_task));
    usleep(300000);
    check(listed_from(u2, "t", NULL) == 0, "a task id with a NUL inside is not registered");
    check(!ttc_is_closed(u1) && listed_from(u1, "x", NULL) == 0,
          "after the junk TT001's connection still answers");
}

static int run_requests(uint16_t p1, uint16_t p2)
{
    ttc_t *u1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *u2 = itc_login(p2, "TT002", ITC_PC);
    ttc_t *u3 = itc_login(p2, "TT003", ITC_PC);
    ttc_t *u5 = itc_login(p1, "TT005", ITC_PC);
    ttc_t *u6 = itc_login(p2, "TT006", ITC_PC);
    ttc_t *u8 = itc_login(p1, "TT008", ITC_PC);
    ttc_t *u7 = itc_login(p2, "TT007", ITC_PC);
    if (!u1 || !u2 || !u3 || !u5 || !u6 || !u7 || !u8)
        return check(0, "logins"), 1;

    /* no file_server: every request refused, at once */
    check(result_of(u1, 2, "C:/docs/a.txt", ONLINE, 1) == 1, "online request refused: no file_server");
    check(result_of(u1, 2, "a.txt", OFFLINE, 1) == 1, "offline request refused: no file_server");
    check(result_of(u1, 0, "a.txt", OFFLINE, 1) == 1, "a request to user 0 refused");
    check(result_of(u1, 2, "", OFFLINE, 1) == 1, "a request without a name refused");
    check(result_of(u1, 2, "a.txt", 7, 1) == 1, "a request in mode 7 refused");
    char longname[1100];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    check(result_of(u1, 2, longname, OFFLINE, 1) == 1, "a 1099-byte name refused");

    junk(u1, u2);

    /* a registration with a forged uploader: stored with the session's user */
    check(ttc_file_add_offline(u1, 3, 2, "task-forged-from", "a.txt", 5) == 0,
          "TT001 registers an offline file for TT002 claiming to be TT003");
    IM__File__IMFileNotify *n = notified(u2, T);
    check(n && n->from_user_id == 1 && n->to_user_id == 2 && n->offline_ready == 1 &&
              n->trans_mode == OFFLINE && strcmp(n->task_id, "task-forged-from") == 0 &&
              strcmp(n->file_name, "a.txt") == 0 && n->file_size == 5,
          "TT002 on the other msg_server is told the file is ready, from TT001");
    tt_pb_free(n);
    check(listed_from_eventually(u2, "task-forged-from", 1) == 1,
          "TT002's offline list has it, uploaded by TT001 (not TT003)");
    /* the list is the session's whatever the request names */
    IM__File__IMFileHasOfflineReq forged = IM__FILE__IMFILE_HAS_OFFLINE_REQ__INIT;
    forged.user_id = 2;
    IM__File__IMFileHasOfflineRsp *fl = ttc_call(
        u3, IM__BASE_DEFINE__SERVICE_ID__SID_FILE, FCMD(HAS_OFFLINE_REQ), &forged.base,
        FCMD(HAS_OFFLINE_RES), &im__file__imfile_has_offline_rsp__descriptor, T, NULL, 0);
    check(fl && fl->user_id == 3 && fl->n_offline_file_list == 0,
          "TT003 asking for TT002's list gets its own, empty");
    tt_pb_free(fl);

    /* deletes: only ever the session's own rows */
    check(ttc_file_del_offline(u3, 1, 2, "task-forged-from") == 0, "TT003 deletes TT002's file");
    usleep(500000);
    check(listed_from(u2, "task-forged-from", NULL) == 1, "TT002's file is still there");
    check(ttc_file_del_offline(u2, 1, 9, "task-forged-from") == 0,
          "TT002 deletes its file naming receiver 9");
    check(listed_from_eventually(u2, "task-forged-from", 0) == 0, "TT002's file is gone");

    /* bad registrations */
    char longtask[200];
    memset(longtask, 't', sizeof(longtask) - 1);
    longtask[sizeof(longtask) - 1] = 0;
    ttc_file_add_offline(u1, 1, 2, longtask, "b.txt", 5);
    ttc_file_add_offline(u1, 1, 2, "", "b.txt", 5);
    ttc_file_add_offline(u1, 1, 1, "task-self", "b.txt", 5);
    ttc_file_add_offline(u1, 1, 2, "task-after-bad", "b.txt", 5);
    check(listed_from_eventually(u2, "task-after-bad", 1) == 1, "a good registration gets in");
    size_t count = 0;
    listed_from(u2, "x", &count);
    check(count == 1, "a 199-byte task id and an empty one were not registered");
    check(listed_from(u1, "task-self", NULL) == 1, "a file to oneself is (as in the original)");
    /* the same task twice is one row */
    ttc_file_add_offline(u1, 1, 2, "task-after-bad", "b.txt", 5);
    usleep(500000);
    listed_from(u2, "x", &count);
    check(count == 1, "a task registered twice is listed once");

    /* the rate: FileRateBurst (10) at once from one user */
    char task[64];
    for (int i = 0; i < 12; i++) {
        snprintf(task, sizeof(task), "task-rate-%02d", i);
        ttc_file_add_offline(u5, 5, 6, task, "r.bin", 1);
    }
    listed_from_eventually(u6, "task-rate-09", 5);
    usleep(300000);
    listed_from(u6, "x", &count);
    check(count == 10, "12 registrations at once: 10 in (FileRateBurst)");

    /* the cap: TT007 has 99 pending files; one more gets in, the next not */
    ttc_file_add_offline(u8, 8, 7, "task-cap-100", "c.bin", 1);
    check(listed_from_eventually(u7, "task-cap-100", 8) == 8, "the 100th pending file gets in");
    ttc_file_add_offline(u8, 8, 7, "task-cap-101", "c.bin", 1);
    usleep(500000);
    IM__File__IMFileHasOfflineRsp *l7 = list(u7);
    int found = 0;
    for (size_t i = 0; l7 && i < l7->n_offline_file_list; i++)
        found |= strcmp(l7->offline_file_list[i]->task_id, "task-cap-101") == 0;
    check(l7 && l7->n_offline_file_list == 100 && !found, "the 101st is not registered");
    tt_pb_free(l7);

    ttc_close(u1);
    ttc_close(u2);
    ttc_close(u3);
    ttc_close(u5);
    ttc_close(u6);
    ttc_close(u7);
    ttc_close(u8);
    return 0;
}

/* ---- with a file_server ---- */

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((i * 131 + seed + (i >> 9)) & 0xff);
}

static int temp_file(const uint8_t *data, size_t n)
{
    char path[] = "/tmp/it_file_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    if (n && write(fd, data, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    return fd;
}

static int same_content(int fd, const uint8_t *data, size_t n)
{
    uint8_t *got = malloc(n ? n : 1);
    int ok = got && pread(fd, got, n, 0) == (ssize_t)n && memcmp(got, data, n) == 0;
    off_t end = lseek(fd, 0, SEEK_END);
    free(got);
    return ok && end == (off_t)n;
}

typedef struct serve_s {
    const char *host;
    uint16_t port;
    uint32_t user;
    const char *task;
    uint32_t role;
    int fd;
    uint32_t size;
    int rc;
} serve_t;

static int run_serve(serve_t *s)
{
    char err[256] = "";
    ttc_t *f = ttc_file_login(s->host, s->port, s->user, s->task, s->role, T, err, sizeof(err));
    if (!f) {
        printf("  (sender login: %s)\n", err);
        return -1;
    }
    uint64_t served = 0;
    int rc = ttc_file_serve(f, s->user, s->task, s->fd, s->size, 20000, &served, err,
                            sizeof(err));
    if (rc != 0)
        printf("  (serve: %s)\n", err);
    ttc_close(f);
    return rc;
}

static int run_transfer(uint16_t p1, uint16_t p2)
{
    ttc_t *u1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *u2 = itc_login(p2, "TT002", ITC_PC);
    ttc_t *u4 = itc_login(p2, "TT004", ITC_ANDROID);
    if (!u1 || !u2 || !u4)
        return check(0, "logins"), 1;
    char err[256];

    /* online, across msg_servers: the sender serves in a child process */
    size_t n = 200000;
    uint8_t *data = malloc(n);
    fill(data, n, 7);
    int src = temp_file(data, n);
    IM__File__IMFileRsp *r = request(u1, 2, "C:/Users/me/online.bin", (uint32_t)n, ONLINE);
    check(r && r->result_code == 0 && r->trans_mode == ONLINE && r->task_id && *r->task_id &&
              r->n_ip_addr_list >= 1,
          "online request to TT002 (PC on msg_server 2): a task, online, an address");
    IM__File__IMFileNotify *nt = notified(u2, T);
    check(nt && r && strcmp(nt->task_id, r->task_id) == 0 && nt->from_user_id == 1 &&
              nt->file_size == n && nt->trans_mode == ONLINE && nt->offline_ready == 0 &&
              nt->n_ip_addr_list >= 1,
          "TT002 on msg_server 2 is notified of the task");
    if (r && nt && r->result_code == 0 && nt->n_ip_addr_list >= 1) {
        char host[80];
        snprintf(host, sizeof(host), "%s", r->ip_addr_list[0]->ip);
        uint16_t port = (uint16_t)r->ip_addr_list[0]->port;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            serve_t s = {host, port, 1, r->task_id, 1, src, (uint32_t)n, 0};
            _exit(run_serve(&s) == 0 ? 0 : 1);
        }
        int dst = temp_file(NULL, 0);
        ttc_t *f = ttc_file_login(host, port, 2, nt->task_id, 2, T, err, sizeof(err));
        check(f != NULL, "TT002 logs in to the task as the online receiver");
        int rc = f ? ttc_file_fetch(f, 2, nt->task_id, ONLINE, dst, (uint32_t)n, 0, 20000, err,
                                    sizeof(err))
                   : -1;
        if (rc != 0)
            printf("  (fetch: %s)\n", err);
        check(rc == 0 && same_content(dst, data, n),
              "200000 bytes online in 34816-byte pulls, byte for byte");
        ttc_close(f);
        int st = -1;
        waitpid(pid, &st, 0);
        check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the sender saw DONE");
        close(dst);
    }
    tt_pb_free(nt);
    tt_pb_free(r);
    close(src);

    /* online to a user with no PC: offline; upload, register, list, download, delete */
    fill(data, n, 11);
    src = temp_file(data, n);
    r = request(u1, 4, "C:/Users/me/off line.bin", (uint32_t)n, ONLINE);
    check(r && r->result_code == 0 && r->trans_mode == OFFLINE && r->n_ip_addr_list >= 1,
          "online request to TT004 (only a phone): becomes offline");
    IM__File__IMFileNotify *n4 = notified(u4, T);
    check(n4 && r && strcmp(n4->task_id, r->task_id) == 0 && n4->trans_mode == OFFLINE,
          "TT004's phone on msg_server 2 is told (the other msg_server tells every connection)");
    tt_pb_free(n4);
    if (r && r->result_code == 0 && r->n_ip_addr_list >= 1) {
        serve_t s = {r->ip_addr_list[0]->ip, (uint16_t)r->ip_addr_list[0]->port, 1, r->task_id,
                     3, src, (uint32_t)n, 0};
        check(run_serve(&s) == 0, "TT001 uploads it (file_server pulls, then DONE)");
        ttc_t *stranger = ttc_file_login(s.host, s.port, 2, r->task_id, 4, T, err, sizeof(err));
        check(stranger == NULL, "TT002 may not download TT004's file with its task id");
        ttc_close(stranger);
        check(ttc_file_add_offline(u1, 1, 4, r->task_id, "off line.bin", (uint32_t)n) == 0,
              "TT001 registers it");
        IM__File__IMFileNotify *ready = notified(u4, T);
        check(ready && ready->offline_ready == 1 && strcmp(ready->task_id, r->task_id) == 0,
              "TT004 is told it is ready");
        tt_pb_free(ready);
        check(listed_from_eventually(u4, r->task_id, 1) == 1, "TT004's list has it");
        IM__File__IMFileHasOfflineRsp *l = list(u4);
        check(l && l->n_ip_addr_list >= 1, "the list carries a file_server address");
        if (l && l->n_ip_addr_list >= 1) {
            int dst = temp_file(NULL, 0);
            ttc_t *f = ttc_file_login(l->ip_addr_list[0]->ip, (uint16_t)l->ip_addr_list[0]->port,
                                      4, r->task_id, 4, T, err, sizeof(err));
            check(f != NULL, "TT004 logs in as the downloader");
            int rc = f ? ttc_file_fetch(f, 4, r->task_id, OFFLINE, dst, (uint32_t)n, 0, 20000,
                                        err, sizeof(err))
                       : -1;
            if (rc != 0)
                printf("  (download: %s)\n", err);
            check(rc == 0 && same_content(dst, data, n), "TT004 downloads it byte for byte");
            ttc_close(f);
            close(dst);
            ttc_file_del_offline(u4, 1, 4, r->task_id);
            check(listed_from_eventually(u4, r->task_id, 0) == 0, "deleted from the list");
        }
        tt_pb_free(l);
    }
    tt_pb_free(r);
    close(src);
    free(data);
    ttc_close(u1);
    ttc_close(u2);
    ttc_close(u4);
    return 0;
}

/* One online request of TT001 (msg_server 1) to TT003 (a PC on msg_server 1 too): its result
 * must be `want`; when it is 0 the mode must be online and TT003 notified. */
static int run_local(uint16_t p1, long want)
{
    ttc_t *u1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *u3 = itc_login(p1, "TT003", ITC_PC);
    if (!u1 || !u3)
        return check(0, "logins"), 1;
    IM__File__IMFileRsp *r = request(u1, 3, "local.bin", 10, ONLINE);
    check(r && r->result_code == want, "online request to a PC on the same msg_server: result %ld",
          want);
    if (r && want == 0) {
        check(r->trans_mode == ONLINE && r->n_ip_addr_list >= 1, "it stays online");
        IM__File__IMFileNotify *n = notified(u3, T);
        check(n && strcmp(n->task_id, r->task_id) == 0, "TT003 is notified on the same msg_server");
        tt_pb_free(n);
    }
    tt_pb_free(r);
    ttc_close(u1);
    ttc_close(u3);
    return 0;
}

/* TT002 (a PC on msg_server 2) takes the next file offered to it online, into path. */
static int run_receive(uint16_t p2, const char *path)
{
    ttc_t *u2 = itc_login(p2, "TT002", ITC_PC);
    if (!u2)
        return check(0, "login"), 1;
    printf("receiver ready\n");
    fflush(stdout);
    IM__File__IMFileNotify *n = notified(u2, 30000);
    check(n && n->trans_mode == ONLINE && n->n_ip_addr_list >= 1,
          "TT002 is offered a file online");
    if (n && n->n_ip_addr_list >= 1) {
        char err[256] = "";
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ttc_t *f = ttc_file_login(n->ip_addr_list[0]->ip, (uint16_t)n->ip_addr_list[0]->port, 2,
                                  n->task_id, 2, T, err, sizeof(err));
        int rc = f && fd >= 0 ? ttc_file_fetch(f, 2, n->task_id, ONLINE, fd, n->file_size, 0,
                                               20000, err, sizeof(err))
                              : -1;
        if (rc != 0)
            printf("  (receive: %s)\n", err);
        check(rc == 0, "TT002 pulls all %u bytes", n->file_size);
        ttc_close(f);
        if (fd >= 0)
            close(fd);
    }
    tt_pb_free(n);
    ttc_close(u2);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: it_file requests|transfer MS1_PORT MS2_PORT\n"
                        "       it_file local MS1_PORT RESULT | receive MS2_PORT PATH\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[2]), p2 = (uint16_t)atoi(argv[3]);
    if (strcmp(argv[1], "requests") == 0)
        run_requests(p1, p2);
    else if (strcmp(argv[1], "local") == 0)
        run_local(p1, atol(argv[3]));
    else if (strcmp(argv[1], "receive") == 0)
        run_receive(p1, argv[3]);
    else
        run_transfer(p1, p2);
    printf("it_file %s: %d failed\n", argv[1], failures + itc_failures());
    return failures + itc_failures() ? 1 : 0;
}
