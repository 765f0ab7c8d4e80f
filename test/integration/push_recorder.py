#!/usr/bin/env python3
"""A stand-in for push_server in tests: listens on a port, runs the acceptor side of the
daemon handshake (base/tt_auth.h) when a secret is given, answers heartbeats, and writes one
JSON line per IMPushToUserReq (0x070f) it receives to the output file:
  {"flash": str, "data": str, "tokens": [{"user_id", "user_type", "token", "push_count",
   "push_type"}]}
and answers each with an empty IMPushToUserRsp (0x0710).
Usage: push_recorder.py PORT OUTFILE [SECRET]. Standard library only."""
import hashlib
import hmac
import json
import os
import selectors
import socket
import struct
import sys

SID_OTHER, HEARTBEAT, HELLO, PROOF = 0x0007, 0x0701, 0x07F0, 0x07F1
PUSH_REQ, PUSH_RSP = 0x070F, 0x0710
LABEL_C = b"teamtalk-c daemon auth v1 connector"
LABEL_A = b"teamtalk-c daemon auth v1 acceptor"


def frame(sid, cid, body=b"", seq=0):
    return struct.pack(">IHHHHHH", 16 + len(body), 1, 0, sid, cid, seq, 0) + body


def varint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, v))
    return out


def push_req(body):
    r = {"flash": "", "data": "", "tokens": []}
    for num, v in fields(body):
        if num == 1:
            r["flash"] = v.decode("utf-8")
        elif num == 2:
            r["data"] = v.decode("utf-8")
        elif num == 3:
            t = {}
            for n2, v2 in fields(v):
                name = {1: "user_id", 2: "user_type", 3: "token", 4: "push_count",
                        5: "push_type"}.get(n2)
                if name:
                    t[name] = v2.decode() if name == "token" else v2
            r["tokens"].append(t)
    return r


class Conn:
    def __init__(self, sock, secret):
        self.sock, self.secret, self.buf = sock, secret, b""
        self.authed = secret is None
        self.nonce = os.urandom(32)
        self.peer_nonce = None
        if secret is not None:
            sock.sendall(frame(SID_OTHER, HELLO, b"TTA1" + self.nonce))

    def pdus(self):
        while len(self.buf) >= 16:
            length, _, _, sid, cid, seq, _ = struct.unpack(">IHHHHHH", self.buf[:16])
            if length < 16 or len(self.buf) < length:
                return
            body, self.buf = self.buf[16:length], self.buf[length:]
            yield sid, cid, seq, body


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    secret = sys.argv[3].encode() if len(sys.argv) > 3 and sys.argv[3] else None
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    f = open(out, "a", buffering=1)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                s, _ = ls.accept()
                sel.register(s, selectors.EVENT_READ, Conn(s, secret))
                continue
            c = key.data
            try:
                data = c.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(c.sock)
                c.sock.close()
                continue
            c.buf += data
            for sid, cid, seq, body in c.pdus():
                if cid == HELLO and not c.authed and len(body) == 36:
                    c.peer_nonce = body[4:]
                    mac = hmac.new(c.secret, LABEL_A + c.peer_nonce + c.nonce,
                                   hashlib.sha256).digest()
                    c.sock.sendall(frame(SID_OTHER, PROOF, mac))
                elif cid == PROOF and not c.authed and c.peer_nonce is not None:
                    want = hmac.new(c.secret, LABEL_C + c.peer_nonce + c.nonce,
                                    hashlib.sha256).digest()
                    if not hmac.compare_digest(want, body):
                        print("push_recorder: bad proof", file=sys.stderr)
                        sel.unregister(c.sock)
                        c.sock.close()
                        break
                    c.authed = True
                elif not c.authed:
                    continue
                elif cid == HEARTBEAT:
                    c.sock.sendall(frame(SID_OTHER, HEARTBEAT))
                elif cid == PUSH_REQ:
                    f.write(json.dumps(push_req(body), ensure_ascii=False) + "\n")
                    c.sock.sendall(frame(SID_OTHER, PUSH_RSP, b"", seq))


if __name__ == "__main__":
    main()
