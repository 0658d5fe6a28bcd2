"""Address versions across resources. Azure forwards IPv4 to IPv4 and IPv6 to IPv6 (no NAT64):
a load-balancing rule's frontend and the ip configurations of its pool share a version, and a
pool holds one version, so a dual-stack tier has a pool and rules per version. Both sides are
checked, since either may come second: the LB's rules when the LB is written, the pool's
members when a NIC joins it."""

from __future__ import annotations

import ipaddress

from azlab.models.base import Context
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.backrefs import nic_ip_configurations
from azlab.models.network.lb_members import nic_members
from azlab.models.network.values import version_name


def config_version(config: dict) -> str:
    """A NIC ip configuration's or LB frontend's ``privateIPAddressVersion`` (IPv4 when absent)."""
    return (config.get("properties") or {}).get("privateIPAddressVersion") or "IPv4"


def public_ip_version(pip: dict) -> str:
    return (pip.get("properties") or {}).get("publicIPAddressVersion") or "IPv4"


def frontend_version(ctx: Context, frontend: dict) -> str:
    """The version an LB frontend serves: its public IP's, else its private address's."""
    pip_id = ((frontend.get("properties") or {}).get("publicIPAddress") or {}).get("id")
    if pip_id:
        return public_ip_version(ctx.get(pip_id) or {})
    return config_version(frontend)


def pool_members(ctx: Context, pool_id: str, skip_nic: str | None = None) -> list[tuple[str, str]]:
    """(ip configuration ID, version) of the NIC ip configurations in a pool, leaving out those
    of ``skip_nic`` (the NIC being written: its stored configurations are being replaced)."""
    out = []
    for _, config in nic_ip_configurations(ctx):
        if skip_nic and config["id"].lower().startswith(skip_nic.lower() + "/"):
            continue
        pools = (config.get("properties") or {}).get("loadBalancerBackendAddressPools") or []
        if any(same_id(ref.get("id"), pool_id) for ref in pools):
            out.append((config["id"], config_version(config)))
    return out


def pool_rules(ctx: Context, pool_id: str) -> list[tuple[str, str]]:
    """(rule ID, frontend version) of the load-balancing rules that use a pool."""
    lb = ctx.get(pool_id.rsplit("/backendAddressPools/", 1)[0]) or {}
    props = lb.get("properties") or {}
    frontends = {f["id"].lower(): f for f in props.get("frontendIPConfigurations", [])}
    out = []
    for rule in props.get("loadBalancingRules", []):
        rp = rule["properties"]
        pools = [rp.get("backendAddressPool") or {}, *(rp.get("backendAddressPools") or [])]
        frontend = frontends.get(((rp.get("frontendIPConfiguration") or {}).get("id") or "").lower())
        if frontend and any(same_id(ref.get("id"), pool_id) for ref in pools):
            out.append((rule["id"], frontend_version(ctx, frontend)))
    return out


def mixed_pool(pool_id: str, config_id: str, version: str, other_id: str, other_version: str, target: str) -> ArmError:
    # (unverified code) named after Azure's verified scale-set code
    # AllNicIpConfigurationsOfLbBackendPoolOnVMScaleSetMustHaveSamePrivateIpAddressVersion
    return ArmError(400, "AllNicIpConfigurationsOfLbBackendPoolMustHaveSamePrivateIpAddressVersion",
                    f"IP configuration {config_id} has privateIpAddressVersion {version} that does not match with "
                    f"privateIpAddressVersion {other_version} of ipConfiguration {other_id} in the same load balancer "
                    f"backend address pool {pool_id}.", target=target)


def rule_mismatch(rule_id: str, rule_version: str, backend: str, version: str, target: str) -> ArmError:
    """A load-balancing rule (or inbound NAT rule) and a backend of another version."""
    # (unverified codes) Azure refuses both (azure-cli#27013); the codes are not documented
    nat = "/inboundNatRules/" in rule_id
    code = ("InboundNatRuleFrontendAndBackendIpVersionMismatch" if nat
            else "LoadBalancingRuleFrontendAndBackendIpVersionMismatch")
    return ArmError(400, code, f"{'Inbound NAT' if nat else 'Load balancing'} rule {rule_id} has a {rule_version} "
                               f"frontend, but its backend {backend} is {version}: a rule forwards to backends of its "
                               "frontend's version.", target=target)


def nat_rule_version(ctx: Context, rule_id: str) -> str | None:
    """The version of an inbound NAT rule's frontend (None when the rule is not found)."""
    lb = ctx.get(rule_id.rsplit("/inboundNatRules/", 1)[0]) or {}
    props = lb.get("properties") or {}
    rule = next((r for r in props.get("inboundNatRules", []) if same_id(r["id"], rule_id)), None)
    frontend_id = (((rule or {}).get("properties") or {}).get("frontendIPConfiguration") or {}).get("id")
    frontend = next((f for f in props.get("frontendIPConfigurations", []) if same_id(f["id"], frontend_id)), None)
    return frontend_version(ctx, frontend) if frontend else None


def check_nat_rule(ctx: Context, rule_id: str, config_id: str, version: str, target: str) -> None:
    """An ip configuration takes an inbound NAT rule of its own version only."""
    rule_version = nat_rule_version(ctx, rule_id)
    if rule_version and rule_version != version:
        raise rule_mismatch(rule_id, rule_version, config_id, version, target)


def check_joining_pool(ctx: Context, pool_id: str, nic_id: str, config_id: str, version: str, target: str) -> None:
    """A NIC ip configuration joins a pool only with the version of the pool's other members
    and of the rules that use the pool."""
    for other_id, other_version in pool_members(ctx, pool_id, skip_nic=nic_id):
        if other_version != version:
            raise mixed_pool(pool_id, config_id, version, other_id, other_version, target)
    for rule_id, rule_version in pool_rules(ctx, pool_id):
        if rule_version != version:
            raise rule_mismatch(rule_id, rule_version, config_id, version, target)


def check_nic_pools(configs: list[dict]) -> None:
    """Within one NIC too, the ip configurations in one pool share a version."""
    seen: dict[str, tuple[str, str]] = {}
    for index, config in enumerate(configs):
        for ref in config["properties"].get("loadBalancerBackendAddressPools") or []:
            other_id, other_version = seen.setdefault(ref["id"].lower(), (config["id"], config_version(config)))
            if other_version != config_version(config):
                raise mixed_pool(ref["id"], config["id"], config_version(config), other_id, other_version,
                                 f"properties.ipConfigurations[{index}].properties.loadBalancerBackendAddressPools")



def check_lb_versions(ctx: Context, lb_id: ResourceId, built: dict) -> None:
    """An IPv6 frontend needs an IPv4 one beside it; each rule and NAT rule forwards to backends
    (NIC ip configurations, IP-based pool addresses) of its frontend's version."""
    versions = {f["id"].lower(): frontend_version(ctx, f) for f in built["frontendIPConfigurations"]}
    if "IPv6" in versions.values() and "IPv4" not in versions.values():
        raise ArmError(400, "AtleastOneIpV4RequiredForIpV6LbFrontendIpConfiguration",
                       "At least one IPv4 frontend ipConfiguration is required for an IPv6 frontend ipConfiguration on "
                       f"the load balancer {lb_id}.", target="properties.frontendIPConfigurations")
    pools = {pool["id"].lower(): pool for pool in built["backendAddressPools"]}
    for index, rule in enumerate(built["loadBalancingRules"]):
        version = versions[rule["properties"]["frontendIPConfiguration"]["id"].lower()]
        for position, ref in enumerate(rule["properties"].get("backendAddressPools") or []):
            target = f"properties.loadBalancingRules[{index}].properties.backendAddressPools[{position}]"
            addresses = (pools[ref["id"].lower()]["properties"].get("loadBalancerBackendAddresses") or [])
            backends = [*pool_members(ctx, ref["id"]),
                        *((f"{ref['id']}/loadBalancerBackendAddresses/{a['name']}",
                           version_name(ipaddress.ip_address(a["properties"]["ipAddress"])))
                          for a in addresses if a["properties"].get("ipAddress"))]
            for backend, backend_version in backends:
                if backend_version != version:
                    raise rule_mismatch(rule["id"], version, backend, backend_version, target)
    members = nic_members(ctx, str(lb_id))
    for index, rule in enumerate(built["inboundNatRules"]):
        version = versions[rule["properties"]["frontendIPConfiguration"]["id"].lower()]
        for _, config in members.get(rule["id"].lower(), []):
            if config_version(config) != version:
                raise rule_mismatch(rule["id"], version, config["id"], config_version(config),
                                    f"properties.inboundNatRules[{index}].properties.frontendIPConfiguration")
