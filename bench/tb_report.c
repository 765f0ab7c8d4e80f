/* The summary: human-readable text, or one JSON object (--json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_group.h"
#include "tt_bench.h"

static const char *const refuse_names[TB_REFUSE_CODES] = {
    "0", "1 no msg_server", "2 msg_server full", "3 no db_server", "4 no login_server",
    "5 no route_server", "6 validate failed", "7 version too old", "other/bad answer"};

void tb_unknown_add(tb_unknown_t *u, uint16_t cmd, uint64_t n)
{
    for (uint32_t i = 0; i < u->n; i++)
        if (u->cmd[i] == cmd) {
            u->count[i] += n;
            return;
        }
    if (u->n < TB_UNKNOWN_SLOTS) {
        u->cmd[u->n] = cmd;
        u->count[u->n++] = n;
    } else
        u->other += n;
}

static double ms(uint64_t us) { return (double)us / 1000.0; }

static double per_s(uint64_t n, double s) { return s > 0 ? (double)n / s : 0.0; }

static uint64_t logins_failed(const tb_result_t *r)
{
    return r->c[TB_C_LOGIN_REFUSED] + r->c[TB_C_LOGIN_TIMEOUT] + r->c[TB_C_LOGIN_CLOSED] +
           r->c[TB_C_CONNECT_FAILED] + r->c[TB_C_DISCOVER_FAILED];
}

static double mb(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

static void hist_line(const char *label, const tb_hist_t *h)
{
    if (!h->total) {
        printf("  %-15s %9s\n", label, "-");
        return;
    }
    printf("  %-15s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %10llu\n", label,
           ms(tb_hist_quantile(h, 0.50)), ms(tb_hist_quantile(h, 0.90)),
           ms(tb_hist_quantile(h, 0.99)), ms(tb_hist_quantile(h, 0.999)), ms(h->max),
           tb_hist_mean(h) / 1000.0, (unsigned long long)h->total);
}

static const char *client_type_name(uint32_t t)
{
    switch (t) {
    case 1:
        return "pc (windows)";
    case 2:
        return "mac";
    case 17:
        return "ios";
    case 18:
        return "android";
    default:
        return "?";
    }
}

void tb_report_text(const tb_result_t *r)
{
    const tb_config_t *cfg = r->cfg;
    char first[128], last[128];
    snprintf(first, sizeof(first), cfg->user_pattern, (unsigned)cfg->first);
    snprintf(last, sizeof(last), cfg->user_pattern, (unsigned)(cfg->first + cfg->count - 1));
    int send = cfg->mode != TB_MODE_IDLE;
    printf("tt-bench %s%s: %u clients %s..%s (%s)",
           r->group ? "group" : send ? "send" : "idle",
           r->interrupted ? " (INTERRUPTED: figures so far)" : "", cfg->count, first, last,
           client_type_name(cfg->client_type));
    if (r->group)
        printf(", %u group%s of %u, %u sender%s per group", cfg->groups,
               cfg->groups > 1 ? "s" : "", cfg->members, cfg->senders,
               cfg->senders > 1 ? "s" : "");
    else if (send && cfg->pair_half)
        printf(", %u senders, sender i -> client %u + (i+%u) mod %u", cfg->senders,
               cfg->count - cfg->count / 2, cfg->pair_offset, cfg->count / 2);
    else if (send)
        printf(", %u senders, sender i -> client (i+%u) mod %u", cfg->senders, cfg->shift,
               cfg->count);
    printf("\n");
    if (cfg->label)
        printf("  label         %s\n", cfg->label);
    printf("  target        %s\n", r->target);
    if (send) {
        printf("  load          ");
        if (cfg->rate > 0)
            printf("%g msg/s per sender (%g msg/s offered)", cfg->rate,
                   cfg->rate * cfg->senders);
        else
            printf("as fast as acks allow");
        printf(", window %u", cfg->window);
        if (cfg->max_conn_rate > 0)
            printf(", at most %g msg/s per connection", cfg->max_conn_rate);
        printf(", %u-byte plaintext (%zu bytes encrypted), msg_id %s\n", cfg->size,
               ttc_tt_cipher_text_len(cfg->size), cfg->zero_msg_id ? "0" : "local from 90000000");
        printf("  time          warm-up %g s, measured %.2f s, grace up to %g s; %u thread%s\n",
               cfg->warmup, r->measured_seconds, cfg->grace, cfg->threads,
               cfg->threads > 1 ? "s" : "");
    } else
        printf("  time          held %.2f s after the logins; %u thread%s\n", r->run_seconds,
               cfg->threads, cfg->threads > 1 ? "s" : "");

    uint64_t ok = r->c[TB_C_LOGIN_OK], failed = logins_failed(r);
    printf("logins          %llu ok, %llu failed of %u", (unsigned long long)ok,
           (unsigned long long)failed, cfg->count);
    if (ok)
        printf(", in %.3f s = %.0f logins/s", r->login_seconds, per_s(ok, r->login_seconds));
    printf("\n");
    if (failed) {
        printf("  failures      refused %llu, timeout %llu, closed %llu, connect %llu, "
               "discovery %llu\n",
               (unsigned long long)r->c[TB_C_LOGIN_REFUSED],
               (unsigned long long)r->c[TB_C_LOGIN_TIMEOUT],
               (unsigned long long)r->c[TB_C_LOGIN_CLOSED],
               (unsigned long long)r->c[TB_C_CONNECT_FAILED],
               (unsigned long long)r->c[TB_C_DISCOVER_FAILED]);
        for (int k = 1; k < TB_REFUSE_CODES; k++)
            if (r->refused[k])
                printf("  refused       result %s: %llu\n", refuse_names[k],
                       (unsigned long long)r->refused[k]);
        if (r->first_error)
            printf("  first failure %s\n", r->first_error);
    }
    printf("latency (ms)          p50       p90       p99     p99.9       max      mean"
           "      count\n");
    hist_line("login", &r->login_hist);
    if (send) {
        hist_line("send->ack", &r->ack_hist);
        hist_line("send->delivery", &r->deliv_hist);
        if (r->group)
            hist_line("send->last", &r->group->last_hist);
        uint64_t sent = r->c[TB_C_SENT_M], acked = r->c[TB_C_ACKED_M],
                 deliv = r->c[TB_C_DELIVERED_M];
        double s = r->measured_seconds;
        if (r->group)
            printf("messages        measured: sent %llu, acked %llu (lost: ack %llu); "
                   "deliveries %llu\n",
                   (unsigned long long)sent, (unsigned long long)acked,
                   (unsigned long long)(sent > acked ? sent - acked : 0),
                   (unsigned long long)deliv);
        else
            printf("messages        measured: sent %llu, acked %llu, delivered %llu; "
                   "lost: ack %llu, delivery %llu\n",
                   (unsigned long long)sent, (unsigned long long)acked,
                   (unsigned long long)deliv,
                   (unsigned long long)(sent > acked ? sent - acked : 0),
                   (unsigned long long)(sent > deliv ? sent - deliv : 0));
        printf("throughput      acked %.1f msg/s, delivered %.1f msg/s (sent %.1f msg/s)\n",
               per_s(acked, s), per_s(deliv, s), per_s(sent, s));
        printf("  unacked > 5 s %llu (measured messages not acked within 5 s of their send)\n",
               (unsigned long long)tb_unacked_after(r, 5000000));
        printf("  all messages  sent %llu, acked %llu, delivered %llu (warm-up included)\n",
               (unsigned long long)r->c[TB_C_SENT], (unsigned long long)r->c[TB_C_ACKED],
               (unsigned long long)r->c[TB_C_DELIVERED]);
        printf("  anomalies     late acks %llu, ack timeouts %llu, unmatched acks %llu, "
               "duplicates %llu, foreign %llu, undecryptable %llu, other types %llu, "
               "rate slips %llu, idle senders %llu\n",
               (unsigned long long)r->c[TB_C_ACK_LATE],
               (unsigned long long)r->c[TB_C_ACK_TIMEOUT],
               (unsigned long long)r->c[TB_C_ACK_UNMATCHED],
               (unsigned long long)r->c[TB_C_DUP_DELIVERY],
               (unsigned long long)r->c[TB_C_FOREIGN_DELIVERY],
               (unsigned long long)r->c[TB_C_BAD_DELIVERY],
               (unsigned long long)r->c[TB_C_OTHER_MSG],
               (unsigned long long)r->c[TB_C_RATE_SLIPS],
               (unsigned long long)r->c[TB_C_IDLE_SENDERS]);
        if (r->group)
            tb_group_report_text(r->group, cfg->user_pattern, cfg->first, s, deliv);
    }
    printf("connections     kicked %llu, closed by server %llu, errors %llu; "
           "heartbeats %llu sent, %llu received\n",
           (unsigned long long)r->c[TB_C_KICKED], (unsigned long long)r->c[TB_C_CLOSED_BY_SERVER],
           (unsigned long long)r->c[TB_C_CONN_ERRORS], (unsigned long long)r->c[TB_C_HEARTBEAT_TX],
           (unsigned long long)r->c[TB_C_HEARTBEAT_RX]);
    if (r->first_close)
        printf("  first close   %s\n", r->first_close);
    printf("  frames        ignored %llu", (unsigned long long)r->c[TB_C_UNKNOWN_PDU]);
    for (uint32_t k = 0; k < r->unknown.n; k++)
        printf("%s0x%04x x%llu", k ? ", " : " (", (unsigned)r->unknown.cmd[k],
               (unsigned long long)r->unknown.count[k]);
    if (r->unknown.other)
        printf(", others x%llu", (unsigned long long)r->unknown.other);
    printf("%s, unparsable %llu\n", r->unknown.n ? ")" : "",
           (unsigned long long)r->c[TB_C_BAD_PDU]);
    if (r->n_watch)
        printf("rss (MiB)            before logged-in      peak       end     VmHWM  per client"
               "      pid\n");
    for (int i = 0; i < r->n_watch; i++) {
        const tb_watch_t *w = &r->watch[i];
        char per[32] = "-";
        if (ok && w->end >= w->before)
            snprintf(per, sizeof(per), "%.0f B", (double)(w->end - w->before) / (double)ok);
        printf("  %-16s %9.1f %9.1f %9.1f %9.1f %9.1f %11s %8ld%s\n", w->name, mb(w->before),
               mb(w->after_login), mb(w->peak), mb(w->end), mb(w->hwm), per, (long)w->pid,
               w->gone ? " (gone)" : "");
    }
    printf("tt-bench itself: peak RSS %.1f MiB\n", mb(r->self_rss_hwm));
    tb_cpu_report_text(r->cpu, send ? r->c[TB_C_ACKED_M] : 0);
}

static json_t *hist_json(const tb_hist_t *h)
{
    if (!h->total)
        return json_pack("{s:I}", "count", (json_int_t)0);
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->total,
                     "min", ms(h->min), "p50", ms(tb_hist_quantile(h, 0.5)), "p90",
                     ms(tb_hist_quantile(h, 0.9)), "p99", ms(tb_hist_quantile(h, 0.99)), "p999",
                     ms(tb_hist_quantile(h, 0.999)), "max", ms(h->max), "mean",
                     tb_hist_mean(h) / 1000.0);
}

void tb_report_json(const tb_result_t *r)
{
    const tb_config_t *cfg = r->cfg;
    int send = cfg->mode != TB_MODE_IDLE;
    json_t *o = json_object();
    json_object_set_new(o, "tool", json_string(TB_VERSION));
    json_object_set_new(o, "mode", json_string(r->group ? "group" : send ? "send" : "idle"));
    json_object_set_new(o, "interrupted", json_boolean(r->interrupted));
    json_object_set_new(o, "target", json_string(r->target));
    json_object_set_new(o, "label", cfg->label ? json_string(cfg->label) : json_null());
    json_t *c = json_object();
    json_object_set_new(c, "login_url", cfg->login_url ? json_string(cfg->login_url) : json_null());
    json_object_set_new(c, "discover", json_string(cfg->discover_each ? "each" : "once"));
    json_object_set_new(c, "user_pattern", json_string(cfg->user_pattern));
    json_object_set_new(c, "first", json_integer(cfg->first));
    json_object_set_new(c, "count", json_integer(cfg->count));
    json_object_set_new(c, "client_type", json_integer(cfg->client_type));
    json_object_set_new(c, "senders", json_integer(cfg->senders));
    json_object_set_new(c, "pair_shift", json_integer(cfg->shift));
    if (r->group) {
        json_object_set_new(c, "groups", json_integer(cfg->groups));
        json_object_set_new(c, "members", json_integer(cfg->members));
    }
    json_object_set_new(c, "pair_offset",
                        cfg->pair_half ? json_integer(cfg->pair_offset) : json_null());
    json_object_set_new(c, "msg_id", json_string(cfg->zero_msg_id ? "zero" : "local"));
    json_object_set_new(c, "rate", json_real(cfg->rate));
    json_object_set_new(c, "window", json_integer(cfg->window));
    json_object_set_new(c, "max_conn_rate", json_real(cfg->max_conn_rate));
    json_object_set_new(c, "size", json_integer(cfg->size));
    json_object_set_new(c, "duration", json_real(cfg->duration));
    json_object_set_new(c, "warmup", json_real(cfg->warmup));
    json_object_set_new(c, "grace", json_real(cfg->grace));
    json_object_set_new(c, "threads", json_integer(cfg->threads));
    json_object_set_new(c, "source_ips", json_integer(cfg->n_src_ips));
    json_object_set_new(c, "heartbeat", json_integer(cfg->heartbeat_s));
    json_object_set_new(o, "config", c);

    uint64_t ok = r->c[TB_C_LOGIN_OK];
    json_t *l = json_object();
    json_object_set_new(l, "attempted", json_integer(r->logins_attempted));
    json_object_set_new(l, "ok", json_integer((json_int_t)ok));
    json_object_set_new(l, "failed", json_integer((json_int_t)logins_failed(r)));
    json_object_set_new(l, "seconds", json_real(r->login_seconds));
    json_object_set_new(l, "per_second", json_real(per_s(ok, r->login_seconds)));
    json_t *codes = json_object();
    for (int k = 1; k < TB_REFUSE_CODES; k++)
        if (r->refused[k]) {
            char key[16];
            if (k < TB_REFUSE_CODES - 1)
                snprintf(key, sizeof(key), "%d", k);
            else
                snprintf(key, sizeof(key), "other");
            json_object_set_new(codes, key, json_integer((json_int_t)r->refused[k]));
        }
    json_object_set_new(l, "refused_by_result", codes);
    json_object_set_new(l, "latency_ms", hist_json(&r->login_hist));
    json_object_set_new(l, "first_failure",
                        r->first_error ? json_string(r->first_error) : json_null());
    json_object_set_new(o, "logins", l);

    if (send) {
        uint64_t sent = r->c[TB_C_SENT_M], acked = r->c[TB_C_ACKED_M],
                 deliv = r->c[TB_C_DELIVERED_M];
        double s = r->measured_seconds;
        json_t *m = json_object();
        json_object_set_new(m, "measured_seconds", json_real(s));
        json_object_set_new(m, "sent", json_integer((json_int_t)sent));
        json_object_set_new(m, "acked", json_integer((json_int_t)acked));
        json_object_set_new(m, "delivered", json_integer((json_int_t)deliv));
        json_object_set_new(m, "lost_ack",
                            json_integer((json_int_t)(sent > acked ? sent - acked : 0)));
        json_object_set_new(m, "lost_delivery",
                            json_integer((json_int_t)(r->group ? r->group->lost
                                                     : sent > deliv ? sent - deliv : 0)));
        json_object_set_new(m, "sent_per_second", json_real(per_s(sent, s)));
        json_object_set_new(m, "acked_per_second", json_real(per_s(acked, s)));
        json_object_set_new(m, "delivered_per_second", json_real(per_s(deliv, s)));
        json_object_set_new(m, "offered_per_second", json_real(cfg->rate * cfg->senders));
        json_object_set_new(m, "unacked_after_5s",
                            json_integer((json_int_t)tb_unacked_after(r, 5000000)));
        json_object_set_new(o, "messages", m);
        json_t *lat = json_object();
        json_object_set_new(lat, "send_to_ack", hist_json(&r->ack_hist));
        json_object_set_new(lat, "send_to_delivery", hist_json(&r->deliv_hist));
        if (r->group)
            json_object_set_new(lat, "send_to_last_delivery", hist_json(&r->group->last_hist));
        json_object_set_new(o, "latency_ms", lat);
        if (r->group)
            json_object_set_new(o, "group", tb_group_json(r->group, cfg->user_pattern, cfg->first,
                                                          s, deliv));
    } else {
        json_object_set_new(o, "idle_seconds", json_real(r->run_seconds));
    }
    json_t *counters = json_object();
    for (int k = 0; k < TB_NCOUNTERS; k++)
        json_object_set_new(counters, tb_counter_names[k], json_integer((json_int_t)r->c[k]));
    json_object_set_new(o, "counters", counters);
    json_t *unk = json_object();
    for (uint32_t k = 0; k < r->unknown.n; k++) {
        char key[16];
        snprintf(key, sizeof(key), "0x%04x", (unsigned)r->unknown.cmd[k]);
        json_object_set_new(unk, key, json_integer((json_int_t)r->unknown.count[k]));
    }
    if (r->unknown.other)
        json_object_set_new(unk, "other", json_integer((json_int_t)r->unknown.other));
    json_object_set_new(o, "ignored_frames", unk);
    json_object_set_new(o, "first_close",
                        r->first_close ? json_string(r->first_close) : json_null());
    json_t *rss = json_array();
    for (int i = 0; i < r->n_watch; i++) {
        const tb_watch_t *w = &r->watch[i];
        json_t *e = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "name", w->name, "pid",
                              (json_int_t)w->pid, "before", (json_int_t)w->before,
                              "after_login", (json_int_t)w->after_login, "peak",
                              (json_int_t)w->peak, "end", (json_int_t)w->end, "hwm",
                              (json_int_t)w->hwm, "gone", w->gone);
        if (ok && w->end >= w->before)
            json_object_set_new(e, "bytes_per_client",
                                json_real((double)(w->end - w->before) / (double)ok));
        json_array_append_new(rss, e);
    }
    json_object_set_new(o, "rss", rss);
    json_object_set_new(o, "self_rss_hwm", json_integer((json_int_t)r->self_rss_hwm));
    json_object_set_new(o, "cpu", (json_t *)tb_cpu_json(r->cpu, send ? r->c[TB_C_ACKED_M] : 0));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (text) {
        printf("%s\n", text);
        free(text);
    }
    json_decref(o);
}
