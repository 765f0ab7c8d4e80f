/* it_push: speaks to push_server as a msg_server does, for it_push_server.sh.
 *   it_push PORT push FLASH DATA SPEC...   one IMPushToUserReq; SPEC = uid:type:push_type:
 *       badge:token (type 17 iOS, 18 Android). Prints "result <token> <code>" per answer
 *       entry and "ms <n>", the time to the answer; exit 0 when an answer came.
 *   it_push PORT garbage                   a PushToUserReq whose body is not protobuf: exit
 *       0 when push_server closes the connection (within 4 s, without an answer). */
#include "it_auth.h"
#include "it_check.h"
#include "it_peer.h"

#include "IM.Server.pb-c.h"

static int push(peer_t *p, const char *flash, const char *data, int n, char **specs)
{
    IM__BaseDefine__UserTokenInfo *u = calloc((size_t)n + 1, sizeof(*u));
    IM__BaseDefine__UserTokenInfo **ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
    for (int i = 0; i < n; i++) {
        im__base_define__user_token_info__init(&u[i]);
        unsigned uid, type, pt, badge;
        int off = 0;
        if (sscanf(specs[i], "%u:%u:%u:%u:%n", &uid, &type, &pt, &badge, &off) != 4 || !off) {
            fprintf(stderr, "bad spec %s\n", specs[i]);
            return 2;
        }
        u[i].user_id = uid;
        u[i].user_type = (IM__BaseDefine__ClientType)type;
        u[i].push_type = pt;
        u[i].push_count = badge;
        u[i].token = specs[i] + off;
        ptrs[i] = &u[i];
    }
    IM__Server__IMPushToUserReq r = IM__SERVER__IMPUSH_TO_USER_REQ__INIT;
    r.flash = (char *)flash;
    r.data = (char *)data;
    r.n_user_token_list = (size_t)n;
    r.user_token_list = ptrs;
    uint64_t t0 = now_ms();
    send_msg(p, SID_OTHER, OTHER(PUSH_TO_USER_REQ), 77, &r.base);
    uint16_t cid, seq;
    uint8_t *body;
    size_t len;
    int rc = 1;
    if (recv_frame(p, 5000, &cid, &seq, &body, &len) == 0) {
        IM__Server__IMPushToUserRsp *rsp = im__server__impush_to_user_rsp__unpack(NULL, len, body);
        if (cid == OTHER(PUSH_TO_USER_RSP) && seq == 77 && rsp) {
            for (size_t i = 0; i < rsp->n_push_result_list; i++)
                printf("result %s %u\n", rsp->push_result_list[i]->user_token,
                       (unsigned)rsp->push_result_list[i]->result_code);
            printf("ms %llu\n", (unsigned long long)(now_ms() - t0));
            rc = 0;
        }
        if (rsp)
            im__server__impush_to_user_rsp__free_unpacked(rsp, NULL);
        free(body);
    }
    free(u);
    free(ptrs);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    peer_t p;
    if (peer_open(&p, (uint16_t)atoi(argv[1])) < 0)
        return 1;
    int rc;
    if (strcmp(argv[2], "push") == 0 && argc >= 5) {
        rc = push(&p, argv[3], argv[4], argc - 5, argv + 5);
    } else if (strcmp(argv[2], "garbage") == 0) {
        static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34};
        send_raw(&p, SID_OTHER, OTHER(PUSH_TO_USER_REQ), 5, junk, sizeof(junk));
        uint16_t cid, seq;
        uint8_t *body = NULL;
        size_t len;
        uint64_t t0 = now_ms();
        rc = recv_frame(&p, 5000, &cid, &seq, &body, &len) == 0 || now_ms() - t0 >= 4000;
        free(body);
        printf(rc ? "answered\n" : "closed\n");
    } else {
        rc = 2;
    }
    peer_close(&p);
    return rc;
}
