# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the VM records a rolling patch's report is made of, from the batch play's facts."""

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_outcome import (
    failure,
    vm_record,
    vm_records,
    vm_status,
)

MEMBERS = [{'name': 'app1-vm%d' % n, 'update_domain': n - 1, 'fault_domain': (n - 1) % 2} for n in (1, 2, 3, 4)]
BATCHES = [{'index': 1, 'vms': ['app1-vm2']}, {'index': 2, 'vms': ['app1-vm3']}, {'index': 3, 'vms': ['app1-vm4']}]
STEPS = {'drain': {'start': '2026-12-05T04:00:00Z', 'end': '2026-12-05T04:00:10Z'}}
FAILED = {'step': 'reboot', 'task': 'Wait for the VM', 'message': 'timed out'}


@pytest.mark.parametrize('facts, status', [
    ({'done': True, 'current_step': 'restore'}, 'done'),
    ({'done': False, 'failed': FAILED, 'current_step': 'reboot'}, 'failed'),
    ({'current_step': 'patch'}, 'failed'),     # stopped in a step: unreachable
    ({'done': False, 'failed': None, 'current_step': None}, 'not_started'),
    ({}, 'not_started'),
])
def test_a_vm_is_done_failed_or_not_started(facts, status):
    assert vm_status(facts) == status


def test_a_failure_names_its_step_task_and_message_else_the_step_the_vm_was_in():
    assert failure({'failed': FAILED, 'current_step': 'reboot'}) == ('reboot', 'Wait for the VM: timed out')
    assert failure({'failed': {'step': None, 'task': None, 'message': 'x'}, 'current_step': 'patch'}) == ('patch', ': x')
    assert failure({'current_step': 'verify'}) == ('verify', 'unreachable or stopped during the step')


def test_a_done_vm_record_copies_what_it_read_and_compares_the_boot_ids():
    facts = {'done': True, 'current_step': 'restore', 'version_before': '1.0.0', 'version_after': '2.0.0',
             'boot_id_before': 'a', 'boot_id_after': 'b', 'packages_upgraded': 3, 'steps': STEPS}
    assert vm_record(facts, MEMBERS[1], 1) == {
        'update_domain': 1, 'fault_domain': 1, 'batch': 1, 'status': 'done', 'failed_step': None, 'message': None,
        'version_before': '1.0.0', 'version_after': '2.0.0', 'boot_id_before': 'a', 'boot_id_after': 'b',
        'rebooted': True, 'packages_upgraded': 3, 'steps': STEPS}
    assert vm_record(dict(facts, boot_id_after='a'), MEMBERS[1], 1)['rebooted'] is False
    assert vm_record(dict(facts, boot_id_after=None), MEMBERS[1], 1)['rebooted'] is None


def test_every_vm_of_the_batches_has_a_record_and_the_vms_done_before_are_outside_the_batches():
    hosts = {'app1-vm2': {'done': True, 'steps': STEPS},
             'app1-vm3': {'failed': FAILED, 'current_step': 'reboot', 'boot_id_before': 'a', 'boot_id_after': None}}
    records = vm_records(BATCHES, MEMBERS, hosts, ['app1-vm1'])
    assert {name: (r['batch'], r['status'], r.get('failed_step')) for name, r in records.items()} == {
        'app1-vm1': (None, 'skipped_done', None), 'app1-vm2': (1, 'done', None),
        'app1-vm3': (2, 'failed', 'reboot'), 'app1-vm4': (3, 'not_started', None)}
    assert records['app1-vm1'] == {'update_domain': 0, 'fault_domain': 0, 'batch': None, 'status': 'skipped_done',
                                   'steps': {}}
    assert records['app1-vm3']['message'] == 'Wait for the VM: timed out'
    assert records['app1-vm4']['steps'] == {} and records['app1-vm4']['version_before'] is None


def test_batches_that_are_not_a_list_of_dicts_give_no_records():
    assert vm_records('nope', MEMBERS, {}) == {}
    assert vm_records(['nope'], MEMBERS, {}) == {}
