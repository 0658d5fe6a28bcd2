"""HTTP-layer tests of managed disks and VM extensions (in-process)."""

from __future__ import annotations

import pytest
from test_compute import COMPUTE_API, DISK_API, Cloud, error

from azlab.models.compute.common import NO_WINDOWS_GUEST

IMAGE_ID = ("/Subscriptions/{sub}/Providers/Microsoft.Compute/Locations/eastus/Publishers/Debian/ArtifactTypes/VMImage"
            "/Offers/debian-12/Skus/12-gen2/Versions/0.20250112.1990")


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def put_disk(cloud, name: str, props: dict, sku: str = "Standard_LRS"):
    body = {"location": "eastus", "sku": {"name": sku}, "properties": props}
    return cloud.arm.put(cloud.compute_path(f"disks/{name}"), body, api=DISK_API)


# -- disks ----------------------------------------------------------------------------------------


def test_empty_disk_is_accepted_asynchronously(cloud):
    answer = put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 100}, sku="Premium_LRS")
    assert answer.status_code == 202  # the disks API answers 200 or 202, never 201
    assert "Azure-AsyncOperation" in answer.headers
    props = answer.json["properties"]
    assert (props["diskSizeGB"], props["diskSizeBytes"], props["tier"]) == (100, 100 * 1024 ** 3, "P10")
    assert props["diskState"] == "Unattached" and props["provisioningState"] == "Succeeded"
    assert answer.json["sku"] == {"name": "Premium_LRS", "tier": "Premium"}
    assert "managedBy" not in answer.json


def test_disk_rules(cloud):
    assert error(put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}})) == (400, "InvalidParameter", "diskSizeGB")
    assert error(put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 40000}))[2] == "diskSizeGB"
    assert error(put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8}, sku="Gold_LRS"))[2] == "sku.name"
    assert error(put_disk(cloud, "d1", {"diskSizeGB": 8}))[:2] == (400, "InvalidRequestFormat")
    assert error(put_disk(cloud, "d1", {"creationData": {"createOption": "Import"}, "diskSizeGB": 8}))[2] == "creationData.createOption"
    assert cloud.disks() == []


def test_disk_from_an_image_and_a_copy(cloud):
    image_id = IMAGE_ID.format(sub=cloud.arm.sub.split("/")[-1])
    answer = put_disk(cloud, "os1", {"creationData": {"createOption": "FromImage", "imageReference": {"id": image_id}}})
    props = answer.json["properties"]
    assert (props["osType"], props["hyperVGeneration"], props["diskSizeGB"]) == ("Linux", "V2", 30)
    copy = put_disk(cloud, "os2", {"creationData": {"createOption": "Copy", "sourceResourceId": answer.json["id"]}})
    assert copy.json["properties"]["osType"] == "Linux" and copy.json["properties"]["diskSizeGB"] == 30
    bad = put_disk(cloud, "os3", {"creationData": {"createOption": "FromImage", "imageReference": {"id": image_id + "9"}}})
    assert error(bad)[:2] == (404, "NotFound")
    small = put_disk(cloud, "os3", {"creationData": {"createOption": "FromImage", "imageReference": {"id": image_id}},
                                    "diskSizeGB": 10})
    assert error(small)[:2] == (409, "OperationNotAllowed")


def test_disk_grows_but_never_shrinks(cloud):
    put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8})
    grown = cloud.arm.patch(cloud.compute_path("disks/d1"), {"properties": {"diskSizeGB": 16}, "tags": {"a": "b"}},
                            api=DISK_API)
    assert grown.status_code == 200 and grown.json["properties"]["diskSizeGB"] == 16 and grown.json["tags"] == {"a": "b"}
    answer = cloud.arm.patch(cloud.compute_path("disks/d1"), {"properties": {"diskSizeGB": 4}}, api=DISK_API)
    assert error(answer) == (409, "OperationNotAllowed", "diskSizeGB")
    assert "cannot be resized down" in answer.json["error"]["message"]
    assert cloud.get("disks/d1", api=DISK_API).json["properties"]["diskSizeGB"] == 16


def test_create_option_is_fixed(cloud):
    put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8})
    image_id = IMAGE_ID.format(sub=cloud.arm.sub.split("/")[-1])
    answer = put_disk(cloud, "d1", {"creationData": {"createOption": "FromImage", "imageReference": {"id": image_id}}})
    assert error(answer) == (409, "PropertyChangeNotAllowed", "creationData.createOption")


def test_attached_disk_cannot_be_deleted(cloud):
    vm = cloud.vm("vm0")
    os_disk = vm["properties"]["storageProfile"]["osDisk"]["name"]
    answer = cloud.arm.delete(cloud.compute_path(f"disks/{os_disk}"), api=DISK_API)
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert answer.json["error"]["message"] == f"Disk {os_disk} is attached to VM {vm['id']}."
    cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API)
    assert cloud.arm.delete(cloud.compute_path(f"disks/{os_disk}"), api="2017-03-30").status_code == 202
    assert cloud.disks() == []


def test_resizing_a_vm_disk_shows_on_the_vm(cloud):
    vm = cloud.vm("vm0", storageProfile={
        "imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12", "version": "latest"},
        "dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 8}]})
    name = vm["properties"]["storageProfile"]["dataDisks"][0]["name"]
    cloud.arm.patch(cloud.compute_path(f"disks/{name}"), {"properties": {"diskSizeGB": 32}}, api=DISK_API)
    assert cloud.get("virtualMachines/vm0").json["properties"]["storageProfile"]["dataDisks"][0]["diskSizeGB"] == 32


# -- extensions -------------------------------------------------------------------------------------

CUSTOM_SCRIPT = {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript", "typeHandlerVersion": "2.1",
                 "autoUpgradeMinorVersion": True, "settings": {"commandToExecute": "apt-get install -y nginx"},
                 "protectedSettings": {"commandToExecute": "echo top-secret"}}


def put_extension(cloud, vm: str, name: str, props: dict):
    return cloud.arm.put(cloud.compute_path(f"virtualMachines/{vm}/extensions/{name}"),
                         {"location": "eastus", "properties": props}, api=COMPUTE_API)


def test_custom_script_extension_lifecycle(cloud, lab):
    cloud.vm("vm0")
    answer = put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    assert answer.status_code == 201 and "Azure-AsyncOperation" in answer.headers
    assert answer.json["id"].endswith("/virtualMachines/vm0/extensions/web")
    assert answer.json["type"] == "Microsoft.Compute/virtualMachines/extensions"
    props = answer.json["properties"]
    assert (props["type"], props["provisioningState"]) == ("CustomScript", "Succeeded")
    assert "protectedSettings" not in props and "top-secret" not in answer.text
    assert "top-secret" not in str(lab.store.requests())
    vm = cloud.get("virtualMachines/vm0").json
    assert [r["name"] for r in vm["resources"]] == ["web"] and "top-secret" not in str(vm)
    view = cloud.instance_view("vm0")
    assert view["extensions"][0]["type"] == "Microsoft.Azure.Extensions.CustomScript"
    assert view["vmAgent"]["extensionHandlers"][0]["typeHandlerVersion"] == "2.1"
    listed = cloud.get("virtualMachines/vm0/extensions").json["value"]
    assert [e["name"] for e in listed] == ["web"]
    assert cloud.arm.delete(cloud.compute_path("virtualMachines/vm0/extensions/web"), api=COMPUTE_API).status_code == 202
    assert cloud.get("virtualMachines/vm0/extensions").json["value"] == []


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
    assert put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "settings": {"commandToExecute": "true"}}).status_code == 200


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


def test_windows_custom_script_says_no_guest_ran_it(cloud):
    cloud.put_vm("win0", cloud.windows_body(cloud.nic("nic0")))
    iis = {"publisher": "Microsoft.Compute", "type": "CustomScriptExtension", "typeHandlerVersion": "1.10",
           "settings": {"commandToExecute": "powershell Install-WindowsFeature Web-Server"}}
    assert put_extension(cloud, "win0", "iis", iis).status_code == 201
    view = cloud.get("virtualMachines/win0/extensions/iis?$expand=instanceView").json["properties"]["instanceView"]
    assert view["statuses"][0]["message"] == NO_WINDOWS_GUEST


def test_deleting_the_vm_deletes_its_extensions(cloud, lab):
    cloud.vm("vm0")
    put_extension(cloud, "vm0", "web", CUSTOM_SCRIPT)
    cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API)
    assert lab.store.list("Microsoft.Compute/virtualMachines/extensions") == []


@pytest.mark.parametrize("version", ["2.0", "2", "2.1"])
def test_handler_versions_match_major_minor(cloud, version):
    cloud.vm("vm0")
    assert put_extension(cloud, "vm0", "web", {**CUSTOM_SCRIPT, "typeHandlerVersion": version}).status_code == 201
