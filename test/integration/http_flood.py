#!/usr/bin/env python3
"""Hostile and normal HTTP clients for it_http_limits.sh, on raw sockets. Each subcommand runs
one scenario against 127.0.0.1:PORT and prints its findings as key=value lines for the shell
to check (source addresses from 127/8 stand for other hosts)."""
import argparse
import os
import socket
import time


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def connect(port, src, blocking=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    if not blocking:
        s.setblocking(False)
    return s


def closed_by_peer(s):
    """True when the server closed s (end of stream or reset); data is read and dropped."""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def request(port, src, raw, timeout=5.0, chunk=None):
    """Sends raw (in pieces of chunk bytes when given), returns (status, body) or (None, b'')."""
    try:
        s = connect(port, src, blocking=True)
        s.settimeout(timeout)
        if chunk:
            for i in range(0, len(raw), chunk):
                s.sendall(raw[i:i + chunk])
        else:
            s.sendall(raw)
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
    except OSError:
        return None, b""
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        return None, b""
    return int(parts[1]), body


def slowloris(a):
    """n connections from src, each trickling one header byte every interval seconds; a normal
    request from probe_src meanwhile; at the end, how many the server had cut."""
    conns, refused = [], 0
    for _ in range(a.n):
        try:
            s = connect(a.port, a.src)
            s.send(b"GET " + a.path.encode() + b" HTTP/1.1\r\n")
            conns.append(s)
        except OSError:
            refused += 1
    time.sleep(1.0)
    # Closed without a word: refused at the accept. A 408: accepted, then cut at the deadline
    # (when connecting took longer than the deadline).
    alive, cut, cut_408 = [], 0, 0
    for s in conns:
        try:
            d = s.recv(4096)
            if d.startswith(b"HTTP/1.1 408"):
                cut += 1
                cut_408 += 1
            elif d:
                cut += 1
            else:
                refused += 1
            s.close()
        except BlockingIOError:
            alive.append(s)
        except OSError:
            refused += 1
            s.close()
    print(f"accepted={len(alive) + cut}")
    print(f"open_at_check={len(alive)}")
    print(f"refused={refused}")
    probe = request(a.port, a.probe_src, f"GET {a.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())[0]
    print(f"probe_other_addr={probe}")
    start, last = time.time(), 0.0
    while time.time() - start < a.hold and alive:
        now = time.time()
        if now - last >= a.interval:
            last = now
            for s in alive:
                try:
                    s.send(b"X")
                except OSError:
                    pass
        keep = []
        for s in alive:
            try:
                d = s.recv(4096)  # an answer (408) or the end: the server cut it
                if d.startswith(b"HTTP/1.1 408"):
                    cut_408 += 1
                cut += 1
                s.close()
            except BlockingIOError:
                keep.append(s)
            except OSError:
                cut += 1
                s.close()
        alive = keep
        time.sleep(0.05)
    print(f"cut={cut}")
    print(f"cut_408={cut_408}")
    print(f"still_open={len(alive)}")
    print(f"cut_after={time.time() - start:.1f}")
    probe = request(a.port, a.src, f"GET {a.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())[0]
    print(f"probe_same_addr={probe}")
    for s in alive:
        s.close()


def multipart_head(boundary, filename, ios=False):
    b = boundary.encode()
    head = b""
    if ios:  # AFNetworking: a text part first, no Content-Type in it
        head += (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n"
                 b"im_image\r\n")
    head += (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" +
             filename.encode() + b"\"\r\nContent-Type: image/jpeg\r\n\r\n")
    return head


def uploads(a):
    """n uploads (spread over the source addresses) that announce declared bytes, send send
    bytes of file data and stall; the daemon's peak VmRSS meanwhile."""
    srcs = a.srcs.split(",")
    boundary = "Boundary+0xAbCdEfGbOuNdArY"
    head = multipart_head(boundary, "image.png_640x480.png", ios=True)
    hdr = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
           f"boundary={boundary}\r\nContent-Length: {a.declared}\r\n\r\n").encode()
    block = os.urandom(65536)
    conns = []
    for i in range(a.n):
        s = connect(a.port, srcs[i % len(srcs)])
        conns.append([s, hdr + head, 0])  # socket, pending bytes, file bytes queued
    peak = rss_kb(a.pid)
    start = time.time()
    while time.time() - start < a.timeout:
        busy = False
        for c in conns:
            s = c[0]
            if s is None:
                continue
            if not c[1] and c[2] < a.send:
                n = min(len(block), a.send - c[2])
                c[1] = block[:n]
                c[2] += n
            if c[1]:
                busy = True
                try:
                    w = s.send(c[1])
                    c[1] = c[1][w:]
                except BlockingIOError:
                    pass
                except OSError:
                    c[0] = None
        peak = max(peak, rss_kb(a.pid))
        if not busy:
            break
    sent_s = time.time() - start
    time.sleep(1.0)
    peak = max(peak, rss_kb(a.pid))
    print(f"open={sum(1 for c in conns if c[0] is not None and not closed_by_peer(c[0]))}")
    print(f"sent_mib={sum(c[2] for c in conns) >> 20}")
    print(f"send_seconds={sent_s:.1f}")
    print(f"rss_peak_kb={peak}")
    if a.tmpdir:
        print(f"tmp_files={len(os.listdir(a.tmpdir))}")
    for c in conns:  # the clients vanish mid-upload
        if c[0] is not None:
            c[0].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c[0].close()


def upload(a):
    """One upload of file, iOS style, sent in small pieces; prints the answer body."""
    with open(a.file, "rb") as f:
        data = f.read()
    boundary = "Boundary+0xAbCdEfGbOuNdArY"
    body = (multipart_head(boundary, a.name, ios=True) + data + b"\r\n--" + boundary.encode() +
            b"--\r\n")
    raw = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\nContent-Type: multipart/form-data; "
           f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    status, answer = request(a.port, a.src, raw, timeout=30, chunk=a.chunk)
    print(f"status={status}")
    print(f"answer={answer.decode('utf-8', 'replace')}")


def bigbody(a):
    """A body of size bytes announced, nothing sent: the answer must come at once. Then n such
    requests with their whole body, spread over the source addresses; peak VmRSS meanwhile."""
    srcs = a.srcs.split(",")
    hdr = (f"POST /query/CreateGroup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           f"Content-Length: {a.size}\r\n\r\n").encode()
    t0 = time.time()
    status, _ = request(a.port, srcs[0], hdr, timeout=3)
    print(f"first_status={status}")
    print(f"first_seconds={time.time() - t0:.2f}")
    body = b"{" + b" " * (a.size - 2) + b"}"
    conns, statuses = [], {}
    peak = rss_kb(a.pid)
    for i in range(a.n):
        s = connect(a.port, srcs[i % len(srcs)])
        conns.append([s, hdr + body, b""])
    start = time.time()
    while time.time() - start < a.timeout and any(c[0] for c in conns):
        for c in conns:
            s = c[0]
            if s is None:
                continue
            if c[1]:
                try:
                    w = s.send(c[1][:262144])
                    c[1] = c[1][w:]
                except BlockingIOError:
                    pass
                except OSError:
                    c[1] = b""
            try:
                d = s.recv(65536)
                if d:
                    c[2] += d
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            st = c[2].split(b" ", 2)[1].decode() if c[2].startswith(b"HTTP/") else "none"
            statuses[st] = statuses.get(st, 0) + 1
            s.close()
            c[0] = None
        peak = max(peak, rss_kb(a.pid))
    print("statuses=" + ",".join(f"{k}:{v}" for k, v in sorted(statuses.items())))
    print(f"rss_peak_kb={peak}")
    for c in conns:
        if c[0] is not None:
            c[0].close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("slowloris")
    s.add_argument("port", type=int)
    s.add_argument("--path", default="/")
    s.add_argument("--src", default="127.0.0.1")
    s.add_argument("--probe-src", default="127.0.0.2")
    s.add_argument("--n", type=int, default=100)
    s.add_argument("--interval", type=float, default=1.0)
    s.add_argument("--hold", type=float, default=10.0)
    s = sub.add_parser("uploads")
    s.add_argument("port", type=int)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--srcs", default="127.0.0.20,127.0.0.21,127.0.0.22,127.0.0.23")
    s.add_argument("--n", type=int, default=100)
    s.add_argument("--declared", type=int, default=8 << 20)
    s.add_argument("--send", type=int, default=4 << 20)
    s.add_argument("--timeout", type=float, default=120)
    s.add_argument("--tmpdir")
    s = sub.add_parser("upload")
    s.add_argument("port", type=int)
    s.add_argument("--file", required=True)
    s.add_argument("--name", default="image.png_640x480.png")
    s.add_argument("--src", default="127.0.0.3")
    s.add_argument("--chunk", type=int, default=1000)
    s = sub.add_parser("bigbody")
    s.add_argument("port", type=int)
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--srcs", default=",".join(f"127.0.0.{i}" for i in range(30, 40)))
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--size", type=int, default=1 << 20)
    s.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    {"slowloris": slowloris, "uploads": uploads, "upload": upload, "bigbody": bigbody}[a.cmd](a)


if __name__ == "__main__":
    main()
