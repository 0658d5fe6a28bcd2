"""Replacing one VM of the tier (tier_preflight's replace decisions, pure)."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import tier_replace
from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_scale import ScaleRefused

RG = "/subscriptions/s/resourceGroups/app1-rg/providers/Microsoft.Compute/disks/"


def member(n, nic=None, app="app1"):
    return {"name": f"{app}-vm{n}", "id": f"/vms/{app}-vm{n}", "private_ip": f"10.0.1.{3 + n}",
            "network_interface": nic or f"{app}-vm{n}-nic1", "update_domain": n - 1, "fault_domain": (n - 1) % 2,
            "nat_port": 50000 + n}


def plan_vm(n, data_disk=False, app="app1"):
    name = f"{app}-vm{n}"
    return {"index": n, "name": name, "nic": name + "-nic1", "os_disk": name + "-osdisk",
            "data_disk": name + "-data1" if data_disk else None}


def body(n, os_disk=None, data=(), app="app1"):
    name = f"{app}-vm{n}"
    return {"name": name, "properties": {"storageProfile": {
        "osDisk": {"managedDisk": {"id": RG + (os_disk or name + "-osdisk")}},
        "dataDisks": [{"lun": lun, "managedDisk": {"id": RG + disk}} for lun, disk in data]}}}


TIER = [member(1), member(2), member(3)]
PLAN = [plan_vm(1), plan_vm(2), plan_vm(3)]
ALL_UP = {m["private_ip"]: "Up" for m in TIER}


def refusal(call):
    with pytest.raises(ScaleRefused) as refused:
        call()
    return refused.value.problems


def test_the_target_is_a_vm_of_the_tier_or_a_plan_vm_outside_the_set():
    assert tier_replace.find_target("APP1-VM2", TIER, [], "app1")["name"] == "app1-vm2"
    outsider = member(4)
    assert tier_replace.find_target("app1-vm4", TIER, [outsider], "app1") is outsider
    assert refusal(lambda: tier_replace.find_target("app1-vm9", TIER, [], "app1")) == [
        "webfarm_replace_vm: app1-vm9 is not a VM of this tier (its VMs: app1-vm1, app1-vm2, app1-vm3)"]
    assert refusal(lambda: tier_replace.find_target("", TIER, [], "app1"))[0].startswith(
        "webfarm_replace_vm: required by playbooks/replace_vm.yml; name the VM to replace, one of app1-vm1, ")


def test_a_run_that_would_also_change_the_size_is_refused():
    # the VM itself being "added" (it is outside the set) is the replacement, not a change
    assert tier_replace.find_target("app1-vm4", TIER, [member(4)], "app1", other_changes=["app1-vm4"])
    problems = refusal(lambda: tier_replace.find_target("app1-vm2", TIER, [], "app1", other_changes=["app1-vm3"]))
    assert problems[0].startswith("webfarm_vm_count: this run would also add or remove app1-vm3;")


def test_keeping_the_disks_attaches_them_and_keeps_the_nic():
    out = tier_replace.plan_replacement(member(2), body(2), TIER, PLAN, ALL_UP, keep_disks=True)
    assert out["plan_vm"] == PLAN[1] and out["nat_port"] == 50002
    assert out["remove_on_absent"] == []
    assert out["attach_os_disk"] == RG + "app1-vm2-osdisk" and out["attach_data_disks"] == []


def test_a_fresh_vm_deletes_the_old_disks_and_keeps_the_nic():
    out = tier_replace.plan_replacement(member(2), body(2), TIER, PLAN, ALL_UP, keep_disks=False)
    assert out["remove_on_absent"] == ["virtual_storage"]
    assert out["attach_os_disk"] is None and out["attach_data_disks"] == []


def test_a_vm_brought_in_from_outside_loses_a_nic_the_tier_does_not_name():
    stranger = member(4, nic="hand-made-nic")
    plan = PLAN + [plan_vm(4)]
    out = tier_replace.plan_replacement(stranger, body(4), TIER + [stranger], plan, ALL_UP, keep_disks=True)
    assert out["remove_on_absent"] == ["network_interfaces"]
    fresh = tier_replace.plan_replacement(stranger, body(4), TIER + [stranger], plan, ALL_UP, keep_disks=False)
    assert fresh["remove_on_absent"] == ["network_interfaces", "virtual_storage"]


def test_data_disks_are_attached_again_by_lun():
    plan = [plan_vm(1), plan_vm(2, data_disk=True), plan_vm(3)]
    out = tier_replace.plan_replacement(member(2), body(2, data=[(0, "app1-vm2-data1")]), TIER, plan, ALL_UP, True)
    assert out["attach_data_disks"] == [{"lun": 0, "managed_disk_id": RG + "app1-vm2-data1"}]


def test_replacing_the_only_healthy_vm_is_refused():
    only_vm2 = {"10.0.1.5": "Up", "10.0.1.4": "Down"}  # vm3 not reported at all: not Up either
    problems = refusal(lambda: tier_replace.plan_replacement(member(2), body(2), TIER, PLAN, only_vm2, True))
    assert problems == ["webfarm_replace_vm: app1-vm2 would leave no healthy VM serving: no other VM of the tier is "
                        "Up in the load balancer. Bring another VM back first (playbooks/verify.yml shows each VM's "
                        "health)"]
    # a broken VM itself may be down: what counts is the others
    others_up = {"10.0.1.4": "Up", "10.0.1.6": "Up"}
    assert tier_replace.plan_replacement(member(2), body(2), TIER, PLAN, others_up, True)["name"] == "app1-vm2"


def test_replacing_below_min_in_service_is_refused():
    problems = refusal(lambda: tier_replace.plan_replacement(member(2), body(2), TIER, PLAN, ALL_UP, True,
                                                             min_in_service=3))
    assert problems == ["webfarm_replace_vm: app1-vm2 would leave 2 healthy VMs serving (app1-vm1, app1-vm3), fewer "
                        "than rolling_patch_min_in_service (3)"]


def test_disks_the_tier_does_not_name_cannot_be_kept():
    problems = refusal(lambda: tier_replace.plan_replacement(
        member(2), body(2, os_disk="custom-disk", data=[(0, "extra")]), TIER, PLAN, ALL_UP, keep_disks=True))
    assert problems[0].startswith("webfarm_replace_keep_os_disk: app1-vm2's OS disk is custom-disk, not "
                                  "app1-vm2-osdisk as the tier names it")
    assert problems[1].startswith("webfarm_replace_keep_os_disk: app1-vm2 has data disk extra, the tier plans none")
    # fresh from the image, the old disks go: nothing to refuse
    out = tier_replace.plan_replacement(member(2), body(2, os_disk="custom-disk"), TIER, PLAN, ALL_UP, False)
    assert out["remove_on_absent"] == ["virtual_storage"]
