#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: load_balancer_backend
short_description: Take a NIC ip configuration out of a load balancer's rotation and back
version_added: "0.1.0"
description:
  - Takes one VM's NIC ip configuration out of a load balancer backend pool's rotation, or puts it back,
    for maintenance such as a rolling patch.
  - With I(method=admin_state) the backend address of the ip configuration in the pool gets C(adminState)
    C(Down) (out of rotation) or C(None) (in rotation, the health probe decides). The NIC stays in the pool,
    so its inbound NAT rules and the outbound rule keep working. Only that address of the pool is changed;
    the pool alone is written, not the whole load balancer.
  - With I(method=pool) the pool reference is removed from (or added back to) the ip configuration. Every
    other property of the NIC, its inbound NAT rules included, is sent back unchanged.
  - Reads first and writes only when the wanted state differs.
  - Both methods stop new flows only; established TCP flows continue until they end. Admin state takes
    effect only on load-balancing rules with a health probe (an Azure rule).
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
    description: Name of the load balancer.
    type: str
    required: true
  load_balancer_resource_group:
    description: Resource group of the load balancer, when it is not I(resource_group).
    type: str
  backend_pool:
    description: Name of the backend address pool of I(load_balancer).
    type: str
    required: true
  method:
    description:
      - C(admin_state) sets the backend address's admin state; the ip configuration must be a member of the pool.
      - C(pool) removes or adds the pool reference on the ip configuration.
    type: str
    choices: [admin_state, pool]
    required: true
  state:
    description:
      - C(out_of_rotation) - adminState C(Down), or no pool reference.
      - C(in_rotation) - adminState C(None), or a pool reference.
    type: str
    choices: [out_of_rotation, in_rotation]
    default: out_of_rotation
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
notes:
  - C(adminState) C(Up) (new flows even while the probe fails) is never set; C(in_rotation) sets C(None).
  - With I(method=pool), an ip configuration added back to the pool whose address still says C(Down) stays out
    of rotation (C(in_rotation=false)) and the module warns.
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Drain VM 1 by admin state
  azure_ha.webfarm.load_balancer_backend:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    backend_pool: app1-lb-backend-pool
    network_interface: app1-vm1-nic1
    method: admin_state
    state: out_of_rotation

- name: Back in rotation (the probe decides again)
  azure_ha.webfarm.load_balancer_backend:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    backend_pool: app1-lb-backend-pool
    network_interface: app1-vm1-nic1
    method: admin_state
    state: in_rotation

- name: Drain VM 2 by leaving the pool (its NAT rules stay)
  azure_ha.webfarm.load_balancer_backend:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    backend_pool: app1-lb-backend-pool
    network_interface: app1-vm2-nic1
    ip_configuration: ipconfig1
    method: pool
    state: out_of_rotation
"""

RETURN = r"""
in_rotation:
  description:
    - Whether the ip configuration is eligible for new flows after the call - a member of the pool whose admin
      state is not C(Down). Its health probe still decides whether it gets them.
  returned: always
  type: bool
  sample: false
method:
  description: The method used.
  returned: always
  type: str
  sample: admin_state
pool_member:
  description: Whether the ip configuration references the pool after the call.
  returned: always
  type: bool
  sample: true
admin_state:
  description: The admin state of the ip configuration's backend address after the call; null when it is not in the pool.
  returned: always
  type: str
  sample: Down
backend_address:
  description: Name of the ip configuration's backend address in the pool (null when none is listed).
  returned: always
  type: str
  sample: app1-dev-rg_app1-vm1-nic1ipconfig1
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
ip_configuration_id:
  description: ID of the ip configuration (the key of the rule health API's backends).
  returned: always
  type: str
  sample: /subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Network/networkInterfaces/app1-vm1-nic1/ipConfigurations/ipconfig1
backend_pool:
  description: Name of the backend pool.
  returned: always
  type: str
  sample: app1-lb-backend-pool
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import backend, nat, network, pool


class LoadBalancerBackend(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            network_interface=dict(type="str", required=True),
            ip_configuration=dict(type="str"),
            load_balancer=dict(type="str", required=True),
            load_balancer_resource_group=dict(type="str"),
            backend_pool=dict(type="str", required=True),
            method=dict(type="str", choices=["admin_state", "pool"], required=True),
            state=dict(type="str", choices=[backend.OUT_OF_ROTATION, backend.IN_ROTATION],
                       default=backend.OUT_OF_ROTATION),
        )
        super(LoadBalancerBackend, self).__init__(argument_spec)

    def run(self):
        p = self.module.params
        nic, config = self.read_nic()
        lb_group = p["load_balancer_resource_group"] or p["resource_group"]
        lb = network.require_load_balancer(self.arm, lb_group, p["load_balancer"])
        found = backend.find_pool(lb, p["backend_pool"])
        if found is None:
            self.fail(msg="backend_pool: load balancer {0} has no backend pool {1!r} (it has: {2})".format(
                lb["name"], p["backend_pool"], ", ".join(backend.pool_names(lb)) or "none"))
        member = backend.is_member(config, found["id"])
        address = backend.find_address(found, config["id"]) if member else None
        if p["method"] == "admin_state":
            self.check_admin_state_target(config, found, member, address)
        admin = backend.admin_state(address) if address else ("None" if member else None)

        after_member, after_admin = backend.planned(p["method"], p["state"], member, admin)
        changed = (after_member, after_admin) != (member, admin)
        if changed and not self.check_mode:
            if p["method"] == "admin_state":
                written = pool.put_backend_pool(self.arm, backend.with_admin_state(found, config["id"], after_admin))
                address = backend.find_address(written, config["id"]) or address
                after_admin = backend.admin_state(address)
            else:
                nic = network.put_network_interface(
                    self.arm, backend.with_membership(nic, config["name"], found["id"], after_member))
                config = nat.find_ip_configuration(nic, config["name"])
                after_member = backend.is_member(config, found["id"])
                address = None
                if after_member:
                    # the address (and the admin state Azure keeps for it) is listed by the pool, not the NIC
                    address = backend.find_address(pool.get_backend_pool(self.arm, found["id"]), config["id"])
                    after_admin = backend.admin_state(address) or after_admin
        if after_member and after_admin == "Down" and p["state"] == backend.IN_ROTATION:
            self.module.warn("{0} is in backend pool {1} but its adminState is Down: it gets no new flows until "
                             "method=admin_state state=in_rotation".format(config["id"], found["name"]))
        self.results.update(
            changed=changed,
            in_rotation=backend.in_rotation(after_member, after_admin),
            method=p["method"],
            pool_member=after_member,
            admin_state=after_admin,
            backend_address=address["name"] if address else None,
            network_interface=nic["name"],
            ip_configuration=config["name"],
            ip_configuration_id=config["id"],
            backend_pool=found["name"],
        )
        if self.module._diff:
            self.results["diff"] = dict(before=dict(pool_member=member, admin_state=admin),
                                        after=dict(pool_member=after_member, admin_state=after_admin))

    def read_nic(self):
        p = self.module.params
        nic = network.get_network_interface(self.arm, p["resource_group"], p["network_interface"])
        if nic is None:
            self.fail(msg="network_interface: no network interface {0} in resource group {1}".format(
                p["network_interface"], p["resource_group"]))
        config = nat.find_ip_configuration(nic, p["ip_configuration"])
        if config is None:
            names = [c["name"] for c in nic["properties"].get("ipConfigurations") or []]
            self.fail(msg="ip_configuration: network interface {0} has no ip configuration {1} (it has: {2})".format(
                p["network_interface"], p["ip_configuration"] or "marked primary", ", ".join(names)))
        return nic, config

    def check_admin_state_target(self, config, found, member, address):
        p = self.module.params
        if not member:
            self.fail(msg="network_interface: ip configuration {0} of {1} is not in backend pool {2}; method=admin_state "
                          "sets the admin state of a pool member (method=pool adds it to the pool)".format(
                              config["name"], p["network_interface"], found["name"]))
        if address is None:
            self.fail(msg="backend_pool: pool {0} lists no backend address for {1}, so its admin state cannot be set "
                          "(use method=pool)".format(found["name"], config["id"]))


def main():
    LoadBalancerBackend()


if __name__ == "__main__":
    main()
