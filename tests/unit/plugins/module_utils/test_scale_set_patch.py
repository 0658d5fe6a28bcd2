# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the rolling patch over a scale set's instances (pure Python, no Azure)."""

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import PlanRefused
from ansible_collections.azure_ha.webfarm.plugins.module_utils.scale_set_patch import (
    drain_problems,
    member_progress,
    parse_progress,
    plan_instances,
    progress_tag,
    stale_progress_tags,
    tag_room_problems,
)


def instances(count, update_domains=5, scale_set='app2-vmss'):
    return [{
        'name': '%s_%d' % (scale_set, n), 'instance_id': str(n), 'update_domain': n % update_domains,
        'fault_domain': n % 3, 'power_state': 'running', 'private_ip': '10.1.0.%d' % (4 + n), 'os_type': 'Linux',
    } for n in range(count)]


def params(members, **extra):
    out = dict(members=members, health=dict((m['private_ip'], 'Up') for m in members))
    out.update(extra)
    return out


@pytest.mark.parametrize('method', ['admin_state', 'pool'])
def test_a_drain_method_that_edits_the_nic_is_refused_for_a_scale_set(method):
    problems = drain_problems(method, 'app2-vmss')
    assert len(problems) == 1
    assert problems[0].startswith('rolling_patch_drain_method=%s: cannot drain an instance of scale set app2-vmss' % method)
    assert 'model' in problems[0]


def test_probe_drains_an_instance_and_any_method_drains_a_vm():
    assert drain_problems('probe', 'app2-vmss') == []
    assert drain_problems('pool', '') == []


def test_a_progress_tag_round_trips():
    tag = progress_tag('3', '20261205T010000Z', 'in_progress', 'drain')
    assert tag == {'webfarm_patch_i3': '20261205T010000Z in_progress drain'}
    assert parse_progress(tag['webfarm_patch_i3']) == ('20261205T010000Z', 'in_progress', 'drain')
    assert progress_tag('0', 'r1', 'in_progress') == {'webfarm_patch_i0': 'r1 in_progress none'}
    assert parse_progress('') == (None, None, None)
    assert parse_progress('garbage') == (None, None, None)


def test_only_the_progress_of_this_run_counts():
    members = instances(4)
    tags = {'env': 'dev', 'webfarm_patch_run': 'r2',
            'webfarm_patch_i0': 'r2 done restore', 'webfarm_patch_i1': 'r2 failed verify',
            'WEBFARM_PATCH_I2': 'r2 in_progress patch', 'webfarm_patch_i3': 'r1 done restore'}
    assert member_progress(tags, members, 'r2') == (['app2-vmss_0'], ['app2-vmss_1', 'app2-vmss_2'])
    assert member_progress(tags, members, 'r1') == (['app2-vmss_3'], [])
    assert stale_progress_tags(tags, 'r2') == ['webfarm_patch_i3']


def test_the_tags_must_hold_one_progress_tag_per_instance():
    own = dict(('t%d' % n, 'v') for n in range(8))
    assert tag_room_problems(own, [str(n) for n in range(40)], 'big') == []
    problems = tag_room_problems(own, [str(n) for n in range(41)], 'big')
    assert problems and 'make 51 tags, Azure allows 50' in problems[0] and 'rolling_patch_only' in problems[0]


def test_a_scale_set_plan_resumes_from_the_set_tags():
    members = instances(5)
    tags = {'webfarm_patch_i0': 'r1 done restore', 'webfarm_patch_i1': 'r1 failed verify',
            'webfarm_patch_i4': 'r0 done restore'}
    health = dict((m['private_ip'], 'Up') for m in members)
    health['10.1.0.5'] = 'Down'  # instance 1, left drained by the failed run
    plan, stale = plan_instances(params(members, health=health), scale_set='app2-vmss',
                                 scale_set_tags=tags, run_id='r1')
    assert plan['skipped_done'] == ['app2-vmss_0']
    assert plan['batches'][0]['vms'] == ['app2-vmss_1']
    assert [b['vms'] for b in plan['batches']] == [['app2-vmss_1'], ['app2-vmss_2'], ['app2-vmss_3'], ['app2-vmss_4']]
    assert stale == ['webfarm_patch_i4']


def test_every_problem_is_named_at_once_before_anything_changes():
    members = instances(3)
    with pytest.raises(PlanRefused) as refused:
        plan_instances(params(members, only=['nope']), scale_set='app2-vmss', drain_method='pool', run_id='r')
    problems = refused.value.problems
    assert problems[0].startswith('rolling_patch_drain_method=pool')
    assert any('nope' in p for p in problems[1:])
    with pytest.raises(PlanRefused):
        plan_instances(params(members), scale_set='app2-vmss', drain_method='admin_state', run_id='r')


def test_an_availability_set_plan_is_unchanged():
    members = instances(3)
    plan, stale = plan_instances(params(members, completed=['app2-vmss_0']), drain_method='pool')
    assert plan['skipped_done'] == ['app2-vmss_0'] and stale == []
