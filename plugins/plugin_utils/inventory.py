# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's inventory plugins (availability_set, scale_set) share: a host per
member record (module_utils members / scale_set_members) with the same host variables and
groups, authentication as azure.azcollection does it, the inventory cache and the
constructed options. A plugin names itself (NAME), adds host variables (MEMBER_VARS) and
implements collect()."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common import (
    HAS_AZURE, HAS_AZURE_EXC, AzureRMAuth, AzureRMAuthException,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import ArmClient, ArmError, MissingResourceError

AUTH_OPTIONS = ("auth_source", "profile", "subscription_id", "client_id", "secret", "tenant", "ad_user", "password",
                "cloud_environment", "cert_validation_mode", "api_profile", "adfs_authority_url",
                "x509_certificate_path", "thumbprint", "disable_instance_discovery")
# Options that may hold a template (e.g. a lookup of a vaulted secret), as in azure.azcollection.azure_rm.
TEMPLATED_OPTIONS = ("subscription_id", "client_id", "secret", "tenant")

# (host variable, member record key) of every member
MEMBER_VARS = (
    ("webfarm_update_domain", "update_domain"),
    ("webfarm_fault_domain", "fault_domain"),
    ("webfarm_power_state", "power_state"),
    ("webfarm_private_ip", "private_ip"),
    ("webfarm_os_type", "os_type"),
    ("webfarm_vm_id", "id"),
    ("webfarm_tags", "tags"),
)


def host_vars(member, public_ip, member_vars=MEMBER_VARS):
    """The member reached through the load balancer's public IP and its NAT port; without either,
    at its private IP on the default port (a controller in the virtual network)."""
    out = dict((name, member[key]) for name, key in member_vars)
    if public_ip and member["nat_port"] is not None:
        out.update(ansible_host=public_ip, ansible_port=member["nat_port"])
    else:
        out["ansible_host"] = member["private_ip"]
    return out


def host_groups(member):
    groups = ["webfarm_vms", "webfarm_{0}".format((member["os_type"] or "unknown").lower())]
    if member["update_domain"] is not None:
        groups.append("update_domain_{0}".format(member["update_domain"]))
    if member["fault_domain"] is not None:
        groups.append("fault_domain_{0}".format(member["fault_domain"]))
    return groups


class WebfarmInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """One host per member (host name = member name); subclasses set NAME and MEMBER_VARS and
    implement collect(arm) -> {public_ip, members}."""

    NAME = None
    MEMBER_VARS = MEMBER_VARS

    def collect(self, arm):
        raise NotImplementedError

    def verify_file(self, path):
        return super(WebfarmInventory, self).verify_file(path) and path.endswith(("webfarm.yml", "webfarm.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(WebfarmInventory, self).parse(inventory, loader, path)
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
            raise AnsibleError("{0}: authentication failed: {1}".format(self.NAME, exc))

    def _fetch(self):
        arm = ArmClient.from_auth(self._auth())
        try:
            return self.collect(arm)
        except (ArmError, MissingResourceError) as exc:
            raise AnsibleError("{0}: {1}".format(self.NAME, exc))

    def _populate(self, data):
        strict = self.get_option("strict")
        for member in data["members"]:
            name = member["name"]
            self.inventory.add_host(name)
            for group in host_groups(member):
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            variables = host_vars(member, data["public_ip"], self.MEMBER_VARS)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)
