"""Conformance: the real azure.azcollection modules against the lab, one playbook per
resource type (create, check mode, idempotent re-run, update, delete, error cases).
Each playbook asserts what Azure would answer; this test runs them and checks the
request log for what must (not) have been written."""

from __future__ import annotations

from pathlib import Path

import pytest

PLAYBOOKS = sorted(Path(__file__).parent.glob("azure_rm_*.yml"))

pytestmark = pytest.mark.modules


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_module_conformance(playbook, playbook_runner, lab_server):
    # every playbook works in its own resource group, named after the playbook
    result = playbook_runner(playbook, extra_vars={"rg": f"conf-{playbook.stem.replace('_', '-')}-rg"})
    assert "failed=0" in result.stdout
    assert "unreachable=0" in result.stdout
