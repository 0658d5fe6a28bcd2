"""How much of an Azure client's time the lab itself takes (instant profile).

Starts a lab on free ports, then measures through the real client stack (TLS, the
CONNECT proxy, the Azure SDK's pipeline) and from the lab's own request log:

* per-request server time (what the lab spends) vs the client's round trip;
* a real azure.azcollection module call vs the lab time it caused.

Prints a table; asserts nothing (the tests assert behaviour).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azlab.client import client_environment
from azlab.server import LabServer
from azlab.settings import LabSettings

REQUESTS = 200


def _sdk_round_trips(env: dict[str, str], count: int) -> list[float]:
    from azure.identity import ClientSecretCredential
    from azure.mgmt.resource import ResourceManagementClient

    os.environ.update(env)
    credential = ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"])
    client = ResourceManagementClient(credential, env["AZURE_SUBSCRIPTION_ID"])
    client.resource_groups.create_or_update("bench-rg", {"location": "eastus2"})
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        client.resource_groups.get("bench-rg")
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _module_call(env: dict[str, str]) -> float:
    playbook = Path(tempfile.mkdtemp()) / "one.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - azure.azcollection.azure_rm_resourcegroup_info:\n        name: bench-rg\n"
    )
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    settings = LabSettings(state_dir=Path(tempfile.mkdtemp()) / "state", arm_port=0, proxy_port=0)
    server = LabServer(settings)
    server.start()
    try:
        env = {**os.environ, **client_environment(settings)}
        mark = server.lab.store.request_mark()
        client_ms = _sdk_round_trips(env, REQUESTS)
        server_ms = [r["duration_ms"] for r in server.lab.store.requests(mark) if r["method"] == "GET"]
        mark = server.lab.store.request_mark()
        module_s = _module_call(env)
        module_lab_ms = sum(r["duration_ms"] for r in server.lab.store.requests(mark))
    finally:
        server.stop()
    rows = [
        ("SDK GET round trip, median (ms)", f"{statistics.median(client_ms):.2f}"),
        ("SDK GET round trip, p95 (ms)", f"{sorted(client_ms)[int(len(client_ms) * 0.95)]:.2f}"),
        ("lab time per GET, median (ms)", f"{statistics.median(server_ms):.3f}"),
        ("module call wall time (s)", f"{module_s:.2f}"),
        ("lab time during that module call (ms)", f"{module_lab_ms:.2f}"),
        ("lab share of the module call (%)", f"{100 * module_lab_ms / 1000 / module_s:.2f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'lab overhead (instant profile)':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
