"""Fixtures for the collection's integration tests: the real azure_ha.webfarm content
(modules, roles, playbooks) run by ansible-playbook against the local Azure lab.

Run pytest from tests/integration (pytest-ansible would otherwise symlink the checkout
into ./collections when started at the root). ansible-playbook runs with the
repository root as its working directory, so ansible.cfg applies and
azure_ha.webfarm.* resolves to this checkout (collections/ link made by setup.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from azlab.client import AdminClient, client_environment
from azlab.loadgen import LoadConfig, LoadGenerator
from azlab.server import LabServer
from azlab.settings import LabSettings, side_by_side_public_ip_range

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
#: How long an Azure minute lasts in the data-plane labs of these tests (LabSettings.seconds_per_minute):
#: a rolling upgrade's wait for an upgraded instance to become healthy (Azure's 5 minutes) is
#: 100 s instead of 300 (test_scale_set_variant's broken model waits it out), still four times
#: what a healthy upgraded instance takes here (~25 s a batch); autoscale's windows and cooldowns
#: (5 min: 100 s) cannot scale the dev-vmss set out on a 2-core machine (3 instances of 1 vCPU
#: average at most 67 % CPU, the rule adds one above 70 %) nor in (it is at its minimum); the
#: autoscale test sets its own minute (6 s) and thresholds, and the next run of scale_set.yml
#: puts the inventory's back before it rolls a model out. Measured: the broken model's run
#: 128 s (334 s at 60 s per minute), the rollout and first run as before.
DATAPLANE_SECONDS_PER_MINUTE = 20.0


@dataclass
class PlaybookResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host: {"localhost": {"ok": 5, "changed": 0, ...}}."""
        recap: dict[str, dict[str, int]] = {}
        lines = self.stdout.splitlines()
        if "PLAY RECAP" not in self.stdout:
            return recap
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
        for line in lines[start + 1:]:
            if ":" not in line or "=" not in line:
                continue
            host, counters = line.split(":", 1)
            recap[host.strip()] = {k: int(v) for k, v in (item.split("=") for item in counters.split())}
        return recap


class Load:
    """The load generator in a thread for the duration of a `with` block: 8 clients, 50
    requests/s, a new connection each, the answering VM captured from /version.json."""

    def __init__(self, address: str, jsonl: Path):
        self.generator = LoadGenerator(LoadConfig(url=f"http://{address}/version.json", rate=50.0, clients=8,
                                                  capture_regex=r'"hostname": "([^"]+)"', jsonl=jsonl))
        self.summary: dict = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.summary = self.generator.run()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.generator.stop()
        self._thread.join(30)


class LabHandle:
    """A running lab plus what tests ask of it: environment, request-log marks, writes."""

    def __init__(self, server: LabServer):
        self.server = server
        self.settings = server.settings
        self.admin = AdminClient(server.settings)
        self.env = {**os.environ, **client_environment(server.settings)}

    def mark(self) -> int:
        return self.admin.call("GET", "mark")["mark"]

    def requests_since(self, mark: int, writes_only: bool = False) -> list[dict]:
        return self.admin.call("GET", f"log?since={mark}&writes={1 if writes_only else 0}")["requests"]

    def writes_since(self, mark: int) -> list[dict]:
        return self.requests_since(mark, writes_only=True)

    def resources(self, rtype: str) -> dict[str, dict]:
        """The lab's stored bodies of one resource type, by name."""
        return {body["name"]: body for _rid, body in self.server.lab.store.list()
                if body.get("type", "").lower() == rtype.lower()}

    def public_ip(self, name: str = "app1-pip") -> str:
        return self.resources("Microsoft.Network/publicIPAddresses")[name]["properties"]["ipAddress"]

    @staticmethod
    def pages_through_lb(address: str, count: int) -> list[dict]:
        """/version.json through the load balancer, a new connection each time (HAProxy
        spreads them); no proxy from the environment."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        pages = []
        for _attempt in range(count):
            with direct.open(f"http://{address}/version.json", timeout=10) as answer:
                pages.append(json.load(answer))
        return pages

    @staticmethod
    def load(address: str, jsonl: Path) -> Load:
        """``with lab.load(public IP, file) as load:`` ... ``load.summary`` afterwards."""
        return Load(address, jsonl)

    def playbook(self, playbook: str | Path, *, inventory: str | Path | None = None,
                 extra_vars: dict | None = None, check: bool = False, diff: bool = False,
                 tags: str | None = None, env: dict | None = None, timeout: int = 1800) -> PlaybookResult:
        """ansible-playbook <playbook> from the repo root with the lab's credentials."""
        cmd = [ANSIBLE_PLAYBOOK, str(playbook)]
        if inventory is not None:
            cmd += ["-i", str(inventory)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if tags:
            cmd += ["--tags", tags]
        run_env = {**self.env, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                   "ANSIBLE_LOCALHOST_WARNING": "0", **(env or {})}
        done = subprocess.run(cmd, env=run_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                              check=False)
        return PlaybookResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def control_lab(tmp_path_factory) -> LabHandle:
    """A lab without data plane (ARM only), on free ports, for module and validation tests."""
    server = LabServer(LabSettings(state_dir=tmp_path_factory.mktemp("azlab") / "state", arm_port=0, proxy_port=0))
    server.start()
    yield LabHandle(server)
    server.stop()


@pytest.fixture(scope="session")
def dataplane_lab() -> LabHandle:
    """A lab WITH its data plane (VM containers, HAProxy), one per test worker: its VNets are
    network namespaces of its own and its public IPs a /20 of its own, so the labs of two
    workers run side by side without touching each other. Its Azure minute lasts
    DATAPLANE_SECONDS_PER_MINUTE seconds.

    State in a short /tmp path (HAProxy's unix socket paths must fit in 107 bytes);
    teardown resets the lab, which removes its containers, namespaces and HAProxies."""
    from azlab.dataplane.controller import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"data plane unavailable: {reason}")
    state_dir = Path(tempfile.mkdtemp(prefix="azwf-"))
    server = LabServer(LabSettings(state_dir=state_dir / "s", arm_port=0, proxy_port=0,
                                   public_ip_range=side_by_side_public_ip_range(os.environ.get("PYTEST_XDIST_WORKER")),
                                   seconds_per_minute=DATAPLANE_SECONDS_PER_MINUTE), dataplane=True)
    server.start()
    yield LabHandle(server)
    server.lab.reset()
    server.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """A test that uses the data-plane lab is a "dataplane" one, whatever its author
    remembered: `make integration` runs those after the ARM-only ones, two at a time, each
    worker with its own lab."""
    for item in items:
        if "dataplane_lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dataplane)


def xdist_group(item) -> str | None:
    """The group pytest-xdist's --dist loadgroup gives a test: its xdist_group marks' names,
    sorted, joined by "_" (None: no mark)."""
    names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
             for mark in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) if names else None


class XdistGroups:
    """--dist loadgroup on a worker: every test of a group ends its node ID with "@<group>",
    which is what the controller groups by. pytest-xdist 3.8 writes that suffix into
    ``item._nodeid``, which pytest 9 no longer reads (``Node.nodeid`` is ``str(item._id)``), so
    with pytest 9.2 no test had it: every test was a group of its own, test_scale_set_variant's
    tests ran on both workers and each deployed the module's tier. This puts the suffix where
    the node ID comes from (after xdist's own hook; nothing to do where that one worked)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            group = xdist_group(item)
            if group is None or item.nodeid.endswith(f"@{group}"):
                continue
            grouped = f"{item.nodeid}@{group}"
            if hasattr(item, "_id"):  # pytest >= 9: a structured NodeId
                from _pytest.nodeid import NodeId
                item._id = NodeId.parse(grouped)
            else:
                item._nodeid = grouped
            if item.nodeid != grouped:
                raise pytest.UsageError(f"cannot put {item.nodeid} in its xdist_group {group}: "
                                        "its tests would be spread over the workers")


def pytest_configure(config):
    config.pluginmanager.register(XdistGroups(), "webfarm-xdist-groups")
