"""HTTP-layer tests of virtual machine scale sets (Uniform, control plane, in-process): the
model Azure stores, its instances (IDs, names, domains, NIC addresses), capacity changes by
the scale-in policy, model versions and upgrades, power actions, and Azure's refusals."""

from __future__ import annotations

import copy

import pytest

from test_compute import COMPUTE_API, JAMMY, NETWORK_API, Cloud, error


class ScaleSetCloud(Cloud):
    """A Cloud with a Standard LB (pool, probe, NAT pool 50000-50009) for scale sets."""

    def __init__(self, arm):
        super().__init__(arm)
        self.lb_id = f"{self.rg_id}/providers/Microsoft.Network/loadBalancers/lb"
        pip = {"location": self.location, "sku": {"name": "Standard"},
               "properties": {"publicIPAllocationMethod": "Static"}}
        assert self.put_network("publicIPAddresses/pip", pip).status_code == 201
        lb = {"location": self.location, "sku": {"name": "Standard"}, "properties": {
            "frontendIPConfigurations": [{"name": "fe", "properties": {"publicIPAddress": {
                "id": f"{self.rg_id}/providers/Microsoft.Network/publicIPAddresses/pip"}}}],
            "backendAddressPools": [{"name": "pool"}],
            "probes": [{"name": "http", "properties": {"protocol": "Http", "port": 80, "requestPath": "/healthz",
                                                        "intervalInSeconds": 5, "numberOfProbes": 2}}],
            "inboundNatPools": [{"name": "ssh", "properties": {
                "frontendIPConfiguration": {"id": f"{self.lb_id}/frontendIPConfigurations/fe"}, "protocol": "Tcp",
                "frontendPortRangeStart": 50000, "frontendPortRangeEnd": 50009, "backendPort": 22}}]}}
        answer = self.put_network("loadBalancers/lb", lb)
        assert answer.status_code == 201, answer.json

    def body(self, capacity: int = 2, mode: str = "Manual", **props) -> dict:
        ip = {"name": "ipconfig", "properties": {
            "subnet": {"id": self.subnet},
            "loadBalancerBackendAddressPools": [{"id": f"{self.lb_id}/backendAddressPools/pool"}],
            "loadBalancerInboundNatPools": [{"id": f"{self.lb_id}/inboundNatPools/ssh"}]}}
        return {"location": self.location, "sku": {"name": "Standard_B1s", "capacity": capacity}, "properties": {
            "orchestrationMode": "Uniform", "upgradePolicy": {"mode": mode},
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser", "linuxConfiguration": {
                    "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                        {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": self.key}]}}},
                "storageProfile": {"imageReference": dict(JAMMY),
                                   "osDisk": {"createOption": "FromImage", "caching": "ReadOnly"}},
                "networkProfile": {"networkInterfaceConfigurations": [
                    {"name": "nic", "properties": {"primary": True, "ipConfigurations": [ip]}}]}},
            **props}}

    def put_set(self, body: dict, name: str = "vmss"):
        return self.arm.put(self.compute_path(f"virtualMachineScaleSets/{name}"), body, api=COMPUTE_API)

    def instances(self, name: str = "vmss") -> list[dict]:
        answer = self.get(f"virtualMachineScaleSets/{name}/virtualMachines")
        assert answer.status_code == 200, answer.json
        return answer.json["value"]


@pytest.fixture
def cloud(arm) -> ScaleSetCloud:
    return ScaleSetCloud(arm)


def test_a_scale_set_stores_its_model_with_azures_defaults(cloud):
    answer = cloud.put_set(cloud.body())
    assert answer.status_code == 201, answer.json
    vmss = cloud.get("virtualMachineScaleSets/vmss").json
    props = vmss["properties"]
    assert vmss["sku"] == {"name": "Standard_B1s", "tier": "Standard", "capacity": 2}
    assert (props["orchestrationMode"], props["singlePlacementGroup"], props["overprovision"]) == ("Uniform", True, True)
    assert props["upgradePolicy"] == {"mode": "Manual"} and props["provisioningState"] == "Succeeded"
    profile = props["virtualMachineProfile"]
    assert profile["storageProfile"]["imageReference"] == JAMMY, "the model echoes the reference as sent"
    assert profile["osProfile"]["computerNamePrefix"] == "web" and "customData" not in profile["osProfile"]
    ip = profile["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]
    assert ip["properties"]["privateIPAddressVersion"] == "IPv4"
    assert not any(key.startswith("_") for key in vmss)


def test_instances_are_numbered_named_placed_and_addressed(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    found = cloud.instances()
    assert [(i["instanceId"], i["name"]) for i in found] == [("0", "vmss_0"), ("1", "vmss_1"), ("2", "vmss_2")]
    assert [i["properties"]["osProfile"]["computerName"] for i in found] == ["web000000", "web000001", "web000002"]
    assert all(i["properties"]["latestModelApplied"] for i in found)
    assert found[0]["properties"]["storageProfile"]["imageReference"]["exactVersion"]
    views = [cloud.get(f"virtualMachineScaleSets/vmss/virtualMachines/{n}/instanceView").json for n in range(3)]
    assert [(v["platformUpdateDomain"], v["platformFaultDomain"]) for v in views] == [(0, 0), (1, 1), (2, 2)]
    assert [v["statuses"][1]["code"] for v in views] == ["PowerState/running"] * 3
    nic = cloud.arm.get(found[1]["properties"]["networkProfile"]["networkInterfaces"][0]["id"].split(
        cloud.arm.sub, 1)[1], api="2018-10-01").json
    assert nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.0.1.5"
    # neither instances nor their NICs are resources of the group
    group = cloud.arm.get(f"/resourceGroups/{cloud.rg}/resources", api="2022-09-01").json["value"]
    assert sorted(r["type"] for r in group if "Compute" in r["type"]) == ["Microsoft.Compute/virtualMachineScaleSets"]
    nics = cloud.arm.get(f"/resourceGroups/{cloud.rg}/providers/Microsoft.Network/networkInterfaces",
                         api=NETWORK_API).json["value"]
    assert nics == []
    pool = cloud.arm.get(cloud.lb_id.split(cloud.arm.sub, 1)[1], api=NETWORK_API).json[
        "properties"]["backendAddressPools"][0]["properties"]
    assert len(pool["backendIPConfigurations"]) == 3
    assert sorted(a["name"] for a in pool["loadBalancerBackendAddresses"]) == [
        f"{cloud.rg}_vmss_{n}_nicipconfig" for n in range(3)]


def test_capacity_changes_follow_the_scale_in_policy(cloud):
    assert cloud.put_set(cloud.body(capacity=4)).status_code == 201
    body = cloud.get("virtualMachineScaleSets/vmss").json
    # Default: the fault domain holding most instances, the highest ID; with 5 FDs all hold one
    body["sku"]["capacity"] = 3
    assert cloud.put_set(body).status_code == 200
    assert [i["instanceId"] for i in cloud.instances()] == ["0", "1", "2"]
    body["sku"]["capacity"] = 4
    assert cloud.put_set(body).status_code == 200
    assert [i["instanceId"] for i in cloud.instances()] == ["0", "1", "2", "4"], "instance IDs are not reused at once"
    body["properties"]["scaleInPolicy"] = {"rules": ["OldestVM"]}
    body["sku"]["capacity"] = 2
    assert cloud.put_set(body).status_code == 200
    assert [i["instanceId"] for i in cloud.instances()] == ["2", "4"]


def test_a_protected_instance_stays_on_scale_in(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    path = "virtualMachineScaleSets/vmss/virtualMachines/1"
    instance = cloud.get(path).json
    instance["properties"]["protectionPolicy"] = {"protectFromScaleIn": True}
    assert cloud.arm.put(cloud.compute_path(path), instance, api=COMPUTE_API).status_code == 200
    assert cloud.get(path).json["properties"]["protectionPolicy"] == {
        "protectFromScaleIn": True, "protectFromScaleSetActions": False}
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["sku"]["capacity"] = 1
    assert cloud.put_set(body).status_code == 200
    assert [i["instanceId"] for i in cloud.instances()] == ["1"]


def test_a_new_model_reaches_instances_by_the_upgrade_policy(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"] = "ReadWrite"
    assert cloud.put_set(body).status_code == 200
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [False, False]
    answer = cloud.post("virtualMachineScaleSets/vmss/manualupgrade", {"instanceIds": ["1"]})
    assert answer.status_code in (200, 202), answer.json
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [False, True]
    # the same model again is no new model
    same = cloud.get("virtualMachineScaleSets/vmss").json
    assert cloud.put_set(same).status_code == 200
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [False, True]
    # Automatic: every instance takes a new model at once
    same["properties"]["upgradePolicy"] = {"mode": "Automatic"}
    same["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"] = "ReadOnly"
    assert cloud.put_set(same).status_code == 200
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [True, True]


def test_power_actions_and_deleting_instances(cloud):
    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201
    assert cloud.post("virtualMachineScaleSets/vmss/poweroff", {"instanceIds": ["0"]}).status_code in (200, 202)
    view = cloud.get("virtualMachineScaleSets/vmss/virtualMachines/0/instanceView").json
    assert view["statuses"][1]["code"] == "PowerState/stopped"
    summary = cloud.get("virtualMachineScaleSets/vmss/instanceView").json["virtualMachine"]["statusesSummary"]
    assert {"code": "PowerState/running", "count": 2} in summary
    assert cloud.post("virtualMachineScaleSets/vmss/delete", {"instanceIds": ["0", "2"]}).status_code in (200, 202)
    assert [i["instanceId"] for i in cloud.instances()] == ["1"]
    assert cloud.get("virtualMachineScaleSets/vmss").json["sku"]["capacity"] == 1
    assert cloud.arm.delete(cloud.compute_path("virtualMachineScaleSets/vmss/virtualMachines/1"),
                            api=COMPUTE_API).status_code in (200, 202)
    assert cloud.get("virtualMachineScaleSets/vmss").json["sku"]["capacity"] == 0
    assert error(cloud.post("virtualMachineScaleSets/vmss/manualupgrade", {})) == (400, "InvalidParameter",
                                                                                   "instanceIds")


def test_deleting_the_set_takes_its_instances_and_nics(cloud):
    assert cloud.put_set(cloud.body(capacity=2)).status_code == 201
    assert cloud.arm.delete(cloud.compute_path("virtualMachineScaleSets/vmss"), api=COMPUTE_API).status_code in (
        200, 202)
    assert cloud.get("virtualMachineScaleSets/vmss").status_code == 404
    leftovers = [rid for rid, _ in cloud.arm.lab.store.list(prefix=f"{cloud.rg_id}/providers/Microsoft.Compute")]
    assert leftovers == []


@pytest.mark.parametrize("change, expected", [
    (lambda b: b["properties"].update(upgradePolicy={"mode": "Rolling"}), (400, "BadRequest", "upgradePolicy")),
    (lambda b: b["properties"].update(automaticRepairsPolicy={"enabled": True}),
     (400, "BadRequest", "automaticRepairsPolicy")),
    (lambda b: b["sku"].update(capacity=11),
     (400, "InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts", "virtualMachineProfile.networkProfile")),
    (lambda b: b["sku"].update(capacity=1001), (400, "InvalidParameter", "sku.capacity")),
    (lambda b: b["properties"].update(orchestrationMode="Flexible"), (400, "BadRequest", "orchestrationMode")),
    (lambda b: b["properties"]["upgradePolicy"].update(
        mode="Rolling", rollingUpgradePolicy={"maxBatchInstancePercent": 2}),
     (400, "InvalidParameter", "rollingUpgradePolicy.maxBatchInstancePercent")),
    (lambda b: b["properties"]["virtualMachineProfile"]["storageProfile"]["osDisk"].update(createOption="Attach"),
     (400, "InvalidParameter", "osDisk.createOption")),
    (lambda b: b["properties"]["virtualMachineProfile"]["osProfile"].update(computerNamePrefix="x" * 16),
     (400, "InvalidParameter", "osProfile.computerNamePrefix")),
    (lambda b: b["properties"]["virtualMachineProfile"].update(scheduledEventsProfile={
        "terminateNotificationProfile": {"enable": True, "notBeforeTimeout": "PT16M"}}),
     (400, "InvalidParameter",
      "virtualMachineProfile.scheduledEventsProfile.terminateNotificationProfile.notBeforeTimeout")),
    (lambda b: b["properties"]["virtualMachineProfile"].update(scheduledEventsProfile={
        "terminateNotificationProfile": {"enable": "yes"}}),
     (400, "InvalidParameter", "virtualMachineProfile.scheduledEventsProfile.terminateNotificationProfile.enable")),
])
def test_azures_refusals_name_the_property_and_change_nothing(cloud, change, expected):
    body = cloud.body()
    change(body)
    assert error(cloud.put_set(body)) == expected
    assert cloud.get("virtualMachineScaleSets/vmss").status_code == 404


def test_rolling_with_the_lb_probe_is_accepted_and_fixed_properties_stay(cloud):
    body = cloud.body(mode="Rolling")
    body["properties"]["virtualMachineProfile"]["networkProfile"]["healthProbe"] = {
        "id": f"{cloud.lb_id}/probes/http"}
    answer = cloud.put_set(body)
    assert answer.status_code == 201, answer.json
    policy = answer.json["properties"]["upgradePolicy"]["rollingUpgradePolicy"]
    assert (policy["maxBatchInstancePercent"], policy["pauseTimeBetweenBatches"]) == (20, "PT0S")
    again = copy.deepcopy(cloud.get("virtualMachineScaleSets/vmss").json)
    again["properties"]["platformFaultDomainCount"] = 2
    assert error(cloud.put_set(again)) == (409, "PropertyChangeNotAllowed", "platformFaultDomainCount")
    again = cloud.get("virtualMachineScaleSets/vmss").json
    again["properties"]["virtualMachineProfile"]["osProfile"]["adminUsername"] = "other"
    assert error(cloud.put_set(again)) == (409, "PropertyChangeNotAllowed", "osProfile.adminUsername")


def test_reimage_makes_instances_anew_on_the_model_they_run(cloud, lab):
    from azlab.models.compute.state import guest_generation  # noqa: PLC0415 - what the data plane builds from

    assert cloud.put_set(cloud.body(capacity=3)).status_code == 201

    def generations() -> list[str]:
        return [guest_generation(body) for _, body in sorted(
            lab.store.list("Microsoft.Compute/virtualMachineScaleSets/virtualMachines"),
            key=lambda item: int(item[1]["instanceId"]))]
    before = generations()
    assert cloud.post("virtualMachineScaleSets/vmss/virtualMachines/1/reimage").status_code == 202
    assert cloud.post("virtualMachineScaleSets/vmss/reimage", {"instanceIds": ["2"]}).status_code == 202
    after = generations()
    assert after[0] == before[0] and after[1] != before[1] and after[2] != before[2]
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [True, True, True]
    assert error(cloud.post("virtualMachineScaleSets/vmss/reimage", {"instanceIds": ["7"]}))[:2] == (404, "NotFound")


def test_a_terminate_notification_is_stored_and_without_a_data_plane_a_scale_in_is_immediate(cloud):
    """With a data plane the instance waits for its Terminate event (tests/dataplane/
    test_e2e_scheduled_events.py); without one no guest could approve it nor clock end it."""
    body = cloud.body(capacity=2)
    body["properties"]["virtualMachineProfile"]["scheduledEventsProfile"] = {
        "terminateNotificationProfile": {"enable": True}}
    assert cloud.put_set(body).status_code == 201
    stored = cloud.get("virtualMachineScaleSets/vmss").json
    assert stored["properties"]["virtualMachineProfile"]["scheduledEventsProfile"] == {
        "terminateNotificationProfile": {"enable": True, "notBeforeTimeout": "PT5M"}}
    stored["sku"]["capacity"] = 1
    assert cloud.put_set(stored).status_code == 200
    assert [(i["instanceId"], i["properties"]["provisioningState"]) for i in cloud.instances()] == [("0", "Succeeded")]
