#!/usr/bin/python3
"""A local HTTP/2 (TLS, ALPN h2) stand-in for APNs and FCM in the push tests.

usage: h2_stand.py PORT CERT KEY LOG SCRIPT [CLIENT_CA]
Every request is appended to LOG as one JSON line: method, path, headers, body. Answers:
  POST /token                      OAuth2 token endpoint: {"access_token":"at-<n>",...}
  POST /3/device/<token>           APNs
  POST /v1/projects/<p>/messages:send   FCM (the token is read from the body)
SCRIPT is a JSON object: token -> list of statuses, used in turn (the last one repeats);
unknown tokens get 200 (the key "/token" scripts the token endpoint). A status "stall:<s>"
sleeps s seconds before answering 200 (it stalls that connection). With CLIENT_CA, client
certificates signed by it are asked for (optional) and the subject CN of the one presented is
recorded as "client_cn". 410 / 404 come with the providers' "unregistered" bodies, 401 with
UNAUTHENTICATED, 429 with retry-after: 1. Run with /usr/bin/python3 (python3-h2)."""
import json
import socket
import ssl
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events

PORT, CERT, KEY, LOG, SCRIPT = sys.argv[1:6]
CLIENT_CA = sys.argv[6] if len(sys.argv) > 6 else None
lock = threading.Lock()
used = {}
tokens_issued = [0]


def status_for(token):
    try:
        with open(SCRIPT) as f:
            script = json.load(f)
    except (OSError, ValueError):
        script = {}
    seq = script.get(token, [200])
    with lock:
        n = used.get(token, 0)
        used[token] = n + 1
    return seq[min(n, len(seq) - 1)]


def answer(path, body):
    """(status, headers, body bytes) for a request."""
    if path == "/token":
        st = status_for("/token")
        if st != 200:
            return st, [], b'{"error":"temporarily_unavailable"}'
        with lock:
            tokens_issued[0] += 1
            n = tokens_issued[0]
        return 200, [], json.dumps({"access_token": "at-%d" % n, "expires_in": 3600,
                                    "token_type": "Bearer"}).encode()
    fcm = path.startswith("/v1/projects/")
    if fcm:
        try:
            token = json.loads(body)["message"]["token"]
        except (ValueError, KeyError, TypeError):
            return 400, [], b'{"error":{"code":400,"status":"INVALID_ARGUMENT"}}'
    else:
        token = path.rsplit("/", 1)[-1]
    st = status_for(token)
    if isinstance(st, str) and st.startswith("stall:"):
        time.sleep(float(st[6:]))
        st = 200
    extra = []
    if st == 429:
        extra = [("retry-after", "1")]
    if st == 200:
        out = b'{"name":"projects/p/messages/1"}' if fcm else b""
    elif st in (410, 404):
        out = (b'{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":'
               b'"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":'
               b'"UNREGISTERED"}]}}' if fcm else b'{"reason":"Unregistered","timestamp":1}')
    else:
        out = b'{"reason":"ServiceUnavailable"}'
    return st, extra, out


def serve(sock):
    cn = None
    peer = sock.getpeercert()
    for rdn in (peer or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    streams = {}
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if not data:
            return
        try:
            events = conn.receive_data(data)
        except Exception:
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                streams[ev.stream_id] = {"headers": [(k.decode() if isinstance(k, bytes) else k,
                                                      v.decode() if isinstance(v, bytes) else v)
                                                     for k, v in ev.headers], "body": b""}
            elif isinstance(ev, h2.events.DataReceived):
                streams[ev.stream_id]["body"] += ev.data
                conn.acknowledge_received_data(len(ev.data), ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                s = streams.pop(ev.stream_id)
                h = dict(s["headers"])
                rec = {"method": h.get(":method"), "path": h.get(":path"),
                       "headers": {k: v for k, v in s["headers"] if not k.startswith(":")},
                       "body": s["body"].decode("utf-8", "replace"), "t": time.time(), "client_cn": cn}
                st, extra, out = answer(rec["path"], s["body"])
                rec["status"] = st
                with lock:
                    with open(LOG, "a") as f:
                        f.write(json.dumps(rec) + "\n")
                conn.send_headers(ev.stream_id, [(":status", str(st)),
                                                 ("content-length", str(len(out)))] + extra,
                                  end_stream=not out)
                if out:
                    conn.send_data(ev.stream_id, out, end_stream=True)
        try:
            sock.sendall(conn.data_to_send())
        except OSError:
            return


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if CLIENT_CA:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(CLIENT_CA)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(PORT)))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        try:
            c = ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            c.close()
            continue
        if c.selected_alpn_protocol() != "h2":
            c.close()
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
