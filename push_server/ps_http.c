/* ps_http: the sender thread. One libcurl multi handle (HTTP/2 multiplexed over reused
 * connections, CURLMOPT_PIPELINING = CURLPIPE_MULTIPLEX) driven by curl_multi_poll on a
 * thread of its own, so a slow or stalled provider never delays the reactor. It takes jobs
 * from the queue up to max_inflight, each with a timeout of its own; 429, 5xx and transport
 * errors are retried with exponential backoff (or the Retry-After the provider asked for) up
 * to PushRetries times, then dropped and counted; unregistered tokens go to on_gone. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps.h"
#include "tt_log.h"
#include "tt_loop.h"

#define BACKOFF_MS 250          /* first retry delay, doubled each time */
#define BACKOFF_MAX_MS 60000
#define RETRY_AFTER_MAX_S 600
#define ANSWER_MAX 4096
#define MAX_HELD 4096          /* jobs out of the queue at once */

typedef struct req_s {
    struct req_s *next;
    ps_job_t *job;              /* NULL: the FCM access token request */
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    size_t len;
    char answer[ANSWER_MAX];
} req_t;

struct ps_sender_s {
    ps_sender_opts_t o;
    pthread_t th;
    CURLM *multi;
    atomic_int stop;
    pthread_mutex_t mu;         /* guards st */
    ps_stats_t st;
    ps_job_t *retry;            /* waiting for their due time (unordered) */
    req_t *inflight;
    size_t ninflight;
    ps_job_t *wait_token;       /* FCM jobs waiting for an access token */
    int token_fetching;         /* the token request is in flight */
    size_t nheld;               /* jobs taken from the queue and not done (in flight, waiting
                                 * for a retry or for the token): over MAX_HELD the queue
                                 * fills up instead, so a provider answering 429 to everything
                                 * makes drops that are counted, not an unbounded retry list */
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    req_t *r = ud;
    size_t len = sz * n, room = sizeof(r->answer) - 1 - r->len, k = len < room ? len : room;
    memcpy(r->answer + r->len, p, k);
    r->len += k;
    r->answer[r->len] = '\0';
    return len;
}

/* A job the sender is done with. */
static void release(ps_sender_t *s, ps_job_t *j)
{
    s->nheld--;
    ps_job_free(j);
}

static void count(ps_sender_t *s, uint64_t *field)
{
    pthread_mutex_lock(&s->mu);
    (*field)++;
    pthread_mutex_unlock(&s->mu);
}

static void retry_later(ps_sender_t *s, ps_job_t *j, long retry_after_s, const char *why)
{
    if (j->attempts > s->o.retries) {
        count(s, &s->st.dropped_retries);
        log_warn_rl("push to user %u dropped after %d attempts: %s", (unsigned)j->uid,
                    j->attempts, why);
        release(s, j);
        return;
    }
    uint64_t delay = (uint64_t)BACKOFF_MS << (j->attempts > 8 ? 8 : j->attempts - 1);
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    if (retry_after_s > 0)
        delay = (uint64_t)(retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : retry_after_s) *
                1000;
    count(s, &s->st.retried);
    log_info_rl("push to user %u retried in %llu ms: %s", (unsigned)j->uid,
                (unsigned long long)delay, why);
    j->due_ms = tt_clock_ms() + delay;
    j->next = s->retry;
    s->retry = j;
}

static void req_free(req_t *r)
{
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r);
}

static void start_token(ps_sender_t *s);

/* Options every request has; adds it to the multi handle. -1 when curl refused it. */
static int launch(ps_sender_t *s, req_t *r)
{
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->o.timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    if (s->o.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, s->o.ca_file);
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK)
        return -1;
    r->next = s->inflight;
    s->inflight = r;
    s->ninflight++;
    return 0;
}

static void start_job(ps_sender_t *s, ps_job_t *j)
{
    if (j->platform == PS_FCM && ps_fcm_need_token(s->o.fcm)) {
        j->next = s->wait_token; /* sent once the token is there */
        s->wait_token = j;
        if (!s->token_fetching)
            start_token(s);
        return;
    }
    req_t *r = calloc(1, sizeof(*r));
    j->attempts++;
    if (!r || !(r->easy = curl_easy_init())) {
        free(r);
        retry_later(s, j, 0, "no memory");
        return;
    }
    r->job = j;
    int rc = j->platform == PS_APNS ? ps_apns_prepare(s->o.apns, r->easy, j, &r->hdrs, &r->body)
                                    : ps_fcm_prepare(s->o.fcm, r->easy, j, &r->hdrs, &r->body);
    if (rc < 0) {
        req_free(r);
        retry_later(s, j, 0, "request not built (credentials or access token)");
        return;
    }
    if (launch(s, r) < 0) {
        r->job = NULL;
        req_free(r);
        retry_later(s, j, 0, "curl refused the request");
    }
}

/* The jobs waiting for the token: sent now (ok) or counted as a failed attempt. */
static void release_waiting(ps_sender_t *s, int ok)
{
    ps_job_t *list = s->wait_token;
    s->wait_token = NULL;
    while (list) {
        ps_job_t *j = list;
        list = j->next;
        if (ok) {
            j->due_ms = 0;
            j->next = s->retry;
            s->retry = j;
        } else {
            j->attempts++;
            retry_later(s, j, 0, "FCM access token not fetched");
        }
    }
}

static void start_token(ps_sender_t *s)
{
    req_t *r = calloc(1, sizeof(*r));
    if (r && (r->easy = curl_easy_init()) &&
        ps_fcm_token_prepare(s->o.fcm, r->easy, &r->body) == 0 &&
        (r->hdrs = curl_slist_append(NULL, "content-type: application/x-www-form-urlencoded")) &&
        launch(s, r) == 0) {
        s->token_fetching = 1;
        return;
    }
    if (r)
        req_free(r);
    release_waiting(s, 0);
}

static void unlink_req(ps_sender_t *s, req_t *r)
{
    for (req_t **p = &s->inflight; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            s->ninflight--;
            return;
        }
}

static void finish_req(ps_sender_t *s, req_t *r, CURLcode cc)
{
    ps_job_t *j = r->job;
    long status = 0;
    curl_off_t ra = 0;
    char why[160];
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra);
    if (!j) { /* the FCM access token */
        curl_multi_remove_handle(s->multi, r->easy);
        unlink_req(s, r);
        s->token_fetching = 0;
        if (cc != CURLE_OK)
            log_warn_rl("FCM access token not fetched: %s", curl_easy_strerror(cc));
        release_waiting(s, cc == CURLE_OK && ps_fcm_token_done(s->o.fcm, status, r->answer) == 0);
        req_free(r);
        return;
    }
    const char *name = j->platform == PS_APNS ? "APNs" : "FCM";
    int gone = j->platform == PS_APNS ? ps_apns_gone(status, r->answer)
                                      : ps_fcm_gone(status, r->answer);
    curl_multi_remove_handle(s->multi, r->easy);
    unlink_req(s, r);
    if (cc != CURLE_OK) {
        snprintf(why, sizeof(why), "%s: %s", name, curl_easy_strerror(cc));
        retry_later(s, j, 0, why);
    } else if (status == 200) {
        count(s, &s->st.sent);
        log_debug("push to user %u sent through %s", (unsigned)j->uid, name);
        release(s, j);
    } else if (gone) {
        count(s, &s->st.gone);
        log_info("%s: the token of user %u is unregistered (HTTP %ld)", name, (unsigned)j->uid,
                 status);
        s->nheld--;
        s->o.on_gone(j, s->o.udata);
    } else if (status == 429 || status >= 500 ||
               (j->platform == PS_APNS && status == 403 && strstr(r->answer, "ProviderToken")) ||
               (j->platform == PS_FCM && status == 401)) {
        if (status == 403)
            ps_apns_reset_jwt(s->o.apns);
        if (status == 401)
            ps_fcm_reset_token(s->o.fcm);
        snprintf(why, sizeof(why), "%s HTTP %ld", name, status);
        retry_later(s, j, (long)ra, why);
    } else {
        count(s, &s->st.failed);
        log_warn_rl("%s refused the push to user %u: HTTP %ld %.200s", name, (unsigned)j->uid,
                    status, r->answer);
        release(s, j);
    }
    r->job = NULL;
    req_free(r);
}

/* Starts due retries and queued jobs while there is room; the ms until the next retry. */
static int feed(ps_sender_t *s)
{
    uint64_t now = tt_clock_ms(), next = 1000;
    for (ps_job_t **p = &s->retry; *p;) {
        ps_job_t *j = *p;
        if (j->due_ms <= now && s->ninflight < s->o.max_inflight) {
            *p = j->next;
            start_job(s, j);
            continue;
        }
        if (j->due_ms > now && j->due_ms - now < next)
            next = j->due_ms - now;
        p = &j->next;
    }
    ps_job_t *j;
    while (s->ninflight < s->o.max_inflight && s->nheld < MAX_HELD &&
           (j = ps_queue_pop(s->o.queue))) {
        s->nheld++;
        start_job(s, j);
    }
    return (int)next;
}

static void *run(void *arg)
{
    ps_sender_t *s = arg;
    while (!atomic_load(&s->stop)) {
        int wait = feed(s), running = 0;
        curl_multi_perform(s->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(s->multi, &left)))
            if (m->msg == CURLMSG_DONE) {
                req_t *r = NULL;
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
                finish_req(s, r, m->data.result);
            }
        curl_multi_poll(s->multi, NULL, 0, wait, NULL);
    }
    return NULL;
}

ps_sender_t *ps_sender_start(const ps_sender_opts_t *o)
{
    ps_sender_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    s->multi = curl_multi_init();
    if (s->multi) {
        curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
    }
    if (!s->multi || pthread_create(&s->th, NULL, run, s) != 0) {
        curl_multi_cleanup(s->multi);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void ps_sender_wake(ps_sender_t *s) { curl_multi_wakeup(s->multi); }

void ps_sender_stats(ps_sender_t *s, ps_stats_t *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

void ps_sender_stop(ps_sender_t *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    curl_multi_wakeup(s->multi);
    pthread_join(s->th, NULL);
    while (s->inflight) {
        req_t *r = s->inflight;
        s->inflight = r->next;
        curl_multi_remove_handle(s->multi, r->easy);
        ps_job_free(r->job);
        req_free(r);
    }
    while (s->retry) {
        ps_job_t *j = s->retry;
        s->retry = j->next;
        ps_job_free(j);
    }
    while (s->wait_token) {
        ps_job_t *j = s->wait_token;
        s->wait_token = j->next;
        ps_job_free(j);
    }
    curl_multi_cleanup(s->multi);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
