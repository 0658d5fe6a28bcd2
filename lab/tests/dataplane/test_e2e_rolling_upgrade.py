"""End to end: a Rolling scale set takes a new model batch by batch under load, on the machine.

A set of three behind the LB's HTTP probe (its health source), rollingUpgradePolicy one
instance per batch. A new customData under 20 req/s: the Azure SDK reads
``rollingUpgrades/latest`` while it rolls - never more than one instance in progress, the
batches follow each other - every instance ends on the new version, its container made
anew, and no request failed (each batch left the rotation before its containers were
replaced and came back through its probe). Then a model whose web server never starts,
with maxUnhealthyUpgradedInstancePercent 0: the first upgraded instance stays unhealthy,
the upgrade faults with Azure's error, and the other two still serve the old version.
"""

from __future__ import annotations

import json
import os
import threading

import pytest

from azlab.loadgen import LoadConfig, LoadGenerator
from helpers import az_login, az_runner
from polling import wait_for
from scale_set_tier import Tier, container_id, custom_data

pytestmark = pytest.mark.dataplane

RG = "dp-rolling-rg"
POLICY = {"maxBatchInstancePercent": 34, "maxUnhealthyInstancePercent": 34,
          "maxUnhealthyUpgradedInstancePercent": 0, "pauseTimeBetweenBatches": "PT1S"}


def set_body(tier: Tier, version: str = "v1") -> dict:
    """The Rolling set of three; no overprovisioning: the tests are about upgrades (extras would
    only slow the create down)."""
    return tier.set_body(3, {"mode": "Rolling", "rollingUpgradePolicy": POLICY}, version=version, health_probe=True,
                         overprovision=False)


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    tier = Tier(clients, dataplane_server.lab, RG, "10.82", tmp_path_factory.mktemp("rolling-ssh"))
    tier.build_network()
    tier.put_set(set_body(tier))
    assert wait_for(lambda: len(tier.hostnames_through_lb()) == 3, timeout=180, step=1)
    yield tier
    tier.delete_set()


def latest(tier):
    return tier.cm.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, "web")


def watch(tier, stop: threading.Event, seen: list) -> None:
    """What rollingUpgrades/latest says while the upgrade runs (through the SDK)."""
    while not stop.wait(1):
        status = latest(tier)
        seen.append((status.running_status.code, status.progress.successful_instance_count,
                     status.progress.in_progress_instance_count, status.progress.pending_instance_count))


def test_a_new_model_rolls_out_batch_by_batch_without_a_failed_request(tier):
    containers = {vm_id: container_id(vm_id) for vm_id in tier.instance_ids()}
    load = LoadGenerator(LoadConfig(url=f"http://{tier.address}/", rate=20, clients=4, timeout=5))
    load_thread = threading.Thread(target=lambda: setattr(load, "result", load.run()), daemon=True)
    load_thread.start()
    body = set_body(tier, version="v2")
    tier.put_set(body)
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch, args=(tier, stop, seen), daemon=True)
    watcher.start()
    done = wait_for(lambda: latest(tier).running_status.code != "RollingForward", timeout=400, step=2)
    stop.set()
    watcher.join()
    load.stop()
    load_thread.join()
    status = latest(tier)
    assert done and status.running_status.code == "Completed", status.as_dict()
    assert status.progress.successful_instance_count == 3 and status.progress.failed_instance_count == 0
    assert all(in_progress <= 1 for _, _, in_progress, _ in seen), seen
    upgraded = [ok for _, ok, _, _ in seen]
    assert upgraded == sorted(upgraded) and {1, 2} <= set(upgraded), f"one batch after the other: {seen}"
    assert all(container_id(vm_id) != before for vm_id, before in containers.items()), "each instance was reimaged"
    assert wait_for(lambda: {answer.split()[1] for answer in tier.hostnames_through_lb()} == {"v2"}, timeout=30)
    result = load.result
    assert result["total"] > 100 and result["failed"] == 0, result


def test_the_azure_cli_reads_the_latest_rolling_upgrade(tier, env, tmp_path):
    az = az_runner({**os.environ, **env}, tmp_path)
    az_login(az, env)
    shown = json.loads(az("vmss", "rolling-upgrade", "get-latest", "-g", RG, "-n", "web", "-o", "json").stdout)
    assert shown["runningStatus"]["code"] == "Completed" and shown["progress"]["successfulInstanceCount"] == 3


def test_an_instance_that_fails_its_probe_after_the_upgrade_stops_it(tier, dataplane_server):
    dataplane_server.lab.dataplane.rolling.health_wait_seconds = 40
    try:
        body = set_body(tier, version="v3")
        body["properties"]["virtualMachineProfile"]["osProfile"]["customData"] = custom_data("v3", serve=False)
        tier.put_set(body)
        assert wait_for(lambda: latest(tier).running_status.code != "RollingForward", timeout=240, step=2)
    finally:
        dataplane_server.lab.dataplane.rolling.health_wait_seconds = None  # the time scale again
    status = latest(tier)
    assert status.running_status.code == "Faulted"
    assert status.error.code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade", status.as_dict()
    assert status.progress.failed_instance_count == 1 and status.progress.successful_instance_count == 0
    instances = list(tier.cm.virtual_machine_scale_set_vms.list(RG, "web"))
    assert sorted(i.latest_model_applied for i in instances) == [False, False, True]
    assert {answer.split()[1] for answer in tier.hostnames_through_lb()} == {"v2"}, "the others serve on"


def test_reimaging_an_instance_makes_its_container_anew_on_the_model_it_runs(tier):
    instance = next(i for i in tier.cm.virtual_machine_scale_set_vms.list(RG, "web") if i.latest_model_applied)
    vm_id = next(vm_id for vm_id in tier.instance_ids() if vm_id.endswith(f"/{instance.instance_id}"))
    before = container_id(vm_id)
    tier.cm.virtual_machine_scale_set_vms.begin_reimage(RG, "web", instance.instance_id).result()
    assert container_id(vm_id) != before, "the reimage's operation ended before the new container ran"
    again = tier.cm.virtual_machine_scale_set_vms.get(RG, "web", instance.instance_id)
    assert again.latest_model_applied is True
