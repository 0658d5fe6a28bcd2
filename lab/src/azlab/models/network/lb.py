"""Load balancers: frontends, backend pools, probes, load-balancing rules, inbound NAT
rules and pools, outbound rules — all embedded in the LB's body as in Azure. The rules'
child route and their health API are ``lb_health.py``; the NAT rules scale set instances
get from the NAT pools are ``lb_nat_pools.py``.

Which NIC ip configurations sit in a pool, or behind a NAT rule, is declared on the NIC;
the LB shows it (``backendIPConfigurations``, ``backendIPConfiguration``) on read. The
data plane turns the rendered LB into HAProxy config and records probe transitions with
``Store.record_health``; the health API reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from azlab.models.base import Context, ResourceType, find_named, resource_guid
from azlab.models.errors import ArmError, invalid_parameter, invalid_reference, missing_property
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.addressing import assign_private_ip
from azlab.models.network.backrefs import nic_ip_configurations, require_unshared_public_ip
from azlab.models.network.ipversions import check_lb_versions
from azlab.models.network.lb_members import backend_name, nic_members, references_pool, render_pool
from azlab.models.network.lb_nat_pools import HELD, derived_rules, holds
from azlab.models.network.common import (
    CHILD_NAMES, LB_TYPE, MIN_API_VERSION, child_body, EmbeddedType, ReadOnlyEmbeddedType, sub, without,
)
from azlab.models.network.values import (
    bool_value, children_of, enum_value, int_value, ip_address, ip_version, props_of, ref_id, ref_ids, sku_of,
    zones_value,
)

FRONTEND_TYPE = LB_TYPE + "/frontendIPConfigurations"
POOL_TYPE = LB_TYPE + "/backendAddressPools"
PROBE_TYPE = LB_TYPE + "/probes"
RULE_TYPE = LB_TYPE + "/loadBalancingRules"
NAT_RULE_TYPE = LB_TYPE + "/inboundNatRules"
NAT_POOL_TYPE = LB_TYPE + "/inboundNatPools"
OUTBOUND_TYPE = LB_TYPE + "/outboundRules"

SKUS = ("Basic", "Standard", "Gateway")
TRANSPORTS = ("Tcp", "Udp", "All")
PROBE_PROTOCOLS = ("Http", "Https", "Tcp")
DISTRIBUTIONS = ("Default", "SourceIP", "SourceIPProtocol")
ADMIN_STATES = ("None", "Up", "Down")
# probeThreshold exists from this api-version on; older clients cannot send it.
PROBE_THRESHOLD_API = "2022-05-01"

LB_READ_ONLY = ("provisioningState", "resourceGuid")
FRONTEND_READ_ONLY = ("provisioningState", "loadBalancingRules", "inboundNatRules", "inboundNatPools", "outboundRules")
POOL_READ_ONLY = ("provisioningState", "backendIPConfigurations", "loadBalancingRules", "outboundRule", "outboundRules",
                  "inboundNatRules")
ADDRESS_READ_ONLY = ("provisioningState", "networkInterfaceIPConfiguration", "inboundNatRulesPortMapping")
# The LB's children in build order: (property, type, Builder method).
CHILDREN = (
    ("frontendIPConfigurations", FRONTEND_TYPE, "frontend"),
    ("backendAddressPools", POOL_TYPE, "pool"),
    ("probes", PROBE_TYPE, "probe"),
    ("loadBalancingRules", RULE_TYPE, "rule"),
    ("inboundNatRules", NAT_RULE_TYPE, "nat_rule"),
    ("inboundNatPools", NAT_POOL_TYPE, "nat_pool"),
    ("outboundRules", OUTBOUND_TYPE, "outbound_rule"),
)


class LoadBalancers(ResourceType):
    full_type = LB_TYPE
    min_api_version = MIN_API_VERSION

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        return self.build_holding(ctx, rid, body, existing, (existing or {}).get(HELD) or {})

    def build_holding(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None,
                      held: dict[str, dict]) -> dict:
        """The build, with ``held`` as the NAT rules scale set instances hold on the LB's pools
        (``lb_nat_pools``; a PUT keeps the ones it had)."""
        out = self.base_body(ctx, rid, body, existing)
        out["sku"] = sku_of(body.get("sku"), (existing or {}).get("sku"), SKUS, str(rid))
        props = without(props_of(body, "properties"), *LB_READ_ONLY)
        # a body read back (GET, then PUT) lists the rules held so far: they are made again, not read
        echoed = {name.lower() for name in (existing or {}).get(HELD) or {}}
        builder = Builder(ctx, rid, out["etag"], out["sku"]["name"], (existing or {}).get("properties", {}),
                          held=held, echoed=echoed)
        props.update(builder.build(props))
        guid = (existing or {}).get("properties", {}).get("resourceGuid") or resource_guid()
        out["properties"] = {"provisioningState": "Succeeded", "resourceGuid": guid, **props}
        if builder.held:
            out[HELD] = builder.held
        return out

    def render(self, ctx: Context, body: dict) -> dict:
        members = nic_members(ctx, body["id"])
        props = body["properties"]
        for pool in props.get("backendAddressPools", []):
            render_pool(pool, members.get(pool["id"].lower(), []))
        for rule in props.get("inboundNatRules", []):
            users = members.get(rule["id"].lower())
            if users:
                rule["properties"]["backendIPConfiguration"] = sub(users[0][1]["id"])
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        in_use = next(iter(nic_members(ctx, body["id"]).items()), None)
        if in_use:
            child_id, users = in_use
            raise ArmError(400, "InUseLoadBalancerCannotBeDeleted",
                           f"Load balancer {body['id']} cannot be deleted because its child resource {child_id} is in "
                           f"use by {users[0][1]['id']}. Remove the association first.")

    def describe(self, ctx: Context, body: dict) -> str:
        props = body["properties"]
        return (f"{body['sku']['name']}; {len(props.get('frontendIPConfigurations', []))} frontends, "
                f"{len(props.get('loadBalancingRules', []))} rules, {len(props.get('inboundNatRules', []))} NAT rules")


@dataclass
class Builder:
    """Validates one LB PUT: every child, the references between children, port clashes."""

    ctx: Context
    rid: ResourceId
    etag: str
    sku: str
    old: dict
    names: dict[str, list[str]] = field(default_factory=dict)
    #: (frontend id, protocols, first port, last port, rule id, target) of every inbound mapping
    ports: list[tuple[str, set[str], int, int, str, str]] = field(default_factory=list)
    #: the NAT rules scale set instances hold on the pools (``lb_nat_pools.HELD``)
    held: dict[str, dict] = field(default_factory=dict)
    #: lower-case names of the rules held before this build
    echoed: set[str] = field(default_factory=set)

    def build(self, props: dict) -> dict:
        items = {kind: children_of(props, kind, f"properties.{kind}") for kind, _, _ in CHILDREN}
        items["inboundNatRules"] = [item for item in items["inboundNatRules"]
                                    if item["name"].lower() not in self.echoed]
        self.names = {kind: [item["name"] for item in items[kind]] for kind in items}
        built = {kind: self.each(items[kind], kind, child_type, getattr(self, method))
                 for kind, child_type, method in CHILDREN}
        derived, self.held = derived_rules(built["inboundNatPools"], built["inboundNatRules"], self.held)
        built["inboundNatRules"] += [child_body(str(self.rid), self.etag, NAT_RULE_TYPE, name, rule)
                                     for name, rule in derived]
        self.check_ports()  # the held rules' ports lie in their pool's range, which it checks
        self.check_public_ips(built["frontendIPConfigurations"])
        check_lb_versions(self.ctx, self.rid, built)
        self.check_nic_references(built)
        add_back_references(built)
        return built

    def each(self, items: list[dict], kind: str, child_type: str, build_one) -> list[dict]:
        out, taken = [], {}
        for index, item in enumerate(items):
            target = f"properties.{kind}[{index}]"
            name = item["name"]
            CHILD_NAMES.check(name, child_type)
            child_id = str(self.rid.child(kind, name))
            props = build_one(without(props_of(item, f"{target}.properties"), "provisioningState"), child_id,
                              f"{target}.properties", taken)
            child = child_body(str(self.rid), self.etag, child_type, name, props)
            if kind == "frontendIPConfigurations" and item.get("zones") is not None:
                child["zones"] = zones_value(item["zones"], f"{target}.zones")  # Azure echoes them
            out.append(child)
        return out

    def local(self, value, kind: str, child_id: str, target: str, required: bool = True) -> str | None:
        """A reference to a sibling of this LB (e.g. a rule's probe) must name one in this body."""
        referenced = ref_id(value, target)
        if referenced is None:
            if required:
                raise missing_property(f"{target}.id", child_id.rsplit("/", 2)[-2])
            return None
        if not any(same_id(referenced, str(self.rid.child(kind, name))) for name in self.names[kind]):
            raise invalid_reference(referenced, child_id, f"{target}.id")
        return referenced

    # -- children ------------------------------------------------------------------------

    def frontend(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        props = without(props, *FRONTEND_READ_ONLY)
        pip_id = ref_id(props.get("publicIPAddress"), f"{target}.publicIPAddress")
        subnet_id = ref_id(props.get("subnet"), f"{target}.subnet")
        if bool(pip_id) == bool(subnet_id):
            raise invalid_parameter(target, f"Frontend IP configuration {child_id} must reference either a public IP "
                                            "address or a subnet.")
        if pip_id:
            pip = self.ctx.require_reference(pip_id, child_id, f"{target}.publicIPAddress.id")
            if pip["sku"]["name"] != self.sku:
                raise ArmError(400, "DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed",
                               f"Cannot mix public IP address {pip_id} of SKU {pip['sku']['name']} with load "
                               f"balancer {self.rid} of SKU {self.sku}; both SKUs must match.",
                               target=f"{target}.publicIPAddress.id")
            props["publicIPAddress"] = sub(pip_id)
            props["privateIPAllocationMethod"] = "Dynamic"
            return props
        subnet = self.ctx.require_reference(subnet_id, child_id, f"{target}.subnet.id")
        method = enum_value(props.get("privateIPAllocationMethod"), ("Static", "Dynamic"),
                            f"{target}.privateIPAllocationMethod", "Dynamic")
        old = find_named(self.old.get("frontendIPConfigurations", []), child_id.rsplit("/", 1)[1])
        current = old["properties"].get("privateIPAddress") if old and same_id(
            (old["properties"].get("subnet") or {}).get("id"), subnet_id) else None
        version = ip_version(props.get("privateIPAddressVersion"), f"{target}.privateIPAddressVersion")
        address = assign_private_ip(self.ctx, subnet_id, subnet, method, props.get("privateIPAddress"), current,
                                    taken, str(self.rid), child_id, target, version)
        taken[address] = child_id
        props.update(subnet=sub(subnet_id), privateIPAddress=address, privateIPAllocationMethod=method,
                     privateIPAddressVersion=version)
        return props

    def pool(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        props = without(props, *POOL_READ_ONLY)
        members = {backend_name(config): config for _, config in nic_ip_configurations(self.ctx)
                   if references_pool(config, child_id)}
        addresses = children_of(props, "loadBalancerBackendAddresses", f"{target}.loadBalancerBackendAddresses")
        props["loadBalancerBackendAddresses"] = [
            address for index, item in enumerate(addresses)
            if (address := self.backend_address(item, members, child_id,
                                                f"{target}.loadBalancerBackendAddresses[{index}]")) is not None
        ]
        return props

    def backend_address(self, item: dict, members: dict, pool_id: str, target: str) -> dict | None:
        """An IP-based backend, or the admin state of a NIC-based one (named as Azure names it).

        A NIC-based entry whose admin state is None says nothing the NIC does not, so it is
        not stored; the rendered pool shows it again."""
        props = without(props_of(item, f"{target}.properties"), *ADDRESS_READ_ONLY)
        props["adminState"] = enum_value(props.get("adminState"), ADMIN_STATES, f"{target}.properties.adminState", "None")
        if props.get("ipAddress"):
            ip_address(props["ipAddress"], f"{target}.properties.ipAddress")
            network = ref_id(props.get("virtualNetwork"), f"{target}.properties.virtualNetwork")
            subnet = ref_id(props.get("subnet"), f"{target}.properties.subnet")
            if not network and not subnet:
                raise missing_property(f"{target}.properties.virtualNetwork", POOL_TYPE)
            for key, referenced in (("virtualNetwork", network), ("subnet", subnet)):
                if referenced:
                    self.ctx.require_reference(referenced, pool_id, f"{target}.properties.{key}.id")
                    props[key] = sub(referenced)
            return {"name": item["name"], "properties": props}
        if item["name"] not in members:
            if self.was_stored(pool_id, item["name"]):
                return None  # its NIC left the pool since; the admin state went with it
            raise invalid_parameter(f"{target}.name", f"Backend address '{item['name']}' of pool {pool_id} has no "
                                                      "ipAddress and names no NIC ip configuration in the pool.")
        if props["adminState"] == "None":
            return None
        return {"name": item["name"], "properties": {"adminState": props["adminState"]}}

    def was_stored(self, pool_id: str, address_name: str) -> bool:
        pool = find_named(self.old.get("backendAddressPools", []), pool_id.rsplit("/", 1)[1])
        return pool is not None and find_named(pool["properties"].get("loadBalancerBackendAddresses", []),
                                               address_name) is not None

    def probe(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        props = without(props, "loadBalancingRules")
        if props.get("protocol") in (None, ""):
            raise missing_property(f"{target}.protocol", PROBE_TYPE)
        protocol = enum_value(props["protocol"], PROBE_PROTOCOLS, f"{target}.protocol")
        if props.get("port") is None:
            raise missing_property(f"{target}.port", PROBE_TYPE)
        path = props.get("requestPath")
        if protocol == "Tcp" and path:
            raise invalid_parameter(f"{target}.requestPath", f"Probe {child_id} uses protocol Tcp, which takes no "
                                                             "requestPath.")
        if protocol != "Tcp" and (not isinstance(path, str) or not path.startswith("/")):
            raise invalid_parameter(f"{target}.requestPath", f"Probe {child_id} uses protocol {protocol} and needs a "
                                                             "requestPath starting with '/'.")
        props.update(
            protocol=protocol,
            port=int_value(props["port"], 1, 65535, f"{target}.port"),
            intervalInSeconds=int_value(props.get("intervalInSeconds"), 5, 2147483646, f"{target}.intervalInSeconds", 15),
            numberOfProbes=int_value(props.get("numberOfProbes"), 1, 2147483646, f"{target}.numberOfProbes", 2),
        )
        api = self.ctx.api_version
        if api and api[:10] < PROBE_THRESHOLD_API:
            props.pop("probeThreshold", None)
        else:
            props["probeThreshold"] = int_value(props.get("probeThreshold"), 1, 100, f"{target}.probeThreshold", 1)
        return props

    def rule(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        frontend = self.local(props.get("frontendIPConfiguration"), "frontendIPConfigurations", child_id,
                              f"{target}.frontendIPConfiguration")
        pool = self.local(props.get("backendAddressPool"), "backendAddressPools", child_id,
                          f"{target}.backendAddressPool", required=False)
        pools = [self.local(ref, "backendAddressPools", child_id, f"{target}.backendAddressPools[{i}]")
                 for i, ref in enumerate(props.get("backendAddressPools") or [])]
        # Azure takes a single plural entry as the pool (what `az network lb rule create`
        # sends) and answers with both fields
        if pool is None and len(pools) == 1:
            pool = pools[0]
        if pool is not None and not pools:
            pools = [pool]
        probe = self.local(props.get("probe"), "probes", child_id, f"{target}.probe", required=False)
        protocol = required_enum(props, "protocol", TRANSPORTS, target, RULE_TYPE)
        if props.get("frontendPort") is None:
            raise missing_property(f"{target}.frontendPort", RULE_TYPE)
        port = int_value(props["frontendPort"], 0, 65534, f"{target}.frontendPort")
        props.update(
            frontendIPConfiguration=sub(frontend),
            protocol=protocol,
            frontendPort=port,
            backendPort=int_value(props.get("backendPort"), 0, 65535, f"{target}.backendPort", port),
            idleTimeoutInMinutes=int_value(props.get("idleTimeoutInMinutes"), 4, 30, f"{target}.idleTimeoutInMinutes", 4),
            loadDistribution=enum_value(props.get("loadDistribution"), DISTRIBUTIONS, f"{target}.loadDistribution",
                                        "Default"),
            enableFloatingIP=bool_value(props.get("enableFloatingIP"), f"{target}.enableFloatingIP"),
            enableTcpReset=bool_value(props.get("enableTcpReset"), f"{target}.enableTcpReset"),
            disableOutboundSnat=bool_value(props.get("disableOutboundSnat"), f"{target}.disableOutboundSnat"),
        )
        for key, value in (("backendAddressPool", pool), ("probe", probe)):
            props.pop(key, None)
            if value:
                props[key] = sub(value)
        if pools:
            props["backendAddressPools"] = [sub(p) for p in pools]
        # frontend port 0 with protocol All is HA ports: every port of the frontend
        first, last = (0, 65535) if port == 0 else (port, port)
        self.ports.append((frontend.lower(), protocols(protocol), first, last, child_id, f"{target}.frontendPort"))
        return props

    def nat_rule(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        props = without(props, "backendIPConfiguration")
        frontend = self.local(props.get("frontendIPConfiguration"), "frontendIPConfigurations", child_id,
                              f"{target}.frontendIPConfiguration")
        protocol = required_enum(props, "protocol", TRANSPORTS, target, NAT_RULE_TYPE)
        if props.get("backendPort") is None:
            raise missing_property(f"{target}.backendPort", NAT_RULE_TYPE)
        props.update(
            frontendIPConfiguration=sub(frontend),
            protocol=protocol,
            backendPort=int_value(props["backendPort"], 1, 65535, f"{target}.backendPort"),
            idleTimeoutInMinutes=int_value(props.get("idleTimeoutInMinutes"), 4, 30, f"{target}.idleTimeoutInMinutes", 4),
            enableFloatingIP=bool_value(props.get("enableFloatingIP"), f"{target}.enableFloatingIP"),
            enableTcpReset=bool_value(props.get("enableTcpReset"), f"{target}.enableTcpReset"),
        )
        if props.get("frontendPortRangeStart") is not None:
            # NAT rule v2: a port range mapped onto the members of a backend pool
            pool = self.local(props.get("backendAddressPool"), "backendAddressPools", child_id,
                              f"{target}.backendAddressPool")
            first, last = self.port_range(props, target)
            props["backendAddressPool"] = sub(pool)
        else:
            if props.get("frontendPort") is None:
                raise missing_property(f"{target}.frontendPort", NAT_RULE_TYPE)
            first = last = props["frontendPort"] = int_value(props["frontendPort"], 1, 65534, f"{target}.frontendPort")
        self.ports.append((frontend.lower(), protocols(protocol), first, last, child_id, f"{target}.frontendPort"))
        return props

    def nat_pool(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        frontend = self.local(props.get("frontendIPConfiguration"), "frontendIPConfigurations", child_id,
                              f"{target}.frontendIPConfiguration")
        protocol = required_enum(props, "protocol", TRANSPORTS, target, NAT_POOL_TYPE)
        if props.get("frontendPortRangeStart") is None or props.get("backendPort") is None:
            raise missing_property(f"{target}.frontendPortRangeStart", NAT_POOL_TYPE)
        first, last = self.port_range(props, target)
        props.update(
            frontendIPConfiguration=sub(frontend),
            protocol=protocol,
            backendPort=int_value(props["backendPort"], 1, 65535, f"{target}.backendPort"),
            idleTimeoutInMinutes=int_value(props.get("idleTimeoutInMinutes"), 4, 30, f"{target}.idleTimeoutInMinutes", 4),
            enableFloatingIP=bool_value(props.get("enableFloatingIP"), f"{target}.enableFloatingIP"),
            enableTcpReset=bool_value(props.get("enableTcpReset"), f"{target}.enableTcpReset"),
        )
        self.ports.append((frontend.lower(), protocols(protocol), first, last, child_id, f"{target}.frontendPortRangeStart"))
        return props

    def outbound_rule(self, props: dict, child_id: str, target: str, taken: dict) -> dict:
        frontends = ref_ids(props.get("frontendIPConfigurations"), f"{target}.frontendIPConfigurations")
        if not frontends:
            raise missing_property(f"{target}.frontendIPConfigurations", OUTBOUND_TYPE)
        for index, frontend in enumerate(frontends):
            self.local(sub(frontend), "frontendIPConfigurations", child_id, f"{target}.frontendIPConfigurations[{index}]")
        pool = self.local(props.get("backendAddressPool"), "backendAddressPools", child_id, f"{target}.backendAddressPool")
        props.update(
            frontendIPConfigurations=[sub(f) for f in frontends],
            backendAddressPool=sub(pool),
            protocol=required_enum(props, "protocol", TRANSPORTS, target, OUTBOUND_TYPE),
            allocatedOutboundPorts=int_value(props.get("allocatedOutboundPorts"), 0, 64000,
                                             f"{target}.allocatedOutboundPorts", 0),
            idleTimeoutInMinutes=int_value(props.get("idleTimeoutInMinutes"), 4, 120, f"{target}.idleTimeoutInMinutes", 4),
            enableTcpReset=bool_value(props.get("enableTcpReset"), f"{target}.enableTcpReset"),
        )
        return props

    # -- rules across children -----------------------------------------------------------------

    def port_range(self, props: dict, target: str) -> tuple[int, int]:
        first = props["frontendPortRangeStart"] = int_value(props["frontendPortRangeStart"], 1, 65534,
                                                            f"{target}.frontendPortRangeStart")
        if props.get("frontendPortRangeEnd") is None:
            raise missing_property(f"{target}.frontendPortRangeEnd", NAT_RULE_TYPE)
        last = props["frontendPortRangeEnd"] = int_value(props["frontendPortRangeEnd"], first, 65534,
                                                         f"{target}.frontendPortRangeEnd")
        return first, last

    def check_ports(self) -> None:
        """One frontend port and protocol maps to one rule (LB rules, NAT rules and NAT pools alike)."""
        for index, (frontend, protos, first, last, rule_id, target) in enumerate(self.ports):
            for other_frontend, other_protos, other_first, other_last, other_id, _ in self.ports[:index]:
                if frontend == other_frontend and protos & other_protos and first <= other_last and other_first <= last:
                    # (unverified code) named after Azure's verified RulesUseSameBackendPortProtocolAndIPConfig.
                    raise ArmError(400, "RulesUseSameFrontendPortProtocolAndIPConfig",
                                   f"Load balancer rules {other_id} and {rule_id} use the same frontend IP "
                                   f"configuration {frontend}, protocol and frontend port {first}.", target=target)

    def check_public_ips(self, frontends: list[dict]) -> None:
        seen: set[str] = set()
        for index, frontend in enumerate(frontends):
            pip = (frontend["properties"].get("publicIPAddress") or {}).get("id")
            if not pip:
                continue
            target = f"properties.frontendIPConfigurations[{index}].properties.publicIPAddress.id"
            if pip.lower() in seen:
                raise ArmError(400, "PublicIPReferencedByMultipleIPConfigs",
                               f"Public ip address {pip} is referenced by multiple ipconfigs in resource {self.rid}.",
                               target=target)
            seen.add(pip.lower())
            require_unshared_public_ip(self.ctx, pip, str(self.rid), target)

    def check_nic_references(self, built: dict) -> None:
        """Pools and NAT rules NICs point at cannot disappear from under them."""
        kept = {child["id"].lower() for kind in ("backendAddressPools", "inboundNatRules") for child in built[kind]}
        prefix = str(self.rid).lower() + "/"
        for _, config in nic_ip_configurations(self.ctx):
            props = config.get("properties", {})
            for key, kind in (("loadBalancerBackendAddressPools", "backendAddressPools"),
                              ("loadBalancerInboundNatRules", "inboundNatRules")):
                for ref in props.get(key) or []:
                    if ref["id"].lower().startswith(prefix) and ref["id"].lower() not in kept:
                        raise invalid_reference(ref["id"], config["id"], f"properties.{kind}")


def required_enum(props: dict, key: str, allowed: tuple[str, ...], target: str, rtype: str) -> str:
    if props.get(key) in (None, ""):
        raise missing_property(f"{target}.{key}", rtype)
    return enum_value(props[key], allowed, f"{target}.{key}")


def protocols(protocol: str) -> set[str]:
    return {"Tcp", "Udp"} if protocol == "All" else {protocol}


def add_back_references(built: dict) -> None:
    """Within one LB Azure shows which rules use each frontend, pool and probe."""
    by_id = {child["id"].lower(): child for kind in ("frontendIPConfigurations", "backendAddressPools", "probes")
             for child in built[kind]}
    links = (
        ("loadBalancingRules", ("frontendIPConfiguration", "backendAddressPool", "backendAddressPools", "probe")),
        ("inboundNatRules", ("frontendIPConfiguration",)),
        ("inboundNatPools", ("frontendIPConfiguration",)),
        ("outboundRules", ("frontendIPConfigurations", "backendAddressPool")),
    )
    for kind, keys in links:
        for rule in built[kind]:
            for key in keys:
                value = rule["properties"].get(key)
                for ref in value if isinstance(value, list) else [value] if value else []:
                    target = by_id[ref["id"].lower()]["properties"].setdefault(kind, [])
                    if sub(rule["id"]) not in target:
                        target.append(sub(rule["id"]))


# -- child types -------------------------------------------------------------------------------


class FrontendIPConfigurations(ReadOnlyEmbeddedType):
    full_type = FRONTEND_TYPE
    embedded_in = "frontendIPConfigurations"


class BackendAddressPools(EmbeddedType):
    full_type = POOL_TYPE
    embedded_in = "backendAddressPools"


class Probes(ReadOnlyEmbeddedType):
    full_type = PROBE_TYPE
    embedded_in = "probes"


class InboundNatRules(EmbeddedType):
    full_type = NAT_RULE_TYPE
    embedded_in = "inboundNatRules"

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """A rule a scale set instance holds goes with the instance (a PUT of the LB keeps it)."""
        if holds(ctx.get(str(rid.parent)) or {}, rid.name):
            # (unverified code) named after Azure's verified InUseLoadBalancerCannotBeDeleted
            raise ArmError(400, "InUseInboundNatRuleCannotBeDeleted",
                           f"Inbound NAT rule {body['id']} belongs to a scale set instance through its inbound NAT "
                           "pool; it goes when the instance goes.")


class InboundNatPools(ReadOnlyEmbeddedType):
    full_type = NAT_POOL_TYPE
    embedded_in = "inboundNatPools"


class OutboundRules(ReadOnlyEmbeddedType):
    full_type = OUTBOUND_TYPE
    embedded_in = "outboundRules"
