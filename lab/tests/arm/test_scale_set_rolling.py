"""Rolling upgrades of a scale set, in process: the record ARM serves (rollingUpgrades/latest,
cancel, osRollingUpgrade) and the data plane's batch loop (``dataplane.rolling``) driven
through the data plane's own inputs - the containers the controller made and the probe
transitions HAProxy reported - so every batch, check and refusal is seen step by step.
The same loop against real containers and HAProxy under load: dataplane/test_e2e_scale_sets.py.
"""

from __future__ import annotations

import pytest

from azlab.dataplane import gates
from azlab.dataplane import rolling
from azlab.dataplane.rolling import RollingUpgrades, out_of_rotation_nics
from azlab.models.compute.catalog import find_image
from azlab.models.compute.common import INSTANCE_TYPE
from azlab.models.compute.state import guest_generation, instance_spec
from azlab.models.store import key_of
from test_compute import COMPUTE_API, JAMMY, error
from test_scale_sets import ScaleSetCloud

LATEST = "virtualMachineScaleSets/vmss/rollingUpgrades/latest"


class RollingCloud(ScaleSetCloud):
    """A Rolling scale set of three behind the LB probe of a load-balancing rule, and the
    data plane's view of it: ``made`` (the controller's record of made containers) and the
    probe results HAProxy would report."""

    def __init__(self, arm, lab):
        super().__init__(arm)
        self.lab = lab
        lb = self.arm.get(f"{self.lb_id}", api="2024-05-01").json
        lb["properties"]["loadBalancingRules"] = [{"name": "http", "properties": {
            "frontendIPConfiguration": {"id": f"{self.lb_id}/frontendIPConfigurations/fe"},
            "backendAddressPool": {"id": f"{self.lb_id}/backendAddressPools/pool"},
            "probe": {"id": f"{self.lb_id}/probes/http"}, "protocol": "Tcp", "frontendPort": 80, "backendPort": 80}}]
        assert self.arm.put(self.lb_id, lb).status_code == 200
        self.made: dict[str, str] = {}
        self.upgrader = RollingUpgrades(lab, self.made)
        self.upgrader.drain_seconds = 0

    def rolling_body(self, capacity: int = 3, **policy) -> dict:
        # these tests are about upgrades, not overprovisioning: the instances are exactly 0, 1, 2
        body = self.body(capacity=capacity, mode="Rolling", overprovision=False)
        body["properties"]["upgradePolicy"]["rollingUpgradePolicy"] = {"maxBatchInstancePercent": 34, **policy}
        body["properties"]["virtualMachineProfile"]["networkProfile"]["healthProbe"] = {
            "id": f"{self.lb_id}/probes/http"}
        return body

    def new_model(self) -> None:
        body = self.get("virtualMachineScaleSets/vmss").json
        caching = body["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"]
        body["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"] = (
            "ReadWrite" if caching == "ReadOnly" else "ReadOnly")
        assert self.put_set(body).status_code == 200

    def stored(self) -> list[dict]:
        return [body for _, body in sorted(self.lab.store.list(INSTANCE_TYPE), key=lambda i: int(i[1]["instanceId"]))]

    def containers_run(self) -> None:
        """The controller made a container for every instance, on what the instance says."""
        for body in self.stored():
            self.made[key_of(body["id"])] = gates.made_token(instance_spec(self.lab.store, body["id"]))

    def probe(self, instance_id: str, state: str) -> None:
        body = next(b for b in self.stored() if b["instanceId"] == instance_id)
        nic = self.lab.store.get(body["properties"]["networkProfile"]["networkInterfaces"][0]["id"])
        self.lab.store.record_health(self.lb_id, "http", nic["properties"]["ipConfigurations"][0]["id"], None, state)

    def all_up(self) -> None:
        for body in self.stored():
            self.probe(body["instanceId"], "Up")

    def latest(self) -> dict:
        answer = self.get(LATEST)
        assert answer.status_code == 200, answer.json
        return answer.json["properties"]

    def step(self) -> dict:
        """One controller pass: the containers run what their instances say, then the upgrade advances."""
        self.containers_run()
        self.upgrader.reconcile()
        return self.latest()


@pytest.fixture
def cloud(arm, lab, guests_run) -> RollingCloud:
    cloud = RollingCloud(arm, lab)
    return cloud


def models_applied(cloud) -> list[bool]:
    return [i["properties"]["latestModelApplied"] for i in cloud.instances()]


def test_no_rolling_upgrade_yet_is_not_found_and_nothing_to_cancel(cloud):
    assert cloud.put_set(cloud.rolling_body()).status_code == 201
    assert error(cloud.get(LATEST))[:2] == (404, "NotFound")
    assert error(cloud.post("virtualMachineScaleSets/vmss/rollingUpgrades/cancel"))[:2] == (409, "OperationNotAllowed")


def test_a_new_model_rolls_out_one_batch_at_a_time_behind_the_probe(cloud):
    assert cloud.put_set(cloud.rolling_body()).status_code == 201
    cloud.all_up()
    cloud.new_model()
    status = cloud.latest()
    assert status["runningStatus"]["code"] == "RollingForward" and status["runningStatus"]["lastAction"] == "Start"
    assert status["progress"] == {"successfulInstanceCount": 0, "failedInstanceCount": 0,
                                  "inProgressInstanceCount": 0, "pendingInstanceCount": 3}
    assert status["policy"]["maxBatchInstancePercent"] == 34
    seen_out = []
    for _ in range(30):
        status = cloud.step()
        out = out_of_rotation_nics(cloud.lab.store)
        seen_out.append(len(out))
        assert status["progress"]["inProgressInstanceCount"] <= 1, "34% of three is one instance per batch"
        for body in cloud.stored():
            if body.get("_rolling_out") is None and body["instanceId"] in {"0", "1", "2"}:
                cloud.probe(body["instanceId"], "Up")  # back in rotation: its probe passes
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Completed", status
    assert status["progress"]["successfulInstanceCount"] == 3 and status["progress"]["pendingInstanceCount"] == 0
    assert models_applied(cloud) == [True, True, True]
    assert max(seen_out) == 1 and out_of_rotation_nics(cloud.lab.store) == set()


def test_an_upgraded_instance_that_stays_unhealthy_stops_the_upgrade(cloud):
    assert cloud.put_set(cloud.rolling_body(maxUnhealthyUpgradedInstancePercent=0)).status_code == 201
    cloud.all_up()
    cloud.new_model()
    cloud.upgrader.health_wait_seconds = 0  # the upgraded instance never passes its probe
    for _ in range(10):
        status = cloud.step()
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Faulted"
    assert status["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert status["progress"]["failedInstanceCount"] == 1 and status["progress"]["successfulInstanceCount"] == 0
    assert models_applied(cloud) == [True, False, False], "no batch after the breach"


def test_the_health_wait_is_azures_five_minutes_on_the_labs_time_scale(cloud):
    """HEALTH_WAIT_SECONDS (Azure's 300 s) lasts 5 Azure minutes of LabSettings.seconds_per_minute,
    read on every pass (a test may change the scale of a running lab); a value set on the
    upgrader wins until it is set back to None."""
    assert rolling.HEALTH_WAIT_SECONDS == 300.0 and rolling.health_wait(60) == 300.0
    cloud.lab.settings.seconds_per_minute = 60
    assert cloud.upgrader.health_wait_seconds == 300.0, "real time by default"
    cloud.lab.settings.seconds_per_minute = 6
    assert cloud.upgrader.health_wait_seconds == pytest.approx(30.0)
    cloud.lab.settings.seconds_per_minute = 0.6
    assert cloud.upgrader.health_wait_seconds == pytest.approx(3.0)
    cloud.upgrader.health_wait_seconds = 40
    assert cloud.upgrader.health_wait_seconds == 40
    cloud.upgrader.health_wait_seconds = None
    assert cloud.upgrader.health_wait_seconds == pytest.approx(3.0)


@pytest.mark.parametrize("seconds_per_minute", [60, 12])
def test_an_unhealthy_upgraded_instance_fails_after_the_scaled_health_wait_not_before(
        cloud, monkeypatch, seconds_per_minute):
    """The batch of an instance that never passes its probe waits exactly the scaled wait
    (5 Azure minutes: 300 s in real time, 60 s at 12 s per minute), then the upgrade faults."""
    clock = [1_000_000.0]
    monkeypatch.setattr(rolling.time, "time", lambda: clock[0])
    cloud.lab.settings.seconds_per_minute = seconds_per_minute
    wait = 5 * seconds_per_minute
    assert cloud.put_set(cloud.rolling_body(maxUnhealthyUpgradedInstancePercent=0)).status_code == 201
    cloud.all_up()
    cloud.new_model()
    assert cloud.step()["runningStatus"]["code"] == "RollingForward"  # batch chosen: draining
    [batch] = [body["instanceId"] for body in cloud.stored() if body.get("_rolling_out")]
    assert cloud.step()["runningStatus"]["code"] == "RollingForward"  # upgrading from now on
    upgrading_since = clock[0]
    cloud.probe(batch, "Down")  # its new model never serves
    clock[0] = upgrading_since + wait - 1
    status = cloud.step()
    assert status["runningStatus"]["code"] == "RollingForward", status
    assert status["progress"]["failedInstanceCount"] == 0 and status["progress"]["inProgressInstanceCount"] == 1
    clock[0] = upgrading_since + wait
    status = cloud.step()
    assert status["runningStatus"]["code"] == "Faulted", status
    assert status["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert status["progress"]["failedInstanceCount"] == 1 and status["progress"]["successfulInstanceCount"] == 0


def test_too_many_unhealthy_instances_stop_the_upgrade_before_a_batch(cloud):
    assert cloud.put_set(cloud.rolling_body(maxUnhealthyInstancePercent=20)).status_code == 201
    cloud.all_up()
    cloud.probe("2", "Down")
    cloud.new_model()
    status = cloud.step()
    assert status["runningStatus"]["code"] == "Faulted"
    assert status["error"]["code"] == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert "33%" in status["error"]["message"] and "2" in status["error"]["message"]
    assert models_applied(cloud) == [False, False, False]


def test_unhealthy_instances_go_first_when_prioritised(cloud):
    assert cloud.put_set(cloud.rolling_body(maxUnhealthyInstancePercent=50, prioritizeUnhealthyInstances=True)
                         ).status_code == 201
    cloud.all_up()
    cloud.probe("2", "Down")
    cloud.new_model()
    cloud.step()
    assert [b["instanceId"] for b in cloud.stored() if b.get("_rolling_out")] == ["2"]


def test_cancel_ends_the_upgrade_and_the_draining_batch_returns_to_rotation(cloud):
    assert cloud.put_set(cloud.rolling_body()).status_code == 201
    cloud.all_up()
    cloud.upgrader.drain_seconds = 3600  # the first batch stays draining
    cloud.new_model()
    cloud.step()
    assert len(out_of_rotation_nics(cloud.lab.store)) == 1
    assert cloud.post("virtualMachineScaleSets/vmss/rollingUpgrades/cancel").status_code in (200, 202)
    status = cloud.step()
    assert status["runningStatus"]["code"] == "Cancelled" and status["runningStatus"]["lastAction"] == "Cancel"
    assert out_of_rotation_nics(cloud.lab.store) == set()
    assert models_applied(cloud) == [False, False, False]
    assert error(cloud.post("virtualMachineScaleSets/vmss/rollingUpgrades/cancel"))[:2] == (409, "OperationNotAllowed")


def test_os_rolling_upgrade_reimages_instances_onto_the_newest_image(cloud):
    assert cloud.put_set(cloud.rolling_body()).status_code == 201
    image = find_image(JAMMY["publisher"], JAMMY["offer"], JAMMY["sku"])
    older, newest = image.versions[-2], image.versions[-1]
    with cloud.lab.store.transaction():  # instances made before the newest version was published
        for body in cloud.stored():
            body["_image"]["version"] = older
            cloud.lab.store.put(body["id"], INSTANCE_TYPE, body)
    cloud.all_up()
    before = [guest_generation(b) for b in cloud.stored()]
    answer = cloud.post("virtualMachineScaleSets/vmss/osRollingUpgrade")
    assert answer.status_code == 202
    assert error(cloud.post("virtualMachineScaleSets/vmss/osRollingUpgrade"))[:2] == (409, "OperationNotAllowed")
    for _ in range(30):
        status = cloud.step()
        for body in cloud.stored():
            if body.get("_rolling_out") is None:
                cloud.probe(body["instanceId"], "Up")
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Completed" and status["progress"]["successfulInstanceCount"] == 3
    after = cloud.stored()
    assert all(b["_image"]["version"] == newest for b in after)
    assert all(b["properties"]["storageProfile"]["imageReference"]["exactVersion"] == newest for b in after)
    assert [guest_generation(b) for b in after] != before, "each instance was reimaged: a new container"


def test_os_rolling_upgrade_needs_a_health_source(arm, lab, guests_run):
    cloud = ScaleSetCloud(arm)
    assert cloud.put_set(cloud.body()).status_code == 201
    assert error(cloud.post("virtualMachineScaleSets/vmss/osRollingUpgrade"))[:2] == (400, "BadRequest")


def test_without_a_data_plane_a_rolling_upgrade_faults_and_says_why(arm, lab):
    cloud = ScaleSetCloud(arm)
    body = cloud.body(mode="Rolling")
    body["properties"]["virtualMachineProfile"]["networkProfile"]["healthProbe"] = {"id": f"{cloud.lb_id}/probes/http"}
    assert cloud.put_set(body).status_code == 201
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"] = "ReadWrite"
    assert cloud.arm.put(cloud.compute_path("virtualMachineScaleSets/vmss"), body, api=COMPUTE_API).status_code == 200
    status = cloud.get(LATEST).json["properties"]
    assert status["runningStatus"]["code"] == "Faulted" and "no data plane" in status["error"]["message"]
