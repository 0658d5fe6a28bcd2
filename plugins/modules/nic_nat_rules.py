#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: nic_nat_rules
short_description: Attach or detach load balancer inbound NAT rules on NIC ip configurations
version_added: "0.1.0"
description:
  - Ensures that an ip configuration of an Azure network interface holds (or does not hold) the named
    inbound NAT rules of a load balancer. C(azure.azcollection.azure_rm_networkinterface) cannot attach
    inbound NAT rules.
  - Reads the NIC and the load balancer, compares, and writes the NIC only when the rule set differs.
    Every other property of the NIC is sent back unchanged.
  - An inbound NAT rule forwards to a single ip configuration; a rule already attached to another one is
    refused with a message naming it, before anything is written.
  - With I(network_interfaces), one call handles many NICs (one per VM of a tier); the NICs are read and
    written in parallel, and every NIC is checked before the first write.
options:
  resource_group:
    description: Resource group of the network interfaces.
    type: str
    required: true
  network_interface:
    description:
      - Name of the network interface.
      - One of I(network_interface) and I(network_interfaces) is required.
    type: str
  ip_configuration:
    description:
      - Name of the ip configuration of I(network_interface).
      - Default is the NIC's primary ip configuration.
    type: str
  nat_rules:
    description:
      - Names of inbound NAT rules of I(load_balancer), for I(network_interface).
      - With I(state=present) they are attached; with I(state=absent) they are detached.
      - Required with I(network_interface).
    type: list
    elements: str
  network_interfaces:
    description:
      - Several network interfaces, each with its ip configuration and NAT rules, in one call.
      - Mutually exclusive with I(network_interface), I(ip_configuration) and I(nat_rules).
      - A NIC listed twice, or a rule asked for two NICs, is refused before anything is written.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the network interface.
        type: str
        required: true
      ip_configuration:
        description:
          - Name of its ip configuration.
          - Default is the NIC's primary ip configuration.
        type: str
      nat_rules:
        description: Names of inbound NAT rules of I(load_balancer) attached to (or detached from) it.
        type: list
        elements: str
        required: true
  load_balancer:
    description: Name of the load balancer owning the inbound NAT rules.
    type: str
    required: true
  load_balancer_resource_group:
    description: Resource group of the load balancer, when it is not I(resource_group).
    type: str
  state:
    description: Whether the rules are attached (C(present)) or detached (C(absent)).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With C(true), each ip configuration ends with exactly its I(nat_rules) from I(load_balancer); its
        other rules of that load balancer are detached. Rules of other load balancers are never touched.
      - Only with I(state=present).
    type: bool
    default: false
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Attach the SSH NAT rule of VM 1
  azure_ha.webfarm.nic_nat_rules:
    resource_group: app1-dev-rg
    network_interface: app1-vm1-nic1
    ip_configuration: ipconfig1
    load_balancer: app1-lb
    nat_rules: [ssh-vm1]

- name: The ip configuration holds ssh-vm1 and no other NAT rule of app1-lb
  azure_ha.webfarm.nic_nat_rules:
    resource_group: app1-dev-rg
    network_interface: app1-vm1-nic1
    load_balancer: app1-lb
    nat_rules: [ssh-vm1]
    exclusive: true

- name: Detach it
  azure_ha.webfarm.nic_nat_rules:
    resource_group: app1-dev-rg
    network_interface: app1-vm1-nic1
    load_balancer: app1-lb
    nat_rules: [ssh-vm1]
    state: absent

- name: Each VM's NIC holds its own SSH NAT rule, in one call
  azure_ha.webfarm.nic_nat_rules:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    network_interfaces:
      - name: app1-vm1-nic1
        nat_rules: [ssh-vm1]
      - name: app1-vm2-nic1
        nat_rules: [ssh-vm2]
    exclusive: true
"""

RETURN = r"""
network_interface:
  description: Name of the network interface.
  returned: with I(network_interface)
  type: str
  sample: app1-vm1-nic1
ip_configuration:
  description: Name of the ip configuration.
  returned: with I(network_interface)
  type: str
  sample: ipconfig1
nat_rules:
  description: Names of the inbound NAT rules of I(load_balancer) the ip configuration holds after the call.
  returned: with I(network_interface)
  type: list
  elements: str
  sample: [ssh-vm1]
nat_rule_ids:
  description: IDs of all inbound NAT rules (of any load balancer) the ip configuration holds after the call.
  returned: with I(network_interface)
  type: list
  elements: str
  sample: ["/subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Network/loadBalancers/app1-lb/inboundNatRules/ssh-vm1"]
network_interfaces:
  description: Each network interface of the call, in the order given, after the call.
  returned: always
  type: list
  elements: dict
  contains:
    network_interface:
      description: Name of the network interface.
      type: str
      sample: app1-vm1-nic1
    ip_configuration:
      description: Name of the ip configuration.
      type: str
      sample: ipconfig1
    nat_rules:
      description: Names of the inbound NAT rules of I(load_balancer) it holds.
      type: list
      elements: str
      sample: [ssh-vm1]
    nat_rule_ids:
      description: IDs of all inbound NAT rules (of any load balancer) it holds.
      type: list
      elements: str
    changed:
      description: Whether this NIC was (or, in check mode, would be) written.
      type: bool
      sample: false
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import ArmError, WebfarmModuleBase, in_parallel
from ansible_collections.azure_ha.webfarm.plugins.module_utils import nat, network

SINGLE_FIELDS = dict(name="network_interface", ip_configuration="ip_configuration", nat_rules="nat_rules")


class NicNatRules(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            network_interface=dict(type="str"),
            ip_configuration=dict(type="str"),
            nat_rules=dict(type="list", elements="str"),
            network_interfaces=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                ip_configuration=dict(type="str"),
                nat_rules=dict(type="list", elements="str", required=True),
            )),
            load_balancer=dict(type="str", required=True),
            load_balancer_resource_group=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            exclusive=dict(type="bool", default=False),
        )
        super(NicNatRules, self).__init__(
            argument_spec,
            required_one_of=[["network_interface", "network_interfaces"]],
            mutually_exclusive=[["network_interfaces", "network_interface"], ["network_interfaces", "ip_configuration"],
                                ["network_interfaces", "nat_rules"]],
            required_by=dict(network_interface="nat_rules"),
        )

    def targets(self):
        """The NICs of the call, each with the parameter names its messages use."""
        p = self.module.params
        if p["network_interfaces"] is None:
            return [dict(name=p["network_interface"], ip_configuration=p["ip_configuration"],
                         nat_rules=p["nat_rules"], entry="network_interface", fields=SINGLE_FIELDS)]
        return [dict(given, entry=nat.list_entry(index),
                     fields=dict((key, "{0}.{1}".format(nat.list_entry(index), key)) for key in SINGLE_FIELDS))
                for index, given in enumerate(p["network_interfaces"])]

    def plan(self, target, nic, lb, lb_id):
        """The NIC's ip configuration and its NAT rule IDs before and after, or the problems."""
        p = self.module.params
        fields = target["fields"]
        if nic is None:
            return None, ["{0}: no network interface {1} in resource group {2}".format(
                fields["name"], target["name"], p["resource_group"])]
        config = nat.find_ip_configuration(nic, target["ip_configuration"])
        if config is None:
            names = [c["name"] for c in nic["properties"].get("ipConfigurations") or []]
            return None, ["{0}: network interface {1} has no ip configuration {2} (it has: {3})".format(
                fields["ip_configuration"], target["name"], target["ip_configuration"] or "marked primary",
                ", ".join(names))]
        if lb is not None:
            problems = nat.rule_problems(lb, target["nat_rules"], config["id"], fields["nat_rules"])
            if problems:
                return None, problems
        before = nat.attached_ids(config)
        after = nat.planned_ids(before, lb_id, target["nat_rules"], p["state"], p["exclusive"])
        return dict(nic=nic, config=config["name"], before=before, after=after, entry=target["entry"],
                    changed=not nat.same_rules(before, after)), []

    def write(self, plan):
        """PUTs the NIC with its new rules; the rules ARM answered with, or the ArmError."""
        try:
            nic = network.put_network_interface(self.arm, nat.with_rules(plan["nic"], plan["config"], plan["after"]))
        except ArmError as exc:
            return exc
        return nat.attached_ids(nat.find_ip_configuration(nic, plan["config"]))

    def run(self):
        p = self.module.params
        if p["exclusive"] and p["state"] == "absent":
            self.fail(msg="exclusive: true needs state=present (it says which rules the ip configuration keeps)")
        targets = self.targets()
        problems = nat.listing_problems(targets)
        if problems:
            self.fail(msg="; ".join(problems))
        lb_group = p["load_balancer_resource_group"] or p["resource_group"]
        lb_id = network.load_balancer_id(self.arm, lb_group, p["load_balancer"])
        lb = None
        if p["state"] == "present":
            lb = network.require_load_balancer(self.arm, lb_group, p["load_balancer"])
            lb_id = lb["id"]

        nics = in_parallel(lambda target: network.get_network_interface(self.arm, p["resource_group"], target["name"]),
                           targets)
        plans = []
        for target, nic in zip(targets, nics):
            plan, found = self.plan(target, nic, lb, lb_id)
            plans.append(plan)
            problems.extend(found)
        if problems:
            self.fail(msg="; ".join(problems))

        writes = [plan for plan in plans if plan["changed"]] if not self.check_mode else []
        failures = []
        for plan, outcome in zip(writes, in_parallel(self.write, writes)):
            if isinstance(outcome, ArmError):
                plan["changed"] = False
                plan["after"] = plan["before"]
                failures.append((plan, outcome))
            else:
                plan["after"] = outcome

        self.report(plans, lb_id)
        if failures:
            if p["network_interfaces"] is None:
                raise failures[0][1]
            self.fail(msg="; ".join("{0} ({1}): {2}".format(plan["entry"], plan["nic"]["name"], exc)
                                    for plan, exc in failures), **self.results)

    def report(self, plans, lb_id):
        listed = [dict(network_interface=plan["nic"]["name"], ip_configuration=plan["config"],
                       nat_rules=nat.names_on(plan["after"], lb_id), nat_rule_ids=plan["after"],
                       changed=plan["changed"]) for plan in plans]
        self.results.update(changed=any(plan["changed"] for plan in plans), network_interfaces=listed)
        if self.module.params["network_interfaces"] is None:
            self.results.update((key, value) for key, value in listed[0].items() if key != "changed")
        if self.module._diff:
            if self.module.params["network_interfaces"] is not None:
                self.results["diff"] = dict(
                    before=dict((plan["nic"]["name"], [nat.label(i) for i in plan["before"]]) for plan in plans),
                    after=dict((plan["nic"]["name"], [nat.label(i) for i in plan["after"]]) for plan in plans))
            else:
                plan = plans[0]
                self.results["diff"] = dict(before=dict(nat_rules=[nat.label(i) for i in plan["before"]]),
                                            after=dict(nat_rules=[nat.label(i) for i in plan["after"]]))


def main():
    NicNatRules()


if __name__ == "__main__":
    main()
