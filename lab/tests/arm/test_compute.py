"""HTTP-layer tests of Microsoft.Compute (in-process): availability sets, VM creation rules,
update/fault domain placement. ``Cloud`` builds the network pieces VMs need; the other
test_compute_* modules import it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

COMPUTE_API = "2024-07-01"
DISK_API = "2023-04-02"
NETWORK_API = "2024-01-01"
JAMMY = {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"}
WINDOWS = {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer", "sku": "2022-datacenter-azure-edition",
           "version": "latest"}
WINDOWS_PASSWORD = "Lab-Passw0rd-2024!"


def ssh_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


class Cloud:
    """A resource group with a subnet, and short ways to make NICs, sets and VMs in it."""

    def __init__(self, arm, rg: str = "rg1", location: str = "eastus"):
        self.arm, self.rg, self.location = arm, rg, location
        self.key = ssh_public_key()
        assert arm.put(f"/resourcegroups/{rg}", {"location": location}, api="2022-09-01").status_code == 201
        vnet = {"location": location, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                                                      "subnets": [{"name": "s1", "properties": {"addressPrefix": "10.0.1.0/24"}}]}}
        assert self.put_network("virtualNetworks/vnet", vnet).status_code == 201
        self.subnet = f"{self.rg_id}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s1"

    @property
    def rg_id(self) -> str:
        return f"{self.arm.sub}/resourceGroups/{self.rg}"

    def compute_path(self, path: str) -> str:
        return f"/resourceGroups/{self.rg}/providers/Microsoft.Compute/{path}"

    def put_network(self, path: str, body: dict):
        return self.arm.put(f"/resourceGroups/{self.rg}/providers/Microsoft.Network/{path}", body, api=NETWORK_API)

    def nic(self, name: str) -> str:
        body = {"location": self.location,
                "properties": {"ipConfigurations": [{"name": "ip1", "properties": {"subnet": {"id": self.subnet}}}]}}
        assert self.put_network(f"networkInterfaces/{name}", body).status_code == 201
        return f"{self.rg_id}/providers/Microsoft.Network/networkInterfaces/{name}"

    def avset(self, name: str = "as1", fd=2, ud=3, sku="Aligned", **extra):
        body = {"location": self.location, "sku": {"name": sku},
                "properties": {"platformFaultDomainCount": fd, "platformUpdateDomainCount": ud}, **extra}
        return self.arm.put(self.compute_path(f"availabilitySets/{name}"), body, api=COMPUTE_API)

    def avset_id(self, name: str = "as1") -> str:
        return f"{self.rg_id}/providers/Microsoft.Compute/availabilitySets/{name}"

    def linux_body(self, nic_id: str, avset: str | None = None, **props) -> dict:
        body = {"location": self.location, "properties": {
            "hardwareProfile": {"vmSize": "Standard_B1s"},
            "storageProfile": {"imageReference": dict(JAMMY), "osDisk": {"createOption": "FromImage"}},
            "osProfile": {"adminUsername": "azureuser", "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": self.key}]}}},
            "networkProfile": {"networkInterfaces": [{"id": nic_id}]}}}
        if avset:
            body["properties"]["availabilitySet"] = {"id": self.avset_id(avset)}
        body["properties"].update(props)
        return body

    def windows_body(self, nic_id: str, password: str = WINDOWS_PASSWORD, **props) -> dict:
        body = self.linux_body(nic_id, **props)
        body["properties"]["storageProfile"]["imageReference"] = dict(WINDOWS)
        body["properties"]["osProfile"] = {"adminUsername": "labadmin", "adminPassword": password,
                                           "computerName": "web1"}
        return body

    def put_vm(self, name: str, body: dict):
        return self.arm.put(self.compute_path(f"virtualMachines/{name}"), body, api=COMPUTE_API)

    def vm(self, name: str, avset: str | None = None, **props) -> dict:
        answer = self.put_vm(name, self.linux_body(self.nic(f"{name}-nic1"), avset, **props))
        assert answer.status_code == 201, answer.json
        return answer.json

    def get(self, path: str, api: str = COMPUTE_API):
        return self.arm.get(self.compute_path(path), api=api)

    def instance_view(self, name: str) -> dict:
        answer = self.get(f"virtualMachines/{name}/instanceView")
        assert answer.status_code == 200, answer.json
        return answer.json

    def post(self, path: str, body=None):
        return self.arm.post(self.compute_path(path), body, api=COMPUTE_API)

    def disks(self) -> list[dict]:
        return self.get("disks", api=DISK_API).json["value"]


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def error(answer) -> tuple[int, str, str | None]:
    err = answer.json["error"]
    return answer.status_code, err["code"], err.get("target")


def operation(cloud, answer) -> dict:
    """The status document behind an answer's Azure-AsyncOperation header."""
    path = answer.headers["Azure-AsyncOperation"].split("management.azure.com", 1)[1].split("?", 1)[0]
    return cloud.arm.get(path, api=COMPUTE_API).json


def operation_result(cloud, answer):
    """The final GET of an answer's Location header (what a client with final-state-via
    location reads)."""
    path = answer.headers["Location"].split("management.azure.com", 1)[1].split("?", 1)[0]
    return cloud.arm.get(path, api=COMPUTE_API)


# -- availability sets -------------------------------------------------------------------------


def test_availability_set_create_answers_200_with_azure_shape(cloud):
    answer = cloud.avset("as1", fd=2, ud=5, tags={"tier": "web"})
    assert answer.status_code == 200  # Azure (and the SDK) expect 200, not 201, for a new set
    body = answer.json
    assert body["id"] == cloud.avset_id("as1")
    assert body["sku"] == {"name": "Aligned"}
    assert body["properties"] == {"platformFaultDomainCount": 2, "platformUpdateDomainCount": 5, "virtualMachines": []}
    assert "Azure-AsyncOperation" not in answer.headers  # synchronous in Azure


def test_availability_set_defaults_to_classic_with_five_update_domains(cloud):
    body = cloud.arm.put(cloud.compute_path("availabilitySets/as1"), {"location": "eastus"}, api=COMPUTE_API).json
    assert body["sku"]["name"] == "Classic"
    assert body["properties"]["platformUpdateDomainCount"] == 5


@pytest.mark.parametrize("prop, value, message", [
    ("platformFaultDomainCount", 4, "The specified fault domain count 4 must fall in the range 1 to 3."),
    ("platformFaultDomainCount", 0, "The specified fault domain count 0 must fall in the range 1 to 3."),
    ("platformUpdateDomainCount", 21, "The specified update domain count 21 must fall in the range 1 to 20."),
    ("platformUpdateDomainCount", "5", "The specified update domain count 5 must fall in the range 1 to 20."),
])
def test_domain_counts_out_of_range_are_refused_naming_the_property(cloud, prop, value, message):
    body = {"location": "eastus", "sku": {"name": "Aligned"}, "properties": {prop: value}}
    answer = cloud.arm.put(cloud.compute_path("availabilitySets/as1"), body, api=COMPUTE_API)
    assert error(answer) == (400, "InvalidParameter", prop)
    assert answer.json["error"]["message"] == message
    assert cloud.get("availabilitySets/as1").status_code == 404


def test_unknown_availability_set_sku_is_refused(cloud):
    assert error(cloud.avset("as1", sku="Premium")) == (400, "InvalidParameter", "sku.name")


def test_five_vms_spread_over_three_update_and_two_fault_domains(cloud):
    cloud.avset("as1", fd=2, ud=3)
    for i in range(5):
        cloud.vm(f"vm{i}", avset="as1")
    views = [cloud.instance_view(f"vm{i}") for i in range(5)]
    assert [v["platformUpdateDomain"] for v in views] == [0, 1, 2, 0, 1]
    assert [v["platformFaultDomain"] for v in views] == [0, 1, 0, 1, 0]
    members = cloud.get("availabilitySets/as1").json["properties"]["virtualMachines"]
    # Azure spells these back-references in upper case
    assert [m["id"] for m in members] == [f"{cloud.arm.sub}/resourceGroups/RG1/providers/Microsoft.Compute/"
                                          f"virtualMachines/VM{i}" for i in range(5)]


def test_a_vm_created_after_a_delete_fills_the_emptiest_domains(cloud):
    cloud.avset("as1", fd=2, ud=3)
    cloud.vm("vm0", avset="as1")
    cloud.vm("vm1", avset="as1")
    assert cloud.arm.delete(cloud.compute_path("virtualMachines/vm1"), api=COMPUTE_API).status_code == 202
    cloud.vm("vm2", avset="as1")
    view = cloud.instance_view("vm2")
    assert (view["platformUpdateDomain"], view["platformFaultDomain"]) == (1, 1)  # where vm1 was
    for name in ("vm0", "vm2"):
        cloud.arm.delete(cloud.compute_path(f"virtualMachines/{name}"), api=COMPUTE_API)
    assert cloud.arm.delete(cloud.compute_path("availabilitySets/as1"), api=COMPUTE_API).status_code == 200
    cloud.avset("as1", fd=2, ud=3)
    cloud.vm("vm3", avset="as1")
    assert cloud.instance_view("vm3")["platformUpdateDomain"] == 0


def test_a_vm_without_a_set_reports_domain_zero(cloud):
    cloud.vm("solo")
    view = cloud.instance_view("solo")
    assert (view["platformUpdateDomain"], view["platformFaultDomain"]) == (0, 0)
    assert "availabilitySet" not in cloud.get("virtualMachines/solo").json["properties"]


def test_domain_counts_cannot_change_while_the_set_holds_vms(cloud):
    cloud.avset("as1", fd=2, ud=3)
    assert cloud.avset("as1", fd=2, ud=5).status_code == 200  # still empty: allowed
    cloud.vm("vm0", avset="as1")
    assert error(cloud.avset("as1", fd=3, ud=5)) == (409, "PropertyChangeNotAllowed", "platformFaultDomainCount")
    assert error(cloud.avset("as1", fd=2, ud=4)) == (409, "PropertyChangeNotAllowed", "platformUpdateDomainCount")
    assert cloud.avset("as1", fd=2, ud=5, tags={"env": "dev"}).status_code == 200
    assert cloud.get("availabilitySets/as1").json["properties"]["platformUpdateDomainCount"] == 5


def test_aligned_set_cannot_go_back_to_classic(cloud):
    cloud.avset("as1")
    answer = cloud.avset("as1", sku="Classic")
    assert error(answer) == (409, "OperationNotAllowed", "sku.name")
    assert answer.json["error"]["message"] == "Changing availability set SKU from 'Aligned' to 'Classic' is not allowed."


def test_set_with_vms_cannot_be_deleted(cloud):
    cloud.avset("as1")
    cloud.vm("vm0", avset="as1")
    answer = cloud.arm.delete(cloud.compute_path("availabilitySets/as1"), api=COMPUTE_API)
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert "Before deleting an Availability Set please ensure that it does not contain any VM" in answer.json["error"]["message"]
    assert cloud.get("availabilitySets/as1").status_code == 200


def test_managed_disk_vm_cannot_join_a_classic_set_and_nothing_is_created(cloud):
    cloud.avset("classic", sku="Classic")
    answer = cloud.put_vm("vm0", cloud.linux_body(cloud.nic("nic0"), "classic"))
    assert error(answer)[:2] == (400, "BadRequest")
    assert "Aligned" in answer.json["error"]["message"]
    assert cloud.get("virtualMachines/vm0").status_code == 404
    assert cloud.disks() == []


def test_missing_availability_set_is_not_found(cloud):
    answer = cloud.put_vm("vm0", cloud.linux_body(cloud.nic("nic0"), "nope"))
    assert error(answer) == (404, "NotFound", "availabilitySet.id")


def test_an_existing_vm_cannot_join_a_set_and_stays_as_it_was(cloud):
    created = cloud.vm("vm0")
    cloud.avset("as1")
    body = cloud.linux_body(created["properties"]["networkProfile"]["networkInterfaces"][0]["id"], "as1")
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (409, "PropertyChangeNotAllowed", "availabilitySet.id")
    assert answer.json["error"]["message"] == "Changing property 'availabilitySet.id' is not allowed."
    assert "availabilitySet" not in cloud.get("virtualMachines/vm0").json["properties"]
    assert cloud.get("availabilitySets/as1").json["properties"]["virtualMachines"] == []


def test_a_vm_cannot_move_to_another_set(cloud):
    cloud.avset("as1")
    cloud.avset("as2")
    created = cloud.vm("vm0", avset="as1")
    body = cloud.linux_body(created["properties"]["networkProfile"]["networkInterfaces"][0]["id"], "as2")
    assert error(cloud.put_vm("vm0", body)) == (409, "PropertyChangeNotAllowed", "availabilitySet.id")
    # repeating the set it is in (in Azure's upper-case spelling) is no change
    body = cloud.get("virtualMachines/vm0").json
    assert cloud.put_vm("vm0", body).status_code == 200


def test_available_sizes_of_a_set(cloud):
    cloud.avset("as1")
    names = [s["name"] for s in cloud.get("availabilitySets/as1/vmSizes").json["value"]]
    assert "Standard_B1s" in names


# -- creating VMs ----------------------------------------------------------------------------------


def test_linux_vm_create_is_long_running_and_has_azure_read_only_fields(cloud):
    answer = cloud.put_vm("vm0", cloud.linux_body(cloud.nic("nic0")))
    assert answer.status_code == 201
    assert "Azure-AsyncOperation" in answer.headers and answer.headers["Retry-After"] == "0"
    props = answer.json["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert len(props["vmId"]) == 36 and props["timeCreated"].endswith("+00:00")
    assert props["osProfile"]["computerName"] == "vm0"
    image = props["storageProfile"]["imageReference"]
    assert image["version"] == "latest" and image["exactVersion"] == "22.04.202501140"
    os_disk = props["storageProfile"]["osDisk"]
    assert os_disk["osType"] == "Linux"
    assert os_disk["name"].startswith("vm0_OsDisk_1_") and len(os_disk["name"]) == len("vm0_OsDisk_1_") + 32
    assert os_disk["managedDisk"]["storageAccountType"] == "Premium_LRS"  # B-series take premium SSDs
    assert (os_disk["caching"], os_disk["deleteOption"], os_disk["diskSizeGB"]) == ("ReadWrite", "Detach", 30)


def test_os_disk_is_a_managed_disk_held_by_the_vm(cloud):
    vm = cloud.vm("vm0")
    [disk] = cloud.disks()
    assert disk["id"] == vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
    assert disk["managedBy"] == vm["id"]
    assert disk["properties"]["diskState"] == "Attached"
    assert disk["properties"]["osType"] == "Linux" and disk["properties"]["hyperVGeneration"] == "V2"
    assert disk["properties"]["creationData"]["imageReference"]["id"].endswith(
        "/Skus/22_04-lts-gen2/Versions/22.04.202501140")


def test_instance_view_both_ways(cloud):
    cloud.vm("vm0")
    view = cloud.instance_view("vm0")
    expanded = cloud.get("virtualMachines/vm0?$expand=instanceView").json["properties"]["instanceView"]
    assert expanded == {**view, "vmAgent": {**view["vmAgent"], "statuses": expanded["vmAgent"]["statuses"]}}
    assert [s["code"] for s in view["statuses"]] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert view["statuses"][1]["displayStatus"] == "VM running"
    # the guest really runs the lab's one Linux image, and says what was asked for
    assert (view["computerName"], view["osName"], view["osVersion"]) == ("vm0", "debian", "12")
    assert "the guest runs Debian 12 (the lab's one Linux image) for Canonical:0001-com-ubuntu-server-jammy" \
        in view["vmAgent"]["statuses"][0]["message"]
    assert view["vmAgent"]["statuses"][0]["displayStatus"] == "Ready"
    assert [d["name"] for d in view["disks"]] == [cloud.disks()[0]["name"]]
    assert "instanceView" not in cloud.get("virtualMachines/vm0").json["properties"]


def test_unknown_size_is_refused_and_nothing_is_created(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["hardwareProfile"]["vmSize"] = "Standard_Nope"
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (400, "InvalidParameter", "vmSize")
    assert "The requested VM size Standard_Nope is not available in the current region" in answer.json["error"]["message"]
    assert cloud.get("virtualMachines/vm0").status_code == 404 and cloud.disks() == []


def test_unknown_image_is_platform_image_not_found(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["storageProfile"]["imageReference"]["sku"] = "99_04-lts"
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (404, "PlatformImageNotFound", "imageReference")
    assert cloud.disks() == []


def test_image_version_must_be_published(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["storageProfile"]["imageReference"]["version"] = "22.04.202404100"
    assert cloud.put_vm("vm0", body).json["properties"]["storageProfile"]["imageReference"]["exactVersion"] == "22.04.202404100"
    body = cloud.linux_body(cloud.nic("nic1"))
    body["properties"]["storageProfile"]["imageReference"]["version"] = "1.2.3"
    assert error(cloud.put_vm("vm1", body))[:2] == (404, "PlatformImageNotFound")


def test_nic_must_exist(cloud):
    missing = f"{cloud.rg_id}/providers/Microsoft.Network/networkInterfaces/nope"
    answer = cloud.put_vm("vm0", cloud.linux_body(missing))
    assert error(answer)[:2] == (400, "InvalidResourceReference")


def test_a_nic_serves_one_vm(cloud):
    nic = cloud.nic("nic0")
    assert cloud.put_vm("vm0", cloud.linux_body(nic)).status_code == 201
    answer = cloud.put_vm("vm1", cloud.linux_body(nic))
    assert error(answer)[:2] == (400, "NicInUse")
    assert cloud.get("virtualMachines/vm1").status_code == 404
    assert len(cloud.disks()) == 1
    nic_body = cloud.arm.get(nic.split(cloud.arm.sub, 1)[1], api=NETWORK_API).json
    assert nic_body["properties"]["virtualMachine"]["id"].endswith("/virtualMachines/vm0")


def test_two_nics_need_one_primary(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["networkProfile"]["networkInterfaces"].append({"id": cloud.nic("nic1")})
    assert error(cloud.put_vm("vm0", body))[:2] == (400, "InvalidParameter")
    body["properties"]["networkProfile"]["networkInterfaces"][0]["properties"] = {"primary": True}
    assert cloud.put_vm("vm0", body).status_code == 201


def test_vm_without_network_interfaces_is_refused(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["networkProfile"] = {"networkInterfaces": []}
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "networkProfile.networkInterfaces")


def test_unmanaged_disks_are_refused(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["properties"]["storageProfile"]["osDisk"]["vhd"] = {"uri": "https://sa.blob.core.windows.net/vhds/vm0.vhd"}
    assert error(cloud.put_vm("vm0", body)) == (400, "InvalidParameter", "osDisk.vhd")


def test_location_is_normalised(cloud):
    body = cloud.linux_body(cloud.nic("nic0"))
    body["location"] = "East US"
    assert cloud.put_vm("vm0", body).json["location"] == "eastus"


def test_a_set_recreated_with_its_resource_group_starts_at_domain_zero(cloud):
    cloud.avset("as1")
    cloud.vm("vm0", avset="as1")
    cloud.arm.delete(f"/resourcegroups/{cloud.rg}", api="2022-09-01")
    fresh = Cloud(cloud.arm)
    fresh.avset("as1")
    fresh.vm("vm0", avset="as1")
    fresh.vm("vm1", avset="as1")
    assert [fresh.instance_view(n)["platformUpdateDomain"] for n in ("vm0", "vm1")] == [0, 1]
