#!/usr/bin/env python3
# A foreign listener for tests/e2e/sockdir.sh: listen on SOCKET, answer
# every connection with "PY" and close it, for SECONDS.
import os
import socket
import sys
import time

path, secs = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
s.settimeout(0.2)
end = time.time() + secs
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    try:
        c.sendall(b"PY")
    except OSError:
        pass  # a prober that hung up at once
    c.close()
