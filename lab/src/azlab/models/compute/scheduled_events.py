"""Scheduled Events' terminate notification of a scale set (no I/O).

With ``virtualMachineProfile.scheduledEventsProfile.terminateNotificationProfile``
enabled, Azure does not delete an instance at once when the set scales in or deletes it:
it posts a ``Terminate`` event in the Instance Metadata Service of the set's instances
and deletes the instance when the event is approved (``StartRequests``) or its
``NotBefore`` time (the profile's ``notBeforeTimeout``, 5 to 15 minutes) has come. The
instance stays where it was meanwhile, load balancer pools included: that is the time
the application has to drain it. The instance counts no more towards the capacity and
shows ``provisioningState`` ``Deleting``.

``TERMINATING`` on an instance is the event: its ID, when it was posted and the timeout
(Azure minutes; the data plane scales them with the lab's minute), and whether it was
approved. The data plane (``dataplane.imds``) serves it and deletes the instance when due.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email.utils import format_datetime

from azlab.models.compute.scale_set_rules import duration_seconds, flag
from azlab.models.errors import invalid_parameter

#: the instance's pending Terminate event (absent: none)
TERMINATING = "_terminate"
#: the set's DocumentIncarnation: one more at each change of its events
INCARNATION = "_scheduledEventsIncarnation"
PROFILE = "terminateNotificationProfile"
TARGET = f"virtualMachineProfile.scheduledEventsProfile.{PROFILE}"
#: notBeforeTimeout's range and default (Azure: 5 to 15 minutes)
MIN_TIMEOUT, MAX_TIMEOUT, DEFAULT_TIMEOUT = 5 * 60, 15 * 60, "PT5M"
#: the Scheduled Events API versions the Instance Metadata Service answers
API_VERSIONS = ("2017-03-01", "2017-08-01", "2017-11-01", "2019-01-01", "2019-08-01", "2020-07-01")


def parse_profile(requested) -> dict | None:
    """``scheduledEventsProfile`` as Azure stores it: its terminate notification checked
    (enable a boolean, notBeforeTimeout an ISO 8601 duration of 5 to 15 minutes)."""
    if requested is None:
        return None
    if not isinstance(requested, dict):
        raise invalid_parameter("virtualMachineProfile.scheduledEventsProfile",
                                "scheduledEventsProfile must be an object.")
    profile = dict(requested)
    terminate = requested.get(PROFILE)
    if terminate is None:
        return profile
    if not isinstance(terminate, dict):
        raise invalid_parameter(TARGET, f"{PROFILE} must be an object.")
    enable = flag(terminate.get("enable"), f"{TARGET}.enable", True)
    timeout = terminate.get("notBeforeTimeout", DEFAULT_TIMEOUT)
    seconds = duration_seconds(timeout, f"{TARGET}.notBeforeTimeout")
    if not MIN_TIMEOUT <= seconds <= MAX_TIMEOUT:
        raise invalid_parameter(f"{TARGET}.notBeforeTimeout",
                                f"The value '{timeout}' of parameter '{TARGET}.notBeforeTimeout' is out of range: "
                                "the terminate notification timeout must be between 5 and 15 minutes (PT5M to PT15M).")
    profile[PROFILE] = {"enable": enable, "notBeforeTimeout": timeout}
    return profile


def timeout_minutes(vm_profile: dict) -> float | None:
    """The set's terminate notification timeout in minutes, or None when it gives none."""
    terminate = (vm_profile.get("scheduledEventsProfile") or {}).get(PROFILE) or {}
    if not terminate.get("enable"):
        return None
    return duration_seconds(terminate["notBeforeTimeout"], f"{TARGET}.notBeforeTimeout") / 60


def schedule(instance: dict, minutes: float, now: float) -> None:
    """Post the Terminate event of ``instance`` (once: a second scale-in does not postpone it)."""
    if instance.get(TERMINATING) is None:
        instance[TERMINATING] = {"eventId": str(uuid.uuid4()).upper(), "posted": now, "minutes": minutes,
                                 "approved": False}


def terminating(instance: dict) -> bool:
    return instance.get(TERMINATING) is not None


def not_before(instance: dict, seconds_per_minute: float) -> float:
    event = instance[TERMINATING]
    return event["posted"] + event["minutes"] * seconds_per_minute


def due(instance: dict, now: float, seconds_per_minute: float) -> bool:
    """The instance may go: its event was approved or its NotBefore time has come."""
    event = instance.get(TERMINATING)
    return event is not None and (event["approved"] or now >= not_before(instance, seconds_per_minute))


def approve(instance: dict, event_ids: set[str]) -> bool:
    """Mark the instance's event started if ``event_ids`` names it; whether it did."""
    event = instance.get(TERMINATING)
    if event is None or event["eventId"] not in event_ids:
        return False
    event["approved"] = True
    return True


def event_view(instance: dict, resource_name: str, seconds_per_minute: float) -> dict:
    """The event as the Scheduled Events API shows it."""
    event = instance[TERMINATING]
    when = datetime.fromtimestamp(not_before(instance, seconds_per_minute), timezone.utc)
    return {"EventId": event["eventId"], "EventType": "Terminate", "ResourceType": "VirtualMachine",
            "Resources": [resource_name], "EventStatus": "Started" if event["approved"] else "Scheduled",
            "NotBefore": format_datetime(when, usegmt=True), "Description": "", "EventSource": "User",
            "DurationInSeconds": -1}


def bump(vmss: dict) -> None:
    """The set's events changed (posted, approved, gone): a new DocumentIncarnation."""
    vmss[INCARNATION] = vmss.get(INCARNATION, 0) + 1


def document(vmss: dict, members: list[dict], seconds_per_minute: float) -> dict:
    """The Scheduled Events document every instance of the set reads: all the set's events,
    as Azure delivers them to the whole placement group (a VM acts on those naming it)."""
    events = [event_view(m, f"{vmss['name']}_{m['instanceId']}", seconds_per_minute)
              for m in members if terminating(m)]
    return {"DocumentIncarnation": vmss.get(INCARNATION, 0), "Events": events}
