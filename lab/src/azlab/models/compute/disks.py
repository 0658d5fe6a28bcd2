"""Microsoft.Compute/disks: managed disks, standalone or created by a VM.

Which VM holds a disk is derived from the VMs' storage profiles on every read
(``managedBy``, ``diskState``), so it can never disagree with them.
"""

from __future__ import annotations

import uuid

from azlab.models.base import Context, ResourceType, require_props
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId
from azlab.models.compute.catalog import image_from_version_id
from azlab.models.compute.common import (
    DISK_TYPE, iso_time, property_change_not_allowed, required_parameter, vm_holding_disk,
)

SKU_TIERS = {"Standard_LRS": "Standard", "StandardSSD_LRS": "Standard", "StandardSSD_ZRS": "Standard",
             "Premium_LRS": "Premium", "Premium_ZRS": "Premium", "PremiumV2_LRS": "Premium", "UltraSSD_LRS": "Ultra"}
# Premium SSD tiers: (largest size in GiB, tier, IOPS, MBps)
PREMIUM_TIERS = ((4, "P1", 120, 25), (8, "P2", 120, 25), (16, "P3", 120, 25), (32, "P4", 120, 25),
                 (64, "P6", 240, 50), (128, "P10", 500, 100), (256, "P15", 1100, 125), (512, "P20", 2300, 150),
                 (1024, "P30", 5000, 200), (2048, "P40", 7500, 250), (4096, "P50", 7500, 250),
                 (8192, "P60", 16000, 500), (16384, "P70", 18000, 750), (32767, "P80", 20000, 900))
MAX_DISK_GB = 32767
SUPPORTED_CREATE_OPTIONS = ("Empty", "FromImage", "Copy")


def check_sku(name) -> str:
    match = next((s for s in SKU_TIERS if s.lower() == str(name).lower()), None)
    if match is None:
        raise invalid_parameter("sku.name", f"The value '{name}' of parameter 'sku.name' is invalid. "
                                f"Allowed values are {', '.join(SKU_TIERS)}.")
    return match


def check_size(size, target: str = "diskSizeGB") -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_DISK_GB:
        raise invalid_parameter(target, f"The specified disk size {size} GB is invalid. Disk size must be between "
                                f"1 GB and {MAX_DISK_GB} GB.")
    return size


def check_resize(disk_id: str, old: int, new: int) -> None:
    if new < old:
        raise ArmError(409, "OperationNotAllowed", f"The disk/snapshot resource with id {disk_id} cannot be resized "
                       "down. Reducing disk/snapshot size is not supported in Azure to prevent data loss. If you do "
                       "need to reduce the size of the disk, please create new snapshot/disks with the appropriate size.",
                       target="diskSizeGB")


def disk_body(ctx: Context, rid: ResourceId, location: str, sku: str, size_gb: int, creation: dict,
              os_type: str | None = None, generation: str | None = None, tags: dict | None = None) -> dict:
    """A new managed disk as Azure stores it (also used for the disks a VM creates)."""
    props = {}
    if os_type:
        props["osType"] = os_type
    if generation:
        props["hyperVGeneration"] = generation
    props.update({
        "creationData": creation,
        "diskSizeGB": size_gb,
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": iso_time(ctx),
        "provisioningState": "Succeeded",
        "uniqueId": str(uuid.uuid4()),
    })
    body = {"id": str(rid), "name": rid.name, "type": DISK_TYPE, "location": location, "tags": dict(tags or {}),
            "sku": {"name": sku, "tier": SKU_TIERS[sku]}, "properties": props}
    apply_size(body, size_gb)
    return body


def apply_size(disk: dict, size_gb: int) -> None:
    """Size and what follows from it: bytes, and the performance tier of premium disks."""
    props = disk["properties"]
    props["diskSizeGB"] = size_gb
    props["diskSizeBytes"] = size_gb * 1024 ** 3
    if disk["sku"]["name"] == "Premium_LRS":
        _, tier, iops, mbps = next(t for t in PREMIUM_TIERS if size_gb <= t[0])
        props.update({"tier": tier, "diskIOPSReadWrite": iops, "diskMBpsReadWrite": mbps})
    else:
        props.pop("tier", None)
        props.update({"diskIOPSReadWrite": 500, "diskMBpsReadWrite": 60})


def _exact(value, allowed: tuple[str, ...], target: str) -> str:
    match = next((a for a in allowed if a.lower() == str(value).lower()), None)
    if match is None:
        raise invalid_parameter(target, f"The value '{value}' of parameter '{target}' is not supported; the lab "
                                f"creates disks with {', '.join(allowed)}.")
    return match


class DiskType(ResourceType):
    full_type = DISK_TYPE
    min_api_version = "2016-04-30"
    create_status = 202  # Azure accepts a disk create asynchronously (the SDK takes 200 or 202)

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        envelope = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type)
        sku_name = (body.get("sku") or {}).get("name") or (existing or {}).get("sku", {}).get("name") or "Standard_LRS"
        sku = check_sku(sku_name)
        if existing is not None:
            return self._update(ctx, rid, envelope, props, sku, existing)
        creation = props.get("creationData")
        if not isinstance(creation, dict) or not creation.get("createOption"):
            raise missing_property("properties.creationData.createOption", self.full_type)
        option = _exact(creation["createOption"], SUPPORTED_CREATE_OPTIONS, "creationData.createOption")
        size, os_type, generation, creation = getattr(self, f"_create_{option.lower()}")(ctx, props, creation)
        os_type = props.get("osType") or os_type
        disk = disk_body(ctx, rid, envelope["location"], sku, size, creation, os_type, generation, envelope["tags"])
        disk["etag"] = envelope["etag"]
        if body.get("zones"):
            disk["zones"] = body["zones"]
        return disk

    @staticmethod
    def _create_empty(ctx: Context, props: dict, creation: dict):
        if props.get("diskSizeGB") is None:
            raise required_parameter("diskSizeGB")
        return check_size(props["diskSizeGB"]), None, props.get("hyperVGeneration"), {"createOption": "Empty"}

    @staticmethod
    def _create_fromimage(ctx: Context, props: dict, creation: dict):
        found = image_from_version_id((creation.get("imageReference") or {}).get("id"))
        if found is None:
            raise ArmError(404, "NotFound", "Artifact: VMImage was not found.", target="creationData.imageReference")
        image, _ = found
        size = check_size(props.get("diskSizeGB", image.disk_gb))
        if size < image.disk_gb:
            raise ArmError(409, "OperationNotAllowed", f"Disk with size {size}GB, which is smaller than the size "
                           f"{image.disk_gb}GB of corresponding disk in Image, is not allowed.", target="diskSizeGB")
        return size, image.os_type, image.generation, {"createOption": "FromImage",
                                                       "imageReference": {"id": creation["imageReference"]["id"]}}

    @staticmethod
    def _create_copy(ctx: Context, props: dict, creation: dict):
        source_id = creation.get("sourceResourceId")
        source = ctx.get(source_id) if isinstance(source_id, str) else None
        if source is None or source.get("type", "").lower() != DISK_TYPE.lower():
            raise ArmError(404, "NotFound", f"Source resource '{source_id}' was not found.",
                           target="creationData.sourceResourceId")
        src = source["properties"]
        size = check_size(props.get("diskSizeGB", src["diskSizeGB"]))
        check_resize(source_id, src["diskSizeGB"], size)
        return size, src.get("osType"), src.get("hyperVGeneration"), {
            "createOption": "Copy", "sourceResourceId": source["id"], "sourceUniqueId": src["uniqueId"]}

    def _update(self, ctx: Context, rid: ResourceId, envelope: dict, props: dict, sku: str, existing: dict) -> dict:
        disk = dict(existing)
        disk["properties"] = dict(existing["properties"])
        wanted = (props.get("creationData") or {}).get("createOption")
        if wanted and str(wanted).lower() != existing["properties"]["creationData"]["createOption"].lower():
            raise property_change_not_allowed("creationData.createOption")
        if sku != existing["sku"]["name"]:
            vm = vm_holding_disk(ctx, str(rid))
            if vm is not None and vm.get("_power") != "deallocated":
                raise ArmError(409, "OperationNotAllowed", f"The disk type of '{rid.name}' can change only while it is "
                               f"unattached or its VM '{vm['name']}' is deallocated.", target="sku.name")
        disk.update({"tags": envelope["tags"], "etag": envelope["etag"], "sku": {"name": sku, "tier": SKU_TIERS[sku]}})
        if props.get("osType"):
            disk["properties"]["osType"] = props["osType"]
        size = check_size(props.get("diskSizeGB", existing["properties"]["diskSizeGB"]))
        check_resize(str(rid), existing["properties"]["diskSizeGB"], size)
        if size != existing["properties"]["diskSizeGB"]:
            self._check_resizable(ctx, rid)
        apply_size(disk, size)
        return disk

    @staticmethod
    def _check_resizable(ctx: Context, rid: ResourceId) -> None:
        """An OS disk grows only while its VM is deallocated (data disks grow live)."""
        vm = vm_holding_disk(ctx, str(rid))
        os_disk = vm and vm["properties"]["storageProfile"]["osDisk"].get("managedDisk", {}).get("id", "")
        if vm and os_disk.lower() == str(rid).lower() and vm.get("_power") != "deallocated":
            raise ArmError(409, "Conflict", "Disk resizing is allowed only when creating a VM or when the VM is deallocated.",
                           target="diskSizeGB")

    def render(self, ctx: Context, body: dict) -> dict:
        vm = vm_holding_disk(ctx, body["id"])
        out = dict(body)
        out["properties"] = dict(body["properties"])
        if vm is None:
            out["properties"]["diskState"] = "Unattached"
        else:
            out["managedBy"] = vm["id"]
            out["properties"]["diskState"] = "Reserved" if vm.get("_power") == "deallocated" else "Attached"
        return out

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = vm_holding_disk(ctx, str(rid))
        if vm is not None:
            raise ArmError(409, "OperationNotAllowed", f"Disk {rid.name} is attached to VM {vm['id']}.")

    def describe(self, ctx: Context, body: dict) -> str:
        rendered = self.render(ctx, body)
        return f"{body['sku']['name']} {body['properties']['diskSizeGB']} GB {rendered['properties']['diskState']}"
