"""Microsoft.Compute/proximityPlacementGroups: VMs and availability sets kept close together.

Azure's rules as the lab keeps them (codes marked unverified where no source quotes them):

* a set or a VM names its group (``proximityPlacementGroup``), in the same location;
* a VM created in a set is in the set's group; naming another group (or one when the set
  has none) is refused;
* a VM changes group only while deallocated, and a VM in a set only with its set;
* a set changes group only while none of its VMs is allocated;
* a group with VMs or sets in it cannot be deleted;
* ``intent.vmSizes`` must be sizes of the region.

Every lab VM runs on the one host, so the group's members are always colocated: its
``colocationStatus`` says Aligned, which is true here.
"""

from __future__ import annotations

from azlab.models.base import Context, ResourceType
from azlab.models.compute.catalog import find_size
from azlab.models.compute.common import AVSET_TYPE, azure_upper_id, sub_id, vm_bodies
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId, same_id

PPG_TYPE = "Microsoft.Compute/proximityPlacementGroups"
GROUP_TYPES = ("Standard", "Ultra")
PPG_READ_ONLY = ("virtualMachines", "virtualMachineScaleSets", "availabilitySets", "colocationStatus")
ALIGNED = {"code": "ColocationStatus/Aligned", "level": "Info", "displayStatus": "Aligned",
           "message": "All resources in the proximity placement group are aligned (the lab runs them on one host)."}


def group_of_vm(ctx: Context, vm: dict) -> str | None:
    """A VM's group: its set's when it is in a set (the set moves its VMs), else its own."""
    set_id = sub_id(vm["properties"].get("availabilitySet"))
    if set_id:
        return sub_id(((ctx.get(set_id) or {}).get("properties") or {}).get("proximityPlacementGroup"))
    return sub_id(vm["properties"].get("proximityPlacementGroup"))


def group_members(ctx: Context, group_id: str) -> tuple[list[str], list[str]]:
    """(VM IDs, availability set IDs) in the group."""
    vms = [vm["id"] for vm in vm_bodies(ctx) if same_id(group_of_vm(ctx, vm) or "", group_id)]
    sets = [body["id"] for _, body in ctx.list(AVSET_TYPE)
            if same_id(sub_id(body["properties"].get("proximityPlacementGroup")), group_id)]
    return vms, sets


def placement_group(ctx: Context, location: str, ref, target: str) -> str | None:
    """The group a set or VM names: it must exist, in the same location."""
    group_id = sub_id(ref)
    if not group_id:
        return None
    group = ctx.lookup(group_id)
    if group is None or group.get("type", "").lower() != PPG_TYPE.lower():
        raise ArmError(404, "NotFound", f"The proximity placement group {group_id} cannot be found.", target=target)
    if group["location"] != location:
        raise invalid_parameter(target, f"The proximity placement group {group_id} is in location "
                                f"'{group['location']}'; the resource must be in the same location.")
    return group["id"]


def vm_group(ctx: Context, location: str, ref, avset: dict | None) -> str | None:
    """A new VM's group: the one its set is in, which it may name but not contradict."""
    named = placement_group(ctx, location, ref, "proximityPlacementGroup.id")
    of_set = sub_id((avset or {}).get("properties", {}).get("proximityPlacementGroup"))
    if avset is not None and named and not same_id(named, of_set or ""):
        raise ArmError(400, "InvalidParameter",  # (unverified code)
                       f"The virtual machine names proximity placement group {named}, but its availability set "
                       f"{avset['id']} is in {of_set or 'no proximity placement group'}: a VM in a set is in the "
                       "set's group (put the set in the group).", target="proximityPlacementGroup.id")
    return of_set or named


def check_group_change(current: str | None, wanted: str | None, allocated: list[str], what: str) -> None:
    """A group changes only while nothing in ``what`` is allocated (``allocated``: the IDs that are)."""
    if same_id(current or "", wanted or "") or not allocated:
        return
    raise ArmError(409, "OperationNotAllowed",  # (unverified code)
                   f"The proximity placement group of {what} can change only while its virtual machines are "
                   f"deallocated; allocated: {', '.join(allocated)}. Deallocate them first.",
                   target="proximityPlacementGroup.id")


class ProximityPlacementGroupType(ResourceType):
    full_type = PPG_TYPE
    min_api_version = "2018-04-01"
    long_running = False  # created and deleted synchronously, as availability sets
    create_status = 201

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = {k: v for k, v in (body.get("properties") or {}).items() if k not in PPG_READ_ONLY}
        kind = props.get("proximityPlacementGroupType") or (existing or {}).get("properties", {}).get(
            "proximityPlacementGroupType") or "Standard"
        match = next((t for t in GROUP_TYPES if t.lower() == str(kind).lower()), None)
        if match is None:
            raise invalid_parameter("properties.proximityPlacementGroupType",
                                    f"The value '{kind}' of 'proximityPlacementGroupType' is not one of "
                                    f"{', '.join(GROUP_TYPES)}.")
        out["properties"] = {"proximityPlacementGroupType": match}
        intent = props.get("intent")
        if intent is not None:
            sizes = (intent or {}).get("vmSizes") or []
            unknown = [s for s in sizes if find_size(s) is None] if isinstance(sizes, list) else sizes
            if not isinstance(sizes, list) or unknown:
                raise invalid_parameter("properties.intent.vmSizes",
                                        f"The VM sizes {unknown or sizes} are not sizes of location {out['location']}.")
            out["properties"]["intent"] = {"vmSizes": list(sizes)}
        zones = body.get("zones", (existing or {}).get("zones"))
        if zones:
            if not isinstance(zones, list) or len(zones) != 1 or str(zones[0]) not in ("1", "2", "3"):
                raise invalid_parameter("zones", "A proximity placement group may name one zone: '1', '2' or '3'.")
            out["zones"] = [str(zones[0])]
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        out = dict(body)
        vms, sets = group_members(ctx, body["id"])
        status = {"colocationStatus": ALIGNED} if vms or sets else {}
        out["properties"] = {**body["properties"],
                             "virtualMachines": [{"id": azure_upper_id(v)} for v in vms],
                             "virtualMachineScaleSets": [],
                             "availabilitySets": [{"id": azure_upper_id(s)} for s in sets], **status}
        return out

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vms, sets = group_members(ctx, body["id"])
        if vms or sets:
            raise ArmError(409, "OperationNotAllowed",  # (unverified code)
                           f"Proximity placement group {rid.name} cannot be deleted: it holds "
                           f"{', '.join(vms + sets)}. Move or delete them first.")

    def describe(self, ctx: Context, body: dict) -> str:
        vms, sets = group_members(ctx, body["id"])
        return f"{body['properties']['proximityPlacementGroupType']}, {len(vms)} VMs, {len(sets)} availability sets"
