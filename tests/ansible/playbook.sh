#!/bin/bash
# The Ansible collection xsplice.livepatch (issue 13), driven the way users
# drive it: ansible-playbook from Debian's ansible-core against localhost
# (ansible_connection=local) and live demo targets. Each play's outcome is
# read from the json stdout callback (changed/failed per task).
source "$(dirname "$0")/../e2e/lib.sh" "$1"

COLL=$(cd "$E2E_SRC/../../ansible" && pwd)
if ! command -v ansible-playbook >/dev/null; then
	echo "Bail out! ansible-playbook is missing (scripts/install-deps.sh check installs ansible-core)"
	exit 1
fi
export ANSIBLE_COLLECTIONS_PATH=$COLL
# ansible-core's own default callback; -v makes it print each task's result
# as JSON after "=> ", and the recap line gives the play's counts.
export ANSIBLE_STDOUT_CALLBACK=default
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False
export ANSIBLE_HOME=$WORK/ansible-home ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp
export ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_NOCOLOR=1
HELLO=$PAYLOADS/hello.livepatch

# play NAME TASK-YAML [ansible-playbook options]: run a one-task play; sets
# PLAY (its -v output), RC.
play() {
	local name=$1 task=$2
	shift 2
	cat >"$WORK/$name.yml" <<PLAY
- hosts: localhost
  connection: local
  gather_facts: false
  environment:
    XSPLICE_SOCKET_DIR: "$XSPLICE_SOCKET_DIR"
  tasks:
    - name: $name
$(sed 's/^/      /' <<<"$task")
PLAY
	LAST_CMD="ansible-playbook $name.yml $*"
	PLAY=$(timeout 120 ansible-playbook -v -i localhost, "$WORK/$name.yml" "$@" 2>"$WORK/$name.err")
	RC=$?
	OUT=$PLAY ERR=$(cat "$WORK/$name.err")
}
# q EXPR: a Python expression over the last play's task result `r` (the
# JSON the callback printed after "=> ") and its recap counts `s`
# (s['changed'], s['failed']); prints the value.
q() {
	"$PYTHON" -c "
import json, re, sys
text = sys.stdin.read()
m = re.search(r'^(ok|changed|fatal|failed): \[localhost\].*?=> ', text, re.M)
r = json.JSONDecoder().raw_decode(text[m.end():])[0]
s = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', text.split('PLAY RECAP')[1]))
print($1)" <<<"$PLAY" 2>/dev/null
}
qcheck() { # DESC EXPR: the expression is True
	if [ "$(q "$2")" = True ]; then pass "$1"; else fail "$1"; show_last; fi
}
state_in() { # PID NAME: the payload's state, or "absent"
	"$XSPLICE" --no-attach -p "$1" --json get "$2" 2>/dev/null |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null ||
		echo absent
}

start_target 2
P1=$TPID
S1=$TSOCK

# ---- one process: apply, idempotence, check mode, revert, absent ----
play apply "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, xsplice: '$XSPLICE' }"
check "apply: the play succeeds" [ "$RC" = 0 ]
qcheck "apply reports changed" "r['changed'] is True and s['changed'] == 1"
qcheck "apply: one result, patched" "[x['result'] for x in r['results']] == ['patched']"
qcheck "apply: the result names the process" "r['results'][0]['pid'] == $P1 and r['results'][0]['comm'] != ''"
check "apply: hello is APPLIED in the target" [ "$(state_in "$P1" hello)" = APPLIED ]
check "apply: the target answers with the patched code" \
	grep -q "Hello World" <<<"$(query info "$S1")"
play apply2 "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, xsplice: '$XSPLICE' }"
qcheck "a second apply reports changed=0" "r['changed'] is False and s['changed'] == 0"
qcheck "a second apply: result already" "[x['result'] for x in r['results']] == ['already']"

play revert_check "xsplice.livepatch.payload: { name: hello, state: reverted, pid: $P1, xsplice: '$XSPLICE' }" --check --diff
qcheck "revert in check mode reports a change" "r['changed'] is True"
check "check mode's diff shows APPLIED -> CHECKED" \
	grep -Eq "^-$P1 .*: APPLIED" <<<"$PLAY"
check "... and after it CHECKED" grep -Eq "^\+$P1 .*: CHECKED" <<<"$PLAY"
check "check mode changed nothing: still APPLIED" [ "$(state_in "$P1" hello)" = APPLIED ]

play revert "xsplice.livepatch.payload: { name: hello, state: reverted, pid: $P1, xsplice: '$XSPLICE' }"
qcheck "revert reports changed" "r['changed'] is True"
check "revert: hello is CHECKED" [ "$(state_in "$P1" hello)" = CHECKED ]
play absent "xsplice.livepatch.payload: { name: hello, state: absent, pid: $P1, xsplice: '$XSPLICE' }"
qcheck "absent reports changed" "r['changed'] is True"
check "absent: hello is gone from the target" [ "$(state_in "$P1" hello)" = absent ]
play absent2 "xsplice.livepatch.payload: { name: hello, state: absent, pid: $P1, xsplice: '$XSPLICE' }"
qcheck "absent again reports changed=0" "r['changed'] is False"

# absent from APPLIED: revert and unload in one task
play apply3 "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, xsplice: '$XSPLICE' }"
play absent3 "xsplice.livepatch.payload: { name: hello, state: absent, pid: $P1, xsplice: '$XSPLICE' }"
qcheck "absent from APPLIED reverts and unloads" "r['changed'] is True and r['results'][0]['before'] == 'APPLIED'"
check "absent from APPLIED: nothing left" [ "$(state_in "$P1" hello)" = absent ]

# ---- a failing target fails the task with its reason ----
play badpid "xsplice.livepatch.payload: { src: '$HELLO', pid: 999999, xsplice: '$XSPLICE' }"
qcheck "a vanished pid is reported gone, not failed" "[x['result'] for x in r['results']] == ['gone']"
OTHER=$PAYLOADS/bye.livepatch
play fail "xsplice.livepatch.payload: { src: '$OTHER', pid: $P1, xsplice: '$XSPLICE' }"
check "a refused apply fails the play" [ "$RC" != 0 ]
qcheck "the failed task says which process failed and why" \
	"s['failed'] == 1 and '$P1' in r['msg'] and r['results'][0]['result'] == 'failed' and r['results'][0]['reason'] != ''"
diag "$(q "r['msg']")"
check "the refused payload left nothing behind" [ "$(state_in "$P1" bye)" != APPLIED ]
expect_alive "the target still answers after the failed task"

# ---- the facts list the payload while it is applied ----
play apply_f "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, xsplice: '$XSPLICE' }"
play facts "xsplice.livepatch.facts: { xsplice: '$XSPLICE', patch_dir: '$WORK/pd' }"
check "facts: the play succeeds" [ "$RC" = 0 ]
qcheck "facts: the process has hello applied" \
	"[p['applied'] for p in r['ansible_facts']['xsplice']['processes'] if p['pid'] == $P1] == [['hello']]"
qcheck "facts: the payload's state is listed" \
	"[x['state'] for p in r['ansible_facts']['xsplice']['processes'] if p['pid'] == $P1 for x in p['payloads']] == ['APPLIED']"
play absent_f "xsplice.livepatch.payload: { name: hello, state: absent, pid: $P1, xsplice: '$XSPLICE' }"
play facts2 "xsplice.livepatch.facts: { xsplice: '$XSPLICE', patch_dir: '$WORK/pd' }"
qcheck "facts after absent: nothing applied in the process" \
	"[p['applied'] for p in r['ansible_facts']['xsplice']['processes'] if p['pid'] == $P1] == [[]]"

# ---- all: true over several targets (one started without the agent) ----
start_target 2
P2=$TPID S2=$TSOCK
if [ -z "$ASAN_RUNTIME" ]; then
	spawn "$TARGET" serve "$WORK/plain.sock" 2 2>"$WORK/plain.log"
	P3=$LAST_PID S3=$WORK/plain.sock
	wait_for 10 sock_ready "$S3" || { echo "Bail out! the plain target did not start"; exit 1; }
else
	start_target 2
	P3=$TPID S3=$TSOCK
fi
ALL="all: true, tree: $$, xsplice: '$XSPLICE'"
play all_check "xsplice.livepatch.payload: { src: '$HELLO', $ALL }" --check
qcheck "all in check mode: 3 processes would change" "r['changed'] is True and r['summary']['patched'] == 3"
check "all in check mode changed nothing" bash -c "! grep -q 'Hello World' <<<\"\$(timeout 5 $TARGET query $S2 info; timeout 5 $TARGET query $S3 info)\""
play all "xsplice.livepatch.payload: { src: '$HELLO', $ALL }"
check "all: the play succeeds" [ "$RC" = 0 ]
qcheck "all: 3 processes patched" "r['changed'] is True and r['summary']['patched'] == 3 and sorted(x['pid'] for x in r['results']) == sorted([$P1, $P2, $P3])"
for s in "$S1" "$S2" "$S3"; do
	check "all: the target at ${s##*/} answers with the patched code" grep -q "Hello World" <<<"$(query info "$s")"
done
play all2 "xsplice.livepatch.payload: { src: '$HELLO', $ALL }"
qcheck "all a second time: changed=0, 3 already" "r['changed'] is False and r['summary']['already'] == 3"
play all_absent "xsplice.livepatch.payload: { name: hello, state: absent, $ALL }"
qcheck "all, absent: 3 processes changed" "r['changed'] is True and r['summary']['patched'] == 3"
for p in "$P1" "$P2" "$P3"; do
	check "all, absent: nothing left in $p" [ "$(state_in "$p" hello)" = absent ]
done

# ---- build_id: the processes that map the demo target ----
BID=$("$XSPLICE" build-id "$TARGET")
play bid "xsplice.livepatch.payload: { src: '$HELLO', build_id: '$BID', tree: $$, xsplice: '$XSPLICE' }"
qcheck "build_id: the 3 processes that map the target are patched" "r['summary']['patched'] == 3"
play bid_absent "xsplice.livepatch.payload: { src: '$HELLO', state: absent, build_id: '$BID', tree: $$, xsplice: '$XSPLICE' }"
qcheck "build_id, absent: 3 changed" "r['summary']['patched'] == 3"

# ---- install: true puts it in the patch directory (and absent takes it out) ----
PD=$WORK/pd
mkdir -p "$PD" && chmod 0755 "$PD"
play inst "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, install: true, patch_dir: '$PD', xsplice: '$XSPLICE' }"
qcheck "install: changed, installed" "r['changed'] is True and r['installed'] == 'installed'"
check "install: the payload is in the patch directory" cmp -s "$HELLO" "$PD/hello.livepatch"
play inst2 "xsplice.livepatch.payload: { src: '$HELLO', pid: $P1, install: true, patch_dir: '$PD', xsplice: '$XSPLICE' }"
qcheck "install again: changed=0" "r['changed'] is False and r['installed'] == 'already'"
play facts3 "xsplice.livepatch.facts: { xsplice: '$XSPLICE', patch_dir: '$PD' }"
qcheck "facts: hello is installed" "[x['name'] for x in r['ansible_facts']['xsplice']['installed']] == ['hello']"
play uninst "xsplice.livepatch.payload: { src: '$HELLO', state: absent, pid: $P1, install: true, patch_dir: '$PD', xsplice: '$XSPLICE' }"
qcheck "absent with install: uninstalled" "r['changed'] is True and r['installed'] == 'uninstalled'"
check "absent with install: the patch directory no longer has it" [ ! -e "$PD/hello.livepatch" ]
check "absent with install: the process no longer has it" [ "$(state_in "$P1" hello)" = absent ]

# ---- the documented rollout playbook's pattern: waves, facts check, mark-bad rollback ----
cat >"$WORK/inventory" <<INV
[demo]
wave1 ansible_host=localhost
wave2 ansible_host=localhost
[demo:vars]
ansible_connection=local
INV
cat >"$WORK/rollout.yml" <<PLAY
- hosts: demo
  serial: 1
  max_fail_percentage: 0
  gather_facts: false
  environment:
    XSPLICE_SOCKET_DIR: "$XSPLICE_SOCKET_DIR"
  tasks:
    - xsplice.livepatch.payload: { src: '$HELLO', $ALL }
    - xsplice.livepatch.facts: { xsplice: '$XSPLICE', patch_dir: '$PD' }
    - ansible.builtin.assert:
        that:
          - >-
            ansible_facts.xsplice.processes | selectattr('pid', 'in', [$P1, $P2, $P3])
            | rejectattr('applied', 'contains', 'hello') | list | length == 0
    - block:
        - name: health check
          ansible.builtin.command: "timeout 5 $TARGET query $S1 info"
          register: health
          changed_when: false
          failed_when: "'{{ health_word | default('Hello World') }}' not in health.stdout"
      rescue:
        - ansible.builtin.command: "$XSPLICE --patch-dir $PD mark-bad --tree $$ hello 'health check failed'"
        - ansible.builtin.fail: { msg: "health check failed: hello marked bad" }
PLAY
LAST_CMD="ansible-playbook rollout.yml"
OUT=$(timeout 180 ansible-playbook -i "$WORK/inventory" "$WORK/rollout.yml" 2>&1); RC=$?
check "rollout: two waves pass their checks" [ "$RC" = 0 ]
check "rollout: both waves ran" [ "$(grep -c '^PLAY \[demo\]' <<<"$OUT")" = 2 ]
[ "$RC" = 0 ] || show_last
OUT=$(timeout 180 ansible-playbook -i "$WORK/inventory" "$WORK/rollout.yml" -e health_word=NOPE 2>&1); RC=$?
check "rollout with a failing health check fails" [ "$RC" != 0 ]
check "  ... in the first wave only" [ "$(grep -c '^PLAY \[demo\]' <<<"$OUT")" = 1 ]
for p in "$P1" "$P2" "$P3"; do
	check "  ... and mark-bad took hello out of $p" [ "$(state_in "$p" hello)" = absent ]
done
check "  ... and marked it bad" [ -e "$PD/hello.bad" ]

# ---- the module's documentation renders ----
DOC=$(ansible-doc xsplice.livepatch.payload 2>&1)
check "ansible-doc xsplice.livepatch.payload renders" grep -q "build_id" <<<"$DOC"
DOC=$(ansible-doc xsplice.livepatch.facts 2>&1)
check "ansible-doc xsplice.livepatch.facts renders" grep -q "ansible_facts" <<<"$DOC"

# ---- the sanity checks ansible-test would run, offline ----
# (ansible-test sanity itself installs its requirements from PyPI into a
# venv, which this machine cannot reach: docs/ansible.md.) validate-modules
# and pep8 come with ansible-core; we run them with ansible-test's settings
# and the collection's own ignore file.
AT=/usr/lib/python3/dist-packages/ansible_test/_util/controller/sanity
CDIR=$COLL/ansible_collections/xsplice/livepatch
if [ -d "$AT/validate-modules" ]; then
	VM=$(cd "$CDIR" && PYTHONPATH=$AT/validate-modules:/usr/lib/python3/dist-packages \
		/usr/bin/python3 "$AT/validate-modules/validate.py" --arg-spec \
		--collection ansible_collections/xsplice/livepatch --collection-version 0.1.0 \
		plugins/modules 2>&1)
	LEFT=$(grep -E ':[0-9]+:[0-9]+: ' <<<"$VM" | while IFS= read -r line; do
		f=${line%%:*} code=$(sed -nE 's/.*: E([a-z0-9-]+) .*/\1/p' <<<"$line")
		grep -q "^$f validate-modules:$code " "$CDIR/tests/sanity/ignore-2.14.txt" || echo "$line"
	done)
	check "validate-modules: no finding outside the ignore file" [ -z "$LEFT" ]
	[ -n "$LEFT" ] && diag "$LEFT"
	check "pep8 with ansible-test's settings" /usr/bin/python3 -m pycodestyle --max-line-length 160 \
		--ignore "$(paste -sd, "$AT/pep8/current-ignore.txt")" "$CDIR/plugins"
else
	fail "ansible-test's sanity tools are missing ($AT)"
fi
check "the modules compile" /usr/bin/python3 -m py_compile "$CDIR"/plugins/modules/*.py \
	"$CDIR"/plugins/module_utils/*.py

done_testing
