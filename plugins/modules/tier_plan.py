#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: tier_plan
short_description: Validate the webfarm tier variables and name its resources
version_added: 0.1.0
description:
  - Checks every input of the load-balanced tier against the rules Azure and the webfarm design
    impose, and returns the plan, the names of all resources (seed 000 naming) and per-VM details.
  - Reports every broken rule at once; each message names the variable as it is written in
    inventories (C(webfarm_subnet_cidr)) and the rule.
  - Makes no Azure call and changes nothing, so it behaves the same in check mode.
  - Role C(azure_ha.webfarm.preflight) runs it and sets the plan as fact C(webfarm_plan).
  - Options are the C(webfarm_*) variables without the C(webfarm_) prefix.
  - With O(variant=scale_set) it plans the scale-set variant of seed 004 instead (RV(plan.scale_set)).
extends_documentation_fragment:
  # the options of the scale-set variant: variant, scale_set, autoscale
  - azure_ha.webfarm.tier_plan.scale_set_variant
author:
  - webfarm maintainers (@azure_ha)
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
options:
  app:
    description:
      - Application name, prefix of every resource name. 1-15 lowercase letters, digits or hyphens,
        starting with a letter. For Windows the VM names C(<app>-vm<N>) must fit 15 characters.
    type: str
    required: true
  env:
    description: Environment name, 1-10 lowercase letters or digits.
    type: str
    required: true
  location:
    description: Azure region, for example C(westeurope).
    type: str
    required: true
  resource_group:
    description: Resource group name. Defaults to C(<app>-<env>-rg).
    type: str
  tags:
    description:
      - Tags for every resource. C(webfarm_app) and C(webfarm_env) are added.
      - At most 48 entries; names without C(<>%&\?/), values at most 256 characters.
    type: dict
    default: {}
  vnet_cidr:
    description: Address space of the VNet, a private IPv4 network (RFC 1918 or 100.64.0.0/10).
    type: str
    default: 10.0.0.0/16
  subnet_cidr:
    description: Subnet of the VMs, inside I(vnet_cidr), /29 or larger, with room for I(vm_count) VMs.
    type: str
    default: 10.0.0.0/24
  admin_source_prefixes:
    description:
      - Addresses or CIDRs allowed to reach the VMs over SSH, RDP or WinRM. Must not be empty.
      - C(*), C(Internet), C(Any), C(0.0.0.0/0) and C(::/0) are refused unless
        I(allow_admin_from_internet=true).
    type: list
    elements: str
    required: true
  allow_admin_from_internet:
    description: Accept admin access from the whole Internet.
    type: bool
    default: false
  http_port:
    description: Frontend and backend port of the HTTP rule, 1-65535.
    type: int
    default: 80
  https_enabled:
    description: Add an HTTPS rule (and its NSG rule).
    type: bool
    default: false
  https_port:
    description: Port of the HTTPS rule, 1-65535, different from I(http_port) when I(https_enabled=true).
    type: int
    default: 443
  probe_path:
    description: HTTP path of the health probe; starts with C(/).
    type: str
    default: /healthz
  probe_port:
    description: Port of the health probe, 1-65535.
    type: int
    default: 80
  probe_interval:
    description: Seconds between probes, 5-2147483646.
    type: int
    default: 5
  probe_threshold:
    description: Consecutive probe failures that take a VM out of rotation (C(probeThreshold)), 1-100.
    type: int
    default: 2
  nat_frontend_port_base:
    description:
      - VM N is reached on frontend port I(nat_frontend_port_base) + N.
      - At least 1; base + I(vm_count) at most 65534; the range must not contain the web ports.
    type: int
    default: 50000
  fault_domains:
    description: Fault domains of the availability set, 1-3. Fixed when the set is created.
    type: int
    default: 2
  update_domains:
    description: Update domains of the availability set, 1-20. Fixed when the set is created.
    type: int
    default: 5
  vm_count:
    description: Number of VMs, 2-200 (1-200 with I(allow_single_vm=true)).
    type: int
    default: 2
  allow_single_vm:
    description: Accept a single VM (no availability SLA).
    type: bool
    default: false
  os_type:
    description: C(Linux) or C(Windows).
    type: str
    default: Linux
  vm_size:
    description: Azure VM size.
    type: str
    default: Standard_B1s
  vm_image:
    description: Marketplace image; needs non-empty C(publisher), C(offer), C(sku) and C(version).
    type: dict
    default:
      publisher: Debian
      offer: debian-12
      sku: 12-gen2
      version: latest
  admin_username:
    description:
      - Admin user of the VMs. 1-20 letters, digits, hyphens or underscores, not starting with a digit
        or hyphen, not a name Azure reserves (C(admin), C(root), C(administrator), C(guest), ...).
    type: str
    default: azureuser
  ssh_public_key:
    description:
      - OpenSSH public key line for Linux VMs (required for Linux); C(ssh-rsa), C(ssh-ed25519) or
        C(ecdsa-sha2-*). A private key is refused without being shown.
    type: str
    default: ''
  admin_password:
    description:
      - Admin password for Windows VMs (required for Windows). Azure's rules apply, 12-123 characters
        with at least 3 of lowercase, uppercase, digit, special character, not a common password and
        not containing I(admin_username). Never shown.
    type: str
    default: ''
  windows_nat_backend_port:
    description: Backend port of the Windows NAT rules, C(3389) (RDP) or C(5986) (WinRM over HTTPS).
    type: int
    default: 3389
  os_disk_type:
    description: C(Standard_LRS), C(StandardSSD_LRS) or C(Premium_LRS).
    type: str
    default: Standard_LRS
  data_disk_size_gb:
    description: Size of the data disk per VM; C(0) means no data disk, else 1-32767.
    type: int
    default: 0
  app_version:
    description: Version shown on the app page; not empty.
    type: str
    default: 1.0.0
'''

EXAMPLES = r'''
- name: Plan the tier
  azure_ha.webfarm.tier_plan:
    app: app1
    env: dev
    location: westeurope
    admin_source_prefixes:
      - 203.0.113.0/24
    vm_count: 3
    ssh_public_key: "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
  register: tier

- name: Use a name from the plan
  ansible.builtin.debug:
    msg: "The load balancer is {{ tier.plan.load_balancer }}"

- name: Plan the scale-set variant, Rolling upgrades in batches of a third, autoscale from 3 to 9
  azure_ha.webfarm.tier_plan:
    app: app1
    env: dev
    location: westeurope
    admin_source_prefixes:
      - 203.0.113.0/24
    vm_count: 3
    ssh_public_key: "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    variant: scale_set
    scale_set:
      rolling:
        max_batch_instance_percent: 34
    autoscale:
      enabled: true
      minimum: 3
      maximum: 9
'''

RETURN = r'''
plan:
  description: Names and settings of the tier's resources.
  returned: success
  type: dict
  contains:
    resource_group:
      description: Resource group.
      type: str
      sample: app1-dev-rg
    location:
      description: Azure region.
      type: str
      sample: westeurope
    vnet:
      description: Virtual network.
      type: str
      sample: app1-vnet
    subnet:
      description: Subnet of the VMs.
      type: str
      sample: app1-subnet
    nsg:
      description: Network security group of the subnet.
      type: str
      sample: app1-nsg
    availability_set:
      description: Availability set, null with O(variant=scale_set).
      type: str
      sample: app1-as
    public_ip:
      description: Public IP of the load balancer.
      type: str
      sample: app1-pip
    load_balancer:
      description: Load balancer.
      type: str
      sample: app1-lb
    frontend:
      description: Frontend IP configuration of the load balancer.
      type: str
      sample: app1-lb-frontend
    backend_pool:
      description: Backend address pool.
      type: str
      sample: app1-lb-backend-pool
    probe:
      description: Health probe.
      type: str
      sample: app1-lb-probe
    rule_http:
      description: HTTP load-balancing rule.
      type: str
      sample: app1-lb-rule-http
    rule_https:
      description: HTTPS load-balancing rule, null when HTTPS is disabled.
      type: str
      sample: null
    outbound_rule:
      description: Outbound rule of the load balancer.
      type: str
      sample: app1-lb-outbound
    os_type:
      description: C(Linux) or C(Windows).
      type: str
      sample: Linux
    nat_backend_port:
      description: Backend port of the NAT rules (22, 3389 or 5986).
      type: int
      sample: 22
    vm_naming:
      description:
        - What the VM entries are made from, so that M(azure_ha.webfarm.tier_preflight) can give a tier
          that changed shape its own VM numbers.
      type: dict
      sample:
        app: app1
        nat_rule_prefix: ssh
        nat_frontend_port_base: 50000
        data_disk: false
    vms:
      description:
        - One entry per VM, in index order (1 to O(vm_count); M(azure_ha.webfarm.tier_preflight) gives an
          existing tier its own numbers); empty with O(variant=scale_set).
      type: list
      elements: dict
      sample:
        - index: 1
          name: app1-vm1
          nic: app1-vm1-nic1
          ip_configuration: ipconfig1
          nat_rule: ssh-vm1
          nat_frontend_port: 50001
          nat_backend_port: 22
          os_disk: app1-vm1-osdisk
          data_disk: null
    tags:
      description: Tags for every resource, C(webfarm_app) and C(webfarm_env) plus I(tags) (values as strings).
      type: dict
      sample:
        webfarm_app: app1
        webfarm_env: dev
    variant:
      description: O(variant).
      type: str
      sample: availability_set
    scale_set:
      description:
        - The scale set, only with O(variant=scale_set). C(name) to C(terminate_notification) are options of
          M(azure_ha.webfarm.scale_set) (C(health_extension) an element of its C(extensions), null unless
          the health source is C(extension)).
        - C(drain_seconds) - how long an instance drains on Azure's Terminate event before it approves it
          (I(probe_interval) x (I(probe_threshold) + 1) + 5 s; the role's cloud-init installs the responder).
        - C(peak_instances) - the most instances the set has at once - the largest capacity (O(vm_count) or
          the autoscale maximum), overprovisioned extras (20 %, rounded up) and the surge of a rolling batch
          with C(max_surge).
        - C(nat_pool) - the inbound NAT pool (C({load_balancer}-natpool-ssh)), a frontend port per instance
          from O(nat_frontend_port_base) to base + C(peak_instances) - 1 (Azure needs at least as many ports
          as instances), backend port 22.
        - C(autoscale) - the autoscale setting C({name}-autoscale) (C(enabled), C(minimum), C(maximum),
          C(default)), its C(profiles) shaped for C(azure.azcollection.azure_rm_autoscale) (durations in
          minutes, counts as strings); the role adds C(metric_resource_uri), the set's ID, to each rule.
      returned: with O(variant=scale_set)
      type: dict
      sample:
        name: app1-vmss
        capacity: 3
        overprovision: true
        platform_fault_domain_count: 2
        upgrade_policy:
          mode: Rolling
          rolling: {max_batch_instance_percent: 20, max_unhealthy_instance_percent: 20,
                    max_unhealthy_upgraded_instance_percent: 20, pause_time_between_batches: PT0S,
                    prioritize_unhealthy_instances: true, max_surge: false}
        automatic_repairs: {enabled: false, grace_period: PT10M, repair_action: Replace}
        scale_in_policy: {rule: Default, force_deletion: false}
        terminate_notification: {enabled: true, timeout: PT5M}
        drain_seconds: 20
        health_source: probe
        health_extension: null
        peak_instances: 4
        nat_pool: {name: app1-lb-natpool-ssh, frontend_port_start: 50000, frontend_port_end: 50003, backend_port: 22}
        autoscale:
          name: app1-vmss-autoscale
          enabled: false
          minimum: 2
          maximum: 6
          default: 3
          profiles:
            - name: cpu
              count: '3'
              min_count: '2'
              max_count: '6'
              rules:
                - {metric_name: Percentage CPU, statistic: Average, time_aggregation: Average, time_grain: 1.0,
                   time_window: 5.0, operator: GreaterThan, threshold: 70.0, direction: Increase,
                   type: ChangeCount, value: '1', cooldown: 5.0}
                - {metric_name: Percentage CPU, statistic: Average, time_aggregation: Average, time_grain: 1.0,
                   time_window: 5.0, operator: LessThan, threshold: 30.0, direction: Decrease,
                   type: ChangeCount, value: '1', cooldown: 5.0}
errors:
  description: Every broken rule, one message each (the failure message lists them too).
  returned: failure
  type: list
  elements: str
  sample:
    - "webfarm_subnet_cidr: 10.1.0.0/24 is not inside webfarm_vnet_cidr 10.0.0.0/16"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.azure_ha.webfarm.plugins.module_utils.scale_set_plan import (
    AUTOSCALE_DEFAULTS, SCALE_SET_DEFAULTS,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan import TierPlanError, build_plan

ARGUMENT_SPEC = dict(
    app=dict(type='str', required=True),
    env=dict(type='str', required=True),
    location=dict(type='str', required=True),
    resource_group=dict(type='str'),
    tags=dict(type='dict', default={}),
    vnet_cidr=dict(type='str', default='10.0.0.0/16'),
    subnet_cidr=dict(type='str', default='10.0.0.0/24'),
    admin_source_prefixes=dict(type='list', elements='str', required=True),
    allow_admin_from_internet=dict(type='bool', default=False),
    http_port=dict(type='int', default=80),
    https_enabled=dict(type='bool', default=False),
    https_port=dict(type='int', default=443),
    probe_path=dict(type='str', default='/healthz'),
    probe_port=dict(type='int', default=80),
    probe_interval=dict(type='int', default=5),
    probe_threshold=dict(type='int', default=2),
    nat_frontend_port_base=dict(type='int', default=50000),
    fault_domains=dict(type='int', default=2),
    update_domains=dict(type='int', default=5),
    vm_count=dict(type='int', default=2),
    allow_single_vm=dict(type='bool', default=False),
    os_type=dict(type='str', default='Linux'),
    vm_size=dict(type='str', default='Standard_B1s'),
    vm_image=dict(type='dict', default=dict(publisher='Debian', offer='debian-12', sku='12-gen2', version='latest')),
    admin_username=dict(type='str', default='azureuser'),
    # no_log: a private key pasted here by mistake must not show up in results or logs
    ssh_public_key=dict(type='str', default='', no_log=True),
    admin_password=dict(type='str', default='', no_log=True),
    windows_nat_backend_port=dict(type='int', default=3389),
    os_disk_type=dict(type='str', default='Standard_LRS'),
    data_disk_size_gb=dict(type='int', default=0),
    app_version=dict(type='str', default='1.0.0'),
    variant=dict(type='str', default='availability_set'),
    # keys checked by tier_plan, not by options: a partial dict is merged over the defaults and
    # every problem is reported at once, with the variable's name
    scale_set=dict(type='dict', default=SCALE_SET_DEFAULTS),
    autoscale=dict(type='dict', default=AUTOSCALE_DEFAULTS),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        plan = build_plan(module.params)
    except TierPlanError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors)
    module.exit_json(changed=False, plan=plan)


if __name__ == '__main__':
    main()
