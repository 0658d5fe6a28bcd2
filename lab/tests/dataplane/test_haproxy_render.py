"""The lab's load balancers, rendering: Azure LB JSON -> haproxy.cfg (pure, no HAProxy
process, except ``haproxy -c`` to validate what was rendered)."""

from __future__ import annotations

import ipaddress

import pytest

from azlab.dataplane import nsg
from azlab.dataplane.lb import BackendMember, HAProxyError, LoadBalancerView, NatTarget, RuntimePaths, render
from azlab.dataplane.lb.health import parse_line
from azlab.dataplane.lb.process import validate
from azlab.dataplane.lb.render import server_name
from azlab.dataplane.lb.serverstate import compose, parse_dump

from lb_bodies import FAST, HAPROXY, child, ipconfig_id, lb_body, lb_id, lb_view, needs_haproxy, ref


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
                    destinations=(nsg.EVERYTHING[4],))]
    view = lb_view(name, "127.64.0.5", [BackendMember(ipconfig_id("vm1-nic1"), "10.0.0.5", inbound=(few, None))], {})
    text = render(body["id"], body, view, paths).text
    assert text.count("acl nsg_allowed src ") == 2 and "silent-drop if !nsg_allowed" in text
    paths.config.write_text(text)
    validate(HAPROXY, paths.config)


@needs_haproxy
def test_an_ipv6_frontend_binds_transparently_and_judges_ipv6_clients(tmp_path):
    """The IPv6 public range is routed to the host, not configured on it (IP_TRANSPARENT); IPv6
    backends and sources are bracketed; the NSG verdict is in IPv6 networks."""
    name = "v6-lb"
    body = lb_body(name, port=80, backend_port=80, nat=(("ssh-vm1", 50001, 22),))
    levels = nsg_levels(("deny-doc", 100, "Deny", "2001:db8::/32", "80"), ("web", 200, "Allow", "*", "80"))
    member = BackendMember(ipconfig_id("vm1-nic1").replace("ipconfig1", "ipconfig-v6"), "fd12::4", inbound=levels, source="fd61:7a6c:6163::6440:1")
    target = NatTarget(ipconfig_id("vm1-nic1").replace("ipconfig1", "ipconfig-v6"), "fd12::4", source="fd61:7a6c:6163::6440:1")
    stray = BackendMember(ipconfig_id("vm2-nic1"), "10.0.0.5", source="100.64.0.1")
    view = lb_view(name, "fd61:7a6c:6162::7f40:5", [member, stray], {"ssh-vm1": target})
    paths = RuntimePaths(tmp_path)
    rendering = render(body["id"], body, view, paths)
    text = rendering.text
    # a backend of the other version is never bridged to (no NAT64 on Azure)
    assert "10.0.0.5" not in text
    assert any("is not IPv6 like its frontend" in warning for warning in rendering.warnings), rendering.warnings
    rule = section(text, "lbr.http")
    assert "    bind [fd61:7a6c:6162::7f40:5]:80 transparent v6only\n" in rule
    assert " [fd12::4]:80 source [fd61:7a6c:6163::6440:1] check port 80" in rule
    assert "acl nsg_refused src 2001:db8::/32" in rule
    assert "    bind [fd61:7a6c:6162::7f40:5]:50001 transparent v6only\n" in section(text, "nat.ssh-vm1")
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
