#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xsplice developers
# MIT License (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: payload
short_description: Apply, revert or remove an xsplice live patch in running processes
version_added: "0.1.0"
description:
  - Puts an xsplice payload (a live patch built by C(xsplice-build)) into the
    state asked for in one process, in every process that maps an object with
    a given build-id, or in every process on the host that the payload fits.
  - Every decision about a process is the C(xsplice) command's; the module runs
    C(xsplice --json) on the managed host and reports what it said.
  - Processes started without the xsplice agent get it loaded at run time by
    C(xsplice) (it attaches), except in check mode, which never changes a
    process.
  - The task fails when any process failed; the per-process results say which
    and why.
options:
  src:
    description:
      - Path of the payload file (C(.livepatch)) on the managed host.
      - Needed to load the payload where it is not loaded yet
        (I(state=applied)) and with I(install=true).
    type: path
  name:
    description:
      - The payload's name in the processes.
      - Defaults to the file name of I(src) without its extension
        (C(hello.livepatch) gives C(hello)), as C(xsplice load) names it.
    type: str
  state:
    description:
      - C(applied) loads the payload where it is missing and applies it.
      - C(reverted) reverts it where it is applied and leaves it loaded.
      - C(absent) reverts it where it is applied and unloads it.
    type: str
    choices: [applied, reverted, absent]
    default: applied
  pid:
    description:
      - One process to act on.
      - Exactly one of I(pid), I(build_id) and I(all) is needed.
    type: int
  build_id:
    description:
      - Act on every process that maps an object (executable or library) with
        this GNU build-id (hex, as C(xsplice build-id FILE) prints it).
    type: str
  all:
    description:
      - Act on every process on the host that the payload fits (its depends
        chain ends at an object the process maps), through
        C(xsplice load --all) and the other C(--all) commands.
    type: bool
    default: false
  tree:
    description:
      - With I(build_id) or I(all), only this process and its descendants
        (for example a service's main process and its workers).
    type: int
  comm:
    description:
      - With I(build_id) or I(all), only the processes whose command name
        (C(/proc/PID/comm)) is this.
    type: str
  install:
    description:
      - Also install the payload in the patch directory (C(xsplice install)),
        so that processes started later get it before their C(main) and
        C(xsplice watch) applies it; with I(state=absent), uninstall it.
    type: bool
    default: false
  patch_dir:
    description:
      - The patch directory, when not the default (C(/var/lib/xsplice)).
    type: path
  timeout_ms:
    description:
      - The bound, in milliseconds, on stopping each process's threads for an
        action (the agent's default when not given).
    type: int
  xsplice:
    description:
      - Path of the C(xsplice) command; found in C(PATH) by default.
    type: path
notes:
  - Check mode reports what would change and changes nothing; it does not
    load the agent into a process that has none.
  - Diff mode shows each process's payload state before and after.
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Shows each process's payload state before and after.
    support: full
author:
  - xsplice developers (@xsplice)
'''

EXAMPLES = r'''
- name: Apply the fix to every process that runs the vulnerable library
  xsplice.livepatch.payload:
    src: /srv/patches/cve-2025-32023.livepatch
    all: true
    install: true

- name: Apply it to one process
  xsplice.livepatch.payload:
    src: /srv/patches/cve-2025-32023.livepatch
    pid: "{{ redis_pid }}"

- name: Take it back out everywhere
  xsplice.livepatch.payload:
    name: cve-2025-32023
    state: absent
    all: true
'''

RETURN = r'''
changed:
  description: Whether any process (or the patch directory) was changed.
  returned: always
  type: bool
results:
  description: One entry per process acted on.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: The process id.
      type: int
    comm:
      description: The process's command name.
      type: str
    result:
      description: >-
        C(patched) (this process was changed: loaded, applied, reverted or
        unloaded as asked), C(already) (it was in the state asked for),
        C(skipped), C(failed) or C(gone) (it exited meanwhile; not a failure).
      type: str
    reason:
      description: Why, for C(skipped) and C(failed); empty otherwise.
      type: str
    before:
      description: The payload's state before (C(APPLIED), C(CHECKED) or C(absent)), when known.
      type: str
    after:
      description: The payload's state after, when known.
      type: str
summary:
  description: How many processes got each result.
  returned: always
  type: dict
  sample: {"patched": 3, "already": 1, "skipped": 0, "failed": 0, "gone": 0}
installed:
  description: What I(install) did to the patch directory (C(installed), C(uninstalled), C(already) or C(none)).
  returned: always
  type: str
'''

import filecmp
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.xsplice.livepatch.plugins.module_utils.xsplice_cli import (
    CHANGED_RESULTS, EXIT_NOTFOUND, Xsplice, XspliceError, comm_of, name_from_file)

RESULT_KEYS = ('patched', 'already', 'skipped', 'failed', 'gone')


def steps_for(state, before):
    """The xsplice commands that take a payload from `before` to `state`."""
    if state == 'applied':
        if before is None:
            return ['upload', 'apply']
        return ['apply'] if before == 'CHECKED' else []
    if state == 'reverted':
        return ['revert'] if before == 'APPLIED' else []
    if before == 'APPLIED':
        return ['revert', 'unload']
    return ['unload'] if before == 'CHECKED' else []


def state_after(state, before):
    if state == 'applied':
        return 'APPLIED'
    if state == 'reverted':
        return 'CHECKED' if before is not None else None
    return None


def one_process(xs, pid, name, src, state, check_mode):
    """Bring payload `name` to `state` in process `pid`: a result entry."""
    entry = {'pid': pid, 'comm': comm_of(pid), 'result': 'already', 'reason': '',
             'before': 'absent', 'after': 'absent'}
    try:
        # Check mode must not attach: a process without an agent has no payload.
        loaded = xs.payloads(pid, no_attach=check_mode)
    except XspliceError as e:
        if not os.path.exists('/proc/%d' % pid):
            entry['result'] = 'gone'
            entry['reason'] = 'the process exited'
            return entry
        if check_mode and e.rc == EXIT_NOTFOUND:
            loaded = {}
        else:
            entry['result'] = 'failed'
            entry['reason'] = str(e)
            return entry
    before = loaded.get(name)
    entry['before'] = before or 'absent'
    steps = steps_for(state, before)
    if not steps:
        entry['after'] = entry['before']
        return entry
    if 'upload' in steps and not src:
        entry['result'] = 'failed'
        entry['reason'] = 'payload %s is not loaded in process %d and no src was given' % (name, pid)
        return entry
    entry['result'] = 'patched'
    entry['after'] = state_after(state, before) or 'absent'
    if check_mode:
        return entry
    try:
        for step in steps:
            xs.step(['upload', name, src] if step == 'upload' else [step, name], pid)
    except XspliceError as e:
        entry['result'] = 'gone' if not os.path.exists('/proc/%d' % pid) else 'failed'
        entry['reason'] = str(e)
        try:
            entry['after'] = xs.payloads(pid, no_attach=True).get(name) or 'absent'
        except XspliceError:
            entry['after'] = 'unknown'
    return entry


def narrowing(p):
    """--tree / --comm, as the tree and comm options ask."""
    args = []
    if p['tree'] is not None:
        args += ['--tree', str(p['tree'])]
    if p['comm']:
        args += ['--comm', p['comm']]
    return args


def processes_with(xs, build_id, narrow):
    """Every process that maps an object with this build-id (xsplice ps)."""
    rc, data = xs.json(['ps', '--build-id', build_id] + narrow)
    procs = (data or {}).get('processes', [])
    return [int(p['pid']) for p in procs if p.get('patchable', True)], \
        [p for p in procs if not p.get('patchable', True)]


def host_wide(xs, name, src, state, check_mode, narrow):
    """all: true, through the --all commands. Returns the result entries."""
    dry = ['--dry-run'] + narrow if check_mode else narrow
    if state == 'applied':
        runs = [['load', '--all'] + dry + [src]] if src else [['apply', '--all'] + dry + [name]]
    elif state == 'reverted':
        runs = [['revert', '--all'] + dry + [name]]
    else:
        runs = [['revert', '--all'] + dry + [name], ['unload', '--all'] + dry + [name]]
    merged = {}
    for args in runs:
        rc, data = xs.json(args, ok_rcs=(0, 1, 3, 4, 5))
        if data is None:
            raise XspliceError('xsplice %s printed nothing' % ' '.join(args), rc)
        for r in data.get('results', []):
            pid = int(r['pid'])
            prev = merged.get(pid)
            entry = {'pid': pid, 'comm': r.get('comm', ''), 'result': r.get('result', ''),
                     'reason': r.get('reason', '')}
            if r.get('result') in CHANGED_RESULTS:
                entry['result'] = 'patched'
            if prev and prev['result'] == 'patched' and entry['result'] in ('already', 'skipped'):
                entry = prev  # the revert changed it, the unload had nothing left to do
            elif prev and prev['result'] == 'failed':
                entry = prev
            merged[pid] = entry
    return [merged[p] for p in sorted(merged)]


def install_step(module, xs, name, src, state, patch_dir):
    pdir = patch_dir or '/var/lib/xsplice'
    dest = os.path.join(pdir, name + '.livepatch')
    if state == 'absent':
        if not os.path.exists(dest):
            return 'already'
        if not module.check_mode:
            xs.step(['uninstall', name], None)
        return 'uninstalled'
    if not src:
        module.fail_json(msg='install: true needs src')
    if os.path.exists(dest) and filecmp.cmp(src, dest, shallow=False):
        return 'already'
    if not module.check_mode:
        xs.step(['install', '--name', name, src], None)
    return 'installed'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path'),
            name=dict(type='str'),
            state=dict(type='str', default='applied', choices=['applied', 'reverted', 'absent']),
            pid=dict(type='int'),
            build_id=dict(type='str'),
            all=dict(type='bool', default=False),
            tree=dict(type='int'),
            comm=dict(type='str'),
            install=dict(type='bool', default=False),
            patch_dir=dict(type='path'),
            timeout_ms=dict(type='int'),
            xsplice=dict(type='path'),
        ),
        mutually_exclusive=[('pid', 'build_id', 'all')],
        required_one_of=[('src', 'name')],
        supports_check_mode=True,
    )
    p = module.params
    if p['pid'] is None and not p['build_id'] and not p['all']:
        module.fail_json(msg='one of pid, build_id or all: true is needed')
    if p['src'] and not os.path.isfile(p['src']):
        module.fail_json(msg='src %s: no such file' % p['src'])
    name = p['name'] or name_from_file(p['src'])
    state = p['state']
    xs = Xsplice(module, p['xsplice'], p['timeout_ms'], p['patch_dir'])

    results = []
    try:
        installed = 'none'
        if p['install']:
            installed = install_step(module, xs, name, p['src'], state, p['patch_dir'])
        if p['all']:
            results = host_wide(xs, name, p['src'], state, module.check_mode, narrowing(p))
        else:
            if p['pid'] is not None:
                pids, unpatchable = [p['pid']], []
            else:
                pids, unpatchable = processes_with(xs, p['build_id'], narrowing(p))
            for u in unpatchable:
                results.append({'pid': int(u['pid']), 'comm': u.get('comm', ''),
                                'result': 'skipped', 'reason': u.get('reason', '')})
            for pid in pids:
                results.append(one_process(xs, pid, name, p['src'], state, module.check_mode))
    except XspliceError as e:
        module.fail_json(msg=str(e), rc=e.rc, stderr=e.stderr, results=results)

    summary = dict((k, 0) for k in RESULT_KEYS)
    for r in results:
        summary[r['result']] = summary.get(r['result'], 0) + 1
    changed = summary['patched'] > 0 or installed in ('installed', 'uninstalled')
    out = dict(changed=changed, results=results, summary=summary, name=name,
               installed=installed)
    if module._diff:
        out['diff'] = {
            'before': ''.join('%d %s: %s\n' % (r['pid'], r.get('comm', ''), r.get('before', '?'))
                              for r in results),
            'after': ''.join('%d %s: %s\n' % (r['pid'], r.get('comm', ''), r.get('after', '?'))
                             for r in results),
        }
    failed = [r for r in results if r['result'] == 'failed']
    if failed:
        out['msg'] = '%d of %d processes failed: %s' % (
            len(failed), len(results),
            '; '.join('%d (%s): %s' % (r['pid'], r.get('comm', ''), r['reason']) for r in failed))
        module.fail_json(**out)
    module.exit_json(**out)


if __name__ == '__main__':
    main()
