"""VNets as network namespaces (azlab.dataplane.vnet): names, addresses, and — with root —
real namespaces: two VNets with the same address plan side by side, each NIC reaching its
own VNet and the gateway, nothing of the other VNet or of the host.

No container is needed: a NIC's namespace is what a VM's container joins, so a process run
inside it (``ip netns exec``) sees the network exactly as the guest does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid

import pytest

from azlab.dataplane import host_network, vnet

VNET = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/web-vnet"


def test_names_are_unique_per_lab_and_vnet_and_fit_linux_limits():
    assert vnet.vnet_namespace("lab1", VNET) == vnet.vnet_namespace("lab1", VNET.upper())
    assert vnet.vnet_namespace("lab1", VNET) != vnet.vnet_namespace("lab2", VNET)
    assert vnet.vnet_namespace("lab1", VNET) != vnet.vnet_namespace("lab1", VNET.replace("/RG/", "/other/"))
    assert len(vnet.uplink_name("0123abcd", VNET)) <= 15, "IFNAMSIZ"
    assert vnet.uplink_name("lab1", VNET) != vnet.uplink_name("lab2", VNET)
    assert len(vnet.nic_veth_name(VNET + "/nic")) <= 15


def test_gateway_is_the_subnets_first_address():
    assert vnet.gateway("10.0.0.0/24") == "10.0.0.1"
    assert vnet.gateway("10.1.2.64/26") == "10.1.2.65"


def test_transit_network_is_stable_and_skips_taken_ones():
    first = vnet.transit_network("lab1", VNET, set())
    assert first.prefixlen == 30 and first.subnet_of(vnet.TRANSIT_RANGE)
    assert vnet.transit_network("lab1", VNET, set()) == first
    second = vnet.transit_network("lab1", VNET, {first})
    assert second != first and second.subnet_of(vnet.TRANSIT_RANGE)


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


needs_root = pytest.mark.skipif(_unavailable() is not None, reason=str(_unavailable()))

#: A web server that answers with the address the connection came from.
SERVER = """
import http.server, sys
class Peer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer((sys.argv[1], 8080), Peer).serve_forever()
"""
CLIENT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print("open")
except OSError as exc:
    print(type(exc).__name__)
"""


def reach(ns: str, host: str, port: int = 8080) -> str:
    """'open' if a TCP connection from inside ``ns`` to host:port is accepted, else the error."""
    return vnet.in_namespace(ns, sys.executable, "-c", CLIENT, host, str(port)).stdout.strip()


@pytest.fixture
def two_vnets():
    """Two VNets with the same dual-stack plan, a NIC 10.0.0.4 / fd00:aa::4 in each, a web server on
    each NIC's IPv4 address."""
    lab = uuid.uuid4().hex[:8]
    host_network.ensure_host_rules()
    ports, servers = {}, {}
    try:
        for name in ("app1", "app2"):
            vnet_id = VNET.replace("web-vnet", f"{name}-vnet")
            vnet.ensure_vnet(lab, vnet.VNet(vnet_id, ("10.0.0.0/24", "fd00:aa::/64")))
            port = vnet.NicPort(nic_id=f"{vnet_id}/nic-{name}", vnet_id=vnet_id, private_ip="10.0.0.4",
                                subnet_cidr="10.0.0.0/24", mac=f"00:0d:3a:00:00:0{len(ports) + 1}",
                                ipv6_addresses=("fd00:aa::4",))
            vnet.ensure_nic(lab, port)
            ns = vnet.nic_namespace(lab, port.nic_id)
            servers[name] = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, "10.0.0.4"],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ports[name] = port
        yield lab, ports, servers
    finally:
        for server in servers.values():
            server.kill()
            server.wait()
        for ns in vnet.lab_namespaces(lab):
            vnet.remove_namespace(ns)


def wait_open(ns: str, host: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if reach(ns, host) == "open":
            return True
        time.sleep(0.2)
    return False


SEEN_AS = """
import socket, sys
conn = socket.create_connection((sys.argv[1], 8080), timeout=2, source_address=(sys.argv[2], 0))
conn.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
print(conn.makefile("rb").read().split(b"\\r\\n\\r\\n", 1)[1].decode())
"""


@needs_root
def test_same_address_plan_in_two_vnets_never_collides(two_vnets):
    lab, ports, servers = two_vnets
    sources = {name: vnet.ensure_vnet(lab, vnet.VNet(ports[name].vnet_id, ("10.0.0.0/24", "fd00:aa::/64")))
               for name in ports}
    assert sources["app1"] != sources["app2"]
    app1, app2 = (vnet.vnet_namespace(lab, ports[n].vnet_id) for n in ("app1", "app2"))
    # each VNet's router reaches its own 10.0.0.4, from Azure's platform address (as probes come)
    assert wait_open(app1, "10.0.0.4") and wait_open(app2, "10.0.0.4")
    nic1 = vnet.nic_namespace(lab, ports["app1"].nic_id)
    assert vnet.ip("-j", "addr", "show", "dev", "eth0", ns=nic1).stdout.count("10.0.0.4") == 1
    # idempotent: a second ensure changes nothing and keeps the NIC ready
    vnet.ensure_vnet(lab, vnet.VNet(ports["app1"].vnet_id, ("10.0.0.0/24", "fd00:aa::/64")))
    assert vnet.nic_ready(lab, ports["app1"]) and reach(app1, "10.0.0.4") == "open"
    # the host (a load balancer) reaches each VNet's 10.0.0.4 from that VNet's source address,
    # and the guest sees the connection come from Azure's platform address
    for name in ("app1", "app2"):
        seen = subprocess.run([sys.executable, "-c", SEEN_AS, "10.0.0.4", sources[name]],
                              capture_output=True, text=True, timeout=10)
        assert seen.stdout.strip() == vnet.PLATFORM_ADDRESS, (name, seen.stderr)
    # which VNet answered: stop app2's server; app1's source still reaches app1's
    servers["app2"].kill()
    servers["app2"].wait()
    assert subprocess.run([sys.executable, "-c", SEEN_AS, "10.0.0.4", sources["app1"]], capture_output=True,
                          text=True, timeout=10).stdout.strip() == vnet.PLATFORM_ADDRESS
    assert reach(app2, "10.0.0.4") != "open"


def ipv4_addresses(dev: str | None = None, ns: str | None = None) -> list[str]:
    out = vnet.ip("-j", "-4", "addr", "show", *(["dev", dev] if dev else []), ns=ns).stdout
    return [a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", [])]


@pytest.fixture
def host_listener():
    """A TCP service of the host on every address (as the lab's own ports could be)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


@needs_root
def test_a_nic_reaches_nothing_of_the_host_or_of_another_vnet(two_vnets, host_listener):
    lab, ports, _ = two_vnets
    nic1 = vnet.nic_namespace(lab, ports["app1"].nic_id)
    assert wait_open(vnet.vnet_namespace(lab, ports["app1"].vnet_id), "10.0.0.4")
    host_addresses = [a for a in ipv4_addresses() if not a.startswith("127.")]
    assert host_addresses, "the host has no address to try"
    for address in host_addresses:
        assert reach(nic1, address, host_listener) != "open", f"a VM reached the host's service on {address}"
    other_router = vnet.vnet_namespace(lab, ports["app2"].vnet_id)
    for address in ipv4_addresses("uplink", ns=other_router):
        assert reach(nic1, address, 8080) != "open", "a VM reached another VNet's router"


@needs_root
def test_two_nics_of_one_vnet_reach_each_other_through_its_router(two_vnets):
    lab, ports, _ = two_vnets
    first = ports["app1"]
    second = vnet.NicPort(nic_id=f"{first.vnet_id}/nic-b", vnet_id=first.vnet_id, private_ip="10.0.0.5",
                          subnet_cidr="10.0.0.0/24", mac="00:0d:3a:00:00:0b")
    vnet.ensure_nic(lab, second)
    assert wait_open(vnet.nic_namespace(lab, second.nic_id), "10.0.0.4")
    assert reach(vnet.nic_namespace(lab, second.nic_id), "10.0.0.1", 8080) != "open", "nothing listens on the gateway"


#: An IPv6 server that answers with its own name (argv[1]) and the address it saw.
SERVER6 = """
import socket, sys
listener = socket.socket(socket.AF_INET6)
listener.bind(("::", 8086))
listener.listen()
while True:
    conn, peer = listener.accept()
    conn.sendall(f"{sys.argv[1]} {peer[0]}".encode())
    conn.close()
"""
ASK6 = """
import socket, sys
conn = socket.socket(socket.AF_INET6)
conn.settimeout(2)
conn.bind((sys.argv[2], 0))
conn.connect((sys.argv[1], 8086))
print(conn.recv(200).decode())
"""


@needs_root
def test_the_same_ipv6_plan_in_two_vnets_never_collides(two_vnets):
    """The LB's IPv6 source into each VNet (its uplink's IPv6 twin) reaches that VNet's
    fd00:aa::4 only, seen there as Azure's IPv6 probe source; a NIC reaches nothing of the
    host's or the other VNet's IPv6 addresses."""
    lab, ports, _ = two_vnets
    servers = [subprocess.Popen(["ip", "netns", "exec", vnet.nic_namespace(lab, port.nic_id), sys.executable, "-c",
                                 SERVER6, name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for name, port in ports.items()]
    try:
        for name, port in ports.items():
            source6 = vnet.transit_ipv6(vnet.ensure_vnet(lab, vnet.VNet(port.vnet_id, ("10.0.0.0/24", "fd00:aa::/64"))))

            def answer() -> str:
                return subprocess.run([sys.executable, "-c", ASK6, "fd00:aa::4", source6], capture_output=True,
                                      text=True, timeout=10).stdout.strip()
            deadline = time.monotonic() + 10
            while not answer() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert answer() == f"{name} {vnet.PLATFORM_ADDRESS_V6}"
        nic1 = vnet.nic_namespace(lab, ports["app1"].nic_id)
        out = vnet.ip("-j", "-6", "addr", "show", "scope", "global").stdout
        host6 = [a["local"] for link in json.loads(out or "[]") for a in link.get("addr_info", []) if "local" in a]
        other_uplink = vnet.ip("-j", "-6", "addr", "show", "dev", "uplink", "scope", "global",
                               ns=vnet.vnet_namespace(lab, ports["app2"].vnet_id)).stdout
        host6 += [a["local"] for link in json.loads(other_uplink or "[]") for a in link.get("addr_info", []) if "local" in a]
        assert host6
        for address in host6:
            assert reach(nic1, address, 8086) != "open", f"a VM reached {address} over IPv6"
    finally:
        for server in servers:
            server.kill()
            server.wait()


@needs_root
def test_host_rules_are_made_once_when_labs_start_side_by_side():
    """Two labs starting at once (test workers) leave each chain with its rules once, never empty."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: host_network.ensure_host_rules(), range(4)))
    for tool, chain, count in (("iptables", host_network.HOST_FORWARD_CHAIN, 5),
                               ("iptables", host_network.HOST_INPUT_CHAIN, 2),
                               ("ip6tables", host_network.HOST_INPUT_CHAIN, 4),
                               ("ip6tables", host_network.HOST_FORWARD_CHAIN, 2)):
        rules = [line for line in subprocess.run([tool, "-w", "10", "-S", chain], capture_output=True, text=True,
                                                 check=True).stdout.splitlines() if line.startswith("-A ")]
        assert len(rules) == count, (tool, chain, rules)
    jumps = subprocess.run(["iptables", "-w", "10", "-S", "INPUT"], capture_output=True, text=True, check=True).stdout
    assert jumps.count(f"-j {host_network.HOST_INPUT_CHAIN}") == 1, jumps
