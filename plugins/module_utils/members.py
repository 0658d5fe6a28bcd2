# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members of an availability set as the webfarm sees them (shared by the
availability_set_member_info module and the availability_set inventory plugin; a scale
set's instances are made into the same records by scale_set_members).

collect() makes the ARM calls; the other functions assemble the result from raw ARM
bodies and make none."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, network
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import MissingResourceError, in_parallel, same_id

# The NAT rule a controller connects through, by backend port: SSH, then WinRM over HTTPS, then RDP.
ADMIN_BACKEND_PORTS = (22, 5986, 3389)


def props(body):
    return (body or {}).get("properties") or {}


def power_state(instance_view):
    """'running', 'stopped', 'deallocated', 'starting', ... from the PowerState/* status; 'unknown' without one."""
    for status in (instance_view or {}).get("statuses") or []:
        code = status.get("code") or ""
        if code.lower().startswith("powerstate/"):
            return code.split("/", 1)[1].lower()
    return "unknown"


def primary_nic_id(vm):
    """The VM's primary NIC: the one marked primary, else the only or first one."""
    refs = props(vm).get("networkProfile", {}).get("networkInterfaces") or []
    marked = [r for r in refs if props(r).get("primary")]
    chosen = marked or refs
    return chosen[0]["id"] if chosen else None


def primary_ip_configuration(nic):
    configs = props(nic).get("ipConfigurations") or []
    marked = [c for c in configs if props(c).get("primary")]
    chosen = marked or configs
    return chosen[0] if chosen else None


def lb_id_of_rule(rule_id):
    return rule_id.rsplit("/inboundNatRules/", 1)[0] if "/inboundnatrules/" in rule_id.lower() else None


def nat_rules_of(config, lbs):
    """[{name, frontend_port, backend_port}] of the ip configuration's inbound NAT rules; ports come
    from the load balancers in lbs ({lowercase LB ID: LB body}), null when its LB was not read."""
    out = []
    for ref in props(config).get("loadBalancerInboundNatRules") or []:
        rule_id = ref.get("id") or ""
        lb = lbs.get((lb_id_of_rule(rule_id) or "").lower())
        rule = next((r for r in props(lb).get("inboundNatRules") or [] if same_id(r.get("id"), rule_id)), None)
        out.append(dict(name=rule_id.rsplit("/", 1)[-1],
                        frontend_port=props(rule).get("frontendPort"),
                        backend_port=props(rule).get("backendPort")))
    return out


def nat_port(nat_rules):
    """Frontend port of the NAT rule reaching SSH (22), else WinRM (5986), else RDP (3389); None without one."""
    for backend in ADMIN_BACKEND_PORTS:
        for rule in nat_rules:
            if rule.get("backend_port") == backend and rule.get("frontend_port") is not None:
                return rule["frontend_port"]
    return None


def public_ip_id(lb, nat_rule_ids=()):
    """Public IP ID of the LB frontend the given NAT rules use, else of its first public frontend."""
    frontends = props(lb).get("frontendIPConfigurations") or []
    rules = props(lb).get("inboundNatRules") or []
    used = [props(r).get("frontendIPConfiguration", {}).get("id") for r in rules
            if any(same_id(r.get("id"), i) for i in nat_rule_ids)]
    ordered = [f for f in frontends if any(same_id(f.get("id"), u) for u in used)] + frontends
    for frontend in ordered:
        pip = props(frontend).get("publicIPAddress")
        if pip and pip.get("id"):
            return pip["id"]
    return None


def availability_set_view(avset):
    p = props(avset)
    return dict(name=avset.get("name"), id=avset.get("id"), fault_domains=p.get("platformFaultDomainCount"),
                update_domains=p.get("platformUpdateDomainCount"), sku=(avset.get("sku") or {}).get("name"),
                tags=avset.get("tags") or {})


def member(vm, nic, lbs):
    """One member from its VM body (with instance view), its primary NIC body and the LBs read."""
    p = props(vm)
    view = p.get("instanceView") or {}
    config = primary_ip_configuration(nic) if nic else None
    rules = nat_rules_of(config, lbs) if config else []
    return dict(
        name=vm.get("name"),
        id=vm.get("id"),
        os_type=((p.get("storageProfile") or {}).get("osDisk") or {}).get("osType"),
        # a scale set instance has its size as its sku
        vm_size=(p.get("hardwareProfile") or {}).get("vmSize") or (vm.get("sku") or {}).get("name"),
        update_domain=view.get("platformUpdateDomain"),
        fault_domain=view.get("platformFaultDomain"),
        power_state=power_state(view),
        provisioning_state=(p.get("provisioningState") or "unknown").lower(),
        private_ip=props(config).get("privateIPAddress") if config else None,
        network_interface=nic.get("name") if nic else None,
        ip_configuration=config.get("name") if config else None,
        nat_rules=rules,
        nat_port=nat_port(rules),
        tags=vm.get("tags") or {},
    )


def collect(arm, resource_group, availability_set, load_balancer=None):
    """{availability_set, public_ip, members (sorted by name)} of the set's VMs, read from ARM."""
    avset = compute.get_availability_set(arm, resource_group, availability_set)
    if avset is None:
        raise MissingResourceError("availability_set: no availability set {0} in resource group {1}".format(
            availability_set, resource_group))
    vm_ids = [ref["id"] for ref in props(avset).get("virtualMachines") or []]
    vms = [vm for vm in in_parallel(lambda rid: compute.get_virtual_machine(arm, rid), vm_ids) if vm]
    found = collect_vms(arm, resource_group, vms, load_balancer)
    return dict(availability_set=availability_set_view(avset), **found)


def collect_vms(arm, resource_group, vms, load_balancer=None):
    """{public_ip, members (sorted by name)} of VM bodies read with their instance view."""
    lb = None
    if load_balancer:
        lb = network.require_load_balancer(arm, resource_group, load_balancer)

    nics = dict((n["id"].lower(), n) for n in network.list_network_interfaces(arm, resource_group))
    missing = [i for i in (primary_nic_id(vm) for vm in vms) if i and i.lower() not in nics]
    for nic in in_parallel(lambda rid: network.get_by_id(arm, rid), missing):
        if nic:
            nics[nic["id"].lower()] = nic

    nic_of = dict((vm["id"].lower(), nics.get((primary_nic_id(vm) or "").lower())) for vm in vms)
    rule_ids = nat_rule_ids(nic_of.values())
    lbs = read_load_balancers(arm, lb, rule_ids)
    members = sorted((member(vm, nic_of[vm["id"].lower()], lbs) for vm in vms),
                     key=lambda m: m["name"])
    return dict(public_ip=frontend_public_ip(arm, lb, rule_ids), members=members)


def nat_rule_ids(nics):
    """IDs of the inbound NAT rules of the NICs' primary ip configurations (None NICs skipped)."""
    return [ref["id"] for nic in nics if nic
            for ref in props(primary_ip_configuration(nic)).get("loadBalancerInboundNatRules") or []]


def read_load_balancers(arm, lb, rule_ids):
    """{lowercase LB ID: LB body} for member(): lb (None: no LB named) and every LB the NAT rules
    belong to, read from ARM (the scale set members share this with the availability set's)."""
    lbs = {lb["id"].lower(): lb} if lb else {}
    for lb_id in sorted(set(i.lower() for i in map(lb_id_of_rule, rule_ids) if i)):
        other = lbs.get(lb_id) or network.get_by_id(arm, lb_id)
        if other:
            lbs[lb_id] = other
    return lbs


def frontend_public_ip(arm, lb, rule_ids):
    """Address of lb's public IP that the NAT rules reach the members through (public_ip_id), read
    from ARM; None without lb or a public frontend."""
    if lb is None:
        return None
    pip_id = public_ip_id(lb, [r for r in rule_ids if same_id(lb_id_of_rule(r), lb["id"])])
    pip = network.get_by_id(arm, pip_id) if pip_id else None
    return props(pip).get("ipAddress")
