"""End to end: overprovisioning and automatic repairs of a scale set, on the machine.

A set of two with Azure's defaults (``overprovision: true``) behind the LB's HTTP probe (its
health source), automatic repairs Replace with the ten-minute grace period, on a time scale
where an Azure minute lasts ``SECONDS_PER_MINUTE`` seconds. The create makes three real
containers and its PUT ends with two kept and the extra's container gone; then the web server of
one instance is stopped: once its grace period is over the set replaces it (a new instance ID,
made by the set's own code, overprovisioned too) and the LB serves the new instance.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from polling import wait_for
from scale_set_tier import Tier, container_id, runs

pytestmark = pytest.mark.dataplane

RG = "dp-repairs-rg"
#: the grace period (PT10M) lasts 25 s
SECONDS_PER_MINUTE = 2.5
GRACE_SECONDS = 10 * SECONDS_PER_MINUTE


def exists(vm_id: str) -> bool:
    return subprocess.run(["podman", "container", "exists", container_name(vm_id)], env=podman.podman_env(),
                          check=False).returncode == 0


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setattr(dataplane_server.settings, "seconds_per_minute", SECONDS_PER_MINUTE)
    tier = Tier(clients, dataplane_server.lab, RG, "10.83", tmp_path_factory.mktemp("repairs-ssh"))
    tier.build_network()
    tier.started = time.monotonic()
    tier.put_set(tier.set_body(2, {"mode": "Manual"}, health_probe=True, automaticRepairsPolicy={
        "enabled": True, "gracePeriod": "PT10M", "repairAction": "Replace"}))
    yield tier
    patch.undo()
    tier.delete_set()


def test_an_overprovisioned_create_keeps_the_requested_instances(tier):
    vmss = tier.cm.virtual_machine_scale_sets.get(RG, "web")
    assert vmss.sku.capacity == 2 and vmss.overprovision is True
    made = {f"{vmss.id}/virtualMachines/{n}".lower() for n in range(3)}  # two asked for, one extra
    kept = {vm_id.lower() for vm_id in tier.instance_ids()}
    assert len(kept) == 2 and kept < made
    assert all(runs(vm_id) for vm_id in kept), "the PUT ended with the kept instances running"
    (extra,) = made - kept
    assert not exists(extra), "and the extra's container is gone"
    assert wait_for(lambda: len(tier.hostnames_through_lb()) == 2, timeout=90, step=1)
    view = tier.cm.virtual_machine_scale_sets.get_instance_view(RG, "web")
    assert [(s.service_name, s.service_state) for s in view.orchestration_services] == [
        ("AutomaticRepairs", "Running")]


def test_an_instance_whose_web_server_stopped_is_replaced_after_its_grace_period(tier):
    victim, other = tier.instance_ids()
    other_container = container_id(other)
    subprocess.run(["podman", "exec", container_name(victim), "systemctl", "stop", "web"], env=podman.podman_env(),
                   check=True, capture_output=True, timeout=60)
    assert wait_for(lambda: victim not in tier.instance_ids(), timeout=GRACE_SECONDS + 60, step=1), \
        "the unhealthy instance was not replaced"
    # its grace period began when its container ran, after the set's PUT began
    assert time.monotonic() - tier.started >= GRACE_SECONDS
    assert wait_for(lambda: len(tier.instance_ids()) == 2 and not exists(victim), timeout=120, step=1)
    (new,) = set(tier.instance_ids()) - {other}
    assert int(new.rsplit("/", 1)[1]) >= 3, "a replacement takes a new instance ID"
    assert tier.cm.virtual_machine_scale_sets.get(RG, "web").sku.capacity == 2
    name = tier.lab.store.get(new)["properties"]["osProfile"]["computerName"]
    assert wait_for(lambda: name in {answer.split()[0] for answer in tier.hostnames_through_lb()}, timeout=90, step=1)
    assert container_id(other) == other_container, "the healthy instance was left alone"
