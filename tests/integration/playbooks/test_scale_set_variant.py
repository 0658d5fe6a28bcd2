"""playbooks/scale_set.yml end to end on the data-plane lab (inventories/dev-vmss: a Uniform
scale set of 3 instances, Rolling with the load balancer's probe as health source, autoscale
3-5): the first run deploys and verifies, every instance answers through the load balancer
with the web server cloud-init set up at creation and SSH on its NAT pool port; a second run
changes nothing and makes no ARM write. Under load (8 clients, 50 req/s): a new app version is
a new model that Azure rolls out one instance at a time while the playbook follows it, and
every instance ends on it with no failed request; a CPU load makes autoscale add an instance
and its end makes autoscale remove one, which drains itself on Azure's Terminate event before
it goes, again with no failed request; a model whose web server never starts stops the rolling
upgrade on the policy after its first batch while the rest keeps serving, again with no failed
request. Then teardown.

The figures (first-run and no-op wall time, rollout time, autoscale reaction times) are printed
(pytest -s) and written to tests/output/scale_set_figures.json.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from azlab.polling import wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
INVENTORY = "inventories/dev-vmss"
RESOURCE_GROUP = "app2-dev-rg"
SET = "app2-vmss"
INSTANCE_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
FIGURES = REPO_ROOT / "tests" / "output" / "scale_set_figures.json"
# a web server that never comes up: the probe never passes on an instance with this model
CPU_STOP_FILE = "/tmp/webfarm-test-stop-cpu"
BROKEN_MODEL = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo this model serves nothing']\n"


def run(lab, **kwargs):
    started = time.monotonic()
    result = lab.playbook("playbooks/scale_set.yml", inventory=INVENTORY, **kwargs)
    return result, round(time.monotonic() - started, 1)


def instances(lab) -> list[dict]:
    """This resource group's instances as the lab keeps them."""
    prefix = f"/resourcegroups/{RESOURCE_GROUP}/".lower()
    return [body for body in lab.resources(INSTANCE_TYPE).values() if prefix in body["id"].lower()]


def on_latest_model(lab) -> int:
    """Instances on the set's model (what the API shows as latestModelApplied, from the lab's
    own record of which model each instance got)."""
    model = lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET].get("_model")
    return sum(1 for body in instances(lab) if body.get("_model") == model)


class ModelWatch:
    """How many instances run the latest model, sampled every second while a rollout runs."""

    def __init__(self, lab):
        self.lab = lab
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(1):
            self.samples.append(on_latest_model(self.lab))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def steps(self) -> list[int]:
        """The distinct counts in the order they were seen."""
        return [count for index, count in enumerate(self.samples) if index == 0 or count != self.samples[index - 1]]


def versions_through_lb(lab, count: int = 30) -> dict[str, str]:
    return {page["hostname"]: page["app_version"] for page in lab.pages_through_lb(lab.public_ip("app2-pip"), count)}


def ssh_banner(address: str, port: int) -> bytes:
    with socket.create_connection((address, port), timeout=10) as conn:
        return conn.recv(64)


class Tier:
    """The variant deployed once for this module's tests (they run in file order, on one worker,
    one after the other: each starts from the state the one before left) and its figures."""

    def __init__(self, lab):
        self.lab = lab
        self.figures: dict = {"instances": 3}
        self.first = None
        self.address = ""


@pytest.fixture(scope="module")
def tier(dataplane_lab):
    made = Tier(dataplane_lab)
    made.first, made.figures["first_run_wall_s"] = run(dataplane_lab)
    made.address = dataplane_lab.public_ip("app2-pip")
    yield made
    # teardown: the resource group and everything in it
    down = dataplane_lab.playbook("playbooks/teardown.yml", inventory=INVENTORY,
                                  extra_vars={"webfarm_teardown_confirm": RESOURCE_GROUP})
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(made.figures, indent=2) + "\n")
    print("\nscale_set.yml figures:", json.dumps(made.figures, indent=2))
    assert down.returncode == 0, down.output[-4000:]
    assert instances(dataplane_lab) == []


pytestmark = pytest.mark.xdist_group("rolling-patch-vmss")  # one worker, one deploy of the tier (pytest.ini)


def test_first_run_deploys_and_every_instance_serves(tier):
    """Network, LB with the NAT pool, the set, autoscale; verify passed; each instance answers
    through the LB with the web server cloud-init made, and shows SSH on its NAT pool port."""
    lab = tier.lab
    assert tier.first.returncode == 0, tier.first.output[-6000:]
    assert tier.first.recap()["localhost"]["failed"] == 0
    assert "Wait until every member is up in the rule health" in tier.first.stdout
    assert len(instances(lab)) == 3, [m["name"] for m in instances(lab)]
    versions = versions_through_lb(lab)
    assert len(versions) == 3 and set(versions.values()) == {"1.0.0"}, versions
    lb = lab.resources("Microsoft.Network/loadBalancers")["app2-lb"]["properties"]
    pool = lb["inboundNatPools"][0]["properties"]
    assert (pool["frontendPortRangeStart"], pool["backendPort"]) == (50000, 22)
    assert len(lb["inboundNatRules"]) == 3, lb["inboundNatRules"]
    for rule in lb["inboundNatRules"]:
        assert ssh_banner(tier.address, rule["properties"]["frontendPort"]).startswith(b"SSH-"), rule["name"]
    autoscale = lab.resources("Microsoft.Insights/autoscalesettings")["app2-vmss-autoscale"]["properties"]
    assert autoscale["enabled"] is True and autoscale["profiles"][0]["capacity"] == {
        "minimum": "3", "maximum": "5", "default": "3"}, autoscale


def test_second_run_changes_nothing(tier):
    lab = tier.lab
    mark = lab.mark()
    second, tier.figures["noop_run_wall_s"] = run(lab)
    assert second.returncode == 0, second.output[-6000:]
    assert second.recap()["localhost"]["changed"] == 0, second.output[-4000:]
    assert lab.writes_since(mark) == []


def test_the_rolling_patch_patches_the_instances_one_update_domain_at_a_time_under_load(tier, tmp_path):
    """playbooks/rolling_patch.yml over the scale set's instances (a hotfix: app version 1.0.1
    by the maintenance task file, then a reboot): one update domain per batch, every instance
    serves 1.0.1 through the load balancer afterwards, no request fails; the progress tags on
    the scale set are not a new model (every instance still runs the latest one). Before the
    rollout test, whose new model gives every instance the model's version again."""
    lab = tier.lab
    fixtures = Path(__file__).resolve().parent / "fixtures"
    patch_vars = {"rolling_patch_tasks_file": str(fixtures / "app_version.yml"),
                  "rolling_patch_expected_version": "1.0.1", "rolling_patch_reboot": "always",
                  "rolling_patch_report_dir": str(tmp_path / "reports")}
    model = lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET].get("_model")
    started = time.monotonic()
    with lab.load(tier.address, tmp_path / "load-patch.jsonl") as load:
        patched = lab.playbook("playbooks/rolling_patch.yml", inventory=INVENTORY, extra_vars=patch_vars)
    tier.figures["rolling_patch_wall_s"] = round(time.monotonic() - started, 1)
    assert patched.returncode == 0, patched.output[-6000:]
    tier.figures["rolling_patch_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
    report = json.loads(next((tmp_path / "reports").glob("rolling-patch-*.json")).read_text())
    tier.figures["rolling_patch_report"] = {key: report.get(key) for key in ("duration_s", "lower_bound_s")}
    batches = [batch["vms"] for batch in report["batches"]]
    assert sorted(vm for batch in batches for vm in batch) == sorted(f"{SET}_{body['instanceId']}" for body in instances(lab))
    assert all(len({record["update_domain"] for vm, record in report["vms"].items() if vm in batch}) == 1
               for batch in batches), report["vms"]
    assert {record["status"] for record in report["vms"].values()} == {"done"}, report["vms"]
    assert load.summary["failed"] == 0, load.summary
    assert load.summary["rps_achieved"] >= 45, load.summary
    versions = versions_through_lb(lab)
    assert len(versions) == 3 and set(versions.values()) == {"1.0.1"}, versions
    # the run record and the per-instance progress are tags of the set: not a new model
    scale_set = lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET]
    assert scale_set.get("_model") == model and on_latest_model(lab) == 3
    assert scale_set["tags"]["webfarm_patch_state"] == "completed", scale_set["tags"]
    assert all(value.endswith(" done restore") for name, value in scale_set["tags"].items()
               if name.startswith("webfarm_patch_i")), scale_set["tags"]


def test_a_new_version_rolls_out_batch_by_batch_under_load(tier, tmp_path):
    """A new app version is a new model: Azure rolls it out one instance per batch (34 % of 3)
    while the playbook follows it; every instance ends on it, no request fails."""
    lab = tier.lab
    with lab.load(tier.address, tmp_path / "load-rollout.jsonl") as load, ModelWatch(lab) as watch:
        rollout, tier.figures["rollout_wall_s"] = run(lab, extra_vars={"webfarm_app_version": "2.0.0"})
        time.sleep(2)
    assert rollout.returncode == 0, rollout.output[-6000:]
    assert "Follow the rolling upgrade of the new model" in rollout.stdout
    tier.figures["rollout_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
    assert load.summary["failed"] == 0, load.summary
    assert load.summary["rps_achieved"] >= 45, load.summary
    steps = watch.steps()
    assert steps[-1] == 3 and all(b - a <= 1 for a, b in zip(steps, steps[1:])), steps
    versions = versions_through_lb(lab)
    assert len(versions) == 3 and set(versions.values()) == {"2.0.0"}, versions


class CpuLoad:
    """A busy loop in each given instance's guest (the CPU a traffic peak would burn), until stopped."""

    def __init__(self, instance_ids: list[str]):
        self.loops = [subprocess.Popen(["podman", "exec", container_name(instance_id), "timeout", "600", "sh", "-c",
                                        f"while [ ! -e {CPU_STOP_FILE} ]; do :; done"], env=podman.podman_env())
                      for instance_id in instance_ids]
        self.instance_ids = instance_ids

    def stop(self) -> None:
        for instance_id in self.instance_ids:
            subprocess.run(["podman", "exec", container_name(instance_id), "touch", CPU_STOP_FILE],
                           env=podman.podman_env(), check=False)
        for loop in self.loops:
            loop.wait(timeout=30)


def test_autoscale_adds_an_instance_under_cpu_load_and_drains_the_one_it_removes(tier, tmp_path, monkeypatch):
    """Autoscale out under CPU load and back in after it, under HTTP load, with no failed
    request: the new instance serves only once its probe passes; the instance the scale-in
    removes gets Azure's Terminate event (the set's terminate notification), and the responder
    cloud-init installed drains it (probe down, requests in flight done) and approves the event
    before Azure deletes it. Thresholds the lab's 2 cores reach with 3 busy instances even while
    the other worker runs (~33 % each), and a lab minute of 6 s: 5-minute windows and cooldowns
    last 30 s."""
    lab = tier.lab
    # maximum 4: one step out, whatever the load does after it (the NAT pool shrinks to fit).
    # The other test worker may hold a core (CI: the EE build): the three loops then share one,
    # ~33 % each, so out above 20 %; idle instances serving 50 req/s use 1-2 %, so in below 8 %
    autoscale = {"enabled": True, "minimum": 3, "maximum": 4, "scale_out_cpu": 20, "scale_in_cpu": 8}
    model = lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET].get("_model")
    [version] = set(versions_through_lb(lab).values())  # the model's (2.0.0 after the rollout test)
    applied = run(lab, extra_vars={"webfarm_app_version": version, "webfarm_autoscale": autoscale})[0]
    assert applied.returncode == 0, applied.output[-6000:]
    assert lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET].get("_model") == model, \
        "the autoscale setting is no new model"
    monkeypatch.setattr(lab.settings, "seconds_per_minute", 6)
    before = {body["id"] for body in instances(lab)}
    leaving: dict[str, dict] = {}  # instance ID -> its Terminate event as the lab keeps it, and when it went

    def capacity() -> int:
        present = {body["id"]: body for body in instances(lab)}
        for instance_id, body in present.items():
            if body.get("_terminate"):
                leaving.setdefault(instance_id, dict(body["_terminate"]))
        for instance_id, event in leaving.items():
            if instance_id not in present:
                event.setdefault("gone", time.time())
        return lab.resources("Microsoft.Compute/virtualMachineScaleSets")[SET]["sku"]["capacity"]

    started = time.monotonic()
    with lab.load(tier.address, tmp_path / "load-autoscale.jsonl") as load:
        cpu = CpuLoad(sorted(before))
        try:
            assert wait_for(lambda: capacity() == 4, timeout=180, step=1), \
                f"the CPU load did not scale the set out: {lab.server.lab.dataplane_status()['autoscale']}"
            tier.figures["autoscale_out_s"] = round(time.monotonic() - started, 1)
            assert wait_for(lambda: len(versions_through_lb(lab, 40)) == 4, timeout=300, step=1), \
                "the new instance does not serve through the load balancer"
        finally:
            cpu.stop()
        ended = time.monotonic()
        assert wait_for(lambda: capacity() == 3 and len(instances(lab)) == 3, timeout=300, step=0.5), \
            f"the end of the CPU load did not scale the set back in: {lab.server.lab.dataplane_status()['autoscale']}"
        tier.figures["autoscale_in_s"] = round(time.monotonic() - ended, 1)
        time.sleep(2)
    tier.figures["autoscale_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
    assert load.summary["failed"] == 0, load.summary
    assert load.summary["rps_achieved"] >= 45, load.summary
    # it went after its drain (probe interval 5 s x (threshold 2 + 1) + 5 s) and before its
    # NotBefore time (PT5M of 6 s): its own approval ended the wait
    assert len(leaving) == 1, leaving
    removed = next(iter(leaving.values()))
    waited, not_before = removed["gone"] - removed["posted"], removed["minutes"] * 6
    tier.figures["scale_in_drain_s"] = round(waited, 1)
    assert 20 - 1 <= waited < not_before - 2, (waited, not_before)
    versions = versions_through_lb(lab)
    assert len(versions) == 3 and set(versions.values()) == {version}, versions
    history = lab.server.lab.dataplane_status()["autoscale"]["history"]
    assert [(action["from"], action["to"], action["outcome"]) for action in history][-2:] == [
        (3, 4, "succeeded"), (4, 3, "succeeded")]


def test_a_model_that_never_serves_stops_the_upgrade_and_the_rest_serves(tier, tmp_path):
    """The first upgraded instance never passes the probe; the policy (0 % unhealthy upgraded
    instances) stops the upgrade, the play fails with Azure's reason, two instances keep
    serving, no request fails. (Last: it leaves the set on a broken model.)"""
    lab = tier.lab
    broken_vars = {"webfarm_app_version": "3.0.0", "__webfarm_scale_set_custom_data": BROKEN_MODEL,
                   "webfarm_scale_set_rollout_timeout": 900}
    with lab.load(tier.address, tmp_path / "load-broken.jsonl") as load:
        broken, tier.figures["broken_model_wall_s"] = run(lab, extra_vars=broken_vars)
    assert broken.returncode != 0
    assert "the rolling upgrade of app2-vmss stopped" in broken.stdout, broken.output[-6000:]
    tier.figures["broken_model_load"] = {key: load.summary[key] for key in ("total", "failed")}
    assert load.summary["failed"] == 0, load.summary
    assert on_latest_model(lab) == 1
    versions = versions_through_lb(lab)
    assert len(versions) == 2 and set(versions.values()) == {"2.0.0"}, versions
