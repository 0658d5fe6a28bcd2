"""Helpers the lab's test suites share (not fixtures: those are in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: the real Azure CLI, in its own venv (scripts/setup.sh): its pinned SDKs differ from azcollection's
AZ = os.environ.get("AZLAB_AZ") or shutil.which("az", path=str(REPO_ROOT / ".venv-azcli" / "bin"))


def run_playbook(playbook: Path, env: dict[str, str], extra_vars: dict | None = None, check: bool = False,
                 timeout: int = 900) -> subprocess.CompletedProcess:
    """Run a playbook against localhost with the lab's environment; return the result."""
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    env = {**env, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "default",
           "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)


def az_runner(lab_env: dict, config_dir: Path):
    """``run(*args)``: the Azure CLI against a lab, with its own config dir (MSAL caches
    tokens there)."""
    assert AZ, "the Azure CLI must be installed in CI (scripts/setup.sh creates .venv-azcli)"
    env = {**lab_env, "AZURE_CONFIG_DIR": str(config_dir), "AZURE_CORE_COLLECT_TELEMETRY": "false"}

    def run(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
        result = subprocess.run([AZ, *args, "--only-show-errors"], env=env, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode:
            secret = lab_env.get("AZURE_SECRET") or "\0"
            pytest.fail(f"az {' '.join(args).replace(secret, '***')} failed:\n{result.stderr.replace(secret, '***')}")
        return result

    return run


def az_login(run, lab_env: dict, secret: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """``az login --service-principal`` against the lab. The secret is passed as
    ``--password=<secret>``: a lab secret may start with '-', which ``-p <secret>`` would
    read as an option (the Azure CLI's own advice)."""
    return run("login", "--service-principal", "-u", lab_env["AZURE_CLIENT_ID"],
               f"--password={lab_env['AZURE_SECRET'] if secret is None else secret}",
               "--tenant", lab_env["AZURE_TENANT"], "-o", "none", check=check)
