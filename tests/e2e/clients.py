#!/usr/bin/env python3
# Misbehaving clients for tests/e2e/clients.sh (bounded in time):
#
#   clients.py SOCKET hog SECONDS        send INFO requests without ever
#                                        reading a reply, then hold on
#   clients.py SOCKET idle N SECONDS READY  open N connections, send nothing,
#                                        create READY, hold them; print how
#                                        many the agent closed
import os
import socket
import struct
import sys
import time

MAGIC = 0x4C505358
OP_INFO = 4


def frame(op, body):
    return struct.pack("<IHHII", MAGIC, 1, op, len(body), 0) + body


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "hog":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(path)
        s.setblocking(False)
        req = frame(OP_INFO, b"")
        for _ in range(20000):
            try:
                s.send(req)
            except BlockingIOError:
                break
            except OSError:
                break
        time.sleep(float(sys.argv[3]))
        return 0
    if mode == "idle":
        n, secs, ready = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socks.append(s)
        open(ready, "w").close()
        end = time.time() + secs
        closed = set()
        while time.time() < end and len(closed) < n:
            for i, s in enumerate(socks):
                if i in closed:
                    continue
                s.settimeout(0.05)
                try:
                    data = s.recv(4096)
                    if not data:
                        closed.add(i)
                except socket.timeout:
                    pass
                except OSError:
                    closed.add(i)
        print("closed %d" % len(closed))
        return 0
    return 2


sys.exit(main())
