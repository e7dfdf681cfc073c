# A fake upstream DNS server for the dnsmasq case (harness/dnsmasq.sh):
# answers every A query with 10.9.8.7 (TTL 0) and an EDNS0 OPT record whose
# client-subnet option names 10.0.0.0/24, not the subnet dnsmasq sent
# (--add-subnet: the client's 127.0.0.0/24). RFC 7871 section 9.2 says such a
# reply must be discarded; dnsmasq's check (check_source) does that only
# when given the packet's length (CVE-2026-4893).
import socket
import struct
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    qid, flags = struct.unpack("!HH", q[:4])
    # the question: the name's labels, then type and class
    i = 12
    while i < len(q) and q[i]:
        i += 1 + q[i]
    question = q[12:i + 5]
    ecs = struct.pack("!HBB", 1, 24, 24) + bytes([10, 0, 0])
    opt = b"\x00" + struct.pack("!HHIH", 41, 4096, 0, 4 + len(ecs)) + \
        struct.pack("!HH", 8, len(ecs)) + ecs
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) + bytes([10, 9, 8, 7])
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1, 1, 0, 1)
    s.sendto(hdr + question + answer + opt, peer)
