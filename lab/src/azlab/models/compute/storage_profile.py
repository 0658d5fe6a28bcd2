"""A VM's storageProfile: the OS disk (from a marketplace image, or an existing disk
attached) and data disks (new empty ones, or existing ones attached), all managed disks.

Planning validates the whole request first and returns the disks to create, so a refused
request creates nothing.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from azlab.models.base import Context
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId, same_id
from azlab.models.compute import disks
from azlab.models.compute.catalog import Image, VmSize, find_image, image_from_version_id
from azlab.models.compute.common import (
    DISK_TYPE, choice, property_change_not_allowed, required_parameter, sub_id, vm_holding_disk,
)

CACHING = ("None", "ReadOnly", "ReadWrite")
DELETE_OPTIONS = ("Delete", "Detach")
MAX_LUN = 63


@dataclass
class StoragePlan:
    profile: dict
    os_type: str
    image: Image | None = None
    image_version: str | None = None
    new_disks: list[dict] = field(default_factory=list)
    resized: dict[str, int] = field(default_factory=dict)

    def give_guest(self, guest: dict) -> None:
        """A VM created from an image writes its guest identity onto its new OS disk."""
        os_disk = self.new_disks[0]
        os_disk["_guest"] = guest
        os_disk["_image"] = {"publisher": self.image.publisher, "offer": self.image.offer, "sku": self.image.sku,
                             "version": self.image_version}

    def apply(self, ctx: Context) -> None:
        """Create and resize the disks (after every check passed)."""
        for disk in self.new_disks:
            ctx.store.put(disk["id"], DISK_TYPE, disk)
        for disk_id, size in self.resized.items():
            disk = ctx.get(disk_id)
            disks.apply_size(disk, size)
            ctx.store.put(disk["id"], DISK_TYPE, disk)


def _reject_unmanaged(disk: dict, target: str) -> None:
    if disk.get("vhd") and disk["vhd"].get("uri"):
        raise invalid_parameter(f"{target}.vhd", "Unmanaged (VHD blob) disks were retired on 30 September 2025 and "
                                "the lab does not emulate them: use managed disks (managedDisk).")


def _disk_id(ctx: Context, vm_rid: ResourceId, name: str) -> ResourceId:
    return ResourceId(ctx.subscription_id, vm_rid.resource_group, "Microsoft.Compute", ("disks",), (name,))


def _default_sku(size: VmSize) -> str:
    return "Premium_LRS" if size.premium_storage else "Standard_LRS"


def _check_new_name(ctx: Context, plan: StoragePlan, disk_rid: ResourceId) -> None:
    taken = ctx.get(str(disk_rid)) or any(same_id(d["id"], str(disk_rid)) for d in plan.new_disks)
    if taken:
        raise ArmError(409, "ConflictingUserInput", f"Disk {disk_rid.name} already exists in resource group "
                       f"{disk_rid.resource_group.upper()}. Only CreateOption.Attach is supported.")


def _attachable(ctx: Context, disk_id, vm_rid: ResourceId, target: str) -> dict:
    if not disk_id:
        raise required_parameter(target)
    disk = ctx.require_reference(disk_id, str(vm_rid), target)
    holder = vm_holding_disk(ctx, disk_id)
    if holder is not None and not same_id(holder["id"], str(vm_rid)):
        raise ArmError(409, "ConflictingUserInput", f"Disk '{disk['name']}' cannot be attached as the disk is "
                       f"already owned by VM '{holder['id']}'.")
    return disk


# -- create ----------------------------------------------------------------------------------

def plan_create(ctx: Context, vm_rid: ResourceId, location: str, requested, size: VmSize) -> StoragePlan:
    if not isinstance(requested, dict):
        raise required_parameter("storageProfile")
    os_req = requested.get("osDisk") or {}
    _reject_unmanaged(os_req, "osDisk")
    option = choice(os_req.get("createOption"), ("FromImage", "Attach"), "osDisk.createOption", "FromImage")
    if option == "FromImage":
        plan = _os_disk_from_image(ctx, vm_rid, location, requested, os_req, size)
    else:
        plan = _os_disk_attached(ctx, vm_rid, requested, os_req)
    plan.profile["dataDisks"] = plan_data_disks(ctx, vm_rid, location, requested.get("dataDisks") or [], [], size, plan)
    plan.profile["diskControllerType"] = "SCSI"
    return plan


def _os_disk_from_image(ctx: Context, vm_rid: ResourceId, location: str, requested: dict, os_req: dict,
                        size: VmSize) -> StoragePlan:
    ref = requested.get("imageReference") or {}
    if not ref.get("publisher"):
        # custom or gallery images: the lab has none, so the reference cannot resolve
        ctx.require_reference(ref.get("id") or ref.get("sharedGalleryImageId") or ref.get("communityGalleryImageId"),
                              str(vm_rid), "imageReference")
    image = find_image(ref.get("publisher"), ref.get("offer"), ref.get("sku"))
    version = image.resolve(ref.get("version")) if image else None
    if version is None:
        raise ArmError(404, "PlatformImageNotFound", f"The platform image '{ref.get('publisher')}:{ref.get('offer')}:"
                       f"{ref.get('sku')}:{ref.get('version')}' is not available. Verify that all fields in the storage "
                       "profile are correct. For more details about storage profile information, please refer to "
                       "https://aka.ms/storageprofile", target="imageReference")
    sku = disks.check_sku((os_req.get("managedDisk") or {}).get("storageAccountType") or _default_sku(size))
    size_gb = disks.check_size(os_req.get("diskSizeGB", image.disk_gb), "osDisk.diskSizeGB")
    if size_gb < image.disk_gb:
        raise ArmError(409, "OperationNotAllowed", f"Disk with size {size_gb}GB, which is smaller than the size "
                       f"{image.disk_gb}GB of corresponding disk in Image, is not allowed.", target="osDisk.diskSizeGB")
    disk_rid = _disk_id(ctx, vm_rid, os_req.get("name") or f"{vm_rid.name}_OsDisk_1_{uuid.uuid4().hex}")
    plan = StoragePlan(profile={}, os_type=image.os_type, image=image, image_version=version)
    _check_new_name(ctx, plan, disk_rid)
    creation = {"createOption": "FromImage", "imageReference": {"id": image.version_id(ctx.subscription_id, location, version)}}
    plan.new_disks.append(disks.disk_body(ctx, disk_rid, location, sku, size_gb, creation, image.os_type, image.generation))
    plan.profile["imageReference"] = {"publisher": ref["publisher"], "offer": ref["offer"], "sku": ref["sku"],
                                      "version": ref.get("version") or "latest", "exactVersion": version}
    plan.profile["osDisk"] = _os_disk_entry(os_req, image.os_type, disk_rid.name, "FromImage", sku, str(disk_rid), size_gb)
    return plan


def _os_disk_attached(ctx: Context, vm_rid: ResourceId, requested: dict, os_req: dict) -> StoragePlan:
    """Recreate a VM around an existing OS disk (how a VM 'moves' into an availability set)."""
    if requested.get("imageReference"):
        raise invalid_parameter("imageReference", "Cannot attach an existing OS disk if the VM is created from a "
                                "platform or user image.")
    disk = _attachable(ctx, sub_id(os_req.get("managedDisk")), vm_rid, "osDisk.managedDisk.id")
    os_type = os_req.get("osType") or disk["properties"].get("osType")
    os_type = choice(os_type, ("Linux", "Windows"), "osDisk.osType", None)
    if os_type is None:
        raise required_parameter("osDisk.osType")
    found = image_from_version_id(disk["properties"]["creationData"].get("imageReference", {}).get("id"))
    plan = StoragePlan(profile={}, os_type=os_type, image=found[0] if found else None,
                       image_version=found[1] if found else None)
    plan.profile["osDisk"] = _os_disk_entry(os_req, os_type, disk["name"], "Attach", disk["sku"]["name"], disk["id"],
                                            disk["properties"]["diskSizeGB"])
    return plan


def _os_disk_entry(os_req: dict, os_type: str, name: str, option: str, sku: str, disk_id: str, size_gb: int) -> dict:
    entry = {"osType": os_type, "name": name, "createOption": option,
             "caching": choice(os_req.get("caching"), CACHING, "osDisk.caching", "ReadWrite"),
             "managedDisk": {"storageAccountType": sku, "id": disk_id},
             "deleteOption": choice(os_req.get("deleteOption"), DELETE_OPTIONS, "osDisk.deleteOption", "Detach"),
             "diskSizeGB": size_gb}
    if os_req.get("writeAcceleratorEnabled") is not None:
        entry["writeAcceleratorEnabled"] = bool(os_req["writeAcceleratorEnabled"])
    return entry


# -- data disks --------------------------------------------------------------------------------

def plan_data_disks(ctx: Context, vm_rid: ResourceId, location: str, requested, current: list[dict],
                    size: VmSize, plan: StoragePlan) -> list[dict]:
    """The VM's data disks after this request: matching LUNs keep their disk, new ones are
    created or attached, omitted ones are detached (the disk stays)."""
    if not isinstance(requested, list):
        raise invalid_parameter("dataDisks", "The value of parameter dataDisks is invalid.")
    out: list[dict] = []
    for item in requested:
        item = item if isinstance(item, dict) else {}
        lun = item.get("lun")
        if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= MAX_LUN:
            raise invalid_parameter("dataDisks.lun", f"The value '{lun}' of parameter 'dataDisks.lun' is invalid; "
                                    f"a LUN is 0 to {MAX_LUN}.")
        if any(d["lun"] == lun for d in out):
            raise invalid_parameter("dataDisks.lun", f"A disk at LUN {lun} already exists.")
        _reject_unmanaged(item, "dataDisks")
        kept = _current_disk(item, current)
        entry = _kept_entry(kept, item) if kept else _new_data_disk(ctx, vm_rid, location, item, size, plan)
        if any(same_id(d["managedDisk"]["id"], entry["managedDisk"]["id"]) for d in out):
            raise invalid_parameter("dataDisks", f"Disk {entry['name']} is specified more than once.")
        out.append(entry)
    if len(out) > size.max_data_disks:
        raise ArmError(409, "OperationNotAllowed", "The maximum number of data disks allowed to be attached to a VM "
                       f"of this size is {size.max_data_disks}.", target="dataDisks")
    return out


def _current_disk(item: dict, current: list[dict]) -> dict | None:
    """The attached disk a requested entry names (same LUN, and same name or disk ID if given)."""
    for disk in current:
        if disk["lun"] != item["lun"]:
            continue
        wanted_id, wanted_name = sub_id(item.get("managedDisk")), item.get("name")
        if (wanted_id and same_id(wanted_id, disk["managedDisk"]["id"])) or \
                (not wanted_id and (not wanted_name or wanted_name.lower() == disk["name"].lower())):
            return disk
    return None


def _kept_entry(kept: dict, item: dict) -> dict:
    entry = copy.deepcopy(kept)
    entry["caching"] = choice(item.get("caching"), CACHING, "dataDisks.caching", kept["caching"])
    entry["deleteOption"] = choice(item.get("deleteOption"), DELETE_OPTIONS, "dataDisks.deleteOption", kept["deleteOption"])
    return entry


def _new_data_disk(ctx: Context, vm_rid: ResourceId, location: str, item: dict, size: VmSize, plan: StoragePlan) -> dict:
    option = choice(item.get("createOption"), ("Empty", "Attach"), "dataDisks.createOption", None)
    if option is None:
        raise required_parameter("dataDisks.createOption")
    lun = item["lun"]
    if option == "Attach":
        disk = _attachable(ctx, sub_id(item.get("managedDisk")), vm_rid, "dataDisks.managedDisk.id")
        name, sku, disk_id, size_gb = disk["name"], disk["sku"]["name"], disk["id"], disk["properties"]["diskSizeGB"]
    else:
        if item.get("diskSizeGB") is None:
            raise required_parameter("dataDisk.diskSizeGB")
        size_gb = disks.check_size(item["diskSizeGB"], "dataDisks.diskSizeGB")
        sku = disks.check_sku((item.get("managedDisk") or {}).get("storageAccountType") or _default_sku(size))
        disk_rid = _disk_id(ctx, vm_rid, item.get("name") or f"{vm_rid.name}_disk{lun + 1}_{uuid.uuid4().hex}")
        _check_new_name(ctx, plan, disk_rid)
        plan.new_disks.append(disks.disk_body(ctx, disk_rid, location, sku, size_gb, {"createOption": "Empty"}))
        name, disk_id = disk_rid.name, str(disk_rid)
    return {"lun": lun, "name": name, "createOption": option,
            "caching": choice(item.get("caching"), CACHING, "dataDisks.caching", "None"),
            "writeAcceleratorEnabled": bool(item.get("writeAcceleratorEnabled", False)),
            "managedDisk": {"storageAccountType": sku, "id": disk_id},
            "deleteOption": choice(item.get("deleteOption"), DELETE_OPTIONS, "dataDisks.deleteOption", "Detach"),
            "diskSizeGB": size_gb, "toBeDetached": False}


# -- update ------------------------------------------------------------------------------------

def plan_update(ctx: Context, vm_rid: ResourceId, location: str, vm: dict, requested, size: VmSize) -> StoragePlan:
    """A PUT on an existing VM: the OS disk and image are fixed (caching and growth aside)."""
    profile = copy.deepcopy(vm["properties"]["storageProfile"])
    plan = StoragePlan(profile=profile, os_type=profile["osDisk"]["osType"])
    if requested is None:
        return plan
    if not isinstance(requested, dict):
        raise invalid_parameter("storageProfile", "The value of parameter storageProfile is invalid.")
    _update_os_disk(ctx, vm, profile["osDisk"], requested.get("osDisk") or {}, plan)
    ref = requested.get("imageReference") or {}
    for prop in ("publisher", "offer", "sku"):
        if ref.get(prop) and str(ref[prop]).lower() != str(profile.get("imageReference", {}).get(prop)).lower():
            raise property_change_not_allowed(f"imageReference.{prop}")
    if requested.get("dataDisks") is not None:
        profile["dataDisks"] = plan_data_disks(ctx, vm_rid, location, requested["dataDisks"],
                                               profile.get("dataDisks", []), size, plan)
    elif len(profile.get("dataDisks", [])) > size.max_data_disks:
        raise ArmError(409, "OperationNotAllowed", "The maximum number of data disks allowed to be attached to a VM "
                       f"of this size is {size.max_data_disks}.", target="hardwareProfile.vmSize")
    return plan


def _update_os_disk(ctx: Context, vm: dict, current: dict, requested: dict, plan: StoragePlan) -> None:
    for prop in ("createOption", "osType", "name"):
        if requested.get(prop) and str(requested[prop]).lower() != str(current.get(prop)).lower():
            raise property_change_not_allowed(f"osDisk.{prop}")
    wanted_id = sub_id(requested.get("managedDisk"))
    if wanted_id and not same_id(wanted_id, current["managedDisk"]["id"]):
        raise property_change_not_allowed("osDisk.managedDisk.id")
    current["caching"] = choice(requested.get("caching"), CACHING, "osDisk.caching", current["caching"])
    current["deleteOption"] = choice(requested.get("deleteOption"), DELETE_OPTIONS, "osDisk.deleteOption",
                                      current["deleteOption"])
    disk = ctx.get(current["managedDisk"]["id"])
    size_gb = disk["properties"]["diskSizeGB"]
    wanted = requested.get("diskSizeGB")
    if wanted is not None and wanted != size_gb:
        disks.check_size(wanted, "osDisk.diskSizeGB")
        disks.check_resize(disk["id"], size_gb, wanted)
        if vm.get("_power") != "deallocated":
            raise ArmError(409, "Conflict", "Disk resizing is allowed only when creating a VM or when the VM is deallocated.",
                           target="osDisk.diskSizeGB")
        plan.resized[disk["id"]] = wanted
        size_gb = wanted
    current["diskSizeGB"] = size_gb
