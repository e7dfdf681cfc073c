#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xsplice developers
# MIT License (see the repository's LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: facts
short_description: What xsplice payloads are installed, and which are applied in which process
version_added: "0.1.0"
description:
  - Reads C(xsplice --json status) and C(xsplice --json ps) on the managed
    host and returns them as C(ansible_facts.xsplice) - the payloads
    installed in the patch directory, where each is applied (or why not),
    and, for every process with an xsplice agent, its payloads and their
    states.
  - Changes nothing; safe in check mode.
options:
  patch_dir:
    description:
      - The patch directory, when not the default (C(/var/lib/xsplice)).
    type: path
  xsplice:
    description:
      - Path of the C(xsplice) command; found in C(PATH) by default.
    type: path
attributes:
  check_mode:
    description: Reports what would change and changes nothing.
    support: full
  diff_mode:
    description: Not applicable; the module changes nothing.
    support: none
  facts:
    description: Sets C(ansible_facts.xsplice).
    support: full
author:
  - xsplice developers (@xsplice)
'''

EXAMPLES = r'''
- name: Read what is applied where
  xsplice.livepatch.facts:

- name: Fail when the fix is not applied in every redis-server
  ansible.builtin.assert:
    that: >-
      ansible_facts.xsplice.processes
      | selectattr('comm', 'equalto', 'redis-server')
      | rejectattr('applied', 'contains', 'cve-2025-32023') | list | length == 0
'''

RETURN = r'''
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    xsplice:
      description: >-
        C(patch_dir); C(installed), the payloads in the patch directory as
        C(xsplice --json status) prints them (name, path, bad, build_id,
        depends, and the processes they concern with whether each has it
        applied, or why not); and C(processes), the processes with an agent
        as C(xsplice --json ps) prints them (pid, comm, payloads with their
        states), each with C(applied), the names of the payloads applied
        there.
      type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.xsplice.livepatch.plugins.module_utils.xsplice_cli import (
    Xsplice, XspliceError)


def facts_of(status, ps):
    """The facts: status's installed payloads, ps's processes with `applied`."""
    procs = (ps or {}).get('processes', [])
    for proc in procs:
        payloads = proc.get('payloads', [])
        proc['applied'] = [p['name'] for p in payloads if p.get('state') == 'APPLIED']
    return {'patch_dir': (status or {}).get('patch_dir', ''),
            'installed': (status or {}).get('payloads', []),
            'processes': procs}


def main():
    module = AnsibleModule(
        argument_spec=dict(patch_dir=dict(type='path'), xsplice=dict(type='path')),
        supports_check_mode=True,
    )
    xs = Xsplice(module, module.params['xsplice'], None, module.params['patch_dir'])
    try:
        rc, status = xs.json(['status'])
        rc, ps = xs.json(['ps'])
    except XspliceError as e:
        module.fail_json(msg='xsplice: %s' % e, rc=e.rc, stderr=e.stderr)
    module.exit_json(changed=False, ansible_facts={'xsplice': facts_of(status, ps)})


if __name__ == '__main__':
    main()
