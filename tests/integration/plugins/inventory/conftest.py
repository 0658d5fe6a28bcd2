"""`ansible-inventory` run against the session's lab, for the inventory plugin tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_INVENTORY = str(Path(sys.executable).with_name("ansible-inventory"))


def unwrap(value):
    """ansible-inventory marks inventory strings unsafe ({"__ansible_unsafe": "..."}): plain values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class InventoryCli:
    """`ansible-inventory -i <source> --list` from the repository root with the lab's credentials."""

    def __init__(self, lab):
        self.lab = lab

    def run(self, source: Path) -> subprocess.CompletedProcess:
        return subprocess.run([ANSIBLE_INVENTORY, "-i", str(source), "--list"],
                              env={**self.lab.env, "ANSIBLE_NOCOLOR": "1"}, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=300, check=False)

    def list(self, source: Path) -> dict:
        """The inventory as JSON; the run must succeed without a warning."""
        done = self.run(source)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "[WARNING]" not in done.stderr, done.stderr
        return unwrap(json.loads(done.stdout))

    def error(self, source: Path) -> str:
        """The output of a run that must fail, on one line."""
        done = self.run(source)
        assert done.returncode != 0 or "[WARNING]" in done.stderr, done.stdout
        return " ".join((done.stdout + done.stderr).split())


@pytest.fixture
def inventory_cli(tier) -> InventoryCli:
    return InventoryCli(tier.lab)
