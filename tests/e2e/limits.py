#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw clients for tests/e2e/limits.sh (wire format: docs/protocol.md).

  limits.py SOCKET big-get            GET whose header announces 5000 bytes
  limits.py SOCKET big-get-many N     that N times, one connection each
  limits.py SOCKET rate N             N ACTIONs (on no payload) pipelined on
                                      one connection, then a GET a second later
  limits.py SOCKET inflight LEN       two UPLOADs of LEN bytes at once: the
                                      first holds its body half sent
  limits.py SOCKET upload-killed FILE send an UPLOAD of FILE half way, then
                                      the process kills itself (SIGKILL)

Prints one line per reply ("reply op=0x.... ret=N reason=...") and for
rate a summary "ok=A eagain=B other=C". Everything is bounded in time."""
import os
import signal
import socket
import struct
import sys
import time

MAGIC = 0x4C505358
OP_UPLOAD, OP_GET, OP_ACTION = 0, 1, 3


def header(op, length):
    return struct.pack("<IHHII", MAGIC, 1, op, length, 0)


def s(b):
    return struct.pack("<H", len(b)) + b


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_reply(sock):
    h = recv_exact(sock, 16)
    if h is None:
        return None
    _, _, op, length, _ = struct.unpack("<IHHII", h)
    body = recv_exact(sock, length) if length else b""
    if body is None:
        return None
    ret = struct.unpack_from("<i", body, 0)[0]
    reason = ""
    if ret and len(body) >= 6:
        n = struct.unpack_from("<H", body, 4)[0]
        reason = body[6:6 + n].decode("utf-8", "replace")
    return (op, ret, reason)


def connect(path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(path)
    return c


def reply_or_closed(sock):
    try:
        return read_reply(sock)
    except (ConnectionResetError, BrokenPipeError):
        return None


def show(r):
    print("closed" if r is None else "reply op=0x%04x ret=%s reason=%s" % r, flush=True)


def main():
    path, case = sys.argv[1], sys.argv[2]
    if case == "big-get":
        c = connect(path)
        c.sendall(header(OP_GET, 5000) + s(b"x") + b"\0" * 4997)
        show(reply_or_closed(c))
        show(reply_or_closed(c))
    elif case == "big-get-many":
        refused = 0
        for _ in range(int(sys.argv[3])):
            c = connect(path)
            c.sendall(header(OP_GET, 5000))
            r = reply_or_closed(c)
            refused += r is not None and r[1] == -90
            c.close()
        print("refused=%d" % refused)
    elif case == "rate":
        n = int(sys.argv[3])
        c = connect(path)
        act = s(b"nosuch") + struct.pack("<II", 3, 0)  # ACTION apply nosuch
        c.sendall((header(OP_ACTION, len(act)) + act) * n)
        ok = eagain = other = 0
        last = ""
        for _ in range(n):
            r = read_reply(c)
            if r is None:
                break
            if r[1] == -2:
                ok += 1
            elif r[1] == -11:
                eagain += 1
                last = r[2]
            else:
                other += 1
        print("ok=%d eagain=%d other=%d" % (ok, eagain, other))
        print("reason=" + last)
        time.sleep(1.1)
        c.sendall(header(OP_GET, 8) + s(b"nosuch"))
        show(reply_or_closed(c))
    elif case == "inflight":
        n = int(sys.argv[3])
        body = s(b"held") + struct.pack("<I", n) + b"\0" * n
        a = connect(path)
        a.sendall(header(OP_UPLOAD, len(body)) + body[: len(body) // 2])
        time.sleep(0.3)
        b = connect(path)
        b.sendall(header(OP_UPLOAD, len(body)))
        show(reply_or_closed(b))
        a.sendall(body[len(body) // 2:])
        show(reply_or_closed(a))  # served: an all-zero "ELF" is refused by the parser
    elif case == "upload-killed":
        data = open(sys.argv[3], "rb").read()
        body = s(b"killed") + struct.pack("<I", len(data)) + data
        c = connect(path)
        c.sendall(header(OP_UPLOAD, len(body)) + body[: len(body) // 2])
        print("sent-half", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        print("unknown case " + case)
        sys.exit(2)


main()
