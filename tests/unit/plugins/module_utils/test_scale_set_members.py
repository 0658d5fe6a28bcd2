"""Scale set members from raw ARM bodies (the scale_set inventory plugin): the same records as
an availability set's VMs, plus the instance's own fields; and the reads collect() makes."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import scale_set_members as ssm
from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import MissingResourceError

RG = "/subscriptions/s/resourceGroups/app1-dev-rg/providers"
VMSS_ID = f"{RG}/Microsoft.Compute/virtualMachineScaleSets/app1-vmss"
LB_ID = f"{RG}/Microsoft.Network/loadBalancers/app1-lb"
PIP_ID = f"{RG}/Microsoft.Network/publicIPAddresses/app1-pip"


def lb_body():
    """The LB with the NAT rules its ssh pool made for instances 0, 1 and 10 (Azure's {pool}.{instanceId})."""
    frontend = f"{LB_ID}/frontendIPConfigurations/fe"
    return {"id": LB_ID, "name": "app1-lb", "properties": {
        "frontendIPConfigurations": [{"id": frontend, "properties": {"publicIPAddress": {"id": PIP_ID}}}],
        "inboundNatPools": [{"id": f"{LB_ID}/inboundNatPools/ssh", "name": "ssh", "properties": {
            "frontendPortRangeStart": 50000, "frontendPortRangeEnd": 50099, "backendPort": 22}}],
        "inboundNatRules": [
            {"id": f"{LB_ID}/inboundNatRules/ssh.{n}", "name": f"ssh.{n}",
             "properties": {"frontendIPConfiguration": {"id": frontend}, "frontendPort": 50000 + n, "backendPort": 22}}
            for n in (0, 1, 10)]}}


def view(n, power="running", health=None):
    out = {"platformUpdateDomain": n % 5, "platformFaultDomain": n % 2, "computerName": f"app1vmss{n:06d}",
           "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": f"PowerState/{power}"}]}
    if health:
        out["vmHealth"] = {"status": {"code": f"HealthState/{health}"}}
    return out


def nic_id(n):
    return f"{VMSS_ID}/virtualMachines/{n}/networkInterfaces/app1-nic"


def instance_body(n, instance_view=None, latest=True):
    """An instance as Azure lists it (name {set}_{id}, size as sku), with an instance view when given."""
    properties = {
        "latestModelApplied": latest, "provisioningState": "Succeeded",
        "osProfile": {"computerName": f"app1vmss{n:06d}", "adminUsername": "azureuser"},
        "storageProfile": {"osDisk": {"osType": "Linux"}},
        "networkProfile": {"networkInterfaces": [{"id": nic_id(n)}]}}
    if instance_view is not None:
        properties["instanceView"] = instance_view
    return {"id": f"{VMSS_ID}/virtualMachines/{n}", "name": f"app1-vmss_{n}", "instanceId": str(n),
            "sku": {"name": "Standard_B1s", "tier": "Standard"}, "tags": {"webfarm_app": "app1"},
            "properties": properties}


def nic_body(n, nat=True):
    rules = [{"id": f"{LB_ID}/inboundNatRules/ssh.{n}"}] if nat else []
    return {"id": nic_id(n), "name": "app1-nic", "properties": {
        "virtualMachine": {"id": f"{VMSS_ID}/virtualMachines/{n}"}, "primary": True, "ipConfigurations": [
            {"name": "ipconfig", "properties": {"primary": True, "privateIPAddress": f"10.0.1.{n + 4}",
                                                "loadBalancerInboundNatRules": rules}}]}}


LBS = {LB_ID.lower(): lb_body()}


def test_an_instance_is_an_availability_set_member_plus_its_own_fields():
    member = ssm.instance_member(instance_body(1, view(1, health="healthy")), nic_body(1), LBS, "app1-vmss")
    assert member == {
        "name": "app1-vmss_1", "id": f"{VMSS_ID}/virtualMachines/1", "os_type": "Linux", "vm_size": "Standard_B1s",
        "update_domain": 1, "fault_domain": 1, "power_state": "running", "provisioning_state": "succeeded",
        "private_ip": "10.0.1.5", "network_interface": "app1-nic", "ip_configuration": "ipconfig",
        "nat_rules": [{"name": "ssh.1", "frontend_port": 50001, "backend_port": 22}], "nat_port": 50001,
        "tags": {"webfarm_app": "app1"},
        "instance_id": "1", "scale_set": "app1-vmss", "computer_name": "app1vmss000001",
        "latest_model_applied": True, "vm_health": "healthy"}


def test_an_instance_without_a_nat_rule_has_no_nat_port():
    member = ssm.instance_member(instance_body(2, view(2)), nic_body(2, nat=False), LBS, "app1-vmss")
    assert (member["nat_rules"], member["nat_port"], member["private_ip"]) == ([], None, "10.0.1.6")


def test_a_deallocated_instance_on_an_old_model():
    member = ssm.instance_member(instance_body(0, view(0, power="deallocated"), latest=False), nic_body(0), LBS,
                                 "app1-vmss")
    assert (member["power_state"], member["latest_model_applied"], member["nat_port"]) == ("deallocated", False, 50000)


def test_an_instance_without_instance_view_or_nic():
    member = ssm.instance_member(instance_body(1), None, LBS, "app1-vmss")
    assert (member["update_domain"], member["fault_domain"], member["power_state"], member["vm_health"]) == (
        None, None, "unknown", None)
    assert (member["private_ip"], member["nat_port"], member["computer_name"]) == (None, None, "app1vmss000001")


@pytest.mark.parametrize("instance_view, expected", [
    (view(0, health="healthy"), "healthy"),
    (view(0, health="Unhealthy"), "unhealthy"),
    ({"vmHealth": {"status": {"code": "HealthState/initializing"}}}, "initializing"),
    (view(0), None),
    (None, None),
])
def test_vm_health(instance_view, expected):
    assert ssm.vm_health(instance_view) == expected


def test_members_are_in_instance_id_order_and_found_by_their_primary_nic():
    instances = [instance_body(n, view(n)) for n in (10, 2, 0)]
    found = ssm.members_of("app1-vmss", instances, [nic_body(0), nic_body(10)], LBS)
    assert [(m["name"], m["nat_port"], m["private_ip"]) for m in found] == [
        ("app1-vmss_0", 50000, "10.0.1.4"), ("app1-vmss_2", None, None), ("app1-vmss_10", 50010, "10.0.1.14")]


def test_views_read_apart_fill_the_instances_that_came_without_one():
    listed = [instance_body(0, view(0)), instance_body(1), instance_body(2)]
    out = ssm.with_instance_views(listed, {listed[1]["id"]: view(1), listed[2]["id"]: None})
    assert [i["name"] for i in out] == ["app1-vmss_0", "app1-vmss_1"], "instance 2 was deleted since the list"
    assert out[1]["properties"]["instanceView"] == view(1)
    assert "instanceView" not in listed[1]["properties"], "the listed body is left as it was"


def test_scale_set_view():
    vmss = {"name": "app1-vmss", "id": VMSS_ID, "sku": {"name": "Standard_B1s", "capacity": 3}, "tags": {"a": "b"},
            "properties": {"upgradePolicy": {"mode": "Rolling"}, "platformFaultDomainCount": 2}}
    assert ssm.scale_set_view(vmss) == {"name": "app1-vmss", "id": VMSS_ID, "capacity": 3, "upgrade_mode": "Rolling",
                                        "fault_domains": 2, "tags": {"a": "b"}}


class FakeArm:
    """ARM as collect() reads it: the set, its instances (listed without instance views, as the
    lab does), their views, the set's NICs, the LB and its public IP; every request recorded.
    IDs compare case-insensitively, as on ARM."""

    subscription_id = "s"

    def __init__(self, vmss=True):
        self.requests = []
        self.bodies = {VMSS_ID: {"id": VMSS_ID, "name": "app1-vmss", "sku": {"capacity": 2}} if vmss else None,
                       LB_ID: lb_body(), PIP_ID: {"id": PIP_ID, "properties": {"ipAddress": "20.1.2.3"}},
                       f"{VMSS_ID}/virtualMachines/0/instanceView": view(0),
                       f"{VMSS_ID}/virtualMachines/1/instanceView": view(1, power="stopped")}
        self.bodies = {rid.lower(): body for rid, body in self.bodies.items()}
        self.lists = {f"{VMSS_ID}/virtualMachines": [instance_body(1), instance_body(0), instance_body(7)],
                      f"{VMSS_ID}/networkInterfaces": [nic_body(0), nic_body(1)]}

    def get(self, path, api_version, params=None):
        self.requests.append(("GET", path.replace(RG, ""), api_version, params))
        return self.bodies.get(path.lower())

    def list(self, path, api_version, params=None):
        self.requests.append(("LIST", path.replace(RG, ""), api_version, params))
        return self.lists[path]


def test_collect_reads_the_set_instances_views_nics_and_lb():
    arm = FakeArm()
    found = ssm.collect(arm, "app1-dev-rg", "app1-vmss", "app1-lb")
    assert found["public_ip"] == "20.1.2.3" and found["scale_set"]["capacity"] == 2
    assert [(m["name"], m["power_state"], m["update_domain"], m["nat_port"]) for m in found["members"]] == [
        ("app1-vmss_0", "running", 0, 50000), ("app1-vmss_1", "stopped", 1, 50001)], "instance 7 is gone"
    vmss = "/Microsoft.Compute/virtualMachineScaleSets/app1-vmss"
    assert sorted(arm.requests, key=str) == sorted([
        ("GET", vmss, "2024-07-01", None),
        ("GET", "/Microsoft.Network/loadBalancers/app1-lb", "2024-05-01", None),
        ("LIST", vmss + "/virtualMachines", "2024-07-01", {"$expand": "instanceView"}),
        ("GET", vmss + "/virtualMachines/0/instanceView", "2024-07-01", None),
        ("GET", vmss + "/virtualMachines/1/instanceView", "2024-07-01", None),
        ("GET", vmss + "/virtualMachines/7/instanceView", "2024-07-01", None),
        ("LIST", vmss + "/networkInterfaces", "2018-10-01", None),
        ("GET", "/Microsoft.Network/publicIPAddresses/app1-pip", "2024-05-01", None),
    ], key=str)


def test_collect_without_lb_reads_the_lb_of_the_nat_rules_but_no_public_ip():
    arm = FakeArm()
    found = ssm.collect(arm, "app1-dev-rg", "app1-vmss")
    assert found["public_ip"] is None and [m["nat_port"] for m in found["members"]] == [50000, 50001]
    assert not any("publicIPAddresses" in r[1] for r in arm.requests)


def test_collect_names_the_missing_scale_set():
    with pytest.raises(MissingResourceError, match="^scale_set: no scale set app1-vmss in resource group app1-dev-rg$"):
        ssm.collect(FakeArm(vmss=False), "app1-dev-rg", "app1-vmss")
