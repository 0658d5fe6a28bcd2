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
import sys
import threading

from azlab.loadgen import LoadConfig, LoadGenerator

from _lab import ROOT, fresh_lab

APP_VERSION_TASKS = ROOT / "tests" / "integration" / "playbooks" / "fixtures" / "app_version.yml"
STEPS = ("drain", "patch", "reboot", "verify", "restore")


def _measure(args) -> tuple[dict, dict, float]:
    with fresh_lab() as lab:
        tier = {"webfarm_vm_count": args.vms, "webfarm_update_domains": args.update_domains}
        lab.playbook("site.yml", tier)
        load = LoadGenerator(LoadConfig(url=f"http://{lab.public_ip()}/version.json", rate=50.0, clients=8))
        summary: dict = {}
        thread = threading.Thread(target=lambda: summary.update(load.run()), daemon=True)
        thread.start()
        try:
            wall, _output = lab.playbook("playbooks/rolling_patch.yml", {
                **tier, "rolling_patch_canary": args.canary, "rolling_patch_reboot": "always",
                "rolling_patch_tasks_file": str(APP_VERSION_TASKS), "rolling_patch_expected_version": "2.0.0",
                "rolling_patch_report_dir": str(lab.work / "reports")})
        finally:
            load.stop()
            thread.join(30)
        report = json.loads(next((lab.work / "reports").glob("*.json")).read_text())
        return report, summary, wall


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=4)
    parser.add_argument("--update-domains", type=int, default=3)
    parser.add_argument("--canary", action="store_true")
    args = parser.parse_args(argv)
    report, load, wall = _measure(args)
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
