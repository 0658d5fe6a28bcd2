"""What the playbook benchmarks share: a fresh data-plane lab and ansible-playbook
runs against it from the repository root (ansible.cfg applies)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from azlab.client import client_environment
from azlab.server import LabServer
from azlab.settings import LabSettings

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


# All podman containers of the lab (its VMs) are in this cgroup (cgroups v1, cgroupfs manager).
GUESTS_CPUACCT = Path("/sys/fs/cgroup/cpuacct/libpod_parent/cpuacct.usage")


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _guest_seconds() -> float:
    """CPU seconds used by the lab's VM containers so far (0 where the cgroup is not readable)."""
    try:
        return int(GUESTS_CPUACCT.read_text()) / 1e9
    except (OSError, ValueError):
        return 0.0


class CpuSampler:
    """Samples, twice a second, the machine's busy CPU seconds and those of the lab's VMs:
    on this machine the VMs' own work shares the CPUs with the controller, unlike on Azure."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.samples.append((time.perf_counter(), _machine_busy_seconds(), _guest_seconds()))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "CpuSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def between(self, start: float, end: float) -> tuple[float, float]:
        """(machine, VMs) busy CPU seconds between two perf_counter instants (nearest samples)."""
        def at(instant: float) -> tuple[float, float, float]:
            return min(self.samples, key=lambda sample: abs(sample[0] - instant))
        first, last = at(start), at(end)
        return last[1] - first[1], last[2] - first[2]


@dataclass
class Lab:
    server: LabServer
    env: dict[str, str]
    work: Path

    def playbook(self, playbook: str, extra: dict, inventory: str = "inventories/dev") -> tuple[float, str]:
        """Runs the playbook with the dev inventory (or ``inventory``); its wall time and output.
        A failed run ends the benchmark with the tail of its output."""
        _start, elapsed, stdout = self.timed_playbook(playbook, extra, inventory)
        return elapsed, stdout

    def timed_playbook(self, playbook: str, extra: dict,
                       inventory: str = "inventories/dev") -> tuple[float, float, str]:
        """playbook(), plus the perf_counter instant it started."""
        cmd = [PLAYBOOK, playbook, "-i", inventory, "-e", json.dumps(extra)]
        start = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
            raise SystemExit(f"{playbook} {json.dumps(extra)} failed (rc={done.returncode})")
        return start, elapsed, done.stdout

    def public_ip(self, name: str | None = None) -> str:
        """The address of the public IP ``name`` (the first one without a name)."""
        for _rid, body in self.server.lab.store.list():
            if body.get("type", "").lower() == "microsoft.network/publicipaddresses" and name in (None, body["name"]):
                return body["properties"]["ipAddress"]
        raise SystemExit("no public IP in the lab")


@contextlib.contextmanager
def fresh_lab(profile: str = "instant", factor: float = 1.0, ansible_env: dict | None = None) -> Iterator[Lab]:
    """A new lab with its data plane on free ports; reset (containers, networks, HAProxy
    removed) and its state deleted afterwards. The state path is short: HAProxy's unix
    socket paths must fit in 107 bytes."""
    work = Path(tempfile.mkdtemp(prefix="azbench-"))
    server = LabServer(LabSettings(state_dir=work / "s", arm_port=0, proxy_port=0), dataplane=True)
    server.start()
    try:
        server.lab.set_profile(profile, factor)
        env = {**os.environ, **client_environment(server.settings), "ANSIBLE_NOCOLOR": "1", **(ansible_env or {})}
        yield Lab(server, env, work)
    finally:
        server.lab.reset()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
