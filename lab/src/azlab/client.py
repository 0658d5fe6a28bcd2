"""Talk to a running lab's admin API (used by the CLI, tests and benchmarks)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from azlab.settings import LabSettings


class LabNotRunning(RuntimeError):
    pass


def runtime_file(settings: LabSettings) -> Path:
    return settings.state_dir / "runtime.json"


def load_runtime(settings: LabSettings) -> LabSettings:
    """Settings with the ports the running lab actually bound."""
    path = runtime_file(settings)
    if path.exists():
        info = json.loads(path.read_text())
        settings.arm_port = info["arm_port"]
        settings.proxy_port = info["proxy_port"]
    return settings


class AdminClient:
    def __init__(self, settings: LabSettings):
        self.settings = load_runtime(settings)
        self.key = settings.identity().admin_key
        self.ssl = ssl.create_default_context(cafile=str(settings.ca_cert_path)) if settings.ca_cert_path.exists() else None

    def call(self, method: str, route: str, body: dict | None = None, timeout: float = 10) -> dict:
        if self.ssl is None:
            raise LabNotRunning(f"no lab CA under {self.settings.pki_dir}: run 'azlab up' first")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.settings.admin_url}/{route}", data=data, method=method,
            headers={"X-Azlab-Key": self.key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.ssl) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", {}).get("message", exc.reason)
            raise RuntimeError(f"lab admin API {method} {route}: {exc.code} {detail}") from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise LabNotRunning(f"the lab is not answering on {self.settings.admin_url}: {exc}") from None

    def alive(self) -> bool:
        try:
            self.call("GET", "health", timeout=2)
            return True
        except (LabNotRunning, RuntimeError):
            return False
