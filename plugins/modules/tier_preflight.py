#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tier_preflight
short_description: Shape a webfarm tier to its VM count and refuse what Azure cannot change, with read-only calls
version_added: 0.1.0
description:
  - Compares the plan of M(azure_ha.webfarm.tier_plan) with what the tier's resource group already
    holds, and fails before any write when Azure cannot make the change, naming the variable or VM
    and the way out.
  - Decides which VMs the tier has after the run (returned as O(plan)) and which leave it
    (returned as RV(leaving)); nothing is written. New VMs take the lowest free numbers
    (C({app}-vm{N}), NAT port base + N); a lower C(webfarm_vm_count) removes VMs one at a time,
    each time one in the fault domain holding the most VMs, then the update domain holding the
    most, then the highest number (see docs/scale.md), or the VMs named in O(remove_vms).
  - Refuses a scale-in that names VMs not in the tier, names more or fewer VMs than it removes,
    or leaves no more VMs than O(min_in_service); fault or update domain counts other than those
    of the existing availability set (Azure fixes them when the set is created); a VM of the plan
    that exists outside the plan's availability set (a VM joins a set only when it is created),
    with the steps that recreate it from its own OS disk.
  - Reports every problem at once. Reads the resource group, its resources, its availability sets
    (only when it has some), the set's members with their domains, NICs and NAT ports (only when
    VMs leave) and the VMs outside the set (only those); a group that does not exist yet (first
    run) passes after one read.
  - For the scale-set variant (O(plan) with C(variant=scale_set)) it reads the resource group and the
    plan's scale set only, and refuses a fault domain count (C(webfarm_scale_set.fault_domains)) other
    than that of the existing set, which Azure fixes when the set is created; the plan's VMs, the
    availability set, O(vm_count), O(fault_domains), O(update_domains), O(remove_vms) and O(replace_vm)
    are not used.
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
  remove_vms:
    description:
      - The VMs that leave on a scale-in (C(webfarm_scale_in_vms)), instead of the ones the rule
        chooses; exactly as many as the lower O(vm_count) removes.
    type: list
    elements: str
    default: []
  min_in_service:
    description:
      - The rolling patch's C(rolling_patch_min_in_service); a scale-in must leave more VMs than
        this, or no VM could ever be patched, and replacing a VM must leave at least this many
        (and at least one) other VMs Up in the load balancer.
    type: int
    default: 0
  replace_vm:
    description:
      - The VM that C(playbooks/replace_vm.yml) replaces (C(webfarm_replace_vm)), a VM of the
        tier or a VM of the plan that exists outside the availability set.
      - Refused when it is not one of those, when the run would also add or remove VMs, when no
        other VM (or fewer than O(min_in_service)) is Up in the load balancer's rule health, and,
        with O(replace_keep_os_disk), when its disks are not named as the tier names them.
      - Reads the set's members, the rule health and the VM; the answer is RV(replacing).
    type: str
  replace_keep_os_disk:
    description:
      - With O(replace_vm), whether the new VM is created on the old one's OS disk (and data
        disk), which are kept, or fresh from the image, the old disks deleted.
    type: bool
    default: true
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
    remove_vms: "{{ webfarm_scale_in_vms }}"
  register: preflight

- name: Use the plan with the tier's VM numbers
  ansible.builtin.set_fact:
    webfarm_plan: "{{ preflight.plan }}"
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
plan:
  description: O(plan) with C(vms) for the VM numbers the tier has after the run (unchanged on a first run).
  returned: always
  type: dict
adding:
  description: Names of the VMs the run creates.
  returned: always
  type: list
  elements: str
  sample: [app1-vm4]
leaving:
  description:
    - The VMs that leave the tier, as M(azure_ha.webfarm.availability_set_member_info) returns
      members (name, id, update_domain, fault_domain, private_ip, network_interface,
      ip_configuration, nat_port, ...), by number.
  returned: always
  type: list
  elements: dict
replacing:
  description:
    - With O(replace_vm), the VM to replace as M(azure_ha.webfarm.availability_set_member_info)
      returns members, plus C(plan_vm) (its entry in O(plan)), C(remove_on_absent) (what
      C(azure.azcollection.azure_rm_virtualmachine) deletes with it), C(attach_os_disk) (the
      OS disk ID the new VM is created on, null for a fresh one) and C(attach_data_disks)
      (lun, managed_disk_id); null without O(replace_vm).
  returned: always
  type: dict
public_ip:
  description: The load balancer's public IP address, which reaches the leaving or replaced VMs (null when none does).
  returned: always
  type: str
  sample: 203.0.113.10
'''

from ansible_collections.azure_ha.webfarm.plugins.module_utils import (
    compute, health, members, network, resources, scale_set_plan, tier_existing, tier_plan, tier_replace, tier_scale,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase, in_parallel


class TierPreflight(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            plan=dict(type='dict', required=True),
            app=dict(type='str', required=True),
            vm_count=dict(type='int', required=True),
            fault_domains=dict(type='int', required=True),
            update_domains=dict(type='int', required=True),
            remove_vms=dict(type='list', elements='str', default=[]),
            min_in_service=dict(type='int', default=0),
            replace_vm=dict(type='str'),
            replace_keep_os_disk=dict(type='bool', default=True),
        )
        super(TierPreflight, self).__init__(argument_spec, facts_module=True)

    def run(self):
        p = self.module.params
        plan = p['plan']
        group = plan['resource_group']
        self.results.update(problems=[], resource_group_exists=False, plan=plan, leaving=[], public_ip=None,
                            adding=[vm['name'] for vm in plan['vms']], replacing=None)
        if resources.get_resource_group(self.arm, group) is None:
            if p['replace_vm'] is not None:
                self.fail(msg='webfarm_replace_vm: resource group {0} does not exist; there is no VM to replace '
                              '(playbooks/deploy.yml creates the tier)'.format(group))
            return
        self.results['resource_group_exists'] = True
        if plan.get('variant') == 'scale_set':
            self.refuse(scale_set_plan.existing_set_problems(
                plan, compute.get_scale_set(self.arm, group, plan['scale_set']['name'])))
            return
        held = resources.list_group_resources(self.arm, group)
        sets = compute.list_availability_sets(self.arm, group) if tier_existing.needs_sets(held) else []
        avset = next((s for s in sets if s['name'].lower() == plan['availability_set'].lower()), None)
        found = []
        has_lb = plan['load_balancer'].lower() in tier_existing.names_of_type(held, tier_existing.LB_TYPE)
        tier = self.set_members(plan, avset, has_lb)
        try:
            shape = tier_scale.scale(tier, p['app'], p['vm_count'], p['remove_vms'], p['min_in_service'])
            plan = dict(plan, vms=tier_plan.plan_vms(plan, shape['numbers']))
            self.results.update(plan=plan, leaving=shape['leaving'],
                                adding=[vm['name'] for vm in plan['vms'] if vm['index'] in shape['adding']])
        except tier_scale.ScaleRefused as refused:
            shape = None
            found.extend(refused.problems)
        outside = tier_existing.outsiders(held, plan, avset)
        vms = [vm for vm in in_parallel(
            lambda name: compute.get_virtual_machine(self.arm, compute.virtual_machine_id(self.arm, group, name)),
            outside) if vm]
        if p['replace_vm'] is not None and shape is not None:
            try:
                self.results['replacing'] = self.replacement(plan, tier, vms, has_lb)
            except tier_scale.ScaleRefused as refused:
                found.extend(refused.problems)
            # replacing is how a VM gets into the set; the others outside stay as they are
            vms = []
        found.extend(tier_existing.problems(plan, p['app'], p['vm_count'], p['fault_domains'], p['update_domains'],
                                            sets, vms))
        self.refuse(found)

    def refuse(self, found):
        self.results['problems'] = found
        if found:
            self.fail(msg='\n'.join(found), problems=found)

    def set_members(self, plan, avset, has_lb):
        """The set's members: names only while no VM leaves or is replaced; with domains, NIC and
        NAT port (one read of each) when the tier has more VMs than asked for, or one is replaced."""
        if avset is None:
            return []
        p = self.module.params
        names = tier_existing.set_members(avset)
        tier = [name for name in names if tier_scale.vm_number(p['app'], name) is not None]
        if len(tier) <= p['vm_count'] and p['replace_vm'] is None:
            return [dict(name=name) for name in names]
        collected = members.collect(self.arm, plan['resource_group'], avset['name'],
                                    plan['load_balancer'] if has_lb else None)
        self.results['public_ip'] = collected['public_ip']
        return collected['members']

    def replacement(self, plan, tier, outside_vms, has_lb):
        """What replacing O(replace_vm) takes (tier_replace), from the members, the rule health
        and the VM's body; raises ScaleRefused."""
        p = self.module.params
        group, load_balancer = plan['resource_group'], plan['load_balancer'] if has_lb else None
        outside = members.collect_vms(self.arm, group, outside_vms, load_balancer) if outside_vms else {}
        self.results['public_ip'] = self.results['public_ip'] or outside.get('public_ip')
        # VMs outside the set exist already: this run neither creates nor removes them
        existing = [vm['name'].lower() for vm in outside_vms]
        changes = [n for n in self.results['adding'] if n.lower() not in existing] + \
            [m['name'] for m in self.results['leaving']]
        target = tier_replace.find_target(p['replace_vm'], tier, outside.get('members', []), p['app'], changes)
        body = next((vm for vm in outside_vms if vm['name'].lower() == target['name'].lower()), None) or \
            compute.get_virtual_machine(self.arm, target['id'])
        states = {}
        if load_balancer:
            read = health.parse_health(network.load_balancing_rule_health(self.arm, group, load_balancer,
                                                                          plan['rule_http']))
            states = dict((b['ip_address'], b['state']) for b in read['backends'])
        return tier_replace.plan_replacement(target, body, tier + outside.get('members', []), plan['vms'], states,
                                             p['replace_keep_os_disk'], p['min_in_service'])


def main():
    TierPreflight()


if __name__ == '__main__':
    main()
