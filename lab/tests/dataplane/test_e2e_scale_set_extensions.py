"""End to end: a scale set's extensions run for real in its instances' guests.

A Rolling set of two whose health source is the Application Health extension (2.0, rich
states, probing ``localhost:8080/health`` in each guest) and a Custom Script (its command a
protected setting) that writes a file and starts the health endpoint. The PUT ends once the
script ran after cloud-init in both guests: the file is there, the instance view shows the
script's stdout and vmHealth healthy. An extensions-only change under Rolling reruns the
script batch by batch without a reimage (the containers and a marker file outside the
script's output stay). The endpoint of one guest answering Unhealthy turns its vmHealth
unhealthy, and the next rolling upgrade stops on the policy (maxUnhealthyInstancePercent).
"""

from __future__ import annotations

import subprocess

import pytest

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from polling import wait_for
from scale_set_tier import Tier, container_id

pytestmark = pytest.mark.dataplane

RG = "dp-vmss-ext-rg"
OUTPUT = "/var/lib/azlab-ext/out"
MARKER = "/var/tmp/azlab-marker"
HEALTH_FILE = "/srv/health/health"
POLICY = {"maxBatchInstancePercent": 50, "maxUnhealthyInstancePercent": 20,
          "maxUnhealthyUpgradedInstancePercent": 0, "pauseTimeBetweenBatches": "PT0S"}
HEALTH = {"name": "health", "properties": {
    "publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux", "typeHandlerVersion": "2.0",
    "autoUpgradeMinorVersion": True, "settings": {"protocol": "http", "port": 8080, "requestPath": "/health",
                                                  "intervalInSeconds": 5, "numberOfProbes": 1}}}


def command(version: str) -> str:
    """Write the version, say it, and serve the health state (once) from a file on :8080."""
    return (f"mkdir -p /srv/health {OUTPUT.rsplit('/', 1)[0]} && echo {version} > {OUTPUT} && "
            f"echo '{{\"ApplicationHealthState\": \"Healthy\"}}' > {HEALTH_FILE} && "
            "(systemctl is-active -q azlab-health || systemd-run --unit azlab-health "
            "python3 -m http.server 8080 --directory /srv/health) && echo configured " + version)


def script(version: str) -> dict:
    return {"name": "setup", "properties": {
        "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1",
        "settings": {}, "protectedSettings": {"commandToExecute": command(version)}}}


def guest(vm_id: str, shell: str) -> str:
    return subprocess.run(["podman", "exec", container_name(vm_id), "/bin/sh", "-c", shell], env=podman.podman_env(),
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    tier = Tier(clients, dataplane_server.lab, RG, "10.86", tmp_path_factory.mktemp("ext-ssh"))
    tier.build_network()
    body = tier.set_body(2, {"mode": "Rolling", "rollingUpgradePolicy": POLICY}, overprovision=False)
    body["properties"]["virtualMachineProfile"]["extensionProfile"] = {"extensions": [script("v1"), HEALTH]}
    tier.put_set(body)
    yield tier
    tier.delete_set()


def health(tier, instance_id: str) -> str | None:
    view = tier.cm.virtual_machine_scale_set_vms.get_instance_view(RG, "web", instance_id)
    return view.vm_health.status.code if view.vm_health else None


def latest(tier):
    return tier.cm.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, "web")


def change_script(tier, version: str) -> None:
    ext = tier.cm.models().VirtualMachineScaleSetExtension.from_dict(script(version))
    tier.cm.virtual_machine_scale_set_extensions.begin_create_or_update(RG, "web", "setup", ext).result()


def test_the_script_ran_after_cloud_init_and_the_health_extension_reports(tier):
    ids = tier.instance_ids()
    assert len(ids) == 2
    assert [guest(vm_id, f"cat {OUTPUT}") for vm_id in ids] == ["v1", "v1"], "the PUT ended after the script ran"
    assert all(guest(vm_id, "cloud-init status") == "status: done" for vm_id in ids)
    view = tier.cm.virtual_machine_scale_set_vms.get_instance_view(RG, "web", "0")
    setup = next(e for e in view.extensions if e.name == "setup")
    assert setup.statuses[0].code == "ProvisioningState/succeeded" and "configured v1" in setup.statuses[0].message
    assert "ApplicationHealthState" not in str(tier.cm.virtual_machine_scale_sets.get(RG, "web").as_dict()), \
        "the protected command is never shown"
    assert wait_for(lambda: [health(tier, i) for i in ("0", "1")] == ["HealthState/healthy"] * 2, timeout=60, step=2)


def test_an_extensions_only_change_reruns_the_script_without_a_reimage(tier):
    ids = tier.instance_ids()
    containers = {vm_id: container_id(vm_id) for vm_id in ids}
    for vm_id in ids:
        guest(vm_id, f"echo kept > {MARKER}")
    change_script(tier, "v2")
    assert wait_for(lambda: latest(tier).running_status.code != "RollingForward", timeout=120, step=2)
    status = latest(tier)
    assert status.running_status.code == "Completed", status.as_dict()
    assert status.progress.successful_instance_count == 2
    assert [guest(vm_id, f"cat {OUTPUT}") for vm_id in ids] == ["v2", "v2"], "the script ran again"
    assert [guest(vm_id, f"cat {MARKER}") for vm_id in ids] == ["kept", "kept"], "in the same guests"
    assert {vm_id: container_id(vm_id) for vm_id in ids} == containers, "no reimage"
    assert all(i.latest_model_applied for i in tier.cm.virtual_machine_scale_set_vms.list(RG, "web"))


def test_an_unhealthy_application_turns_vm_health_and_stops_the_rolling_upgrade(tier):
    first = next(vm_id for vm_id in tier.instance_ids() if vm_id.endswith("/0"))
    guest(first, f"echo '{{\"ApplicationHealthState\": \"Unhealthy\"}}' > {HEALTH_FILE}")
    assert wait_for(lambda: health(tier, "0") == "HealthState/unhealthy", timeout=30, step=1)
    assert health(tier, "1") == "HealthState/healthy"
    change_script(tier, "v3")
    assert wait_for(lambda: latest(tier).running_status.code != "RollingForward", timeout=60, step=2)
    status = latest(tier)
    assert status.running_status.code == "Faulted", status.as_dict()
    assert status.error.code == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert [guest(vm_id, f"cat {OUTPUT}") for vm_id in tier.instance_ids()] == ["v2", "v2"], "no batch ran"
