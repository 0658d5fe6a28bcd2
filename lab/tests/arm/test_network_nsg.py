"""Network security groups over HTTP (in-process): Azure's default rules, rule validation
with Azure's codes, the securityRules child route, back-references and in-use deletes."""

from __future__ import annotations

import pytest
from test_network_support import Net


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


def rule(name="ssh", priority=100, direction="Inbound", **props):
    base = {"protocol": "Tcp", "access": "Allow", "direction": direction, "priority": priority,
            "sourceAddressPrefix": "*", "destinationAddressPrefix": "*", "sourcePortRange": "*",
            "destinationPortRange": "22"}
    return {"name": name, "properties": {**base, **props}}


def test_nsg_has_azures_six_default_rules(net):
    nsg = net.ok(net.nsg(), 201)
    defaults = {r["name"]: r["properties"] for r in nsg["properties"]["defaultSecurityRules"]}
    assert {name: (p["priority"], p["direction"], p["access"]) for name, p in defaults.items()} == {
        "AllowVnetInBound": (65000, "Inbound", "Allow"),
        "AllowAzureLoadBalancerInBound": (65001, "Inbound", "Allow"),
        "DenyAllInBound": (65500, "Inbound", "Deny"),
        "AllowVnetOutBound": (65000, "Outbound", "Allow"),
        "AllowInternetOutBound": (65001, "Outbound", "Allow"),
        "DenyAllOutBound": (65500, "Outbound", "Deny"),
    }
    assert defaults["AllowAzureLoadBalancerInBound"]["sourceAddressPrefix"] == "AzureLoadBalancer"
    first = nsg["properties"]["defaultSecurityRules"][0]
    assert first["id"] == net.id("networkSecurityGroups/nsg1/defaultSecurityRules/AllowVnetInBound")
    assert first["type"] == "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"


def test_rules_are_stored_in_azures_shape(net):
    nsg = net.ok(net.nsg(rules=[rule(protocol="tcp", destinationPortRange=None, destinationPortRanges=["80", "443"]),
                                rule("lb", 110, sourceAddressPrefix="AzureLoadBalancer", destinationPortRange="8080-8090")]))
    ssh, lb = nsg["properties"]["securityRules"]
    assert ssh["id"] == net.id("networkSecurityGroups/nsg1/securityRules/ssh")
    assert ssh["properties"]["protocol"] == "Tcp"  # Azure answers in its own spelling
    assert ssh["properties"]["destinationPortRanges"] == ["80", "443"]
    assert "destinationPortRange" not in ssh["properties"]
    assert ssh["properties"]["sourcePortRanges"] == [] and ssh["properties"]["provisioningState"] == "Succeeded"
    assert lb["properties"]["sourceAddressPrefix"] == "AzureLoadBalancer"


@pytest.mark.parametrize("props, code, target", [
    ({"priority": 99}, "SecurityRuleInvalidPriority", "properties.securityRules[0].properties.priority"),
    ({"priority": 4097}, "SecurityRuleInvalidPriority", "properties.securityRules[0].properties.priority"),
    ({"destinationPortRange": "70000"}, "SecurityRuleInvalidPortRange", "properties.securityRules[0].properties.destinationPortRange"),
    ({"destinationPortRange": "90-80"}, "SecurityRuleInvalidPortRange", "properties.securityRules[0].properties.destinationPortRange"),
    ({"sourceAddressPrefix": "Narnia"}, "SecurityRuleInvalidAddressPrefix", "properties.securityRules[0].properties.sourceAddressPrefix"),
    ({"sourceAddressPrefix": None, "sourceAddressPrefixes": ["10.0.0.0/8", "300.1.1.1"]}, "SecurityRuleInvalidAddressPrefix",
     "properties.securityRules[0].properties.sourceAddressPrefixes"),
    ({"protocol": "Smtp"}, "InvalidRequestFormat", "properties.securityRules[0].properties.protocol"),
    ({"access": "Maybe"}, "InvalidRequestFormat", "properties.securityRules[0].properties.access"),
    ({"direction": None}, "InvalidRequestFormat", "properties.securityRules[0].properties.direction"),
    ({"destinationPortRange": None}, "InvalidRequestFormat", "properties.securityRules[0].properties.destinationPortRange"),
])
def test_bad_rules_are_refused_naming_the_property(net, props, code, target):
    net.error(net.nsg(rules=[rule(**props)]), 400, code, target)
    assert net.get("networkSecurityGroups/nsg1").status_code == 404


@pytest.mark.parametrize("prefix", ["*", "Internet", "VirtualNetwork", "AzureLoadBalancer", "Storage.EastUS",
                                    "10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
def test_service_tags_and_cidrs_are_accepted(net, prefix):
    net.ok(net.nsg(rules=[rule(sourceAddressPrefix=prefix)]))


def test_priority_is_unique_per_direction(net):
    net.error(net.nsg(rules=[rule("a", 100), rule("b", 100)]), 400, "SecurityRuleConflict",
              "properties.securityRules[1].properties.priority")
    net.ok(net.nsg(rules=[rule("a", 100), rule("b", 100, direction="Outbound")]))


def test_security_rule_child_routes(net):
    net.ok(net.nsg(rules=[rule()]))
    created = net.put("networkSecurityGroups/nsg1/securityRules/http", rule("http", 200, destinationPortRange="80"))
    assert created.status_code == 201
    listed = net.ok(net.get("networkSecurityGroups/nsg1/securityRules"))["value"]
    assert [r["name"] for r in listed] == ["ssh", "http"]
    net.error(net.put("networkSecurityGroups/nsg1/securityRules/dup", rule("dup", 200)), 400, "SecurityRuleConflict")
    assert net.ok(net.get("networkSecurityGroups/nsg1/defaultSecurityRules/DenyAllInBound"))["properties"]["priority"] == 65500
    assert net.delete("networkSecurityGroups/nsg1/securityRules/http").status_code == 202
    assert [r["name"] for r in net.ok(net.get("networkSecurityGroups/nsg1"))["properties"]["securityRules"]] == ["ssh"]


def test_default_rules_are_read_only(net):
    net.ok(net.nsg())
    response = net.put("networkSecurityGroups/nsg1/defaultSecurityRules/DenyAllInBound", rule("DenyAllInBound", 100))
    net.error(response, 405, "MethodNotAllowed")
    net.error(net.delete("networkSecurityGroups/nsg1/defaultSecurityRules/DenyAllInBound"), 405, "MethodNotAllowed")


def test_default_rules_sent_back_by_a_client_are_ignored(net):
    nsg = net.ok(net.nsg(rules=[rule()]))
    again = net.ok(net.put("networkSecurityGroups/nsg1", nsg), 200)
    assert len(again["properties"]["defaultSecurityRules"]) == 6
    assert [r["name"] for r in again["properties"]["securityRules"]] == ["ssh"]


def test_a_rule_naming_a_missing_application_security_group_is_refused(net):
    asg = rule(sourceAddressPrefix=None, sourceApplicationSecurityGroups=[net.ref("applicationSecurityGroups/web")])
    net.error(net.nsg(rules=[asg]), 400, "InvalidResourceReference")


def test_nsg_lists_its_subnets_and_nics_and_cannot_be_deleted_in_use(net):
    net.ok(net.nsg())
    nsg_ref = net.ref("networkSecurityGroups/nsg1")
    net.ok(net.vnet(subnets=[]))
    net.ok(net.put("virtualNetworks/vnet1/subnets/web", {"properties": {"addressPrefix": "10.0.1.0/24",
                                                                        "networkSecurityGroup": nsg_ref}}))
    body = net.nic_body()
    body["properties"]["networkSecurityGroup"] = nsg_ref
    net.ok(net.put("networkInterfaces/nic1", body))
    nsg = net.ok(net.get("networkSecurityGroups/nsg1"))
    assert nsg["properties"]["subnets"] == [net.subnet_ref()]
    assert nsg["properties"]["networkInterfaces"] == [net.ref("networkInterfaces/nic1")]
    error = net.error(net.delete("networkSecurityGroups/nsg1"), 400, "InUseNetworkSecurityGroupCannotBeDeleted")
    assert net.subnet_ref()["id"] in error["message"]
    assert net.get("networkSecurityGroups/nsg1").status_code == 200


def test_unused_nsg_deletes(net):
    net.ok(net.nsg())
    assert net.delete("networkSecurityGroups/nsg1").status_code == 202
    assert net.get("networkSecurityGroups/nsg1").status_code == 404
    assert net.delete("networkSecurityGroups/nsg1").status_code == 204
