"""Scans that derive back-references on read: which NIC ip configurations and LB frontends
sit in a subnet or use a public IP."""

from __future__ import annotations

from typing import Iterator

from azlab.models.base import Context
from azlab.models.errors import ArmError
from azlab.models.ids import same_id
from azlab.models.network.common import LB_TYPE, NIC_TYPE, VNET_TYPE


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


def subnets_referencing(ctx: Context, key: str, target_id: str) -> list[str]:
    """IDs of the subnets whose ``key`` (networkSecurityGroup, routeTable, ...) points at ``target_id``."""
    return [subnet["id"] for _, vnet in ctx.list(VNET_TYPE) for subnet in vnet["properties"].get("subnets", [])
            if references(subnet["properties"], key, target_id)]
