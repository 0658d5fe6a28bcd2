"""Public IP addresses, handed out from the lab's loopback range (the data plane listens on
them). The address is the lab's allocation state: a scan of the existing public IPs tells
which addresses are taken, so a delete frees its address without bookkeeping.

IPv6 addresses come from the lab's IPv4 range embedded in ``settings.PUBLIC_IPV6_PREFIX`` (a
unique local /96 the host routes to itself), so the n-th IPv6 address of a lab is the twin of
its n-th IPv4 address.

One deviation, kept on purpose: a Dynamic address is allocated at creation, not when the
address is first associated with a running resource as on Azure.
"""

from __future__ import annotations

import ipaddress
import re

from azlab.models.base import Context, ResourceType, resource_guid
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId
from azlab.models.network.backrefs import public_ip_users
from azlab.models.network.common import MIN_API_VERSION, PIP_TYPE, sub, without
from azlab.models.network.values import enum_value, int_value, ip_version, props_of, sku_of, zones_value
from azlab.settings import PUBLIC_IP_RANGE, PUBLIC_IP_RANGE_KEY, PUBLIC_IPV6_PREFIX, ipv6_twin

SKUS = ("Basic", "Standard")
ALLOCATION = ("Static", "Dynamic")
PIP_READ_ONLY = ("provisioningState", "resourceGuid", "ipAddress", "ipConfiguration")
DOMAIN_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
# The first two addresses of the range (network and the host's own .1) are never handed out.
FIRST_HOST_OFFSET = 2


class PublicIPAddresses(ResourceType):
    full_type = PIP_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        old = (existing or {}).get("properties", {})
        out["sku"] = sku_of(body.get("sku"), (existing or {}).get("sku"), SKUS, str(rid))
        if body.get("zones"):
            out["zones"] = zones_value(body["zones"], "zones")
        props = without(props_of(body, "properties"), *PIP_READ_ONLY)
        version, method = version_and_method(rid, props, old, out["sku"]["name"])
        props.update(
            publicIPAllocationMethod=method,
            publicIPAddressVersion=version,
            idleTimeoutInMinutes=int_value(props.get("idleTimeoutInMinutes"), 4, 30, "properties.idleTimeoutInMinutes", 4),
            ipTags=props.get("ipTags") or [],
        )
        if props.get("dnsSettings"):
            props["dnsSettings"] = dns_settings(ctx, rid, out["location"], props["dnsSettings"])
        else:
            props.pop("dnsSettings", None)
        out["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": old.get("resourceGuid") or resource_guid(),
            "ipAddress": old.get("ipAddress") or allocate_public_ip(ctx, str(rid), version),
            **props,
        }
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        users = public_ip_users(ctx, body["id"])
        if users:
            body["properties"]["ipConfiguration"] = sub(users[0])
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        users = public_ip_users(ctx, body["id"])
        if users:
            raise ArmError(400, "PublicIPAddressCannotBeDeleted",
                           f"Public IP address {body['id']} can not be deleted since it is still allocated to resource "
                           f"{users[0]}. In order to delete the public IP, disassociate/detach the Public IP address "
                           "from the resource.")

    def describe(self, ctx: Context, body: dict) -> str:
        fqdn = body["properties"].get("dnsSettings", {}).get("fqdn")
        return body["properties"]["ipAddress"] + (f" ({fqdn})" if fqdn else "")


def version_and_method(rid: ResourceId, props: dict, old: dict, sku: str) -> tuple[str, str]:
    """The address version (fixed at creation) and allocation method, with Azure's rules:
    Standard is Static, a Basic IPv6 address is Dynamic."""
    version = ip_version(props.get("publicIPAddressVersion"), "properties.publicIPAddressVersion")
    old_version = old.get("publicIPAddressVersion")
    if old_version and old_version != version:
        # (unverified code) the version is fixed at creation, as the SKU is
        raise invalid_parameter("properties.publicIPAddressVersion",
                                f"The address version of public IP {rid} is set at creation and cannot be changed "
                                f"from {old_version} to {version}.")
    method = enum_value(props.get("publicIPAllocationMethod"), ALLOCATION, "properties.publicIPAllocationMethod",
                        "Static" if sku == "Standard" else "Dynamic")
    if sku == "Standard" and method != "Static":
        raise ArmError(400, "StandardAndStandardV2SkuPublicIPAddressesMustBeStatic",
                       f"Standard sku publicIp {rid} must have AllocationMethod set to Static.",
                       target="properties.publicIPAllocationMethod")
    if sku == "Basic" and version == "IPv6" and method != "Dynamic":
        raise ArmError(400, "CannotSpecifyPublicIpAllocationMethodAsStaticForIpV6PublicIp",
                       f"Cannot specify publicIpAllocationMethod as Static for IPv6 PublicIp {rid}.",
                       target="properties.publicIPAllocationMethod")
    return version, method


def dns_settings(ctx: Context, rid: ResourceId, location: str, value) -> dict:
    target = "properties.dnsSettings"
    if not isinstance(value, dict):
        raise invalid_parameter(target, f"Property '{target}' must be an object.")
    settings = without(value, "fqdn")
    label = settings.get("domainNameLabel")
    if label:
        if not isinstance(label, str) or not DOMAIN_LABEL.match(label):
            raise ArmError(400, "InvalidDomainNameLabel",
                           f"The domain name label {label} is invalid. It must conform to the following regular "
                           f"expression: {DOMAIN_LABEL.pattern}.", target=f"{target}.domainNameLabel")
        settings["fqdn"] = f"{label}.{location}.cloudapp.azure.com"
        for other_id, other in ctx.list(PIP_TYPE):
            if other_id.lower() != str(rid).lower() and other["properties"].get("dnsSettings", {}).get("fqdn") == settings["fqdn"]:
                raise ArmError(400, "DnsRecordInUse",
                               f"DNS record {settings['fqdn']} is already used by another public IP.",
                               target=f"{target}.domainNameLabel")
    return settings


def public_range(ctx: Context, version: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The lab's public range of one address version."""
    ipv4 = ctx.store.get_value(PUBLIC_IP_RANGE_KEY) or PUBLIC_IP_RANGE
    return ipaddress.ip_network(ipv4) if version == "IPv4" else ipv6_twin(ipv4, PUBLIC_IPV6_PREFIX)


def allocate_public_ip(ctx: Context, pip_id: str, version: str) -> str:
    """The lowest free address of the lab's public range of the address's version."""
    network = public_range(ctx, version)
    taken = {body["properties"].get("ipAddress") for other, body in ctx.list(PIP_TYPE) if other.lower() != pip_id.lower()}
    for offset in range(FIRST_HOST_OFFSET, network.num_addresses - 1):
        candidate = str(network.network_address + offset)
        if candidate not in taken:
            return candidate
    raise ArmError(400, "PublicIPCountLimitReached",
                   f"Cannot create more than {network.num_addresses - 3} public IP addresses in the lab's range "
                   f"{network}.")
