"""Microsoft.Compute/availabilitySets: fault and update domains for the VMs created in them.

A VM's place in its set is fixed when the VM is created: the k-th VM created in a set
(k from 0, a durable per-set counter) gets update domain k mod U and fault domain k mod F.
"""

from __future__ import annotations


from azlab.models.base import Context, ResourceType, require_props
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId, same_id
from azlab.models.compute.catalog import VM_SIZES
from azlab.models.compute.common import AVSET_TYPE, azure_upper_id, property_change_not_allowed, sub_id, vm_bodies
from azlab.models.compute.proximity_placement_groups import check_group_change, placement_group

SKUS = ("Classic", "Aligned")
DOMAIN_RANGES = {"platformFaultDomainCount": ("fault", 1, 3, 2), "platformUpdateDomainCount": ("update", 1, 20, 5)}


def members(ctx: Context, set_id: str) -> list[dict]:
    """The VMs in a set, in creation order."""
    return [vm for vm in vm_bodies(ctx) if same_id(sub_id(vm["properties"].get("availabilitySet")), set_id)]


def assign_domains(ctx: Context, avset: dict) -> dict:
    """The next VM's update and fault domain in ``avset``: the update domain holding the fewest
    of the set's VMs, then the fault domain holding the fewest, the lowest on a tie.

    For VMs created one after another this is Azure's documented round robin (the sixth VM of
    five update domains joins the first's). Azure does not document where a VM goes after
    others left the set; the lab fills the emptiest domains, so a replaced VM (deleted and
    created again) lands where it was, and a scale-out after a scale-in fills the gaps."""
    props = avset["properties"]
    placed = [vm.get("_placement") or {} for vm in members(ctx, avset["id"])]

    def emptiest(key: str, count: int) -> int:
        held = [sum(1 for p in placed if p.get(key) == domain) for domain in range(count)]
        return held.index(min(held))
    return {"platformUpdateDomain": emptiest("platformUpdateDomain", props["platformUpdateDomainCount"]),
            "platformFaultDomain": emptiest("platformFaultDomain", props["platformFaultDomainCount"])}


def _domain_count(props: dict, existing: dict | None, prop: str) -> int:
    kind, low, high, default = DOMAIN_RANGES[prop]
    value = props.get(prop, (existing or {}).get("properties", {}).get(prop, default))
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid_parameter(prop, f"The specified {kind} domain count {value} must fall in the range {low} to {high}.")
    return value


class AvailabilitySetType(ResourceType):
    full_type = AVSET_TYPE
    min_api_version = "2015-06-15"
    long_running = False  # Azure creates and deletes availability sets synchronously
    create_status = 200  # and answers a create with 200 (the SDK accepts nothing else)
    views = {"vmSizes": "view_vm_sizes"}

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type)
        sku = (body.get("sku") or {}).get("name") or (existing or {}).get("sku", {}).get("name") or "Classic"
        sku = next((s for s in SKUS if s.lower() == str(sku).lower()), None)
        if sku is None:
            raise invalid_parameter("sku.name", f"The value '{body['sku']['name']}' of parameter 'sku.name' is "
                                    "invalid. Allowed values are 'Classic' and 'Aligned'.")
        counts = {prop: _domain_count(props, existing, prop) for prop in DOMAIN_RANGES}
        if existing is not None:
            self._check_update(ctx, existing, sku, counts)
        out["sku"] = {"name": sku}
        out["properties"] = dict(counts)
        ppg = placement_group(ctx, out["location"], props.get("proximityPlacementGroup"), "proximityPlacementGroup.id")
        if existing is not None:
            allocated = [vm["id"] for vm in members(ctx, existing["id"]) if vm.get("_power") != "deallocated"]
            check_group_change(sub_id(existing["properties"].get("proximityPlacementGroup")), ppg, allocated,
                               f"availability set {rid.name}")
        if ppg:
            out["properties"]["proximityPlacementGroup"] = {"id": ppg}
        return out

    @staticmethod
    def _check_update(ctx: Context, existing: dict, sku: str, counts: dict) -> None:
        if existing["sku"]["name"] == "Aligned" and sku == "Classic":
            raise ArmError(409, "OperationNotAllowed", "Changing availability set SKU from 'Aligned' to 'Classic' is not allowed.",
                           target="sku.name")
        if members(ctx, existing["id"]):
            for prop, value in counts.items():
                if value != existing["properties"][prop]:
                    raise property_change_not_allowed(prop)

    def render(self, ctx: Context, body: dict) -> dict:
        out = dict(body)
        out["properties"] = {**body["properties"],
                             "virtualMachines": [{"id": azure_upper_id(vm["id"])} for vm in members(ctx, body["id"])]}
        return out

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        if members(ctx, str(rid)):
            raise ArmError(409, "OperationNotAllowed", f"Availability Set {rid.name} cannot be deleted. Before deleting "
                           "an Availability Set please ensure that it does not contain any VM.")

    def view_vm_sizes(self, ctx: Context, rid: ResourceId) -> dict:
        self.get_item(ctx, rid)
        return {"value": [size.body() for size in VM_SIZES.values()]}

    def describe(self, ctx: Context, body: dict) -> str:
        props = body["properties"]
        return (f"{body['sku']['name']} FD={props['platformFaultDomainCount']} UD={props['platformUpdateDomainCount']} "
                f"VMs={len(members(ctx, body['id']))}")
