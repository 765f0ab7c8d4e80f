/* tb_group: the bookkeeping of tt-bench's group mode (G groups of M members, S senders per
 * group, group text messages fanned out by the server to every other member connection).
 *
 * Layout: client i (i < G*M) is member i % M of group i / M; members 0 .. S-1 of a group send,
 * member 0 creates it (a temporary group, IMGroupCreateReq with the other members' ids) once
 * every client is logged in. The group ids come back in IMGroupCreateRsp.
 *
 * Accounting, exactly once per member connection: every member keeps one bitmap per sender of
 * its group, indexed by the sequence number carried in the payload (tb_payload), written only by
 * the member's own worker thread. Every message of a sender has a record (send time, acked,
 * distinct deliveries, latest delivery time); deliveries come from every worker, so those two
 * fields are atomics. After the run (threads joined) tb_group_finish walks the acknowledged
 * messages: a member logged in at set-up whose bit is not set lost it; a message every such
 * member got gives one send->last delivery figure. */
#ifndef TB_GROUP_H
#define TB_GROUP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "IM.Group.pb-c.h"
#include "tb_hist.h"
#include "tb_payload.h"

/* What one delivery was, for the member that got it. */
typedef enum {
    TB_GD_FIRST,     /* first time, tracked: counted as delivered */
    TB_GD_UNTRACKED, /* first time as far as we know: beyond the tracked sequences */
    TB_GD_DUP,       /* this member connection already had it */
    TB_GD_ECHO,      /* delivered to the connection that sent it */
    TB_GD_FOREIGN    /* not a message of this member's group (other group, run, sender) */
} tb_gdeliv_t;

typedef struct tb_gmsg_s {
    _Atomic uint32_t deliveries; /* distinct member connections that got it */
    _Atomic uint64_t last_us;    /* latest of those deliveries (monotonic us), 0: none */
    uint64_t send_us;            /* sender's worker, at the ack */
    uint8_t acked, measured;     /* sender's worker, at the ack */
} tb_gmsg_t;

typedef struct tb_gmember_s { /* written by the member's worker only, read after the join */
    uint32_t dups, echoes, foreign, untracked;
    uint32_t lost; /* tb_group_finish */
} tb_gmember_t;

#define TB_GROUP_WORST 10 /* members listed in the report, most losses first */

typedef struct tb_group_s {
    uint32_t groups, members, senders; /* G, M, S */
    uint32_t cap;                      /* sequences tracked per sender (1 .. cap) */
    uint32_t words;                    /* 64-bit words of one bitmap */
    _Atomic uint32_t *gids;            /* per group: id from IMGroupCreateRsp, 0 until then */
    uint32_t *server_members;          /* per group: ids in IMGroupCreateRsp.user_id_list */
    uint32_t *online;                  /* per group: members logged in at set-up */
    uint8_t *member_online;            /* per member: logged in at set-up */
    _Atomic uint32_t answered, failed; /* create answers (failed: refused or never asked) */
    tb_gmsg_t *msgs;                   /* [group * S + sender][seq - 1] */
    uint64_t *seen;                    /* [(member * S + sender) * words] */
    uint32_t *top;                     /* per sender slot: highest acked tracked sequence */
    tb_gmember_t *m;                   /* per member */
    _Atomic uint64_t expected;         /* deliveries due for the acked tracked messages */
    _Atomic uint64_t create_us_max;    /* slowest create answer, us after the set-up began */
    uint64_t setup_start_us;
    char first_refusal[160];           /* first failed create, for the report */
    _Atomic int refusal_noted;

    /* tb_group_finish */
    tb_hist_t last_hist;               /* send -> last delivery, measured complete messages */
    uint64_t acked_tracked, acked_measured, complete, incomplete_measured;
    uint64_t lost, dups, echoes, foreign, untracked;
    uint32_t members_with_loss, members_with_dup, max_lost, max_dup;
    uint32_t worst[TB_GROUP_WORST];    /* member indexes, most lost first */
    uint32_t n_worst;
} tb_group_t;

/* The pure layout rules. */
static inline int tb_group_member_of(const tb_group_t *g, uint32_t idx, uint32_t *gi, uint32_t *j)
{
    if (idx >= g->groups * g->members)
        return 0;
    *gi = idx / g->members;
    *j = idx % g->members;
    return 1;
}

/* 0 and a sequence budget from --rate and the times (rate 0: as many as the memory cap
 * allows), or -1 with a message in err when G*M*S bitmaps do not fit in memory. */
int tb_group_size(uint32_t groups, uint32_t members, uint32_t senders, double rate,
                  double seconds, uint32_t *cap, char *err, size_t errlen);
tb_group_t *tb_group_new(uint32_t groups, uint32_t members, uint32_t senders, uint32_t cap);
void tb_group_free(tb_group_t *g);

/* Coordinator, once every login is finished: who is online (user_ids[i] != 0); groups whose
 * creator is not online are failed at once. */
void tb_group_begin_setup(tb_group_t *g, const uint32_t *user_ids, uint64_t now_us);
int tb_group_setup_done(const tb_group_t *g);
uint32_t tb_group_created(const tb_group_t *g);

/* A creator's worker: fills req (member_id_list malloc'ed: free it) when client idx creates a
 * group; 0 when it creates none, -1 out of memory. */
int tb_group_create_req(tb_group_t *g, const uint32_t *user_ids, uint32_t idx, uint32_t run_id,
                        IM__Group__IMGroupCreateReq *req, char *name, size_t namelen);
/* The create answer (or the failure to ask) for the group client idx creates. */
void tb_group_create_answer(tb_group_t *g, uint32_t idx, const IM__Group__IMGroupCreateRsp *rsp,
                            const char *why, uint64_t now_us);
/* The group id a sender sends to (0: none). */
uint32_t tb_group_target(const tb_group_t *g, uint32_t idx);
int tb_group_is_sender(const tb_group_t *g, uint32_t idx);

/* A sender's worker: message seq (payload sequence) of sender idx was acknowledged. */
void tb_group_acked(tb_group_t *g, uint32_t idx, uint64_t seq, uint64_t send_us, int measured);
/* A member's worker: client idx got p for session to_session_id at now_us. */
tb_gdeliv_t tb_group_delivery(tb_group_t *g, uint32_t idx, uint32_t to_session_id,
                              const tb_payload_t *p, uint64_t now_us);
/* Every due delivery of the acked messages has happened. */
int tb_group_settled(const tb_group_t *g, uint64_t delivered);

/* After the join: losses, per-member figures, send->last delivery. */
void tb_group_finish(tb_group_t *g);

/* Report parts: a text block, and a JSON object ("group"); members are named by pattern. */
void tb_group_report_text(const tb_group_t *g, const char *pattern, uint32_t first,
                          double measured_seconds, uint64_t delivered_m);
json_t *tb_group_json(const tb_group_t *g, const char *pattern, uint32_t first,
                      double measured_seconds, uint64_t delivered_m);

/* Self-test of the pure parts: returns the failures, adds to *checks. */
int tb_group_self_test(int *checks);

#endif
