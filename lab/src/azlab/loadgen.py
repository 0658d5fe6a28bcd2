"""A load generator: HTTP GETs at a steady rate from concurrent clients, every request recorded.

Used to show that maintenance (a rolling patch draining VMs behind the lab's load balancer)
fails no request. Each request opens a new TCP connection by default, as independent
clients do, so every request is a new flow the load balancer places; ``keep_alive`` reuses
one connection per client instead.

The send times are fixed in advance (request i is due at start + i / rate) and handed to
whichever client is free, so a slow answer delays no other request. A schedule that falls
more than ``max_lag`` seconds behind (every client stuck) skips the missed slots rather than
bursting to catch up; the summary counts them.

Per request: start and end (wall clock, comparable with the lab's health log), status,
error kind, and an optional capture (a response header, or a regular expression on the
body, e.g. the name of the VM that answered). Stdlib only.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import signal
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

USER_AGENT = "azlab-load"


@dataclass
class LoadConfig:
    url: str
    rate: float = 50.0
    clients: int = 8
    duration: float | None = None  # None: until stop() / a signal / the stop file
    stop_file: Path | None = None
    keep_alive: bool = False
    timeout: float = 5.0
    capture_header: str | None = None
    capture_regex: str | None = None
    jsonl: Path | None = None
    insecure: bool = False
    max_lag: float = 1.0

    def __post_init__(self):
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: {self.url!r} is not an http:// or https:// URL")
        if self.rate <= 0:
            raise ValueError("rate: must be > 0 requests per second")
        if self.clients < 1:
            raise ValueError("clients: must be >= 1")
        if self.duration is not None and self.duration <= 0:
            raise ValueError("duration: must be > 0 seconds")
        if self.capture_header and self.capture_regex:
            raise ValueError("capture_header and capture_regex: give one of them")
        if self.capture_regex:
            try:
                re.compile(self.capture_regex)
            except re.error as exc:
                raise ValueError(f"capture_regex: {exc}") from None


def classify(exc: BaseException, phase: str) -> str:
    """The error kind of a failed request; phase is 'connect' or 'request'."""
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "connect_timeout" if phase == "connect" else "timeout"
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead, http.client.BadStatusLine)):
        return "closed"  # the server closed the connection without a (complete) answer
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, OSError) and phase == "connect":
        return "connect_error"
    return "error"


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


class _Schedule:
    """Due times (monotonic) at a fixed rate, one per call, for any number of clients."""

    def __init__(self, rate: float, start: float, max_lag: float):
        self.rate, self.start, self.max_lag = rate, start, max_lag
        self.index = 0
        self.skipped = 0
        self._lock = threading.Lock()

    def next_due(self) -> float:
        with self._lock:
            now = time.monotonic()
            due = self.start + self.index / self.rate
            if now - due > self.max_lag:
                caught_up = math.ceil((now - self.start) * self.rate)
                self.skipped += caught_up - self.index
                self.index = caught_up
                due = self.start + self.index / self.rate
            self.index += 1
            return due


class LoadGenerator:
    """``LoadGenerator(config).run()`` -> summary dict; ``stop()`` from any thread ends it."""

    def __init__(self, config: LoadConfig):
        self.config = config
        parts = urlsplit(config.url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._regex = re.compile(config.capture_regex) if config.capture_regex else None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seq = 0
        self._latencies: list[float] = []
        self._by_error: Counter = Counter()
        self._by_status: Counter = Counter()
        self._captures: Counter = Counter()
        self._uncaptured = 0
        self._failure_ts: list[float] = []
        self._jsonl = None
        self.stopped_by: str | None = None

    def stop(self, reason: str = "stop") -> None:
        if not self._stop.is_set():
            self.stopped_by = self.stopped_by or reason
            self._stop.set()

    # -- one request ------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            context = ssl._create_unverified_context() if self.config.insecure else ssl.create_default_context()
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.config.timeout, context=context)
        return http.client.HTTPConnection(self._host, self._port, timeout=self.config.timeout)

    def _exchange(self, conn: http.client.HTTPConnection) -> tuple[int, str | None, bool]:
        """Send the GET on conn and read the answer: (status, capture, connection reusable)."""
        headers = {"User-Agent": USER_AGENT, "Connection": "keep-alive" if self.config.keep_alive else "close"}
        conn.request("GET", self._target, headers=headers)
        response = conn.getresponse()
        body = response.read()
        capture = None
        if self.config.capture_header:
            capture = response.getheader(self.config.capture_header)
        elif self._regex is not None:
            match = self._regex.search(body.decode("utf-8", "replace"))
            if match:
                capture = match.group(1) if match.groups() else match.group(0)
        return response.status, capture, not response.will_close

    def _request(self, client: int, conn: http.client.HTTPConnection | None):
        """One recorded request; returns the connection to reuse (keep-alive) or None."""
        record = {"seq": None, "client": client, "start": time.time(), "end": None, "status": None, "error": None,
                  "capture": None}
        began = time.monotonic()
        reused = conn is not None
        phase = "connect"
        try:
            if conn is None:
                conn = self._connection()
                conn.connect()
            phase = "request"
            try:
                record["status"], record["capture"], reusable = self._exchange(conn)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # the server closed an idle keep-alive connection; a browser retries on a new one too
                conn.close()
                phase, conn = "connect", self._connection()
                conn.connect()
                phase = "request"
                record["status"], record["capture"], reusable = self._exchange(conn)
                record["retried"] = True
            if not 200 <= record["status"] < 300:
                record["error"] = f"http_{record['status']}"
        except Exception as exc:  # every failure is data: classify it and go on
            record["error"] = classify(exc, phase)
            record["detail"] = f"{type(exc).__name__}: {exc}"
            reusable = False
        record["end"] = time.time()
        record["latency_ms"] = round((time.monotonic() - began) * 1000, 3)
        if conn is not None and not (self.config.keep_alive and reusable):
            conn.close()
            conn = None
        self._account(record)
        return conn

    def _account(self, record: dict) -> None:
        with self._lock:
            self._seq += 1
            record["seq"] = self._seq
            self._latencies.append(record["latency_ms"])
            if record["status"] is not None:
                self._by_status[str(record["status"])] += 1
            if record["error"]:
                self._by_error[record["error"]] += 1
                self._failure_ts.append(record["start"])
            elif self.config.capture_header or self._regex is not None:
                if record["capture"] is None:
                    self._uncaptured += 1
                else:
                    self._captures[record["capture"]] += 1
            if self._jsonl is not None:
                self._jsonl.write(json.dumps(record) + "\n")
                self._jsonl.flush()

    def _client(self, client: int, schedule: _Schedule) -> None:
        conn = None
        while not self._stop.is_set():
            delay = schedule.next_due() - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            conn = self._request(client, conn)
        if conn is not None:
            conn.close()

    # -- the run ----------------------------------------------------------------------------

    def run(self, handle_signals: bool = False) -> dict:
        """Run until the duration ends, stop() is called, the stop file appears or (handle_signals,
        main thread only) SIGTERM/SIGINT arrives; requests in flight then finish. Returns the summary."""
        config = self.config
        previous = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, lambda s, _f: self.stop(signal.Signals(s).name))
        if config.jsonl:
            self._jsonl = open(config.jsonl, "w", encoding="utf-8")
        try:
            started_wall, started = time.time(), time.monotonic()
            schedule = _Schedule(config.rate, started, config.max_lag)
            threads = [threading.Thread(target=self._client, args=(n, schedule), name=f"load-{n}", daemon=True)
                       for n in range(config.clients)]
            for thread in threads:
                thread.start()
            deadline = started + config.duration if config.duration else None
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    self.stop("duration")
                elif config.stop_file and Path(config.stop_file).exists():
                    self.stop("stop_file")
                else:
                    self._stop.wait(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))
            window = time.monotonic() - started
            for thread in threads:
                thread.join(2 * config.timeout + 1)
            return self.summary(started_wall, window, schedule.skipped)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self._jsonl is not None:
                self._jsonl.close()
                self._jsonl = None

    def summary(self, started_wall: float, window: float, skipped: int) -> dict:
        with self._lock:
            latencies = sorted(self._latencies)
            total = len(latencies)
            failed = sum(self._by_error.values())
            summary = {
                "url": self.config.url,
                "clients": self.config.clients,
                "target_rate": self.config.rate,
                "keep_alive": self.config.keep_alive,
                "started": started_wall,
                "duration_s": round(window, 3),
                "stopped_by": self.stopped_by,
                "total": total,
                "ok": total - failed,
                "failed": failed,
                "by_error": dict(sorted(self._by_error.items())),
                "by_status": dict(sorted(self._by_status.items())),
                "rps_achieved": round(total / window, 2) if window > 0 else None,
                "skipped_slots": skipped,
                "latency_ms": {
                    "p50": percentile(latencies, 0.50),
                    "p95": percentile(latencies, 0.95),
                    "p99": percentile(latencies, 0.99),
                    "max": latencies[-1] if latencies else None,
                },
                "first_failure_ts": min(self._failure_ts) if self._failure_ts else None,
                "last_failure_ts": max(self._failure_ts) if self._failure_ts else None,
            }
            if self.config.capture_header or self._regex is not None:
                summary["captures"] = dict(sorted(self._captures.items()))
                summary["uncaptured"] = self._uncaptured
            return summary
