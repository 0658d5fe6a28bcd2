"""The product inside its execution environment, run as AWX runs a job (issue 18).

The EE (localhost/webfarm-ee:<version>, `make ee`, built once and reused while its
inputs are unchanged) runs the job templates' playbooks under ansible-runner with
process isolation (podman), as AWX's task container does:
- project = this repository, copied into the job's private data dir as AWX's
  project update copies it; the collection comes from the EE, not the checkout;
- the Azure credential injected as AWX's "Microsoft Azure Resource Manager" type
  injects it (awx/main/models/credential/injectors.py azure_rm: AZURE_SUBSCRIPTION_ID,
  AZURE_CLIENT_ID, AZURE_TENANT, AZURE_SECRET; AZURE_CLOUD_ENVIRONMENT when set);
  the lab's proxy and CA bundle as AWX's "extra environment variables" and a path
  exposed to isolated jobs; the VMs' key as a Machine credential (ssh-agent);
- extra vars = the survey answers of the job templates (playbooks/awx/).
The lab is reached from the container through the host's network (--network=host:
the lab's ARM proxy is on 127.0.0.1, the public IPs are 127.64.x.y addresses).

Jobs: deploy (site.yml), verify, the rolling patch plan (--check) and run (its report
in the job's artifacts via set_stats), the inventory source (the collection's
availability_set plugin), teardown. No job event and no stdout holds the client
secret or the admin password.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import ansible_runner
import pytest

from azlab.client import client_environment

REPO_ROOT = Path(__file__).resolve().parents[3]
OUTPUT = REPO_ROOT / "tests" / "output"
FIGURES = OUTPUT / "awx_ee_figures.json"
RESOURCE_GROUP = "app1-dev-rg"
ADMIN_PASSWORD = "Never-In-A-Log-4711!"
# the AWX inventory "webfarm controller" of playbooks/awx/configure.yml: the
# controller itself, the only host the Azure plays target
INVENTORY = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                             "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}
# survey answers (the job templates' defaults, a 2-VM tier to keep the test short)
TIER = {"webfarm_app": "app1", "webfarm_env": "dev", "webfarm_location": "eastus2", "webfarm_vm_count": 2,
        "webfarm_update_domains": 2, "webfarm_admin_source_prefixes": ["127.0.0.0/8"],
        "webfarm_admin_password": ADMIN_PASSWORD}
AZURE_CREDENTIAL_ENV = ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_TENANT", "AZURE_SECRET")
# The EE runs as uid 1000 (ansible-builder's default): AWX's rootless podman maps it
# to the user that owns the job's private data dir; rootful podman (ours) does not,
# so the job containers run as root here, a user that can read the data dir as AWX's can.
CONTAINER_OPTIONS = ["--network=host", "--user=0"]
JOB_ENV = ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE")


@pytest.fixture(scope="session")
def ee_image() -> str:
    """localhost/webfarm-ee:<version>, built by scripts/ee.sh unless up to date."""
    started = time.monotonic()
    done = subprocess.run([str(REPO_ROOT / "scripts" / "ee.sh")], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=1800, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    _record("ee_build_s", round(time.monotonic() - started, 1))
    return done.stdout.strip().splitlines()[-1]


def _record(key: str, value) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
    figures[key] = value
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")


def release_ssh_key_fifo(private: Path) -> None:
    """ansible-runner hands the Machine credential's key to ssh-agent through a fifo
    written by a non-daemon thread; a job that never read it (a container that could
    not start) would keep pytest from exiting. Reading it ends that thread."""
    for fifo in private.glob("artifacts/*/ssh_key_data"):
        if fifo.is_fifo():
            handle = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                time.sleep(0.2)
                os.read(handle, 65536)
            except BlockingIOError:
                pass
            finally:
                os.close(handle)


def awx_credential_env(lab_env: dict[str, str]) -> dict[str, str]:
    """What AWX's azure_rm injector puts into a job's environment for a service principal
    credential (subscription, client, tenant, secret; no cloud_environment: the lab is
    reached as the public cloud through its proxy)."""
    return {name: lab_env[name] for name in AZURE_CREDENTIAL_ENV}


class Jobs:
    """The job templates of one AWX organisation, launched under ansible-runner in the EE."""

    def __init__(self, lab, image: str, workdir: Path):
        self.image = image
        self.workdir = workdir
        self.project = workdir / "project-src"
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=True).stdout.split()
        for name in files:
            if name.startswith("lab/") or not (REPO_ROOT / name).is_file():
                continue
            (self.project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, self.project / name)
        lab_env = client_environment(lab.settings)
        self.secret = lab_env["AZURE_SECRET"]
        self.env = {**awx_credential_env(lab_env), **{name: lab_env[name] for name in JOB_ENV},
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
        self.ca_bundle = lab_env["REQUESTS_CA_BUNDLE"]
        key = Path.home() / ".ssh" / "webfarm_dev_ed25519"
        self.ssh_key = key.read_text()
        self.public_key = key.with_suffix(".pub").read_text().strip()
        self.count = 0
        self.times: dict[str, float] = {}

    def launch(self, name: str, playbook: str, extravars: dict, *, check: bool = False,
               inventory: dict | None = None):
        self.count += 1
        private = self.workdir / f"job{self.count}-{name}"
        shutil.copytree(self.project, private / "project", symlinks=True)
        started = time.monotonic()
        runner = ansible_runner.run(
            private_data_dir=str(private), playbook=playbook, inventory=inventory or INVENTORY,
            extravars={**TIER, "webfarm_ssh_public_key": self.public_key, "webfarm_ssh_private_key_file": "",
                       **extravars},
            envvars=self.env, ssh_key=self.ssh_key, cmdline="--check" if check else None,
            process_isolation=True, process_isolation_executable="podman", container_image=self.image,
            container_options=CONTAINER_OPTIONS, container_volume_mounts=[f"{self.ca_bundle}:{self.ca_bundle}:ro"],
            quiet=True, timeout=900)
        self.times[name] = round(time.monotonic() - started, 1)
        release_ssh_key_fifo(private)
        stdout = runner.stdout.read()
        (OUTPUT / f"awx_ee_{name}.log").write_text(stdout)
        events = list(runner.events)
        for text in [stdout, *(json.dumps(event) for event in events)]:
            assert self.secret not in text, f"{name}: the client secret is in the job's output/events"
            assert ADMIN_PASSWORD not in text, f"{name}: the admin password is in the job's output/events"
        stats = [event for event in events if event.get("event") == "playbook_on_stats"]
        artifacts = (stats[-1]["event_data"].get("artifact_data") or {}) if stats else {}
        return runner.rc, stdout, artifacts, private


@pytest.mark.dataplane  # podman: with the data-plane tests
@pytest.mark.xdist_group("awx-ee")  # one worker builds the image once
def test_ee_contents(ee_image):
    """ansible-galaxy collection list and ansible-doc of a module of ours, inside the EE."""
    done = subprocess.run(["podman", "run", "--rm", ee_image, "bash", "-c",
                           "ansible-galaxy collection list && ansible-doc azure_ha.webfarm.nic_nat_rules"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    for collection in ("azure_ha.webfarm", "azure.azcollection", "community.general"):
        assert collection in done.stdout
    assert "nic_nat_rules" in done.stdout and "OPTIONS" in done.stdout
    size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", ee_image], capture_output=True,
                          text=True, check=True).stdout.strip()
    _record("ee_image_size_mb", int(size) // 1_000_000)


@pytest.mark.xdist_group("awx-ee")
def test_job_templates_in_ee(dataplane_lab, ee_image, tmp_path):
    jobs = Jobs(dataplane_lab, ee_image, tmp_path)
    try:
        rc, out, _artifacts, _dir = jobs.launch("deploy", "site.yml", {})
        assert rc == 0, out[-6000:]
        assert "failed=0" in out and "PLAY RECAP" in out

        rc, out, _artifacts, _dir = jobs.launch("verify", "playbooks/verify.yml", {})
        assert rc == 0, out[-4000:]

        # the inventory source: the collection's plugin, as an AWX inventory update runs it
        private = tmp_path / "inventory-update"
        (private / "project" / "inventory").mkdir(parents=True)
        (private / "project" / "inventory" / "webfarm.yml").write_text(
            (REPO_ROOT / "playbooks" / "awx" / "inventory" / "webfarm.yml").read_text())
        started = time.monotonic()
        out, err, rc = ansible_runner.run_command(
            executable_cmd="ansible-inventory", cmdline_args=["-i", "/runner/project/inventory/webfarm.yml", "--list"],
            private_data_dir=str(private), envvars=jobs.env, process_isolation=True,
            process_isolation_executable="podman", container_image=ee_image, container_options=CONTAINER_OPTIONS,
            container_volume_mounts=[f"{jobs.ca_bundle}:{jobs.ca_bundle}:ro"], quiet=True)
        jobs.times["inventory_update"] = round(time.monotonic() - started, 1)
        assert rc == 0, out[-3000:] + err[-3000:]
        listing = json.loads(out[out.index("{"):])
        assert set(listing.get("webfarm_vms", {}).get("hosts", [])) == {"app1-vm1", "app1-vm2"}, out[-3000:] + err[-3000:]
        assert jobs.secret not in out + err

        rc, out, _artifacts, _dir = jobs.launch("patch_plan", "playbooks/rolling_patch.yml", {}, check=True)
        assert rc == 0, out[-4000:]
        assert "batch 1 (update domain 0" in out and "batch 2 (update domain 1" in out, out[-4000:]

        patch = {"rolling_patch_tasks_file": "/runner/project/tests/integration/playbooks/fixtures/app_version.yml",
                 "rolling_patch_expected_version": "2.0.0", "rolling_patch_os_packages": False,
                 "rolling_patch_reboot": "never", "rolling_patch_report_dir": "/runner/artifacts/reports"}
        rc, out, artifacts, private = jobs.launch("patch_run", "playbooks/rolling_patch.yml", patch)
        assert rc == 0, out[-6000:]
        report = artifacts["rolling_patch_report"]
        assert {vm: record["status"] for vm, record in report["vms"].items()} == {
            "app1-vm1": "done", "app1-vm2": "done"}, report["vms"]
        assert {record["version_after"] for record in report["vms"].values()} == {"2.0.0"}
        html = Path(artifacts["rolling_patch_report_html"].replace("/runner", str(private), 1))
        assert html.is_file()
    finally:
        rc, out, _artifacts, _dir = jobs.launch("teardown", "playbooks/teardown.yml",
                                                {"webfarm_teardown_confirm": RESOURCE_GROUP})
        _record("in_ee_job_wall_s", jobs.times)
        print("\nin-EE job wall times:", json.dumps(jobs.times))
    assert rc == 0, out[-3000:]
