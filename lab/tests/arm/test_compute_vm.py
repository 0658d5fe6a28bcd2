"""HTTP-layer tests of VMs after creation (in-process): the OS profile and its secrets,
updates Azure allows and refuses, power actions, data disks, delete cascades, recreating
a VM from its OS disk, boot diagnostics, and the data plane's state API."""

from __future__ import annotations

import json

import pytest
from test_compute import COMPUTE_API, DISK_API, Cloud, error

from azlab.models.compute.common import NO_WINDOWS_GUEST
from azlab.models.compute.state import set_power_state, vm_spec


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def nic_of(vm: dict) -> str:
    return vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]


def module_update_body(vm: dict, **tags) -> dict:
    """What azure_rm_virtualmachine PUTs to change a VM: no secrets, no imageReference, an
    empty vhd on the OS disk, data disks named as they are."""
    props = vm["properties"]
    storage = props["storageProfile"]
    return {"location": vm["location"], "tags": tags, "properties": {
        "hardwareProfile": props["hardwareProfile"],
        "osProfile": {"adminUsername": props["osProfile"]["adminUsername"],
                      "computerName": props["osProfile"]["computerName"],
                      "linuxConfiguration": {"disablePasswordAuthentication": True,
                                             "ssh": props["osProfile"]["linuxConfiguration"]["ssh"]}},
        "storageProfile": {"osDisk": {"name": storage["osDisk"]["name"], "vhd": {}, "createOption": "FromImage",
                                      "osType": "Linux", "caching": "ReadWrite"},
                           "dataDisks": [{"lun": d["lun"], "name": d["name"], "createOption": "Empty",
                                          "caching": d["caching"], "diskSizeGB": d["diskSizeGB"],
                                          "managedDisk": {"storageAccountType": "Premium_LRS"}}
                                         for d in storage.get("dataDisks", [])]},
        "networkProfile": {"networkInterfaces": [{"id": nic_of(vm), "properties": {"primary": True}}]},
        "userData": "Tm9uZQ=="}}


# -- OS profile --------------------------------------------------------------------------------


def test_linux_needs_a_key_or_a_password(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["osProfile"]["linuxConfiguration"]["ssh"] = {"publicKeys": []}
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (400, "InvalidParameter", "linuxConfiguration")
    assert "Authentication using either SSH or by user name and password must be enabled" in answer.json["error"]["message"]
    body["properties"]["osProfile"]["linuxConfiguration"] = {"disablePasswordAuthentication": False}
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "adminPassword")
    body["properties"]["osProfile"]["adminPassword"] = "Linux-pass1"
    assert cloud.put_vm("vm0", body).status_code == 201


@pytest.mark.parametrize("password", ["short1A", "alllowercase", "NoDigitsHere", "P@ssw0rd", "x" * 124])
def test_windows_password_rules(cloud, password):
    answer = cloud.put_vm("vm0", cloud.windows_body(cloud.nic("nic0"), password=password))
    assert error(answer) == (400, "InvalidParameter", "adminPassword")
    assert cloud.disks() == []


def test_windows_needs_a_password(cloud):
    body = cloud.windows_body(cloud.nic("nic0"))
    del body["properties"]["osProfile"]["adminPassword"]
    answer = cloud.put_vm("vm0", body)
    assert answer.json["error"]["message"] == "Required parameter 'adminPassword' is missing (null)."


@pytest.mark.parametrize("field, value, target", [
    ("adminUsername", "admin", "adminUsername"),
    ("adminUsername", "root", "adminUsername"),
    ("adminUsername", "a-very-long-windows-user", "adminUsername"),
    ("computerName", "web-frontend-server-01", "computerName"),
    ("computerName", "12345", "computerName"),
])
def test_windows_names_follow_azure_rules(cloud, field, value, target):
    body = cloud.windows_body(cloud.nic("nic0"))
    body["properties"]["osProfile"][field] = value
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", target)


def test_windows_vm_says_no_guest_runs_but_reports_power(cloud):
    answer = cloud.put_vm("win0", cloud.windows_body(cloud.nic("nic0")))
    assert answer.status_code == 201
    props = answer.json["properties"]
    assert props["storageProfile"]["osDisk"]["osType"] == "Windows"
    assert props["storageProfile"]["osDisk"]["diskSizeGB"] == 127
    assert props["osProfile"]["windowsConfiguration"]["provisionVMAgent"] is True
    view = cloud.instance_view("win0")
    assert view["vmAgent"]["statuses"][0]["message"] == NO_WINDOWS_GUEST
    assert view["vmAgent"]["vmAgentVersion"] == "Unknown"
    assert [s["code"] for s in view["statuses"]] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert "osName" not in view


def test_ssh_keys_go_to_the_default_path_and_must_parse(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    key = body["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]
    key["path"] = "/root/.ssh/authorized_keys"
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "linuxConfiguration.ssh.publicKeys.path")
    key["path"] = "/home/azureuser/.ssh/authorized_keys"
    key["keyData"] = "ssh-rsa not-base64!"
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "linuxConfiguration.ssh.publicKeys.keyData")


def test_custom_data_must_be_base64(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["osProfile"]["customData"] = "not base64 ***"
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "customData")


def test_secrets_are_never_returned_logged_or_stored_in_clear(cloud, lab):
    password, custom = "Linux-s3cret-pw", "I2Nsb3VkLWNvbmZpZwo="
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["osProfile"].update(adminPassword=password, customData=custom)
    created = cloud.put_vm("vm0", body)
    fetched = cloud.get("virtualMachines/vm0?$expand=instanceView")
    for answer in (created, fetched):
        assert password not in answer.text and custom not in answer.text
        assert "adminPassword" not in answer.json["properties"]["osProfile"]
    assert password not in json.dumps(lab.store.requests())
    assert custom not in json.dumps(lab.store.requests())
    guest = vm_spec(lab.store, created.json["id"])["guest"]
    assert guest["passwordHash"].startswith("$6$") and password not in json.dumps(lab.store.list())
    assert guest["customData"] == custom and guest["passwordAuthentication"] is False  # keys only


def test_user_data_only_with_expand(cloud):
    cloud.vm("vm0", userData="aGVsbG8=")
    assert "userData" not in cloud.get("virtualMachines/vm0").json["properties"]
    assert cloud.get("virtualMachines/vm0?$expand=userData").json["properties"]["userData"] == "aGVsbG8="


# -- updates ----------------------------------------------------------------------------------------


def test_module_style_update_keeps_identity_placement_and_disks(cloud):
    cloud.avset("as1", fd=2, ud=3)
    cloud.vm("vm0", avset="as1")
    created = cloud.vm("vm1", avset="as1", storageProfile={
        "imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2",
                           "version": "latest"},
        "dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 8}]})
    answer = cloud.put_vm("vm1", module_update_body(created, env="dev"))
    assert answer.status_code == 200, answer.json
    props = answer.json["properties"]
    assert answer.json["tags"] == {"env": "dev"}
    assert props["vmId"] == created["properties"]["vmId"]
    assert props["storageProfile"] == created["properties"]["storageProfile"]
    assert props["osProfile"] == created["properties"]["osProfile"]
    view = cloud.instance_view("vm1")
    assert (view["platformUpdateDomain"], view["platformFaultDomain"]) == (1, 1)
    assert len(cloud.disks()) == 3


@pytest.mark.parametrize("change, prop", [
    (lambda p: p["osProfile"].update(computerName="other"), "computerName"),
    (lambda p: p["osProfile"].update(adminUsername="someone"), "adminUsername"),
    (lambda p: p["osProfile"]["linuxConfiguration"].update(disablePasswordAuthentication=False),
     "linuxConfiguration.disablePasswordAuthentication"),
    (lambda p: p["osProfile"].update(customData="aGVsbG8="), "customData"),
    (lambda p: p["storageProfile"]["osDisk"].update(createOption="Attach"), "osDisk.createOption"),
    (lambda p: p["storageProfile"]["osDisk"].update(osType="Windows"), "osDisk.osType"),
    (lambda p: p["storageProfile"].update(imageReference={"publisher": "Debian", "offer": "debian-12", "sku": "12"}),
     "imageReference.publisher"),
])
def test_creation_time_properties_cannot_change(cloud, change, prop):
    created = cloud.vm("vm0")
    body = module_update_body(created)
    change(body["properties"])
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (409, "PropertyChangeNotAllowed", prop)
    assert answer.json["error"]["message"] == f"Changing property '{prop}' is not allowed."
    assert cloud.get("virtualMachines/vm0").json["properties"] == created["properties"]


def test_resize_to_a_known_size(cloud):
    created = cloud.vm("vm0")
    body = module_update_body(created)
    body["properties"]["hardwareProfile"] = {"vmSize": "Standard_D2s_v3"}
    assert cloud.put_vm("vm0", body).json["properties"]["hardwareProfile"]["vmSize"] == "Standard_D2s_v3"
    body["properties"]["hardwareProfile"] = {"vmSize": "Standard_Huge"}
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "vmSize")


def test_patch_merges_tags(cloud):
    cloud.vm("vm0")
    answer = cloud.arm.patch(cloud.compute_path("virtualMachines/vm0"), {"tags": {"env": "dev"}}, api=COMPUTE_API)
    assert answer.status_code == 200 and answer.json["tags"] == {"env": "dev"}


def test_os_disk_grows_only_while_deallocated(cloud):
    created = cloud.vm("vm0")
    body = module_update_body(created)
    body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] = 64
    assert error(cloud.put_vm("vm0", body)) == (409, "Conflict", "osDisk.diskSizeGB")
    cloud.post("virtualMachines/vm0/deallocate")
    assert cloud.put_vm("vm0", body).json["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] == 64
    assert cloud.disks()[0]["properties"]["diskSizeGB"] == 64
    body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] = 32
    assert error(cloud.put_vm("vm0", body))[:2] == (409, "OperationNotAllowed")


# -- power -----------------------------------------------------------------------------------------


def power(cloud, name: str) -> str:
    return cloud.instance_view(name)["statuses"][-1]["code"]


def test_power_actions_are_long_running_and_change_the_power_state(cloud):
    cloud.vm("vm0")
    answer = cloud.post("virtualMachines/vm0/powerOff")
    assert answer.status_code == 202 and "Azure-AsyncOperation" in answer.headers
    assert power(cloud, "vm0") == "PowerState/stopped"
    assert cloud.instance_view("vm0")["vmAgent"]["statuses"][0]["displayStatus"] == "Not Ready"
    cloud.post("virtualMachines/vm0/start")
    assert power(cloud, "vm0") == "PowerState/running"
    cloud.post("virtualMachines/vm0/deallocate")
    assert power(cloud, "vm0") == "PowerState/deallocated"
    view = cloud.instance_view("vm0")
    assert "vmAgent" not in view and "computerName" not in view
    assert cloud.disks()[0]["properties"]["diskState"] == "Reserved"
    cloud.post("virtualMachines/vm0/start")
    assert cloud.disks()[0]["properties"]["diskState"] == "Attached"


def test_restart_needs_a_running_vm(cloud, lab):
    vm = cloud.vm("vm0")
    assert cloud.post("virtualMachines/vm0/restart").status_code == 202
    assert vm_spec(lab.store, vm["id"])["restarts"] == 1
    cloud.post("virtualMachines/vm0/powerOff")
    answer = cloud.post("virtualMachines/vm0/restart")
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert answer.json["error"]["message"] == "The operation requires the VM to be running (or set to run)."
    cloud.post("virtualMachines/vm0/deallocate")
    assert "deallocated" in cloud.post("virtualMachines/vm0/powerOff").json["error"]["message"]
    assert power(cloud, "vm0") == "PowerState/deallocated"


def test_power_action_on_a_missing_vm_is_not_found(cloud):
    assert error(cloud.post("virtualMachines/nope/start"))[:2] == (404, "ResourceNotFound")


def test_data_plane_reports_power_and_reads_the_spec(cloud, lab):
    cloud.avset("as1", fd=2, ud=3)
    cloud.vm("vm0", avset="as1")
    vm = cloud.vm("vm1", avset="as1")
    set_power_state(lab.store, vm["id"], "starting")
    assert power(cloud, "vm1") == "PowerState/starting"
    assert cloud.instance_view("vm1")["statuses"][-1]["displayStatus"] == "VM starting"
    spec = vm_spec(lab.store, vm["id"])
    assert spec["placement"] == {"platformUpdateDomain": 1, "platformFaultDomain": 1}
    assert (spec["power"], spec["power_goal"]) == ("starting", "running")
    assert spec["guest"]["adminUsername"] == "azureuser" and spec["guest"]["sshPublicKeys"][0]["keyData"] == cloud.key
    assert spec["image"] == {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                             "sku": "22_04-lts-gen2", "version": "22.04.202501140"}
    assert spec["network_interfaces"] == [nic_of(vm)] and spec["os_type"] == "Linux"
    with pytest.raises(ValueError):
        set_power_state(lab.store, vm["id"], "asleep")


def test_data_plane_changes_reach_subscribers(cloud, lab):
    vm = cloud.vm("vm0")
    seen = []
    lab.store.subscribe(lambda changes: seen.extend(changes))
    cloud.post("virtualMachines/vm0/powerOff")
    set_power_state(lab.store, vm["id"], "stopping")
    assert [(c.kind, c.new["_power_goal"], c.new["_power"]) for c in seen] == [
        ("update", "stopped", "stopped"), ("update", "stopped", "stopping")]


# -- data disks -------------------------------------------------------------------------------------


def data_disks(*specs) -> dict:
    return {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12", "version": "latest"},
            "dataDisks": list(specs)}


def test_empty_data_disks_are_created_per_lun(cloud):
    vm = cloud.vm("vm0", storageProfile=data_disks({"lun": 0, "createOption": "Empty", "diskSizeGB": 8},
                                                   {"lun": 1, "createOption": "Empty", "diskSizeGB": 16, "name": "logs",
                                                    "managedDisk": {"storageAccountType": "StandardSSD_LRS"}}))
    disks = vm["properties"]["storageProfile"]["dataDisks"]
    assert [d["lun"] for d in disks] == [0, 1]
    assert disks[0]["name"].startswith("vm0_disk1_") and disks[1]["name"] == "logs"
    assert disks[1]["managedDisk"]["storageAccountType"] == "StandardSSD_LRS"
    assert (disks[0]["caching"], disks[0]["deleteOption"], disks[0]["toBeDetached"]) == ("None", "Detach", False)
    assert sorted(d["properties"]["diskSizeGB"] for d in cloud.disks()) == [8, 16, 30]


def test_duplicate_lun_is_refused_and_nothing_is_created(cloud):
    body = cloud.linux_body(cloud.nic("nic0"), storageProfile=data_disks(
        {"lun": 0, "createOption": "Empty", "diskSizeGB": 8}, {"lun": 0, "createOption": "Empty", "diskSizeGB": 8}))
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (400, "InvalidParameter", "dataDisks.lun")
    assert answer.json["error"]["message"] == "A disk at LUN 0 already exists."
    assert cloud.disks() == []


def test_size_limits_the_number_of_data_disks(cloud):
    disks = [{"lun": i, "createOption": "Empty", "diskSizeGB": 4} for i in range(3)]
    body = cloud.linux_body(cloud.nic("nic0"), storageProfile=data_disks(*disks))  # B1s takes 2
    answer = cloud.put_vm("vm0", body)
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert "is 2" in answer.json["error"]["message"] and cloud.disks() == []


def test_empty_data_disk_needs_a_size(cloud):
    body = cloud.linux_body(cloud.nic("nic0"), storageProfile=data_disks({"lun": 0, "createOption": "Empty"}))
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "dataDisk.diskSizeGB")


def standalone_disk(cloud, name: str, size: int = 16) -> str:
    body = {"location": "eastus", "sku": {"name": "Standard_LRS"},
            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size}}
    answer = cloud.arm.put(cloud.compute_path(f"disks/{name}"), body, api=DISK_API)
    assert answer.status_code == 202, answer.json
    return answer.json["id"]


def test_attach_and_detach_an_existing_disk(cloud):
    disk_id = standalone_disk(cloud, "shared")
    attach = {"lun": 3, "createOption": "Attach", "managedDisk": {"id": disk_id}}
    vm = cloud.vm("vm0", storageProfile=data_disks(attach))
    assert vm["properties"]["storageProfile"]["dataDisks"][0]["name"] == "shared"
    disk = cloud.get("disks/shared", api=DISK_API).json
    assert disk["managedBy"] == vm["id"] and disk["properties"]["diskState"] == "Attached"
    other = cloud.linux_body(cloud.nic("nic1"), storageProfile=data_disks(attach))
    answer = cloud.put_vm("vm1", other)
    assert error(answer)[:2] == (409, "ConflictingUserInput")
    assert "is already owned by VM" in answer.json["error"]["message"]
    # omitting the disk in a PUT detaches it; the disk stays
    body = module_update_body(cloud.get("virtualMachines/vm0").json)
    body["properties"]["storageProfile"]["dataDisks"] = []
    assert cloud.put_vm("vm0", body).json["properties"]["storageProfile"]["dataDisks"] == []
    disk = cloud.get("disks/shared", api=DISK_API).json
    assert "managedBy" not in disk and disk["properties"]["diskState"] == "Unattached"


def test_new_disk_name_must_be_free(cloud):
    standalone_disk(cloud, "taken")
    body = cloud.linux_body(cloud.nic("nic0"), storageProfile=data_disks(
        {"lun": 0, "createOption": "Empty", "diskSizeGB": 8, "name": "taken"}))
    assert error(cloud.put_vm("vm0", body))[:2] == (409, "ConflictingUserInput")


# -- delete -------------------------------------------------------------------------------------------


def test_delete_detaches_disks_and_nic_by_default(cloud):
    vm = cloud.vm("vm0", storageProfile=data_disks({"lun": 0, "createOption": "Empty", "diskSizeGB": 8}))
    assert cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API).status_code == 202
    assert cloud.get("virtualMachines/vm0").status_code == 404
    assert [d["properties"]["diskState"] for d in cloud.disks()] == ["Unattached", "Unattached"]
    nic = cloud.arm.get(nic_of(vm).split(cloud.arm.sub, 1)[1], api="2024-01-01").json
    assert "virtualMachine" not in nic["properties"]


def test_delete_option_delete_cascades_to_disks_and_nic(cloud):
    nic = cloud.nic("nic0")
    body = cloud.linux_body(nic, storageProfile={
        "imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12", "version": "latest"},
        "osDisk": {"createOption": "FromImage", "deleteOption": "Delete"},
        "dataDisks": [{"lun": 0, "createOption": "Empty", "diskSizeGB": 8, "deleteOption": "Delete"},
                      {"lun": 1, "createOption": "Empty", "diskSizeGB": 8}]})
    body["properties"]["networkProfile"]["networkInterfaces"][0]["properties"] = {"deleteOption": "Delete"}
    assert cloud.put_vm("vm0", body).status_code == 201
    cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API)
    assert len(cloud.disks()) == 1  # only the lun 1 disk (Detach) stays
    assert cloud.arm.get(nic.split(cloud.arm.sub, 1)[1], api="2024-01-01").status_code == 404


def test_recreate_from_the_os_disk_into_an_availability_set(cloud, lab):
    """Azure's way to put an existing VM into a set: delete it (keeping its disk), create it again."""
    vm = cloud.vm("vm0")
    os_disk = vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
    cloud.arm.delete(cloud.compute_path("virtualMachines/vm0"), api=COMPUTE_API)
    cloud.avset("as1")
    body = cloud.linux_body(nic_of(vm), "as1")
    body["properties"]["storageProfile"] = {"osDisk": {"createOption": "Attach", "osType": "Linux",
                                                       "managedDisk": {"id": os_disk}}}
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (400, "InvalidParameter", "osProfile")  # the disk already holds the OS
    del body["properties"]["osProfile"]
    answer = cloud.put_vm("vm0", body)
    assert answer.status_code == 201, answer.json
    assert "osProfile" not in answer.json["properties"] and "imageReference" not in answer.json["properties"]["storageProfile"]
    view = cloud.instance_view("vm0")
    assert view["computerName"] == "vm0" and view["osName"] == "debian"
    assert vm_spec(lab.store, answer.json["id"])["guest"]["adminUsername"] == "azureuser"
    assert cloud.get("availabilitySets/as1").json["properties"]["virtualMachines"][0]["id"].endswith("/VM0")


def test_attached_os_disk_cannot_come_with_an_image(cloud):
    vm = cloud.vm("vm0")
    body = cloud.linux_body(cloud.nic("nic1"))
    del body["properties"]["osProfile"]
    body["properties"]["storageProfile"]["osDisk"] = {
        "createOption": "Attach", "managedDisk": {"id": vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]}}
    assert error(cloud.put_vm("vm1", body)) == (400, "InvalidParameter", "imageReference")
    del body["properties"]["storageProfile"]["imageReference"]
    assert error(cloud.put_vm("vm1", body))[:2] == (409, "ConflictingUserInput")  # vm0 holds it


# -- boot diagnostics -----------------------------------------------------------------------------------


def test_boot_diagnostics_into_a_storage_account(cloud):
    account = {"location": "eastus", "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}
    cloud.arm.put(f"/resourceGroups/{cloud.rg}/providers/Microsoft.Storage/storageAccounts/bootdiag1", account,
                  api="2023-05-01")
    uri = "https://bootdiag1.blob.core.windows.net/"
    vm = cloud.vm("vm0", diagnosticsProfile={"bootDiagnostics": {"enabled": True, "storageUri": uri}})
    boot = cloud.instance_view("vm0")["bootDiagnostics"]
    prefix = f"{uri}bootdiagnostics-vm0-{vm['properties']['vmId']}/vm0.{vm['properties']['vmId']}"
    assert boot == {"consoleScreenshotBlobUri": f"{prefix}.screenshot.bmp", "serialConsoleLogBlobUri": f"{prefix}.serialconsole.log"}
    body = cloud.linux_body(cloud.nic("nic1"), diagnosticsProfile={"bootDiagnostics": {
        "enabled": True, "storageUri": "https://nosuchaccount.blob.core.windows.net/"}})
    assert error(cloud.put_vm("vm1", body))[:2] == (400, "StorageAccountNotFound")


def test_managed_boot_diagnostics(cloud):
    vm = cloud.vm("vm0", diagnosticsProfile={"bootDiagnostics": {"enabled": True}})
    assert vm["properties"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    assert cloud.instance_view("vm0")["bootDiagnostics"] == {}


def test_generalize_marks_a_stopped_vm_that_never_starts_again(cloud):
    cloud.vm("vm0")
    running = cloud.post("virtualMachines/vm0/generalize")
    assert error(running)[:2] == (409, "OperationNotAllowed")
    cloud.post("virtualMachines/vm0/deallocate")
    answer = cloud.post("virtualMachines/vm0/generalize")
    assert answer.status_code == 200 and "Azure-AsyncOperation" not in answer.headers
    codes = [s["code"] for s in cloud.instance_view("vm0")["statuses"]]
    assert "OSState/generalized" in codes
    refused = cloud.post("virtualMachines/vm0/start")
    assert error(refused)[:2] == (409, "OperationNotAllowed")
    assert "since the VM is generalized" in refused.json["error"]["message"]
