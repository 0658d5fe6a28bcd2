# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: availability_set
short_description: The VMs of one Azure availability set, grouped by update and fault domain
version_added: "0.1.0"
description:
  - One host per VM of an availability set (host name = VM name), reached through the load balancer's
    public IP and the VM's inbound NAT rule, with its platform update and fault domain.
  - Groups C(webfarm_vms), C(webfarm_linux) / C(webfarm_windows), C(update_domain_<N>) and C(fault_domain_<N>).
  - Host variables C(ansible_host) and C(ansible_port) (the load balancer's frontend public IP and the
    frontend port of the VM's NAT rule to port 22, else 5986, else 3389; the private IP and no port without
    I(load_balancer) or without such a rule),
    C(webfarm_update_domain), C(webfarm_fault_domain), C(webfarm_power_state), C(webfarm_private_ip),
    C(webfarm_os_type), C(webfarm_vm_id), C(webfarm_tags).
  - Every VM of the set is listed, whatever its power state (C(webfarm_power_state) says it).
  - The configuration file name must end with C(webfarm.yml) or C(webfarm.yaml).
  - Authentication as for the azure.azcollection modules and C(azure.azcollection.azure_rm) inventory
    (options, C(AZURE_*) environment variables, credential file profile, Azure CLI, MSI).
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    choices: [azure_ha.webfarm.availability_set]
    type: str
  resource_group:
    description: Resource group of the availability set and the load balancer.
    required: true
    type: str
  availability_set:
    description: Name of the availability set.
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
# app1-dev.webfarm.yml
plugin: azure_ha.webfarm.availability_set
resource_group: app1-dev-rg
availability_set: app1-as
load_balancer: app1-lb
compose:
  ansible_user: "'azureuser'"
keyed_groups:
  - key: webfarm_power_state
    prefix: power
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/webfarm-inventory
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.members import collect
from ansible_collections.azure_ha.webfarm.plugins.plugin_utils.inventory import WebfarmInventory


class InventoryModule(WebfarmInventory):

    NAME = "azure_ha.webfarm.availability_set"

    def collect(self, arm):
        return collect(arm, self.get_option("resource_group"), self.get_option("availability_set"),
                       self.get_option("load_balancer"))
