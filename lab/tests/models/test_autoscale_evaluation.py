"""Autoscale decisions (models/insights_evaluation.py): how a rule's metric is aggregated,
any-out / all-in, the profile's limits, cooldown, percent changes, Azure's flapping guard,
which profile is active, and the lab's time scale. Real time: an Azure minute is 60 s."""

from __future__ import annotations

import pytest

from azlab.models.insights_evaluation import active_profile, changed_count, evaluate, metric_value

SET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web"
OTHER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/db"
NOW = 10_000.0


def rule(direction: str, op: str, threshold: float, *, kind: str = "ChangeCount", value: str = "1",
         cooldown: str = "PT5M", statistic: str = "Average", aggregation: str = "Average", window: str = "PT5M",
         source: str | None = None) -> dict:
    trigger = {"metricName": "Percentage CPU", "timeGrain": "PT1M", "statistic": statistic, "timeWindow": window,
               "timeAggregation": aggregation, "operator": op, "threshold": threshold}
    if source:
        trigger["metricResourceUri"] = source
    return {"metricTrigger": trigger,
            "scaleAction": {"direction": direction, "type": kind, "value": value, "cooldown": cooldown}}


OUT = rule("Increase", "GreaterThan", 50)
IN = rule("Decrease", "LessThan", 20)


def setting(*rules: dict, minimum: int = 1, maximum: int = 5, profiles: list | None = None) -> dict:
    profile = {"name": "cpu", "capacity": {"minimum": str(minimum), "maximum": str(maximum), "default": str(minimum)},
               "rules": list(rules)}
    return {"targetResourceUri": SET, "enabled": True, "profiles": profiles or [profile]}


def busy(*percents: float, minutes: int = 5) -> list[tuple[float, float]]:
    """An instance's samples: each percent for ``minutes`` minutes, every 15 s, oldest first."""
    points = []
    for index, percent in enumerate(percents):
        for step in range(minutes * 4):
            points.append((NOW - (len(percents) - index) * minutes * 60 + (step + 1) * 15, percent))
    return points


def run(props: dict, capacity: int, instances: dict, cooling_until: float = float("-inf"), per_minute: float = 60,
        now: float = NOW):
    return evaluate(props, capacity, {SET.lower(): instances}, now, per_minute, cooling_until)


def test_a_rule_takes_the_statistic_across_instances_per_grain_then_aggregates_the_grains():
    # grain 0 (the newest minute): a 10 %, b 90 %; grain 1: only a, 30 %; older samples are outside the window
    samples = {"a": [(NOW - 400, 100.0), (NOW - 90, 30.0), (NOW - 30, 5.0), (NOW - 10, 15.0)], "b": [(NOW - 20, 90.0)]}

    def value(statistic: str, aggregation: str) -> float | None:
        return metric_value(rule("Increase", "GreaterThan", 0, statistic=statistic, aggregation=aggregation)[
            "metricTrigger"], samples, NOW, 60)
    assert value("Average", "Average") == pytest.approx((50 + 30) / 2)
    assert value("Max", "Average") == pytest.approx((90 + 30) / 2)
    assert value("Min", "Minimum") == pytest.approx(10)
    assert value("Sum", "Maximum") == pytest.approx(100)
    assert value("Count", "Total") == 3
    assert value("Average", "Last") == pytest.approx(50), "Last is the newest grain"
    assert value("Average", "Count") == 2, "grains without samples are not counted"
    assert metric_value(OUT["metricTrigger"], {"a": [(NOW - 400, 100.0)]}, NOW, 60) is None


def test_scale_out_when_any_increase_rule_triggers_and_the_largest_count_wins():
    big = rule("Increase", "GreaterThan", 80, value="3")
    assert run(setting(OUT, big, IN), 2, {"a": busy(70)}).decision.capacity == 3
    decision = run(setting(OUT, big, IN), 2, {"a": busy(90)}).decision
    assert decision.capacity == 5 and "Increase ChangeCount 3" in decision.reason
    assert run(setting(OUT, big, IN), 2, {"a": busy(40)}).decision is None


def test_scale_in_only_when_every_decrease_rule_triggers():
    strict = rule("Decrease", "LessThan", 10, value="2")
    assert run(setting(OUT, IN, strict), 4, {"a": busy(15)}).decision is None, "one decrease rule is not met"
    decision = run(setting(OUT, IN, strict), 4, {"a": busy(5)}).decision
    assert decision.capacity == 3, "of the decrease rules, the one removing the fewest instances wins"
    assert run(setting(OUT), 4, {"a": busy(1)}).decision is None, "no decrease rule: never in"


def test_a_rule_without_data_in_its_window_does_not_trigger():
    result = run(setting(OUT, rule("Decrease", "LessThan", 101)), 2, {})
    assert result.values == (None, None) and result.decision is None


def test_counts_stay_within_the_profiles_minimum_and_maximum():
    assert run(setting(rule("Increase", "GreaterThan", 50, value="10"), maximum=4), 2, {"a": busy(90)}
               ).decision.capacity == 4
    assert run(setting(OUT, maximum=4), 4, {"a": busy(90)}).decision is None, "at the maximum"
    assert run(setting(rule("Decrease", "LessThan", 20, value="10"), minimum=2), 5, {"a": busy(1)}
               ).decision.capacity == 2
    outside = run(setting(OUT, IN, minimum=2, maximum=4), 7, {}, cooling_until=NOW + 60).decision
    assert (outside.capacity, outside.cooldown) == (4, 0.0), "brought back at once, even while cooling down"
    assert run(setting(OUT, IN, minimum=2, maximum=4), 0, {}).decision.capacity == 2


def test_no_rule_acts_until_the_cooldown_has_passed():
    decision = run(setting(rule("Increase", "GreaterThan", 50, cooldown="PT10M")), 1, {"a": busy(90)}).decision
    assert decision.cooldown == 600
    assert run(setting(OUT), 1, {"a": busy(90)}, cooling_until=NOW + 1).decision is None
    assert run(setting(OUT), 1, {"a": busy(90)}, cooling_until=NOW).decision.capacity == 2


@pytest.mark.parametrize("action, capacity, expected", [
    ({"direction": "Increase", "type": "PercentChangeCount", "value": "50"}, 3, 5),   # 1.5 rounds up to 2
    ({"direction": "Increase", "type": "PercentChangeCount", "value": "10"}, 3, 4),   # at least one when asked
    ({"direction": "Decrease", "type": "PercentChangeCount", "value": "50"}, 5, 2),
    ({"direction": "Increase", "type": "PercentChangeCount", "value": "0"}, 5, 5),
    ({"direction": "Increase", "type": "ExactCount", "value": "6"}, 2, 6),
    ({"direction": "Increase", "type": "ExactCount", "value": "1"}, 2, 2),           # an increase never lowers
    ({"direction": "Decrease", "type": "ExactCount", "value": "1"}, 3, 1),
    ({"direction": "Decrease", "type": "ChangeCount", "value": "2"}, 3, 1),
    ({"direction": "Increase", "type": "ServiceAllowedNextValue", "value": "1"}, 3, 4),
])
def test_scale_actions_change_the_count(action, capacity, expected):
    assert changed_count(action, capacity) == expected


def test_no_scale_in_that_the_scale_out_rule_would_undo():
    # 2 instances at 30 %: 1 instance would carry 60 % > 50 %, so Azure does not scale in
    settings = setting(OUT, rule("Decrease", "LessThan", 35))
    assert run(settings, 2, {"a": busy(30), "b": busy(30)}).decision is None
    assert run(settings, 2, {"a": busy(20), "b": busy(20)}).decision.capacity == 1
    summed = setting(rule("Increase", "GreaterThan", 50, statistic="Sum"), rule("Decrease", "LessThan", 45,
                                                                                 statistic="Sum"))
    assert run(summed, 2, {"a": busy(20), "b": busy(20)}).decision.capacity == 1, "a total does not grow"


def test_the_active_profile_is_the_first_without_a_schedule():
    scheduled = {"name": "weekend", "recurrence": {"frequency": "Week"}, "capacity": {}, "rules": []}
    fixed = {"name": "launch", "fixedDate": {"start": "2030-01-01T00:00:00Z"}, "capacity": {}, "rules": []}
    regular = setting(OUT)["profiles"][0]
    assert active_profile([scheduled, fixed, regular, {**regular, "name": "second"}])["name"] == "cpu"
    assert active_profile([scheduled]) is None
    result = evaluate({"targetResourceUri": SET, "profiles": [scheduled]}, 1, {}, NOW, 60, float("-inf"))
    assert (result.profile, result.decision) == (None, None)


def test_a_rule_measures_its_metric_resource():
    settings = setting(rule("Increase", "GreaterThan", 50, source=OTHER))
    assert evaluate(settings, 1, {SET.lower(): {"a": busy(90)}}, NOW, 60, float("-inf")).decision is None
    assert evaluate(settings, 1, {OTHER.lower(): {"d": busy(90)}}, NOW, 60, float("-inf")).decision.capacity == 2


def test_the_time_scale_shortens_grains_windows_and_cooldowns():
    # an Azure minute of 2 s: the five-minute window is the last 10 s
    samples = {"a": [(NOW - 11, 100.0), (NOW - 9, 10.0), (NOW - 3, 30.0)]}
    assert metric_value(IN["metricTrigger"], samples, NOW, 2) == pytest.approx(20)
    result = run(setting(rule("Increase", "GreaterThan", 15, cooldown="PT3M")), 1, samples, per_minute=2)
    assert result.decision.capacity == 2 and result.decision.cooldown == pytest.approx(6)
