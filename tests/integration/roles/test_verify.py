"""azure_ha.webfarm.verify's traffic checks (tasks http, nat, summary) against local
stand-ins for a deployed tier: three HTTP servers answering /version.json as VMs,
a real HAProxy balancing new connections over them (roundrobin, like the lab's
load balancer), and SSH-banner servers as NAT ports. The Azure half (members and
rule health) needs a deployed tier: tests/integration/playbooks covers site.yml.
"""

from __future__ import annotations

import json
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURE = Path(__file__).with_name("fixtures") / "verify_traffic.yml"
VMS = ("app1-vm1", "app1-vm2", "app1-vm3")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vm_server(hostname: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = json.dumps({"hostname": hostname.upper() if hostname.endswith("3") else hostname}).encode()
            self.send_response(200 if self.path == "/version.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Banner(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"SSH-2.0-OpenSSH_9.2p1 stand-in\r\n")


@pytest.fixture(scope="module")
def tier(tmp_path_factory):
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (bindep.txt lists it for the lab)")
    servers = [_vm_server(vm) for vm in VMS]
    nat = []
    for _vm in VMS:
        banner = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Banner)
        threading.Thread(target=banner.serve_forever, daemon=True).start()
        nat.append(banner)
    lb_port = _free_port()
    cfg = tmp_path_factory.mktemp("lb") / "haproxy.cfg"
    cfg.write_text("\n".join([
        "defaults", "  mode tcp", "  timeout connect 2s", "  timeout client 10s", "  timeout server 10s",
        "listen web", f"  bind 127.0.0.1:{lb_port}", "  balance roundrobin",
        *(f"  server vm{i} 127.0.0.1:{s.server_address[1]}" for i, s in enumerate(servers, 1)), ""]))
    haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", lb_port), timeout=1).close()
            break
        except OSError:
            assert haproxy.poll() is None and time.monotonic() < deadline, haproxy.stdout.read().decode()
            time.sleep(0.1)
    members = [{"name": vm, "os_type": "Linux", "private_ip": f"10.0.0.{i + 4}", "nat_port": nat[i].server_address[1]}
               for i, vm in enumerate(VMS)]
    yield {"port": lb_port, "members": members}
    haproxy.terminate()
    haproxy.wait(timeout=10)
    for server in servers + nat:
        server.shutdown()


def _run(control_lab, tier, members, **extra):
    return control_lab.playbook(FIXTURE, extra_vars={
        "__verify_checked": members, "__verify_skipped": [], "__verify_public_ip": "127.0.0.1",
        "verify_http_port": tier["port"], "verify_rule": "app1-lb-rule-http", **extra})


def test_every_vm_answers_in_one_round(control_lab, tier):
    result = _run(control_lab, tier, tier["members"])
    assert result.returncode == 0, result.output
    # one round of 2 requests per VM; hostnames compared case-insensitively (Windows)
    assert "every VM answered (app1-vm1, app1-vm2, app1-vm3) in 6 request(s), 0 failed" in result.stdout
    assert "(SSH banner)" in result.stdout


def test_a_vm_that_never_answers_is_named(control_lab, tier):
    ghost = {"name": "app1-vm4", "os_type": "Linux", "private_ip": "10.0.0.8", "nat_port": tier["members"][0]["nat_port"]}
    result = _run(control_lab, tier, [*tier["members"], ghost], verify_requests_per_member=4)
    assert result.returncode != 0
    # bounded: 4 per member = 2 rounds of 8
    assert "after 16 request(s): app1-vm4; answered: app1-vm1, app1-vm2, app1-vm3" in result.stdout


def test_a_closed_nat_port_fails(control_lab, tier):
    closed = [{**tier["members"][0], "nat_port": _free_port()}]
    # 3 rounds of 2 requests: roundrobin over 3 backends reaches app1-vm1 within them
    result = _run(control_lab, tier, closed, verify_nat_timeout=2, verify_requests_per_member=6)
    assert result.returncode != 0
    assert "Each Linux VM shows its SSH banner on its NAT port" in result.stdout
    assert "app1-vm1 (127.0.0.1:" in result.stdout
