/* Small wrongs of issue 8, end to end through msg_server (run by it_small_wrongs.sh against the
 * whole suite):
 *   it_small_wrongs tokens MS_PORT
 *       user 34 (iOS) registers a push token, then user 35 (iOS) registers the token "34"
 *       (the shell then checks that user 34's registration is intact);
 *   it_small_wrongs nul MS_PORT
 *       a signature and an avatar URL with a NUL byte are refused (result_code 1), a plain
 *       signature is accepted (the shell checks what is stored);
 *   it_small_wrongs disable MS1 MS2 'COMMAND'
 *       TT041 is logged in on both msg_servers (PC on MS1, Android on MS2); COMMAND (ttadm user
 *       disable TT041) runs; both sessions get IMKickUser and are closed within a few seconds;
 *       messages written after the kick are not delivered; TT041 cannot log in again;
 *   it_small_wrongs hold MS_PORT USER READY_FILE
 *       logs USER in, creates READY_FILE, and waits (up to 60 s) for the kick and the close
 *       (the shell disables USER while db_proxy_server is down, then starts it again).
 * Prints "ok:"/"FAIL:" per check and exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Login.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define T ITC_T
#define SID_LOGIN IM__BASE_DEFINE__SERVICE_ID__SID_LOGIN
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define CID_KICK IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_KICK_USER
#define CID_TOKEN IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_REQ_DEVICETOKEN
#define CID_TOKEN_RSP IM__BASE_DEFINE__LOGIN_CMD_ID__CID_LOGIN_RES_DEVICETOKEN
#define CID_SIGN IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST
#define CID_SIGN_RSP IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE
#define CID_AVATAR IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST
#define CID_AVATAR_RSP IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE
#define IOS IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS

/* ---- tokens ---- */

static int set_token(ttc_t *c, const char *token)
{
    IM__Login__IMDeviceTokenReq q = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
    q.user_id = ttc_user_id(c);
    q.device_token = (char *)token;
    ttc_pdu_t *p = NULL;
    int rc = ttc_request(c, SID_LOGIN, CID_TOKEN, &q.base, CID_TOKEN_RSP, T, &p);
    ttc_pdu_free(p);
    return rc;
}

static int run_tokens(uint16_t port)
{
    ttc_t *a = itc_login(port, "TT034", IOS), *b = itc_login(port, "TT035", IOS);
    if (!a || !b)
        return 1;
    check(set_token(a, "feedface34") == 0, "user 34 registers its token");
    check(set_token(b, "34") == 0, "user 35 registers the token \"34\"");
    ttc_close(a);
    ttc_close(b);
    return 0;
}

/* ---- NUL bytes in a signature or an avatar ---- */

/* Sends a request whose body is field 1 (varint uid) and field 2 (the len bytes of s, NULs
 * included), and returns the result_code of the answer want (-1: no answer). */
static int raw_change(ttc_t *c, uint16_t cid, uint16_t want, const char *s, size_t len,
                      const ProtobufCMessageDescriptor *rsp_desc)
{
    uint8_t frame[TT_PDU_HEADER_LEN + 256];
    size_t n = TT_PDU_HEADER_LEN;
    uint32_t uid = ttc_user_id(c);
    frame[n++] = 0x08; /* field 1, varint */
    while (uid >= 0x80) {
        frame[n++] = (uint8_t)(uid | 0x80);
        uid >>= 7;
    }
    frame[n++] = (uint8_t)uid;
    frame[n++] = 0x12; /* field 2, length-delimited */
    frame[n++] = (uint8_t)len;
    memcpy(frame + n, s, len);
    n += len;
    uint16_t seq = 4242;
    tt_pdu_encode_header(frame, (uint32_t)n, SID_BUDDY, cid, seq);
    if (ttc_send_raw(c, frame, n) < 0)
        return -1;
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, want, T, &p) != 0)
        return -1;
    ProtobufCMessage *m = tt_pb_unpack(rsp_desc, p->body, p->body_len);
    int code = -1;
    if (m) {
        uint32_t v = 0;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
            rsp_desc, "result_code");
        if (f)
            memcpy(&v, (const uint8_t *)m + f->offset, sizeof(v));
        code = (int)v;
    }
    tt_pb_free(m);
    ttc_pdu_free(p);
    return code;
}

static int run_nul(uint16_t port)
{
    ttc_t *c = itc_login(port, "TT040", ITC_PC);
    if (!c)
        return 1;
    static const char sign[] = "before\0after";
    int code = raw_change(c, CID_SIGN, CID_SIGN_RSP, sign, sizeof(sign) - 1,
                          &im__buddy__imchange_sign_info_rsp__descriptor);
    check(code == 1, "a signature with a NUL is refused with result_code 1 (got %d)", code);
    static const char avatar[] = "http://msfs/a.jpg\0.evil";
    code = raw_change(c, CID_AVATAR, CID_AVATAR_RSP, avatar, sizeof(avatar) - 1,
                      &im__buddy__imchange_avatar_rsp__descriptor);
    check(code == 1, "an avatar URL with a NUL is refused with result_code 1 (got %d)", code);
    static const char plain[] = "plain sign";
    code = raw_change(c, CID_SIGN, CID_SIGN_RSP, plain, sizeof(plain) - 1,
                      &im__buddy__imchange_sign_info_rsp__descriptor);
    check(code == 0, "a plain signature is accepted (got %d)", code);
    ttc_close(c);
    return 0;
}

/* ---- disabled users ---- */

/* Waits up to ms for an IMKickUser on c, then for the server to close it. 1 kicked and
 * closed; *kicked says whether the kick came; *elapsed_ms how long the close took. */
static int wait_kick_close(ttc_t *c, int ms, int *kicked, uint64_t *elapsed_ms)
{
    uint64_t t0 = itc_now_ms(), deadline = t0 + (uint64_t)ms;
    *kicked = 0;
    while (itc_now_ms() < deadline) {
        ttc_pdu_t *p = NULL;
        int rc = ttc_wait(c, 0, 200, &p);
        if (rc == 0 && p->command_id == CID_KICK) {
            IM__Login__IMKickUser *k = (IM__Login__IMKickUser *)tt_pb_unpack(
                &im__login__imkick_user__descriptor, p->body, p->body_len);
            *kicked = k && k->user_id == ttc_user_id(c) &&
                      (k->kick_reason == 1 || k->kick_reason == 2);
            tt_pb_free(k);
        }
        ttc_pdu_free(p);
        if (rc == -1 || ttc_is_closed(c)) {
            *elapsed_ms = itc_now_ms() - t0;
            return 1;
        }
    }
    *elapsed_ms = itc_now_ms() - t0;
    return 0;
}

static int run_disable(uint16_t ms1, uint16_t ms2, const char *cmd)
{
    ttc_t *pc = itc_login(ms1, "TT041", ITC_PC), *phone = itc_login(ms2, "TT041", ITC_ANDROID);
    ttc_t *peer = itc_login(ms1, "TT042", ITC_PC);
    if (!pc || !phone || !peer)
        return 1;
    uint32_t peer_id = ttc_user_id(peer), me = ttc_user_id(pc);
    uint32_t id = itc_send_text(pc, peer_id, 1, "before the disable");
    check(id > 0 && itc_got_text(peer, me, id, "before the disable"),
          "TT041 chats before it is disabled");
    check(system(cmd) == 0, "%s", cmd);
    uint64_t t0 = itc_now_ms();
    int kicked;
    uint64_t took;
    /* Each session: the kick, a message written right after it, then the close. */
    ttc_t *s[2] = {pc, phone};
    const char *where[2] = {"PC session on msg_server 1", "Android session on msg_server 2"};
    for (int i = 0; i < 2; i++) {
        ttc_pdu_t *p = NULL;
        int got = ttc_wait(s[i], CID_KICK, 15000, &p) == 0;
        ttc_pdu_free(p);
        uint64_t after = itc_now_ms() - t0;
        /* the poll runs every 2 s: 10 s is a generous margin on a loaded machine */
        check(got && after <= 10000, "%s: IMKickUser %llu ms after the disable", where[i],
              (unsigned long long)after);
        itc_send_text_async(s[i], peer_id, 100 + (uint32_t)i, "after the kick", NULL);
        int closed = wait_kick_close(s[i], 15000, &kicked, &took);
        check(closed, "%s closed by the server (%llu ms after the kick)", where[i],
              (unsigned long long)took);
    }
    check(itc_nothing_more(peer, 3000), "nothing written after the kick is delivered");
    ttc_t *again = itc_try_login(ms1, "TT041", ITC_PC);
    check(!again, "TT041 cannot log in again");
    ttc_close(again);
    ttc_close(pc);
    ttc_close(phone);
    ttc_close(peer);
    return 0;
}

static int run_hold(uint16_t port, const char *user, const char *ready)
{
    ttc_t *c = itc_login(port, user, ITC_PC);
    if (!c)
        return 1;
    FILE *f = fopen(ready, "w");
    if (f)
        fclose(f);
    int kicked;
    uint64_t took;
    /* heartbeats keep the session alive while db_proxy_server is away */
    uint64_t deadline = itc_now_ms() + 60000;
    int closed = 0;
    while (!closed && itc_now_ms() < deadline) {
        ttc_heartbeat(c);
        closed = wait_kick_close(c, 2000, &kicked, &took);
    }
    check(closed && kicked, "%s, disabled while db_proxy_server was down, is kicked and closed "
          "once it is back", user);
    ttc_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc == 3 && strcmp(argv[1], "tokens") == 0)
        rc = run_tokens((uint16_t)atoi(argv[2]));
    else if (argc == 3 && strcmp(argv[1], "nul") == 0)
        rc = run_nul((uint16_t)atoi(argv[2]));
    else if (argc == 5 && strcmp(argv[1], "disable") == 0)
        rc = run_disable((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]), argv[4]);
    else if (argc == 5 && strcmp(argv[1], "hold") == 0)
        rc = run_hold((uint16_t)atoi(argv[2]), argv[3], argv[4]);
    else
        fprintf(stderr, "usage: it_small_wrongs tokens|nul MS | disable MS1 MS2 CMD | "
                        "hold MS USER READY\n");
    int failed = failures + itc_failures();
    return rc ? rc : failed ? 1 : 0;
}
