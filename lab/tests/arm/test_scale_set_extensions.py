"""Scale set extensions in process: the model (protected settings kept apart, never shown nor
logged), the ``extensions`` child resource that reads and writes it, Azure's refusals, what
each instance runs of it and reports (its instance view, vmHealth, provisioningState), a
model change of extensions alone that keeps the guest, extensionRollingUpgrade, and rolling
upgrades judged by the Application Health extension (``rolling.instance_health``). What the
guest did is reported through the data plane's own API (``scale_set_extensions``); the real
guests: dataplane/test_e2e_scale_set_extensions.py."""

from __future__ import annotations

import json

import pytest

from azlab.models.compute import scale_set_extensions as extensions
from azlab.models.compute.state import guest_generation
from test_compute import error
from test_scale_set_rolling import LATEST, RollingCloud

API = "2024-07-01"
SCRIPT = {"name": "setup", "properties": {
    "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1",
    "settings": {"skipDos2Unix": True}, "protectedSettings": {"commandToExecute": "echo secret-command"}}}
HEALTH = {"name": "health", "properties": {
    "publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux", "typeHandlerVersion": "2.0",
    "settings": {"protocol": "http", "port": 80, "requestPath": "/health"}}}


def refusal(answer) -> tuple[int, str, str]:
    return answer.status_code, answer.json["error"]["code"], answer.json["error"]["message"]


class ExtensionCloud(RollingCloud):
    def ext_path(self, name: str = "") -> str:
        return self.compute_path("virtualMachineScaleSets/vmss/extensions" + (f"/{name}" if name else ""))

    def with_extensions(self, body: dict, *exts: dict) -> dict:
        body["properties"]["virtualMachineProfile"]["extensionProfile"] = {"extensions": [dict(e) for e in exts]}
        return body

    def extension_body(self, mode: str = "Manual", *exts: dict) -> dict:
        return self.with_extensions(self.body(capacity=2, mode=mode, overprovision=False), *exts)

    def report_runs(self, state: str = "succeeded", message: str = "Enable succeeded") -> None:
        """The guest agent ran every pending extension of every instance."""
        for body in self.stored():
            for ext in extensions.pending(body):
                assert extensions.set_run_status(self.lab.store, body["id"], ext["name"], ext["digest"],
                                                 guest_generation(body), state, message)

    def report_health(self, instance_id: str, state: str) -> None:
        body = next(b for b in self.stored() if b["instanceId"] == instance_id)
        ext = extensions.health_extension(body[extensions.APPLIED])
        assert extensions.set_vm_health(self.lab.store, body["id"], ext["digest"], guest_generation(body), state)

    def instance_view(self, instance_id: str) -> dict:
        answer = self.get(f"virtualMachineScaleSets/vmss/virtualMachines/{instance_id}/instanceView")
        assert answer.status_code == 200, answer.json
        return answer.json


@pytest.fixture
def cloud(arm, lab, guests_run) -> ExtensionCloud:
    return ExtensionCloud(arm, lab)


def test_protected_settings_are_kept_but_never_shown_nor_logged(cloud):
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    shown = cloud.get("virtualMachineScaleSets/vmss").json
    ext = shown["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][0]
    assert ext["name"] == "setup" and "protectedSettings" not in ext["properties"]
    assert "secret-command" not in json.dumps(shown)
    assert all(b[extensions.APPLIED][0]["protected"] == {"commandToExecute": "echo secret-command"}
               for b in cloud.stored()), "the guests get the command"
    logged = json.dumps(cloud.lab.store.requests(0))
    assert "secret-command" not in logged
    # a PUT that does not repeat them (it cannot: they are never returned) keeps them
    assert cloud.put_set(shown).status_code == 200
    assert cloud.stored()[0][extensions.APPLIED][0]["protected"] == {"commandToExecute": "echo secret-command"}


def test_the_child_resource_reads_and_writes_the_sets_model(cloud):
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    shown = cloud.arm.get(cloud.ext_path("setup"), api=API).json
    assert shown["id"].endswith("/virtualMachineScaleSets/vmss/extensions/setup")
    assert shown["type"] == "Microsoft.Compute/virtualMachineScaleSets/extensions"
    assert shown["properties"]["type"] == "CustomScript" and "protectedSettings" not in shown["properties"]
    answer = cloud.arm.put(cloud.ext_path("health"), {"properties": HEALTH["properties"]}, api=API)
    assert answer.status_code == 201, answer.json
    names = [e["name"] for e in cloud.arm.get(cloud.ext_path(), api=API).json["value"]]
    model = cloud.get("virtualMachineScaleSets/vmss").json["properties"]["virtualMachineProfile"]["extensionProfile"]
    assert names == [e["name"] for e in model["extensions"]] == ["setup", "health"], "one list, not two"
    assert [i["properties"]["latestModelApplied"] for i in cloud.instances()] == [False, False], "Manual: a new model"
    assert cloud.arm.delete(cloud.ext_path("setup"), api=API).status_code == 202
    assert [e["name"] for e in cloud.arm.get(cloud.ext_path(), api=API).json["value"]] == ["health"]
    assert error(cloud.arm.get(cloud.ext_path("setup"), api=API))[0] == 404
    assert cloud.arm.delete(cloud.ext_path("setup"), api=API).status_code == 204


@pytest.mark.parametrize("change, expected", [
    (lambda body: dict(body, properties={**body["properties"], "type": "Microsoft.Compute/virtualMachineScaleSets/"
                                         "extensions"}), (409, "PropertyChangeNotAllowed")),
    (lambda body: dict(body, properties={**body["properties"], "type": "NoSuchHandler"}),
     (409, "PropertyChangeNotAllowed")),
    (lambda body: dict(body, properties={**body["properties"], "typeHandlerVersion": "9.0"}),
     (404, "ArtifactVersionNotFound")),
])
def test_azure_refuses_changing_what_an_extension_is(cloud, change, expected):
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    before = cloud.get("virtualMachineScaleSets/vmss").json
    current = cloud.arm.get(cloud.ext_path("setup"), api=API).json
    assert error(cloud.arm.put(cloud.ext_path("setup"), change(current), api=API))[:2] == expected
    assert cloud.get("virtualMachineScaleSets/vmss").json["properties"] == before["properties"]


def test_one_extension_per_handler_and_one_health_source(cloud):
    second_script = {"name": "setup2", "properties": SCRIPT["properties"]}
    code, name, message = refusal(cloud.put_set(cloud.extension_body("Manual", SCRIPT, second_script)))
    assert (code, name) == (400, "BadRequest") and "Multiple VMExtensions per handler" in message
    second_health = {"name": "health2", "properties": HEALTH["properties"]}
    assert error(cloud.put_set(cloud.extension_body("Manual", HEALTH, second_health)))[:2] == (400, "BadRequest")
    # Rolling needs a health source; the Application Health extension is one, the probe with it one too many
    assert "health probe or health extension was not provided" in refusal(cloud.put_set(cloud.extension_body(
        "Rolling", SCRIPT)))[2]
    both = cloud.rolling_body()
    cloud.with_extensions(both, HEALTH)
    assert "both a health probe and a health extension" in refusal(cloud.put_set(both))[2]
    assert cloud.put_set(cloud.extension_body("Rolling", SCRIPT, HEALTH)).status_code == 201


def test_instances_report_what_their_extensions_did(cloud):
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    view = cloud.instance_view("0")
    assert view["extensions"][0]["statuses"][0]["code"] == "ProvisioningState/transitioning"
    cloud.report_runs("succeeded", "Enable succeeded: \n[stdout]\nhello\n[stderr]\n")
    view = cloud.instance_view("0")
    assert view["extensions"][0]["name"] == "setup"
    assert view["extensions"][0]["type"] == "Microsoft.Azure.Extensions.CustomScript"
    assert view["extensions"][0]["statuses"][0]["code"] == "ProvisioningState/succeeded"
    assert "hello" in view["extensions"][0]["statuses"][0]["message"]
    assert cloud.instances()[0]["properties"]["provisioningState"] == "Succeeded"
    # a new command that fails in the guest: the extension and the instance fail, as on Azure
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][0]["properties"][
        "protectedSettings"] = {"commandToExecute": "exit 3"}
    assert cloud.put_set(body).status_code == 200
    assert cloud.post("virtualMachineScaleSets/vmss/manualupgrade", {"instanceIds": ["0"]}).status_code == 202
    cloud.report_runs("failed", "Enable failed: failed to execute command: command terminated with exit status=3")
    view = cloud.instance_view("0")
    assert view["extensions"][0]["statuses"][0]["code"] == "ProvisioningState/failed/0"
    assert view["statuses"][0]["code"] == "ProvisioningState/failed/VMExtensionProvisioningError"
    assert [i["properties"]["provisioningState"] for i in cloud.instances()] == ["Failed", "Succeeded"]
    summary = cloud.get("virtualMachineScaleSets/vmss/instanceView").json
    assert {"code": "ProvisioningState/failed", "count": 1} in summary["virtualMachine"]["statusesSummary"]
    assert summary["extensions"][0]["name"] == "setup"


def test_an_extensions_only_change_keeps_the_guest_and_reruns_the_handler(cloud):
    assert cloud.put_set(cloud.extension_body("Automatic", SCRIPT)).status_code == 201
    cloud.report_runs()
    before = [guest_generation(b) for b in cloud.stored()]
    current = cloud.arm.get(cloud.ext_path("setup"), api=API).json
    current["properties"]["settings"] = {"skipDos2Unix": False}
    assert cloud.arm.put(cloud.ext_path("setup"), current, api=API).status_code == 200
    assert [guest_generation(b) for b in cloud.stored()] == before, "no reimage"
    assert all(len(extensions.pending(b)) == 1 for b in cloud.stored()), "Automatic: every instance reruns it"
    assert all(i["properties"]["latestModelApplied"] for i in cloud.instances())
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["properties"]["virtualMachineProfile"]["osProfile"]["customData"] = "IyEvYmluL3NoCg=="
    assert cloud.put_set(body).status_code == 200
    assert all(guest_generation(b) != g for b, g in zip(cloud.stored(), before)), "new customData: a reimage"


def test_without_a_data_plane_no_extension_is_reported_run(arm, lab):
    cloud = ExtensionCloud(arm, lab)
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    status = cloud.instance_view("0")["extensions"][0]["statuses"][0]
    assert status["code"] == "ProvisioningState/failed/0" and "no guest runs the extension" in status["message"]


def test_vm_health_is_what_the_health_extension_reports(cloud):
    assert cloud.put_set(cloud.extension_body("Manual", HEALTH)).status_code == 201
    assert "vmHealth" not in cloud.instance_view("0"), "the extension does not run yet"
    cloud.report_runs()
    cloud.report_health("0", "initializing")
    assert cloud.instance_view("0")["vmHealth"]["status"]["code"] == "HealthState/initializing"
    cloud.report_health("0", "unhealthy")
    assert cloud.instance_view("0")["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    assert cloud.post("virtualMachineScaleSets/vmss/virtualMachines/0/reimage").status_code == 202
    assert "vmHealth" not in cloud.instance_view("0"), "a new guest: the old guest's health is gone"


def rolling_with_health(cloud, **policy) -> None:
    body = cloud.with_extensions(cloud.body(capacity=3, mode="Rolling", overprovision=False), SCRIPT, HEALTH)
    body["properties"]["upgradePolicy"]["rollingUpgradePolicy"] = {"maxBatchInstancePercent": 34, **policy}
    assert cloud.put_set(body).status_code == 201
    cloud.containers_run()
    cloud.report_runs()
    for body in cloud.stored():
        cloud.report_health(body["instanceId"], "healthy")


def change_script(cloud, command: str) -> None:
    current = cloud.arm.get(cloud.ext_path("setup"), api=API).json
    current["properties"]["protectedSettings"] = {"commandToExecute": command}
    assert cloud.arm.put(cloud.ext_path("setup"), current, api=API).status_code == 200


def test_a_rolling_upgrade_is_judged_by_the_health_extension(cloud):
    rolling_with_health(cloud)
    generations = [guest_generation(b) for b in cloud.stored()]
    change_script(cloud, "echo v2")
    for _ in range(30):
        status = cloud.step()
        cloud.report_runs()  # the agent reruns the new command; the guests stay healthy
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Completed", status
    assert status["progress"]["successfulInstanceCount"] == 3
    assert [guest_generation(b) for b in cloud.stored()] == generations, "extensions only: no reimage"


def test_an_instance_the_health_extension_finds_unhealthy_stops_the_upgrade(cloud):
    rolling_with_health(cloud, maxUnhealthyUpgradedInstancePercent=0)
    cloud.upgrader.health_wait_seconds = 0
    change_script(cloud, "echo v2")
    for _ in range(30):
        status = cloud.step()
        cloud.report_runs()
        for body in cloud.stored():
            if body["instanceId"] == "0":
                cloud.report_health("0", "unhealthy")
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Faulted"
    assert cloud.latest()["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"


def test_extension_rolling_upgrade_moves_only_the_extensions(cloud):
    rolling_with_health(cloud)
    body = cloud.get("virtualMachineScaleSets/vmss").json
    body["properties"]["upgradePolicy"]["mode"] = "Manual"
    assert cloud.put_set(body).status_code == 200
    change_script(cloud, "echo v3")
    assert all(extensions.extensions_behind(b, cloud.lab.store.get(b["id"].rsplit("/virtualMachines/", 1)[0]))
               for b in cloud.stored())
    assert cloud.post("virtualMachineScaleSets/vmss/extensionRollingUpgrade").status_code == 202
    for _ in range(30):
        status = cloud.step()
        cloud.report_runs()
        if status["runningStatus"]["code"] != "RollingForward":
            break
    assert status["runningStatus"]["code"] == "Completed", status
    assert all(i["properties"]["latestModelApplied"] for i in cloud.instances())
    assert cloud.get(LATEST).json["properties"]["policy"]["maxBatchInstancePercent"] == 34


def test_extension_rolling_upgrade_needs_a_health_source(cloud):
    assert cloud.put_set(cloud.extension_body("Manual", SCRIPT)).status_code == 201
    code, name, message = refusal(cloud.post("virtualMachineScaleSets/vmss/extensionRollingUpgrade"))
    assert (code, name) == (400, "BadRequest") and message.startswith("Extension Rolling Upgrade is not supported")
