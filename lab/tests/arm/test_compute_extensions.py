"""HTTP-layer tests of VM extensions (in-process): the lab never says an extension ran
unless the data plane ran it and reported the outcome."""

from __future__ import annotations

import pytest
from test_compute import COMPUTE_API, Cloud, error, operation

from azlab.models.compute.common import NO_WINDOWS_GUEST
from azlab.models.compute.state import set_extension_status

CUSTOM_SCRIPT = {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1",
                 "autoUpgradeMinorVersion": True, "settings": {"fileUris": ["https://example.com/setup.sh"]},
                 "protectedSettings": {"commandToExecute": "echo top-secret"}}
SUCCEEDED = "Enable succeeded: \n[stdout]\nhello\n\n[stderr]\n"


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def put_extension(cloud, vm: str, name: str, props: dict):
    return cloud.arm.put(cloud.compute_path(f"virtualMachines/{vm}/extensions/{name}"),
                         {"location": "eastus", "properties": props}, api=COMPUTE_API)


def extension(cloud, vm: str, name: str) -> dict:
    return cloud.get(f"virtualMachines/{vm}/extensions/{name}?$expand=instanceView").json["properties"]


def test_without_a_data_plane_an_extension_fails_and_says_no_guest_ran_it(cloud, lab):
    cloud.vm("vm0")
    answer = put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    assert answer.status_code == 201 and "Azure-AsyncOperation" in answer.headers
    assert answer.json["id"].endswith("/virtualMachines/vm0/extensions/web")
    assert answer.json["type"] == "Microsoft.Compute/virtualMachines/extensions"
    assert "protectedSettings" not in answer.json["properties"] and "top-secret" not in answer.text
    assert "top-secret" not in str(lab.store.requests())
    done = operation(cloud, answer)
    assert done["status"] == "Failed" and done["error"]["code"] == "VMExtensionProvisioningError"
    assert "no guest runs the extension (the lab runs without a data plane" in done["error"]["message"]
    props = extension(cloud, "vm0", "web")
    assert props["provisioningState"] == "Failed"
    assert props["instanceView"]["statuses"][0]["code"] == "ProvisioningState/failed/0"
    vm = cloud.get("virtualMachines/vm0").json
    assert [r["name"] for r in vm["resources"]] == ["web"] and "top-secret" not in str(vm)
    view = cloud.instance_view("vm0")
    assert view["extensions"][0]["type"] == "Microsoft.Azure.Extensions.CustomScript"
    assert view["vmAgent"]["extensionHandlers"][0]["status"]["displayStatus"] == "Not Ready"
    assert [e["name"] for e in cloud.get("virtualMachines/vm0/extensions").json["value"]] == ["web"]
    assert cloud.arm.delete(cloud.compute_path("virtualMachines/vm0/extensions/web"), api=COMPUTE_API).status_code == 202
    assert cloud.get("virtualMachines/vm0/extensions").json["value"] == []


def test_a_run_ends_the_put_when_the_guest_reports_it(cloud, lab, guests_run):
    cloud.vm("vm0")
    answer = put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    assert operation(cloud, answer)["status"] == "InProgress"
    props = extension(cloud, "vm0", "web")
    assert props["provisioningState"] in ("Creating", "Updating")
    assert props["instanceView"]["statuses"][0]["code"] == "ProvisioningState/transitioning"
    assert cloud.instance_view("vm0")["vmAgent"]["extensionHandlers"][0]["status"]["displayStatus"] == "Not Ready"

    assert set_extension_status(lab.store, answer.json["id"], "succeeded", SUCCEEDED, sequence=0)
    assert operation(cloud, answer)["status"] == "Succeeded"
    props = extension(cloud, "vm0", "web")
    assert props["provisioningState"] == "Succeeded"
    assert props["instanceView"]["statuses"][0] == {"code": "ProvisioningState/succeeded", "level": "Info",
                                                    "displayStatus": "Provisioning succeeded", "message": SUCCEEDED}
    assert cloud.instance_view("vm0")["vmAgent"]["extensionHandlers"][0]["status"]["displayStatus"] == "Ready"

    # the same configuration again: not run again
    again = put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    assert again.status_code == 200 and operation(cloud, again)["status"] == "Succeeded"
    assert extension(cloud, "vm0", "web")["instanceView"]["statuses"][0]["message"] == SUCCEEDED

    # forceUpdateTag runs it again; the earlier run's late report is dropped
    rerun = put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "forceUpdateTag": "2"})
    assert operation(cloud, rerun)["status"] == "InProgress"
    assert not set_extension_status(lab.store, answer.json["id"], "succeeded", SUCCEEDED, sequence=0)
    failed = "Enable failed: failed to execute command: command terminated with exit status=3\n[stdout]\n\n[stderr]\noops\n"
    assert set_extension_status(lab.store, answer.json["id"], "failed", failed, sequence=1)
    done = operation(cloud, rerun)
    assert done["status"] == "Failed" and done["error"]["code"] == "VMExtensionProvisioningError"
    assert done["error"]["message"].startswith("VM has reported a failure when processing extension 'web' "
                                               "(publisher 'Microsoft.Azure.Extensions' and type 'CustomScript'). "
                                               f"Error message: '{failed}'.")
    view = extension(cloud, "vm0", "web")["instanceView"]["statuses"][0]
    assert (view["code"], view["level"], view["message"]) == ("ProvisioningState/failed/0", "Error", failed)


@pytest.mark.parametrize(("settings", "protected", "message"), [
    ({"commandToExecute": "a"}, {"commandToExecute": "b"}, "'commandToExecute' was specified both in public and "
                                                          "protected settings"),
    ({"commandToExecute": "a"}, {"script": "ZWNobyBoaQ=="}, "'commandToExecute' and 'script' were both specified"),
    ({}, None, "either 'script' or 'commandToExecute' must be specified"),
    ({"script": "not base64!"}, None, "'script' is not valid base64"),
])
def test_settings_the_handler_refuses_fail_the_extension(cloud, guests_run, settings, protected, message):
    cloud.vm("vm0")
    props = {**CUSTOM_SCRIPT, "settings": settings, "protectedSettings": protected}
    done = operation(cloud, put_extension(cloud, "vm0", "web", props))
    assert done["status"] == "Failed" and message in done["error"]["message"]
    assert extension(cloud, "vm0", "web")["instanceView"]["statuses"][0]["message"].startswith(
        "Enable failed: failed to get configuration: invalid configuration:" if "base64" not in message else
        "Enable failed: failed to get configuration: failed to decode script")


def test_handlers_the_lab_does_not_run_fail_and_say_so(cloud, guests_run):
    cloud.vm("vm0")
    answer = put_extension(cloud, "vm0", "access", {"publisher": "Microsoft.OSTCExtensions", "type": "VMAccessForLinux",
                                                    "typeHandlerVersion": "1.5"})
    done = operation(cloud, answer)
    assert done["status"] == "Failed"
    assert "azlab does not run the Microsoft.OSTCExtensions.VMAccessForLinux handler" in done["error"]["message"]


def test_extension_handler_must_exist_for_the_vm_os(cloud):
    cloud.vm("vm0")
    windows = {**CUSTOM_SCRIPT, "publisher": "Microsoft.Compute", "type": "CustomScriptExtension", "typeHandlerVersion": "1.10"}
    answer = put_extension(cloud, "vm0", "iis", windows)
    assert error(answer)[:2] == (404, "ArtifactNotFound")
    old = put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "typeHandlerVersion": "1.0"})
    assert error(old)[:2] == (404, "ArtifactVersionNotFound")
    missing = put_extension(cloud, "vm0", "web", {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript"})
    assert error(missing) == (400, "InvalidParameter", "typeHandlerVersion")


def test_one_extension_per_handler(cloud):
    cloud.vm("vm0")
    put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    answer = put_extension(cloud, "vm0", "web2", CUSTOM_SCRIPT)
    assert error(answer)[:2] == (400, "BadRequest")
    assert "Multiple VMExtensions per handler not supported" in answer.json["error"]["message"]
    assert put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "settings": {"timestamp": 2}}).status_code == 200


def test_extension_publisher_and_type_are_fixed(cloud):
    cloud.vm("vm0")
    put_extension(cloud, "vm0", "access", {"publisher": "Microsoft.OSTCExtensions", "type": "VMAccessForLinux",
                                           "typeHandlerVersion": "1.5"})
    answer = put_extension(cloud, "vm0", "access", CUSTOM_SCRIPT)
    assert error(answer) == (409, "PropertyChangeNotAllowed", "publisher")


def test_extensions_need_a_running_vm(cloud):
    cloud.vm("vm0")
    put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    cloud.post("virtualMachines/vm0/powerOff")
    answer = put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert answer.json["error"]["message"] == "Cannot modify extensions in the VM when the VM is not running."
    assert error(cloud.arm.delete(cloud.compute_path("virtualMachines/vm0/extensions/web"), api=COMPUTE_API))[0] == 409


def test_extension_of_a_missing_vm_is_not_found(cloud):
    assert error(put_extension(cloud, "nope", "web", CUSTOM_SCRIPT))[:2] == (404, "ResourceNotFound")


def test_windows_custom_script_fails_saying_no_guest_ran_it(cloud, guests_run):
    cloud.put_vm("win0", cloud.windows_body(cloud.nic("nic0")))
    iis = {"publisher": "Microsoft.Compute", "type": "CustomScriptExtension", "typeHandlerVersion": "1.10",
           "settings": {"commandToExecute": "powershell Install-WindowsFeature Web-Server"}}
    answer = put_extension(cloud, "win0", "iis", iis)
    assert answer.status_code == 201
    assert operation(cloud, answer)["status"] == "Failed"
    props = extension(cloud, "win0", "iis")
    assert props["provisioningState"] == "Failed"
    assert props["instanceView"]["statuses"][0]["message"] == NO_WINDOWS_GUEST


def test_deleting_the_vm_deletes_its_extensions(cloud, lab):
    cloud.vm("vm0")
    put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API)
    assert lab.store.list("Microsoft.Compute/virtualMachines/extensions") == []


@pytest.mark.parametrize("version", ["2.0", "2", "2.1"])
def test_handler_versions_match_major_minor(cloud, version):
    cloud.vm("vm0")
    assert put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "typeHandlerVersion": version}).status_code == 201
