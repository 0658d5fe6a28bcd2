#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tier_preflight
short_description: Refuse what Azure cannot change on an existing webfarm tier, with read-only calls
version_added: 0.1.0
description:
  - Compares the plan of M(azure_ha.webfarm.tier_plan) with what the tier's resource group already
    holds, and fails before any write when Azure cannot make the change, naming the variable or VM
    and the way out.
  - Refuses a lower C(webfarm_vm_count) than the VMs the tier has (C({app}-vm{N}) above it);
    fault or update domain counts other than those of the existing availability set (Azure fixes
    them when the set is created); a VM of the plan that exists outside the plan's availability
    set (a VM joins a set only when it is created), with the steps that recreate it from its own
    OS disk.
  - Reports every problem at once. Reads the resource group, its resources, its availability sets
    (only when it has some) and the VMs outside the set (only those); a group that does not exist
    yet (first run) passes after one read.
  - Role C(azure_ha.webfarm.preflight) runs it after M(azure_ha.webfarm.tier_plan).
options:
  plan:
    description: The C(plan) returned by M(azure_ha.webfarm.tier_plan) (C(webfarm_plan)).
    type: dict
    required: true
  app:
    description: The application name (C(webfarm_app)); the tier's VMs are named C(<app>-vm<N>).
    type: str
    required: true
  vm_count:
    description: The number of VMs asked for (C(webfarm_vm_count)).
    type: int
    required: true
  fault_domains:
    description: The fault domain count asked for (C(webfarm_fault_domains)).
    type: int
    required: true
  update_domains:
    description: The update domain count asked for (C(webfarm_update_domains)).
    type: int
    required: true
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes.info
author:
  - webfarm maintainers (@azure_ha)
'''

EXAMPLES = r'''
- name: Refuse what Azure cannot change on the existing tier
  azure_ha.webfarm.tier_preflight:
    plan: "{{ webfarm_plan }}"
    app: "{{ webfarm_app }}"
    vm_count: "{{ webfarm_vm_count }}"
    fault_domains: "{{ webfarm_fault_domains }}"
    update_domains: "{{ webfarm_update_domains }}"
'''

RETURN = r'''
problems:
  description: Every refusal, one line each, starting with the variable or VM it is about (empty when the run may go on).
  returned: always
  type: list
  elements: str
  sample: []
resource_group_exists:
  description: Whether the tier's resource group exists (false on a first run).
  returned: always
  type: bool
  sample: true
'''

from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, resources, tier_existing
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase, in_parallel


class TierPreflight(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            plan=dict(type='dict', required=True),
            app=dict(type='str', required=True),
            vm_count=dict(type='int', required=True),
            fault_domains=dict(type='int', required=True),
            update_domains=dict(type='int', required=True),
        )
        super(TierPreflight, self).__init__(argument_spec, facts_module=True)

    def run(self):
        p = self.module.params
        plan = p['plan']
        group = plan['resource_group']
        self.results.update(problems=[], resource_group_exists=False)
        if resources.get_resource_group(self.arm, group) is None:
            return
        self.results['resource_group_exists'] = True
        held = resources.list_group_resources(self.arm, group)
        sets = compute.list_availability_sets(self.arm, group) if tier_existing.needs_sets(held) else []
        avset = next((s for s in sets if s['name'].lower() == plan['availability_set'].lower()), None)
        outside = tier_existing.outsiders(held, plan, avset)
        vms = [vm for vm in in_parallel(
            lambda name: compute.get_virtual_machine(self.arm, compute.virtual_machine_id(self.arm, group, name)),
            outside) if vm]
        found = tier_existing.problems(plan, p['app'], p['vm_count'], p['fault_domains'], p['update_domains'],
                                       held, sets, vms)
        self.results['problems'] = found
        if found:
            self.fail(msg='\n'.join(found), problems=found)


def main():
    TierPreflight()


if __name__ == '__main__':
    main()
