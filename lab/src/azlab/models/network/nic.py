"""Network interfaces: ip configurations with a private IP from their subnet, backend pool
and inbound NAT rule membership, DNS settings, a MAC address, and the VM using the NIC
(derived on read from the VMs' network profiles)."""

from __future__ import annotations

from azlab.models.base import Context, ResourceType, find_named, resource_guid, stable_hex
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.addressing import assign_private_ip
from azlab.models.network.backrefs import nic_ip_configurations, require_unshared_public_ip
from azlab.models.network.ipversions import check_joining_pool, check_nat_rule, check_nic_pools, public_ip_version
from azlab.models.network.common import (
    CHILD_NAMES, MIN_API_VERSION, NIC_TYPE, VM_TYPE, child_body, ReadOnlyEmbeddedType, sub, without,
)
from azlab.models.network.values import (
    bool_value, children_of, dns_servers, enum_value, ip_version, props_of, ref_id, ref_ids,
)

IPCONFIG_TYPE = NIC_TYPE + "/ipConfigurations"
NIC_READ_ONLY = ("provisioningState", "resourceGuid", "macAddress", "virtualMachine", "primary", "hostedWorkloads",
                 "tapConfigurations", "privateEndpoint", "dscpConfiguration", "vnetEncryptionSupported")
IPCONFIG_READ_ONLY = ("provisioningState", "privateIPAddressPrefixLength")
# Azure's MAC prefix for VM NICs (Microsoft's OUI).
MAC_PREFIX = "00-0D-3A"
DNS_SUFFIX = "bx.internal.cloudapp.net"
# Other references an ip configuration makes: they must exist (application gateways are
# not emulated, so a reference to one fails as dangling).
OTHER_REFERENCES = ("applicationGatewayBackendAddressPools", "applicationSecurityGroups")


class NetworkInterfaces(ResourceType):
    full_type = NIC_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        old = (existing or {}).get("properties", {})
        props = without(props_of(body, "properties"), *NIC_READ_ONLY)
        items = children_of(props, "ipConfigurations", "properties.ipConfigurations")
        if not items:
            raise missing_property("properties.ipConfigurations", NIC_TYPE)
        configs = self.ip_configurations(ctx, rid, out["etag"], items, old.get("ipConfigurations", []))
        nsg = ref_id(props.get("networkSecurityGroup"), "properties.networkSecurityGroup")
        props.pop("networkSecurityGroup", None)
        if nsg:
            ctx.require_reference(nsg, str(rid), "properties.networkSecurityGroup.id")
            props["networkSecurityGroup"] = sub(nsg)
        vnet_id = str(ResourceId.parse(configs[0]["properties"]["subnet"]["id"]).parent)
        props.update(
            ipConfigurations=configs,
            dnsSettings=dns_settings(props.get("dnsSettings"), vnet_id),
            enableAcceleratedNetworking=bool_value(props.get("enableAcceleratedNetworking"),
                                                   "properties.enableAcceleratedNetworking"),
            enableIPForwarding=bool_value(props.get("enableIPForwarding"), "properties.enableIPForwarding"),
            disableTcpStateTracking=bool_value(props.get("disableTcpStateTracking"), "properties.disableTcpStateTracking"),
            nicType=enum_value(props.get("nicType"), ("Standard", "Elastic"), "properties.nicType", "Standard"),
        )
        out["properties"] = {
            "provisioningState": "Succeeded",
            "resourceGuid": old.get("resourceGuid") or resource_guid(),
            "macAddress": old.get("macAddress") or mac_address(str(rid)),
            **props,
        }
        return out

    def ip_configurations(self, ctx: Context, rid: ResourceId, etag: str, items: list[dict], old: list[dict]) -> list[dict]:
        taken: dict[str, str] = {}
        configs = [build_ip_configuration(ctx, rid, etag, item, f"properties.ipConfigurations[{i}]", old, taken)
                   for i, item in enumerate(items)]
        if len(configs) == 1:
            configs[0]["properties"]["primary"] = True
        elif sum(1 for c in configs if c["properties"]["primary"]) != 1:
            raise invalid_parameter("properties.ipConfigurations",
                                    f"Network interface {rid} has {len(configs)} ip configurations; exactly one of "
                                    "them must be primary.")
        check_ipv4_primary(rid, configs)
        check_nic_pools(configs)
        check_exclusive(configs, "loadBalancerInboundNatRules")
        check_exclusive(configs, "publicIPAddress")
        return configs

    def render(self, ctx: Context, body: dict) -> dict:
        vm = attached_vm(ctx, body["id"])
        if vm:
            vm_id, primary = vm
            body["properties"]["virtualMachine"] = sub(vm_id)
            body["properties"]["primary"] = primary
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        vm = attached_vm(ctx, body["id"])
        if vm:
            raise ArmError(400, "NicInUse",
                           f"Network Interface {body['id']} is used by existing resource {vm[0]}. In order to delete "
                           "the network interface, it must be dissociated from the resource. To learn more, see "
                           "aka.ms/deletenic.")

    def describe(self, ctx: Context, body: dict) -> str:
        return ", ".join(c["properties"]["privateIPAddress"] for c in body["properties"]["ipConfigurations"])


class IpConfigurations(ReadOnlyEmbeddedType):
    full_type = IPCONFIG_TYPE
    embedded_in = "ipConfigurations"


def build_ip_configuration(ctx: Context, nic: ResourceId, etag: str, item: dict, target: str, old: list[dict],
                           taken: dict[str, str]) -> dict:
    name = item["name"]
    CHILD_NAMES.check(name, IPCONFIG_TYPE)
    config_id = str(nic.child("ipConfigurations", name))
    p = f"{target}.properties"
    props = without(props_of(item, p), *IPCONFIG_READ_ONLY)
    subnet_id = ref_id(props.get("subnet"), f"{p}.subnet")
    if not subnet_id:
        raise missing_property(f"{p}.subnet", IPCONFIG_TYPE)
    subnet = ctx.require_reference(subnet_id, config_id, f"{p}.subnet.id")
    method = enum_value(props.get("privateIPAllocationMethod"), ("Static", "Dynamic"), f"{p}.privateIPAllocationMethod",
                        "Dynamic")
    version = ip_version(props.get("privateIPAddressVersion"), f"{p}.privateIPAddressVersion")
    previous = find_named(old, name)
    current = previous["properties"].get("privateIPAddress") if previous and same_id(
        previous["properties"]["subnet"]["id"], subnet_id) else None
    address = assign_private_ip(ctx, subnet_id, subnet, method, props.get("privateIPAddress"), current, taken,
                                str(nic), config_id, p, version)
    taken[address] = config_id
    props.update(
        subnet=sub(subnet_id),
        privateIPAddress=address,
        privateIPAllocationMethod=method,
        privateIPAddressVersion=version,
        primary=bool_value(props.get("primary"), f"{p}.primary"),
    )
    for key in ("loadBalancerBackendAddressPools", "loadBalancerInboundNatRules", *OTHER_REFERENCES):
        if props.get(key) is not None:
            refs = ref_ids(props[key], f"{p}.{key}")
            for index, referenced in enumerate(refs):
                ctx.require_reference(referenced, config_id, f"{p}.{key}[{index}].id")
            props[key] = [sub(r) for r in refs]
    for index, rule in enumerate(props.get("loadBalancerInboundNatRules") or []):
        check_nat_rule_free(ctx, rule["id"], str(nic), config_id, f"{p}.loadBalancerInboundNatRules[{index}].id")
        check_nat_rule(ctx, rule["id"], config_id, version, f"{p}.loadBalancerInboundNatRules[{index}].id")
    pip = ref_id(props.get("publicIPAddress"), f"{p}.publicIPAddress")
    props.pop("publicIPAddress", None)
    if pip:
        props["publicIPAddress"] = public_ip_reference(ctx, pip, str(nic), config_id, version, f"{p}.publicIPAddress.id")
    for index, pool in enumerate(props.get("loadBalancerBackendAddressPools") or []):
        check_joining_pool(ctx, pool["id"], str(nic), config_id, version,
                           f"{p}.loadBalancerBackendAddressPools[{index}].id")
    return child_body(str(nic), etag, IPCONFIG_TYPE, name, props)


def public_ip_reference(ctx: Context, pip: str, nic_id: str, config_id: str, version: str, target: str) -> dict:
    """The reference to a public IP that exists, is of the ip configuration's version and
    serves no other ip configuration."""
    pip_version = public_ip_version(ctx.require_reference(pip, config_id, target))
    if pip_version != version:
        raise ArmError(400, "IPVersionForPublicIpAndNicIpConfigurationMustMatch",
                       f"IP version for publicIPAddress {pip}, version {pip_version} and network interface "
                       f"ipConfiguration {config_id}, version {version} must match.", target=target)
    require_unshared_public_ip(ctx, pip, nic_id, target)
    return sub(pip)


def check_ipv4_primary(nic: ResourceId, configs: list[dict]) -> None:
    """Azure: every NIC has an IPv4 ip configuration, and IPv6 cannot be the primary one."""
    for index, config in enumerate(configs):
        props = config["properties"]
        if props["primary"] and props["privateIPAddressVersion"] != "IPv4":
            # (unverified code) documented: "IPv6 can't be the primary IP configuration"; the
            # only configuration of a NIC is its primary one, so the version is what is wrong
            raise invalid_parameter(f"properties.ipConfigurations[{index}].properties."
                                    f"{'primary' if len(configs) > 1 else 'privateIPAddressVersion'}",
                                    f"IP configuration {config['id']} of network interface {nic} is IPv6 and cannot "
                                    "be the primary one: the primary ip configuration of a NIC is IPv4.")


def nat_rule_in_use(rule_id: str, user: str, config_id: str, target: str) -> ArmError:
    # (unverified code) named after Azure's verified PublicIPReferencedByMultipleIPConfigs.
    return ArmError(400, "InboundNatRuleReferencedByMultipleIPConfigs",
                    f"Inbound NAT rule {rule_id} is already used by ip configuration {user}; it cannot also be used by "
                    f"{config_id}. An inbound NAT rule forwards to a single ip configuration.", target=target)


def check_nat_rule_free(ctx: Context, rule_id: str, nic_id: str, config_id: str, target: str) -> None:
    """A (v1) inbound NAT rule forwards to one ip configuration; other NICs must not hold it."""
    for _, other in nic_ip_configurations(ctx):
        if other["id"].lower().startswith(nic_id.lower() + "/"):
            continue
        if any(same_id(ref.get("id"), rule_id) for ref in other.get("properties", {}).get("loadBalancerInboundNatRules") or []):
            raise nat_rule_in_use(rule_id, other["id"], config_id, target)


def check_exclusive(configs: list[dict], key: str) -> None:
    """Within one NIC, a NAT rule or public IP may serve only one ip configuration too."""
    holders: dict[str, str] = {}
    for index, config in enumerate(configs):
        value = config["properties"].get(key)
        for ref in value if isinstance(value, list) else [value] if value else []:
            holder = holders.setdefault(ref["id"].lower(), config["id"])
            if holder != config["id"]:
                target = f"properties.ipConfigurations[{index}].properties.{key}"
                if key == "publicIPAddress":
                    raise ArmError(400, "PublicIPReferencedByMultipleIPConfigs",
                                   f"Public ip address {ref['id']} is referenced by multiple ipconfigs: {holder} and "
                                   f"{config['id']}.", target=target)
                raise nat_rule_in_use(ref["id"], holder, config["id"], target)


def dns_settings(value, vnet_id: str) -> dict:
    target = "properties.dnsSettings"
    if value is not None and not isinstance(value, dict):
        raise invalid_parameter(target, f"Property '{target}' must be an object.")
    value = without(value or {}, "appliedDnsServers", "internalFqdn", "internalDomainNameSuffix")
    servers = dns_servers(value.get("dnsServers"), f"{target}.dnsServers")
    # Azure gives every VNet its own internal DNS zone.
    suffix = f"{stable_hex(vnet_id.lower(), length=26)}.{DNS_SUFFIX}"
    settings = {**value, "dnsServers": servers, "appliedDnsServers": list(servers), "internalDomainNameSuffix": suffix}
    if value.get("internalDnsNameLabel"):
        settings["internalFqdn"] = f"{value['internalDnsNameLabel']}.{suffix}"
    return settings


def mac_address(nic_id: str) -> str:
    """A MAC in Azure's format, stable for a NIC ID."""
    tail = stable_hex("mac", nic_id.lower(), length=6).upper()
    return f"{MAC_PREFIX}-{tail[0:2]}-{tail[2:4]}-{tail[4:6]}"


def attached_vm(ctx: Context, nic_id: str) -> tuple[str, bool] | None:
    """(VM ID, whether this is the VM's primary NIC) of the VM whose network profile lists the NIC."""
    for vm_id, vm in ctx.list(VM_TYPE):
        entries = ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []
        for index, entry in enumerate(entries):
            if same_id(entry.get("id"), nic_id):
                primary = (entry.get("properties") or {}).get("primary")
                return vm_id, bool(primary) if primary is not None else index == 0
    return None


def primary_ip_configuration(nic: dict) -> dict | None:
    """The NIC's primary ip configuration (its first when none says so); None if it has none."""
    configs = (nic.get("properties") or {}).get("ipConfigurations") or []
    return next((c for c in configs if (c.get("properties") or {}).get("primary")), configs[0] if configs else None)
