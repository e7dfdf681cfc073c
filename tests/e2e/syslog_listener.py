#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for syslogd in tests: bind a Unix datagram socket at PATH (as
/dev/log is) and append every datagram received to OUT, one per line, for
at most SECONDS (default 300). The agent sends there when the target has
XSPLICE_SYSLOG_SOCKET=PATH (docs/security.md, "Audit")."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 300.0
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.monotonic() + limit
with open(out, "ab", buffering=0) as f:
    while time.monotonic() < end:
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        f.write(data.rstrip(b"\n") + b"\n")
