"""A long-running operation that waits for the data plane (azlab.arm.operations.Operation.gate):
in progress while the gate is pending, failed with the gate's error, done once decided."""

from __future__ import annotations

from azlab.arm.operations import Operations


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_operation_waits_for_its_gate_and_takes_its_verdict():
    clock, outcome = Clock(), {"value": None}
    ops = Operations(now=clock)
    op = ops.start("Microsoft.Compute", "eastus", "/x/vm1", "put", 2.0, gate=lambda: outcome["value"])
    assert op.status(clock.now) == "InProgress" and op.retry_after(clock.now) == 2
    clock.now += 5
    assert op.status(clock.now) == "InProgress", "the latency passed, the data plane has not finished"
    assert op.retry_after(clock.now) == 1
    assert ops.pending_for("/X/VM1") is op
    outcome["value"] = {"code": "AllocationFailed", "message": "no room"}
    assert op.status(clock.now) == "Failed" and op.error["code"] == "AllocationFailed"
    outcome["value"] = {}
    assert op.status(clock.now) == "Failed", "decided once"
    assert ops.pending_for("/x/vm1") is None


def test_a_passing_gate_succeeds_and_a_silent_one_times_out():
    clock = Clock()
    ops = Operations(now=clock)
    done = ops.start("Microsoft.Compute", "eastus", "/x/vm2", "put", 0, gate=lambda: {})
    assert done.status(clock.now) == "Succeeded" and done.error is None
    silent = ops.start("Microsoft.Compute", "eastus", "/x/vm3", "put", 0, gate=lambda: None)
    clock.now += silent.gate_timeout + 1
    assert silent.status(clock.now) == "Failed" and silent.error["code"] == "OperationTimedOut"
