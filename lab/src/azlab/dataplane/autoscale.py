"""Autoscale for real: the CPU of scale set instances' containers, measured from their
cgroups, and what the enabled autoscale settings decide from it (``models/
insights_evaluation``) applied to the scale set's capacity.

A thread of its own beside the controller's worker: sampling keeps its rhythm while a
reconcile pass waits for podman. A scale action is the scale set's own PATCH of
``sku.capacity`` (``ScaleSetType.patch``, in a store transaction): the set adds or removes
instances by its scale-in policy, and the controller makes or removes their containers,
as after an ARM request. Azure records autoscale actions in the activity log, which the lab
does not have: the last actions are in ``azlab status`` and the lab's log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

from azlab.dataplane import podman
from azlab.dataplane.objects import container_name
from azlab.models.compute.catalog import find_size
from azlab.models.compute.common import INSTANCE_TYPE, VMSS_TYPE
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId
from azlab.models.insights import AUTOSCALE_TYPE
from azlab.models.insights_evaluation import Decision, active_profile, evaluate, scaled_seconds
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: samples per (scaled) minute: every 5 s in real time
SAMPLES_PER_MINUTE = 12
#: a fast time scale does not sample more often than this
MIN_SAMPLE_SECONDS = 0.5
#: scale actions kept for ``azlab status``
HISTORY = 20


def cgroup_usage_usec(cgroup: str) -> int | None:
    """A cgroup's CPU time so far, in microseconds, or None when it is gone: cgroup v2's
    ``cpu.stat`` (also in the unified hierarchy of a hybrid host), else v1's
    ``cpuacct.usage`` (nanoseconds)."""
    relative = cgroup.lstrip("/")
    for root in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        try:
            lines = (root / relative / "cpu.stat").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            name, _, value = line.partition(" ")
            if name == "usage_usec":
                return int(value)
    try:
        return int((CGROUP_ROOT / "cpuacct" / relative / "cpuacct.usage").read_text()) // 1000
    except (OSError, ValueError):
        return None


class CpuMeter:
    """A container's CPU time from its cgroup: one ``podman inspect`` finds the cgroup of a
    container, then each sample is a file read."""

    def __init__(self) -> None:
        self._cgroups: dict[str, str] = {}

    def read(self, name: str) -> tuple[str, int] | None:
        """(the container's cgroup, its CPU time in microseconds), or None if it does not run."""
        cgroup = self._cgroups.get(name)
        usage = cgroup_usage_usec(cgroup) if cgroup else None
        if usage is None:  # new, restarted or recreated: its cgroup may have moved
            info = podman.container_inspect(name) or {}
            cgroup = (info.get("State") or {}).get("CgroupPath") if (info.get("State") or {}).get("Running") else None
            usage = cgroup_usage_usec(cgroup) if cgroup else None
        if usage is None:
            self._cgroups.pop(name, None)
            return None
        self._cgroups[name] = cgroup
        return cgroup, usage

    def keep_only(self, names: set[str]) -> None:
        for name in set(self._cgroups) - names:
            del self._cgroups[name]


class Autoscaler:
    """Samples the instances of the scale sets that enabled autoscale settings measure, and
    applies the settings' decisions; ``tick`` is one round (the thread calls it)."""

    def __init__(self, lab, meter: CpuMeter | None = None):
        self.lab = lab
        self.store = lab.store
        self._meter = meter or CpuMeter()
        self._baseline: dict[str, tuple[float, str, int]] = {}  # instance key -> (time, cgroup, CPU µs)
        self._points: dict[str, deque[tuple[float, float]]] = {}  # instance key -> (time, percent)
        self._cooling_until: dict[str, float] = {}              # setting key -> end of its last action's cooldown
        self._evaluations: dict[str, dict] = {}
        self._history: deque[dict] = deque(maxlen=HISTORY)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def seconds_per_minute(self) -> float:
        return self.lab.settings.seconds_per_minute

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="azlab-autoscale", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def status(self) -> dict:
        return {"seconds_per_minute": self.seconds_per_minute, "settings": dict(self._evaluations),
                "history": list(self._history)}

    def _loop(self) -> None:
        while not self._stopping.wait(max(MIN_SAMPLE_SECONDS, self.seconds_per_minute / SAMPLES_PER_MINUTE)):
            try:
                self.tick(time.monotonic())
            except Exception:  # one bad round must not end autoscale; the next one retries
                LOG.exception("autoscale round failed")

    def tick(self, now: float) -> None:
        settings = [(sid, body["properties"]) for sid, body in self.store.list(AUTOSCALE_TYPE)
                    if body["properties"].get("enabled", True) is not False]
        sources = {key_of(uri) for _, props in settings for uri in _metric_sources(props)}
        self._sample(sources, now)
        self._forget_old(settings, now)
        samples: dict[str, dict[str, deque]] = {source: {} for source in sources}
        for instance, points in self._points.items():
            source = instance.rsplit("/virtualmachines/", 1)[0]
            if source in samples:
                samples[source][instance] = points
        for setting_id, props in settings:
            vmss = self.store.get(props["targetResourceUri"])
            if vmss is None:
                continue
            key = key_of(setting_id)
            result = evaluate(props, vmss["sku"]["capacity"], samples, now, self.seconds_per_minute,
                              self._cooling_until.get(key, float("-inf")))
            self._evaluations[setting_id] = {"profile": result.profile, "capacity": vmss["sku"]["capacity"],
                                             "metrics": [None if v is None else round(v, 1) for v in result.values]}
            if result.decision is not None and self._apply(setting_id, vmss, result.decision):
                self._cooling_until[key] = now + result.decision.cooldown

    def _sample(self, sources: set[str], now: float) -> None:
        """One CPU sample of every instance of the measured sets: "Percentage CPU" since the
        previous sample, of the vCPUs of the set's size, at most 100."""
        names, sampled = set(), set()
        for source in sources:
            vmss = self.store.get(source)
            if vmss is None or vmss.get("type", "").lower() != VMSS_TYPE.lower():
                continue
            size = find_size(vmss["sku"]["name"])
            cores = size.cores if size else 1
            for instance_id, instance in self.store.list(INSTANCE_TYPE, prefix=vmss["id"]):
                key, name = key_of(instance_id), container_name(instance_id)
                names.add(name)
                # the controller reports the container's power state: a stopped one costs no podman call
                reading = self._meter.read(name) if instance.get("_power") == "running" else None
                if reading is None:  # no sample, and the next one starts afresh
                    continue
                sampled.add(key)
                cgroup, usage = reading
                before = self._baseline.get(key)
                self._baseline[key] = (now, cgroup, usage)
                if before is not None and before[1] == cgroup and now > before[0] and usage >= before[2]:
                    percent = (usage - before[2]) / ((now - before[0]) * 1e6 * cores) * 100
                    self._points.setdefault(key, deque()).append((now, min(percent, 100.0)))
        self._meter.keep_only(names)
        for key in set(self._baseline) - sampled:
            del self._baseline[key]

    def _forget_old(self, settings: list[tuple[str, dict]], now: float) -> None:
        """Keep samples as long as the longest time window needs them (a removed instance's
        too: its past grains still count, as Azure's metrics do); forget settings that are gone."""
        horizon = max((scaled_seconds(rule["metricTrigger"]["timeWindow"], self.seconds_per_minute)
                       for _, props in settings for profile in props["profiles"]
                       for rule in profile.get("rules") or []), default=0.0)
        for key, points in list(self._points.items()):
            while points and points[0][0] < now - horizon:
                points.popleft()
            if not points:
                del self._points[key]
        live = {key_of(sid) for sid, _ in settings}
        for key in set(self._cooling_until) - live:
            del self._cooling_until[key]
        for setting_id in [sid for sid in self._evaluations if key_of(sid) not in live]:
            del self._evaluations[setting_id]

    def _apply(self, setting_id: str, vmss: dict, decision: Decision) -> bool:
        """The set's capacity by its own PATCH code: instances follow as after an ARM request.
        Whether it was tried (not when the capacity changed since the decision)."""
        ctx = self.lab.context()
        scale_sets = ctx.registry.find(VMSS_TYPE)
        before = vmss["sku"]["capacity"]
        outcome = "succeeded"
        try:
            with self.store.transaction():
                current = self.store.get(vmss["id"])
                if current is None or current["sku"]["capacity"] != before:
                    return False  # changed meanwhile: the next round decides again
                stored = scale_sets.patch(ctx, ResourceId.parse(current["id"]),
                                          {"sku": {**current["sku"], "capacity": decision.capacity}}, current)
                self.store.put(stored["id"], VMSS_TYPE, stored)
        except ArmError as exc:
            outcome = f"failed: {exc.code}: {exc.message}"
        record = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "setting": setting_id,
                  "scale_set": vmss["id"], "from": before, "to": decision.capacity, "reason": decision.reason,
                  "outcome": outcome}
        self._history.append(record)
        LOG.info("autoscale %s: %s from %d to %d instances (%s): %s", setting_id.rsplit("/", 1)[-1],
                 vmss["name"], before, decision.capacity, decision.reason, outcome)
        return True


def _metric_sources(props: dict) -> list[str]:
    """The scale sets whose instances the active profile's rules measure."""
    profile = active_profile(props["profiles"]) or {}
    return [rule["metricTrigger"].get("metricResourceUri") or props["targetResourceUri"]
            for rule in profile.get("rules") or []]
