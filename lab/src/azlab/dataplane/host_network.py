"""The host's side of the lab's networks, shared by every lab on the machine: forwarding, the
firewall chains that keep VNets away from the host and from each other, and the route that
makes the public IPv6 range the host's own.

What comes out of a VNet uplink may go to the Internet only (IPv4: the host has no IPv6 route
out, so a VNet's IPv6 traffic goes nowhere but back to the LB), and the host answers nothing a
VNet sends it but the replies to its own (the LBs') connections — and, for IPv6, neighbour
discovery on the uplink, which the kernel needs to talk to the VNet's router at all.

Idempotent; the rules match every ``azu+`` uplink, whichever lab made it.
"""

from __future__ import annotations

import subprocess
from typing import Sequence

from azlab.dataplane.vnet import TRANSIT_RANGE, UPLINK_PREFIX, ip, run, sysctl
from azlab.settings import PUBLIC_IPV6_PREFIX, ipv6_twin

#: The host's own address as an IPv6 client of the lab's public IPs: the twin of 127.0.0.1, the
#: source of its IPv4 connections to them. Without it the kernel would pick the uplinks' IPv6
#: addresses (the longest common prefix), which are the LBs' sources into the VNets: a client
#: would look like the platform to every NSG.
IPV6_CLIENT_ADDRESS = str(ipv6_twin("127.0.0.1", PUBLIC_IPV6_PREFIX).network_address)
HOST_INPUT_CHAIN = "AZLAB-VNET-INPUT"
HOST_FORWARD_CHAIN = "AZLAB-VNET-FORWARD"
ESTABLISHED = ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]


def _tables(version: int, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["iptables" if version == 4 else "ip6tables", "-w", "10", *args], check=check)


def _ensure_rule(version: int, table: str, chain: str, rule: Sequence[str], *, first: bool = False) -> None:
    if _tables(version, "-t", table, "-C", chain, *rule, check=False).returncode != 0:
        _tables(version, "-t", table, "-I" if first else "-A", chain, *rule)


def _ensure_chain(version: int, chain: str, rules: Sequence[Sequence[str]]) -> None:
    """The lab's own chain holds exactly ``rules``, in order (rebuilt when it differs)."""
    _tables(version, "-N", chain, check=False)
    wanted = [f"-A {chain} {' '.join(rule)}" for rule in rules]
    present = [line for line in _tables(version, "-S", chain).stdout.splitlines() if line.startswith("-A ")]
    if present != wanted:
        _tables(version, "-F", chain)
        for rule in rules:
            _tables(version, "-A", chain, *rule)


def ensure_host_rules() -> None:
    """Forwarding on, the uplinks fenced in (both IP versions), the public IPv6 range local."""
    sysctl(None, {"net.ipv4.ip_forward": "1"})
    uplinks = f"{UPLINK_PREFIX}+"
    _ensure_chain(4, HOST_INPUT_CHAIN, [ESTABLISHED, ["-j", "DROP"]])
    # a VNet sends out only its uplink's transit address (NATed in its router): anything else
    # (a flow an appliance handed back, which the router's conntrack cannot NAT twice) is dropped
    _ensure_chain(4, HOST_FORWARD_CHAIN, [["-i", uplinks, "-o", uplinks, "-j", "DROP"],
                                          ["-i", uplinks, "!", "-s", str(TRANSIT_RANGE), "-j", "DROP"],
                                          ["-i", uplinks, "-j", "ACCEPT"],
                                          ["-o", uplinks, *ESTABLISHED], ["-o", uplinks, "-j", "DROP"]])
    _ensure_rule(4, "filter", "INPUT", ["-i", uplinks, "-j", HOST_INPUT_CHAIN], first=True)
    _ensure_rule(4, "filter", "FORWARD", ["-j", HOST_FORWARD_CHAIN], first=True)
    _ensure_rule(4, "nat", "POSTROUTING", ["-s", str(TRANSIT_RANGE), "!", "-o", uplinks, "-j", "MASQUERADE"])
    neighbour_discovery = [["-p", "ipv6-icmp", "--icmpv6-type", kind, "-j", "ACCEPT"]
                           for kind in ("neighbour-solicitation", "neighbour-advertisement")]
    _ensure_chain(6, HOST_INPUT_CHAIN, [ESTABLISHED, *neighbour_discovery, ["-j", "DROP"]])
    _ensure_chain(6, HOST_FORWARD_CHAIN, [["-i", uplinks, "-j", "DROP"], ["-o", uplinks, "-j", "DROP"]])
    _ensure_rule(6, "filter", "INPUT", ["-i", uplinks, "-j", HOST_INPUT_CHAIN], first=True)
    _ensure_rule(6, "filter", "FORWARD", ["-j", HOST_FORWARD_CHAIN], first=True)
    # every address of the IPv6 public range is the host's (as 127.0.0.0/8 is): the LBs bind
    # them with IP_TRANSPARENT, so no address is ever added or removed
    ip("-6", "route", "replace", "local", PUBLIC_IPV6_PREFIX, "dev", "lo", "table", "local")
    ip("-6", "addr", "replace", f"{IPV6_CLIENT_ADDRESS}/128", "dev", "lo", "nodad")
