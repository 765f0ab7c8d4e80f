#include "tt_auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char MAGIC[4] = {'T', 'T', 'A', '1'};
static const char *const LABEL[2] = {"teamtalk-c daemon auth v1 connector",
                                     "teamtalk-c daemon auth v1 acceptor"};

int tt_auth_set_secret(tt_auth_t *a, const void *secret, size_t len, char *err, size_t errlen)
{
    if (len < TT_AUTH_MIN_SECRET || len > TT_AUTH_MAX_SECRET) {
        snprintf(err, errlen, "the daemon secret must have %d to %d characters (it has %zu)",
                 TT_AUTH_MIN_SECRET, TT_AUTH_MAX_SECRET, len);
        return -1;
    }
    memcpy(a->secret, secret, len);
    a->len = len;
    return 0;
}

int tt_auth_from_cfg(tt_auth_t *a, const tt_cfg_t *cfg, char *err, size_t errlen)
{
    char e[256];
    const char *s = tt_cfg_str(cfg, "DaemonSecret", "");
    const char *file = tt_cfg_str(cfg, "DaemonSecretFile", "");
    a->len = 0;
    if (*s && *file) {
        snprintf(err, errlen, "%s: set DaemonSecret or DaemonSecretFile, not both",
                 tt_cfg_path(cfg));
        return -1;
    }
    if (*s) {
        if (tt_auth_set_secret(a, s, strlen(s), e, sizeof(e)) < 0) {
            snprintf(err, errlen, "%s:%d: DaemonSecret: %s", tt_cfg_path(cfg),
                     tt_cfg_line(cfg, "DaemonSecret"), e);
            return -1;
        }
        return 0;
    }
    if (!*file)
        return 0;
    char path[4096];
    const char *conf = tt_cfg_path(cfg);
    const char *slash = conf ? strrchr(conf, '/') : NULL;
    if (file[0] != '/' && slash)
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - conf), conf, file);
    else
        snprintf(path, sizeof(path), "%s", file);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s:%d: DaemonSecretFile: cannot read %s: %s", tt_cfg_path(cfg),
                 tt_cfg_line(cfg, "DaemonSecretFile"), path, strerror(errno));
        return -1;
    }
    char line[TT_AUTH_MAX_SECRET + 2];
    size_t n = fgets(line, sizeof(line), f) ? strlen(line) : 0;
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                     line[n - 1] == '\t'))
        n--;
    if (tt_auth_set_secret(a, line, n, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "%s:%d: DaemonSecretFile %s: %s", tt_cfg_path(cfg),
                 tt_cfg_line(cfg, "DaemonSecretFile"), path, e);
        return -1;
    }
    return 0;
}

void tt_auth_failed(tt_auth_t *a, const char *peer, const char *why)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t window = (uint64_t)ts.tv_sec / 10;
    a->failures++;
    if (window != a->log_window) {
        if (a->unlogged && a->report)
            a->report(a->report_arg, NULL, NULL, a->failures, a->unlogged);
        a->log_window = window;
        a->logged = 0;
        a->unlogged = 0;
    }
    if (a->logged >= 5) {
        a->unlogged++;
        return;
    }
    a->logged++;
    if (a->report)
        a->report(a->report_arg, peer, why, a->failures, 0);
}

/* ---- one handshake ---- */

static int mac(const tt_auth_t *a, int role, const uint8_t *nc, const uint8_t *ns,
               uint8_t out[TT_AUTH_MAC_LEN])
{
    uint8_t msg[64 + 2 * TT_AUTH_NONCE_LEN];
    size_t ll = strlen(LABEL[role]);
    memcpy(msg, LABEL[role], ll);
    memcpy(msg + ll, nc, TT_AUTH_NONCE_LEN);
    memcpy(msg + ll + TT_AUTH_NONCE_LEN, ns, TT_AUTH_NONCE_LEN);
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), a->secret, (int)a->len, msg, ll + 2 * TT_AUTH_NONCE_LEN, out, &len) ||
        len != TT_AUTH_MAC_LEN)
        return -1;
    return 0;
}

/* The proof of the end in role, over the connector's and the acceptor's nonces. */
static int proof(const tt_auth_hs_t *hs, int role, uint8_t out[TT_AUTH_MAC_LEN])
{
    const uint8_t *nc = hs->role == TT_AUTH_CONNECTOR ? hs->mine : hs->peer;
    const uint8_t *ns = hs->role == TT_AUTH_CONNECTOR ? hs->peer : hs->mine;
    return mac(hs->auth, role, nc, ns, out);
}

int tt_auth_hs_start(tt_auth_hs_t *hs, const tt_auth_t *auth, int role, uint8_t *hello,
                     size_t *hello_len)
{
    memset(hs, 0, sizeof(*hs));
    hs->auth = auth;
    hs->role = role;
    if (RAND_bytes(hs->mine, TT_AUTH_NONCE_LEN) != 1)
        return -1;
    memcpy(hello, MAGIC, sizeof(MAGIC));
    memcpy(hello + sizeof(MAGIC), hs->mine, TT_AUTH_NONCE_LEN);
    *hello_len = sizeof(MAGIC) + TT_AUTH_NONCE_LEN;
    return 0;
}

int tt_auth_hs_frame(tt_auth_hs_t *hs, const tt_pdu_t *pdu, uint8_t *out, size_t *out_len,
                     uint16_t *out_cid, char *why, size_t whylen)
{
    *out_len = 0;
    if (pdu->command_id == TT_AUTH_CID_HELLO && !hs->got_hello) {
        if (pdu->body_len != sizeof(MAGIC) + TT_AUTH_NONCE_LEN ||
            memcmp(pdu->body, MAGIC, sizeof(MAGIC)) != 0) {
            snprintf(why, whylen, "malformed hello (%u bytes)", (unsigned)pdu->body_len);
            return TT_AUTH_FAIL;
        }
        memcpy(hs->peer, pdu->body + sizeof(MAGIC), TT_AUTH_NONCE_LEN);
        if (memcmp(hs->peer, hs->mine, TT_AUTH_NONCE_LEN) == 0) {
            snprintf(why, whylen, "the peer sent back this end's nonce");
            return TT_AUTH_FAIL;
        }
        hs->got_hello = 1;
        if (proof(hs, hs->role, out) < 0) {
            snprintf(why, whylen, "HMAC failed");
            return TT_AUTH_FAIL;
        }
        *out_len = TT_AUTH_MAC_LEN;
        *out_cid = TT_AUTH_CID_PROOF;
        return TT_AUTH_MORE;
    }
    if (pdu->command_id == TT_AUTH_CID_PROOF && hs->got_hello) {
        uint8_t want[TT_AUTH_MAC_LEN];
        if (pdu->body_len != TT_AUTH_MAC_LEN) {
            snprintf(why, whylen, "malformed proof (%u bytes)", (unsigned)pdu->body_len);
            return TT_AUTH_FAIL;
        }
        if (proof(hs, 1 - hs->role, want) < 0) {
            snprintf(why, whylen, "HMAC failed");
            return TT_AUTH_FAIL;
        }
        if (CRYPTO_memcmp(want, pdu->body, TT_AUTH_MAC_LEN) != 0) {
            snprintf(why, whylen, "wrong proof (another DaemonSecret?)");
            return TT_AUTH_FAIL;
        }
        return TT_AUTH_DONE;
    }
    if (pdu->command_id == TT_AUTH_CID_HELLO || pdu->command_id == TT_AUTH_CID_PROOF)
        snprintf(why, whylen, "handshake frame 0x%04x out of order", pdu->command_id);
    else
        snprintf(why, whylen, "command 0x%04x before authenticating (no DaemonSecret there?)",
                 pdu->command_id);
    return TT_AUTH_FAIL;
}

int tt_auth_conn_start(tt_auth_hs_t *hs, tt_auth_t *auth, int role, tt_conn_t *c)
{
    uint8_t hello[64];
    size_t n;
    if (tt_auth_hs_start(hs, auth, role, hello, &n) < 0) {
        tt_conn_close(c, "daemon authentication: no random numbers");
        return TT_AUTH_FAIL;
    }
    if (tt_pdu_send_raw(c, TT_AUTH_SID, TT_AUTH_CID_HELLO, 0, hello, n) < 0)
        return TT_AUTH_FAIL;
    return TT_AUTH_MORE;
}

int tt_auth_conn_frame(tt_auth_hs_t *hs, tt_auth_t *auth, tt_conn_t *c, const tt_pdu_t *pdu)
{
    uint8_t out[TT_AUTH_MAC_LEN];
    size_t n;
    uint16_t cid = 0;
    char why[128];
    int rc = tt_auth_hs_frame(hs, pdu, out, &n, &cid, why, sizeof(why));
    if (rc == TT_AUTH_FAIL) {
        tt_auth_failed(auth, c->peer, why);
        tt_conn_close(c, "daemon authentication failed: %s", why);
        return rc;
    }
    if (n > 0 && tt_pdu_send_raw(c, TT_AUTH_SID, cid, 0, out, n) < 0)
        return TT_AUTH_FAIL;
    return rc;
}

/* ---- blocking connector ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int io_all(int fd, uint8_t *p, size_t n, int writing, int64_t deadline)
{
    while (n > 0) {
        int64_t left = deadline - mono_ms();
        struct pollfd pf = {fd, writing ? POLLOUT : POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = ECONNRESET;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_frame(int fd, uint16_t cid, const uint8_t *body, size_t n, int64_t deadline)
{
    uint8_t f[TT_PDU_HEADER_LEN + TT_AUTH_MAX_FRAME];
    tt_pdu_encode_header(f, (uint32_t)(TT_PDU_HEADER_LEN + n), TT_AUTH_SID, cid, 0);
    memcpy(f + TT_PDU_HEADER_LEN, body, n);
    return io_all(fd, f, TT_PDU_HEADER_LEN + n, 1, deadline);
}

static int recv_frame(int fd, uint8_t *f, tt_pdu_t *pdu, int64_t deadline, char *err,
                      size_t errlen)
{
    if (io_all(fd, f, TT_PDU_HEADER_LEN, 0, deadline) < 0) {
        snprintf(err, errlen, "reading the handshake: %s", strerror(errno));
        return -1;
    }
    uint32_t len = tt_get32(f);
    if (len < TT_PDU_HEADER_LEN || len > TT_PDU_HEADER_LEN + TT_AUTH_MAX_FRAME) {
        snprintf(err, errlen, "the peer sent a %u-byte frame during the handshake",
                 (unsigned)len);
        return -1;
    }
    if (io_all(fd, f + TT_PDU_HEADER_LEN, len - TT_PDU_HEADER_LEN, 0, deadline) < 0) {
        snprintf(err, errlen, "reading the handshake: %s", strerror(errno));
        return -1;
    }
    char e[128];
    if (tt_pdu_parse(f, len, len, pdu, e, sizeof(e)) != TT_OK) {
        snprintf(err, errlen, "bad handshake frame: %s", e);
        return -1;
    }
    return 0;
}

int tt_auth_client_fd(int fd, const tt_auth_t *auth, int timeout_ms, char *err, size_t errlen)
{
    int64_t deadline = mono_ms() + timeout_ms;
    tt_auth_hs_t hs;
    uint8_t buf[TT_PDU_HEADER_LEN + TT_AUTH_MAX_FRAME], out[TT_AUTH_MAX_FRAME];
    size_t n;
    uint16_t cid;
    tt_pdu_t pdu;
    if (tt_auth_hs_start(&hs, auth, TT_AUTH_CONNECTOR, out, &n) < 0) {
        snprintf(err, errlen, "no random numbers");
        return -1;
    }
    if (send_frame(fd, TT_AUTH_CID_HELLO, out, n, deadline) < 0) {
        snprintf(err, errlen, "sending the hello: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        if (recv_frame(fd, buf, &pdu, deadline, err, errlen) < 0)
            return -1;
        int rc = tt_auth_hs_frame(&hs, &pdu, out, &n, &cid, err, errlen);
        if (rc == TT_AUTH_FAIL)
            return -1;
        if (n > 0 && send_frame(fd, cid, out, n, deadline) < 0) {
            snprintf(err, errlen, "sending the proof: %s", strerror(errno));
            return -1;
        }
        if (rc == TT_AUTH_DONE)
            return 0;
    }
}
