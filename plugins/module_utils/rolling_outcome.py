# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each VM of a rolling patch's plan did, from what the batch play left on it (pure: no I/O).

The role's batch entry point sets facts on each VM it works on (roles/rolling_patch/tasks):
the step it is in, the steps' times, what it read before and after, that it is done, or
the step, task and message it failed with. The report entry point hands those facts, per
VM, to the rolling_report module (its ``hosts``); this turns them into the report's VM
records (its ``run.vms``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# the facts of a VM (keys of a ``hosts`` entry) that the record takes as they are
COPIED = ('version_before', 'version_after', 'boot_id_before', 'boot_id_after', 'packages_upgraded')
LOST = 'unreachable or stopped during the step'


def vm_status(facts):
    """done, failed (it failed, or a step started and never ended the run) or not_started."""
    if facts.get('done'):
        return 'done'
    if facts.get('failed') is not None or facts.get('current_step') is not None:
        return 'failed'
    return 'not_started'


def failure(facts):
    """(failed step, message) of a failed VM: what it recorded, else the step it was in."""
    failed = facts.get('failed')
    if failed is None:
        return facts.get('current_step'), LOST
    return (failed.get('step') or facts.get('current_step'),
            '%s: %s' % (failed.get('task') or '', failed.get('message')))


def vm_record(facts, member, batch_index):
    """The report's record of one planned VM (facts: its ``hosts`` entry, {} when it has none)."""
    facts = facts or {}
    status = vm_status(facts)
    failed_step, message = failure(facts) if status == 'failed' else (None, None)
    boot_after = facts.get('boot_id_after')
    record = dict(update_domain=member.get('update_domain'), fault_domain=member.get('fault_domain'),
                  batch=batch_index, status=status, failed_step=failed_step, message=message,
                  rebooted=None if boot_after is None else facts.get('boot_id_before') != boot_after,
                  steps=facts.get('steps') or {})
    record.update((key, facts.get(key)) for key in COPIED)
    return record


def vm_records(batches, members, hosts, skipped_done=()):
    """{VM name: record} for every VM of the batches, and those the run had already patched."""
    by_name = dict((member['name'], member) for member in members or [])
    records = {}
    for batch in batches if isinstance(batches, list) else []:
        if not isinstance(batch, dict):
            continue  # the report refuses it, naming the batch
        for name in batch.get('vms') or []:
            records[name] = vm_record((hosts or {}).get(name), by_name.get(name, {}), batch.get('index'))
    for name in skipped_done or []:
        member = by_name.get(name, {})
        records[name] = dict(update_domain=member.get('update_domain'), fault_domain=member.get('fault_domain'),
                             batch=None, status='skipped_done', steps={})
    return records
