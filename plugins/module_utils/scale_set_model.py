# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Uniform virtual machine scale set as the webfarm tier wants it: the ARM body built from
the module's parameters, what differs from the set Azure has, and the rules Azure applies
before it accepts a set (pure logic, no Azure call).

Only the fields the module manages are compared; everything else of an existing set is sent
back as read. Azure never returns ``osProfile.customData`` nor an extension's
``protectedSettings``: a salted digest of both in the tag ``webfarm-model-secrets`` tells
whether they changed, without putting them where anyone can read them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import hashlib
import json
import os
import re

from ansible.module_utils.six import string_types

SECRETS_TAG = "webfarm-model-secrets"
UPGRADE_MODES = ("Manual", "Automatic", "Rolling")
HEALTH_EXTENSIONS = ("ApplicationHealthLinux", "ApplicationHealthWindows")
# snake_case option -> (ARM field, low, high) of rollingUpgradePolicy's percentages
ROLLING_PERCENTAGES = (
    ("max_batch_instance_percent", "maxBatchInstancePercent", 5, 100),
    ("max_unhealthy_instance_percent", "maxUnhealthyInstancePercent", 5, 100),
    ("max_unhealthy_upgraded_instance_percent", "maxUnhealthyUpgradedInstancePercent", 0, 100),
)
ROLLING_FLAGS = (
    ("prioritize_unhealthy_instances", "prioritizeUnhealthyInstances"),
    ("max_surge", "maxSurge"),
)
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def duration_seconds(value):
    """Seconds of an ISO 8601 duration of hours, minutes and seconds (PT1M30S), None if it is not one."""
    match = _DURATION.match(value or "")
    if match is None or value == "PT":
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def problems(params):
    """Messages naming each parameter Azure would refuse (empty when the set can be written)."""
    out = []
    policy = params.get("upgrade_policy") or {}
    rolling = policy.get("rolling") or {}
    for option, _field, low, high in ROLLING_PERCENTAGES:
        value = rolling.get(option)
        if value is not None and not low <= value <= high:
            out.append("upgrade_policy.rolling.{0}: {1} is outside {2}-{3}".format(option, value, low, high))
    pause = rolling.get("pause_time_between_batches")
    if pause is not None and duration_seconds(pause) is None:
        out.append("upgrade_policy.rolling.pause_time_between_batches: {0!r} is not an ISO 8601 duration such as "
                   "PT0S or PT1M".format(pause))
    sources = health_sources(params)
    needs = [what for what, wanted in (("upgrade_policy.mode Rolling", policy.get("mode") == "Rolling"),
                                       ("automatic_repairs", (params.get("automatic_repairs") or {}).get("enabled")))
             if wanted]
    if needs and not sources:
        out.append("{0}: needs a health source: health_probe_id (the load balancer probe) or an Application Health "
                   "extension in extensions".format(needs[0]))
    if needs and len(sources) > 1:
        out.append("health_probe_id: {0} takes one health source, not both the load balancer probe and the "
                   "Application Health extension".format(needs[0]))
    notification = params.get("terminate_notification") or {}
    timeout = notification.get("timeout")
    if notification.get("enabled", True) and timeout is not None \
            and not 300 <= (duration_seconds(timeout) or 0) <= 900:
        out.append("terminate_notification.timeout: {0!r} must be PT5M to PT15M".format(timeout))
    repairs = params.get("automatic_repairs") or {}
    grace = repairs.get("grace_period")
    if grace is not None and not 600 <= (duration_seconds(grace) or 0) <= 5400:
        out.append("automatic_repairs.grace_period: {0!r} must be PT10M to PT90M".format(grace))
    capacity = params.get("capacity")
    if capacity is not None and not 0 <= capacity <= (100 if params.get("single_placement_group", True) else 1000):
        out.append("capacity: {0} is outside 0-{1}".format(
            capacity, 100 if params.get("single_placement_group", True) else 1000))
    return out


def health_sources(params):
    found = ["health probe"] if params.get("health_probe_id") else []
    found += ["health extension" for ext in params.get("extensions") or [] if ext.get("type") in HEALTH_EXTENSIONS]
    return found


def _rolling_policy(rolling):
    out = {}
    for option, field, _low, _high in ROLLING_PERCENTAGES:
        if rolling.get(option) is not None:
            out[field] = rolling[option]
    if rolling.get("pause_time_between_batches") is not None:
        out["pauseTimeBetweenBatches"] = rolling["pause_time_between_batches"]
    for option, field in ROLLING_FLAGS:
        if rolling.get(option) is not None:
            out[field] = rolling[option]
    return out


def _extension(ext):
    props = {"publisher": ext["publisher"], "type": ext["type"], "typeHandlerVersion": ext["type_handler_version"],
             "autoUpgradeMinorVersion": ext.get("auto_upgrade_minor_version", True)}
    if ext.get("settings") is not None:
        props["settings"] = ext["settings"]
    if ext.get("protected_settings") is not None:
        props["protectedSettings"] = ext["protected_settings"]
    return {"name": ext["name"], "properties": props}


def _ip_configuration(params):
    props = {"primary": True, "subnet": {"id": params["subnet_id"]},
             "loadBalancerBackendAddressPools": [{"id": i} for i in params.get("backend_pool_ids") or []],
             "loadBalancerInboundNatPools": [{"id": i} for i in params.get("nat_pool_ids") or []]}
    return {"name": "{0}-ip".format(params["name"]), "properties": props}


def managed_fields(params):
    """The part of the ARM body the module owns, as a nested dict (no secrets)."""
    policy = params.get("upgrade_policy") or {}
    upgrade = {"mode": policy.get("mode") or "Manual"}
    if policy.get("rolling") or upgrade["mode"] == "Rolling":
        upgrade["rollingUpgradePolicy"] = _rolling_policy(policy.get("rolling") or {})
    image = params["image"]
    network = {"networkInterfaceConfigurations": [{"name": "{0}-nic".format(params["name"]), "properties": {
        "primary": True, "ipConfigurations": [_ip_configuration(params)]}}]}
    if params.get("health_probe_id"):
        network["healthProbe"] = {"id": params["health_probe_id"]}
    keys = [{"path": "/home/{0}/.ssh/authorized_keys".format(params["admin_username"]), "keyData": key}
            for key in params.get("ssh_public_keys") or []]
    profile = {
        "osProfile": {"computerNamePrefix": params.get("computer_name_prefix") or params["name"][:9],
                      "adminUsername": params["admin_username"],
                      "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": keys}}},
        "storageProfile": {"imageReference": {k: image[k] for k in ("publisher", "offer", "sku", "version")},
                           "osDisk": {"createOption": "FromImage", "caching": "ReadWrite",
                                      "managedDisk": {"storageAccountType": params.get("os_disk_type")
                                                      or "Premium_LRS"}}},
        "networkProfile": network,
    }
    notification = params.get("terminate_notification")
    if notification is not None:
        enabled = notification.get("enabled", True)
        profile["scheduledEventsProfile"] = {"terminateNotificationProfile": dict(
            {"enable": enabled}, **({"notBeforeTimeout": notification.get("timeout") or "PT5M"} if enabled else {}))}
    extensions = [_extension(dict(ext, protected_settings=None)) for ext in params.get("extensions") or []]
    if extensions:
        profile["extensionProfile"] = {"extensions": extensions}
    props = {"orchestrationMode": "Uniform", "upgradePolicy": upgrade, "virtualMachineProfile": profile,
             "overprovision": params.get("overprovision", True),
             "singlePlacementGroup": params.get("single_placement_group", True),
             "platformFaultDomainCount": params.get("platform_fault_domain_count") or 5}
    repairs = params.get("automatic_repairs")
    if repairs is not None:
        props["automaticRepairsPolicy"] = {"enabled": repairs.get("enabled", False),
                                           "gracePeriod": repairs.get("grace_period") or "PT10M",
                                           "repairAction": repairs.get("repair_action") or "Replace"}
    scale_in = params.get("scale_in_policy")
    if scale_in is not None:
        props["scaleInPolicy"] = {"rules": [scale_in.get("rule") or "Default"],
                                  "forceDeletion": scale_in.get("force_deletion", False)}
    return {"sku": {"name": params["vm_size"], "tier": "Standard", "capacity": params["capacity"]},
            "properties": props}


def secrets_digest(params, salt):
    """A salted digest of what Azure never returns (customData, protected settings)."""
    secret = {"customData": params.get("custom_data"),
              "protected": [(ext["name"], ext.get("protected_settings")) for ext in params.get("extensions") or []]}
    text = salt + json.dumps(secret, sort_keys=True)
    return "{0}:{1}".format(salt, hashlib.sha256(text.encode("utf-8")).hexdigest())


def secrets_changed(params, existing):
    """Whether customData or a protected setting differs from what the set was last written with."""
    tag = ((existing or {}).get("tags") or {}).get(SECRETS_TAG) or ""
    salt = tag.split(":", 1)[0]
    return not salt or secrets_digest(params, salt) != tag


def _project(existing, wanted):
    """``existing`` cut down to the shape of ``wanted``: the same keys, lists matched by position."""
    if isinstance(wanted, dict):
        existing = existing if isinstance(existing, dict) else {}
        return dict((key, _project(existing.get(key), value)) for key, value in wanted.items())
    if isinstance(wanted, list):
        existing = existing if isinstance(existing, list) else []
        return [_project(existing[n] if n < len(existing) else None, item) for n, item in enumerate(wanted)] + \
            existing[len(wanted):]
    return existing


def _normalise(value):
    """IDs and enum strings compare case-insensitively, as ARM does."""
    if isinstance(value, dict):
        return dict((key, _normalise(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value.lower() if isinstance(value, string_types) else value


def _paths(before, after, prefix=""):
    if isinstance(after, dict) and isinstance(before, dict):
        out = []
        for key in sorted(after):
            out += _paths(before.get(key), after[key], "{0}.{1}".format(prefix, key) if prefix else key)
        return out
    return [] if _normalise(before) == _normalise(after) else [prefix]


def differences(params, existing, keep_capacity=False):
    """Dotted names of what the module would change on ``existing`` (all of it for a new set)."""
    wanted = managed_fields(params)
    if existing is None:
        return ["(new scale set)"]
    if keep_capacity:
        wanted["sku"]["capacity"] = existing.get("sku", {}).get("capacity")
    found = _paths(_project(existing, wanted), wanted)
    if secrets_changed(params, existing):
        found.append("virtualMachineProfile (customData or protected settings)")
    if dict((existing.get("tags") or {}), **{SECRETS_TAG: ""}) != dict(params.get("tags") or {}, **{SECRETS_TAG: ""}):
        found.append("tags")
    return found


def model_changes(found):
    """The differences that are a new model (the instances take it by the upgrade policy)."""
    return [name for name in found if "virtualMachineProfile" in name or name == "(new scale set)"]


def _merge(base, wanted):
    if isinstance(base, dict) and isinstance(wanted, dict):
        out = dict(base)
        for key, value in wanted.items():
            out[key] = _merge(base.get(key), value)
        return out
    return copy.deepcopy(wanted)


def desired_body(params, existing, keep_capacity=False, salt=None):
    """The body to PUT: the existing set with the managed fields replaced (so what the module
    does not manage stays), customData and protected settings included, the digest tag set."""
    wanted = managed_fields(params)
    if existing is not None and keep_capacity:
        wanted["sku"]["capacity"] = existing["sku"]["capacity"]
    body = _merge({k: v for k, v in (existing or {}).items() if k in ("sku", "properties", "identity", "zones")},
                  wanted)
    body["location"] = (existing or {}).get("location") or params["location"]
    profile = body["properties"]["virtualMachineProfile"]
    for key in ("provisioningState", "uniqueId", "timeCreated"):
        body["properties"].pop(key, None)
    if params.get("custom_data") is not None:
        profile["osProfile"]["customData"] = base64.b64encode(params["custom_data"].encode("utf-8")).decode("ascii")
    if params.get("extensions"):
        profile["extensionProfile"] = {"extensions": [_extension(ext) for ext in params["extensions"]]}
    salt = salt or base64.b32encode(os.urandom(10)).decode("ascii").lower()
    body["tags"] = dict(params.get("tags") or {}, **{SECRETS_TAG: secrets_digest(params, salt)})
    return body


def view(body):
    """What the module returns of a set: no secret, no digest."""
    if body is None:
        return None
    props = body.get("properties") or {}
    return {"id": body.get("id"), "name": body.get("name"), "location": body.get("location"),
            "sku": body.get("sku"), "upgrade_policy": props.get("upgradePolicy"),
            "automatic_repairs_policy": props.get("automaticRepairsPolicy"),
            "scale_in_policy": props.get("scaleInPolicy"), "overprovision": props.get("overprovision"),
            "terminate_notification": ((props.get("virtualMachineProfile") or {}).get("scheduledEventsProfile")
                                       or {}).get("terminateNotificationProfile"),
            "platform_fault_domain_count": props.get("platformFaultDomainCount"),
            "health_probe_id": ((props.get("virtualMachineProfile") or {}).get("networkProfile") or {}).get(
                "healthProbe", {}).get("id"),
            "provisioning_state": props.get("provisioningState"),
            "tags": dict((k, v) for k, v in (body.get("tags") or {}).items() if k != SECRETS_TAG)}
