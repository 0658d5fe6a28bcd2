# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the run of a rolling patch: its id and the members' progress in it (pure Python)."""

import calendar

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils.patch_run import (
    decide_run,
    new_run_id,
    plan_run,
    unfinished_run,
    vm_progress,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import PlanRefused

NOW = calendar.timegm((2026, 12, 5, 4, 0, 0))


def vms(*tags):
    """app1-vm1.. with these tags, one update domain each."""
    return [{'name': 'app1-vm%d' % n, 'update_domain': n - 1, 'fault_domain': 0, 'private_ip': '10.0.0.%d' % (3 + n),
             'tags': t} for n, t in enumerate(tags, 1)]


def params(members, **extra):
    out = dict(members=members, health=dict((m['name'], 'Up') for m in members))
    out.update(extra)
    return out


def test_a_new_run_is_named_by_the_utc_time():
    assert new_run_id(NOW) == '20261205T040000Z'
    assert len(new_run_id()) == len('20261205T040000Z')


@pytest.mark.parametrize('tags, unfinished', [
    ({}, None),
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'running'}, 'r1'),
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'}, 'r1'),
    ({'webfarm_patch_run': 'r1'}, 'r1'),
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'completed'}, None),
    ({'webfarm_patch_run': '', 'webfarm_patch_state': 'running'}, None),
    (None, None),
])
def test_the_recorded_run_is_unfinished_until_it_completed(tags, unfinished):
    assert unfinished_run(tags) == unfinished


@pytest.mark.parametrize('tags, requested, decided', [
    # no id asked: resume the unfinished run, else a new one
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'}, '', ('r1', True)),
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'completed'}, '', ('20261205T040000Z', False)),
    ({}, '', ('20261205T040000Z', False)),
    # an id asked: resumed when it is the recorded run, whatever its state; else a new run by that name
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'completed'}, 'r1', ('r1', True)),
    ({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'}, 'r2', ('r2', False)),
    ({}, 'r2', ('r2', False)),
])
def test_the_run_is_decided_from_the_record(tags, requested, decided):
    assert decide_run(tags, requested, NOW) == decided


def test_a_vm_counts_by_its_own_tags_of_this_run_only():
    members = vms({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'},
                  {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'},
                  {'webfarm_patch_run': 'r1'},
                  {'webfarm_patch_run': 'r0', 'webfarm_patch_state': 'done'},
                  {}, None)
    assert vm_progress(members, 'r1') == (['app1-vm1'], ['app1-vm2', 'app1-vm3'])
    assert vm_progress(members, 'r0') == (['app1-vm4'], [])
    assert vm_progress(members, '') == ([], [])


def test_a_resumed_availability_set_run_skips_the_done_vm_and_starts_with_the_failed_one():
    members = vms({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'},
                  {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'}, {})
    health = {'app1-vm1': 'Up', 'app1-vm2': 'Down', 'app1-vm3': 'Up'}   # vm2 left drained
    record = {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'}
    plan, stale, run_id, resumed = plan_run(params(members, health=health), record_tags=record, now=NOW)
    assert (run_id, resumed, stale) == ('r1', True, [])
    assert plan['skipped_done'] == ['app1-vm1']
    assert [b['vms'] for b in plan['batches']] == [['app1-vm2'], ['app1-vm3']]


def test_a_new_run_ignores_the_vm_tags_of_the_last_run():
    members = vms({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'}, {}, {})
    record = {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'completed'}
    plan, _stale, run_id, resumed = plan_run(params(members), record_tags=record, now=NOW)
    assert (run_id, resumed) == ('20261205T040000Z', False)
    assert plan['skipped_done'] == []
    assert [b['vms'] for b in plan['batches']] == [['app1-vm1'], ['app1-vm2'], ['app1-vm3']]


def test_without_a_record_the_run_id_is_taken_as_given():
    members = vms({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'}, {}, {})
    plan, _stale, run_id, resumed = plan_run(params(members), run_id='r1')
    assert (run_id, resumed, plan['skipped_done']) == ('r1', False, ['app1-vm1'])
    plan, _stale, run_id, resumed = plan_run(params(members))
    assert (run_id, resumed, plan['skipped_done']) == ('', False, [])


def test_given_completed_and_in_progress_add_to_the_tags():
    members = vms({'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'}, {}, {})
    plan, _stale, _run_id, _resumed = plan_run(params(members, completed=['app1-vm2']), run_id='r1')
    assert plan['skipped_done'] == ['app1-vm1', 'app1-vm2']


def test_a_scale_set_takes_its_progress_from_the_record_and_not_from_the_instances_tags():
    members = [{'name': 'app2-vmss_%d' % n, 'instance_id': str(n), 'update_domain': n, 'fault_domain': 0,
                'private_ip': '10.1.0.%d' % (4 + n),
                # an instance's tags are a copy of the set's: they say nothing
                'tags': {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'}} for n in range(3)]
    record = {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'running',
              'webfarm_patch_i0': 'r1 done restore', 'webfarm_patch_i2': 'r0 done restore'}
    plan, stale, run_id, resumed = plan_run(params(members), record_tags=record, scale_set='app2-vmss', now=NOW)
    assert (run_id, resumed, stale) == ('r1', True, ['webfarm_patch_i2'])
    assert plan['skipped_done'] == ['app2-vmss_0']
    assert [b['vms'] for b in plan['batches']] == [['app2-vmss_1'], ['app2-vmss_2']]
    with pytest.raises(PlanRefused) as refused:
        plan_run(params(members), record_tags=record, scale_set='app2-vmss', drain_method='pool')
    assert 'rolling_patch_drain_method=pool' in str(refused.value)
