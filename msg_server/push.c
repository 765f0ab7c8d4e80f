/* Push decisions (a feature, layer 5, ms_push.h). The msg_server a message's sender is on —
 * and only it: never one that gets a group message through route_server's fan-out — decides,
 * once the message is stored, who of its recipients gets a push:
 *   0. a recipient with a mobile client connected here gets none, and nothing is looked up
 *      for it (the common case costs no lookup at all);
 *   1. a group message: IMGroupGetShieldReq to db_proxy_server; members who shield the group
 *      (and ids that are no longer members) get none;
 *   2. IMGetDeviceTokenReq to db_proxy_server (on links of its own, never the ones messages
 *      are stored on): the recipients' tokens (db_proxy drops the tokens of users in their
 *      do-not-disturb hours; push_count = total unread);
 *   3. for the others, TT_CID_PUSH_PRESENCE_REQ to route_server (base/tt_pushpresence.h): none for a user whose
 *      mobile client is connected somewhere, a silent push (push_type 2) when a PC client is
 *      online, a normal one otherwise;
 *   4. one IMPushToUserReq (flash, custom data, the tokens) to a push_server that is up
 *      (PushServerIP<n>/PushServerPort<n>, DaemonSecret like every link, in turn).
 * Nothing waits: each step is a frame with attach_data "PUSH" + the decision's id, the
 * decision is in a bounded table (PushQueueMax; a decision past it is dropped and counted) and
 * is given up PushTimeout after it began. Decisions: route_server down, or not answering in
 * time, pushes as normal (a notification rather than a missed one); db_proxy_server down or
 * late, or no push_server up, is no push. The sender's own devices are never pushed. The
 * counts are logged at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "IM.BaseDefine.pb-c.h"
#include "IM.Server.pb-c.h"
#include "ms_push.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "ttc_crypto.h"
#include "tt_log.h"
#include "tt_pushpresence.h"
#include "tt_utf8.h"

#define SID_OTHER IM__BASE_DEFINE__SERVICE_ID__SID_OTHER
#define OTHER(cmd) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##cmd
#define PUSH_TAG "PUSH"
#define PUSH_ATTACH_LEN 8          /* tag + BE32 decision id */
#define PUSH_MAX_RECIPIENTS 4096   /* per message (db_proxy's shield query cap, TT_PUSH_PRESENCE_MAX) */
#define PUSH_LINK_MAX_OUT (4u << 20) /* bytes queued to a push_server before it is cut off */
#define NO_TOKEN_MS 10000          /* a user db_proxy had no token for is not asked again for */
#define NO_TOKEN_MAX 200000        /* users remembered so; past it the memory starts again */

#define TYPE_SINGLE_TEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_TEXT
#define TYPE_SINGLE_AUDIO IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_SINGLE_AUDIO
#define TYPE_GROUP_TEXT IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_TEXT
#define TYPE_GROUP_AUDIO IM__BASE_DEFINE__MSG_TYPE__MSG_TYPE_GROUP_AUDIO

#define IMAGE_OPEN "&$#@~^@[{:"
#define IMAGE_CLOSE ":}]&$~@#@"

enum { STAGE_SHIELD, STAGE_TOKENS, STAGE_PRESENCE };

typedef struct push_tok_s {
    uint32_t uid, user_type, count;
    uint32_t push_type; /* 1 normal, 2 silent, 0 none */
    char *token;
} push_tok_t;

typedef struct push_job_s {
    struct push_job_s *prev, *next; /* oldest first: deadlines in order */
    uint32_t id;
    int stage;
    uint64_t deadline;
    uint32_t from, group, type;
    char flash[MS_PUSH_FLASH_CAP];
    char data[96];
    uint32_t *ids; /* recipients */
    size_t n;
    push_tok_t *tok;
    size_t ntok;
    tt_map_t by_uid; /* user id -> its push_tok_t (db_proxy gives one token per user) */
} push_job_t;

typedef struct ms_push_s {
    msg_server_t *ms;
    tt_link_t *link[MS_MAX_UPSTREAMS];
    int n;
    /* Links of their own to every db_proxy_server for the lookups: db_proxy answers a link's
     * requests in order, so a lookup on a link that stores messages would hold back the
     * messages behind it, and split the runs db_proxy stores in one transaction. */
    tt_link_t *db[MS_MAX_UPSTREAMS];
    int n_db;
    uint32_t next_db;
    uint32_t next;     /* where the next link pick starts */
    tt_map_t jobs;     /* id -> push_job_t */
    tt_map_t no_token; /* user id -> (uintptr_t) until when db_proxy is not asked again: a
                        * user without a phone (most PC users) costs one lookup per
                        * NO_TOKEN_MS, not one per message */
    push_job_t *head, *tail;
    uint32_t next_id;
    ttc_cipher_t cipher;
    int cipher_ok;
    tt_timer_t tick;
    /* counts, logged at exit */
    uint64_t decisions, dropped_full, expired, no_db, no_link, requests, tokens, silent,
        skipped_mobile, results;
} ms_push_t;

/* ---- the alert ---- */

static int is_group_type(uint32_t t) { return t == TYPE_GROUP_TEXT || t == TYPE_GROUP_AUDIO; }
static int is_audio_type(uint32_t t) { return t == TYPE_SINGLE_AUDIO || t == TYPE_GROUP_AUDIO; }

static int has_image(const char *s, size_t len)
{
    const char *o = memmem(s, len, IMAGE_OPEN, sizeof(IMAGE_OPEN) - 1);
    return o && memmem(o, len - (size_t)(o - s), IMAGE_CLOSE, sizeof(IMAGE_CLOSE) - 1) != NULL;
}

size_t ms_push_flash(char out[MS_PUSH_FLASH_CAP], const char *nick, uint32_t type,
                     const char *text, size_t len)
{
    char buf[MS_NICK_MAX + 1 + 64 + 1];
    size_t n;
    size_t nl = nick ? strlen(nick) : 0;
    if (nl > MS_NICK_MAX)
        nl = tt_utf8_prefix(nick, nl, MS_NICK_MAX);
    if (nl == 0) {
        n = (size_t)snprintf(buf, sizeof(buf), "%s", MS_PUSH_GENERIC);
    } else if (is_audio_type(type)) {
        n = (size_t)snprintf(buf, sizeof(buf), "%.*s%s", (int)nl, nick,
                             is_group_type(type) ? "在群聊中发送了一条语音消息"
                                                 : "给您发送了一条语音消息");
    } else if (!text || !tt_utf8_valid(text, len) || has_image(text, len)) {
        n = (size_t)snprintf(buf, sizeof(buf), "%s", MS_PUSH_GENERIC);
    } else {
        size_t tl = tt_utf8_prefix(text, len, 64);
        n = (size_t)snprintf(buf, sizeof(buf), "%.*s:%.*s", (int)nl, nick, (int)tl, text);
        for (size_t i = nl + 1; i < n; i++)
            if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
                buf[i] = ' ';
    }
    if (n >= sizeof(buf))
        n = tt_utf8_prefix(buf, sizeof(buf) - 1, sizeof(buf) - 1);
    if (n > MS_PUSH_FLASH_CUT) {
        n = tt_utf8_prefix(buf, n, MS_PUSH_FLASH_CUT);
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    memcpy(out, buf, n);
    out[n] = '\0';
    return n;
}

/* ---- decisions ---- */

static void job_free(ms_push_t *P, push_job_t *j)
{
    tt_map_del(&P->jobs, j->id);
    if (j->prev)
        j->prev->next = j->next;
    else
        P->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        P->tail = j->prev;
    for (size_t i = 0; i < j->ntok; i++)
        free(j->tok[i].token);
    free(j->tok);
    tt_map_free(&j->by_uid);
    free(j->ids);
    free(j);
}

static void attach_of(const push_job_t *j, uint8_t a[PUSH_ATTACH_LEN])
{
    memcpy(a, PUSH_TAG, 4);
    tt_put32(a + 4, j->id);
}

/* The decision an answer's attach_data names, at stage `stage`; NULL when none (late, or not
 * ours). */
static push_job_t *job_of(ms_push_t *P, const ProtobufCBinaryData *a, int has, int stage)
{
    if (!P || !has || a->len != PUSH_ATTACH_LEN || memcmp(a->data, PUSH_TAG, 4) != 0)
        return NULL;
    push_job_t *j = tt_map_get(&P->jobs, tt_get32(a->data + 4));
    return j && j->stage == stage ? j : NULL;
}

static tt_link_t *push_link(ms_push_t *P)
{
    for (int k = 0; k < P->n; k++) {
        uint32_t i = (P->next + (uint32_t)k) % (uint32_t)P->n;
        if (tt_link_is_up(P->link[i])) {
            P->next = (i + 1) % (uint32_t)P->n;
            return P->link[i];
        }
    }
    return NULL;
}

/* Step 4: the request to a push_server with every token still pushed; the decision ends. */
static void job_send(ms_push_t *P, push_job_t *j)
{
    IM__BaseDefine__UserTokenInfo *items = calloc(j->ntok ? j->ntok : 1, sizeof(*items));
    IM__BaseDefine__UserTokenInfo **ptrs = calloc(j->ntok ? j->ntok : 1, sizeof(*ptrs));
    size_t k = 0, silent = 0;
    for (size_t i = 0; items && ptrs && i < j->ntok; i++) {
        push_tok_t *t = &j->tok[i];
        if (!t->push_type)
            continue;
        im__base_define__user_token_info__init(&items[k]);
        items[k].user_id = t->uid;
        items[k].user_type = (IM__BaseDefine__ClientType)t->user_type;
        items[k].token = t->token;
        items[k].push_count = t->count;
        items[k].push_type = t->push_type;
        silent += t->push_type == 2;
        ptrs[k] = &items[k];
        k++;
    }
    if (k > 0) {
        tt_link_t *l = push_link(P);
        IM__Server__IMPushToUserReq req = IM__SERVER__IMPUSH_TO_USER_REQ__INIT;
        req.flash = j->flash;
        req.data = j->data;
        req.n_user_token_list = k;
        req.user_token_list = ptrs;
        if (!l || tt_link_send(l, SID_OTHER, OTHER(PUSH_TO_USER_REQ), 0, &req.base) < 0) {
            P->no_link++;
            log_info_rl("push of message from user %u: no push_server up, not pushed", j->from);
        } else {
            P->requests++;
            P->tokens += k;
            P->silent += silent;
        }
    }
    free(items);
    free(ptrs);
    job_free(P, j);
}

/* Step 3: who has a mobile client connected here is not pushed, who has a PC client here gets
 * a silent push; the rest is asked of route_server (or, without it, pushed as normal). */
static void job_presence(ms_push_t *P, push_job_t *j)
{
    msg_server_t *ms = P->ms;
    uint8_t *q = malloc(4 + 4 * (j->ntok ? j->ntok : 1));
    size_t nq = 0;
    for (size_t i = 0; i < j->ntok; i++) {
        push_tok_t *t = &j->tok[i];
        const user_t *u = ms_user_find(ms, t->uid);
        int pc_here = 0;
        for (const client_t *c = u ? u->clients : NULL; c; c = c->next)
            if (c->state == CLIENT_ONLINE && ms_is_mobile(c->client_type))
                t->push_type = 0;
            else if (c->state == CLIENT_ONLINE)
                pc_here = 1;
        if (t->push_type && pc_here)
            t->push_type = 2; /* known here whatever route_server says (or if it is down) */
        if (!t->push_type) {
            P->skipped_mobile++;
            continue;
        }
        if (q && nq < TT_PUSH_PRESENCE_MAX) /* one token per user: each asked once */
            tt_put32(q + 4 + 4 * nq++, t->uid);
    }
    tt_link_t *route = ms_route_master(ms);
    if (!q || nq == 0 || !route) {
        free(q);
        job_send(P, j); /* nothing to ask, or nobody to ask: normal pushes */
        return;
    }
    tt_put32(q, j->id);
    j->stage = STAGE_PRESENCE;
    if (tt_link_send_raw(route, TT_SID_OTHER, TT_CID_PUSH_PRESENCE_REQ, 0, q, 4 + 4 * nq) < 0)
        job_send(P, j);
    free(q);
}

/* Sends req (whose attach_data points at a) to a db_proxy_server for stage `stage` of j; the
 * decision ends when no link takes it. */
static void job_ask_db(ms_push_t *P, push_job_t *j, int stage, uint16_t cid,
                       const ProtobufCMessage *req)
{
    tt_link_t *l = NULL;
    for (int k = 0; k < P->n_db && !l; k++) {
        uint32_t i = (P->next_db + (uint32_t)k) % (uint32_t)P->n_db;
        if (tt_link_is_up(P->db[i])) {
            l = P->db[i];
            P->next_db = (i + 1) % (uint32_t)P->n_db;
        }
    }
    j->stage = stage;
    if (!l || tt_link_send(l, SID_OTHER, cid, 0, req) < 0) {
        P->no_db++;
        job_free(P, j);
    }
}

/* Step 2: the tokens of the recipients left. */
static void job_tokens(ms_push_t *P, push_job_t *j)
{
    uint8_t a[PUSH_ATTACH_LEN];
    attach_of(j, a);
    IM__Server__IMGetDeviceTokenReq req = IM__SERVER__IMGET_DEVICE_TOKEN_REQ__INIT;
    req.n_user_id = j->n;
    req.user_id = j->ids;
    req.has_attach_data = 1;
    req.attach_data.data = a;
    req.attach_data.len = sizeof(a);
    job_ask_db(P, j, STAGE_TOKENS, OTHER(GET_DEVICE_TOKEN_REQ), &req.base);
}

/* Step 1 (group messages): who of the members does not shield the group. */
static void job_shields(ms_push_t *P, push_job_t *j)
{
    uint8_t a[PUSH_ATTACH_LEN];
    attach_of(j, a);
    IM__Server__IMGroupGetShieldReq req = IM__SERVER__IMGROUP_GET_SHIELD_REQ__INIT;
    req.group_id = j->group;
    req.n_user_id = j->n;
    req.user_id = j->ids;
    req.has_attach_data = 1;
    req.attach_data.data = a;
    req.attach_data.len = sizeof(a);
    job_ask_db(P, j, STAGE_SHIELD, OTHER(GET_SHIELD_REQ), &req.base);
}

/* The plaintext of a text message for the alert (malloc'd, *len bytes, NUL-terminated);
 * NULL when it does not decrypt. */
static char *decrypt_text(ms_push_t *P, const uint8_t *data, size_t len, size_t *plen)
{
    if (!P->cipher_ok || len == 0)
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    long n = ttc_tt_decrypt(&P->cipher, (const char *)data, len, (uint8_t *)out, len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *plen = (size_t)n;
    return out;
}

/* db_proxy had no token for uid less than NO_TOKEN_MS ago. */
static int no_token(ms_push_t *P, msg_server_t *ms, uint32_t uid)
{
    uintptr_t until = (uintptr_t)tt_map_get(&P->no_token, uid);
    if (!until)
        return 0;
    if (until > tt_loop_now(ms->d.loop))
        return 1;
    tt_map_del(&P->no_token, uid);
    return 0;
}

/* uid has a mobile client logged in on this msg_server. */
static int mobile_here(msg_server_t *ms, uint32_t uid)
{
    const user_t *u = ms_user_find(ms, uid);
    for (const client_t *c = u ? u->clients : NULL; c; c = c->next)
        if (c->state == CLIENT_ONLINE && ms_is_mobile(c->client_type))
            return 1;
    return 0;
}

void ms_push_stored(msg_server_t *ms, const ms_stored_msg_t *m)
{
    ms_push_t *P = ms->push;
    if (!P || P->n == 0)
        return; /* no push_server configured */
    int group = is_group_type(m->type);
    size_t n = group ? m->n_members : 1;
    if (n == 0)
        return;
    int up = 0;
    for (int k = 0; k < P->n && !up; k++)
        up = tt_link_is_up(P->link[k]);
    if (!up) {
        P->no_link++; /* no push_server: no push, and no lookups for one either */
        return;
    }
    if (tt_map_len(&P->jobs) >= ms->push_queue_max) {
        P->dropped_full++;
        log_warn_rl("push decisions: %u pending (PushQueueMax), message %u from user %u not "
                    "pushed (%llu dropped so far)",
                    ms->push_queue_max, m->msg_id, m->from,
                    (unsigned long long)P->dropped_full);
        return;
    }
    push_job_t *j = calloc(1, sizeof(*j));
    if (j)
        tt_map_init(&j->by_uid);
    if (!j || !(j->ids = malloc(4 * (n < PUSH_MAX_RECIPIENTS ? n : PUSH_MAX_RECIPIENTS)))) {
        free(j);
        return;
    }
    for (size_t i = 0; i < n && j->n < PUSH_MAX_RECIPIENTS; i++) {
        uint32_t uid = group ? tt_get32(m->members + 4 * i) : m->to;
        if (uid != m->from && uid != 0 && !mobile_here(ms, uid) && !no_token(P, ms, uid))
            j->ids[j->n++] = uid;
        else if (uid != m->from && uid != 0 && !mobile_here(ms, uid))
            continue; /* no token a moment ago */
        else if (uid != m->from && uid != 0)
            P->skipped_mobile++; /* its phone has the message: nothing to look up */
    }
    if (group && n > PUSH_MAX_RECIPIENTS + 1)
        log_info_rl("push of group message %u of group %u: only %d of %zu members decided",
                    m->msg_id, m->to, PUSH_MAX_RECIPIENTS, n);
    if (j->n == 0 || tt_map_put(&P->jobs, ++P->next_id ? P->next_id : ++P->next_id, j) < 0) {
        free(j->ids);
        free(j);
        return;
    }
    j->id = P->next_id;
    j->from = m->from;
    j->type = m->type;
    j->group = group ? m->to : 0;
    j->deadline = tt_loop_now(ms->d.loop) + ms->push_timeout_ms;
    j->prev = P->tail;
    if (P->tail)
        P->tail->next = j;
    else
        P->head = j;
    P->tail = j;
    P->decisions++;
    const user_t *sender = ms_user_find(ms, m->from);
    size_t plen = 0;
    char *plain = is_audio_type(m->type) ? NULL : decrypt_text(P, m->data, m->len, &plen);
    ms_push_flash(j->flash, sender ? sender->nick : NULL, m->type, plain, plen);
    free(plain);
    if (group)
        snprintf(j->data, sizeof(j->data), "{\"msg_type\":%u,\"from_id\":%u,\"group_id\":%u}",
                 m->type, m->from, m->to);
    else
        snprintf(j->data, sizeof(j->data), "{\"msg_type\":%u,\"from_id\":%u}", m->type, m->from);
    if (group)
        job_shields(P, j);
    else
        job_tokens(P, j);
}

/* ---- answers ---- */

static void shields_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    ms_push_t *P = ms->push;
    IM__Server__IMGroupGetShieldRsp *r = (IM__Server__IMGroupGetShieldRsp *)tt_pb_unpack(
        &im__server__imgroup_get_shield_rsp__descriptor, pdu->body, pdu->body_len);
    if (!r)
        return;
    push_job_t *j = job_of(P, &r->attach_data, r->has_attach_data, STAGE_SHIELD);
    if (j) {
        /* only the members db_proxy lists as not shielding: the others shield the group or
         * left it (a set of the listed ones: O(n) however big the group) */
        tt_map_t open;
        tt_map_init(&open);
        for (size_t s = 0; s < r->n_shield_status_list; s++) {
            const IM__BaseDefine__ShieldStatus *st = r->shield_status_list[s];
            if (st->shield_status == 0 && st->user_id != 0)
                tt_map_put(&open, st->user_id, (void *)1);
        }
        size_t k = 0;
        for (size_t i = 0; i < j->n; i++)
            if (tt_map_get(&open, j->ids[i]))
                j->ids[k++] = j->ids[i];
        tt_map_free(&open);
        j->n = k;
        if (k == 0)
            job_free(P, j);
        else
            job_tokens(P, j);
    }
    tt_pb_free(r);
}

static void tokens_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    ms_push_t *P = ms->push;
    IM__Server__IMGetDeviceTokenRsp *r = (IM__Server__IMGetDeviceTokenRsp *)tt_pb_unpack(
        &im__server__imget_device_token_rsp__descriptor, pdu->body, pdu->body_len);
    if (!r)
        return;
    push_job_t *j = job_of(P, &r->attach_data, r->has_attach_data, STAGE_TOKENS);
    if (j && r->n_user_token_info > 0 &&
        (j->tok = calloc(r->n_user_token_info, sizeof(*j->tok)))) {
        tt_map_t asked;
        tt_map_init(&asked);
        for (size_t k = 0; k < j->n; k++)
            tt_map_put(&asked, j->ids[k], (void *)1);
        for (size_t i = 0; i < r->n_user_token_info; i++) {
            const IM__BaseDefine__UserTokenInfo *t = r->user_token_info[i];
            if (!tt_map_get(&asked, t->user_id) || t->user_id == j->from || !t->token[0] ||
                tt_map_get(&j->by_uid, t->user_id) ||
                !(j->tok[j->ntok].token = strdup(t->token)))
                continue; /* never the sender's own devices, one token per user */
            push_tok_t *d = &j->tok[j->ntok++];
            d->uid = t->user_id;
            d->user_type = (uint32_t)t->user_type;
            d->count = t->push_count;
            d->push_type = 1;
            if (tt_map_put(&j->by_uid, d->uid, d) < 0)
                d->push_type = 0; /* out of memory: this one is not pushed */
        }
        tt_map_free(&asked);
    }
    if (j) { /* who of the asked has no token now */
        if (tt_map_len(&P->no_token) > NO_TOKEN_MAX) {
            tt_map_free(&P->no_token);
            tt_map_init(&P->no_token);
        }
        uintptr_t until = (uintptr_t)(tt_loop_now(ms->d.loop) + NO_TOKEN_MS);
        for (size_t k = 0; k < j->n; k++)
            if (!tt_map_get(&j->by_uid, j->ids[k]))
                tt_map_put(&P->no_token, j->ids[k], (void *)until);
    }
    if (j && j->ntok == 0)
        job_free(P, j);
    else if (j)
        job_presence(P, j);
    tt_pb_free(r);
}

static void presence_answer(msg_server_t *ms, const tt_pdu_t *pdu)
{
    ms_push_t *P = ms->push;
    if (!P || pdu->body_len < 4 || (pdu->body_len - 4) % TT_PP_ENTRY)
        return;
    push_job_t *j = tt_map_get(&P->jobs, tt_get32(pdu->body));
    if (!j || j->stage != STAGE_PRESENCE)
        return;
    size_t n = (pdu->body_len - 4) / TT_PP_ENTRY;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = pdu->body + 4 + i * TT_PP_ENTRY;
        push_tok_t *t = tt_map_get(&j->by_uid, tt_get32(e));
        if (!t || !t->push_type)
            continue;
        if (e[4] & TT_PP_MOBILE) {
            t->push_type = 0;
            P->skipped_mobile++;
        } else if (e[4] & TT_PP_PC) {
            t->push_type = 2;
        }
    }
    job_send(P, j);
}

/* Decisions past their deadline: one waiting for route_server pushes as normal, the others
 * are given up. */
static void push_tick(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)t;
    ms_push_t *P = udata;
    uint64_t now = tt_loop_now(loop);
    while (P->head && P->head->deadline <= now) {
        push_job_t *j = P->head;
        if (j->stage == STAGE_PRESENCE) {
            log_info_rl("push of message from user %u: route_server did not answer in time, "
                        "pushed as normal",
                        j->from);
            job_send(P, j);
        } else {
            P->expired++;
            log_info_rl("push of message from user %u: db_proxy_server did not answer in "
                        "time, not pushed",
                        j->from);
            job_free(P, j);
        }
    }
}

/* ---- the push_server links ---- */

static void ps_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("push_server link %s up", tt_link_name(l));
}

static void ps_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("push_server link %s down: %s", tt_link_name(l), reason);
}

static void ps_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    ms_push_t *P = udata;
    if (pdu->command_id == OTHER(PUSH_TO_USER_RSP))
        P->results++; /* only counted, as in the original */
    else
        log_info_rl("command 0x%04x from push_server %s not handled", pdu->command_id,
                    tt_link_name(l));
}

static const tt_link_handler_t ps_handler = {ps_up, ps_down, ps_pdu};

/* ---- the lookup links to db_proxy_server ---- */

static void db_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_info("push lookup link to db_proxy_server %s up", tt_link_name(l));
}

static void db_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_info("push lookup link to db_proxy_server %s down: %s", tt_link_name(l), reason);
}

static void db_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    ms_push_t *P = udata;
    if (pdu->command_id == OTHER(GET_DEVICE_TOKEN_RSP))
        tokens_answer(P->ms, pdu);
    else if (pdu->command_id == OTHER(GET_SHIELD_RSP))
        shields_answer(P->ms, pdu);
    else if (pdu->command_id != OTHER(STOP_RECV_PACKET))
        log_info_rl("command 0x%04x from db_proxy_server %s on the push link not handled",
                    pdu->command_id, tt_link_name(l));
}

static const tt_link_handler_t db_handler = {db_up, db_down, db_pdu};

static tt_link_t *new_link(msg_server_t *ms, const upstream_addr_t *a,
                           const tt_link_handler_t *h, void *udata)
{
    tt_link_t *l = ms_link_new(ms, a, h, PUSH_LINK_MAX_OUT, udata);
    if (l)
        tt_link_start(l);
    return l;
}

/* ---- life ---- */

static int push_init(msg_server_t *ms)
{
    ms_push_t *P = calloc(1, sizeof(*P));
    if (!P)
        return -1;
    P->ms = ms;
    ms->push = P;
    tt_map_init(&P->jobs);
    tt_map_init(&P->no_token);
    if (ms->aes_key && ttc_cipher_init(&P->cipher, ms->aes_key) == 0)
        P->cipher_ok = 1;
    for (int i = 0; i < ms->n_push_addr; i++) {
        if (!(P->link[P->n] = new_link(ms, &ms->push_addr[i], &ps_handler, P)))
            return -1;
        P->n++;
    }
    if (P->n == 0)
        log_notice("no PushServerIP1/PushServerPort1: no mobile pushes");
    for (int i = 0; P->n > 0 && i < ms->n_db_addr; i++) {
        if (!(P->db[P->n_db] = new_link(ms, &ms->db_addr[i], &db_handler, P)))
            return -1;
        P->n_db++;
    }
    tt_timer_init(&P->tick, push_tick, P);
    tt_timer_start(ms->d.loop, &P->tick, 250, 250);
    return 0;
}

static void push_finish(msg_server_t *ms)
{
    ms_push_t *P = ms->push;
    if (!P)
        return;
    if (P->tick.cb)
        tt_timer_stop(ms->d.loop, &P->tick);
    if (P->n > 0)
        log_notice("push: %llu decisions, %llu requests with %llu tokens (%llu silent), "
                   "%llu not pushed for a connected mobile, dropped: %llu queue full, %llu "
                   "late, %llu no db_proxy, %llu no push_server; %llu answers",
                   (unsigned long long)P->decisions, (unsigned long long)P->requests,
                   (unsigned long long)P->tokens, (unsigned long long)P->silent,
                   (unsigned long long)P->skipped_mobile, (unsigned long long)P->dropped_full,
                   (unsigned long long)P->expired, (unsigned long long)P->no_db,
                   (unsigned long long)P->no_link, (unsigned long long)P->results);
    while (P->head)
        job_free(P, P->head);
    tt_map_free(&P->jobs);
    tt_map_free(&P->no_token);
    for (int k = 0; k < P->n; k++)
        tt_link_free(P->link[k]);
    for (int k = 0; k < P->n_db; k++)
        tt_link_free(P->db[k]);
    if (P->cipher_ok)
        ttc_cipher_free(&P->cipher);
    free(P);
    ms->push = NULL;
}

static const ms_answer_t route_answers[] = {
    {TT_CID_PUSH_PRESENCE_RSP, NULL, presence_answer},
};

const ms_feature_t ms_push_feature = {
    .name = "push",
    .route_answers = route_answers,
    .n_route_answers = sizeof(route_answers) / sizeof(route_answers[0]),
    .init = push_init,
    .finish = push_finish,
};
