"""Overprovisioning's last step, which only the data plane can take: which of a set's new
instances run first (``models/compute/scale_set_overprovision.py`` has the rules).

Each controller pass, for every scale set that still has more candidates than it needs, the
instances whose containers were made from what they say are "run", timed by the pass that
first saw them so; the set's own code (``ScaleSetType.drop_extras``, in a store transaction)
keeps the first to run and deletes the extras, and the next pass removes their containers.
"""

from __future__ import annotations

import logging
import time

from azlab.dataplane import gates
from azlab.models.compute import scale_set_overprovision as overprovision
from azlab.models.compute.common import VMSS_TYPE
from azlab.models.compute.scale_set_instances import instances
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)


class Overprovisioning:
    """``made`` is the controller's record of the containers it made."""

    def __init__(self, lab, made: dict[str, str]):
        self.lab = lab
        self.store = lab.store
        self.made = made
        self._first_run: dict[str, float] = {}  # candidate key -> when a pass first saw it run

    def reconcile(self) -> None:
        ctx = self.lab.context()
        now = time.monotonic()
        running = set()
        for vmss_id, vmss in self.store.list(VMSS_TYPE):
            if not vmss.get(overprovision.RECORD):
                continue
            members = instances(ctx, vmss_id)
            ran = {}
            for member in members:
                if gates.instance_made(self.made, member):
                    key = key_of(member["id"])
                    running.add(key)
                    ran[member["instanceId"]] = self._first_run.setdefault(key, now)
            failed = {m["instanceId"] for m in members if m.get("_failure")}
            with self.store.transaction():
                current = self.store.get(vmss_id)
                dropped = ctx.registry.find(VMSS_TYPE).drop_extras(ctx, current, ran, failed) if current else []
            if dropped:
                LOG.info("scale set %s: overprovisioning kept %s, deleted the extras %s", vmss_id,
                         sorted(set(ran) - set(dropped), key=int), dropped)
        for key in set(self._first_run) - running:
            del self._first_run[key]
