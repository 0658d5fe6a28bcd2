# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scale-set variant of plugins/module_utils/scale_set_plan.py through tier_plan's API:
one test per rule, the merge over the defaults, unknown keys, the plan's names and shapes."""

from __future__ import absolute_import, division, print_function

import copy

import pytest
import yaml

from ansible_collections.azure_ha.webfarm.plugins.module_utils import scale_set_plan, tier_plan
from ansible_collections.azure_ha.webfarm.plugins.modules import scale_set as scale_set_module
from ansible_collections.azure_ha.webfarm.plugins.modules.tier_plan import ARGUMENT_SPEC

from .test_tier_plan import params as tier_params

__metaclass__ = type


def params(scale_set=None, autoscale=None, **overrides):
    """The dev inventory's scale-set tier (app1, 3 instances) with ``scale_set`` and
    ``autoscale`` given as a user gives them (only some keys)."""
    values = dict(variant='scale_set', vm_count=3, scale_set=scale_set or {}, autoscale=autoscale or {})
    values.update(overrides)
    return tier_params(**values)


def errors_of(values):
    return tier_plan.validate(values)


def test_dev_defaults_plan_the_scale_set():
    plan = tier_plan.build_plan(params())
    assert plan['variant'] == 'scale_set'
    # the set is its own availability: no availability set, no VM and no per-VM NAT rule
    assert plan['vms'] == [] and plan['availability_set'] is None
    assert plan['load_balancer'] == 'app1-lb' and plan['probe'] == 'app1-lb-probe'
    scale_set = plan['scale_set']
    assert scale_set == {
        'name': 'app1-vmss',
        'capacity': 3,
        'overprovision': True,
        'platform_fault_domain_count': 2,
        'upgrade_policy': {'mode': 'Rolling', 'rolling': {
            'max_batch_instance_percent': 20, 'max_unhealthy_instance_percent': 20,
            'max_unhealthy_upgraded_instance_percent': 20, 'pause_time_between_batches': 'PT0S',
            'prioritize_unhealthy_instances': True, 'max_surge': False}},
        'automatic_repairs': {'enabled': False, 'grace_period': 'PT10M', 'repair_action': 'Replace'},
        'scale_in_policy': {'rule': 'Default', 'force_deletion': False},
        'terminate_notification': {'enabled': True, 'timeout': 'PT5M'},
        # probe every 5 s, 2 failures to go down, one probe under way, 5 s for requests in flight
        'drain_seconds': 20,
        'health_source': 'probe',
        'health_extension': None,
        # 3 + 1 overprovisioned extra (20 % of 3, rounded up)
        'peak_instances': 4,
        'nat_pool': {'name': 'app1-lb-natpool-ssh', 'frontend_port_start': 50000, 'frontend_port_end': 50003,
                     'backend_port': 22},
        'autoscale': scale_set['autoscale'],
    }


def test_availability_set_plan_has_no_scale_set():
    plan = tier_plan.build_plan(tier_params())
    assert plan['variant'] == 'availability_set' and 'scale_set' not in plan
    assert plan['availability_set'] == 'app1-as' and len(plan['vms']) == 2


def _suboption_names(value, options):
    """Paths in ``value`` (a dict of options) that ``options`` (module documentation) does not know."""
    unknown = []
    for key, item in value.items():
        if key not in options:
            unknown.append(key)
        elif isinstance(item, dict) and 'suboptions' in options[key]:
            unknown.extend(key + '.' + sub for sub in _suboption_names(item, options[key]['suboptions']))
    return unknown


def test_scale_set_options_are_those_of_the_scale_set_module():
    """The role passes them through: every key but the plan's own is an option of azure_ha.webfarm.scale_set,
    and the health extension an element of its extensions."""
    scale_set = tier_plan.build_plan(params(scale_set={'health_source': 'extension'}))['scale_set']
    options = yaml.safe_load(scale_set_module.DOCUMENTATION)['options']
    own = ('health_source', 'health_extension', 'peak_instances', 'nat_pool', 'autoscale', 'drain_seconds')
    shaped = dict((key, value) for key, value in scale_set.items() if key not in own)
    assert _suboption_names(shaped, options) == []
    assert _suboption_names(scale_set['health_extension'], options['extensions']['suboptions']) == []
    assert set(scale_set['upgrade_policy']['rolling']) == set(options['upgrade_policy']['suboptions']['rolling']
                                                              ['suboptions'])


def test_autoscale_profile_is_shaped_for_azure_rm_autoscale():
    autoscale = tier_plan.build_plan(params(autoscale={'enabled': True, 'minimum': 2, 'maximum': 9,
                                                       'cooldown': 'PT10M', 'time_window': 'PT1H',
                                                       'scale_out_step': 2}))['scale_set']['autoscale']
    assert autoscale['name'] == 'app1-vmss-autoscale'
    assert (autoscale['enabled'], autoscale['minimum'], autoscale['maximum'], autoscale['default']) == (True, 2, 9, 3)
    profile, = autoscale['profiles']
    assert (profile['count'], profile['min_count'], profile['max_count']) == ('3', '2', '9')
    out, scale_in = profile['rules']
    # durations in minutes, as the module's float options; the role adds metric_resource_uri
    assert out == {'metric_name': 'Percentage CPU', 'statistic': 'Average', 'time_aggregation': 'Average',
                   'time_grain': 1.0, 'time_window': 60.0, 'operator': 'GreaterThan', 'threshold': 70.0,
                   'direction': 'Increase', 'type': 'ChangeCount', 'value': '2', 'cooldown': 10.0}
    assert (scale_in['operator'], scale_in['threshold'], scale_in['direction'], scale_in['value']) == (
        'LessThan', 30.0, 'Decrease', '1')


def test_partial_dicts_merge_over_the_defaults():
    scale_set = tier_plan.build_plan(params(scale_set={'upgrade_mode': 'Manual', 'rolling': {'max_surge': 'yes'},
                                                       'automatic_repairs': {'enabled': True}}))['scale_set']
    assert scale_set['upgrade_policy']['mode'] == 'Manual'
    rolling = scale_set['upgrade_policy']['rolling']
    assert rolling['max_surge'] is True and rolling['max_batch_instance_percent'] == 20
    assert scale_set['automatic_repairs'] == {'enabled': True, 'grace_period': 'PT10M', 'repair_action': 'Replace'}
    assert scale_set['overprovision'] is True and scale_set['scale_in_policy']['rule'] == 'Default'


def test_defaults_are_not_changed_by_a_merge():
    before = copy.deepcopy(scale_set_plan.SCALE_SET_DEFAULTS)
    plan = tier_plan.build_plan(params())
    plan['scale_set']['upgrade_policy']['rolling']['max_surge'] = True
    assert scale_set_plan.SCALE_SET_DEFAULTS == before == ARGUMENT_SPEC['scale_set']['default']


def test_values_given_as_strings_are_converted_as_ansible_does():
    scale_set = tier_plan.build_plan(params(scale_set={'fault_domains': '3', 'overprovision': 'false'}))['scale_set']
    assert scale_set['platform_fault_domain_count'] == 3 and scale_set['overprovision'] is False


def test_unknown_keys_are_refused_naming_them():
    errors = errors_of(params(scale_set={'rolling': {'max_batch_percent': 30}, 'capacity': 4},
                              autoscale={'min': 1}))
    assert ('webfarm_scale_set.rolling.max_batch_percent: is not a known key; known: max_batch_instance_percent, '
            'max_surge, max_unhealthy_instance_percent, max_unhealthy_upgraded_instance_percent, '
            'pause_time_between_batches, prioritize_unhealthy_instances') in errors
    assert any(e.startswith('webfarm_scale_set.capacity: is not a known key') for e in errors), errors
    assert any(e.startswith('webfarm_autoscale.min: is not a known key; known: cooldown, enabled, maximum')
               for e in errors), errors


def test_scale_set_variables_are_ignored_by_the_availability_set_variant():
    assert errors_of(tier_params(scale_set={'unknown': 1}, autoscale={'maximum': 1000})) == []


def test_availability_set_rules_are_skipped_for_the_scale_set():
    assert errors_of(params(fault_domains=7, update_domains=0, vm_count=100, subnet_cidr='10.0.0.0/24')) == []


def test_largest_capacity_sizes_the_nat_pool_and_the_subnet():
    scale_set = tier_plan.build_plan(params(autoscale={'enabled': True, 'maximum': 10},
                                            scale_set={'rolling': {'max_surge': True}}))['scale_set']
    # 10 (autoscale maximum) + 2 extras (20 %) + 2 surge (20 % batch)
    assert scale_set['peak_instances'] == 14
    assert (scale_set['nat_pool']['frontend_port_start'], scale_set['nat_pool']['frontend_port_end']) == (50000, 50013)
    # without overprovision, nor surge: the capacity; a disabled autoscale does not count
    scale_set = tier_plan.build_plan(params(scale_set={'overprovision': False}, autoscale={'maximum': 50},
                                            nat_frontend_port_base=60000))['scale_set']
    assert scale_set['peak_instances'] == 3
    assert (scale_set['nat_pool']['frontend_port_start'], scale_set['nat_pool']['frontend_port_end']) == (60000, 60002)


def test_health_extension_on_the_probe_port_and_path():
    scale_set = tier_plan.build_plan(params(scale_set={'health_source': 'extension'}, probe_port=8080,
                                            probe_path='/ready'))['scale_set']
    assert scale_set['health_extension'] == {
        'name': 'HealthExtension', 'publisher': 'Microsoft.ManagedServices', 'type': 'ApplicationHealthLinux',
        'type_handler_version': '1.0', 'settings': {'protocol': 'http', 'port': 8080, 'requestPath': '/ready'}}


def test_no_health_source_with_manual_upgrades_and_no_repairs():
    assert errors_of(params(scale_set={'health_source': 'none', 'upgrade_mode': 'Manual'})) == []
    assert errors_of(params(scale_set={'health_source': 'none', 'upgrade_mode': 'Automatic'})) == []


def test_a_long_drain_fits_a_longer_notice_or_none():
    slow_probe = dict(probe_interval=100, probe_threshold=2)
    assert errors_of(params(scale_set={'terminate_notification': {'timeout': 'PT6M'}}, **slow_probe)) == []
    assert errors_of(params(scale_set={'terminate_notification': {'enabled': False}}, **slow_probe)) == []
    plan = tier_plan.build_plan(params(scale_set={'terminate_notification': {'enabled': False}}))
    assert plan['scale_set']['terminate_notification'] == {'enabled': False, 'timeout': 'PT5M'}


def test_single_instance_with_opt_in():
    assert errors_of(params(vm_count=1, allow_single_vm=True,
                            autoscale={'enabled': True, 'minimum': 1, 'maximum': 3})) == []


# (variables over the dev scale-set tier, the variable path the message must start with, a fragment of the rule)
RULES = [
    # variant and OS
    (dict(variant='vmss'), 'webfarm_variant', 'must be one of availability_set, scale_set'),
    (dict(os_type='Windows', ssh_public_key='', admin_password='Xq7!mountain-Lamp'), 'webfarm_os_type',
     'configured by cloud-init'),
    # capacity
    (dict(vm_count=1), 'webfarm_vm_count', 'at least 2 VMs'),
    (dict(vm_count=0, allow_single_vm=True), 'webfarm_vm_count', 'at least 1'),
    (dict(vm_count=101, subnet_cidr='10.0.0.0/23'), 'webfarm_vm_count', 'a scale set in one placement group'),
    # the set
    (dict(scale_set={'fault_domains': 6}), 'webfarm_scale_set.fault_domains', 'between 1 and 5'),
    (dict(scale_set={'fault_domains': 0}), 'webfarm_scale_set.fault_domains', 'between 1 and 5'),
    (dict(scale_set={'fault_domains': 'two'}), 'webfarm_scale_set.fault_domains', 'is not an integer'),
    (dict(scale_set={'fault_domains': True}), 'webfarm_scale_set.fault_domains', 'is not an integer'),
    (dict(scale_set={'overprovision': 'maybe'}), 'webfarm_scale_set.overprovision', 'is not a boolean'),
    (dict(scale_set={'upgrade_mode': 'rolling'}), 'webfarm_scale_set.upgrade_mode',
     'must be one of Manual, Automatic, Rolling'),
    (dict(scale_set={'upgrade_mode': 5}), 'webfarm_scale_set.upgrade_mode', 'is not a string'),
    (dict(scale_set='Rolling'), 'webfarm_scale_set', 'must be a dict'),
    (dict(scale_set={'rolling': {'max_batch_instance_percent': 4}}),
     'webfarm_scale_set.rolling.max_batch_instance_percent', 'between 5 and 100'),
    (dict(scale_set={'rolling': {'max_batch_instance_percent': 101}}),
     'webfarm_scale_set.rolling.max_batch_instance_percent', 'between 5 and 100'),
    (dict(scale_set={'rolling': {'max_unhealthy_instance_percent': 4}}),
     'webfarm_scale_set.rolling.max_unhealthy_instance_percent', 'between 5 and 100'),
    (dict(scale_set={'rolling': {'max_unhealthy_upgraded_instance_percent': -1}}),
     'webfarm_scale_set.rolling.max_unhealthy_upgraded_instance_percent', 'between 0 and 100'),
    (dict(scale_set={'rolling': {'pause_time_between_batches': '5s'}}),
     'webfarm_scale_set.rolling.pause_time_between_batches', 'not an ISO 8601 duration'),
    (dict(scale_set={'rolling': {'pause_time_between_batches': 'PT1H1S'}}),
     'webfarm_scale_set.rolling.pause_time_between_batches', 'between PT0S and PT1H'),
    (dict(scale_set={'health_source': 'lb'}), 'webfarm_scale_set.health_source',
     'must be one of probe, extension, none'),
    (dict(scale_set={'health_source': 'none'}), 'webfarm_scale_set.upgrade_mode', 'Rolling needs a health source'),
    (dict(scale_set={'health_source': 'none', 'upgrade_mode': 'Manual', 'automatic_repairs': {'enabled': True}}),
     'webfarm_scale_set.automatic_repairs.enabled', 'need a health source'),
    (dict(scale_set={'automatic_repairs': {'grace_period': 'PT5M'}}),
     'webfarm_scale_set.automatic_repairs.grace_period', 'between PT10M and PT90M'),
    (dict(scale_set={'automatic_repairs': {'grace_period': 'PT2H'}}),
     'webfarm_scale_set.automatic_repairs.grace_period', 'between PT10M and PT90M'),
    (dict(scale_set={'automatic_repairs': {'repair_action': 'Redeploy'}}),
     'webfarm_scale_set.automatic_repairs.repair_action', 'must be one of Replace, Restart, Reimage'),
    (dict(scale_set={'scale_in_policy': {'rule': 'Newest'}}), 'webfarm_scale_set.scale_in_policy.rule',
     'must be one of Default, OldestVM, NewestVM'),
    (dict(scale_set={'terminate_notification': {'timeout': 'PT4M'}}),
     'webfarm_scale_set.terminate_notification.timeout', 'between PT5M and PT15M'),
    (dict(scale_set={'terminate_notification': {'timeout': 'PT16M'}}),
     'webfarm_scale_set.terminate_notification.timeout', 'between PT5M and PT15M'),
    (dict(scale_set={'terminate_notification': {'enabled': 'maybe'}}),
     'webfarm_scale_set.terminate_notification.enabled', 'is not a boolean'),
    (dict(probe_interval=100, probe_threshold=2), 'webfarm_scale_set.terminate_notification.timeout',
     "PT5M is shorter than an instance's drain (305 s: webfarm_probe_interval 100 s x (webfarm_probe_threshold 2 "
     "+ 1) + 5 s)"),
    # autoscale
    (dict(autoscale={'enabled': True, 'minimum': 4}), 'webfarm_autoscale',
     'webfarm_vm_count 3 (the default capacity) must be between webfarm_autoscale.minimum 4'),
    (dict(autoscale={'enabled': True, 'maximum': 2, 'minimum': 2}), 'webfarm_autoscale',
     'and webfarm_autoscale.maximum 2'),
    (dict(autoscale={'minimum': 7}), 'webfarm_autoscale.minimum', 'is above webfarm_autoscale.maximum 6'),
    (dict(autoscale={'minimum': 1}), 'webfarm_autoscale.minimum', 'webfarm_allow_single_vm'),
    (dict(autoscale={'minimum': 0}), 'webfarm_autoscale.minimum', 'at least 1'),
    (dict(autoscale={'maximum': 101}), 'webfarm_autoscale.maximum', 'one placement group'),
    (dict(autoscale={'scale_out_cpu': 101}), 'webfarm_autoscale.scale_out_cpu', 'between 1 and 100'),
    (dict(autoscale={'scale_in_cpu': 0}), 'webfarm_autoscale.scale_in_cpu', 'between 1 and 100'),
    (dict(autoscale={'scale_in_cpu': 70}), 'webfarm_autoscale.scale_in_cpu', 'must be below'),
    (dict(autoscale={'time_grain': 'PT30S'}), 'webfarm_autoscale.time_grain', 'between PT1M and PT12H'),
    (dict(autoscale={'time_window': 'PT4M'}), 'webfarm_autoscale.time_window', 'between PT5M and PT12H'),
    (dict(autoscale={'time_window': 'P1D'}), 'webfarm_autoscale.time_window', 'between PT5M and PT12H'),
    (dict(autoscale={'time_grain': 'PT10M'}), 'webfarm_autoscale.time_grain', 'longer than'),
    (dict(autoscale={'cooldown': 'P8D'}), 'webfarm_autoscale.cooldown', 'between PT1M and P7D'),
    (dict(autoscale={'cooldown': 'PT'}), 'webfarm_autoscale.cooldown', 'not an ISO 8601 duration'),
    (dict(autoscale={'scale_in_step': 0}), 'webfarm_autoscale.scale_in_step', 'between 1 and 100'),
    # room for the most instances at once: subnet and NAT pool
    (dict(subnet_cidr='10.0.0.0/29'), 'webfarm_subnet_cidr',
     '3 usable addresses (Azure reserves 5) but the scale set can have 4 instances at once'),
    (dict(subnet_cidr='10.0.0.0/28', autoscale={'enabled': True, 'maximum': 10}), 'webfarm_subnet_cidr',
     'largest capacity 10 (webfarm_autoscale.maximum) + 2 overprovisioned extras'),
    (dict(nat_frontend_port_base=65532), 'webfarm_nat_frontend_port_base',
     'NAT pool range too small: ports 65532-65534 hold 3 instances but the scale set can have 4 at once'),
    (dict(nat_frontend_port_base=65530, autoscale={'enabled': True, 'maximum': 10}),
     'webfarm_nat_frontend_port_base', 'lower the base to at most 65523'),
    (dict(nat_frontend_port_base=0), 'webfarm_nat_frontend_port_base', 'at least 1'),
    (dict(nat_frontend_port_base=77), 'webfarm_nat_frontend_port_base',
     'the NAT pool frontend ports 77-80 include webfarm_http_port 80'),
    (dict(nat_frontend_port_base=8079, probe_port=8080), 'webfarm_nat_frontend_port_base',
     'include webfarm_probe_port 8080'),
    (dict(nat_frontend_port_base=440, https_enabled=True), 'webfarm_nat_frontend_port_base',
     'include webfarm_https_port 443'),
]


@pytest.mark.parametrize('overrides, variable, rule', RULES, ids=['%s-%d' % (r[1], i) for i, r in enumerate(RULES)])
def test_rule(overrides, variable, rule):
    errors = errors_of(params(**overrides))
    assert any(e.startswith(variable + ':') and rule in e for e in errors), errors


def test_all_errors_are_collected():
    with pytest.raises(tier_plan.TierPlanError) as caught:
        tier_plan.build_plan(params(
            scale_set={'health_source': 'none', 'rolling': {'max_batch_instance_percent': 3}},
            autoscale={'enabled': True, 'minimum': 7, 'maximum': 6}, nat_frontend_port_base=65530,
            probe_path='x'))
    named = {error.split(':', 1)[0] for error in caught.value.errors}
    assert named == {'webfarm_scale_set.upgrade_mode', 'webfarm_scale_set.rolling.max_batch_instance_percent',
                     'webfarm_autoscale.minimum', 'webfarm_nat_frontend_port_base', 'webfarm_probe_path'}


def test_durations():
    seconds = scale_set_plan.duration_seconds
    assert [seconds(d) for d in ('PT0S', 'PT1M30S', 'PT1H', 'P7D', 'P1DT1M')] == [0, 90, 3600, 604800, 86460]
    assert [seconds(d) for d in ('P', 'PT', 'P1DT', '5M', 'PT1.5M', None, 5)] == [None] * 7


def _existing(fault_domains):
    return {'name': 'app1-vmss', 'properties': {'platformFaultDomainCount': fault_domains}}


def test_existing_set_with_other_fault_domains_is_refused():
    plan = tier_plan.build_plan(params())
    problems = scale_set_plan.existing_set_problems(plan, _existing(5))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.startswith('webfarm_scale_set.fault_domains: scale set app1-vmss in resource group app1-dev-rg '
                              'already exists with 5 fault domains; this run asks for 2.'), problem
    assert 'set webfarm_scale_set.fault_domains: 5' in problem and 'state=absent' in problem


def test_existing_set_with_the_same_fault_domains_or_none_passes():
    plan = tier_plan.build_plan(params())
    assert scale_set_plan.existing_set_problems(plan, _existing(2)) == []
    assert scale_set_plan.existing_set_problems(plan, None) == []
