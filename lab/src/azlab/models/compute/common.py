"""Helpers shared by the Microsoft.Compute types: type names, statuses, Azure's errors."""

from __future__ import annotations

import datetime as dt

from azlab.models.base import Context
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId, same_id

VM_TYPE = "Microsoft.Compute/virtualMachines"
VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
INSTANCE_TYPE = VMSS_TYPE + "/virtualMachines"
AVSET_TYPE = "Microsoft.Compute/availabilitySets"
DISK_TYPE = "Microsoft.Compute/disks"
EXTENSION_TYPE = "Microsoft.Compute/virtualMachines/extensions"
STORAGE_ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"

# Text the instance views carry for Windows VMs: the lab runs no Windows guest.
NO_WINDOWS_GUEST = "azlab: Windows VMs exist in the control plane only; no guest runs"


def iso_time(ctx: Context) -> str:
    """Azure's timestamp spelling (timeCreated, status times)."""
    return dt.datetime.fromtimestamp(ctx.now(), dt.timezone.utc).isoformat()


def status(code: str, display: str, message: str | None = None, time: str | None = None, level: str = "Info") -> dict:
    """One InstanceViewStatus."""
    out = {"code": code, "level": level, "displayStatus": display}
    if message:
        out["message"] = message
    if time:
        out["time"] = time
    return out


def azure_upper_id(resource_id: str) -> str:
    """Azure spells some references (a VM's availabilitySet, a set's virtualMachines) with the
    resource group and name in upper case; clients must compare IDs case-insensitively."""
    rid = ResourceId.parse(resource_id)
    return str(ResourceId(rid.subscription, rid.resource_group.upper(), rid.namespace, rid.types,
                          tuple(name.upper() for name in rid.names)))


def required_parameter(name: str) -> ArmError:
    return ArmError(400, "InvalidParameter", f"Required parameter '{name}' is missing (null).", target=name)


def property_change_not_allowed(prop: str) -> ArmError:
    return ArmError(409, "PropertyChangeNotAllowed", f"Changing property '{prop}' is not allowed.", target=prop)


def sub_id(value) -> str | None:
    """The ``id`` of a SubResource reference ({"id": ...}), or None."""
    return value.get("id") if isinstance(value, dict) else None


def vm_bodies(ctx: Context) -> list[dict]:
    return [body for _, body in ctx.list(VM_TYPE)]


def vm_disk_ids(vm: dict) -> list[str]:
    """The managed disks a VM holds: OS disk first, then data disks by LUN."""
    storage = vm.get("properties", {}).get("storageProfile", {})
    disks = [storage.get("osDisk", {})] + sorted(storage.get("dataDisks", []), key=lambda d: d.get("lun", 0))
    return [d["managedDisk"]["id"] for d in disks if sub_id(d.get("managedDisk"))]


def vm_holding_disk(ctx: Context, disk_id: str) -> dict | None:
    return next((vm for vm in vm_bodies(ctx) if any(same_id(d, disk_id) for d in vm_disk_ids(vm))), None)


def vm_holding_nic(ctx: Context, nic_id: str, except_vm: str | None = None) -> dict | None:
    """The VM a network interface is attached to (Azure: one VM per NIC)."""
    for vm in vm_bodies(ctx):
        if except_vm and same_id(vm["id"], except_vm):
            continue
        nics = vm.get("properties", {}).get("networkProfile", {}).get("networkInterfaces", [])
        if any(same_id(sub_id(nic), nic_id) for nic in nics):
            return vm
    return None


def cascade_delete(ctx: Context, resource_id: str) -> None:
    """Delete another resource as part of this transaction, running its own cascade."""
    body = ctx.store.get(resource_id)
    if body is None:
        return
    for child_id, _ in reversed(ctx.store.list(prefix=resource_id)):
        ctx.store.delete(child_id)
    ctx.store.delete(resource_id)
    rtype = ctx.registry.find(body.get("type", ""))
    if rtype is not None:
        rtype.on_deleted(ctx, ResourceId.parse(resource_id), body)


def choice(value, allowed: tuple[str, ...], target: str, default: str | None) -> str | None:
    """``value`` as Azure spells it (matched case-insensitively), ``default`` when absent."""
    if value is None:
        return default
    match = next((a for a in allowed if a.lower() == str(value).lower()), None)
    if match is None:
        raise invalid_parameter(target, f"The value '{value}' of parameter '{target}' is invalid. "
                                f"Allowed values are {', '.join(allowed)}.")
    return match
