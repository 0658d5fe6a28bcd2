# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tier_plan module end to end (arguments in, JSON out) and its agreement with
role preflight's defaults and argument spec."""

from __future__ import absolute_import, division, print_function

import json
from pathlib import Path

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args
from ansible_collections.azure_ha.webfarm.plugins.modules import tier_plan

__metaclass__ = type

ROLE = Path(__file__).resolve().parents[4] / 'roles' / 'preflight'
SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@example'
REQUIRED = dict(app='app1', env='dev', location='westeurope', admin_source_prefixes=['203.0.113.0/24'])


def run(capsys, args, check_mode=False):
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            tier_plan.main()
    return json.loads(capsys.readouterr().out)


def test_returns_the_plan_and_changes_nothing(capsys):
    result = run(capsys, dict(REQUIRED, ssh_public_key=SSH_KEY, vm_count=3))
    assert result['changed'] is False
    assert 'failed' not in result
    assert result['plan']['load_balancer'] == 'app1-lb'
    assert [vm['name'] for vm in result['plan']['vms']] == ['app1-vm1', 'app1-vm2', 'app1-vm3']


def test_scale_set_variant_with_some_keys_of_its_dicts(capsys):
    result = run(capsys, dict(REQUIRED, ssh_public_key=SSH_KEY, vm_count=3, variant='scale_set',
                              scale_set={'upgrade_mode': 'Manual'}, autoscale={'enabled': True, 'maximum': 9}))
    assert 'failed' not in result, result.get('msg')
    scale_set = result['plan']['scale_set']
    assert result['plan']['vms'] == [] and scale_set['name'] == 'app1-vmss'
    assert scale_set['upgrade_policy']['mode'] == 'Manual'
    assert scale_set['upgrade_policy']['rolling']['max_batch_instance_percent'] == 20
    assert (scale_set['autoscale']['maximum'], scale_set['nat_pool']['frontend_port_end']) == (9, 50010)


def test_check_mode_gives_the_same_plan(capsys):
    args = dict(REQUIRED, ssh_public_key=SSH_KEY)
    assert run(capsys, args, check_mode=True)['plan'] == run(capsys, args)['plan']


def test_fails_with_every_error_and_without_the_password(capsys):
    password = 'tooweakpassword'
    result = run(capsys, dict(REQUIRED, os_type='Windows', admin_password=password, fault_domains=4,
                              subnet_cidr='10.1.0.0/24'))
    assert result['failed'] is True
    assert len(result['errors']) == 3
    assert 'webfarm_fault_domains: 4 is out of range' in result['msg']
    assert 'webfarm_subnet_cidr: 10.1.0.0/24 is not inside webfarm_vnet_cidr 10.0.0.0/16' in result['msg']
    assert 'webfarm_admin_password:' in result['msg']
    assert password not in json.dumps(result)


def _load(name):
    with open(ROLE / name) as handle:
        return yaml.safe_load(handle)


def test_role_defaults_argument_spec_and_module_agree():
    defaults = _load('defaults/main.yml')
    options = _load('meta/argument_specs.yml')['argument_specs']['main']['options']
    module_vars = {'webfarm_' + name: spec for name, spec in tier_plan.ARGUMENT_SPEC.items()}
    # the role documents every default it sets and every required variable
    assert set(options) == set(defaults) | {var for var, spec in module_vars.items() if spec.get('required')}
    # boot diagnostics concern the vm role only, the VMs that leave and the VM replaced
    # tier_preflight only; the module gets every other variable
    assert set(options) - set(module_vars) == {'webfarm_boot_diagnostics', 'webfarm_scale_in_vms',
                                               'webfarm_replace_vm', 'webfarm_replace_keep_os_disk'}
    for var in set(options) - set(module_vars):
        assert options[var]['default'] == defaults[var], var
    for var, spec in module_vars.items():
        option = options[var]
        for key in ('type', 'elements', 'required', 'no_log'):
            assert option.get(key) == spec.get(key), (var, key)
        if var == 'webfarm_resource_group':  # the module computes the same name itself
            assert defaults[var] == option['default'] == '{{ webfarm_app }}-{{ webfarm_env }}-rg'
        elif not spec.get('required'):
            assert defaults[var] == option['default'] == spec['default'], var
