"""Which NAT rule IDs a NIC ip configuration should hold (nic_nat_rules' decisions)."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import nat

LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/app1-lb"
OTHER_LB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/other-lb"
CONFIG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/app1-vm1-nic1/ipConfigurations/ipconfig1"


def rule(lb, name):
    return f"{lb}/inboundNatRules/{name}"


def nic(*configs):
    return {"name": "app1-vm1-nic1", "properties": {"ipConfigurations": list(configs)}}


def config(name, rules=(), primary=None):
    props = {"loadBalancerInboundNatRules": [{"id": r} for r in rules]}
    if primary is not None:
        props["primary"] = primary
    return {"name": name, "id": f"{CONFIG.rsplit('/', 1)[0]}/{name}", "properties": props}


def test_present_adds_missing_rules_after_the_current_ones():
    current = [rule(OTHER_LB, "x")]
    assert nat.planned_ids(current, LB, ["ssh-vm1", "ssh-vm1"], "present", False) == [rule(OTHER_LB, "x"), rule(LB, "ssh-vm1")]


def test_present_is_a_no_op_when_the_rule_is_there_in_another_spelling():
    current = [rule(LB.upper(), "SSH-VM1")]
    after = nat.planned_ids(current, LB, ["ssh-vm1"], "present", False)
    assert after == current
    assert nat.same_rules(current, after)


def test_exclusive_drops_other_rules_of_that_lb_only():
    current = [rule(LB, "ssh-vm1"), rule(LB, "admin-vm1"), rule(OTHER_LB, "keep")]
    after = nat.planned_ids(current, LB, ["ssh-vm1"], "present", True)
    assert after == [rule(LB, "ssh-vm1"), rule(OTHER_LB, "keep")]
    assert nat.names_on(after, LB) == ["ssh-vm1"]


def test_exclusive_with_no_rules_detaches_every_rule_of_that_lb():
    current = [rule(LB, "ssh-vm1"), rule(OTHER_LB, "keep")]
    assert nat.planned_ids(current, LB, [], "present", True) == [rule(OTHER_LB, "keep")]


def test_absent_removes_only_the_named_rules():
    current = [rule(LB, "ssh-vm1"), rule(LB, "admin-vm1")]
    assert nat.planned_ids(current, LB, ["admin-vm1", "never-attached"], "absent", False) == [rule(LB, "ssh-vm1")]


def test_same_rules_ignores_order_and_case():
    assert nat.same_rules([rule(LB, "a"), rule(LB, "b")], [rule(LB, "B").lower(), rule(LB, "a")])
    assert not nat.same_rules([rule(LB, "a")], [rule(LB, "a"), rule(LB, "b")])


def test_find_ip_configuration_by_name_or_primary():
    body = nic(config("ipconfig1", primary=False), config("ipconfig2", primary=True))
    assert nat.find_ip_configuration(body, "IPCONFIG1")["name"] == "ipconfig1"
    assert nat.find_ip_configuration(body)["name"] == "ipconfig2"
    assert nat.find_ip_configuration(body, "nope") is None
    assert nat.find_ip_configuration(nic(config("only")))["name"] == "only"


def test_with_rules_changes_one_ip_configuration_of_a_copy():
    body = nic(config("ipconfig1", [rule(LB, "a")]), config("ipconfig2", [rule(LB, "b")]))
    new = nat.with_rules(body, "ipconfig1", [rule(LB, "c")])
    assert nat.attached_ids(new["properties"]["ipConfigurations"][0]) == [rule(LB, "c")]
    assert nat.attached_ids(new["properties"]["ipConfigurations"][1]) == [rule(LB, "b")]
    assert nat.attached_ids(body["properties"]["ipConfigurations"][0]) == [rule(LB, "a")]


def test_label_is_lb_and_rule():
    assert nat.label(rule(LB, "ssh-vm1")) == "app1-lb/ssh-vm1"


@pytest.mark.parametrize("props, expected", [
    ({}, []),
    ({"backendIPConfiguration": {"id": CONFIG.upper()}}, []),
    ({"backendIPConfiguration": {"id": CONFIG.replace("vm1", "vm2")}}, ["already forwards to"]),
    ({"backendAddressPool": {"id": "pool"}, "frontendPortRangeStart": 50000}, ["port range"]),
])
def test_rule_problems(props, expected):
    lb = {"name": "app1-lb", "properties": {"inboundNatRules": [{"name": "ssh-vm1", "properties": props}]}}
    found = nat.rule_problems(lb, ["ssh-vm1"], CONFIG)
    assert len(found) == len(expected)
    for message, fragment in zip(found, expected):
        assert message.startswith("nat_rules: 'ssh-vm1'") and fragment in message


def test_rule_problems_names_a_missing_rule_and_the_existing_ones():
    lb = {"name": "app1-lb", "properties": {"inboundNatRules": [{"name": "ssh-vm1", "properties": {}}]}}
    assert nat.rule_problems(lb, ["ssh-vm9"], CONFIG) == [
        "nat_rules: load balancer app1-lb has no inbound NAT rule 'ssh-vm9' (it has: ssh-vm1)"]


def test_rule_problems_name_the_list_entry_they_come_from():
    lb = {"name": "app1-lb", "properties": {"inboundNatRules": [{"name": "ssh-vm1", "properties": {}}]}}
    assert nat.rule_problems(lb, ["ssh-vm9"], CONFIG, "network_interfaces[2].nat_rules") == [
        "network_interfaces[2].nat_rules: load balancer app1-lb has no inbound NAT rule 'ssh-vm9' (it has: ssh-vm1)"]


def test_listing_problems_accepts_distinct_nics_and_rules():
    assert nat.listing_problems([{"name": "vm1-nic1", "nat_rules": ["ssh-vm1"]},
                                 {"name": "vm2-nic1", "nat_rules": ["ssh-vm2", "admin-vm2"]}]) == []


def test_listing_problems_refuses_a_nic_listed_twice():
    assert nat.listing_problems([{"name": "vm1-nic1", "nat_rules": ["ssh-vm1"]},
                                 {"name": "VM1-nic1", "nat_rules": ["admin-vm1"]}]) == [
        "network_interfaces[1].name: VM1-nic1 is already network_interfaces[0]; list each network interface once"]


def test_listing_problems_refuses_a_rule_asked_for_two_nics():
    assert nat.listing_problems([{"name": "vm1-nic1", "nat_rules": ["ssh-vm1"]},
                                 {"name": "vm2-nic1", "nat_rules": ["ssh-vm2"]},
                                 {"name": "vm3-nic1", "nat_rules": ["SSH-vm1"]}]) == [
        "network_interfaces[2].nat_rules: 'SSH-vm1' is also asked for network_interfaces[0] (vm1-nic1); an inbound "
        "NAT rule forwards to one ip configuration"]
