# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instances of a Uniform scale set as the webfarm sees them: the same member records as
members.py gives for an availability set's VMs (name, update and fault domain, power state,
private IP, NAT port, ...), plus what only an instance has. Used by the scale_set inventory
plugin, and meant for whatever plans over the instances' update and fault domains.

collect() makes the ARM calls (list_instances, get_instance_view, list_network_interfaces,
and the load balancers through members.py); instance_member() and members_of() assemble
the records from raw ARM bodies and make none.

A member record is members.member()'s, whose ``name`` is Azure's instance name
``{set}_{instanceId}``, plus ``instance_id``, ``scale_set``, ``computer_name``,
``latest_model_applied`` (the instance runs the set's current model) and ``vm_health``
(``healthy``, ``unhealthy``, ... from the instance view's HealthState, None when no health
source reports one).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, members, network
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import MissingResourceError, in_parallel

# Azure serves virtualMachineScaleSets/{set}/networkInterfaces with the API versions of the
# Compute type it is registered under, not Microsoft.Network's (2024-05-01 is refused with
# NoRegisteredProviderFound); 2018-10-01 is the one the Azure SDK (azure-mgmt-network) sends.
SCALE_SET_NIC_API_VERSION = "2018-10-01"


def list_instances(arm, resource_group, scale_set):
    """Every instance of the set, each with its instance view where ARM expands it (Azure does;
    collect() reads the view of any instance that comes without one)."""
    return arm.list(compute.scale_set_id(arm, resource_group, scale_set) + "/virtualMachines",
                    compute.API_VERSION, params={"$expand": "instanceView"})


def get_instance_view(arm, instance_id):
    """One instance's instance view (platform update and fault domain, power state, vmHealth);
    None when the instance is gone."""
    return arm.get(instance_id + "/instanceView", compute.API_VERSION)


def list_network_interfaces(arm, resource_group, scale_set):
    """The NICs of every instance of the set (their private IPs and inbound NAT rules)."""
    return arm.list(compute.scale_set_id(arm, resource_group, scale_set) + "/networkInterfaces",
                    SCALE_SET_NIC_API_VERSION)


def scale_set_view(vmss):
    p = members.props(vmss)
    return dict(name=vmss.get("name"), id=vmss.get("id"), capacity=(vmss.get("sku") or {}).get("capacity"),
                upgrade_mode=(p.get("upgradePolicy") or {}).get("mode"),
                fault_domains=p.get("platformFaultDomainCount"), tags=vmss.get("tags") or {})


def vm_health(instance_view):
    """'healthy', 'unhealthy', 'initializing', 'unknown' from vmHealth's HealthState/* code; None
    without one (no Application Health extension or probe reporting)."""
    code = (((instance_view or {}).get("vmHealth") or {}).get("status") or {}).get("code") or ""
    return code.split("/", 1)[1].lower() if code.lower().startswith("healthstate/") else None


def instance_member(instance, nic, lbs, scale_set):
    """One member from the instance body (with its instance view in properties.instanceView, or
    none), its primary NIC body (or None) and the LBs read ({lowercase LB ID: body})."""
    p = members.props(instance)
    view = p.get("instanceView") or {}
    return dict(
        members.member(instance, nic, lbs),
        instance_id=instance.get("instanceId"),
        scale_set=scale_set,
        computer_name=(p.get("osProfile") or {}).get("computerName") or view.get("computerName"),
        latest_model_applied=p.get("latestModelApplied"),
        vm_health=vm_health(view),
    )


def members_of(scale_set, instances, nics, lbs):
    """The members (in instance ID order) from the instance bodies, the set's NIC bodies and the
    LBs read; an instance whose primary NIC is not among nics has no private IP or NAT port."""
    nic_by_id = dict((nic["id"].lower(), nic) for nic in nics)
    found = [instance_member(i, nic_by_id.get((members.primary_nic_id(i) or "").lower()), lbs, scale_set)
             for i in instances]
    return sorted(found, key=lambda m: int(m["instance_id"]))


def with_instance_views(instances, views):
    """The instance bodies, each that came without an instance view given its view from views
    ({instance ID: view}); one whose view is None (404: deleted since the list) is left out."""
    out = []
    for instance in instances:
        if members.props(instance).get("instanceView"):
            out.append(instance)
        elif views.get(instance["id"]) is not None:
            out.append(dict(instance, properties=dict(members.props(instance), instanceView=views[instance["id"]])))
    return out


def collect(arm, resource_group, scale_set, load_balancer=None):
    """{scale_set, public_ip, members (in instance ID order)} of the set's instances, read from ARM.

    MissingResourceError names the ``scale_set`` or ``load_balancer`` parameter when it does not exist."""
    vmss = compute.get_scale_set(arm, resource_group, scale_set)
    if vmss is None:
        raise MissingResourceError("scale_set: no scale set {0} in resource group {1}".format(
            scale_set, resource_group))
    lb = network.require_load_balancer(arm, resource_group, load_balancer) if load_balancer else None
    instances = list_instances(arm, resource_group, scale_set)
    missing = [i["id"] for i in instances if not members.props(i).get("instanceView")]
    views = dict(zip(missing, in_parallel(lambda rid: get_instance_view(arm, rid), missing)))
    instances = with_instance_views(instances, views)
    nics = list_network_interfaces(arm, resource_group, scale_set)

    rule_ids = members.nat_rule_ids(nics)
    lbs = members.read_load_balancers(arm, lb, rule_ids)
    return dict(scale_set=scale_set_view(vmss), public_ip=members.frontend_public_ip(arm, lb, rule_ids),
                members=members_of(vmss["name"], instances, nics, lbs))
