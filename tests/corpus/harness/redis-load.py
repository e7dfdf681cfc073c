# One load batch for the Redis cases (harness/redis.sh): N pipelined
# SET/GET pairs of values whose answers are known, over RESP; prints
# "OK BAD" (pairs answered right / wrong).
import os
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
tag = os.urandom(4).hex()


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


s = socket.create_connection(("127.0.0.1", port), timeout=20)
req = b"".join(cmd("SET", "xsl:%s:%d" % (tag, i), "v%d-%s" % (i * 7919, tag)) +
               cmd("GET", "xsl:%s:%d" % (tag, i)) for i in range(n))
req += cmd("UNLINK", *["xsl:%s:%d" % (tag, i) for i in range(n)])
s.sendall(req)
f = s.makefile("rb")


def reply():
    line = f.readline()
    if line[:1] == b"$":
        size = int(line[1:])
        return None if size < 0 else f.read(size + 2)[:-2].decode()
    return line[:-2].decode()


ok = bad = 0
for i in range(n):
    r1, r2 = reply(), reply()
    if r1 == "+OK" and r2 == "v%d-%s" % (i * 7919, tag):
        ok += 1
    else:
        bad += 1
reply()
print(ok, bad)
