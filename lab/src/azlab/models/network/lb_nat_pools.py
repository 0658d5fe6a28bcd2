"""Inbound NAT pools as scale set instances use them: one frontend port of each pool per
instance, shown by the load balancer as an inbound NAT rule ``<pool>.<instance ID>``.

The rules belong to the scale set, as on Azure: the LB body keeps which exist, with their
ports and ip configurations (``HELD``: {rule name: {"port", "ipConfiguration"}}), and every
LB build makes them again from that and from the pools as they are then, so a PUT that does
not list them keeps them and a changed pool (backend port, protocol) reaches them. The
instance's NIC names its rules in ``loadBalancerInboundNatRules``, so the LB's render, its
NAT targets and the data plane treat them as any NAT rule.

Which port (the lab's rule; Azure documents none, see docs/lab.md): instance N takes
rangeStart + N when that port is in the range and free, else the lowest free port of the
range. An instance keeps its port for its life; it is freed when the instance goes.
"""

from __future__ import annotations

import copy

from azlab.models.base import Context, find_named
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId
from azlab.models.network.common import LB_TYPE, sub

#: the LB body's private record of the scale sets' NAT rules
HELD = "_nat_pool_rules"
#: what a NAT rule made from a pool copies from it
POOL_SETTINGS = ("frontendIPConfiguration", "protocol", "backendPort", "idleTimeoutInMinutes", "enableFloatingIP",
                 "enableTcpReset")


def rule_name(pool_name: str, instance_id: int | str) -> str:
    """Azure's name of the NAT rule an instance gets from a pool."""
    return f"{pool_name}.{instance_id}"


def split_rule_name(name: str) -> tuple[str, int]:
    """(pool name, instance ID) of a rule named by :func:`rule_name` (pool names may hold dots)."""
    pool_name, instance_id = name.rsplit(".", 1)
    return pool_name, int(instance_id)


def choose_port(first: int, last: int, instance_id: int, taken: set[int]) -> int | None:
    """The frontend port of ``first``-``last`` instance ``instance_id`` gets (None: none is free)."""
    preferred = first + instance_id
    if preferred <= last and preferred not in taken:
        return preferred
    return next((port for port in range(first, last + 1) if port not in taken), None)


def free_ports(lb: dict, pool: dict) -> int:
    """Ports of the pool's frontend range that no instance holds."""
    props = pool["properties"]
    held = sum(1 for name in lb.get(HELD) or {} if split_rule_name(name)[0].lower() == pool["name"].lower())
    return props["frontendPortRangeEnd"] - props["frontendPortRangeStart"] + 1 - held


def derived_rules(pools: list[dict], user_rules: list[dict],
                  held: dict[str, dict]) -> tuple[list[tuple[str, dict]], dict[str, dict]]:
    """([(rule name, rule properties)], what the LB then holds) for the rules ``held`` names,
    made from the LB's built ``pools``. A rule keeps its port while the pool's range holds it;
    a new rule (port None) or one whose port the range lost takes one by :func:`choose_port`."""
    pools_by_name = {pool["name"].lower(): (index, pool) for index, pool in enumerate(pools)}
    user_names = {rule["name"].lower() for rule in user_rules}
    taken: dict[str, set[int]] = {}
    placed: dict[str, dict] = {}
    for name, entry in held.items():
        pool_name, _ = split_rule_name(name)
        if pool_name.lower() not in pools_by_name:
            # (unverified code) named after Azure's verified InUseLoadBalancerCannotBeDeleted
            raise ArmError(400, "InUseInboundNatPoolCannotBeDeleted",
                           f"Inbound NAT pool {pool_name} cannot be removed: scale set instance ip configuration "
                           f"{entry['ipConfiguration']} uses it (inbound NAT rule {name}). Remove the pool from the "
                           "scale set's model and its instances first.", target="properties.inboundNatPools")
        if name.lower() in user_names:
            raise ArmError(400, "InvalidParameter", f"Inbound NAT rule {name} is the rule inbound NAT pool {pool_name} "
                           f"makes for ip configuration {entry['ipConfiguration']}; another rule cannot have its name.",
                           target="properties.inboundNatRules")
        props = pools_by_name[pool_name.lower()][1]["properties"]
        ports = taken.setdefault(pool_name.lower(), set())
        port = entry["port"]
        if port is not None and props["frontendPortRangeStart"] <= port <= props["frontendPortRangeEnd"] \
                and port not in ports:
            ports.add(port)
            placed[name] = entry
    for name, entry in held.items():
        if name in placed:
            continue
        pool_name, instance_id = split_rule_name(name)
        index, pool = pools_by_name[pool_name.lower()]
        props = pool["properties"]
        ports = taken[pool_name.lower()]
        port = choose_port(props["frontendPortRangeStart"], props["frontendPortRangeEnd"], instance_id, ports)
        if port is None:
            raise ArmError(400, "InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts",
                           f"The frontend port range of inbound NAT pool {pool['id']} "
                           f"({props['frontendPortRangeStart']}-{props['frontendPortRangeEnd']}) has no port left "
                           f"for ip configuration {entry['ipConfiguration']}: scale set instances hold every port.",
                           target=f"properties.inboundNatPools[{index}].properties.frontendPortRangeEnd")
        ports.add(port)
        placed[name] = {**entry, "port": port}
    rules = []
    for name in sorted(placed, key=lambda n: (split_rule_name(n)[0].lower(), split_rule_name(n)[1])):
        pool_props = pools_by_name[split_rule_name(name)[0].lower()][1]["properties"]
        rules.append((name, {**{key: copy.deepcopy(pool_props[key]) for key in POOL_SETTINGS if key in pool_props},
                             "frontendPort": placed[name]["port"]}))
    return rules, placed


def instance_ip_configuration(ctx: Context, nic_id: str, ip: dict, instance_id: int) -> dict:
    """An ip configuration of a scale set NIC configuration as its instance's NIC takes it: each
    inbound NAT pool it names becomes the instance's NAT rule of that pool (the LB holds them
    before the NIC is built, which requires them to exist)."""
    props = {key: value for key, value in ip["properties"].items() if key != "loadBalancerInboundNatPools"}
    pools = [ref["id"] for ref in ip["properties"].get("loadBalancerInboundNatPools") or []]
    if pools:
        config_id = f"{nic_id}/ipConfigurations/{ip['name']}"
        props["loadBalancerInboundNatRules"] = [sub(rule_id) for rule_id in _hold(ctx, pools, instance_id, config_id)]
    return {"name": ip["name"], "properties": props}


def _hold(ctx: Context, pool_ids: list[str], instance_id: int, config_id: str) -> list[str]:
    """The IDs of the rules the pools' LBs now hold for the ip configuration (ports chosen by the LB build)."""
    rule_ids = []
    by_lb: dict[str, list[str]] = {}
    for pool_id in pool_ids:
        rid = ResourceId.parse(pool_id)
        by_lb.setdefault(str(rid.parent), []).append(rid.name)
    for lb_id, pool_names in by_lb.items():
        lb = ctx.get(lb_id)
        held = dict(lb.get(HELD) or {})
        for pool_name in pool_names:
            name = rule_name(find_named(lb["properties"]["inboundNatPools"], pool_name)["name"], instance_id)
            holder = next((entry["ipConfiguration"] for other, entry in held.items() if other.lower() == name.lower()),
                          None)
            if holder is not None:
                # two scale sets on one pool with the same instance ID: the rule name is taken
                raise ArmError(400, "InvalidParameter", f"Inbound NAT pool {pool_name} of {lb_id} already holds rule "
                               f"{name} for ip configuration {holder} (another scale set's instance).",
                               target="virtualMachineProfile.networkProfile")
            held[name] = {"port": None, "ipConfiguration": config_id}
            rule_ids.append(f"{lb['id']}/inboundNatRules/{name}")
        _rebuild(ctx, lb, held)
    return rule_ids


def release(ctx: Context, owner_id: str) -> None:
    """Free the ports held for the ip configurations under ``owner_id`` (an instance, or a whole
    scale set), once their NICs are gone (an LB build refuses rules a NIC still names)."""
    prefix = owner_id.lower().rstrip("/") + "/"
    for _, lb in ctx.list(LB_TYPE):
        held = lb.get(HELD) or {}
        kept = {name: entry for name, entry in held.items() if not entry["ipConfiguration"].lower().startswith(prefix)}
        if len(kept) != len(held):
            _rebuild(ctx, lb, kept)


def _rebuild(ctx: Context, lb: dict, held: dict[str, dict]) -> None:
    """Build the stored LB again with ``held`` as its scale sets' rules, by the LB's own rules."""
    api_version, ctx.api_version = ctx.api_version, None  # the scale set's api-version says nothing of the LB's
    try:
        built = ctx.registry.find(LB_TYPE).build_holding(ctx, ResourceId.parse(lb["id"]), copy.deepcopy(lb), lb, held)
    finally:
        ctx.api_version = api_version
    ctx.store.put(built["id"], LB_TYPE, built)


def holds(lb: dict, name: str) -> bool:
    """Whether ``name`` is one of the LB's NAT rules that belong to a scale set."""
    return any(held.lower() == name.lower() for held in lb.get(HELD) or {})
