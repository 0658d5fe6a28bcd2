# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result of POST .../loadBalancingRules/{rule}/health, reshaped for playbooks (pure logic)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def parse_health(result):
    """{up, down (lists of private IPs), backends, up_count, down_count} from the ARM result
    ({"up": n, "down": n, "loadBalancerBackendAddresses": [{ipAddress, state, reason, ...}]}).
    A backend whose state is not Up counts as down."""
    backends = []
    for entry in (result or {}).get("loadBalancerBackendAddresses") or []:
        backends.append(dict(
            ip_address=entry.get("ipAddress"),
            state="Up" if (entry.get("state") or "").lower() == "up" else "Down",
            reason=entry.get("reason"),
            network_interface_ip_configuration_id=entry.get("networkInterfaceIPConfigurationId"),
        ))
    up = [b["ip_address"] for b in backends if b["state"] == "Up"]
    down = [b["ip_address"] for b in backends if b["state"] != "Up"]
    return dict(up=up, down=down, backends=backends, up_count=len(up), down_count=len(down))


def pending(health, addresses, want_up):
    """The addresses not (yet) in the wanted state, each with Azure's reason: [(ip, reason)].

    An address absent from the rule's pool receives no flow: it is not up."""
    by_address = dict((b["ip_address"], b) for b in health["backends"])
    out = []
    for address in addresses:
        backend = by_address.get(address)
        is_up = backend is not None and backend["state"] == "Up"
        if is_up != want_up:
            out.append((address, backend["reason"] if backend else "not in the backend pool"))
    return out


def wait_failure_message(load_balancer, rule, want_up, timeout, still_pending, names=None):
    """Which addresses did not reach the state in time, named as the caller knows them."""
    names = names or {}
    listed = ", ".join("{0} ({1}: {2})".format(names[ip], ip, reason) if ip in names else "{0} ({1})".format(ip, reason)
                       for ip, reason in still_pending)
    return "rule {0} of load balancer {1}: not {2} after {3} s: {4}".format(
        rule, load_balancer, "up" if want_up else "out of rotation", timeout, listed)
