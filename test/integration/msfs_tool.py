#!/usr/bin/env python3
"""Helpers for the msfs integration tests (standard library only):
  png W H OUT            writes a W x H RGB PNG (a gradient)
  size FILE              prints "W H" of a PNG or JPEG file (exit 1 if neither)
  early PORT LENGTH      sends the headers of a POST with Content-Length LENGTH and no body;
                         prints the answer that comes (the server must not wait for the body)
  chunked PORT BYTES     sends a multipart upload of a BYTES-byte file as a chunked body, in
                         16 KiB chunks, and prints "sent N of M" then the answer: a server that
                         cuts the body answers before it was all sent
"""
import socket, struct, sys, time, zlib


def png(w, h, out):
    rows = b"".join(b"\0" + bytes(((x * 255 // max(w - 1, 1)) if c == 0 else
                                   (y * 255 // max(h - 1, 1)) if c == 1 else 128)
                                  for x in range(w) for c in range(3)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    open(out, "wb").write(data)


def size(path):
    b = open(path, "rb").read()
    if b[:8] == b"\x89PNG\r\n\x1a\n":
        w, h = struct.unpack(">II", b[16:24])
        return w, h
    if b[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(b):
            if b[i] != 0xFF:
                return None
            m = b[i + 1]
            ln = struct.unpack(">H", b[i + 2:i + 4])[0]
            if m in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", b[i + 5:i + 9])
                return w, h
            i += 2 + ln
    return None


def read_answer(s, timeout):
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionResetError):
        pass
    return got.decode("utf-8", "replace")


def early(port, length):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n"
               "Content-Type: multipart/form-data; boundary=xyz\r\n\r\n" % length).encode())
    t0 = time.time()
    ans = read_answer(s, 3)
    print("after %.2f s: %s" % (time.time() - t0, ans.replace("\r\n", " | ")))


def chunked(port, nbytes):
    head = (b"--xyz\r\nContent-Disposition: form-data; name=\"file0\"; filename=\"big.jpg\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n")
    body = head + b"\xab" * nbytes + b"\r\n--xyz--\r\n"
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: multipart/form-data; boundary=xyz\r\n\r\n")
    sent = 0
    s.setblocking(False)
    ans = ""
    try:
        while sent < len(body):
            part = body[sent:sent + 16384]
            s.setblocking(True)
            s.settimeout(2)
            s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            sent += len(part)
            s.setblocking(False)
            try:
                d = s.recv(65536)
                if d or d == b"":
                    ans = d.decode("utf-8", "replace")
                    break
            except BlockingIOError:
                pass
            time.sleep(0.002)
        else:
            s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    if not ans:
        s.setblocking(True)
        ans = read_answer(s, 3)
    print("sent %d of %d: %s" % (sent, len(body), ans.replace("\r\n", " | ")))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "png":
        png(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "size":
        r = size(sys.argv[2])
        if not r:
            sys.exit(1)
        print(r[0], r[1])
    elif cmd == "early":
        early(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "chunked":
        chunked(int(sys.argv[2]), int(sys.argv[3]))
