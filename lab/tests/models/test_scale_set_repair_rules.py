"""Automatic repairs' rules (pure functions of models.compute.scale_set_repairs): the service
state, the grace period on the lab's time scale, what is never repaired, batches, suspension."""

from __future__ import annotations

import pytest

from azlab.models.compute import scale_set_repairs as repairs
from azlab.models.errors import ArmError

#: the time scale of these tests: an Azure minute lasts one second, the grace period (PT10M) ten
SECONDS_PER_MINUTE = 1.0


def scale_set(enabled: bool = True, **extra) -> dict:
    return {"name": "vmss", "properties": {"automaticRepairsPolicy": {
        "enabled": enabled, "gracePeriod": "PT10M", "repairAction": "Replace"}}, **extra}


def member(instance_id: int, **extra) -> dict:
    return {"instanceId": str(instance_id), "properties": {}, "_power": "running", "_power_goal": "running", **extra}


def plan(vmss: dict, members: list[dict], healthy: dict, since: dict, now: float = 100.0) -> repairs.Plan:
    return repairs.plan(vmss, members, healthy, since, now, SECONDS_PER_MINUTE)


def test_service_state_follows_the_policy_the_suspension_and_the_data_plane():
    assert repairs.service_state({"properties": {}}) is None
    assert repairs.service_state(scale_set(enabled=False)) == "NotRunning"
    assert repairs.service_state(scale_set()) == "Running"
    assert repairs.service_state(scale_set(), no_guest_reason="no data plane") == "NotRunning"
    vmss = scale_set()
    repairs.set_service_state(vmss, {"serviceName": "AutomaticRepairs", "action": "Suspend"})
    assert repairs.orchestration_services(vmss, None) == [{"serviceName": "AutomaticRepairs",
                                                            "serviceState": "Suspended"}]
    repairs.set_service_state(vmss, {"serviceName": "automaticrepairs", "action": "resume"})
    assert repairs.service_state(vmss) == "Running"


@pytest.mark.parametrize("body, status, target", [
    ({"action": "Suspend"}, 400, "serviceName"),
    ({"serviceName": "AutomaticRepairs", "action": "Pause"}, 400, "action"),
    ({"serviceName": "Other", "action": "Suspend"}, 400, "serviceName"),
])
def test_service_state_changes_are_checked(body, status, target):
    with pytest.raises(ArmError) as caught:
        repairs.set_service_state(scale_set(), body)
    assert (caught.value.status, caught.value.target) == (status, target)
    with pytest.raises(ArmError) as caught:
        repairs.set_service_state(scale_set(enabled=False), {"serviceName": "AutomaticRepairs", "action": "Suspend"})
    assert caught.value.status == 409


def test_an_unhealthy_instance_is_repaired_after_the_grace_period():
    group = [member(0), member(1)]
    healthy = {"0": True, "1": False}
    assert plan(scale_set(), group, healthy, {"0": 0.0, "1": 95.0}) == repairs.Plan(), "within its ten seconds"
    assert plan(scale_set(), group, healthy, {"0": 0.0, "1": 90.0}).repair == ("1",)
    assert plan(scale_set(), group, healthy, {"0": 0.0}) == repairs.Plan(), "a state change is under way"


@pytest.mark.parametrize("why", [
    {"properties": {"protectionPolicy": {"protectFromScaleIn": True}}},
    {"properties": {"protectionPolicy": {"protectFromScaleSetActions": True}}},
    {"_power": "stopped", "_power_goal": "stopped"},
    {"_failure": {"code": "VMProvisioningFailed", "message": "no"}},
])
def test_never_repaired(why):
    assert plan(scale_set(), [member(0, **why)], {"0": False}, {"0": 0.0}) == repairs.Plan()


@pytest.mark.parametrize("vmss", [
    scale_set(enabled=False), scale_set(_repairs_suspended=True), scale_set(_rolling={"code": "RollingForward"}),
    scale_set(_overprovision=["0", "1"]) | {"sku": {"capacity": 1}},
])
def test_no_repair_when_the_service_does_not_run_during_a_rolling_upgrade_or_of_a_candidate(vmss):
    vmss.setdefault("sku", {"capacity": 2})
    group = [member(0), member(1)]
    assert plan(vmss, group, {}, {"0": 0.0, "1": 0.0}).repair == ()


def test_batches_are_five_percent_and_count_repairs_under_way():
    assert [repairs.batch_size(n) for n in (1, 19, 20, 40, 100)] == [1, 1, 1, 2, 5]
    group = [member(n) for n in range(40)]
    since = {str(n): 0.0 for n in range(40)}
    assert plan(scale_set(), group, {}, since).repair == ("0", "1")
    group.append(member(40, _repairs_in_a_row=1))  # a replacement not yet running
    assert plan(scale_set(), group, {}, since).repair == ("0",)


def test_repeated_repairs_suspend_the_service_and_health_resets_the_count():
    group = [member(0, _repairs_in_a_row=3), member(1, _repairs_in_a_row=2)]
    assert plan(scale_set(), group, {"1": True}, {"0": 0.0, "1": 0.0}) == repairs.Plan(suspend=True,
                                                                                       recovered=("1",))
    group[0]["_repairs_in_a_row"] = 2
    assert plan(scale_set(), group, {"1": True}, {"0": 0.0, "1": 0.0}) == repairs.Plan(repair=("0",),
                                                                                       recovered=("1",))
