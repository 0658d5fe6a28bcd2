"""Builders shared by the Microsoft.Network HTTP-layer tests: a resource group with ready
request bodies for each network type (imported by the test_network_* modules)."""

from __future__ import annotations

import pytest

NETWORK_API = "2024-05-01"


class Net:
    """Requests against one resource group; ``*_id`` helpers spell IDs as Azure does."""

    def __init__(self, arm, rg: str = "net-rg"):
        self.arm = arm
        self.rg = rg
        assert arm.put(f"/resourcegroups/{rg}", {"location": "eastus"}, api="2022-09-01").status_code == 201

    # -- IDs -----------------------------------------------------------------------------

    def id(self, path: str) -> str:
        return f"{self.arm.sub}/resourceGroups/{self.rg}/providers/Microsoft.Network/{path}"

    def path(self, path: str) -> str:
        return f"/resourceGroups/{self.rg}/providers/Microsoft.Network/{path}"

    def ref(self, path: str) -> dict:
        return {"id": self.id(path)}

    # -- verbs -----------------------------------------------------------------------------

    def put(self, path: str, body: dict, api: str = NETWORK_API):
        return self.arm.put(self.path(path), body, api=api)

    def get(self, path: str, api: str = NETWORK_API):
        return self.arm.get(self.path(path), api=api)

    def delete(self, path: str, api: str = NETWORK_API):
        return self.arm.delete(self.path(path), api=api)

    def post(self, path: str, api: str = NETWORK_API):
        return self.arm.post(self.path(path), api=api)

    def ok(self, response, *statuses: int) -> dict:
        assert response.status_code in (statuses or (200, 201)), response.get_data(as_text=True)
        return response.json

    def error(self, response, status: int, code: str, target: str | None = None) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        error = response.json["error"]
        assert error["code"] == code, error
        if target is not None:
            assert error.get("target") == target, error
        return error

    # -- ready-made resources ------------------------------------------------------------------

    def vnet(self, name: str = "vnet1", prefixes=("10.0.0.0/16",), subnets=(("web", "10.0.1.0/24"),), **props):
        body = {"location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": list(prefixes)},
            "subnets": [{"name": n, "properties": {"addressPrefix": p}} for n, p in subnets],
            **props,
        }}
        return self.put(f"virtualNetworks/{name}", body)

    def subnet_ref(self, vnet: str = "vnet1", subnet: str = "web") -> dict:
        return self.ref(f"virtualNetworks/{vnet}/subnets/{subnet}")

    def pip(self, name: str = "pip1", sku: str = "Standard", method: str | None = "Static", **props):
        body = {"location": "eastus", "sku": {"name": sku}, "properties": dict(props)}
        if method:
            body["properties"]["publicIPAllocationMethod"] = method
        return self.put(f"publicIPAddresses/{name}", body)

    def nsg(self, name: str = "nsg1", rules=()):
        return self.put(f"networkSecurityGroups/{name}", {"location": "eastus", "properties": {"securityRules": list(rules)}})

    def lb_body(self, name: str = "lb1", pip: str = "pip1", sku: str = "Standard", nat_ports=(50001,), **extra) -> dict:
        lb = f"loadBalancers/{name}"
        props = {
            "frontendIPConfigurations": [{"name": "fe", "properties": {"publicIPAddress": self.ref(f"publicIPAddresses/{pip}")}}],
            "backendAddressPools": [{"name": "pool"}],
            "probes": [{"name": "probe", "properties": {"protocol": "Http", "port": 80, "requestPath": "/healthz",
                                                        "intervalInSeconds": 5, "probeThreshold": 2}}],
            "loadBalancingRules": [{"name": "http", "properties": {
                "frontendIPConfiguration": self.ref(f"{lb}/frontendIPConfigurations/fe"),
                "backendAddressPool": self.ref(f"{lb}/backendAddressPools/pool"),
                "probe": self.ref(f"{lb}/probes/probe"),
                "protocol": "Tcp", "frontendPort": 80, "backendPort": 80}}],
            "inboundNatRules": [{"name": f"ssh{i + 1}", "properties": {
                "frontendIPConfiguration": self.ref(f"{lb}/frontendIPConfigurations/fe"),
                "protocol": "Tcp", "frontendPort": port, "backendPort": 22}} for i, port in enumerate(nat_ports)],
        }
        props.update(extra)
        return {"location": "eastus", "sku": {"name": sku}, "properties": props}

    def lb(self, name: str = "lb1", **kwargs):
        return self.put(f"loadBalancers/{name}", self.lb_body(name, **kwargs))

    def nic_body(self, subnet: str = "web", pools=(), nat_rules=(), lb: str = "lb1", **config) -> dict:
        props = {"subnet": self.subnet_ref(subnet=subnet), **config}
        if pools:
            props["loadBalancerBackendAddressPools"] = [self.ref(f"loadBalancers/{lb}/backendAddressPools/{p}") for p in pools]
        if nat_rules:
            props["loadBalancerInboundNatRules"] = [self.ref(f"loadBalancers/{lb}/inboundNatRules/{r}") for r in nat_rules]
        return {"location": "eastus", "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": props}]}}

    def nic(self, name: str = "nic1", **kwargs):
        return self.put(f"networkInterfaces/{name}", self.nic_body(**kwargs))

    def tier(self, vms: int = 2):
        """The architecture's network: VNet, PIP, Standard LB and one NIC per VM in the pool with its NAT rule."""
        self.ok(self.vnet())
        self.ok(self.pip())
        self.ok(self.lb(nat_ports=[50000 + i for i in range(1, vms + 1)]))
        for i in range(1, vms + 1):
            self.ok(self.nic(f"vm{i}-nic1", pools=["pool"], nat_rules=[f"ssh{i}"]))


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


def test_support_builds_the_tier(net):
    net.tier()
    assert len(net.ok(net.get("networkInterfaces"))["value"]) == 2
