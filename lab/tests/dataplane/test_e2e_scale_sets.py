"""End to end: a Uniform scale set's instances are real containers behind the real HAProxy.

The Azure SDK builds a VNet with an NSG, a Standard LB (pool, HTTP probe, rule, inbound NAT
pool 50000-50009 to SSH) and a scale set whose customData starts a web server. Checked on the
machine: the set's PUT ends once every instance's container runs, HTTP through the LB reaches
every instance by its computer name, SSH through each instance's NAT pool port reaches that
instance, a higher capacity adds a container that the LB serves (and its NAT port), a lower one
removes the chosen instances' containers (the LB stops sending to them, their NAT ports close),
deleting the set removes the rest and frees the NAT ports.
"""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from polling import wait_for
from scale_set_tier import container_id, custom_data, hostnames_through, runs

pytestmark = pytest.mark.dataplane

RG = "dp-vmss-rg"
LOCATION = "eastus"
def network_id(sub: str, kind: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Network/{kind}/{name}"


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    """Network, LB and a scale set of 2; returns the public IP and the SDK clients' set body."""
    cm, net = clients
    sub = cm._config.subscription_id
    keydir = tmp_path_factory.mktemp("vmss-ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")], check=True)
    from azure.mgmt.resource import ResourceManagementClient  # noqa: PLC0415 - SDK only where tests run
    ResourceManagementClient(cm._config.credential, sub).resource_groups.create_or_update(RG, {"location": LOCATION})
    nsg = net.network_security_groups.begin_create_or_update(RG, "vmss-nsg", {"location": LOCATION, "security_rules": [
        {"name": "allow-web", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
         "source_address_prefix": "Internet", "source_port_range": "*", "destination_address_prefix": "*",
         "destination_port_range": "80"},
        {"name": "allow-ssh", "priority": 210, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
         "source_address_prefix": "Internet", "source_port_range": "*", "destination_address_prefix": "*",
         "destination_port_range": "22"}]}).result()
    net.virtual_networks.begin_create_or_update(RG, "vmss-vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.81.0.0/16"]},
        "subnets": [{"name": "web", "address_prefix": "10.81.1.0/24", "network_security_group": {"id": nsg.id}}]}).result()
    pip = net.public_ip_addresses.begin_create_or_update(RG, "vmss-pip", {
        "location": LOCATION, "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static"}).result()
    lb_id = network_id(sub, "loadBalancers", "vmss-lb")
    net.load_balancers.begin_create_or_update(RG, "vmss-lb", {
        "location": LOCATION, "sku": {"name": "Standard"},
        "frontend_ip_configurations": [{"name": "fe", "public_ip_address": {"id": pip.id}}],
        "backend_address_pools": [{"name": "pool"}],
        "probes": [{"name": "web", "protocol": "Http", "port": 80, "request_path": "/", "interval_in_seconds": 5,
                    "probe_threshold": 1}],
        "load_balancing_rules": [{"name": "http", "frontend_ip_configuration": {"id": f"{lb_id}/frontendIPConfigurations/fe"},
                                  "backend_address_pool": {"id": f"{lb_id}/backendAddressPools/pool"},
                                  "probe": {"id": f"{lb_id}/probes/web"}, "protocol": "Tcp", "frontend_port": 80,
                                  "backend_port": 80}],
        "inbound_nat_pools": [{"name": "natpool", "frontend_ip_configuration": {
            "id": f"{lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp", "frontend_port_range_start": 50000,
            "frontend_port_range_end": 50009, "backend_port": 22}]}).result()
    # the tests are about instances, NAT ports and models: no overprovisioning (instance IDs 0, 1, 2, ...;
    # test_e2e_scale_set_repairs.py has it)
    body = {"location": LOCATION, "sku": {"name": "Standard_B1s", "capacity": 2}, "properties": {
        "orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"}, "overprovision": False,
        "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser",
                          "customData": custom_data("v1"), "linuxConfiguration": {
                              "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                                  {"path": "/home/azureuser/.ssh/authorized_keys",
                                   "keyData": (keydir / "id.pub").read_text()}]}}},
            "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                  "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                "primary": True, "ipConfigurations": [{"name": "ip", "properties": {
                    "subnet": {"id": network_id(sub, "virtualNetworks", "vmss-vnet") + "/subnets/web"},
                    "loadBalancerBackendAddressPools": [{"id": f"{lb_id}/backendAddressPools/pool"}],
                    "loadBalancerInboundNatPools": [{"id": f"{lb_id}/inboundNatPools/natpool"}]}}]}}]}}}}
    put_set(cm, body)
    return {"address": pip.ip_address, "body": body, "lab": dataplane_server.lab, "sub": sub, "key": keydir / "id"}


def put_set(cm, body: dict) -> None:
    """PUT the set through the SDK's pipeline (the model the lab keeps) and wait for the LRO."""
    models = cm.models()
    cm.virtual_machine_scale_sets.begin_create_or_update(
        RG, "web", models.VirtualMachineScaleSet.from_dict(body)).result()


def instance_ids(lab) -> list[str]:
    """This module's instances (other modules' sets may share the session's lab)."""
    return sorted(body["id"] for _, body in lab.store.list("Microsoft.Compute/virtualMachineScaleSets/virtualMachines")
                  if f"/resourcegroups/{RG}/".lower() in body["id"].lower())


def nat_ports(net) -> dict[str, int]:
    """{NAT rule name: frontend port} of the rules the instances got from the NAT pool."""
    return {rule.name: rule.frontend_port for rule in net.inbound_nat_rules.list(RG, "vmss-lb")}


def hostname_over_ssh(tier: dict, port: int) -> str | None:
    """The guest's hostname through the LB's frontend port (a NAT rule to SSH); None if not reached."""
    cmd = ["ssh", "-i", str(tier["key"]), "-p", str(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
           f"azureuser@{tier['address']}", "hostname"]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def refused(address: str, port: int) -> bool:
    """Nothing listens on the frontend port: the connection is refused at once."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def test_the_put_ends_with_every_instance_running_and_the_lb_serves_each(tier):
    ids = instance_ids(tier["lab"])
    assert len(ids) == 2 and all(runs(vm_id) for vm_id in ids), "the PUT ended before the containers ran"
    assert wait_for(lambda: hostnames_through(tier["address"]) == {"web000000 v1", "web000001 v1"}, timeout=180,
                    step=1)


def test_each_instance_is_reached_over_its_nat_pool_port(tier, clients):
    _, net = clients
    assert nat_ports(net) == {"natpool.0": 50000, "natpool.1": 50001}
    for port, hostname in ((50000, "web000000"), (50001, "web000001")):
        assert wait_for(lambda: hostname_over_ssh(tier, port) == hostname, timeout=120, step=2), \
            f"SSH on NAT port {port} did not reach {hostname}"


def test_a_higher_capacity_adds_a_served_instance_and_a_lower_one_removes_containers(tier, clients):
    cm, net = clients
    body = json.loads(json.dumps(tier["body"]))
    body["sku"]["capacity"] = 3
    put_set(cm, body)
    ids = instance_ids(tier["lab"])
    assert len(ids) == 3 and all(runs(vm_id) for vm_id in ids)
    assert wait_for(lambda: hostnames_through(tier["address"]) == {"web000000 v1", "web000001 v1", "web000002 v1"},
                    timeout=180, step=1)
    assert nat_ports(net) == {"natpool.0": 50000, "natpool.1": 50001, "natpool.2": 50002}
    assert wait_for(lambda: hostname_over_ssh(tier, 50002) == "web000002", timeout=120, step=2)
    body["sku"]["capacity"] = 1
    put_set(cm, body)
    left = instance_ids(tier["lab"])
    gone = sorted(set(ids) - set(left))
    assert len(left) == 1 and runs(left[0])
    # the PUT ended once the removed instances' containers were gone
    assert not any(runs(vm_id) for vm_id in gone)
    assert wait_for(lambda: len(hostnames_through(tier["address"])) == 1, timeout=60, step=1)
    (kept,) = nat_ports(net).values()
    assert wait_for(lambda: all(refused(tier["address"], port) for port in {50000, 50001, 50002} - {kept}),
                    timeout=60, step=1), "a removed instance's NAT port still listens"


def test_a_new_model_reimages_the_instances_by_the_upgrade_policy(tier, clients):
    """Manual: nothing until manualupgrade; Automatic: every instance at once. A reimage is a new
    container from the image with the new model's osProfile (here: its customData)."""
    cm, _ = clients
    (left,) = instance_ids(tier["lab"])
    name = container_id(left)
    body = json.loads(json.dumps(tier["body"]))
    body["sku"]["capacity"] = 1
    body["properties"]["virtualMachineProfile"]["osProfile"]["customData"] = custom_data("v2")
    put_set(cm, body)
    instance = cm.virtual_machine_scale_set_vms.get(RG, "web", left.rsplit("/", 1)[1])
    assert instance.latest_model_applied is False
    assert hostnames_through(tier["address"], 4) == {f"{instance.os_profile.computer_name} v1"}
    cm.virtual_machine_scale_sets.begin_update_instances(
        RG, "web", cm.models().VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=[instance.instance_id])).result()
    assert wait_for(lambda: hostnames_through(tier["address"], 4) == {f"{instance.os_profile.computer_name} v2"},
                    timeout=180, step=1), "manualupgrade did not reimage the instance"
    again = container_id(left)
    assert again != name, "a reimage is a new container"
    body["properties"]["upgradePolicy"] = {"mode": "Automatic"}
    body["properties"]["virtualMachineProfile"]["osProfile"]["customData"] = custom_data("v3")
    put_set(cm, body)
    # the PUT ended once the instance ran the new model
    assert runs(left)
    assert wait_for(lambda: hostnames_through(tier["address"], 4) == {f"{instance.os_profile.computer_name} v3"},
                    timeout=120, step=1)


def test_deleting_the_set_removes_its_containers_and_frees_the_nat_ports(tier, clients):
    cm, net = clients
    ids = instance_ids(tier["lab"])
    (port,) = nat_ports(net).values()
    cm.virtual_machine_scale_sets.begin_delete(RG, "web").result()
    assert wait_for(lambda: not any(runs(vm_id) for vm_id in ids), timeout=60)
    assert nat_ports(net) == {}
    assert wait_for(lambda: refused(tier["address"], port), timeout=60, step=1)
