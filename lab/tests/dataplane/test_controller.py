"""The data-plane controller's pure parts: names, host-route collisions, and that a lab
started without a data plane (the control-plane test fixture) runs no container."""

from __future__ import annotations

import ipaddress
import json
import subprocess

import pytest

from azlab.dataplane.controller import container_name, host_route_conflict, network_name

SUBNET = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/web-vnet/subnets/web-subnet"
VM = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/web-vm1"


def test_names_are_readable_unique_and_case_insensitive():
    assert network_name(SUBNET) == network_name(SUBNET.replace("/RG/", "/rg/"))
    assert network_name(SUBNET).startswith("azlab-web-vnet-web-subnet-")
    assert network_name(SUBNET) != network_name(SUBNET.replace("/RG/", "/other/"))
    assert container_name(VM).startswith("azlab-web-vm1-")
    assert container_name(VM) == container_name(VM.lower())


def host_routes() -> list[dict]:
    return json.loads(subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True).stdout or "[]")


def test_a_subnet_on_a_host_route_is_refused_and_a_free_one_is_not():
    routes = [r for r in host_routes() if r.get("dst") not in (None, "default")]
    if not routes:
        pytest.skip("this host has no non-default route to collide with")
    taken = ipaddress.ip_network(routes[0]["dst"], strict=False)
    inside = next(taken.subnets(new_prefix=min(taken.prefixlen + 1, 32)))
    assert routes[0]["dst"] in host_route_conflict(str(inside), set())
    # routes on the lab's own bridges are not collisions
    own = {r["dev"] for r in routes if ipaddress.ip_network(r["dst"], strict=False).overlaps(inside)}
    assert host_route_conflict(str(inside), own) is None
    used = [ipaddress.ip_network(r["dst"], strict=False) for r in routes]
    free = next(n for n in ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=24)
                if not any(n.overlaps(u) for u in used))
    assert host_route_conflict(str(free), set()) is None


def test_the_control_plane_fixture_runs_no_data_plane(lab_server):
    assert lab_server.dataplane is None
    assert lab_server.lab.dataplane_status()["enabled"] is False
