#!/usr/bin/env python3
# Send one malformed (or valid) request to an xsplice agent socket and say
# what came back, for tests/e2e/bad_input.sh.
#
#   badproto.py SOCKET CASE
#
# Prints one line per reply: "reply op=0x8001 ret=-71 reason=..." then
# "closed" when the agent closed the connection, or "open" when it kept it
# open (no more data within the wait), and exits 0. Everything is bounded.
import socket
import struct
import sys
import time

MAGIC = 0x4C505358
OP_UPLOAD, OP_GET, OP_LIST, OP_ACTION, OP_INFO = 0, 1, 2, 3, 4


def header(op, length, magic=MAGIC, version=1, flags=0):
    return struct.pack("<IHHII", magic, version, op, length, flags)


def s(b):
    return struct.pack("<H", len(b)) + b


def frame(op, body, **kw):
    return header(op, len(body), **kw) + body


def get(name):
    return frame(OP_GET, s(name))


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_reply(sock):
    """A reply frame as (op, ret, reason), or None when closed."""
    h = recv_exact(sock, 16)
    if h is None:
        return None
    magic, version, op, length, flags = struct.unpack("<IHHII", h)
    body = recv_exact(sock, length) if length else b""
    if body is None:
        return None
    ret = struct.unpack_from("<i", body, 0)[0] if len(body) >= 4 else None
    reason = ""
    if ret and len(body) >= 6:
        n = struct.unpack_from("<H", body, 4)[0]
        reason = body[6:6 + n].decode("utf-8", "replace")
    return (op, ret, reason)


def report(sock, wait=6.0, replies=1):
    """Print the replies, then whether the connection closed."""
    sock.settimeout(wait)
    try:
        for _ in range(replies):
            r = read_reply(sock)
            if r is None:
                print("closed")
                return
            print("reply op=0x%04x ret=%s reason=%s" % r)
        # Anything more? A closed connection reads as EOF at once.
        sock.settimeout(0.5)
        print("closed" if sock.recv(1) == b"" else "extra-data")
    except socket.timeout:
        print("open")
    except (ConnectionResetError, BrokenPipeError):
        print("closed")


def main():
    path, case = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)

    def send(data):
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the agent closed: report() reads the end of stream

    if case == "garbage":
        # deterministic pseudo-random bytes
        x, out = 12345, bytearray()
        for _ in range(256):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            out.append(x >> 16 & 0xFF)
        send(bytes(out))
        report(sock)
    elif case == "text":
        send(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        report(sock)
    elif case == "bad-magic":
        send(frame(OP_GET, s(b"hello"), magic=0xDEADBEEF))
        report(sock)
    elif case == "bad-version":
        send(frame(OP_GET, s(b"hello"), version=2))
        report(sock)
    elif case == "bad-flags":
        send(frame(OP_GET, s(b"hello"), flags=1))
        report(sock)
    elif case == "huge-length":
        send(header(OP_UPLOAD, 0xFFFFFFFF))
        report(sock)
    elif case == "unknown-op":
        send(frame(99, b""))
        report(sock)
    elif case == "reply-op":
        send(frame(OP_GET | 0x8000, s(b"hello")))
        report(sock)
    elif case == "truncated-body":
        # Header promises 100 bytes; 10 come, then the client goes away.
        send(header(OP_UPLOAD, 100) + b"\x05\x00hello")
        sock.shutdown(socket.SHUT_WR)
        report(sock)
    elif case == "truncated-header":
        send(header(OP_GET, 7)[:9])
        sock.shutdown(socket.SHUT_WR)
        report(sock)
    elif case == "malformed-body":
        # GET whose name claims 500 bytes but has 3; then a valid GET on the
        # same connection must still be answered (frame boundaries kept).
        send(frame(OP_GET, struct.pack("<H", 500) + b"abc"))
        send(get(b"nosuch"))
        report(sock, replies=2)
    elif case == "trailing-bytes":
        send(frame(OP_GET, s(b"hello") + b"xx"))
        report(sock)
    elif case == "empty-name":
        send(frame(OP_GET, s(b"")))
        report(sock)
    elif case == "nul-in-name":
        send(frame(OP_GET, s(b"hel\0lo")))
        report(sock)
    elif case == "long-name":
        send(frame(OP_UPLOAD, s(b"n" * 128) + struct.pack("<I", 4) + b"\x7fELF"))
        report(sock)
    elif case == "list-e2big":
        send(frame(OP_LIST, struct.pack("<III", 0, 0, 65)))
        report(sock)
    elif case == "unknown-action":
        send(frame(OP_ACTION, s(b"hello") + struct.pack("<II", 9, 0)))
        report(sock)
    elif case == "blob-overrun":
        # UPLOAD whose blob length says 1 MiB but the frame holds 8 bytes.
        send(frame(OP_UPLOAD, s(b"x") + struct.pack("<I", 1 << 20) + b"\x7fELF\x02\x01\x01\x00"))
        report(sock)
    elif case == "empty-upload":
        send(frame(OP_UPLOAD, s(b"x") + struct.pack("<I", 0)))
        report(sock)
    elif case == "valid-get":
        send(get(b"nosuch"))
        report(sock)
    elif case == "hold":
        # Keep a connection open, silent, until stdin closes.
        print("held", flush=True)
        sys.stdin.read()
    elif case == "stall-body":
        # A header, then nothing: the agent must not wait forever.
        send(header(OP_GET, 100))
        t = time.monotonic()
        report(sock, wait=30)
        print("after %.1f s" % (time.monotonic() - t))
    else:
        print("unknown case", case)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
