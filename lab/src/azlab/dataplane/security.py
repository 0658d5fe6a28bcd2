"""The store's network security groups, resolved for the data plane (no I/O but store reads).

For each VNet: the filter tables (IPv4 and IPv6) its router enforces (``nsg.filter_table``); for each NIC ip
configuration behind a load balancer: the inbound rules of its subnet's and its own NSG, which
the load balancer applies to the client's source address (``nsg.allowed_sources``).
"""

from __future__ import annotations

import hashlib
import ipaddress

from azlab.dataplane import nsg
from azlab.dataplane.lb.view import InboundLevels
from azlab.dataplane.vnet import PLATFORM_ADDRESS, PLATFORM_ADDRESS_V6, nic_veth_name, transit_ipv6, vnet_of
from azlab.models.network.common import NIC_TYPE
from azlab.models.network.nic import primary_ip_configuration
from azlab.models.store import Store, key_of


class SecurityView:
    """One reconcile pass's view of the NSGs: the tags of every VNet, read once."""

    def __init__(self, store: Store, lb_sources: dict[str, str]):
        """``lb_sources``: VNet key -> the host address the lab's LBs reach it from."""
        self.store = store
        self.lb_sources = lb_sources
        self._tags: dict[str, nsg.ServiceTags] = {}
        self._group_members: tuple | None = None

    def tags(self, vnet_id: str) -> nsg.ServiceTags:
        key = key_of(vnet_id)
        if key not in self._tags:
            space = ((self.store.get(vnet_id) or {}).get("properties", {}).get("addressSpace") or {})
            lb = [PLATFORM_ADDRESS, PLATFORM_ADDRESS_V6]
            if key in self.lb_sources:
                lb += [self.lb_sources[key], transit_ipv6(self.lb_sources[key])]
            self._tags[key] = nsg.ServiceTags(
                virtual_network=tuple(ipaddress.ip_network(p, strict=False) for p in space.get("addressPrefixes", [])),
                load_balancer=tuple(ipaddress.ip_network(address) for address in lb), groups=self._groups())
        return self._tags[key]

    def _groups(self) -> tuple[tuple[str, tuple[nsg.Network, ...]], ...]:
        """Every application security group's member addresses (read once per pass)."""
        if self._group_members is None:
            members: dict[str, list] = {}
            for _, nic in self.store.list(NIC_TYPE):
                for config in (nic.get("properties") or {}).get("ipConfigurations") or []:
                    props = config.get("properties") or {}
                    address = props.get("privateIPAddress")
                    for ref in props.get("applicationSecurityGroups") or [] if address else []:
                        members.setdefault(key_of(ref["id"]), []).append(ipaddress.ip_network(address))
            self._group_members = tuple((key, tuple(networks)) for key, networks in sorted(members.items()))
        return self._group_members

    def _nsg_ids(self, nic: dict, config: dict) -> tuple[str | None, str | None]:
        """(subnet's NSG, NIC's NSG) IDs of one ip configuration."""
        subnet_id = ((config.get("properties") or {}).get("subnet") or {}).get("id", "")
        subnet_nsg = None
        if subnet_id:
            name = subnet_id.rstrip("/").rsplit("/", 1)[-1].lower()
            for subnet in (self.store.get(vnet_of(subnet_id)) or {}).get("properties", {}).get("subnets", []):
                if subnet["name"].lower() == name:
                    subnet_nsg = ((subnet.get("properties") or {}).get("networkSecurityGroup") or {}).get("id")
        nic_nsg = ((nic.get("properties") or {}).get("networkSecurityGroup") or {}).get("id")
        return subnet_nsg, nic_nsg

    def _rules(self, nsg_id: str | None, direction: str, tags: nsg.ServiceTags) -> tuple[nsg.Rule, ...] | None:
        body = self.store.get(nsg_id) if nsg_id else None
        return None if body is None else tuple(nsg.rules_of(body, direction, tags))

    def inbound(self, nic: dict, config: dict) -> InboundLevels:
        """What the subnet's and the NIC's NSG say about flows into this ip configuration."""
        subnet_id = ((config.get("properties") or {}).get("subnet") or {}).get("id", "")
        tags = self.tags(vnet_of(subnet_id))
        subnet_nsg, nic_nsg = self._nsg_ids(nic, config)
        return self._rules(subnet_nsg, "Inbound", tags), self._rules(nic_nsg, "Inbound", tags)

    def vnet_filter(self, vnet_id: str, version: int) -> str:
        """The filter table of one IP version of the VNet's router: every NIC of the VNet, its
        NSGs on its path."""
        tags = self.tags(vnet_id)
        nics = []
        for _, nic in self.store.list(NIC_TYPE):
            config = primary_ip_configuration(nic)
            subnet_id = (((config or {}).get("properties") or {}).get("subnet") or {}).get("id", "")
            if not subnet_id or key_of(vnet_of(subnet_id)) != key_of(vnet_id):
                continue
            subnet_nsg, nic_nsg = self._nsg_ids(nic, config)
            nics.append(nsg.NicSecurity(
                veth=nic_veth_name(nic["id"]),
                subnet_inbound=self._level(subnet_nsg, "Inbound", tags), nic_inbound=self._level(nic_nsg, "Inbound", tags),
                subnet_outbound=self._level(subnet_nsg, "Outbound", tags),
                nic_outbound=self._level(nic_nsg, "Outbound", tags)))
        return nsg.filter_table(nics, version)

    def _level(self, nsg_id: str | None, direction: str, tags: nsg.ServiceTags):
        rules = self._rules(nsg_id, direction, tags)
        if rules is None:
            return None
        return f"AZ-N-{hashlib.sha1(key_of(nsg_id).encode()).hexdigest()[:8]}-{direction[0]}", rules
