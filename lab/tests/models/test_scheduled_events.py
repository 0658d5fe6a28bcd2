"""Scheduled Events' terminate notification (``models.compute.scheduled_events``): the
profile's rules, an event's life (posted, approved or due) and the document the guests read."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest

from azlab.models.compute import scheduled_events as events
from azlab.models.errors import ArmError


@pytest.mark.parametrize("timeout", ["PT5M", "PT10M", "PT15M", "PT600S"])
def test_timeouts_from_5_to_15_minutes_are_accepted(timeout):
    profile = events.parse_profile({"terminateNotificationProfile": {"enable": True, "notBeforeTimeout": timeout}})
    assert profile["terminateNotificationProfile"]["notBeforeTimeout"] == timeout


@pytest.mark.parametrize("timeout", ["PT4M59S", "PT16M", "PT1H", "5", "P1D"])
def test_other_timeouts_are_refused_naming_the_field(timeout):
    with pytest.raises(ArmError) as refused:
        events.parse_profile({"terminateNotificationProfile": {"enable": True, "notBeforeTimeout": timeout}})
    assert refused.value.target.endswith("terminateNotificationProfile.notBeforeTimeout")


def test_enable_defaults_to_true_and_the_timeout_to_five_minutes():
    assert events.parse_profile({"terminateNotificationProfile": {}}) == {
        "terminateNotificationProfile": {"enable": True, "notBeforeTimeout": "PT5M"}}
    assert events.timeout_minutes({"scheduledEventsProfile": {"terminateNotificationProfile": {
        "enable": False, "notBeforeTimeout": "PT5M"}}}) is None
    assert events.timeout_minutes({}) is None
    assert events.timeout_minutes({"scheduledEventsProfile": events.parse_profile(
        {"terminateNotificationProfile": {"notBeforeTimeout": "PT7M"}})}) == 7


def test_an_event_is_due_when_approved_or_at_its_not_before_time():
    instance = {"instanceId": "3"}
    events.schedule(instance, 5, now=1000.0)
    first_id = instance[events.TERMINATING]["eventId"]
    events.schedule(instance, 15, now=2000.0)
    assert instance[events.TERMINATING]["eventId"] == first_id, "a second scale-in does not postpone the event"
    assert not events.due(instance, 1000.0 + 5 * 2 - 0.1, seconds_per_minute=2)
    assert events.due(instance, 1000.0 + 5 * 2, seconds_per_minute=2)
    assert not events.approve(instance, {"another"})
    assert events.approve(instance, {first_id}) and events.due(instance, 1000.0, seconds_per_minute=2)


def test_the_document_lists_the_sets_events_for_every_instance():
    vmss = {"name": "web"}
    leaving, staying = {"instanceId": "4"}, {"instanceId": "0"}
    assert events.document(vmss, [staying, leaving], 60) == {"DocumentIncarnation": 0, "Events": []}
    events.schedule(leaving, 5, now=1_700_000_000.0)
    events.bump(vmss)
    document = events.document(vmss, [staying, leaving], 60)
    [event] = document["Events"]
    assert document["DocumentIncarnation"] == 1
    assert (event["EventType"], event["Resources"], event["EventStatus"], event["DurationInSeconds"]) == (
        "Terminate", ["web_4"], "Scheduled", -1)
    assert parsedate_to_datetime(event["NotBefore"]).timestamp() == 1_700_000_000.0 + 300
    events.approve(leaving, {event["EventId"]})
    assert events.document(vmss, [leaving], 60)["Events"][0]["EventStatus"] == "Started"
