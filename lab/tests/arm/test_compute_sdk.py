"""The Azure SDK for Python against a served lab: azure-mgmt-compute builds an availability
set and VMs with its own models and pollers, reads update/fault domains from the instance
view and drives power actions; azure-mgmt-storage creates an account whose blob endpoint
the storage data-plane client (Shared Key signed) can read."""

from __future__ import annotations

import pytest
from test_compute import ssh_public_key


pytestmark = pytest.mark.sdk

compute = pytest.importorskip("azure.mgmt.compute")
network = pytest.importorskip("azure.mgmt.network")
resource = pytest.importorskip("azure.mgmt.resource")
storage = pytest.importorskip("azure.mgmt.storage")
blob = pytest.importorskip("azure.storage.blob")

RG = "sdk-compute-rg"
LOCATION = "eastus"


@pytest.fixture(scope="module")
def clients(sdk_credential):
    """Clients on the lab, through its proxy and CA (as `azlab env` sets up)."""
    credential, subscription = sdk_credential
    rm = resource.ResourceManagementClient(credential, subscription)
    rm.resource_groups.create_or_update(RG, {"location": LOCATION})
    yield {"compute": compute.ComputeManagementClient(credential, subscription),
           "network": network.NetworkManagementClient(credential, subscription),
           "storage": storage.StorageManagementClient(credential, subscription)}
    rm.resource_groups.begin_delete(RG).result()


def make_nics(net, count: int) -> list[str]:
    net.virtual_networks.begin_create_or_update(RG, "vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.50.0.0/16"]},
        "subnets": [{"name": "s1", "address_prefix": "10.50.1.0/24"}]}).result()
    subnet = net.subnets.get(RG, "vnet", "s1")
    return [net.network_interfaces.begin_create_or_update(RG, f"vm{i}-nic1", {
        "location": LOCATION, "ip_configurations": [{"name": "ip1", "subnet": {"id": subnet.id}}]}).result().id
        for i in range(count)]


def test_sdk_places_vms_in_domains_and_drives_power(clients):
    cm = clients["compute"]
    models = cm.models()
    avset = cm.availability_sets.create_or_update(RG, "web-as", models.AvailabilitySet(
        location=LOCATION, sku=models.Sku(name="Aligned"), platform_fault_domain_count=2, platform_update_domain_count=3))
    assert (avset.platform_fault_domain_count, avset.platform_update_domain_count) == (2, 3)
    key = ssh_public_key()
    for i, nic in enumerate(make_nics(clients["network"], 3)):
        vm = cm.virtual_machines.begin_create_or_update(RG, f"vm{i}", models.VirtualMachine(
            location=LOCATION,
            hardware_profile=models.HardwareProfile(vm_size="Standard_B1s"),
            storage_profile=models.StorageProfile(image_reference=models.ImageReference(
                publisher="Debian", offer="debian-12", sku="12-gen2", version="latest")),
            os_profile=models.OSProfile(computer_name=f"web{i}", admin_username="azureuser",
                                        linux_configuration=models.LinuxConfiguration(
                                            disable_password_authentication=True,
                                            ssh=models.SshConfiguration(public_keys=[models.SshPublicKey(
                                                path="/home/azureuser/.ssh/authorized_keys", key_data=key)]))),
            network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic)]),
            availability_set=models.SubResource(id=avset.id))).result()
        assert vm.provisioning_state == "Succeeded" and vm.storage_profile.os_disk.os_type == "Linux"
    views = [cm.virtual_machines.instance_view(RG, f"vm{i}") for i in range(3)]
    assert [(v.platform_update_domain, v.platform_fault_domain) for v in views] == [(0, 0), (1, 1), (2, 0)]
    assert [v.computer_name for v in views] == ["web0", "web1", "web2"]
    assert len(cm.availability_sets.get(RG, "web-as").virtual_machines) == 3

    cm.virtual_machines.begin_power_off(RG, "vm1").result()
    expanded = cm.virtual_machines.get(RG, "vm1", expand="instanceView")
    assert [s.code for s in expanded.instance_view.statuses][-1] == "PowerState/stopped"
    cm.virtual_machines.begin_start(RG, "vm1").result()
    assert cm.virtual_machines.instance_view(RG, "vm1").statuses[-1].code == "PowerState/running"

    versions = cm.virtual_machine_images.list(LOCATION, "Debian", "debian-12", "12-gen2", top=1, orderby="name desc")
    assert [v.name for v in versions] == ["0.20250112.1990"]
    assert "Standard_B1s" in {s.name for s in cm.virtual_machine_sizes.list(LOCATION)}


def test_storage_account_and_its_blob_endpoint(clients):
    sm = clients["storage"]
    assert sm.storage_accounts.check_name_availability({"name": "sdkbootdiag1"}).name_available
    account = sm.storage_accounts.begin_create(RG, "sdkbootdiag1", {
        "location": LOCATION, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}).result()
    assert account.primary_endpoints.blob == "https://sdkbootdiag1.blob.core.windows.net/"
    key = sm.storage_accounts.list_keys(RG, "sdkbootdiag1").keys[0].value
    service = blob.BlobServiceClient(account.primary_endpoints.blob, credential=key)
    assert service.get_service_properties()["static_website"].enabled is False
    assert list(service.list_containers()) == []
    wrong = blob.BlobServiceClient(account.primary_endpoints.blob, credential={
        "account_name": "sdkbootdiag1", "account_key": "AAAA" + key[4:]})
    with pytest.raises(Exception, match="AuthenticationFailed"):
        wrong.get_service_properties()


def test_sdk_reads_a_scale_sets_nics_and_nat_pool_rules(clients):
    """azure-mgmt-network's scale set NIC operations and the NAT rules the instances get from a pool."""
    cm, net = clients["compute"], clients["network"]
    subnet = net.virtual_networks.begin_create_or_update(RG, "vmss-vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.51.0.0/16"]},
        "subnets": [{"name": "web", "address_prefix": "10.51.1.0/24"}]}).result().subnets[0]
    pip = net.public_ip_addresses.begin_create_or_update(RG, "vmss-pip", {
        "location": LOCATION, "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static"}).result()
    lb_id = f"{subnet.id.split('/providers/')[0]}/providers/Microsoft.Network/loadBalancers/vmss-lb"
    net.load_balancers.begin_create_or_update(RG, "vmss-lb", {
        "location": LOCATION, "sku": {"name": "Standard"},
        "frontend_ip_configurations": [{"name": "fe", "public_ip_address": {"id": pip.id}}],
        "backend_address_pools": [{"name": "pool"}],
        "inbound_nat_pools": [{"name": "natpool", "frontend_ip_configuration": {
            "id": f"{lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp", "frontend_port_range_start": 50000,
            "frontend_port_range_end": 50099, "backend_port": 22}]}).result()
    models = cm.models()
    cm.virtual_machine_scale_sets.begin_create_or_update(RG, "web", models.VirtualMachineScaleSet.from_dict({
        "location": LOCATION, "sku": {"name": "Standard_B1s", "capacity": 2}, "properties": {
            "orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser", "linuxConfiguration": {
                    "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                        {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": ssh_public_key()}]}}},
                "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                      "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
                "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                    "primary": True, "ipConfigurations": [{"name": "ip", "properties": {
                        "subnet": {"id": subnet.id},
                        "loadBalancerBackendAddressPools": [{"id": f"{lb_id}/backendAddressPools/pool"}],
                        "loadBalancerInboundNatPools": [{"id": f"{lb_id}/inboundNatPools/natpool"}]}}]}}]}}}})).result()
    instance_id = cm.virtual_machine_scale_set_vms.get(RG, "web", "1").id

    nics = list(net.network_interfaces.list_virtual_machine_scale_set_network_interfaces(RG, "web"))
    assert len(nics) == 2 and nics[1].virtual_machine.id == instance_id and nics[1].primary
    one = list(net.network_interfaces.list_virtual_machine_scale_set_vm_network_interfaces(RG, "web", "1"))
    assert [nic.id for nic in one] == [nics[1].id]
    nic = net.network_interfaces.get_virtual_machine_scale_set_network_interface(RG, "web", "1", "nic")
    ip = nic.ip_configurations[0]
    assert ip.private_ip_address == "10.51.1.5"
    assert [pool.id for pool in ip.load_balancer_backend_address_pools] == [f"{lb_id}/backendAddressPools/pool"]
    assert [rule.id for rule in ip.load_balancer_inbound_nat_rules] == [f"{lb_id}/inboundNatRules/natpool.1"]

    rules = {rule.name: rule for rule in net.inbound_nat_rules.list(RG, "vmss-lb")}
    assert {name: rule.frontend_port for name, rule in rules.items()} == {"natpool.0": 50000, "natpool.1": 50001}
    assert rules["natpool.1"].backend_ip_configuration.id == ip.id and rules["natpool.1"].backend_port == 22
    cm.virtual_machine_scale_sets.begin_delete(RG, "web").result()
    assert list(net.inbound_nat_rules.list(RG, "vmss-lb")) == []
