"""scale_set_rolling_upgrade's reading of rollingUpgrades/latest."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils import rolling_upgrade


def latest(code, successful=0, failed=0, in_progress=0, pending=0, error=None):
    props = {"runningStatus": {"code": code, "startTime": "t0", "lastAction": "Start", "lastActionTime": "t0"},
             "progress": {"successfulInstanceCount": successful, "failedInstanceCount": failed,
                          "inProgressInstanceCount": in_progress, "pendingInstanceCount": pending},
             "policy": {"maxBatchInstancePercent": 34}}
    if error:
        props["error"] = error
    return {"properties": props, "location": "eastus"}


def test_a_running_upgrade_is_followed_and_a_completed_one_is_no_failure():
    view = rolling_upgrade.summary(latest("RollingForward", 1, 0, 1, 1))
    assert rolling_upgrade.running(view)
    assert rolling_upgrade.progress_line(view) == "RollingForward: 1 upgraded, 0 failed, 1 in progress, 1 pending"
    assert rolling_upgrade.failure(view, "vmss") is None
    done = rolling_upgrade.summary(latest("Completed", 3))
    assert not rolling_upgrade.running(done) and rolling_upgrade.failure(done, "vmss") is None
    assert rolling_upgrade.summary(None) is None and not rolling_upgrade.running(None)


def test_a_breach_or_a_cancel_is_a_failure_that_says_why():
    faulted = rolling_upgrade.summary(latest("Faulted", 0, 1, error={
        "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade", "message": "100% unhealthy"}))
    assert rolling_upgrade.failure(faulted, "vmss") == (
        "the rolling upgrade of vmss stopped: MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade: "
        "100% unhealthy (Faulted: 0 upgraded, 1 failed, 0 in progress, 0 pending)")
    cancelled = rolling_upgrade.summary(latest("Cancelled", 1))
    assert rolling_upgrade.failure(cancelled, "vmss") == (
        "the rolling upgrade of vmss was cancelled (Cancelled: 1 upgraded, 0 failed, 0 in progress, 0 pending)")
