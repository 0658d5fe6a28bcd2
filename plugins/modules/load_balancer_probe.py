#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: load_balancer_probe
short_description: Ensure one health probe of an existing Azure load balancer, including probeThreshold
version_added: "0.1.0"
description:
  - Creates, updates or removes one health probe of an existing load balancer, with the fields
    C(azure.azcollection.azure_rm_loadbalancer) lacks (C(probeThreshold)).
  - Reads the load balancer, changes only that probe (every other part of the body is sent back as read) and
    writes the load balancer only when the probe differs.
  - C(azure.azcollection.azure_rm_loadbalancer) does not send C(probeThreshold); when it rewrites the load
    balancer, Azure resets the threshold to 1. Run this module after it. Give its probe C(fail_count) the
    same value as I(number_of_probes) here, or the two modules undo each other's change on every run.
options:
  resource_group:
    description: Resource group of the load balancer.
    type: str
    required: true
  load_balancer:
    description: Name of the load balancer. It must exist.
    type: str
    required: true
  name:
    description: Name of the probe.
    type: str
    required: true
  protocol:
    description: Protocol of the probe. Required with I(state=present).
    type: str
    choices: [Http, Https, Tcp]
  port:
    description: Port probed on each backend, 1-65535. Required with I(state=present).
    type: int
  request_path:
    description:
      - Path requested by C(Http) and C(Https) probes; starts with C(/). Required for them, refused for C(Tcp).
    type: str
  interval:
    description:
      - Seconds between two probes of a backend, at least 5.
      - When omitted, an existing probe keeps its interval and a new one gets Azure's default, 15.
    type: int
  probe_threshold:
    description:
      - Consecutive probe results needed to change a backend's state (Azure's C(probeThreshold)), 1-100.
      - When omitted, an existing probe keeps its threshold and a new one gets Azure's default, 1.
    type: int
  number_of_probes:
    description:
      - Azure's older C(numberOfProbes) field. When omitted it is kept equal to the probe threshold.
    type: int
  state:
    description: Whether the probe exists. A probe used by a load-balancing rule cannot be removed.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: HTTP probe on /healthz every 5 s, two results to change state
  azure_ha.webfarm.load_balancer_probe:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    name: app1-lb-probe
    protocol: Http
    port: 80
    request_path: /healthz
    interval: 5
    probe_threshold: 2

- name: Remove a probe no rule uses
  azure_ha.webfarm.load_balancer_probe:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    name: old-probe
    state: absent
"""

RETURN = r"""
probe:
  description: The probe after the call; null when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the probe.
      type: str
      sample: app1-lb-probe
    id:
      description: Resource ID of the probe (null for a probe only planned in check mode).
      type: str
      sample: /subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Network/loadBalancers/app1-lb/probes/app1-lb-probe
    protocol:
      description: Protocol.
      type: str
      sample: Http
    port:
      description: Probed port.
      type: int
      sample: 80
    request_path:
      description: Request path (null for Tcp).
      type: str
      sample: /healthz
    interval:
      description: Seconds between probes.
      type: int
      sample: 5
    probe_threshold:
      description: Consecutive results needed to change a backend's state.
      type: int
      sample: 2
    number_of_probes:
      description: Azure's numberOfProbes.
      type: int
      sample: 2
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import network, probe


class LoadBalancerProbe(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            load_balancer=dict(type="str", required=True),
            name=dict(type="str", required=True),
            protocol=dict(type="str", choices=["Http", "Https", "Tcp"]),
            port=dict(type="int"),
            request_path=dict(type="str"),
            interval=dict(type="int"),
            probe_threshold=dict(type="int"),
            number_of_probes=dict(type="int"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        )
        super(LoadBalancerProbe, self).__init__(argument_spec,
                                                required_if=[("state", "present", ("protocol", "port"))])

    def run(self):
        p = self.module.params
        wrong = probe.problems(p) if p["state"] == "present" else []
        if wrong:
            self.fail(msg="; ".join(wrong))
        lb = network.require_load_balancer(self.arm, p["resource_group"], p["load_balancer"])
        current = probe.find_probe(lb, p["name"])
        current_props = current.get("properties") if current else None
        name = current["name"] if current else p["name"]

        if p["state"] == "present":
            desired = probe.desired_properties(current_props, p)
            changed = probe.differs(current_props, desired)
            new_lb = probe.with_probe(lb, name, desired)
        else:
            desired = None
            changed = current is not None
            users = probe.rules_using(lb, current["id"]) if current else []
            if users:
                self.fail(msg="name: probe {0} is used by load-balancing rule(s) {1}; remove it from them first".format(
                    name, ", ".join(users)))
            new_lb = probe.without_probe(lb, name)

        result_props, probe_id = desired, current.get("id") if current else None
        if changed and not self.check_mode:
            lb = network.put_load_balancer(self.arm, new_lb)
            written = probe.find_probe(lb, name)
            result_props = written.get("properties") if written else None
            probe_id = written.get("id") if written else None
        self.results.update(changed=changed, probe=probe.view(name, result_props, probe_id))
        if self.module._diff:
            before, after = probe.view(name, current_props) or {}, probe.view(name, desired) or {}
            before.pop("id", None)
            after.pop("id", None)
            self.results["diff"] = dict(before=before, after=after)


def main():
    LoadBalancerProbe()


if __name__ == "__main__":
    main()
