"""Network interfaces over HTTP (in-process): private IP allocation (Azure reserves the first
four addresses), static addresses, pool and NAT rule references, read-only defaults the
modules need, the VM back-reference and NicInUse."""

from __future__ import annotations

import re

import pytest
from test_network_support import Net


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


@pytest.fixture
def vnet(net):
    net.ok(net.vnet(subnets=[("web", "10.0.1.0/24"), ("tiny", "10.0.2.0/29")]))
    return net


def config_of(nic: dict) -> dict:
    return nic["properties"]["ipConfigurations"][0]["properties"]


def test_nic_shape_and_read_only_defaults(vnet):
    nic = vnet.ok(vnet.nic(), 201)
    props = nic["properties"]
    assert re.fullmatch(r"00-0D-3A-[0-9A-F]{2}-[0-9A-F]{2}-[0-9A-F]{2}", props["macAddress"])
    assert props["dnsSettings"]["dnsServers"] == [] and props["dnsSettings"]["appliedDnsServers"] == []
    assert props["dnsSettings"]["internalDomainNameSuffix"].endswith(".bx.internal.cloudapp.net")
    assert (props["enableAcceleratedNetworking"], props["enableIPForwarding"]) == (False, False)
    config = props["ipConfigurations"][0]
    assert config["id"] == vnet.id("networkInterfaces/nic1/ipConfigurations/ipconfig1")
    assert config["type"] == "Microsoft.Network/networkInterfaces/ipConfigurations"
    assert config["properties"]["privateIPAddressVersion"] == "IPv4"
    assert config["properties"]["primary"] is True
    assert config["properties"]["privateIPAllocationMethod"] == "Dynamic"
    assert "virtualMachine" not in props


def test_dynamic_addresses_start_at_4_and_are_stable(vnet):
    assert config_of(vnet.ok(vnet.nic("nic1")))["privateIPAddress"] == "10.0.1.4"
    assert config_of(vnet.ok(vnet.nic("nic2")))["privateIPAddress"] == "10.0.1.5"
    body = vnet.nic_body()
    body["tags"] = {"changed": "yes"}
    first = vnet.ok(vnet.put("networkInterfaces/nic1", body), 200)
    assert config_of(first)["privateIPAddress"] == "10.0.1.4"


def test_deleting_a_nic_frees_its_address(vnet):
    vnet.ok(vnet.nic("nic1"))
    vnet.ok(vnet.nic("nic2"))
    assert vnet.delete("networkInterfaces/nic1").status_code == 202
    assert config_of(vnet.ok(vnet.nic("nic3")))["privateIPAddress"] == "10.0.1.4"


def test_moving_to_another_subnet_reallocates(vnet):
    vnet.ok(vnet.nic())
    assert config_of(vnet.ok(vnet.nic(subnet="tiny")))["privateIPAddress"] == "10.0.2.4"


def test_a_full_subnet_refuses(vnet):
    for i in range(3):   # a /29 has 8 addresses; Azure keeps 5 of them
        vnet.ok(vnet.nic(f"nic{i}", subnet="tiny"))
    vnet.error(vnet.nic("nic9", subnet="tiny"), 400, "SubnetIsFull")


@pytest.mark.parametrize("address, code", [
    ("10.0.9.9", "PrivateIPAddressNotInSubnet"),
    ("10.0.1.2", "PrivateIPAddressInReservedRange"),
    ("10.0.1.255", "PrivateIPAddressInReservedRange"),
    ("10.0.1.4", "PrivateIPAddressInUse"),
])
def test_static_address_rules(vnet, address, code):
    vnet.ok(vnet.nic("other"))
    response = vnet.nic(privateIPAllocationMethod="Static", privateIPAddress=address)
    vnet.error(response, 400, code, "properties.ipConfigurations[0].properties.privateIPAddress")
    assert vnet.get("networkInterfaces/nic1").status_code == 404


def test_static_address_is_kept(vnet):
    nic = vnet.ok(vnet.nic(privateIPAllocationMethod="Static", privateIPAddress="10.0.1.50"))
    assert config_of(nic)["privateIPAddress"] == "10.0.1.50"
    assert config_of(vnet.ok(vnet.nic("nic2")))["privateIPAddress"] == "10.0.1.4"


def test_subnet_is_required_and_must_exist(vnet):
    body = vnet.nic_body()
    del body["properties"]["ipConfigurations"][0]["properties"]["subnet"]
    vnet.error(vnet.put("networkInterfaces/nic1", body), 400, "InvalidRequestFormat",
               "properties.ipConfigurations[0].properties.subnet")
    vnet.error(vnet.nic(subnet="nope"), 400, "InvalidResourceReference", "properties.ipConfigurations[0].properties.subnet.id")
    vnet.error(vnet.put("networkInterfaces/nic1", {"location": "eastus", "properties": {}}), 400, "InvalidRequestFormat")


def test_pool_and_nat_rule_references_must_exist(vnet):
    vnet.error(vnet.nic(pools=["pool"]), 400, "InvalidResourceReference",
               "properties.ipConfigurations[0].properties.loadBalancerBackendAddressPools[0].id")
    vnet.ok(vnet.pip())
    vnet.ok(vnet.lb())
    vnet.error(vnet.nic(nat_rules=["nope"]), 400, "InvalidResourceReference",
               "properties.ipConfigurations[0].properties.loadBalancerInboundNatRules[0].id")
    nic = vnet.ok(vnet.nic(pools=["pool"], nat_rules=["ssh1"]))
    assert config_of(nic)["loadBalancerInboundNatRules"] == [vnet.ref("loadBalancers/lb1/inboundNatRules/ssh1")]


def test_a_nat_rule_serves_one_ip_configuration(vnet):
    vnet.ok(vnet.pip())
    vnet.ok(vnet.lb())
    vnet.ok(vnet.nic("nic1", nat_rules=["ssh1"]))
    vnet.error(vnet.nic("nic2", nat_rules=["ssh1"]), 400, "InboundNatRuleReferencedByMultipleIPConfigs",
               "properties.ipConfigurations[0].properties.loadBalancerInboundNatRules[0].id")
    # the NIC that holds it may be updated freely
    vnet.ok(vnet.nic("nic1", nat_rules=["ssh1"], pools=["pool"]))


def test_multiple_ip_configurations_need_one_primary(vnet):
    body = vnet.nic_body()
    second = {"name": "ipconfig2", "properties": {"subnet": vnet.subnet_ref()}}
    body["properties"]["ipConfigurations"].append(second)
    vnet.error(vnet.put("networkInterfaces/nic1", body), 400, "InvalidParameter", "properties.ipConfigurations")
    body["properties"]["ipConfigurations"][0]["properties"]["primary"] = True
    nic = vnet.ok(vnet.put("networkInterfaces/nic1", body))
    assert [c["properties"]["privateIPAddress"] for c in nic["properties"]["ipConfigurations"]] == ["10.0.1.4", "10.0.1.5"]


def test_nsg_and_dns_servers(vnet):
    vnet.ok(vnet.nsg())
    body = vnet.nic_body()
    body["properties"].update(networkSecurityGroup=vnet.ref("networkSecurityGroups/nsg1"),
                              dnsSettings={"dnsServers": ["10.0.0.53"], "internalDnsNameLabel": "web1"})
    nic = vnet.ok(vnet.put("networkInterfaces/nic1", body))
    assert nic["properties"]["networkSecurityGroup"] == vnet.ref("networkSecurityGroups/nsg1")
    assert nic["properties"]["dnsSettings"]["appliedDnsServers"] == ["10.0.0.53"]
    assert nic["properties"]["dnsSettings"]["internalFqdn"].startswith("web1.")
    body["properties"]["networkSecurityGroup"] = vnet.ref("networkSecurityGroups/nope")
    vnet.error(vnet.put("networkInterfaces/nic1", body), 400, "InvalidResourceReference", "properties.networkSecurityGroup.id")
    body["properties"]["networkSecurityGroup"] = vnet.ref("networkSecurityGroups/nsg1")
    body["properties"]["dnsSettings"] = {"dnsServers": ["dns.example"]}
    vnet.error(vnet.put("networkInterfaces/nic1", body), 400, "InvalidParameter", "properties.dnsSettings.dnsServers[0]")


def test_mac_and_guid_are_stable_across_updates(vnet):
    first = vnet.ok(vnet.nic())
    body = vnet.nic_body()
    body["properties"]["enableIPForwarding"] = True
    second = vnet.ok(vnet.put("networkInterfaces/nic1", body))
    assert second["properties"]["macAddress"] == first["properties"]["macAddress"]
    assert second["properties"]["resourceGuid"] == first["properties"]["resourceGuid"]
    assert second["properties"]["enableIPForwarding"] is True


def attach_vm(net, vm: str, *nics: str) -> None:
    """Store a VM in Azure's shape, as the compute types do, so the NIC sees it."""
    vm_id = f"{net.arm.sub}/resourceGroups/{net.rg}/providers/Microsoft.Compute/virtualMachines/{vm}"
    body = {"id": vm_id, "name": vm, "type": "Microsoft.Compute/virtualMachines", "location": "eastus",
            "properties": {"networkProfile": {"networkInterfaces": [
                {"id": net.id(f"networkInterfaces/{nic}"), "properties": {"primary": i == 0}} for i, nic in enumerate(nics)]}}}
    store = net.arm.lab.store
    with store.transaction():
        store.put(vm_id, "Microsoft.Compute/virtualMachines", body)


def test_vm_back_reference_and_nic_in_use(vnet):
    vnet.ok(vnet.nic("nic1"))
    vnet.ok(vnet.nic("nic2"))
    attach_vm(vnet, "vm1", "nic1", "nic2")
    nic1, nic2 = (vnet.ok(vnet.get(f"networkInterfaces/{n}"))["properties"] for n in ("nic1", "nic2"))
    vm_ref = {"id": f"{vnet.arm.sub}/resourceGroups/net-rg/providers/Microsoft.Compute/virtualMachines/vm1"}
    assert nic1["virtualMachine"] == vm_ref and nic1["primary"] is True
    assert nic2["primary"] is False
    error = vnet.error(vnet.delete("networkInterfaces/nic1"), 400, "NicInUse")
    assert "virtualMachines/vm1" in error["message"]
    assert vnet.get("networkInterfaces/nic1").status_code == 200


def test_ip_configuration_child_is_read_only(vnet):
    vnet.ok(vnet.nic())
    config = vnet.ok(vnet.get("networkInterfaces/nic1/ipConfigurations/ipconfig1"))
    assert config["properties"]["privateIPAddress"] == "10.0.1.4"
    vnet.error(vnet.put("networkInterfaces/nic1/ipConfigurations/ipconfig2", {"properties": {}}), 405, "MethodNotAllowed")


def test_list_by_group_and_subscription(vnet):
    vnet.ok(vnet.nic("nic1"))
    assert [n["name"] for n in vnet.ok(vnet.get("networkInterfaces"))["value"]] == ["nic1"]
    listed = vnet.arm.get("/providers/Microsoft.Network/networkInterfaces", api="2024-05-01")
    assert [n["name"] for n in listed.json["value"]] == ["nic1"]
