"""Automatic instance repairs of a scale set (``automaticRepairsPolicy``): Azure's rules, no I/O.

Azure (virtual-machine-scale-sets-automatic-instance-repairs): an instance the set's health
source finds unhealthy is repaired by the policy's ``repairAction``: Replace (delete it, make
a new instance of the latest model: a new instance ID), Reimage or Restart. A repair waits for
the ``gracePeriod`` after the instance's last state change completed (made, restarted,
reimaged, repaired); protected instances (either protection policy) and instances that failed
to provision are never repaired; at most 5 % of the set's instances are under repair at a time
(one when it has fewer than 20). When instances stay unhealthy after repeated repairs Azure
suspends the set's repairs; ``setOrchestrationServiceState`` suspends or resumes them, and the
set's instanceView shows the state in ``orchestrationServices``.

The lab's readings, where Azure documents no number or case:

* an instance is judged while it runs (power running, as ARM last asked): a stopped or
  deallocated one is not unhealthy, it is off; an overprovisioning's candidate is judged
  once the set kept it;
* no repair while a rolling upgrade rolls forward (its batches change the instances' state);
* "repeatedly": an instance due for its fourth repair in a row (a replacement carries the
  count of the instance it replaced; an instance found healthy starts again from zero)
  suspends the set's repairs instead;
* the data plane (``dataplane/repairs.py``) says when each instance's last state change
  completed and whether it is healthy; a lab restart starts every grace period again.
"""

from __future__ import annotations

from dataclasses import dataclass

from azlab.models.compute import rolling_upgrades, scale_set_overprovision as overprovision
from azlab.models.compute.common import choice
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.insights_evaluation import scaled_seconds

SERVICE_NAME = "AutomaticRepairs"
RUNNING, SUSPENDED, NOT_RUNNING = "Running", "Suspended", "NotRunning"
STATE_ACTIONS = ("Resume", "Suspend")
#: on the set: automatic repairs are suspended (by setOrchestrationServiceState or after repeated repairs)
SUSPENDED_FLAG = "_repairs_suspended"
#: on an instance: repairs in a row of it (and of the instances it replaced) not yet followed by health
REPEATS = "_repairs_in_a_row"
#: the lab's reading of "repeatedly"
MAX_REPEATS = 3
#: Azure repairs at most this share of the set's instances at a time (and always one)
BATCH_SHARE = 0.05


def service_state(vmss: dict, no_guest_reason: str | None = None) -> str | None:
    """AutomaticRepairs' serviceState, None when the set has no policy. A lab without a data
    plane observes no health and repairs nothing: NotRunning."""
    policy = vmss["properties"].get("automaticRepairsPolicy")
    if policy is None:
        return None
    if not policy["enabled"] or no_guest_reason:
        return NOT_RUNNING
    return SUSPENDED if vmss.get(SUSPENDED_FLAG) else RUNNING


def orchestration_services(vmss: dict, no_guest_reason: str | None) -> list[dict]:
    state = service_state(vmss, no_guest_reason)
    return [] if state is None else [{"serviceName": SERVICE_NAME, "serviceState": state}]


def set_service_state(vmss: dict, body) -> None:
    """``setOrchestrationServiceState``: {"serviceName": "AutomaticRepairs", "action": "Suspend"|"Resume"}."""
    body = body if isinstance(body, dict) else {}
    for name in ("serviceName", "action"):
        if body.get(name) is None:
            raise invalid_parameter(name, f"Required parameter '{name}' is missing (null).")
    choice(body["serviceName"], (SERVICE_NAME,), "serviceName", None)
    action = choice(body["action"], STATE_ACTIONS, "action", None)
    if not (vmss["properties"].get("automaticRepairsPolicy") or {}).get("enabled"):
        # (unverified code) Azure: the state can be changed "once the scale set is opted into" repairs
        raise ArmError(409, "OperationNotAllowed", f"Automatic repairs are not enabled on the virtual machine scale "
                       f"set {vmss['name']}: enable automaticRepairsPolicy before suspending or resuming them.",
                       target="serviceName")
    if action == "Suspend":
        vmss[SUSPENDED_FLAG] = True
    else:
        vmss.pop(SUSPENDED_FLAG, None)


def batch_size(count: int) -> int:
    return max(1, int(count * BATCH_SHARE))


def _judged(member: dict) -> bool:
    """Whether the instance's health decides anything: it runs, as ARM asked, and was made."""
    return (member.get("_power") == "running" and member.get("_power_goal", "running") == "running"
            and not member.get("_failure"))


def _protected(member: dict) -> bool:
    policy = member["properties"].get("protectionPolicy") or {}
    return bool(policy.get("protectFromScaleIn") or policy.get("protectFromScaleSetActions"))


@dataclass(frozen=True)
class Plan:
    """What a data plane pass does for one set: repair these instances (IDs), or suspend the
    set's repairs; and forget the repair count of the instances found healthy again."""

    repair: tuple[str, ...] = ()
    suspend: bool = False
    recovered: tuple[str, ...] = ()


def plan(vmss: dict, members: list[dict], healthy: dict[str, bool], settled_since: dict[str, float], now: float,
         seconds_per_minute: float) -> Plan:
    """``healthy``: instance ID -> what the set's health source says; ``settled_since``:
    instance ID -> when its last state change completed (absent: one is under way)."""
    if service_state(vmss) != RUNNING or (vmss.get("_rolling") or {}).get("code") == rolling_upgrades.ROLLING_FORWARD:
        return Plan()
    grace = scaled_seconds(vmss["properties"]["automaticRepairsPolicy"]["gracePeriod"], seconds_per_minute)
    kept = overprovision.split(vmss, members)[0]
    judged = [m for m in kept if _judged(m) and m["instanceId"] in settled_since]
    recovered = tuple(m["instanceId"] for m in judged if healthy.get(m["instanceId"]) and m.get(REPEATS))
    due = [m for m in judged if not healthy.get(m["instanceId"]) and not _protected(m)
           and now - settled_since[m["instanceId"]] >= grace]
    if any(m.get(REPEATS, 0) >= MAX_REPEATS for m in due):
        return Plan(suspend=True, recovered=recovered)
    under_repair = sum(1 for m in members if m.get(REPEATS) and m["instanceId"] not in settled_since)
    room = max(0, batch_size(len(kept)) - under_repair)
    return Plan(repair=tuple(m["instanceId"] for m in due[:room]), recovered=recovered)
