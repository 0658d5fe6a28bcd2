# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft.Compute calls, one function per ARM operation, raw ARM JSON in and out."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import resource_id

API_VERSION = "2024-07-01"

AVAILABILITY_SET_TYPE = "Microsoft.Compute/availabilitySets"
SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets"


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


def scale_set_id(arm, resource_group, name):
    return resource_id(arm.subscription_id, resource_group, SCALE_SET_TYPE, name)


def get_scale_set(arm, resource_group, name):
    """The scale set, or None when it does not exist."""
    return arm.get(scale_set_id(arm, resource_group, name), API_VERSION)


def put_scale_set(arm, resource_group, name, body):
    """Create or update the set; returns once Azure has made (or removed) its instances."""
    return arm.put(scale_set_id(arm, resource_group, name), API_VERSION, body)


def delete_scale_set(arm, resource_group, name):
    return arm.request("DELETE", scale_set_id(arm, resource_group, name), API_VERSION, missing_ok=True,
                       long_running=True)


def get_latest_rolling_upgrade(arm, resource_group, name):
    """rollingUpgrades/latest of the set, or None when it never had a rolling upgrade."""
    return arm.get(scale_set_id(arm, resource_group, name) + "/rollingUpgrades/latest", API_VERSION)


def cancel_rolling_upgrade(arm, resource_group, name):
    return arm.post(scale_set_id(arm, resource_group, name) + "/rollingUpgrades/cancel", API_VERSION)


def start_os_rolling_upgrade(arm, resource_group, name):
    """POST osRollingUpgrade without waiting: its operation lasts as long as the upgrade, which
    the caller follows through rollingUpgrades/latest."""
    return arm.request("POST", scale_set_id(arm, resource_group, name) + "/osRollingUpgrade", API_VERSION)
