# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft.Network backend address pool calls, one function per ARM operation, raw ARM JSON."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils import network


def backend_pool_id(arm, resource_group, load_balancer, name):
    return network.load_balancer_id(arm, resource_group, load_balancer) + "/backendAddressPools/" + name


def get_backend_pool(arm, pool_id):
    """The pool with its loadBalancerBackendAddresses (one per member), or None when it does not exist."""
    return arm.get(pool_id, network.API_VERSION)


def put_backend_pool(arm, body):
    """PUT the pool alone: the load balancer's other children (rules, probes, NAT rules) are not sent."""
    return arm.put(body["id"], network.API_VERSION, body)
