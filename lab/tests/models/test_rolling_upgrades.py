"""Azure's rules for a rolling upgrade's batches and checks (pure functions of
models.compute.rolling_upgrades)."""

from __future__ import annotations

import pytest

from azlab.models.compute import rolling_upgrades as rolling


def members(count: int) -> list[dict]:
    return [{"instanceId": str(n), "_model": 1} for n in range(count)]


def record(**policy) -> dict:
    return {"policy": {"maxBatchInstancePercent": 20, "maxUnhealthyInstancePercent": 20,
                       "maxUnhealthyUpgradedInstancePercent": 20, **policy}, "batch": [], "done": [], "failed": []}


@pytest.mark.parametrize("count, batch_percent, sick, expected", [
    (10, 20, 0, ["0", "1"]),          # 20% of ten
    (10, 20, 1, ["0"]),               # one unhealthy already: the batch shrinks to stay within 20%
    (2, 20, 0, ["0"]),                # at least one instance per batch
    (10, 100, 0, ["0", "1"]),         # the unhealthy limit caps the batch too
])
def test_batch_size_follows_both_percentages(count, batch_percent, sick, expected):
    group = members(count)
    healthy = {m["instanceId"]: int(m["instanceId"]) < count - sick for m in group}
    assert rolling.next_batch(record(maxBatchInstancePercent=batch_percent), group, group, healthy) == expected


def test_unhealthy_instances_go_first_only_when_prioritised():
    group = members(5)
    healthy = {"0": True, "1": True, "2": True, "3": True, "4": False}
    assert rolling.next_batch(record(), group, group, healthy) == ["0"]
    assert rolling.next_batch(record(prioritizeUnhealthyInstances=True), group, group, healthy) == ["4"]


def test_checks_before_and_after_a_batch():
    group = members(5)
    assert rolling.unhealthy_before_batch(record(), group, {m["instanceId"]: True for m in group}) is None
    one_sick = {**{m["instanceId"]: True for m in group}, "3": False}
    assert rolling.unhealthy_before_batch(record(), group, one_sick) is None, "20% is within 20%"
    two_sick = {**one_sick, "4": False}
    assert rolling.unhealthy_before_batch(record(), group, two_sick)["code"] == \
        "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    after = record()
    after.update(done=["0", "1", "2", "3"], failed=["4"])
    assert rolling.unhealthy_after_batch(after) is None, "one of five upgraded is 20%"
    after["done"] = ["0"]
    assert rolling.unhealthy_after_batch(after)["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"


def test_the_operation_that_started_an_upgrade_ends_with_it():
    assert rolling.outcome({"code": rolling.ROLLING_FORWARD}) is None
    assert rolling.outcome({"code": rolling.COMPLETED}) == {}
    assert rolling.outcome({"code": rolling.FAULTED, "error": {"code": "X", "message": "m"}}) == {"code": "X",
                                                                                                 "message": "m"}
    assert rolling.outcome({"code": rolling.CANCELLED})["code"] == "RollingUpgradeCancelled"
