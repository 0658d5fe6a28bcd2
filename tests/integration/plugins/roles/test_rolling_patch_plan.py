"""Role azure_ha.webfarm.rolling_patch, entry point plan, run by ansible-playbook against the
control-plane lab on a tier of its own (the plugin tests' tier.yml): the run it decides
(new, resumed from the availability set's record, new again once completed), the VMs'
progress tags of the run, the batches and the hosts it puts into the inventory. The batch
and report entry points need guests: tests/integration/playbooks/test_rolling_patch.py."""

from __future__ import annotations

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
        tier.lab.server.lab.store.record_health(tier.lb_id, f"{tier.app}-lb-rule-http", tier.ip_configuration_id(index),
                                                f"10.0.0.{3 + index}", state, f"{state}_test")


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
