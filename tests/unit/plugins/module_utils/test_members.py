"""Member assembly from raw ARM bodies (availability_set_member_info and the inventory plugin)."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import members

RG = "/subscriptions/s/resourceGroups/app1-dev-rg/providers"
LB_ID = f"{RG}/Microsoft.Network/loadBalancers/app1-lb"
PIP_ID = f"{RG}/Microsoft.Network/publicIPAddresses/app1-pip"


def lb_body():
    frontend = f"{LB_ID}/frontendIPConfigurations/app1-lb-frontend"
    return {"id": LB_ID, "name": "app1-lb", "properties": {
        "frontendIPConfigurations": [
            {"id": f"{LB_ID}/frontendIPConfigurations/internal", "properties": {"subnet": {"id": "s"}}},
            {"id": frontend, "properties": {"publicIPAddress": {"id": PIP_ID}}},
        ],
        "inboundNatRules": [
            {"id": f"{LB_ID}/inboundNatRules/ssh-vm1", "name": "ssh-vm1",
             "properties": {"frontendIPConfiguration": {"id": frontend}, "frontendPort": 50001, "backendPort": 22}},
            {"id": f"{LB_ID}/inboundNatRules/admin-vm1", "name": "admin-vm1",
             "properties": {"frontendIPConfiguration": {"id": frontend}, "frontendPort": 50100, "backendPort": 2222}},
        ]}}


def vm_body(index, power="running", os_type="Linux"):
    nic = f"{RG}/Microsoft.Network/networkInterfaces/app1-vm{index}-nic1"
    return {"id": f"{RG}/Microsoft.Compute/virtualMachines/app1-vm{index}", "name": f"app1-vm{index}",
            "tags": {"webfarm_app": "app1"},
            "properties": {
                "provisioningState": "Succeeded",
                "hardwareProfile": {"vmSize": "Standard_B1s"},
                "storageProfile": {"osDisk": {"osType": os_type}},
                "networkProfile": {"networkInterfaces": [{"id": nic + "-other", "properties": {"primary": False}},
                                                         {"id": nic, "properties": {"primary": True}}]},
                "instanceView": {"platformUpdateDomain": index % 5, "platformFaultDomain": index % 2, "statuses": [
                    {"code": "ProvisioningState/succeeded"}, {"code": f"PowerState/{power}"}]}}}


def nic_body(index, rules):
    nic = f"{RG}/Microsoft.Network/networkInterfaces/app1-vm{index}-nic1"
    return {"id": nic, "name": f"app1-vm{index}-nic1", "properties": {"ipConfigurations": [
        {"id": f"{nic}/ipConfigurations/ipconfig1", "name": "ipconfig1", "properties": {
            "primary": True, "privateIPAddress": f"10.0.0.{index + 3}",
            "loadBalancerInboundNatRules": [{"id": f"{LB_ID}/inboundNatRules/{r}"} for r in rules]}}]}}


def test_member_from_vm_nic_and_lb():
    lbs = {LB_ID.lower(): lb_body()}
    member = members.member(vm_body(1), nic_body(1, ["admin-vm1", "ssh-vm1"]), lbs)
    assert member == {
        "name": "app1-vm1", "id": f"{RG}/Microsoft.Compute/virtualMachines/app1-vm1", "os_type": "Linux",
        "vm_size": "Standard_B1s", "update_domain": 1, "fault_domain": 1, "power_state": "running",
        "provisioning_state": "succeeded", "private_ip": "10.0.0.4", "network_interface": "app1-vm1-nic1",
        "ip_configuration": "ipconfig1",
        "nat_rules": [{"name": "admin-vm1", "frontend_port": 50100, "backend_port": 2222},
                      {"name": "ssh-vm1", "frontend_port": 50001, "backend_port": 22}],
        "nat_port": 50001, "tags": {"webfarm_app": "app1"}}


def test_member_without_nic_or_unread_lb():
    member = members.member(vm_body(2, power="deallocated"), None, {})
    assert (member["power_state"], member["private_ip"], member["nat_rules"], member["nat_port"]) == (
        "deallocated", None, [], None)
    unread = members.member(vm_body(2), nic_body(2, ["ssh-vm2"]), {})
    assert unread["nat_rules"] == [{"name": "ssh-vm2", "frontend_port": None, "backend_port": None}]
    assert unread["nat_port"] is None


@pytest.mark.parametrize("backends, expected", [
    ([22, 3389], 22),
    ([3389, 5986], 5986),
    ([3389], 3389),
    ([2222, 8080], None),
    ([], None),
])
def test_nat_port_prefers_ssh_then_winrm_then_rdp(backends, expected):
    rules = [{"name": f"r{b}", "frontend_port": 50000 + b, "backend_port": b} for b in backends]
    assert members.nat_port(rules) == (None if expected is None else 50000 + expected)


def test_power_state():
    assert members.power_state({"statuses": [{"code": "PowerState/Stopped"}]}) == "stopped"
    assert members.power_state({"statuses": [{"code": "ProvisioningState/updating"}]}) == "unknown"
    assert members.power_state(None) == "unknown"


def test_primary_nic_and_ip_configuration():
    assert members.primary_nic_id(vm_body(1)).endswith("app1-vm1-nic1")
    only = {"properties": {"networkProfile": {"networkInterfaces": [{"id": "a"}, {"id": "b"}]}}}
    assert members.primary_nic_id(only) == "a"
    assert members.primary_nic_id({"properties": {}}) is None
    assert members.primary_ip_configuration(nic_body(1, []))["name"] == "ipconfig1"


def test_public_ip_comes_from_the_frontend_of_the_nat_rules():
    lb = lb_body()
    assert members.public_ip_id(lb, [f"{LB_ID}/inboundNatRules/ssh-vm1"]) == PIP_ID
    assert members.public_ip_id(lb) == PIP_ID
    assert members.public_ip_id({"properties": {"frontendIPConfigurations": []}}) is None


def test_availability_set_view():
    avset = {"name": "app1-as", "id": "x", "sku": {"name": "Aligned"}, "tags": {"webfarm_patch_state": "failed"},
             "properties": {"platformFaultDomainCount": 2, "platformUpdateDomainCount": 5}}
    assert members.availability_set_view(avset) == {"name": "app1-as", "id": "x", "fault_domains": 2,
                                                    "update_domains": 5, "sku": "Aligned",
                                                    "tags": {"webfarm_patch_state": "failed"}}


def test_availability_set_view_without_tags():
    avset = {"name": "app1-as", "id": "x", "properties": {}}
    assert members.availability_set_view(avset)["tags"] == {}


def test_lb_id_of_rule():
    assert members.lb_id_of_rule(f"{LB_ID}/inboundNatRules/ssh-vm1") == LB_ID
    assert members.lb_id_of_rule("/something/else") is None
