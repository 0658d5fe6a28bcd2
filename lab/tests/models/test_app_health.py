"""The Application Health extension's rules (models.compute.app_health): its settings, the
verdict of one probe, and the health state a series of probes leads to (binary 1.0, rich 2.0)."""

from __future__ import annotations

import pytest

from azlab.models.compute import app_health as ah


def test_settings_take_the_handlers_defaults():
    probe = ah.parse_settings("2.0", {"protocol": "http", "requestPath": "health"})
    assert (probe.port, probe.interval, probe.probes, probe.grace, probe.rich) == (80, 5, 1, 5, True)
    assert probe.url() == "http://localhost:80/health"
    rich = ah.parse_settings("2.0", {"protocol": "https", "requestPath": "/", "intervalInSeconds": 10,
                                     "numberOfProbes": 3})
    assert (rich.port, rich.grace) == (443, 30), "the grace period is interval x probes unless given"
    binary = ah.parse_settings("1.0", {"protocol": "tcp", "port": 8080, "intervalInSeconds": 30})
    assert (binary.interval, binary.probes, binary.rich) == (5, 1, False), "1.0 knows no probe settings"


@pytest.mark.parametrize("version, settings, rule", [
    ("2.0", {"protocol": "udp", "port": 80}, "'protocol'"),
    ("2.0", {"protocol": "tcp"}, "'port'"),
    ("2.0", {"protocol": "http", "port": 80}, "'requestPath' is required"),
    ("2.0", {"protocol": "tcp", "port": 80, "requestPath": "/"}, "'requestPath' is not allowed"),
    ("2.0", {"protocol": "http", "requestPath": "/", "intervalInSeconds": 2}, "'intervalInSeconds'"),
    ("2.0", {"protocol": "http", "requestPath": "/", "numberOfProbes": 25}, "'numberOfProbes'"),
    ("2.0", {"protocol": "http", "requestPath": "/", "gracePeriod": 7201}, "'gracePeriod'"),
])
def test_settings_the_handler_refuses(version, settings, rule):
    with pytest.raises(ah.HealthConfigError, match=rule):
        ah.parse_settings(version, settings)


def test_one_probes_verdict():
    binary = ah.parse_settings("1.0", {"protocol": "http", "requestPath": "/"})
    assert ah.verdict(binary, True, 200, "") == ah.HEALTHY
    assert ah.verdict(binary, True, 503, "") == ah.UNHEALTHY
    assert ah.verdict(binary, False) == ah.UNHEALTHY
    rich = ah.parse_settings("2.0", {"protocol": "http", "requestPath": "/"})
    assert ah.verdict(rich, True, 200, '{"ApplicationHealthState": "Healthy"}') == ah.HEALTHY
    assert ah.verdict(rich, True, 200, '{"ApplicationHealthState": "Unhealthy"}') == ah.UNHEALTHY
    assert ah.verdict(rich, True, 200, "ok") == ah.UNKNOWN, "a body without the state"
    assert ah.verdict(rich, True, 500, '{"ApplicationHealthState": "Healthy"}') == ah.UNKNOWN
    assert ah.verdict(rich, False) == ah.UNKNOWN, "no answer"
    tcp = ah.parse_settings("2.0", {"protocol": "tcp", "port": 22})
    assert (ah.verdict(tcp, True), ah.verdict(tcp, False)) == (ah.HEALTHY, ah.UNHEALTHY), "no unknown over tcp"


def run(probe, verdicts, start=0.0, step=5.0):
    tracker = ah.start(probe, start)
    states = []
    for n, said in enumerate(verdicts, 1):
        tracker = ah.advance(probe, tracker, said, start + n * step)
        states.append(tracker.state)
    return states


def test_binary_states_follow_every_probe():
    probe = ah.parse_settings("1.0", {"protocol": "http", "requestPath": "/"})
    assert ah.start(probe, 0).state == ah.UNKNOWN
    assert run(probe, [ah.HEALTHY, ah.UNHEALTHY, ah.HEALTHY]) == [ah.HEALTHY, ah.UNHEALTHY, ah.HEALTHY]


def test_rich_states_change_after_number_of_probes_in_a_row():
    probe = ah.parse_settings("2.0", {"protocol": "http", "requestPath": "/", "numberOfProbes": 2,
                                      "gracePeriod": 600})
    assert ah.start(probe, 0).state == ah.INITIALIZING
    states = run(probe, [ah.HEALTHY, ah.UNHEALTHY, ah.HEALTHY, ah.HEALTHY, ah.UNHEALTHY, ah.HEALTHY, ah.UNHEALTHY,
                         ah.UNHEALTHY])
    assert states == [ah.INITIALIZING, ah.INITIALIZING, ah.INITIALIZING, ah.HEALTHY, ah.HEALTHY, ah.HEALTHY,
                      ah.HEALTHY, ah.UNHEALTHY]


def test_initializing_ends_with_the_grace_period():
    probe = ah.parse_settings("2.0", {"protocol": "http", "requestPath": "/", "numberOfProbes": 3, "gracePeriod": 12})
    assert run(probe, [ah.UNKNOWN, ah.HEALTHY, ah.UNKNOWN]) == [ah.INITIALIZING, ah.INITIALIZING, ah.UNKNOWN]
