/* Group requests through msg_server (issue 9 §1), driven by it_group_requests.sh: the normal
 * group list and group info of a group made by `ttadm group add` (id 1: TT001 creator, TT002,
 * TT003), a temporary group created by a client, a non-member's info request, refused member
 * changes, shield, requests that name another user (msg_server must use the session's), and the
 * member-change notify to the members on both msg_servers.
 * Usage: it_group_requests MS1_PORT MS2_PORT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Group.pb-c.h"
#include "it_chat_util.h"
#include "it_check.h"
#include "tt_client.h"
#include "tt_pdu.h"

#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define GROUP(x) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##x
#define ADD IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
#define DEL IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL
#define T 5000

/* The version of group 1 in c's normal group list; 0 when absent, -1 when no answer. */
static long listed_version(ttc_t *c)
{
    char err[128] = "";
    IM__Group__IMNormalGroupListRsp *r = ttc_normal_groups(c, T, err, sizeof(err));
    if (!r) {
        printf("  (no normal group list: %s)\n", err);
        return -1;
    }
    long v = 0;
    for (size_t i = 0; i < r->n_group_version_list; i++)
        if (r->group_version_list[i]->group_id == 1)
            v = r->group_version_list[i]->version;
    tt_pb_free(r);
    return v;
}

/* Info of group gid as c sees it (tt_pb_free), NULL when no answer. */
static IM__Group__IMGroupInfoListRsp *info(ttc_t *c, uint32_t gid)
{
    char err[128] = "";
    IM__Group__IMGroupInfoListRsp *r = ttc_group_info(c, &gid, NULL, 1, T, err, sizeof(err));
    if (!r)
        printf("  (no group info: %s)\n", err);
    return r;
}

static int has_member(const IM__BaseDefine__GroupInfo *g, uint32_t id)
{
    for (size_t i = 0; i < g->n_group_member_list; i++)
        if (g->group_member_list[i] == id)
            return 1;
    return 0;
}

/* The result code of a member change (-1: no answer). */
static long change(ttc_t *c, uint32_t gid, uint32_t type, uint32_t member)
{
    char err[128] = "";
    IM__Group__IMGroupChangeMemberRsp *r =
        ttc_group_change(c, gid, type, &member, 1, T, err, sizeof(err));
    if (!r) {
        printf("  (no member change answer: %s)\n", err);
        return -1;
    }
    long code = r->result_code;
    tt_pb_free(r);
    return code;
}

/* The next member-change notify on c within ms (tt_pb_free), NULL when none came. */
static IM__Group__IMGroupChangeMemberNotify *notified(ttc_t *c, int ms)
{
    ttc_pdu_t *p = NULL;
    if (ttc_wait(c, GROUP(CHANGE_MEMBER_NOTIFY), ms, &p) != 0)
        return NULL;
    IM__Group__IMGroupChangeMemberNotify *n = (IM__Group__IMGroupChangeMemberNotify *)tt_pb_unpack(
        &im__group__imgroup_change_member_notify__descriptor, p->body, p->body_len);
    check(n != NULL && p->seq_num == 0, "a change notify parses and has seq 0");
    ttc_pdu_free(p);
    return n;
}

/* c gets a notify of change type by user `by` in group gid changing `chg` alone, with cur
 * members (n_cur of them) listed. */
static int got_notify(ttc_t *c, uint32_t by, uint32_t type, uint32_t gid, uint32_t chg,
                      size_t n_cur)
{
    IM__Group__IMGroupChangeMemberNotify *n = notified(c, T);
    int ok = n && n->user_id == by && (uint32_t)n->change_type == type && n->group_id == gid &&
             n->n_chg_user_id_list == 1 && n->chg_user_id_list[0] == chg &&
             n->n_cur_user_id_list == n_cur;
    tt_pb_free(n);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: it_group_requests MS1_PORT MS2_PORT\n");
        return 2;
    }
    uint16_t p1 = (uint16_t)atoi(argv[1]), p2 = (uint16_t)atoi(argv[2]);
    ttc_t *u1 = itc_login(p1, "TT001", ITC_PC);
    ttc_t *u2 = itc_login(p2, "TT002", ITC_ANDROID);
    ttc_t *u4 = itc_login(p1, "TT004", ITC_PC);
    if (!u1 || !u2 || !u4) {
        check(0, "logins");
        return 1;
    }

    /* the ttadm-made normal group */
    check(listed_version(u1) == 1, "TT001 (msg_server 1) lists group 1 at version 1");
    check(listed_version(u2) == 1, "TT002 (msg_server 2) lists group 1 at version 1");
    check(listed_version(u4) == 0, "TT004, no member, does not list group 1");
    IM__Group__IMGroupInfoListRsp *r = info(u2, 1);
    check(r && r->n_group_info_list == 1 && r->group_info_list[0]->group_id == 1 &&
              r->group_info_list[0]->version == 1 &&
              strcmp(r->group_info_list[0]->group_name, "Staff") == 0 &&
              r->group_info_list[0]->group_creator_id == 1 &&
              r->group_info_list[0]->group_type ==
                  IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
              r->group_info_list[0]->n_group_member_list == 3 &&
              has_member(r->group_info_list[0], 1) && has_member(r->group_info_list[0], 2) &&
              has_member(r->group_info_list[0], 3),
          "group 1's info for a member: Staff, version 1, creator 1, members 1,2,3");
    tt_pb_free(r);
    uint32_t gid = 1, ver = 1;
    char err[128] = "";
    r = ttc_group_info(u1, &gid, &ver, 1, T, err, sizeof(err));
    check(r && r->n_group_info_list == 0, "info at the current version: answered, nothing new");
    tt_pb_free(r);
    r = info(u4, 1);
    check(r && r->n_group_info_list == 0, "a non-member gets an answer without the group");
    tt_pb_free(r);

    /* a request naming another user is the session's user's */
    IM__Group__IMGroupInfoListReq spoof = IM__GROUP__IMGROUP_INFO_LIST_REQ__INIT;
    IM__BaseDefine__GroupVersionInfo v = IM__BASE_DEFINE__GROUP_VERSION_INFO__INIT;
    IM__BaseDefine__GroupVersionInfo *pv = &v;
    v.group_id = 1;
    spoof.user_id = 1; /* TT001, a member; the sender is TT004 */
    spoof.n_group_version_list = 1;
    spoof.group_version_list = &pv;
    r = ttc_call(u4, SID_GROUP, GROUP(INFO_REQUEST), &spoof.base, GROUP(INFO_RESPONSE),
                 &im__group__imgroup_info_list_rsp__descriptor, T, err, sizeof(err));
    check(r && r->n_group_info_list == 0 && r->user_id == 4,
          "TT004 naming TT001 in the request still gets no info of group 1 (answer for 4)");
    tt_pb_free(r);

    /* refused member changes get their answer with a non-zero result */
    check(change(u4, 1, ADD, 4) > 0, "a non-member adding itself to a normal group: refused");
    check(change(u2, 1, DEL, 3) > 0, "a member (not the creator) removing one: refused");
    check(change(u1, 999, ADD, 4) > 0, "a change of an unknown group: refused");
    check(listed_version(u1) == 1, "group 1 still at version 1");

    /* a temporary group made by a client */
    uint32_t members[] = {2, 4, 5};
    IM__Group__IMGroupCreateRsp *cr = ttc_group_create(u2, "tmp talk", members, 3, T, err,
                                                       sizeof(err));
    uint32_t tmp = cr && cr->result_code == 0 && cr->has_group_id ? cr->group_id : 0;
    check(tmp > 1, "TT002 creates a temporary group (id %u)", tmp);
    tt_pb_free(cr);
    r = info(u4, tmp);
    check(r && r->n_group_info_list == 1 && r->group_info_list[0]->group_id == tmp &&
              r->group_info_list[0]->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP &&
              r->group_info_list[0]->group_creator_id == 2 &&
              strcmp(r->group_info_list[0]->group_name, "tmp talk") == 0 &&
              has_member(r->group_info_list[0], 2) && has_member(r->group_info_list[0], 4) &&
              has_member(r->group_info_list[0], 5) && !has_member(r->group_info_list[0], 1),
          "its info for member TT004: tmp talk, type 2, creator 2, members 2,4,5");
    tt_pb_free(r);
    r = info(u1, tmp);
    check(r && r->n_group_info_list == 0, "TT001, no member, gets no info of it");
    tt_pb_free(r);
    check(change(u1, tmp, ADD, 1) > 0, "a non-member adding itself to it: refused");
    check(change(u4, tmp, DEL, 5) > 0, "a member (not the creator) removing another: refused");
    ttc_t *u5 = itc_login(p1, "TT005", ITC_PC);
    ttc_t *u4b = itc_login(p2, "TT004", ITC_ANDROID);
    if (!u5 || !u4b) {
        check(0, "logins of TT005 and TT004's second device");
        return 1;
    }
    check(change(u4, tmp, ADD, 6) == 0, "a member adding one: done");
    check(got_notify(u5, 4, ADD, tmp, 6, 4), "TT005 (same msg_server) is told: 6 added by 4");
    check(got_notify(u2, 4, ADD, tmp, 6, 4), "TT002 (the other msg_server) is told");
    check(got_notify(u4b, 4, ADD, tmp, 6, 4), "so is the adder's other device");
    check(change(u2, tmp, DEL, 5) == 0, "the creator removes TT005: done");
    check(got_notify(u5, 2, DEL, tmp, 5, 3), "the removed TT005 is told");
    check(got_notify(u4, 2, DEL, tmp, 5, 3), "TT004 is told");
    IM__Group__IMGroupChangeMemberNotify *none = notified(u2, 1000);
    check(none == NULL, "the requesting connection gets its answer, no notify");
    tt_pb_free(none);
    none = notified(u1, 200);
    check(none == NULL, "a non-member is told nothing");
    tt_pb_free(none);
    r = info(u2, tmp);
    check(r && r->n_group_info_list == 1 && has_member(r->group_info_list[0], 6),
          "TT006 is in it now");
    tt_pb_free(r);

    /* shield, reported as the asking member's own */
    IM__Group__IMGroupShieldReq sh = IM__GROUP__IMGROUP_SHIELD_REQ__INIT;
    sh.user_id = 2; /* names TT002; the sender is TT001 */
    sh.group_id = 1;
    sh.shield_status = 1;
    IM__Group__IMGroupShieldRsp *sr =
        ttc_call(u1, SID_GROUP, GROUP(SHIELD_GROUP_REQUEST), &sh.base,
                 GROUP(SHIELD_GROUP_RESPONSE), &im__group__imgroup_shield_rsp__descriptor, T,
                 err, sizeof(err));
    check(sr && sr->result_code == 0 && sr->user_id == 1, "TT001 shields group 1");
    tt_pb_free(sr);
    r = info(u1, 1);
    check(r && r->n_group_info_list == 1 && r->group_info_list[0]->shield_status == 1,
          "TT001's info says shielded");
    tt_pb_free(r);
    r = info(u2, 1);
    check(r && r->n_group_info_list == 1 && r->group_info_list[0]->shield_status == 0,
          "TT002's does not (the request's user id was not used)");
    tt_pb_free(r);

    ttc_close(u1);
    ttc_close(u2);
    ttc_close(u4);
    ttc_close(u5);
    ttc_close(u4b);
    int bad = failures + itc_failures();
    printf("%s: %d failed\n", bad ? "FAIL" : "ok", bad);
    return bad ? 1 : 0;
}
