#!/usr/bin/python3
"""Checks what h2_stand.py recorded for it_push_e2e.sh (one "ok:"/"FAIL:" line per check):
every request of the run in order per device, well-formed (APNs: path, headers, the ES256 JWT
against the test key, body with alert and badge; FCM: path, bearer from the stand-in's token
endpoint, body), and nothing else.
usage: push_e2e_check.py LOG APNS_PUB_PEM GID
The tokens are it_push_e2e.c's. Run with /usr/bin/python3."""
import json
import sys
import time

from cryptography.hazmat.primitives import serialization

from push_jwt import verify_es256

LOG, APNS_PUB, GID = sys.argv[1], sys.argv[2], int(sys.argv[3])
failed = 0


def check(ok, what, detail=None):
    """detail (shown on failure only) is what was seen."""
    global failed
    print("%s: %s%s" % ("ok" if ok else "FAIL", what, "" if ok or detail is None else
                        " (%s)" % (detail,)))
    failed += not ok


def apns_token(u):
    return "".join("0123456789abcdef"[(u * 5 + i) % 16] for i in range(64))


SINGLE = '{"msg_type":1,"from_id":1}'
GROUP = '{"msg_type":17,"from_id":1,"group_id":%d}' % GID
# per device: (text or None for a silent push, badge, custom data, status answered)
WANT = {
    ("apns", apns_token(2)): [("hello ios", 1, SINGLE, 200), ("group hi", 2, GROUP, 200),
                              ("after the gone ones", 3, SINGLE, 200),
                              ("push is back", 10, SINGLE, 200)],
    ("fcm", "fcm-three"): [("hello android", 1, SINGLE, 200), ("group hi", 2, GROUP, 200),
                           ("push is back", 4, SINGLE, 200)],
    ("apns", apns_token(4)): [(None, 1, SINGLE, 200), (None, 2, GROUP, 200)],
    ("apns", apns_token(7)): [("to a gone phone", 1, SINGLE, 410)],
    ("fcm", "fcm-gone-eight"): [("to a gone android", 1, SINGLE, 404)],
}

reqs = [json.loads(line) for line in open(LOG)]
apns_pub = serialization.load_pem_public_key(open(APNS_PUB, "rb").read())
now = time.time()
seen = {}
tokens = [r for r in reqs if r["path"] == "/token"]
check(len(tokens) == 2 and all(r["status"] == 200 for r in tokens),
      "two OAuth token requests, one per push_server life (%d)" % len(tokens))
for r in reqs:
    if r["path"] == "/token":
        continue
    if r["path"].startswith("/3/device/"):
        seen.setdefault(("apns", r["path"][10:]), []).append(r)
    elif r["path"] == "/v1/projects/tt-test/messages:send":
        seen.setdefault(("fcm", json.loads(r["body"])["message"]["token"]), []).append(r)
    else:
        check(False, "unexpected request %s" % r["path"])
check(set(seen) == set(WANT), "requests for exactly the expected devices")

for dev, want in WANT.items():
    got = seen.get(dev, [])
    check(len(got) == len(want), "%s %s...: %d requests (%d)" % (dev[0], dev[1][:12], len(want),
                                                                 len(got)))
    for r, (text, badge, custom, status) in zip(got, want):
        what = "%s %s... %s" % (dev[0], dev[1][:12], "'%s'" % text if text else "silent")
        h = r["headers"]
        check(r["method"] == "POST" and r["status"] == status,
              what + ": POST, answered %d" % status, (r["method"], r["status"]))
        if dev[0] == "apns":
            auth = h.get("authorization", "")
            hdr, claims, ok = verify_es256(auth[7:], apns_pub) if auth.startswith("bearer ") \
                else ({}, {}, False)
            check(ok and hdr == {"alg": "ES256", "kid": "KEYID12345"} and
                  claims.get("iss") == "TEAMID6789" and abs(claims.get("iat", 0) - now) < 600,
                  what + ": the JWT verifies against the test key", (hdr, claims))
            check(h.get("apns-topic") == "com.example.tt" and h.get("apns-push-type") == "alert"
                  and h.get("apns-priority") == ("5" if text is None else "10") and
                  abs(int(h.get("apns-expiration", "0")) - (r["t"] + 3600)) < 60,
                  what + ": apns-topic, -push-type, -priority, -expiration", h)
            body = {"aps": {"badge": badge}, "custom": custom}
            if text is not None:
                body["aps"].update({"alert": {"body": "User 001:" + text}, "sound": "default"})
            check(json.loads(r["body"]) == body, what + ": body", r["body"])
        else:
            check(h.get("authorization") in ("Bearer at-1", "Bearer at-2"),
                  what + ": bearer from the token endpoint (%s)" % h.get("authorization"))
            m = {"token": dev[1], "data": {"custom": custom, "badge": str(badge)},
                 "android": {"priority": "high"}, "notification": {"body": "User 001:" + text}}
            check(json.loads(r["body"])["message"] == m, what + ": body", r["body"])
fcm = seen.get(("fcm", "fcm-three"), [])
if fcm:
    check(fcm[-1]["headers"].get("authorization") == "Bearer at-2" and
          fcm[0]["headers"].get("authorization") == "Bearer at-1",
          "the restarted push_server fetched its own access token")
sys.exit(1 if failed else 0)
