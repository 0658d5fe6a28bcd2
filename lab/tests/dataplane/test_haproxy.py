"""The lab's load balancers live: real HAProxy with real TCP (rendering: test_haproxy_render.py).

Live tests use small HTTP servers on 127.0.0.x as VMs and 127.64.254.x as public IPs: all
traffic stays on loopback. Probes run every second (``RenderOptions(min_probe_interval=1)``,
an explicit test override of Azure's 5 s minimum). Every loop is bounded.
Figures are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import http.client
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

from azlab.dataplane.lb import BackendMember, HAProxyError, LoadBalancerManager, NatTarget, RuntimePaths
from azlab.dataplane.lb.process import HAProxyProcess

import polling
from lb_bodies import FAST, HAPROXY, INTERVAL, THRESHOLD, ipconfig_id, lb_body, lb_id, lb_view, needs_haproxy


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


def backends(ips: list[str]) -> tuple[int, list[Backend]]:
    """One backend per address, all on one port; a port taken between the check and the bind
    (by whatever else runs on the host) is given up for another."""
    for _ in range(20):
        port, made = free_port(ips), []
        try:
            for ip in ips:
                made.append(Backend(ip, port))
            return port, made
        except OSError:
            for backend in made:
                backend.close()
    raise RuntimeError(f"no port to run backends on {ips}")


class Lab:
    """One manager on a short private state dir, VMs, and an LB built from Azure JSON."""

    def __init__(self, vms: int, index: int):
        """``index`` picks the addresses: VMs 127.0.<index>.<n>, public IP 127.64.254.<index>."""
        self.state_dir = Path(tempfile.mkdtemp(prefix="lbt", dir="/tmp"))
        self.events = Events()
        self.manager = LoadBalancerManager(self.state_dir, self.events, haproxy_binary=HAPROXY, options=FAST)
        self.ips = [f"127.0.{index}.{i}" for i in range(1, vms + 1)]
        self.port, self.vms = backends(self.ips)
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
