# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft.Compute calls, one function per ARM operation, raw ARM JSON in and out."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import resource_id

API_VERSION = "2024-07-01"

AVAILABILITY_SET_TYPE = "Microsoft.Compute/availabilitySets"


def get_availability_set(arm, resource_group, name):
    """The availability set, or None when it does not exist."""
    return arm.get(resource_id(arm.subscription_id, resource_group, AVAILABILITY_SET_TYPE, name), API_VERSION)


def get_virtual_machine(arm, vm_id):
    """A VM with its instance view (power state, platform update and fault domain), None when gone."""
    return arm.get(vm_id, API_VERSION, params={"$expand": "instanceView"})


def list_availability_sets(arm, resource_group):
    """Every availability set of the group (with its virtualMachines references)."""
    return arm.list("/subscriptions/{0}/resourceGroups/{1}/providers/{2}".format(
        arm.subscription_id, resource_group, AVAILABILITY_SET_TYPE), API_VERSION)


def virtual_machine_id(arm, resource_group, name):
    return resource_id(arm.subscription_id, resource_group, "Microsoft.Compute/virtualMachines", name)
