# -*- coding: utf-8 -*-
# Copyright: xsplice developers
# MIT License (see the repository's LICENSE)
"""Run the xsplice command with --json and read its answers.

The modules of this collection re-implement nothing: every decision about a
process is the xsplice command's. This file only runs it and parses what it
prints (docs/cli.md documents the JSON).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

# Exit codes of the xsplice command (docs/cli.md).
EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_NOTFOUND = 3
EXIT_REFUSED = 4
EXIT_TIMEOUT = 5

# Per-process results of `--all` that mean "this process was changed".
CHANGED_RESULTS = ('patched', 'changed', 'reverted', 'unloaded', 'applied', 'loaded')


class XspliceError(Exception):
    def __init__(self, msg, rc=None, stdout='', stderr=''):
        super(XspliceError, self).__init__(msg)
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


def reason_of(stderr):
    """The command's own reason: its first 'xsplice: ' line, without the prefix."""
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith('xsplice: ') and not line.startswith('xsplice: hint:'):
            return line[len('xsplice: '):]
    return stderr.strip().splitlines()[0] if stderr.strip() else ''


class Xsplice(object):
    def __init__(self, module, path=None, timeout_ms=None, patch_dir=None):
        self.module = module
        self.path = path or module.get_bin_path('xsplice', required=True)
        self.timeout_ms = timeout_ms
        self.patch_dir = patch_dir

    def argv(self, args, json_out=False, pid=None, no_attach=False):
        cmd = [self.path]
        if json_out:
            cmd.append('--json')
        if pid is not None:
            cmd += ['-p', str(pid)]
        if no_attach:
            cmd.append('--no-attach')
        if self.timeout_ms:
            cmd += ['--timeout', str(self.timeout_ms)]
        if self.patch_dir:
            cmd += ['--patch-dir', self.patch_dir]
        return cmd + list(args)

    def run(self, args, json_out=False, pid=None, no_attach=False):
        cmd = self.argv(args, json_out, pid, no_attach)
        rc, out, err = self.module.run_command(cmd, environ_update={'LC_ALL': 'C'})
        return rc, out, err

    def json(self, args, pid=None, no_attach=False, ok_rcs=(EXIT_OK,)):
        rc, out, err = self.run(args, True, pid, no_attach)
        if rc not in ok_rcs:
            raise XspliceError(reason_of(err) or 'xsplice exited %d' % rc, rc, out, err)
        try:
            return rc, json.loads(out) if out.strip() else None
        except ValueError:
            raise XspliceError('xsplice printed no JSON: %r' % out[:200], rc, out, err)

    def payloads(self, pid, no_attach=False):
        """{name: state} of the payloads in process pid.

        Raises XspliceError with rc EXIT_NOTFOUND when the process is gone (or,
        with no_attach, has no agent yet)."""
        rc, data = self.json(['list'], pid=pid, no_attach=no_attach)
        return dict((p['name'], p['state']) for p in (data or {}).get('payloads', []))

    def step(self, args, pid):
        """One command that changes a process; raises XspliceError on failure."""
        rc, out, err = self.run(args, pid=pid)
        if rc != EXIT_OK:
            raise XspliceError(reason_of(err) or 'xsplice %s exited %d' % (args[0], rc),
                               rc, out, err)
        return out


def comm_of(pid):
    try:
        with open('/proc/%d/comm' % int(pid)) as f:
            return f.read().strip()
    except (IOError, OSError, ValueError):
        return ''


def name_from_file(path):
    """hello.livepatch -> hello, as the xsplice command names a loaded file."""
    base = os.path.basename(path)
    dot = base.rfind('.')
    return base[:dot] if dot > 0 else base
