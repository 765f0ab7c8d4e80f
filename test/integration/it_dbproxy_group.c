/* it_dbproxy_group: drives db_proxy_server's group commands directly with PDUs, as a
 * msg_server would, for it_dbproxy_group.sh (which has made groups 1 and 50 before: see there).
 *   it_dbproxy_group PORT groups   list, info and versions, temporary groups, permissions,
 *                                  member changes, shield, the database-made group
 *   it_dbproxy_group PORT msgs     group messages: ids, non-members refused, resends, unread
 *                                  from the read position, read ack, join-time history, by id,
 *                                  latest id, recent sessions, voice, the database-made group
 *   it_dbproxy_group PORT flushed  after FLUSHALL on Redis: ids go on, none reused
 *   it_dbproxy_group PORT burst GA GB GC G60 V60   group and one-to-one messages pipelined
 *                                  on one connection, a member removed meanwhile (see there)
 *   it_dbproxy_group PORT fallback GA  a batch MariaDB fails: stored one by one
 *   it_dbproxy_group PORT parallel GC  two connections' messages to one group at once
 * Exit status 0 when every check passed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Buddy.pb-c.h"
#include "IM.Group.pb-c.h"
#include "IM.Message.pb-c.h"
#include "IM.Server.pb-c.h"
#include "tt_pdu.h"
#include "it_auth.h"
#include "it_check.h"
#include "it_peer.h"

#define T 8000 /* ms to wait for an answer */

#define SID_GROUP IM__BASE_DEFINE__SERVICE_ID__SID_GROUP
#define SID_MSG IM__BASE_DEFINE__SERVICE_ID__SID_MSG
#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define GROUP(x) IM__BASE_DEFINE__GROUP_CMD_ID__CID_GROUP_##x
#define MSG(x) IM__BASE_DEFINE__MESSAGE_CMD_ID__CID_MSG_##x
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x
#define SID_BUDDY IM__BASE_DEFINE__SERVICE_ID__SID_BUDDY_LIST
#define BUDDY(x) IM__BASE_DEFINE__BUDDY_LIST_CMD_ID__CID_BUDDY_LIST_##x
#define GTEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define GVOICE IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO
#define STYPE_GROUP IM__BASE_DEFINE__SESSION_TYPE__SESSION_TYPE_GROUP
#define ADD IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_ADD
#define DEL IM__BASE_DEFINE__GROUP_MODIFY_TYPE__GROUP_MODIFY_TYPE_DEL

/* ---- requests ---- */

static IM__Group__IMNormalGroupListRsp *normal_list(peer_t *p, uint32_t uid)
{
    IM__Group__IMNormalGroupListReq q = IM__GROUP__IMNORMAL_GROUP_LIST_REQ__INIT;
    q.user_id = uid;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Group__IMNormalGroupListRsp *r =
        call(p, SID_GROUP, GROUP(NORMAL_LIST_REQUEST), &q.base, GROUP(NORMAL_LIST_RESPONSE),
             &im__group__imnormal_group_list_rsp__descriptor, T);
    if (r)
        check(attach_ok(p, r->has_attach_data, r->attach_data) && r->user_id == uid,
              "normal list answer echoes user and attach_data");
    return r;
}

/* The version of gid in uid's normal list, 0 when not there. */
static uint32_t listed_version(peer_t *p, uint32_t uid, uint32_t gid)
{
    IM__Group__IMNormalGroupListRsp *r = normal_list(p, uid);
    uint32_t v = 0;
    for (size_t i = 0; r && i < r->n_group_version_list; i++)
        if (r->group_version_list[i]->group_id == gid)
            v = r->group_version_list[i]->version;
    tt_pb_free(r);
    return v;
}

/* Info of gid for uid who has version `have`: NULL when none came (and no failed check). */
static IM__BaseDefine__GroupInfo *info(peer_t *p, uint32_t uid, uint32_t gid, uint32_t have,
                                       IM__Group__IMGroupInfoListRsp **keep)
{
    IM__Group__IMGroupInfoListReq q = IM__GROUP__IMGROUP_INFO_LIST_REQ__INIT;
    IM__BaseDefine__GroupVersionInfo v = IM__BASE_DEFINE__GROUP_VERSION_INFO__INIT;
    IM__BaseDefine__GroupVersionInfo *vp = &v;
    v.group_id = gid;
    v.version = have;
    q.user_id = uid;
    q.n_group_version_list = 1;
    q.group_version_list = &vp;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Group__IMGroupInfoListRsp *r =
        call(p, SID_GROUP, GROUP(INFO_REQUEST), &q.base, GROUP(INFO_RESPONSE),
             &im__group__imgroup_info_list_rsp__descriptor, T);
    *keep = r;
    if (!r)
        return NULL;
    check(attach_ok(p, r->has_attach_data, r->attach_data), "info answer echoes attach_data");
    return r->n_group_info_list == 1 && r->group_info_list[0]->group_id == gid
               ? r->group_info_list[0]
               : NULL;
}

static uint32_t info_version(peer_t *p, uint32_t uid, uint32_t gid)
{
    IM__Group__IMGroupInfoListRsp *keep;
    IM__BaseDefine__GroupInfo *g = info(p, uid, gid, 0, &keep);
    uint32_t v = g ? g->version : 0;
    tt_pb_free(keep);
    return v;
}

static int ids_are(const uint32_t *v, size_t n, const char *want)
{
    char got[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof(got) - 16; i++)
        off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%u", i ? "," : "", v[i]);
    if (strcmp(got, want) != 0)
        printf("  (got %s, want %s)\n", got, want);
    return strcmp(got, want) == 0;
}

static IM__Group__IMGroupCreateRsp *create(peer_t *p, uint32_t uid, int type, const char *name,
                                           const uint32_t *ids, size_t n)
{
    IM__Group__IMGroupCreateReq q = IM__GROUP__IMGROUP_CREATE_REQ__INIT;
    q.user_id = uid;
    q.group_type = type;
    q.group_name = (char *)name;
    q.group_avatar = "";
    q.n_member_id_list = n;
    q.member_id_list = (uint32_t *)ids;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Group__IMGroupCreateRsp *r = call(p, SID_GROUP, GROUP(CREATE_REQUEST), &q.base,
                                          GROUP(CREATE_RESPONSE),
                                          &im__group__imgroup_create_rsp__descriptor, T);
    if (r)
        check(attach_ok(p, r->has_attach_data, r->attach_data), "create answer echoes attach");
    return r;
}

static IM__Group__IMGroupChangeMemberRsp *change(peer_t *p, uint32_t uid, int op, uint32_t gid,
                                                 const uint32_t *ids, size_t n)
{
    IM__Group__IMGroupChangeMemberReq q = IM__GROUP__IMGROUP_CHANGE_MEMBER_REQ__INIT;
    q.user_id = uid;
    q.change_type = op;
    q.group_id = gid;
    q.n_member_id_list = n;
    q.member_id_list = (uint32_t *)ids;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Group__IMGroupChangeMemberRsp *r =
        call(p, SID_GROUP, GROUP(CHANGE_MEMBER_REQUEST), &q.base, GROUP(CHANGE_MEMBER_RESPONSE),
             &im__group__imgroup_change_member_rsp__descriptor, T);
    if (r)
        check(attach_ok(p, r->has_attach_data, r->attach_data) && r->group_id == gid,
              "change answer echoes group and attach");
    return r;
}

/* result code of a change (-1: no answer); chg and cur lists compared when given */
static int change_is(peer_t *p, uint32_t uid, int op, uint32_t gid, const uint32_t *ids,
                     size_t n, const char *chg, const char *cur)
{
    IM__Group__IMGroupChangeMemberRsp *r = change(p, uid, op, gid, ids, n);
    if (!r)
        return -1;
    int code = (int)r->result_code;
    if (code == 0 && chg && !ids_are(r->chg_user_id_list, r->n_chg_user_id_list, chg))
        code = -2;
    if (code == 0 && cur && !ids_are(r->cur_user_id_list, r->n_cur_user_id_list, cur))
        code = -3;
    tt_pb_free(r);
    return code;
}

static int shield(peer_t *p, uint32_t uid, uint32_t gid, uint32_t v)
{
    IM__Group__IMGroupShieldReq q = IM__GROUP__IMGROUP_SHIELD_REQ__INIT;
    q.user_id = uid;
    q.group_id = gid;
    q.shield_status = v;
    q.has_attach_data = 1;
    q.attach_data = fresh_attach(p);
    IM__Group__IMGroupShieldRsp *r = call(p, SID_GROUP, GROUP(SHIELD_GROUP_REQUEST), &q.base,
                                          GROUP(SHIELD_GROUP_RESPONSE),
                                          &im__group__imgroup_shield_rsp__descriptor, T);
    int code = r ? (int)r->result_code : -1;
    tt_pb_free(r);
    return code;
}

/* ---- phases ---- */

static void phase_groups(peer_t *p)
{
    IM__Group__IMGroupInfoListRsp *keep;
    IM__BaseDefine__GroupInfo *g;

    /* list and info of the groups ttadm made */
    IM__Group__IMNormalGroupListRsp *l = normal_list(p, 1);
    check(l && l->n_group_version_list == 1 && l->group_version_list[0]->group_id == 1 &&
              l->group_version_list[0]->version == 4,
          "user 1's normal list: group 1 at version 4");
    tt_pb_free(l);
    check(listed_version(p, 5, 50) == 8, "user 5's list has the database-made group 50 (v8)");
    check(listed_version(p, 5, 51) == 0, "but not the temporary group 51");
    check(listed_version(p, 2, 1) == 4, "a re-added member has it again");
    l = normal_list(p, 99);
    check(l && l->n_group_version_list == 0, "a user in no group: an empty list");
    tt_pb_free(l);

    g = info(p, 1, 1, 0, &keep);
    check(g && g->version == 4 && strcmp(g->group_name, "Everyone") == 0 &&
              g->group_creator_id == 1 &&
              g->group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL &&
              g->shield_status == 0 && ids_are(g->group_member_list, g->n_group_member_list,
                                               "1,2,3,4"),
          "info of group 1 (version 0 asked): name, creator, type, members 1,2,3,4");
    tt_pb_free(keep);
    g = info(p, 1, 1, 4, &keep);
    check(keep && !g && keep->n_group_info_list == 0, "asked with the current version: nothing");
    tt_pb_free(keep);
    g = info(p, 1, 1, 3, &keep);
    check(g && g->version == 4, "asked with an older version: the info");
    tt_pb_free(keep);
    g = info(p, 9, 1, 0, &keep);
    check(keep && keep->n_group_info_list == 0, "a non-member gets no info");
    tt_pb_free(keep);
    g = info(p, 6, 50, 0, &keep);
    check(g && g->version == 8 && strcmp(g->group_name, "Old team") == 0 &&
              g->group_creator_id == 5 &&
              ids_are(g->group_member_list, g->n_group_member_list, "5,6,7"),
          "the database-made group: info with its members 5,6,7 (the left row not counted)");
    tt_pb_free(keep);
    g = info(p, 1, 4242, 0, &keep);
    check(keep && keep->n_group_info_list == 0, "an unknown group: nothing");
    tt_pb_free(keep);

    /* a temporary group */
    uint32_t m[] = {11, 12, 9999, 11};
    IM__Group__IMGroupCreateRsp *c = create(p, 10, IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP,
                                            "tmp chat", m, 4);
    uint32_t tg = c && c->result_code == 0 && c->has_group_id ? c->group_id : 0;
    check(tg != 0 && strcmp(c->group_name, "tmp chat") == 0 &&
              ids_are(c->user_id_list, c->n_user_id_list, "10,11,12"),
          "user 10 creates a temporary group: creator first, unknown user and repeat dropped");
    tt_pb_free(c);
    check(info_version(p, 11, tg) == 1, "it starts at version 1, members see it");
    check(listed_version(p, 11, tg) == 0, "not in the normal list");
    c = create(p, 10, IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_NORMAL, "mine", m, 2);
    check(c && c->result_code != 0, "a client cannot create a normal group");
    tt_pb_free(c);
    c = create(p, 10, IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP, "", m, 2);
    check(c && c->result_code != 0, "nor one without a name");
    tt_pb_free(c);

    /* permissions in the temporary group */
    uint32_t u13 = 13, u14 = 14, u12 = 12, u11 = 11;
    check(change_is(p, 13, ADD, tg, &u14, 1, NULL, NULL) == 1,
          "a non-member cannot add to a temporary group (result 1)");
    check(change_is(p, 11, ADD, tg, &u13, 1, "13", "10,11,12,13") == 0,
          "a member adds 13: changed 13, current 10,11,12,13");
    check(info_version(p, 10, tg) == 2, "version 2");
    check(change_is(p, 11, DEL, tg, &u12, 1, NULL, NULL) == 1,
          "a member cannot remove another one (result 1)");
    check(change_is(p, 12, DEL, tg, &u12, 1, "12", "10,11,13") == 0, "but may leave");
    check(change_is(p, 10, DEL, tg, &u13, 1, "13", "10,11") == 0, "the creator removes 13");
    check(info_version(p, 10, tg) == 4, "version 4");
    check(info_version(p, 13, tg) == 0, "the removed member gets no info any more");
    check(change_is(p, 10, DEL, tg, &u12, 1, "", "10,11") == 0,
          "removing a non-member: nothing changed");
    check(info_version(p, 10, tg) == 4, "and the version stays");
    uint32_t u10 = 10;
    check(change_is(p, 10, DEL, tg, &u10, 1, "10", "11") == 0, "the creator leaves");
    check(change_is(p, 10, ADD, tg, &u13, 1, NULL, NULL) == 1,
          "and then has no say in the group (result 1)");
    check(change_is(p, 10, ADD, 4242, &u11, 1, NULL, NULL) == 1, "an unknown group: result 1");
    check(change_is(p, 10, 7, tg, &u11, 1, NULL, NULL) == 1, "an unknown change type: result 1");

    /* normal group: only the creator (and the admin tools, user 0) */
    uint32_t u5 = 5;
    check(change_is(p, 3, ADD, 1, &u5, 1, NULL, NULL) == 1,
          "a member of a normal group cannot add (result 1)");
    check(change_is(p, 3, DEL, 1, &u5, 1, NULL, NULL) == 1, "nor remove");
    check(change_is(p, 1, ADD, 1, &u5, 1, "5", "1,2,3,4,5") == 0, "the creator adds 5");
    check(change_is(p, 0, DEL, 1, &u5, 1, "5", "1,2,3,4") == 0, "the admin tools remove 5");
    check(listed_version(p, 1, 1) == 6, "group 1 at version 6");

    /* shield, per member */
    check(shield(p, 3, 1, 1) == 0, "member 3 shields group 1");
    g = info(p, 3, 1, 0, &keep);
    check(g && g->shield_status == 1, "member 3's info reports shield 1");
    tt_pb_free(keep);
    g = info(p, 1, 1, 0, &keep);
    check(g && g->shield_status == 0, "member 1's info reports shield 0");
    tt_pb_free(keep);
    check(shield(p, 9, 1, 1) == 1, "a non-member cannot shield (result 1)");
    check(shield(p, 3, 1, 2) == 1, "shield 2 is refused");
    IM__Server__IMGroupGetShieldReq q = IM__SERVER__IMGROUP_GET_SHIELD_REQ__INIT;
    uint32_t who[] = {1, 3, 9};
    q.group_id = 1;
    q.n_user_id = 3;
    q.user_id = who;
    IM__Server__IMGroupGetShieldRsp *s =
        call(p, SID_OTHER, OTHER(GET_SHIELD_REQ), &q.base, OTHER(GET_SHIELD_RSP),
             &im__server__imgroup_get_shield_rsp__descriptor, T);
    int ok = s && s->n_shield_status_list == 2;
    for (size_t i = 0; ok && i < s->n_shield_status_list; i++) {
        const IM__BaseDefine__ShieldStatus *e = s->shield_status_list[i];
        ok = e->group_id == 1 && ((e->user_id == 1 && e->shield_status == 0) ||
                                  (e->user_id == 3 && e->shield_status == 1));
    }
    check(ok, "the shields msg_server asks for: members 1 (0) and 3 (1), not the non-member");
    tt_pb_free(s);
}


/* ---- group messages ---- */

/* Sends a group message; its answer's msg_id (0: not stored or no answer); *dupe = 1 when
 * the answer carries the duplicate mark. */
static uint32_t gsend(peer_t *p, uint32_t from, uint32_t gid, int type, const uint8_t *data,
                      size_t len, uint32_t client_id, int *dupe)
{
    uint8_t attach[12];
    for (size_t i = 0; i < sizeof(attach); i++)
        attach[i] = (uint8_t)(rand() & 0xff);
    IM__Message__IMMsgData q =
        msg_data(from, gid, client_id, (uint32_t)type, data, len, attach, sizeof(attach));
    IM__Message__IMMsgData *a = call(p, SID_MSG, MSG(DATA), &q.base, MSG(DATA),
                                     &im__message__immsg_data__descriptor, T);
    uint32_t id = 0;
    if (dupe)
        *dupe = 0;
    if (a && a->to_session_id == gid && a->has_attach_data && a->attach_data.len >= 12 &&
        memcmp(a->attach_data.data, attach, 12) == 0) {
        id = a->msg_id;
        if (dupe)
            *dupe = a->attach_data.len == 20 &&
                    memcmp(a->attach_data.data + 12, "\0\0\0\4DUPE", 8) == 0;
    }
    tt_pb_free(a);
    return id;
}

static uint32_t gtext(peer_t *p, uint32_t from, uint32_t gid, const char *text)
{
    return gsend(p, from, gid, GTEXT, (const uint8_t *)text, strlen(text), 0, NULL);
}

/* uid's unread entry of gid: its count (-1: none), latest id and sender. */
static int unread_of(peer_t *p, uint32_t uid, uint32_t gid, uint32_t *latest, uint32_t *from)
{
    IM__Message__IMUnreadMsgCntReq q = IM__MESSAGE__IMUNREAD_MSG_CNT_REQ__INIT;
    q.user_id = uid;
    IM__Message__IMUnreadMsgCntRsp *r = call(p, SID_MSG, MSG(UNREAD_CNT_REQUEST), &q.base,
                                             MSG(UNREAD_CNT_RESPONSE),
                                             &im__message__imunread_msg_cnt_rsp__descriptor, T);
    int n = -1;
    for (size_t i = 0; r && i < r->n_unreadinfo_list; i++) {
        const IM__BaseDefine__UnreadInfo *u = r->unreadinfo_list[i];
        if (u->session_type == STYPE_GROUP && u->session_id == gid) {
            n = (int)u->unread_cnt;
            if (latest)
                *latest = u->latest_msg_id;
            if (from)
                *from = u->latest_msg_from_user_id;
        }
    }
    tt_pb_free(r);
    return n;
}

static void read_ack(peer_t *p, uint32_t uid, uint32_t gid, uint32_t msg_id)
{
    IM__Message__IMMsgDataReadAck q = IM__MESSAGE__IMMSG_DATA_READ_ACK__INIT;
    q.user_id = uid;
    q.session_id = gid;
    q.msg_id = msg_id;
    q.session_type = STYPE_GROUP;
    send_msg(p, SID_MSG, MSG(READ_ACK), ++p->seq, &q.base);
}

/* History of gid for uid as "id,id,..." (newest first) into out. */
static const char *history(peer_t *p, uint32_t uid, uint32_t gid, uint32_t begin, uint32_t cnt,
                           char *out, size_t len)
{
    IM__Message__IMGetMsgListReq q = IM__MESSAGE__IMGET_MSG_LIST_REQ__INIT;
    q.user_id = uid;
    q.session_type = STYPE_GROUP;
    q.session_id = gid;
    q.msg_id_begin = begin;
    q.msg_cnt = cnt;
    IM__Message__IMGetMsgListRsp *r = call(p, SID_MSG, MSG(LIST_REQUEST), &q.base,
                                           MSG(LIST_RESPONSE),
                                           &im__message__imget_msg_list_rsp__descriptor, T);
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; r && i < r->n_msg_list && off < len - 16; i++)
        off += (size_t)snprintf(out + off, len - off, "%s%u", i ? "," : "",
                                r->msg_list[i]->msg_id);
    if (!r)
        snprintf(out, len, "(no answer)");
    tt_pb_free(r);
    return out;
}

static int history_is(peer_t *p, uint32_t uid, uint32_t gid, const char *want)
{
    char got[512];
    history(p, uid, gid, 0, 50, got, sizeof(got));
    if (strcmp(got, want) != 0)
        printf("  (history of %u for %u: %s, want %s)\n", gid, uid, got, want);
    return strcmp(got, want) == 0;
}

static uint32_t latest_id(peer_t *p, uint32_t uid, uint32_t gid)
{
    IM__Message__IMGetLatestMsgIdReq q = IM__MESSAGE__IMGET_LATEST_MSG_ID_REQ__INIT;
    q.user_id = uid;
    q.session_type = STYPE_GROUP;
    q.session_id = gid;
    IM__Message__IMGetLatestMsgIdRsp *r =
        call(p, SID_MSG, MSG(GET_LATEST_MSG_ID_REQ), &q.base, MSG(GET_LATEST_MSG_ID_RSP),
             &im__message__imget_latest_msg_id_rsp__descriptor, T);
    uint32_t v = r ? r->latest_msg_id : 0xffffffffu;
    tt_pb_free(r);
    return v;
}

static void phase_msgs(peer_t *p)
{
    uint32_t a = gtext(p, 1, 1, "m1"), b = gtext(p, 1, 1, "m2"), c = gtext(p, 2, 1, "m3");
    check(a == 1 && b == 2 && c == 3, "group 1's messages get ids 1, 2, 3 (got %u %u %u)", a, b,
          c);
    check(gtext(p, 9, 1, "intruder") == 0, "a non-member's message: msg_id 0, not stored");
    check(gtext(p, 5, 1, "gone") == 0, "a removed member's message: msg_id 0");
    check(gtext(p, 1, 4242, "nowhere") == 0, "a message to an unknown group: msg_id 0");
    int dupe = 0;
    uint32_t r1 = gsend(p, 3, 1, GTEXT, (const uint8_t *)"resent", 6, 77, &dupe);
    check(r1 == 4 && !dupe, "a message with a client msg_id: id 4");
    uint32_t r2 = gsend(p, 3, 1, GTEXT, (const uint8_t *)"resent", 6, 77, &dupe);
    check(r2 == 4 && dupe, "its resend: the same id, marked duplicate, not stored again");

    uint32_t lid = 0, from = 0;
    int n = unread_of(p, 4, 1, &lid, &from);
    check(n == 4 && lid == 4 && from == 3, "member 4: 4 unread in group 1, latest 4 from 3 "
                                           "(got %d, %u, %u)", n, lid, from);
    check(unread_of(p, 3, 1, NULL, NULL) == -1, "the last sender has nothing unread");
    check(unread_of(p, 1, 1, NULL, NULL) == 2, "member 1 read up to its own message 2: 2 unread");
    read_ack(p, 4, 1, 4);
    check(unread_of(p, 4, 1, NULL, NULL) == -1, "after member 4's read ack: nothing unread");
    check(unread_of(p, 9, 1, NULL, NULL) == -1, "a non-member has no unread entry");

    /* join time: 5 comes back and sees only what follows */
    uint32_t u5 = 5;
    check(change_is(p, 0, ADD, 1, &u5, 1, "5", NULL) == 0, "member 5 added again");
    check(history_is(p, 5, 1, ""), "a new member sees no earlier history");
    check(unread_of(p, 5, 1, NULL, NULL) == -1, "and has nothing unread");
    check(latest_id(p, 5, 1) == 0, "its latest id: none yet");
    uint32_t d = gtext(p, 1, 1, "welcome");
    check(d == 5, "the next message is 5");
    check(history_is(p, 5, 1, "5"), "the new member's history: 5 only");
    check(history_is(p, 2, 1, "5,4,3,2,1"), "an old member's history: 5,4,3,2,1 (newest first)");
    char got[256];
    history(p, 2, 1, 3, 2, got, sizeof(got));
    check(strcmp(got, "3,2") == 0, "history from msg_id 3, 2 messages: 3,2 (got %s)", got);
    check(history_is(p, 9, 1, ""), "a non-member gets no history");
    check(unread_of(p, 5, 1, NULL, NULL) == 1, "the new member has 1 unread");
    uint32_t l5 = latest_id(p, 5, 1), l2 = latest_id(p, 2, 1);
    check(l5 == 5 && l2 == 5, "latest id 5 (got %u, %u)", l5, l2);
    check(latest_id(p, 9, 1) == 0, "a non-member's latest id: 0");

    IM__Message__IMGetMsgByIdReq q = IM__MESSAGE__IMGET_MSG_BY_ID_REQ__INIT;
    uint32_t ids[] = {1, 5, 99};
    q.user_id = 5;
    q.session_type = STYPE_GROUP;
    q.session_id = 1;
    q.n_msg_id_list = 3;
    q.msg_id_list = ids;
    IM__Message__IMGetMsgByIdRsp *br = call(p, SID_MSG, MSG(GET_BY_MSG_ID_REQ), &q.base,
                                            MSG(GET_BY_MSG_ID_RES),
                                            &im__message__imget_msg_by_id_rsp__descriptor, T);
    check(br && br->n_msg_list == 1 && br->msg_list[0]->msg_id == 5 &&
              br->msg_list[0]->from_session_id == 1 &&
              br->msg_list[0]->msg_data.len == 7 &&
              memcmp(br->msg_list[0]->msg_data.data, "welcome", 7) == 0,
          "by id for the new member: 5 (text, sender), not 1 (before it joined)");
    tt_pb_free(br);

    /* voice */
    uint8_t voice[4 + 200];
    voice[0] = voice[1] = voice[2] = 0;
    voice[3] = 3;
    for (size_t i = 4; i < sizeof(voice); i++)
        voice[i] = (uint8_t)(i * 13);
    check(gsend(p, 2, 1, GVOICE, voice, sizeof(voice), 0, NULL) == 6, "a voice message: id 6");
    q.user_id = 1;
    uint32_t six = 6;
    q.n_msg_id_list = 1;
    q.msg_id_list = &six;
    br = call(p, SID_MSG, MSG(GET_BY_MSG_ID_REQ), &q.base, MSG(GET_BY_MSG_ID_RES),
              &im__message__imget_msg_by_id_rsp__descriptor, T);
    check(br && br->n_msg_list == 1 && br->msg_list[0]->msg_type == GVOICE &&
              br->msg_list[0]->msg_data.len == sizeof(voice) &&
              memcmp(br->msg_list[0]->msg_data.data, voice, sizeof(voice)) == 0,
          "it comes back as duration + audio, byte for byte");
    tt_pb_free(br);

    /* recent sessions */
    IM__Buddy__IMRecentContactSessionReq sq = IM__BUDDY__IMRECENT_CONTACT_SESSION_REQ__INIT;
    sq.user_id = 3;
    IM__Buddy__IMRecentContactSessionRsp *sr =
        call(p, SID_BUDDY, BUDDY(RECENT_CONTACT_SESSION_REQUEST), &sq.base,
             BUDDY(RECENT_CONTACT_SESSION_RESPONSE),
             &im__buddy__imrecent_contact_session_rsp__descriptor, T);
    int found = 0;
    for (size_t i = 0; sr && i < sr->n_contact_session_list; i++) {
        const IM__BaseDefine__ContactSessionInfo *e = sr->contact_session_list[i];
        if (e->session_type == STYPE_GROUP && e->session_id == 1 && e->latest_msg_id == 6 &&
            e->latest_msg_from_user_id == 2 && e->updated_time > 0)
            found = 1;
    }
    check(found, "member 3's recent sessions have group 1, latest 6 from 2");
    tt_pb_free(sr);
    sq.user_id = 9;
    sr = call(p, SID_BUDDY, BUDDY(RECENT_CONTACT_SESSION_REQUEST), &sq.base,
              BUDDY(RECENT_CONTACT_SESSION_RESPONSE),
              &im__buddy__imrecent_contact_session_rsp__descriptor, T);
    found = 0;
    for (size_t i = 0; sr && i < sr->n_contact_session_list; i++)
        found |= sr->contact_session_list[i]->session_type == STYPE_GROUP;
    check(sr && !found, "a non-member's sessions have no group");
    tt_pb_free(sr);

    /* the database-made group: ids go on after its stored rows, old history visible */
    check(gtext(p, 6, 50, "new here") == 13, "the database-made group's next id is 13");
    check(history_is(p, 6, 50, "13,12"), "its members see the old message too");
    n = unread_of(p, 5, 50, NULL, NULL);
    check(n == 2, "member 5 of group 50: 2 unread, the old one and 13 (got %d)", n);
}

static void phase_flushed(peer_t *p)
{
    check(gtext(p, 1, 1, "after flush") == 7, "after FLUSHALL group 1's next id is 7, not 1");
    check(gtext(p, 6, 50, "after flush") == 14, "group 50's is 14");
    check(history_is(p, 2, 1, "7,6,5,4,3,2,1"), "history intact");
    check(unread_of(p, 4, 1, NULL, NULL) == 3, "member 4's unread (5, 6, 7) survive the flush");
}

/* ---- a burst: group and one-to-one messages pipelined on one connection ---- */

#define BURST_N 200     /* requests of the burst */
#define BURST_NOBODY 57 /* a non-member's message in the middle */
#define BURST_DUP 58    /* a resend of request 50 */
#define BURST_LOST 99   /* a message to a group that does not exist */

typedef struct bmsg_s {
    uint32_t from, to, type, seq, have; /* have: the cached version sent (groups) */
    int group;                          /* index into the burst's groups, -1: one-to-one */
    char text[48];
    uint8_t voice[4 + 120];
    uint8_t attach[32];
    size_t attach_len;
} bmsg_t;

/* Request k: groups ga (21, 22, 23), gb (21, 24: 24 removed while the burst runs), gc (22, 23,
 * 26) and g60 (21, 22: a database-made group without a counter row) interleaved with
 * one-to-one messages; have[] the versions to send as cached (0 for the first of a group). */
static void burst_msg(int k, const uint32_t *gid, const uint32_t *have, bmsg_t *m)
{
    static const struct { uint32_t from; int group; uint32_t to; } pat[10] = {
        {21, 0, 0}, {21, -1, 22}, {24, 1, 0}, {22, 2, 0}, {22, 0, 0},
        {21, 3, 0}, {23, -1, 21}, {21, 1, 0}, {26, 2, 0}, {23, 0, 0}};
    int src = k == BURST_DUP ? 50 : k;
    memset(m, 0, sizeof(*m));
    m->from = pat[src % 10].from;
    m->group = pat[src % 10].group;
    m->to = m->group < 0 ? pat[src % 10].to : gid[m->group];
    if (k == BURST_NOBODY) {
        m->from = 25;
        m->group = 0;
        m->to = gid[0];
    } else if (k == BURST_LOST) {
        m->group = 0; /* answered 0; no group's id is used */
        m->to = 4242;
    }
    m->seq = (uint32_t)src + 1;
    snprintf(m->text, sizeof(m->text), "burst %d", src);
    if (m->group < 0) {
        m->type = IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT;
        m->attach_len = 12;
    } else {
        m->type = src % 40 == 8 ? GVOICE : GTEXT;
        if (m->type == GVOICE) {
            tt_put32(m->voice, 2);
            for (size_t i = 4; i < sizeof(m->voice); i++)
                m->voice[i] = (uint8_t)(i * 5 + (size_t)src);
        }
        /* msg_server's group form: head, BE32(16), RSND, seq, client time, cached version */
        m->have = k < 10 ? 0 : have[m->group];
        tt_put32(m->attach + 12, 16);
        memcpy(m->attach + 16, "RSND", 4);
        tt_put32(m->attach + 20, m->seq);
        tt_put32(m->attach + 24, 1700000000u + (uint32_t)src);
        tt_put32(m->attach + 28, m->have);
        m->attach_len = 32;
    }
    for (size_t i = 0; i < 12; i++)
        m->attach[i] = (uint8_t)(k * 7 + (int)i);
}

/* Holds back what is sent on p until cork(p, 0): requests sent in between reach db_proxy_server
 * together, as from a busy msg_server, so that they wait together and share batches. */
static void cork(peer_t *p, int on)
{
    setsockopt(p->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static int burst_send(peer_t *p, int k, const uint32_t *gid, const uint32_t *have)
{
    bmsg_t m;
    burst_msg(k, gid, have, &m);
    int voice = m.type == GVOICE;
    IM__Message__IMMsgData q =
        msg_data(m.from, m.to, 0, m.type, voice ? (const void *)m.voice : m.text,
                 voice ? sizeof(m.voice) : strlen(m.text), m.attach, m.attach_len);
    return send_msg(p, SID_MSG, MSG(DATA), (uint16_t)(1000 + k), &q.base);
}

/* What the answer to a group message said. */
typedef struct bans_s {
    uint32_t id;       /* msg_id (0: not stored) */
    int dupe;          /* the duplicate mark */
    int grpv;          /* a GRPV payload */
    uint32_t version;  /* its version */
    char members[64];  /* its members, "a,b,c" */
    size_t n;          /* how many */
} bans_t;

static int burst_answer(peer_t *p, int k, const uint32_t *gid, const uint32_t *have, bans_t *r)
{
    memset(r, 0, sizeof(*r));
    uint16_t cid, seq;
    uint8_t *body;
    size_t len;
    if (recv_frame(p, T, &cid, &seq, &body, &len) < 0)
        return -1;
    IM__Message__IMMsgData *a =
        (IM__Message__IMMsgData *)tt_pb_unpack(&im__message__immsg_data__descriptor, body, len);
    free(body);
    bmsg_t m;
    burst_msg(k, gid, have, &m);
    int ok = a && cid == MSG(DATA) && seq == 1000 + k && a->from_user_id == m.from &&
             a->to_session_id == m.to && a->has_attach_data && a->attach_data.len >= 12 &&
             memcmp(a->attach_data.data, m.attach, 12) == 0;
    if (ok) {
        const uint8_t *d = a->attach_data.data;
        size_t l = a->attach_data.len;
        r->id = a->msg_id;
        r->dupe = l == 20 && memcmp(d + 12, "\0\0\0\4DUPE", 8) == 0;
        if (l >= 28 && memcmp(d + 16, "GRPV", 4) == 0 && tt_get32(d + 12) == l - 16 &&
            tt_get32(d + 24) * 4 + 28 == l) {
            r->grpv = 1;
            r->version = tt_get32(d + 20);
            r->n = tt_get32(d + 24);
            size_t off = 0;
            for (size_t i = 0; i < r->n && off < sizeof(r->members) - 12; i++)
                off += (size_t)snprintf(r->members + off, sizeof(r->members) - off, "%s%u",
                                        i ? "," : "", tt_get32(d + 28 + 4 * i));
        }
    }
    tt_pb_free(a);
    return ok ? 0 : -1;
}

/* it_dbproxy_group PORT burst GA GB GC G60 V60: BURST_N messages sent at once on one
 * connection (the first half, then a removal of 24 from gb on a second connection, then the
 * second half), all answered in order: each group's ids gap-free in the order sent (g60 going
 * on after its stored rows), one-to-one ids likewise, the non-member, the unknown group and
 * the removed member refused alone, the resend answered with the first id, the versions and
 * member lists as msg_server needs them. */
static void phase_burst(peer_t *p, char **argv)
{
    uint32_t gid[4], have[4] = {1, 1, 1, 0};
    for (int i = 0; i < 4; i++)
        gid[i] = (uint32_t)strtoul(argv[3 + i], NULL, 10);
    have[3] = (uint32_t)strtoul(argv[7], NULL, 10);
    peer_t p2;
    if (peer_open(&p2, (uint16_t)atoi(argv[1])) < 0) {
        check(0, "a second connection");
        return;
    }
    cork(p, 1);
    for (int k = 0; k < BURST_N / 2; k++)
        burst_send(p, k, gid, have);
    cork(p, 0);
    /* the first answer: storing has begun (its batch holds most of the first half) */
    bans_t ans[BURST_N];
    int first_ok = burst_answer(p, 0, gid, have, &ans[0]) == 0;
    uint32_t u24 = 24;
    int rm = change_is(&p2, 0, DEL, gid[1], &u24, 1, "24", "21");
    check(rm == 0, "24 removed from gb while the burst runs (%d)", rm);
    peer_close(&p2);
    cork(p, 1);
    for (int k = BURST_N / 2; k < BURST_N; k++)
        burst_send(p, k, gid, have);
    cork(p, 0);

    const char *want_members[4] = {"21,22,23", "21,24", "22,23,26", "21,22"};
    uint32_t next[4] = {1, 1, 1, 41}, next1[2] = {0, 0}; /* next1: first one-to-one ids */
    int answered = 0, ids_ok = 1, lists_ok = 1, versions_ok = 1, removed_ok = 1, gone = 0;
    uint32_t gb_version = 1;
    for (int k = 0; k < BURST_N; k++) {
        bmsg_t m;
        burst_msg(k, gid, have, &m);
        bans_t *r = &ans[k];
        if (k == 0 ? !first_ok : burst_answer(p, k, gid, have, r) < 0) {
            printf("  (no or a wrong answer to request %d)\n", k);
            continue;
        }
        answered++;
        if (m.group < 0) { /* one-to-one: the conversation's ids in order */
            int c = m.from == 21 ? 0 : 1;
            if (r->id == 0 || (next1[c] && r->id != next1[c]))
                ids_ok = 0;
            next1[c] = r->id + 1;
            continue;
        }
        if (k == BURST_NOBODY || k == BURST_LOST || k == BURST_DUP)
            continue; /* checked below */
        if (m.from == 24) { /* stored until the removal, refused after */
            if (r->id == 0) {
                gone = 1;
            } else if (gone || !r->grpv || r->version != 1) {
                removed_ok = 0;
            }
            if (k >= BURST_N / 2 && r->id)
                removed_ok = 0;
            if (r->id == 0)
                continue;
        }
        if (r->id != next[m.group]) {
            printf("  (request %d to group %u: id %u, want %u)\n", k, m.to, r->id,
                   next[m.group]);
            ids_ok = 0;
        }
        next[m.group] = r->id + 1;
        if (!r->grpv || r->dupe) {
            lists_ok = 0;
            continue;
        }
        const char *want = want_members[m.group];
        uint32_t v = have[m.group];
        if (m.group == 1) { /* gb: version 1, then 2 (24 gone) and never back */
            if (r->version < gb_version || r->version > 2)
                versions_ok = 0;
            gb_version = r->version;
            v = 1;
            if (r->version == 2)
                want = "21";
        } else if (r->version != v) {
            versions_ok = 0;
        }
        if (m.have == r->version ? r->n != 0 : strcmp(r->members, want) != 0) {
            printf("  (request %d: version %u, cached %u, members '%s', want '%s')\n", k,
                   r->version, m.have, r->members, m.have == r->version ? "" : want);
            lists_ok = 0;
        }
    }
    check(answered == BURST_N, "%d pipelined group and one-to-one messages all answered in order "
          "(%d)", BURST_N, answered);
    check(ids_ok, "each group's ids go on without a gap in the order sent (g60 after its stored "
          "rows), and each conversation's");
    check(versions_ok, "stored under the group's version (gb's goes from 1 to 2, never back)");
    check(lists_ok, "members sent only where the cached version differs: those of the version");
    int kept = 0;
    for (int k = 2; k < BURST_N; k += 10)
        kept += ans[k].id != 0;
    check(removed_ok && gone, "the removed member's messages: stored under version 1 until the "
          "removal (%d of them), then refused; all of the second half refused", kept);
    check(ans[BURST_NOBODY].id == 0 && !ans[BURST_NOBODY].grpv,
          "the non-member's message in the middle: msg_id 0, nothing else refused");
    check(ans[BURST_LOST].id == 0, "the message to an unknown group: msg_id 0");
    check(ans[BURST_DUP].id == ans[50].id && ans[50].id && ans[BURST_DUP].dupe,
          "the resend of request 50 in the same burst: its id, the duplicate mark");
    printf("burst: last ids %u %u %u %u\n", next[0] - 1, next[1] - 1, next[2] - 1, next[3] - 1);
}

/* it_dbproxy_group PORT fallback GA: 12 messages of 21 to ga at once, the 6th of which
 * MariaDB refuses (a trigger it_dbproxy_group.sh made): the batch fails, its messages are
 * stored one by one, all answered in order, only that one with msg_id 0, the others with the
 * next ids. */
static void phase_fallback(peer_t *p, uint32_t ga)
{
    uint32_t last = latest_id(p, 21, ga);
    uint8_t attach[12][12];
    for (int k = 0; k < 12; k++) {
        char text[32];
        snprintf(text, sizeof(text), k == 5 ? "poison" : "after poison %d", k);
        for (int i = 0; i < 12; i++)
            attach[k][i] = (uint8_t)(k * 11 + i);
        IM__Message__IMMsgData q = msg_data(21, ga, 0, GTEXT, text, strlen(text), attach[k], 12);
        send_msg(p, SID_MSG, MSG(DATA), (uint16_t)(2000 + k), &q.base);
    }
    int in_order = 1, ids_ok = 1;
    uint32_t next = last + 1;
    for (int k = 0; k < 12; k++) {
        uint16_t cid, seq;
        uint8_t *body;
        size_t len;
        if (recv_frame(p, T, &cid, &seq, &body, &len) < 0) {
            in_order = 0;
            break;
        }
        IM__Message__IMMsgData *a = (IM__Message__IMMsgData *)tt_pb_unpack(
            &im__message__immsg_data__descriptor, body, len);
        free(body);
        if (!a || seq != 2000 + k || !a->has_attach_data || a->attach_data.len < 12 ||
            memcmp(a->attach_data.data, attach[k], 12) != 0)
            in_order = 0;
        else if (k == 5 ? a->msg_id != 0 : a->msg_id != next++)
            ids_ok = 0;
        tt_pb_free(a);
    }
    check(in_order, "a failing batch: every message answered in order");
    check(ids_ok, "stored one by one: the refused one msg_id 0, the others the next ids (from %u)",
          last + 1);
}

/* it_dbproxy_group PORT parallel GC: two connections each send 100 messages to gc at once
 * (22 on one, 23 on the other): every one stored, each connection's ids increasing, all of
 * them together the next 200 ids without a gap or a repeat. */
static void phase_parallel(peer_t *p, uint16_t port, uint32_t gc)
{
    enum { PER = 100 };
    peer_t q2;
    if (peer_open(&q2, port) < 0) {
        check(0, "a second connection");
        return;
    }
    peer_t *peers[2] = {p, &q2};
    uint32_t last = latest_id(p, 22, gc);
    uint64_t t0 = now_ms();
    cork(p, 1);
    cork(&q2, 1);
    for (int k = 0; k < PER; k++)
        for (int c = 0; c < 2; c++) {
            char text[48];
            snprintf(text, sizeof(text), "parallel %d/%d", c, k);
            uint8_t attach[12] = {(uint8_t)c, (uint8_t)k};
            IM__Message__IMMsgData q =
                msg_data(c ? 23 : 22, gc, 0, GTEXT, text, strlen(text), attach, 12);
            send_msg(peers[c], SID_MSG, MSG(DATA), (uint16_t)(3000 + k), &q.base);
        }
    cork(p, 0);
    cork(&q2, 0);
    static uint8_t seen[2 * PER + 1];
    int increasing = 1, answered = 0, inside = 1;
    for (int c = 0; c < 2; c++) {
        uint32_t prev = 0;
        for (int k = 0; k < PER; k++) {
            uint16_t cid, seq;
            uint8_t *body;
            size_t len;
            if (recv_frame(peers[c], T, &cid, &seq, &body, &len) < 0)
                break;
            IM__Message__IMMsgData *a = (IM__Message__IMMsgData *)tt_pb_unpack(
                &im__message__immsg_data__descriptor, body, len);
            free(body);
            if (a && seq == 3000 + k && a->msg_id) {
                answered++;
                increasing &= a->msg_id > prev;
                prev = a->msg_id;
                if (a->msg_id > last && a->msg_id <= last + 2 * PER)
                    seen[a->msg_id - last]++;
                else
                    inside = 0;
            }
            tt_pb_free(a);
        }
    }
    printf("parallel: %d group messages answered in %llu ms\n", answered,
           (unsigned long long)(now_ms() - t0));
    int once = 1;
    for (int i = 1; i <= 2 * PER; i++)
        once &= seen[i] == 1;
    check(answered == 2 * PER, "two connections' messages to one group all stored (%d)",
          answered);
    check(increasing, "each connection's ids increase in the order it sent");
    check(inside && once, "together the next %d ids, each once", 2 * PER);
    peer_close(&q2);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: it_dbproxy_group PORT groups\n");
        return 2;
    }
    srand((unsigned)time(NULL));
    peer_t p;
    if (peer_open(&p, (uint16_t)atoi(argv[1])) < 0)
        return 1;
    const char *phase = argv[2];
    if (strcmp(phase, "groups") == 0) {
        phase_groups(&p);
    } else if (strcmp(phase, "msgs") == 0) {
        phase_msgs(&p);
    } else if (strcmp(phase, "flushed") == 0) {
        phase_flushed(&p);
    } else if (strcmp(phase, "parallel") == 0 && argc >= 4) {
        phase_parallel(&p, (uint16_t)atoi(argv[1]), (uint32_t)strtoul(argv[3], NULL, 10));
    } else if (strcmp(phase, "fallback") == 0 && argc >= 4) {
        phase_fallback(&p, (uint32_t)strtoul(argv[3], NULL, 10));
    } else if (strcmp(phase, "burst") == 0 && argc >= 8) {
        phase_burst(&p, argv);
    } else {
        fprintf(stderr, "unknown phase %s\n", phase);
        peer_close(&p);
        return 2;
    }
    peer_close(&p);
    printf("%s: %d failure(s)\n", phase, failures);
    return failures ? 1 : 0;
}
