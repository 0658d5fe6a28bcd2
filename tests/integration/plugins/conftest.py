"""The tier the plugin tests share (built once per session on the control-plane lab) and a
helper that runs a test playbook and returns what it recorded."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
APP = "wfp"
RESOURCE_GROUP = "wfp-plugins-rg"


@dataclass
class Tier:
    lab: object
    app: str
    resource_group: str
    workdir: Path

    @property
    def subscription(self) -> str:
        return self.lab.env["AZURE_SUBSCRIPTION_ID"]

    def id_of(self, kind: str, name: str) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}/providers/"
                f"{kind}/{name}")

    @property
    def lb_id(self) -> str:
        return self.id_of("Microsoft.Network/loadBalancers", f"{self.app}-lb")

    def ip_configuration_id(self, index: int) -> str:
        return self.id_of("Microsoft.Network/networkInterfaces", f"{self.app}-vm{index}-nic1") + "/ipConfigurations/ipconfig1"

    def arm(self, resource_id: str) -> dict:
        """A resource as the lab stores it (no request, so the request log stays as the test left it)."""
        return self.lab.server.lab.store.get(resource_id)

    def run(self, playbook: str, check_ok: bool = True, **extra_vars) -> dict:
        """Run a playbook next to the test with the tier's names; returns the JSON it wrote to
        {{ tier_out }} (each test playbook saves its registered results there)."""
        out = self.workdir / f"{Path(playbook).stem}.json"
        out.unlink(missing_ok=True)
        result = self.lab.playbook(playbook, extra_vars={"tier_app": self.app, "tier_rg": self.resource_group,
                                                         "tier_out": str(out), **extra_vars})
        if check_ok:
            assert result.returncode == 0, result.output
        return json.loads(out.read_text()) if out.exists() else {"_output": result.output}


def build_tier(control_lab, workdir: Path, app: str = APP, resource_group: str = RESOURCE_GROUP) -> Tier:
    """fixtures/tier.yml run on the lab for this app, in this resource group."""
    key = workdir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    built = Tier(control_lab, app, resource_group, workdir)
    result = control_lab.playbook(HERE / "fixtures" / "tier.yml", extra_vars={
        "tier_app": app, "tier_rg": resource_group, "tier_ssh_key": key.with_suffix(".pub").read_text().strip()})
    assert result.returncode == 0, result.output
    return built


@pytest.fixture(scope="session")
def tier(control_lab, tmp_path_factory) -> Tier:
    return build_tier(control_lab, tmp_path_factory.mktemp("webfarm-plugins"))


@pytest.fixture(scope="session")
def tier_factory(control_lab, tmp_path_factory):
    """tier_factory(app, resource_group): a tier of its own, for tests that change what the
    shared tier's tests read (its health, its tags)."""
    return lambda app, resource_group: build_tier(control_lab, tmp_path_factory.mktemp(app), app, resource_group)
