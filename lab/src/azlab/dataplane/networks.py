"""VNets -> network namespaces: each VNet's router made, its NSGs enforced, stale namespaces removed.

One reconcile pass of the data plane's network side (``vnet`` does the I/O, ``security``
reads the NSGs): which VNets are ready, the host address that reaches into each (for
the load balancers), and the filter table each router enforces. Errors go to the
controller's error table, keyed by the VNet.
"""

from __future__ import annotations

from typing import Callable

from azlab.dataplane import resolve, routes, vnet
from azlab.dataplane.security import SecurityView
from azlab.models.network.common import VNET_TYPE
from azlab.models.store import Store, key_of


class Networks:
    def __init__(self, store: Store, lab: str, error: Callable[[str, str | None], None]):
        self.store = store
        self.lab = lab
        self._error = error
        self.sources: dict[str, str] = {}      # VNet key -> host address that reaches into it
        self.security = SecurityView(store, {})
        self._made: dict[str, tuple] = {}      # VNet key -> (vnet.VNet made, its host address)
        self._filters: dict[str, tuple[str, ...]] = {}  # VNet key -> filter tables last applied, per version
        self._versions = (4, 6) if vnet.ipv6_enabled() else (4,)
        self._routes: dict[str, tuple] = {}    # VNet key -> (route plan, NIC namespaces) last applied
        self._ready: set[str] = set()

    def forget(self) -> None:
        """After a reset: nothing made is known any more."""
        self._made.clear()
        self._filters.clear()
        self._routes.clear()

    def reconcile(self) -> set[str]:
        """Every VNet's namespace and NSG filter; returns the keys of the VNets that have one."""
        ready = self._vnets()
        self.security = SecurityView(self.store, self.sources)
        self._apply_filters(ready)
        self._ready = ready
        return ready

    def reconcile_routes(self) -> None:
        """Each ready VNet's route tables and its NICs' IP forwarding (after the pass wired its
        NICs: a route via an appliance needs the appliance's NIC). Re-applied when the plan
        changes or a NIC namespace of the lab appears or goes."""
        nic_namespaces = frozenset(vnet.namespaces(f"azn-{self.lab}-"))
        for vnet_id, _ in self.store.list(VNET_TYPE):
            key = key_of(vnet_id)
            if key not in self._ready:
                self._routes.pop(key, None)
                continue
            plan = routes.route_plan(self.store, vnet_id, self.sources[key])
            try:
                if self._routes.get(key) == (plan, nic_namespaces) and vnet.routes_in_place(self.lab, vnet_id, plan):
                    continue
                unwired = vnet.apply_routes(self.lab, vnet_id, plan)
            except vnet.NetworkError as exc:
                self._routes.pop(key, None)
                self._error(f"{key}#routes", f"virtual network {vnet_id}: its route tables are not applied: {exc}")
                continue
            self._routes[key] = (plan, nic_namespaces)
            self._error(f"{key}#routes", None if not unwired else (
                f"virtual network {vnet_id}: no NIC holds the next hop {', '.join(unwired)} of its route tables: "
                "that traffic is dropped until one does"))
        for key in [k for k in self._routes if k not in self._ready]:
            del self._routes[key]

    def _vnets(self) -> set[str]:
        """A VNet whose namespace exists and whose subnets did not change since it was made is
        not touched again (one ``ip netns list`` per pass, not a dozen commands per VNet)."""
        ready, sources = set(), {}
        present = vnet.lab_namespaces(self.lab)
        for vnet_id, body in self.store.list(VNET_TYPE):
            key = key_of(vnet_id)
            wanted = vnet.VNet(vnet_id, tuple(cidr for subnet in body.get("properties", {}).get("subnets", [])
                                              for cidr in resolve.subnet_prefixes(subnet)))
            made = self._made.get(key)
            if made is not None and made[0] == wanted and vnet.vnet_namespace(self.lab, vnet_id) in present:
                sources[key] = made[1]
                ready.add(key)
                continue
            self._filters.pop(key, None)  # a (re)made router has no filter table yet, nor routes
            self._routes.pop(key, None)
            try:
                sources[key] = vnet.ensure_vnet(self.lab, wanted)
                self._made[key] = (wanted, sources[key])
            except vnet.NetworkError as exc:
                self._error(key, f"virtual network {vnet_id}: {exc}")
                continue
            self._error(key, None)
            ready.add(key)
        self.sources = sources
        return ready

    def _apply_filters(self, ready: set[str]) -> None:
        """Each VNet's router enforces the NSGs of its subnets and NICs (rewritten on change)."""
        for vnet_id, _ in self.store.list(VNET_TYPE):
            key = key_of(vnet_id)
            if key not in ready:
                continue
            tables = tuple(self.security.vnet_filter(vnet_id, version) for version in self._versions)
            if self._filters.get(key) == tables:
                continue
            version = self._versions[0]
            try:
                for version, table in zip(self._versions, tables):
                    vnet.apply_filter(self.lab, vnet_id, table, version)
                self._filters[key] = tables
                self._error(key, None)
            except vnet.NetworkError as exc:
                self._error(key, f"virtual network {vnet_id}: its IPv{version} NSGs are not enforced: {exc}")
        for key in [k for k in self._filters if k not in ready]:
            del self._filters[key]

    def remove_stale_namespaces(self, nics_in_use: set[str]) -> None:
        """Namespaces of deleted VNets, and of NICs that no VM container uses any more."""
        keep = {vnet.vnet_namespace(self.lab, vnet_id) for vnet_id, _ in self.store.list(VNET_TYPE)}
        keep |= {vnet.nic_namespace(self.lab, nic) for nic in nics_in_use}
        for name in vnet.lab_namespaces(self.lab) - keep:
            vnet.remove_namespace(name)
