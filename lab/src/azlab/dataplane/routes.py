"""Route tables as the VNet's router applies them (pure: store reads, no I/O).

Azure picks a NIC's next hop by longest prefix over its subnet's user-defined routes and the
system routes (a user route wins over a system route of the same prefix). The VNet's router
(``vnet.py``) holds the system routes in its main table: a /32 to every NIC of the VNet
(``VnetLocal``) and the default route out of the uplink (``Internet``). A subnet with a route
table gets a kernel table of its own, consulted first for the traffic of its NICs (an
``ip rule`` per NIC on the NIC's interface in the router):

* ``None`` -> ``blackhole``: dropped, no answer (Azure drops silently);
* ``Internet`` -> out of the uplink, as the system default route;
* ``VirtualAppliance`` -> ``via`` the appliance's address: the router hands the packet to
  that NIC; the appliance forwards it only if its NIC has ``enableIPForwarding`` (the lab
  turns IP forwarding on in that NIC's namespace: its guests have no NET_ADMIN to do it);
* ``VnetLocal`` -> the main table for the part of the prefix inside the VNet's address
  space, dropped outside it;
* each VNet address prefix -> ``throw`` (back to the main table's VnetLocal routes), unless a
  user route has that exact prefix: so a user route 0.0.0.0/0 to an appliance does not
  capture the VNet's own traffic, and one for 10.0.2.0/24 does.

The replies to the load balancer's flows and probes (which reach the NICs from the router,
SNATed to 168.63.129.16) leave towards the host's uplink address once un-NATed, so they follow
the subnet's table too: a default route to None cuts a backend off its LB, as on Azure, where
the replies to a public LB's clients take the default route. Unlike Azure, the lab's probes are
cut off as well (Azure's probes from 168.63.129.16 ignore user routes): the rule health says
Down_Probe_Failure where Azure would say Up while the clients get no answer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from azlab.dataplane.vnet import SUBNET_TABLE_BASE, nic_veth_name, vnet_of
from azlab.models.compute.state import machines
from azlab.models.network.common import NIC_TYPE
from azlab.models.network.nic import primary_ip_configuration
from azlab.models.store import Store, key_of

@dataclass(frozen=True)
class KernelRoute:
    """One route of a subnet's kernel table: ``blackhole``, ``throw`` or ``via`` an address."""

    prefix: str
    kind: str
    via: str | None = None

    def args(self, table: int) -> list[str]:
        head = [self.prefix] if self.kind == "via" else [self.kind, self.prefix]
        return [*head, *(["via", self.via] if self.via else []), "table", str(table)]


@dataclass(frozen=True)
class RoutePlan:
    """What the VNet's router applies: each subnet table's routes, which NIC interface looks
    up which table, the VNet's NICs and those of them that forward (``enableIPForwarding``)."""

    tables: tuple[tuple[int, tuple[KernelRoute, ...]], ...] = ()
    rules: tuple[tuple[str, int], ...] = ()
    nics: tuple[str, ...] = ()
    forwarding: tuple[str, ...] = ()


def kernel_routes(user_routes: list[dict], vnet_prefixes: list[str], uplink_gateway: str) -> tuple[KernelRoute, ...]:
    """A subnet's kernel table from its route table's ``routes`` (bodies as ARM stores them)."""
    spaces = [ipaddress.ip_network(p, strict=False) for p in vnet_prefixes]
    spaces = [s for s in spaces if s.version == 4]
    chosen: dict[str, KernelRoute] = {}
    derived: list[KernelRoute] = []
    for route in user_routes:
        props = route["properties"]
        prefix = ipaddress.ip_network(props["addressPrefix"], strict=False)
        hop = props["nextHopType"]
        if hop == "None":
            chosen[str(prefix)] = KernelRoute(str(prefix), "blackhole")
        elif hop == "Internet":
            chosen[str(prefix)] = KernelRoute(str(prefix), "via", uplink_gateway)
        elif hop == "VirtualAppliance":
            chosen[str(prefix)] = KernelRoute(str(prefix), "via", props["nextHopIpAddress"])
        elif hop == "VnetLocal":
            inside = any(prefix.subnet_of(space) for space in spaces)  # an equal prefix too
            chosen[str(prefix)] = KernelRoute(str(prefix), "throw" if inside else "blackhole")
            derived += [KernelRoute(str(space), "throw") for space in spaces if space.subnet_of(prefix)]
    derived += [KernelRoute(str(space), "throw") for space in spaces]
    for route in derived:
        chosen.setdefault(route.prefix, route)
    return tuple(sorted(chosen.values(), key=lambda r: (ipaddress.ip_network(r.prefix).prefixlen, r.prefix)))


def running_nics(store: Store) -> set[str]:
    """Keys of the NICs of running VMs and scale set instances: only a running guest forwards for others."""
    return {key_of(ref["id"]) for _, vm in machines(store) if vm.get("_power") == "running"
            for ref in ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []}


def route_plan(store: Store, vnet_id: str, uplink_gateway: str) -> RoutePlan:
    """The VNet's plan from the store: its subnets with a route table, their NICs, and those
    that forward (``enableIPForwarding`` on a running VM's NIC)."""
    vnet = store.get(vnet_id) or {}
    prefixes = (vnet.get("properties", {}).get("addressSpace") or {}).get("addressPrefixes", [])
    tables, table_of_subnet = [], {}
    subnets = sorted(vnet.get("properties", {}).get("subnets", []), key=lambda s: key_of(s["id"]))
    for index, subnet in enumerate(subnets):
        table_id = ((subnet.get("properties") or {}).get("routeTable") or {}).get("id")
        table = store.get(table_id) if table_id else None
        if table is None:
            continue
        number = SUBNET_TABLE_BASE + index
        tables.append((number, kernel_routes(table["properties"].get("routes", []), prefixes, uplink_gateway)))
        table_of_subnet[key_of(subnet["id"])] = number
    rules, nics, forwarding = [], [], []
    running = running_nics(store)
    for _, nic in store.list(NIC_TYPE):
        config = primary_ip_configuration(nic)
        subnet_id = (((config or {}).get("properties") or {}).get("subnet") or {}).get("id", "")
        if not subnet_id or key_of(vnet_of(subnet_id)) != key_of(vnet_id):
            continue
        nics.append(nic["id"])
        if key_of(subnet_id) in table_of_subnet:
            rules.append((nic_veth_name(nic["id"]), table_of_subnet[key_of(subnet_id)]))
        if (nic.get("properties") or {}).get("enableIPForwarding") and key_of(nic["id"]) in running:
            forwarding.append(nic["id"])
    return RoutePlan(tuple(tables), tuple(sorted(rules)), tuple(sorted(nics)), tuple(sorted(forwarding)))
