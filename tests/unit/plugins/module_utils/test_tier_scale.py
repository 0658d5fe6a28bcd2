"""How the tier changes size (tier_preflight's scale decisions, pure)."""

from __future__ import annotations

from collections import Counter

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import tier_scale


def members(count, fault_domains=2, update_domains=5, numbers=None, app="app1"):
    """A set's members placed as Azure places VMs created one after another: UD and FD round robin."""
    numbers = numbers or range(1, count + 1)
    return [{"name": f"{app}-vm{n}", "update_domain": k % update_domains, "fault_domain": k % fault_domains}
            for k, n in enumerate(numbers)]


def spread(kept):
    """(max - min) VMs per fault domain and per update domain among the kept members."""
    fault = Counter(m["fault_domain"] for m in kept)
    update = Counter(m["update_domain"] for m in kept)
    return max(fault.values()) - min(fault.values()), max(update.values()) - min(update.values())


def test_vm_numbers_follow_the_naming_only():
    assert tier_scale.vm_number("app1", "APP1-VM12") == 12
    assert tier_scale.vm_number("app1", "app1-vm0") is None
    assert tier_scale.vm_number("app1", "app10-vm1") is None
    assert tier_scale.vm_number("app1", "other") is None


def test_a_first_run_and_a_scale_out_take_the_lowest_free_numbers():
    assert tier_scale.scale([], "app1", 3) == {"numbers": [1, 2, 3], "adding": [1, 2, 3], "leaving": []}
    out = tier_scale.scale(members(3), "app1", 5)
    assert out == {"numbers": [1, 2, 3, 4, 5], "adding": [4, 5], "leaving": []}
    # after a scale-in that took vm2, the next VM is vm2 again (NAT port base + 2)
    holes = members(2, numbers=[1, 3])
    assert tier_scale.scale(holes, "app1", 4)["adding"] == [2, 4]
    # a VM of the set that is not of this tier's naming is neither counted nor touched
    assert tier_scale.scale(members(2) + [{"name": "jumpbox", "update_domain": 0, "fault_domain": 0}],
                            "app1", 2) == {"numbers": [1, 2], "adding": [], "leaving": []}


def test_scale_in_keeps_fault_then_update_domains_balanced_and_numbers_low():
    # 5 VMs over 2 FDs (0,1,0,1,0) and 5 UDs: vm5 (FD 0 holds 3) leaves first, then the
    # highest of the FD-balanced rest
    out = tier_scale.scale(members(5), "app1", 3)
    assert [m["name"] for m in out["leaving"]] == ["app1-vm4", "app1-vm5"]
    assert out["numbers"] == [1, 2, 3] and out["adding"] == []
    # whatever the shape, the kept VMs are as balanced as the counts allow
    for count in range(2, 12):
        for target in range(1, count):
            tier = members(count, fault_domains=3, update_domains=5)
            leaving = {m["name"] for m in tier_scale.scale(tier, "app1", target)["leaving"]}
            kept = [m for m in tier if m["name"] not in leaving]
            assert len(kept) == target
            assert spread(kept)[0] <= 1, (count, target, kept)


def test_the_rule_prefers_the_crowded_fault_domain_over_the_highest_number():
    # vm1..vm3 in FD 0, vm4 alone in FD 1: the highest number (vm4) would empty FD 1
    tier = [{"name": f"app1-vm{n}", "update_domain": n - 1, "fault_domain": 0 if n < 4 else 1} for n in range(1, 5)]
    assert [m["name"] for m in tier_scale.scale(tier, "app1", 3)["leaving"]] == ["app1-vm3"]


def test_named_vms_leave_instead_of_the_chosen_ones():
    out = tier_scale.scale(members(4), "app1", 3, named=["APP1-VM2"])
    assert [m["name"] for m in out["leaving"]] == ["app1-vm2"] and out["numbers"] == [1, 3, 4]


@pytest.mark.parametrize("count, named, min_in_service, fragments", [
    (3, ["app1-vm9"], 0, ["webfarm_scale_in_vms: app1-vm9 is not a VM of this tier (its VMs: app1-vm1, app1-vm2, "
                          "app1-vm3, app1-vm4)"]),
    (2, ["app1-vm1"], 0, ["webfarm_scale_in_vms: names 1 VM, but webfarm_vm_count removes 2 of the tier's 4"]),
    (4, ["app1-vm1"], 0, ["removes 0 of the tier's 4"]),
    (2, [], 2, ["webfarm_vm_count: 2 would leave the tier with no VM to patch", "at least 3"]),
])
def test_refusals_name_the_variable_and_the_rule(count, named, min_in_service, fragments):
    with pytest.raises(tier_scale.ScaleRefused) as refused:
        tier_scale.scale(members(4), "app1", count, named=named, min_in_service=min_in_service)
    text = str(refused.value)
    assert all(fragment in text for fragment in fragments), text


def test_min_in_service_does_not_refuse_a_run_that_removes_nothing():
    assert tier_scale.scale(members(2), "app1", 2, min_in_service=5)["leaving"] == []
