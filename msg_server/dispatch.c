/* Dispatch (layer 4, ms_dispatch.h): the client listener's callbacks and the routing of every
 * frame through the tables the features export (registered by main.c). Before login only the
 * commands whose row says before_login (the login request) are accepted, and heartbeats, which
 * the listener echoes; anything else closes the connection. No table may claim the server-only
 * administration commands (base/tt_admin.h): a client's such frame is never forwarded. After login a client's command
 * runs its row's handler or is forwarded to db_proxy_server / route_server with the
 * requester's user id stamped in and attach_data set so that the answer finds its way back;
 * an upstream's frame runs its row's handler or is relayed to the requester as is. */
#include <stdlib.h>
#include <string.h>

#include "ms_answers.h"
#include "ms_attach.h"
#include "ms_dispatch.h"
#include "ms_limits.h"
#include "ms_session.h"
#include "ms_upstream.h"
#include "tt_admin.h"
#include "tt_log.h"

/* ---- registration ---- */

/* How many rows of the registered features claim this command (client: 0, db: 1, route: 2;
 * tagged route rows: 3 with the tag). */
static int claims(const msg_server_t *ms, int table, uint16_t cid, const char *tag)
{
    int n = 0;
    for (int k = 0; k < ms->n_features; k++) {
        const ms_feature_t *f = ms->features[k];
        if (table == 3) {
            if (!f->route_tag || memcmp(f->route_tag, tag, MS_TAG_LEN) != 0)
                continue;
            for (size_t i = 0; i < f->n_tagged_route_answers; i++)
                n += f->tagged_route_answers[i].cid == cid;
            continue;
        }
        if (table == 0) {
            for (size_t i = 0; i < f->n_client_cmds; i++)
                n += f->client_cmds[i].cid == cid;
            continue;
        }
        const ms_answer_t *t = table == 2 ? f->route_answers : f->db_answers;
        size_t rows = table == 2 ? f->n_route_answers : f->n_db_answers;
        for (size_t i = 0; i < rows; i++)
            n += t[i].cid == cid;
    }
    return n;
}

/* A row that cannot run (nothing to do, or a forward before login), or a command claimed
 * twice: NULL when none. */
static const char *bad_rows(const msg_server_t *ms, const ms_feature_t *f, uint16_t *cid)
{
    for (size_t i = 0; i < f->n_client_cmds; i++) {
        const ms_client_cmd_t *r = &f->client_cmds[i];
        *cid = r->cid;
        if (!r->fn && (!r->desc || r->before_login))
            return "client command row without a handler";
        if (TT_ADMIN_IS_CID(r->cid)) /* never forwarded for a client, nor handled */
            return "a server-only administration command (tt_admin.h) as a client command";
        if (claims(ms, 0, r->cid, NULL) > 1)
            return "client command claimed twice";
    }
    if (f->n_tagged_route_answers && (!f->route_tag || strlen(f->route_tag) != MS_TAG_LEN))
        return "tagged route_server rows without a tag of MS_TAG_LEN bytes";
    for (int table = 1; table <= 3; table++) {
        const ms_answer_t *t = table == 3   ? f->tagged_route_answers
                               : table == 2 ? f->route_answers
                                            : f->db_answers;
        size_t rows = table == 3   ? f->n_tagged_route_answers
                      : table == 2 ? f->n_route_answers
                                   : f->n_db_answers;
        for (size_t i = 0; i < rows; i++) {
            *cid = t[i].cid;
            if (!t[i].fn && !t[i].desc)
                return table == 1 ? "db_proxy_server row without a handler"
                                  : "route_server row without a handler";
            if (claims(ms, table, t[i].cid, f->route_tag) > 1)
                return table == 2 ? "route_server command claimed twice"
                                  : "db_proxy_server command claimed twice";
        }
    }
    return NULL;
}

int ms_dispatch_register(msg_server_t *ms, const ms_feature_t *f)
{
    if (ms->n_features == MS_MAX_FEATURES) {
        log_error("feature %s: more than %d features", f->name, MS_MAX_FEATURES);
        return -1;
    }
    ms->features[ms->n_features++] = f;
    uint16_t cid = 0;
    const char *why = bad_rows(ms, f, &cid);
    if (why) {
        log_error("feature %s: command 0x%04x: %s", f->name, cid, why);
        ms->features[--ms->n_features] = NULL;
        return -1;
    }
    return 0;
}

int ms_features_init(msg_server_t *ms)
{
    for (int k = 0; k < ms->n_features; k++)
        if (ms->features[k]->init && ms->features[k]->init(ms) < 0)
            return -1;
    return 0;
}

void ms_features_finish(msg_server_t *ms)
{
    for (int k = 0; k < ms->n_features; k++)
        if (ms->features[k]->finish)
            ms->features[k]->finish(ms);
}

/* ---- client commands ---- */

void ms_forward(client_t *c, const ProtobufCMessageDescriptor *desc, int dest, int keep_request,
                const tt_pdu_t *pdu)
{
    msg_server_t *ms = c->ms;
    ProtobufCMessage *m = tt_pb_unpack(desc, pdu->body, pdu->body_len);
    if (!m) {
        log_warn_rl("command 0x%04x from %s (user %u) does not parse: ignored", pdu->command_id,
                 c->conn->peer, c->user_id);
        return;
    }
    ms_pb_set_u32(m, "user_id", c->user_id);
    int link = -1;
    tt_link_t *to;
    if (dest == MS_TO_DB) {
        link = ms_db_pick(ms, c);
        to = link >= 0 ? ms->db[link].link : NULL;
    } else {
        to = ms_route_master(ms);
    }
    if (!to) {
        /* No upstream: the request cannot be answered now; the client's timeout handles it. */
        log_warn_rl("command 0x%04x of user %u dropped: no %s link", pdu->command_id, c->user_id,
                 dest == MS_TO_DB ? "db_proxy_server" : "route_server");
        tt_pb_free(m);
        return;
    }
    slot_t *s = ms_slot_open(c, pdu->seq_num, link);
    protobuf_c_boolean *has;
    ProtobufCBinaryData *attach = ms_pb_attach(m, &has);
    if (!s || !attach) {
        tt_pb_free(m);
        return;
    }
    free(attach->data); /* whatever the client put there is not trusted */
    attach->data = NULL;
    attach->len = 0;
    if (keep_request)
        ms_attach_encode_payload(attach, c->handle, s->ordinal, pdu->body, pdu->body_len);
    else if ((attach->data = malloc(12))) {
        ms_attach_encode(attach->data, c->handle, s->ordinal);
        attach->len = 12;
    }
    *has = attach->data != NULL;
    tt_link_send(to, pdu->service_id, pdu->command_id, pdu->seq_num, m);
    tt_pb_free(m);
}

static const ms_client_cmd_t *client_cmd(const msg_server_t *ms, uint16_t cid)
{
    for (int k = 0; k < ms->n_features; k++)
        for (size_t i = 0; i < ms->features[k]->n_client_cmds; i++)
            if (ms->features[k]->client_cmds[i].cid == cid)
                return &ms->features[k]->client_cmds[i];
    return NULL;
}

static void client_pdu(client_t *c, const tt_pdu_t *pdu)
{
    const ms_client_cmd_t *r = client_cmd(c->ms, pdu->command_id);
    if (r && r->before_login) {
        r->fn(c, pdu);
        return;
    }
    if (c->state != CLIENT_ONLINE) {
        if (c->state != CLIENT_GONE)
            tt_conn_close(c->conn, "command 0x%04x before login", pdu->command_id);
        return;
    }
    if (!r)
        log_info_rl("command 0x%04x from user %u not handled", pdu->command_id, c->user_id);
    else if (r->fn)
        r->fn(c, pdu);
    else
        ms_forward(c, r->desc, r->dest, r->keep_request, pdu);
}

/* ---- the listener's callbacks ---- */

static void on_open(tt_server_t *s, tt_conn_t *conn, void *udata)
{
    (void)s;
    ms_client_new(udata, conn);
}

static void on_pdu(tt_server_t *s, tt_conn_t *conn, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    (void)udata;
    client_t *c = conn->app;
    if (c)
        client_pdu(c, pdu);
}

static void on_close(tt_server_t *s, tt_conn_t *conn, void *udata)
{
    (void)s;
    msg_server_t *ms = udata;
    client_t *c = conn->app;
    if (!c)
        return;
    if (c->user) /* presence and counters */
        for (int k = 0; k < ms->n_features; k++)
            if (ms->features[k]->client_closed)
                ms->features[k]->client_closed(c);
    if (c->user_id)
        log_info("client %s (user %u) closed: %s", conn->peer, c->user_id, conn->reason);
    else /* never logged in: anyone can make these, as fast as they connect */
        log_info_rl("client %s (not logged in) closed: %s", conn->peer, conn->reason);
    ms_throttle_free(ms, c);
    ms_slots_free(c);
    ms_client_free(c);
}

static void on_refused(tt_server_t *s, const char *peer, void *udata)
{
    (void)s;
    (void)udata;
    log_warn_rl("connection from %s refused: too many clients", peer);
}

const tt_server_handler_t ms_client_handler = {on_open, on_pdu, on_close, on_refused};

/* ---- frames from the upstreams ---- */

/* The payload of a frame's attach_data (field 20, the last one), NULL when it has none. */
static const uint8_t *attach_payload(const tt_pdu_t *pdu, size_t *plen)
{
    size_t pos = 0;
    tt_pb_field_t f;
    ProtobufCBinaryData a = {0, NULL};
    int r;
    while ((r = tt_pb_next_field(pdu->body, pdu->body_len, &pos, &f)) == 1)
        if (f.number == 20 && f.wire == 2) {
            a.len = f.len;
            a.data = (uint8_t *)f.data;
        }
    uint32_t handle, ordinal;
    const uint8_t *payload;
    if (r < 0 || ms_attach_decode(&a, &handle, &ordinal, &payload, plen) < 0)
        return NULL;
    return payload;
}

/* A route_server frame for a feature's tagged rows: runs it (1), or 0 when none claims it. */
static int dispatch_tagged(msg_server_t *ms, const tt_pdu_t *pdu)
{
    const uint8_t *payload = NULL;
    size_t plen = 0;
    int looked = 0;
    for (int k = 0; k < ms->n_features; k++) {
        const ms_feature_t *f = ms->features[k];
        for (size_t i = 0; i < f->n_tagged_route_answers; i++) {
            const ms_answer_t *a = &f->tagged_route_answers[i];
            if (a->cid != pdu->command_id)
                continue;
            if (!looked) {
                payload = attach_payload(pdu, &plen);
                looked = 1;
            }
            if (!payload || plen < MS_TAG_LEN || memcmp(payload, f->route_tag, MS_TAG_LEN) != 0)
                continue;
            if (a->fn) {
                a->fn(ms, pdu);
            } else {
                client_t *c;
                tt_pb_free(ms_relay_answer(ms, a->desc, pdu, &c, NULL));
            }
            return 1;
        }
    }
    return 0;
}

/* Runs the row for the command: its handler, or a plain relay to the requester. */
static void dispatch(msg_server_t *ms, int route, const char *from, const tt_pdu_t *pdu)
{
    if (route && dispatch_tagged(ms, pdu))
        return;
    for (int k = 0; k < ms->n_features; k++) {
        const ms_feature_t *f = ms->features[k];
        const ms_answer_t *t = route ? f->route_answers : f->db_answers;
        size_t n = route ? f->n_route_answers : f->n_db_answers;
        for (size_t i = 0; i < n; i++) {
            const ms_answer_t *a = &t[i];
            if (a->cid != pdu->command_id)
                continue;
            if (a->fn) {
                a->fn(ms, pdu);
            } else {
                client_t *c;
                tt_pb_free(ms_relay_answer(ms, a->desc, pdu, &c, NULL));
            }
            return;
        }
    }
    log_info_rl("command 0x%04x from %s not handled", pdu->command_id, from);
}

void ms_dispatch_db(msg_server_t *ms, int link, const tt_pdu_t *pdu)
{
    (void)link;
    dispatch(ms, 0, "db_proxy_server", pdu);
}

void ms_dispatch_route(msg_server_t *ms, const tt_pdu_t *pdu)
{
    dispatch(ms, 1, "route_server", pdu);
}
