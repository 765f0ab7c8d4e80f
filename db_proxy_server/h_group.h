/* h_group: the group side of the message commands h_msg.c serves (CID_MSG_DATA of types 0x11
 * and 0x12, read acks, unread counts, history, by id, latest id and recent sessions of group
 * sessions). h_msg.c hands a request with session type GROUP to these; each answers it (0) or
 * returns -1 when MariaDB failed (the error answer is due). Group messages are checked here
 * (dbp_group_msg_prepare), stored by h_msg.c with the rest of their batch and answered here
 * (dbp_group_msg_answer). */
#ifndef DBP_H_GROUP_H
#define DBP_H_GROUP_H

#include <stdint.h>

#include "IM.Buddy.pb-c.h"
#include "IM.Message.pb-c.h"
#include "db_proxy.h"
#include "td_group.h"
#include "td_msg.h"

/* 1 for MSG_TYPE_GROUP_TEXT / MSG_TYPE_GROUP_AUDIO. */
int dbp_group_msg_type(uint32_t type);
/* A group message to store: 0 with *s filled (its resend key as for one-to-one messages),
 * -1 when it cannot be stored at all (logged; answered msg_id 0, msg_server sends no ack). The
 * group messages of a batch are then stored together (h_msg.c, td_group_store_batch). */
int dbp_group_msg_prepare(const db_proxy_t *dbp, const IM__Message__IMMsgData *req,
                          td_msg_send_t *s);
/* The answer to a group message whose store committed: msg_id 0 when refused (not a member,
 * no such group), the duplicate mark for a resend, else the id with the GRPV payload. */
int dbp_group_msg_answer(dbp_ctx_t *x, const IM__Message__IMMsgData *req,
                         const td_group_sent_t *out);
/* A member has read the group: the read position moves to its last message. */
int dbp_group_read_ack(dbp_ctx_t *x, const IM__Message__IMMsgDataReadAck *req);
int dbp_group_list(dbp_ctx_t *x, const IM__Message__IMGetMsgListReq *req, size_t budget);
int dbp_group_by_ids(dbp_ctx_t *x, const IM__Message__IMGetMsgByIdReq *req, size_t budget);
int dbp_group_latest(dbp_ctx_t *x, const IM__Message__IMGetLatestMsgIdReq *req);

/* Group entries of an answer (unread counts, recent sessions): filled by dbp_group_unread /
 * dbp_group_sessions, freed by dbp_group_entries_free. */
typedef struct dbp_group_entries_s {
    IM__BaseDefine__UnreadInfo *unread;        /* unread entries */
    IM__BaseDefine__ContactSessionInfo *sess;  /* or session entries */
    td_msg_t **latest;                         /* their latest messages */
    size_t n;
    uint64_t total;                            /* unread messages in all */
} dbp_group_entries_t;
/* The groups of uid with unread messages (lastMsgId - its read/join position). */
int dbp_group_unread(dbp_ctx_t *x, td_conn_t *c, uint32_t uid, dbp_group_entries_t *e);
/* The group sessions of uid (groups it is a member of with a message) chatted after since,
 * at most max. */
int dbp_group_sessions(dbp_ctx_t *x, td_conn_t *c, uint32_t uid, uint32_t since, size_t max,
                       dbp_group_entries_t *e);
void dbp_group_entries_free(dbp_group_entries_t *e);

#endif
