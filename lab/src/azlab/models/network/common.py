"""What the Microsoft.Network types share: the type names and Azure's child envelopes
(embedded children with their own routes).

Stored bodies keep Azure's JSON shape exactly; back-references that depend on other
resources (a subnet's ``ipConfigurations``, a pool's ``backendIPConfigurations`` ...)
are derived on read (``backrefs.py``), so no write ever has to touch two resources.
Request values are checked by ``values.py``, private addresses handed out by
``addressing.py``.
"""

from __future__ import annotations

from azlab.models.base import Context, NameRule, ResourceType, embedded_items, find_named
from azlab.models.errors import not_found
from azlab.models.ids import ResourceId


NETWORK = "Microsoft.Network"
VNET_TYPE = "Microsoft.Network/virtualNetworks"
SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"
NSG_TYPE = "Microsoft.Network/networkSecurityGroups"
PIP_TYPE = "Microsoft.Network/publicIPAddresses"
LB_TYPE = "Microsoft.Network/loadBalancers"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
VM_TYPE = "Microsoft.Compute/virtualMachines"

MIN_API_VERSION = "2015-06-15"
# Azure's rule for most network resource and sub-resource names: 1-80 characters.
CHILD_NAMES = NameRule()


def child_body(parent_id: str, etag: str, child_type: str, name: str, props: dict) -> dict:
    """A sub-resource as Azure returns it: id, name, type, the parent's etag, properties."""
    segment = child_type.rsplit("/", 1)[1]
    return {
        "name": name,
        "id": f"{parent_id}/{segment}/{name}",
        "etag": etag,
        "type": child_type,
        "properties": {"provisioningState": "Succeeded", **props},
    }


def without(props: dict, *keys: str) -> dict:
    """``props`` minus read-only/derived keys a client may echo back from a GET."""
    return {k: v for k, v in props.items() if k not in keys}


def sub(resource_id: str) -> dict:
    return {"id": resource_id}


class EmbeddedType(ResourceType):
    """A sub-resource stored inside its parent's body; reads show the parent's derived fields."""

    has_location = False
    min_api_version = MIN_API_VERSION

    def get_item(self, ctx: Context, rid: ResourceId) -> dict:
        parent_id = rid.parent
        parent = ctx.get(str(parent_id))
        if parent is None:
            raise not_found(parent_id.full_type, parent_id.name, rid.resource_group)
        rendered = ctx.registry.find(parent_id.full_type).render(ctx, parent)
        child = find_named(embedded_items(rendered, self.embedded_in), rid.name)
        if child is None:
            raise not_found(self.full_type, rid.name, rid.resource_group)
        return child


class ReadOnlyEmbeddedType(EmbeddedType):
    """Children Azure serves with GET only; they change through the parent's PUT."""

    writable = False
