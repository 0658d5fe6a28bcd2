#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: rolling_report
short_description: Write the report of a rolling patch run as JSON and as an HTML page
version_added: 0.1.0
description:
  - Computes the figures of a rolling patch run (one update domain at a time) from the times
    the playbook recorded, and writes them to C(<path>/<basename>.json) and, as a
    self-contained human-readable page, to C(<path>/<basename>.html).
  - The page has a header table, a timeline picture (inline SVG, no JavaScript, no external
    file) with one row per VM grouped by batch, a bar per step and a band while the VM was
    out of rotation, and a table per batch with the steps, versions and reboot of every VM.
    For a V(planned) run it shows the batches and VMs with no bars.
  - The steps of a batch run in lock step (Ansible runs a task on every VM of the batch
    before the next one), so a step of a batch lasts as long as its slowest VM. The lower
    bound of a batch is the sum of those step maxima for drain, patch, reboot and restore
    (detecting the drain, patching, rebooting, detecting health again). Verify is left out of
    the bound; it is the playbook's own check, not time the load balancer or the VM needs,
    so it counts in the overhead, the run's duration minus the sum of the batches' bounds.
  - Checks that at every moment the VMs out of rotation (from the start of their drain to the
    end of their restore) belong to a single update domain, and lists every violation.
  - Each file is written through a temporary file in O(path) and renamed over the old one,
    and only when its content changes. The content depends only on O(run), so the same run
    gives the same files.
author:
  - webfarm maintainers (@azure_ha)
options:
  path:
    description:
      - The directory to write the two files to. Missing directories are created with mode 0755.
    type: path
    required: true
  run:
    description:
      - The run data. Times are ISO 8601 text, V(2026-12-01T12:34:56Z) or with a fraction of
        a second; V(Z), an offset (V(+01:00)) or no zone at all (read as UTC); V(null) or
        missing for a step not reached.
      - C(run_id) (required), C(status) (V(completed), V(failed), or V(planned) for check
        mode, where nothing ran; when missing, the run ended and its VMs decide, V(failed) if
        a VM failed, else V(completed)), C(drain_method) (V(probe), V(admin_state) or
        V(pool), shown as given), C(started), C(ended), C(message) (when missing with
        C(status), the module writes it, naming the first failed batch, each failed VM with its
        step and message, the VMs out of rotation and not started, and how to resume).
      - C(batches), the C(plan) returned by M(azure_ha.webfarm.rolling_plan), in order,
        each with C(index), C(kind) (V(canary) or V(update_domain)), C(update_domain) and
        C(vms) (names); other keys are ignored. A VM may be in one batch only.
      - C(vms), keyed by VM name, each with C(update_domain) (its batch's when missing),
        C(fault_domain), C(status) (V(done), V(failed),
        V(skipped_done) or V(not_started); when missing, V(not_started) if no step started,
        V(done) if restore ended and no step failed, V(failed) otherwise), C(failed_step)
        (V(drain), V(patch), V(reboot), V(verify), V(restore) or V(null)), C(message),
        C(version_before), C(version_after), C(boot_id_before), C(boot_id_after),
        C(rebooted), C(packages_upgraded), and C(steps), a dict of any of V(drain),
        V(patch), V(reboot), V(verify) and V(restore), each with C(start) and C(end).
        Other keys are copied to the report.
      - A VM of a batch missing from C(vms) was not started. A VM of C(vms) in no batch
        (one done by an earlier attempt of the run) is shown outside the batches.
      - Drain runs from taking the VM out of rotation until the load balancer sends it no
        new flow and its requests in flight finished; restore from putting it back until the
        load balancer sends it traffic again.
    type: dict
    required: true
  hosts:
    description:
      - What the batch play left on each VM it worked on, keyed by VM name; given, the module makes
        C(run.vms) from it (an entry of C(run.vms) replaces the one made for its VM). Each with
        C(done) (bool), C(failed) (V(null), or C(step), C(task) and C(message) of the failure),
        C(current_step) (the step it started last, V(null) before any), C(version_before),
        C(version_after), C(boot_id_before), C(boot_id_after), C(packages_upgraded) and C(steps);
        a missing key is V(null).
      - A VM of a batch is V(done) when C(done), V(failed) when it failed or started a step,
        V(not_started) otherwise (also when missing here); a failed VM's C(failed_step) is its
        failure's step, else its C(current_step), and its C(message) its failure's task and
        message, else that it was unreachable or stopped during the step; C(rebooted) compares the
        boot ids.
    type: dict
  members:
    description:
      - With O(hosts), the member records of the VMs (C(name), C(update_domain), C(fault_domain)), as
        M(azure_ha.webfarm.rolling_plan) returns them.
    type: list
    elements: dict
    default: []
  skipped_done:
    description:
      - With O(hosts), the VMs the run had already patched (V(skipped_done) in the report, in no batch).
    type: list
    elements: str
    default: []
  basename:
    description:
      - The name of both files without their extension. Defaults to C(rolling-patch-<run_id>).
      - A name, not a path; it may not hold a V(/).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the module computes the report and tells whether the files would change, but writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Durations are in seconds, rounded to 0.1 s; times in the report are UTC.
  - A new file gets mode 0666 minus the umask; a file replaced keeps its mode and owner.
seealso:
  - module: azure_ha.webfarm.rolling_plan
'''

EXAMPLES = r'''
- name: Write the report of the run
  azure_ha.webfarm.rolling_report:
    path: "{{ playbook_dir }}/reports"
    run:
      run_id: "{{ webfarm_run_id }}"
      status: "{{ 'failed' if webfarm_failed_vms else 'completed' }}"
      drain_method: probe
      started: "{{ webfarm_run_started }}"
      ended: "{{ now(utc=true).isoformat() }}"
      message: "{{ webfarm_failure_message | default(None) }}"
      batches: "{{ webfarm_rolling_plan.plan }}"
      vms: "{{ webfarm_vm_results }}"
  delegate_to: localhost
  run_once: true
  register: webfarm_rolling_report

- name: Show the outcome
  ansible.builtin.debug:
    var: webfarm_rolling_report.summary

- name: Show the plan of a check mode run as a page, under a fixed name
  azure_ha.webfarm.rolling_report:
    path: /var/tmp/webfarm
    basename: last-plan
    run:
      run_id: "{{ webfarm_run_id }}"
      status: planned
      batches: "{{ webfarm_rolling_plan.plan }}"
      vms: {}
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
json_path:
  description: The JSON report, O(path)/O(basename).json.
  returned: success
  type: str
  sample: /home/ops/reports/rolling-patch-20261201T123456Z.json
html_path:
  description: The HTML page, O(path)/O(basename).html.
  returned: success
  type: str
  sample: /home/ops/reports/rolling-patch-20261201T123456Z.html
report:
  description:
    - The report, as written to RV(json_path). Durations in seconds rounded to 0.1 s, V(null)
      when a time is missing; times as UTC ISO 8601 text.
  returned: success
  type: dict
  contains:
    run_id:
      description: The run id.
      type: str
      sample: 20261201T123456Z
    status:
      description: V(completed), V(failed) or V(planned).
      type: str
      sample: completed
    drain_method:
      description: As given.
      type: str
      sample: probe
    started:
      description: When the run started.
      type: str
      sample: "2026-12-01T12:34:56.123456Z"
    ended:
      description: When the run ended.
      type: str
      sample: "2026-12-01T12:58:10Z"
    duration_s:
      description: From C(started) to C(ended).
      type: float
      sample: 1393.9
    message:
      description: As given, or written by the module when C(status) was not given.
      type: str
      sample: null
    lower_bound_s:
      description: The sum of the batches' C(lower_bound_s).
      type: float
      sample: 1201.5
    overhead_s:
      description: C(duration_s) minus C(lower_bound_s).
      type: float
      sample: 192.4
    failed_vms:
      description: The VMs whose status is V(failed).
      type: list
      elements: str
      sample: []
    batches:
      description: The batches, in order.
      type: list
      elements: dict
      contains:
        index:
          description: Batch number, from 1.
          type: int
        kind:
          description: V(canary) or V(update_domain).
          type: str
        update_domain:
          description: The update domain of the batch.
          type: int
        vms:
          description: The VMs of the batch.
          type: list
          elements: str
        start:
          description: The earliest step start of its VMs.
          type: str
        end:
          description: The latest step end of its VMs.
          type: str
        duration_s:
          description: From C(start) to C(end).
          type: float
        step_durations_s:
          description: Per step (C(drain), C(patch), C(reboot), C(verify), C(restore)), the longest time one of its VMs took.
          type: dict
        lower_bound_s:
          description: The sum of C(step_durations_s) for drain, patch, reboot and restore (verify excluded).
          type: float
    vms:
      description:
        - Per VM name, every key given in O(run) and C(batch) (its batch index, V(null) outside
          the batches), C(status), C(steps) (each step with C(start), C(end) and C(duration_s))
          and C(out_of_rotation) (C(start) of drain, C(end) of restore, V(null) if never put
          back, and C(duration_s)).
      type: dict
    out_of_rotation_overlaps:
      description:
        - The spans during which VMs of more than one update domain were out of rotation at
          once, each with C(start), C(end) (V(null) when a VM was never put back),
          C(duration_s), C(update_domains) and C(vms). Empty when the run kept to one update
          domain at a time.
      type: list
      elements: dict
      sample: []
summary:
  description: The report as human-readable lines.
  returned: success
  type: list
  elements: str
  sample:
    - "rolling patch 20261201T123456Z: completed; duration 23 min 13.9 s, lower bound 20 min 1.5 s,
      overhead 3 min 12.4 s; 6 VMs in 4 batches, drain method probe"
    - "batch 1 · UD 0 (canary): app1-vm1; 5 min 2.0 s, lower bound 4 min 40.1 s (slowest VM per step:
      drain 15.2 s, patch 2 min 10.3 s, reboot 1 min 45.0 s, verify 6.1 s, restore 29.6 s)"
    - "out of rotation: never more than one update domain at a time"
status:
  description: How the run ended (the report's C(status)), V(completed), V(failed) or V(planned).
  returned: success
  type: str
  sample: failed
message:
  description: The report's C(message) (for a failed run, the failed VMs and how to resume).
  returned: success
  type: str
  sample: "Run 20261201T123456Z stopped at batch 2 · UD 1: app1-vm2 failed at step patch (...). ..."
'''

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_report import (
    ReportError,
    build_report,
    summarize,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_outcome import vm_records
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_report_html import render_html

ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    run=dict(type='dict', required=True),
    hosts=dict(type='dict'),
    members=dict(type='list', elements='dict', default=[]),
    skipped_done=dict(type='list', elements='str', default=[]),
    basename=dict(type='str'),
)


def ensure_directory(module, path):
    """Create path and its missing parents with mode 0755, as ansible.builtin.file does; True if any was missing."""
    missing = []
    current = path
    while not os.path.exists(current):
        missing.append(current)
        current = os.path.dirname(current)
    if not os.path.isdir(current):
        module.fail_json(msg='path: %s is not a directory' % current)
    if not module.check_mode:
        for directory in reversed(missing):
            os.mkdir(directory)
            # os.mkdir's mode is cut by the umask; the option promises 0755
            os.chmod(directory, 0o755)
    return bool(missing)


def write_if_different(module, path, text):
    """Replace path by text unless it holds it already; True if it did not."""
    data = text.encode('utf-8')
    if os.path.exists(path):
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return False
    if not module.check_mode:
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.%s.' % os.path.basename(path))
        module.add_cleanup_file(temporary)
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
        module.atomic_move(temporary, path)
    return True


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run = module.params['run']
    if module.params['hosts'] is not None:
        vms = vm_records(run['batches'], module.params['members'], module.params['hosts'],
                         module.params['skipped_done'])
        vms.update(run.get('vms') or {})
        run = dict(run, vms=vms)
    try:
        report = build_report(run)
    except ReportError as error:
        module.fail_json(msg='rolling report: run: %s' % error, problems=error.problems)
    basename = module.params['basename'] or 'rolling-patch-%s' % report['run_id']
    if '/' in basename or basename in ('', '.', '..'):
        module.fail_json(msg='basename=%s: expected a file name without a directory' % basename)
    directory = os.path.abspath(module.params['path'])
    json_path = os.path.join(directory, basename + '.json')
    html_path = os.path.join(directory, basename + '.html')
    try:
        changed = ensure_directory(module, directory)
        changed = write_if_different(module, json_path, json.dumps(report, indent=2) + '\n') or changed
        changed = write_if_different(module, html_path, render_html(report)) or changed
    except (IOError, OSError) as error:
        module.fail_json(msg='rolling report: %s' % error)
    module.exit_json(changed=changed, json_path=json_path, html_path=html_path, report=report, summary=summarize(report),
                     status=report['status'], message=report['message'])


if __name__ == '__main__':
    main()
