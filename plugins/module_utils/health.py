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
