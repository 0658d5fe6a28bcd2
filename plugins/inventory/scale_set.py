# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: scale_set
short_description: The instances of one Azure virtual machine scale set, grouped by update and fault domain
version_added: "0.1.0"
description:
  - One host per instance of a Uniform virtual machine scale set, reached through the load balancer's
    public IP and the instance's port of the set's inbound NAT pool, with its platform update and fault
    domain. The scale set counterpart of the C(azure_ha.webfarm.availability_set) inventory, with the same
    host variables and groups, so the same playbooks run over either tier.
  - Host name = Azure's instance name C(<scale set>_<instance ID>) (as the portal and
    C(az vmss list-instances) show it), e.g. C(--limit app1-vmss_3); the guest's computer name is in
    C(webfarm_computer_name).
  - Groups C(webfarm_vms), C(webfarm_linux) / C(webfarm_windows), C(update_domain_<N>) and C(fault_domain_<N>).
  - Host variables C(ansible_host) and C(ansible_port) (the load balancer's frontend public IP and the
    frontend port of the instance's NAT rule to port 22, else 5986, else 3389; the private IP and no port
    without I(load_balancer) or without such a rule), C(webfarm_update_domain), C(webfarm_fault_domain),
    C(webfarm_power_state), C(webfarm_private_ip), C(webfarm_os_type), C(webfarm_vm_id) (the instance's
    resource ID), C(webfarm_tags), as for an availability set's VMs.
  - Scale set host variables C(webfarm_instance_id), C(webfarm_scale_set), C(webfarm_computer_name),
    C(webfarm_latest_model_applied) (the instance runs the set's current model) and C(webfarm_vm_health)
    (C(healthy), C(unhealthy), C(initializing), C(unknown) as the instance view reports the health source;
    null when none reports).
  - Every instance of the set is listed, whatever its power state (C(webfarm_power_state) says it).
  - The configuration file name must end with C(webfarm.yml) or C(webfarm.yaml).
  - Authentication as for the azure.azcollection modules and C(azure.azcollection.azure_rm) inventory
    (options, C(AZURE_*) environment variables, credential file profile, Azure CLI, MSI).
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    choices: [azure_ha.webfarm.scale_set]
    type: str
  resource_group:
    description: Resource group of the scale set and the load balancer.
    required: true
    type: str
  scale_set:
    description: Name of the virtual machine scale set.
    required: true
    type: str
  load_balancer:
    description: Name of the load balancer whose frontend public IP becomes C(ansible_host).
    type: str
extends_documentation_fragment:
  - azure.azcollection.azure
  - constructed
  - inventory_cache
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
# app1-dev-vmss.webfarm.yml: the instances of app1-vmss, reached through app1-lb's NAT pool
#   ansible-inventory -i app1-dev-vmss.webfarm.yml --graph
#   ansible-playbook <playbook>.yml -i app1-dev-vmss.webfarm.yml --limit app1-vmss_3
plugin: azure_ha.webfarm.scale_set
resource_group: app1-dev-rg
scale_set: app1-vmss
load_balancer: app1-lb
compose:
  ansible_user: "'azureuser'"
keyed_groups:
  # model_latest_False: the instances a model upgrade has not reached yet
  - key: webfarm_latest_model_applied
    prefix: model_latest
  # scale_set_app1_vmss, to tell the set's instances apart in an inventory with other sources
  - key: webfarm_scale_set
    prefix: scale_set
groups:
  unhealthy: webfarm_vm_health == 'unhealthy'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/webfarm-inventory
cache_timeout: 300
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.scale_set_members import collect
from ansible_collections.azure_ha.webfarm.plugins.plugin_utils import inventory


class InventoryModule(inventory.WebfarmInventory):

    NAME = "azure_ha.webfarm.scale_set"
    MEMBER_VARS = inventory.MEMBER_VARS + (
        ("webfarm_instance_id", "instance_id"),
        ("webfarm_scale_set", "scale_set"),
        ("webfarm_computer_name", "computer_name"),
        ("webfarm_latest_model_applied", "latest_model_applied"),
        ("webfarm_vm_health", "vm_health"),
    )

    def collect(self, arm):
        return collect(arm, self.get_option("resource_group"), self.get_option("scale_set"),
                       self.get_option("load_balancer"))
