"""Roles azure_ha.webfarm.verify (tasks_from members) and rolling_patch (entry point plan) run
by ansible-playbook against the control-plane lab on a tier of its own (the plugin tests'
tier.yml, plus a scale set in its backend pool): the members both read (through preflight's
member_info.yml) for either variant, the run the plan decides (new, resumed from the
record, new again once completed), the members' progress in it, the batches and the hosts
it puts into the inventory; the report entry point after a run that stopped (the batch play's
facts set on the VMs). The batch entry point needs guests: tests/integration/playbooks/
test_rolling_patch.py and test_scale_set_variant.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PLAYBOOK = HERE / "rolling_patch_plan.yml"


@pytest.fixture(scope="module")
def tier(tier_factory):
    """A tier of its own: the test sets its rule health and its tags."""
    return tier_factory("wfr", "wfr-rolling-rg")


def set_health(tier, **states: str) -> None:
    """The rule health of VMs by index: set_health(tier, vm1="Up")."""
    for vm, state in states.items():
        index = int(vm.removeprefix("vm"))
        record_health(tier, tier.ip_configuration_id(index), f"10.0.0.{3 + index}", state)


def record_health(tier, ip_configuration: str, address: str, state: str) -> None:
    tier.lab.server.lab.store.record_health(tier.lb_id, f"{tier.app}-lb-rule-http", ip_configuration, address, state,
                                            f"{state}_test")


def batches(plan: dict) -> list[list[str]]:
    return [batch["vms"] for batch in plan["batches"]]


def test_the_plan_decides_the_run_and_resumes_it_from_the_tags(tier):
    lab = tier.lab
    set_health(tier, vm1="Up", vm2="Up", vm3="Up")
    vm1, vm2, vm3 = (f"{tier.app}-vm{n}" for n in (1, 2, 3))
    set_id = tier.id_of("Microsoft.Compute/availabilitySets", f"{tier.app}-as")

    # check mode: the plan, no write, no host
    mark = lab.mark()
    out = tier.workdir / "check.json"
    checked = lab.playbook(PLAYBOOK, check=True, extra_vars={
        "tier_app": tier.app, "tier_rg": tier.resource_group, "tier_out": str(out)})
    assert checked.returncode == 0, checked.output
    assert lab.writes_since(mark) == []
    assert " (new), drain by probe, check mode: nothing is changed" in checked.stdout, checked.stdout
    assert f"batch 1 (update domain 0: {vm1})" in checked.stdout

    # a new run: recorded on the set, the VMs in batch order into the inventory
    new = tier.run(PLAYBOOK)
    plan = new["plan"]
    assert plan["resumed"] is False and len(plan["run_id"]) == len("20261205T040000Z")
    assert batches(plan) == [[vm1], [vm2], [vm3]] and plan["batch_sizes"] == [1, 1, 1]
    assert plan["skipped_done"] == [] and plan["record_id"].lower() == set_id.lower()
    assert new["hosts"] == [50001, 50002, 50003]
    tags = tier.arm(set_id)["tags"]
    assert (tags["webfarm_patch_run"], tags["webfarm_patch_state"]) == (plan["run_id"], "running")

    # the run stopped: vm1 done, vm2 failed and left drained; the next run resumes it
    set_health(tier, vm2="Down")
    resumed = tier.run(PLAYBOOK, tier_progress={vm1: "done", vm2: "failed"}, tier_record_state="failed")["plan"]
    assert (resumed["run_id"], resumed["resumed"]) == (plan["run_id"], True)
    assert resumed["skipped_done"] == [vm1]
    assert batches(resumed) == [[vm2], [vm3]]

    # once completed, the next run is a new one: the VMs' tags of the last run do not count
    set_health(tier, vm2="Up")
    again = tier.run(PLAYBOOK, tier_record_state="completed")
    assert again["plan"]["resumed"] is False and again["plan"]["run_id"] >= plan["run_id"]
    assert again["plan"]["skipped_done"] == [] and batches(again["plan"]) == [[vm1], [vm2], [vm3]]


def test_a_scale_set_is_read_and_planned_from_its_own_tags(tier):
    lab = tier.lab
    scale_set = f"{tier.app}-vmss"
    set_id = tier.id_of("Microsoft.Compute/virtualMachineScaleSets", scale_set)
    made = lab.playbook(HERE / "rolling_patch_scale_set.yml", extra_vars={
        "tier_app": tier.app, "tier_rg": tier.resource_group, "tier_scale_set": scale_set,
        "tier_ssh_key": (tier.workdir / "id_ed25519.pub").read_text().strip()})
    assert made.returncode == 0, made.output
    read = tier.run(PLAYBOOK, tier_scale_set=scale_set, tier_plan=False)
    members = read["members"]
    assert [m["name"] for m in members] == [f"{scale_set}_0", f"{scale_set}_1"]
    assert all(m["instance_id"] and m["private_ip"] for m in members), members
    assert read["public_ip"]
    for member in members:
        record_health(tier, f"{set_id}/virtualMachines/{member['instance_id']}/networkInterfaces/"
                      f"{member['network_interface']}/ipConfigurations/{member['ip_configuration']}",
                      member["private_ip"], "Up")
    # instance 0 done by the recorded run; another run's progress tag is stale
    tagged = lab.playbook(HERE / "rolling_patch_scale_set.yml", extra_vars={
        "tier_app": tier.app, "tier_rg": tier.resource_group, "tier_scale_set": scale_set, "tier_tags": {
            "webfarm_patch_run": "r1", "webfarm_patch_state": "failed",
            "webfarm_patch_i0": "r1 done restore", "webfarm_patch_i7": "r0 done restore"}})
    assert tagged.returncode == 0, tagged.output

    mark = lab.mark()
    checked = tier.run(PLAYBOOK, tier_scale_set=scale_set)
    plan = checked["plan"]
    assert (plan["run_id"], plan["resumed"]) == ("r1", True)
    assert plan["skipped_done"] == [f"{scale_set}_0"] and batches(plan) == [[f"{scale_set}_1"]]
    assert plan["record_id"].lower() == set_id.lower() and plan["scale_set"] == scale_set
    tags = tier.arm(set_id)["tags"]
    assert (tags["webfarm_patch_run"], tags["webfarm_patch_state"]) == ("r1", "running")
    assert "webfarm_patch_i7" not in tags and tags["webfarm_patch_i0"] == "r1 done restore"
    # a tags-only PATCH of the set: no instance written
    assert [w for w in lab.writes_since(mark) if "/virtualMachines/" in w["path"]] == []


def test_the_report_says_what_each_vm_did_and_fails_naming_the_vm_and_step(tier, tmp_path):
    set_health(tier, vm1="Up", vm2="Up", vm3="Up")
    vm1, vm2, vm3 = (f"{tier.app}-vm{n}" for n in (1, 2, 3))
    result = tier.lab.playbook(HERE / "rolling_patch_report.yml", extra_vars={
        "tier_app": tier.app, "tier_rg": tier.resource_group, "tier_report_dir": str(tmp_path)})
    assert result.returncode != 0
    assert f"{vm2} failed at step reboot (Wait for the VM to come back: timed out)" in result.output, result.output
    report = json.loads((tmp_path / "rolling-patch-report-run.json").read_text())
    vms = report["vms"]
    assert {vm: (record["batch"], record["status"]) for vm, record in vms.items()} == {
        vm1: (1, "done"), vm2: (2, "failed"), vm3: (3, "not_started")}
    assert (vms[vm1]["rebooted"], vms[vm1]["version_after"], vms[vm1]["update_domain"]) == (True, "2.0.0", 0)
    assert (vms[vm2]["failed_step"], vms[vm2]["rebooted"]) == ("reboot", None)
    assert report["status"] == "failed"
    tags = tier.arm(tier.id_of("Microsoft.Compute/availabilitySets", f"{tier.app}-as"))["tags"]
    assert (tags["webfarm_patch_run"], tags["webfarm_patch_state"]) == ("report-run", "failed")
