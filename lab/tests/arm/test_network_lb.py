"""Load balancers over HTTP (in-process): children and their defaults, references inside
the LB, port clashes, probes (incl. probeThreshold), child routes, NIC membership shown on
the LB, admin state, in-use protection, and the rule health API."""

from __future__ import annotations

import copy

import pytest
from test_network_support import Net


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


@pytest.fixture
def lb(net):
    """A Standard LB on a static PIP, its VNet, and two NICs in the pool with a NAT rule each."""
    net.tier(vms=2)
    return net


def lb_props(net, name="lb1"):
    return net.ok(net.get(f"loadBalancers/{name}"))["properties"]


def health(net, rule="http", lb_name="lb1", api="2024-05-01"):
    """Run the health API as an SDK poller does: POST, then follow Location."""
    started = net.post(f"loadBalancers/{lb_name}/loadBalancingRules/{rule}/health", api=api)
    if started.status_code != 202:
        return started
    assert "Azure-AsyncOperation" in started.headers and started.headers["Retry-After"] == "0"
    location = started.headers["Location"].split("management.azure.com", 1)[1]
    return net.arm.client.get(location, headers=net.arm.headers, base_url="https://management.azure.com")


# -- shapes and defaults --------------------------------------------------------------------------


def test_lb_children_have_azure_shape_and_defaults(net):
    net.ok(net.pip())
    lb = net.ok(net.lb(), 201)
    assert lb["sku"] == {"name": "Standard", "tier": "Regional"}
    props = lb["properties"]
    fe = props["frontendIPConfigurations"][0]
    assert fe["id"] == net.id("loadBalancers/lb1/frontendIPConfigurations/fe")
    assert fe["type"] == "Microsoft.Network/loadBalancers/frontendIPConfigurations"
    assert fe["properties"]["loadBalancingRules"] == [net.ref("loadBalancers/lb1/loadBalancingRules/http")]
    assert fe["properties"]["inboundNatRules"] == [net.ref("loadBalancers/lb1/inboundNatRules/ssh1")]
    probe = props["probes"][0]["properties"]
    assert (probe["intervalInSeconds"], probe["numberOfProbes"], probe["probeThreshold"]) == (5, 2, 2)
    assert probe["loadBalancingRules"] == [net.ref("loadBalancers/lb1/loadBalancingRules/http")]
    rule = props["loadBalancingRules"][0]["properties"]
    assert (rule["idleTimeoutInMinutes"], rule["loadDistribution"], rule["enableFloatingIP"],
            rule["disableOutboundSnat"], rule["enableTcpReset"]) == (4, "Default", False, False, False)
    nat = props["inboundNatRules"][0]["properties"]
    assert (nat["frontendPort"], nat["backendPort"], nat["protocol"], nat["idleTimeoutInMinutes"]) == (50001, 22, "Tcp", 4)
    pool = props["backendAddressPools"][0]["properties"]
    assert pool["loadBalancingRules"] == [net.ref("loadBalancers/lb1/loadBalancingRules/http")]
    assert pool["loadBalancerBackendAddresses"] == []
    assert props["inboundNatPools"] == [] and props["outboundRules"] == []


def test_backend_port_defaults_to_frontend_port(net):
    net.ok(net.pip())
    body = net.lb_body()
    del body["properties"]["loadBalancingRules"][0]["properties"]["backendPort"]
    lb = net.ok(net.put("loadBalancers/lb1", body))
    assert lb["properties"]["loadBalancingRules"][0]["properties"]["backendPort"] == 80


def test_rerunning_the_read_body_is_idempotent(lb):
    """GET then PUT (what SDK clients and the LB module do) keeps every child and derived field."""
    before = lb.ok(lb.get("loadBalancers/lb1"))
    after = lb.ok(lb.put("loadBalancers/lb1", copy.deepcopy(before)), 200)
    strip = lambda body: {k: v for k, v in body.items() if k != "etag"}  # noqa: E731
    assert [strip(c) for c in after["properties"]["backendAddressPools"]] == \
           [strip(c) for c in before["properties"]["backendAddressPools"]]
    assert after["properties"]["resourceGuid"] == before["properties"]["resourceGuid"]
    assert after["properties"]["inboundNatRules"][0]["properties"]["backendIPConfiguration"] == \
           lb.ref("networkInterfaces/vm1-nic1/ipConfigurations/ipconfig1")


def test_probe_threshold_needs_api_2022_05_01(net):
    net.ok(net.pip())
    old = net.ok(net.put("loadBalancers/lb1", net.lb_body(), api="2021-08-01"))
    assert "probeThreshold" not in old["properties"]["probes"][0]["properties"]
    new = net.ok(net.put("loadBalancers/lb1", net.lb_body(), api="2022-05-01"))
    assert new["properties"]["probes"][0]["properties"]["probeThreshold"] == 2


def test_internal_frontend_gets_a_private_ip_from_its_subnet(net):
    net.ok(net.vnet())
    body = net.lb_body()
    body["properties"]["frontendIPConfigurations"] = [{"name": "fe", "properties": {"subnet": net.subnet_ref()}}]
    fe = net.ok(net.put("loadBalancers/lb1", body))["properties"]["frontendIPConfigurations"][0]["properties"]
    assert (fe["privateIPAddress"], fe["privateIPAllocationMethod"]) == ("10.0.1.4", "Dynamic")
    assert net.ok(net.nic())["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.0.1.5"
    body["properties"]["frontendIPConfigurations"][0]["properties"].update(
        privateIPAllocationMethod="Static", privateIPAddress="10.0.1.5")
    net.error(net.put("loadBalancers/lb1", body), 400, "PrivateIPAddressInUse")


# -- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("change, code, target", [
    (lambda p: p["probes"][0]["properties"].pop("requestPath"), "InvalidParameter", "properties.probes[0].properties.requestPath"),
    (lambda p: p["probes"][0]["properties"].update(requestPath="healthz"), "InvalidParameter",
     "properties.probes[0].properties.requestPath"),
    (lambda p: p["probes"][0]["properties"].update(protocol="Tcp"), "InvalidParameter", "properties.probes[0].properties.requestPath"),
    (lambda p: p["probes"][0]["properties"].update(intervalInSeconds=4), "InvalidParameter",
     "properties.probes[0].properties.intervalInSeconds"),
    (lambda p: p["probes"][0]["properties"].update(protocol="Icmp"), "InvalidRequestFormat", "properties.probes[0].properties.protocol"),
    (lambda p: p["probes"][0]["properties"].pop("port"), "InvalidRequestFormat", "properties.probes[0].properties.port"),
    (lambda p: p["loadBalancingRules"][0]["properties"].update(frontendPort=65535), "InvalidParameter",
     "properties.loadBalancingRules[0].properties.frontendPort"),
    (lambda p: p["loadBalancingRules"][0]["properties"].update(backendPort=70000), "InvalidParameter",
     "properties.loadBalancingRules[0].properties.backendPort"),
    (lambda p: p["loadBalancingRules"][0]["properties"].update(loadDistribution="RoundRobin"), "InvalidRequestFormat",
     "properties.loadBalancingRules[0].properties.loadDistribution"),
    (lambda p: p["loadBalancingRules"][0]["properties"].update(idleTimeoutInMinutes=2), "InvalidParameter",
     "properties.loadBalancingRules[0].properties.idleTimeoutInMinutes"),
    (lambda p: p["loadBalancingRules"][0]["properties"].pop("protocol"), "InvalidRequestFormat",
     "properties.loadBalancingRules[0].properties.protocol"),
    (lambda p: p["inboundNatRules"][0]["properties"].update(backendPort=0), "InvalidParameter",
     "properties.inboundNatRules[0].properties.backendPort"),
    (lambda p: p["frontendIPConfigurations"][0].update(name="bad name!"), "InvalidResourceName", "name"),
])
def test_bad_children_are_refused_naming_the_property(net, change, code, target):
    net.ok(net.pip())
    body = net.lb_body()
    change(body["properties"])
    net.error(net.put("loadBalancers/lb1", body), 400, code, target)
    assert net.get("loadBalancers/lb1").status_code == 404


@pytest.mark.parametrize("key, target", [
    ("probe", "properties.loadBalancingRules[0].properties.probe.id"),
    ("backendAddressPool", "properties.loadBalancingRules[0].properties.backendAddressPool.id"),
    ("frontendIPConfiguration", "properties.loadBalancingRules[0].properties.frontendIPConfiguration.id"),
])
def test_rule_references_must_name_children_of_this_lb(net, key, target):
    net.ok(net.pip())
    body = net.lb_body()
    kind = {"probe": "probes", "backendAddressPool": "backendAddressPools",
            "frontendIPConfiguration": "frontendIPConfigurations"}[key]
    body["properties"]["loadBalancingRules"][0]["properties"][key] = net.ref(f"loadBalancers/other/{kind}/x")
    net.error(net.put("loadBalancers/lb1", body), 400, "InvalidResourceReference", target)


def test_frontend_needs_an_existing_public_ip_of_the_same_sku(net):
    net.error(net.lb(), 400, "InvalidResourceReference",
              "properties.frontendIPConfigurations[0].properties.publicIPAddress.id")
    net.ok(net.pip(sku="Basic"))
    net.error(net.lb(), 400, "DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed")
    body = net.lb_body()
    body["properties"]["frontendIPConfigurations"][0]["properties"] = {}
    net.error(net.put("loadBalancers/lb1", body), 400, "InvalidParameter", "properties.frontendIPConfigurations[0].properties")


def test_lb_sku_is_fixed(net):
    net.ok(net.pip())
    net.ok(net.lb())
    net.error(net.lb(sku="Basic"), 400, "SkuCannotBeChangedOnUpdate")


@pytest.mark.parametrize("nat_port, protocol, clash", [
    (80, "Tcp", True),      # NAT rule on the LB rule's frontend port
    (80, "Udp", False),     # another protocol may share the port
    (80, "All", True),      # All covers Tcp
    (8080, "Tcp", False),
])
def test_one_frontend_port_maps_to_one_rule(net, nat_port, protocol, clash):
    net.ok(net.pip())
    body = net.lb_body(nat_ports=[nat_port])
    body["properties"]["inboundNatRules"][0]["properties"]["protocol"] = protocol
    response = net.put("loadBalancers/lb1", body)
    if clash:
        net.error(response, 400, "RulesUseSameFrontendPortProtocolAndIPConfig",
                  "properties.inboundNatRules[0].properties.frontendPort")
    else:
        net.ok(response)


def test_nat_rules_need_distinct_frontend_ports(net):
    net.ok(net.pip())
    net.error(net.lb(nat_ports=[50001, 50001]), 400, "RulesUseSameFrontendPortProtocolAndIPConfig")


def test_outbound_rules_reference_frontends_and_a_pool(net):
    net.ok(net.pip())
    outbound = {"name": "out", "properties": {"frontendIPConfigurations": [net.ref("loadBalancers/lb1/frontendIPConfigurations/fe")],
                                              "backendAddressPool": net.ref("loadBalancers/lb1/backendAddressPools/pool"),
                                              "protocol": "All"}}
    lb = net.ok(net.lb(outboundRules=[outbound]))
    assert lb["properties"]["backendAddressPools"][0]["properties"]["outboundRules"] == [net.ref("loadBalancers/lb1/outboundRules/out")]
    del outbound["properties"]["backendAddressPool"]
    net.error(net.lb(outboundRules=[outbound]), 400, "InvalidRequestFormat", "properties.outboundRules[0].properties.backendAddressPool.id")


def test_refused_update_leaves_the_lb_as_it_was(lb):
    before = lb.ok(lb.get("loadBalancers/lb1"))
    body = lb.lb_body(nat_ports=[50001, 50002])
    body["properties"]["probes"][0]["properties"]["port"] = 0
    lb.error(lb.put("loadBalancers/lb1", body), 400, "InvalidParameter")
    assert lb.ok(lb.get("loadBalancers/lb1")) == before


# -- child routes --------------------------------------------------------------------------------------


def test_child_routes(lb):
    assert lb.ok(lb.get("loadBalancers/lb1/frontendIPConfigurations/fe"))["name"] == "fe"
    assert [p["name"] for p in lb.ok(lb.get("loadBalancers/lb1/probes"))["value"]] == ["probe"]
    assert lb.ok(lb.get("loadBalancers/lb1/loadBalancingRules/http"))["properties"]["frontendPort"] == 80
    lb.error(lb.get("loadBalancers/lb1/probes/nope"), 404, "ResourceNotFound")
    lb.error(lb.put("loadBalancers/lb1/probes/p2", {"properties": {"protocol": "Tcp", "port": 22}}), 405, "MethodNotAllowed")
    lb.error(lb.delete("loadBalancers/lb1/loadBalancingRules/http"), 405, "MethodNotAllowed")


def test_inbound_nat_rule_child_put_and_delete(lb):
    rule = {"properties": {"frontendIPConfiguration": lb.ref("loadBalancers/lb1/frontendIPConfigurations/fe"),
                           "protocol": "Tcp", "frontendPort": 50003, "backendPort": 22}}
    created = lb.put("loadBalancers/lb1/inboundNatRules/ssh3", rule)
    assert created.status_code == 201 and created.json["id"] == lb.id("loadBalancers/lb1/inboundNatRules/ssh3")
    rule["properties"]["frontendPort"] = 50001
    lb.error(lb.put("loadBalancers/lb1/inboundNatRules/ssh4", rule), 400, "RulesUseSameFrontendPortProtocolAndIPConfig")
    assert lb.delete("loadBalancers/lb1/inboundNatRules/ssh3").status_code == 202
    assert [r["name"] for r in lb_props(lb)["inboundNatRules"]] == ["ssh1", "ssh2"]


def test_backend_pool_child_put(lb):
    assert lb.put("loadBalancers/lb1/backendAddressPools/pool2", {"properties": {}}).status_code == 201
    assert [p["name"] for p in lb_props(lb)["backendAddressPools"]] == ["pool", "pool2"]


# -- NIC membership ----------------------------------------------------------------------------------------


def test_pool_and_nat_rules_show_their_nics(lb):
    props = lb_props(lb)
    pool = props["backendAddressPools"][0]["properties"]
    configs = [lb.ref(f"networkInterfaces/vm{i}-nic1/ipConfigurations/ipconfig1") for i in (1, 2)]
    assert pool["backendIPConfigurations"] == configs
    assert [a["name"] for a in pool["loadBalancerBackendAddresses"]] == ["net-rg_vm1-nic1ipconfig1", "net-rg_vm2-nic1ipconfig1"]
    assert pool["loadBalancerBackendAddresses"][0]["properties"] == {"networkInterfaceIPConfiguration": configs[0],
                                                                     "adminState": "None"}
    assert [r["properties"]["backendIPConfiguration"] for r in props["inboundNatRules"]] == configs


def test_nics_pin_their_pool_and_nat_rule(lb):
    body = lb.lb_body(nat_ports=[50001])   # drops ssh2, which vm2-nic1 uses
    lb.error(lb.put("loadBalancers/lb1", body), 400, "InvalidResourceReference", "properties.inboundNatRules")
    lb.error(lb.delete("loadBalancers/lb1/inboundNatRules/ssh2"), 400, "InvalidResourceReference")
    body = lb.lb_body(nat_ports=[50001, 50002])
    body["properties"]["backendAddressPools"] = [{"name": "other"}]
    body["properties"]["loadBalancingRules"][0]["properties"]["backendAddressPool"] = lb.ref("loadBalancers/lb1/backendAddressPools/other")
    lb.error(lb.put("loadBalancers/lb1", body), 400, "InvalidResourceReference", "properties.backendAddressPools")
    lb.error(lb.delete("loadBalancers/lb1"), 400, "InUseLoadBalancerCannotBeDeleted")
    assert len(lb_props(lb)["inboundNatRules"]) == 2


def test_admin_state_on_a_nic_backend(lb):
    pool = lb.ok(lb.get("loadBalancers/lb1/backendAddressPools/pool"))
    pool["properties"]["loadBalancerBackendAddresses"][0]["properties"]["adminState"] = "Down"
    lb.ok(lb.put("loadBalancers/lb1/backendAddressPools/pool", pool), 200)
    addresses = lb.ok(lb.get("loadBalancers/lb1/backendAddressPools/pool"))["properties"]["loadBalancerBackendAddresses"]
    assert [a["properties"]["adminState"] for a in addresses] == ["Down", "None"]
    pool["properties"]["loadBalancerBackendAddresses"] = [{"name": "net-rg_ghostipconfig1", "properties": {"adminState": "Down"}}]
    lb.error(lb.put("loadBalancers/lb1/backendAddressPools/pool", pool), 400, "InvalidParameter",
             "properties.backendAddressPools[0].properties.loadBalancerBackendAddresses[0].name")


def test_ip_based_backend_addresses(net):
    net.ok(net.vnet())
    net.ok(net.pip())
    address = {"name": "web1", "properties": {"ipAddress": "10.0.1.10", "virtualNetwork": net.ref("virtualNetworks/vnet1"),
                                              "adminState": "Up"}}
    body = net.lb_body()
    body["properties"]["backendAddressPools"] = [{"name": "pool", "properties": {"loadBalancerBackendAddresses": [address]}}]
    pool = net.ok(net.put("loadBalancers/lb1", body))["properties"]["backendAddressPools"][0]["properties"]
    assert pool["loadBalancerBackendAddresses"] == [address]
    address["properties"]["virtualNetwork"] = net.ref("virtualNetworks/nope")
    net.error(net.put("loadBalancers/lb1", body), 400, "InvalidResourceReference")


# -- health API ------------------------------------------------------------------------------------------


def test_health_without_probe_results_reports_down_and_says_why(lb):
    result = lb.ok(health(lb), 200)
    assert (result["up"], result["down"]) == (0, 2)
    first = result["loadBalancerBackendAddresses"][0]
    assert first["ipAddress"] == "10.0.1.4"
    assert first["networkInterfaceIPConfigurationId"] == lb.id("networkInterfaces/vm1-nic1/ipConfigurations/ipconfig1")
    assert first["state"] == "Down" and first["reason"].startswith("Down_NoProbeResult")


def test_health_follows_recorded_probe_transitions(lb):
    store, lb_id = lb.arm.lab.store, lb.id("loadBalancers/lb1")
    vm1, vm2 = (lb.id(f"networkInterfaces/vm{i}-nic1/ipConfigurations/ipconfig1") for i in (1, 2))
    store.record_health(lb_id, "http", vm1, "10.0.1.4", "Up", "Up_Probe_Success")
    store.record_health(lb_id, "http", vm2, "10.0.1.5", "Up", "Up_Probe_Success")
    assert (lb.ok(health(lb))["up"]) == 2
    store.record_health(lb_id, "http", vm2, "10.0.1.5", "Down", "Down_Probe_HttpStatusCodeError")
    result = lb.ok(health(lb))
    assert (result["up"], result["down"]) == (1, 1)
    assert result["loadBalancerBackendAddresses"][1]["reason"] == "Down_Probe_HttpStatusCodeError"


def test_admin_state_overrides_the_probe(lb):
    store, lb_id = lb.arm.lab.store, lb.id("loadBalancers/lb1")
    vm1 = lb.id("networkInterfaces/vm1-nic1/ipConfigurations/ipconfig1")
    store.record_health(lb_id, "http", vm1, "10.0.1.4", "Up", "Up_Probe_Success")
    pool = lb.ok(lb.get("loadBalancers/lb1/backendAddressPools/pool"))
    pool["properties"]["loadBalancerBackendAddresses"][0]["properties"]["adminState"] = "Down"
    pool["properties"]["loadBalancerBackendAddresses"][1]["properties"]["adminState"] = "Up"
    lb.ok(lb.put("loadBalancers/lb1/backendAddressPools/pool", pool))
    states = [(a["state"], a["reason"]) for a in lb.ok(health(lb))["loadBalancerBackendAddresses"]]
    assert states == [("Down", "Down_Admin"), ("Up", "Up_Admin")]


def test_health_of_a_rule_without_probe(net):
    net.ok(net.pip())
    body = net.lb_body()
    del body["properties"]["loadBalancingRules"][0]["properties"]["probe"]
    net.ok(net.put("loadBalancers/lb1", body))
    net.ok(net.vnet())
    net.ok(net.nic(pools=["pool"]))
    entry = net.ok(health(net))["loadBalancerBackendAddresses"][0]
    assert entry["state"] == "Up" and entry["reason"].startswith("Up_NoProbe")


def test_health_errors(lb):
    lb.error(health(lb, rule="nope"), 404, "ResourceNotFound")
    lb.error(health(lb, lb_name="nope"), 404, "ResourceNotFound")
    lb.error(health(lb, api="2023-09-01"), 400, "NoRegisteredProviderFound", "api-version")


def test_health_is_logged_as_a_read_and_leaves_the_lb_succeeded(lb):
    mark = lb.arm.lab.store.request_mark()
    lb.ok(health(lb))
    logged = lb.arm.lab.store.requests(since=mark)
    assert any(r["path"].endswith("/health") and r["write"] == 0 for r in logged)
    assert lb_props(lb)["provisioningState"] == "Succeeded"


def test_admin_state_of_a_nic_that_left_the_pool_is_dropped(lb):
    pool = lb.ok(lb.get("loadBalancers/lb1/backendAddressPools/pool"))
    pool["properties"]["loadBalancerBackendAddresses"][1]["properties"]["adminState"] = "Down"
    lb.ok(lb.put("loadBalancers/lb1/backendAddressPools/pool", pool))
    lb.ok(lb.nic("vm2-nic1", nat_rules=["ssh2"]))   # vm2 leaves the pool
    patched = lb.ok(lb.arm.patch(lb.path("loadBalancers/lb1"), {"tags": {"env": "dev"}}, api="2024-05-01"))
    addresses = patched["properties"]["backendAddressPools"][0]["properties"]["loadBalancerBackendAddresses"]
    assert [a["name"] for a in addresses] == ["net-rg_vm1-nic1ipconfig1"]
    lb.ok(lb.nic("vm2-nic1", pools=["pool"], nat_rules=["ssh2"]))   # back in, without the old admin state
    assert lb.ok(health(lb))["loadBalancerBackendAddresses"][1]["reason"].startswith("Down_NoProbeResult")


def test_health_of_ip_based_backends(net):
    net.ok(net.vnet())
    net.ok(net.pip())
    addresses = [{"name": name, "properties": {"ipAddress": ip, "virtualNetwork": net.ref("virtualNetworks/vnet1"),
                                               "adminState": admin}}
                 for name, ip, admin in (("web1", "10.0.1.10", "None"), ("web2", "10.0.1.11", "Up"))]
    body = net.lb_body()
    body["properties"]["backendAddressPools"] = [{"name": "pool", "properties": {"loadBalancerBackendAddresses": addresses}}]
    net.ok(net.put("loadBalancers/lb1", body))
    pool_id = net.id("loadBalancers/lb1/backendAddressPools/pool")
    net.arm.lab.store.record_health(net.id("loadBalancers/lb1"), "http", f"{pool_id}/loadBalancerBackendAddresses/web1",
                                    "10.0.1.10", "Down", "Down_Probe_Timeout")
    result = net.ok(health(net))
    assert result["loadBalancerBackendAddresses"] == [
        {"ipAddress": "10.0.1.10", "state": "Down", "reason": "Down_Probe_Timeout"},
        {"ipAddress": "10.0.1.11", "state": "Up", "reason": "Up_Admin"},
    ]


def test_status_table_describes_network_resources(lb):
    details = {row["name"]: row["detail"] for row in lb.arm.lab.resource_table()}
    assert details["pip1"] == "127.64.0.2"
    assert details["vm1-nic1"] == "10.0.1.4"
    assert details["lb1"].startswith("Standard; 1 frontends, 1 rules, 2 NAT rules")
    assert details["vnet1"] == "10.0.0.0/16; subnets: web 10.0.1.0/24"


def test_a_rule_naming_its_pool_only_in_the_plural_field_gets_its_backends(net):
    """What `az network lb rule create` sends at 2023-04-01: Azure takes the single entry as
    the pool, answers with both fields, and the rule's health has the pool's backends."""
    net.ok(net.pip())
    body = net.lb_body()
    rule = body["properties"]["loadBalancingRules"][0]["properties"]
    rule["backendAddressPools"] = [rule.pop("backendAddressPool")]
    stored = net.ok(net.put("loadBalancers/lb1", body), 201)["properties"]["loadBalancingRules"][0]["properties"]
    pool_ref = net.ref("loadBalancers/lb1/backendAddressPools/pool")
    assert stored["backendAddressPool"] == pool_ref and stored["backendAddressPools"] == [pool_ref]
    net.ok(net.vnet())
    net.ok(net.nic(pools=["pool"]))
    assert len(net.ok(health(net))["loadBalancerBackendAddresses"]) == 1


def test_frontend_zones_are_echoed_and_checked(net):
    net.ok(net.vnet())
    body = net.lb_body()
    frontend = body["properties"]["frontendIPConfigurations"][0]
    frontend["properties"] = {"subnet": net.subnet_ref()}
    frontend["zones"] = ["1", "2", "3"]
    stored = net.ok(net.put("loadBalancers/lb1", body), 201)
    assert stored["properties"]["frontendIPConfigurations"][0]["zones"] == ["1", "2", "3"]
    frontend["zones"] = ["4"]
    net.error(net.put("loadBalancers/lb1", body), 400, "InvalidParameter",
              "properties.frontendIPConfigurations[0].zones")
