"""What the store's bodies only reference, resolved for the data plane (store reads, no I/O).

- :func:`nic_port`: the VM's primary NIC as its guest will see it (addresses, subnet prefix,
  MAC, VNet), for ``vnet.ensure_nic``.
- :class:`LoadBalancerResolver`: an LB body's public IP addresses, pool members and NAT
  targets, each with the address that reaches into its VNet (of the target's IP version) and
  its inbound NSG rules, for the HAProxy driver (``lb.LoadBalancerView``).
"""

from __future__ import annotations

from azlab.dataplane import vm_container, vnet
from azlab.dataplane.lb import BackendMember, LoadBalancerView, NatTarget
from azlab.dataplane.security import SecurityView
from azlab.dataplane.vnet import vnet_of
from azlab.models.network.addressing import subnet_prefix
from azlab.models.network.lb_members import backend_name, nic_members
from azlab.models.network.nic import primary_ip_configuration
from azlab.models.store import Store, key_of


def subnet_prefixes(subnet: dict) -> list[str]:
    props = subnet.get("properties") or {}
    return list(props.get("addressPrefixes") or ([props["addressPrefix"]] if props.get("addressPrefix") else []))


def _mac(nic: dict) -> str:
    """Azure spells a MAC 00-0D-3A-..; ``ip link`` wants 00:0d:3a:.."""
    mac = (nic.get("properties") or {}).get("macAddress")
    return mac.replace("-", ":").lower() if mac else vm_container.mac_address_for(key_of(nic["id"]))


def _subnet_cidr(store: Store, subnet_id: str) -> str | None:
    """The IPv4 prefix of the subnet that holds a NIC (the one its primary address comes from)."""
    name = subnet_id.rstrip("/").rsplit("/subnets/", 1)[1]
    for subnet in (store.get(vnet_of(subnet_id)) or {}).get("properties", {}).get("subnets", []):
        if subnet["name"].lower() == name.lower():
            network = subnet_prefix(subnet, "IPv4")
            return str(network) if network else None
    return None


def nic_port(store: Store, spec: dict) -> vnet.NicPort | None:
    """The VM's primary NIC as the guest will see it (its primary ip configuration, and the
    addresses of its IPv6 ones); None if it has none in a subnet."""
    nic = store.get(spec["network_interfaces"][0]) if spec["network_interfaces"] else None
    config = primary_ip_configuration(nic) if nic else None
    subnet_id = ((config or {}).get("properties", {}).get("subnet") or {}).get("id")
    cidr = _subnet_cidr(store, subnet_id) if subnet_id else None
    if config is None or cidr is None:
        return None
    ipv6 = tuple(c["properties"]["privateIPAddress"] for c in nic["properties"].get("ipConfigurations", [])
                 if c["properties"].get("privateIPAddressVersion") == "IPv6" and c["properties"].get("privateIPAddress"))
    return vnet.NicPort(nic_id=nic["id"], vnet_id=vnet_of(subnet_id), private_ip=config["properties"]["privateIPAddress"],
                        subnet_cidr=cidr, mac=_mac(nic), forwarding=bool(nic["properties"].get("enableIPForwarding")),
                        ipv6_addresses=ipv6)


def _address(config: dict) -> str:
    return config["properties"].get("privateIPAddress") or ""


class LoadBalancerResolver:
    """One reconcile pass's resolution of load balancer bodies."""

    def __init__(self, ctx, security: SecurityView, vnet_sources: dict[str, str], probe_faulted_nics: set[str],
                 out_of_rotation_nics: frozenset[str] = frozenset()):
        """``vnet_sources``: VNet key -> the host address that reaches into it (only the
        VNets that have a namespace); ``probe_faulted_nics``: NIC keys under a probe fault;
        ``out_of_rotation_nics``: NIC keys of scale set instances a rolling upgrade took out
        of rotation (served as adminState Down: no new flows)."""
        self.ctx = ctx
        self.store = ctx.store
        self.security = security
        self.vnet_sources = vnet_sources
        self.probe_faulted_nics = probe_faulted_nics
        self.out_of_rotation_nics = out_of_rotation_nics

    def view(self, lb_id: str, body: dict) -> LoadBalancerView:
        """Resolve what the LB body only references: addresses, pool members, NAT targets."""
        props = body.get("properties", {})
        members = nic_members(self.ctx, lb_id)
        addresses = {}
        for frontend in props.get("frontendIPConfigurations", []):
            pip_id = ((frontend.get("properties") or {}).get("publicIPAddress") or {}).get("id")
            pip = self.store.get(pip_id) if pip_id else None
            if pip and pip["properties"].get("ipAddress"):
                addresses[pip_id] = pip["properties"]["ipAddress"]
        pools = {pool["id"]: self._pool_members(pool, members.get(pool["id"].lower(), []))
                 for pool in props.get("backendAddressPools", [])}
        nat = {}
        for rule in props.get("inboundNatRules", []):
            targets = members.get(rule["id"].lower(), [])
            nic, config = targets[0] if targets else (None, None)
            source = self._source_into(config["properties"].get("subnet"), _address(config)) if config else None
            # no source: its VNet has no namespace yet, so nothing can reach the target
            nat[rule["id"]] = (NatTarget(config["id"], _address(config), source,
                                         inbound=self.security.inbound(nic, config)) if source else None)
        return LoadBalancerView(addresses, pools, nat)

    def _source_into(self, subnet_or_vnet: dict | None, target: str) -> str | None:
        """The host address that reaches into the VNet a subnet (or VNet) reference points
        into, of the version of the ``target`` address; None while that VNet has no namespace
        (then nothing is reached)."""
        ref = (subnet_or_vnet or {}).get("id")
        source = self.vnet_sources.get(key_of(vnet_of(ref))) if ref else None
        return vnet.transit_ipv6(source) if source and ":" in target else source

    def _pool_members(self, pool: dict, nic_configs: list) -> list[BackendMember]:
        stored = {a["name"]: a["properties"] for a in pool.get("properties", {}).get("loadBalancerBackendAddresses", [])}
        out = []
        for nic, config in nic_configs:
            admin = stored.get(backend_name(config), {}).get("adminState", "None")
            if key_of(nic["id"]) in self.out_of_rotation_nics:
                admin = "Down"
            source = self._source_into(config["properties"].get("subnet"), _address(config))
            if source is None:
                continue  # its VNet has no namespace yet: nothing can reach it
            out.append(BackendMember(config["id"], _address(config), admin,
                                     probe_fault=key_of(nic["id"]) in self.probe_faulted_nics, source=source,
                                     inbound=self.security.inbound(nic, config)))
        pool_vnet = pool.get("properties", {}).get("virtualNetwork")
        for name, address in stored.items():
            if address.get("ipAddress"):
                # an IP-based pool address is reached in the VNet it names (Azure requires one)
                source = self._source_into(address.get("virtualNetwork") or address.get("subnet") or pool_vnet,
                                           address["ipAddress"])
                if source is None:
                    continue
                out.append(BackendMember(f"{pool['id']}/loadBalancerBackendAddresses/{name}", address["ipAddress"],
                                         address.get("adminState", "None"), source=source))
        return out
