"""The nginx role's molecule scenario (molecule/nginx): two Debian 12 containers with
systemd, converge, idempotence (second run changed=0) and verify (page names
host/UD/FD/version, /healthz 200 -> 503 with the drain flag -> 200, nginx -t).

Runs `molecule test -s nginx` from the repository root with the lab's VM image
(built or re-imported from the cache by azlab) and the project's containers.conf.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
MOLECULE = Path(sys.executable).with_name("molecule")


def _podman_problem() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed"
    if os.geteuid() != 0:
        return "the molecule scenario uses rootful podman (like the lab): run as root"
    probe = subprocess.run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"],
                           env=_env(), capture_output=True, text=True, timeout=60, check=False)
    if probe.returncode != 0:
        return f"podman does not work here: {probe.stderr.strip()}"
    return None


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(REPO_ROOT / "lab" / "containers.conf"),
            "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0", "NO_COLOR": "1", **extra}


@pytest.mark.dataplane
@pytest.mark.xdist_group("tiers")
def test_nginx_role_molecule_scenario():
    problem = _podman_problem()
    if problem:
        pytest.skip(problem)
    from azlab.dataplane import image

    ref = image.ensure_image()
    started = time.monotonic()
    result = subprocess.run([str(MOLECULE), "test", "-s", "nginx"], cwd=REPO_ROOT,
                            env=_env(WEBFARM_MOLECULE_IMAGE=ref),
                            capture_output=True, text=True, timeout=1500, check=False)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"molecule test -s nginx failed ({elapsed:.0f} s):\n{output[-20000:]}"
    # each step must really have run, not been skipped or left out
    for step in ("converge", "idempotence", "verify"):
        # "nginx ➜ verify" with colours, "nginx > verify" without
        assert re.search(rf"nginx (➜|>) {step}: Executed: Successful", output), f"{step} did not run:\n{output[-20000:]}"
    print(f"molecule test -s nginx: {elapsed:.0f} s")
