/* hs_core: http_msg_server's links (ConcurrentDBConnCnt to each DBServerIP<n>, one to each
 * RouteServerIP<n>, DaemonSecret auth) and the call table correlating their answers with the
 * HTTP requests waiting for them (hs.h). */
#include <stdlib.h>
#include <string.h>

#include "hs.h"
#include "tt_log.h"

/* ---- the call table ---- */

static uint16_t call_seq(const hs_t *hs, const hs_call_t *c)
{
    return (uint16_t)((c->gen << 10) | (uint16_t)(c - hs->calls));
}

static void call_end(hs_call_t *c)
{
    tt_timer_stop(c->hs->d.loop, &c->timer);
    c->used = 0;
    c->hs->n_calls--;
}

/* Runs c's done with pdu (NULL: no answer) and frees the slot. */
static void call_finish(hs_call_t *c, const tt_pdu_t *pdu)
{
    hs_t *hs = c->hs;
    tt_http_req_t *req = tt_http_find(hs->api, c->req_id);
    hs_done_fn done = c->done;
    hs_call_t copy = *c; /* done sees the arguments, the slot is already free for reuse */
    call_end(c);
    done(hs, req, pdu, &copy);
}

static void call_timeout(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    hs_call_t *c = udata;
    (void)loop, (void)t;
    c->hs->calls_timed_out++;
    log_warn_rl("no answer to a call within %lld ms (%llu so far)", c->hs->timeout_ms,
                (unsigned long long)c->hs->calls_timed_out);
    call_finish(c, NULL);
}

static hs_call_t *call_new(hs_t *hs, tt_http_req_t *req, uint16_t rsp_cid, hs_done_fn done)
{
    if (hs->n_calls >= hs->max_calls) {
        hs->calls_refused++;
        log_warn_rl("%d calls pending: request refused (%llu so far)", hs->n_calls,
                    (unsigned long long)hs->calls_refused);
        return NULL;
    }
    for (long long i = 0; i < hs->max_calls; i++) {
        hs_call_t *c = &hs->calls[i];
        if (c->used)
            continue;
        c->hs = hs;
        c->used = 1;
        c->gen = (uint16_t)(c->gen % 63 + 1);
        c->rsp_cid = rsp_cid;
        c->req_id = req ? req->id : 0;
        c->done = done;
        memset(c->arg, 0, sizeof(c->arg));
        tt_timer_init(&c->timer, call_timeout, c);
        tt_timer_start(hs->d.loop, &c->timer, (uint64_t)hs->timeout_ms, 0);
        hs->n_calls++;
        return c;
    }
    return NULL;
}

static void call_answer(hs_t *hs, const tt_pdu_t *pdu)
{
    unsigned slot = pdu->seq_num & 1023u, gen = pdu->seq_num >> 10;
    if (slot >= HS_MAX_CALLS)
        return;
    hs_call_t *c = &hs->calls[slot];
    if (!c->used || c->gen != gen || c->rsp_cid != pdu->command_id)
        return; /* late (timed out) or not ours */
    call_finish(c, pdu);
}

static int call_send(hs_t *hs, tt_link_t *l, tt_http_req_t *req, uint16_t sid, uint16_t cid,
                     uint16_t rsp_cid, const ProtobufCMessage *m, hs_done_fn done,
                     hs_call_t **out)
{
    if (!l)
        return -1;
    hs_call_t *c = call_new(hs, req, rsp_cid, done);
    if (!c)
        return -1;
    if (tt_link_send(l, sid, cid, call_seq(hs, c), m) < 0) {
        call_end(c);
        return -1;
    }
    if (out)
        *out = c;
    return 0;
}

/* ---- links ---- */

/* A db_proxy_server link that is up, round robin; NULL when none is. */
static tt_link_t *db_link(hs_t *hs)
{
    for (int k = 0; k < hs->n_db; k++) {
        tt_link_t *l = hs->db[hs->db_next++ % (unsigned)hs->n_db];
        if (tt_link_is_up(l))
            return l;
    }
    return NULL;
}

/* The oldest route_server link that is up, as msg_server picks its master. */
static tt_link_t *route_link(hs_t *hs)
{
    tt_link_t *best = NULL;
    for (int i = 0; i < hs->n_route; i++)
        if (tt_link_is_up(hs->route[i]) &&
            (!best || tt_link_up_since(hs->route[i]) < tt_link_up_since(best)))
            best = hs->route[i];
    return best;
}

int hs_db_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
               const ProtobufCMessage *m, hs_done_fn done, hs_call_t **out)
{
    return call_send(hs, db_link(hs), req, sid, cid, rsp_cid, m, done, out);
}

int hs_route_call(hs_t *hs, tt_http_req_t *req, uint16_t sid, uint16_t cid, uint16_t rsp_cid,
                  const ProtobufCMessage *m, hs_done_fn done, hs_call_t **out)
{
    return call_send(hs, route_link(hs), req, sid, cid, rsp_cid, m, done, out);
}

int hs_route_send(hs_t *hs, uint16_t sid, uint16_t cid, const ProtobufCMessage *m)
{
    tt_link_t *l = route_link(hs);
    return l ? tt_link_send(l, sid, cid, 0, m) : -1;
}

void *hs_unpack(const ProtobufCMessageDescriptor *desc, const tt_pdu_t *pdu)
{
    return tt_pb_unpack(desc, pdu->body, pdu->body_len);
}

static void db_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("db_proxy_server link to %s up", tt_link_name(l));
}

static void route_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("route_server link to %s up", tt_link_name(l));
}

static void link_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("link to %s down: %s", tt_link_name(l), reason);
}

static void on_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l;
    if (pdu->seq_num != 0) /* route_server's broadcasts for msg_servers carry 0 */
        call_answer(udata, pdu);
}

static const tt_link_handler_t db_handler = {db_up, link_down, on_pdu};
static const tt_link_handler_t route_handler = {route_up, link_down, on_pdu};

static tt_link_t *new_link(hs_t *hs, const char *host, uint16_t port, const tt_link_handler_t *h)
{
    tt_link_opts_t o = {.host = host, .port = port, .backoff_min_ms = 1000,
                        .auth = tt_daemon_auth(&hs->d)};
    tt_link_t *l = tt_link_new(hs->d.loop, &o, h, hs);
    if (l)
        tt_link_start(l);
    return l;
}

void hs_links_start(hs_t *hs)
{
    for (int i = 0; i < hs->n_db_addr; i++)
        for (long long k = 0; k < hs->db_conns && hs->n_db < HS_MAX_LINKS; k++)
            if ((hs->db[hs->n_db] = new_link(hs, hs->db_host[i], hs->db_port[i], &db_handler)))
                hs->n_db++;
    for (int i = 0; i < hs->n_route_addr; i++)
        if ((hs->route[hs->n_route] =
                 new_link(hs, hs->route_host[i], hs->route_port[i], &route_handler)))
            hs->n_route++;
}

void hs_links_free(hs_t *hs)
{
    for (int i = 0; i < HS_MAX_CALLS; i++)
        if (hs->calls[i].used)
            call_end(&hs->calls[i]);
    for (int i = 0; i < hs->n_db; i++)
        tt_link_free(hs->db[i]);
    for (int i = 0; i < hs->n_route; i++)
        tt_link_free(hs->route[i]);
}

/* ---- JSON fields ---- */

int hs_get_uint(json_t *o, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
        return -1;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

const char *hs_get_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int hs_get_ids(json_t *o, const char *key, uint32_t **ids, size_t *n)
{
    json_t *a = json_object_get(o, key);
    size_t len = json_array_size(a);
    if (!json_is_array(a) || len == 0 || len > HS_MAX_IDS ||
        !(*ids = malloc(len * sizeof(**ids))))
        return -1;
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > UINT32_MAX) {
            free(*ids);
            return -1;
        }
        (*ids)[i] = (uint32_t)json_integer_value(v);
    }
    *n = len;
    return 0;
}
