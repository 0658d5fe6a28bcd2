"""Automatic instance repairs, run against the instances' real state and health
(``models/compute/scale_set_repairs.py`` has the rules and decides).

Each controller pass, for every scale set whose repairs run: when each instance's last state
change completed - the pass that first saw its container made from what it says, with every
restart asked for done and its power running (a new container, a restart, a start after a
stop begin its grace period again) - and whether it is healthy, from the set's health source
(``rolling.instance_states``: the LB probe as HAProxy last found it, or the Application Health
extension's vmHealth; an instance still initializing is not judged yet, as on Azure). The plan is applied by the set's own code
(``ScaleSetType.repair_instances``) in a store transaction; the controller then makes the new
containers, restarts or reimages.
"""

from __future__ import annotations

import logging
import time

from azlab.dataplane import gates, rolling
from azlab.models.compute import app_health, scale_set_repairs as repairs
from azlab.models.compute.common import INSTANCE_TYPE, VMSS_TYPE
from azlab.models.compute.scale_set_instances import instances
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)


class AutomaticRepairs:
    """``made`` and ``restarts`` are the controller's records of the containers it made and
    of the restarts it handled."""

    def __init__(self, lab, made: dict[str, str], restarts: dict[str, int]):
        self.lab = lab
        self.store = lab.store
        self.made = made
        self.restarts = restarts
        self._settled: dict[str, tuple[tuple, float]] = {}  # instance key -> (what it runs, since when)

    def reconcile(self) -> None:
        ctx = self.lab.context()
        now = time.monotonic()
        seen: set[str] = set()
        for vmss_id, vmss in self.store.list(VMSS_TYPE):
            if repairs.service_state(vmss) != repairs.RUNNING:
                continue
            members = instances(ctx, vmss_id)
            since = self._settled_since(members, now, seen)
            states = rolling.instance_states(self.store, vmss, members)
            since = {i: t for i, t in since.items() if states.get(i) != app_health.INITIALIZING}
            healthy = rolling.instance_health(self.store, vmss, members)
            decided = repairs.plan(vmss, members, healthy, since, now, self.lab.settings.seconds_per_minute)
            if decided != repairs.Plan():
                self._apply(ctx, vmss_id, decided)
        for key in set(self._settled) - seen:
            del self._settled[key]

    def _settled_since(self, members: list[dict], now: float, seen: set[str]) -> dict[str, float]:
        """Instance ID -> when its last state change completed, for those not changing now."""
        out = {}
        for member in members:
            key = key_of(member["id"])
            done = gates.instance_made(self.made, member) and member.get("_power") == "running" \
                and self.restarts.get(key) == member.get("_restarts", 0)
            if not done:
                continue
            state = (self.made[key], member.get("_restarts", 0))
            if self._settled.get(key, (None,))[0] != state:
                self._settled[key] = (state, now)
            seen.add(key)
            out[member["instanceId"]] = self._settled[key][1]
        return out

    def _apply(self, ctx, vmss_id: str, decided: repairs.Plan) -> None:
        with self.store.transaction():
            vmss = self.store.get(vmss_id)
            if vmss is None or repairs.service_state(vmss) != repairs.RUNNING:
                return
            for instance_id in decided.recovered:
                member = self.store.get(f"{vmss_id}/virtualMachines/{instance_id}")
                if member is not None:
                    member.pop(repairs.REPEATS, None)
                    self.store.put(member["id"], INSTANCE_TYPE, member)
            if decided.suspend:
                vmss[repairs.SUSPENDED_FLAG] = True
                self.store.put(vmss_id, VMSS_TYPE, vmss)
            elif decided.repair:
                ctx.registry.find(VMSS_TYPE).repair_instances(ctx, vmss, decided.repair)
        if decided.suspend:
            LOG.warning("scale set %s: instances stay unhealthy after repeated repairs: automatic repairs suspended",
                        vmss_id)
        elif decided.repair:
            LOG.info("scale set %s: automatic repairs: %s of instances %s", vmss_id,
                     vmss["properties"]["automaticRepairsPolicy"]["repairAction"], list(decided.repair))
