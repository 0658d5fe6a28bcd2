"""Virtual networks as network namespaces: what isolates one VNet from every other and from
the host.

Azure's VNets are separate routing domains: two VNets may use the same address plan, a VM
reaches the VMs of its own VNet and the Internet, and nothing else unless peered. The lab
builds the same thing from Linux network namespaces (``ip netns``), with no bridge and no
podman network:

* **One namespace per VNet** (``azv-<lab>-<hash of the VNet ID>``): the VNet's router. It
  holds each subnet's gateway (the subnet's first address, as on Azure) and Azure's
  platform address 168.63.129.16 (DNS, probes) and the Instance Metadata Service's
  169.254.169.254 on ``lo``; a /32 route to every NIC; and an
  ``uplink`` veth to the host, through which the VNet reaches the Internet with its source
  NATed twice (to the uplink's transit address here, to the host's address on the host).
* **One namespace per NIC** (``azn-<lab>-<hash of the NIC ID>``): its ``eth0`` has the NIC's
  private IP (with the subnet's prefix length), MAC and a default route to the gateway; its
  peer in the VNet namespace answers ARP for every address (proxy ARP), so VM-to-VM traffic
  is routed by the VNet namespace, as Azure's SDN routes it, and can be filtered there. The
  VM's container joins this namespace (``podman run --network ns:<path>``): it survives the
  container's restarts (in-guest reboots), as an Azure NIC survives a VM's.
* **The host** drops everything that arrives from a VNet uplink for the host itself, and
  every packet from one VNet uplink to another (``host_network.ensure_host_rules``). The
  lab's ARM port and the host's other services listen on addresses a VNet has no route to
  anyway.
* **IPv6** (dual stack) rides on the same namespaces: a NIC's IPv6 addresses are /128s with
  the default route via Azure's IPv6 gateway :data:`PLATFORM_ADDRESS_V6` (held by the router
  on each NIC's link), and the uplink has an IPv6 twin of its IPv4 addresses
  (:func:`transit_ipv6`) with the same source route for the LBs.

Load balancers (HAProxy, in the host's namespace so that frontends stay on the host's
127.64.x.y public IPs) reach a VNet's backends from the host end of its uplink: a policy
route sends everything from that address into the VNet (the same private address in two
VNets is told apart by the source the LB connects from), and the VNet's router rewrites the
source to 168.63.129.16, where Azure's probes come from. Not HAProxy's ``namespace`` server
keyword: HAProxy closes its namespace handles when a reload stops the old worker, and the
flows that worker had just accepted then fail (measured: ~1 per reload under load).

Every function here is idempotent; names and addresses are derived, never stored, so a
restarted lab finds what it made.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from azlab.settings import ipv6_twin

#: Azure's virtual public address (DNS, DHCP, health probes): the service tag AzureLoadBalancer.
PLATFORM_ADDRESS = "168.63.129.16"
#: The Instance Metadata Service's link-local address, on every VNet's router (``imds`` listens there).
IMDS_ADDRESS = "169.254.169.254"
#: Its IPv6 counterpart: a VM's IPv6 default gateway, and the source of the IPv6 health probes.
PLATFORM_ADDRESS_V6 = "fe80::1234:5678:9abc"
#: Transit /30s between a VNet's namespace and the host are taken from here (carrier-grade
#: NAT space: never an Azure VNet's, rarely a host's).
TRANSIT_RANGE = ipaddress.ip_network("100.64.0.0/10")
#: An uplink's IPv6 addresses are its IPv4 ones embedded in this /96 (a /126 per uplink).
TRANSIT_IPV6_PREFIX = "fd61:7a6c:6163::/96"
#: Host end of every VNet uplink: the host's firewall matches ``azu+``.
UPLINK_PREFIX = "azu"
UPLINK_IN_VNET = "uplink"
NETNS_DIR = Path("/run/netns")
#: ``ip rule`` preference of the per-VNet source routes, and the first routing table they use.
RULE_PREFERENCE = 7301
ROUTE_TABLE_BASE = 0x10000
#: In a VNet's router: ``ip rule`` preference of the NICs' subnet route tables, and the first
#: kernel table number they use (``routes.py``).
ROUTE_RULE_PREFERENCE = 1000
SUBNET_TABLE_BASE = 0x20000


class NetworkError(RuntimeError):
    """An ``ip``/``iptables``/``sysctl`` command failed; the message names the command and why."""


def _digest(text: str, size: int = 8) -> str:
    return hashlib.sha1(text.lower().rstrip("/").encode()).hexdigest()[:size]


def vnet_namespace(lab: str, vnet_id: str) -> str:
    """The VNet's namespace name: unique per lab instance and VNet ID (case-insensitive)."""
    return f"azv-{lab}-{_digest(vnet_id)}"


def nic_namespace(lab: str, nic_id: str) -> str:
    return f"azn-{lab}-{_digest(nic_id)}"


def uplink_name(lab: str, vnet_id: str) -> str:
    """Host-side interface name (15 characters at most, unique on the host)."""
    return f"{UPLINK_PREFIX}{_digest(lab + vnet_id, 10)}"


def nic_veth_name(nic_id: str) -> str:
    """The NIC's interface inside the VNet namespace (unique there)."""
    return f"n{_digest(nic_id, 12)}"


def vnet_of(subnet_id: str) -> str:
    """The VNet ID of a subnet ID (a VNet ID is returned as it is)."""
    return subnet_id.rstrip("/").split("/subnets/")[0]


def gateway(cidr: str) -> str:
    """Azure's default gateway of a subnet: its first address (x.x.x.1 of a /24)."""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


def transit_ipv6(address: str) -> str:
    """The IPv6 twin of an uplink's IPv4 address (the LB's source into the VNet for IPv6)."""
    return str(ipv6_twin(address, TRANSIT_IPV6_PREFIX).network_address)


def transit_network(lab: str, vnet_id: str, taken: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """A /30 of :data:`TRANSIT_RANGE` for the VNet's uplink: derived from its ID, moved on
    past any /30 that an address of the host already uses (another lab's uplink)."""
    slots = TRANSIT_RANGE.num_addresses // 4
    start = int(_digest(lab + vnet_id, 8), 16) % slots
    taken = set(taken)
    for step in range(slots):
        candidate = ipaddress.ip_network(
            (int(TRANSIT_RANGE.network_address) + ((start + step) % slots) * 4, 30))
        if candidate not in taken:
            return candidate
    raise NetworkError(f"no free /30 left in {TRANSIT_RANGE} for a VNet uplink")


# ------------------------------------------------------------------ commands


def run(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess:
    """Run one command; a failure raises :class:`NetworkError` with its stderr."""
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise NetworkError(f"{' '.join(args)} failed (exit {proc.returncode}): "
                           f"{proc.stderr.strip() or proc.stdout.strip() or '(no output)'}")
    return proc


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def in_namespace(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside a namespace (``ip netns exec``)."""
    return run(["ip", "netns", "exec", ns, *args], check=check)


def sysctl(ns: str | None, values: dict[str, str]) -> None:
    args = ["sysctl", "-q", "-w", *(f"{key}={value}" for key, value in values.items())]
    run(["ip", "netns", "exec", ns, *args] if ns else args)


def namespaces(prefix: str = "") -> set[str]:
    """Names of the host's named network namespaces starting with ``prefix``."""
    out = ip("-j", "netns", "list").stdout
    return {entry["name"] for entry in json.loads(out or "[]") if entry["name"].startswith(prefix)}


def namespace_path(ns: str) -> Path:
    return NETNS_DIR / ns


def _link_exists(name: str, ns: str | None = None) -> bool:
    return ip("link", "show", "dev", name, ns=ns, check=False).returncode == 0


def _addresses(ns: str | None, dev: str, family: str = "inet") -> set[str]:
    """``address/length`` of one family (``inet``, ``inet6``) on an interface; IPv6 link-local
    addresses (the kernel's own, and the gateway's) are not counted."""
    out = ip("-j", "addr", "show", "dev", dev, ns=ns).stdout
    return {f"{a['local']}/{a['prefixlen']}" for link in json.loads(out or "[]") for a in link.get("addr_info", [])
            if a.get("family") == family and a.get("scope") != "link"}


def ipv6_enabled() -> bool:
    """Whether the host runs IPv6 (a kernel booted with ipv6.disable=1, or disable_ipv6, does not)."""
    path = Path("/proc/sys/net/ipv6/conf/all/disable_ipv6")
    return path.exists() and path.read_text().strip() == "0"


def _host_transit_networks() -> set[ipaddress.IPv4Network]:
    out = ip("-j", "-4", "addr", "show").stdout
    nets = set()
    for link in json.loads(out or "[]"):
        for addr in link.get("addr_info", []):
            network = ipaddress.ip_interface(f"{addr['local']}/{addr['prefixlen']}").network
            if network.subnet_of(TRANSIT_RANGE):
                nets.add(network)
    return nets


# ------------------------------------------------------------------ VNets


@dataclass(frozen=True)
class VNet:
    """What the data plane needs of one VNet: its ID and its subnets' CIDRs."""

    id: str
    subnet_cidrs: tuple[str, ...]


def ensure_vnet(lab: str, vnet: VNet) -> str:
    """Create (or complete) the VNet's namespace; return the host address that reaches into
    it (the source a load balancer connects to the VNet's backends from)."""
    ns = vnet_namespace(lab, vnet.id)
    if ns not in namespaces(ns):
        ip("netns", "add", ns)
    ip("link", "set", "lo", "up", ns=ns)
    # no reverse-path filter (a namespace inherits the host's): an appliance hands packets
    # back with sources that are not its own
    sysctl(ns, {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0"})
    if ipv6_enabled():
        # no duplicate address detection: the lab hands out every address once, and a
        # tentative address would not answer for a second
        sysctl(ns, {"net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.default.accept_dad": "0"})
    # each IPv4 subnet's gateway; the IPv6 one is link-local, on each NIC's link (ensure_nic)
    wanted = {f"{PLATFORM_ADDRESS}/32", f"{IMDS_ADDRESS}/32",
              *(f"{gateway(cidr)}/32" for cidr in vnet.subnet_cidrs if ipaddress.ip_network(cidr, strict=False).version == 4)}
    present = _addresses(ns, "lo")
    for address in sorted(wanted - present):
        ip("addr", "add", address, "dev", "lo", ns=ns)
    for address in sorted(present - wanted - {"127.0.0.1/8"}):
        ip("addr", "del", address, "dev", "lo", ns=ns)
    host_address = _ensure_uplink(lab, vnet.id, ns)
    if ipv6_enabled():
        _ensure_uplink_ipv6(uplink_name(lab, vnet.id), ns, host_address)
    return host_address


def _ensure_uplink(lab: str, vnet_id: str, ns: str) -> str:
    host_end = uplink_name(lab, vnet_id)
    if _link_exists(UPLINK_IN_VNET, ns) and _link_exists(host_end):
        return next(iter(_addresses(None, host_end))).split("/")[0]
    ip("link", "del", host_end, check=False)  # a half-made uplink of an interrupted run
    transit = transit_network(lab, vnet_id, _host_transit_networks())
    host_address, vnet_address = (str(transit.network_address + n) for n in (1, 2))
    table = str(_source_table(host_address))
    ip("link", "add", host_end, "type", "veth", "peer", "name", UPLINK_IN_VNET, "netns", ns)
    ip("addr", "add", f"{host_address}/30", "dev", host_end)
    ip("link", "set", host_end, "up")
    ip("addr", "add", f"{vnet_address}/30", "dev", UPLINK_IN_VNET, ns=ns)
    ip("link", "set", UPLINK_IN_VNET, "up", ns=ns)
    ip("route", "replace", "default", "via", host_address, ns=ns)
    # the host reaches into this VNet (and only this one) from the uplink's own address
    ip("route", "replace", "default", "via", vnet_address, "dev", host_end, "table", table)
    ip("rule", "del", "from", host_address, "pref", str(RULE_PREFERENCE), check=False)
    ip("rule", "add", "from", host_address, "lookup", table, "pref", str(RULE_PREFERENCE))
    nat = ("iptables", "-w", "10", "-t", "nat")
    in_namespace(ns, *nat, "-F", "POSTROUTING")  # rules of an earlier uplink name its old address
    in_namespace(ns, *nat, "-A", "POSTROUTING", "-o", UPLINK_IN_VNET, "-j", "MASQUERADE")
    # the load balancer's flows and probes reach the NICs from Azure's platform address
    in_namespace(ns, *nat, "-A", "POSTROUTING", "-s", host_address, "!", "-o", UPLINK_IN_VNET, "-j", "SNAT",
                 "--to-source", PLATFORM_ADDRESS)
    return host_address


def _source_table(host_address: str) -> int:
    """The host's routing table into one VNet: numbered after its uplink's /30."""
    return ROUTE_TABLE_BASE + (int(ipaddress.ip_address(host_address)) - int(TRANSIT_RANGE.network_address)) // 4


def _ensure_uplink_ipv6(host_end: str, ns: str, host_address: str) -> None:
    """The uplink's IPv6 twin: the same source route for the LBs' IPv6 flows, rewritten to
    Azure's IPv6 probe source in the router. The VNet gets no IPv6 route out (the host has none)."""
    host6, vnet6 = transit_ipv6(host_address), transit_ipv6(str(ipaddress.ip_address(host_address) + 1))
    table = str(_source_table(host_address))
    snat = ["-s", host6, "!", "-o", UPLINK_IN_VNET, "-j", "SNAT", "--to-source", PLATFORM_ADDRESS_V6]
    nat = ("ip6tables", "-w", "10", "-t", "nat")
    made = (f"{host6}/126" in _addresses(None, host_end, "inet6")
            and f"{vnet6}/126" in _addresses(ns, UPLINK_IN_VNET, "inet6")
            and ip("-6", "rule", "show", "from", host6, "pref", str(RULE_PREFERENCE)).stdout.strip()
            and in_namespace(ns, *nat, "-C", "POSTROUTING", *snat, check=False).returncode == 0)
    if made:
        return
    ip("-6", "addr", "replace", f"{host6}/126", "dev", host_end, "nodad")
    ip("-6", "addr", "replace", f"{vnet6}/126", "dev", UPLINK_IN_VNET, "nodad", ns=ns)
    ip("-6", "route", "replace", "default", "via", vnet6, "dev", host_end, "table", table)
    ip("-6", "rule", "del", "from", host6, "pref", str(RULE_PREFERENCE), check=False)
    ip("-6", "rule", "add", "from", host6, "lookup", table, "pref", str(RULE_PREFERENCE))
    in_namespace(ns, *nat, "-F", "POSTROUTING")
    in_namespace(ns, *nat, "-A", "POSTROUTING", *snat)


def apply_filter(lab: str, vnet_id: str, table: str, version: int) -> None:
    """Replace the filter table of one IP version of the VNet's router (``iptables-restore``
    or ``ip6tables-restore``: all at once)."""
    command = "iptables-restore" if version == 4 else "ip6tables-restore"
    proc = subprocess.run(["ip", "netns", "exec", vnet_namespace(lab, vnet_id), command, "-w", "10"],
                          input=table, capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise NetworkError(f"{command} in {vnet_namespace(lab, vnet_id)} failed: {proc.stderr.strip()}")


def apply_routes(lab: str, vnet_id: str, plan) -> list[str]:
    """Make the VNet router's subnet tables, their rules and the NICs' IP forwarding
    exactly those of ``plan`` (a ``routes.RoutePlan``). Returns the next hops that no NIC of
    the VNet holds (yet): their routes are blackholes, as Azure drops what it cannot hand
    to the appliance, until the NIC appears and the plan is applied again."""
    ns = vnet_namespace(lab, vnet_id)
    ours = {number for number, _ in plan.tables}
    for rule in json.loads(ip("-j", "rule", "show", ns=ns).stdout or "[]"):
        if rule.get("priority") == ROUTE_RULE_PREFERENCE:
            ip("rule", "del", "pref", str(ROUTE_RULE_PREFERENCE), *(["iif", rule["iif"]] if rule.get("iif") else []),
               ns=ns, check=False)
    present = {int(route["table"]) for route in json.loads(ip("-j", "route", "show", "table", "all", ns=ns).stdout or "[]")
               if str(route.get("table", "")).isdigit() and int(route["table"]) >= SUBNET_TABLE_BASE}
    for number in sorted(present | ours):
        ip("route", "flush", "table", str(number), ns=ns, check=False)
    unwired = []
    for number, kernel_routes in plan.tables:
        for route in kernel_routes:
            if ip("route", "replace", *route.args(number), ns=ns, check=route.kind != "via").returncode != 0:
                unwired.append(route.via)
                ip("route", "replace", "blackhole", route.prefix, "table", str(number), ns=ns)
    for veth, number in plan.rules:
        ip("rule", "add", "iif", veth, "lookup", str(number), "pref", str(ROUTE_RULE_PREFERENCE), ns=ns)
    present_nics = namespaces(f"azn-{lab}-")
    for nic_id in plan.nics:
        if nic_namespace(lab, nic_id) in present_nics:
            _set_forwarding(nic_namespace(lab, nic_id), nic_id in plan.forwarding)
    return sorted(set(unwired))


def routes_in_place(lab: str, vnet_id: str, plan) -> bool:
    """Whether the router still has every route of the plan's tables (the kernel drops a
    ``via`` route with the interface it used: a NIC made again)."""
    if not plan.tables:
        return True
    listed = json.loads(ip("-j", "route", "show", "table", "all", ns=vnet_namespace(lab, vnet_id)).stdout or "[]")
    present = {(str(r.get("table")), r.get("dst")) for r in listed}
    return all((str(number), _dst(route.prefix)) in present for number, routes in plan.tables for route in routes)


def _dst(prefix: str) -> str:
    """How ``ip -j route`` spells a destination: ``default`` for 0/0, a host route without /32."""
    if prefix == "0.0.0.0/0":
        return "default"
    return prefix[:-3] if prefix.endswith("/32") else prefix


def _set_forwarding(ns: str, on: bool) -> None:
    """A NIC's IP forwarding (``enableIPForwarding``): a new namespace inherits the host's
    (on, for the VNets' uplinks), so it is always set explicitly."""
    sysctl(ns, {"net.ipv4.ip_forward": "1" if on else "0"})


def remove_namespace(ns: str) -> None:
    """Delete a namespace with its interfaces; a VNet's uplink goes first, synchronously
    (a namespace's own teardown is asynchronous), and its source route with it."""
    if ns.startswith("azv-"):
        ip("link", "del", UPLINK_IN_VNET, ns=ns, check=False)
        prune_source_rules()
    ip("netns", "delete", ns, check=False)


def prune_source_rules() -> None:
    """Drop the per-VNet source routes (both versions) whose uplink address is gone from the host."""
    for family in ("-4", "-6") if ipv6_enabled() else ("-4",):
        local = {a["local"] for link in json.loads(ip("-j", family, "addr", "show").stdout or "[]")
                 for a in link.get("addr_info", [])}
        for rule in json.loads(ip("-j", family, "rule", "show").stdout or "[]"):
            if rule.get("priority") == RULE_PREFERENCE and rule.get("src") not in local:
                ip(family, "rule", "del", "from", rule["src"], "pref", str(RULE_PREFERENCE), check=False)


# ------------------------------------------------------------------ NICs


@dataclass(frozen=True)
class NicPort:
    """One NIC as the guest sees it: address, subnet, MAC, and the VNet it belongs to.

    ``ipv6_addresses``: the private addresses of its IPv6 ip configurations (dual stack); the
    guest sees each as a /128 with its default route via :data:`PLATFORM_ADDRESS_V6`, as an
    Azure VM does, so all its IPv6 traffic is routed (and filtered) by the VNet's router.
    """

    nic_id: str
    vnet_id: str
    private_ip: str
    subnet_cidr: str
    mac: str
    forwarding: bool = False
    ipv6_addresses: tuple[str, ...] = ()


def nic_ready(lab: str, port: NicPort) -> bool:
    """True if the NIC's namespace exists with its addresses on eth0."""
    ns = nic_namespace(lab, port.nic_id)
    if ns not in namespaces(ns) or not _link_exists("eth0", ns):
        return False
    prefix = ipaddress.ip_network(port.subnet_cidr, strict=False).prefixlen
    # exactly its IPv6 addresses: one the NIC gave up may already be another NIC's
    return (f"{port.private_ip}/{prefix}" in _addresses(ns, "eth0")
            and {f"{address}/128" for address in port.ipv6_addresses} == _addresses(ns, "eth0", "inet6"))


def ensure_nic(lab: str, port: NicPort) -> str:
    """(Re)create the NIC's namespace wired to its VNet; return the namespace's path.

    Called before the VM's container is created or started. A namespace that does not
    match the NIC (an address changed, a VNet recreated) is made again from scratch.
    """
    ns = nic_namespace(lab, port.nic_id)
    if nic_ready(lab, port):
        return str(namespace_path(ns))
    if port.ipv6_addresses and not ipv6_enabled():
        raise NetworkError(f"NIC {port.nic_id} has IPv6 addresses ({', '.join(port.ipv6_addresses)}), but IPv6 is "
                           "disabled on this host (net.ipv6.conf.all.disable_ipv6)")
    vnet_ns = vnet_namespace(lab, port.vnet_id)
    veth = nic_veth_name(port.nic_id)
    remove_namespace(ns)
    ip("link", "del", veth, ns=vnet_ns, check=False)
    ip("netns", "add", ns)
    if ipv6_enabled():
        sysctl(ns, {"net.ipv6.conf.default.accept_dad": "0", "net.ipv6.conf.default.accept_ra": "0"})
    prefix = ipaddress.ip_network(port.subnet_cidr, strict=False).prefixlen
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns, ns=vnet_ns)
    ip("link", "set", "lo", "up", ns=ns)
    ip("link", "set", "eth0", "address", port.mac, ns=ns)
    ip("addr", "add", f"{port.private_ip}/{prefix}", "dev", "eth0", ns=ns)
    ip("link", "set", "eth0", "up", ns=ns)
    ip("route", "add", "default", "via", gateway(port.subnet_cidr), ns=ns)
    _set_forwarding(ns, port.forwarding)
    sysctl(vnet_ns, {f"net.ipv4.conf.{veth}.proxy_arp": "1"})
    if ipv6_enabled():
        ip("-6", "addr", "add", f"{PLATFORM_ADDRESS_V6}/64", "dev", veth, "nodad", ns=vnet_ns)
    ip("link", "set", veth, "up", ns=vnet_ns)
    ip("route", "replace", f"{port.private_ip}/32", "dev", veth, ns=vnet_ns)
    for address in port.ipv6_addresses:
        ip("-6", "addr", "add", f"{address}/128", "dev", "eth0", "nodad", ns=ns)
        ip("-6", "route", "replace", f"{address}/128", "dev", veth, ns=vnet_ns)
    if port.ipv6_addresses:
        ip("-6", "route", "add", "default", "via", PLATFORM_ADDRESS_V6, "dev", "eth0", ns=ns)
    return str(namespace_path(ns))


def lab_namespaces(lab: str) -> set[str]:
    """Every namespace of one lab instance (its VNets' and its NICs')."""
    return namespaces(f"azv-{lab}-") | namespaces(f"azn-{lab}-")
