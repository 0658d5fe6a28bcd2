"""Microsoft.Insights/autoscalesettings (2022-10-01): autoscale settings of a scale set.

The setting is validated by Azure's rules and stored exactly as sent (the modules compare
what they sent with what they read back). A synchronous PUT, as on Azure. With the data plane
an enabled setting sets its scale set's capacity from the instances' CPU
(``insights_evaluation``, ``dataplane/autoscale.py``; docs/lab.md).
"""

from __future__ import annotations

import copy

from azlab.models.base import Context, Registry, ResourceType, require_props
from azlab.models.compute.common import VMSS_TYPE, choice
from azlab.models.compute.scale_set_rules import duration_seconds
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import ResourceId

AUTOSCALE_TYPE = "Microsoft.Insights/autoscalesettings"
#: the metrics the lab could measure on a scale set's instances (their containers' CPU)
METRICS = ("Percentage CPU",)
STATISTICS = ("Average", "Min", "Max", "Sum", "Count")
AGGREGATIONS = ("Average", "Minimum", "Maximum", "Total", "Count", "Last")
OPERATORS = ("Equals", "NotEquals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")
DIRECTIONS = ("None", "Increase", "Decrease")
ACTION_TYPES = ("ChangeCount", "PercentChangeCount", "ExactCount", "ServiceAllowedNextValue")
MAX_PROFILES, MAX_RULES = 20, 10


def _bad(target: str, message: str) -> ArmError:
    return ArmError(400, "InvalidRequest", message, target=target)


def _count(value, target: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(target, f"'{target}' must be a whole number of instances, not '{value}'.") from None
    if not 0 <= number <= 1000 or str(value).strip() != str(number):
        raise _bad(target, f"'{target}' must be between 0 and 1000, not '{value}'.")
    return number


def _window(value, target: str, low: float, high: float) -> None:
    seconds = duration_seconds(value, target)
    if not low <= seconds <= high:
        raise _bad(target, f"'{target}' ({value}) must be between {int(low // 60)} minutes and {int(high // 3600)} "
                           "hours.")


def check_rule(rule, target: str) -> None:
    if not isinstance(rule, dict):
        raise missing_property(target, AUTOSCALE_TYPE)
    trigger, action = rule.get("metricTrigger"), rule.get("scaleAction")
    if not isinstance(trigger, dict):
        raise missing_property(f"{target}.metricTrigger", AUTOSCALE_TYPE)
    if not isinstance(action, dict):
        raise missing_property(f"{target}.scaleAction", AUTOSCALE_TYPE)
    where = f"{target}.metricTrigger"
    if trigger.get("metricName") not in METRICS:
        raise invalid_parameter(f"{where}.metricName", f"azlab: the lab measures {', '.join(METRICS)} of a scale "
                                f"set's instances only, not '{trigger.get('metricName')}'.")
    for name, allowed in (("statistic", STATISTICS), ("timeAggregation", AGGREGATIONS), ("operator", OPERATORS)):
        if choice(trigger.get(name), allowed, f"{where}.{name}", None) is None:
            raise missing_property(f"{where}.{name}", AUTOSCALE_TYPE)
    _window(trigger.get("timeGrain"), f"{where}.timeGrain", 60, 12 * 3600)
    _window(trigger.get("timeWindow"), f"{where}.timeWindow", 300, 12 * 3600)
    if isinstance(trigger.get("threshold"), bool) or not isinstance(trigger.get("threshold"), (int, float)):
        raise missing_property(f"{where}.threshold", AUTOSCALE_TYPE)
    where = f"{target}.scaleAction"
    choice(action.get("direction"), DIRECTIONS, f"{where}.direction", "None")
    choice(action.get("type"), ACTION_TYPES, f"{where}.type", "ChangeCount")
    _count(action.get("value", "1"), f"{where}.value")
    _window(action.get("cooldown"), f"{where}.cooldown", 60, 7 * 24 * 3600)


def check_profile(profile, target: str) -> None:
    if not isinstance(profile, dict) or not profile.get("name"):
        raise missing_property(f"{target}.name", AUTOSCALE_TYPE)
    for schedule in ("recurrence", "fixedDate"):
        if profile.get(schedule) is not None:
            raise invalid_parameter(f"{target}.{schedule}", "azlab: the lab evaluates profiles without a schedule "
                                    f"only, not one with '{schedule}': remove it (docs/lab.md).")
    capacity = profile.get("capacity")
    if not isinstance(capacity, dict):
        raise missing_property(f"{target}.capacity", AUTOSCALE_TYPE)
    low, high, default = (_count(capacity.get(k), f"{target}.capacity.{k}") for k in ("minimum", "maximum", "default"))
    if not low <= default <= high:
        raise _bad(f"{target}.capacity", f"The default instance count {default} must lie between the minimum {low} "
                                         f"and the maximum {high}.")
    rules = profile.get("rules") or []
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise _bad(f"{target}.rules", f"A profile has at most {MAX_RULES} rules.")
    for index, rule in enumerate(rules):
        check_rule(rule, f"{target}.rules[{index}]")


def _require_scale_set(ctx: Context, uri, rid: ResourceId, target: str) -> None:
    """The lab scales scale sets, on their instances' CPU: what a setting names must be one."""
    found = ctx.require_reference(uri, str(rid), target)
    if found.get("type", "").lower() != VMSS_TYPE.lower():
        raise invalid_parameter(target, f"azlab: the lab scales and measures virtual machine scale sets only, not "
                                f"{found.get('type')}.")


class AutoscaleSettingType(ResourceType):
    full_type = AUTOSCALE_TYPE
    min_api_version = "2015-04-01"
    long_running = False

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        out = self.base_body(ctx, rid, body, existing)
        props = require_props(body, self.full_type, "targetResourceUri", "profiles")
        _require_scale_set(ctx, props["targetResourceUri"], rid, "properties.targetResourceUri")
        profiles = props["profiles"]
        if not isinstance(profiles, list) or not 1 <= len(profiles) <= MAX_PROFILES:
            raise _bad("properties.profiles", f"An autoscale setting has 1 to {MAX_PROFILES} profiles.")
        for index, profile in enumerate(profiles):
            where = f"properties.profiles[{index}]"
            check_profile(profile, where)
            for number, rule in enumerate(profile.get("rules") or []):
                source = rule["metricTrigger"].get("metricResourceUri")
                if source is not None:
                    _require_scale_set(ctx, source, rid, f"{where}.rules[{number}].metricTrigger.metricResourceUri")
        if not isinstance(props.get("enabled", True), bool):
            raise invalid_parameter("properties.enabled", "Parameter 'properties.enabled' must be a boolean.")
        out.pop("etag", None)  # an autoscale setting has none
        # as sent: azure_rm_autoscale compares what it sent with what it reads back
        out["properties"] = copy.deepcopy(props)
        out["properties"].setdefault("name", rid.name)
        return out


def register(registry: Registry) -> None:
    registry.register(AutoscaleSettingType())
