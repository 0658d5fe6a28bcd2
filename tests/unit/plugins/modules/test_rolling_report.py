# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling_report module run through its main(): the VM records made from the batch play's facts."""

import json

import pytest

from ansible_collections.azure_ha.webfarm.plugins.modules import rolling_report

from .test_rolling_plan import patch_module_args

MEMBERS = [{'name': 'app1-vm%d' % n, 'update_domain': n - 1, 'fault_domain': 0} for n in (1, 2, 3)]
RUN = {'run_id': 'r1', 'drain_method': 'probe', 'started': '2026-12-05T04:00:00Z', 'ended': '2026-12-05T04:10:00Z',
       'batches': [{'index': 1, 'kind': 'update_domain', 'update_domain': 1, 'vms': ['app1-vm2']},
                   {'index': 2, 'kind': 'update_domain', 'update_domain': 2, 'vms': ['app1-vm3']}]}


def run_module(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            rolling_report.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_the_vms_come_from_the_hosts_facts_and_the_run_fails_on_a_failed_vm(capsys, tmp_path):
    hosts = {'app1-vm2': {'done': False, 'failed': {'step': 'reboot', 'task': 'Wait', 'message': 'timed out'},
                          'current_step': 'reboot', 'steps': {'drain': {'start': '2026-12-05T04:00:01Z',
                                                                        'end': '2026-12-05T04:00:05Z'}}}}
    code, result = run_module(capsys, path=str(tmp_path), run=RUN, hosts=hosts, members=MEMBERS,
                              skipped_done=['app1-vm1'])
    assert code == 0, result
    vms = result['report']['vms']
    assert {name: vm['status'] for name, vm in vms.items()} == {
        'app1-vm1': 'skipped_done', 'app1-vm2': 'failed', 'app1-vm3': 'not_started'}
    assert (vms['app1-vm2']['failed_step'], vms['app1-vm2']['message']) == ('reboot', 'Wait: timed out')
    assert result['status'] == 'failed' and 'app1-vm2 failed at step reboot' in result['message']
    assert (tmp_path / 'rolling-patch-r1.json').is_file()


def test_a_vm_given_in_the_run_replaces_the_one_made_from_the_facts(capsys, tmp_path):
    run = dict(RUN, vms={'app1-vm3': {'status': 'done', 'update_domain': 2}})
    code, result = run_module(capsys, path=str(tmp_path), run=run, hosts={'app1-vm2': {'done': True}},
                              members=MEMBERS)
    assert code == 0, result
    assert {name: vm['status'] for name, vm in result['report']['vms'].items()} == {
        'app1-vm2': 'done', 'app1-vm3': 'done'}
    assert result['status'] == 'completed'
