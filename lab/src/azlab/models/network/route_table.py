"""Microsoft.Network/routeTables: user-defined routes (embedded, with their own child route)
and the subnets that use the table (derived on read).

A subnet names its table (``routeTable``); every NIC in that subnet then routes by it,
longest prefix first, a user route beating a system route of the same prefix. The data
plane applies the table in the VNet's router (``dataplane/routes.py``). Next hops the lab
has no part for are refused at PUT time rather than stored and silently not followed:
``VirtualNetworkGateway`` (no gateways in the lab) and service-tag prefixes (the lab's
only tags are its NSG ones, which Azure does not accept as route prefixes either, apart
from the regional cloud tags it cannot resolve here).
"""

from __future__ import annotations

import ipaddress

from azlab.models.base import Context, NameRule, ResourceType, resource_guid
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId
from azlab.models.network.backrefs import subnets_referencing
from azlab.models.network.common import MIN_API_VERSION, child_body, EmbeddedType, sub, without
from azlab.models.network.values import bool_value, children_of, enum_value, ip_address, props_of

ROUTE_TABLE_TYPE = "Microsoft.Network/routeTables"
ROUTE_TYPE = "Microsoft.Network/routeTables/routes"
ROUTE_NAMES = NameRule()
NEXT_HOP_TYPES = ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None")
TABLE_READ_ONLY = ("provisioningState", "resourceGuid", "subnets")
ROUTE_READ_ONLY = ("provisioningState", "hasBgpOverride")
#: Azure's limit of routes per table.
MAX_ROUTES = 400


class RouteTables(ResourceType):
    full_type = ROUTE_TABLE_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = without(props_of(body, "properties"), *TABLE_READ_ONLY)
        items = children_of(props, "routes", "properties.routes")
        if len(items) > MAX_ROUTES:
            raise invalid_parameter("properties.routes", f"A route table holds at most {MAX_ROUTES} routes; "
                                    f"{len(items)} were sent.")
        routes = [build_route(rid, out["etag"], item, f"properties.routes[{i}]") for i, item in enumerate(items)]
        check_unique_prefixes(rid.name, routes)
        guid = (existing or {}).get("properties", {}).get("resourceGuid") or resource_guid()
        out["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": guid,
            **props,
            "disableBgpRoutePropagation": bool_value(props.get("disableBgpRoutePropagation"),
                                                     "properties.disableBgpRoutePropagation"),
            "routes": routes,
        }
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        subnets = subnets_referencing(ctx, "routeTable", body["id"])
        if subnets:
            body["properties"]["subnets"] = [sub(s) for s in subnets]
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        subnets = subnets_referencing(ctx, "routeTable", body["id"])
        if subnets:
            raise ArmError(400, "InUseRouteTableCannotBeDeleted",
                           f"Route table {body['id']} is in use and cannot be deleted. It is associated with "
                           f"{', '.join(subnets)}. Remove the association from the subnets first.")

    def describe(self, ctx: Context, body: dict) -> str:
        routes = ", ".join(f"{r['properties']['addressPrefix']} -> {r['properties']['nextHopType']}"
                           for r in body["properties"]["routes"])
        return f"{len(body['properties']['routes'])} routes" + (f": {routes}" if routes else "")


class Routes(EmbeddedType):
    full_type = ROUTE_TYPE
    embedded_in = "routes"
    name_rule = ROUTE_NAMES


def build_route(table: ResourceId, etag: str, item: dict, target: str) -> dict:
    name = item["name"]
    ROUTE_NAMES.check(name, ROUTE_TYPE)
    p = f"{target}.properties"
    props = without(props_of(item, p), *ROUTE_READ_ONLY)
    prefix = props.get("addressPrefix")
    if not prefix:
        raise missing_property(f"{p}.addressPrefix", ROUTE_TYPE)
    props["addressPrefix"] = route_prefix(prefix, f"{p}.addressPrefix")
    if props.get("nextHopType") is None:
        raise missing_property(f"{p}.nextHopType", ROUTE_TYPE)
    hop = enum_value(props["nextHopType"], NEXT_HOP_TYPES, f"{p}.nextHopType")
    props["nextHopType"] = hop
    if hop == "VirtualNetworkGateway":
        raise invalid_parameter(f"{p}.nextHopType", f"Route '{name}': next hop type VirtualNetworkGateway needs a "
                                "virtual network gateway, which the lab does not emulate.")
    address = props.get("nextHopIpAddress")
    if hop == "VirtualAppliance":
        if not address:
            raise ArmError(400, "InvalidRouteNextHopIpAddress",  # (unverified code)
                           f"Route '{name}' has next hop type VirtualAppliance and needs nextHopIpAddress.",
                           target=f"{p}.nextHopIpAddress")
        hop_ip = ip_address(address, f"{p}.nextHopIpAddress")
        if hop_ip.version != 4:
            raise invalid_parameter(f"{p}.nextHopIpAddress", f"Route '{name}': the lab routes IPv4 only.")
        props["nextHopIpAddress"] = str(hop_ip)
    elif address:
        raise ArmError(400, "NextHopIpAddressNotAllowed",  # (unverified code)
                       f"Route '{name}': nextHopIpAddress is allowed only with next hop type VirtualAppliance, "
                       f"not {hop}.", target=f"{p}.nextHopIpAddress")
    else:
        props.pop("nextHopIpAddress", None)
    props["hasBgpOverride"] = False
    return child_body(str(table), etag, ROUTE_TYPE, name, props)


def route_prefix(value, target: str) -> str:
    """An IPv4 CIDR prefix with no host bits (what Azure accepts and the lab can route)."""
    try:
        network = ipaddress.ip_network(value)
    except (TypeError, ValueError):
        raise ArmError(400, "InvalidRouteAddressPrefix",  # (unverified code)
                       f"Address prefix '{value}' of a route is not a CIDR prefix (such as 10.0.2.0/24) with no host "
                       "bits set. Service tags as route prefixes are not emulated by the lab.", target=target) from None
    if network.version != 4:
        raise invalid_parameter(target, f"Address prefix '{value}': the lab routes IPv4 only.")
    return str(network)


def check_unique_prefixes(table_name: str, routes: list[dict]) -> None:
    seen: dict[str, str] = {}
    for index, route in enumerate(routes):
        prefix = route["properties"]["addressPrefix"]
        if prefix in seen:
            raise ArmError(400, "RouteConflict",  # (unverified code)
                           f"Routes '{seen[prefix]}' and '{route['name']}' of route table '{table_name}' have the same "
                           f"address prefix {prefix}; a table holds one route per prefix.",
                           target=f"properties.routes[{index}].properties.addressPrefix")
        seen[prefix] = route["name"]
