"""Load-balancing rules as a child route, and their health API
(``loadBalancingRules/{rule}/health``, api-version 2024-05-01 and later): each backend's
state from the probe transitions the data plane recorded (``Store.record_health``), admin
state first, and Down_NotServed for every backend of an LB the data plane cannot run.
"""

from __future__ import annotations

from azlab.models.base import Context, find_named
from azlab.models.errors import ArmError, not_found
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.common import LB_TYPE, ReadOnlyEmbeddedType
from azlab.models.network.lb import RULE_TYPE


class LoadBalancingRules(ReadOnlyEmbeddedType):
    """GET only, plus the health API (api-version 2024-05-01 and later): a long-running POST."""

    full_type = RULE_TYPE
    embedded_in = "loadBalancingRules"
    actions = {"health": "action_health"}
    read_actions = frozenset({"health"})
    HEALTH_API = "2024-05-01"

    def action_health(self, ctx: Context, rid: ResourceId, body: dict) -> dict:
        if ctx.api_version and ctx.api_version[:10] < self.HEALTH_API:
            raise ArmError(400, "NoRegisteredProviderFound",
                           f"The health API of load balancing rules needs api-version {self.HEALTH_API} or later.",
                           target="api-version")
        lb = ctx.get(str(rid.parent))
        if lb is None:
            raise not_found(LB_TYPE, rid.parent.name, rid.resource_group)
        lb = ctx.registry.find(LB_TYPE).render(ctx, lb)
        rule = find_named(lb["properties"].get("loadBalancingRules", []), rid.name)
        if rule is None:
            raise not_found(RULE_TYPE, rid.name, rid.resource_group)
        return rule_health(ctx, lb, rule)


UNSERVED_KEY = "dataplane.lb-unserved:"


def set_unserved(store, lb_id: str, reason: str | None) -> None:
    """The data plane cannot run this load balancer (``reason``), or can again (None)."""
    key = UNSERVED_KEY + lb_id.rstrip("/").lower()
    if store.get_value(key) != reason:
        store.set_value(key, reason)


def rule_health(ctx: Context, lb: dict, rule: dict) -> dict:
    """Per-backend health of one rule, from the probe transitions the data plane recorded.

    A backend's key in the health log is its NIC ip configuration ID (IP-based backends:
    the pool address ID, ``{pool}/loadBalancerBackendAddresses/{name}``). Admin state
    overrides the probe, as on Azure. A backend without any recorded probe result is
    reported Down: nothing has shown that it answers (the data plane may not be running).
    """
    props = rule["properties"]
    pool_id = (props.get("backendAddressPool") or {}).get("id")
    pool = next((p for p in lb["properties"].get("backendAddressPools", []) if same_id(p["id"], pool_id)), None)
    latest = ctx.store.current_health(lb["id"], rule["name"])
    unserved = ctx.store.get_value(UNSERVED_KEY + lb["id"].rstrip("/").lower())
    entries = []
    for address in (pool or {}).get("properties", {}).get("loadBalancerBackendAddresses", []):
        entry, key = backend_entry(ctx, pool["id"], address)
        if unserved:  # nothing forwards any flow: every backend is out, whatever it last answered
            entry["state"], entry["reason"] = "Down", f"Down_NotServed: the lab cannot run this load balancer: {unserved}"
        else:
            entry["state"], entry["reason"] = backend_state(address["properties"].get("adminState", "None"),
                                                            props.get("probe"), latest.get(key.lower()))
        entries.append(entry)
    up = sum(1 for e in entries if e["state"] == "Up")
    return {"up": up, "down": len(entries) - up, "loadBalancerBackendAddresses": entries}


def backend_entry(ctx: Context, pool_id: str, address: dict) -> tuple[dict, str]:
    nic_config = (address["properties"].get("networkInterfaceIPConfiguration") or {}).get("id")
    if nic_config:
        config = ctx.lookup(nic_config) or {}
        ip = config.get("properties", {}).get("privateIPAddress")
        return {"ipAddress": ip, "networkInterfaceIPConfigurationId": nic_config}, nic_config
    return {"ipAddress": address["properties"]["ipAddress"]}, f"{pool_id}/loadBalancerBackendAddresses/{address['name']}"


def backend_state(admin: str, probe, event: dict | None) -> tuple[str, str]:
    if admin == "Up":
        return "Up", "Up_Admin"
    if admin == "Down":
        return "Down", "Down_Admin"
    if not probe:
        return "Up", "Up_NoProbe: the rule has no health probe, so every backend receives traffic"
    if event is None:
        return "Down", ("Down_NoProbeResult: the lab's data plane has not recorded a probe result for this "
                        "backend yet (it may not be running)")
    state = "Up" if event["state"].lower() == "up" else "Down"
    return state, event.get("reason") or ("Up_Probe_Success" if state == "Up" else "Down_Probe_Failure")

