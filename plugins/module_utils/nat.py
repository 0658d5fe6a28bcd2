# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inbound NAT rules on a NIC ip configuration: which rule IDs it should hold (pure logic)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import same_id

NAT_RULES_KEY = "loadBalancerInboundNatRules"


def nat_rule_id(lb_id, name):
    return "{0}/inboundNatRules/{1}".format(lb_id, name)


def belongs_to(rule_id, lb_id):
    return (rule_id or "").lower().startswith(lb_id.lower() + "/inboundnatrules/")


def label(rule_id):
    """'<load balancer>/<rule>': short enough for a diff, unambiguous within a resource group."""
    parts = rule_id.split("/")
    return "{0}/{1}".format(parts[-3], parts[-1]) if len(parts) >= 3 else rule_id


def find_ip_configuration(nic, name=None):
    """The ip configuration called name (case-insensitive), or the NIC's primary one when name is None."""
    configs = (nic.get("properties") or {}).get("ipConfigurations") or []
    if name is not None:
        return next((c for c in configs if c.get("name", "").lower() == name.lower()), None)
    if len(configs) == 1:
        return configs[0]
    return next((c for c in configs if (c.get("properties") or {}).get("primary")), None)


def attached_ids(config):
    return [ref["id"] for ref in (config.get("properties") or {}).get(NAT_RULES_KEY) or [] if ref.get("id")]


def planned_ids(current, lb_id, names, state, exclusive):
    """The rule IDs the ip configuration holds after the call, in a stable order: the
    current ones that stay (their spelling kept), then the added ones in the order asked."""
    wanted = []
    for name in names:
        rid = nat_rule_id(lb_id, name)
        if not any(same_id(rid, w) for w in wanted):
            wanted.append(rid)
    if state == "absent":
        return [c for c in current if not any(same_id(c, w) for w in wanted)]
    kept = [c for c in current if not (exclusive and belongs_to(c, lb_id) and not any(same_id(c, w) for w in wanted))]
    return kept + [w for w in wanted if not any(same_id(w, c) for c in current)]


def same_rules(first, second):
    return sorted(i.lower() for i in first) == sorted(i.lower() for i in second)


def names_on(ids, lb_id):
    return [i.rsplit("/", 1)[1] for i in ids if belongs_to(i, lb_id)]


def rule_problems(lb, names, config_id, field="nat_rules"):
    """Why the named rules of this LB cannot be attached to config_id (messages name the field)."""
    rules = {r["name"].lower(): r for r in (lb.get("properties") or {}).get("inboundNatRules") or []}
    problems = []
    for name in names:
        rule = rules.get(name.lower())
        if rule is None:
            problems.append("{0}: load balancer {1} has no inbound NAT rule {2!r} (it has: {3})".format(
                field, lb["name"], name, ", ".join(sorted(r["name"] for r in rules.values())) or "none"))
            continue
        props = rule.get("properties") or {}
        if props.get("backendAddressPool") or props.get("frontendPortRangeStart") is not None:
            problems.append("{0}: {1!r} maps a port range onto a backend pool; only a single-VM inbound NAT "
                            "rule can be attached to an ip configuration".format(field, name))
            continue
        holder = (props.get("backendIPConfiguration") or {}).get("id")
        if holder and not same_id(holder, config_id):
            problems.append("{0}: {1!r} already forwards to {2}; an inbound NAT rule forwards to one ip "
                            "configuration, detach it there first".format(field, name, holder))
    return problems


def list_entry(index):
    """How messages name entry index of the network_interfaces option."""
    return "network_interfaces[{0}]".format(index)


def listing_problems(targets):
    """Why a list of NICs cannot be handled in one call: a NIC listed twice, or an inbound
    NAT rule asked for two of them (it forwards to one ip configuration). targets are
    dicts with name and nat_rules, in the order given; messages name the list entry."""
    problems = []
    first_nic = {}
    first_rule = {}
    for index, target in enumerate(targets):
        field = list_entry(index)
        nic = target["name"].lower()
        if nic in first_nic:
            problems.append("{0}.name: {1} is already {2}; list each network interface "
                            "once".format(field, target["name"], list_entry(first_nic[nic])))
            continue
        first_nic[nic] = index
        for name in target["nat_rules"]:
            earlier = first_rule.setdefault(name.lower(), index)
            if earlier != index:
                problems.append("{0}.nat_rules: {1!r} is also asked for {2} ({3}); an inbound "
                                "NAT rule forwards to one ip configuration".format(
                                    field, name, list_entry(earlier), targets[earlier]["name"]))
    return problems


def with_rules(nic, config_name, ids):
    """A copy of the NIC body whose ip configuration config_name holds exactly ids."""
    body = copy.deepcopy(nic)
    config = find_ip_configuration(body, config_name)
    config.setdefault("properties", {})[NAT_RULES_KEY] = [{"id": i} for i in ids]
    return body
