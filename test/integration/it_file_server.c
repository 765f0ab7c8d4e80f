/* Drives file_server as msg_server (IMFileServerIPReq, IMFileTransferReq on the daemon port,
 * with the daemon handshake) and as the Windows client does (IMFileLoginReq with a role,
 * 34,816-byte online pulls, answers to file_server's 32 KiB offline pulls, in-order
 * downloads) on the client port. Modes (it_file_server.sh runs them):
 *   basic MSPORT CPORT DIR         online and offline transfers byte-identical, the stored
 *                                  layout, a file as the original wrote it, refusals
 *   expire MSPORT CPORT DIR        (TaskTimeout=2 OfflineFileTimeout=3 BlockTimeout=2)
 *                                  stale tasks and old files deleted, silent peers cut
 *   limits MSPORT CPORT DIR        (MaxTasks=20 MaxBytesInFlight=1048576) the totals hold
 *   big MSPORT CPORT DIR MIB PID MAXKB   a MIB MiB offline file up and down, byte-identical,
 *                                  deleted after; file_server's VmHWM stays under MAXKB
 *   bench MSPORT CPORT DIR MIB     MiB/s offline up, offline down and online (one line each) */
#include "it_check.h"
#include "it_auth.h"
#include "it_peer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "IM.File.pb-c.h"
#include "IM.Server.pb-c.h"

#define SID_FILE IM__BASE_DEFINE__SERVICE_ID__SID_FILE
#define FILE_CID(x) IM__BASE_DEFINE__FILE_CMD_ID__CID_FILE_##x
#define WIN_BLOCK 34816
#define SEG 32768
#define HDR 960

static uint16_t ms_port, c_port;
static const char *dir;

/* ---- file contents: a pattern from the offset, so nothing big is kept in memory ---- */

static uint64_t word(uint32_t seed, uint64_t i);
static uint8_t pat(uint32_t seed, uint64_t i) { return (uint8_t)(word(seed, i) >> (8 * (i & 7))); }

static uint64_t word(uint32_t seed, uint64_t i) /* the 8 bytes of word i >> 3 */
{
    uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + seed;
    return x ^ (x >> 29);
}

static void fill(uint8_t *b, uint32_t seed, uint64_t off, size_t n)
{
    size_t i = 0;
    for (; i < n && ((off + i) & 7); i++)
        b[i] = pat(seed, off + i);
    for (; i + 8 <= n; i += 8) {
        uint64_t x = word(seed, off + i);
        for (int k = 0; k < 8; k++)
            b[i + (size_t)k] = (uint8_t)(x >> (8 * k));
    }
    for (; i < n; i++)
        b[i] = pat(seed, off + i);
}

static int matches(const uint8_t *b, uint32_t seed, uint64_t off, size_t n)
{
    uint8_t tmp[4096];
    for (size_t i = 0; i < n; i += sizeof(tmp)) {
        size_t k = n - i < sizeof(tmp) ? n - i : sizeof(tmp);
        fill(tmp, seed, off + i, k);
        if (memcmp(tmp, b + i, k) != 0)
            return 0;
    }
    return 1;
}

/* ---- connections ---- */

static int cli_open(peer_t *p)
{
    memset(p, 0, sizeof(*p));
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(c_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "connect 127.0.0.1:%u: %s\n", c_port, strerror(errno));
        return -1;
    }
    tt_pdu_reader_init(&p->rd, 8u << 20);
    return 0;
}

/* 1 when the server closes the connection within ms (frames before the end are dropped). */
static int closed_within(peer_t *p, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (now_ms() < deadline) {
        struct pollfd pf = {p->fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        uint8_t buf[65536];
        ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return 1;
    }
    return 0;
}

static void *recv_msg(peer_t *p, uint16_t want, const ProtobufCMessageDescriptor *d,
                      uint16_t *seq, int timeout_ms)
{
    uint16_t cid, s;
    uint8_t *body;
    size_t len;
    if (recv_frame(p, timeout_ms, &cid, &s, &body, &len) < 0)
        return NULL;
    void *m = NULL;
    if (cid == want)
        m = protobuf_c_message_unpack(d, NULL, len, body);
    else
        fprintf(stderr, "got 0x%04x, wanted 0x%04x\n", cid, want);
    free(body);
    if (seq)
        *seq = s;
    return m;
}

/* A task from msg_server's side: its id (static buffer) or NULL. */
static const char *new_task(peer_t *ms, uint32_t from, uint32_t to, uint32_t size, int mode)
{
    static char id[64];
    IM__Server__IMFileTransferReq q = IM__SERVER__IMFILE_TRANSFER_REQ__INIT;
    q.from_user_id = from;
    q.to_user_id = to;
    q.file_name = "C:/Users/a/report.pdf";
    q.file_size = size;
    q.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    uint8_t attach[6] = {1, 0, 2, 3, 0, 9};
    q.has_attach_data = 1;
    q.attach_data = (ProtobufCBinaryData){sizeof(attach), attach};
    IM__Server__IMFileTransferRsp *r = call(ms, SID_OTHER, OTHER(FILE_TRANSFER_REQ), &q.base,
                                            OTHER(FILE_TRANSFER_RSP),
                                            &im__server__imfile_transfer_rsp__descriptor, 5000);
    if (!r)
        return NULL;
    int ok = r->result_code == 0 && r->task_id && strlen(r->task_id) == 36 &&
             r->from_user_id == from && r->to_user_id == to && r->file_size == size &&
             (int)r->trans_mode == mode && r->has_attach_data && r->attach_data.len == 6 &&
             memcmp(r->attach_data.data, attach, 6) == 0;
    if (ok)
        snprintf(id, sizeof(id), "%s", r->task_id);
    else
        check(0, "IMFileTransferRsp result %u task '%s' with the request's fields echoed",
              (unsigned)r->result_code, r->task_id ? r->task_id : "");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return ok ? id : NULL;
}

/* Logs in; the answer's result (0 ok), or -1 when none came. */
static int file_login(peer_t *p, uint32_t user, const char *task, int role)
{
    if (cli_open(p) < 0)
        return -1;
    IM__File__IMFileLoginReq q = IM__FILE__IMFILE_LOGIN_REQ__INIT;
    q.user_id = user;
    q.task_id = (char *)task;
    q.file_role = (IM__BaseDefine__ClientFileRole)role;
    if (send_msg(p, SID_FILE, FILE_CID(LOGIN_REQ), 0, &q.base) < 0)
        return -1;
    IM__File__IMFileLoginRsp *r = recv_msg(p, FILE_CID(LOGIN_RES),
                                           &im__file__imfile_login_rsp__descriptor, NULL, 5000);
    if (!r)
        return -1;
    int rc = (int)r->result_code;
    if (strcmp(r->task_id, task) != 0)
        rc = -1;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

static int send_state(peer_t *p, int state, const char *task, uint32_t user)
{
    IM__File__IMFileState s = IM__FILE__IMFILE_STATE__INIT;
    s.state = (IM__BaseDefine__ClientFileState)state;
    s.task_id = (char *)task;
    s.user_id = user;
    return send_msg(p, SID_FILE, FILE_CID(STATE), 0, &s.base);
}

static int expect_state(peer_t *p, int state, const char *task, uint32_t user)
{
    IM__File__IMFileState *s = recv_msg(p, FILE_CID(STATE), &im__file__imfile_state__descriptor,
                                        NULL, 5000);
    int ok = s && (int)s->state == state && strcmp(s->task_id, task) == 0 && s->user_id == user;
    if (s)
        protobuf_c_message_free_unpacked(&s->base, NULL);
    return ok;
}

static int send_block(peer_t *p, const char *task, uint32_t user, uint32_t off, const uint8_t *d,
                      size_t n, uint16_t seq)
{
    IM__File__IMFilePullDataRsp r = IM__FILE__IMFILE_PULL_DATA_RSP__INIT;
    r.task_id = (char *)task;
    r.user_id = user;
    r.offset = off;
    r.file_data = (ProtobufCBinaryData){n, (uint8_t *)d};
    return send_msg(p, SID_FILE, FILE_CID(PULL_DATA_RSP), seq, &r.base);
}

static int send_pull(peer_t *p, const char *task, uint32_t user, int mode, uint32_t off,
                     uint32_t n, uint16_t seq)
{
    IM__File__IMFilePullDataReq q = IM__FILE__IMFILE_PULL_DATA_REQ__INIT;
    q.task_id = (char *)task;
    q.user_id = user;
    q.trans_mode = (IM__BaseDefine__TransferFileType)mode;
    q.offset = off;
    q.data_size = n;
    return send_msg(p, SID_FILE, FILE_CID(PULL_DATA_REQ), seq, &q.base);
}

/* ---- transfers ---- */

/* The uploader's side of an offline upload: answers every pull; with short != 0 the block at
 * offset `short` is answered with half the bytes (file_server must ask for the rest). */
static int upload(peer_t *up, const char *task, uint32_t from, uint32_t size, uint32_t seed,
                  uint32_t short_at)
{
    uint8_t *b = malloc(SEG);
    uint64_t got = 0;
    int ok = 1;
    while (got < size) {
        IM__File__IMFilePullDataReq *q = recv_msg(
            up, FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor, NULL, 10000);
        if (!q) {
            ok = check(0, "a pull for offset %llu", (unsigned long long)got);
            break;
        }
        uint32_t want = size - (uint32_t)got < SEG ? size - (uint32_t)got : SEG;
        if (q->offset != got || q->data_size != want || strcmp(q->task_id, task) != 0 ||
            (int)q->trans_mode != 2) {
            ok = check(0, "pull %u bytes at %u, want %u at %llu", (unsigned)q->data_size,
                       (unsigned)q->offset, (unsigned)want, (unsigned long long)got);
            protobuf_c_message_free_unpacked(&q->base, NULL);
            break;
        }
        uint32_t n = q->data_size;
        if (short_at && q->offset == short_at)
            n /= 2;
        fill(b, seed, q->offset, n);
        send_block(up, task, from, q->offset, b, n, 0);
        got += n;
        protobuf_c_message_free_unpacked(&q->base, NULL);
    }
    free(b);
    if (ok)
        ok = check(expect_state(up, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, task,
                                from), "DONE after the last block of %u bytes", (unsigned)size);
    return ok;
}

/* The downloader's side: pulls in order (asking the Windows block size, which is ignored). */
static int download(peer_t *dn, const char *task, uint32_t to, uint32_t from, uint32_t size,
                    uint32_t seed)
{
    uint64_t got = 0;
    uint16_t seq = 7;
    while (got < size) {
        send_pull(dn, task, to, 2, (uint32_t)got, WIN_BLOCK, ++seq);
        uint16_t rseq;
        IM__File__IMFilePullDataRsp *r = recv_msg(
            dn, FILE_CID(PULL_DATA_RSP), &im__file__imfile_pull_data_rsp__descriptor, &rseq,
            10000);
        if (!r)
            return check(0, "block at %llu", (unsigned long long)got);
        uint32_t want = size - (uint32_t)got < SEG ? size - (uint32_t)got : SEG;
        int ok = r->result_code == 0 && r->offset == got && r->file_data.len == want &&
                 rseq == seq && matches(r->file_data.data, seed, got, want);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        if (!ok)
            return check(0, "block at %llu: %u bytes, identical, seq echoed", (unsigned long long)got,
                         (unsigned)want);
        got += want;
    }
    return check(expect_state(dn, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, task,
                              from), "DONE after the last block downloaded");
}

/* Online: the receiver pulls (Windows sizes, seq numbered), the sender answers exactly. */
static int online(peer_t *snd, peer_t *rcv, const char *task, uint32_t from, uint32_t to,
                  uint32_t size, uint32_t seed)
{
    uint8_t *b = malloc(WIN_BLOCK);
    uint64_t got = 0;
    uint16_t seq = 40;
    int ok = 1;
    while (got < size && ok) {
        uint32_t want = size - (uint32_t)got < WIN_BLOCK ? size - (uint32_t)got : WIN_BLOCK;
        send_pull(rcv, task, to, 1, (uint32_t)got, want, ++seq);
        uint16_t fseq;
        IM__File__IMFilePullDataReq *q = recv_msg(
            snd, FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor, &fseq,
            10000);
        if (!q || q->offset != got || q->data_size != want || q->user_id != to) {
            ok = check(0, "the sender got the pull at %llu", (unsigned long long)got);
            if (q)
                protobuf_c_message_free_unpacked(&q->base, NULL);
            break;
        }
        protobuf_c_message_free_unpacked(&q->base, NULL);
        fill(b, seed, got, want);
        send_block(snd, task, from, (uint32_t)got, b, want, 0); /* Windows: seq 0 */
        uint16_t rseq;
        IM__File__IMFilePullDataRsp *r = recv_msg(
            rcv, FILE_CID(PULL_DATA_RSP), &im__file__imfile_pull_data_rsp__descriptor, &rseq,
            10000);
        ok = r && r->offset == got && r->file_data.len == want && rseq == seq &&
             matches(r->file_data.data, seed, got, want);
        if (!ok)
            check(0, "block at %llu relayed identical with the receiver's seq",
                  (unsigned long long)got);
        if (r)
            protobuf_c_message_free_unpacked(&r->base, NULL);
        got += want;
    }
    free(b);
    return ok;
}

static int file_exists(const char *task, const char *suffix, off_t *size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%.2s/%s%s", dir, task, task, suffix);
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    if (size)
        *size = st.st_size;
    return 1;
}

static int gone_within(const char *task, const char *suffix, int ms)
{
    uint64_t deadline = now_ms() + (uint64_t)ms;
    while (file_exists(task, suffix, NULL))
        if (now_ms() > deadline)
            return 0;
        else
            usleep(50000);
    return 1;
}

/* ---- modes ---- */

static void basic(peer_t *ms)
{
    /* the client addresses */
    IM__Server__IMFileServerIPReq iq = IM__SERVER__IMFILE_SERVER_IPREQ__INIT;
    IM__Server__IMFileServerIPRsp *ip = call(ms, SID_OTHER, OTHER(FILE_SERVER_IP_REQ), &iq.base,
                                             OTHER(FILE_SERVER_IP_RSP),
                                             &im__server__imfile_server_iprsp__descriptor, 5000);
    check(ip && ip->n_ip_addr_list == 2 && strcmp(ip->ip_addr_list[0]->ip, "127.0.0.1") == 0 &&
              strcmp(ip->ip_addr_list[1]->ip, "10.1.2.3") == 0 &&
              ip->ip_addr_list[0]->port == c_port && ip->ip_addr_list[1]->port == c_port,
          "IMFileServerIPRsp: FileServerIp list x ClientListenPort");
    if (ip)
        protobuf_c_message_free_unpacked(&ip->base, NULL);

    /* online, 1 MiB + 1000 bytes in Windows blocks */
    const uint32_t A = 1001, B = 1002, C = 1003;
    uint32_t size = (1u << 20) + 1000;
    const char *t = new_task(ms, A, B, size, 1);
    check(t != NULL, "online task created");
    char task[64];
    snprintf(task, sizeof(task), "%s", t ? t : "");
    peer_t snd, rcv, x;
    check(file_login(&snd, A, task, 1) == 0, "sender logs in");
    check(file_login(&x, C, task, 2) == 1 && closed_within(&x, 3000),
          "user %u with the valid task id refused as receiver, closed", C);
    peer_close(&x);
    check(file_login(&x, B, task, 1) == 1, "the receiver refused as sender");
    peer_close(&x);
    check(file_login(&x, A, task, 3) == 1, "an offline role refused on an online task");
    peer_close(&x);
    check(file_login(&rcv, B, task, 2) == 0, "receiver logs in");
    check(expect_state(&rcv, 0, task, A), "PEER_READY to the receiver with the sender's id");
    check(file_login(&x, A, task, 1) == 1, "a second sender refused");
    peer_close(&x);
    check(online(&snd, &rcv, task, A, B, size, 11), "online: %u bytes relayed identical", size);
    send_state(&rcv, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, task, B);
    check(expect_state(&snd, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_DONE, task, B),
          "DONE relayed to the sender");
    check(closed_within(&snd, 3000) && closed_within(&rcv, 3000), "both closed after DONE");
    peer_close(&snd);
    peer_close(&rcv);
    check(file_login(&x, A, task, 1) == 1, "the finished task is gone");
    peer_close(&x);

    /* online: a pull over the cap, and a second pull before the answer waits for it */
    t = new_task(ms, A, B, 300000, 1);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&snd, A, task, 1);
    file_login(&rcv, B, task, 2);
    expect_state(&rcv, 0, task, A);
    send_pull(&rcv, task, B, 1, 0, 1000, 1);
    send_pull(&rcv, task, B, 1, 1000, 1000, 2);
    uint16_t s1, s2;
    IM__File__IMFilePullDataReq *q1 = recv_msg(&snd, FILE_CID(PULL_DATA_REQ),
                                               &im__file__imfile_pull_data_req__descriptor, &s1, 3000);
    IM__File__IMFilePullDataReq *q2 = recv_msg(&snd, FILE_CID(PULL_DATA_REQ),
                                               &im__file__imfile_pull_data_req__descriptor, &s2, 600);
    check(q1 && q1->offset == 0 && s1 == 1 && !q2, "one block in flight per task: the second "
                                                     "pull waits for the first answer");
    uint8_t blk[1000];
    fill(blk, 5, 0, 1000);
    send_block(&snd, task, A, 0, blk, 1000, 0);
    if (q2)
        protobuf_c_message_free_unpacked(&q2->base, NULL);
    q2 = recv_msg(&snd, FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor, &s2,
                  3000);
    check(q2 && q2->offset == 1000 && s2 == 2, "then the second pull goes to the sender");
    if (q1)
        protobuf_c_message_free_unpacked(&q1->base, NULL);
    if (q2)
        protobuf_c_message_free_unpacked(&q2->base, NULL);
    send_block(&snd, task, A, 5000, blk, 1000, 0);
    check(closed_within(&snd, 3000), "a block at an offset not asked closes the sender");
    check(closed_within(&rcv, 3000), "and the receiver with it");
    peer_close(&snd);
    peer_close(&rcv);
    t = new_task(ms, A, B, 300000, 1);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&snd, A, task, 1);
    file_login(&rcv, B, task, 2);
    expect_state(&rcv, 0, task, A);
    send_pull(&rcv, task, B, 1, 0, 200000, 1);
    check(closed_within(&rcv, 3000), "a pull over MaxBlockSize closes the receiver");
    peer_close(&snd);
    peer_close(&rcv);

    /* offline: upload (one short answer), the stored layout, download, deleted after */
    size = 5 * SEG + 777;
    t = new_task(ms, A, B, size, 2);
    check(t != NULL, "offline task created");
    snprintf(task, sizeof(task), "%s", t ? t : "");
    peer_t up, dn;
    check(file_login(&dn, B, task, 4) == 1, "download refused before the upload finished");
    peer_close(&dn);
    check(file_login(&x, B, task, 3) == 1, "the receiver refused as uploader");
    peer_close(&x);
    check(file_login(&up, A, task, 3) == 0, "uploader logs in");
    check(file_login(&x, A, task, 3) == 1, "a second uploader refused");
    peer_close(&x);
    check(upload(&up, task, A, size, 22, 2 * SEG), "offline upload, a short block re-asked");
    check(closed_within(&up, 3000), "uploader closed after DONE");
    peer_close(&up);
    off_t fsz = 0;
    check(file_exists(task, "", &fsz) && fsz == HDR + size && !file_exists(task, ".part", NULL),
          "stored as %s/%.2s/<id>: 960-byte header + %u bytes", dir, task, size);
    char path[512];
    snprintf(path, sizeof(path), "%s/%.2s/%s", dir, task, task);
    uint8_t hdr[HDR];
    int fd = open(path, O_RDONLY);
    int hok = fd >= 0 && read(fd, hdr, HDR) == HDR;
    if (fd >= 0)
        close(fd);
    char num[32];
    snprintf(num, sizeof(num), "%u", size);
    check(hok && strcmp((char *)hdr, task) == 0 && strcmp((char *)hdr + 128, "1001") == 0 &&
              strcmp((char *)hdr + 192, "1002") == 0 && atoll((char *)hdr + 256) > 1700000000 &&
              strcmp((char *)hdr + 896, num) == 0,
          "header: task_id[128] from[64] to[64] create_time[128] file_name[512] file_size[64]");
    check(file_login(&x, A, task, 4) == 1, "the sender refused as downloader of the stored file");
    peer_close(&x);
    check(file_login(&x, C, task, 4) == 1, "user %u refused as downloader", C);
    peer_close(&x);
    check(file_login(&dn, B, task, 4) == 0, "receiver logs in to download");
    check(file_login(&x, B, task, 4) == 1, "a second downloader refused");
    peer_close(&x);
    check(download(&dn, task, B, A, size, 22), "offline download identical");
    check(closed_within(&dn, 3000), "downloader closed after DONE");
    peer_close(&dn);
    check(gone_within(task, "", 3000), "file deleted after the complete download");
    check(file_login(&x, B, task, 4) == 1, "and no second download");
    peer_close(&x);

    /* a file as an original deployment's offline_file/ holds it */
    const char *orig = "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2f";
    uint32_t osize = 70000;
    mkdir(dir, 0750);
    snprintf(path, sizeof(path), "%s/ab", dir);
    mkdir(path, 0750);
    snprintf(path, sizeof(path), "%s/ab/%s", dir, orig);
    memset(hdr, 0, sizeof(hdr));
    strcpy((char *)hdr, orig);
    strcpy((char *)hdr + 128, "2001");
    strcpy((char *)hdr + 192, "2002");
    strcpy((char *)hdr + 256, "1418888888");
    strcpy((char *)hdr + 896, "70000");
    uint8_t *body = malloc(osize);
    fill(body, 33, 0, osize);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    int wok = fd >= 0 && write(fd, hdr, HDR) == HDR && write(fd, body, osize) == (ssize_t)osize;
    if (fd >= 0)
        close(fd);
    free(body);
    check(wok, "wrote an original-layout file");
    check(file_login(&x, 2001, orig, 4) == 1, "its sender cannot download it");
    peer_close(&x);
    check(file_login(&dn, 2002, orig, 4) == 0, "its receiver logs in (task loaded from disk)");
    check(download(&dn, orig, 2002, 2001, osize, 33), "original-layout file downloads identical");
    peer_close(&dn);
    check(gone_within(orig, "", 3000), "and is deleted after");

    /* out-of-order download closes; the file stays */
    t = new_task(ms, A, B, SEG * 2, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&up, A, task, 3);
    upload(&up, task, A, SEG * 2, 44, 0);
    peer_close(&up);
    file_login(&dn, B, task, 4);
    send_pull(&dn, task, B, 2, SEG, SEG, 1);
    check(closed_within(&dn, 3000), "a pull out of order closes the downloader");
    peer_close(&dn);
    check(file_exists(task, "", NULL), "an unfinished download keeps the file");
    check(file_login(&dn, B, task, 4) == 0 && download(&dn, task, B, A, SEG * 2, 44),
          "and it downloads again from the start");
    peer_close(&dn);
    check(gone_within(task, "", 3000), "then it is deleted");

    /* refusal answers pointing outside the store */
    const char *bad[] = {"../../../../../../etc/passwd", "ab3f2c1e/../../../../etc/passwd....",
                         "AB3F2C1E-0D4B-4C5A-9E8F-7A6B5C4D3E2F", "", "ab3f2c1e-0d4b-4c5a-9e8f-7a6b5c4d3e2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check(file_login(&x, 2002, bad[i], 4) == 1 && closed_within(&x, 3000),
              "login with task id '%s' refused", bad[i]);
        peer_close(&x);
    }
    /* before login nothing but login */
    cli_open(&x);
    send_pull(&x, task, B, 2, 0, 100, 1);
    check(closed_within(&x, 3000), "a pull before IMFileLoginReq closes");
    peer_close(&x);
    /* an uploader sending more than asked, or a frame over the cap, is closed */
    uint8_t *huge = calloc(1, 2u << 20);
    for (int k = 0; k < 2; k++) {
        t = new_task(ms, A, B, SEG * 4, 2);
        snprintf(task, sizeof(task), "%s", t ? t : "");
        file_login(&up, A, task, 3);
        IM__File__IMFilePullDataReq *pq = recv_msg(
            &up, FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor, NULL, 3000);
        if (pq)
            protobuf_c_message_free_unpacked(&pq->base, NULL);
        send_block(&up, task, A, 0, huge, k == 0 ? SEG + 1 : 2u << 20, 0);
        check(closed_within(&up, 3000), "%s closes the uploader",
              k == 0 ? "a block longer than asked" : "a 2 MiB frame (over MaxBlockSize + 1 KiB)");
        peer_close(&up);
        check(gone_within(task, ".part", 3000), "and the partial file is deleted");
    }
    free(huge);
    /* a downloader asking everything at once without reading is cut by the output cap; the
     * file stays for a later download */
    uint32_t nsize = 64u << 20;
    t = new_task(ms, A, B, nsize, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&up, A, task, 3);
    upload(&up, task, A, nsize, 88, 0);
    peer_close(&up);
    file_login(&dn, B, task, 4);
    int sent = 0;
    for (uint32_t off = 0; off < nsize && send_pull(&dn, task, B, 2, off, SEG, 1) == 0;
         off += SEG)
        sent++;
    check(closed_within(&dn, 5000), "a downloader that pulls %d blocks unread is cut", sent);
    peer_close(&dn);
    check(file_exists(task, "", NULL), "and the file stays");
    /* upload cancelled: the partial file goes */
    t = new_task(ms, A, B, SEG * 4, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&up, A, task, 3);
    IM__File__IMFilePullDataReq *q = recv_msg(&up, FILE_CID(PULL_DATA_REQ),
                                              &im__file__imfile_pull_data_req__descriptor, NULL, 3000);
    if (q)
        protobuf_c_message_free_unpacked(&q->base, NULL);
    check(file_exists(task, ".part", NULL), "an upload in progress is <id>.part");
    send_state(&up, IM__BASE_DEFINE__CLIENT_FILE_STATE__CLIENT_FILE_CANCEL, task, A);
    check(closed_within(&up, 3000), "cancel closes the uploader");
    peer_close(&up);
    check(gone_within(task, ".part", 3000), "and the partial file is deleted");
}

static void expire(peer_t *ms)
{
    const uint32_t A = 3001, B = 3002;
    peer_t x, up, snd, rcv;
    char on[64], off[64], task[64];
    const char *t = new_task(ms, A, B, 1000, 1);
    snprintf(on, sizeof(on), "%s", t ? t : "");
    t = new_task(ms, A, B, 1000, 2);
    snprintf(off, sizeof(off), "%s", t ? t : "");
    check(file_login(&up, A, off, 3) == 0 && upload(&up, off, A, 1000, 55, 0),
          "offline file uploaded");
    peer_close(&up);
    check(file_exists(off, "", NULL), "stored");
    sleep(3);
    check(file_login(&x, A, on, 1) == 1, "an online task nobody joined is gone after TaskTimeout");
    peer_close(&x);
    check(gone_within(off, "", 6000), "the offline file is deleted after OfflineFileTimeout");
    check(file_login(&x, B, off, 4) == 1, "and cannot be downloaded");
    peer_close(&x);

    /* a silent uploader */
    t = new_task(ms, A, B, SEG * 3, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&up, A, task, 3);
    IM__File__IMFilePullDataReq *q = recv_msg(&up, FILE_CID(PULL_DATA_REQ),
                                              &im__file__imfile_pull_data_req__descriptor, NULL, 3000);
    if (q)
        protobuf_c_message_free_unpacked(&q->base, NULL);
    uint64_t t0 = now_ms();
    int cut = closed_within(&up, 6000);
    check(cut, "an uploader silent on a pull is cut (%llu ms)",
          (unsigned long long)(now_ms() - t0));
    peer_close(&up);
    check(gone_within(task, ".part", 2000), "with its partial file");

    /* a slow uploader: the block asked trickles in, 200 bytes every 200 ms */
    t = new_task(ms, A, B, SEG * 3, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&up, A, task, 3);
    q = recv_msg(&up, FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor, NULL,
                 3000);
    if (q)
        protobuf_c_message_free_unpacked(&q->base, NULL);
    {
        IM__File__IMFilePullDataRsp r = IM__FILE__IMFILE_PULL_DATA_RSP__INIT;
        static uint8_t blk[SEG], frame[SEG + 256];
        r.task_id = task;
        r.user_id = A;
        r.file_data = (ProtobufCBinaryData){SEG, blk};
        size_t len = protobuf_c_message_pack(&r.base, frame + TT_PDU_HEADER_LEN);
        tt_pdu_encode_header(frame, (uint32_t)(TT_PDU_HEADER_LEN + len), SID_FILE,
                             FILE_CID(PULL_DATA_RSP), 0);
        t0 = now_ms();
        size_t sent = 0;
        while (sent < len && now_ms() - t0 < 8000) {
            if (send(up.fd, frame + sent, 200, MSG_NOSIGNAL) != 200)
                break;
            sent += 200;
            struct pollfd pf = {up.fd, POLLIN, 0};
            if (poll(&pf, 1, 200) > 0) {
                uint8_t sink[4096];
                if (recv(up.fd, sink, sizeof(sink), 0) <= 0)
                    break;
            }
        }
        check(sent < len && now_ms() - t0 < 6000,
              "a slow uploader is cut (%zu of %zu bytes sent in %llu ms)", sent, len,
              (unsigned long long)(now_ms() - t0));
    }
    peer_close(&up);
    check(gone_within(task, ".part", 2000), "with its partial file");

    /* a silent online sender (heartbeats kept up, blocks not) */
    t = new_task(ms, A, B, 100000, 1);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    file_login(&snd, A, task, 1);
    file_login(&rcv, B, task, 2);
    expect_state(&rcv, 0, task, A);
    send_pull(&rcv, task, B, 1, 0, WIN_BLOCK, 1);
    t0 = now_ms();
    cut = 0;
    while (!cut && now_ms() - t0 < 6000) {
        send_raw(&snd, SID_OTHER, OTHER(HEARTBEAT), 0, NULL, 0);
        cut = closed_within(&rcv, 500);
    }
    check(cut && closed_within(&snd, 2000), "a sender that keeps heartbeats but sends no block "
                                            "is cut, with the receiver (%llu ms)",
          (unsigned long long)(now_ms() - t0));
    peer_close(&snd);
    peer_close(&rcv);
    /* a client that never logs in */
    cli_open(&x);
    check(!closed_within(&x, 1000), "a new connection may log in for a while");
    check(closed_within(&x, 6000), "one that never does is closed");
    peer_close(&x);
}

/* MaxTasks=20 MaxBytesInFlight=1048576 MaxBlockSize=65536: the 21st task refused (the
 * msg_server link stays), 16 blocks of 64 KiB in flight at most, the 17th pull waits for one
 * of them. */
static void limits(peer_t *ms)
{
    enum { N = 17 };
    char ids[20][64];
    int made = 0;
    for (int i = 0; i < 20; i++) {
        const char *t = new_task(ms, 5001, 5002, 1u << 20, 1);
        if (t)
            snprintf(ids[made++], 64, "%s", t);
    }
    check(made == 20, "20 tasks made (MaxTasks=20)");
    IM__Server__IMFileTransferReq q = IM__SERVER__IMFILE_TRANSFER_REQ__INIT;
    q.from_user_id = 5001;
    q.to_user_id = 5002;
    q.file_name = "x";
    q.file_size = 1;
    q.trans_mode = IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE;
    IM__Server__IMFileTransferRsp *r = call(ms, SID_OTHER, OTHER(FILE_TRANSFER_REQ), &q.base,
                                            OTHER(FILE_TRANSFER_RSP),
                                            &im__server__imfile_transfer_rsp__descriptor, 5000);
    check(r && r->result_code == 1 && r->task_id && !*r->task_id,
          "the 21st is refused with result 1 and no task id");
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    q.trans_mode = 3;
    r = call(ms, SID_OTHER, OTHER(FILE_TRANSFER_REQ), &q.base, OTHER(FILE_TRANSFER_RSP),
             &im__server__imfile_transfer_rsp__descriptor, 5000);
    check(r && r->result_code == 1, "and the link still answers (an unknown mode: result 1)");
    if (r)
        protobuf_c_message_free_unpacked(&r->base, NULL);
    static peer_t snd[N], rcv[N];
    for (int i = 0; i < N; i++) {
        file_login(&snd[i], 5001, ids[i], 1);
        file_login(&rcv[i], 5002, ids[i], 2);
        expect_state(&rcv[i], 0, ids[i], 5001);
        send_pull(&rcv[i], ids[i], 5002, 1, 0, 65536, (uint16_t)(i + 1));
    }
    int forwarded = 0;
    uint16_t seq;
    for (int i = 0; i < N - 1; i++) {
        IM__File__IMFilePullDataReq *p = recv_msg(&snd[i], FILE_CID(PULL_DATA_REQ),
                                                  &im__file__imfile_pull_data_req__descriptor,
                                                  &seq, 3000);
        forwarded += p != NULL;
        if (p)
            protobuf_c_message_free_unpacked(&p->base, NULL);
    }
    IM__File__IMFilePullDataReq *p = recv_msg(&snd[N - 1], FILE_CID(PULL_DATA_REQ),
                                              &im__file__imfile_pull_data_req__descriptor, &seq,
                                              700);
    check(forwarded == N - 1 && !p, "16 pulls of 64 KiB forwarded, the 17th waits for budget");
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
    uint8_t *b = calloc(1, 65536);
    send_block(&snd[0], ids[0], 5001, 0, b, 65536, 0);
    p = recv_msg(&snd[N - 1], FILE_CID(PULL_DATA_REQ), &im__file__imfile_pull_data_req__descriptor,
                 &seq, 3000);
    check(p && seq == N, "one answered: the 17th pull goes on");
    if (p)
        protobuf_c_message_free_unpacked(&p->base, NULL);
    IM__File__IMFilePullDataRsp *d = recv_msg(&rcv[0], FILE_CID(PULL_DATA_RSP),
                                              &im__file__imfile_pull_data_rsp__descriptor, &seq,
                                              3000);
    check(d && d->file_data.len == 65536 && seq == 1, "and the answer reached its receiver");
    if (d)
        protobuf_c_message_free_unpacked(&d->base, NULL);
    free(b);
    for (int i = 0; i < N; i++) {
        peer_close(&snd[i]);
        peer_close(&rcv[i]);
    }
}

static long vm_hwm_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static double secs(uint64_t t0) { return (double)(now_ms() - t0) / 1000.0; }

static void big(peer_t *ms, uint32_t mib, int pid, long max_kb, int bench)
{
    const uint32_t A = 4001, B = 4002;
    uint32_t size = mib >= 4096 ? 0xffffffffu : mib << 20;
    long before = vm_hwm_kb(pid);
    char task[64], on[64]; /* both made now: the msg_server link may idle out meanwhile */
    const char *t = bench ? new_task(ms, A, B, size, 1) : "";
    snprintf(on, sizeof(on), "%s", t ? t : "");
    t = new_task(ms, A, B, size, 2);
    snprintf(task, sizeof(task), "%s", t ? t : "");
    peer_t up, dn, snd, rcv;
    uint64_t t0 = now_ms();
    check(file_login(&up, A, task, 3) == 0 && upload(&up, task, A, size, 66, 0),
          "%u MiB offline upload", mib);
    double up_s = secs(t0);
    peer_close(&up);
    t0 = now_ms();
    check(file_login(&dn, B, task, 4) == 0 && download(&dn, task, B, A, size, 66),
          "%u MiB offline download identical", mib);
    double dn_s = secs(t0);
    peer_close(&dn);
    check(gone_within(task, "", 5000), "deleted after the download");
    long after = vm_hwm_kb(pid);
    if (!bench) {
        check(after > 0 && after < max_kb, "file_server VmHWM %ld kB (was %ld before) < %ld kB",
              after, before, max_kb);
        return;
    }
    file_login(&snd, A, on, 1);
    file_login(&rcv, B, on, 2);
    expect_state(&rcv, 0, on, A);
    t0 = now_ms();
    check(online(&snd, &rcv, on, A, B, size, 77), "%u MiB online", mib);
    double on_s = secs(t0);
    peer_close(&snd);
    peer_close(&rcv);
    printf("offline upload:   %u MiB in %.2f s = %.1f MiB/s\n", mib, up_s, mib / up_s);
    printf("offline download: %u MiB in %.2f s = %.1f MiB/s\n", mib, dn_s, mib / dn_s);
    printf("online relay:     %u MiB in %.2f s = %.1f MiB/s (34,816-byte pulls)\n", mib, on_s,
           mib / on_s);
    printf("file_server VmHWM: %ld kB\n", vm_hwm_kb(pid));
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s basic|expire|big|bench MSPORT CPORT DIR [MIB PID MAXKB]\n",
                argv[0]);
        return 2;
    }
    ms_port = (uint16_t)atoi(argv[2]);
    c_port = (uint16_t)atoi(argv[3]);
    dir = argv[4];
    peer_t ms;
    if (peer_open(&ms, ms_port) < 0)
        return 1;
    if (strcmp(argv[1], "basic") == 0)
        basic(&ms);
    else if (strcmp(argv[1], "expire") == 0)
        expire(&ms);
    else if (strcmp(argv[1], "limits") == 0)
        limits(&ms);
    else if (strcmp(argv[1], "big") == 0 && argc >= 8)
        big(&ms, (uint32_t)atoi(argv[5]), atoi(argv[6]), atol(argv[7]), 0);
    else if (strcmp(argv[1], "bench") == 0 && argc >= 7)
        big(&ms, (uint32_t)atoi(argv[5]), atoi(argv[6]), 0, 1);
    else
        return 2;
    peer_close(&ms);
    printf("%s: %d failure(s)\n", argv[1], failures);
    return failures ? 1 : 0;
}
