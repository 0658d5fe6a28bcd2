"""A scale set's rolling upgrades: the record ARM shows and the rules each batch follows (no I/O).

A rolling upgrade starts when a scale set in upgradePolicy Rolling gets a new model (a PUT
that changes ``virtualMachineProfile``), or on ``osRollingUpgrade`` (instances move to the
newest published version of a "latest" image). The data plane runs it
(``dataplane/rolling.py``), because only it knows the instances' health; the decisions are
here: which instances form the next batch, and whether the ``maxUnhealthy*`` checks of
``rollingUpgradePolicy`` stop the upgrade before or after a batch.

The record lives on the scale set (``_rolling``) and is what
``virtualMachineScaleSets/{set}/rollingUpgrades/latest`` answers; ``rollingUpgrades/cancel``
ends it. A lab without a data plane cannot observe health: its rolling upgrades fault at
once and say why, instead of reporting instances upgraded that never ran.
"""

from __future__ import annotations

import copy
import uuid

from azlab.models.base import Context, ResourceType
from azlab.models.compute import scale_set_extensions
from azlab.models.compute.catalog import find_image
from azlab.models.compute.common import VMSS_TYPE, iso_time
from azlab.models.compute.scale_set_instances import instances
from azlab.models.errors import ArmError, not_found
from azlab.models.ids import ResourceId

ROLLING_UPGRADES_TYPE = VMSS_TYPE + "/rollingUpgrades"
ROLLING_FORWARD, COMPLETED, CANCELLED, FAULTED = "RollingForward", "Completed", "Cancelled", "Faulted"
#: what a rolling upgrade brings the instances to: the model, the newest image, the model's extensions
MODEL, OS_IMAGE, EXTENSIONS = "model", "os", "extensions"
#: the POST actions that start a rolling upgrade (their operation ends with it)
ACTIONS = ("osRollingUpgrade", "extensionRollingUpgrade")
NO_HEALTH_OBSERVED = ("azlab: this lab runs no data plane, so no instance's health can be observed and no batch "
                      "can be judged healthy; rolling upgrades need the lab's data plane (azlab up).")


def start(ctx: Context, vmss: dict, kind: str) -> dict:
    """A new rolling upgrade of the set, under its current rollingUpgradePolicy."""
    now = iso_time(ctx)
    record = {"id": str(uuid.uuid4()), "kind": kind, "code": ROLLING_FORWARD, "startTime": now, "lastAction": "Start",
              "lastActionTime": now, "policy": copy.deepcopy(vmss["properties"]["upgradePolicy"].get(
                  "rollingUpgradePolicy") or {}),
              "done": [], "failed": [], "batch": [], "batch_number": 0, "error": None}
    if ctx.no_guest_reason:
        finish(record, FAULTED, now, error={"code": "RollingUpgradeFailed", "message": NO_HEALTH_OBSERVED})
    return record


def finish(record: dict, code: str, now: str, error: dict | None = None, action: str | None = None) -> None:
    record.update(code=code, endTime=now, batch=[], error=error)
    if action:
        record.update(lastAction=action, lastActionTime=now)


def outcome(record: dict | None) -> dict | None:
    """What the operation that started a rolling upgrade ends with: None while it rolls forward."""
    if record is None or record["code"] == COMPLETED:
        return {}
    if record["code"] == ROLLING_FORWARD:
        return None
    if record["code"] == CANCELLED:
        return {"code": "RollingUpgradeCancelled", "message": "The rolling upgrade was cancelled."}
    return dict(record["error"] or {"code": "RollingUpgradeFailed", "message": "The rolling upgrade failed."})


def newest_image_version(vmss: dict) -> str | None:
    """The version instances of a "latest" image move to on osRollingUpgrade; None if pinned."""
    ref = vmss["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]
    if str(ref.get("version", "latest")).lower() != "latest":
        return None
    image = find_image(ref.get("publisher"), ref.get("offer"), ref.get("sku"))
    return image.resolve("latest") if image else None


def behind(vmss: dict, member: dict, kind: str) -> bool:
    """Whether the instance still needs this upgrade."""
    if kind == OS_IMAGE:
        newest = newest_image_version(vmss)
        return newest is not None and member["_image"]["version"] != newest
    if kind == EXTENSIONS:
        return scale_set_extensions.extensions_behind(member, vmss)
    return member["_model"] != vmss["_model"]


def pending(vmss: dict, members: list[dict], record: dict) -> list[dict]:
    """The instances still to upgrade, outside the batch under way (failed ones are not retried)."""
    skip = set(record["batch"]) | set(record["failed"])
    return [m for m in members if m["instanceId"] not in skip and behind(vmss, m, record["kind"])]


def _percent_of(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0


def _allowed(total: int, percent: int) -> int:
    """Instances a percentage of the set allows; one at least, as Azure upgrades a set of two one by one."""
    return max(1, total * percent // 100)


def unhealthy_before_batch(record: dict, members: list[dict], healthy: dict[str, bool]) -> dict | None:
    """maxUnhealthyInstancePercent, checked before every batch: the error that stops the upgrade, or None."""
    limit = record["policy"].get("maxUnhealthyInstancePercent", 20)
    sick = [m["instanceId"] for m in members if not healthy.get(m["instanceId"], False)]
    share = _percent_of(len(sick), len(members))
    if share <= limit:
        return None
    return {"code": "MaxUnhealthyInstancePercentExceededInRollingUpgrade",
            "message": f"Rolling Upgrade failed due to exceeding the MaxUnhealthyInstancePercent value (defined in "
                       f"the RollingUpgradePolicy). {share:.0f}% of instances are in an unhealthy state - more than "
                       f"the threshold of {limit}% configured in the RollingUpgradePolicy (unhealthy instances: "
                       f"{', '.join(sick)})."}


def next_batch(record: dict, members: list[dict], waiting: list[dict], healthy: dict[str, bool]) -> list[str]:
    """The instance IDs of the next batch: at most maxBatchInstancePercent of the set, fewer so that
    the unhealthy instances and the batch together stay within maxUnhealthyInstancePercent;
    unhealthy ones first with prioritizeUnhealthyInstances, else in instance ID order."""
    policy = record["policy"]
    sick = sum(1 for m in members if not healthy.get(m["instanceId"], False))
    size = min(_allowed(len(members), policy.get("maxBatchInstancePercent", 20)),
               max(1, _allowed(len(members), policy.get("maxUnhealthyInstancePercent", 20)) - sick))
    first_sick = policy.get("prioritizeUnhealthyInstances", False)
    order = sorted(waiting, key=lambda m: (first_sick and healthy.get(m["instanceId"], False), int(m["instanceId"])))
    return [m["instanceId"] for m in order[:size]]


def unhealthy_after_batch(record: dict) -> dict | None:
    """maxUnhealthyUpgradedInstancePercent, checked after every batch over all upgraded instances."""
    limit = record["policy"].get("maxUnhealthyUpgradedInstancePercent", 20)
    upgraded = len(record["done"]) + len(record["failed"])
    share = _percent_of(len(record["failed"]), upgraded)
    if share <= limit:
        return None
    return {"code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
            "message": f"Rolling Upgrade failed due to exceeding the MaxUnhealthyUpgradedInstancePercent value "
                       f"(defined in the RollingUpgradePolicy). {share:.0f}% of upgraded instances are in an "
                       f"unhealthy state after being upgraded - more than the threshold of {limit}% configured in "
                       f"the RollingUpgradePolicy (instances that did not become healthy: "
                       f"{', '.join(record['failed'])})."}


def status_info(vmss: dict, members: list[dict]) -> dict:
    """RollingUpgradeStatusInfo (rollingUpgrades/latest)."""
    record = vmss["_rolling"]
    running = {"code": record["code"], "startTime": record["startTime"], "lastAction": record["lastAction"],
               "lastActionTime": record["lastActionTime"]}
    waiting = len(pending(vmss, members, record)) if record["code"] == ROLLING_FORWARD else 0
    props = {"policy": record["policy"], "runningStatus": running,
             "progress": {"successfulInstanceCount": len(record["done"]),
                          "failedInstanceCount": len(record["failed"]),
                          "inProgressInstanceCount": len(record["batch"]), "pendingInstanceCount": waiting}}
    if record.get("error"):
        props["error"] = {"code": record["error"]["code"], "message": record["error"]["message"], "details": []}
    return {"properties": props, "location": vmss["location"], "tags": {}}


class RollingUpgradesType(ResourceType):
    """``virtualMachineScaleSets/{set}/rollingUpgrades/latest`` (GET) and ``/cancel`` (POST):
    fixed names below the scale set, served from its ``_rolling`` record."""

    full_type = ROLLING_UPGRADES_TYPE
    min_api_version = "2017-03-30"
    writable = False
    #: the names below the scale set this type answers (the route passes them as a view or action)
    fixed_names = True
    views = {"latest": "view_latest"}
    actions = {"cancel": "action_cancel"}

    @staticmethod
    def _vmss(ctx: Context, rid: ResourceId) -> dict:
        vmss = ctx.lookup(str(rid.parent))
        if vmss is None:
            raise not_found(VMSS_TYPE, rid.parent.name, rid.resource_group)
        return vmss

    def view_latest(self, ctx: Context, rid: ResourceId) -> dict:
        vmss = self._vmss(ctx, rid)
        if not vmss.get("_rolling"):
            raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
        return status_info(vmss, instances(ctx, vmss["id"]))

    def action_cancel(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        """The batch under way finishes its reimage (instances are never left half made); no
        further batch starts."""
        vmss = self._vmss(ctx, rid)
        record = vmss.get("_rolling")
        if not record or record["code"] != ROLLING_FORWARD:
            raise ArmError(409, "OperationNotAllowed", "There is no ongoing rolling upgrade to cancel on the "
                           f"virtual machine scale set {vmss['name']}.")
        finish(record, CANCELLED, iso_time(ctx), action="Cancel")
        ctx.store.put(vmss["id"], VMSS_TYPE, vmss)
