"""playbooks/rolling_patch.yml end to end on the data-plane lab (VMs are containers, the LB
is HAProxy), under load: 8 clients at 50 requests/s through the LB's public IP, each
request a new connection, for the whole of every run.

One tier of 4 Linux VMs over 3 update domains (two VMs in UD 0, one in UD 1 and UD 2;
which VM lands where depends on the order the parallel creates finish, so the test
reads the placement from the lab):
- check mode prints the plan and writes nothing; the min-in-service guard refuses;
- a full run (canary, apt full-upgrade, app 2.0.0, reboot always): 0 failed requests,
  every VM rebooted and on 2.0.0, and the lab's health log shows that at every moment
  the VMs out of rotation belong to one update domain;
- a boot fault on vm2: the run stops at its batch with vm2 out of rotation, UD 2
  untouched, the site answering; after the fault is cleared the re-run resumes;
- the other drain methods (admin_state, pool) on one VM.

Figures (durations against the report's lower bound, failed/total requests) go to
tests/output/rolling_patch_figures.json and are printed (pytest -s).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import ansible_runner
import pytest

from azlab.client import client_environment

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
INVENTORY = "inventories/dev"
RESOURCE_GROUP = "app1-dev-rg"
LOAD_BALANCER = "app1-lb"
RULE = "app1-lb-rule-http"
VMS = ["app1-vm1", "app1-vm2", "app1-vm3", "app1-vm4"]
TIER = {"webfarm_vm_count": 4, "webfarm_update_domains": 3}
FIGURES = REPO_ROOT / "tests" / "output" / "rolling_patch_figures.json"
HEALTH_LOG = REPO_ROOT / "tests" / "output" / "rolling_patch_health_log.json"
LOAD_FIGURES = ("total", "failed", "by_error", "rps_achieved")
BATCH_FIGURES = ("index", "kind", "update_domain", "vms", "duration_s", "lower_bound_s", "step_durations_s")


def private_ips(lab) -> dict[str, str]:
    nics = lab.resources("Microsoft.Network/networkInterfaces")
    return {nics[f"{vm}-nic1"]["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]: vm for vm in VMS}


def vm_tags(lab) -> dict[str, dict]:
    vms = lab.resources("Microsoft.Compute/virtualMachines")
    return {vm: vms[vm].get("tags") or {} for vm in VMS}


def health_events(lab, since: float) -> list[dict]:
    return [event for event in lab.server.lab.store.health_events(since=since) if event["rule"] == RULE]


def out_of_rotation_over_time(lab, since: float) -> list[tuple[float, set[str]]]:
    """Replays the health log: after each transition, the VMs that were not Up."""
    by_ip = private_ips(lab)
    down: set[str] = set()
    timeline = []
    for event in health_events(lab, since):
        vm = by_ip.get(event["ip"])
        if vm is None:
            continue
        if event["state"] == "Up":
            down.discard(vm)
        else:
            down.add(vm)
        timeline.append((event["ts"], set(down)))
    return timeline


def update_domains(lab) -> dict[str, int]:
    """Each VM's update domain, as the lab placed it at creation (its instance view's)."""
    vms = lab.resources("Microsoft.Compute/virtualMachines")
    return {vm: vms[vm]["_placement"]["platformUpdateDomain"] for vm in VMS}


def assert_one_update_domain_at_a_time(timeline, domain_of: dict[str, int]) -> None:
    for ts, down in timeline:
        domains = {domain_of[vm] for vm in down}
        assert len(domains) <= 1, f"at {ts:.3f} VMs of update domains {sorted(domains)} were out: {sorted(down)}"


def report_of(result) -> dict:
    """The JSON report whose path the run printed."""
    marker = "report: "
    paths = [line.split(marker, 1)[1].strip().strip('",') for line in result.stdout.splitlines() if marker in line
             and line.strip().strip('",').endswith(".html")]
    assert paths, result.stdout[-3000:]
    html = Path(paths[-1])
    assert html.is_file() and "<svg" in html.read_text(), html
    return json.loads(html.with_suffix(".json").read_text())


def versions_through_lb(lab, address: str, attempts: int = 40) -> dict[str, str]:
    return {page["hostname"]: page["app_version"] for page in lab.pages_through_lb(address, attempts)}


def run_patch(lab, name: str, extra: dict, playbook: str = "playbooks/rolling_patch.yml", **kwargs):
    """Runs the rolling patch; its output is kept in tests/output/rolling_patch_<name>.log."""
    started = time.monotonic()
    result = lab.playbook(playbook, inventory=INVENTORY, extra_vars={**TIER, **extra}, **kwargs)
    HEALTH_LOG.with_name(f"rolling_patch_{name}.log").write_text(result.output)
    return result, round(time.monotonic() - started, 1)


def run_patch_as_awx(lab, name: str, extra: dict, private_data_dir: Path) -> tuple[int, str, dict]:
    """The rolling patch as an AWX job template runs it: ansible-runner, project = this
    checkout, extra vars and credentials as the job's; no prompt. Returns the return
    code, the output and the job's artifacts (set_stats)."""
    private_data_dir.mkdir(parents=True, exist_ok=True)
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), project_dir=str(REPO_ROOT),
                                playbook="playbooks/rolling_patch.yml", inventory=str(REPO_ROOT / INVENTORY),
                                extravars={**TIER, **extra},
                                envvars={**client_environment(lab.settings), "ANSIBLE_NOCOLOR": "1"},
                                quiet=True)
    output = runner.stdout.read()
    HEALTH_LOG.with_name(f"rolling_patch_{name}.log").write_text(output)
    stats = [event for event in runner.events if event.get("event") == "playbook_on_stats"]
    return runner.rc, output, (stats[-1]["event_data"].get("artifact_data") or {}) if stats else {}


def patch_vars(tmp_path: Path, version: str, **more) -> dict:
    return {"rolling_patch_tasks_file": str(FIXTURES / "app_version.yml"), "rolling_patch_expected_version": version,
            "rolling_patch_reboot": "always", "rolling_patch_report_dir": str(tmp_path / "reports"), **more}


@pytest.mark.dataplane
@pytest.mark.xdist_group("rolling-patch-vmss")  # one worker with the scale-set variant (pytest.ini)
def test_rolling_patch_under_load(dataplane_lab, tmp_path):
    figures: dict = {"vm_count": len(VMS), "update_domains": 3}
    try:
        scenario(dataplane_lab, tmp_path, figures)
    finally:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
        print("\nrolling patch figures:", json.dumps(figures, indent=2))
        # the lab's health log, to read a failure after the lab is gone
        HEALTH_LOG.write_text(json.dumps(health_events(dataplane_lab, 0.0), indent=1) + "\n")
        dataplane_lab.server.lab.dataplane.clear_faults()
        dataplane_lab.playbook("playbooks/teardown.yml", inventory=INVENTORY,
                               extra_vars={"webfarm_teardown_confirm": RESOURCE_GROUP})


def scenario(lab, tmp_path: Path, figures: dict) -> None:
    HEALTH_LOG.parent.mkdir(parents=True, exist_ok=True)
    deployed = lab.playbook("site.yml", inventory=INVENTORY, extra_vars=TIER)
    assert deployed.returncode == 0, deployed.output[-6000:]
    address = lab.public_ip()
    domain_of = update_domains(lab)
    ud0 = sorted(vm for vm in VMS if domain_of[vm] == 0)
    ud1, ud2 = ([vm for vm in VMS if domain_of[vm] == number] for number in (1, 2))
    assert len(ud0) == 2 and len(ud1) == len(ud2) == 1, domain_of
    (first, second), (ud1_vm,), (ud2_vm,) = ud0, ud1, ud2

    # check mode: the plan, nothing else (no ARM write, no VM touched); by the
    # collection's playbook name, as from an installed collection
    mark = lab.mark()
    checked, _elapsed = run_patch(lab, "check", patch_vars(tmp_path, "2.0.0"),
                                  playbook="azure_ha.webfarm.rolling_patch", check=True)
    assert checked.returncode == 0, checked.output[-4000:]
    for line in (f"batch 1 (update domain 0: {first}, {second})", f"batch 2 (update domain 1: {ud1_vm})",
                 f"batch 3 (update domain 2: {ud2_vm})"):
        assert line in checked.stdout, checked.stdout[-4000:]
    assert lab.writes_since(mark) == []
    # the batch play had no VM to touch, and no report was written
    assert "PLAY [Patch one batch (update domain) at a time] ****" in checked.stdout
    assert "skipping: no hosts matched" in checked.stdout, checked.stdout[-3000:]
    assert not (tmp_path / "reports").exists()
    assert all("webfarm_patch_run" not in tags for tags in vm_tags(lab).values())

    # the guard: 4 healthy VMs, a batch of UD 0 takes 2 out, so 3 in service is impossible
    mark = lab.mark()
    refused, _elapsed = run_patch(lab, "refused", patch_vars(tmp_path, "2.0.0", rolling_patch_min_in_service=3))
    assert refused.returncode != 0
    assert "min_in_service=3" in refused.output and f"{first}, {second}" in refused.output, refused.output[-3000:]
    assert lab.writes_since(mark) == []

    # the full run under load: canary, apt full-upgrade, app 2.0.0, reboot
    since = time.time()
    with lab.load(address, tmp_path / "load-full.jsonl") as load:
        full, figures["full_run_wall_s"] = run_patch(lab, "full", patch_vars(tmp_path, "2.0.0", rolling_patch_canary=True))
    assert full.returncode == 0, full.output[-6000:]
    figures["full_run_load"] = {key: load.summary[key] for key in LOAD_FIGURES}
    report = report_of(full)
    figures["full_run_report"] = {key: report.get(key) for key in ("duration_s", "lower_bound_s", "overhead_s")}
    figures["full_run_batches"] = [{key: batch.get(key) for key in BATCH_FIGURES} for batch in report["batches"]]
    assert load.summary["failed"] == 0, load.summary
    assert load.summary["rps_achieved"] >= 45, load.summary
    assert [batch["vms"] for batch in report["batches"]] == [[first], [second], [ud1_vm], [ud2_vm]]
    for vm in VMS:
        record = report["vms"][vm]
        assert record["status"] == "done" and record["rebooted"] is True, (vm, record)
        assert (record["version_before"], record["version_after"]) == ("1.0.0", "2.0.0"), (vm, record)
    timeline = out_of_rotation_over_time(lab, since)
    assert {vm for _ts, down in timeline for vm in down} == set(VMS), timeline
    assert_one_update_domain_at_a_time(timeline, domain_of)
    assert timeline[-1][1] == set(), timeline[-1]
    assert set(versions_through_lb(lab, address).items()) == {(vm, "2.0.0") for vm in VMS}
    assert report["out_of_rotation_overlaps"] == []

    # a VM that does not come back from its reboot: the run stops at its batch
    lab.server.lab.dataplane.set_fault("boot", lab.resources("Microsoft.Compute/virtualMachines")[ud1_vm]["id"])
    since = time.time()
    failing_vars = patch_vars(tmp_path, "3.0.0", rolling_patch_reboot_timeout=45)
    with lab.load(address, tmp_path / "load-fault.jsonl") as load:
        failed, figures["failed_run_wall_s"] = run_patch(lab, "failed", failing_vars)
        assert failed.returncode != 0, failed.output[-4000:]
        assert f"{ud1_vm} failed at step reboot" in failed.output, failed.output[-4000:]
        assert "resumes run" in failed.output
        tags = vm_tags(lab)
        run_id = tags[first]["webfarm_patch_run"]
        assert {vm: tags[vm].get("webfarm_patch_state") for vm in (first, second, ud1_vm)} == {
            first: "done", second: "done", ud1_vm: "failed"}, tags
        assert tags[ud2_vm].get("webfarm_patch_run") != run_id, tags   # UD 2 untouched
        # the site answers from the others; the failed VM is out of rotation
        seen = versions_through_lb(lab, address)
        assert seen == {first: "3.0.0", second: "3.0.0", ud2_vm: "2.0.0"}, seen
        lab.server.lab.dataplane.clear_faults()
        # resumed as an AWX relaunch would: same job template, no run id given
        started = time.monotonic()
        rc, output, artifacts = run_patch_as_awx(lab, "resumed", failing_vars, tmp_path / "awx")
        figures["resumed_run_wall_s"] = round(time.monotonic() - started, 1)
    assert rc == 0, output[-6000:]
    assert f"run {run_id} (resumed)" in output
    figures["fault_and_resume_load"] = {key: load.summary[key] for key in LOAD_FIGURES}
    assert load.summary["failed"] == 0, load.summary
    resumed_report = artifacts["rolling_patch_report"]
    assert Path(artifacts["rolling_patch_report_html"]).is_file()
    assert resumed_report["run_id"] == run_id
    assert {vm: record["status"] for vm, record in resumed_report["vms"].items()} == {
        first: "skipped_done", second: "skipped_done", ud1_vm: "done", ud2_vm: "done"}
    assert_one_update_domain_at_a_time(out_of_rotation_over_time(lab, since), domain_of)
    assert set(versions_through_lb(lab, address).items()) == {(vm, "3.0.0") for vm in VMS}

    # the other drain methods, on one VM without OS packages or reboot
    for method, version in (("admin_state", "3.1.0"), ("pool", "3.2.0")):
        since = time.time()
        with lab.load(address, tmp_path / f"load-{method}.jsonl") as load:
            one, figures[f"{method}_run_wall_s"] = run_patch(lab, method, patch_vars(
                tmp_path, version, rolling_patch_drain_method=method, rolling_patch_only=[ud2_vm],
                rolling_patch_os_packages=False, rolling_patch_reboot="never"))
        assert one.returncode == 0, one.output[-6000:]
        assert load.summary["failed"] == 0, (method, load.summary)
        report = report_of(one)
        assert report["vms"][ud2_vm]["version_after"] == version, report["vms"][ud2_vm]
        if method == "admin_state":
            reasons = [event["reason"] for event in health_events(lab, since)]
            assert "Down_Admin" in reasons, reasons
        assert versions_through_lb(lab, address)[ud2_vm] == version
        figures[f"{method}_load"] = {key: load.summary[key] for key in ("total", "failed")}
