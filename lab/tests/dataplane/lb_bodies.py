"""Azure load balancer JSON for the HAProxy tests (test_haproxy_render.py, test_haproxy.py):
small builders of LB bodies and the resolved view the driver renders from."""

from __future__ import annotations

import shutil

import pytest

from azlab.dataplane.lb import BackendMember, LoadBalancerView, NatTarget, RenderOptions

HAPROXY = shutil.which("haproxy")
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="HAProxy is not installed (Debian package haproxy)")

NET = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/lab-rg/providers/Microsoft.Network"
FAST = RenderOptions(min_probe_interval=1)
INTERVAL, THRESHOLD = 1, 2


def lb_id(name: str) -> str:
    return f"{NET}/loadBalancers/{name}"


def pip_id(name: str) -> str:
    return f"{NET}/publicIPAddresses/{name}"


def ipconfig_id(nic: str, rg: str = "lab-rg") -> str:
    return f"{NET.replace('lab-rg', rg)}/networkInterfaces/{nic}/ipConfigurations/ipconfig1"


def child(lb: str, kind: str, name: str, **props) -> dict:
    return {"id": f"{lb_id(lb)}/{kind}/{name}", "name": name, "properties": props}


def ref(lb: str, kind: str, name: str) -> dict:
    return {"id": f"{lb_id(lb)}/{kind}/{name}"}


def lb_body(name: str, *, port: int, backend_port: int, probe: dict | None = None, distribution: str = "Default",
            idle: int = 4, nat: tuple[tuple[str, int, int], ...] = (), extra_rules: tuple[dict, ...] = ()) -> dict:
    """A Standard LB as ARM returns it: one frontend on a public IP, one pool, one rule."""
    probe = probe if probe is not None else {"protocol": "Http", "port": backend_port, "requestPath": "/healthz",
                                             "intervalInSeconds": INTERVAL, "probeThreshold": THRESHOLD}
    rule = child(name, "loadBalancingRules", "http", protocol="Tcp", frontendPort=port, backendPort=backend_port,
                 frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"),
                 backendAddressPool=ref(name, "backendAddressPools", "pool"), probe=ref(name, "probes", "probe"),
                 loadDistribution=distribution, idleTimeoutInMinutes=idle, enableTcpReset=False)
    nat_rules = [child(name, "inboundNatRules", nat_name, protocol="Tcp", frontendPort=front, backendPort=back,
                       frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"))
                 for nat_name, front, back in nat]
    return {
        "id": lb_id(name), "name": name, "sku": {"name": "Standard"},
        "properties": {
            "frontendIPConfigurations": [child(name, "frontendIPConfigurations", "fe",
                                               publicIPAddress={"id": pip_id(f"{name}-pip")})],
            "backendAddressPools": [child(name, "backendAddressPools", "pool")],
            "probes": [child(name, "probes", "probe", **probe)],
            "loadBalancingRules": [rule, *extra_rules],
            "inboundNatRules": nat_rules,
        },
    }


def lb_view(name: str, address: str, members: list[BackendMember], nat_targets: dict[str, NatTarget] = None):
    return LoadBalancerView(
        public_ip_addresses={pip_id(f"{name}-pip"): address},
        pool_members={f"{lb_id(name)}/backendAddressPools/pool": members},
        nat_targets={f"{lb_id(name)}/inboundNatRules/{n}": t for n, t in (nat_targets or {}).items()},
    )
