"""Duration of `playbooks/rolling_patch.yml` against its lower bound, under load.

On a fresh data-plane lab: deploy 4 Linux VMs over 3 update domains with site.yml,
then run the rolling patch (apt full-upgrade, app version 2.0.0, reboot always) while
8 clients send 50 requests/s through the load balancer's public IP (a new connection
each). Prints per batch the time of each step and the batch's lower bound (drain
detection + patch + reboot + healthy detection, the slowest VM of the batch each), the
run's total against the sum of those bounds, and failed/total requests.
Asserts nothing (the tests assert behaviour).

    python benchmarks/rolling_patch.py [--vms 4] [--update-domains 3] [--canary]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from azlab.client import client_environment
from azlab.loadgen import LoadConfig, LoadGenerator
from azlab.server import LabServer
from azlab.settings import LabSettings

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
APP_VERSION_TASKS = ROOT / "tests" / "integration" / "playbooks" / "fixtures" / "app_version.yml"
STEPS = ("drain", "patch", "reboot", "verify", "restore")


def _playbook(env: dict[str, str], playbook: str, extra: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([PLAYBOOK, playbook, "-i", "inventories/dev", "-e", json.dumps(extra)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
        raise SystemExit(f"{playbook} failed (rc={done.returncode})")
    return time.perf_counter() - start


def _public_ip(server: LabServer) -> str:
    for _rid, body in server.lab.store.list():
        if body.get("type", "").lower() == "microsoft.network/publicipaddresses":
            return body["properties"]["ipAddress"]
    raise SystemExit("no public IP in the lab")


def _measure(args, work: Path) -> tuple[dict, dict, float]:
    server = LabServer(LabSettings(state_dir=work / "s", arm_port=0, proxy_port=0), dataplane=True)
    server.start()
    try:
        env = {**os.environ, **client_environment(server.settings), "ANSIBLE_NOCOLOR": "1"}
        tier = {"webfarm_vm_count": args.vms, "webfarm_update_domains": args.update_domains}
        _playbook(env, "site.yml", tier)
        load = LoadGenerator(LoadConfig(url=f"http://{_public_ip(server)}/version.json", rate=50.0, clients=8))
        summary: dict = {}
        thread = threading.Thread(target=lambda: summary.update(load.run()), daemon=True)
        thread.start()
        try:
            wall = _playbook(env, "playbooks/rolling_patch.yml", {
                **tier, "rolling_patch_canary": args.canary, "rolling_patch_reboot": "always",
                "rolling_patch_tasks_file": str(APP_VERSION_TASKS), "rolling_patch_expected_version": "2.0.0",
                "rolling_patch_report_dir": str(work / "reports")})
        finally:
            load.stop()
            thread.join(30)
        report = json.loads(next((work / "reports").glob("*.json")).read_text())
        return report, summary, wall
    finally:
        server.lab.reset()
        server.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=4)
    parser.add_argument("--update-domains", type=int, default=3)
    parser.add_argument("--canary", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="azrp-"))
    try:
        report, load, wall = _measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"rolling patch on the lab: {args.vms} VMs over {args.update_domains} update domains, "
          f"drain by {report['drain_method']}; seconds")
    header = ("batch", "UD", "VMs", *STEPS, "batch", "lower bound")
    print("  ".join(f"{h:>11}" for h in header))
    for batch in report["batches"]:
        steps = batch.get("step_durations_s") or {}
        row = (batch["index"], batch["update_domain"], len(batch["vms"]),
               *(f"{steps.get(step) or 0:.1f}" for step in STEPS),
               f"{batch.get('duration_s') or 0:.1f}", f"{batch.get('lower_bound_s') or 0:.1f}")
        print("  ".join(f"{str(v):>11}" for v in row))
    print(f"run (report): {report['duration_s']:.1f} s, lower bound {report['lower_bound_s']:.1f} s "
          f"(ratio {report['duration_s'] / report['lower_bound_s']:.2f}); playbook wall time {wall:.1f} s")
    print(f"requests through the LB during the run: {load['failed']} failed of {load['total']} "
          f"({load['rps_achieved']} req/s, 8 clients, new connection each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
