# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replacing one VM of the tier (pure logic): which VM, what is deleted with it, what the
new one is made from, and the refusals, decided before any write.

A VM joins an availability set only when it is created, and a size its hardware cluster
cannot host needs a new VM too: replacing deletes the VM and creates it again under its
name, in the set, on its NIC (which keeps the backend pool and the NAT rule), either on its
own OS disk (and data disk), or fresh from the image with new disks. The same path brings a
VM of the plan that exists outside the set into it.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_existing import name_of
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_scale import ScaleRefused, vm_number

__metaclass__ = type


def _storage(vm_body):
    return ((vm_body or {}).get('properties') or {}).get('storageProfile') or {}


def _disks(vm_body):
    """(OS disk ID, {lun: data disk ID}) of a VM body."""
    storage = _storage(vm_body)
    os_disk = ((storage.get('osDisk') or {}).get('managedDisk') or {}).get('id')
    data = dict((d.get('lun'), (d.get('managedDisk') or {}).get('id')) for d in storage.get('dataDisks') or [])
    return os_disk, data


def healthy(members, health):
    """Names of the members the LB reports Up (``health``: {private IP: 'Up' or 'Down'})."""
    return [m['name'] for m in members if m.get('private_ip') and health.get(m['private_ip']) == 'Up']


def _target_problems(name, tier, outside, other_changes):
    if not name:
        return ['webfarm_replace_vm: required by playbooks/replace_vm.yml; name the VM to replace, one of {0} '
                '(-e webfarm_replace_vm=<name>)'.format(', '.join(sorted(m['name'] for m in tier.values())) or 'none')]
    if vm_number_in(name, tier) is None and name.lower() not in outside:
        return ['webfarm_replace_vm: {0} is not a VM of this tier (its VMs: {1})'.format(
            name, ', '.join(sorted(m['name'] for m in tier.values())) or 'none')]
    if other_changes:
        return ['webfarm_vm_count: this run would also add or remove {0}; replace_vm.yml replaces one VM and changes '
                'nothing else. Set webfarm_vm_count to the tier\'s size, or change the size with '
                'playbooks/deploy.yml first'.format(', '.join(other_changes))]
    return []


def vm_number_in(name, tier):
    """The number of ``name`` when it is a member of ``tier`` ({N: member}), else None."""
    return next((n for n, m in tier.items() if m['name'].lower() == name.lower()), None)


def _health_problems(name, others_up, min_in_service):
    needed = max(1, min_in_service)
    if len(others_up) >= needed:
        return []
    if not others_up:
        return ['webfarm_replace_vm: {0} would leave no healthy VM serving: no other VM of the tier is Up in the load '
                'balancer. Bring another VM back first (playbooks/verify.yml shows each VM\'s health)'.format(name)]
    plural = '' if len(others_up) == 1 else 's'
    return ['webfarm_replace_vm: {0} would leave {1} healthy VM{2} serving ({3}), fewer than '
            'rolling_patch_min_in_service ({4})'.format(name, len(others_up), plural, ', '.join(sorted(others_up)),
                                                        min_in_service)]


def _disk_problems(name, vm_body, plan_vm):
    """Keeping disks the tier would not recognise by name: its next run would try to rename them."""
    os_disk, data = _disks(vm_body)
    found = []
    if name_of(os_disk).lower() != plan_vm['os_disk'].lower():
        found.append('webfarm_replace_keep_os_disk: {0}\'s OS disk is {1}, not {2} as the tier names it; the tier '
                     'cannot keep it. Set webfarm_replace_keep_os_disk: false to create {0} fresh from the '
                     'image'.format(name, name_of(os_disk) or 'unmanaged', plan_vm['os_disk']))
    kept_data = sorted(name_of(i) for i in data.values())
    planned_data = [plan_vm['data_disk']] if plan_vm.get('data_disk') else []
    if [d.lower() for d in kept_data] != [d.lower() for d in planned_data]:
        found.append('webfarm_replace_keep_os_disk: {0} has data disk{1} {2}, the tier plans {3}; the tier cannot '
                     'keep them. Set webfarm_replace_keep_os_disk: false, or webfarm_data_disk_size_gb to '
                     'match'.format(name, '' if len(kept_data) == 1 else 's', ', '.join(kept_data) or 'none',
                                    ', '.join(planned_data) or 'none'))
    return found


def replacement(member, vm_body, plan_vm, keep_disks):
    """What the run deletes and creates: the member (for the drain), the plan entry of the new
    VM, what ``azure_rm_virtualmachine`` removes with the old one, and the disks to attach."""
    os_disk, data = _disks(vm_body)
    # the tier's NIC stays (pool membership, NAT rule); another NIC of a VM brought into
    # the set would be left with an address and nothing on it
    own_nic = (member.get('network_interface') or '').lower() == plan_vm['nic'].lower()
    remove = ([] if own_nic else ['network_interfaces']) + ([] if keep_disks else ['virtual_storage'])
    return dict(
        member,
        plan_vm=plan_vm,
        remove_on_absent=remove,
        attach_os_disk=os_disk if keep_disks else None,
        attach_data_disks=[dict(lun=lun, managed_disk_id=disk_id) for lun, disk_id in sorted(data.items())]
        if keep_disks else [],
    )


def find_target(name, members, outside_members, app, other_changes=()):
    """The member to replace, or ScaleRefused.

    ``members``: the set's members (``availability_set_member_info``'s shape);
    ``outside_members``: the plan's VMs outside the set, same shape; ``other_changes``: the
    VMs this run would add or remove besides the replaced one."""
    tier = dict((vm_number(app, m['name']), m) for m in members if vm_number(app, m['name']) is not None)
    outside = dict((m['name'].lower(), m) for m in outside_members)
    problems = _target_problems(name, tier, outside, [c for c in other_changes if c.lower() != name.lower()])
    if problems:
        raise ScaleRefused(problems)
    return outside.get(name.lower()) or tier[vm_number_in(name, tier)]


def plan_replacement(target, vm_body, everyone, plan_vms, health, keep_disks, min_in_service=0):
    """How ``target`` is replaced, or ScaleRefused naming every problem.

    ``vm_body``: its VM body; ``everyone``: the tier's members and the plan's VMs outside the
    set; ``health``: {private IP: 'Up' or 'Down'} from the rule health."""
    others_up = [n for n in healthy(everyone, health) if n.lower() != target['name'].lower()]
    problems = _health_problems(target['name'], others_up, min_in_service)
    plan_vm = next(vm for vm in plan_vms if vm['name'].lower() == target['name'].lower())
    if keep_disks:
        problems.extend(_disk_problems(target['name'], vm_body, plan_vm))
    if problems:
        raise ScaleRefused(problems)
    return replacement(target, vm_body, plan_vm, keep_disks)
