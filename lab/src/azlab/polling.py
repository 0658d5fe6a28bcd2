"""Polling for what the lab does in the background (data plane, autoscale, rolling upgrades):
shared by the lab's own tests and the collection's integration tests."""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float, step: float = 0.2):
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
