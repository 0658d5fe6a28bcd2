"""Health transitions: HAProxy's health-check log -> :class:`HealthEvent` for the caller.

HAProxy logs (``option log-health-checks``) every change of a server's check status and
every UP/DOWN transition to a unix datagram socket this module listens on. Lines arrive
within a millisecond of the check, so their arrival time is the event's timestamp; polling
``show servers state`` would add up to a poll period of error. The tracker keeps the last
state it reported per server and reports only changes, so duplicates (a check line and a
"Server ... is DOWN" line for one transition, an old worker's last words after a reload)
collapse into one event.

What HAProxy does not log is reported from the configuration itself: adminState Down/Up,
rules without probe, backends removed from a pool, a stopped load balancer.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from azlab.dataplane.lb.view import HealthEvent, ServerRef

LOG = logging.getLogger(__name__)

# "Health check for server lbr.web/vm1.ipconfig1-1a2b3c4d failed, reason: Layer7 wrong status,
#  code: 503, info: "Service Unavailable", check duration: 1ms, status: 0/1 DOWN."
CHECK_LINE = re.compile(
    r"Health check for (?:backup )?server (?P<backend>[^/\s]+)/(?P<server>\S+) [a-z ]+, "
    r"reason: (?P<reason>.*?)(?:, check duration: [^,]*)?, status: \d+/\d+ (?P<state>UP|DOWN)")
# "Server lbr.web/vm1.ipconfig1-1a2b3c4d is DOWN[, reason: ...]. 1 active and 0 backup servers left. ..."
SERVER_LINE = re.compile(
    r"Server (?P<backend>[^/\s]+)/(?P<server>\S+) is (?:going )?(?P<state>UP|DOWN)"
    r"(?:, reason: (?P<reason>.*?)(?:, check duration: [^,.]*)?(?:\.|$))?")

EventSink = Callable[[HealthEvent], None]


def parse_line(line: str) -> tuple[str, str, str, str | None] | None:
    """(backend, server, "Up"/"Down", HAProxy's reason or None) from one log line, if any."""
    match = CHECK_LINE.search(line) or SERVER_LINE.search(line)
    if match is None:
        return None
    return match["backend"], match["server"], match["state"].capitalize(), match["reason"]


def azure_reason(ref: ServerRef, state: str, detail: str | None) -> str:
    """Azure's health reason code for a probe result, then HAProxy's words after a colon."""
    if state == "Up":
        code = "Up_Probe_Success"
    elif detail and detail.startswith("Layer7 wrong status"):
        code = "Down_Probe_HttpStatusCodeError"
    elif ref.probe_protocol == "Http":
        code = "Down_Probe_HttpEndpointUnreachable"
    else:
        code = "Down_Probe_Failure"
    return f"{code}: {detail}" if detail else code


class HealthTracker:
    """Turns configuration changes and log lines of one LB into transitions, once each."""

    def __init__(self, load_balancer_id: str, sink: EventSink):
        self.load_balancer_id = load_balancer_id
        self._sink = sink
        self._lock = threading.Lock()
        self._servers: dict[tuple[str, str], ServerRef] = {}
        self._reported: dict[tuple[str, str], tuple[str, str]] = {}
        self._pending: set[tuple[str, str]] = set()
        self._last_detail: dict[tuple[str, str], str] = {}

    def expect(self, servers: Iterable[ServerRef], carried: dict[tuple[str, str], str]) -> None:
        """A configuration is about to be loaded: report what it decides by itself.

        ``carried`` servers keep their probe state ("Up"/"Down") across the reload; it is
        reported only if this tracker never reported it (a manager adopting a running
        HAProxy). Every other probed server starts DOWN and its first probe result is
        reported even if it is "Down".
        """
        now = time.time()
        current = {ref.key: ref for ref in servers if ref.kind == "rule"}
        with self._lock:
            for key in set(self._servers) - set(current):
                self._report(self._servers[key], "Down", "Down_Removed: no longer served by this rule", now)
                self._forget(key)
            self._servers = current
            for key, ref in current.items():
                self._expect_one(ref, carried.get(key), now)

    def _expect_one(self, ref: ServerRef, carried: str | None, now: float) -> None:
        fixed = {"Down": ("Down", "Down_Admin"), "Up": ("Up", "Up_Admin")}.get(ref.admin_state)
        if fixed is None and ref.check_port is None:
            fixed = ("Up", "Up_NoProbe: the rule has no health probe")
        if fixed is not None:
            self._pending.discard(ref.key)
            self._report(ref, *fixed, now, force=self._reported.get(ref.key) != fixed)
        elif carried is None:
            self._pending.add(ref.key)
        elif ref.key not in self._reported:
            self._report(ref, carried, azure_reason(ref, carried, "state kept from the running HAProxy"), now)

    def on_line(self, line: str, ts: float) -> None:
        """One HAProxy log line, received at ``ts``; probe results of probe-driven servers count."""
        parsed = parse_line(line)
        if parsed is None:
            return
        backend, server, state, detail = parsed
        key = (backend, server)
        with self._lock:
            ref = self._servers.get(key)
            if ref is None or ref.admin_state != "None" or ref.check_port is None:
                return
            detail = detail or self._last_detail.get(key)
            if detail:
                self._last_detail[key] = detail
            self._report(ref, state, azure_reason(ref, state, detail), ts, force=key in self._pending)
            self._pending.discard(key)

    def stopped(self) -> None:
        """The HAProxy is gone: nothing is in rotation any more."""
        now = time.time()
        with self._lock:
            for ref in self._servers.values():
                self._report(ref, "Down", "Down_LoadBalancerStopped: the lab's HAProxy for it was stopped", now)
            self._servers, self._reported, self._pending, self._last_detail = {}, {}, set(), {}

    def _forget(self, key: tuple[str, str]) -> None:
        self._reported.pop(key, None)
        self._pending.discard(key)
        self._last_detail.pop(key, None)

    def _report(self, ref: ServerRef, state: str, reason: str, ts: float, force: bool = False) -> None:
        """Deliver a transition unless it repeats the last reported state (or ``force``)."""
        last = self._reported.get(ref.key)
        if not force and last is not None and last[0] == state:
            return
        self._reported[ref.key] = (state, reason)
        event = HealthEvent(load_balancer=self.load_balancer_id, rule=ref.rule, backend=ref.ip_configuration_id,
                            ip=ref.ip, state=state, reason=reason, ts=ts)
        try:
            self._sink(event)
        except Exception:  # a failing sink must not stop health tracking
            LOG.exception("health event sink failed for %s", event)


class LogListener:
    """The unix datagram socket HAProxy logs to, read by a daemon thread until closed."""

    def __init__(self, path: Path, on_line: Callable[[str, float], None]):
        self._on_line = on_line
        if path.exists() or path.is_symlink():
            path.unlink()
        self._path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        os.chmod(path, 0o600)
        self._socket.settimeout(0.2)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"haproxy-log:{path.parent.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._socket.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            self._on_line(data.decode("utf-8", "replace").strip(), time.time())

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2)
        self._socket.close()
        self._path.unlink(missing_ok=True)
