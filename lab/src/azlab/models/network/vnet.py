"""Virtual networks and their subnets (embedded in the VNet's body, as in Azure)."""

from __future__ import annotations

import ipaddress

from azlab.models.base import Context, NameRule, ResourceType, find_named, resource_guid
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId
from azlab.models.network.backrefs import subnet_users
from azlab.models.network.common import MIN_API_VERSION, SUBNET_TYPE, VNET_TYPE, child_body, EmbeddedType, sub, without
from azlab.models.network.values import bool_value, children_of, dns_servers, int_value, props_of, ref_id

VNET_NAMES = NameRule(2, 64)
SUBNET_NAMES = NameRule()
VNET_READ_ONLY = ("provisioningState", "resourceGuid")
SUBNET_READ_ONLY = ("provisioningState", "ipConfigurations", "ipConfigurationProfiles", "purpose",
                    "resourceNavigationLinks", "serviceAssociationLinks", "privateEndpoints")
# A subnet's references must exist (a NAT gateway, which the lab does not emulate, never
# does), so a dangling one fails as it fails on Azure.
SUBNET_REFERENCES = ("networkSecurityGroup", "routeTable", "natGateway")
# Azure's smallest IPv4 subnet; an IPv6 subnet is exactly a /64.
MAX_SUBNET_PREFIX_LENGTH = 29
IPV6_SUBNET_PREFIX_LENGTH = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class VirtualNetworks(ResourceType):
    full_type = VNET_TYPE
    name_rule = VNET_NAMES
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = without(props_of(body, "properties"), *VNET_READ_ONLY)
        spaces = address_space(props, str(rid))
        items = children_of(props, "subnets", "properties.subnets")
        subnets = [build_subnet(ctx, rid, out["etag"], spaces, item, f"properties.subnets[{i}]")
                   for i, item in enumerate(items)]
        check_overlaps(rid.name, subnets)
        if existing:
            check_subnets_in_use(ctx, existing["properties"].get("subnets", []), subnets)
        if props.get("virtualNetworkPeerings"):
            raise invalid_parameter("properties.virtualNetworkPeerings", "The lab does not emulate virtual network peering.")
        dhcp = props.get("dhcpOptions") or {}
        props.update(
            addressSpace={"addressPrefixes": [str(p) for p in props["addressSpace"]["addressPrefixes"]]},
            dhcpOptions={"dnsServers": dns_servers(dhcp.get("dnsServers"), "properties.dhcpOptions.dnsServers")},
            subnets=subnets,
            virtualNetworkPeerings=[],
            enableDdosProtection=bool_value(props.get("enableDdosProtection"), "properties.enableDdosProtection"),
        )
        if props.get("flowTimeoutInMinutes") is not None:
            props["flowTimeoutInMinutes"] = int_value(props["flowTimeoutInMinutes"], 4, 30, "properties.flowTimeoutInMinutes")
        guid = (existing or {}).get("properties", {}).get("resourceGuid") or resource_guid()
        out["properties"] = {"provisioningState": "Succeeded", "resourceGuid": guid, **props}
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        for subnet in body["properties"].get("subnets", []):
            users = subnet_users(ctx, subnet["id"])
            if users:
                subnet["properties"]["ipConfigurations"] = [sub(config) for config, _ in users]
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        for subnet in body["properties"].get("subnets", []):
            users = subnet_users(ctx, subnet["id"])
            if users:
                raise in_use_subnet(subnet["name"], users[0][0])

    def describe(self, ctx: Context, body: dict) -> str:
        props = body["properties"]
        subnets = ", ".join(f"{s['name']} {s['properties'].get('addressPrefix') or s['properties'].get('addressPrefixes')}"
                            for s in props.get("subnets", []))
        return f"{', '.join(props['addressSpace']['addressPrefixes'])}" + (f"; subnets: {subnets}" if subnets else "")


class Subnets(EmbeddedType):
    """PUT/DELETE on a subnet is the VNet's PUT with that subnet replaced or removed."""

    full_type = SUBNET_TYPE
    embedded_in = "subnets"
    name_rule = SUBNET_NAMES


def address_space(props: dict, vnet_id: str) -> list[Network]:
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes")
    target = "properties.addressSpace.addressPrefixes"
    if not prefixes:
        raise missing_property(target, VNET_TYPE)
    if not isinstance(prefixes, list):
        raise invalid_parameter(target, f"Property '{target}' must be an array of CIDR prefixes.")
    spaces = []
    for index, prefix in enumerate(prefixes):
        try:
            network, exact = parse_cidr(prefix)
        except ValueError:
            raise ArmError(400, "InvalidAddressPrefixFormat",
                           f"Address prefix {prefix} of resource {vnet_id} is not formatted correctly. It should "
                           "follow CIDR notation, for example 10.0.0.0/24.", target=f"{target}[{index}]") from None
        if not exact:
            raise invalid_cidr(prefix, vnet_id, network, f"{target}[{index}]")
        for other in spaces:
            if network.version == other.version and network.overlaps(other):
                # (unverified code) Azure refuses a VNet whose own address spaces overlap.
                raise ArmError(400, "VnetAddressSpacesOverlap",
                               f"Cannot create or update virtual network {vnet_id} because its address spaces "
                               f"{other} and {network} overlap.", target=f"{target}[{index}]")
        spaces.append(network)
    return spaces


def build_subnet(ctx: Context, vnet: ResourceId, etag: str, spaces: list[Network], item: dict, target: str) -> dict:
    name = item["name"]
    SUBNET_NAMES.check(name, SUBNET_TYPE)
    subnet_id = str(vnet.child("subnets", name))
    props = without(props_of(item, f"{target}.properties"), *SUBNET_READ_ONLY)
    single, many = props.get("addressPrefix"), props.get("addressPrefixes")
    if single and many:
        raise invalid_parameter(f"{target}.properties.addressPrefixes",
                                f"Subnet '{name}' sets both addressPrefix and addressPrefixes; set one of them.")
    if not single and not many:
        raise missing_property(f"{target}.properties.addressPrefix", SUBNET_TYPE)
    prefixes = [single] if single else many
    if not isinstance(prefixes, list):
        raise invalid_parameter(f"{target}.properties.addressPrefixes", "Property 'addressPrefixes' must be an array.")
    prefix_target = f"{target}.properties.addressPrefix" if single else f"{target}.properties.addressPrefixes"
    for prefix in prefixes:
        check_subnet_prefix(name, vnet, subnet_id, spaces, prefix, prefix_target)
    for key in SUBNET_REFERENCES:
        referenced = ref_id(props.get(key), f"{target}.properties.{key}")
        if referenced:
            ctx.require_reference(referenced, subnet_id, f"{target}.properties.{key}.id")
            props[key] = sub(referenced)
    props.setdefault("privateEndpointNetworkPolicies", "Disabled")
    props.setdefault("privateLinkServiceNetworkPolicies", "Enabled")
    props.setdefault("delegations", [])
    return child_body(str(vnet), etag, SUBNET_TYPE, name, props)


def check_subnet_prefix(name: str, vnet: ResourceId, subnet_id: str, spaces: list[Network], prefix, target: str) -> None:
    try:
        network, exact = parse_cidr(prefix)
    except ValueError:
        raise ArmError(400, "NetcfgInvalidSubnet", f"Subnet '{name}' is not valid in virtual network '{vnet.name}': "
                       f"'{prefix}' is not a CIDR prefix.", target=target) from None
    if not exact:
        raise invalid_cidr(prefix, subnet_id, network, target)
    if network.version == 4 and network.prefixlen > MAX_SUBNET_PREFIX_LENGTH:
        raise ArmError(400, "NetcfgInvalidSubnet",
                       f"Subnet '{name}' is not valid in virtual network '{vnet.name}': the prefix /{network.prefixlen} "
                       f"is smaller than the smallest supported subnet /{MAX_SUBNET_PREFIX_LENGTH}.", target=target)
    if network.version == 6 and network.prefixlen != IPV6_SUBNET_PREFIX_LENGTH:
        # (unverified code) documented: "The subnets for IPv6 must be exactly /64 in size"
        raise ArmError(400, "NetcfgInvalidSubnet",
                       f"Subnet '{name}' is not valid in virtual network '{vnet.name}': its IPv6 prefix {network} must "
                       f"be exactly /{IPV6_SUBNET_PREFIX_LENGTH}.", target=target)
    if not any(network.version == space.version and network.subnet_of(space) for space in spaces):
        raise ArmError(400, "NetcfgSubnetRangeOutsideVnet",
                       f"Subnet '{name}' is not valid because its IP address range is outside the IP address range "
                       f"of virtual network '{vnet.name}'.", target=target)


def parse_cidr(prefix) -> tuple[Network, bool]:
    """The network of an 'address/length' prefix, and whether it has no host bits set."""
    if not isinstance(prefix, str) or "/" not in prefix:
        raise ValueError(f"{prefix!r} is not in CIDR notation")
    interface = ipaddress.ip_interface(prefix)
    return interface.network, interface.ip == interface.network.network_address


def invalid_cidr(prefix, resource_id: str, network: Network, target: str) -> ArmError:
    return ArmError(400, "InvalidCIDRNotation",
                    f"The address prefix {prefix} in resource {resource_id} has an invalid CIDR notation. For the "
                    f"given prefix length, the address prefix should be {network}.", target=target)


def subnet_networks(subnet: dict) -> list[Network]:
    props = subnet["properties"]
    prefixes = [props["addressPrefix"]] if props.get("addressPrefix") else props.get("addressPrefixes", [])
    return [ipaddress.ip_network(p, strict=False) for p in prefixes]


def check_overlaps(vnet_name: str, subnets: list[dict]) -> None:
    seen: list[tuple[str, Network]] = []
    for index, subnet in enumerate(subnets):
        for network in subnet_networks(subnet):
            if any(network.version == other.version and network.overlaps(other) for _, other in seen):
                raise ArmError(400, "NetcfgSubnetRangesOverlap",
                               f"Subnet '{subnet['name']}' is not valid because its IP address range overlaps with "
                               f"that of an existing subnet in virtual network '{vnet_name}'.",
                               target=f"properties.subnets[{index}].properties.addressPrefix")
            seen.append((subnet["name"], network))


def check_subnets_in_use(ctx: Context, old_subnets: list[dict], new_subnets: list[dict]) -> None:
    """A PUT that drops a subnet holding ip configurations, or shrinks it past them, is refused."""
    for old in old_subnets:
        users = subnet_users(ctx, old["id"])
        if not users:
            continue
        new = find_named(new_subnets, old["name"])
        if new is None:
            raise in_use_subnet(old["name"], users[0][0])
        networks = subnet_networks(new)
        for config, address in users:
            if address and not any(ipaddress.ip_address(address) in network for network in networks):
                raise ArmError(400, "InUseSubnetCannotBeUpdated",
                               f"Subnet {old['name']} is in use by {config} and its address prefix cannot be changed "
                               f"to exclude the address {address}.", target="properties.subnets")


def in_use_subnet(name: str, user: str) -> ArmError:
    return ArmError(400, "InUseSubnetCannotBeDeleted",
                    f"Subnet {name} is in use by {user} and cannot be deleted. In order to delete the subnet, delete "
                    "all the resources within the subnet. See aka.ms/deletesubnet.", target="properties.subnets")
