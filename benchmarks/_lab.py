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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from azlab.client import client_environment
from azlab.server import LabServer
from azlab.settings import LabSettings

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


@dataclass
class Lab:
    server: LabServer
    env: dict[str, str]
    work: Path

    def playbook(self, playbook: str, extra: dict) -> tuple[float, str]:
        """Runs the playbook with the dev inventory; its wall time and output. A failed
        run ends the benchmark with the tail of its output."""
        cmd = [PLAYBOOK, playbook, "-i", "inventories/dev", "-e", json.dumps(extra)]
        start = time.perf_counter()
        done = subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
            raise SystemExit(f"{playbook} {json.dumps(extra)} failed (rc={done.returncode})")
        return elapsed, done.stdout

    def public_ip(self) -> str:
        for _rid, body in self.server.lab.store.list():
            if body.get("type", "").lower() == "microsoft.network/publicipaddresses":
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
