"""Durable lab state: an in-memory index written through to SQLite.

Every mutation happens inside ``Store.transaction()``; subscribers (the data plane,
the request log readers) are told about committed changes only, after the commit,
so the model layer never depends on who listens.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    key TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    method TEXT NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    api_version TEXT,
    status INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    write INTEGER NOT NULL,
    body TEXT
);
CREATE TABLE IF NOT EXISTS health_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    load_balancer TEXT NOT NULL,
    rule TEXT NOT NULL,
    backend TEXT NOT NULL,
    ip TEXT,
    state TEXT NOT NULL,
    reason TEXT
);
"""


@dataclass(frozen=True)
class Change:
    """One committed change: ``old`` is None on create, ``new`` is None on delete."""

    resource_id: str
    resource_type: str
    old: dict | None
    new: dict | None

    @property
    def kind(self) -> str:
        if self.old is None:
            return "create"
        if self.new is None:
            return "delete"
        return "update"


def key_of(resource_id: str) -> str:
    """ARM resource IDs compare case-insensitively."""
    return resource_id.rstrip("/").lower()


class Store:
    def __init__(self, db_path: Path | str | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(db_path or ":memory:"), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._resources: dict[str, tuple[str, str, int, dict]] = {}
        self._seq = 0
        for key, rid, rtype, seq, body in self._db.execute("SELECT key, id, type, seq, body FROM resources"):
            self._resources[key] = (rid, rtype, seq, json.loads(body))
            self._seq = max(self._seq, seq)
        self._subscribers: list[Callable[[list[Change]], None]] = []
        self._pending: list[Change] | None = None

    # -- transactions -------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """Group mutations; commit them atomically and notify subscribers after."""
        with self._lock:
            if self._pending is not None:  # nested: the outer transaction commits
                yield self
                return
            self._pending = []
            snapshot = dict(self._resources)
            self._db.execute("BEGIN")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                self._resources = snapshot
                self._pending = None
                raise
            self._db.execute("COMMIT")
            changes, self._pending = self._pending, None
        if changes:
            for subscriber in list(self._subscribers):
                subscriber(changes)

    def subscribe(self, callback: Callable[[list[Change]], None]) -> None:
        self._subscribers.append(callback)

    # -- resources ----------------------------------------------------------------

    def get(self, resource_id: str) -> dict | None:
        with self._lock:
            entry = self._resources.get(key_of(resource_id))
            return copy.deepcopy(entry[3]) if entry else None

    def exists(self, resource_id: str) -> bool:
        return key_of(resource_id) in self._resources

    def put(self, resource_id: str, resource_type: str, body: dict) -> None:
        self._require_transaction()
        key = key_of(resource_id)
        old = self._resources.get(key)
        if old is None:
            self._seq += 1
            seq = self._seq
        else:
            seq = old[2]
        body = copy.deepcopy(body)
        self._resources[key] = (resource_id, resource_type, seq, body)
        self._db.execute(
            "INSERT OR REPLACE INTO resources (key, id, type, seq, body) VALUES (?, ?, ?, ?, ?)",
            (key, resource_id, resource_type, seq, json.dumps(body)),
        )
        self._pending.append(Change(resource_id, resource_type, old[3] if old else None, copy.deepcopy(body)))

    def delete(self, resource_id: str) -> None:
        self._require_transaction()
        key = key_of(resource_id)
        old = self._resources.pop(key, None)
        if old is None:
            return
        self._db.execute("DELETE FROM resources WHERE key = ?", (key,))
        self._pending.append(Change(old[0], old[1], old[3], None))

    def list(self, resource_type: str | None = None, prefix: str | None = None) -> list[tuple[str, dict]]:
        """(id, body) pairs in creation order, filtered by type and/or ID prefix."""
        want_type = resource_type.lower() if resource_type else None
        want_prefix = key_of(prefix) + "/" if prefix else None
        with self._lock:
            rows = sorted(self._resources.items(), key=lambda item: item[1][2])
            return [
                (rid, copy.deepcopy(body))
                for key, (rid, rtype, _seq, body) in rows
                if (want_type is None or rtype.lower() == want_type)
                and (want_prefix is None or key.startswith(want_prefix))
            ]

    def clear(self) -> None:
        """Forget every resource (``azlab reset``); subscribers see the deletes."""
        with self.transaction():
            for key in list(self._resources):
                self.delete(self._resources[key][0])
            self._db.execute("DELETE FROM kv")
            self._db.execute("DELETE FROM health_events")

    # -- small persistent values (counters, allocations) -----------------------------

    def get_value(self, key: str, default=None):
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_value(self, key: str, value) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def next_counter(self, name: str) -> int:
        """A durable counter: 0, 1, 2, ... per name."""
        with self._lock:
            value = self.get_value("counter:" + name, 0)
            self.set_value("counter:" + name, value + 1)
            return value

    # -- request log ---------------------------------------------------------------

    def log_request(self, entry: dict) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (ts, method, host, path, api_version, status, duration_ms, write, body)"
                " VALUES (:ts, :method, :host, :path, :api_version, :status, :duration_ms, :write, :body)",
                entry,
            )

    def requests(self, since: int = 0, writes_only: bool = False, limit: int | None = None) -> list[dict]:
        sql = "SELECT seq, ts, method, host, path, api_version, status, duration_ms, write, body FROM requests WHERE seq > ?"
        if writes_only:
            sql += " AND write = 1"
        sql += " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            cursor = self._db.execute(sql, (since,))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def request_mark(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM requests").fetchone()
            return int(row[0])

    # -- load balancer health (written by the data plane, read by ARM and tests) ------------

    def record_health(self, load_balancer: str, rule: str, backend: str, ip: str | None, state: str,
                      reason: str = "", ts: float | None = None) -> None:
        """One probe transition: ``backend`` (an ip configuration ID) went Up or Down for ``rule``."""
        import time

        with self._lock:
            self._db.execute(
                "INSERT INTO health_events (ts, load_balancer, rule, backend, ip, state, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ts or time.time(), key_of(load_balancer), rule.lower(), key_of(backend), ip, state, reason),
            )

    def health_events(self, load_balancer: str | None = None, since: float = 0.0) -> list[dict]:
        sql = "SELECT seq, ts, load_balancer, rule, backend, ip, state, reason FROM health_events WHERE ts >= ?"
        params: list = [since]
        if load_balancer:
            sql += " AND load_balancer = ?"
            params.append(key_of(load_balancer))
        with self._lock:
            cursor = self._db.execute(sql + " ORDER BY seq", params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def current_health(self, load_balancer: str, rule: str) -> dict[str, dict]:
        """Latest transition per backend of one rule: {backend key: event}."""
        latest: dict[str, dict] = {}
        for event in self.health_events(load_balancer):
            if event["rule"] == rule.lower():
                latest[event["backend"]] = event
        return latest

    def _require_transaction(self) -> None:
        if self._pending is None:
            raise RuntimeError("store mutations must happen inside Store.transaction()")

    def close(self) -> None:
        with self._lock:
            self._db.close()
