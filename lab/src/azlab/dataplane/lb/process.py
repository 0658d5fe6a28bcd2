"""One HAProxy in master-worker mode: start, hitless reload, stop — only our own processes.

The master (``-W -S <master socket>``) re-executes itself on ``reload`` and forks a new
worker that takes over the listening sockets (``expose-fd listeners``), while the old
worker finishes its established connections: no connection is refused during a reload.
A process is ours only if it runs with ``-f <our haproxy.cfg>`` (checked in /proc before
any signal is sent), so the lab never touches an HAProxy it did not start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from azlab.dataplane.lb.paths import RuntimePaths

START_TIMEOUT = 10.0
RELOAD_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
POLL = 0.01


class HAProxyError(RuntimeError):
    """HAProxy refused a configuration, failed to start, or failed to reload."""


@dataclass(frozen=True)
class ProcTable:
    """The master CLI's ``show proc``: who serves now, who is finishing old connections."""

    master: int
    reloads: int
    failed: int
    workers: tuple[int, ...]
    old_workers: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> "ProcTable":
        master = reloads = failed = 0
        groups: dict[str, list[int]] = {"workers": [], "old workers": []}
        group = None
        for line in text.splitlines():
            if line.startswith("#"):
                group = line[1:].strip() if not line.startswith("#<") else None
                continue
            fields = line.split()
            if len(fields) >= 3 and fields[1] == "master":
                master, reloads = int(fields[0]), int(fields[2])
                match = re.search(r"failed: (\d+)", line)
                failed = int(match[1]) if match else 0
            elif len(fields) >= 2 and fields[1] == "worker" and group in groups:
                groups[group].append(int(fields[0]))
        return cls(master, reloads, failed, tuple(groups["workers"]), tuple(groups["old workers"]))


def cli(path: Path, command: str, timeout: float = 5.0) -> str:
    """One command on an HAProxy CLI socket; the answer ends when HAProxy closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def validate(binary: str, config: Path) -> None:
    """``haproxy -c``: a configuration HAProxy rejects never replaces the running one."""
    # not -q: it silences the alerts that say what is wrong
    result = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        alerts = [line for line in (result.stdout + result.stderr).splitlines() if "[NOTICE]" not in line]
        raise HAProxyError(f"HAProxy rejected {config}: " + " ".join(line.strip() for line in alerts))


class HAProxyProcess:
    """A running master-worker HAProxy serving ``paths.config``."""

    def __init__(self, paths: RuntimePaths, pid: int, popen: subprocess.Popen | None = None):
        self.paths = paths
        self.pid = pid
        self._popen = popen

    @classmethod
    def start(cls, paths: RuntimePaths, binary: str) -> "HAProxyProcess":
        """Start the master in the foreground of its own session; return once a worker serves."""
        command = [binary, "-W", "-S", f"{paths.master_socket},mode,600", "-f", str(paths.config),
                   "-p", str(paths.pidfile)]
        with open(paths.output, "ab") as output:
            popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        process = cls(paths, popen.pid, popen)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if popen.poll() is not None:
                raise HAProxyError(f"HAProxy exited with {popen.returncode} at start:\n{process.output_tail()}")
            table = process.proc_table()
            if table and table.workers:
                return process
            time.sleep(POLL)
        process.stop()
        raise HAProxyError(f"HAProxy did not start within {START_TIMEOUT:.0f}s:\n{process.output_tail()}")

    @classmethod
    def adopt(cls, paths: RuntimePaths) -> "HAProxyProcess | None":
        """The HAProxy an earlier run of the lab left serving ``paths``, if it still runs."""
        try:
            pid = int(paths.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        process = cls(paths, pid)
        return process if process.alive() else None

    def owns(self, pid: int) -> bool:
        """True if ``pid`` is a live HAProxy started with our configuration file."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        config = str(self.paths.config).encode()
        return state != "Z" and any(a == b"-f" and b == config for a, b in zip(args, args[1:]))

    def alive(self) -> bool:
        if self._popen is not None and self._popen.poll() is not None:
            return False
        return self.owns(self.pid)

    def proc_table(self) -> ProcTable | None:
        """``show proc``, or None while the master is (re)starting."""
        try:
            return ProcTable.parse(cli(self.paths.master_socket, "show proc"))
        except OSError:
            return None

    def worker_command(self, command: str) -> str:
        """A CLI command answered by the current worker (not an old one finishing its flows)."""
        table = self.proc_table()
        if table is None or not table.workers:
            raise HAProxyError(f"HAProxy for {self.paths.directory} has no current worker")
        return cli(self.paths.master_socket, f"@!{table.workers[0]} {command}")

    def reload(self) -> float:
        """Hitless reload on the master CLI; returns the seconds until the new worker serves."""
        before = self.proc_table()
        if before is None:
            raise HAProxyError(f"HAProxy for {self.paths.directory} does not answer on its master socket")
        started = time.monotonic()
        try:
            cli(self.paths.master_socket, "reload")
        except OSError:
            pass  # the master closes the connection when it re-executes itself
        while time.monotonic() - started < RELOAD_TIMEOUT:
            table = self.proc_table()
            if table is not None and table.failed > before.failed:
                raise HAProxyError(f"HAProxy reload failed; the previous configuration still serves:\n"
                                   f"{self.output_tail()}")
            if table is not None and table.workers and table.workers[0] not in before.workers:
                return time.monotonic() - started
            time.sleep(POLL)
        raise HAProxyError(f"HAProxy did not reload within {RELOAD_TIMEOUT:.0f}s:\n{self.output_tail()}")

    def stop(self) -> None:
        """Stop the master and every worker it had; SIGKILL what outlives the timeout."""
        table = self.proc_table()
        pids = [self.pid, *(table.workers + table.old_workers if table else ())]
        self._signal(self.pid, signal.SIGTERM)
        if not self._wait_gone(pids, STOP_TIMEOUT):
            for pid in pids:
                self._signal(pid, signal.SIGKILL)
            self._wait_gone(pids, STOP_TIMEOUT)
        for path in (self.paths.pidfile, self.paths.master_socket, self.paths.admin_socket):
            path.unlink(missing_ok=True)

    def _signal(self, pid: int, signum: int) -> None:
        if self.owns(pid):
            os.kill(pid, signum)

    def _wait_gone(self, pids: list[int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen is not None:
                self._popen.poll()  # reap our child so that it does not linger as a zombie
            if not any(self.owns(pid) for pid in pids):
                return True
            time.sleep(POLL)
        return False

    def output_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.paths.output.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
