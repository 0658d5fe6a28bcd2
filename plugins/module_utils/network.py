# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft.Network calls, one function per ARM operation, raw ARM JSON in and out."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import MissingResourceError, resource_id

# 2024-05-01: the first version with loadBalancingRules/{rule}/health; it also has probeThreshold.
API_VERSION = "2024-05-01"

NIC_TYPE = "Microsoft.Network/networkInterfaces"
LB_TYPE = "Microsoft.Network/loadBalancers"


def network_interface_id(arm, resource_group, name):
    return resource_id(arm.subscription_id, resource_group, NIC_TYPE, name)


def load_balancer_id(arm, resource_group, name):
    return resource_id(arm.subscription_id, resource_group, LB_TYPE, name)


def get_network_interface(arm, resource_group, name):
    """The NIC, or None when it does not exist."""
    return arm.get(network_interface_id(arm, resource_group, name), API_VERSION)


def list_network_interfaces(arm, resource_group):
    return arm.list("/subscriptions/{0}/resourceGroups/{1}/providers/{2}".format(
        arm.subscription_id, resource_group, NIC_TYPE), API_VERSION)


def put_network_interface(arm, body):
    return arm.put(body["id"], API_VERSION, body)


def get_load_balancer(arm, resource_group, name):
    """The load balancer, or None when it does not exist."""
    return arm.get(load_balancer_id(arm, resource_group, name), API_VERSION)


def require_load_balancer(arm, resource_group, name):
    """The load balancer; MissingResourceError naming the ``load_balancer`` parameter when it does not exist."""
    lb = get_load_balancer(arm, resource_group, name)
    if lb is None:
        raise MissingResourceError("load_balancer: no load balancer {0} in resource group {1}".format(
            name, resource_group))
    return lb


def put_load_balancer(arm, body):
    return arm.put(body["id"], API_VERSION, body)


def get_by_id(arm, rid):
    """Any Microsoft.Network resource by its ID (a NIC or public IP another resource points at)."""
    return arm.get(rid, API_VERSION)


def load_balancing_rule_health(arm, resource_group, load_balancer, rule):
    """POST .../loadBalancingRules/{rule}/health: a long-running action whose result the Location URL gives."""
    path = load_balancer_id(arm, resource_group, load_balancer) + "/loadBalancingRules/{0}/health".format(rule)
    return arm.post(path, API_VERSION, final_state_via="location")
