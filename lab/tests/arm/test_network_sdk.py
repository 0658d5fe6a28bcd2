"""The Azure SDK for Python (azure-mgmt-network) against a served lab: the architecture's
network built with the SDK's own models and pollers, and the load-balancing rule health
API (api 2024-05-01) driven through an ARM long-running-operation poller.

azure-mgmt-network 28 predates the health operation (it speaks 2024-03-01), so the test
sends the POST through the client's own pipeline and polls it with ARMPolling, exactly
as a generated ``begin_health`` does (final state via Location)."""

from __future__ import annotations

import pytest


pytestmark = pytest.mark.sdk

network = pytest.importorskip("azure.mgmt.network")
resource = pytest.importorskip("azure.mgmt.resource")

RG = "sdk-network-rg"
LOCATION = "eastus"


@pytest.fixture(scope="module")
def clients(sdk_credential):
    """Network and resource clients on the lab, through its proxy and CA (as `azlab env` sets up)."""
    credential, subscription = sdk_credential
    net = network.NetworkManagementClient(credential, subscription)
    rm = resource.ResourceManagementClient(credential, subscription)
    rm.resource_groups.create_or_update(RG, {"location": LOCATION})
    yield net, subscription
    rm.resource_groups.begin_delete(RG).result()


def rule_health(net, lb: str, rule: str):
    """POST .../loadBalancingRules/{rule}/health?api-version=2024-05-01 and poll it to the end."""
    from azure.core.polling import LROPoller
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    url = (f"/subscriptions/{net._config.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network"
           f"/loadBalancers/{lb}/loadBalancingRules/{rule}/health")
    request = HttpRequest("POST", net._client.format_url(url), params={"api-version": "2024-05-01"})
    initial = net._client._pipeline.run(request, stream=False)
    assert initial.http_response.status_code == 202
    polling = ARMPolling(0, lro_options={"final-state-via": "location"})
    return LROPoller(net._client, initial, lambda response: response.http_response.json(), polling).result()


def test_sdk_builds_the_tier_and_reads_rule_health(clients, lab_server):
    net, subscription = clients
    models = network.models
    rg_id = f"/subscriptions/{subscription}/resourceGroups/{RG}"
    lb_id = f"{rg_id}/providers/Microsoft.Network/loadBalancers/app-lb"

    vnet = net.virtual_networks.begin_create_or_update(RG, "app-vnet", models.VirtualNetwork(
        location=LOCATION, address_space=models.AddressSpace(address_prefixes=["10.40.0.0/16"]),
        subnets=[models.Subnet(name="app-subnet", address_prefix="10.40.1.0/24")])).result()
    assert vnet.subnets[0].provisioning_state == "Succeeded"
    subnet = net.subnets.get(RG, "app-vnet", "app-subnet")

    pip = net.public_ip_addresses.begin_create_or_update(RG, "app-pip", models.PublicIPAddress(
        location=LOCATION, sku=models.PublicIPAddressSku(name="Standard"), public_ip_allocation_method="Static",
        dns_settings=models.PublicIPAddressDnsSettings(domain_name_label="sdk-app"))).result()
    assert pip.ip_address.startswith("127.64.")
    assert pip.dns_settings.fqdn == "sdk-app.eastus.cloudapp.azure.com"

    def child(kind: str, name: str) -> models.SubResource:
        return models.SubResource(id=f"{lb_id}/{kind}/{name}")

    lb = net.load_balancers.begin_create_or_update(RG, "app-lb", models.LoadBalancer(
        location=LOCATION, sku=models.LoadBalancerSku(name="Standard"),
        frontend_ip_configurations=[models.FrontendIPConfiguration(name="fe", public_ip_address=models.PublicIPAddress(id=pip.id))],
        backend_address_pools=[models.BackendAddressPool(name="pool")],
        probes=[models.Probe(name="probe", protocol="Http", port=80, request_path="/healthz", interval_in_seconds=5,
                             number_of_probes=2, probe_threshold=2)],
        load_balancing_rules=[models.LoadBalancingRule(
            name="http", frontend_ip_configuration=child("frontendIPConfigurations", "fe"),
            backend_address_pool=child("backendAddressPools", "pool"), probe=child("probes", "probe"),
            protocol="Tcp", frontend_port=80, backend_port=80)],
        inbound_nat_rules=[models.InboundNatRule(
            name="ssh1", frontend_ip_configuration=child("frontendIPConfigurations", "fe"), protocol="Tcp",
            frontend_port=50001, backend_port=22)])).result()
    assert lb.probes[0].probe_threshold == 2

    nic = net.network_interfaces.begin_create_or_update(RG, "app-vm1-nic1", models.NetworkInterface(
        location=LOCATION, ip_configurations=[models.NetworkInterfaceIPConfiguration(
            name="ipconfig1", subnet=models.Subnet(id=subnet.id),
            load_balancer_backend_address_pools=[models.BackendAddressPool(id=f"{lb_id}/backendAddressPools/pool")],
            load_balancer_inbound_nat_rules=[models.InboundNatRule(id=f"{lb_id}/inboundNatRules/ssh1")])])).result()
    config = nic.ip_configurations[0]
    assert config.private_ip_address == "10.40.1.4"
    assert nic.dns_settings.dns_servers == [] and nic.mac_address.startswith("00-0D-3A")

    pool = net.load_balancer_backend_address_pools.get(RG, "app-lb", "pool")
    assert [c.id for c in pool.backend_ip_configurations] == [config.id]
    nat = net.inbound_nat_rules.get(RG, "app-lb", "ssh1")
    assert nat.backend_ip_configuration.id == config.id

    health = rule_health(net, "app-lb", "http")
    assert (health["up"], health["down"]) == (0, 1)
    assert health["loadBalancerBackendAddresses"][0]["reason"].startswith("Down_NoProbeResult")

    lab_server.lab.store.record_health(lb_id, "http", config.id, "10.40.1.4", "Up", "Up_Probe_Success")
    health = rule_health(net, "app-lb", "http")
    assert health["up"] == 1
    assert health["loadBalancerBackendAddresses"][0] == {
        "ipAddress": "10.40.1.4", "networkInterfaceIPConfigurationId": config.id,
        "state": "Up", "reason": "Up_Probe_Success"}

    with pytest.raises(Exception) as refused:
        net.subnets.begin_delete(RG, "app-vnet", "app-subnet").result()
    assert "InUseSubnetCannotBeDeleted" in str(refused.value)
    net.network_interfaces.begin_delete(RG, "app-vm1-nic1").result()
    net.load_balancers.begin_delete(RG, "app-lb").result()
    net.public_ip_addresses.begin_delete(RG, "app-pip").result()
    assert [p.name for p in net.public_ip_addresses.list(RG)] == []
