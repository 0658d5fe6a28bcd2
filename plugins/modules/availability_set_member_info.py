#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: availability_set_member_info
short_description: The VMs of an Azure availability set with update/fault domain, power state and NAT port
version_added: "0.1.0"
description:
  - Lists the VMs of an availability set with what a rolling operation needs (the platform update domain
    and fault domain from each VM's instance view, power and provisioning state, private IP of the primary
    NIC, its inbound NAT rules and the frontend port to reach SSH/WinRM/RDP through the load balancer).
  - The same data feeds the C(azure_ha.webfarm.availability_set) inventory plugin.
options:
  resource_group:
    description: Resource group of the availability set (and of the load balancer).
    type: str
    required: true
  availability_set:
    description: Name of the availability set.
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
- name: Members of the web tier's availability set
  azure_ha.webfarm.availability_set_member_info:
    resource_group: app1-dev-rg
    availability_set: app1-as
    load_balancer: app1-lb
  register: webfarm_members

- name: One update domain at a time
  ansible.builtin.debug:
    msg: "{{ webfarm_members.members | groupby('update_domain') }}"
"""

RETURN = r"""
availability_set:
  description: The availability set.
  returned: always
  type: dict
  contains:
    name:
      description: Name.
      type: str
      sample: app1-as
    id:
      description: Resource ID.
      type: str
      sample: /subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Compute/availabilitySets/app1-as
    fault_domains:
      description: platformFaultDomainCount.
      type: int
      sample: 2
    update_domains:
      description: platformUpdateDomainCount.
      type: int
      sample: 5
    sku:
      description: C(Aligned) (managed disks) or C(Classic).
      type: str
      sample: Aligned
    tags:
      description: Tags of the set (the rolling patch keeps its run record there).
      type: dict
      sample: {webfarm_patch_run: "20261201T120000Z", webfarm_patch_state: completed}
public_ip:
  description: Public IP address of the load balancer frontend used by the members' NAT rules; null without I(load_balancer).
  returned: always
  type: str
  sample: 20.1.2.3
members:
  description: The VMs of the set, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
      sample: app1-vm1
    id:
      description: VM resource ID.
      type: str
    os_type:
      description: C(Linux) or C(Windows).
      type: str
      sample: Linux
    vm_size:
      description: VM size.
      type: str
      sample: Standard_B1s
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
    provisioning_state:
      description: Provisioning state, lower case.
      type: str
      sample: succeeded
    private_ip:
      description: Private IP of the primary ip configuration of the primary NIC.
      type: str
      sample: 10.0.0.4
    network_interface:
      description: Name of the primary NIC.
      type: str
      sample: app1-vm1-nic1
    ip_configuration:
      description: Name of its primary ip configuration.
      type: str
      sample: ipconfig1
    nat_rules:
      description: Inbound NAT rules of that ip configuration (ports null when the load balancer cannot be read).
      type: list
      elements: dict
      sample: [{name: ssh-vm1, frontend_port: 50001, backend_port: 22}]
    nat_port:
      description: Frontend port of the NAT rule whose backend port is 22, else 5986, else 3389; null without one.
      type: int
      sample: 50001
    tags:
      description: Tags of the VM.
      type: dict
      sample: {webfarm_app: app1}
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils.members import collect


class AvailabilitySetMemberInfo(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            availability_set=dict(type="str", required=True),
            load_balancer=dict(type="str"),
        )
        super(AvailabilitySetMemberInfo, self).__init__(argument_spec, facts_module=True)

    def run(self):
        p = self.module.params
        self.results.update(collect(self.arm, p["resource_group"], p["availability_set"], p["load_balancer"]))


def main():
    AvailabilitySetMemberInfo()


if __name__ == "__main__":
    main()
