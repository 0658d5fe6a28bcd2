"""What the Microsoft.Network types share: Azure's child envelopes, value checks with
Azure's error shapes, references, and the scans that derive back-references.

Stored bodies keep Azure's JSON shape exactly; back-references that depend on other
resources (a subnet's ``ipConfigurations``, a pool's ``backendIPConfigurations`` ...)
are derived on read, so no write ever has to touch two resources.
"""

from __future__ import annotations

import ipaddress
from typing import Iterator

from azlab.models.base import Context, NameRule, ResourceType, find_named
from azlab.models.errors import ArmError, invalid_parameter, missing_property, not_found
from azlab.models.ids import ResourceId, same_id

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


# -- request values -----------------------------------------------------------------------


def props_of(item: dict, target: str) -> dict:
    """A copy of an item's ``properties`` object (empty when absent)."""
    value = item.get("properties")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_parameter(target, f"Property '{target}' must be a JSON object.")
    return dict(value)


def children_of(props: dict, key: str, target: str) -> list[dict]:
    """The named sub-resources under ``props[key]``; names must be unique (case-insensitive)."""
    items = props.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid_parameter(target, f"Property '{target}' must be an array of objects.")
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = item.get("name")
        if not name or not isinstance(name, str):
            raise missing_property(f"{target}[{index}].name", target)
        if name.lower() in seen:
            raise invalid_parameter(f"{target}[{index}].name",
                                    f"Two items of '{target}' are named '{name}'; names must be unique.")
        seen.add(name.lower())
    return items


def zones_value(value, target: str) -> list[str]:
    """Availability zones: a list of "1", "2", "3" (Azure also takes the numbers)."""
    if not isinstance(value, list) or not all(str(zone) in ("1", "2", "3") for zone in value):
        raise invalid_parameter(target, f"Property '{target}' must list availability zones out of '1', '2' and '3'.")
    return [str(zone) for zone in value]


def enum_value(value, allowed: tuple[str, ...], target: str, default: str | None = None) -> str | None:
    """Azure accepts enum values in any case and answers with its own spelling."""
    if value in (None, ""):
        return default
    for choice in allowed:
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise ArmError(400, "InvalidRequestFormat",
                   f"Cannot parse the request: value '{value}' of property '{target}' is not one of "
                   f"{', '.join(allowed)}.", target=target)


def int_value(value, low: int, high: int, target: str, default: int | None = None) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise invalid_parameter(target, f"Value '{value}' of property '{target}' must be an integer.")
    number = int(value)
    if not low <= number <= high:
        raise invalid_parameter(target, f"Value {number} of property '{target}' is out of range: allowed are {low}-{high}.")
    return number


def bool_value(value, target: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_parameter(target, f"Value '{value}' of property '{target}' must be true or false.")
    return value


def ref_id(value, target: str) -> str | None:
    """The ID of a ``{"id": ...}`` reference (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise invalid_parameter(target, f"Property '{target}' must be a reference object with an 'id'.")
    return value["id"]


def ref_ids(value, target: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_parameter(target, f"Property '{target}' must be an array of references.")
    return [ref_id(item, f"{target}[{index}]") for index, item in enumerate(value)]


def ip_address(value, target: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise invalid_parameter(target, f"'{value}' of property '{target}' is not a valid IP address.") from None


def dns_servers(value, target: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_parameter(target, f"Property '{target}' must be an array of IP addresses.")
    return [str(ip_address(server, f"{target}[{i}]")) for i, server in enumerate(value)]


def sku_of(requested, current: dict | None, names: tuple[str, ...], resource_id: str) -> dict:
    """A SKU is fixed at creation (Basic when none is given); a PUT without one keeps it."""
    if requested is None:
        return current or {"name": "Basic", "tier": "Regional"}
    if not isinstance(requested, dict):
        raise invalid_parameter("sku", "Property 'sku' must be an object with a 'name'.")
    sku = {"name": enum_value(requested.get("name"), names, "sku.name", "Basic"),
           "tier": enum_value(requested.get("tier"), ("Regional", "Global"), "sku.tier", "Regional")}
    if current and current["name"] != sku["name"]:
        raise ArmError(400, "SkuCannotBeChangedOnUpdate",
                       f"Sku property is set at creation time and cannot be changed from {current['name']} to "
                       f"{sku['name']} on resource update for resource {resource_id}.", target="sku.name")
    return sku


def ipv4_only(version: str | None, target: str) -> str:
    """The lab's data plane addresses IPv4 only; say so rather than pretend."""
    version = enum_value(version, ("IPv4", "IPv6"), target, "IPv4")
    if version != "IPv4":
        raise invalid_parameter(target, "The lab emulates IPv4 addressing only; IPv6 is not supported.")
    return version


# -- envelopes ------------------------------------------------------------------------------


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
        child = find_named(rendered.get("properties", {}).get(self.embedded_in, []), rid.name)
        if child is None:
            raise not_found(self.full_type, rid.name, rid.resource_group)
        return child


class ReadOnlyEmbeddedType(EmbeddedType):
    """Children Azure serves with GET only; they change through the parent's PUT."""

    writable = False


# -- scans for back-references ------------------------------------------------------------------


def nic_ip_configurations(ctx: Context) -> Iterator[tuple[dict, dict]]:
    """(NIC body, ip configuration) for every NIC ip configuration in the lab."""
    for _, nic in ctx.list(NIC_TYPE):
        for ipconfig in nic.get("properties", {}).get("ipConfigurations", []):
            yield nic, ipconfig


def lb_frontends(ctx: Context) -> Iterator[tuple[dict, dict]]:
    """(load balancer body, frontend ip configuration) for every LB frontend in the lab."""
    for _, lb in ctx.list(LB_TYPE):
        for frontend in lb.get("properties", {}).get("frontendIPConfigurations", []):
            yield lb, frontend


def references(props: dict, key: str, target_id: str) -> bool:
    """Whether ``props[key]`` (a reference or a list of references) points at ``target_id``."""
    value = props.get(key)
    if isinstance(value, dict):
        return same_id(value.get("id"), target_id)
    if isinstance(value, list):
        return any(isinstance(item, dict) and same_id(item.get("id"), target_id) for item in value)
    return False


def subnet_users(ctx: Context, subnet_id: str) -> list[tuple[str, str | None]]:
    """(ip configuration ID, private IP) of every NIC ip config and LB frontend in a subnet."""
    users = []
    for _, item in [*nic_ip_configurations(ctx), *lb_frontends(ctx)]:
        props = item.get("properties", {})
        if references(props, "subnet", subnet_id):
            users.append((item["id"], props.get("privateIPAddress")))
    return users


def public_ip_users(ctx: Context, pip_id: str) -> list[str]:
    """IDs of the ip configurations (LB frontends, NIC ip configs) that use a public IP."""
    return [item["id"] for _, item in [*lb_frontends(ctx), *nic_ip_configurations(ctx)]
            if references(item.get("properties", {}), "publicIPAddress", pip_id)]


def require_unshared_public_ip(ctx: Context, pip_id: str, owner_id: str, target: str) -> None:
    """A public IP serves one ip configuration; ``owner_id`` (being rebuilt) is not a rival."""
    rivals = [user for user in public_ip_users(ctx, pip_id) if not user.lower().startswith(owner_id.lower() + "/")]
    if rivals:
        raise ArmError(400, "PublicIPReferencedByMultipleIPConfigs",
                       f"Public ip address {pip_id} is referenced by multiple ipconfigs in resource {rivals[0]}.",
                       target=target)


# -- private addresses --------------------------------------------------------------------------


def subnet_prefix(subnet: dict) -> ipaddress.IPv4Network | None:
    """The IPv4 range a subnet hands addresses out of (its first IPv4 prefix)."""
    props = subnet.get("properties", {})
    prefixes = [props["addressPrefix"]] if props.get("addressPrefix") else list(props.get("addressPrefixes") or [])
    for prefix in prefixes:
        network = ipaddress.ip_network(prefix, strict=False)
        if network.version == 4:
            return network
    return None


def is_reserved(network: ipaddress.IPv4Network, address: ipaddress.IPv4Address) -> bool:
    """Azure reserves the first four addresses and the last address of every subnet."""
    offset = int(address) - int(network.network_address)
    return offset < 4 or offset == network.num_addresses - 1


def assign_private_ip(ctx: Context, subnet_id: str, subnet: dict, method: str, requested, current: str | None,
                      taken: dict[str, str], owner_id: str, config_id: str, target: str) -> str:
    """The private IP an ip configuration gets in ``subnet``.

    ``taken`` maps addresses to the ip configs already holding them in the resource being
    built; addresses of other resources are found by scanning (so a delete frees them).
    Dynamic keeps the current address when it is still in the subnet, else takes the
    lowest free one (the first VM gets .4); Static must be inside, unreserved and free.
    """
    network = subnet_prefix(subnet)
    if network is None:
        raise invalid_parameter(target, f"Subnet {subnet_id} has no IPv4 address prefix to allocate from.")
    in_use = dict(taken)
    for config, address in subnet_users(ctx, subnet_id):
        if address and not config.lower().startswith(owner_id.lower() + "/"):
            in_use.setdefault(address, config)
    if method == "Static":
        if requested in (None, ""):
            raise missing_property(f"{target}.privateIPAddress", "Static private IP allocation")
        address = ip_address(requested, f"{target}.privateIPAddress")
        if address not in network:
            raise ArmError(400, "PrivateIPAddressNotInSubnet",
                           f"Private static IP address {address} does not belong to the range of subnet prefix "
                           f"{network}.", target=f"{target}.privateIPAddress")
        if is_reserved(network, address):
            # (unverified code) Azure refuses the reserved addresses of a subnet.
            raise ArmError(400, "PrivateIPAddressInReservedRange",
                           f"Private static IP address {address} falls within reserved IP range of subnet prefix "
                           f"{network}.", target=f"{target}.privateIPAddress")
        holder = in_use.get(str(address))
        if holder and not same_id(holder, config_id):
            raise ArmError(400, "PrivateIPAddressInUse",
                           f"IP configuration {config_id} is using the private IP address {address} which is "
                           f"already allocated to resource {holder}.", target=f"{target}.privateIPAddress")
        return str(address)
    if current and ipaddress.ip_address(current) in network and current not in in_use:
        return current
    for offset in range(4, network.num_addresses - 1):
        candidate = str(network.network_address + offset)
        if candidate not in in_use:
            return candidate
    raise ArmError(400, "SubnetIsFull",
                   f"Subnet {subnet_id.rsplit('/', 1)[-1]} with address prefix {network} does not have enough "
                   f"capacity for 1 IP addresses.", target=f"{target}.subnet")
