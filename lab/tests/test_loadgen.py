"""azlab.loadgen and `azlab load` against a local HTTP server (short runs; behaviour, not timing)."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from azlab.loadgen import LoadConfig, LoadGenerator, classify, percentile

PAGE = b'<html><dl><dt>hostname</dt><dd id="hostname">vm-a</dd></dl></html>'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive possible

    def do_GET(self):
        self.server.peers.add(self.client_address)
        if self.path == "/503":
            self.answer(503, b"draining")
        elif self.path == "/close":
            self.close_connection = True  # no answer at all: the client sees the connection closed
        elif self.path == "/slow":
            time.sleep(0.4)
            self.answer(200, PAGE)
        else:
            self.answer(200, PAGE)

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("X-Served-By", "vm-a")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.peers = set()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server, path="/"):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def run(**kw):
    return LoadGenerator(LoadConfig(**kw)).run()


def test_successes_captures_and_request_records(server, tmp_path):
    records = tmp_path / "requests.jsonl"
    summary = run(url=url(server), rate=50, clients=8, duration=1.0, capture_regex=r'id="hostname">([^<]+)<',
                  jsonl=records)
    assert summary["failed"] == 0 and summary["by_error"] == {}
    assert 30 <= summary["total"] <= 50 + 8  # the schedule never runs ahead of the rate
    assert summary["ok"] == summary["total"] and summary["by_status"] == {"200": summary["total"]}
    assert summary["captures"] == {"vm-a": summary["total"]} and summary["uncaptured"] == 0
    assert summary["stopped_by"] == "duration" and summary["first_failure_ts"] is None
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"] <= summary["latency_ms"]["max"]
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(lines) == summary["total"]
    assert sorted(line["seq"] for line in lines) == list(range(1, summary["total"] + 1))
    assert all(line["status"] == 200 and line["error"] is None and line["start"] <= line["end"] for line in lines)
    assert {line["client"] for line in lines} <= set(range(8))
    # a new TCP connection (a new client port) per request
    assert len(server.peers) == summary["total"]


def test_rate_is_honoured_and_keep_alive_reuses_connections(server):
    summary = run(url=url(server), rate=50, clients=8, duration=1.5, keep_alive=True, capture_header="x-served-by")
    assert 60 <= summary["total"] <= 75 + 8
    assert 35 <= summary["rps_achieved"] <= 60
    assert summary["failed"] == 0 and summary["skipped_slots"] == 0
    assert summary["captures"] == {"vm-a": summary["total"]}
    assert len(server.peers) <= 8


@pytest.mark.parametrize("path, kind", [("/503", "http_503"), ("/close", "closed")])
def test_failures_are_counted_by_kind(server, path, kind):
    summary = run(url=url(server, path), rate=40, clients=4, duration=0.5, capture_header="X-Served-By")
    assert summary["total"] > 5
    assert summary["failed"] == summary["total"] and summary["ok"] == 0
    assert summary["by_error"] == {kind: summary["total"]}
    assert summary["first_failure_ts"] <= summary["last_failure_ts"]
    assert summary["captures"] == {}  # only answered requests are captured


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    summary = run(url=f"http://127.0.0.1:{port}/", rate=40, clients=2, duration=0.5)
    assert summary["total"] > 5 and summary["by_error"] == {"connect_refused": summary["total"]}
    assert summary["by_status"] == {}


def test_timeouts_and_a_schedule_left_behind_skips_slots(server):
    summary = run(url=url(server, "/slow"), rate=20, clients=1, duration=1.0, timeout=0.2, max_lag=0.3)
    assert summary["by_error"] == {"timeout": summary["total"]}
    # one client stuck 0.2 s per request cannot send 20/s: missed slots are skipped, not burst
    assert summary["total"] <= 7 and summary["skipped_slots"] > 0


def test_stop_file_and_stop(server, tmp_path):
    stop_file = tmp_path / "stop"
    generator = LoadGenerator(LoadConfig(url=url(server), rate=20, clients=2, stop_file=stop_file))
    threading.Timer(0.4, stop_file.touch).start()
    summary = generator.run()
    assert summary["stopped_by"] == "stop_file" and summary["total"] >= 2 and summary["duration_s"] < 3

    generator = LoadGenerator(LoadConfig(url=url(server), rate=20, clients=2))
    threading.Timer(0.3, generator.stop).start()
    assert generator.run()["stopped_by"] == "stop"


def test_cli_runs_until_sigterm_and_writes_the_summary(server, tmp_path):
    out = tmp_path / "summary.json"
    proc = subprocess.Popen([sys.executable, "-m", "azlab", "load", url(server), "--rate", "30", "--clients", "3",
                             "--capture-header", "X-Served-By", "--summary", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    summary = json.loads(out.read_text())
    assert json.loads(stdout) == summary
    assert summary["stopped_by"] == "SIGTERM" and summary["failed"] == 0 and summary["total"] > 5
    assert summary["captures"] == {"vm-a": summary["total"]}


def test_cli_refuses_bad_arguments():
    done = subprocess.run([sys.executable, "-m", "azlab", "load", "ftp://x/", "--duration", "1"], capture_output=True,
                          text=True)
    assert done.returncode == 2 and "url: 'ftp://x/' is not an http:// or https:// URL" in done.stderr


@pytest.mark.parametrize("kw, message", [
    ({"rate": 0}, "rate: must be > 0"),
    ({"clients": 0}, "clients: must be >= 1"),
    ({"duration": -1}, "duration: must be > 0"),
    ({"capture_regex": "("}, "capture_regex: missing )"),
    ({"capture_header": "X", "capture_regex": "x"}, "give one of them"),
])
def test_config_errors_name_the_field(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LoadConfig(url="http://127.0.0.1/", **kw)


@pytest.mark.parametrize("exc, phase, kind", [
    (ConnectionRefusedError(), "connect", "connect_refused"),
    (TimeoutError(), "connect", "connect_timeout"),
    (socket.timeout(), "request", "timeout"),
    (http.client.RemoteDisconnected("closed"), "request", "closed"),
    (http.client.IncompleteRead(b""), "request", "closed"),
    (ConnectionResetError(), "request", "reset"),
    (BrokenPipeError(), "request", "reset"),
    (OSError("no route"), "connect", "connect_error"),
    (ValueError("x"), "request", "error"),
])
def test_classify(exc, phase, kind):
    assert classify(exc, phase) == kind


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 1.0)) == (50.0, 95.0, 100.0)
    assert percentile([], 0.5) is None and percentile([7.0], 0.95) == 7.0
