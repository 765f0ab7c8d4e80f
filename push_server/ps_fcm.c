/* ps_fcm: Firebase Cloud Messaging HTTP v1 requests. The OAuth2 access token comes from the
 * service-account JSON: an RS256-signed JWT assertion (iss = client_email, scope
 * firebase.messaging, aud = token URI) posted to the token URI (jwt-bearer grant); it is kept
 * until 5 minutes before its expires_in; the sender fetches it through its multi handle like any
 * request (pushes wait for it meanwhile). POST <FcmUrl>/v1/projects/<project_id>/messages:send. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ps.h"
#include "tt_log.h"

#define TOKEN_MARGIN_S 300
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
    else if (!(f->key = ps_key_load_pem(pk, strlen(pk), NULL)) || !ps_key_is(f->key, 0))
        snprintf(err, errlen, "%s: private_key is not a PEM RSA private key", path);
    else if (!(f->email = strdup(email)) || !(f->project = strdup(project)) ||
             !(f->token_url = strdup(uri)))
        snprintf(err, errlen, "no memory");
    else
        rc = 0;
    json_decref(o);
    return rc;
}

int ps_fcm_need_token(const ps_fcm_t *f)
{
    return !f->access || (int64_t)time(NULL) >= f->access_until;
}

int ps_fcm_token_prepare(ps_fcm_t *f, CURL *easy, char **form)
{
    int64_t now = (int64_t)time(NULL);
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", f->email, "scope", SCOPE, "aud",
                          f->token_url, "iat", (json_int_t)now, "exp", (json_int_t)now + 3600);
    char *claims = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    char *assertion = claims ? ps_jwt_sign(f->key, 0, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
                                           claims) : NULL;
    free(claims);
    *form = assertion ? malloc(strlen(assertion) + 128) : NULL;
    if (*form) /* the assertion is base64url and dots: nothing to escape */
        sprintf(*form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
                       "&assertion=%s", assertion);
    free(assertion);
    if (!*form)
        return -1;
    curl_easy_setopt(easy, CURLOPT_URL, f->token_url);
    return 0;
}

int ps_fcm_token_done(ps_fcm_t *f, long status, const char *body)
{
    json_t *o = status == 200 ? json_loads(body, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(o, "access_token"));
    json_int_t exp = json_integer_value(json_object_get(o, "expires_in"));
    int rc = -1;
    if (tok && tok[0] && strlen(tok) < 2048 && exp > 0) {
        free(f->access);
        f->access = strdup(tok);
        f->access_until = (int64_t)time(NULL) +
                          (exp > TOKEN_MARGIN_S * 2 ? exp - TOKEN_MARGIN_S : exp / 2);
        rc = f->access ? 0 : -1;
    }
    if (rc < 0)
        log_warn_rl("FCM access token not fetched from %s: HTTP %ld", f->token_url, status);
    json_decref(o);
    return rc;
}

void ps_fcm_reset_token(ps_fcm_t *f) { f->access_until = 0; }

int ps_fcm_prepare(ps_fcm_t *f, CURL *easy, const ps_job_t *j, struct curl_slist **hdrs,
                   char **body)
{
    if (!f->access)
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
