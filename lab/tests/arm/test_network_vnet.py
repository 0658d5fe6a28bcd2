"""Virtual networks and subnets over HTTP (in-process): shapes, Azure's address rules and
error codes, subnet child routes, back-references, in-use protection, unchanged state."""

from __future__ import annotations

import pytest
from test_network_support import Net


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


def test_create_shapes_the_vnet_as_azure_does(net):
    vnet = net.ok(net.vnet(subnets=[("web", "10.0.1.0/24"), ("mgmt", "10.0.2.0/24")]), 201)
    assert vnet["id"] == net.id("virtualNetworks/vnet1")
    assert vnet["type"] == "Microsoft.Network/virtualNetworks"
    assert vnet["etag"].startswith('W/"')
    props = vnet["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["resourceGuid"]
    assert props["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]}
    assert props["dhcpOptions"] == {"dnsServers": []}
    web = props["subnets"][0]
    assert web["id"] == net.id("virtualNetworks/vnet1/subnets/web")
    assert web["type"] == "Microsoft.Network/virtualNetworks/subnets"
    assert web["etag"] == vnet["etag"]
    assert web["properties"]["provisioningState"] == "Succeeded"
    assert web["properties"]["addressPrefix"] == "10.0.1.0/24"
    assert web["properties"]["privateEndpointNetworkPolicies"] == "Disabled"


def test_update_keeps_resource_guid_and_takes_new_etag(net):
    first = net.ok(net.vnet())
    second = net.ok(net.vnet(prefixes=["10.0.0.0/16", "10.1.0.0/16"], dhcpOptions={"dnsServers": ["10.0.0.10"]}), 200)
    assert second["properties"]["resourceGuid"] == first["properties"]["resourceGuid"]
    assert second["etag"] != first["etag"]
    assert second["properties"]["dhcpOptions"]["dnsServers"] == ["10.0.0.10"]


@pytest.mark.parametrize("prefix, code", [
    ("10.0.0.0/33", "InvalidAddressPrefixFormat"),
    ("10.300.0.0/16", "InvalidAddressPrefixFormat"),
    ("10.0.0.0", "InvalidAddressPrefixFormat"),
    ("10.0.5.0/16", "InvalidCIDRNotation"),
])
def test_bad_address_space_names_the_prefix(net, prefix, code):
    net.error(net.vnet(prefixes=[prefix], subnets=[]), 400, code, "properties.addressSpace.addressPrefixes[0]")
    assert net.get("virtualNetworks/vnet1").status_code == 404


def test_missing_address_space_is_refused(net):
    error = net.error(net.put("virtualNetworks/vnet1", {"location": "eastus", "properties": {}}), 400, "InvalidRequestFormat")
    assert error["target"] == "properties.addressSpace.addressPrefixes"


def test_overlapping_address_spaces_are_refused(net):
    net.error(net.vnet(prefixes=["10.0.0.0/16", "10.0.128.0/17"], subnets=[]), 400, "VnetAddressSpacesOverlap")


def test_the_same_address_plan_in_two_vnets_is_accepted(net):
    """dev, staging and prod are usually copies: separate VNets may overlap (no peering)."""
    first = net.ok(net.vnet("app1-vnet", subnets=[("web", "10.0.1.0/24")]), 201)
    second = net.ok(net.vnet("app2-vnet", subnets=[("web", "10.0.1.0/24")]), 201)
    assert first["properties"]["addressSpace"] == second["properties"]["addressSpace"]


@pytest.mark.parametrize("subnets, code", [
    ([("a", "10.0.1.0/24"), ("b", "10.0.1.128/25")], "NetcfgSubnetRangesOverlap"),
    ([("a", "10.9.0.0/24")], "NetcfgSubnetRangeOutsideVnet"),
    ([("a", "10.0.1.5/24")], "InvalidCIDRNotation"),
    ([("a", "banana")], "NetcfgInvalidSubnet"),
    ([("a", "10.0.1.0/30")], "NetcfgInvalidSubnet"),
])
def test_bad_subnets_are_refused_with_azure_codes(net, subnets, code):
    error = net.error(net.vnet(subnets=subnets), 400, code)
    assert error["target"].startswith("properties.subnets[")


def test_invalid_cidr_says_what_the_prefix_should_be(net):
    error = net.error(net.vnet(subnets=[("a", "10.0.1.5/24")]), 400, "InvalidCIDRNotation")
    assert "should be 10.0.1.0/24" in error["message"]


def test_vnet_and_subnet_names_follow_azure_rules(net):
    net.error(net.vnet(name="v"), 400, "InvalidResourceName", "name")
    net.error(net.vnet(subnets=[("-bad", "10.0.1.0/24")]), 400, "InvalidResourceName")
    net.error(net.vnet(subnets=[("web", "10.0.1.0/24"), ("WEB", "10.0.2.0/24")]), 400, "InvalidParameter")


def test_subnet_child_routes_put_get_list_delete(net):
    net.ok(net.vnet(subnets=[]))
    created = net.put("virtualNetworks/vnet1/subnets/app", {"properties": {"addressPrefix": "10.0.3.0/24"}})
    assert created.status_code == 201 and "Azure-AsyncOperation" in created.headers
    assert created.json["id"] == net.id("virtualNetworks/vnet1/subnets/app")
    assert net.ok(net.get("virtualNetworks/vnet1/subnets/app"))["properties"]["addressPrefix"] == "10.0.3.0/24"
    assert [s["name"] for s in net.ok(net.get("virtualNetworks/vnet1/subnets"))["value"]] == ["app"]
    assert net.ok(net.get("virtualNetworks/vnet1"))["properties"]["subnets"][0]["name"] == "app"
    assert net.delete("virtualNetworks/vnet1/subnets/app").status_code == 202
    net.error(net.get("virtualNetworks/vnet1/subnets/app"), 404, "ResourceNotFound")


def test_subnet_put_is_validated_against_its_siblings(net):
    net.ok(net.vnet())
    bad = net.put("virtualNetworks/vnet1/subnets/app", {"properties": {"addressPrefix": "10.0.1.0/25"}})
    net.error(bad, 400, "NetcfgSubnetRangesOverlap")
    assert [s["name"] for s in net.ok(net.get("virtualNetworks/vnet1"))["properties"]["subnets"]] == ["web"]


def test_subnet_security_group_must_exist(net):
    net.ok(net.vnet(subnets=[]))
    body = {"properties": {"addressPrefix": "10.0.1.0/24", "networkSecurityGroup": net.ref("networkSecurityGroups/nope")}}
    error = net.error(net.put("virtualNetworks/vnet1/subnets/web", body), 400, "InvalidResourceReference")
    assert error["target"].endswith("networkSecurityGroup.id")
    net.ok(net.nsg("nope"))
    attached = net.ok(net.put("virtualNetworks/vnet1/subnets/web", body))
    assert attached["properties"]["networkSecurityGroup"] == net.ref("networkSecurityGroups/nope")


def test_subnet_lists_the_ip_configurations_in_it(net):
    net.ok(net.vnet())
    net.ok(net.nic("nic1"))
    subnet = net.ok(net.get("virtualNetworks/vnet1/subnets/web"))
    assert subnet["properties"]["ipConfigurations"] == [net.ref("networkInterfaces/nic1/ipConfigurations/ipconfig1")]
    vnet = net.ok(net.get("virtualNetworks/vnet1"))
    assert vnet["properties"]["subnets"][0]["properties"]["ipConfigurations"]


def test_subnet_in_use_cannot_be_deleted_or_dropped(net):
    net.ok(net.vnet(subnets=[("web", "10.0.1.0/24"), ("mgmt", "10.0.2.0/24")]))
    net.ok(net.nic("nic1"))
    net.error(net.delete("virtualNetworks/vnet1/subnets/web"), 400, "InUseSubnetCannotBeDeleted")
    net.error(net.vnet(subnets=[("mgmt", "10.0.2.0/24")]), 400, "InUseSubnetCannotBeDeleted")
    net.error(net.delete("virtualNetworks/vnet1"), 400, "InUseSubnetCannotBeDeleted")
    net.error(net.vnet(subnets=[("web", "10.0.1.128/25"), ("mgmt", "10.0.2.0/24")]), 400, "InUseSubnetCannotBeUpdated")
    assert len(net.ok(net.get("virtualNetworks/vnet1"))["properties"]["subnets"]) == 2
    # once the NIC is gone the subnet goes too
    assert net.delete("networkInterfaces/nic1").status_code == 202
    assert net.delete("virtualNetworks/vnet1/subnets/web").status_code == 202


def test_shrinking_the_address_space_under_a_subnet_is_refused(net):
    net.ok(net.vnet())
    net.error(net.vnet(prefixes=["10.1.0.0/16"]), 400, "NetcfgSubnetRangeOutsideVnet")


def test_module_style_update_resends_subnets_and_keeps_them(net):
    """azure_rm_virtualnetwork updates by PUTting the VNet with the subnets it read."""
    vnet = net.ok(net.vnet())
    net.ok(net.nic("nic1"))
    vnet["properties"]["addressSpace"]["addressPrefixes"].append("10.2.0.0/16")
    vnet["tags"] = {"env": "dev"}
    updated = net.ok(net.put("virtualNetworks/vnet1", vnet), 200)
    assert [s["name"] for s in updated["properties"]["subnets"]] == ["web"]
    assert updated["tags"] == {"env": "dev"}


def test_tags_patch(net):
    net.ok(net.vnet())
    patched = net.ok(net.arm.patch(net.path("virtualNetworks/vnet1"), {"tags": {"a": "b"}}, api="2024-05-01"), 200)
    assert patched["tags"] == {"a": "b"} and patched["properties"]["subnets"][0]["name"] == "web"


def test_peering_is_not_emulated(net):
    error = net.error(net.vnet(virtualNetworkPeerings=[{"name": "p"}]), 400, "InvalidParameter")
    assert "peering" in error["message"]
