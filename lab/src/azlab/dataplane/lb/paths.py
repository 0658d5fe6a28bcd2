"""Where one load balancer's HAProxy keeps its files: ``<state_dir>/lb/<lb key>/``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# sockaddr_un.sun_path is 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./@+,=:~-]+")


def digest(text: str, length: int = 8) -> str:
    """A short stable hash of a resource ID; IDs compare case-insensitively, so lower first."""
    return hashlib.sha1(text.rstrip("/").lower().encode()).hexdigest()[:length]


def safe_label(text: str, limit: int = 24) -> str:
    """``text`` restricted to characters HAProxy accepts in names and that are safe in paths."""
    return _UNSAFE.sub("_", text)[:limit] or "_"


def lb_key(load_balancer_id: str) -> str:
    """Directory name of one LB: readable (its name) and unique (a hash of its full ID);
    the same for any spelling of the ID, which ARM compares case-insensitively."""
    name = load_balancer_id.rstrip("/").rsplit("/", 1)[-1].lower()
    return f"{safe_label(name)}-{digest(load_balancer_id, 10)}"


@dataclass(frozen=True)
class RuntimePaths:
    """Every file of one HAProxy instance; nothing of it lives outside ``directory``."""

    directory: Path

    @classmethod
    def for_lb(cls, state_dir: Path, load_balancer_id: str) -> "RuntimePaths":
        return cls(Path(state_dir) / "lb" / lb_key(load_balancer_id))

    @property
    def config(self) -> Path:
        return self.directory / "haproxy.cfg"

    @property
    def candidate(self) -> Path:
        """A new config is written here and validated before it replaces ``config``."""
        return self.directory / "haproxy.cfg.new"

    @property
    def server_state(self) -> Path:
        return self.directory / "server-state"

    @property
    def master_socket(self) -> Path:
        return self.directory / "master.sock"

    @property
    def admin_socket(self) -> Path:
        return self.directory / "admin.sock"

    @property
    def log_socket(self) -> Path:
        return self.directory / "log.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "haproxy.pid"

    @property
    def output(self) -> Path:
        """HAProxy's own stdout/stderr (startup alerts, reload failures)."""
        return self.directory / "haproxy.log"

    def validate(self) -> None:
        """Fail early and clearly on what would fail deep inside HAProxy.

        Paths go into haproxy.cfg unquoted, so they may not contain blanks, quotes, '#' or
        '$'; unix socket paths must fit in a sockaddr_un.
        """
        if not _PLAIN_PATH.fullmatch(str(self.directory)):
            raise ValueError(f"lab state directory {self.directory} contains characters HAProxy's "
                             f"configuration would need quoted; use a plain path")
        for path in (self.master_socket, self.admin_socket, self.log_socket):
            if len(str(path).encode()) > MAX_SOCKET_PATH:
                raise ValueError(f"unix socket path {path} is longer than {MAX_SOCKET_PATH} bytes; "
                                 f"use a shorter lab state directory")
