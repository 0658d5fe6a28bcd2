# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Options of the tier_plan module (its DOCUMENTATION holds the availability-set tier's)."""

    # the scale-set variant (seed 004): variant, scale_set, autoscale
    SCALE_SET_VARIANT = r'''
options:
  variant:
    description:
      - C(availability_set) - VMs in an availability set (seed 000), each with its own NAT rule.
      - C(scale_set) - a Uniform virtual machine scale set of I(vm_count) Linux instances (seed 004) behind
        the same load balancer, reached through one inbound NAT pool; the plan then has RV(plan.scale_set),
        no VM entries and no availability set, and I(fault_domains) and I(update_domains) are not used.
    type: str
    default: availability_set
  scale_set:
    description:
      - The scale set (I(variant=scale_set) only). Keys given are merged over the defaults; an unknown key is
        refused, naming it.
      - C(overprovision) (bool) - Azure makes extra instances and deletes them once the requested ones run.
      - C(fault_domains) - C(platformFaultDomainCount), 1-5; fixed when the set is created.
      - C(upgrade_mode) - C(Manual), C(Automatic) or C(Rolling) (Rolling needs a health source).
      - C(rolling) - C(max_batch_instance_percent) and C(max_unhealthy_instance_percent) 5-100,
        C(max_unhealthy_upgraded_instance_percent) 0-100, C(pause_time_between_batches) an ISO 8601 duration
        C(PT0S)-C(PT1H), C(prioritize_unhealthy_instances) and C(max_surge) (bool).
      - C(health_source) - C(probe) (the tier's load balancer probe), C(extension) (the Application Health
        extension on I(probe_port) and I(probe_path)) or C(none) (then neither Rolling nor repairs).
      - C(automatic_repairs) - C(enabled) (bool), C(grace_period) C(PT10M)-C(PT90M), C(repair_action)
        C(Replace), C(Restart) or C(Reimage).
      - C(scale_in_policy) - C(rule) C(Default), C(OldestVM) or C(NewestVM), C(force_deletion) (bool).
      - C(terminate_notification) - C(enabled) (bool), C(timeout) C(PT5M)-C(PT15M) and at least the instances'
        drain (I(probe_interval) x (I(probe_threshold) + 1) + 5 s, C(drain_seconds) in RV(plan.scale_set)).
      - The subnet needs an address, and the NAT pool (from I(nat_frontend_port_base), at most port 65534,
        not containing the HTTP, HTTPS and probe ports) a port, for each instance the set can have at once
        (C(peak_instances) in RV(plan.scale_set)).
    type: dict
    default:
      overprovision: true
      fault_domains: 2
      upgrade_mode: Rolling
      rolling:
        max_batch_instance_percent: 20
        max_unhealthy_instance_percent: 20
        max_unhealthy_upgraded_instance_percent: 20
        pause_time_between_batches: PT0S
        prioritize_unhealthy_instances: true
        max_surge: false
      health_source: probe
      automatic_repairs:
        enabled: false
        grace_period: PT10M
        repair_action: Replace
      scale_in_policy:
        rule: Default
        force_deletion: false
      terminate_notification:
        enabled: true
        timeout: PT5M
  autoscale:
    description:
      - Autoscale of the scale set by CPU (I(variant=scale_set) only), merged over the defaults like
        I(scale_set).
      - C(enabled) (bool); C(minimum) at least 2 (1 with I(allow_single_vm=true)) and C(maximum) at most 100,
        with C(minimum) <= I(vm_count) (the default capacity) <= C(maximum) when enabled.
      - C(scale_out_cpu) and C(scale_in_cpu) - average CPU percent, 1-100, C(scale_in_cpu) below
        C(scale_out_cpu); C(scale_out_step) and C(scale_in_step) - instances added or removed, 1-100.
      - C(time_grain) C(PT1M)-C(PT12H), C(time_window) C(PT5M)-C(PT12H) (not shorter than the grain),
        C(cooldown) C(PT1M)-C(P7D) - ISO 8601 durations.
    type: dict
    default:
      enabled: false
      minimum: 2
      maximum: 6
      scale_out_cpu: 70
      scale_in_cpu: 30
      time_grain: PT1M
      time_window: PT5M
      cooldown: PT5M
      scale_out_step: 1
      scale_in_step: 1
'''
