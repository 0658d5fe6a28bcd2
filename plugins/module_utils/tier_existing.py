# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Azure cannot change on an existing tier, checked against the plan (pure logic).

Azure fixes an availability set's fault and update domain counts when the set is created,
and a VM joins a set only when the VM is created. ``problems`` compares the plan of
``tier_plan`` (with the VM numbers ``tier_scale`` chose) with what the resource group holds
(raw ARM JSON, read by the ``tier_preflight`` module) and returns every refusal at once,
each starting with the variable or VM it is about and ending with the way out. Azure names are case-insensitive
and Azure answers member IDs in upper case: names are compared lowercased.
"""

from __future__ import absolute_import, division, print_function


__metaclass__ = type

VM_TYPE = 'microsoft.compute/virtualmachines'
SET_TYPE = 'microsoft.compute/availabilitysets'
LB_TYPE = 'microsoft.network/loadbalancers'


def name_of(resource_id):
    """The last segment of an ARM ID ('' for none)."""
    return (resource_id or '').rstrip('/').rsplit('/', 1)[-1]


def _props(body):
    return (body or {}).get('properties') or {}


def names_of_type(resources, resource_type):
    """Lowercased names of the group's resources of one type (``/resources`` list entries)."""
    return [r['name'].lower() for r in resources if (r.get('type') or '').lower() == resource_type]


def set_members(avset):
    """Lowercased names of the VMs in an availability set."""
    return [name_of(ref['id']).lower() for ref in _props(avset).get('virtualMachines') or []]


def outsiders(resources, plan, avset):
    """The plan's VMs that exist already but are not members of the plan's set."""
    planned = [vm['name'].lower() for vm in plan['vms']]
    members = set(set_members(avset))
    return [name for name in names_of_type(resources, VM_TYPE) if name in planned and name not in members]


def needs_sets(resources):
    """Whether the group holds availability sets (else nothing more to read about them)."""
    return bool(names_of_type(resources, SET_TYPE))


def domain_problem(plan, avset, fault_domains, update_domains):
    """None when the set's counts are those asked for."""
    have_fd, have_ud = _props(avset).get('platformFaultDomainCount'), _props(avset).get('platformUpdateDomainCount')
    mismatch = ([] if have_fd == fault_domains else ['webfarm_fault_domains']) + \
        ([] if have_ud == update_domains else ['webfarm_update_domains'])
    if not mismatch:
        return None
    rg, name = plan['resource_group'], plan['availability_set']
    return (
        '{mismatch}: availability set {name} in resource group {rg} already exists with {fd} fault domains and '
        '{ud} update domains; this run asks for {want_fd} fault domains and {want_ud} update domains. Azure fixes '
        'both counts when an availability set is created and cannot change them later. Either keep the set: set '
        'webfarm_fault_domains: {fd} and webfarm_update_domains: {ud}. Or rebuild it; every VM in it must then be '
        'recreated, because a VM joins a set only when it is created: (1) delete each VM of the set but keep its OS '
        'disk and NIC (azure.azcollection.azure_rm_virtualmachine name=<vm> state=absent remove_on_absent=[]); '
        '(2) delete the empty set (azure.azcollection.azure_rm_availabilityset name={name} state=absent); (3) create '
        'the set with the new counts (azure.azcollection.azure_rm_availabilityset platform_fault_domain_count={want_fd} '
        'platform_update_domain_count={want_ud} sku=Aligned); (4) create each VM again in the set, attaching its '
        'existing OS disk (azure.azcollection.azure_rm_virtualmachine name=<vm> availability_set={name} '
        'network_interface_names=[<vm>-nic1] swap_os_disk={{os_disk_name: <vm>-osdisk, os_disk_resource_group: {rg}}} '
        'plus its vm_size, os_type and data_disks); then run again. The web tier keeps no state on its VMs: '
        'deleting a VM with its disks (remove_on_absent=[all]) and letting this run recreate it also works.'.format(
            mismatch=', '.join(mismatch), name=name, rg=rg, fd=have_fd, ud=have_ud, want_fd=fault_domains,
            want_ud=update_domains))


def outsider_problem(plan, app, vm_count, vm, all_sets):
    """A plan VM outside the plan's set: playbooks/replace_vm.yml brings it in."""
    name = vm['name']
    holder = next((s['name'] for s in all_sets if name.lower() in set_members(s)), None)
    where = 'it is in availability set {0}'.format(holder) if holder else 'it is in no availability set'
    return (
        '{name}, a VM of this plan (webfarm_app {app}, webfarm_vm_count {count}), already exists in resource group '
        '{rg} but is not in availability set {avset} ({where}). Azure adds a VM to an availability set only when '
        'the VM is created; an existing VM cannot join one. Bring it in by recreating it in the set: '
        'ansible-playbook azure_ha.webfarm.replace_vm -e webfarm_replace_vm={name} (drains it, deletes it keeping '
        'its NIC and disks, creates it again in the set on its own OS disk; -e webfarm_replace_keep_os_disk=false '
        'makes it fresh from the image), then run again.'.format(
            name=name, app=app, count=vm_count, rg=plan['resource_group'], avset=plan['availability_set'],
            where=where))


def problems(plan, app, vm_count, fault_domains, update_domains, all_sets, outside_vms):
    """Every refusal for an existing tier; [] when the run may go on.

    ``all_sets``: the group's availability sets; ``outside_vms``: the bodies of the VMs that
    ``outsiders`` named."""
    found = []
    avset = next((s for s in all_sets if s['name'].lower() == plan['availability_set'].lower()), None)
    if avset is not None:
        mismatch = domain_problem(plan, avset, fault_domains, update_domains)
        if mismatch:
            found.append(mismatch)
    for vm in outside_vms:
        found.append(outsider_problem(plan, app, vm_count, vm, all_sets))
    return found
