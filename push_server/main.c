/* push_server: mobile push for msg_servers, which connect on ListenIP:ListenPort and send
 * IMPushToUserReq (flash = alert text, data = custom JSON, one UserTokenInfo per device).
 * Every token is answered at once in IMPushToUserRsp: 0 accepted into the queue, 1 refused
 * (unknown platform, bad token, no credentials for its platform, queue full); Apple and
 * Google are never waited on here. The sender thread (ps_http.c) delivers; tokens the
 * providers report unregistered are reported to db_proxy_server (DBServerIP<n>, DaemonSecret
 * links; TT_CID_PUSH_TOKEN_GONE, base/tt_push.h), which removes them. This file wires the
 * daemon together: configuration, the msg_server listener, the db_proxy links, counters. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "IM.Login.pb-c.h"
#include "IM.Server.pb-c.h"
#include "ps.h"
#include "tt_daemon.h"
#include "tt_link.h"
#include "tt_log.h"
#include "tt_push.h"

#define MAX_DB 16
#define MAX_TOKENS 10000      /* tokens in one request */
#define STATS_MS 60000
#define IOS IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_IOS
#define ANDROID IM__BASE_DEFINE__CLIENT_TYPE__CLIENT_TYPE_ANDROID
#define OTHER(x) IM__BASE_DEFINE__OTHER_CMD_ID__CID_OTHER_##x

typedef struct push_server_s {
    tt_daemon_t d;           /* process life, config, loop */
    tt_server_opts_t peer;   /* msg_server listener options */
    long long sandbox;       /* 1: APNs sandbox */
    long long queue_max, retries, timeout_s;
    const char *ca_file;
    tt_server_t *msg_servers;
    ps_queue_t queue;
    int queue_ready;
    ps_apns_t apns;
    ps_fcm_t fcm;
    ps_sender_t *sender;
    char db_host[MAX_DB][256];
    uint16_t db_port[MAX_DB];
    int n_db;
    tt_link_t *db[MAX_DB];
    unsigned db_next;
    int warned[2];           /* "no credentials" logged for APNs / FCM */
    tt_timer_t stats_timer;
    uint64_t refused;        /* tokens answered 1 */
    char paths[5][4096];     /* file keys resolved (opt_path) */
    pthread_mutex_t gone_mu; /* guards gone, gone_posted */
    ps_job_t *gone;          /* unregistered tokens for db_proxy_server */
    int gone_posted;
} push_server_t;

/* ---- unregistered tokens: sender thread -> reactor -> db_proxy_server ---- */

/* Jobs whose token is unregistered wait in ps->gone (under gone_mu) until the reactor sends
 * them; one drain is posted to the loop at a time. */
static void gone_drain(void *arg)
{
    push_server_t *ps = arg;
    pthread_mutex_lock(&ps->gone_mu);
    ps_job_t *list = ps->gone;
    ps->gone = NULL;
    ps->gone_posted = 0;
    pthread_mutex_unlock(&ps->gone_mu);
    while (list) {
        ps_job_t *j = list;
        list = j->next;
        IM__Login__IMDeviceTokenReq r = IM__LOGIN__IMDEVICE_TOKEN_REQ__INIT;
        r.user_id = j->uid;
        r.device_token = j->stored;
        int sent = 0;
        for (int k = 0; k < ps->n_db && !sent; k++) {
            tt_link_t *l = ps->db[ps->db_next++ % (unsigned)ps->n_db];
            if (l && tt_link_is_up(l))
                sent = tt_link_send(l, TT_SID_OTHER, TT_CID_PUSH_TOKEN_GONE, 0, &r.base) == 0;
        }
        if (!sent)
            log_warn_rl("unregistered token of user %u not removed: no db_proxy_server link up",
                        (unsigned)r.user_id);
        ps_job_free(j);
    }
}

static void on_gone(ps_job_t *j, void *udata)
{
    push_server_t *ps = udata;
    pthread_mutex_lock(&ps->gone_mu);
    j->next = ps->gone;
    ps->gone = j;
    int post = !ps->gone_posted;
    ps->gone_posted = 1;
    pthread_mutex_unlock(&ps->gone_mu);
    if (post && tt_loop_post(ps->d.loop, gone_drain, ps) < 0) {
        pthread_mutex_lock(&ps->gone_mu);
        ps->gone_posted = 0; /* the next one tries again; finish frees what is left */
        pthread_mutex_unlock(&ps->gone_mu);
    }
}

static void db_up(tt_link_t *l, void *udata)
{
    (void)udata;
    log_notice("db_proxy_server link to %s up", tt_link_name(l));
}

static void db_down(tt_link_t *l, const char *reason, void *udata)
{
    (void)udata;
    if (tt_link_up_since(l) != 0)
        log_warn("link to %s down: %s", tt_link_name(l), reason);
}

static void db_pdu(tt_link_t *l, const tt_pdu_t *pdu, void *udata)
{
    (void)l, (void)udata;
    if (pdu->command_id == TT_CID_PUSH_TOKEN_GONE_RSP)
        log_debug("db_proxy_server removed an unregistered token");
}

static const tt_link_handler_t db_handler = {db_up, db_down, db_pdu};

/* ---- IMPushToUserReq ---- */

static int hex_token(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 200 || n % 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", t[i]))
            return 0;
    return 1;
}

static int fcm_token(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > PS_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.", t[i]))
            return 0;
    return 1;
}

/* Queues one device's push; 0 accepted, 1 refused. */
static uint32_t accept_token(push_server_t *ps, const IM__Server__IMPushToUserReq *req,
                             const IM__BaseDefine__UserTokenInfo *u)
{
    const char *t = u->token;
    int platform = -1;
    if (strncmp(t, "ios:", 4) == 0)
        platform = PS_APNS, t += 4;
    else if (strncmp(t, "android:", 8) == 0)
        platform = PS_FCM, t += 8;
    else if (u->user_type == IOS)
        platform = PS_APNS;
    else if (u->user_type == ANDROID)
        platform = PS_FCM;
    if (platform < 0 || (platform == PS_APNS ? !hex_token(t) : !fcm_token(t)) ||
        (u->push_type != 1 && u->push_type != 2))
        return 1;
    int enabled = platform == PS_APNS ? ps->apns.enabled : ps->fcm.enabled;
    if (!enabled) {
        if (!ps->warned[platform]++)
            log_warn("no %s credentials configured: its pushes are refused",
                     platform == PS_APNS ? "APNs" : "FCM");
        return 1;
    }
    ps_job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return 1;
    j->platform = platform;
    j->silent = u->push_type == 2;
    j->uid = u->user_id;
    j->badge = u->push_count;
    j->stored = strdup(u->token);
    j->token = strdup(t);
    j->flash = strdup(req->flash);
    j->data = strdup(req->data);
    if (!j->stored || !j->token || !j->flash || !j->data) {
        ps_job_free(j);
        return 1;
    }
    if (ps_queue_push(&ps->queue, j) < 0) {
        log_warn_rl("push queue full (%lld): pushes dropped, %llu so far", ps->queue_max,
                    (unsigned long long)ps->queue.dropped_full);
        ps_job_free(j);
        return 1;
    }
    return 0;
}

static void push_req(push_server_t *ps, tt_conn_t *c, const tt_pdu_t *pdu)
{
    IM__Server__IMPushToUserReq *req = (IM__Server__IMPushToUserReq *)tt_pb_unpack(
        &im__server__impush_to_user_req__descriptor, pdu->body, pdu->body_len);
    if (!req || req->n_user_token_list > MAX_TOKENS) {
        tt_pb_free(req);
        tt_conn_close(c, "bad IMPushToUserReq");
        return;
    }
    size_t n = req->n_user_token_list;
    IM__BaseDefine__PushResult *res = calloc(n ? n : 1, sizeof(*res));
    IM__BaseDefine__PushResult **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    if (!res || !ptrs) {
        free(res), free(ptrs), tt_pb_free(req);
        tt_conn_close(c, "no memory");
        return;
    }
    int big = strlen(req->flash) > PS_FLASH_MAX || strlen(req->data) > PS_DATA_MAX;
    int queued = 0;
    for (size_t i = 0; i < n; i++) {
        im__base_define__push_result__init(&res[i]);
        res[i].user_token = req->user_token_list[i]->token;
        res[i].result_code = big ? 1 : accept_token(ps, req, req->user_token_list[i]);
        queued += res[i].result_code == 0;
        ps->refused += res[i].result_code != 0;
        ptrs[i] = &res[i];
    }
    if (queued)
        ps_sender_wake(ps->sender);
    IM__Server__IMPushToUserRsp rsp = IM__SERVER__IMPUSH_TO_USER_RSP__INIT;
    rsp.n_push_result_list = n;
    rsp.push_result_list = ptrs;
    tt_pdu_send(c, TT_SID_OTHER, OTHER(PUSH_TO_USER_RSP), pdu->seq_num, &rsp.base);
    free(res);
    free(ptrs);
    tt_pb_free(req);
}

static void on_pdu(tt_server_t *s, tt_conn_t *c, const tt_pdu_t *pdu, void *udata)
{
    (void)s;
    if (pdu->command_id == OTHER(PUSH_TO_USER_REQ)) {
        push_req(udata, c, pdu);
        return;
    }
    log_info_rl("command 0x%04x from %s not handled", pdu->command_id, c->peer);
}

static void on_close(tt_server_t *s, tt_conn_t *c, void *udata)
{
    (void)s;
    (void)udata;
    log_info_rl("msg_server %s closed: %s", c->peer, c->reason);
}

static const tt_server_handler_t handler = {NULL, on_pdu, on_close, NULL};

static void stats(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    push_server_t *ps = udata;
    (void)loop, (void)t;
    ps_stats_t st;
    ps_sender_stats(ps->sender, &st);
    pthread_mutex_lock(&ps->queue.mu);
    uint64_t acc = ps->queue.accepted, full = ps->queue.dropped_full, len = ps->queue.n;
    pthread_mutex_unlock(&ps->queue.mu);
    log_notice("pushes: %llu queued (%llu waiting), %llu refused, %llu dropped queue full, "
               "%llu sent, %llu retried, %llu dropped after retries, %llu failed, %llu "
               "unregistered",
               (unsigned long long)acc, (unsigned long long)len,
               (unsigned long long)ps->refused, (unsigned long long)full,
               (unsigned long long)st.sent, (unsigned long long)st.retried,
               (unsigned long long)st.dropped_retries, (unsigned long long)st.failed,
               (unsigned long long)st.gone);
}

/* ---- configuration ---- */

static const char *opt(tt_daemon_t *d, const char *key)
{
    const char *v = tt_cfg_str(d->cfg, key, NULL);
    return v && v[0] ? v : NULL;
}

/* A file key's value, a relative path taken from the configuration file's directory (as for
 * DaemonSecretFile), kept in ps->paths[slot]. */
static const char *opt_path(push_server_t *ps, const char *key, int slot)
{
    const char *v = opt(&ps->d, key), *conf = tt_cfg_path(ps->d.cfg);
    const char *slash = conf ? strrchr(conf, '/') : NULL;
    if (!v || v[0] == '/' || !slash)
        return v;
    snprintf(ps->paths[slot], sizeof(ps->paths[slot]), "%.*s/%s", (int)(slash - conf), conf, v);
    return ps->paths[slot];
}

static int configure_apns(push_server_t *ps)
{
    tt_daemon_t *d = &ps->d;
    ps_apns_t *a = &ps->apns;
    a->url = opt(d, "ApnsUrl");
    if (!a->url)
        a->url = ps->sandbox ? "https://api.sandbox.push.apple.com" : "https://api.push.apple.com";
    a->topic = opt(d, "ApnsTopic");
    a->sound = opt(d, "ApnsSound");
    if (!a->sound)
        a->sound = "default";
    const char *p8 = opt_path(ps, "ApnsKeyFile", 0);
    if (p8) {
        a->key_id = opt(d, "ApnsKeyId");
        a->team_id = opt(d, "ApnsTeamId");
        if (!a->key_id || !a->team_id || !a->topic)
            return tt_daemon_cfg_error(d, "ApnsKeyFile needs ApnsKeyId, ApnsTeamId, ApnsTopic");
        if (!(a->key = ps_key_load_file(p8)) || !ps_key_is(a->key, 1))
            return tt_daemon_cfg_error(d, "ApnsKeyFile %s: not a readable P-256 private key "
                                          "(.p8)", p8);
        a->enabled = 1;
        return 0;
    }
    a->cert = opt_path(ps, "CertPath", 1);
    a->cert_key = opt_path(ps, "KeyPath", 2);
    a->cert_pass = opt(d, "KeyPassword");
    if (a->cert && a->cert_key && access(a->cert, R_OK) == 0 && access(a->cert_key, R_OK) == 0)
        a->enabled = 1;
    else
        log_warn("APNs disabled: neither ApnsKeyFile nor a readable CertPath and KeyPath");
    return 0;
}

static int configure_fcm(push_server_t *ps)
{
    tt_daemon_t *d = &ps->d;
    ps_fcm_t *f = &ps->fcm;
    const char *sa = opt_path(ps, "FcmServiceAccount", 3);
    f->url = opt(d, "FcmUrl");
    if (!f->url)
        f->url = "https://fcm.googleapis.com";
    if (!sa) {
        log_warn("FCM disabled: no FcmServiceAccount configured");
        return 0;
    }
    char err[512];
    if (ps_fcm_load(f, sa, opt(d, "FcmTokenUrl"), err, sizeof(err)) < 0)
        return tt_daemon_cfg_error(d, "FcmServiceAccount %s", err);
    f->enabled = 1;
    return 0;
}

static int configure(tt_daemon_t *d, void *udata)
{
    push_server_t *ps = udata;
    uint16_t port;
    uint32_t max_pdu;
    char err[512];
    const char *hosts[MAX_DB];
    if (tt_daemon_cfg_port(d, "ListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_int(d, "SandBox", 1, 0, 1, &ps->sandbox) < 0 ||
        tt_daemon_cfg_int(d, "PushQueueMax", 100000, 1, 10000000, &ps->queue_max) < 0 ||
        tt_daemon_cfg_int(d, "PushRetries", 3, 0, 20, &ps->retries) < 0 ||
        tt_daemon_cfg_int(d, "PushTimeout", 10, 1, 300, &ps->timeout_s) < 0 ||
        tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    ps->ca_file = opt_path(ps, "CaFile", 4);
    int n = tt_cfg_servers(d->cfg, "DBServerIP", "DBServerPort", hosts, ps->db_port, MAX_DB, err,
                           sizeof(err));
    if (n < 0)
        return tt_daemon_cfg_error(d, "%s", err);
    for (int i = 0; i < n; i++)
        snprintf(ps->db_host[i], sizeof(ps->db_host[i]), "%s", hosts[i]);
    ps->n_db = n;
    ps_apns_free(&ps->apns);
    ps_fcm_free(&ps->fcm);
    memset(&ps->apns, 0, sizeof(ps->apns));
    if (configure_apns(ps) < 0 || configure_fcm(ps) < 0)
        return -1;
    ps->peer = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 30000},
                                  .echo_heartbeat = 1, .daemon_only = 1};
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    push_server_t *ps = udata;
    ps_queue_init(&ps->queue, (size_t)ps->queue_max);
    ps->queue_ready = 1;
    ps_sender_opts_t o = {.queue = &ps->queue, .apns = &ps->apns, .fcm = &ps->fcm,
                          .ca_file = ps->ca_file, .timeout_ms = (long)ps->timeout_s * 1000,
                          .retries = (int)ps->retries, .max_inflight = 256, .on_gone = on_gone,
                          .udata = ps};
    if (!(ps->sender = ps_sender_start(&o))) {
        log_error("push sender thread not started");
        return -1;
    }
    for (int i = 0; i < ps->n_db; i++) {
        tt_link_opts_t lo = {.host = ps->db_host[i], .port = ps->db_port[i],
                             .backoff_min_ms = 1000, .auth = tt_daemon_auth(d)};
        if ((ps->db[i] = tt_link_new(d->loop, &lo, &db_handler, ps)))
            tt_link_start(ps->db[i]);
    }
    if (ps->n_db == 0)
        log_warn("no DBServerIP1: unregistered tokens are not removed");
    log_notice("APNs %s (%s), FCM %s; queue %lld, %lld retries, %llds timeout",
               ps->apns.enabled ? ps->apns.url : "off",
               ps->apns.key ? "token" : "certificate", ps->fcm.enabled ? ps->fcm.url : "off",
               ps->queue_max, ps->retries, ps->timeout_s);
    tt_timer_init(&ps->stats_timer, stats, ps);
    tt_timer_start(d->loop, &ps->stats_timer, STATS_MS, STATS_MS);
    return tt_daemon_listen(d, "ListenIP", "ListenPort", &ps->peer, &handler, ps,
                            &ps->msg_servers);
}

static void finish(tt_daemon_t *d, void *udata)
{
    push_server_t *ps = udata;
    if (ps->sender) { /* started (not -t) */
        stats(d->loop, &ps->stats_timer, ps);
        tt_timer_stop(d->loop, &ps->stats_timer);
    }
    ps_sender_stop(ps->sender);
    ps->sender = NULL;
    for (int i = 0; i < ps->n_db; i++)
        tt_link_free(ps->db[i]);
    while (ps->gone) {
        ps_job_t *j = ps->gone;
        ps->gone = j->next;
        ps_job_free(j);
    }
    if (ps->queue_ready)
        ps_queue_fini(&ps->queue);
    ps_apns_free(&ps->apns);
    ps_fcm_free(&ps->fcm);
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    push_server_t ps = {0};
    pthread_mutex_init(&ps.gone_mu, NULL);
    int rc = tt_daemon_main(&ps.d, "push_server", "pushserver.conf", argc, argv, &ops, &ps);
    curl_global_cleanup();
    return rc;
}
