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
  - Host variables C(ansible_host) (the load balancer's frontend public IP; the private IP without
    I(load_balancer)), C(ansible_port) (frontend port of the NAT rule to port 22, else 5986, else 3389),
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

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common import (
    HAS_AZURE, HAS_AZURE_EXC, AzureRMAuth, AzureRMAuthException,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import ArmClient, ArmError, MissingResourceError
from ansible_collections.azure_ha.webfarm.plugins.module_utils.members import collect

AUTH_OPTIONS = ("auth_source", "profile", "subscription_id", "client_id", "secret", "tenant", "ad_user", "password",
                "cloud_environment", "cert_validation_mode", "api_profile", "adfs_authority_url",
                "x509_certificate_path", "thumbprint", "disable_instance_discovery")
# Options that may hold a template (e.g. a lookup of a vaulted secret), as in azure.azcollection.azure_rm.
TEMPLATED_OPTIONS = ("subscription_id", "client_id", "secret", "tenant")


def host_vars(member, public_ip):
    out = dict(
        ansible_host=public_ip or member["private_ip"],
        webfarm_update_domain=member["update_domain"],
        webfarm_fault_domain=member["fault_domain"],
        webfarm_power_state=member["power_state"],
        webfarm_private_ip=member["private_ip"],
        webfarm_os_type=member["os_type"],
        webfarm_vm_id=member["id"],
        webfarm_tags=member["tags"],
    )
    if public_ip and member["nat_port"] is not None:
        out["ansible_port"] = member["nat_port"]
    return out


def host_groups(member):
    groups = ["webfarm_vms", "webfarm_{0}".format((member["os_type"] or "unknown").lower())]
    if member["update_domain"] is not None:
        groups.append("update_domain_{0}".format(member["update_domain"]))
    if member["fault_domain"] is not None:
        groups.append("fault_domain_{0}".format(member["fault_domain"]))
    return groups


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "azure_ha.webfarm.availability_set"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("webfarm.yml", "webfarm.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if data is None:
            data = self._fetch()
        if update_cache:
            self._cache[cache_key] = data
        self._populate(data)

    def _auth(self):
        if not HAS_AZURE:
            raise AnsibleError("{0}: {1}".format(missing_required_lib("the Azure SDK of azure.azcollection"), HAS_AZURE_EXC))
        options = dict((name, self.get_option(name)) for name in AUTH_OPTIONS)
        for name in TEMPLATED_OPTIONS:
            if options[name] and self.templar.is_template(options[name]):
                options[name] = self.templar.template(variable=options[name], disable_lookups=False)
        try:
            return AzureRMAuth(track1_cred=True, **options)
        except AzureRMAuthException as exc:
            raise AnsibleError("azure_ha.webfarm.availability_set: authentication failed: {0}".format(exc))

    def _fetch(self):
        arm = ArmClient.from_auth(self._auth())
        try:
            return collect(arm, self.get_option("resource_group"), self.get_option("availability_set"),
                           self.get_option("load_balancer"))
        except (ArmError, MissingResourceError) as exc:
            raise AnsibleError("azure_ha.webfarm.availability_set: {0}".format(exc))

    def _populate(self, data):
        strict = self.get_option("strict")
        for member in data["members"]:
            name = member["name"]
            self.inventory.add_host(name)
            for group in host_groups(member):
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            variables = host_vars(member, data["public_ip"])
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
