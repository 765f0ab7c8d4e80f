/* Asking login_server which msg_server to use (PROTOCOL §5.1, BEHAVIOUR §2a). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt_client.h"
#include "ttc_http.h"

#define DISCOVER_TIMEOUT_MS 5000

/* Copies a string member into out; absent or null gives "". -1 when it is another type. */
static int get_str(json_t *obj, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(obj, key);
    out[0] = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    snprintf(out, outlen, "%s", json_string_value(v));
    return 0;
}

/* An integer member that may also come as a decimal string. 0 ok (*out), 1 absent, -1 bad. */
static int get_int(json_t *obj, const char *key, long long *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 1;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d < -9e18 || d > 9e18 || d != (double)(long long)d)
            return -1;
        *out = (long long)d;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    while (*s == ' ')
        s++;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    if (end == s || *end || errno)
        return -1;
    *out = n;
    return 0;
}

int ttc_parse_discovery(const char *body, size_t len, ttc_server_t *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->code = -1;
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", body ? len : 0,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        snprintf(err, errlen, "login_server: answer is not JSON (%s)", jerr.text);
        return -1;
    }
    int rc = -1;
    long long code = 0, port = 0;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "login_server: answer is not a JSON object");
        goto done;
    }
    int c = get_int(root, "code", &code);
    if (c != 0 || code < -2147483647LL || code > 2147483647LL) {
        snprintf(err, errlen, "login_server: answer has %s \"code\"", c > 0 ? "no" : "a bad");
        goto done;
    }
    out->code = (int)code;
    if (get_str(root, "msg", out->msg, sizeof(out->msg)) < 0) {
        snprintf(err, errlen, "login_server: answer has a bad \"msg\"");
        goto done;
    }
    if (code != 0) {
        snprintf(err, errlen, "login_server: %s (code %lld)",
                 out->msg[0] ? out->msg : "refused", code);
        goto done;
    }
    if (get_str(root, "priorIP", out->prior_ip, sizeof(out->prior_ip)) < 0 || !out->prior_ip[0]) {
        snprintf(err, errlen, "login_server: answer has no usable \"priorIP\"");
        goto done;
    }
    if (get_str(root, "backupIP", out->backup_ip, sizeof(out->backup_ip)) < 0) {
        snprintf(err, errlen, "login_server: answer has a bad \"backupIP\"");
        goto done;
    }
    if (!out->backup_ip[0])
        snprintf(out->backup_ip, sizeof(out->backup_ip), "%s", out->prior_ip);
    c = get_int(root, "port", &port);
    if (c != 0 || port < 1 || port > 65535) {
        snprintf(err, errlen, "login_server: answer has %s \"port\"", c > 0 ? "no" : "a bad");
        goto done;
    }
    out->port = (uint16_t)port;
    if (get_str(root, "msfsPrior", out->msfs_prior, sizeof(out->msfs_prior)) < 0 ||
        get_str(root, "msfsBackup", out->msfs_backup, sizeof(out->msfs_backup)) < 0 ||
        get_str(root, "discovery", out->discovery, sizeof(out->discovery)) < 0) {
        snprintf(err, errlen, "login_server: answer has a non-string URL field");
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int ttc_discover_timeout(const char *login_url, int timeout_ms, ttc_server_t *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->code = -1;
    int status = 0;
    char *body = NULL;
    size_t len = 0;
    char why[384];
    if (ttc_http_get(login_url, timeout_ms, &status, &body, &len, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "login_server: %s", why);
        return -1;
    }
    int rc;
    if (status != 200) {
        snprintf(err, errlen, "login_server: HTTP status %d from %s", status, login_url);
        rc = -1;
    } else {
        rc = ttc_parse_discovery(body, len, out, err, errlen);
    }
    free(body);
    return rc;
}

int ttc_discover(const char *login_url, ttc_server_t *out, char *err, size_t errlen)
{
    return ttc_discover_timeout(login_url, DISCOVER_TIMEOUT_MS, out, err, errlen);
}
