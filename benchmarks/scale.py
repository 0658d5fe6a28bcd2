"""Time of each step of scaling out, scaling in and replacing a VM, against its bound, under load.

On a fresh data-plane lab: deploy 3 Linux VMs with site.yml, then, while 8 clients send
50 requests/s through the load balancer's public IP (a new connection each):
scale out to 5 VMs, scale in to 3, replace app1-vm2 on its own OS disk, replace app1-vm3
fresh from the image. Per change it prints the time of each step (from the
ansible.posix.json callback: the plays and tasks that make the step) beside its bound, and
the failed/total requests.

Bounds. drain: the load balancer stops new flows to a VM after probeThreshold failed probes,
probe interval apart (webfarm_probe_interval x webfarm_probe_threshold). back healthy: as
many passed probes. delete / create: the ARM operations, which Azure (here the lab's
``instant`` profile: the data plane's own time only) decides; no bound the collection can
reach below them. configure: nginx on a VM, measured by the deploy's first run
(``deploy.py``). Asserts nothing (the tests assert behaviour).

    python benchmarks/scale.py
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime

from azlab.loadgen import LoadConfig, LoadGenerator

from _lab import fresh_lab

PROBE_INTERVAL, PROBE_THRESHOLD = 5, 2  # inventories/dev (role defaults)
PROBE_BOUND = PROBE_INTERVAL * PROBE_THRESHOLD

#: step -> its bound (seconds, or who decides it)
BOUNDS = {
    "drain": f"{PROBE_BOUND} (probes)",
    "delete": "ARM",
    "create": "ARM",
    "configure": "nginx",
    "back healthy": f"{PROBE_BOUND} (probes)",
}
#: (play name prefix, task name prefix, step): the tasks that make each step; "" matches all
TASKS = [
    ("Drain the VMs", "Wait until the rule health", "drain"),
    ("Drain the VMs", "Wait until in-flight", "drain"),
    ("Delete the VM", "Delete the VM", "delete"),
    ("Web server on the Linux VMs", "", "configure"),
    ("Back into rotation", "Wait until the rule health", "back healthy"),
    ("Back into rotation", "A request through", "back healthy"),
]
#: tasks that start async jobs (the vm role): the next "Wait for every VM" belongs to their step
STARTERS = {"Delete the VMs that leave": "delete", "Start the virtual machines": "create"}
WAIT = "Wait for every VM"

CHANGES = [
    ("scale out 3 -> 5", "site.yml", {"webfarm_vm_count": 5}),
    ("scale in 5 -> 3", "site.yml", {"webfarm_vm_count": 3}),
    ("replace, OS disk kept", "playbooks/replace_vm.yml", {"webfarm_replace_vm": "app1-vm2"}),
    ("replace, fresh", "playbooks/replace_vm.yml",
     {"webfarm_replace_vm": "app1-vm3", "webfarm_replace_keep_os_disk": False}),
]


def _seconds(duration: dict) -> float:
    """A task's duration from the json callback; 0 for one that never ended (an include)."""
    if not duration.get("start") or not duration.get("end"):
        return 0.0
    start, end = (datetime.fromisoformat(duration[k].replace("Z", "+00:00")) for k in ("start", "end"))
    return (end - start).total_seconds()


def step_times(report: dict) -> dict[str, float]:
    """Seconds per step: the tasks of each step, summed (a VM role wait counts for the step
    of the async jobs it waits for)."""
    out = {step: 0.0 for step in BOUNDS}
    for play in report["plays"]:
        play_name, waiting_for = play["play"]["name"], None
        for task in play["tasks"]:
            # a role's tasks are named "<role> : <task>"
            name, seconds = task["task"]["name"].split(" : ", 1)[-1], _seconds(task["task"]["duration"])
            starter = next((step for prefix, step in STARTERS.items() if name.startswith(prefix)), None)
            if starter or name.startswith("Start "):
                waiting_for = starter
            step = starter or next((step for play_prefix, task_prefix, step in TASKS
                                    if play_name.startswith(play_prefix) and name.startswith(task_prefix)), None)
            if step is None and name.startswith(WAIT):
                step = waiting_for
            if step is not None:
                out[step] += seconds
    return out


def main(argv: list[str]) -> int:
    rows = []
    with fresh_lab(ansible_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}) as lab:
        lab.playbook("site.yml", {"webfarm_vm_count": 3})
        url = f"http://{lab.public_ip()}/version.json"
        for label, playbook, extra in CHANGES:
            load = LoadGenerator(LoadConfig(url=url, rate=50.0, clients=8))
            summary: dict = {}
            thread = threading.Thread(target=lambda: summary.update(load.run()), daemon=True)
            thread.start()
            try:
                wall, stdout = lab.playbook(playbook, extra)
            finally:
                load.stop()
                thread.join(30)
            rows.append((label, wall, step_times(json.loads(stdout[stdout.index("{"):])), summary))
    print("scaling and replacing under load on the lab (3 Linux VMs, dev inventory, 8 clients, 50 req/s); seconds")
    print(f"{'change':<24}{'wall':>8}" + "".join(f"{step:>14}" for step in BOUNDS) + f"{'failed/total':>16}")
    print(f"{'  bound':<24}{'':>8}" + "".join(f"{bound:>14}" for bound in BOUNDS.values()))
    for label, wall, steps, load in rows:
        print(f"{label:<24}{wall:>8.1f}" + "".join(f"{steps[s]:>14.1f}" for s in BOUNDS)
              + f"{str(load.get('failed')) + '/' + str(load.get('total')):>16}")
    print("steps that do not apply to a change read 0.0; wall - steps = ansible start-up, facts and the "
          "unchanged roles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
