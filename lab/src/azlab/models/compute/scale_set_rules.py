"""Azure's rules for a virtual machine scale set's policies and shape (no I/O).

Each check takes the request's values and answers with the value Azure stores or the
ArmError Azure answers. Messages quoted from Azure where it is known (docs/lab.md marks
the codes that are not).
"""

from __future__ import annotations

import re

from azlab.models.compute import app_health
from azlab.models.compute.common import choice, property_change_not_allowed
from azlab.models.errors import ArmError, invalid_parameter

UPGRADE_MODES = ("Automatic", "Manual", "Rolling")
SCALE_IN_RULES = ("Default", "OldestVM", "NewestVM")
REPAIR_ACTIONS = ("Replace", "Restart", "Reimage")
HEALTH_EXTENSIONS = app_health.HANDLER_TYPES
#: Azure's limit per scale set; 100 in a single placement group
MAX_CAPACITY, MAX_SINGLE_PLACEMENT_GROUP = 1000, 100
#: (field, low, high, default) of rollingUpgradePolicy's percentages
ROLLING_PERCENTAGES = (("maxBatchInstancePercent", 5, 100, 20), ("maxUnhealthyInstancePercent", 5, 100, 20),
                       ("maxUnhealthyUpgradedInstancePercent", 0, 100, 20))
ROLLING_FLAGS = ("enableCrossZoneUpgrade", "prioritizeUnhealthyInstances", "rollbackFailedInstancesOnPolicyBreach",
                 "maxSurge")
_DURATION = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$")
NO_HEALTH = ("{what} is not supported for this Virtual Machine Scale Set because a health probe or health extension "
             "was not provided.")


def flag(value, target: str, default: bool | None = None) -> bool | None:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid_parameter(target, f"The value '{value}' of parameter '{target}' is not a boolean.")
    return value


def duration_seconds(value: str, target: str) -> float:
    """Seconds of an ISO 8601 duration of hours, minutes and seconds (PT1M30S)."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None or value in ("P", "PT"):
        raise invalid_parameter(target, f"The value '{value}' of parameter '{target}' is not a valid ISO 8601 "
                                "duration (e.g. PT0S, PT5M).")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def capacity(sku: dict, existing_sku: dict | None, single_placement_group: bool) -> int:
    value = sku.get("capacity", (existing_sku or {}).get("capacity"))
    if value is None:
        raise invalid_parameter("sku.capacity", "Parameter 'sku.capacity' is required when the scale set is created.")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY:
        raise invalid_parameter("sku.capacity", f"The value {value} of parameter 'sku.capacity' is out of range. "
                                f"The value must be between 0 and {MAX_CAPACITY}, inclusive.")
    if single_placement_group and value > MAX_SINGLE_PLACEMENT_GROUP:
        raise ArmError(409, "OperationNotAllowed", f"Unable to create or update Virtual Machine Scale Set as it "
                       f"exceeds the total limit of '{MAX_SINGLE_PLACEMENT_GROUP}' Virtual Machine instances in a "
                       "single placement group (singlePlacementGroup: true).", target="sku.capacity")
    return value


def rolling_policy(value, existing: dict | None) -> dict:
    """rollingUpgradePolicy with Azure's defaults filled in."""
    value = value if isinstance(value, dict) else {}
    base = existing or {}
    out = {}
    for name, low, high, default in ROLLING_PERCENTAGES:
        number = value.get(name, base.get(name, default))
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            raise invalid_parameter(f"rollingUpgradePolicy.{name}", f"The value {number} of parameter "
                                    f"'rollingUpgradePolicy.{name}' is out of range. The value must be between "
                                    f"{low} and {high}, inclusive.")
        out[name] = number
    pause = value.get("pauseTimeBetweenBatches", base.get("pauseTimeBetweenBatches", "PT0S"))
    duration_seconds(pause, "rollingUpgradePolicy.pauseTimeBetweenBatches")
    out["pauseTimeBetweenBatches"] = pause
    for name in ROLLING_FLAGS:
        out[name] = flag(value.get(name, base.get(name)), f"rollingUpgradePolicy.{name}", False)
    return out


def upgrade_policy(value, existing: dict | None) -> dict:
    value = value if isinstance(value, dict) else {}
    base = existing or {}
    mode = choice(value.get("mode"), UPGRADE_MODES, "upgradePolicy.mode", base.get("mode", "Manual"))
    out = {"mode": mode}
    if mode == "Rolling" or value.get("rollingUpgradePolicy") or base.get("rollingUpgradePolicy"):
        out["rollingUpgradePolicy"] = rolling_policy(value.get("rollingUpgradePolicy"), base.get("rollingUpgradePolicy"))
    automatic = value.get("automaticOSUpgradePolicy", base.get("automaticOSUpgradePolicy"))
    if isinstance(automatic, dict):
        out["automaticOSUpgradePolicy"] = {
            name: flag(automatic.get(name), f"upgradePolicy.automaticOSUpgradePolicy.{name}", False)
            for name in ("enableAutomaticOSUpgrade", "disableAutomaticRollback", "useRollingUpgradePolicy",
                         "osRollingUpgradeDeferral")}
    return out


def repairs_policy(value, existing: dict | None) -> dict | None:
    if value is None:
        return existing
    if not isinstance(value, dict):
        raise invalid_parameter("automaticRepairsPolicy", "Parameter 'automaticRepairsPolicy' must be an object.")
    grace = value.get("gracePeriod", "PT10M")
    seconds = duration_seconds(grace, "automaticRepairsPolicy.gracePeriod")
    if not 600 <= seconds <= 5400:
        raise invalid_parameter("automaticRepairsPolicy.gracePeriod", "The grace period must be between 10 and 90 "
                                "minutes (PT10M to PT90M).")
    enabled = flag(value.get("enabled"), "automaticRepairsPolicy.enabled", False)
    action = choice(value.get("repairAction"), REPAIR_ACTIONS, "automaticRepairsPolicy.repairAction", "Replace")
    if enabled and (existing or {}).get("enabled") and value.get("repairAction") is not None \
            and action != existing.get("repairAction", "Replace"):
        # (unverified code) Azure documents the rule: disable the policy, then enable it with the new action
        raise ArmError(400, "BadRequest", f"The repair action of an enabled automatic repairs policy cannot change "
                       f"from {existing.get('repairAction', 'Replace')} to {action}: disable automatic repairs first, "
                       "then enable them with the new repair action.", target="automaticRepairsPolicy.repairAction")
    return {"enabled": enabled, "gracePeriod": grace, "repairAction": action}


def scale_in_policy(value, existing: dict | None) -> dict | None:
    if value is None:
        return existing
    rules = value.get("rules") if isinstance(value, dict) else None
    if rules is not None and (not isinstance(rules, list) or len(rules) != 1):
        raise invalid_parameter("scaleInPolicy.rules", "Exactly one scale-in rule is supported.")
    rule = choice(rules[0] if rules else None, SCALE_IN_RULES, "scaleInPolicy.rules", "Default")
    return {"rules": [rule], "forceDeletion": flag(value.get("forceDeletion"), "scaleInPolicy.forceDeletion", False)}


def health_sources(profile: dict) -> list[str]:
    """What tells Azure an instance is healthy: the LB probe and/or the Application Health extension."""
    found = []
    if ((profile.get("networkProfile") or {}).get("healthProbe") or {}).get("id"):
        found.append("health probe")
    for ext in (profile.get("extensionProfile") or {}).get("extensions") or []:
        if (ext.get("properties") or {}).get("type") in HEALTH_EXTENSIONS:
            found.append("health extension")
    return found


def check_health_source(upgrade: dict, repairs: dict | None, profile: dict) -> None:
    """Rolling upgrades, automatic OS upgrades and automatic repairs need exactly one health source."""
    needs = []
    if upgrade["mode"] == "Rolling":
        needs.append("Rolling Upgrade mode")
    if (upgrade.get("automaticOSUpgradePolicy") or {}).get("enableAutomaticOSUpgrade"):
        needs.append("Automatic OS Upgrade")
    if (repairs or {}).get("enabled"):
        needs.append("Automatic repairs")
    sources = health_sources(profile)
    if needs and not sources:
        raise ArmError(400, "BadRequest", NO_HEALTH.format(what=needs[0]), target="upgradePolicy"
                       if needs[0] != "Automatic repairs" else "automaticRepairsPolicy")
    if needs and len(sources) > 1:
        raise ArmError(400, "BadRequest", f"{needs[0]} is not supported for this Virtual Machine Scale Set because "
                       "both a health probe and a health extension were provided. Remove the health probe or health "
                       "extension.", target="virtualMachineProfile.networkProfile.healthProbe")


def check_unchanged(existing_props: dict, props: dict) -> None:
    """What Azure fixes when the scale set is created."""
    for name in ("platformFaultDomainCount", "orchestrationMode"):
        if name in props and props[name] != existing_props.get(name):
            raise property_change_not_allowed(name)
    if props.get("singlePlacementGroup") is True and existing_props.get("singlePlacementGroup") is False:
        raise ArmError(409, "PropertyChangeNotAllowed", "Changing property 'singlePlacementGroup' from false to true "
                       "is not allowed.", target="singlePlacementGroup")


def nat_pool_fits(pool: dict, needed: int) -> None:
    """Every instance takes one frontend port of each NAT pool its NIC configuration names."""
    props = pool.get("properties") or {}
    size = props["frontendPortRangeEnd"] - props["frontendPortRangeStart"] + 1
    if size < needed:
        raise ArmError(400, "InboundNatPoolFrontendPortRangeSmallerThanRequestedPorts",
                       f"The frontend port range of inbound NAT pool {pool['id']} ({props['frontendPortRangeStart']}-"
                       f"{props['frontendPortRangeEnd']}, {size} ports) is smaller than the {needed} ports its "
                       "scale set's instances need.", target="virtualMachineProfile.networkProfile")
