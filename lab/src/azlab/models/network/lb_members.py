"""Which NIC ip configurations sit in a load balancer's pools and behind its NAT rules: declared
on the NICs, shown by the LB on read (``backendIPConfigurations``, pool addresses)."""

from __future__ import annotations

from azlab.models.base import Context
from azlab.models.ids import ResourceId, same_id
from azlab.models.network.backrefs import nic_ip_configurations
from azlab.models.network.common import sub


def references_pool(config: dict, pool_id: str) -> bool:
    return any(same_id(ref.get("id"), pool_id) for ref in config.get("properties", {}).get("loadBalancerBackendAddressPools") or [])


def backend_name(config: dict) -> str:
    """Azure names a NIC-based pool address '{resource group}_{nic}{ip configuration}'; a scale
    set instance's NIC, named after its NIC configuration in every instance, is told apart by
    the set and the instance ID ('{resource group}_{set}_{id}_{nic}{ip configuration}')."""
    rid = ResourceId.parse(config["id"])
    return f"{rid.resource_group}_{'_'.join(rid.names[:-1])}{rid.name}"


def nic_members(ctx: Context, lb_id: str) -> dict[str, list[tuple[dict, dict]]]:
    """{pool or NAT rule ID (lower case): [(NIC, ip configuration), ...]} for one LB."""
    prefix = lb_id.lower() + "/"
    members: dict[str, list[tuple[dict, dict]]] = {}
    for nic, config in nic_ip_configurations(ctx):
        props = config.get("properties", {})
        for ref in (props.get("loadBalancerBackendAddressPools") or []) + (props.get("loadBalancerInboundNatRules") or []):
            if ref["id"].lower().startswith(prefix):
                members.setdefault(ref["id"].lower(), []).append((nic, config))
    return members


def render_pool(pool: dict, members: list[tuple[dict, dict]]) -> None:
    """Show the pool's NIC members, with the admin state stored for them (else None)."""
    props = pool["properties"]
    stored = {address["name"]: address for address in props.get("loadBalancerBackendAddresses", [])}
    addresses = [address for address in stored.values() if address["properties"].get("ipAddress")]
    for _, config in members:
        name = backend_name(config)
        admin = stored.get(name, {}).get("properties", {}).get("adminState", "None")
        addresses.append({"name": name, "properties": {"networkInterfaceIPConfiguration": sub(config["id"]),
                                                       "adminState": admin}})
    props["loadBalancerBackendAddresses"] = addresses
    if members:
        props["backendIPConfigurations"] = [sub(config["id"]) for _, config in members]
