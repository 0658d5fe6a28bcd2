"""Request values of the Microsoft.Network types, checked with Azure's error shapes: each
error names the property (``target``) and the rule."""

from __future__ import annotations

import ipaddress

from azlab.models.errors import ArmError, invalid_parameter, missing_property


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


def ip_version(value, target: str) -> str:
    """An ``IPv4``/``IPv6`` address version (IPv4 when absent)."""
    return enum_value(value, ("IPv4", "IPv6"), target, "IPv4")


def version_name(address) -> str:
    """``IPv4`` or ``IPv6``: the version of an address or network, as Azure spells it."""
    return f"IPv{address.version}"
