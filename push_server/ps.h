/* push_server: shared types. A push job (one device, one message) goes from the reactor
 * (main.c, which answers the msg_server at once) into the bounded queue (ps_queue.c); the
 * sender thread (ps_http.c) takes jobs from it, has ps_apns.c / ps_fcm.c build the HTTP/2
 * request, runs them through one libcurl multi handle, retries 429/5xx with backoff, and hands
 * unregistered tokens back to the reactor, which tells db_proxy_server (base/tt_push.h). */
#ifndef PS_H
#define PS_H

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PS_TOKEN_MAX 512       /* bytes of a device token */
#define PS_FLASH_MAX 2048      /* bytes of alert text accepted */
#define PS_DATA_MAX 2048       /* bytes of custom data accepted */

enum { PS_APNS = 0, PS_FCM = 1 };

typedef struct ps_job_s {
    struct ps_job_s *next;
    int platform;              /* PS_APNS or PS_FCM */
    int silent;                /* push_type 2: badge only */
    uint32_t uid;
    uint32_t badge;            /* push_count */
    int attempts;              /* sends so far */
    uint64_t due_ms;           /* retry not before (monotonic) */
    char *stored;              /* token as msg_server gave it (for the store) */
    char *token;               /* bare token */
    char *flash;               /* alert text */
    char *data;                /* custom data */
} ps_job_t;

void ps_job_free(ps_job_t *j);

/* ---- ps_queue.c: bounded FIFO between the reactor and the sender thread ---- */
typedef struct ps_queue_s {
    pthread_mutex_t mu;
    ps_job_t *head, *tail;
    size_t n, max;
    uint64_t accepted, dropped_full; /* counters (under mu) */
} ps_queue_t;

void ps_queue_init(ps_queue_t *q, size_t max);
void ps_queue_fini(ps_queue_t *q);  /* frees what is left */
int ps_queue_push(ps_queue_t *q, ps_job_t *j); /* 0 taken, -1 full (j not taken, counted) */
ps_job_t *ps_queue_pop(ps_queue_t *q);         /* NULL when empty */

/* ---- ps_jwt.c: base64url and JWT signing with OpenSSL EVP ---- */
/* base64url (no padding) of len bytes into out (size >= 4*len/3+4); returns the length. */
size_t ps_b64url(const uint8_t *in, size_t len, char *out);
/* "<header>.<claims>.<signature>" signed ES256 (P-256 key) or RS256 (RSA key), malloc'ed;
 * NULL on error. key is an EVP_PKEY. */
char *ps_jwt_sign(void *key, int es256, const char *header_json, const char *claims_json);
void *ps_key_load_pem(const char *pem, size_t len, const char *password); /* EVP_PKEY */
void *ps_key_load_file(const char *path);
void ps_key_free(void *key);
int ps_key_is(void *key, int ec); /* 1: a P-256 (ec) or an RSA key */

/* ---- ps_apns.c ---- */
typedef struct ps_apns_s {
    int enabled;
    const char *url;           /* https://api.push.apple.com (no trailing '/') */
    const char *topic;         /* ApnsTopic (bundle id); NULL: none sent (certificate mode) */
    const char *sound;         /* ApnsSound */
    const char *key_id, *team_id;
    void *key;                 /* .p8 key (token mode), NULL in certificate mode */
    const char *cert, *cert_key, *cert_pass; /* certificate mode */
    char *jwt;                 /* cached provider token */
    int64_t jwt_iat;           /* its issue time (unix s) */
} ps_apns_t;

/* Prepares easy for job j (URL, headers into *hdrs, body into *body malloc'ed). -1 on error. */
int ps_apns_prepare(ps_apns_t *a, CURL *easy, const ps_job_t *j, struct curl_slist **hdrs,
                    char **body);
/* 1 when the answer says the token is unregistered. */
int ps_apns_gone(long status, const char *body);
/* The provider token was refused (403 ExpiredProviderToken / InvalidProviderToken). */
void ps_apns_reset_jwt(ps_apns_t *a);
void ps_apns_free(ps_apns_t *a);

/* ---- ps_fcm.c ---- */
typedef struct ps_fcm_s {
    int enabled;
    const char *url;           /* https://fcm.googleapis.com */
    char *token_url;           /* FcmTokenUrl or the JSON's token_uri */
    char *project, *email;
    void *key;                 /* service account's RSA key */
    char *access;              /* cached OAuth2 access token */
    int64_t access_until;      /* unix s after which it is fetched again */
} ps_fcm_t;

/* Loads the service-account JSON. -1 with a reason in err. */
int ps_fcm_load(ps_fcm_t *f, const char *path, const char *token_url, char *err, size_t errlen);
/* 1 when no access token is valid now: fetch one first. */
int ps_fcm_need_token(const ps_fcm_t *f);
/* The token request (URL on easy, the form body into *form, malloc'ed). -1 on error. */
int ps_fcm_token_prepare(ps_fcm_t *f, CURL *easy, char **form);
/* The token endpoint's answer; 0 when it gave an access token (now cached). */
int ps_fcm_token_done(ps_fcm_t *f, long status, const char *body);
/* A push request; needs a valid access token. */
int ps_fcm_prepare(ps_fcm_t *f, CURL *easy, const ps_job_t *j, struct curl_slist **hdrs,
                   char **body);
int ps_fcm_gone(long status, const char *body);
void ps_fcm_reset_token(ps_fcm_t *f); /* 401: fetch a new access token */
void ps_fcm_free(ps_fcm_t *f);

/* ---- ps_http.c: the sender thread ---- */
typedef struct ps_sender_s ps_sender_t;
typedef struct ps_sender_opts_s {
    ps_queue_t *queue;
    ps_apns_t *apns;
    ps_fcm_t *fcm;
    const char *ca_file;       /* CaFile, NULL: system store */
    long timeout_ms;           /* PushTimeout per request */
    int retries;               /* PushRetries */
    size_t max_inflight;
    /* Called on the sender thread for an unregistered token; takes the job. */
    void (*on_gone)(ps_job_t *j, void *udata);
    void *udata;
} ps_sender_opts_t;

typedef struct ps_stats_s {
    uint64_t sent, failed, dropped_retries, gone, retried;
} ps_stats_t;

ps_sender_t *ps_sender_start(const ps_sender_opts_t *o);
void ps_sender_wake(ps_sender_t *s);           /* a job was queued */
void ps_sender_stats(ps_sender_t *s, ps_stats_t *out);
void ps_sender_stop(ps_sender_t *s);           /* joins, frees jobs in flight */

#endif
