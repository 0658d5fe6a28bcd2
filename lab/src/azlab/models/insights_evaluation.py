"""What Azure's autoscale engine decides for a scale set, from an autoscale setting and its
instances' ``Percentage CPU``: pure (no clock, no I/O). The data plane measures the CPU and
applies the decision (``dataplane/autoscale.py``).

Azure's rules, as the lab applies them:

- the active profile: the first profile without ``recurrence`` or ``fixedDate`` (the lab
  refuses scheduled profiles at the PUT, ``insights.check_profile``);
- a rule's metric: per time grain, its ``statistic`` across the instances' values in that
  grain (an instance's value: the mean of its samples in the grain), then its
  ``timeAggregation`` across the grains of its ``timeWindow``, compared with its
  ``threshold`` by its ``operator``; a rule without data in its window does not trigger;
- scale out when ANY Increase rule triggers (the one giving the most instances wins); scale
  in only when ALL Decrease rules trigger (the one removing the fewest wins), and not when
  the estimate after the scale-in would trigger a scale-out rule (Azure's guard against
  flapping: a per-instance statistic grows by current count / new count);
- counts stay within the profile's minimum and maximum, a count outside them is brought
  back at once; after a rule's action no rule acts until its ``cooldown`` has passed.

Times are seconds on the caller's clock; ``seconds_per_minute`` is how long an Azure minute
(timeGrain, timeWindow, cooldown) lasts on it (``LabSettings.seconds_per_minute``).
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping, Sequence

from azlab.models.compute.scale_set_rules import duration_seconds
from azlab.models.store import key_of

#: an instance's CPU samples: (time the sampled interval ended, percent), oldest first
Points = Sequence[tuple[float, float]]

STATISTICS = {
    "Average": lambda values: sum(values) / len(values), "Min": min, "Max": max, "Sum": sum, "Count": len,
}
AGGREGATIONS = {
    "Average": lambda values: sum(values) / len(values), "Minimum": min, "Maximum": max, "Total": sum,
    "Count": len, "Last": lambda values: values[0],  # grains come newest first
}
OPERATORS = {
    "Equals": operator.eq, "NotEquals": operator.ne, "GreaterThan": operator.gt,
    "GreaterThanOrEqual": operator.ge, "LessThan": operator.lt, "LessThanOrEqual": operator.le,
}
#: statistics of one instance's value: fewer instances carry the same load, each more of it
PER_INSTANCE = ("Average", "Min", "Max")


@dataclass(frozen=True)
class Decision:
    capacity: int
    #: seconds during which no rule acts after this action
    cooldown: float
    reason: str


@dataclass(frozen=True)
class Evaluation:
    profile: str | None
    #: each rule's metric value (None: no data in its window), in the profile's order
    values: tuple[float | None, ...]
    decision: Decision | None


def active_profile(profiles: list[dict]) -> dict | None:
    return next((p for p in profiles if not p.get("recurrence") and not p.get("fixedDate")), None)


def scaled_seconds(duration: str, seconds_per_minute: float) -> float:
    return duration_seconds(duration, "duration") * seconds_per_minute / 60


def grain_values(samples: Mapping[str, Points], now: float, grain: float, window: float) -> list[list[float]]:
    """Per time grain of the window ending ``now``, newest first: the value of each instance
    with samples in that grain; grains without any sample are left out."""
    count = max(1, math.ceil(window / grain))
    buckets: list[dict[str, list[float]]] = [defaultdict(list) for _ in range(count)]
    for instance, points in samples.items():
        for at, percent in points:
            index = math.floor((now - at) / grain)
            if 0 <= index < count:
                buckets[index][instance].append(percent)
    return [[sum(p) / len(p) for p in bucket.values()] for bucket in buckets if bucket]


def metric_value(trigger: dict, samples: Mapping[str, Points], now: float, seconds_per_minute: float) -> float | None:
    grains = grain_values(samples, now, scaled_seconds(trigger["timeGrain"], seconds_per_minute),
                          scaled_seconds(trigger["timeWindow"], seconds_per_minute))
    if not grains:
        return None
    return AGGREGATIONS[trigger["timeAggregation"]]([STATISTICS[trigger["statistic"]](v) for v in grains])


def triggers(trigger: dict, value: float | None) -> bool:
    return value is not None and OPERATORS[trigger["operator"]](value, trigger["threshold"])


def changed_count(action: dict, capacity: int) -> int:
    """The count a scale action asks for, before the profile's limits. A percent change is
    rounded up (the lab's reading: a small set still moves); ServiceAllowedNextValue is one
    instance, a scale set's next count."""
    value = int(action.get("value", "1"))
    increase = action.get("direction") == "Increase"
    kind = action.get("type", "ChangeCount")
    if kind == "ExactCount":
        return max(capacity, value) if increase else min(capacity, value)
    step = {"ChangeCount": value, "PercentChangeCount": math.ceil(capacity * value / 100)}.get(kind, 1)
    return capacity + step if increase else capacity - step


def _describe(rule: dict, value: float) -> str:
    trigger, action = rule["metricTrigger"], rule["scaleAction"]
    return (f"{trigger['metricName']} ({trigger['statistic']}, {trigger['timeAggregation']} over "
            f"{trigger['timeWindow']}) {value:.1f} {trigger['operator']} {trigger['threshold']}: "
            f"{action['direction']} {action.get('type', 'ChangeCount')} {action.get('value', '1')}")


def evaluate(setting: dict, capacity: int, samples: Mapping[str, Mapping[str, Points]], now: float,
             seconds_per_minute: float, cooling_until: float) -> Evaluation:
    """What the setting (its ``properties``) does to a set of ``capacity`` instances now.

    ``samples``: CPU samples by metric resource (``key_of`` of a scale set ID), then by
    instance; ``cooling_until``: until when the last action's cooldown holds rules back."""
    profile = active_profile(setting["profiles"])
    if profile is None:
        return Evaluation(None, (), None)
    rules = profile.get("rules") or []
    source = key_of(setting["targetResourceUri"])
    values = tuple(metric_value(rule["metricTrigger"], samples.get(
        key_of(rule["metricTrigger"].get("metricResourceUri") or source), {}), now, seconds_per_minute)
        for rule in rules)
    low, high = (int(profile["capacity"][k]) for k in ("minimum", "maximum"))

    def within(count: int) -> int:
        return min(max(count, low), high)

    if capacity != within(capacity):
        return Evaluation(profile["name"], values, Decision(within(capacity), 0.0, f"the instance count {capacity} "
                          f"is outside the profile's minimum {low} and maximum {high}"))
    if now < cooling_until:
        return Evaluation(profile["name"], values, None)
    evaluated = list(zip(rules, values))
    ups = [(within(changed_count(r["scaleAction"], capacity)), r, v) for r, v in evaluated
           if r["scaleAction"].get("direction") == "Increase" and triggers(r["metricTrigger"], v)]
    down_rules = [(r, v) for r, v in evaluated if r["scaleAction"].get("direction") == "Decrease"]
    chosen = max(ups, key=lambda up: up[0], default=None)
    if chosen is None or chosen[0] <= capacity:
        all_down = down_rules and all(triggers(r["metricTrigger"], v) for r, v in down_rules)
        chosen = max(((within(changed_count(r["scaleAction"], capacity)), r, v) for r, v in down_rules),
                     key=lambda down: down[0]) if all_down else None
        if chosen is None or chosen[0] >= capacity or _would_flap(evaluated, capacity, chosen[0]):
            return Evaluation(profile["name"], values, None)
    count, rule, value = chosen
    return Evaluation(profile["name"], values, Decision(
        count, scaled_seconds(rule["scaleAction"]["cooldown"], seconds_per_minute), _describe(rule, value)))


def _would_flap(evaluated: list[tuple[dict, float | None]], capacity: int, count: int) -> bool:
    """Whether a scale-out rule would trigger on the load of ``capacity`` instances carried by ``count``."""
    for rule, value in evaluated:
        trigger = rule["metricTrigger"]
        if rule["scaleAction"].get("direction") != "Increase" or value is None:
            continue
        estimate = value * capacity / max(count, 1) if trigger["statistic"] in PER_INSTANCE else value
        if triggers(trigger, estimate):
            return True
    return False
