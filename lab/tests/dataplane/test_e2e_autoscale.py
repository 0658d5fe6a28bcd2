"""End to end: an autoscale setting scales a scale set on its instances' real CPU.

The Azure SDK builds a VNet and a scale set of one (Standard_B1s, 1 vCPU), then an autoscale
setting (out by 1 when the average Percentage CPU over 5 minutes is above 50 %, in by 1 when
below 20 %, 1 to 2 instances). An Azure minute lasts 4 s here
(``LabSettings.seconds_per_minute``). Checked on the machine: a busy loop in the
instance's container makes the set 2 and a second container run; once the loop ends the set
goes back to 1 and the container of the instance the scale-in policy removed is gone.

Run it alone under the lab lock: ``flock /tmp/webfarm-lab.lock pytest tests/dataplane/test_e2e_autoscale.py``.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from polling import wait_for

pytestmark = pytest.mark.dataplane

RG = "dp-autoscale-rg"
LOCATION = "eastus"
SECONDS_PER_MINUTE = 4
INSIGHTS_API = "2022-10-01"
STOP_FILE = "/tmp/azlab-stop-load"


def runs(vm_id: str) -> bool:
    state = subprocess.run(["podman", "container", "inspect", "-f", "{{.State.Status}}", container_name(vm_id)],
                           capture_output=True, text=True, check=False)
    return state.returncode == 0 and state.stdout.strip() == "running"


@pytest.fixture(scope="module")
def scaled(clients, dataplane_server, tmp_path_factory):
    """(SDK clients, the set's ID, its first instance's ID) with the autoscale setting in place."""
    cm, net = clients
    sub = cm._config.subscription_id
    from azure.mgmt.monitor import MonitorManagementClient  # noqa: PLC0415 - SDK only where tests run
    from azure.mgmt.resource import ResourceManagementClient  # noqa: PLC0415
    ResourceManagementClient(cm._config.credential, sub).resource_groups.create_or_update(RG, {"location": LOCATION})
    vnet = net.virtual_networks.begin_create_or_update(RG, "scale-vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.82.0.0/16"]},
        "subnets": [{"name": "web", "address_prefix": "10.82.1.0/24"}]}).result()
    keydir = tmp_path_factory.mktemp("autoscale-ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")], check=True)
    # the test is about autoscale: no overprovisioning (instance 0 is the first; a scale-out makes one container)
    body = {"location": LOCATION, "sku": {"name": "Standard_B1s", "capacity": 1}, "properties": {
        "orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"}, "overprovision": False,
        "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "cpu", "adminUsername": "azureuser", "linuxConfiguration": {
                "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                    {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": (keydir / "id.pub").read_text()}]}}},
            "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                  "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                "primary": True, "ipConfigurations": [{"name": "ip", "properties": {
                    "subnet": {"id": vnet.subnets[0].id}}}]}}]}}}}
    vmss = cm.virtual_machine_scale_sets.begin_create_or_update(
        RG, "web", cm.models().VirtualMachineScaleSet.from_dict(body)).result()
    first = f"{vmss.id}/virtualMachines/0"
    # the guest's boot is busy: let it end first, so that only the test's load counts
    subprocess.run(["podman", "exec", container_name(first), "systemctl", "is-system-running", "--wait"],
                   env=podman.podman_env(), capture_output=True, timeout=180, check=False)
    patch = pytest.MonkeyPatch()
    patch.setattr(dataplane_server.settings, "seconds_per_minute", SECONDS_PER_MINUTE)
    monitor = MonitorManagementClient(cm._config.credential, sub)

    def rule(direction: str, op: str, threshold: float) -> dict:
        return {"metricTrigger": {"metricName": "Percentage CPU", "metricResourceUri": vmss.id, "timeGrain": "PT1M",
                                  "statistic": "Average", "timeWindow": "PT5M", "timeAggregation": "Average",
                                  "operator": op, "threshold": threshold},
                "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": "PT1M"}}
    setting = {"location": LOCATION, "properties": {"enabled": True, "targetResourceUri": vmss.id, "profiles": [{
        "name": "cpu", "capacity": {"minimum": "1", "maximum": "2", "default": "1"},
        "rules": [rule("Increase", "GreaterThan", 50), rule("Decrease", "LessThan", 20)]}]}}
    models = MonitorManagementClient.models(INSIGHTS_API)
    monitor.autoscale_settings.create_or_update(RG, "web-cpu", models.AutoscaleSettingResource.from_dict(setting))
    yield cm, vmss.id, first
    monitor.autoscale_settings.delete(RG, "web-cpu")
    patch.undo()
    cm.virtual_machine_scale_sets.begin_delete(RG, "web").result()


def capacity(cm) -> int:
    return cm.virtual_machine_scale_sets.get(RG, "web").sku.capacity


def test_cpu_load_scales_the_set_out_and_its_end_scales_it_back_in(scaled, dataplane_server):
    cm, vmss_id, first = scaled
    time.sleep(3 * SECONDS_PER_MINUTE)
    assert capacity(cm) == 1, "an idle instance does not scale the set out"
    # a busy loop on the instance's one vCPU, until the stop file appears (at most 90 s)
    load = subprocess.Popen(["podman", "exec", container_name(first), "timeout", "90", "sh", "-c",
                             f"while [ ! -e {STOP_FILE} ]; do :; done"], env=podman.podman_env())
    try:
        started = time.monotonic()
        assert wait_for(lambda: capacity(cm) == 2, timeout=60, step=1), "the load did not scale the set out"
        print(f"\nscale out {time.monotonic() - started:.1f} s after the load started")
        second = f"{vmss_id}/virtualMachines/1"
        assert wait_for(lambda: runs(second), timeout=90, step=1), "the second instance's container does not run"
    finally:
        subprocess.run(["podman", "exec", container_name(first), "touch", STOP_FILE], env=podman.podman_env(),
                       check=False)
        load.wait(timeout=30)
    ended = time.monotonic()
    assert wait_for(lambda: capacity(cm) == 1, timeout=120, step=1), "the end of the load did not scale the set in"
    print(f"scale in {time.monotonic() - ended:.1f} s after the load ended")
    assert wait_for(lambda: not runs(second), timeout=30, step=1), "the removed instance's container still runs"
    assert runs(first), "Default scale-in removes the highest instance ID"
    history = dataplane_server.lab.dataplane_status()["autoscale"]["history"]
    assert [(action["from"], action["to"], action["outcome"]) for action in history][-2:] == [
        (1, 2, "succeeded"), (2, 1, "succeeded")]
