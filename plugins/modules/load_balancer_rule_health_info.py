#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: load_balancer_rule_health_info
short_description: Per-backend health of one load-balancing rule of an Azure load balancer
version_added: "0.1.0"
description:
  - Calls the load-balancing rule health API (C(POST .../loadBalancingRules/{rule}/health), api-version
    2024-05-01, a long-running operation) and reports which backends of the rule's pool are up and down,
    with Azure's reason for each.
  - Read-only; azure-mgmt-network has no method for this API, so the request goes through the SDK's
    pipeline and ARM's long-running-operation polling.
  - With I(wait_for), polls the API until every address in I(addresses) is in that state, in one module
    run, and fails after I(wait_timeout) seconds naming each address that is not, with Azure's reason.
options:
  resource_group:
    description: Resource group of the load balancer.
    type: str
    required: true
  load_balancer:
    description: Name of the load balancer.
    type: str
    required: true
  rule:
    description: Name of the load-balancing rule.
    type: str
    required: true
  wait_for:
    description:
      - Wait until every address in I(addresses) is C(up) (the load balancer sends it new flows), or
        C(not_up) (it sends it none, because it is Down or not in the rule's pool).
      - Without it, the module reads the health once.
    type: str
    choices: [up, not_up]
  addresses:
    description: Private IP addresses of the backends to wait for. Required with I(wait_for).
    type: list
    elements: str
  address_names:
    description: Names of the addresses (IP to name, such as a VM name), used in the failure message only.
    type: dict
  wait_timeout:
    description:
      - Seconds to wait for I(wait_for), counted from the start of the module run, before failing.
      - A read of the health in progress at the deadline is not cut short.
    type: int
    default: 60
  poll_interval:
    description: Seconds between two reads of the rule health while waiting.
    type: int
    default: 5
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes.info
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Health of the HTTP rule
  azure_ha.webfarm.load_balancer_rule_health_info:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    rule: app1-lb-rule-http
  register: webfarm_health

- name: Every backend is up
  ansible.builtin.assert:
    that: webfarm_health.down_count == 0

- name: Wait until the LB sends app1-vm2 no new flows (drained), at most 64 s
  azure_ha.webfarm.load_balancer_rule_health_info:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    rule: app1-lb-rule-http
    wait_for: not_up
    addresses: [10.0.0.5]
    address_names: {10.0.0.5: app1-vm2}
    wait_timeout: 64
    poll_interval: 2
"""

RETURN = r"""
up:
  description: Private IP addresses of the backends that are up.
  returned: always
  type: list
  elements: str
  sample: [10.0.0.4, 10.0.0.5]
down:
  description: Private IP addresses of the backends that are down (any state other than Up).
  returned: always
  type: list
  elements: str
  sample: [10.0.0.6]
up_count:
  description: Number of backends up.
  returned: always
  type: int
  sample: 2
down_count:
  description: Number of backends down.
  returned: always
  type: int
  sample: 1
backends:
  description: Every backend of the rule's pool, in the order Azure reports them.
  returned: always
  type: list
  elements: dict
  contains:
    ip_address:
      description: Private IP address of the backend.
      type: str
      sample: 10.0.0.4
    state:
      description: C(Up) or C(Down).
      type: str
      sample: Up
    reason:
      description: Azure's reason for the state (C(Up_Probe_Success), C(Down_Probe_Failure), C(Down_Admin), ...).
      type: str
      sample: Up_Probe_Success
    network_interface_ip_configuration_id:
      description: ID of the backend's NIC ip configuration (null for an IP-based backend).
      type: str
      sample: /subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Network/networkInterfaces/app1-vm1-nic1/ipConfigurations/ipconfig1
waited:
  description: Seconds spent waiting for I(wait_for) (0 when the first read already showed it).
  returned: when I(wait_for) is set
  type: float
  sample: 6.2
"""

import time

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import ArmError, WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import network
from ansible_collections.azure_ha.webfarm.plugins.module_utils.health import parse_health, pending, wait_failure_message


class LoadBalancerRuleHealthInfo(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            load_balancer=dict(type="str", required=True),
            rule=dict(type="str", required=True),
            wait_for=dict(type="str", choices=["up", "not_up"]),
            addresses=dict(type="list", elements="str"),
            address_names=dict(type="dict"),
            wait_timeout=dict(type="int", default=60),
            poll_interval=dict(type="int", default=5),
        )
        super(LoadBalancerRuleHealthInfo, self).__init__(
            argument_spec, facts_module=True,
            required_if=[("wait_for", "up", ["addresses"]), ("wait_for", "not_up", ["addresses"])])

    def run(self):
        p = self.module.params
        self.check_wait_options()
        started = time.monotonic()
        lb = network.require_load_balancer(self.arm, p["resource_group"], p["load_balancer"])
        rules = [r["name"] for r in (lb.get("properties") or {}).get("loadBalancingRules") or []]
        if not any(r.lower() == p["rule"].lower() for r in rules):
            self.fail(msg="rule: load balancer {0} has no load-balancing rule {1} (it has: {2})".format(
                p["load_balancer"], p["rule"], ", ".join(rules) or "none"))
        health = self.read_health()
        if p["wait_for"]:
            health = self.wait(health, p["wait_for"] == "up", started)
        self.results.update(health)

    def check_wait_options(self):
        p = self.module.params
        if not p["wait_for"]:
            for key in ("addresses", "address_names"):
                if p[key]:
                    self.fail(msg="{0}: only used with wait_for, which is not set".format(key))
            return
        for key in ("wait_timeout", "poll_interval"):
            if p[key] < 1:
                self.fail(msg="{0}: must be at least 1 second, got {1}".format(key, p[key]))

    def read_health(self):
        p = self.module.params
        return parse_health(network.load_balancing_rule_health(
            self.arm, p["resource_group"], p["load_balancer"], p["rule"]))

    def wait(self, health, want_up, started):
        """Poll until every address is in the wanted state; fail naming the others at the deadline.

        A read that fails while waiting (the LB just changed: a 409, a failed operation) does
        not end the wait: the next read may succeed; the last error is in the timeout message."""
        p = self.module.params
        deadline = started + p["wait_timeout"]
        last_error, polled = None, False
        while True:
            still = pending(health, p["addresses"], want_up)
            if not still:
                return dict(health, waited=round(time.monotonic() - started, 1) if polled else 0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                message = wait_failure_message(p["load_balancer"], p["rule"], want_up, p["wait_timeout"], still,
                                               p["address_names"])
                if last_error is not None:
                    message += " (the last read failed: {0})".format(last_error)
                self.fail(msg=message, **health)
            time.sleep(min(p["poll_interval"], remaining))
            polled = True
            try:
                health, last_error = self.read_health(), None
            except ArmError as exc:
                last_error = exc


def main():
    LoadBalancerRuleHealthInfo()


if __name__ == "__main__":
    main()
