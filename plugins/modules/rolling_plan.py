#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: rolling_plan
short_description: Plan the batches of a rolling patch over an availability set
version_added: 0.1.0
description:
  - Splits the VMs of an availability set into batches of one update domain each, in
    update domain order or a given order, optionally preceded by a canary batch of one VM.
  - Refuses the plan, before anything is touched, when a batch would leave fewer than
    O(min_in_service) healthy VMs in service or the whole set out of service, when the set
    is already unhealthy beyond O(max_unhealthy), when a VM to patch has no known update
    domain, when O(order) does not match the update domains that hold VMs, or when O(only)
    names a VM that is not in the set. The failure message names the option and the numbers.
  - Pure and local; it makes no Azure call. Feed it the C(members) returned by
    M(azure_ha.webfarm.availability_set_member_info) and the backend health reported by
    M(azure_ha.webfarm.load_balancer_rule_health_info).
  - A VM counts as healthy only when O(health) says V(Up) for it.
author:
  - webfarm maintainers (@azure_ha)
options:
  members:
    description:
      - The VMs of the availability set, as returned by M(azure_ha.webfarm.availability_set_member_info).
      - Each needs C(name) and C(update_domain); C(fault_domain), C(power_state) and
        C(private_ip) are used when present, other keys are ignored.
    type: list
    elements: dict
    required: true
  health:
    description:
      - Load balancer health per VM, V(Up), V(Down) or V(null) (unknown), keyed by VM name
        or by private IP address (the rule health API reports backends by IP).
      - A VM missing here is unknown, which counts as unhealthy.
    type: dict
    required: true
  order:
    description:
      - V(update_domain) patches the update domains in ascending order.
      - A list of update domain numbers patches them in that order; it must list every
        update domain that holds a VM to patch, and only those.
    type: raw
    default: update_domain
  canary:
    description:
      - Patch one VM of the first update domain alone first, as its own batch.
      - A resumed run keeps the canary only while it has not passed, that is while no VM
        of the run is in O(completed). A failed canary (the one VM in O(in_progress)) is
        the canary again.
    type: bool
    default: false
  min_in_service:
    description:
      - Healthy VMs that must stay in service, outside the batch, during every batch.
      - Never less than 1, and a batch may never hold every VM of the set.
      - VMs that are unhealthy now do not count as in service.
    type: int
  max_unhealthy:
    description:
      - How many VMs of the set may already be unhealthy when the plan is made, as a count
        (V(2)) or a percentage of the set (V(20%)), rounded down (like the
        C(maxUnhealthyInstancePercent) of scale set rolling upgrades).
      - VMs in O(in_progress) do not count; they are out of rotation on purpose.
    type: raw
    default: 20%
  only:
    description:
      - Patch only these VMs (names). Omitted or empty, every VM of the set.
      - The other VMs still count for O(min_in_service) and O(max_unhealthy).
    type: list
    elements: str
  completed:
    description:
      - VMs this run id already patched (from their progress tags); they are skipped.
    type: list
    elements: str
    default: []
  in_progress:
    description:
      - VMs this run id took out of rotation without finishing them, left so by a run
        that stopped on a failure. They are expected to be unhealthy and must fall in the
        first batch.
    type: list
    elements: str
    default: []
  scale_set:
    description:
      - Name of the Uniform scale set whose instances O(members) are (their records carry C(instance_id)).
        Empty (the default), the members are VMs of an availability set.
      - For a scale set, O(completed) and O(in_progress) are read from O(scale_set_tags) (one progress tag
        per instance, C(webfarm_patch_i<instanceId>) = C(<run id> <state> <step>)) and added to the
        lists given; the plan is refused when O(drain_method) cannot drain an instance (only C(probe)
        can, the pool membership of an instance being the set's model) or when the set's tags cannot
        hold one progress tag per instance (Azure allows 50 tags).
    type: str
    default: ''
  scale_set_tags:
    description:
      - The scale set's tags (with O(scale_set)). Empty, O(record_tags) are taken (the set holds the run
        record).
    type: dict
    default: {}
  run_id:
    description:
      - The run id whose progress tags count. With O(record_tags), the run to make; empty, the run is
        decided from the record (see O(record_tags)).
      - Without O(scale_set), the VMs whose own tags say this run is done with them
        (C(webfarm_patch_run) = the run id, C(webfarm_patch_state) = V(done)) add to O(completed), those
        it left unfinished (any other state) to O(in_progress). A VM's tags of another run do not count.
    type: str
    default: ''
  record_tags:
    description:
      - The tags of the resource that holds the run record (the availability set, or the scale set),
        C(webfarm_patch_run) and C(webfarm_patch_state). Given, the module decides the run and returns it
        (RV(run_id), RV(resumed)) - O(run_id) when set (resumed when it is the recorded run), else the
        recorded run when its state is not V(completed), else a new run named by the current UTC time
        (C(YYYYMMDDTHHMMSSZ)).
      - Omitted, O(run_id) is taken as given.
    type: dict
  drain_method:
    description: How the rolling patch takes a member out of rotation (checked with O(scale_set)).
    type: str
    default: probe
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only computes; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - Batch numbers start at 1; update and fault domain numbers are Azure's, starting at 0.
seealso:
  - module: azure_ha.webfarm.availability_set_member_info
  - module: azure_ha.webfarm.load_balancer_rule_health_info
'''

EXAMPLES = r'''
- name: Read the members of the set
  azure_ha.webfarm.availability_set_member_info:
    resource_group: app1-dev-rg
    availability_set: app1-as
  register: webfarm_set

- name: Read the LB health of the backends
  azure_ha.webfarm.load_balancer_rule_health_info:
    resource_group: app1-dev-rg
    load_balancer: app1-lb
    rule: app1-lb-rule-http
  register: webfarm_rule_health

- name: Plan one update domain per batch, a canary first, 2 VMs always in service
  azure_ha.webfarm.rolling_plan:
    members: "{{ webfarm_set.members }}"
    health: "{{ dict(webfarm_rule_health.backends | map(attribute='ip_address')
                | zip(webfarm_rule_health.backends | map(attribute='state'))) }}"
    canary: true
    min_in_service: 2
    max_unhealthy: 20%
  register: webfarm_rolling_plan

- name: Show the plan
  ansible.builtin.debug:
    var: webfarm_rolling_plan.summary

- name: Resume a stopped run, update domains 2, 0, 1
  azure_ha.webfarm.rolling_plan:
    members: "{{ webfarm_set.members }}"
    health: "{{ webfarm_health_by_name }}"
    order: [2, 0, 1]
    completed: "{{ webfarm_done_vms }}"
    in_progress: "{{ webfarm_failed_vms }}"
'''

RETURN = r'''
run_id:
  description: The run the plan is for (O(run_id), or with O(record_tags) the one decided).
  returned: always
  type: str
  sample: 20261205T040000Z
resumed:
  description: With O(record_tags), whether the run resumes the recorded run; else V(false).
  returned: always
  type: bool
  sample: false
members:
  description: The member records (as given in O(members)) of the VMs to patch, in batch order.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: app1-vm1, update_domain: 0, fault_domain: 0, private_ip: 10.0.0.4, nat_port: 50001}
stale_progress_tags:
  description:
    - With O(scale_set), the names of the set's progress tags left by other runs (the role removes them
      when it records a new run); else empty.
  returned: success
  type: list
  elements: str
  sample: [webfarm_patch_i0, webfarm_patch_i2]
plan:
  description: The batches, in the order to patch them.
  returned: success
  type: list
  elements: dict
  contains:
    index:
      description: Batch number, from 1.
      type: int
      sample: 1
    kind:
      description: V(canary) for the single-VM first batch, else V(update_domain).
      type: str
      sample: update_domain
    update_domain:
      description: The update domain of every VM of the batch.
      type: int
      sample: 0
    fault_domains:
      description: The fault domains of the VMs of the batch (empty when unknown).
      type: list
      elements: int
      sample: [0, 1]
    vms:
      description: The VMs to patch in this batch, by name.
      type: list
      elements: str
      sample: [app1-vm1, app1-vm4]
    in_service_during:
      description: Healthy VMs left in service while this batch is out.
      type: int
      sample: 4
    skipped_done:
      description: VMs of this update domain skipped because this run already patched them.
      type: list
      elements: str
      sample: []
  sample:
    - {index: 1, kind: canary, update_domain: 0, fault_domains: [0], vms: [app1-vm1],
       in_service_during: 5, skipped_done: []}
    - {index: 2, kind: update_domain, update_domain: 0, fault_domains: [1], vms: [app1-vm4],
       in_service_during: 5, skipped_done: []}
summary:
  description: The plan as human-readable lines (what check mode shows).
  returned: always
  type: list
  elements: str
  sample:
    - "rolling plan: 6 VMs in the set, 6 healthy; update domain order 0 -> 1 -> 2; at least 1 healthy
      in service during every batch; at most 1 unhealthy tolerated"
    - "batch 1 (update domain 0: app1-vm1, app1-vm4): 4 in service during the batch; fault domains 0, 1"
refused:
  description: Whether the plan was refused (then the module fails and C(msg) says why).
  returned: always
  type: bool
  sample: false
update_domain_order:
  description: The update domains in the order they are patched, including those already done.
  returned: success
  type: list
  elements: int
  sample: [0, 1, 2]
canary:
  description: The canary VM, or V(null) without a canary batch.
  returned: success
  type: str
  sample: app1-vm1
min_in_service:
  description: The number of healthy VMs every batch leaves in service at least.
  returned: success
  type: int
  sample: 1
max_unhealthy:
  description: The number of unhealthy VMs tolerated, O(max_unhealthy) applied to the set.
  returned: success
  type: int
  sample: 1
healthy:
  description: The VMs the load balancer reports V(Up).
  returned: success
  type: list
  elements: str
  sample: [app1-vm1, app1-vm2]
unhealthy:
  description: The VMs not reported V(Up), except those in O(in_progress).
  returned: success
  type: list
  elements: str
  sample: []
in_progress:
  description: The VMs of O(in_progress) that are in the set and not completed; the first batch holds them.
  returned: success
  type: list
  elements: str
  sample: []
skipped_done:
  description: Every VM skipped because this run already patched it, in update domain order.
  returned: success
  type: list
  elements: str
  sample: [app1-vm1]
problems:
  description: Every rule the plan breaks, each naming its option.
  returned: failure
  type: list
  elements: str
  sample:
    - "min_in_service=3: batch 2 (update domain 1: app1-vm2, app1-vm5) would leave 2 healthy VMs in service (of 6)"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.azure_ha.webfarm.plugins.module_utils import patch_run
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import (
    DEFAULT_MAX_UNHEALTHY,
    UPDATE_DOMAIN_ORDER,
    PlanRefused,
    summarize,
)

ARGUMENT_SPEC = dict(
    members=dict(type='list', elements='dict', required=True),
    health=dict(type='dict', required=True),
    order=dict(type='raw', default=UPDATE_DOMAIN_ORDER),
    canary=dict(type='bool', default=False),
    min_in_service=dict(type='int'),
    max_unhealthy=dict(type='raw', default=DEFAULT_MAX_UNHEALTHY),
    only=dict(type='list', elements='str'),
    completed=dict(type='list', elements='str', default=[]),
    in_progress=dict(type='list', elements='str', default=[]),
    scale_set=dict(type='str', default=''),
    scale_set_tags=dict(type='dict', default={}),
    run_id=dict(type='str', default=''),
    record_tags=dict(type='dict'),
    drain_method=dict(type='str', default='probe'),
)
RUN_KEYS = ('scale_set', 'scale_set_tags', 'run_id', 'record_tags', 'drain_method')
RESULT_KEYS = ('update_domain_order', 'canary', 'min_in_service', 'max_unhealthy', 'healthy', 'unhealthy',
               'in_progress', 'skipped_done')


def batch_members(plan, members):
    """The member records of the plan's VMs, in batch order."""
    by_name = dict((member['name'], member) for member in members)
    return [by_name[name] for batch in plan['batches'] for name in batch['vms']]


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = dict((key, value) for key, value in module.params.items() if key not in RUN_KEYS)
    try:
        plan, stale, run_id, resumed = patch_run.plan_run(params, **dict(
            (key, module.params[key]) for key in RUN_KEYS))
    except PlanRefused as refusal:
        module.fail_json(msg='rolling plan refused: %s' % refusal, refused=True, problems=refusal.problems,
                         summary=['refused: %s' % problem for problem in refusal.problems])
    module.exit_json(changed=False, refused=False, plan=plan['batches'], summary=summarize(plan),
                     stale_progress_tags=stale, run_id=run_id, resumed=resumed,
                     members=batch_members(plan, module.params['members']),
                     **dict((key, plan[key]) for key in RESULT_KEYS))


if __name__ == '__main__':
    main()
