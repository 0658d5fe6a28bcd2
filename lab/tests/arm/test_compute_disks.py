"""HTTP-layer tests of managed disks (in-process)."""

from __future__ import annotations

import pytest
from test_compute import COMPUTE_API, DISK_API, Cloud, error

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


def test_patching_the_sku_changes_an_unattached_disk_and_waits_for_a_deallocated_vm(cloud):
    put_disk(cloud, "d1", {"creationData": {"createOption": "Empty"}, "diskSizeGB": 32})
    patched = cloud.arm.patch(cloud.compute_path("disks/d1"), {"sku": {"name": "Premium_LRS"}}, api=DISK_API)
    assert patched.status_code in (200, 202)
    assert cloud.get("disks/d1", api=DISK_API).json["sku"] == {"name": "Premium_LRS", "tier": "Premium"}
    os_disk = cloud.vm("vm0")["properties"]["storageProfile"]["osDisk"]["name"]
    other = {"sku": {"name": "StandardSSD_LRS"}}
    refused = cloud.arm.patch(cloud.compute_path(f"disks/{os_disk}"), other, api=DISK_API)
    assert error(refused)[:3] == (409, "OperationNotAllowed", "sku.name")
    cloud.post("virtualMachines/vm0/deallocate")
    cloud.arm.patch(cloud.compute_path(f"disks/{os_disk}"), other, api=DISK_API)
    assert cloud.get(f"disks/{os_disk}", api=DISK_API).json["sku"]["name"] == "StandardSSD_LRS"
