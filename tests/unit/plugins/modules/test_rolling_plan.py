# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling_plan module run through its main(), as ansible-playbook would run it."""

import json

import pytest

from ansible_collections.azure_ha.webfarm.plugins.modules import rolling_plan

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 has no helper: feed basic._ANSIBLE_ARGS directly
    import contextlib
    from unittest import mock

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))):
            yield


MEMBERS = [
    {'name': 'app1-vm%d' % n, 'update_domain': (n - 1) % 3, 'fault_domain': (n - 1) % 2, 'power_state': 'running',
     'private_ip': '10.0.0.%d' % (3 + n), 'nat_port': 50000 + n, 'tags': {}, 'os_type': 'Linux'}
    for n in range(1, 7)
]
HEALTH = dict((m['name'], 'Up') for m in MEMBERS)


def run_module(capsys, **args):
    """Run main() with these module args; return (exit code, result JSON)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            rolling_plan.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_plan_is_returned_with_summary_and_changes_nothing(capsys):
    code, result = run_module(capsys, members=MEMBERS, health=HEALTH, canary=True)
    assert code == 0
    assert result['changed'] is False
    assert result['refused'] is False
    assert [(b['index'], b['kind'], b['update_domain'], b['vms']) for b in result['plan']] == [
        (1, 'canary', 0, ['app1-vm1']),
        (2, 'update_domain', 0, ['app1-vm4']),
        (3, 'update_domain', 1, ['app1-vm2', 'app1-vm5']),
        (4, 'update_domain', 2, ['app1-vm3', 'app1-vm6']),
    ]
    assert result['plan'][2] == {'index': 3, 'kind': 'update_domain', 'update_domain': 1, 'vms': ['app1-vm2', 'app1-vm5'],
                                 'in_service_during': 4, 'skipped_done': [], 'fault_domains': [0, 1]}
    assert result['canary'] == 'app1-vm1'
    assert result['update_domain_order'] == [0, 1, 2]
    assert result['min_in_service'] == 1
    assert result['max_unhealthy'] == 1
    assert result['unhealthy'] == []
    assert result['skipped_done'] == []
    assert result['summary'][1] == ('batch 1 (canary from update domain 0: app1-vm1): 5 in service during the batch; '
                                    'fault domain 0')
    assert len(result['summary']) == 5


def test_check_mode_gives_the_same_plan(capsys):
    _code, normal = run_module(capsys, members=MEMBERS, health=HEALTH)
    code, checked = run_module(capsys, members=MEMBERS, health=HEALTH, _ansible_check_mode=True)
    assert code == 0
    assert checked['changed'] is False
    assert checked['plan'] == normal['plan']
    assert checked['summary'] == normal['summary']


def test_options_reach_the_planner(capsys):
    code, result = run_module(capsys, members=MEMBERS, health={'10.0.0.4': 'Up', '10.0.0.5': 'Down', 'app1-vm3': 'Up',
                                                               'app1-vm4': 'Up', 'app1-vm5': 'Up', 'app1-vm6': 'Up'},
                              order='2,1,0', min_in_service='2', max_unhealthy=1,
                              only=['app1-vm1', 'app1-vm2', 'app1-vm3', 'app1-vm4'],
                              completed=['app1-vm3'], in_progress=['app1-vm2'])
    assert code == 0
    assert [(b['update_domain'], b['vms'], b['skipped_done']) for b in result['plan']] == [
        (1, ['app1-vm2'], []), (0, ['app1-vm1', 'app1-vm4'], [])]
    assert result['update_domain_order'] == [2, 1, 0]
    assert result['skipped_done'] == ['app1-vm3']
    assert result['in_progress'] == ['app1-vm2']
    assert result['min_in_service'] == 2


def test_refusal_fails_naming_the_option_and_numbers(capsys):
    health = dict(HEALTH, **{'app1-vm1': 'Down', 'app1-vm4': 'Down'})
    code, result = run_module(capsys, members=MEMBERS, health=health, min_in_service=3, max_unhealthy=2)
    assert code == 1
    assert result['failed'] is True
    assert result['refused'] is True
    assert result['msg'] == (
        'rolling plan refused: '
        'min_in_service=3: batch 2 (update domain 1: app1-vm2, app1-vm5) would leave 2 healthy VMs in service (of 6); '
        'min_in_service=3: batch 3 (update domain 2: app1-vm3, app1-vm6) would leave 2 healthy VMs in service (of 6)')
    assert len(result['problems']) == 2
    assert result['summary'] == ['refused: %s' % problem for problem in result['problems']]
    assert 'plan' not in result


def test_refusal_in_check_mode_fails_too(capsys):
    code, result = run_module(capsys, members=MEMBERS[:1], health=HEALTH, _ansible_check_mode=True)
    assert code == 1
    assert result['msg'] == ('rolling plan refused: min_in_service=1 (default): batch 1 (update domain 0: app1-vm1) '
                             'would take the whole set (1 VM) out of service')


def test_unhealthy_set_is_refused(capsys):
    code, result = run_module(capsys, members=MEMBERS, health=dict(HEALTH, **{'app1-vm2': 'Down', 'app1-vm3': None}))
    assert code == 1
    assert result['msg'].startswith('rolling plan refused: max_unhealthy=20%: 2 of 6 VMs are unhealthy')


def test_missing_required_option_fails_on_the_argument_spec(capsys):
    code, result = run_module(capsys, members=MEMBERS)
    assert code == 1
    assert result['msg'] == 'missing required arguments: health'


def test_wrong_option_type_fails_on_the_argument_spec(capsys):
    code, result = run_module(capsys, members=MEMBERS, health=HEALTH, min_in_service='several')
    assert code == 1
    assert 'min_in_service' in result['msg']
    assert 'int' in result['msg']


def test_the_run_is_decided_from_the_record_and_the_members_come_in_batch_order(capsys):
    members = [dict(m) for m in MEMBERS]
    members[0]['tags'] = {'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'done'}
    code, result = run_module(capsys, members=members, health=HEALTH,
                              record_tags={'webfarm_patch_run': 'r1', 'webfarm_patch_state': 'failed'})
    assert code == 0
    assert (result['run_id'], result['resumed']) == ('r1', True)
    assert result['skipped_done'] == ['app1-vm1']
    assert [m['name'] for m in result['members']] == ['app1-vm4', 'app1-vm2', 'app1-vm5', 'app1-vm3', 'app1-vm6']
    assert result['members'][0] == members[3]


def test_without_a_record_the_run_id_is_as_given_and_not_resumed(capsys):
    code, result = run_module(capsys, members=MEMBERS, health=HEALTH)
    assert code == 0
    assert (result['run_id'], result['resumed']) == ('', False)
