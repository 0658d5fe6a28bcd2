"""Shared fixtures: an in-process lab (moto's pattern) and a lab served over the network
that the real azure.azcollection modules, the SDK and the CLI talk to."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from werkzeug.test import Client

from azlab.arm.app import ArmApp
from azlab.arm.service import Lab
from azlab.client import client_environment
from azlab.settings import MANAGEMENT_HOST, LabSettings, side_by_side_public_ip_range
from helpers import run_playbook

CONFORMANCE_DIR = Path(__file__).parent / "conformance"


class ArmClient:
    """An authenticated in-process ARM client: ``arm.put(path, body, api)``."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.client = Client(ArmApp(lab))
        token = lab.tokens.issue(lab.identity.tenant_id, {
            "grant_type": "client_credentials", "client_id": lab.identity.client_id,
            "client_secret": lab.identity.client_secret, "scope": f"https://{MANAGEMENT_HOST}/.default",
        }, None)["access_token"]
        self.headers = {"Authorization": f"Bearer {token}", "Host": MANAGEMENT_HOST}
        self.sub = f"/subscriptions/{lab.identity.subscription_id}"

    def request(self, method: str, path: str, body=None, api: str = "2024-05-01", raw: bytes | None = None):
        if not path.startswith("/subscriptions"):
            path = self.sub + path
        sep = "&" if "?" in path else "?"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.open(f"{path}{sep}api-version={api}", method=method, data=data,
                                headers={**self.headers, "Content-Type": "application/json"}, base_url=f"https://{MANAGEMENT_HOST}")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)


@pytest.fixture
def lab(tmp_path) -> Lab:
    return Lab(LabSettings(state_dir=tmp_path / "state"))


@pytest.fixture
def guests_run(monkeypatch):
    """The control plane as a lab with a data plane sees it: guests run (what they did is
    reported by the test, through the data plane's own API in models.compute.state)."""
    context = Lab.context

    def with_guests(self):
        ctx = context(self)
        ctx.no_guest_reason = None
        return ctx

    monkeypatch.setattr(Lab, "context", with_guests)


@pytest.fixture
def arm(lab) -> ArmClient:
    """In-process ARM client on a fresh lab (no sockets, no TLS)."""
    return ArmClient(lab)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """A real lab on free ports for the session (ARM over TLS behind the CONNECT proxy)."""
    from azlab.server import LabServer

    settings = LabSettings(state_dir=tmp_path_factory.mktemp("azlab") / "state", arm_port=0, proxy_port=0)
    server = LabServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dataplane_server():
    """A lab WITH its data plane (containers, HAProxy) for the data-plane tests only, one per
    test worker (its own VNet namespaces and public IP range: workers run side by side).

    Its state lives in a short /tmp directory: HAProxy's unix socket paths must fit in
    107 bytes. Teardown resets the lab, which removes every container, network and HAProxy.
    """
    import shutil
    import tempfile

    from azlab.dataplane.controller import unavailable_reason
    from azlab.server import LabServer

    reason = unavailable_reason()
    if reason:
        pytest.skip(f"data plane unavailable: {reason}")
    state_dir = Path(tempfile.mkdtemp(prefix="azdp-"))
    server = LabServer(LabSettings(state_dir=state_dir / "s", arm_port=0, proxy_port=0, public_ip_range=
                                   side_by_side_public_ip_range(os.environ.get("PYTEST_XDIST_WORKER"))),
                       dataplane=True)
    server.start()
    yield server
    server.lab.reset()
    server.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def lab_env(lab_server) -> dict[str, str]:
    """The environment an Azure client needs to reach the session's lab."""
    return {**os.environ, **client_environment(lab_server.settings)}


@pytest.fixture(scope="session")
def sdk_credential(lab_server):
    """(credential, subscription id) for Azure SDK clients on the session's lab.

    The SDK reads the proxy and CA bundle from the environment, as after `azlab env`."""
    from azure.identity import ClientSecretCredential

    patch = pytest.MonkeyPatch()
    env = client_environment(lab_server.settings)
    for key in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy"):
        patch.setenv(key, env[key])
    yield ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"]), env["AZURE_SUBSCRIPTION_ID"]
    patch.undo()


@pytest.fixture(scope="session")
def playbook_runner(lab_env):
    def run(playbook: str | Path, **kwargs) -> subprocess.CompletedProcess:
        path = Path(playbook)
        if not path.is_absolute():
            path = CONFORMANCE_DIR / path
        result = run_playbook(path, lab_env, **kwargs)
        if result.returncode != 0:
            pytest.fail(f"{path.name} failed (rc={result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
        return result
    return run
