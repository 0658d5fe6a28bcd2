"""Network security groups: user rules (embedded, with their own child route), Azure's six
default rules, and the subnets and NICs that use the group (derived on read)."""

from __future__ import annotations

import ipaddress

from azlab.models.base import LOCATIONS, Context, NameRule, ResourceType, resource_guid
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId
from azlab.models.network.backrefs import references, subnets_referencing
from azlab.models.network.common import (
    MIN_API_VERSION, NIC_TYPE, NSG_TYPE, child_body, EmbeddedType, ReadOnlyEmbeddedType, sub, without,
)
from azlab.models.network.values import children_of, enum_value, props_of, ref_ids

RULE_TYPE = "Microsoft.Network/networkSecurityGroups/securityRules"
DEFAULT_RULE_TYPE = "Microsoft.Network/networkSecurityGroups/defaultSecurityRules"
RULE_NAMES = NameRule()
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")
ACCESS = ("Allow", "Deny")
DIRECTIONS = ("Inbound", "Outbound")
NSG_READ_ONLY = ("provisioningState", "resourceGuid", "defaultSecurityRules", "subnets", "networkInterfaces", "flowLogs")
RULE_READ_ONLY = ("provisioningState",)
MAX_DESCRIPTION = 140

# Service tags a rule may name instead of an address (regional forms like Storage.EastUS
# are accepted for every tag).
SERVICE_TAGS = {tag.lower() for tag in (
    "*", "VirtualNetwork", "AzureLoadBalancer", "Internet", "AzureCloud", "AzureTrafficManager", "Storage", "Sql",
    "SqlManagement", "AzureCosmosDB", "AzureKeyVault", "EventHub", "ServiceBus", "AzureMonitor",
    "AzureActiveDirectory", "AzureBackup", "AzureContainerRegistry", "MicrosoftContainerRegistry", "GatewayManager",
    "AzureFrontDoor.Backend", "AzureFrontDoor.Frontend", "AzureFrontDoor.FirstParty", "AppService",
    "AppServiceManagement", "ApiManagement", "AzureDevOps", "AzureMachineLearning", "BatchNodeManagement",
    "DataFactory", "HDInsight", "PowerBI", "AzurePlatformDNS", "AzurePlatformIMDS", "AzurePlatformLKM",
    "GuestAndHybridManagement", "AzureArcInfrastructure", "AzureResourceManager", "AzureSiteRecovery",
    "AzureUpdateDelivery", "WindowsVirtualDesktop",
)}

# Azure's default rules: (name, priority, direction, access, source, destination, description).
DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow inbound traffic from all VMs in VNET"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*",
     "Allow inbound traffic from azure load balancer"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*", "Deny all inbound traffic"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork",
     "Allow outbound traffic from all VMs to all VMs in VNET"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet",
     "Allow outbound traffic from all VMs to Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*", "Deny all outbound traffic"),
)


class NetworkSecurityGroups(ResourceType):
    full_type = NSG_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = without(props_of(body, "properties"), *NSG_READ_ONLY)
        items = children_of(props, "securityRules", "properties.securityRules")
        rules = [build_rule(ctx, rid, out["etag"], item, f"properties.securityRules[{i}]") for i, item in enumerate(items)]
        check_priorities(rules)
        guid = (existing or {}).get("properties", {}).get("resourceGuid") or resource_guid()
        out["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": guid,
            **props,
            "securityRules": rules,
            "defaultSecurityRules": [default_rule(str(rid), out["etag"], *rule) for rule in DEFAULT_RULES],
        }
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        subnets, nics = users_of(ctx, body["id"])
        if subnets:
            body["properties"]["subnets"] = [sub(s) for s in subnets]
        if nics:
            body["properties"]["networkInterfaces"] = [sub(n) for n in nics]
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        subnets, nics = users_of(ctx, body["id"])
        if subnets or nics:
            raise ArmError(400, "InUseNetworkSecurityGroupCannotBeDeleted",
                           f"Network security group {body['id']} cannot be deleted because it is in use by the "
                           f"following resources: {', '.join(subnets + nics)}. In order to delete the Network "
                           "security group, remove the association with the resource(s).")

    def describe(self, ctx: Context, body: dict) -> str:
        return f"{len(body['properties']['securityRules'])} rules"


class SecurityRules(EmbeddedType):
    full_type = RULE_TYPE
    embedded_in = "securityRules"
    name_rule = RULE_NAMES


class DefaultSecurityRules(ReadOnlyEmbeddedType):
    full_type = DEFAULT_RULE_TYPE
    embedded_in = "defaultSecurityRules"


def users_of(ctx: Context, nsg_id: str) -> tuple[list[str], list[str]]:
    """IDs of the subnets and NICs associated with a security group."""
    subnets = subnets_referencing(ctx, "networkSecurityGroup", nsg_id)
    nics = [nic["id"] for _, nic in ctx.list(NIC_TYPE) if references(nic["properties"], "networkSecurityGroup", nsg_id)]
    return subnets, nics


def build_rule(ctx: Context, nsg: ResourceId, etag: str, item: dict, target: str) -> dict:
    name = item["name"]
    RULE_NAMES.check(name, RULE_TYPE)
    rule_id = str(nsg.child("securityRules", name))
    p = f"{target}.properties"
    props = without(props_of(item, p), *RULE_READ_ONLY)
    if props.get("priority") is None:
        raise missing_property(f"{p}.priority", RULE_TYPE)
    priority = props["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 100 <= priority <= 4096:
        raise ArmError(400, "SecurityRuleInvalidPriority",
                       f"Security rule {rule_id} has invalid Priority. Value provided: {priority} Allowed range 100-4096.",
                       target=f"{p}.priority")
    for key, allowed in (("protocol", PROTOCOLS), ("access", ACCESS), ("direction", DIRECTIONS)):
        if props.get(key) in (None, ""):
            raise missing_property(f"{p}.{key}", RULE_TYPE)
        props[key] = enum_value(props[key], allowed, f"{p}.{key}")
    description = props.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise invalid_parameter(f"{p}.description", f"Rule description must be a string of at most {MAX_DESCRIPTION} characters.")
    for side in ("source", "destination"):
        props.update(port_ranges(props, f"{side}PortRange", rule_id, p))
        props.update(address_prefixes(ctx, props, side, rule_id, p))
    check_one_family(props, rule_id, p)
    # Azure leaves out what is not set (a singular field replaced by its list form)
    props = {key: value for key, value in props.items() if value not in (None, "")}
    return child_body(str(nsg), etag, RULE_TYPE, name, props)


def singular_or_plural(props: dict, single: str, plural: str, target: str) -> tuple[str | None, list]:
    """Azure takes a field either singular or as a list (an empty list counts as absent)."""
    one, many = props.get(single), props.get(plural)
    if many is not None and not isinstance(many, list):
        raise invalid_parameter(f"{target}.{plural}", f"Property '{plural}' must be an array.")
    if one not in (None, "") and many:
        raise invalid_parameter(f"{target}.{plural}", f"Set either '{single}' or '{plural}', not both.")
    return (None if one in (None, "") else one), list(many or [])


def port_ranges(props: dict, single: str, rule_id: str, target: str) -> dict:
    plural = single + "s"
    one, many = singular_or_plural(props, single, plural, target)
    if one is None and not many:
        raise missing_property(f"{target}.{single}", RULE_TYPE)
    for value in ([one] if one is not None else many):
        if not valid_port_range(str(value)):
            raise ArmError(400, "SecurityRuleInvalidPortRange",
                           f"Security rule {rule_id} has invalid Port range. Value provided: {value}. Value should be "
                           "an integer OR integer range with '-' delimiter. Valid range 0-65535.",
                           target=f"{target}.{single}" if one is not None else f"{target}.{plural}")
    out = {plural: [str(v) for v in many]}
    if one is not None:
        out[single] = str(one)
    return out


def valid_port_range(value: str) -> bool:
    if value == "*":
        return True
    parts = value.split("-")
    if len(parts) > 2 or not all(part.isdigit() for part in parts):
        return False
    numbers = [int(part) for part in parts]
    return all(0 <= n <= 65535 for n in numbers) and numbers == sorted(numbers)


def address_prefixes(ctx: Context, props: dict, side: str, rule_id: str, target: str) -> dict:
    single, plural = f"{side}AddressPrefix", f"{side}AddressPrefixes"
    one, many = singular_or_plural(props, single, plural, target)
    groups = ref_ids(props.get(f"{side}ApplicationSecurityGroups"), f"{target}.{side}ApplicationSecurityGroups")
    if one is None and not many and not groups:
        raise missing_property(f"{target}.{single}", RULE_TYPE)
    for value in ([one] if one is not None else many):
        if not valid_address_prefix(str(value)):
            raise ArmError(400, "SecurityRuleInvalidAddressPrefix",
                           f"Security rule {rule_id} has invalid Address prefix. Value provided: {value}",
                           target=f"{target}.{single}" if one is not None else f"{target}.{plural}")
    for index, group in enumerate(groups):
        ctx.require_reference(group, rule_id, f"{target}.{side}ApplicationSecurityGroups[{index}].id")
    out = {plural: [str(v) for v in many]}
    if one is not None:
        out[single] = str(one)
    if groups:
        out[f"{side}ApplicationSecurityGroups"] = [sub(group) for group in groups]
    return out


def valid_address_prefix(value: str) -> bool:
    """'*', a service tag (optionally regional, e.g. Storage.EastUS), an IP address or a CIDR prefix."""
    lowered = value.lower()
    if lowered in SERVICE_TAGS:
        return True
    tag, _, region = lowered.rpartition(".")
    if tag in SERVICE_TAGS and region.replace(" ", "") in LOCATIONS:
        return True
    try:
        ipaddress.ip_network(value, strict=False)
        return True
    except ValueError:
        return False


def check_one_family(props: dict, rule_id: str, target: str) -> None:
    """The addresses and prefixes of one rule (both sides) are all IPv4 or all IPv6; tags and
    '*' belong to both. The error names the property where the second family appears."""
    families: dict[int, str] = {}
    for key in ("sourceAddressPrefix", "sourceAddressPrefixes", "destinationAddressPrefix", "destinationAddressPrefixes"):
        values = props.get(key)
        for value in values if isinstance(values, list) else [values] if values else []:
            try:
                families.setdefault(ipaddress.ip_network(value, strict=False).version, key)
            except ValueError:
                continue  # '*' or a service tag
    if len(families) > 1:
        raise ArmError(400, "ResourceCannotContainAddressPrefixesFromDifferentAddressFamilies",
                       f"Security rule {rule_id} contains IP addresses or prefixes that belong to different address "
                       "families. All IP addresses or prefixes in the resource should belong to the same address "
                       "family.", target=f"{target}.{list(families.values())[1]}")


def check_priorities(rules: list[dict]) -> None:
    seen: dict[tuple[int, str], str] = {}
    for index, rule in enumerate(rules):
        props = rule["properties"]
        key = (props["priority"], props["direction"])
        if key in seen:
            raise ArmError(400, "SecurityRuleConflict",
                           f"Security rules {seen[key]} and {rule['id']} have the same Priority {key[0]} and Direction "
                           f"{key[1]}. Rules in a network security group cannot have the same priority and direction.",
                           target=f"properties.securityRules[{index}].properties.priority")
        seen[key] = rule["id"]


def default_rule(nsg_id: str, etag: str, name: str, priority: int, direction: str, access: str, source: str,
                 destination: str, description: str) -> dict:
    return child_body(nsg_id, etag, DEFAULT_RULE_TYPE, name, {
        "description": description, "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
        "sourceAddressPrefix": source, "destinationAddressPrefix": destination, "access": access,
        "priority": priority, "direction": direction, "sourcePortRanges": [], "destinationPortRanges": [],
        "sourceAddressPrefixes": [], "destinationAddressPrefixes": [],
    })
