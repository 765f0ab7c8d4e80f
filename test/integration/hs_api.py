#!/usr/bin/env python3
"""A signed request to http_msg_server's /api/v1 (docs/HTTP_API.md); prints "STATUS BODY".
   hs_api.py PORT PATH KEY SECRET BODY [--method M] [--ts-offset S] [--nonce N] [--bad-sig]
             [--no-sig] [--raw]
   --raw prints the body as it came (by default spaces and newlines are taken out)."""
import argparse, hashlib, hmac, http.client, os, time

p = argparse.ArgumentParser()
for a in ("port", "path", "key", "secret", "body"):
    p.add_argument(a)
p.add_argument("--method", default="POST")
p.add_argument("--ts-offset", type=int, default=0)
p.add_argument("--nonce", default=None)
p.add_argument("--bad-sig", action="store_true")
p.add_argument("--no-sig", action="store_true")
p.add_argument("--raw", action="store_true")
o = p.parse_args()
body = os.fsencode(o.body)  # the bytes as given, even when not UTF-8
ts = str(int(time.time()) + o.ts_offset)
nonce = o.nonce or os.urandom(12).hex()
msg = "\n".join([o.method, o.path, ts, nonce, hashlib.sha256(body).hexdigest()]).encode()
sig = hmac.new(o.secret.encode(), msg, hashlib.sha256).hexdigest()
if o.bad_sig:
    sig = ("0" if sig[0] != "0" else "1") + sig[1:]
h = {"X-TT-Key": o.key, "X-TT-Timestamp": ts, "X-TT-Nonce": nonce,
     "Content-Type": "application/json"}
if not o.no_sig:
    h["X-TT-Signature"] = sig
c = http.client.HTTPConnection("127.0.0.1", int(o.port), timeout=10)
c.request(o.method, o.path, body=body, headers=h)
r = c.getresponse()
d = r.read().decode()
print(r.status, d if o.raw else d.replace("\n", "").replace(" ", ""))
