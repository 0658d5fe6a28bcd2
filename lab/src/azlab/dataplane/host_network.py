"""The host's side of the lab's networks, shared by every lab on the machine: forwarding, the
firewall chains that keep VNets away from the host and from each other, and the route that
makes the public IPv6 range the host's own.

What comes out of a VNet uplink may go to the Internet only (IPv4: the host has no IPv6 route
out, so a VNet's IPv6 traffic goes nowhere but back to the LB), and the host answers nothing a
VNet sends it but the replies to its own (the LBs') connections — and, for IPv6, neighbour
discovery on the uplink, which the kernel needs to talk to the VNet's router at all.

Idempotent and safe when labs start side by side (test workers): the lab's chains are
replaced in one ``iptables-restore`` commit (never empty in between), and a host-wide lock
serialises the check-then-insert of the jumps to them.
"""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path
from typing import Sequence

from azlab.dataplane.vnet import TRANSIT_RANGE, UPLINK_PREFIX, NetworkError, ip, ipv6_enabled, run, sysctl
from azlab.settings import PUBLIC_IPV6_PREFIX, ipv6_twin

#: The host's own address as an IPv6 client of the lab's public IPs: the twin of 127.0.0.1, the
#: source of its IPv4 connections to them. Without it the kernel would pick the uplinks' IPv6
#: addresses (the longest common prefix), which are the LBs' sources into the VNets: a client
#: would look like the platform to every NSG.
IPV6_CLIENT_ADDRESS = str(ipv6_twin("127.0.0.1", PUBLIC_IPV6_PREFIX).network_address)
HOST_INPUT_CHAIN = "AZLAB-VNET-INPUT"
HOST_FORWARD_CHAIN = "AZLAB-VNET-FORWARD"
LOCK_PATH = Path("/run/azlab-host-network.lock")
UPLINKS = f"{UPLINK_PREFIX}+"
ESTABLISHED = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"


def _chains(version: int) -> dict[str, list[str]]:
    """The lab's two chains of one IP version, rule by rule."""
    if version == 4:
        # a VNet sends out only its uplink's transit address (NATed in its router): anything
        # else (a flow an appliance handed back, which the router's conntrack cannot NAT
        # twice) is dropped
        forward = [f"-i {UPLINKS} -o {UPLINKS} -j DROP", f"-i {UPLINKS} ! -s {TRANSIT_RANGE} -j DROP",
                   f"-i {UPLINKS} -j ACCEPT", f"-o {UPLINKS} {ESTABLISHED}", f"-o {UPLINKS} -j DROP"]
        return {HOST_INPUT_CHAIN: [ESTABLISHED, "-j DROP"], HOST_FORWARD_CHAIN: forward}
    neighbour_discovery = [f"-p ipv6-icmp --icmpv6-type {kind} -j ACCEPT"
                           for kind in ("neighbour-solicitation", "neighbour-advertisement")]
    return {HOST_INPUT_CHAIN: [ESTABLISHED, *neighbour_discovery, "-j DROP"],
            HOST_FORWARD_CHAIN: [f"-i {UPLINKS} -j DROP", f"-o {UPLINKS} -j DROP"]}


def _restore_chains(version: int) -> None:
    """Create or replace the lab's chains in one commit (``--noflush``: the rest of the
    host's filter table stays as it is)."""
    lines = ["*filter"]
    for chain, rules in _chains(version).items():
        lines += [f":{chain} - [0:0]", *(f"-A {chain} {rule}" for rule in rules)]
    command = ["iptables-restore" if version == 4 else "ip6tables-restore", "-w", "10", "--noflush"]
    proc = subprocess.run(command, input="\n".join([*lines, "COMMIT", ""]), capture_output=True, text=True,
                          timeout=30)
    if proc.returncode != 0:
        raise NetworkError(f"{' '.join(command)} failed: {proc.stderr.strip()}")


def _ensure_jump(version: int, table: str, chain: str, rule: Sequence[str], *, first: bool = False) -> None:
    tables = "iptables" if version == 4 else "ip6tables"
    if run([tables, "-w", "10", "-t", table, "-C", chain, *rule], check=False).returncode != 0:
        run([tables, "-w", "10", "-t", table, "-I" if first else "-A", chain, *rule])


def ensure_host_rules() -> None:
    """Forwarding on, the uplinks fenced in (both IP versions), the public IPv6 range local."""
    LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_PATH, "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sysctl(None, {"net.ipv4.ip_forward": "1"})
        versions = (4, 6) if ipv6_enabled() else (4,)
        for version in versions:
            _restore_chains(version)
            _ensure_jump(version, "filter", "INPUT", ["-i", UPLINKS, "-j", HOST_INPUT_CHAIN], first=True)
            _ensure_jump(version, "filter", "FORWARD", ["-j", HOST_FORWARD_CHAIN], first=True)
        _ensure_jump(4, "nat", "POSTROUTING", ["-s", str(TRANSIT_RANGE), "!", "-o", UPLINKS, "-j", "MASQUERADE"])
        if 6 in versions:
            # every address of the IPv6 public range is the host's (as 127.0.0.0/8 is): the LBs
            # bind them with IP_TRANSPARENT, so no address is ever added or removed
            ip("-6", "route", "replace", "local", PUBLIC_IPV6_PREFIX, "dev", "lo", "table", "local")
            ip("-6", "addr", "replace", f"{IPV6_CLIENT_ADDRESS}/128", "dev", "lo", "nodad")
