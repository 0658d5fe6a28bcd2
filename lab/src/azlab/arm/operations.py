"""Long-running operations as ARM reports them.

A write that Azure runs asynchronously is answered with 201/202 plus
``Azure-AsyncOperation`` (status document) and ``Location`` (final result) URLs and a
``Retry-After`` header; the SDK polls until the status is terminal. Without
Retry-After the SDK waits 30 s per poll, so it is always sent.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from azlab.settings import MANAGEMENT_HOST


@dataclass
class Operation:
    id: str
    namespace: str
    location: str
    resource_id: str
    kind: str  # "put", "delete" or "action"
    started: float
    done_at: float
    result: dict | None = None
    error: dict | None = None
    on_done: Callable[[], None] | None = field(default=None, repr=False)
    settled: bool = False
    #: What else must finish before the operation does (the data plane making a VM): returns
    #: None while pending, {} when done, {"result": body} when done with a result that only
    #: then exists (a run command's output), an ARM error {"code", "message"} when it failed.
    gate: Callable[[], dict | None] | None = field(default=None, repr=False)
    gate_timeout: float = 600.0

    def status(self, now: float) -> str:
        if now < self.done_at or not self._gate_passed(now):
            return "InProgress"
        return "Failed" if self.error else "Succeeded"

    def _gate_passed(self, now: float) -> bool:
        if self.gate is None:
            return True
        outcome = self.gate()
        if outcome is None and now - self.started < self.gate_timeout:
            return False
        if outcome is None:
            outcome = {"code": "OperationTimedOut", "message": f"The lab's data plane did not finish the operation "
                                                              f"within {self.gate_timeout:.0f} s."}
        if "result" in outcome:
            self.result = outcome["result"]
        elif outcome:
            self.error = outcome
        self.gate = None  # decided once
        return True

    def retry_after(self, now: float) -> int:
        if now < self.done_at:
            return max(0, math.ceil(self.done_at - now))
        return 1 if self.gate is not None else 0  # waiting for the data plane: poll each second

    def async_url(self, subscription: str, api_version: str) -> str:
        return (
            f"https://{MANAGEMENT_HOST}/subscriptions/{subscription}/providers/{self.namespace}"
            f"/locations/{self.location}/operations/{self.id}?api-version={api_version}"
        )

    def location_url(self, subscription: str, api_version: str) -> str:
        return (
            f"https://{MANAGEMENT_HOST}/subscriptions/{subscription}/providers/{self.namespace}"
            f"/locations/{self.location}/operationResults/{self.id}?api-version={api_version}"
        )


class Operations:
    """In-flight operations; ``settle`` runs the completions that are due."""

    def __init__(self, now: Callable[[], float] = time.time):
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()
        self.now = now

    def start(self, namespace: str, location: str, resource_id: str, kind: str, duration: float,
              on_done: Callable[[], None] | None = None, result: dict | None = None,
              gate: Callable[[], dict | None] | None = None) -> Operation:
        now = self.now()
        op = Operation(str(uuid.uuid4()), namespace, location or "global", resource_id, kind, now, now + duration,
                       result=result, on_done=on_done, gate=gate)
        with self._lock:
            self._ops[op.id] = op
        if duration <= 0:
            self._complete(op)
        return op

    def get(self, op_id: str) -> Operation | None:
        self.settle()
        with self._lock:
            return self._ops.get(op_id)

    def pending_for(self, resource_id: str) -> Operation | None:
        key = resource_id.lower()
        now = self.now()
        with self._lock:
            ops = [op for op in self._ops.values() if op.resource_id.lower() == key]
        return next((op for op in ops if op.status(now) == "InProgress"), None)

    def settle(self) -> None:
        now = self.now()
        with self._lock:
            due = [op for op in self._ops.values() if not op.settled and now >= op.done_at]
            # forget finished operations after an hour, as Azure does
            for op_id in [k for k, op in self._ops.items() if op.settled and now - op.done_at > 3600]:
                del self._ops[op_id]
        for op in due:
            self._complete(op)

    def _complete(self, op: Operation) -> None:
        with self._lock:
            if op.settled:
                return
            op.settled = True
        if op.on_done:
            op.on_done()
