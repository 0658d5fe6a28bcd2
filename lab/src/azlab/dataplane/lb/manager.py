"""The lab's load balancers: one HAProxy per Azure load balancer, applied hitlessly.

The data plane's model subscriber calls :meth:`LoadBalancerManager.apply` with the LB body
and the :class:`~azlab.dataplane.lb.view.LoadBalancerView` it resolved whenever the LB, a
pool member, a NIC or a public IP changes; :meth:`stop` when the LB is deleted or the lab
goes down. Health transitions reach the ``on_health`` callback it passed in.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from azlab.dataplane.lb.health import EventSink, HealthTracker, LogListener
from azlab.dataplane.lb.paths import RuntimePaths
from azlab.dataplane.lb.process import HAProxyError, HAProxyProcess, validate
from azlab.dataplane.lb.render import render
from azlab.dataplane.lb.serverstate import compose, parse_dump, row_state
from azlab.dataplane.lb.view import LoadBalancerView, RenderOptions, Rendering

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    """What :meth:`LoadBalancerManager.apply` did: "started", "reloaded" or "unchanged"."""

    action: str
    seconds: float
    warnings: tuple[str, ...]


@dataclass
class _Instance:
    """One load balancer's HAProxy, health log and current configuration."""

    paths: RuntimePaths
    tracker: HealthTracker
    listener: LogListener
    process: HAProxyProcess | None = None
    rendering: Rendering | None = None


def _write_atomically(path: Path, text: str) -> None:
    """HAProxy may read the file at any moment (a reload): never let it see half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class LoadBalancerManager:
    """Runs one HAProxy per load balancer under ``<state_dir>/lb/<lb key>/``."""

    def __init__(self, state_dir: Path, on_health: EventSink, *, haproxy_binary: str = "haproxy",
                 options: RenderOptions = RenderOptions()):
        self.state_dir = Path(state_dir)
        self.on_health = on_health
        self.binary = haproxy_binary
        self.options = options
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.RLock()

    # -- the subscriber's API -------------------------------------------------------------

    def apply(self, load_balancer_id: str, body: dict, view: LoadBalancerView) -> ApplyResult:
        """Serve ``body`` as resolved by ``view``: start, reload hitlessly, or leave as is.

        Raises :class:`HAProxyError` if HAProxy rejects the configuration or fails to
        start/reload; the previous configuration then keeps serving.
        """
        with self._lock:
            instance = self._instance(load_balancer_id)
            rendering = render(load_balancer_id, body, view, instance.paths, self.options)
            running = instance.process is not None and instance.process.alive()
            if running and instance.paths.config.exists() and instance.paths.config.read_text() == rendering.text:
                self._keep(instance, rendering)
                return ApplyResult("unchanged", 0.0, rendering.warnings)
            self._validate(instance, rendering)
            if running:
                return ApplyResult("reloaded", self._reload(instance, rendering), rendering.warnings)
            return ApplyResult("started", self._start(instance, rendering), rendering.warnings)

    def stop(self, load_balancer_id: str) -> None:
        """Stop the LB's HAProxy (established flows end); its files stay for the next start."""
        with self._lock:
            instance = self._instances.pop(load_balancer_id.lower(), None)
            if instance is None:
                process = HAProxyProcess.adopt(RuntimePaths.for_lb(self.state_dir, load_balancer_id))
                if process is not None:
                    process.stop()
                return
            if instance.process is not None:
                instance.process.stop()
            instance.tracker.stopped()
            instance.listener.close()

    def remove(self, load_balancer_id: str) -> None:
        """Stop the LB's HAProxy and delete its configuration, state and sockets."""
        with self._lock:
            self.stop(load_balancer_id)
            shutil.rmtree(RuntimePaths.for_lb(self.state_dir, load_balancer_id).directory, ignore_errors=True)

    def stop_all(self) -> None:
        """``azlab down``: stop every HAProxy this manager runs."""
        with self._lock:
            for load_balancer_id in [i.tracker.load_balancer_id for i in self._instances.values()]:
                self.stop(load_balancer_id)

    def running(self) -> list[str]:
        """IDs of the load balancers whose HAProxy runs."""
        with self._lock:
            return [i.tracker.load_balancer_id for i in self._instances.values() if i.process and i.process.alive()]

    def warnings(self, load_balancer_id: str) -> tuple[str, ...]:
        """What the last applied configuration could not serve as Azure would (for status)."""
        instance = self._instances.get(load_balancer_id.lower())
        return instance.rendering.warnings if instance and instance.rendering else ()

    def live_health(self, load_balancer_id: str) -> dict[tuple[str, str], str]:
        """HAProxy's own view now: {(rule name, ip configuration ID): "Up"/"Down"}.

        Servers in maintenance (adminState Down) are "Down". For status output and for
        checking the health log against the source.
        """
        with self._lock:
            instance = self._instances.get(load_balancer_id.lower())
            if instance is None or instance.process is None or instance.rendering is None:
                return {}
            dump = parse_dump(instance.process.worker_command("show servers state"))
        return {(ref.rule, ref.ip_configuration_id): row_state(dump[ref.key])
                for ref in instance.rendering.servers if ref.kind == "rule" and ref.key in dump}

    # -- internals ------------------------------------------------------------------------

    def _instance(self, load_balancer_id: str) -> _Instance:
        """This manager's record of an LB, adopting the HAProxy an earlier run left serving it."""
        key = load_balancer_id.lower()
        if key not in self._instances:
            paths = RuntimePaths.for_lb(self.state_dir, load_balancer_id)
            paths.validate()
            paths.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            tracker = HealthTracker(load_balancer_id, self.on_health)
            listener = LogListener(paths.log_socket, tracker.on_line)
            self._instances[key] = _Instance(paths, tracker, listener, HAProxyProcess.adopt(paths))
        return self._instances[key]

    def _keep(self, instance: _Instance, rendering: Rendering) -> None:
        """Nothing to reload; a manager that adopted the HAProxy reports what it knows."""
        if instance.rendering is None:
            dump = parse_dump(instance.process.worker_command("show servers state"))
            instance.tracker.expect(rendering.servers, compose(dump, rendering.servers)[1])
        instance.rendering = rendering

    def _validate(self, instance: _Instance, rendering: Rendering) -> None:
        instance.paths.candidate.write_text(rendering.text)
        try:
            validate(self.binary, instance.paths.candidate)
        except HAProxyError:
            instance.paths.candidate.unlink()
            raise

    def _start(self, instance: _Instance, rendering: Rendering) -> float:
        """First start: every probed backend starts DOWN until its probe passes."""
        state, carried = compose({}, rendering.servers)
        _write_atomically(instance.paths.server_state, state)
        os.replace(instance.paths.candidate, instance.paths.config)
        instance.tracker.expect(rendering.servers, carried)
        started = time.monotonic()
        try:
            instance.process = HAProxyProcess.start(instance.paths, self.binary)
        except HAProxyError:
            instance.tracker.stopped()
            raise
        instance.rendering = rendering
        LOG.info("load balancer %s: HAProxy %d started", instance.tracker.load_balancer_id, instance.process.pid)
        return time.monotonic() - started

    def _reload(self, instance: _Instance, rendering: Rendering) -> float:
        """Dump probe state, hand it to the new configuration, reload; undo on failure."""
        previous_text = instance.paths.config.read_text()
        dump = parse_dump(instance.process.worker_command("show servers state"))
        state, carried = compose(dump, rendering.servers)
        _write_atomically(instance.paths.server_state, state)
        os.replace(instance.paths.candidate, instance.paths.config)
        instance.tracker.expect(rendering.servers, carried)
        try:
            seconds = instance.process.reload()
        except HAProxyError:
            _write_atomically(instance.paths.config, previous_text)
            if instance.rendering is not None:
                instance.tracker.expect(instance.rendering.servers, compose(dump, instance.rendering.servers)[1])
            raise
        instance.rendering = rendering
        return seconds
