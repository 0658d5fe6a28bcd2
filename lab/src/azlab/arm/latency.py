"""Latency profiles and injected faults.

``instant`` answers at once (tests); ``realistic`` makes each long-running operation
take roughly as long as on Azure, scaled by a factor (benchmarks).
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

# Seconds Azure typically takes, by (resource type, verb); unlisted long-running ones
# take DEFAULT_LRO_SECONDS.
REALISTIC_SECONDS = {
    ("microsoft.resources/resourcegroups", "DELETE"): 30.0,
    ("microsoft.network/virtualnetworks", "PUT"): 4.0,
    ("microsoft.network/virtualnetworks/subnets", "PUT"): 4.0,
    ("microsoft.network/networksecuritygroups", "PUT"): 3.0,
    ("microsoft.network/publicipaddresses", "PUT"): 3.0,
    ("microsoft.network/loadbalancers", "PUT"): 3.0,
    ("microsoft.network/networkinterfaces", "PUT"): 2.0,
    ("microsoft.compute/virtualmachines", "PUT"): 45.0,
    ("microsoft.compute/virtualmachines", "DELETE"): 30.0,
    ("microsoft.compute/virtualmachines", "POST"): 20.0,
    ("microsoft.compute/virtualmachines/extensions", "PUT"): 30.0,
    ("microsoft.compute/disks", "PUT"): 4.0,
    ("microsoft.storage/storageaccounts", "PUT"): 20.0,
}
DEFAULT_LRO_SECONDS = 3.0
# Round trip of a synchronous ARM call (GET, list, sync PUT) on Azure.
REALISTIC_SYNC_SECONDS = 0.15


@dataclass
class Profile:
    name: str = "instant"
    factor: float = 1.0

    def lro_seconds(self, full_type: str, verb: str) -> float:
        if self.name != "realistic":
            return 0.0
        return REALISTIC_SECONDS.get((full_type.lower(), verb), DEFAULT_LRO_SECONDS) * self.factor

    def sync_seconds(self) -> float:
        return REALISTIC_SYNC_SECONDS * self.factor if self.name == "realistic" else 0.0


PROFILES = ("instant", "realistic")


@dataclass
class Fault:
    """The next ``count`` requests matching method/path get ``status``."""

    status: int
    count: int = 1
    method: str = "*"
    path: str = ".*"
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.path, path, re.IGNORECASE) is not None


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        if fault.status not in (429, 500, 502, 503, 504):
            raise ValueError("status must be one of 429, 500, 502, 503, 504")
        re.compile(fault.path)
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]
