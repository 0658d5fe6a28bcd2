"""Talk to a running lab's admin API (used by the CLI, tests and benchmarks)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from azlab.settings import PUBLIC_IP_RANGE, LabSettings


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


def ca_bundle(settings: LabSettings) -> Path:
    """The lab CA appended to the public roots, so one REQUESTS_CA_BUNDLE serves both."""
    bundle = settings.pki_dir / "bundle.pem"
    try:
        import certifi

        roots = Path(certifi.where()).read_text()
    except ImportError:
        roots = Path("/etc/ssl/certs/ca-certificates.crt").read_text()
    text = roots.rstrip("\n") + "\n" + settings.ca_cert_path.read_text()
    if not bundle.exists() or bundle.read_text() != text:
        bundle.write_text(text)
    return bundle


def client_environment(settings: LabSettings) -> dict[str, str]:
    """What Azure clients (modules, SDK, CLI) need in their environment to use the lab."""
    ident = settings.identity()
    settings = load_runtime(settings)
    no_proxy = f"localhost,127.0.0.1,{PUBLIC_IP_RANGE}"
    return {
        "AZURE_SUBSCRIPTION_ID": ident.subscription_id,
        "AZURE_TENANT": ident.tenant_id,
        "AZURE_CLIENT_ID": ident.client_id,
        "AZURE_SECRET": ident.client_secret,
        "HTTPS_PROXY": settings.proxy_url,
        "https_proxy": settings.proxy_url,
        "REQUESTS_CA_BUNDLE": str(ca_bundle(settings)),
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
        "AZLAB_STATE_DIR": str(settings.state_dir),
    }
