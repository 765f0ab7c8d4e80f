#!/usr/bin/python3
"""Checks what h2_stand.py recorded for it_push_server.sh (one "ok:"/"FAIL:" line per check).
usage: push_check.py LOG APNS_PUB_PEM FCM_PUB_PEM TOKEN_URL
The tokens and expectations are those of it_push_server.sh. Run with /usr/bin/python3."""
import json
import sys
import time
import urllib.parse

from cryptography.hazmat.primitives import serialization

from push_jwt import verify_es256, verify_rs256

LOG, APNS_PUB, FCM_PUB, TOKEN_URL = sys.argv[1:5]
T_NORMAL = "a1" * 32
T_SILENT = "b2" * 32
failed = 0


def check(ok, what):
    global failed
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    failed += not ok


reqs = [json.loads(line) for line in open(LOG)]
apns_pub = serialization.load_pem_public_key(open(APNS_PUB, "rb").read())
fcm_pub = serialization.load_pem_public_key(open(FCM_PUB, "rb").read())


def by_path(p):
    return [r for r in reqs if r["path"] == p]


def fcm_for(token):
    return [r for r in reqs if r["path"].startswith("/v1/") and
            json.loads(r["body"])["message"]["token"] == token]


now = time.time()
for tok, silent in ((T_NORMAL, False), (T_SILENT, True)):
    rs = by_path("/3/device/" + tok)
    check(len(rs) == 1, "APNs %s: exactly one request (%d)" % ("silent" if silent else "normal",
                                                               len(rs)))
    if not rs:
        continue
    r = rs[0]
    h = r["headers"]
    check(r["method"] == "POST", "... POST")
    auth = h.get("authorization", "")
    check(auth.startswith("bearer "), "... authorization: bearer <jwt>")
    hdr, claims, ok = verify_es256(auth[7:], apns_pub)
    check(ok, "... the JWT verifies against the test P-256 key (ES256)")
    check(hdr == {"alg": "ES256", "kid": "KEYID12345"}, "... JWT header %s" % hdr)
    check(claims.get("iss") == "TEAMID6789" and abs(claims.get("iat", 0) - now) < 600,
          "... JWT claims iss/iat %s" % claims)
    check(h.get("apns-topic") == "com.example.tt", "... apns-topic")
    check(h.get("apns-push-type") == "alert", "... apns-push-type alert")
    check(h.get("apns-priority") == ("5" if silent else "10"), "... apns-priority %s" %
          h.get("apns-priority"))
    exp = int(h.get("apns-expiration", "0"))
    check(abs(exp - (r["t"] + 3600)) < 60, "... apns-expiration now+3600")
    body = json.loads(r["body"])
    want = ({"aps": {"badge": 7}, "custom": '{"k":"v"}'} if silent else
            {"aps": {"alert": {"body": "Alice: hi ✓"}, "badge": 5, "sound": "default"},
             "custom": '{"k":"v"}'})
    check(body == want, "... body %s" % r["body"])

tok_reqs = by_path("/token")
check(len(tok_reqs) == 1, "FCM: one OAuth token request for all pushes (%d)" % len(tok_reqs))
if tok_reqs:
    form = urllib.parse.parse_qs(tok_reqs[0]["body"])
    check(form.get("grant_type") == ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
          "... grant_type jwt-bearer")
    hdr, claims, ok = verify_rs256(form.get("assertion", ["x.y.z"])[0], fcm_pub)
    check(ok and hdr.get("alg") == "RS256", "... the assertion verifies (RS256)")
    check(claims.get("iss") == "push@example.iam.gserviceaccount.com" and
          claims.get("aud") == TOKEN_URL and
          claims.get("scope") == "https://www.googleapis.com/auth/firebase.messaging" and
          claims.get("exp", 0) - claims.get("iat", 0) == 3600, "... claims %s" % claims)
for tok, silent, badge in (("fcm-tok-1", False, "3"), ("fcm-tok-2", True, "2")):
    rs = fcm_for(tok)
    check(len(rs) == 1, "FCM %s: exactly one request" % tok)
    if not rs:
        continue
    r = rs[0]
    check(r["path"] == "/v1/projects/tt-test/messages:send", "... path %s" % r["path"])
    check(r["headers"].get("authorization") == "Bearer at-1",
          "... bearer token reused (%s)" % r["headers"].get("authorization"))
    m = json.loads(r["body"])["message"]
    want = {"token": tok, "data": {"custom": '{"k":"v"}', "badge": badge},
            "android": {"priority": "normal" if silent else "high"}}
    if not silent:
        want["notification"] = {"body": "Alice: hi ✓"}
    check(m == want, "... body %s" % r["body"])

rs = by_path("/3/device/" + "c3" * 32)
check(len(rs) == 2 and [r["status"] for r in rs] == [429, 200],
      "429 then 200: retried once (%d requests)" % len(rs))
if len(rs) == 2:
    check(rs[1]["t"] - rs[0]["t"] >= 0.9, "... after the Retry-After (%.2fs)" %
          (rs[1]["t"] - rs[0]["t"]))
rs = by_path("/3/device/" + "d4" * 32)
check(len(rs) == 4, "500 always: 1 + PushRetries (3) attempts, then dropped (%d)" % len(rs))
if len(rs) == 4:
    gaps = [rs[i + 1]["t"] - rs[i]["t"] for i in range(3)]
    check(gaps[0] >= 0.24 and gaps[1] >= 0.49 and gaps[2] >= 0.99,
          "... exponential backoff %s" % ["%.2f" % g for g in gaps])
check(len(by_path("/3/device/" + "e5" * 32)) == 1, "410: one request, not retried")
check(len(fcm_for("fcmgone")) == 1, "FCM UNREGISTERED: one request, not retried")
sys.exit(1 if failed else 0)
