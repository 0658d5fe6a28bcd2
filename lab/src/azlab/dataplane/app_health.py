"""The Application Health extension in the scale set instances' guests: probe the application
from inside each guest, as the handler does, and report the instance's health state.

For every instance whose Application Health extension runs in its present guest
(``scale_set_extensions.current_run`` succeeded), each ``intervalInSeconds`` one probe of
``localhost`` in the guest's own network namespace (``podman exec``: curl for http/https,
a bash ``/dev/tcp`` connection for tcp), bounded by the handler's probe timeout. The verdicts
go through the handler's rules (``models.compute.app_health``); a change of the state it
reports is written to the instance (``scale_set_extensions.set_vm_health``): the
``vmHealth`` of its instance view and the health source of rolling upgrades and repairs.
Probes run on a small worker pool, so a hung application does not hold up the controller.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azlab.dataplane import podman
from azlab.models.compute import app_health, scale_set_extensions as extensions
from azlab.models.compute.common import INSTANCE_TYPE
from azlab.models.compute.state import guest_generation
from azlab.models.store import Store, key_of

LOG = logging.getLogger(__name__)
WORKERS = 2
#: curl prints the body, then the status code on a line of its own
HTTP_PROBE = 'curl -sk --max-time "$1" -w "\\n%{http_code}" "$2"'
TCP_PROBE = 'timeout "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2"'


@dataclass
class _Watch:
    """One instance's handler: what it probes (for which guest and configuration) and its memory."""

    identity: tuple[str, str]
    probe: app_health.HealthProbe
    tracker: app_health.Tracker
    last_probe: float = 0.0


def probe_once(container: str, probe: app_health.HealthProbe) -> str:
    """One probe of the application from inside the guest: its verdict."""
    timeout = str(app_health.PROBE_TIMEOUT_SECONDS)
    if probe.protocol == "tcp":
        proc = podman.run(["exec", container, "/bin/sh", "-c", TCP_PROBE, "sh", timeout, str(probe.port)],
                          check=False, timeout=app_health.PROBE_TIMEOUT_SECONDS + 10)
        return app_health.verdict(probe, proc.returncode == 0)
    proc = podman.run(["exec", container, "/bin/sh", "-c", HTTP_PROBE, "sh", timeout, probe.url()],
                      check=False, timeout=app_health.PROBE_TIMEOUT_SECONDS + 10)
    body, _, code = proc.stdout.rpartition("\n")
    answered = proc.returncode == 0 and code.strip().isdigit() and code.strip() != "000"
    return app_health.verdict(probe, answered, int(code) if answered else None, body)


class ApplicationHealthProbes:
    def __init__(self, store: Store, on_change, workers: int = WORKERS):
        self.store = store
        self._on_change = on_change
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="azlab-apphealth")
        self._lock = threading.Lock()
        self._watches: dict[str, _Watch] = {}   # instance key -> its handler
        self._probing: set[str] = set()

    def reconcile(self, guests: dict[str, str]) -> None:
        """``guests``: VM key -> the container of a running guest."""
        now = time.monotonic()
        watched = set()
        for instance_id, instance in self.store.list(INSTANCE_TYPE):
            key = key_of(instance_id)
            ext = extensions.health_extension(instance.get(extensions.APPLIED) or [])
            run = extensions.current_run(instance, ext) if ext else None
            if run is None or run["state"] != extensions.SUCCEEDED or key not in guests:
                continue
            watched.add(key)
            identity = (guest_generation(instance), ext["digest"])
            with self._lock:
                watch = self._watches.get(key)
                if watch is None or watch.identity != identity:
                    probe = app_health.parse_settings(ext["properties"]["typeHandlerVersion"],
                                                      ext["properties"].get("settings"))
                    watch = self._watches[key] = _Watch(identity, probe, app_health.start(probe, now))
                    self._report(instance_id, watch)
                if key in self._probing or now - watch.last_probe < watch.probe.interval:
                    continue
                watch.last_probe = now
                self._probing.add(key)
            self._pool.submit(self._probe, instance_id, key, guests[key], watch)
        with self._lock:
            for key in set(self._watches) - watched:
                del self._watches[key]

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _probe(self, instance_id: str, key: str, container: str, watch: _Watch) -> None:
        try:
            said = probe_once(container, watch.probe)
        except podman.PodmanError as exc:  # the guest went away meanwhile: the next pass decides
            LOG.debug("application health probe of %s: %s", instance_id, exc)
            said = None
        finally:
            with self._lock:
                self._probing.discard(key)
        if said is None:
            return
        with self._lock:
            if self._watches.get(key) is not watch:
                return  # a new guest or configuration meanwhile
            before = watch.tracker.state
            watch.tracker = app_health.advance(watch.probe, watch.tracker, said, time.monotonic())
            changed = watch.tracker.state != before
        if changed:
            self._report(instance_id, watch)
            self._on_change()

    def _report(self, instance_id: str, watch: _Watch) -> None:
        generation, digest = watch.identity
        if extensions.set_vm_health(self.store, instance_id, digest, generation, watch.tracker.state):
            LOG.info("application health of %s: %s", instance_id, watch.tracker.state)
