/* ps_fcm: Firebase Cloud Messaging HTTP v1 requests. The OAuth2 access token comes from the
 * service-account JSON: an RS256-signed JWT assertion (iss = client_email, scope
 * firebase.messaging, aud = token URI) posted to the token URI (jwt-bearer grant); it is kept
 * until 5 minutes before its expires_in. Fetching it blocks the sender thread for at most one
 * PushTimeout. POST <FcmUrl>/v1/projects/<project_id>/messages:send. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps.h"
#include "tt_log.h"

#define TOKEN_MARGIN_S 300
#define ANSWER_MAX 16384
#define SCOPE "https://www.googleapis.com/auth/firebase.messaging"

int ps_fcm_load(ps_fcm_t *f, const char *path, const char *token_url, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        snprintf(err, errlen, "%s: %s", path, je.text);
        return -1;
    }
    const char *email = json_string_value(json_object_get(o, "client_email"));
    const char *pk = json_string_value(json_object_get(o, "private_key"));
    const char *project = json_string_value(json_object_get(o, "project_id"));
    const char *uri = json_string_value(json_object_get(o, "token_uri"));
    if (token_url && token_url[0])
        uri = token_url;
    int rc = -1;
    if (!email || !pk || !project || !uri)
        snprintf(err, errlen, "%s: client_email, private_key, project_id or token_uri missing",
                 path);
    else if (!(f->key = ps_key_load_pem(pk, strlen(pk), NULL)))
        snprintf(err, errlen, "%s: private_key is not a PEM private key", path);
    else if (!(f->email = strdup(email)) || !(f->project = strdup(project)) ||
             !(f->token_url = strdup(uri)))
        snprintf(err, errlen, "no memory");
    else
        rc = 0;
    json_decref(o);
    return rc;
}

typedef struct answer_s {
    char buf[ANSWER_MAX];
    size_t len;
} answer_t;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    answer_t *a = ud;
    size_t len = sz * n, room = sizeof(a->buf) - 1 - a->len;
    memcpy(a->buf + a->len, p, len < room ? len : room);
    a->len += len < room ? len : room;
    a->buf[a->len] = '\0';
    return len;
}

/* Fetches a new access token. 0 ok. */
static int fetch_token(ps_fcm_t *f)
{
    int64_t now = (int64_t)time(NULL);
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", f->email, "scope", SCOPE, "aud",
                          f->token_url, "iat", (json_int_t)now, "exp", (json_int_t)now + 3600);
    char *claims = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    char *assertion = claims ? ps_jwt_sign(f->key, 0, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                                           claims) : NULL;
    free(claims);
    if (!assertion)
        return -1;
    CURL *e = curl_easy_init();
    answer_t *ans = calloc(1, sizeof(*ans));
    char *form = malloc(strlen(assertion) + 128);
    int rc = -1;
    long status = 0;
    if (e && ans && form) {
        sprintf(form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
                      "&assertion=%s", assertion);
        curl_easy_setopt(e, CURLOPT_URL, f->token_url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, f->timeout_ms);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, ans);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
        if (f->ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
        CURLcode cc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        json_t *o = cc == CURLE_OK && status == 200 ? json_loads(ans->buf, 0, NULL) : NULL;
        const char *tok = json_string_value(json_object_get(o, "access_token"));
        json_int_t exp = json_integer_value(json_object_get(o, "expires_in"));
        if (tok && strlen(tok) < 4096) {
            free(f->access);
            f->access = strdup(tok);
            f->access_until = now + (exp > TOKEN_MARGIN_S * 2 ? exp - TOKEN_MARGIN_S : exp / 2);
            rc = f->access ? 0 : -1;
        } else {
            log_warn_rl("FCM access token from %s not fetched: %s, HTTP %ld",
                    f->token_url, curl_easy_strerror(cc), status);
        }
        json_decref(o);
    }
    curl_easy_cleanup(e);
    free(ans);
    free(form);
    free(assertion);
    return rc;
}

void ps_fcm_reset_token(ps_fcm_t *f) { f->access_until = 0; }

int ps_fcm_prepare(ps_fcm_t *f, CURL *easy, const ps_job_t *j, struct curl_slist **hdrs,
                   char **body)
{
    if ((!f->access || (int64_t)time(NULL) >= f->access_until) && fetch_token(f) < 0)
        return -1;
    char badge[16], url[1024], h[4200];
    snprintf(badge, sizeof(badge), "%u", (unsigned)j->badge);
    json_t *m = json_pack("{s:s,s:{s:s,s:s},s:{s:s}}", "token", j->token, "data", "custom",
                          j->data, "badge", badge, "android", "priority",
                          j->silent ? "normal" : "high");
    if (m && !j->silent)
        json_object_set_new(m, "notification", json_pack("{s:s}", "body", j->flash));
    json_t *o = m ? json_pack("{s:o}", "message", m) : NULL;
    *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!*body)
        return -1;
    snprintf(url, sizeof(url), "%s/v1/projects/%s/messages:send", f->url, f->project);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    snprintf(h, sizeof(h), "authorization: Bearer %s", f->access);
    struct curl_slist *l = curl_slist_append(NULL, h);
    l = curl_slist_append(l, "content-type: application/json");
    *hdrs = l;
    return l ? 0 : -1;
}

int ps_fcm_gone(long status, const char *body)
{
    return status == 404 || (body && strstr(body, "UNREGISTERED"));
}

void ps_fcm_free(ps_fcm_t *f)
{
    ps_key_free(f->key);
    free(f->access);
    free(f->project);
    free(f->email);
    free(f->token_url);
    memset(f, 0, sizeof(*f));
}
