"""Address versions across resources. Azure forwards IPv4 to IPv4 and IPv6 to IPv6 (no NAT64):
a load-balancing rule's frontend and the ip configurations of its pool share a version, and a
pool holds one version, so a dual-stack tier has a pool and rules per version. Both sides are
checked, since either may come second: the LB's rules when the LB is written, the pool's
members when a NIC joins it."""

from __future__ import annotations

from azlab.models.base import Context
from azlab.models.errors import ArmError
from azlab.models.ids import same_id
from azlab.models.network.backrefs import nic_ip_configurations


def config_version(config: dict) -> str:
    """A NIC ip configuration's or LB frontend's ``privateIPAddressVersion`` (IPv4 when absent)."""
    return (config.get("properties") or {}).get("privateIPAddressVersion") or "IPv4"


def frontend_version(ctx: Context, frontend: dict) -> str:
    """The version an LB frontend serves: its public IP's, else its private address's."""
    pip_id = ((frontend.get("properties") or {}).get("publicIPAddress") or {}).get("id")
    if pip_id:
        pip = ctx.get(pip_id) or {}
        return (pip.get("properties") or {}).get("publicIPAddressVersion") or "IPv4"
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


def rule_mismatch(rule_id: str, rule_version: str, config_id: str, version: str, target: str) -> ArmError:
    # (unverified code) Azure refuses it (azure-cli#27013); its code is not documented
    return ArmError(400, "LoadBalancingRuleFrontendAndBackendIpVersionMismatch",
                    f"Load balancing rule {rule_id} has a {rule_version} frontend, but ip configuration {config_id} of "
                    f"its backend pool is {version}: a rule forwards to ip configurations of its frontend's version.",
                    target=target)


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

