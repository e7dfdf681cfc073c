#!/bin/bash
# Run every test: the normal build, then the ASan+UBSan build (the real-
# server test runs once, in the normal build). Counts individual checks
# (TAP lines, cmocka cases) and ends with the line "N passed, N failed".
set -uo pipefail
build=${1:-build}
asan=${2:-build-asan}
status=0

echo "== tests (normal build: $build)"
meson test -C "$build" --no-rebuild --print-errorlogs --no-suite stress-long || status=1
echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer ($asan)"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
meson test -C "$asan" --no-rebuild --print-errorlogs --no-suite real --no-suite stress-long --no-suite daemons --no-suite ansible --no-suite corpus || status=1

# The fuzz smoke run: each libFuzzer harness for 60 s from its seed corpus,
# both at once (scripts/fuzz.sh; a clang build in $FUZZ_BUILD).
fuzz_tap=$asan/fuzz-smoke.tap
if [ "${XSPLICE_FUZZ_SECONDS:-60}" != 0 ]; then
	echo "== fuzz smoke (${XSPLICE_FUZZ_SECONDS:-60} s per harness, in parallel)"
	FUZZ_TAP=$fuzz_tap "$(dirname "$0")/../scripts/fuzz.sh" "${XSPLICE_FUZZ_SECONDS:-60}" \
		"${FUZZ_BUILD:-build-fuzz}" || status=1
else
	rm -f "$fuzz_tap"
fi

python3 - "$fuzz_tap" "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
failures = []  # (test, what failed): repeated at the end, where CI's tail shows it
try:
    tap = open(sys.argv[1]).read()
    passed += len(re.findall(r"^ok\b(?!.*# SKIP)", tap, re.M))
    failed += len(re.findall(r"^not ok\b", tap, re.M))
    failures += [("fuzz smoke", l) for l in re.findall(r"^not ok\b.*$", tap, re.M)]
    skipped += len(re.findall(r"^1\.\.0 # SKIP", tap, re.M))
    failed += len(re.findall(r"^Bail out!", tap, re.M))  # the smoke run could not start
except OSError:
    pass
for path in sys.argv[2:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"missing {path}: counted as a failure")
        failed += 1
        failures.append((path, "missing: the test run did not finish"))
        continue
    for line in lines:
        t = json.loads(line)
        t["name"] = f"{path.split('/meson-logs')[0]}: {t['name']}"  # which build ran it
        out = t.get("stdout") or ""
        res = t.get("result")
        tap_ok = len(re.findall(r"^ok\b(?!.*# SKIP)", out, re.M))
        tap_skip = len(re.findall(r"^ok\b.*# SKIP", out, re.M))
        tap_bad = len(re.findall(r"^not ok\b", out, re.M))
        cm_ok = sum(int(n) for n in re.findall(r"^\[  PASSED  \] (\d+) test", out, re.M))
        cm_bad = sum(int(n) for n in re.findall(r"^\[  FAILED  \] (\d+) test", out, re.M))
        p, f, s = tap_ok + cm_ok, tap_bad + cm_bad, tap_skip
        if res == "SKIP":
            s = max(s, 1)
        elif res not in ("OK", "EXPECTEDFAIL") and f == 0:
            f = 1  # crashed or timed out before reporting its own failures
            tail = [l for l in (out + (t.get("stderr") or "")).splitlines() if l.strip()][-3:]
            failures.append((t["name"], f"{res} after {t.get('duration', 0):.0f} s; last output: "
                             + (" | ".join(tail) if tail else "(none)")))
        if f:
            failures += [(t["name"], l) for l in re.findall(r"^not ok\b.*$", out, re.M)]
            failures += [(t["name"], l) for l in re.findall(r"^\[  FAILED  \] (?!\d+ test).*$", out, re.M)]
        elif p + f + s == 0:
            p = 1  # a plain pass/fail test
        passed, failed, skipped = passed + p, failed + f, skipped + s
if failures:
    print("== what failed (the full output is in the logs above and in meson-logs/testlog.txt)")
    for name, what in failures:
        print(f"  {name}: {what[:400]}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $status -ne 0 ] && [ $rc -eq 0 ] && rc=1
exit $rc
