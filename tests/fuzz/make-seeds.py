#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed corpora for the fuzz harnesses (kept in the repository, made once):

  make-seeds.py protocol DIR            one valid frame per request op and
                                        per reply op (fuzz_protocol.c's
                                        input: direction byte + frame)
  make-seeds.py upload DIR PAYLOAD...   each payload with each mode byte of
                                        fuzz_upload.c (depends on the
                                        target, on A, on S; fresh build-id)
"""
import os
import struct
import sys

MAGIC = 0x4C505358


def frame(direction, op, body):
    return bytes([direction]) + struct.pack("<IHHII", MAGIC, 1, op, len(body), 0) + body


def s(b):
    return struct.pack("<H", len(b)) + b


def protocol(d):
    elf = b"\x7fELF" + b"\0" * 60
    reqs = {
        "rq-upload": frame(0, 0, s(b"hello") + struct.pack("<I", len(elf)) + elf),
        "rq-get": frame(0, 1, s(b"hello")),
        "rq-list": frame(0, 2, struct.pack("<III", 1, 0, 64)),
        "rq-action-apply": frame(0, 3, s(b"hello") + struct.pack("<II", 3, 0)),
        "rq-action-cancel": frame(0, 3, s(b"hello") + struct.pack("<II", 5, 1000)),
        "rq-info": frame(0, 4, b""),
    }
    ok = struct.pack("<i", 0) + s(b"")
    bid = b"2dcd01c5608489e5ef6729573614051acb50e892"
    func = s(b"extra_version") + struct.pack("<QQIII", 0x401000, 0x7f0000001000, 16, 8, 1)
    payload = (s(b"hello") + struct.pack("<Ii", 2, 0) + s(b"") + s(bid) + s(bid) +
               s(b"/usr/bin/demo") + struct.pack("<QQI", 0x7f0000000000, 4096, 1) + func)
    info = (struct.pack("<I", 1234) + s(b"0.1.0") + struct.pack("<IQQQII", 40, 1, 2, 3, 4, 1) +
            struct.pack("<I", 1) + s(b"/usr/bin/demo") + s(bid) + struct.pack("<Q", 0x400000) +
            struct.pack("<I", 1) + payload)
    rec = (struct.pack("<QII", 1700000000000000000, 4321, 0) + s(b"upload") + s(b"hello") +
           s(bid) + s(b"/CN=signer") + struct.pack("<i", 0) + s(b""))
    rec2 = (struct.pack("<QII", 1700000000000000001, 4321, 0) + s(b"apply-done") + s(b"hello") +
            s(bid) + s(b"unsigned") + struct.pack("<i", -16) + s(b"busy"))
    audit = struct.pack("<I", 2) + rec + rec2
    reps = {
        "rs-upload": frame(1, 0x8000, ok[:4]),
        "rs-error": frame(1, 0x8000, struct.pack("<i", -22) + s(b"bad payload")),
        "rs-get": frame(1, 0x8001, ok[:4] + struct.pack("<Ii", 2, 0) + s(b"")),
        "rs-list": frame(1, 0x8002, ok[:4] + struct.pack("<III", 7, 1, 0) + s(b"hello") +
                         struct.pack("<Ii", 1, 0)),
        "rs-action": frame(1, 0x8003, ok[:4]),
        "rs-info": frame(1, 0x8004, ok[:4] + info),
        "rs-info-audit": frame(1, 0x8004, ok[:4] + info + struct.pack("<HI", 1, len(audit)) + audit),
    }
    for name, b in {**reqs, **reps}.items():
        open(os.path.join(d, name), "wb").write(b)


def upload(d, payloads):
    for p in payloads:
        data = open(p, "rb").read()
        base = os.path.basename(p).rsplit(".", 1)[0]
        for mode in (4, 5, 6, 7):
            open(os.path.join(d, "%s-mode%d" % (base, mode)), "wb").write(bytes([mode]) + data)


if sys.argv[1] == "protocol":
    protocol(sys.argv[2])
else:
    upload(sys.argv[2], sys.argv[3:])
