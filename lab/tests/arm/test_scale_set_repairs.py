"""Overprovisioning and automatic repairs of a scale set, in process: ARM's side (the extra
instances, the capacity, the refusals, orchestrationServices, setOrchestrationServiceState)
and the data plane's steps (``dataplane.overprovision``, ``dataplane.repairs``) driven through
the data plane's own inputs - the containers the controller made, the restarts it handled and
the probe transitions HAProxy reported. The same against real containers and HAProxy:
dataplane/test_e2e_scale_set_repairs.py.
"""

from __future__ import annotations

import time

import pytest

from azlab.dataplane import gates
from azlab.dataplane.overprovision import Overprovisioning
from azlab.dataplane.repairs import AutomaticRepairs
from azlab.models.compute.state import instance_spec
from azlab.models.network.lb_nat_pools import HELD
from azlab.models.store import key_of
from test_compute import COMPUTE_API, error
from test_scale_set_rolling import RollingCloud
from test_scale_sets import ScaleSetCloud

VMSS = "virtualMachineScaleSets/vmss"
#: an Azure minute lasts 10 ms here: the ten-minute grace period is 0.1 s
SECONDS_PER_MINUTE = 0.01
GRACE = 0.1


class RepairsCloud(RollingCloud):
    """RollingCloud's set and data-plane inputs, with the overprovisioning and repairs steps."""

    def __init__(self, arm, lab):
        super().__init__(arm, lab)
        lab.settings.seconds_per_minute = SECONDS_PER_MINUTE
        self.restarts: dict[str, int] = {}
        self.extras = Overprovisioning(lab, self.made)
        self.repairs = AutomaticRepairs(lab, self.made, self.restarts)

    def repairs_body(self, capacity: int = 3, action: str = "Replace", **props) -> dict:
        body = self.body(capacity=capacity, mode="Manual", **{"overprovision": False, **props})
        body["properties"]["virtualMachineProfile"]["networkProfile"]["healthProbe"] = {
            "id": f"{self.lb_id}/probes/http"}
        body["properties"]["automaticRepairsPolicy"] = {"enabled": True, "gracePeriod": "PT10M",
                                                        "repairAction": action}
        return body

    def run(self, *instance_ids: str) -> None:
        """The controller made these instances' containers (all when none is named), one pass
        each, and handled their restarts; it removed the containers of deleted instances."""
        for body in self.stored():
            if not instance_ids or body["instanceId"] in instance_ids:
                self.made[key_of(body["id"])] = gates.made_token(instance_spec(self.lab.store, body["id"]))
                self.restarts[key_of(body["id"])] = body.get("_restarts", 0)
                self.extras.reconcile()
        stored = {key_of(b["id"]) for b in self.stored()}
        for key in [k for k in self.made if k not in stored]:
            del self.made[key]

    def ids(self) -> list[str]:
        return [body["instanceId"] for body in self.stored()]

    def gate(self):
        return gates.scale_set_gate(self.lab.store, self.made, self.get(VMSS).json["id"])()

    def pass_(self) -> None:
        """One controller pass of the repairs step."""
        self.repairs.reconcile()


@pytest.fixture
def cloud(arm, lab, guests_run) -> RepairsCloud:
    return RepairsCloud(arm, lab)


def nat_rules(cloud) -> list[str]:
    return sorted(cloud.lab.store.get(cloud.lb_id)[HELD], key=lambda name: int(name.rsplit(".", 1)[1]))


# -- overprovisioning ---------------------------------------------------------------------------

def test_a_create_makes_real_extras_and_keeps_the_first_to_run(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    vmss = cloud.get(VMSS).json
    assert vmss["sku"]["capacity"] == 3 and vmss["properties"]["overprovision"] is True
    assert cloud.ids() == ["0", "1", "2", "3"], "three asked for, one extra (20 % rounded up)"
    assert "orchestrationServices" not in cloud.get(f"{VMSS}/instanceView").json, "no automatic repairs policy"
    assert nat_rules(cloud) == ["ssh.0", "ssh.1", "ssh.2", "ssh.3"], "an extra is a real instance: it holds a port"
    views = [cloud.get(f"{VMSS}/virtualMachines/{n}/instanceView").json for n in range(4)]
    assert [(v["platformUpdateDomain"], v["platformFaultDomain"]) for v in views] == [(n, n) for n in range(4)]
    assert cloud.gate() is None
    cloud.run("3")
    cloud.run("0")
    assert cloud.ids() == ["0", "1", "2", "3"] and cloud.gate() is None, "two of the three it needs run"
    cloud.run("2")
    assert cloud.ids() == ["0", "2", "3"], "instance 1 ran last: the extra"
    assert nat_rules(cloud) == ["ssh.0", "ssh.2", "ssh.3"], "the extra's port is free again"
    assert cloud.get(VMSS).json["sku"]["capacity"] == 3
    assert cloud.gate() == {}, "the kept instances run and the extra's container is gone"


def test_a_scale_out_overprovisions_and_a_new_instance_takes_the_emptiest_domains(cloud):
    assert cloud.put_set(cloud.body(capacity=2, overprovision=False)).status_code == 201
    body = cloud.get(VMSS).json
    body["properties"]["overprovision"] = True
    body["sku"]["capacity"] = 4
    assert cloud.put_set(body).status_code == 200
    assert cloud.ids() == ["0", "1", "2", "3", "4"]
    cloud.run("0", "1")
    cloud.run("4")
    cloud.run("2")
    assert cloud.ids() == ["0", "1", "2", "4"]
    body["sku"]["capacity"] = 5
    assert cloud.put_set(body).status_code == 200
    view = cloud.get(f"{VMSS}/virtualMachines/5/instanceView").json
    assert (view["platformUpdateDomain"], view["platformFaultDomain"]) == (3, 3), "the domains instance 3 left"


def test_a_failed_candidate_is_deleted_as_an_extra(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    with cloud.lab.store.transaction():
        failed = cloud.lab.store.get(cloud.stored()[1]["id"])
        failed["_failure"] = {"code": "AllocationFailed", "message": "no room"}
        cloud.lab.store.put(failed["id"], failed["type"], failed)
    assert cloud.gate() is None, "not a failure while the extra may stand in"
    cloud.run("0", "2")
    assert cloud.ids() == ["0", "2"] and cloud.gate() == {}


def test_a_lower_capacity_or_a_delete_while_candidates_boot(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    answer = cloud.post(f"{VMSS}/delete", {"instanceIds": ["0"]})
    assert answer.status_code in (200, 202), answer.json
    assert cloud.get(VMSS).json["sku"]["capacity"] == 2, "the delete took the extra: both left are kept"
    assert cloud.ids() == ["1", "2"] and cloud.gate() is None
    cloud.run()
    assert cloud.gate() == {}
    body = cloud.get(VMSS).json
    body["sku"]["capacity"] = 4
    assert cloud.put_set(body).status_code == 200
    body["sku"]["capacity"] = 1
    assert cloud.put_set(body).status_code == 200, "a scale-in ends the overprovisioning"
    assert cloud.ids() == ["1"] and cloud.get(VMSS).json["sku"]["capacity"] == 1
    cloud.run()  # the controller removes the containers of the instances that went
    assert cloud.gate() == {}


def test_a_put_while_candidates_boot_keeps_them_candidates(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    body = cloud.get(VMSS).json
    body["tags"] = {"tier": "web"}
    assert cloud.put_set(body).status_code == 200
    assert cloud.ids() == ["0", "1", "2"] and cloud.gate() is None, "still waiting for two of the three"
    body["sku"]["capacity"] = 1
    assert cloud.put_set(body).status_code == 200
    assert cloud.ids() == ["0", "1", "2"], "the first of them to run is kept"
    cloud.run("2")
    assert cloud.ids() == ["2"] and cloud.get(VMSS).json["sku"]["capacity"] == 1


def test_without_a_data_plane_no_extras_are_made(arm):
    cloud = ScaleSetCloud(arm)
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    assert [i["instanceId"] for i in cloud.instances()] == ["0", "1", "2"]


# -- automatic repairs --------------------------------------------------------------------------

def test_an_unhealthy_instance_is_replaced_after_the_grace_period(cloud):
    assert cloud.put_set(cloud.repairs_body()).status_code == 201
    view = cloud.get(f"{VMSS}/instanceView").json
    assert view["orchestrationServices"] == [{"serviceName": "AutomaticRepairs", "serviceState": "Running"}]
    cloud.run()
    cloud.all_up()
    cloud.probe("1", "Down")
    cloud.pass_()
    assert cloud.ids() == ["0", "1", "2"], "within its grace period"
    time.sleep(GRACE)
    cloud.pass_()
    assert cloud.ids() == ["0", "2", "3"], "replaced: a new instance ID"
    assert cloud.get(VMSS).json["sku"]["capacity"] == 3
    cloud.probe("0", "Down")
    time.sleep(GRACE)
    cloud.pass_()
    assert cloud.ids() == ["0", "2", "3"], "one repair at a time below 20 instances: 3 is not running yet"
    cloud.run("3")
    cloud.probe("3", "Up")
    cloud.pass_()
    assert cloud.ids() == ["2", "3", "4"], "3 runs: the next repair starts"
    replaced, replacement = cloud.stored()[1:]
    assert "_repairs_in_a_row" not in replaced, "healthy: its count starts over"
    assert replacement["_repairs_in_a_row"] == 1


@pytest.mark.parametrize("action", ["Restart", "Reimage"])
def test_restart_and_reimage_keep_the_instance(cloud, action):
    assert cloud.put_set(cloud.repairs_body(action=action)).status_code == 201
    cloud.run()
    cloud.all_up()
    cloud.probe("2", "Down")
    before = cloud.stored()[2]
    cloud.pass_()  # its grace period starts when the data plane sees its last change completed
    time.sleep(GRACE)
    cloud.pass_()
    after = cloud.stored()[2]
    assert cloud.ids() == ["0", "1", "2"]
    if action == "Restart":
        assert after["_restarts"] == before.get("_restarts", 0) + 1
    else:
        assert after.get("_reimages", 0) == before.get("_reimages", 0) + 1
    cloud.pass_()
    assert cloud.stored()[2] == after, "its grace period starts again once the change completed"
    cloud.run("2")
    cloud.pass_()
    assert cloud.stored()[2] == after


def test_protected_and_stopped_instances_and_a_suspended_service(cloud):
    assert cloud.put_set(cloud.repairs_body()).status_code == 201
    cloud.run()
    path = f"{VMSS}/virtualMachines/0"
    instance = cloud.get(path).json
    instance["properties"]["protectionPolicy"] = {"protectFromScaleSetActions": True}
    assert cloud.arm.put(cloud.compute_path(path), instance, api=COMPUTE_API).status_code == 200
    assert cloud.post(f"{VMSS}/virtualMachines/1/powerOff").status_code in (200, 202)
    suspend = {"serviceName": "AutomaticRepairs", "action": "Suspend"}
    assert cloud.post(f"{VMSS}/setOrchestrationServiceState", suspend).status_code in (200, 202)
    assert cloud.get(f"{VMSS}/instanceView").json["orchestrationServices"][0]["serviceState"] == "Suspended"
    time.sleep(GRACE)
    cloud.pass_()
    assert cloud.ids() == ["0", "1", "2"], "suspended: nothing is repaired"
    assert cloud.put_set(cloud.get(VMSS).json).status_code == 200
    assert cloud.get(f"{VMSS}/instanceView").json["orchestrationServices"][0]["serviceState"] == "Suspended", \
        "a PUT of the set does not resume them"
    assert cloud.post(f"{VMSS}/setOrchestrationServiceState", {**suspend, "action": "Resume"}).status_code in (200, 202)
    cloud.pass_()
    time.sleep(GRACE)
    cloud.pass_()
    assert cloud.ids() == ["0", "1", "3"], "only 2 is judged: 0 is protected, 1 is off"


def test_repeated_repairs_suspend_the_service(cloud):
    assert cloud.put_set(cloud.repairs_body(capacity=1, action="Restart")).status_code == 201
    for repeat in range(4):
        cloud.run()
        cloud.pass_()
        time.sleep(GRACE)
        cloud.pass_()
    assert cloud.stored()[0]["_restarts"] == 3
    assert cloud.get(f"{VMSS}/instanceView").json["orchestrationServices"][0]["serviceState"] == "Suspended"


def test_the_policy_and_the_service_state_refusals_name_the_property(cloud):
    body = cloud.repairs_body(action="Restart")
    assert cloud.put_set(body).status_code == 201
    body["properties"]["automaticRepairsPolicy"]["repairAction"] = "Reimage"
    status, code, target = error(cloud.put_set(body))
    assert (status, code, target) == (400, "BadRequest", "automaticRepairsPolicy.repairAction")
    assert cloud.get(VMSS).json["properties"]["automaticRepairsPolicy"]["repairAction"] == "Restart"
    body["properties"]["automaticRepairsPolicy"] = {"enabled": False}
    assert cloud.put_set(body).status_code == 200
    view = cloud.get(f"{VMSS}/instanceView").json
    assert view["orchestrationServices"][0]["serviceState"] == "NotRunning"
    status, code, target = error(cloud.post(f"{VMSS}/setOrchestrationServiceState",
                                               {"serviceName": "AutomaticRepairs", "action": "Suspend"}))
    assert (status, code, target) == (409, "OperationNotAllowed", "serviceName")


def test_without_a_data_plane_repairs_do_not_run(arm):
    cloud = ScaleSetCloud(arm)
    body = cloud.body()
    body["properties"]["virtualMachineProfile"]["networkProfile"]["healthProbe"] = {"id": f"{cloud.lb_id}/probes/http"}
    body["properties"]["automaticRepairsPolicy"] = {"enabled": True}
    assert cloud.put_set(body).status_code == 201
    view = cloud.get(f"{VMSS}/instanceView").json
    assert view["orchestrationServices"] == [{"serviceName": "AutomaticRepairs", "serviceState": "NotRunning"}]
