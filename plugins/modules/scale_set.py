#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: scale_set
short_description: Ensure a Uniform virtual machine scale set with its upgrade policy, health source and repairs
version_added: "0.1.0"
description:
  - Creates, updates or deletes a Uniform virtual machine scale set of Linux instances in one request, with what
    C(azure.azcollection.azure_rm_virtualmachinescaleset) cannot set - the Rolling upgrade policy and every field
    of C(rollingUpgradePolicy) (azure#344), the load balancer health probe as the set's health source,
    automatic repairs, the extensions of the model (Custom Script, Application Health) at creation, and a
    changed C(customData) - so that a new set is made in one write and never rolls a second model over
    instances that have just been created.
  - Reads the set, compares only the fields this module manages and writes only a difference; what it does not
    manage is sent back as read. Azure never returns C(customData) nor protected settings; a salted digest of
    them in the tag C(webfarm-model-secrets) tells whether they changed.
  - A changed C(virtualMachineProfile) is a new model; the instances take it by the upgrade policy (Automatic at
    once, Manual on request, Rolling batch by batch). The module returns C(model_changed) so that a playbook
    can follow the rolling upgrade.
options:
  resource_group:
    description: Resource group of the scale set.
    type: str
    required: true
  name:
    description: Name of the scale set.
    type: str
    required: true
  location:
    description: Azure region. Required to create the set.
    type: str
  state:
    description: Whether the scale set exists. Deleting it deletes its instances.
    type: str
    choices: [present, absent]
    default: present
  vm_size:
    description: Size of every instance. Required with I(state=present).
    type: str
  capacity:
    description: Number of instances. Required with I(state=present); 0-100 in a single placement group.
    type: int
  keep_capacity:
    description:
      - Leave the capacity of an existing set as it is (autoscale owns it); I(capacity) only sizes a new set.
    type: bool
    default: false
  image:
    description: Marketplace image of the instances. Required with I(state=present).
    type: dict
    suboptions:
      publisher:
        description: Image publisher.
        type: str
        required: true
      offer:
        description: Image offer.
        type: str
        required: true
      sku:
        description: Image SKU.
        type: str
        required: true
      version:
        description: Image version, C(latest) to follow the newest.
        type: str
        default: latest
  computer_name_prefix:
    description: Prefix of the instances' computer names (the instance ID follows in base 36); default the set's name.
    type: str
  admin_username:
    description: Administrator of every instance. Required with I(state=present).
    type: str
  ssh_public_keys:
    description: SSH public keys of the administrator (password login is off).
    type: list
    elements: str
  custom_data:
    description:
      - cloud-init user data of every instance, as text (the module encodes it). A change is a new model.
    type: str
  os_disk_type:
    description: Storage type of the OS disks.
    type: str
    default: Premium_LRS
  subnet_id:
    description: Subnet of the instances' NIC. Required with I(state=present).
    type: str
  backend_pool_ids:
    description: Load balancer backend pools of the instances.
    type: list
    elements: str
  nat_pool_ids:
    description: Inbound NAT pools that give each instance its own frontend port.
    type: list
    elements: str
  health_probe_id:
    description: Load balancer probe that reports the instances' health (Rolling upgrades, automatic repairs).
    type: str
  overprovision:
    description: Let Azure create extra instances and delete them once the requested ones run.
    type: bool
    default: true
  single_placement_group:
    description: Keep the set in one placement group (at most 100 instances).
    type: bool
    default: true
  platform_fault_domain_count:
    description: Fault domains the instances spread over (fixed once the set exists).
    type: int
    default: 5
  upgrade_policy:
    description: How instances take a new model.
    type: dict
    suboptions:
      mode:
        description: Manual, Automatic or Rolling (Rolling needs a health source).
        type: str
        choices: [Manual, Automatic, Rolling]
        default: Manual
      rolling:
        description: Azure's rollingUpgradePolicy; omitted fields keep Azure's defaults.
        type: dict
        suboptions:
          max_batch_instance_percent:
            description: Largest share of the set upgraded at once, 5-100.
            type: int
          max_unhealthy_instance_percent:
            description: Largest share of the set unhealthy before a batch starts, 5-100.
            type: int
          max_unhealthy_upgraded_instance_percent:
            description: Largest share of upgraded instances found unhealthy after a batch, 0-100.
            type: int
          pause_time_between_batches:
            description: ISO 8601 duration between batches, such as C(PT0S) or C(PT1M).
            type: str
          prioritize_unhealthy_instances:
            description: Upgrade unhealthy instances first.
            type: bool
          max_surge:
            description: Create new instances for a batch instead of upgrading the existing ones.
            type: bool
  automatic_repairs:
    description: Replace (or restart, reimage) instances unhealthy for longer than the grace period.
    type: dict
    suboptions:
      enabled:
        description: Whether automatic repairs run.
        type: bool
        default: false
      grace_period:
        description: ISO 8601 duration, C(PT10M) to C(PT90M).
        type: str
        default: PT10M
      repair_action:
        description: What a repair does.
        type: str
        choices: [Replace, Restart, Reimage]
        default: Replace
  terminate_notification:
    description:
      - Scheduled Events' terminate notification (C(scheduledEventsProfile.terminateNotificationProfile)).
        When enabled, Azure does not delete an instance at once when the set scales in or deletes it; it posts
        a C(Terminate) event in the instance metadata service of the set's instances and deletes the instance
        when the instance approves the event or the timeout ends. The time the instance has to drain.
      - Not given, the set keeps what it has.
    type: dict
    suboptions:
      enabled:
        description: Whether Azure notifies before it deletes an instance.
        type: bool
        default: true
      timeout:
        description: ISO 8601 duration, C(PT5M) to C(PT15M) (Azure's C(notBeforeTimeout)).
        type: str
        default: PT5M
  scale_in_policy:
    description: Which instances go first when the capacity goes down.
    type: dict
    suboptions:
      rule:
        description: Default balances fault domains then removes the highest instance ID.
        type: str
        choices: [Default, OldestVM, NewestVM]
        default: Default
      force_deletion:
        description: Delete instances without a graceful shutdown.
        type: bool
        default: false
  extensions:
    description: Extensions of the model, run on every instance (Custom Script, Application Health ...).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the extension in the model.
        type: str
        required: true
      publisher:
        description: Publisher of the handler.
        type: str
        required: true
      type:
        description: Type of the handler.
        type: str
        required: true
      type_handler_version:
        description: Handler version (major.minor).
        type: str
        required: true
      auto_upgrade_minor_version:
        description: Let Azure take newer minor versions of the handler.
        type: bool
        default: true
      settings:
        description: Public settings.
        type: dict
      protected_settings:
        description: Settings Azure keeps encrypted and never returns (for example a command with a secret).
        type: dict
  tags:
    description: Tags of the set (the module adds C(webfarm-model-secrets)).
    type: dict
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Three instances behind the load balancer, Rolling upgrades judged by its probe
  azure_ha.webfarm.scale_set:
    resource_group: app1-dev-rg
    name: app1-vmss
    location: westeurope
    vm_size: Standard_B1s
    capacity: 3
    image: {publisher: Debian, offer: debian-12, sku: 12-gen2}
    admin_username: azureuser
    ssh_public_keys: ["{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"]
    custom_data: "{{ lookup('template', 'cloud-init.yml.j2') }}"
    subnet_id: "{{ subnet_id }}"
    backend_pool_ids: ["{{ lb_id }}/backendAddressPools/app1-pool"]
    nat_pool_ids: ["{{ lb_id }}/inboundNatPools/app1-ssh"]
    health_probe_id: "{{ lb_id }}/probes/app1-probe"
    upgrade_policy:
      mode: Rolling
      rolling:
        max_batch_instance_percent: 34
        max_unhealthy_upgraded_instance_percent: 0
        pause_time_between_batches: PT5S
"""

RETURN = r"""
scale_set:
  description: The scale set after the call (no customData, no protected settings); null when it does not exist.
  returned: always
  type: dict
  sample: {"name": "app1-vmss", "sku": {"name": "Standard_B1s", "tier": "Standard", "capacity": 3},
           "upgrade_policy": {"mode": "Rolling"}, "provisioning_state": "Succeeded"}
differences:
  description: Dotted names of the managed fields that differed (what the call changed, or would in check mode).
  returned: always
  type: list
  elements: str
  sample: ["sku.capacity", "properties.upgradePolicy.mode"]
model_changed:
  description: Whether the call wrote a new model (the instances take it by the upgrade policy).
  returned: always
  type: bool
created:
  description: Whether the call created the set (its instances start on the model; no upgrade to follow).
  returned: always
  type: bool
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, scale_set_model

IMAGE = dict(publisher=dict(type="str", required=True), offer=dict(type="str", required=True),
             sku=dict(type="str", required=True), version=dict(type="str", default="latest"))
ROLLING = dict(max_batch_instance_percent=dict(type="int"), max_unhealthy_instance_percent=dict(type="int"),
               max_unhealthy_upgraded_instance_percent=dict(type="int"),
               pause_time_between_batches=dict(type="str"), prioritize_unhealthy_instances=dict(type="bool"),
               max_surge=dict(type="bool"))
EXTENSION = dict(name=dict(type="str", required=True), publisher=dict(type="str", required=True),
                 type=dict(type="str", required=True), type_handler_version=dict(type="str", required=True),
                 auto_upgrade_minor_version=dict(type="bool", default=True), settings=dict(type="dict"),
                 protected_settings=dict(type="dict", no_log=True))


class ScaleSet(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            vm_size=dict(type="str"),
            capacity=dict(type="int"),
            keep_capacity=dict(type="bool", default=False),
            image=dict(type="dict", options=IMAGE),
            computer_name_prefix=dict(type="str"),
            admin_username=dict(type="str"),
            ssh_public_keys=dict(type="list", elements="str", no_log=False),
            custom_data=dict(type="str"),
            os_disk_type=dict(type="str", default="Premium_LRS"),
            subnet_id=dict(type="str"),
            backend_pool_ids=dict(type="list", elements="str"),
            nat_pool_ids=dict(type="list", elements="str"),
            health_probe_id=dict(type="str"),
            overprovision=dict(type="bool", default=True),
            single_placement_group=dict(type="bool", default=True),
            platform_fault_domain_count=dict(type="int", default=5),
            upgrade_policy=dict(type="dict", options=dict(
                mode=dict(type="str", choices=["Manual", "Automatic", "Rolling"], default="Manual"),
                rolling=dict(type="dict", options=ROLLING))),
            automatic_repairs=dict(type="dict", options=dict(
                enabled=dict(type="bool", default=False), grace_period=dict(type="str", default="PT10M"),
                repair_action=dict(type="str", choices=["Replace", "Restart", "Reimage"], default="Replace"))),
            terminate_notification=dict(type="dict", options=dict(
                enabled=dict(type="bool", default=True), timeout=dict(type="str", default="PT5M"))),
            scale_in_policy=dict(type="dict", options=dict(
                rule=dict(type="str", choices=["Default", "OldestVM", "NewestVM"], default="Default"),
                force_deletion=dict(type="bool", default=False))),
            extensions=dict(type="list", elements="dict", options=EXTENSION),
            tags=dict(type="dict"),
        )
        super(ScaleSet, self).__init__(argument_spec, required_if=[
            ("state", "present", ("vm_size", "capacity", "image", "admin_username", "subnet_id"))])

    def run(self):
        p = self.module.params
        existing = compute.get_scale_set(self.arm, p["resource_group"], p["name"])
        if p["state"] == "absent":
            self.results.update(changed=existing is not None, differences=["(deleted)"] if existing else [],
                                model_changed=False, created=False, scale_set=None)
            if existing is not None and not self.check_mode:
                compute.delete_scale_set(self.arm, p["resource_group"], p["name"])
            return
        wrong = scale_set_model.problems(p)
        if existing is None and not p["location"]:
            wrong.append("location: needed to create the scale set {0}".format(p["name"]))
        if wrong:
            self.fail(msg="; ".join(wrong))
        found = scale_set_model.differences(p, existing, keep_capacity=p["keep_capacity"])
        result = existing
        if found and not self.check_mode:
            body = scale_set_model.desired_body(p, existing, keep_capacity=p["keep_capacity"])
            result = compute.put_scale_set(self.arm, p["resource_group"], p["name"], body)
        self.results.update(changed=bool(found), differences=found,
                            model_changed=bool(scale_set_model.model_changes(found)),
                            created=existing is None, scale_set=scale_set_model.view(result))
        if self.module._diff:
            wanted = scale_set_model.managed_fields(p)
            self.results["diff"] = dict(before=scale_set_model.view(existing) or {},
                                        after=dict(scale_set_model.view(existing) or {}, sku=wanted["sku"],
                                                   upgrade_policy=wanted["properties"]["upgradePolicy"]))


def main():
    ScaleSet()


if __name__ == "__main__":
    main()
