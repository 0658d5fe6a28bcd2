# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A NIC ip configuration in and out of a load balancer's rotation (pure logic).

Two methods. ``admin_state`` sets the adminState of the ip configuration's backend address
in the pool: Down takes no new flows while established ones continue, None lets the probe
decide; the NIC stays in the pool, so its NAT rules and outbound rule keep working.
``pool`` removes or restores the pool reference on the ip configuration itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import same_id
from ansible_collections.azure_ha.webfarm.plugins.module_utils.nat import find_ip_configuration

POOLS_KEY = "loadBalancerBackendAddressPools"
ADDRESSES_KEY = "loadBalancerBackendAddresses"
OUT_OF_ROTATION = "out_of_rotation"
IN_ROTATION = "in_rotation"
# Back in rotation is None, not Up: Up would send new flows to a VM even while it fails its probe.
ADMIN_STATE_FOR = {OUT_OF_ROTATION: "Down", IN_ROTATION: "None"}


def _props(item):
    return (item or {}).get("properties") or {}


def find_pool(lb, name):
    """The backend pool called name (case-insensitive), or None."""
    return next((p for p in _props(lb).get("backendAddressPools") or [] if p.get("name", "").lower() == name.lower()),
                None)


def pool_names(lb):
    return sorted(p["name"] for p in _props(lb).get("backendAddressPools") or [])


def is_member(config, pool_id):
    """Whether the ip configuration references the pool (membership is declared on the NIC)."""
    return any(same_id(ref.get("id"), pool_id) for ref in _props(config).get(POOLS_KEY) or [])


def find_address(pool, config_id):
    """The pool's backend address standing for the NIC ip configuration config_id, or None."""
    for address in _props(pool).get(ADDRESSES_KEY) or []:
        if same_id((_props(address).get("networkInterfaceIPConfiguration") or {}).get("id"), config_id):
            return address
    return None


def admin_state(address):
    """The address's adminState ("None" when it sets none: the probe decides); None without an address."""
    if address is None:
        return None
    return _props(address).get("adminState") or "None"


def in_rotation(member, admin):
    """Eligible for new flows as far as configuration goes (the probe has the last word)."""
    return bool(member) and admin != "Down"


def planned(method, state, member, admin):
    """(pool member, admin state) after the call; admin state None (null) outside the pool.

    A NIC joining the pool starts with adminState None: its address is new."""
    if method == "admin_state":
        return member, ADMIN_STATE_FOR[state]
    wanted = state == IN_ROTATION
    if wanted == member:
        return member, admin
    return wanted, "None" if wanted else None


def with_admin_state(pool, config_id, admin):
    """A copy of the pool body whose address for config_id has adminState admin; every other address as read."""
    body = copy.deepcopy(pool)
    address = find_address(body, config_id)
    address.setdefault("properties", {})["adminState"] = admin
    return body


def with_membership(nic, config_name, pool_id, member):
    """A copy of the NIC body whose ip configuration config_name references pool_id (member) or not.

    Its other pools, NAT rules and every other property stay as read."""
    body = copy.deepcopy(nic)
    props = find_ip_configuration(body, config_name).setdefault("properties", {})
    refs = [ref for ref in props.get(POOLS_KEY) or [] if not same_id(ref.get("id"), pool_id)]
    if member:
        refs.append({"id": pool_id})
    props[POOLS_KEY] = refs
    return body
