# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scale-set variant of the tier (seed 004): validation and plan of ``webfarm_variant``,
``webfarm_scale_set`` and ``webfarm_autoscale`` (pure functions, no Azure call).

A user may give only some keys of ``webfarm_scale_set`` and ``webfarm_autoscale``: they are
merged over ``SCALE_SET_DEFAULTS`` and ``AUTOSCALE_DEFAULTS``; unknown keys are refused, naming
them. Every message starts with the variable path (``webfarm_scale_set.rolling.max_surge``).

The plan's ``scale_set`` is shaped as the options of the module ``azure_ha.webfarm.scale_set``
(and its ``autoscale.profiles`` as those of ``azure.azcollection.azure_rm_autoscale``), so that
the roles pass it through without deciding anything.
"""

from __future__ import absolute_import, division, print_function

import copy
import re

from ansible.module_utils.common.validation import check_type_bool, check_type_int
from ansible.module_utils.six import string_types
from ansible_collections.azure_ha.webfarm.plugins.module_utils.scale_set_model import (
    ROLLING_PERCENTAGES, UPGRADE_MODES,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_network import (
    MAX_NAT_FRONTEND_PORT, check_nat_base, check_nat_overlap, check_subnet_room, web_ports,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_rules import var
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_vm import check_vm_count

__metaclass__ = type

VARIANTS = ('availability_set', 'scale_set')
HEALTH_SOURCES = ('probe', 'extension', 'none')
REPAIR_ACTIONS = ('Replace', 'Restart', 'Reimage')
SCALE_IN_RULES = ('Default', 'OldestVM', 'NewestVM')

SCALE_SET_DEFAULTS = {
    'overprovision': True,
    'fault_domains': 2,
    'upgrade_mode': 'Rolling',
    'rolling': {
        'max_batch_instance_percent': 20,
        'max_unhealthy_instance_percent': 20,
        'max_unhealthy_upgraded_instance_percent': 20,
        'pause_time_between_batches': 'PT0S',
        'prioritize_unhealthy_instances': True,
        'max_surge': False,
    },
    'health_source': 'probe',
    'automatic_repairs': {'enabled': False, 'grace_period': 'PT10M', 'repair_action': 'Replace'},
    'scale_in_policy': {'rule': 'Default', 'force_deletion': False},
    'terminate_notification': {'enabled': True, 'timeout': 'PT5M'},
}
AUTOSCALE_DEFAULTS = {
    'enabled': False,
    'minimum': 2,
    'maximum': 6,
    'scale_out_cpu': 70,
    'scale_in_cpu': 30,
    'time_grain': 'PT1M',
    'time_window': 'PT5M',
    'cooldown': 'PT5M',
    'scale_out_step': 1,
    'scale_in_step': 1,
}

# a Uniform set in one placement group (the scale_set module keeps single_placement_group)
MAX_INSTANCES = 100
# Azure's platformFaultDomainCount of a regional scale set
MAX_FAULT_DOMAINS = 5
# Azure does not document how many extra instances it makes; the lab makes 20 % of the new
# ones, rounded up (lab/src/azlab/models/compute/scale_set_overprovision.py). Each holds a
# subnet address and a NAT pool port while it lives.
OVERPROVISION_PERCENT = 20
NAT_POOL_BACKEND_PORT = 22
CPU_METRIC = 'Percentage CPU'
HEALTH_EXTENSION = {'name': 'HealthExtension', 'publisher': 'Microsoft.ManagedServices',
                    'type': 'ApplicationHealthLinux', 'type_handler_version': '1.0'}

_DURATION = re.compile(r'^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$')
MINUTE, HOUR, DAY = 60, 3600, 86400


def is_scale_set(params):
    return params['variant'] == 'scale_set'


def duration_seconds(value):
    """Seconds of an ISO 8601 duration of days, hours, minutes and seconds (P7D, PT1M30S); None
    when ``value`` is not one."""
    match = _DURATION.match(value) if isinstance(value, string_types) else None
    if match is None or value in ('P', 'PT') or value.endswith('T'):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return days * DAY + hours * HOUR + minutes * MINUTE + seconds


def _ceil_percent(count, percent):
    return (count * percent + 99) // 100


# --- the variables, merged over their defaults --------------------------------------

def _typed(value, default, path, errors):
    """``value`` converted to the type of ``default`` as Ansible converts options; the default
    when it cannot be (the error is reported, later checks still have a value)."""
    try:
        if isinstance(default, bool):
            return check_type_bool(value)
        if isinstance(default, int):
            if isinstance(value, bool):
                raise TypeError('a boolean is not an integer')
            return check_type_int(value)
    except (TypeError, ValueError):
        errors.append('{0}: {1!r} is not {2}'.format(path, value, 'a boolean' if isinstance(default, bool)
                                                     else 'an integer'))
        return default
    if not isinstance(value, string_types):
        errors.append('{0}: {1!r} is not a string'.format(path, value))
        return default
    return value


def _merge(given, defaults, path, errors):
    """``given`` over ``defaults``, key by key and level by level; unknown keys are refused."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        errors.append('{0}: must be a dict with some of the keys {1}'.format(path, ', '.join(sorted(defaults))))
        return copy.deepcopy(defaults)
    for key in sorted(set(given) - set(defaults), key=str):
        errors.append('{0}.{1}: is not a known key; known: {2}'.format(path, key, ', '.join(sorted(defaults))))
    merged = {}
    for key, default in defaults.items():
        name = '{0}.{1}'.format(path, key)
        if key not in given:
            merged[key] = copy.deepcopy(default)
        elif isinstance(default, dict):
            merged[key] = _merge(given[key], default, name, errors)
        else:
            merged[key] = _typed(given[key], default, name, errors)
    return merged


def settings(params, errors):
    """(webfarm_scale_set, webfarm_autoscale) merged over their defaults."""
    return (_merge(params['scale_set'], SCALE_SET_DEFAULTS, var('scale_set'), errors),
            _merge(params['autoscale'], AUTOSCALE_DEFAULTS, var('autoscale'), errors))


# --- how many instances the set may have at once ----------------------------------------

def largest_capacity(params, autoscale):
    """webfarm_vm_count, or the autoscale maximum when autoscale may go above it."""
    return max(params['vm_count'], autoscale['maximum'] if autoscale['enabled'] else 0)


def peak_parts(params, scale_set, autoscale):
    """[(instances, why)] that add up to the most instances the set has at once: its largest
    capacity, the extras of overprovisioning, and a batch of new instances during a Rolling
    upgrade with max_surge."""
    capacity = largest_capacity(params, autoscale)
    source = 'webfarm_autoscale.maximum' if capacity > params['vm_count'] else 'webfarm_vm_count'
    parts = [(capacity, 'largest capacity {0} ({1})'.format(capacity, source))]
    if scale_set['overprovision']:
        extras = _ceil_percent(capacity, OVERPROVISION_PERCENT)
        parts.append((extras, '{0} overprovisioned extras (webfarm_scale_set.overprovision, {1} % rounded '
                              'up)'.format(extras, OVERPROVISION_PERCENT)))
    rolling = scale_set['rolling']
    if scale_set['upgrade_mode'] == 'Rolling' and rolling['max_surge']:
        surge = _ceil_percent(capacity, rolling['max_batch_instance_percent'])
        parts.append((surge, '{0} surge instances of a rolling batch (webfarm_scale_set.rolling.max_surge)'.format(
            surge)))
    return parts


def _peak(parts):
    return sum(count for count, _why in parts), ' + '.join(why for _count, why in parts)


# --- rules ------------------------------------------------------------------------------

def _within(value, low, high, path, errors, what=''):
    if not low <= value <= high:
        errors.append('{0}: {1} is out of range{2}; it must be between {3} and {4}'.format(
            path, value, what, low, high))
        return False
    return True


def _one_of(value, choices, path, errors):
    if value not in choices:
        errors.append('{0}: {1!r} must be one of {2}'.format(path, value, ', '.join(choices)))


def _duration(value, low, high, path, errors):
    """Seconds of ``value`` when it is an ISO 8601 duration between ``low`` and ``high`` (ISO
    8601 texts, Azure's limits), else None."""
    seconds = duration_seconds(value)
    if seconds is None:
        errors.append('{0}: {1!r} is not an ISO 8601 duration such as PT5M'.format(path, value))
    elif not duration_seconds(low) <= seconds <= duration_seconds(high):
        errors.append('{0}: {1} is out of range; it must be between {2} and {3} (Azure)'.format(
            path, value, low, high))
        return None
    return seconds


def drain_seconds(params):
    """How long an instance that Azure is about to delete drains before it lets Azure go on:
    the probe's threshold of failed probes, one probe more that may be under way, and 5 s
    for the requests in flight."""
    return params['probe_interval'] * (params['probe_threshold'] + 1) + 5


def _check_terminate_notification(params, notification, errors):
    path = var('scale_set') + '.terminate_notification'
    if not notification['enabled']:
        return
    seconds = _duration(notification['timeout'], 'PT5M', 'PT15M', path + '.timeout', errors)
    if seconds is not None and seconds < drain_seconds(params):
        errors.append('{0}.timeout: {1} is shorter than an instance\'s drain ({2} s: webfarm_probe_interval {3} s x '
                      '(webfarm_probe_threshold {4} + 1) + 5 s); Azure would delete instances that still take '
                      'requests. Raise the timeout (up to PT15M) or probe more often'.format(
                          path, notification['timeout'], drain_seconds(params), params['probe_interval'],
                          params['probe_threshold']))


def _check_scale_set(scale_set, errors):
    path = var('scale_set')
    _within(scale_set['fault_domains'], 1, MAX_FAULT_DOMAINS, path + '.fault_domains', errors,
            ' (platformFaultDomainCount of a scale set)')
    _one_of(scale_set['upgrade_mode'], UPGRADE_MODES, path + '.upgrade_mode', errors)
    rolling = scale_set['rolling']
    for option, _field, low, high in ROLLING_PERCENTAGES:
        _within(rolling[option], low, high, '{0}.rolling.{1}'.format(path, option), errors, ' (percent)')
    _duration(rolling['pause_time_between_batches'], 'PT0S', 'PT1H', path + '.rolling.pause_time_between_batches',
              errors)
    _one_of(scale_set['health_source'], HEALTH_SOURCES, path + '.health_source', errors)
    repairs = scale_set['automatic_repairs']
    _duration(repairs['grace_period'], 'PT10M', 'PT90M', path + '.automatic_repairs.grace_period', errors)
    _one_of(repairs['repair_action'], REPAIR_ACTIONS, path + '.automatic_repairs.repair_action', errors)
    _one_of(scale_set['scale_in_policy']['rule'], SCALE_IN_RULES, path + '.scale_in_policy.rule', errors)
    if scale_set['health_source'] == 'none':
        if scale_set['upgrade_mode'] == 'Rolling':
            errors.append('{0}.upgrade_mode: Rolling needs a health source (Azure judges every batch by the '
                          'instances\' health); set {0}.health_source to probe or extension, or use upgrade_mode '
                          'Manual or Automatic'.format(path))
        if repairs['enabled']:
            errors.append('{0}.automatic_repairs.enabled: automatic repairs need a health source (Azure repairs '
                          'the instances it finds unhealthy); set {0}.health_source to probe or extension, or '
                          'enabled: false'.format(path))


def _check_autoscale(params, autoscale, errors):
    path = var('autoscale')
    for option in ('scale_out_cpu', 'scale_in_cpu'):
        _within(autoscale[option], 1, 100, '{0}.{1}'.format(path, option), errors, ' (percent CPU)')
    if autoscale['scale_in_cpu'] >= autoscale['scale_out_cpu']:
        errors.append('{0}.scale_in_cpu: {1} must be below {0}.scale_out_cpu {2}, or every scale-in would be '
                      'followed by a scale-out'.format(path, autoscale['scale_in_cpu'], autoscale['scale_out_cpu']))
    grain = _duration(autoscale['time_grain'], 'PT1M', 'PT12H', path + '.time_grain', errors)
    window = _duration(autoscale['time_window'], 'PT5M', 'PT12H', path + '.time_window', errors)
    if grain is not None and window is not None and grain > window:
        errors.append('{0}.time_grain: {1} is longer than {0}.time_window {2}; the window averages several '
                      'grains'.format(path, autoscale['time_grain'], autoscale['time_window']))
    _duration(autoscale['cooldown'], 'PT1M', 'P7D', path + '.cooldown', errors)
    for option in ('scale_out_step', 'scale_in_step'):
        _within(autoscale[option], 1, MAX_INSTANCES, '{0}.{1}'.format(path, option), errors, ' (instances)')
    minimum, maximum = autoscale['minimum'], autoscale['maximum']
    if minimum < 1:
        errors.append('{0}.minimum: {1} must be at least 1'.format(path, minimum))
    elif minimum < 2 and not params['allow_single_vm']:
        errors.append('{0}.minimum: {1} instance has no availability SLA (Azure needs at least 2); use 2 or more, '
                      'or set webfarm_allow_single_vm: true'.format(path, minimum))
    if maximum > MAX_INSTANCES:
        errors.append('{0}.maximum: {1} is more than the {2} instances of a scale set in one placement '
                      'group'.format(path, maximum, MAX_INSTANCES))
    if minimum > maximum:
        errors.append('{0}.minimum: {1} is above {0}.maximum {2}'.format(path, minimum, maximum))
    elif autoscale['enabled'] and not minimum <= params['vm_count'] <= maximum:
        errors.append('{0}: webfarm_vm_count {1} (the default capacity) must be between {0}.minimum {2} and '
                      '{0}.maximum {3}'.format(path, params['vm_count'], minimum, maximum))


def _check_nat_pool(params, first, peak, why, ports_ok, errors):
    if not check_nat_base(params, errors, 'the NAT pool of the scale set starts there'):
        return
    room = MAX_NAT_FRONTEND_PORT - first + 1
    if room < peak:
        errors.append('{0}: NAT pool range too small: ports {1}-{2} hold {3} instances but the scale set can have '
                      '{4} at once ({5}); Azure needs a frontend port per instance: lower the base to at most {6}'
                      .format(var('nat_frontend_port_base'), first, MAX_NAT_FRONTEND_PORT, max(room, 0), peak, why,
                              MAX_NAT_FRONTEND_PORT - peak + 1))
        return
    if ports_ok:
        check_nat_overlap(first, first + peak - 1, web_ports(params, with_probe=True), 'NAT pool frontend ports',
                          errors)


def check(params, subnet, ports_ok, errors):
    """Every rule of the scale-set variant. ``subnet``: the parsed subnet, None when it is
    invalid (reported already); ``ports_ok``: whether the web and probe ports are valid."""
    if params['os_type'] == 'Windows':
        errors.append('{0}: Windows is not available with webfarm_variant scale_set: its instances are configured '
                      'by cloud-init at creation; use Linux or webfarm_variant availability_set'.format(var('os_type')))
    check_vm_count(params, errors, MAX_INSTANCES, 'a scale set in one placement group')
    scale_set, autoscale = settings(params, errors)
    _check_scale_set(scale_set, errors)
    _check_terminate_notification(params, scale_set['terminate_notification'], errors)
    _check_autoscale(params, autoscale, errors)
    peak, why = _peak(peak_parts(params, scale_set, autoscale))
    if subnet is not None:
        check_subnet_room(subnet, peak, 'the scale set can have {0} instances at once ({1})'.format(peak, why),
                          errors)
    _check_nat_pool(params, params['nat_frontend_port_base'], peak, why, ports_ok, errors)


# --- plan -------------------------------------------------------------------------------

def set_name(app):
    return app + '-vmss'


def _minutes(duration):
    """azure_rm_autoscale takes its durations in minutes."""
    return duration_seconds(duration) / float(MINUTE)


def _cpu_rule(autoscale, direction, operator, threshold, step):
    """A rule of azure_rm_autoscale; the role adds metric_resource_uri (the set's ID)."""
    return {
        'metric_name': CPU_METRIC, 'statistic': 'Average', 'time_aggregation': 'Average',
        'time_grain': _minutes(autoscale['time_grain']), 'time_window': _minutes(autoscale['time_window']),
        'operator': operator, 'threshold': float(threshold),
        'direction': direction, 'type': 'ChangeCount', 'value': str(step), 'cooldown': _minutes(autoscale['cooldown']),
    }


def _autoscale_plan(params, autoscale):
    capacity = {'minimum': autoscale['minimum'], 'maximum': autoscale['maximum'], 'default': params['vm_count']}
    rules = [
        _cpu_rule(autoscale, 'Increase', 'GreaterThan', autoscale['scale_out_cpu'], autoscale['scale_out_step']),
        _cpu_rule(autoscale, 'Decrease', 'LessThan', autoscale['scale_in_cpu'], autoscale['scale_in_step']),
    ]
    # azure_rm_autoscale takes the counts as strings
    profile = {'name': 'cpu', 'count': str(capacity['default']), 'min_count': str(capacity['minimum']),
               'max_count': str(capacity['maximum']), 'rules': rules}
    return dict(capacity, name=set_name(params['app']) + '-autoscale', enabled=autoscale['enabled'],
                profiles=[profile])


def _health_extension(params, scale_set):
    """The Application Health extension on the probe's port and path, when it is the health source."""
    if scale_set['health_source'] != 'extension':
        return None
    return dict(HEALTH_EXTENSION, settings={'protocol': 'http', 'port': params['probe_port'],
                                            'requestPath': params['probe_path']})


def build(params, load_balancer):
    """``webfarm_plan.scale_set`` for valid inputs (``check`` found nothing)."""
    errors = []
    scale_set, autoscale = settings(params, errors)
    peak = _peak(peak_parts(params, scale_set, autoscale))[0]
    first = params['nat_frontend_port_base']
    return {
        'name': set_name(params['app']),
        'capacity': params['vm_count'],
        'overprovision': scale_set['overprovision'],
        'platform_fault_domain_count': scale_set['fault_domains'],
        'upgrade_policy': {'mode': scale_set['upgrade_mode'], 'rolling': scale_set['rolling']},
        'automatic_repairs': scale_set['automatic_repairs'],
        'scale_in_policy': scale_set['scale_in_policy'],
        # Scheduled Events' notice before a scale-in deletes an instance, and how long the
        # instance drains in it (the responder cloud-init installs)
        'terminate_notification': scale_set['terminate_notification'],
        'drain_seconds': drain_seconds(params),
        'health_source': scale_set['health_source'],
        'health_extension': _health_extension(params, scale_set),
        'peak_instances': peak,
        'nat_pool': {'name': load_balancer + '-natpool-ssh', 'frontend_port_start': first,
                     'frontend_port_end': first + peak - 1, 'backend_port': NAT_POOL_BACKEND_PORT},
        'autoscale': _autoscale_plan(params, autoscale),
    }


# --- an existing set ------------------------------------------------------------------------

def existing_set_problems(plan, existing):
    """What Azure cannot change on the existing set ``existing`` (ARM JSON); [] when the run may go on."""
    have = ((existing or {}).get('properties') or {}).get('platformFaultDomainCount')
    want = plan['scale_set']['platform_fault_domain_count']
    if existing is None or have is None or have == want:
        return []
    name, group = plan['scale_set']['name'], plan['resource_group']
    return [
        '{path}: scale set {name} in resource group {rg} already exists with {have} fault domains; this run asks for '
        '{want}. Azure fixes platformFaultDomainCount when a scale set is created and cannot change it later. Either '
        'keep the set: set {path}: {have}. Or rebuild it: the instances keep no state, so delete the set '
        '(azure.azcollection.azure_rm_virtualmachinescaleset resource_group={rg} name={name} state=absent; the tier '
        'serves nothing until the new set runs) and run again.'.format(
            path=var('scale_set') + '.fault_domains', name=name, rg=group, have=have, want=want)]
