"""Deploy time and ARM traffic of `site.yml` on the local lab (data plane on).

For each VM count (default 2 and 8) on a fresh lab with the ``realistic`` latency
profile (each long-running ARM operation takes about as long as on Azure):

* first run of ``ansible-playbook site.yml -i inventories/dev`` (deploy + verify);
* the no-op second run: its wall time, changed count and ARM writes;
* ARM requests per VM of the first run.

The ratio 8 VMs / 2 VMs shows whether per-VM work is parallel (target <= 1.3).
Prints a table; asserts nothing (the tests assert behaviour).

    python benchmarks/deploy.py [--counts 2,8] [--profile realistic] [--factor 1.0] [--output DIR]

With ``--output`` each run's ansible output, with the time of every task
(ansible.posix.profile_tasks), is kept in DIR for reading where the time went.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from _lab import CpuSampler, fresh_lab


def _changed(stdout: str) -> int:
    recap = stdout[stdout.rindex("PLAY RECAP"):]
    return sum(int(n) for n in re.findall(r"changed=(\d+)", recap))


# the elapsed-time column profile_tasks prints under every task header: "... (0:00:02.2)   0:03:20.870"
_ELAPSED = re.compile(r"\)\s+(\d+):(\d+):([\d.]+)")
PLAYS = {"Azure resources of the webfarm tier": "azure", "Web server on the Linux VMs": "web",
         "Verify the webfarm tier through its load balancer": "verify"}


def _play_spans(stdout: str) -> dict[str, tuple[float, float]]:
    """(start, end) seconds into the run per play of site.yml (keys of PLAYS), from
    profile_tasks' elapsed times: a play runs from its first task's start to the next
    play's (or the recap's)."""
    starts = []
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("PLAY [", "PLAY RECAP")):
            elapsed = next((m for m in map(_ELAPSED.search, lines[index + 1:index + 40]) if m), None)
            if elapsed:
                hours, minutes, seconds = elapsed.groups()
                starts.append((line[6:].split("]")[0], int(hours) * 3600 + int(minutes) * 60 + float(seconds)))
    return {PLAYS[name]: (start, end) for (name, start), (_next, end) in zip(starts, starts[1:]) if name in PLAYS}


def _keep(output: Path | None, name: str, stdout: str) -> None:
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / name).write_text(stdout)


def _measure(vm_count: int, profile: str, factor: float, output: Path | None) -> dict:
    with fresh_lab(profile, factor, {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}) as lab:
        store = lab.server.lab.store
        tier = {"webfarm_vm_count": vm_count}
        mark = store.request_mark()
        with CpuSampler() as cpu:
            started, first_s, first_out = lab.timed_playbook("site.yml", tier)
        _keep(output, f"site-{vm_count}vms-first.log", first_out)
        first = store.requests(mark)
        mark = store.request_mark()
        noop_s, noop_out = lab.playbook("site.yml", tier)
        _keep(output, f"site-{vm_count}vms-noop.log", noop_out)
        return {
            "vms": vm_count,
            "first_s": first_s,
            "first_plays": {play: (end - start, *cpu.between(started + start, started + end))
                            for play, (start, end) in _play_spans(first_out).items()},
            "first_cpu": cpu.between(started, started + first_s),
            "noop_s": noop_s,
            "noop_changed": _changed(noop_out),
            "noop_writes": len(store.requests(mark, True)),
            "arm_requests": len(first),
            "arm_writes": sum(1 for r in first if r.get("write")),
        }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="2,8", help="VM counts, comma separated (default 2,8)")
    parser.add_argument("--profile", default="realistic", choices=("instant", "realistic"))
    parser.add_argument("--factor", type=float, default=1.0, help="latency profile factor")
    parser.add_argument("--output", type=Path, help="keep each run's ansible output (task times) here")
    args = parser.parse_args(argv)
    results = [_measure(int(n), args.profile, args.factor, args.output) for n in args.counts.split(",")]
    print(f"site.yml on the lab ({args.profile} x{args.factor}); wall times in seconds")
    header = ("VMs", "first run", "no-op run", "no-op changed", "no-op writes", "ARM requests", "ARM writes",
              "requests/VM")
    print("  ".join(f"{h:>13}" for h in header))
    for r in results:
        row = (r["vms"], f"{r['first_s']:.1f}", f"{r['noop_s']:.1f}", r["noop_changed"], r["noop_writes"],
               r["arm_requests"], r["arm_writes"], f"{r['arm_requests'] / r['vms']:.1f}")
        print("  ".join(f"{str(v):>13}" for v in row))
    print(f"first run by play: wall s / busy CPU s of the machine ({os.cpu_count()} CPUs) / of which the VMs' own")
    print("  ".join(f"{h:>20}" for h in ("VMs", "Azure resources", "web server", "verify", "whole run")))
    for r in results:
        cells = [r["first_plays"].get(key, (0.0, 0.0, 0.0)) for key in ("azure", "web", "verify")]
        cells.append((r["first_s"], *r["first_cpu"]))
        print("  ".join(f"{v:>20}" for v in [str(r["vms"])] + [f"{w:.1f} / {m:.0f} / {g:.0f}" for w, m, g in cells]))
    if len(results) >= 2:
        low, high = results[0], results[-1]
        ratios = ", ".join(f"{key} play {high['first_plays'].get(key, (0,))[0] / max(low['first_plays'].get(key, (0,))[0], 1e-9):.2f}"
                           for key in ("azure", "web", "verify"))
        print(f"first-run ratio {high['vms']} VMs / {low['vms']} VMs: {high['first_s'] / low['first_s']:.2f} "
              f"(target <= 1.3); {ratios}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
