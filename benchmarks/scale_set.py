"""The scale-set variant on the local lab (data plane on, ``realistic`` latency): its deploy
time against the availability-set tier with the same number of web servers, its no-op run,
and a new version's rolling upgrade against its lower bound, under load.

On a fresh lab each: ``site.yml -i inventories/dev`` with N VMs; then
``playbooks/scale_set.yml -i inventories/dev-vmss`` with N instances (autoscale off, so that
the capacity stays N), its no-op run, one more instance (the time from the write to the new
instance answering through the load balancer: what one instance needs from nothing to
serving, from the set's PUT in the lab's request log, which no batch can beat), and ``webfarm_app_version=2.0.0`` (a new model, rolled out
by Azure one batch after the other) while 8 clients send 50 requests/s. The rollout's lower
bound is its number of batches times that one-instance time. Then the other way to a new
version: ``playbooks/rolling_patch.yml`` over the instances (2.0.1 in place, one update domain
per batch, with a reboot), its time against the lower bound its report computes. Asserts
nothing (the tests assert behaviour).

    python benchmarks/scale_set.py [--instances 3] [--profile realistic]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import threading
import time
import urllib.request

from azlab.loadgen import LoadConfig, LoadGenerator

from _lab import ROOT, fresh_lab

VMSS = "inventories/dev-vmss"
# one instance per batch: the dev-vmss policy's 34 % of 3; computed for N below
BATCH_PERCENT = 34
# the rolling patch's maintenance: a new app version in place (the tests' fixture)
APP_VERSION_TASKS = ROOT / "tests" / "integration" / "playbooks" / "fixtures" / "app_version.yml"


def _hosts_through_lb(address: str, count: int = 20) -> set[str]:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    seen = set()
    for _attempt in range(count):
        try:
            with direct.open(f"http://{address}/version.json", timeout=5) as answer:
                seen.add(json.load(answer)["hostname"])
        except OSError:
            pass
    return seen


def _availability_set(count: int, profile: str) -> float:
    with fresh_lab(profile) as lab:
        wall, _out = lab.playbook("site.yml", {"webfarm_vm_count": count})
        return wall


def _scale_set(count: int, profile: str) -> dict:
    tier = {"webfarm_vm_count": count, "webfarm_autoscale": {"enabled": False, "minimum": 2, "maximum": count + 1}}
    with fresh_lab(profile) as lab:
        first, _out = lab.playbook("playbooks/scale_set.yml", tier, VMSS)
        noop, _out = lab.playbook("playbooks/scale_set.yml", tier, VMSS)
        address = lab.public_ip("app2-pip")
        before = _hosts_through_lb(address)
        store = lab.server.lab.store
        mark = store.request_mark()
        lab.playbook("playbooks/scale_set.yml", dict(tier, webfarm_vm_count=count + 1), VMSS)
        while len(_hosts_through_lb(address) - before) == 0:
            time.sleep(1)
        # from the set's write (the PUT the scale_set module made; the lab logs when it was
        # answered), not from the playbook's start: its other module runs are no part of a batch
        written = [entry["ts"] for entry in store.requests(mark, writes_only=True)
                   if entry["method"] in ("PUT", "PATCH") and entry["path"].lower().endswith("/virtualmachinescalesets/app2-vmss")]
        one_instance = time.time() - written[-1]
        lab.playbook("playbooks/scale_set.yml", tier, VMSS)  # back to N: the instance drains and goes
        with _load(address) as summary:
            rollout, _out = lab.playbook("playbooks/scale_set.yml", dict(tier, webfarm_app_version="2.0.0"), VMSS)
        with _load(address) as patch_load:
            patch_wall, _out = lab.playbook("playbooks/rolling_patch.yml", dict(
                tier, webfarm_app_version="2.0.0", rolling_patch_reboot="always",
                rolling_patch_tasks_file=str(APP_VERSION_TASKS), rolling_patch_expected_version="2.0.1",
                rolling_patch_report_dir=str(lab.work / "reports")), VMSS)
        report = json.loads(next((lab.work / "reports").glob("*.json")).read_text())
        return {"first": first, "noop": noop, "one_instance": one_instance, "rollout": rollout, "load": summary,
                "patch": {"wall": patch_wall, "report": report, "load": patch_load}}


@contextlib.contextmanager
def _load(address: str):
    """8 clients at 50 requests/s through the LB while the block runs; the summary afterwards."""
    load = LoadGenerator(LoadConfig(url=f"http://{address}/version.json", rate=50.0, clients=8))
    summary: dict = {}
    thread = threading.Thread(target=lambda: summary.update(load.run()), daemon=True)
    thread.start()
    try:
        yield summary
    finally:
        load.stop()
        thread.join(30)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--profile", default="realistic", choices=("instant", "realistic"))
    parser.add_argument("--no-availability-set", action="store_true",
                        help="skip the availability-set tier (the scale set's figures only)")
    args = parser.parse_args(argv)
    count = args.instances
    vms_s = float("nan") if args.no_availability_set else _availability_set(count, args.profile)
    vmss = _scale_set(count, args.profile)
    batches = math.ceil(count / max(1, math.floor(count * BATCH_PERCENT / 100)))
    bound = batches * vmss["one_instance"]
    print(f"deploy on the lab ({args.profile}), {count} web servers; wall seconds")
    print(f"{'variant':>18}  {'first run':>10}  {'no-op run':>10}")
    print(f"{'availability set':>18}  {vms_s:>10.1f}  {'':>10}")
    print(f"{'scale set':>18}  {vmss['first']:>10.1f}  {vmss['noop']:>10.1f}")
    print(f"scale set / availability set first run: {vmss['first'] / vms_s:.2f}")
    print(f"one instance from the write to serving through the LB: {vmss['one_instance']:.1f} s")
    print(f"rolling upgrade to a new version (playbook wall, {batches} batches): {vmss['rollout']:.1f} s, "
          f"lower bound {bound:.1f} s (batches x one instance; ratio {vmss['rollout'] / bound:.2f})")
    load = vmss["load"]
    print(f"requests through the LB during the rollout: {load.get('failed')} failed of {load.get('total')} "
          f"({load.get('rps_achieved')} req/s, 8 clients, new connection each)")
    report, load = vmss["patch"]["report"], vmss["patch"]["load"]
    print(f"rolling patch over the instances (one update domain per batch, {len(report['batches'])} batches, "
          f"reboot): {report['duration_s']:.1f} s, lower bound {report['lower_bound_s']:.1f} s (ratio "
          f"{report['duration_s'] / report['lower_bound_s']:.2f}); playbook wall {vmss['patch']['wall']:.1f} s; "
          f"{load.get('failed')} failed of {load.get('total')} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
