"""Unit tests of how scale set instances get their inbound NAT pool ports (no HTTP round trip)."""

from __future__ import annotations

import pytest

from azlab.models.errors import ArmError
from azlab.models.network.lb_nat_pools import choose_port, derived_rules, rule_name, split_rule_name

LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb"


@pytest.mark.parametrize("instance_id, taken, port", [
    (0, set(), 50000),                    # instance N takes rangeStart + N ...
    (3, {50000, 50001}, 50003),
    (12, set(), 50000),                   # ... when the range holds it, else the lowest free port
    (12, {50000, 50002}, 50001),
    (1, {50001}, 50000),                  # ... and when it is free
    (4, {50000, 50001, 50002, 50003}, 50004),
])
def test_an_instance_takes_start_plus_its_id_else_the_lowest_free_port(instance_id, taken, port):
    assert choose_port(50000, 50004, instance_id, taken) == port


def test_a_full_range_has_no_port():
    assert choose_port(50000, 50001, 0, {50000, 50001}) is None


def test_rule_names_split_back_even_with_dots_in_the_pool_name():
    assert rule_name("ssh.pool", 12) == "ssh.pool.12"
    assert split_rule_name("ssh.pool.12") == ("ssh.pool", 12)


def pool(name: str = "ssh", first: int = 50000, last: int = 50009, backend: int = 22) -> dict:
    return {"name": name, "id": f"{LB}/inboundNatPools/{name}", "properties": {
        "frontendIPConfiguration": {"id": f"{LB}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
        "frontendPortRangeStart": first, "frontendPortRangeEnd": last, "backendPort": backend,
        "idleTimeoutInMinutes": 4, "enableFloatingIP": False, "enableTcpReset": False}}


def held(*entries: tuple[str, int | None]) -> dict:
    return {name: {"port": port, "ipConfiguration": f"{LB}-nic/{name}"} for name, port in entries}


def test_rules_are_made_from_the_pool_as_it_is_now():
    rules, kept = derived_rules([pool(backend=2222)], [], held(("ssh.1", 50001), ("ssh.0", None)))
    assert [name for name, _ in rules] == ["ssh.0", "ssh.1"]
    assert rules[0][1] == {"frontendIPConfiguration": {"id": f"{LB}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
                           "backendPort": 2222, "idleTimeoutInMinutes": 4, "enableFloatingIP": False,
                           "enableTcpReset": False, "frontendPort": 50000}
    assert {name: entry["port"] for name, entry in kept.items()} == {"ssh.0": 50000, "ssh.1": 50001}


def test_a_port_the_range_lost_moves_and_the_others_stay():
    _, kept = derived_rules([pool(first=50002, last=50004)], [], held(("ssh.0", 50000), ("ssh.3", 50003)))
    assert {name: entry["port"] for name, entry in kept.items()} == {"ssh.0": 50002, "ssh.3": 50003}


def test_a_range_too_small_for_the_held_rules_is_refused_naming_the_pool():
    with pytest.raises(ArmError) as refused:
        derived_rules([pool(first=50000, last=50000)], [], held(("ssh.0", 50000), ("ssh.1", 50001)))
    assert refused.value.code == "InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts"
    assert refused.value.target == "properties.inboundNatPools[0].properties.frontendPortRangeEnd"


def test_a_pool_in_use_cannot_go_and_a_user_rule_cannot_take_a_held_name():
    with pytest.raises(ArmError) as refused:
        derived_rules([pool("other")], [], held(("ssh.0", 50000)))
    assert (refused.value.code, refused.value.target) == ("InUseInboundNatPoolCannotBeDeleted",
                                                          "properties.inboundNatPools")
    with pytest.raises(ArmError) as refused:
        derived_rules([pool()], [{"name": "SSH.0"}], held(("ssh.0", 50000)))
    assert refused.value.target == "properties.inboundNatRules"
