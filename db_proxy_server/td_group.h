/* td_group: the SQL of groups (IMGroup, IMGroupMember and its migration-008 columns,
 * tt_msg_counter for the groups' message ids), shared by db_proxy_server (h_group.c) and ttadm.
 * MariaDB is the truth about groups and memberships; a row an existing TeamTalk deployment
 * wrote (IMGroupMember.status 0 = member, 1 = left) works unchanged. Every change of the
 * members bumps IMGroup.version and sets IMGroup.updated, in one transaction that locks the
 * group row first, so two changes of one group never interleave. Prepared statements only.
 * Functions return 0 (or a documented count / flag) and -1 on a database error
 * (td_conn_error). */
#ifndef TD_GROUP_H
#define TD_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "td_msg.h"
#include "td_mysql.h"

#define TD_GROUP_NORMAL 1        /* IMGroup.type: made by an administrator */
#define TD_GROUP_TMP 2           /* IMGroup.type: made by a client */
#define TD_GROUP_ADD 1           /* GroupModifyType */
#define TD_GROUP_DEL 2
#define TD_GROUP_MEMBERS_MAX 10000 /* members of one group, ids in one change */
#define TD_GROUP_NAME_MAX 256    /* IMGroup.name / avatar characters */
#define TD_GROUP_LIST_MAX 10000  /* groups in one listing */

/* One IMGroup row. */
typedef struct td_group_s {
    uint32_t id, creator, type, status, version, user_cnt, created, updated;
    char name[TD_GROUP_NAME_MAX * 4 + 1];
    char avatar[TD_GROUP_NAME_MAX * 4 + 1];
} td_group_t;

typedef struct td_ids_s {
    uint32_t *v; /* ids */
    size_t n;    /* used */
    size_t cap;  /* allocated */
} td_ids_t;

void td_ids_free(td_ids_t *l);
/* Appends id (the array grows as needed); -1 when out of memory. */
int td_ids_push(td_ids_t *l, uint32_t id);

/* 1 found (*g filled), 0 no such group, -1 error. */
int td_group_get(td_conn_t *c, uint32_t gid, td_group_t *g);
/* Every group of a type (0: any), in id order, at most TD_GROUP_LIST_MAX: on_group(arg, g)
 * for each (non-zero stops). 0 ok, -1 error. */
int td_groups_all(td_conn_t *c, uint32_t type, int (*on_group)(void *arg, const td_group_t *g),
                  void *arg);
/* The current members of a group (IMGroupMember.status 0), each once, in row order. */
int td_group_members(td_conn_t *c, uint32_t gid, td_ids_t *out);

/* Creates a group (status 0, version 1) with these members (duplicates dropped; n may be 0
 * for an admin-made group) and its message counter (0). creator 0 = made by an admin tool. */
int td_group_create(td_conn_t *c, const char *name, const char *avatar, uint32_t creator,
                    uint32_t type, const uint32_t *members, size_t n, uint32_t *gid);

/* Results of td_group_change. */
enum { TD_GC_OK = 0, TD_GC_NO_GROUP = 1, TD_GC_DENIED = 2 };
typedef struct td_group_change_s {
    int result;        /* TD_GC_* */
    uint32_t version;  /* the group's version afterwards */
    td_ids_t changed;  /* ids really added / removed */
    td_ids_t current;  /* members afterwards */
} td_group_change_t;
void td_group_change_free(td_group_change_t *r);
/* Adds (TD_GROUP_ADD) or removes (TD_GROUP_DEL) members, asked by `requester` (0: the admin
 * tools, always allowed). Normal groups: only the creator. Temporary groups: a member may add,
 * the creator (while a member) may remove anyone, a member may remove (only) themselves. Ids
 * already in (for an add) or not in (for a remove) are no change; a rejoining member's row
 * is reactivated with its join position at the group's last message. The version is bumped
 * when anything changed. 0 with r->result set, -1 on a database error (rolled back). */
int td_group_change(td_conn_t *c, uint32_t gid, uint32_t requester, int op, const uint32_t *ids,
                    size_t n, td_group_change_t *r);

/* The groups of a type (0: any) that uid is a member of, most recently changed first, at most
 * TD_GROUP_LIST_MAX: on_row(arg, gid, version) (non-zero stops). 0 ok, -1 error. */
int td_groups_of_user(td_conn_t *c, uint32_t uid, uint32_t type,
                      int (*on_row)(void *arg, uint32_t gid, uint32_t version), void *arg);
/* uid's member row of gid: 1 a member (*m filled), 0 not a member, -1 error. */
typedef struct td_member_s {
    uint32_t shield;   /* push shield for this group */
    uint32_t join_id;  /* joinMsgId */
    uint32_t read_id;  /* readMsgId */
} td_member_t;
int td_group_member(td_conn_t *c, uint32_t gid, uint32_t uid, td_member_t *m);
/* Sets a member's shield (0/1). *matched = 0 when uid is not a member. */
int td_group_set_shield(td_conn_t *c, uint32_t gid, uint32_t uid, uint32_t shield,
                        uint64_t *matched);
/* The shield of every current member: on_row(arg, uid, shield). */
int td_group_shields(td_conn_t *c, uint32_t gid,
                     int (*on_row)(void *arg, uint32_t uid, uint32_t shield), void *arg);

/* ---- group messages ---- */

/* Stores a group message (s->to = the group id; type 0x11 text or 0x12 voice) in ONE
 * transaction: the group's tt_msg_counter row locked (created from MAX(msgId) of the shard for
 * a group an imported database has without one); a resend (same (from, client_key) within the
 * window) answered with its msgId, nothing written; the sender must be a member (else *refused
 * = 1, nothing written); the next msgId; voice rows; the IMGroupMessage_<gid % 8> row; the
 * sender's read position moved to it; IMGroup.lastChated; the dedupe row; COMMIT. Retried on a
 * deadlock. The group row is locked (for update: the transaction writes it) before the
 * membership check and before any plain read, so no member change commits in between: the
 * message is stored under out->version, and when that is not
 * out->have_version (the caller's cached member list) out->members gets the members of that
 * version, read in the same transaction. 0 committed / duplicate / refused, -1 error (rolled
 * back); out->members is freed by the caller (td_ids_free), empty unless stored. */
typedef struct td_group_sent_s {
    uint32_t have_version; /* in: the version of the caller's member list (0: none) */
    td_msg_sent_t sent;    /* the stored message */
    int refused;           /* 1: no such group or the sender is not a member */
    uint32_t version;      /* the group's version the message was stored under */
    td_ids_t members;      /* its members, when version != have_version */
} td_group_sent_t;
int td_group_store(td_conn_t *c, const td_msg_send_t *s, td_group_sent_t *out);
/* Stores n (1 .. TD_MSG_BATCH_MAX) group messages in ONE transaction with a number of
 * statements that does not grow with n (the group rows locked in ascending id order first,
 * then resend keys, memberships, member lists, counters read with one multi-row statement
 * each, the counters, message rows (one per shard), read positions, lastChated and resend keys
 * written with one bulk execution each; only voice messages and imported groups without a
 * counter row cost statements of their own). The same rules and results as td_group_store for
 * each message: out[i] of s[i] (zeroed by the caller but for out[i].have_version), ids in the
 * order of s within each group, a refused or resent message alone answered as such (a resend
 * of a message earlier in this batch: its id, duplicate), a group's members read once. Retried like
 * td_group_store. 0 committed, -1 error (rolled back: none is stored; the caller may store
 * them one by one). Every s[i] must be a group message with a sender and a group (checked:
 * -1 otherwise). */
int td_group_store_batch(td_conn_t *c, const td_msg_send_t *s, size_t n, td_group_sent_t *out);
/* A member has read everything: readMsgId = the group's last msgId. *matched 0: not a member. */
int td_group_read_all(td_conn_t *c, uint32_t gid, uint32_t uid, uint64_t *matched);
/* History visible to a member who joined after msgId `join`: msgId > join, <= begin (0: from
 * the newest), status 0, newest first, at most cnt; voice expanded, cut at max_bytes. */
int td_group_msgs(td_conn_t *c, uint32_t gid, uint32_t join, uint32_t begin, uint32_t cnt,
                  size_t max_bytes, td_msg_list_t *out);
/* The messages with these ids (at most TD_MSG_IDS_MAX looked at) that are after `join`. */
int td_group_msgs_by_ids(td_conn_t *c, uint32_t gid, uint32_t join, const uint32_t *ids,
                         size_t n, size_t max_bytes, td_msg_list_t *out);
/* The groups uid is a member of with their last msgId, the member's positions and the group's
 * lastChated: on_row(arg, row) for each (non-zero stops). */
typedef struct td_member_group_s {
    uint32_t gid, last_id, join_id, read_id, last_chated;
} td_member_group_t;
int td_member_groups(td_conn_t *c, uint32_t uid,
                     int (*on_row)(void *arg, const td_member_group_t *g), void *arg);

/* Messages of gid after msgId `after` (status 0), counted up to 10000: the unread count (ids
 * of an imported group need not be dense). */
int td_group_count_after(td_conn_t *c, uint32_t gid, uint32_t after, uint32_t *n);

/* The group's last message id (tt_msg_counter, or MAX(msgId) of its messages for a group an
 * imported database has without a counter row). */
int td_group_last_msg_id(td_conn_t *c, uint32_t gid, uint32_t *last);
/* MAX(msgId) of the group's messages (0: none): where an imported group's ids go on. */
int td_group_msg_max(td_conn_t *c, uint32_t gid, uint32_t *last);
/* IMGroupMessage_<gid % 8>: the shard number. */
unsigned td_group_shard(uint32_t gid);

#endif
