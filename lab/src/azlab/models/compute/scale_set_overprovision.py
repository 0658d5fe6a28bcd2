"""Overprovisioning of a Uniform scale set (``overprovision: true``, Azure's default).

Azure's design considerations for scale sets: "With overprovisioning turned on, the scale set
actually spins up more VMs than you asked for, then deletes the extra VMs once the requested
number of VMs are successfully provisioned"; so the instance IDs a user sees are not
contiguous. How many extras Azure makes is not documented (seen: a set of two that kept
instances 2 and 3, so at least two extras; a third-party write-up says 10-20 %). The lab's
rule: 20 % of the new instances, rounded up, as many as the set's NAT pools have free ports and
its subnets free addresses for (an extra is a real instance: it holds both while it lives).

Every instance the set makes while it overprovisions (create, scale-out, a repair's
replacement), requested or extra alike, is a *candidate* (the set's ``_overprovision``: their
instance IDs): ARM stores them all, with NICs, NAT rules and update and fault domains, while
``sku.capacity`` stays what was asked for. Only the data plane knows which run: once as many
candidates run as the capacity still needs, it deletes the others (:func:`extras_to_delete`,
``dataplane/overprovision.py``). Kept: the first to run, in the order the controller's passes
saw them run (several first seen in one pass: the lowest IDs). Each kept instance keeps the
domains it was placed in; the next instances go to the emptiest ones.
"""

from __future__ import annotations

import math
from collections import Counter

from azlab.models.base import Context
from azlab.models.network.addressing import free_addresses
from azlab.models.network.lb_nat_pools import free_ports

#: on the scale set: the instance IDs of its candidates while it has more than it needs
RECORD = "_overprovision"
#: the lab's rule: extra instances per new instance
EXTRA_SHARE = 0.2


def extras(new: int, room: int) -> int:
    """How many extra instances the set makes beside ``new`` requested ones."""
    return max(0, min(math.ceil(new * EXTRA_SHARE), room))


def room(ctx: Context, profile: dict) -> int:
    """How many more instances the NAT pools' free ports and the subnets' free IPv4 addresses
    allow (each instance takes one of each per ip configuration naming them)."""
    per_subnet, per_pool = Counter(), Counter()
    for config in profile["networkProfile"]["networkInterfaceConfigurations"]:
        for ip in config["properties"]["ipConfigurations"]:
            props = ip["properties"]
            if props.get("privateIPAddressVersion", "IPv4") == "IPv4":
                per_subnet[props["subnet"]["id"]] += 1
            for ref in props.get("loadBalancerInboundNatPools") or []:
                per_pool[ref["id"]] += 1
    limits = [free_addresses(ctx, subnet_id, ctx.lookup(subnet_id) or {}) // count
              for subnet_id, count in per_subnet.items()]
    for pool_id, count in per_pool.items():
        pool = ctx.lookup(pool_id)
        lb = ctx.get(pool_id.rsplit("/inboundNatPools/", 1)[0])
        limits.append(free_ports(lb, pool) // count if pool and lb else 0)
    return max(0, min(limits, default=0))


def split(vmss: dict, members: list[dict]) -> tuple[list[dict], list[dict]]:
    """(the set's instances that are not candidates, its candidates)."""
    pending = set(vmss.get(RECORD) or [])
    return ([m for m in members if m["instanceId"] not in pending],
            [m for m in members if m["instanceId"] in pending])


def needed(vmss: dict, settled: list[dict]) -> int:
    """How many candidates the set keeps: what the capacity asks beyond its other instances."""
    return max(0, vmss["sku"]["capacity"] - len(settled))


def record(vmss: dict, settled: list[dict], candidates: list[dict]) -> None:
    """The set waits for its candidates while they are more than it needs; else all are kept."""
    if len(candidates) > needed(vmss, settled):
        vmss[RECORD] = sorted((m["instanceId"] for m in candidates), key=int)
    else:
        vmss.pop(RECORD, None)


def after_delete(vmss: dict, left: list[dict], deleted: list[dict]) -> None:
    """Instances deleted on request (the set's ``delete`` action, an instance's DELETE): the
    capacity drops by one for each, except for candidates beyond those the set needed (they
    were extras, going anyway)."""
    settled, candidates = split(vmss, left + deleted)
    spare = len(candidates) - needed(vmss, settled)
    gone_candidates = sum(1 for m in deleted if m in candidates)
    vmss["sku"]["capacity"] -= len(deleted) - gone_candidates + max(0, gone_candidates - max(spare, 0))
    record(vmss, *split(vmss, left))


def extras_to_delete(vmss: dict, members: list[dict], ran: dict[str, float], failed: set[str]) -> list[dict] | None:
    """The candidates to delete now, or None while the set still waits for some to boot.

    ``ran``: instance ID -> when the data plane first saw it run on what it is made of;
    ``failed``: instances that could not be made. The set keeps the first to run; when every
    candidate has run or failed and too few run, it keeps the failed ones it needs too, so the
    operation fails with their failure."""
    settled, candidates = split(vmss, members)
    if not candidates:
        return None
    need = needed(vmss, settled)
    running = sorted((m for m in candidates if m["instanceId"] in ran and m["instanceId"] not in failed),
                     key=lambda m: (ran[m["instanceId"]], int(m["instanceId"])))
    if len(running) < need and any(m["instanceId"] not in ran and m["instanceId"] not in failed
                                   for m in candidates):
        return None
    keep = running[:need]
    keep += sorted((m for m in candidates if m not in keep), key=lambda m: int(m["instanceId"]))[:need - len(keep)]
    return [m for m in candidates if m not in keep]
