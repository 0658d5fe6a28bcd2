# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and naming of the webfarm tier.

Pure functions: no Azure call, no I/O. ``validate`` returns every problem found (so a
user fixes all of them in one round), each naming the variable as the user writes it
(``webfarm_subnet_cidr``) and the rule it breaks. ``build_plan`` turns valid inputs into
the resource names of seed 000 (and, for the scale-set variant, the set of seed 004).

The checks live by concern: names (``tier_plan_names``), network (``tier_plan_network``),
VMs (``tier_plan_vm``) and the scale-set variant (``scale_set_plan``); this module puts
them together and keeps the public API.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.azure_ha.webfarm.plugins.module_utils import scale_set_plan
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_names import (
    check_names, resource_group_name, tier_names, vm_resource_names,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_network import (
    check_nat_rules, check_network, check_ports, check_subnet_room,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_rules import TierPlanError, var
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_vm import (
    WINDOWS_NAT_RULE_PREFIX, check_availability_set, check_credentials, check_vm,
)

__metaclass__ = type

LINUX_NAT_BACKEND_PORT = 22


def validate(params):
    """Every rule broken by ``params`` (module params: variable names without ``webfarm_``)."""
    errors = []
    check_names(params, errors)
    subnet = check_network(params, errors)
    ports_ok = check_ports(params, errors)
    if params['variant'] not in scale_set_plan.VARIANTS:
        errors.append('{0}: {1!r} must be one of {2}'.format(
            var('variant'), params['variant'], ', '.join(scale_set_plan.VARIANTS)))
    elif scale_set_plan.is_scale_set(params):
        scale_set_plan.check(params, subnet, ports_ok, errors)
    else:
        if subnet is not None:
            check_subnet_room(subnet, params['vm_count'], 'webfarm_vm_count is {0}'.format(params['vm_count']),
                              errors)
        check_nat_rules(params, errors, ports_ok)
        check_availability_set(params, errors)
    check_vm(params, errors)
    check_credentials(params, errors)
    return errors


def nat_backend_port(params):
    if params['os_type'] == 'Windows':
        return params['windows_nat_backend_port']
    return LINUX_NAT_BACKEND_PORT


def nat_rule_prefix(params):
    """``ssh`` (Linux), ``rdp`` or ``winrm`` (Windows, by its NAT backend port)."""
    if params['os_type'] == 'Windows':
        return WINDOWS_NAT_RULE_PREFIX[params['windows_nat_backend_port']]
    return 'ssh'


def plan_vms(plan, numbers):
    """The plan's VM entries for the VM numbers ``numbers`` (``{app}-vm{N}``, NAT port base + N),
    from the naming the plan carries (``vm_naming``): tier_preflight gives a tier that changed
    shape its numbers without validating the inputs again."""
    naming = plan['vm_naming']
    vms = []
    for index in numbers:
        names = vm_resource_names(naming['app'], index)
        vms.append({
            'index': index,
            'name': names['name'],
            'nic': names['nic'],
            'ip_configuration': 'ipconfig1',
            'nat_rule': '{0}-vm{1}'.format(naming['nat_rule_prefix'], index),
            'nat_frontend_port': naming['nat_frontend_port_base'] + index,
            'nat_backend_port': plan['nat_backend_port'],
            'os_disk': names['os_disk'],
            'data_disk': names['data_disk'] if naming['data_disk'] else None,
        })
    return vms


def build_plan(params):
    """The plan of the tier (VMs 1 to webfarm_vm_count, or the scale set with no VM of its
    own); raises TierPlanError listing every broken rule."""
    errors = validate(params)
    if errors:
        raise TierPlanError(errors)
    app = params['app']
    tags = {'webfarm_app': app, 'webfarm_env': params['env']}
    tags.update((str(k), str(v)) for k, v in (params['tags'] or {}).items())
    plan = tier_names(app)
    if not params['https_enabled']:
        plan['rule_https'] = None
    plan.update({
        'variant': params['variant'],
        'resource_group': resource_group_name(params),
        'location': params['location'],
        'os_type': params['os_type'],
        'nat_backend_port': nat_backend_port(params),
        'vm_naming': {'app': app, 'nat_rule_prefix': nat_rule_prefix(params),
                      'nat_frontend_port_base': params['nat_frontend_port_base'],
                      'data_disk': bool(params['data_disk_size_gb'])},
        'tags': tags,
    })
    if scale_set_plan.is_scale_set(params):
        # the set is its own availability: no availability set, no VM nor NAT rule of the tier's own
        plan.update(availability_set=None, vms=[], scale_set=scale_set_plan.build(params, plan['load_balancer']))
    else:
        plan['vms'] = plan_vms(plan, range(1, params['vm_count'] + 1))
    return plan
