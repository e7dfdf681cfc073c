#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Static check of the agent's critical path: which PLT entries (calls into
other objects: libc, and whatever a payload may patch) can a function reach
through direct calls and jumps inside libxsplice.so?

    plt_check.py LIBXSPLICE.SO FUNC[:after=CALLEE] ...

For each FUNC prints one line
    FUNC plt=NAME,NAME,... sanitizer=N indirect=N
where plt lists the PLT entries reachable from FUNC (following direct
calls/jumps to local functions, including their .cold parts), sanitizer
counts reachable calls into the ASan/UBSan runtime (instrumentation, listed
apart), indirect counts indirect calls. FUNC:after=CALLEE only looks at the
code of FUNC placed after its call to CALLEE, and does not follow CALLEE
(the recording part of the park handler). Exit 2 if a function is missing.
"""
import re
import subprocess
import sys

SANITIZER = ("__asan_", "__ubsan_", "__sanitizer_", "__tsan_", "__msan_")


def parse(so):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", so], check=True,
                         capture_output=True, text=True).stdout
    funcs, cur = {}, None
    head = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
    for line in out.splitlines():
        m = head.match(line)
        if m:
            cur = m.group(2)
            funcs[cur] = []
            continue
        if cur is None or not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        addr = int(parts[0].strip().rstrip(":"), 16)
        funcs[cur].append((addr, parts[1].strip()))
    return funcs


target_re = re.compile(r"^(call|jmp|j[a-z]+)\s+[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>")


def reach(funcs, root, after=None):
    plt, san, indirect = set(), 0, 0
    seen, todo = set(), [(root, after)]
    while todo:
        fn, aft = todo.pop()
        if (fn, aft) in seen or fn not in funcs:
            continue
        seen.add((fn, aft))
        if fn + ".cold" in funcs:
            todo.append((fn + ".cold", None))
        insns = funcs[fn]
        if aft:
            idx = [i for i, (_, t) in enumerate(insns)
                   if re.match(r"^call\s+[0-9a-f]+ <%s>" % re.escape(aft), t)]
            if not idx:
                continue
            insns = insns[idx[-1] + 1:]
        for _, text in insns:
            if re.match(r"^(call|jmp)\s+\*", text) and not text.startswith("jmp    *0x"):
                indirect += text.startswith("call")
                continue
            m = target_re.match(text)
            if not m:
                continue
            name = m.group(2)
            if name.endswith("@plt"):
                sym = name[:-4]
                if sym.startswith(SANITIZER):
                    san += 1
                else:
                    plt.add(sym)
            elif name != fn and name != aft:
                todo.append((name, None))
    return plt, san, indirect


def main():
    funcs = parse(sys.argv[1])
    rc = 0
    for arg in sys.argv[2:]:
        fn, _, opt = arg.partition(":")
        after = opt[len("after="):] if opt.startswith("after=") else None
        if fn not in funcs:
            print("%s missing" % fn)
            rc = 2
            continue
        plt, san, ind = reach(funcs, fn, after)
        print("%s plt=%s sanitizer=%d indirect=%d" % (fn, ",".join(sorted(plt)), san, ind))
    return rc


if __name__ == "__main__":
    sys.exit(main())
