"""Deploy time and ARM traffic of `site.yml` on the local lab (data plane on).

For each VM count (default 2 and 8) on a fresh lab with the ``realistic`` latency
profile (each long-running ARM operation takes about as long as on Azure):

* first run of ``ansible-playbook site.yml -i inventories/dev`` (deploy + verify);
* the no-op second run: its wall time, changed count and ARM writes;
* ARM requests per VM of the first run.

The ratio 8 VMs / 2 VMs shows whether per-VM work is parallel (target <= 1.3).
Prints a table; asserts nothing (the tests assert behaviour).

    python benchmarks/deploy.py [--counts 2,8] [--profile realistic] [--factor 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azlab.client import client_environment
from azlab.server import LabServer
from azlab.settings import LabSettings

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def _site(env: dict[str, str], vm_count: int) -> tuple[float, str]:
    cmd = [PLAYBOOK, "site.yml", "-i", "inventories/dev", "-e", json.dumps({"webfarm_vm_count": vm_count})]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
        raise SystemExit(f"site.yml with {vm_count} VMs failed (rc={done.returncode})")
    return elapsed, done.stdout


def _changed(stdout: str) -> int:
    recap = stdout[stdout.rindex("PLAY RECAP"):]
    return sum(int(n) for n in re.findall(r"changed=(\d+)", recap))


def _measure(vm_count: int, profile: str, factor: float) -> dict:
    state_dir = Path(tempfile.mkdtemp(prefix="azbench-"))
    server = LabServer(LabSettings(state_dir=state_dir / "s", arm_port=0, proxy_port=0), dataplane=True)
    server.start()
    try:
        server.lab.set_profile(profile, factor)
        env = {**os.environ, **client_environment(server.settings), "ANSIBLE_NOCOLOR": "1"}
        store = server.lab.store
        mark = store.request_mark()
        first_s, _ = _site(env, vm_count)
        first = store.requests(mark)
        mark = store.request_mark()
        noop_s, noop_out = _site(env, vm_count)
        return {
            "vms": vm_count,
            "first_s": first_s,
            "noop_s": noop_s,
            "noop_changed": _changed(noop_out),
            "noop_writes": len(store.requests(mark, True)),
            "arm_requests": len(first),
            "arm_writes": sum(1 for r in first if r.get("write")),
        }
    finally:
        server.lab.reset()
        server.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="2,8", help="VM counts, comma separated (default 2,8)")
    parser.add_argument("--profile", default="realistic", choices=("instant", "realistic"))
    parser.add_argument("--factor", type=float, default=1.0, help="latency profile factor")
    args = parser.parse_args(argv)
    results = [_measure(int(n), args.profile, args.factor) for n in args.counts.split(",")]
    print(f"site.yml on the lab ({args.profile} x{args.factor}); wall times in seconds")
    header = ("VMs", "first run", "no-op run", "no-op changed", "no-op ARM writes",
              "ARM requests", "ARM writes", "requests/VM")
    print("  ".join(f"{h:>16}" for h in header))
    for r in results:
        row = (r["vms"], f"{r['first_s']:.1f}", f"{r['noop_s']:.1f}", r["noop_changed"], r["noop_writes"],
               r["arm_requests"], r["arm_writes"], f"{r['arm_requests'] / r['vms']:.1f}")
        print("  ".join(f"{str(v):>16}" for v in row))
    if len(results) >= 2:
        print(f"first-run ratio {results[-1]['vms']} VMs / {results[0]['vms']} VMs: "
              f"{results[-1]['first_s'] / results[0]['first_s']:.2f} (target <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
