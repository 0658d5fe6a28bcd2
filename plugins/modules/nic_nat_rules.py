#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: nic_nat_rules
short_description: Attach or detach load balancer inbound NAT rules on a NIC ip configuration
version_added: "0.1.0"
description:
  - Ensures that an ip configuration of an Azure network interface holds (or does not hold) the named
    inbound NAT rules of a load balancer. C(azure.azcollection.azure_rm_networkinterface) cannot attach
    inbound NAT rules.
  - Reads the NIC and the load balancer, compares, and writes the NIC only when the rule set differs.
    Every other property of the NIC is sent back unchanged.
  - An inbound NAT rule forwards to a single ip configuration; a rule already attached to another one is
    refused with a message naming it, before anything is written.
options:
  resource_group:
    description: Resource group of the network interface.
    type: str
    required: true
  network_interface:
    description: Name of the network interface.
    type: str
    required: true
  ip_configuration:
    description:
      - Name of the ip configuration of the NIC.
      - Default is the NIC's primary ip configuration.
    type: str
  load_balancer:
    description: Name of the load balancer owning the inbound NAT rules.
    type: str
    required: true
  load_balancer_resource_group:
    description: Resource group of the load balancer, when it is not I(resource_group).
    type: str
  nat_rules:
    description:
      - Names of inbound NAT rules of I(load_balancer).
      - With I(state=present) they are attached; with I(state=absent) they are detached.
    type: list
    elements: str
    required: true
  state:
    description: Whether the rules are attached (C(present)) or detached (C(absent)).
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With C(true), the ip configuration ends with exactly I(nat_rules) from I(load_balancer); its other
        rules of that load balancer are detached. Rules of other load balancers are never touched.
      - Only with I(state=present).
    type: bool
    default: false
extends_documentation_fragment:
  - azure.azcollection.azure
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
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
"""

RETURN = r"""
network_interface:
  description: Name of the network interface.
  returned: always
  type: str
  sample: app1-vm1-nic1
ip_configuration:
  description: Name of the ip configuration.
  returned: always
  type: str
  sample: ipconfig1
nat_rules:
  description: Names of the inbound NAT rules of I(load_balancer) the ip configuration holds after the call.
  returned: always
  type: list
  elements: str
  sample: [ssh-vm1]
nat_rule_ids:
  description: IDs of all inbound NAT rules (of any load balancer) the ip configuration holds after the call.
  returned: always
  type: list
  elements: str
  sample: ["/subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Network/loadBalancers/app1-lb/inboundNatRules/ssh-vm1"]
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import nat, network


class NicNatRules(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            network_interface=dict(type="str", required=True),
            ip_configuration=dict(type="str"),
            load_balancer=dict(type="str", required=True),
            load_balancer_resource_group=dict(type="str"),
            nat_rules=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            exclusive=dict(type="bool", default=False),
        )
        super(NicNatRules, self).__init__(argument_spec)

    def run(self):
        p = self.module.params
        if p["exclusive"] and p["state"] == "absent":
            self.fail(msg="exclusive: true needs state=present (it says which rules the ip configuration keeps)")
        nic = network.get_network_interface(self.arm, p["resource_group"], p["network_interface"])
        if nic is None:
            self.fail(msg="network_interface: no network interface {0} in resource group {1}".format(
                p["network_interface"], p["resource_group"]))
        config = nat.find_ip_configuration(nic, p["ip_configuration"])
        if config is None:
            names = [c["name"] for c in nic["properties"].get("ipConfigurations") or []]
            self.fail(msg="ip_configuration: network interface {0} has no ip configuration {1} (it has: {2})".format(
                p["network_interface"], p["ip_configuration"] or "marked primary", ", ".join(names)))
        lb_group = p["load_balancer_resource_group"] or p["resource_group"]
        lb_id = network.load_balancer_id(self.arm, lb_group, p["load_balancer"])
        if p["state"] == "present":
            lb = network.get_load_balancer(self.arm, lb_group, p["load_balancer"])
            if lb is None:
                self.fail(msg="load_balancer: no load balancer {0} in resource group {1}".format(p["load_balancer"], lb_group))
            lb_id = lb["id"]
            problems = nat.rule_problems(lb, p["nat_rules"], config["id"])
            if problems:
                self.fail(msg="; ".join(problems))

        before = nat.attached_ids(config)
        after = nat.planned_ids(before, lb_id, p["nat_rules"], p["state"], p["exclusive"])
        changed = not nat.same_rules(before, after)
        if changed and not self.check_mode:
            nic = network.put_network_interface(self.arm, nat.with_rules(nic, config["name"], after))
            after = nat.attached_ids(nat.find_ip_configuration(nic, config["name"]))
        self.results.update(
            changed=changed,
            network_interface=nic["name"],
            ip_configuration=config["name"],
            nat_rules=nat.names_on(after, lb_id),
            nat_rule_ids=after,
        )
        if self.module._diff:
            self.results["diff"] = dict(before=dict(nat_rules=[nat.label(i) for i in before]),
                                        after=dict(nat_rules=[nat.label(i) for i in after]))


def main():
    NicNatRules()


if __name__ == "__main__":
    main()
