"""Scale set rolling upgrades, run batch by batch against the instances' real health.

Each controller pass advances every rolling upgrade that rolls forward
(``models.compute.rolling_upgrades`` holds the record and decides batches and checks):

1. before a batch, maxUnhealthyInstancePercent over the set's health; the batch is chosen;
2. *draining*: the batch's instances leave the load balancer's rotation (``_rolling_out``:
   the resolver serves them in maintenance, so no new flow reaches them while open ones
   finish), for ``drain_seconds``;
3. *upgrading*: each takes the new model (or the newer image: a reimage; or, for an
   extensionRollingUpgrade, the model's extensions only); the controller makes its new
   container when the guest changed and the guest agent runs its new extensions; once the
   container runs the instance returns to rotation and its probe decides when it takes
   traffic again;
4. the batch ends when every instance is healthy with its extensions run, or after
   ``health_wait_seconds`` (or at once for an extension that failed) with those that are not
   counted failed; maxUnhealthyUpgradedInstancePercent is checked, then pauseTimeBetweenBatches.

Azure's fixed wait for an upgraded instance to become healthy (HEALTH_WAIT_SECONDS, five
minutes) is on the lab's time scale (``LabSettings.seconds_per_minute``, as autoscale's and
automatic repairs' minutes): ``health_wait_seconds`` reads it on every pass, so a lab (or a
test) that shortens its minute shortens this wait too. The drain (a few seconds, the lab's own
choice) and the policy's pauseTimeBetweenBatches (the user's duration) are not scaled.

Health comes from the set's health source (``instance_health``, for automatic repairs too):
the load balancer probe of ``networkProfile.healthProbe`` as HAProxy found it (the health
log), or the Application Health extension as it found the application in each guest
(``dataplane/app_health.py``).
"""

from __future__ import annotations

import logging
import time

from azlab.dataplane import gates
from azlab.models.compute import rolling_upgrades as rolling
from azlab.models.compute.common import INSTANCE_TYPE, VMSS_TYPE, iso_time
from azlab.models.compute import app_health, scale_set_extensions as extensions
from azlab.models.compute.scale_set_instances import apply_extensions, apply_model, instances, reimage
from azlab.models.compute.scale_set_rules import duration_seconds
from azlab.models.ids import same_id
from azlab.models.network.nic import primary_ip_configuration
from azlab.models.store import key_of

LOG = logging.getLogger(__name__)
#: Azure sends no new flows to a batch being upgraded; the lab waits this long for open ones
DRAIN_SECONDS = 3.0
#: how long an upgraded instance may take to become healthy before it counts as failed, in
#: Azure's real time (five minutes); the lab waits this on its time scale (``health_wait``)
HEALTH_WAIT_SECONDS = 300.0


def health_wait(seconds_per_minute: float) -> float:
    """HEALTH_WAIT_SECONDS on a time scale where an Azure minute lasts ``seconds_per_minute``
    seconds (``LabSettings.seconds_per_minute``; 60 is real time)."""
    return HEALTH_WAIT_SECONDS * seconds_per_minute / 60


def probe_health(store, vmss: dict, members: list[dict]) -> dict[str, bool]:
    """Instance ID -> whether the set's health probe last found it Up (through any rule that uses it)."""
    probe_id = ((vmss["properties"]["virtualMachineProfile"]["networkProfile"].get("healthProbe") or {}).get("id"))
    if not probe_id:
        return {}
    lb_id = probe_id.rsplit("/probes/", 1)[0]
    lb = store.get(lb_id) or {}
    latest: dict[str, dict] = {}
    for rule in lb.get("properties", {}).get("loadBalancingRules", []):
        if same_id((rule["properties"].get("probe") or {}).get("id"), probe_id):
            for backend, event in store.current_health(lb_id, rule["name"]).items():
                if backend not in latest or event["ts"] > latest[backend]["ts"]:
                    latest[backend] = event
    out = {}
    for member in members:
        refs = member["properties"]["networkProfile"]["networkInterfaces"]
        nic = store.get(refs[0]["id"]) if refs else None
        config = primary_ip_configuration(nic) if nic else None
        event = latest.get(key_of(config["id"])) if config else None
        out[member["instanceId"]] = bool(event) and event["state"] == "Up" and not member.get("_rolling_out")
    return out


def instance_states(store, vmss: dict, members: list[dict]) -> dict[str, str]:
    """Instance ID -> healthy, unhealthy, initializing or unknown, from the set's health source:
    its health probe when the model names one, else its Application Health extension (an
    instance whose extension does not run in its present guest yet is initializing)."""
    profile = vmss["properties"]["virtualMachineProfile"]
    if profile["networkProfile"].get("healthProbe") or extensions.health_extension(
            extensions.model_extensions(vmss)) is None:
        return {i: app_health.HEALTHY if up else app_health.UNHEALTHY
                for i, up in probe_health(store, vmss, members).items()}
    return {m["instanceId"]: extensions.vm_health(m) or app_health.INITIALIZING for m in members}


def instance_health(store, vmss: dict, members: list[dict]) -> dict[str, bool]:
    """Instance ID -> whether the set's health source finds it healthy (and it is in rotation)."""
    states = instance_states(store, vmss, members)
    return {m["instanceId"]: states.get(m["instanceId"]) == app_health.HEALTHY and not m.get("_rolling_out")
            for m in members}


def out_of_rotation_nics(store) -> set[str]:
    """NIC keys of the instances a rolling upgrade took out of the load balancers' rotation."""
    return {key_of(ref["id"]) for _, body in store.list(INSTANCE_TYPE) if body.get("_rolling_out")
            for ref in body["properties"]["networkProfile"]["networkInterfaces"]}


class RollingUpgrades:
    """Advances the lab's rolling upgrades; ``made`` is the controller's record of made containers."""

    def __init__(self, lab, made: dict[str, str]):
        self.lab = lab
        self.store = lab.store
        self.made = made
        self.drain_seconds = DRAIN_SECONDS
        self._health_wait_seconds: float | None = None

    @property
    def health_wait_seconds(self) -> float:
        """How long a batch waits for its instances to become healthy: HEALTH_WAIT_SECONDS on
        the lab's time scale as it is now (a test may change ``settings.seconds_per_minute``
        while the lab runs), unless a value was set here (None: the time scale again)."""
        if self._health_wait_seconds is not None:
            return self._health_wait_seconds
        return health_wait(self.lab.settings.seconds_per_minute)

    @health_wait_seconds.setter
    def health_wait_seconds(self, seconds: float | None) -> None:
        self._health_wait_seconds = seconds

    def reconcile(self) -> None:
        ctx = self.lab.context()
        now = time.time()
        for vmss_id, vmss in self.store.list(VMSS_TYPE):
            members = instances(ctx, vmss_id)
            record = vmss.get("_rolling") or {}
            rolling_forward = record.get("code") == rolling.ROLLING_FORWARD
            self._return_to_rotation(members, record["batch"] if rolling_forward else [])
            if rolling_forward:
                self._advance(ctx, vmss, record, members, now)

    def _made_now(self, member: dict) -> bool:
        return gates.instance_made(self.made, member)

    def _return_to_rotation(self, members: list[dict], batch: list[str]) -> None:
        """An instance out of rotation whose new container runs goes back (its probe decides
        when it takes traffic), and so does one still draining for an upgrade that ended."""
        for member in members:
            state = member.get("_rolling_out")
            if (state == "upgraded" and self._made_now(member)) or (
                    state == "draining" and member["instanceId"] not in batch):
                self._save_instance(member, rolling_out=None)

    def _save_instance(self, member: dict, rolling_out: str | None, change=None) -> None:
        with self.store.transaction():
            body = self.store.get(member["id"])
            if body is None:
                return
            if rolling_out is None:
                body.pop("_rolling_out", None)
            else:
                body["_rolling_out"] = rolling_out
            if change is not None:
                change(body)
            self.store.put(body["id"], INSTANCE_TYPE, body)
            member.update(body)

    def _save(self, ctx, vmss: dict, record: dict) -> None:
        """Write the record back unless the set changed meanwhile (a new PUT starts a new record)."""
        with self.store.transaction():
            current = self.store.get(vmss["id"])
            if current is None or (current.get("_rolling") or {}).get("id") != record["id"] \
                    or current["_rolling"]["code"] != rolling.ROLLING_FORWARD:
                return
            current["_rolling"] = record
            self.store.put(current["id"], VMSS_TYPE, current)
        if record["code"] != rolling.ROLLING_FORWARD:
            LOG.info("rolling upgrade of %s: %s %s", vmss["id"], record["code"], (record.get("error") or {}).get("code", ""))

    def _advance(self, ctx, vmss: dict, record: dict, members: list[dict], now: float) -> None:
        healthy = instance_health(self.store, vmss, members)
        if not record["batch"]:
            self._start_batch(ctx, vmss, record, members, healthy, now)
            return
        batch = [m for m in members if m["instanceId"] in record["batch"]]
        if record["phase"] == "draining" and now - record["phase_since"] >= self.drain_seconds:
            newest = rolling.newest_image_version(vmss) if record["kind"] == rolling.OS_IMAGE else None
            upgrade = {rolling.OS_IMAGE: lambda body: reimage(body, newest), rolling.MODEL: lambda body: apply_model(
                body, vmss), rolling.EXTENSIONS: lambda body: apply_extensions(body, vmss)}[record["kind"]]
            for member in batch:
                self._save_instance(member, "upgraded", change=upgrade)
            record.update(phase="upgrading", phase_since=now)
            self._save(ctx, vmss, record)
        elif record["phase"] == "upgrading":
            ran = {m["instanceId"]: extensions.outcome(m) for m in batch}
            up = [m["instanceId"] for m in batch if healthy.get(m["instanceId"]) and self._made_now(m)
                  and ran[m["instanceId"]] == extensions.SUCCEEDED]
            broken = [i for i, state in ran.items() if state == extensions.FAILED]  # never becomes healthy
            gone = set(record["batch"]) - {m["instanceId"] for m in batch}  # deleted while upgraded
            if len(up) + len(broken) + len(gone) == len(record["batch"]) \
                    or now - record["phase_since"] >= self.health_wait_seconds:
                self._end_batch(ctx, vmss, record, up, gone, now)

    def _start_batch(self, ctx, vmss: dict, record: dict, members: list[dict], healthy: dict, now: float) -> None:
        if now < record.get("next_batch_at", 0):
            return
        waiting = rolling.pending(vmss, members, record)
        if not waiting:
            rolling.finish(record, rolling.COMPLETED, iso_time(ctx))
        elif (error := rolling.unhealthy_before_batch(record, members, healthy)) is not None:
            rolling.finish(record, rolling.FAULTED, iso_time(ctx), error=error)
        else:
            batch = rolling.next_batch(record, members, waiting, healthy)
            for member in members:
                if member["instanceId"] in batch:
                    self._save_instance(member, "draining")
            record.update(batch=batch, phase="draining", phase_since=now, batch_number=record["batch_number"] + 1)
            LOG.info("rolling upgrade of %s: batch %d: instances %s", vmss["id"], record["batch_number"], batch)
        self._save(ctx, vmss, record)

    def _end_batch(self, ctx, vmss: dict, record: dict, up: list[str], gone: set[str], now: float) -> None:
        failed = [i for i in record["batch"] if i not in up and i not in gone]
        record["done"] += up
        record["failed"] += failed
        record["batch"] = []
        error = rolling.unhealthy_after_batch(record)
        if error is not None:
            rolling.finish(record, rolling.FAULTED, iso_time(ctx), error=error)
        else:
            pause = duration_seconds(record["policy"].get("pauseTimeBetweenBatches", "PT0S"), "pauseTimeBetweenBatches")
            record["next_batch_at"] = now + pause
        self._save(ctx, vmss, record)
