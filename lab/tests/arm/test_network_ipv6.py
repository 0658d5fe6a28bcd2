"""IPv6 and dual stack over HTTP (in-process): /64 subnets beside IPv4 ones, NIC ip
configurations of version IPv6 (never primary, addresses from ::4), IPv6 public IPs from the
lab's IPv6 range, LB frontends of both versions with a rule and pool per version, and NSG
rules that keep to one address family — each refusal naming the property."""

from __future__ import annotations

import ipaddress

import pytest
from test_network_support import Net

from azlab.settings import PUBLIC_IP_RANGE, PUBLIC_IPV6_PREFIX, ipv6_twin

V6_SPACE = "fd12:3456:789a::/48"
V6_WEB = "fd12:3456:789a:1::/64"


@pytest.fixture
def net(arm) -> Net:
    net = Net(arm)
    body = {"location": "eastus", "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16", V6_SPACE]},
        "subnets": [{"name": "web", "properties": {"addressPrefixes": ["10.0.1.0/24", V6_WEB]}},
                    {"name": "v4only", "properties": {"addressPrefix": "10.0.2.0/24"}}]}}
    net.ok(net.put("virtualNetworks/vnet1", body))
    return net


def dual_nic_body(net: Net, pools4=(), pools6=(), subnet: str = "web", **v6) -> dict:
    """A NIC with an IPv4 primary and an IPv6 secondary ip configuration."""
    body = net.nic_body(subnet=subnet, pools=pools4)
    config6 = {"subnet": net.subnet_ref(subnet=subnet), "privateIPAddressVersion": "IPv6", **v6}
    if pools6:
        config6["loadBalancerBackendAddressPools"] = [net.ref(f"loadBalancers/lb1/backendAddressPools/{p}") for p in pools6]
    body["properties"]["ipConfigurations"][0]["properties"]["primary"] = True
    body["properties"]["ipConfigurations"].append({"name": "ipconfig-v6", "properties": config6})
    return body


def configs(nic: dict) -> dict:
    return {c["name"]: c["properties"] for c in nic["properties"]["ipConfigurations"]}


def test_an_ipv6_subnet_is_exactly_a_64(net):
    body = net.ok(net.get("virtualNetworks/vnet1"))
    body["properties"]["subnets"][0]["properties"]["addressPrefixes"] = ["10.0.1.0/24", "fd12:3456:789a:100::/56"]
    error = net.error(net.put("virtualNetworks/vnet1", body), 400, "NetcfgInvalidSubnet",
                      "properties.subnets[0].properties.addressPrefixes")
    assert "/64" in error["message"]


def test_a_dual_stack_nic_gets_an_ipv6_address_from_4(net):
    first = configs(net.ok(net.put("networkInterfaces/nic1", dual_nic_body(net)), 201))
    assert first["ipconfig1"]["privateIPAddress"] == "10.0.1.4"
    assert first["ipconfig1"]["privateIPAddressVersion"] == "IPv4"
    assert first["ipconfig-v6"]["privateIPAddress"] == "fd12:3456:789a:1::4"
    assert first["ipconfig-v6"]["privateIPAddressVersion"] == "IPv6"
    assert first["ipconfig-v6"]["primary"] is False
    second = configs(net.ok(net.put("networkInterfaces/nic2", dual_nic_body(net)), 201))
    assert second["ipconfig-v6"]["privateIPAddress"] == "fd12:3456:789a:1::5"
    # a re-PUT keeps the address (no write changes it)
    again = configs(net.ok(net.put("networkInterfaces/nic1", dual_nic_body(net)), 200))
    assert again["ipconfig-v6"]["privateIPAddress"] == "fd12:3456:789a:1::4"
    static = dual_nic_body(net, privateIPAllocationMethod="Static", privateIPAddress="fd12:3456:789a:1::99")
    assert configs(net.ok(net.put("networkInterfaces/nic3", static), 201))["ipconfig-v6"]["privateIPAddress"] == \
        "fd12:3456:789a:1::99"


@pytest.mark.parametrize("mutate, code, target", [
    # the only (hence primary) ip configuration cannot be IPv6
    (lambda body: body["properties"]["ipConfigurations"].pop(0) and body["properties"]["ipConfigurations"][0][
        "properties"].update(primary=True),
     "InvalidParameter", "properties.ipConfigurations[0].properties.privateIPAddressVersion"),
    # an IPv4 address asked for an IPv6 configuration
    (lambda body: body["properties"]["ipConfigurations"][1]["properties"].update(
        privateIPAllocationMethod="Static", privateIPAddress="10.0.1.50"),
     "InvalidParameter", "properties.ipConfigurations[1].properties.privateIPAddress"),
    # a subnet without an IPv6 prefix has no IPv6 address to give
    (lambda body: body["properties"]["ipConfigurations"][1]["properties"].update(
        subnet={"id": body["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"].replace("/web", "/v4only")}),
     "InvalidParameter", "properties.ipConfigurations[1].properties.subnet"),
])
def test_bad_ipv6_configurations_name_the_property(net, mutate, code, target):
    body = dual_nic_body(net)
    mutate(body)
    net.error(net.put("networkInterfaces/nic1", body), 400, code, target)
    assert net.get("networkInterfaces/nic1").status_code == 404


def test_ipv6_public_ips_come_from_the_labs_ipv6_range(net):
    pip = net.ok(net.pip("pip6", publicIPAddressVersion="IPv6"), 201)
    address = ipaddress.ip_address(pip["properties"]["ipAddress"])
    assert address in ipv6_twin(PUBLIC_IP_RANGE, PUBLIC_IPV6_PREFIX)
    assert pip["properties"]["publicIPAddressVersion"] == "IPv6"
    basic = net.ok(net.pip("basic6", sku="Basic", method="Dynamic", publicIPAddressVersion="IPv6"), 201)
    assert basic["properties"]["ipAddress"] != pip["properties"]["ipAddress"]
    error = net.error(net.pip("pip6", publicIPAddressVersion="IPv4"), 400, "InvalidParameter",
                      "properties.publicIPAddressVersion")
    assert "cannot be changed" in error["message"]


def test_a_public_ip_and_its_ip_configuration_share_a_version(net):
    net.ok(net.pip("pip6", publicIPAddressVersion="IPv6"))
    body = dual_nic_body(net)
    body["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"] = net.ref("publicIPAddresses/pip6")
    net.error(net.put("networkInterfaces/nic1", body), 400, "IPVersionForPublicIpAndNicIpConfigurationMustMatch",
              "properties.ipConfigurations[0].properties.publicIPAddress.id")
    body = dual_nic_body(net, publicIPAddress=net.ref("publicIPAddresses/pip6"))
    nic = net.ok(net.put("networkInterfaces/nic1", body), 201)
    assert configs(nic)["ipconfig-v6"]["publicIPAddress"]["id"].endswith("/pip6")


def dual_stack_lb(net: Net, v4_frontend: bool = True, v6_pool_for_v6_rule: str = "pool6") -> dict:
    lb = "loadBalancers/lb1"
    frontends = [{"name": "fe6", "properties": {"publicIPAddress": net.ref("publicIPAddresses/pip6")}}]
    if v4_frontend:
        frontends.insert(0, {"name": "fe4", "properties": {"publicIPAddress": net.ref("publicIPAddresses/pip4")}})

    def rule(name: str, frontend: str, pool: str) -> dict:
        return {"name": name, "properties": {
            "frontendIPConfiguration": net.ref(f"{lb}/frontendIPConfigurations/{frontend}"),
            "backendAddressPool": net.ref(f"{lb}/backendAddressPools/{pool}"),
            "probe": net.ref(f"{lb}/probes/probe"), "protocol": "Tcp", "frontendPort": 80, "backendPort": 80}}

    rules = [rule("http6", "fe6", v6_pool_for_v6_rule)] + ([rule("http4", "fe4", "pool4")] if v4_frontend else [])
    return {"location": "eastus", "sku": {"name": "Standard"}, "properties": {
        "frontendIPConfigurations": frontends,
        "backendAddressPools": [{"name": "pool4"}, {"name": "pool6"}, {"name": "spare"}],
        "probes": [{"name": "probe", "properties": {"protocol": "Tcp", "port": 80}}],
        "loadBalancingRules": rules}}


def test_a_dual_stack_load_balancer_has_a_rule_and_pool_per_version(net):
    net.ok(net.pip("pip4"))
    net.ok(net.pip("pip6", publicIPAddressVersion="IPv6"))
    error = net.error(net.put("loadBalancers/lb1", dual_stack_lb(net, v4_frontend=False)), 400,
                      "AtleastOneIpV4RequiredForIpV6LbFrontendIpConfiguration", "properties.frontendIPConfigurations")
    assert "IPv4" in error["message"]
    net.ok(net.put("loadBalancers/lb1", dual_stack_lb(net)), 201)
    for index in (1, 2):
        net.ok(net.put(f"networkInterfaces/nic{index}", dual_nic_body(net, pools4=["pool4"], pools6=["pool6"])), 201)
    pools = {p["name"]: p["properties"] for p in net.ok(net.get("loadBalancers/lb1"))["properties"]["backendAddressPools"]}
    assert [ref["id"].rsplit("/", 1)[1] for ref in pools["pool6"]["backendIPConfigurations"]] == ["ipconfig-v6"] * 2
    assert [ref["id"].rsplit("/", 1)[1] for ref in pools["pool4"]["backendIPConfigurations"]] == ["ipconfig1"] * 2


def test_versions_do_not_mix_in_a_pool_or_across_a_rule(net):
    net.ok(net.pip("pip4"))
    net.ok(net.pip("pip6", publicIPAddressVersion="IPv6"))
    net.ok(net.put("loadBalancers/lb1", dual_stack_lb(net)))
    net.ok(net.put("networkInterfaces/nic1", dual_nic_body(net, pools4=["pool4"])))
    # an IPv6 configuration joining the pool of IPv4 ones
    net.error(net.put("networkInterfaces/nic2", dual_nic_body(net, pools6=["pool4"])), 400,
              "AllNicIpConfigurationsOfLbBackendPoolMustHaveSamePrivateIpAddressVersion",
              "properties.ipConfigurations[1].properties.loadBalancerBackendAddressPools[0].id")
    # ... and the same within one NIC
    net.error(net.put("networkInterfaces/nic2", dual_nic_body(net, pools4=["spare"], pools6=["spare"])), 400,
              "AllNicIpConfigurationsOfLbBackendPoolMustHaveSamePrivateIpAddressVersion",
              "properties.ipConfigurations[1].properties.loadBalancerBackendAddressPools")
    # an IPv4 configuration in the (empty) pool of the IPv6 rule
    net.error(net.put("networkInterfaces/nic2", dual_nic_body(net, pools4=["pool6"])), 400,
              "LoadBalancingRuleFrontendAndBackendIpVersionMismatch",
              "properties.ipConfigurations[0].properties.loadBalancerBackendAddressPools[0].id")
    # the LB side: pointing the IPv6 rule at the pool of IPv4 configurations
    net.error(net.put("loadBalancers/lb1", dual_stack_lb(net, v6_pool_for_v6_rule="pool4")), 400,
              "LoadBalancingRuleFrontendAndBackendIpVersionMismatch",
              "properties.loadBalancingRules[0].properties.backendAddressPools[0]")
    assert net.get("networkInterfaces/nic2").status_code == 404


def test_a_nat_rule_and_an_ip_based_pool_address_keep_to_the_frontends_version(net):
    net.ok(net.pip("pip4"))
    net.ok(net.pip("pip6", publicIPAddressVersion="IPv6"))
    body = dual_stack_lb(net)
    body["properties"]["inboundNatRules"] = [{"name": "ssh6", "properties": {
        "frontendIPConfiguration": net.ref("loadBalancers/lb1/frontendIPConfigurations/fe6"),
        "protocol": "Tcp", "frontendPort": 50001, "backendPort": 22}}]
    net.ok(net.put("loadBalancers/lb1", body))
    # the IPv6 NAT rule on the IPv4 ip configuration
    nic = dual_nic_body(net)
    nic["properties"]["ipConfigurations"][0]["properties"]["loadBalancerInboundNatRules"] = [
        net.ref("loadBalancers/lb1/inboundNatRules/ssh6")]
    net.error(net.put("networkInterfaces/nic1", nic), 400, "InboundNatRuleFrontendAndBackendIpVersionMismatch",
              "properties.ipConfigurations[0].properties.loadBalancerInboundNatRules[0].id")
    # on the IPv6 one it is taken; moving the rule to the IPv4 frontend then is refused
    net.ok(net.put("networkInterfaces/nic1", dual_nic_body(net, loadBalancerInboundNatRules=[
        net.ref("loadBalancers/lb1/inboundNatRules/ssh6")])))
    body["properties"]["inboundNatRules"][0]["properties"]["frontendIPConfiguration"] = net.ref(
        "loadBalancers/lb1/frontendIPConfigurations/fe4")
    net.error(net.put("loadBalancers/lb1", body), 400, "InboundNatRuleFrontendAndBackendIpVersionMismatch",
              "properties.inboundNatRules[0].properties.frontendIPConfiguration")
    # an IPv4 address in the pool of the IPv6 rule
    body = dual_stack_lb(net)
    body["properties"]["inboundNatRules"] = []
    net.ok(net.put("networkInterfaces/nic1", dual_nic_body(net)))
    body["properties"]["backendAddressPools"][1]["properties"] = {"loadBalancerBackendAddresses": [
        {"name": "v4-address", "properties": {"ipAddress": "10.0.1.50", "virtualNetwork": net.ref("virtualNetworks/vnet1")}}]}
    net.error(net.put("loadBalancers/lb1", body), 400, "LoadBalancingRuleFrontendAndBackendIpVersionMismatch",
              "properties.loadBalancingRules[0].properties.backendAddressPools[0]")


def test_an_internal_frontend_can_be_ipv6(net):
    subnet = net.subnet_ref()
    body = {"location": "eastus", "sku": {"name": "Standard"}, "properties": {"frontendIPConfigurations": [
        {"name": "fe4", "properties": {"subnet": subnet}},
        {"name": "fe6", "properties": {"subnet": subnet, "privateIPAddressVersion": "IPv6"}}]}}
    lb = net.ok(net.put("loadBalancers/ilb", body), 201)
    frontends = {f["name"]: f["properties"] for f in lb["properties"]["frontendIPConfigurations"]}
    assert frontends["fe4"]["privateIPAddress"] == "10.0.1.4"
    assert frontends["fe6"]["privateIPAddress"] == "fd12:3456:789a:1::4"
    assert frontends["fe6"]["privateIPAddressVersion"] == "IPv6"


def test_an_nsg_rule_keeps_to_one_address_family(net):
    rule = {"name": "mixed", "properties": {
        "protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 100, "sourcePortRange": "*",
        "destinationPortRange": "80", "sourceAddressPrefixes": ["203.0.113.0/24", "2001:db8::/32"],
        "destinationAddressPrefix": "*"}}
    net.error(net.nsg(rules=[rule]), 400, "ResourceCannotContainAddressPrefixesFromDifferentAddressFamilies",
              "properties.securityRules[0].properties.sourceAddressPrefixes")
    rule["properties"].update(sourceAddressPrefixes=["2001:db8::/32"], destinationAddressPrefix="10.0.1.4")
    net.error(net.nsg(rules=[rule]), 400, "ResourceCannotContainAddressPrefixesFromDifferentAddressFamilies",
              "properties.securityRules[0].properties.destinationAddressPrefix")
    rule["properties"].update(destinationAddressPrefix="VirtualNetwork")
    net.ok(net.nsg(rules=[rule]), 201)
