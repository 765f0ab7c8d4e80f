/* ps_apns: Apple Push Notification service requests (HTTP/2 provider API). Token mode signs an
 * ES256 provider JWT with the .p8 key (kid = ApnsKeyId, iss = ApnsTeamId), cached and signed
 * again after 40 minutes (Apple refuses ones older than 60, and more than one new one per 20);
 * certificate mode presents CertPath/KeyPath instead. Normal pushes are alerts with a sound
 * (ApnsSound, default "default"; the original used "bingbong.aiff") at priority 10; silent
 * ones (push_type 2) carry only the badge, at priority 5. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps.h"

#define JWT_REFRESH_S (40 * 60)
#define APNS_PAYLOAD_MAX 4096

static const char *jwt(ps_apns_t *a)
{
    int64_t now = (int64_t)time(NULL);
    if (a->jwt && now - a->jwt_iat < JWT_REFRESH_S && now >= a->jwt_iat)
        return a->jwt;
    char hdr[256], claims[256];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", a->key_id);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"iat\":%lld}", a->team_id,
             (long long)now);
    char *t = ps_jwt_sign(a->key, 1, hdr, claims);
    if (!t)
        return NULL;
    free(a->jwt);
    a->jwt = t;
    a->jwt_iat = now;
    return t;
}

void ps_apns_reset_jwt(ps_apns_t *a)
{
    free(a->jwt);
    a->jwt = NULL;
}

static char *payload(const ps_job_t *j, const char *sound)
{
    json_t *aps = j->silent ? json_pack("{s:i}", "badge", (json_int_t)j->badge)
                            : json_pack("{s:{s:s},s:i,s:s}", "alert", "body", j->flash, "badge",
                                        (json_int_t)j->badge, "sound", sound);
    json_t *o = aps ? json_pack("{s:o,s:s}", "aps", aps, "custom", j->data) : NULL;
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s && strlen(s) > APNS_PAYLOAD_MAX) {
        free(s);
        s = NULL;
    }
    return s;
}

int ps_apns_prepare(ps_apns_t *a, CURL *easy, const ps_job_t *j, struct curl_slist **hdrs,
                    char **body)
{
    char url[1024], h[2048];
    const char *t = NULL;
    if (a->key && !(t = jwt(a)))
        return -1;
    if (!(*body = payload(j, a->sound)))
        return -1;
    snprintf(url, sizeof(url), "%s/3/device/%s", a->url, j->token);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    struct curl_slist *l = NULL;
    if (t) {
        snprintf(h, sizeof(h), "authorization: bearer %s", t);
        l = curl_slist_append(l, h);
    }
    if (a->topic) { /* optional in certificate mode: the certificate's topic then */
        snprintf(h, sizeof(h), "apns-topic: %s", a->topic);
        l = curl_slist_append(l, h);
    }
    l = curl_slist_append(l, "apns-push-type: alert");
    l = curl_slist_append(l, j->silent ? "apns-priority: 5" : "apns-priority: 10");
    snprintf(h, sizeof(h), "apns-expiration: %lld", (long long)time(NULL) + 3600);
    l = curl_slist_append(l, h);
    l = curl_slist_append(l, "content-type: application/json");
    *hdrs = l;
    if (!a->key) {
        curl_easy_setopt(easy, CURLOPT_SSLCERT, a->cert);
        curl_easy_setopt(easy, CURLOPT_SSLKEY, a->cert_key);
        if (a->cert_pass && a->cert_pass[0])
            curl_easy_setopt(easy, CURLOPT_KEYPASSWD, a->cert_pass);
    }
    return l ? 0 : -1;
}

int ps_apns_gone(long status, const char *body)
{
    return status == 410 || (status == 400 && body && strstr(body, "BadDeviceToken"));
}

void ps_apns_free(ps_apns_t *a)
{
    free(a->jwt);
    a->jwt = NULL;
    ps_key_free(a->key);
    a->key = NULL;
}
