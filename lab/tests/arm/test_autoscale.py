"""Autoscale settings (in-process): what their PUT refuses, and the data plane's autoscaler
(``dataplane/autoscale.py``) on a lab whose CPU meter is a stand-in: a decision changes the
scale set's capacity through the set's own code (instances follow, the scale-in policy and
protection hold), and each action is recorded for ``azlab status``."""

from __future__ import annotations

import pytest

from azlab.dataplane.autoscale import Autoscaler
from azlab.dataplane.objects import container_name
from test_compute import COMPUTE_API, error
from test_scale_sets import ScaleSetCloud

INSIGHTS_API = "2022-10-01"
TICK = 0.25


class SteadyMeter:
    """A CPU meter whose containers burn ``load[name]`` percent of one core (0 when unnamed)."""

    def __init__(self):
        self.load: dict[str, float] = {}
        self.usage_usec: dict[str, float] = {}

    def advance(self, seconds: float) -> None:
        for name, percent in self.load.items():
            self.usage_usec[name] = self.usage_usec.get(name, 0) + percent / 100 * seconds * 1e6

    def read(self, name: str) -> tuple[str, int]:
        return f"/libpod_parent/{name}", int(self.usage_usec.get(name, 0))

    def keep_only(self, names: set[str]) -> None:
        """Nothing cached to forget."""


def rule(direction: str, op: str, threshold: float, source: str) -> dict:
    return {"metricTrigger": {"metricName": "Percentage CPU", "metricResourceUri": source, "timeGrain": "PT1M",
                              "statistic": "Average", "timeWindow": "PT5M", "timeAggregation": "Average",
                              "operator": op, "threshold": threshold},
            "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": "PT1M"}}


class AutoscaleCloud(ScaleSetCloud):
    def __init__(self, arm):
        super().__init__(arm)
        assert self.put_set(self.body(capacity=1)).status_code == 201
        self.set_id = f"{self.rg_id}/providers/Microsoft.Compute/virtualMachineScaleSets/vmss"

    def setting(self, **props) -> dict:
        profile = {"name": "cpu", "capacity": {"minimum": "1", "maximum": "2", "default": "1"},
                   "rules": [rule("Increase", "GreaterThan", 50, self.set_id),
                             rule("Decrease", "LessThan", 20, self.set_id)]}
        return {"location": self.location, "properties": {"enabled": True, "targetResourceUri": self.set_id,
                                                          "profiles": [profile], **props}}

    def put_setting(self, body: dict, name: str = "cpu-scale"):
        return self.arm.put(f"/resourceGroups/{self.rg}/providers/Microsoft.Insights/autoscalesettings/{name}", body,
                            api=INSIGHTS_API)

    def capacity(self) -> int:
        return self.get("virtualMachineScaleSets/vmss").json["sku"]["capacity"]

    def instance_numbers(self) -> list[str]:
        return [instance["instanceId"] for instance in self.instances()]


@pytest.fixture
def cloud(arm) -> AutoscaleCloud:
    return AutoscaleCloud(arm)


@pytest.fixture
def scaler(arm):
    """(autoscaler, meter, run) on the in-process lab, an Azure minute lasting 1 s; ``run(seconds)``
    plays that long in rounds of 0.25 s."""
    arm.lab.settings.seconds_per_minute = 1
    meter = SteadyMeter()
    autoscaler = Autoscaler(arm.lab, meter)
    clock = [0.0]

    def run(seconds: float) -> None:
        for _round in range(round(seconds / TICK)):
            clock[0] += TICK
            meter.advance(TICK)
            autoscaler.tick(clock[0])
    return autoscaler, meter, run


def test_a_scheduled_profile_or_a_metric_of_another_resource_is_refused(cloud):
    body = cloud.setting()
    body["properties"]["profiles"][0]["recurrence"] = {"frequency": "Week", "schedule": {
        "timeZone": "UTC", "days": ["Saturday"], "hours": [0], "minutes": [0]}}
    assert error(cloud.put_setting(body)) == (400, "InvalidParameter", "properties.profiles[0].recurrence")
    body = cloud.setting()
    body["properties"]["profiles"][0]["rules"][1]["metricTrigger"]["metricResourceUri"] = cloud.lb_id
    assert error(cloud.put_setting(body)) == (400, "InvalidParameter",
                                              "properties.profiles[0].rules[1].metricTrigger.metricResourceUri")
    assert cloud.put_setting(cloud.setting()).status_code == 201


def test_cpu_load_scales_the_set_out_and_its_end_scales_it_back_in(cloud, scaler):
    autoscaler, meter, run = scaler
    assert cloud.put_setting(cloud.setting()).status_code == 201
    first = container_name(f"{cloud.set_id}/virtualMachines/0")
    run(3)
    assert cloud.capacity() == 1, "an idle set stays at its minimum"
    meter.load[first] = 90
    run(3)
    assert cloud.capacity() == 2 and cloud.instance_numbers() == ["0", "1"]
    (action,) = autoscaler.status()["history"]
    assert (action["from"], action["to"], action["outcome"]) == (1, 2, "succeeded")
    assert "Percentage CPU" in action["reason"] and "GreaterThan 50" in action["reason"]
    run(5)
    assert cloud.capacity() == 2, "the maximum holds"
    meter.load[first] = 0
    run(8)
    assert cloud.capacity() == 1 and cloud.instance_numbers() == ["0"], "Default scale-in: the highest ID goes"
    assert [(a["from"], a["to"]) for a in autoscaler.status()["history"]] == [(1, 2), (2, 1)]


def test_scale_in_follows_the_sets_protection_and_a_disabled_setting_does_nothing(cloud, scaler):
    autoscaler, meter, run = scaler
    assert cloud.put_setting(cloud.setting()).status_code == 201
    meter.load[container_name(f"{cloud.set_id}/virtualMachines/0")] = 90
    run(3)
    assert cloud.instance_numbers() == ["0", "1"]
    protect = {"properties": {"protectionPolicy": {"protectFromScaleIn": True}}}
    assert cloud.arm.put(cloud.compute_path("virtualMachineScaleSets/vmss/virtualMachines/1"), protect,
                         api=COMPUTE_API).status_code == 200
    meter.load.clear()
    run(8)
    assert cloud.instance_numbers() == ["1"], "the protected instance stays"
    assert cloud.put_setting(cloud.setting(enabled=False)).status_code == 200
    meter.load[container_name(f"{cloud.set_id}/virtualMachines/1")] = 100
    run(8)
    assert cloud.capacity() == 1 and autoscaler.status()["settings"] == {}
