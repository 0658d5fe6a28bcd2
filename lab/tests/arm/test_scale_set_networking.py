"""HTTP-layer tests of a scale set's networking (control plane, in-process): the inbound NAT
rules its instances get from the LB's NAT pool, how they follow capacity and survive an LB
PUT, Azure's refusals around them, and the scale set NIC list endpoints."""

from __future__ import annotations

import copy

import pytest

from test_compute import COMPUTE_API, NETWORK_API, error
from test_scale_sets import ScaleSetCloud


@pytest.fixture
def cloud(arm) -> ScaleSetCloud:
    return ScaleSetCloud(arm)


def lb_path(cloud) -> str:
    return cloud.lb_id.split(cloud.arm.sub, 1)[1]


def get_lb(cloud) -> dict:
    answer = cloud.arm.get(lb_path(cloud), api=NETWORK_API)
    assert answer.status_code == 200, answer.json
    return answer.json


def nat_ports(cloud) -> dict[str, int]:
    """{NAT rule name: frontend port} as the LB shows them."""
    return {rule["name"]: rule["properties"]["frontendPort"]
            for rule in get_lb(cloud)["properties"].get("inboundNatRules", [])}


def nic_path(cloud, instance: str) -> str:
    return cloud.compute_path(f"virtualMachineScaleSets/vmss/virtualMachines/{instance}/networkInterfaces/nic")


def ip_config_id(cloud, instance: str) -> str:
    return f"{cloud.rg_id}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/{instance}" \
           "/networkInterfaces/nic/ipConfigurations/ipconfig"


def set_capacity(cloud, capacity: int, scale_in: str | None = None) -> None:
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["sku"]["capacity"] = capacity
    if scale_in:
        body["properties"]["scaleInPolicy"] = {"rules": [scale_in]}
    answer = cloud.put_set(body)
    assert answer.status_code == 200, answer.json


def test_each_instance_gets_a_port_of_the_pool_as_a_nat_rule(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    lb = get_lb(cloud)
    rules = {rule["name"]: rule for rule in lb["properties"]["inboundNatRules"]}
    assert {name: rule["properties"]["frontendPort"] for name, rule in rules.items()} == {
        "ssh.0": 50000, "ssh.1": 50001, "ssh.2": 50002}
    rule = rules["ssh.1"]
    assert rule["id"] == f"{cloud.lb_id}/inboundNatRules/ssh.1"
    assert rule["properties"]["backendIPConfiguration"] == {"id": ip_config_id(cloud, "1")}
    assert (rule["properties"]["backendPort"], rule["properties"]["protocol"]) == (22, "Tcp")
    assert rule["properties"]["frontendIPConfiguration"] == {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"}
    frontend = lb["properties"]["frontendIPConfigurations"][0]["properties"]
    assert {"id": rule["id"]} in frontend["inboundNatRules"]
    # `az network lb inbound-nat-rule list / show` read the same
    listed = cloud.arm.get(lb_path(cloud) + "/inboundNatRules", api=NETWORK_API).json["value"]
    assert [r["name"] for r in listed] == ["ssh.0", "ssh.1", "ssh.2"]
    shown = cloud.arm.get(lb_path(cloud) + "/inboundNatRules/ssh.2", api=NETWORK_API).json
    assert shown["properties"]["backendIPConfiguration"] == {"id": ip_config_id(cloud, "2")}
    # the instance's NIC names its rule; the set's model keeps naming the pool
    nic = cloud.arm.get(nic_path(cloud, "1"), api="2018-10-01").json
    ip = nic["properties"]["ipConfigurations"][0]["properties"]
    assert ip["loadBalancerInboundNatRules"] == [{"id": rule["id"]}]
    assert "loadBalancerInboundNatPools" not in ip
    model = cloud.get("virtualMachineScaleSets/vmss").json["properties"]["virtualMachineProfile"]
    model_ip = model["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]
    assert model_ip["properties"]["loadBalancerInboundNatPools"] == [{"id": f"{cloud.lb_id}/inboundNatPools/ssh"}]


def test_ports_follow_capacity_and_a_narrowed_range(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    set_capacity(cloud, 2)  # Default: the highest ID goes, and its port with it
    assert nat_ports(cloud) == {"ssh.0": 50000, "ssh.1": 50001}
    set_capacity(cloud, 3)
    assert nat_ports(cloud) == {"ssh.0": 50000, "ssh.1": 50001, "ssh.3": 50003}
    # the pool narrowed to 50000-50003 by an LB PUT: every held port still fits, none moves
    lb = get_lb(cloud)
    lb["properties"]["inboundNatPools"][0]["properties"]["frontendPortRangeEnd"] = 50003
    assert cloud.put_network("loadBalancers/lb", lb).status_code == 200
    assert nat_ports(cloud) == {"ssh.0": 50000, "ssh.1": 50001, "ssh.3": 50003}
    set_capacity(cloud, 2, scale_in="OldestVM")
    set_capacity(cloud, 3)
    # instance 4: 50004 is outside the range, so the lowest free port (instance 0's, freed)
    assert nat_ports(cloud) == {"ssh.1": 50001, "ssh.3": 50003, "ssh.4": 50000}
    assert cloud.arm.get(nic_path(cloud, "4"), api=NETWORK_API).json["properties"]["ipConfigurations"][0][
        "properties"]["loadBalancerInboundNatRules"] == [{"id": f"{cloud.lb_id}/inboundNatRules/ssh.4"}]


def test_deleting_instances_or_the_set_frees_the_ports(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    assert cloud.post("virtualMachineScaleSets/vmss/delete", {"instanceIds": ["0"]}).status_code in (200, 202)
    assert cloud.arm.delete(cloud.compute_path("virtualMachineScaleSets/vmss/virtualMachines/2"),
                            api=COMPUTE_API).status_code in (200, 202)
    assert nat_ports(cloud) == {"ssh.1": 50001}
    assert cloud.arm.delete(cloud.compute_path("virtualMachineScaleSets/vmss"), api=COMPUTE_API).status_code in (
        200, 202)
    assert nat_ports(cloud) == {}
    assert cloud.arm.delete(lb_path(cloud), api=NETWORK_API).status_code in (200, 202), "nothing uses the LB now"


def test_an_lb_put_that_does_not_list_them_keeps_them(cloud):
    """azure_rm_loadbalancer sends its own NAT rules only; a GET sent back lists them too."""
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    lb = get_lb(cloud)
    own = copy.deepcopy(lb)
    own["properties"]["inboundNatRules"] = [{"name": "admin", "properties": {
        "frontendIPConfiguration": {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
        "frontendPort": 60000, "backendPort": 22}}]
    answer = cloud.put_network("loadBalancers/lb", own)
    assert answer.status_code == 200, answer.json
    assert nat_ports(cloud) == {"admin": 60000, "ssh.0": 50000, "ssh.1": 50001}
    echoed = get_lb(cloud)
    echoed["properties"]["inboundNatPools"][0]["properties"]["backendPort"] = 2222
    assert cloud.put_network("loadBalancers/lb", echoed).status_code == 200
    rules = {r["name"]: r["properties"] for r in get_lb(cloud)["properties"]["inboundNatRules"]}
    assert (rules["ssh.0"]["frontendPort"], rules["ssh.0"]["backendPort"]) == (50000, 2222), "made from the pool"
    assert rules["ssh.1"]["backendIPConfiguration"] == {"id": ip_config_id(cloud, "1")}


@pytest.mark.parametrize("change, expected", [
    # a rule of its own on a port of the pool's range
    (lambda lb, cloud: lb["properties"]["inboundNatRules"].append({"name": "x", "properties": {
        "frontendIPConfiguration": {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
        "frontendPort": 50005, "backendPort": 22}}),
     (400, "RulesUseSameFrontendPortProtocolAndIPConfig",
      "properties.inboundNatPools[0].properties.frontendPortRangeStart")),
    # a second pool overlapping the first on the same frontend
    (lambda lb, cloud: lb["properties"]["inboundNatPools"].append({"name": "other", "properties": {
        "frontendIPConfiguration": {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
        "frontendPortRangeStart": 50009, "frontendPortRangeEnd": 50020, "backendPort": 80}}),
     (400, "RulesUseSameFrontendPortProtocolAndIPConfig",
      "properties.inboundNatPools[1].properties.frontendPortRangeStart")),
    # a range that no longer holds a port per instance
    (lambda lb, cloud: lb["properties"]["inboundNatPools"][0]["properties"].update(frontendPortRangeEnd=50000),
     (400, "InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts",
      "properties.inboundNatPools[0].properties.frontendPortRangeEnd")),
    # the pool the instances use
    (lambda lb, cloud: lb["properties"].update(inboundNatPools=[]),
     (400, "InUseInboundNatPoolCannotBeDeleted", "properties.inboundNatPools")),
])
def test_lb_puts_that_break_the_instances_ports_are_refused(cloud, change, expected):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    before = get_lb(cloud)
    lb = copy.deepcopy(before)
    lb["properties"]["inboundNatRules"] = []
    change(lb, cloud)
    assert error(cloud.put_network("loadBalancers/lb", lb)) == expected
    assert get_lb(cloud) == before


def test_a_held_rule_is_not_deleted_alone(cloud):
    assert cloud.put_set(cloud.body(capacity=1)).status_code == 201
    answer = cloud.arm.delete(lb_path(cloud) + "/inboundNatRules/ssh.0", api=NETWORK_API)
    assert error(answer)[:2] == (400, "InUseInboundNatRuleCannotBeDeleted")
    assert nat_ports(cloud) == {"ssh.0": 50000}


def test_two_sets_on_one_pool_cannot_hold_the_same_rule_name(cloud):
    assert cloud.put_set(cloud.body(capacity=1)).status_code == 201
    assert error(cloud.put_set(cloud.body(capacity=1), name="other")) == (
        400, "InvalidParameter", "virtualMachineProfile.networkProfile")
    assert cloud.get("virtualMachineScaleSets/other").status_code == 404
    assert nat_ports(cloud) == {"ssh.0": 50000}


@pytest.mark.parametrize("api", ["2018-10-01", NETWORK_API])
def test_the_sets_nic_lists_show_the_instance_and_the_lb_references(cloud, api):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    base = cloud.compute_path("virtualMachineScaleSets/vmss")
    every = cloud.arm.get(f"{base}/networkInterfaces", api=api)
    assert every.status_code == 200, every.json
    nics = every.json["value"]
    assert [nic["properties"]["virtualMachine"]["id"] for nic in nics] == [
        f"{cloud.rg_id}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/{n}" for n in "01"]
    assert all(nic["type"] == "Microsoft.Network/networkInterfaces" and nic["properties"]["primary"] for nic in nics)
    ip = nics[1]["properties"]["ipConfigurations"][0]["properties"]
    assert ip["loadBalancerBackendAddressPools"] == [{"id": f"{cloud.lb_id}/backendAddressPools/pool"}]
    assert ip["loadBalancerInboundNatRules"] == [{"id": f"{cloud.lb_id}/inboundNatRules/ssh.1"}]
    assert not any(key.startswith("_") for nic in nics for key in nic)
    one = cloud.arm.get(f"{base}/virtualMachines/1/networkInterfaces", api=api).json["value"]
    assert one == [nics[1]]
    assert cloud.arm.get(nic_path(cloud, "1"), api=api).json == nics[1]
    assert cloud.arm.get(f"{base}/virtualMachines/7/networkInterfaces", api=api).status_code == 404
    assert cloud.arm.get(cloud.compute_path("virtualMachineScaleSets/none/networkInterfaces"),
                         api=api).status_code == 404
    assert cloud.arm.put(nic_path(cloud, "1"), nics[1], api=api).status_code == 405


def test_a_rule_of_its_own_keeps_a_name_an_instance_would_take(cloud):
    assert cloud.put_set(cloud.body(capacity=1)).status_code == 201
    lb = get_lb(cloud)
    lb["properties"]["inboundNatRules"] = [{"name": "ssh.1", "properties": {
        "frontendIPConfiguration": {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
        "frontendPort": 60000, "backendPort": 22}}]
    assert cloud.put_network("loadBalancers/lb", lb).status_code == 200
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["sku"]["capacity"] = 2
    assert error(cloud.put_set(body)) == (400, "InvalidParameter", "properties.inboundNatRules")
    assert nat_ports(cloud) == {"ssh.1": 60000, "ssh.0": 50000}
    assert [i["instanceId"] for i in cloud.instances()] == ["0"]


def test_an_instance_nics_ip_configuration_is_served_and_named_by_the_rule_health(cloud):
    """Azure serves an instance NIC's ip configurations; the LB's rule health names each
    instance's private address (a client matches backends by it), not a null one."""
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    lb = get_lb(cloud)
    lb["properties"]["loadBalancingRules"] = [{"name": "http", "properties": {
        "frontendIPConfiguration": {"id": f"{cloud.lb_id}/frontendIPConfigurations/fe"},
        "backendAddressPool": {"id": f"{cloud.lb_id}/backendAddressPools/pool"},
        "probe": {"id": f"{cloud.lb_id}/probes/http"}, "protocol": "Tcp", "frontendPort": 80, "backendPort": 80}}]
    assert cloud.arm.put(lb_path(cloud), lb, api=NETWORK_API).status_code == 200
    config = cloud.arm.get(f"{nic_path(cloud, '1')}/ipConfigurations/ipconfig", api=COMPUTE_API)
    assert config.status_code == 200, config.json
    assert config.json["id"] == ip_config_id(cloud, "1") and config.json["properties"]["privateIPAddress"]
    assert cloud.arm.get(f"{nic_path(cloud, '1')}/ipConfigurations/none", api=COMPUTE_API).status_code == 404
    addresses = {cloud.arm.get(f"{nic_path(cloud, n)}/ipConfigurations/ipconfig", api=COMPUTE_API)
                 .json["properties"]["privateIPAddress"] for n in "01"}

    started = cloud.arm.post(f"{lb_path(cloud)}/loadBalancingRules/http/health", api="2024-05-01")
    assert started.status_code == 202, started.json
    location = started.headers["Location"].split("management.azure.com", 1)[1]
    done = cloud.arm.client.get(location, headers=cloud.arm.headers, base_url="https://management.azure.com")
    backends = done.json["loadBalancerBackendAddresses"]
    assert {b["ipAddress"] for b in backends} == addresses, backends
    assert {b["networkInterfaceIPConfigurationId"] for b in backends} == {ip_config_id(cloud, n) for n in "01"}
