"""The lab's load balancers: Azure LB JSON -> haproxy.cfg, and real HAProxy with real TCP.

Live tests use small HTTP servers on 127.0.0.x as VMs and 127.64.254.x as public IPs: all
traffic stays on loopback. Probes run every second (``RenderOptions(min_probe_interval=1)``,
an explicit test override of Azure's 5 s minimum). Every loop is bounded.
Figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import http.client
import ipaddress
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from azlab.dataplane import nsg
from azlab.dataplane.lb import (
    BackendMember, HAProxyError, LoadBalancerManager, LoadBalancerView, NatTarget, RenderOptions, RuntimePaths, render,
)
from azlab.dataplane.lb.health import parse_line
from azlab.dataplane.lb.process import HAProxyProcess, validate
from azlab.dataplane.lb.render import server_name

import polling
from azlab.dataplane.lb.serverstate import compose, parse_dump

HAPROXY = shutil.which("haproxy")
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="HAProxy is not installed (Debian package haproxy)")

NET = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/lab-rg/providers/Microsoft.Network"
FAST = RenderOptions(min_probe_interval=1)
INTERVAL, THRESHOLD = 1, 2


# -- Azure JSON -------------------------------------------------------------------------------


def lb_id(name: str) -> str:
    return f"{NET}/loadBalancers/{name}"


def pip_id(name: str) -> str:
    return f"{NET}/publicIPAddresses/{name}"


def ipconfig_id(nic: str, rg: str = "lab-rg") -> str:
    return f"{NET.replace('lab-rg', rg)}/networkInterfaces/{nic}/ipConfigurations/ipconfig1"


def child(lb: str, kind: str, name: str, **props) -> dict:
    return {"id": f"{lb_id(lb)}/{kind}/{name}", "name": name, "properties": props}


def ref(lb: str, kind: str, name: str) -> dict:
    return {"id": f"{lb_id(lb)}/{kind}/{name}"}


def lb_body(name: str, *, port: int, backend_port: int, probe: dict | None = None, distribution: str = "Default",
            idle: int = 4, nat: tuple[tuple[str, int, int], ...] = (), extra_rules: tuple[dict, ...] = ()) -> dict:
    """A Standard LB as ARM returns it: one frontend on a public IP, one pool, one rule."""
    probe = probe if probe is not None else {"protocol": "Http", "port": backend_port, "requestPath": "/healthz",
                                             "intervalInSeconds": INTERVAL, "probeThreshold": THRESHOLD}
    rule = child(name, "loadBalancingRules", "http", protocol="Tcp", frontendPort=port, backendPort=backend_port,
                 frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"),
                 backendAddressPool=ref(name, "backendAddressPools", "pool"), probe=ref(name, "probes", "probe"),
                 loadDistribution=distribution, idleTimeoutInMinutes=idle, enableTcpReset=False)
    nat_rules = [child(name, "inboundNatRules", nat_name, protocol="Tcp", frontendPort=front, backendPort=back,
                       frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"))
                 for nat_name, front, back in nat]
    return {
        "id": lb_id(name), "name": name, "sku": {"name": "Standard"},
        "properties": {
            "frontendIPConfigurations": [child(name, "frontendIPConfigurations", "fe",
                                               publicIPAddress={"id": pip_id(f"{name}-pip")})],
            "backendAddressPools": [child(name, "backendAddressPools", "pool")],
            "probes": [child(name, "probes", "probe", **probe)],
            "loadBalancingRules": [rule, *extra_rules],
            "inboundNatRules": nat_rules,
        },
    }


def lb_view(name: str, address: str, members: list[BackendMember], nat_targets: dict[str, NatTarget] = None):
    return LoadBalancerView(
        public_ip_addresses={pip_id(f"{name}-pip"): address},
        pool_members={f"{lb_id(name)}/backendAddressPools/pool": members},
        nat_targets={f"{lb_id(name)}/inboundNatRules/{n}": t for n, t in (nat_targets or {}).items()},
    )


# -- rendering (pure, no HAProxy process) -----------------------------------------------------------


def full_lb() -> tuple[dict, LoadBalancerView]:
    """Rules with Http and Tcp probes, SourceIP, NAT rules, every adminState, and what is refused."""
    name = "full-lb"
    body = lb_body(name, port=80, backend_port=8080, idle=10, nat=(("ssh-vm1", 50001, 22), ("ssh-vm9", 50009, 22)),
                   extra_rules=(
                       child(name, "loadBalancingRules", "sticky", protocol="Tcp", frontendPort=443, backendPort=8443,
                             frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"),
                             backendAddressPool=ref(name, "backendAddressPools", "pool"),
                             probe=ref(name, "probes", "tcp"), loadDistribution="SourceIP"),
                       child(name, "loadBalancingRules", "tls", protocol="Tcp", frontendPort=8443, backendPort=443,
                             frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"),
                             backendAddressPool=ref(name, "backendAddressPools", "pool"),
                             probe=ref(name, "probes", "https")),
                       child(name, "loadBalancingRules", "dns", protocol="Udp", frontendPort=53, backendPort=53,
                             frontendIPConfiguration=ref(name, "frontendIPConfigurations", "fe"),
                             backendAddressPool=ref(name, "backendAddressPools", "pool")),
                       child(name, "loadBalancingRules", "internal", protocol="Tcp", frontendPort=81, backendPort=81,
                             frontendIPConfiguration=ref(name, "frontendIPConfigurations", "private"),
                             backendAddressPool=ref(name, "backendAddressPools", "pool")),
                   ))
    body["properties"]["probes"] += [
        child(name, "probes", "tcp", protocol="Tcp", port=8443, intervalInSeconds=5, numberOfProbes=3),
        child(name, "probes", "https", protocol="Https", port=443, requestPath="/health check#1", intervalInSeconds=15)]
    body["properties"]["frontendIPConfigurations"].append(
        child(name, "frontendIPConfigurations", "private", privateIPAddress="10.0.0.4"))
    members = [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5"),
               BackendMember(ipconfig_id("vm2-nic1"), "10.0.0.6", "Down"),
               BackendMember(ipconfig_id("vm3-nic1"), "10.0.0.7", "Up")]
    view = lb_view(name, "127.64.0.5", members, {"ssh-vm1": NatTarget(ipconfig_id("vm1-nic1"), "10.0.0.5")})
    return body, view


def section(text: str, name: str) -> str:
    """One ``listen`` section of a rendered configuration."""
    start = text.index(f"listen {name}\n")
    end = text.find("\nlisten ", start + 1)
    return text[start:end if end > 0 else None]


def test_render_full_load_balancer(tmp_path):
    body, view = full_lb()
    rendering = render(body["id"], body, view, RuntimePaths(tmp_path))
    text = rendering.text
    vm1, vm2, vm3 = (server_name(ipconfig_id(f"vm{i}-nic1")) for i in (1, 2, 3))

    http = section(text, "lbr.http")
    assert "bind 127.64.0.5:80" in http and "balance roundrobin" in http
    assert "timeout client 10m" in http and "timeout server 10m" in http
    assert "option httpchk GET /healthz" in http and "http-check expect status 200" in http
    assert "default-server inter 5s fall 2 rise 1" in http  # interval 1 raised to Azure's minimum
    assert f"server {vm1} 10.0.0.5:8080 check port 8080\n" in http
    assert f"server {vm2} 10.0.0.6:8080 check port 8080 disabled" in http  # adminState Down: maintenance
    assert f"server {vm3} 10.0.0.7:8080\n" in http  # adminState Up: never probed

    sticky = section(text, "lbr.sticky")
    assert "bind 127.64.0.5:443" in sticky and "balance source" in sticky and "hash-type consistent" in sticky
    assert "httpchk" not in sticky and "default-server inter 5s fall 3 rise 1" in sticky  # Tcp probe, numberOfProbes
    assert "timeout client 4m" in sticky

    tls = section(text, "lbr.tls")
    assert "option httpchk GET /health%20check%231" in tls  # nothing HAProxy would parse as quote or comment
    assert "default-server inter 15s fall 1 rise 1 check-ssl verify none" in tls

    nat = section(text, "nat.ssh-vm1")
    assert "bind 127.64.0.5:50001" in nat and f"server {vm1} 10.0.0.5:22\n" in nat and "check" not in nat
    assert "nat.ssh-vm9" not in text  # no NIC behind it: nothing listens, as nothing answers on Azure

    assert "lbr.dns" not in text and "lbr.internal" not in text
    assert any("dns" in w and "Udp" in w for w in rendering.warnings)
    assert any("internal" in w and "internal frontends" in w for w in rendering.warnings)
    assert {(s.backend, s.kind) for s in rendering.servers} == {
        ("lbr.http", "rule"), ("lbr.sticky", "rule"), ("lbr.tls", "rule"), ("nat.ssh-vm1", "nat")}
    assert "load-server-state-from-file global" in text and "option log-health-checks" in text


@needs_haproxy
def test_rendered_configuration_is_valid_for_haproxy(tmp_path):
    body, view = full_lb()
    paths = RuntimePaths(tmp_path)
    paths.config.write_text(render(body["id"], body, view, paths).text)
    validate(HAPROXY, paths.config)


def nsg_levels(*rules, subnet: bool = True) -> tuple:
    """Inbound rules of a subnet NSG (or of a NIC NSG with ``subnet=False``), defaults included."""
    tags = nsg.ServiceTags(virtual_network=(ipaddress.ip_network("10.0.0.0/16"),),
                           load_balancer=(ipaddress.ip_network("168.63.129.16/32"),))
    body = {"properties": {"securityRules": [
        {"name": n, "properties": {"priority": p, "direction": "Inbound", "access": a, "protocol": "Tcp",
                                   "sourceAddressPrefix": src, "destinationAddressPrefix": "*",
                                   "destinationPortRange": port}} for n, p, a, src, port in rules],
        "defaultSecurityRules": [
            {"name": "DenyAllInBound", "properties": {"priority": 65500, "direction": "Inbound", "access": "Deny",
                                                      "protocol": "*", "sourceAddressPrefix": "*",
                                                      "destinationAddressPrefix": "*", "destinationPortRange": "*"}}]}}
    rules = tuple(nsg.rules_of(body, "Inbound", tags))
    return (rules, None) if subnet else (None, rules)


def test_nsgs_drop_refused_clients_by_their_own_address(tmp_path):
    """Pass-through: the client's address is judged; a refused flow is dropped, not reset."""
    name = "nsg-lb"
    body = lb_body(name, port=80, backend_port=80, nat=(("ssh-vm1", 50001, 22),))
    web_and_admin = nsg_levels(("web", 100, "Allow", "Internet", "80"), ("ssh", 110, "Allow", "127.0.0.9", "22"))
    members = [BackendMember(ipconfig_id(f"vm{i}-nic1"), f"10.0.0.{4 + i}", inbound=web_and_admin) for i in (1, 2)]
    view = lb_view(name, "127.64.0.5", members,
                   {"ssh-vm1": NatTarget(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=web_and_admin)})
    rendering = render(body["id"], body, view, RuntimePaths(tmp_path))
    http, ssh = section(rendering.text, "lbr.http"), section(rendering.text, "nat.ssh-vm1")
    # the Internet is everything but the VNet and the LB's address: the shorter list is the refused one
    assert "    acl nsg_refused src 10.0.0.0/16 168.63.129.16/32\n" in http
    assert "    tcp-request connection silent-drop if nsg_refused\n" in http
    assert "    acl nsg_allowed src 127.0.0.9/32\n" in ssh
    assert "    tcp-request connection silent-drop if !nsg_allowed\n" in ssh

    # secure by default: no NSG on the subnet or the NIC lets nothing in through the LB
    bare = [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=(None, None))]
    closed = render(body["id"], body, lb_view(name, "127.64.0.5", bare, {}), RuntimePaths(tmp_path))
    assert "    tcp-request connection silent-drop\n" in section(closed.text, "lbr.http")

    # a NIC-level deny wins over a subnet allow: the subnet allows SSH from 127.0.0.9, the NIC denies it
    nic_deny = (web_and_admin[0], nsg_levels(("no-ssh", 100, "Deny", "*", "22"), subnet=False)[1])
    denied = render(body["id"], body, lb_view(name, "127.64.0.5", [], {"ssh-vm1": NatTarget(
        ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=nic_deny)}), RuntimePaths(tmp_path))
    assert "    tcp-request connection silent-drop\n" in section(denied.text, "nat.ssh-vm1")

    # members whose NSGs differ: served without the verdict, and said so
    mixed = [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=web_and_admin),
             BackendMember(ipconfig_id("vm2-nic1"), "10.0.0.6", inbound=(None, None))]
    differ = render(body["id"], body, lb_view(name, "127.64.0.5", mixed, {}), RuntimePaths(tmp_path))
    assert "silent-drop" not in section(differ.text, "lbr.http")
    assert any("NSGs differ" in w for w in differ.warnings)


@needs_haproxy
def test_configuration_with_nsg_verdicts_is_valid_for_haproxy(tmp_path):
    name = "nsg-lb"
    body = lb_body(name, port=80, backend_port=80)
    # allowed: everything but three scattered addresses, more networks than HAProxy reads on one line
    levels = nsg_levels(*[(f"deny{i}", 100 + i, "Deny", address, "*")
                          for i, address in enumerate(("10.0.0.7", "100.64.0.2", "168.63.129.17"))],
                        ("web", 200, "Allow", "*", "80"))
    view = lb_view(name, "127.64.0.5", [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=levels)], {})
    paths = RuntimePaths(tmp_path)
    paths.config.write_text(render(body["id"], body, view, paths).text)
    validate(HAPROXY, paths.config)
    # forty admin addresses allowed: a list longer than a line, shorter than the refused one
    admins = tuple(ipaddress.ip_network(f"10.{i}.0.1/32") for i in range(40))
    few = [nsg.Rule(name="admins", priority=100, allow=True, protocol=None, sources=admins,
                    destinations=(nsg.EVERYTHING,))]
    view = lb_view(name, "127.64.0.5", [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=(few, None))], {})
    text = render(body["id"], body, view, paths).text
    assert text.count("acl nsg_allowed src ") == 2 and "silent-drop if !nsg_allowed" in text
    paths.config.write_text(text)
    validate(HAPROXY, paths.config)


@needs_haproxy
def test_a_rejected_configuration_says_what_haproxy_found(tmp_path):
    config = tmp_path / "haproxy.cfg"
    config.write_text("defaults\n    mode tcp\nlisten broken\n    bind 127.0.0.1:1\n    no-such-keyword\n")
    with pytest.raises(HAProxyError, match="no-such-keyword"):
        validate(HAPROXY, config)


def test_render_is_deterministic_and_ignores_id_case(tmp_path):
    """The subscriber may list members in any order and spell IDs in any case: no reload then."""
    body, view = full_lb()
    shuffled = LoadBalancerView(
        public_ip_addresses={k.upper(): v for k, v in view.public_ip_addresses.items()},
        pool_members={k.upper(): list(reversed(v)) for k, v in view.pool_members.items()},
        nat_targets={k.upper(): v for k, v in view.nat_targets.items()})
    paths = RuntimePaths(tmp_path)
    assert render(body["id"], body, view, paths).text == render(body["id"], body, shuffled, paths).text


def test_probe_interval_below_azure_minimum_needs_the_explicit_override(tmp_path):
    body, view = full_lb()
    paths = RuntimePaths(tmp_path)
    default = render(body["id"], body, view, paths)
    assert "inter 5s" in section(default.text, "lbr.http")
    assert any("raised to 5s" in w for w in default.warnings)
    assert "inter 1s fall 2" in section(render(body["id"], body, view, paths, FAST).text, "lbr.http")


def test_server_names_are_haproxy_safe_and_unique_per_ip_configuration():
    same_nic_other_group = server_name(ipconfig_id("vm1-nic1", rg="other-rg"))
    name = server_name(ipconfig_id("vm1-nic1"))
    assert name.startswith("vm1-nic1.ipconfig1-") and name != same_nic_other_group
    assert server_name(ipconfig_id("VM1-NIC1").replace("ipconfig1", "IPCONFIG1")).endswith(name[-8:])
    weird = server_name(f"{lb_id('x')}/backendAddressPools/pool/loadBalancerBackendAddresses/addr one#1")
    assert all(c.isalnum() or c in "_.-" for c in weird)


def test_server_state_file_starts_new_servers_down_and_keeps_known_ones(tmp_path):
    body, view = full_lb()
    servers = render(body["id"], body, view, RuntimePaths(tmp_path)).servers
    vm1 = next(s for s in servers if s.backend == "lbr.http" and s.ip == "10.0.0.5")
    vm2 = next(s for s in servers if s.backend == "lbr.http" and s.ip == "10.0.0.6")
    header = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
              "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
              "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
              "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
    dump = parse_dump(header
                      + f"3 lbr.http 1 {vm1.server} 10.0.0.5 2 0 1 1 9 0 3 2 6 0 0 0 - 8080 - 0 8080 - - 0\n"
                      + f"3 lbr.http 2 {vm2.server} 10.0.0.6 0 5 1 1 9 1 0 0 14 0 0 0 - 8080 - 0 8080 - - 0\n")
    text, carried = compose(dump, servers)
    lines = {(line.split()[1], line.split()[3]): line.split() for line in text.splitlines()[2:]}
    assert carried == {vm1.key: "Up", vm2.key: "Down"}
    assert lines[vm1.key][5] == "2" and lines[vm1.key][10] == "1"  # kept UP; check status 0 is never written
    assert set(lines) == {s.key for s in servers if s.check_port}  # unprobed servers are left to HAProxy: UP
    assert all(lines[key][5] == "0" for key in set(lines) - set(carried))  # new ones start DOWN

    leaving = [s if s.key != vm2.key else type(s)(**{**s.__dict__, "admin_state": "None"}) for s in servers]
    moved = [s if s.key != vm1.key else type(s)(**{**s.__dict__, "port": 9090}) for s in servers]
    assert vm2.key not in compose(dump, leaving)[1]  # leaving maintenance: must pass a probe first
    assert vm1.key not in compose(dump, moved)[1]  # another endpoint: probed afresh


def test_parse_health_log_lines():
    assert parse_line('Health check for server lbr.http/vm1-1 failed, reason: Layer7 wrong status, code: 503, '
                      'info: "Service Unavailable", check duration: 1ms, status: 0/1 DOWN.') == (
        "lbr.http", "vm1-1", "Down", 'Layer7 wrong status, code: 503, info: "Service Unavailable"')
    assert parse_line("Health check for server lbr.http/vm1-1 succeeded, reason: Layer7 check passed, code: 200, "
                      "check duration: 2ms, status: 2/2 UP.") == ("lbr.http", "vm1-1", "Up",
                                                                   "Layer7 check passed, code: 200")
    assert parse_line("Health check for server lbr.http/vm1-1 failed, reason: Layer7 wrong status, code: 503, "
                      "check duration: 1ms, status: 1/2 UP.")[2] == "Up"  # one failure of two: still up
    assert parse_line("Server lbr.http/vm1-1 is DOWN. 1 active and 0 backup servers left.")[:3] == (
        "lbr.http", "vm1-1", "Down")
    assert parse_line("Server lbr.http/vm1-1 is DOWN, reason: Layer4 connection problem, info: \"Connection "
                      "refused\", check duration: 0ms. 0 active and 0 backup servers left.")[3] == (
        'Layer4 connection problem, info: "Connection refused"')
    assert parse_line("Proxy lbr.http stopped (cumulated conns: FE: 3, BE: 3).") is None


# -- live: real HAProxy, real TCP on loopback ---------------------------------------------------


class Backend:
    """A "VM": answers its address on /, 200 or 503 on /healthz, counts the requests it served."""

    def __init__(self, ip: str, port: int):
        self.ip, self.port, self.healthy, self.hits = ip, port, True, 0
        self._lock = threading.Lock()
        self.server = _Server((ip, port), self._handler())
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _handler(self):
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive when the client wants it

            def do_GET(self):
                if self.path == "/healthz":
                    code, body = (200, b"ok") if backend.healthy else (503, b"draining")
                else:
                    with backend._lock:
                        backend.hits += 1
                    code, body = 200, backend.ip.encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """HAProxy ends every health check with a TCP reset: not an error of the VM."""


def free_port(ips: list[str], exclude: int = 0) -> int:
    """A port free on every address (all pool members listen on the rule's backend port)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((ips[0], 0))
            port = probe.getsockname()[1]
        if port == exclude:
            continue
        sockets = []
        try:
            for ip in ips:
                sockets.append(socket.socket())
                sockets[-1].bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no common free port")


def get(address: str, port: int, path: str = "/", timeout: float = 3.0) -> str:
    """One request on a new connection (keep-alive off), as a client behind an LB makes it."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return body
    finally:
        conn.close()


def wait_for(predicate, timeout: float):
    # the driver tests probe every second: poll finely to measure detection times
    return polling.wait_for(predicate, timeout, step=0.01)


class Events:
    """The manager's health callback: what the store's record_health would receive."""

    def __init__(self):
        self.items, self._lock = [], threading.Lock()

    def __call__(self, event):
        with self._lock:
            self.items.append(event)

    def of(self, backend: str, since: float = 0.0):
        with self._lock:
            return [e for e in self.items if e.backend == backend and e.ts >= since]

    def wait(self, backend: str, state: str, since: float = 0.0, timeout: float = 5.0):
        found = wait_for(lambda: [e for e in self.of(backend, since) if e.state == state], timeout)
        return found[0] if found else None


class Lab:
    """One manager on a short private state dir, VMs, and an LB built from Azure JSON."""

    def __init__(self, vms: int, index: int):
        """``index`` picks the addresses: VMs 127.0.<index>.<n>, public IP 127.64.254.<index>."""
        self.state_dir = Path(tempfile.mkdtemp(prefix="lbt", dir="/tmp"))
        self.events = Events()
        self.manager = LoadBalancerManager(self.state_dir, self.events, haproxy_binary=HAPROXY, options=FAST)
        self.ips = [f"127.0.{index}.{i}" for i in range(1, vms + 1)]
        self.port = free_port(self.ips)
        self.vms = [Backend(ip, self.port) for ip in self.ips]
        self.address = f"127.64.254.{index}"
        self.frontend = free_port([self.address])
        self.name = f"lb-{index}"
        self.lb = lb_id(self.name)
        self.admin = {ip: "None" for ip in self.ips}

    @staticmethod
    def member_id(ip: str) -> str:
        return ipconfig_id(f"vm{ip.rsplit('.', 1)[1]}-nic1")

    def apply(self, **body_args):
        members = [BackendMember(self.member_id(ip), ip, self.admin[ip]) for ip in self.ips]
        nat = body_args.pop("nat_targets", {})
        body = lb_body(self.name, port=self.frontend, backend_port=self.port, **body_args)
        return self.manager.apply(self.lb, body, lb_view(self.name, self.address, members, nat))

    def wait_all_up(self, timeout: float = 3.0) -> None:
        for ip in self.ips:
            assert self.events.wait(self.member_id(ip), "Up", timeout=timeout), f"{ip} never came up"

    def served_by(self, requests: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _ in range(requests):
            ip = get(self.address, self.frontend)
            counts[ip] = counts.get(ip, 0) + 1
        return counts

    def close(self) -> None:
        try:
            self.manager.stop_all()
        finally:
            for vm in self.vms:
                vm.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)


@pytest.fixture
def make_lab():
    labs = []
    indexes = random.sample(range(20, 250), 5)  # random: a concurrent run would pick other addresses

    def make(vms: int = 2) -> Lab:
        labs.append(Lab(vms, index=indexes[len(labs)]))
        return labs[-1]

    yield make
    errors = []
    for lab in labs:
        try:
            lab.close()
        except Exception as exc:  # close the others anyway, then report
            errors.append(exc)
    assert not errors, errors


@pytest.mark.dataplane
@needs_haproxy
def test_no_traffic_before_first_probe_then_all_healthy_backends(make_lab):
    """A new backend gets flows only after its probe passed; then every healthy one gets some."""
    lab = make_lab(vms=3)
    lab.vms[2].healthy = False
    assert lab.apply().action == "started"
    for _ in range(20):  # right away: a backend is used only once its probe passed, so some may fail
        try:
            get(lab.address, lab.frontend)
        except (OSError, http.client.HTTPException):
            pass
    assert lab.vms[2].hits == 0  # HAProxy alone would have sent it flows until 2 probes failed
    for ip in lab.ips[:2]:
        assert lab.events.wait(lab.member_id(ip), "Up", timeout=INTERVAL + 1)
    down = lab.events.wait(lab.member_id(lab.ips[2]), "Down", timeout=INTERVAL + 1)
    assert down and down.reason.startswith("Down_Probe_HttpStatusCodeError") and down.rule == "http"
    counts = lab.served_by(30)
    assert set(counts) == set(lab.ips[:2]) and lab.vms[2].hits == 0
    assert lab.manager.live_health(lab.lb) == {
        ("http", lab.member_id(lab.ips[0])): "Up", ("http", lab.member_id(lab.ips[1])): "Up",
        ("http", lab.member_id(lab.ips[2])): "Down"}


@pytest.mark.dataplane
@needs_haproxy
def test_probe_down_and_up_detection_times(make_lab):
    """503 on the probe path: out within interval x threshold + 1 s; 200 again: back within interval + 1 s."""
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    vm, member = lab.vms[0], lab.member_id(lab.ips[0])

    vm.healthy, failed_at = False, time.time()
    down = lab.events.wait(member, "Down", since=failed_at, timeout=INTERVAL * THRESHOLD + 2)
    assert down is not None, "the failing probe never took the backend out"
    assert lab.manager.live_health(lab.lb)[("http", member)] == "Down"  # the log agrees with HAProxy's state
    hits = vm.hits
    assert set(lab.served_by(10)) == {lab.ips[1]} and vm.hits == hits

    vm.healthy, passed_at = True, time.time()
    up = lab.events.wait(member, "Up", since=passed_at, timeout=INTERVAL + 2)
    assert up is not None and up.reason.startswith("Up_Probe_Success")
    down_s, up_s = down.ts - failed_at, up.ts - passed_at
    print(f"\nFIGURE probe-down detection {down_s:.2f}s (interval {INTERVAL}s x threshold {THRESHOLD}), "
          f"probe-up detection {up_s:.2f}s")
    assert down_s <= INTERVAL * THRESHOLD + 1 and up_s <= INTERVAL + 1
    assert down.reason.startswith("Down_Probe_HttpStatusCodeError") and "503" in down.reason


@pytest.mark.dataplane
@needs_haproxy
def test_established_connection_survives_mark_down(make_lab):
    """Standard SKU: a backend marked down gets no new flows, but its established flows go on."""
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    conn = http.client.HTTPConnection(lab.address, lab.frontend, timeout=3)  # keep-alive: one TCP flow
    conn.request("GET", "/")
    first = conn.getresponse().read().decode()
    vm = next(v for v in lab.vms if v.ip == first)
    vm.healthy = False
    assert lab.events.wait(lab.member_id(vm.ip), "Down", timeout=INTERVAL * THRESHOLD + 2)
    assert vm.ip not in lab.served_by(6)  # new flows avoid it...
    conn.request("GET", "/")
    assert conn.getresponse().read().decode() == vm.ip  # ...the established one still reaches it
    conn.close()


@pytest.mark.dataplane
@needs_haproxy
def test_nat_rule_reaches_its_one_backend_even_when_its_probe_fails(make_lab):
    lab = make_lab(vms=2)
    target = lab.vms[1]
    target.healthy = False
    nat_port = free_port([lab.address], exclude=lab.frontend)
    lab.apply(nat=(("ssh-vm", nat_port, lab.port),),
              nat_targets={"ssh-vm": NatTarget(lab.member_id(target.ip), target.ip)})
    assert lab.events.wait(lab.member_id(target.ip), "Down", timeout=INTERVAL + 1)
    assert {get(lab.address, nat_port) for _ in range(5)} == {target.ip}
    assert not [e for e in lab.events.items if e.rule == "ssh-vm"]  # NAT rules have no health


@pytest.mark.dataplane
@needs_haproxy
def test_admin_state_down_drains_and_reports_down_admin(make_lab):
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    vm, member = lab.vms[0], lab.member_id(lab.ips[0])
    conn = None
    for _ in range(4):  # find a keep-alive flow on the VM about to be drained
        conn = http.client.HTTPConnection(lab.address, lab.frontend, timeout=3)
        conn.request("GET", "/")
        if conn.getresponse().read().decode() == vm.ip:
            break
        conn.close()
    lab.admin[vm.ip] = "Down"
    drained_at = time.time()
    assert lab.apply().action == "reloaded"
    event = lab.events.wait(member, "Down", since=drained_at, timeout=1)
    assert event is not None and event.reason == "Down_Admin"
    hits = vm.hits
    assert set(lab.served_by(10)) == {lab.ips[1]}
    conn.request("GET", "/")  # established flows continue after the drain (the old worker keeps them)
    assert conn.getresponse().read().decode() == vm.ip and vm.hits == hits + 1
    conn.close()
    assert lab.manager.live_health(lab.lb)[("http", member)] == "Down"

    lab.admin[vm.ip] = "None"
    restored_at = time.time()
    lab.apply()
    up = lab.events.wait(member, "Up", since=restored_at, timeout=INTERVAL + 1)
    assert up is not None and up.reason.startswith("Up_Probe_Success")  # back only after its probe passed
    assert vm.ip in lab.served_by(6)


class Load:
    """Clients hammering the LB with new connections (keep-alive off) until stopped."""

    def __init__(self, lab: Lab, threads: int = 4, limit_s: float = 60.0):
        self.lab, self.ok, self.failures = lab, 0, []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                body = get(self.lab.address, self.lab.frontend)
                error = None if body in self.lab.ips else f"unexpected body {body!r}"
            except (OSError, http.client.HTTPException, RuntimeError) as exc:
                error = repr(exc)
            with self._lock:
                if error:
                    self.failures.append(error)
                else:
                    self.ok += 1

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.mark.dataplane
@needs_haproxy
def test_zero_failed_requests_during_drain_and_30_reloads(make_lab):
    lab = make_lab(vms=3)
    lab.apply()
    lab.wait_all_up()
    load = Load(lab)
    try:
        lab.vms[0].healthy = False  # drain by probe
        assert lab.events.wait(lab.member_id(lab.ips[0]), "Down", timeout=INTERVAL * THRESHOLD + 2)
        lab.admin[lab.ips[1]] = "Down"  # drain by admin state
        lab.apply()
        reloads = []
        for i in range(30):  # a real change each time: the idle timeout flips between 4 and 5 minutes
            result = lab.apply(idle=5 if i % 2 == 0 else 4)
            assert result.action == "reloaded"
            reloads.append(result.seconds)
            time.sleep(0.05)
        lab.admin[lab.ips[1]] = "None"
        lab.vms[0].healthy = True
        lab.apply()
        lab.wait_all_up()
        wait_for(lambda: load.ok >= 1000, timeout=20)
    finally:
        load.stop()
    print(f"\nFIGURE requests {load.ok} ok / {len(load.failures)} failed during a probe drain, an admin drain "
          f"and 30 reloads; reload latency mean {statistics.mean(reloads) * 1000:.0f} ms, "
          f"max {max(reloads) * 1000:.0f} ms")
    assert load.failures == [] and load.ok >= 1000


@pytest.mark.dataplane
@needs_haproxy
def test_probe_state_survives_reload(make_lab):
    """A DOWN backend stays DOWN across a reload: the new worker sends it nothing."""
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    vm, member = lab.vms[0], lab.member_id(lab.ips[0])
    vm.healthy = False
    assert lab.events.wait(member, "Down", timeout=INTERVAL * THRESHOLD + 2)
    hits, reloaded_at = vm.hits, time.time()
    assert lab.apply(idle=7).action == "reloaded"
    assert set(lab.served_by(20)) == {lab.ips[1]} and vm.hits == hits
    assert lab.manager.live_health(lab.lb)[("http", member)] == "Down"
    assert not [e for e in lab.events.of(member, since=reloaded_at)]  # no flapping reported either


@pytest.mark.dataplane
@needs_haproxy
def test_source_ip_keeps_a_client_on_one_backend(make_lab):
    lab = make_lab(vms=3)
    lab.apply(distribution="SourceIP")
    lab.wait_all_up()
    assert len(lab.served_by(12)) == 1  # every request of this test comes from 127.0.0.1
    lab.apply(distribution="Default")
    assert set(lab.served_by(12)) == set(lab.ips)


@pytest.mark.dataplane
@needs_haproxy
def test_new_manager_adopts_running_haproxy_and_stop_leaves_no_process(make_lab):
    """``azlab up`` after a crash: the HAProxy the lab left is reused, not doubled; stop ends all of it."""
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    process = lab.manager._instances[lab.lb.lower()].process
    table = process.proc_table()
    pids = [table.master, *table.workers]

    events = Events()
    successor = LoadBalancerManager(lab.state_dir, events, haproxy_binary=HAPROXY, options=FAST)
    assert lab.apply().action == "unchanged"  # (the first manager still knows it)
    members = [BackendMember(lab.member_id(ip), ip) for ip in lab.ips]
    body = lb_body(lab.name, port=lab.frontend, backend_port=lab.port)
    assert successor.apply(lab.lb, body, lb_view(lab.name, lab.address, members)).action == "unchanged"
    assert {e.backend for e in events.items if e.state == "Up"} == {lab.member_id(ip) for ip in lab.ips}
    assert successor.running() == [lab.lb]

    successor.stop(lab.lb)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists() and process.owns(pid)]
    assert not any(p.suffix == ".sock" and p.name != "log.sock" for p in process.paths.directory.iterdir())
    assert events.items[-1].reason.startswith("Down_LoadBalancerStopped")


@pytest.mark.dataplane
@needs_haproxy
def test_never_touches_a_process_it_did_not_start():
    """A stale pidfile naming someone else's HAProxy: the manager leaves that process alone."""
    foreign_dir = Path(tempfile.mkdtemp(prefix="lbf", dir="/tmp"))
    config = foreign_dir / "foreign.cfg"
    config.write_text("global\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n"
                      f"    timeout server 1s\nlisten idle\n    bind 127.64.254.250:{free_port(['127.64.254.250'])}\n")
    foreign = subprocess.Popen([HAPROXY, "-W", "-f", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    state_dir = Path(tempfile.mkdtemp(prefix="lbt", dir="/tmp"))
    try:
        time.sleep(0.3)
        assert foreign.poll() is None, "the foreign HAProxy did not start"
        paths = RuntimePaths.for_lb(state_dir, lb_id("stale"))
        paths.directory.mkdir(parents=True)
        paths.pidfile.write_text(f"{foreign.pid}\n")
        manager = LoadBalancerManager(state_dir, Events(), haproxy_binary=HAPROXY)
        manager.stop(lb_id("stale"))
        assert HAProxyProcess.adopt(paths) is None
        time.sleep(0.2)
        assert foreign.poll() is None  # still running
    finally:
        foreign.terminate()
        foreign.wait(timeout=5)
        shutil.rmtree(foreign_dir, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.dataplane
@needs_haproxy
def test_rejected_configuration_keeps_the_previous_one_serving(make_lab):
    lab = make_lab(vms=2)
    lab.apply()
    lab.wait_all_up()
    other = make_lab(vms=1)
    other.frontend = lab.frontend
    other.address = lab.address  # same public address and port as the first LB: the bind fails
    with pytest.raises(HAProxyError):
        other.apply()
    assert set(lab.served_by(6)) == set(lab.ips)
