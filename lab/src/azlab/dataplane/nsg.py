"""Network security groups as Azure evaluates them, for the data plane to enforce: pure, no I/O.

Azure's rules (docs: "How network security groups filter network traffic"):

* A rule matches on protocol, source and destination address prefixes (a CIDR, an address,
  ``*`` or a service tag) and destination port ranges; rules are evaluated by priority
  (lowest number first) and the first match decides: Allow or Deny. The default rules
  (65000-65500) come last and end with DenyAll. NSGs are stateful: the reply of an allowed
  flow is never judged.
* Inbound, the subnet's NSG is evaluated first, then the NIC's; outbound the NIC's first,
  then the subnet's. A flow passes only if every NSG present allows it; a level without an
  NSG allows everything.
* Standard load balancers and Standard public IPs are "secure by default": a flow arriving
  through one reaches a VM only if an NSG on its subnet or NIC allows it ("If you don't have
  an NSG on a subnet or NIC of your virtual machine resource, traffic isn't allowed to reach
  this resource", Azure Load Balancer documentation). :func:`allowed_sources` takes
  ``through_load_balancer`` for that rule.
* A Standard load balancer is pass-through: a flow it forwards is judged with the client's
  own source address; its probes come from 168.63.129.16 (IPv6: fe80::1234:5678:9abc), the
  AzureLoadBalancer tag.

How the lab uses it: the VNet's router (``dataplane/vnet``) filters every packet to and from a
NIC with :func:`iptables_rules` (VM to VM, VM to the Internet, the LB's probes); the load
balancer (HAProxy) drops a client whose source the backend's NSGs refuse before it forwards
the flow (:func:`allowed_sources`), since behind HAProxy the VNet only sees the LB's address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Every address of one IP version (4 or 6).
EVERYTHING = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}
PROTOCOLS_WITH_PORTS = ("tcp", "udp")
#: NSG protocol -> iptables protocol (None: any)
PROTOCOL_NAMES = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "esp", "ah": "ah", "*": None}
#: ip6tables names ICMP (Azure's "Icmp" covers ICMPv6 on an IPv6 flow) its own way.
IPV6_PROTOCOL_NAMES = {"icmp": "ipv6-icmp"}


def collapse(networks: Iterable[Network]) -> list[Network]:
    """The fewest CIDRs covering ``networks``, IPv4 first (the versions never merge)."""
    listed = list(networks)
    return [network for version in (4, 6)
            for network in ipaddress.collapse_addresses(n for n in listed if n.version == version)]


def intersect(first: Sequence[Network], second: Sequence[Network]) -> list[Network]:
    """The addresses in both lists (CIDRs are either nested or disjoint)."""
    out = []
    for a in first:
        for b in second:
            if a.version == b.version and a.overlaps(b):
                out.append(a if a.subnet_of(b) else b)
    return collapse(out)


def subtract(first: Sequence[Network], second: Sequence[Network]) -> list[Network]:
    """The addresses of ``first`` that are not in ``second``."""
    result = collapse(first)
    for b in second:
        remaining = []
        for a in result:
            if a.version != b.version or not a.overlaps(b):
                remaining.append(a)
            elif not a.subnet_of(b):
                remaining.extend(a.address_exclude(b))
        result = collapse(remaining)
    return result


@dataclass(frozen=True)
class ServiceTags:
    """What the service tags mean in one VNet of the lab.

    ``virtual_network``: the VNet's address space (no peering, no gateways in the lab).
    ``load_balancer``: 168.63.129.16, its IPv6 counterpart, and the host addresses the lab's
    load balancers reach the VNet from. ``Internet`` is everything else, in both versions. Other tags (Storage, AzureCloud, ...) name
    Azure's public ranges, which no lab address belongs to: they match nothing.
    """

    virtual_network: tuple[Network, ...]
    load_balancer: tuple[Network, ...]
    #: application security groups: (group key, the addresses of its member ip configurations)
    groups: tuple[tuple[str, tuple[Network, ...]], ...] = ()

    def group(self, group_id: str) -> list[Network]:
        key = group_id.rstrip("/").lower()
        return [network for name, networks in self.groups if name == key for network in networks]

    def expand(self, prefix: str) -> list[Network]:
        lowered = prefix.lower()
        if lowered in ("*", "any"):
            return list(EVERYTHING.values())
        if lowered == "virtualnetwork":
            return list(self.virtual_network)
        if lowered == "azureloadbalancer":
            return list(self.load_balancer)
        if lowered == "internet":
            return subtract(list(EVERYTHING.values()), [*self.virtual_network, *self.load_balancer])
        try:
            return [ipaddress.ip_network(prefix, strict=False)]
        except ValueError:
            return []


@dataclass(frozen=True)
class Rule:
    """One security rule, its prefixes expanded; ``ports`` None means every port."""

    name: str
    priority: int
    allow: bool
    protocol: str | None
    sources: tuple[Network, ...]
    destinations: tuple[Network, ...]
    ports: tuple[tuple[int, int], ...] | None = field(default=None)

    def matches(self, destination: Network, port: int, protocol: str) -> bool:
        """Does this rule match a flow to ``destination``:``port`` (from any of its sources)?"""
        if self.protocol not in (None, protocol):
            return False
        if self.ports is not None and not any(low <= port <= high for low, high in self.ports):
            return False
        return any(destination.version == d.version and destination.subnet_of(d) for d in self.destinations)


def _ports(props: dict) -> tuple[tuple[int, int], ...] | None:
    values = props.get("destinationPortRanges") or [props.get("destinationPortRange", "*")]
    if "*" in values:
        return None
    ranges = []
    for value in values:
        low, _, high = str(value).partition("-")
        ranges.append((int(low), int(high or low)))
    return tuple(ranges)


def _prefixes(props: dict, side: str, tags: ServiceTags) -> tuple[Network, ...]:
    values = props.get(f"{side}AddressPrefixes") or (
        [props[f"{side}AddressPrefix"]] if props.get(f"{side}AddressPrefix") else [])
    groups = [ref.get("id", "") for ref in props.get(f"{side}ApplicationSecurityGroups") or []]
    return tuple(collapse([*(network for value in values for network in tags.expand(str(value))),
                           *(network for group in groups for network in tags.group(group))]))


def rules_of(nsg: dict, direction: str, tags: ServiceTags) -> list[Rule]:
    """The NSG's rules for one direction ("Inbound"/"Outbound"), defaults included, in the
    order Azure evaluates them."""
    props = nsg.get("properties") or {}
    out = []
    for rule in [*(props.get("securityRules") or []), *(props.get("defaultSecurityRules") or [])]:
        rp = rule.get("properties") or {}
        if rp.get("direction") != direction:
            continue
        out.append(Rule(name=rule.get("name", ""), priority=int(rp["priority"]), allow=rp.get("access") == "Allow",
                        protocol=PROTOCOL_NAMES.get(str(rp.get("protocol", "*")).lower()),
                        sources=_prefixes(rp, "source", tags), destinations=_prefixes(rp, "destination", tags),
                        ports=_ports(rp)))
    return sorted(out, key=lambda r: r.priority)


def allowed_sources(levels: Sequence[list[Rule] | None], destination: str, port: int, protocol: str = "tcp", *,
                    through_load_balancer: bool = False) -> list[Network]:
    """The source addresses whose flows to ``destination``:``port`` every NSG level allows
    (of the destination's IP version: a flow never changes version).

    ``levels`` are the inbound rules of the subnet's and the NIC's NSG, None where there is
    none. ``through_load_balancer``: with no NSG at all, nothing is allowed (secure by
    default); otherwise a missing level allows everything.
    """
    if through_load_balancer and all(level is None for level in levels):
        return []
    target = ipaddress.ip_network(destination)
    everything = EVERYTHING[target.version]
    allowed = [everything]
    for rules in levels:
        if rules is None:
            continue
        undecided, passed = [everything], []
        for rule in rules:
            if not undecided:
                break
            if not rule.matches(target, port, protocol):
                continue
            matched = intersect(undecided, rule.sources)
            if rule.allow:
                passed += matched
            undecided = subtract(undecided, matched)
        allowed = intersect(allowed, collapse(passed))
    return allowed


def _port_args(rule: Rule, version: int) -> list[list[str]]:
    """iptables arguments for the rule's protocol and ports, one list per combination."""
    if rule.ports is None:
        protocol = IPV6_PROTOCOL_NAMES.get(rule.protocol, rule.protocol) if version == 6 else rule.protocol
        return [["-p", protocol]] if protocol else [[]]
    protocols = [rule.protocol] if rule.protocol in PROTOCOLS_WITH_PORTS else (
        list(PROTOCOLS_WITH_PORTS) if rule.protocol is None else [])
    return [["-p", proto, "--dport", f"{low}:{high}" if low != high else str(low)]
            for proto in protocols for low, high in rule.ports]


def iptables_rules(rules: Sequence[Rule], version: int) -> list[list[str]]:
    """One NSG direction as iptables (``version`` 4) or ip6tables (6) rule arguments for a
    chain of its own: an allowed flow RETURNs (the other level still judges it), a denied one
    is DROPped. A rule with no source or no destination of the version matches nothing there."""
    out = []
    everything = EVERYTHING[version]
    for rule in rules:
        target = ["-j", "RETURN" if rule.allow else "DROP"]
        sources = [s for s in rule.sources if s.version == version]
        destinations = [d for d in rule.destinations if d.version == version]
        for ports in _port_args(rule, version):
            for source in sources:
                for destination in destinations:
                    match = [*(["-s", str(source)] if source != everything else []),
                             *(["-d", str(destination)] if destination != everything else [])]
                    out.append([*match, *ports, *target])
    return out


@dataclass(frozen=True)
class NicSecurity:
    """The NSGs on one NIC's path, as its VNet router filters them.

    ``veth`` is the NIC's interface in the VNet's namespace; each level is (chain name,
    rules) or None where the subnet or the NIC has no NSG.
    """

    veth: str
    subnet_inbound: tuple[str, tuple[Rule, ...]] | None
    nic_inbound: tuple[str, tuple[Rule, ...]] | None
    subnet_outbound: tuple[str, tuple[Rule, ...]] | None
    nic_outbound: tuple[str, tuple[Rule, ...]] | None


def filter_table(nics: Sequence[NicSecurity], version: int) -> str:
    """``iptables-restore`` (``version`` 4) or ``ip6tables-restore`` (6) input for the filter
    table of a VNet's router.

    Replies of allowed flows pass first (NSGs are stateful). A packet from a NIC goes through
    its NIC's then its subnet's outbound NSG; a packet to a NIC through its subnet's then its
    NIC's inbound NSG; VM to VM takes both paths. Each NSG direction is one chain, shared by
    every NIC that uses it.
    """
    chains: dict[str, tuple[Rule, ...]] = {}
    forward, per_nic = [], []
    for nic in sorted(nics, key=lambda n: n.veth):
        for direction, flag, levels in (("OUT", "-i", (nic.nic_outbound, nic.subnet_outbound)),
                                        ("IN", "-o", (nic.subnet_inbound, nic.nic_inbound))):
            chain = f"AZ-{direction}-{nic.veth}"
            forward.append(f"-A FORWARD {flag} {nic.veth} -j {chain}")
            per_nic.append(f":{chain} - [0:0]")
            for level in levels:
                if level is not None:
                    chains[level[0]] = level[1]
                    forward.append(f"-A {chain} -j {level[0]}")
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", *per_nic,
             *(f":{name} - [0:0]" for name in sorted(chains)),
             "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", *forward]
    for name in sorted(chains):
        lines += [f"-A {name} {' '.join(args)}" for args in iptables_rules(chains[name], version)]
    return "\n".join([*lines, "COMMIT", ""])
