"""Public IP addresses over HTTP (in-process): addresses from the lab's loopback range
(unique, stable, freed on delete), SKU and allocation rules, DNS labels, the
ipConfiguration back-reference and in-use deletes."""

from __future__ import annotations

import ipaddress

import pytest
from test_network_support import Net

from azlab.settings import PUBLIC_IP_RANGE, PUBLIC_IPV6_PREFIX, ipv6_twin


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


def test_pip_shape_and_defaults(net):
    pip = net.ok(net.pip(sku="Basic", method=None), 201)
    assert pip["sku"] == {"name": "Basic", "tier": "Regional"}
    props = pip["properties"]
    assert props["publicIPAllocationMethod"] == "Dynamic"
    assert props["publicIPAddressVersion"] == "IPv4"
    assert props["idleTimeoutInMinutes"] == 4
    assert props["provisioningState"] == "Succeeded" and props["resourceGuid"]
    assert ipaddress.ip_address(props["ipAddress"]) in ipaddress.ip_network(PUBLIC_IP_RANGE)


def test_addresses_skip_the_first_two_are_unique_and_stable(net):
    first = net.ok(net.pip("a"))["properties"]["ipAddress"]
    second = net.ok(net.pip("b"))["properties"]["ipAddress"]
    assert (first, second) == ("127.64.0.2", "127.64.0.3")
    updated = net.ok(net.pip("a", idleTimeoutInMinutes=10), 200)
    assert updated["properties"]["ipAddress"] == first
    assert updated["properties"]["idleTimeoutInMinutes"] == 10


def test_a_deleted_address_is_handed_out_again(net):
    net.ok(net.pip("a"))
    freed = net.ok(net.pip("b"))["properties"]["ipAddress"]
    assert net.delete("publicIPAddresses/b").status_code == 202
    assert net.ok(net.pip("c"))["properties"]["ipAddress"] == freed


def test_client_cannot_choose_the_address(net):
    pip = net.ok(net.pip("a", ipAddress="8.8.8.8"))
    assert pip["properties"]["ipAddress"] == "127.64.0.2"


def test_standard_must_be_static(net):
    net.error(net.pip(sku="Standard", method="Dynamic"), 400, "StandardAndStandardV2SkuPublicIPAddressesMustBeStatic",
              "properties.publicIPAllocationMethod")
    assert net.get("publicIPAddresses/pip1").status_code == 404


def test_standard_defaults_to_static(net):
    assert net.ok(net.pip(method=None))["properties"]["publicIPAllocationMethod"] == "Static"


def test_sku_is_fixed_at_creation_but_may_be_omitted_on_update(net):
    net.ok(net.pip(sku="Basic"))
    net.error(net.pip(sku="Standard"), 400, "SkuCannotBeChangedOnUpdate", "sku.name")
    body = {"location": "eastus", "properties": {"publicIPAllocationMethod": "Static"}, "tags": {"a": "b"}}
    assert net.ok(net.put("publicIPAddresses/pip1", body))["sku"]["name"] == "Basic"


@pytest.mark.parametrize("props, code, target", [
    ({"publicIPAddressVersion": "IPv6", "publicIPAllocationMethod": "Static"},
     "CannotSpecifyPublicIpAllocationMethodAsStaticForIpV6PublicIp", "properties.publicIPAllocationMethod"),
    ({"idleTimeoutInMinutes": 31}, "InvalidParameter", "properties.idleTimeoutInMinutes"),
    ({"publicIPAllocationMethod": "Sometimes"}, "InvalidRequestFormat", "properties.publicIPAllocationMethod"),
    ({"dnsSettings": {"domainNameLabel": "Bad_Label"}}, "InvalidDomainNameLabel", "properties.dnsSettings.domainNameLabel"),
])
def test_bad_input_names_the_property(net, props, code, target):
    body = {"location": "eastus", "sku": {"name": "Basic"}, "properties": props}
    net.error(net.put("publicIPAddresses/pip1", body), 400, code, target)


def test_dns_label_gives_fqdn_and_must_be_unique_in_region(net):
    pip = net.ok(net.pip("a", dnsSettings={"domainNameLabel": "webfarm-dev"}))
    assert pip["properties"]["dnsSettings"]["fqdn"] == "webfarm-dev.eastus.cloudapp.azure.com"
    net.error(net.pip("b", dnsSettings={"domainNameLabel": "webfarm-dev"}), 400, "DnsRecordInUse")
    again = net.ok(net.pip("a", dnsSettings={"domainNameLabel": "webfarm-dev"}), 200)
    assert again["properties"]["dnsSettings"]["fqdn"] == "webfarm-dev.eastus.cloudapp.azure.com"


def test_pip_used_by_a_frontend_shows_it_and_cannot_be_deleted(net):
    net.ok(net.pip())
    net.ok(net.lb())
    pip = net.ok(net.get("publicIPAddresses/pip1"))
    assert pip["properties"]["ipConfiguration"] == net.ref("loadBalancers/lb1/frontendIPConfigurations/fe")
    error = net.error(net.delete("publicIPAddresses/pip1"), 400, "PublicIPAddressCannotBeDeleted")
    assert "frontendIPConfigurations/fe" in error["message"]
    assert net.delete("loadBalancers/lb1").status_code == 202
    assert net.delete("publicIPAddresses/pip1").status_code == 202


def test_pip_serves_one_ip_configuration(net):
    net.ok(net.pip())
    net.ok(net.lb())
    net.error(net.lb("lb2"), 400, "PublicIPReferencedByMultipleIPConfigs")
    net.ok(net.vnet())
    net.error(net.nic(publicIPAddress=net.ref("publicIPAddresses/pip1")), 400, "PublicIPReferencedByMultipleIPConfigs")


def test_nic_may_use_a_public_ip(net):
    net.ok(net.vnet())
    net.ok(net.pip("nic-pip"))
    net.ok(net.nic(publicIPAddress=net.ref("publicIPAddresses/nic-pip")))
    pip = net.ok(net.get("publicIPAddresses/nic-pip"))
    assert pip["properties"]["ipConfiguration"] == net.ref("networkInterfaces/nic1/ipConfigurations/ipconfig1")


def test_a_lab_hands_out_public_ips_from_its_own_part_of_the_range(tmp_path):
    """Labs side by side on one machine (test workers) take disjoint parts of 127.64.0.0/16."""
    from azlab.arm.service import Lab
    from azlab.models.network.pip import allocate_public_ip
    from azlab.settings import LabSettings

    lab = Lab(LabSettings(state_dir=tmp_path / "s", public_ip_range="127.64.16.0/20"))
    assert allocate_public_ip(lab.context(), "/x/pip", "IPv4").startswith("127.64.16.")
    # and its IPv6 addresses from the twin of that part
    assert ipaddress.ip_address(allocate_public_ip(lab.context(), "/x/pip6", "IPv6")) in ipv6_twin(
        "127.64.16.0/20", PUBLIC_IPV6_PREFIX)
    lab.reset()
    assert allocate_public_ip(lab.context(), "/x/pip", "IPv4").startswith("127.64.16."), "a reset keeps the lab's part"
    with pytest.raises(ValueError, match="public_ip_range"):
        LabSettings(state_dir=tmp_path / "t", public_ip_range="10.0.0.0/24")
