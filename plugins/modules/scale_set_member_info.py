#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: scale_set_member_info
short_description: The instances of a Uniform scale set with update/fault domain, power state, health and NAT port
version_added: "0.1.0"
description:
  - Lists the instances of a scale set with the same member records as
    M(azure_ha.webfarm.availability_set_member_info) gives for an availability set's VMs (platform update and
    fault domain, power state, private IP, NAT rules and the frontend port to reach SSH through the load
    balancer), plus what only an instance has (instance ID, computer name, whether it runs the set's latest
    model, the health its health source reports).
  - The same data feeds the C(azure_ha.webfarm.scale_set) inventory plugin.
options:
  resource_group:
    description: Resource group of the scale set (and of the load balancer).
    type: str
    required: true
  scale_set:
    description: Name of the scale set.
    type: str
    required: true
  load_balancer:
    description:
      - Name of the load balancer whose frontend public IP is returned as RV(public_ip).
      - NAT frontend ports are resolved from the load balancers the NICs' NAT rules belong to, with or without it.
    type: str
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes.info
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Instances of the web tier's scale set
  azure_ha.webfarm.scale_set_member_info:
    resource_group: app2-dev-rg
    scale_set: app2-vmss
    load_balancer: app2-lb
  register: webfarm_members

- name: The instances that do not run the latest model
  ansible.builtin.debug:
    msg: "{{ webfarm_members.members | rejectattr('latest_model_applied') | map(attribute='name') }}"
"""

RETURN = r"""
scale_set:
  description: The scale set.
  returned: always
  type: dict
  contains:
    name:
      description: Name.
      type: str
      sample: app2-vmss
    id:
      description: Resource ID.
      type: str
    capacity:
      description: sku.capacity.
      type: int
      sample: 3
    upgrade_mode:
      description: C(Manual), C(Automatic) or C(Rolling).
      type: str
      sample: Rolling
    fault_domains:
      description: platformFaultDomainCount.
      type: int
      sample: 2
    tags:
      description: Tags of the set.
      type: dict
public_ip:
  description: Public IP address of the load balancer frontend used by the instances' NAT rules; null without I(load_balancer).
  returned: always
  type: str
  sample: 20.1.2.3
members:
  description:
    - The instances, in instance ID order, with the keys of M(azure_ha.webfarm.availability_set_member_info)'s
      members (C(name) is Azure's instance name C({set}_{instance ID})) and the ones below.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Azure's instance name.
      type: str
      sample: app2-vmss_0
    instance_id:
      description: Instance ID in the set.
      type: str
      sample: "0"
    scale_set:
      description: Name of the set.
      type: str
      sample: app2-vmss
    computer_name:
      description: The guest's host name (the set's computer name prefix and the instance ID in base 36).
      type: str
      sample: app2-vmss000000
    latest_model_applied:
      description: Whether the instance runs the set's current model.
      type: bool
    vm_health:
      description: C(healthy), C(unhealthy), C(initializing) or C(unknown) from the health source; null without one.
      type: str
      sample: healthy
    update_domain:
      description: Platform update domain (instance view).
      type: int
      sample: 0
    fault_domain:
      description: Platform fault domain (instance view).
      type: int
      sample: 0
    power_state:
      description: C(running), C(stopped), C(deallocated), C(starting), C(stopping), C(deallocating) or C(unknown).
      type: str
      sample: running
    private_ip:
      description: Private IP of the primary ip configuration of the primary NIC.
      type: str
      sample: 10.20.1.4
    nat_port:
      description: Frontend port of the NAT rule whose backend port is 22; null without one.
      type: int
      sample: 50000
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils.scale_set_members import collect


class ScaleSetMemberInfo(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            scale_set=dict(type="str", required=True),
            load_balancer=dict(type="str"),
        )
        super(ScaleSetMemberInfo, self).__init__(argument_spec, facts_module=True)

    def run(self):
        p = self.module.params
        self.results.update(collect(self.arm, p["resource_group"], p["scale_set"], p["load_balancer"]))


def main():
    ScaleSetMemberInfo()


if __name__ == "__main__":
    main()
