/* tb_group: group mode bookkeeping — layout, group creation answers, per-member exactly-once
 * accounting, send->last delivery, the group part of the report. See tb_group.h. */
#include "tb_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITMAP_BUDGET (256ull << 20) /* bytes of per-member bitmaps at most */
#define RECORD_BUDGET (256ull << 20) /* bytes of per-message records at most */
#define CAP_MAX (1u << 20)           /* sequences tracked per sender at most */
#define CAP_MIN 64

int tb_group_size(uint32_t groups, uint32_t members, uint32_t senders, double rate,
                  double seconds, uint32_t *cap, char *err, size_t errlen)
{
    uint64_t slots = (uint64_t)groups * senders, bitmaps = (uint64_t)groups * members * senders;
    if (!groups || !members || !senders || senders > members) {
        snprintf(err, errlen, "group mode needs --groups, --members >= 2 and 1 <= --senders <= "
                              "--members");
        return -1;
    }
    uint64_t by_bits = BITMAP_BUDGET * 8 / bitmaps, by_recs = RECORD_BUDGET / sizeof(tb_gmsg_t) /
                                                              slots;
    uint64_t most = by_bits < by_recs ? by_bits : by_recs;
    if (most > CAP_MAX)
        most = CAP_MAX;
    most &= ~(uint64_t)63;
    uint64_t want = rate > 0 ? (uint64_t)(rate * seconds * 1.02) + CAP_MIN : most;
    want = (want + 63) & ~(uint64_t)63;
    if (want > most || most < CAP_MIN) {
        snprintf(err, errlen,
                 "%u groups x %u members x %u senders can track %llu messages per sender, "
                 "%llu wanted (lower --rate, --duration or the group sizes)",
                 groups, members, senders, (unsigned long long)most, (unsigned long long)want);
        return -1;
    }
    *cap = (uint32_t)want;
    return 0;
}

tb_group_t *tb_group_new(uint32_t groups, uint32_t members, uint32_t senders, uint32_t cap)
{
    tb_group_t *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->groups = groups;
    g->members = members;
    g->senders = senders;
    g->cap = cap;
    g->words = (cap + 63) / 64;
    size_t n = (size_t)groups * members, slots = (size_t)groups * senders;
    g->gids = calloc(groups, sizeof(*g->gids));
    g->server_members = calloc(groups, sizeof(*g->server_members));
    g->online = calloc(groups, sizeof(*g->online));
    g->member_online = calloc(n, 1);
    g->msgs = calloc(slots * cap, sizeof(*g->msgs));
    g->seen = calloc(n * senders * g->words, sizeof(*g->seen));
    g->top = calloc(slots, sizeof(*g->top));
    g->m = calloc(n, sizeof(*g->m));
    tb_hist_init(&g->last_hist);
    if (!g->gids || !g->server_members || !g->online || !g->member_online || !g->msgs ||
        !g->seen || !g->top || !g->m) {
        tb_group_free(g);
        return NULL;
    }
    return g;
}

void tb_group_free(tb_group_t *g)
{
    if (!g)
        return;
    free(g->gids);
    free(g->server_members);
    free(g->online);
    free(g->member_online);
    free(g->msgs);
    free(g->seen);
    free(g->top);
    free(g->m);
    free(g);
}

/* ---- set-up ---- */

static void create_failed(tb_group_t *g, uint32_t gi, const char *why)
{
    (void)gi;
    int expected = 0;
    if (why && atomic_compare_exchange_strong(&g->refusal_noted, &expected, 1))
        snprintf(g->first_refusal, sizeof(g->first_refusal), "group %u: %s", gi, why);
    atomic_fetch_add(&g->failed, 1);
    atomic_fetch_add(&g->answered, 1);
}

void tb_group_begin_setup(tb_group_t *g, const uint32_t *user_ids, uint64_t now_us)
{
    g->setup_start_us = now_us;
    for (uint32_t gi = 0; gi < g->groups; gi++) {
        uint32_t on = 0;
        for (uint32_t j = 0; j < g->members; j++) {
            uint32_t idx = gi * g->members + j;
            g->member_online[idx] = user_ids[idx] != 0;
            on += g->member_online[idx];
        }
        g->online[gi] = on;
        if (!user_ids[gi * g->members])
            create_failed(g, gi, "its creator (member 0) is not logged in");
    }
}

int tb_group_setup_done(const tb_group_t *g)
{
    return atomic_load(&g->answered) >= g->groups;
}

uint32_t tb_group_created(const tb_group_t *g)
{
    uint32_t a = atomic_load(&g->answered), f = atomic_load(&g->failed);
    return a - f;
}

int tb_group_create_req(tb_group_t *g, const uint32_t *user_ids, uint32_t idx, uint32_t run_id,
                        IM__Group__IMGroupCreateReq *req, char *name, size_t namelen)
{
    uint32_t gi, j;
    if (!tb_group_member_of(g, idx, &gi, &j) || j != 0 || !user_ids[idx])
        return 0;
    uint32_t *ids = malloc(g->members * sizeof(*ids)), n = 0;
    if (!ids)
        return -1;
    for (uint32_t k = 1; k < g->members; k++)
        if (user_ids[idx + k])
            ids[n++] = user_ids[idx + k];
    snprintf(name, namelen, "tt-bench %08x %u", (unsigned)run_id, (unsigned)gi);
    im__group__imgroup_create_req__init(req);
    req->user_id = user_ids[idx];
    req->group_type = IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP;
    req->group_name = name;
    req->group_avatar = (char *)"";
    req->n_member_id_list = n;
    req->member_id_list = ids;
    return 1;
}

void tb_group_create_answer(tb_group_t *g, uint32_t idx, const IM__Group__IMGroupCreateRsp *rsp,
                            const char *why, uint64_t now_us)
{
    uint32_t gi, j;
    if (!tb_group_member_of(g, idx, &gi, &j) || j != 0 || atomic_load(&g->gids[gi]))
        return;
    char text[120];
    if (!rsp || rsp->result_code != 0 || !rsp->group_id) {
        if (!why) {
            snprintf(text, sizeof(text), "IMGroupCreateRsp result %u, group id %u",
                     rsp ? (unsigned)rsp->result_code : 0u, rsp ? (unsigned)rsp->group_id : 0u);
            why = text;
        }
        create_failed(g, gi, why);
        return;
    }
    g->server_members[gi] = (uint32_t)rsp->n_user_id_list;
    atomic_store(&g->gids[gi], rsp->group_id);
    uint64_t took = now_us > g->setup_start_us ? now_us - g->setup_start_us : 0;
    uint64_t old = atomic_load(&g->create_us_max);
    while (took > old && !atomic_compare_exchange_weak(&g->create_us_max, &old, took))
        ;
    atomic_fetch_add(&g->answered, 1);
}

uint32_t tb_group_target(const tb_group_t *g, uint32_t idx)
{
    uint32_t gi, j;
    if (!tb_group_member_of(g, idx, &gi, &j) || j >= g->senders)
        return 0;
    return atomic_load(&g->gids[gi]);
}

int tb_group_is_sender(const tb_group_t *g, uint32_t idx)
{
    uint32_t gi, j;
    return tb_group_member_of(g, idx, &gi, &j) && j < g->senders;
}

/* ---- the run ---- */

void tb_group_acked(tb_group_t *g, uint32_t idx, uint64_t seq, uint64_t send_us, int measured)
{
    uint32_t gi, j;
    if (!tb_group_member_of(g, idx, &gi, &j) || j >= g->senders || seq < 1 || seq > g->cap)
        return;
    size_t slot = (size_t)gi * g->senders + j;
    tb_gmsg_t *m = &g->msgs[slot * g->cap + (seq - 1)];
    if (m->acked)
        return;
    m->send_us = send_us;
    m->measured = (uint8_t)(measured != 0);
    m->acked = 1;
    if (seq > g->top[slot])
        g->top[slot] = (uint32_t)seq;
    uint32_t due = g->online[gi] - (g->member_online[idx] ? 1 : 0);
    atomic_fetch_add_explicit(&g->expected, due, memory_order_relaxed);
}

tb_gdeliv_t tb_group_delivery(tb_group_t *g, uint32_t idx, uint32_t to_session_id,
                              const tb_payload_t *p, uint64_t now_us)
{
    uint32_t gi, j, sgi, sj;
    if (!tb_group_member_of(g, idx, &gi, &j))
        return TB_GD_FOREIGN;
    tb_gmember_t *me = &g->m[idx];
    if (to_session_id != atomic_load_explicit(&g->gids[gi], memory_order_relaxed) ||
        !tb_group_member_of(g, p->sender, &sgi, &sj) || sgi != gi || sj >= g->senders ||
        p->seq < 1) {
        me->foreign++;
        return TB_GD_FOREIGN;
    }
    if (p->sender == idx) {
        me->echoes++;
        return TB_GD_ECHO;
    }
    if (p->seq > g->cap) {
        me->untracked++;
        return TB_GD_UNTRACKED;
    }
    uint64_t q = p->seq - 1;
    uint64_t *word = &g->seen[((size_t)idx * g->senders + sj) * g->words + q / 64];
    uint64_t bit = UINT64_C(1) << (q % 64);
    if (*word & bit) {
        me->dups++;
        return TB_GD_DUP;
    }
    *word |= bit;
    tb_gmsg_t *m = &g->msgs[((size_t)gi * g->senders + sj) * g->cap + q];
    atomic_fetch_add_explicit(&m->deliveries, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&m->last_us, memory_order_relaxed);
    while (now_us > old && !atomic_compare_exchange_weak_explicit(
                               &m->last_us, &old, now_us, memory_order_relaxed,
                               memory_order_relaxed))
        ;
    return TB_GD_FIRST;
}

int tb_group_settled(const tb_group_t *g, uint64_t delivered)
{
    return delivered >= atomic_load_explicit(&g->expected, memory_order_relaxed);
}

/* ---- after the run ---- */

static int seen_bit(const tb_group_t *g, uint32_t idx, uint32_t sj, uint64_t q)
{
    uint64_t w = g->seen[((size_t)idx * g->senders + sj) * g->words + q / 64];
    return (int)(w >> (q % 64) & 1);
}

static void rank_worst(tb_group_t *g, uint32_t idx)
{
    const tb_gmember_t *me = &g->m[idx];
    uint64_t score = (uint64_t)me->lost * 4 + me->dups;
    if (!score)
        return;
    uint32_t pos = g->n_worst;
    while (pos > 0) {
        const tb_gmember_t *o = &g->m[g->worst[pos - 1]];
        if ((uint64_t)o->lost * 4 + o->dups >= score)
            break;
        pos--;
    }
    if (pos >= TB_GROUP_WORST)
        return;
    uint32_t n = g->n_worst < TB_GROUP_WORST ? g->n_worst + 1 : TB_GROUP_WORST;
    memmove(&g->worst[pos + 1], &g->worst[pos], (n - 1 - pos) * sizeof(g->worst[0]));
    g->worst[pos] = idx;
    g->n_worst = n;
}

void tb_group_finish(tb_group_t *g)
{
    for (uint32_t gi = 0; gi < g->groups; gi++)
        for (uint32_t sj = 0; sj < g->senders; sj++) {
            size_t slot = (size_t)gi * g->senders + sj;
            uint32_t sender = gi * g->members + sj;
            for (uint64_t q = 0; q < g->top[slot]; q++) {
                const tb_gmsg_t *m = &g->msgs[slot * g->cap + q];
                if (!m->acked)
                    continue;
                g->acked_tracked++;
                g->acked_measured += m->measured;
                int complete = 1;
                for (uint32_t k = 0; k < g->members; k++) {
                    uint32_t idx = gi * g->members + k;
                    if (idx == sender || !g->member_online[idx] || seen_bit(g, idx, sj, q))
                        continue;
                    g->m[idx].lost++;
                    complete = 0;
                }
                if (complete) {
                    g->complete++;
                    uint64_t last = atomic_load(&m->last_us);
                    if (m->measured && last && last >= m->send_us) /* 0: nobody else online */
                        tb_hist_record(&g->last_hist, last - m->send_us);
                } else if (m->measured)
                    g->incomplete_measured++;
            }
        }
    for (uint32_t idx = 0; idx < g->groups * g->members; idx++) {
        const tb_gmember_t *me = &g->m[idx];
        g->lost += me->lost;
        g->dups += me->dups;
        g->echoes += me->echoes;
        g->foreign += me->foreign;
        g->untracked += me->untracked;
        g->members_with_loss += me->lost > 0;
        g->members_with_dup += me->dups > 0;
        if (me->lost > g->max_lost)
            g->max_lost = me->lost;
        if (me->dups > g->max_dup)
            g->max_dup = me->dups;
        rank_worst(g, idx);
    }
}

/* ---- report ---- */

static double ms(uint64_t us) { return (double)us / 1000.0; }

static uint32_t online_total(const tb_group_t *g)
{
    uint32_t n = 0;
    for (uint32_t gi = 0; gi < g->groups; gi++)
        n += g->online[gi];
    return n;
}

void tb_group_report_text(const tb_group_t *g, const char *pattern, uint32_t first,
                          double measured_seconds, uint64_t delivered_m)
{
    uint32_t answered = atomic_load(&g->answered);
    printf("groups          %u temporary group%s of %u members (created by member 0), "
           "%u sender%s each; created %u, failed %u, no answer %u, slowest create %.1f ms\n",
           g->groups, g->groups > 1 ? "s" : "", g->members, g->senders,
           g->senders > 1 ? "s" : "", tb_group_created(g), atomic_load(&g->failed),
           g->groups > answered ? g->groups - answered : 0, ms(atomic_load(&g->create_us_max)));
    if (g->first_refusal[0])
        printf("  first failure %s\n", g->first_refusal);
    printf("  members       %u online at set-up; the server listed %u in group 0\n",
           online_total(g), g->server_members[0]);
    printf("fan-out         %.1f deliveries/s in the measured window (%llu deliveries)\n",
           measured_seconds > 0 ? (double)delivered_m / measured_seconds : 0.0,
           (unsigned long long)delivered_m);
    printf("  exactly once  %llu acked messages checked (%llu measured): %llu reached every "
           "online member, %llu measured did not\n",
           (unsigned long long)g->acked_tracked, (unsigned long long)g->acked_measured,
           (unsigned long long)g->complete, (unsigned long long)g->incomplete_measured);
    printf("  losses        %llu, at %u members (at most %u at one)\n",
           (unsigned long long)g->lost, g->members_with_loss, g->max_lost);
    printf("  duplicates    %llu, at %u members (at most %u at one); echoes to the sending "
           "connection %llu, foreign %llu, untracked %llu\n",
           (unsigned long long)g->dups, g->members_with_dup, g->max_dup,
           (unsigned long long)g->echoes, (unsigned long long)g->foreign,
           (unsigned long long)g->untracked);
    for (uint32_t k = 0; k < g->n_worst; k++) {
        char name[128];
        snprintf(name, sizeof(name), pattern, (unsigned)(first + g->worst[k]));
        printf("%s%s lost %u dup %u", k ? ", " : "  worst         ", name,
               g->m[g->worst[k]].lost, g->m[g->worst[k]].dups);
    }
    if (g->n_worst)
        printf("\n");
}

json_t *tb_group_json(const tb_group_t *g, const char *pattern, uint32_t first,
                      double measured_seconds, uint64_t delivered_m)
{
    json_t *o = json_object();
    json_object_set_new(o, "groups", json_integer(g->groups));
    json_object_set_new(o, "members", json_integer(g->members));
    json_object_set_new(o, "senders_per_group", json_integer(g->senders));
    json_object_set_new(o, "created", json_integer(tb_group_created(g)));
    json_object_set_new(o, "create_failed", json_integer(atomic_load(&g->failed)));
    json_object_set_new(o, "create_unanswered",
                        json_integer(g->groups > atomic_load(&g->answered)
                                         ? g->groups - atomic_load(&g->answered) : 0));
    json_object_set_new(o, "slowest_create_ms", json_real(ms(atomic_load(&g->create_us_max))));
    json_object_set_new(o, "first_failure",
                        g->first_refusal[0] ? json_string(g->first_refusal) : json_null());
    json_object_set_new(o, "online_members", json_integer(online_total(g)));
    json_object_set_new(o, "deliveries_per_second",
                        json_real(measured_seconds > 0 ? (double)delivered_m / measured_seconds
                                                       : 0.0));
    json_object_set_new(o, "acked_checked", json_integer((json_int_t)g->acked_tracked));
    json_object_set_new(o, "acked_measured", json_integer((json_int_t)g->acked_measured));
    json_object_set_new(o, "complete", json_integer((json_int_t)g->complete));
    json_object_set_new(o, "incomplete_measured",
                        json_integer((json_int_t)g->incomplete_measured));
    json_object_set_new(o, "lost", json_integer((json_int_t)g->lost));
    json_object_set_new(o, "members_with_loss", json_integer(g->members_with_loss));
    json_object_set_new(o, "max_lost_per_member", json_integer(g->max_lost));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)g->dups));
    json_object_set_new(o, "members_with_duplicates", json_integer(g->members_with_dup));
    json_object_set_new(o, "max_duplicates_per_member", json_integer(g->max_dup));
    json_object_set_new(o, "echoes", json_integer((json_int_t)g->echoes));
    json_object_set_new(o, "foreign", json_integer((json_int_t)g->foreign));
    json_object_set_new(o, "untracked", json_integer((json_int_t)g->untracked));
    json_t *worst = json_array();
    for (uint32_t k = 0; k < g->n_worst; k++) {
        char name[128];
        snprintf(name, sizeof(name), pattern, (unsigned)(first + g->worst[k]));
        json_array_append_new(worst, json_pack("{s:s,s:i,s:i}", "account", name, "lost",
                                               (int)g->m[g->worst[k]].lost, "duplicates",
                                               (int)g->m[g->worst[k]].dups));
    }
    json_object_set_new(o, "worst_members", worst);
    return o;
}

/* ---- self-test ---- */

static int st_checks, st_failures;

static void check(int ok, const char *what)
{
    st_checks++;
    if (!ok) {
        st_failures++;
        printf("FAIL: group: %s\n", what);
    }
}

int tb_group_self_test(int *checks)
{
    st_checks = st_failures = 0;
    char err[256];
    uint32_t cap = 0;
    check(tb_group_size(1, 2000, 1, 20, 32, &cap, err, sizeof(err)) == 0 && cap >= 653 &&
              cap % 64 == 0,
          "a 2,000-member group at 20/s for 32 s tracks every message");
    check(tb_group_size(1, 2000, 4, 0, 32, &cap, err, sizeof(err)) == 0 && cap >= 100000,
          "rate 0 tracks as many as the memory cap allows");
    check(tb_group_size(100, 10000, 100, 1000, 1000, &cap, err, sizeof(err)) < 0,
          "sizes beyond the memory cap are refused");
    check(tb_group_size(1, 10, 11, 1, 1, &cap, err, sizeof(err)) < 0,
          "more senders than members is refused");

    /* 2 groups of 4, 2 senders each; client 6 (group 1) never logged in */
    tb_group_t *g = tb_group_new(2, 4, 2, 64);
    check(g != NULL, "group state allocates");
    if (!g)
        return *checks += st_checks, st_failures;
    uint32_t uids[8] = {11, 12, 13, 14, 21, 22, 0, 24}, gi, j;
    check(tb_group_member_of(g, 5, &gi, &j) && gi == 1 && j == 1 &&
              !tb_group_member_of(g, 8, &gi, &j),
          "client i is member i % M of group i / M");
    check(tb_group_is_sender(g, 1) && !tb_group_is_sender(g, 2) && tb_group_is_sender(g, 5),
          "members 0 .. S-1 send");
    tb_group_begin_setup(g, uids, 1000);
    check(!tb_group_setup_done(g) && g->online[0] == 4 && g->online[1] == 3,
          "online members counted at set-up");
    IM__Group__IMGroupCreateReq req;
    char name[64];
    check(tb_group_create_req(g, uids, 1, 7, &req, name, sizeof(name)) == 0,
          "member 1 creates nothing");
    check(tb_group_create_req(g, uids, 4, 7, &req, name, sizeof(name)) == 1 &&
              req.user_id == 21 && req.n_member_id_list == 2 && req.member_id_list[0] == 22 &&
              req.member_id_list[1] == 24 &&
              req.group_type == IM__BASE_DEFINE__GROUP_TYPE__GROUP_TYPE_TMP,
          "member 0 creates a temporary group with the other online members");
    free(req.member_id_list);
    IM__Group__IMGroupCreateRsp rsp = IM__GROUP__IMGROUP_CREATE_RSP__INIT;
    rsp.result_code = 0;
    rsp.group_id = 500;
    tb_group_create_answer(g, 0, &rsp, NULL, 3000);
    rsp.group_id = 501;
    tb_group_create_answer(g, 4, &rsp, NULL, 2000);
    tb_group_create_answer(g, 4, &rsp, NULL, 2500); /* a second answer changes nothing */
    check(tb_group_setup_done(g) && tb_group_created(g) == 2 && tb_group_target(g, 1) == 500 &&
              tb_group_target(g, 5) == 501 && tb_group_target(g, 2) == 0 &&
              atomic_load(&g->create_us_max) == 2000,
          "create answers give the group ids");

    /* group 0: sender 0 sends seq 1, 2; sender 1 sends seq 1 */
    tb_payload_t p = {1, 0, 1, 100};
    tb_group_acked(g, 0, 1, 100, 1);
    tb_group_acked(g, 0, 2, 200, 1);
    tb_group_acked(g, 1, 1, 150, 0);
    check(atomic_load(&g->expected) == 9, "each ack makes online-1 deliveries due");
    check(tb_group_delivery(g, 1, 500, &p, 1100) == TB_GD_FIRST &&
              tb_group_delivery(g, 2, 500, &p, 1300) == TB_GD_FIRST &&
              tb_group_delivery(g, 3, 500, &p, 1200) == TB_GD_FIRST,
          "first deliveries");
    check(tb_group_delivery(g, 3, 500, &p, 1400) == TB_GD_DUP, "a second copy is a duplicate");
    check(tb_group_delivery(g, 0, 500, &p, 1400) == TB_GD_ECHO,
          "the sending connection getting its own message is an echo");
    check(tb_group_delivery(g, 5, 500, &p, 1400) == TB_GD_FOREIGN,
          "a message of another group is foreign");
    check(tb_group_delivery(g, 1, 501, &p, 1400) == TB_GD_FOREIGN,
          "a message for another session id is foreign");
    p.seq = 2;
    tb_group_delivery(g, 1, 500, &p, 1500);
    tb_group_delivery(g, 2, 500, &p, 1600); /* member 3 never gets seq 2 */
    p.sender = 1;
    p.seq = 1;
    tb_group_delivery(g, 0, 500, &p, 1000);
    tb_group_delivery(g, 2, 500, &p, 1000);
    tb_group_delivery(g, 3, 500, &p, 1000);
    p.seq = 65;
    check(tb_group_delivery(g, 3, 500, &p, 1000) == TB_GD_UNTRACKED,
          "beyond the tracked sequences");
    check(!tb_group_settled(g, 7) && tb_group_settled(g, 9), "settled once every due delivery");
    /* group 1: member 6 offline, so a message is complete with members 5 and 7 */
    p.sender = 4;
    p.seq = 1;
    tb_group_acked(g, 4, 1, 0, 1);
    tb_group_delivery(g, 5, 501, &p, 40000);
    tb_group_delivery(g, 7, 501, &p, 50000);
    tb_group_finish(g);
    check(g->acked_tracked == 4 && g->acked_measured == 3 && g->complete == 3 &&
              g->incomplete_measured == 1,
          "completeness per message");
    check(g->lost == 1 && g->m[3].lost == 1 && g->members_with_loss == 1 && g->max_lost == 1,
          "a member missing an acked message has one loss");
    check(g->dups == 1 && g->m[3].dups == 1 && g->echoes == 1 && g->foreign == 2 &&
              g->untracked == 1,
          "duplicates, echoes, foreign and untracked per member");
    check(g->m[6].lost == 0, "a member offline at set-up loses nothing");
    check(g->last_hist.total == 2 && g->last_hist.max == 50000 && g->last_hist.min == 1200,
          "send->last delivery per complete measured message (group 0 seq 1, group 1 seq 1)");
    check(g->n_worst == 1 && g->worst[0] == 3, "the worst member is listed");
    tb_group_free(g);
    *checks += st_checks;
    return st_failures;
}
