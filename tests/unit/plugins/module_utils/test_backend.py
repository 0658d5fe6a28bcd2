"""Which pool membership and admin state load_balancer_backend aims for, and the bodies it writes."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import backend

LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/app1-lb"
POOL = f"{LB}/backendAddressPools/app1-lb-backend-pool"
OTHER_POOL = f"{LB}/backendAddressPools/other"
NIC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces"
CONFIG1 = f"{NIC}/app1-vm1-nic1/ipConfigurations/ipconfig1"
CONFIG2 = f"{NIC}/app1-vm2-nic1/ipConfigurations/ipconfig1"
NAT = f"{LB}/inboundNatRules/ssh-vm1"


def address(config_id, admin=None, name=None):
    props = {"networkInterfaceIPConfiguration": {"id": config_id}}
    if admin is not None:
        props["adminState"] = admin
    return {"name": name or config_id.split("/")[-3] + "ipconfig1", "properties": props}


def pool(*addresses, pool_id=POOL):
    return {"id": pool_id, "name": pool_id.rsplit("/", 1)[1],
            "properties": {"loadBalancerBackendAddresses": list(addresses), "loadBalancingRules": [{"id": "r"}]}}


def lb(*pools):
    return {"id": LB, "name": "app1-lb", "properties": {"backendAddressPools": list(pools)}}


def nic(pools=(POOL,), nat=(NAT,)):
    return {"id": f"{NIC}/app1-vm1-nic1", "name": "app1-vm1-nic1", "properties": {
        "enableAcceleratedNetworking": False,
        "ipConfigurations": [{"id": CONFIG1, "name": "ipconfig1", "properties": {
            "primary": True, "privateIPAddress": "10.0.0.4",
            "loadBalancerBackendAddressPools": [{"id": p} for p in pools],
            "loadBalancerInboundNatRules": [{"id": n} for n in nat]}}]}}


def config_of(body):
    return body["properties"]["ipConfigurations"][0]


def test_find_pool_is_case_insensitive_and_lists_names():
    balancer = lb(pool(), pool(pool_id=OTHER_POOL))
    assert backend.find_pool(balancer, "APP1-LB-BACKEND-POOL")["id"] == POOL
    assert backend.find_pool(balancer, "missing") is None
    assert backend.pool_names(balancer) == ["app1-lb-backend-pool", "other"]
    assert backend.pool_names({"properties": {}}) == []


def test_membership_is_read_from_the_ip_configuration():
    assert backend.is_member(config_of(nic()), POOL.upper())
    assert not backend.is_member(config_of(nic(pools=(OTHER_POOL,))), POOL)
    assert not backend.is_member({"properties": {}}, POOL)


def test_find_address_matches_the_ip_configuration_id():
    found = pool(address(CONFIG2, "Down"), address(CONFIG1.upper()))
    assert backend.find_address(found, CONFIG1)["name"] == "APP1-VM1-NIC1ipconfig1"
    assert backend.find_address(pool(address(CONFIG2)), CONFIG1) is None


@pytest.mark.parametrize("entry, expected", [
    (address(CONFIG1), "None"),
    (address(CONFIG1, "Down"), "Down"),
    (address(CONFIG1, "Up"), "Up"),
    (None, None),
])
def test_admin_state_defaults_to_none_the_string(entry, expected):
    assert backend.admin_state(entry) == expected


@pytest.mark.parametrize("member, admin, expected", [
    (True, "None", True), (True, "Up", True), (True, "Down", False), (False, None, False), (False, "None", False),
])
def test_in_rotation_needs_membership_and_no_admin_down(member, admin, expected):
    assert backend.in_rotation(member, admin) is expected


@pytest.mark.parametrize("method, state, member, admin, expected", [
    ("admin_state", "out_of_rotation", True, "None", (True, "Down")),
    ("admin_state", "out_of_rotation", True, "Down", (True, "Down")),
    ("admin_state", "in_rotation", True, "Down", (True, "None")),
    # Up forces flows past a failing probe: back in rotation means the probe decides again
    ("admin_state", "in_rotation", True, "Up", (True, "None")),
    ("pool", "out_of_rotation", True, "None", (False, None)),
    ("pool", "out_of_rotation", False, None, (False, None)),
    ("pool", "in_rotation", False, None, (True, "None")),
    # already a member: the admin state is not the pool method's business
    ("pool", "in_rotation", True, "Down", (True, "Down")),
])
def test_planned(method, state, member, admin, expected):
    assert backend.planned(method, state, member, admin) == expected


def test_with_admin_state_changes_one_address_and_leaves_the_read_body_alone():
    read = pool(address(CONFIG1), address(CONFIG2, "Down"))
    body = backend.with_admin_state(read, CONFIG1, "Down")
    assert [backend.admin_state(a) for a in body["properties"]["loadBalancerBackendAddresses"]] == ["Down", "Down"]
    assert body["properties"]["loadBalancingRules"] == [{"id": "r"}]
    assert body["id"] == POOL
    assert "adminState" not in read["properties"]["loadBalancerBackendAddresses"][0]["properties"]
    back = backend.with_admin_state(body, CONFIG2, "None")
    assert [backend.admin_state(a) for a in back["properties"]["loadBalancerBackendAddresses"]] == ["Down", "None"]


def test_with_membership_removes_only_that_pool_and_keeps_nat_rules():
    read = nic(pools=(OTHER_POOL, POOL.upper()))
    body = backend.with_membership(read, "ipconfig1", POOL, False)
    props = config_of(body)["properties"]
    assert props["loadBalancerBackendAddressPools"] == [{"id": OTHER_POOL}]
    assert props["loadBalancerInboundNatRules"] == [{"id": NAT}]
    assert props["privateIPAddress"] == "10.0.0.4" and body["properties"]["enableAcceleratedNetworking"] is False
    assert len(config_of(read)["properties"]["loadBalancerBackendAddressPools"]) == 2


def test_with_membership_adds_the_pool_once():
    body = backend.with_membership(nic(pools=()), "IPCONFIG1", POOL, True)
    assert config_of(body)["properties"]["loadBalancerBackendAddressPools"] == [{"id": POOL}]
    again = backend.with_membership(body, "ipconfig1", POOL, True)
    assert config_of(again)["properties"]["loadBalancerBackendAddressPools"] == [{"id": POOL}]
    assert config_of(again)["properties"]["loadBalancerInboundNatRules"] == [{"id": NAT}]
