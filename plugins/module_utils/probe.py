# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One health probe inside a load balancer body: validation, comparison, update (pure logic)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import same_id

# Azure's defaults for a new probe.
DEFAULT_INTERVAL = 15
DEFAULT_THRESHOLD = 1
# Azure's limits (probeThreshold 1-100, intervalInSeconds from 5).
LIMITS = dict(port=(1, 65535), interval=(5, 2147483646), probe_threshold=(1, 100), number_of_probes=(1, 2147483646))


def problems(params):
    """Messages naming each wrong parameter (empty when the parameters are usable)."""
    out = []
    protocol = params.get("protocol")
    path = params.get("request_path")
    if protocol == "Tcp" and path:
        out.append("request_path: protocol Tcp probes a port and takes no request_path")
    if protocol in ("Http", "Https") and not path:
        out.append("request_path: protocol {0} needs a request_path such as /healthz".format(protocol))
    if path and not path.startswith("/"):
        out.append("request_path: {0!r} must start with '/'".format(path))
    for key, (low, high) in sorted(LIMITS.items()):
        value = params.get(key)
        if value is not None and not low <= value <= high:
            out.append("{0}: {1} is outside {2}-{3}".format(key, value, low, high))
    return out


def find_probe(lb, name):
    probes = (lb.get("properties") or {}).get("probes") or []
    return next((p for p in probes if p.get("name", "").lower() == name.lower()), None)


def desired_properties(current, params):
    """The probe's properties after the call. Omitted interval/probe_threshold keep the current
    value (Azure's default for a new probe); omitted number_of_probes follows probe_threshold."""
    current = current or {}
    props = dict(current)
    threshold = params.get("probe_threshold")
    if threshold is None:
        threshold = current.get("probeThreshold") or DEFAULT_THRESHOLD
    interval = params.get("interval")
    if interval is None:
        interval = current.get("intervalInSeconds") or DEFAULT_INTERVAL
    number = params.get("number_of_probes")
    props.update(protocol=params["protocol"], port=params["port"], intervalInSeconds=interval,
                 probeThreshold=threshold, numberOfProbes=number if number is not None else threshold)
    if params["protocol"] == "Tcp":
        props.pop("requestPath", None)
    else:
        props["requestPath"] = params["request_path"]
    return props


def view(name, props, probe_id=None):
    """The probe as the module returns it (snake_case)."""
    if props is None:
        return None
    return dict(name=name, id=probe_id, protocol=props.get("protocol"), port=props.get("port"),
                request_path=props.get("requestPath"), interval=props.get("intervalInSeconds"),
                probe_threshold=props.get("probeThreshold"), number_of_probes=props.get("numberOfProbes"))


def differs(current, desired):
    """Whether the managed fields differ (protocol compared case-insensitively, as ARM does)."""
    if current is None:
        return True
    for key in ("port", "intervalInSeconds", "numberOfProbes", "requestPath"):
        if current.get(key) != desired.get(key):
            return True
    # a probe that never had a threshold set may come back without one: Azure applies 1
    if (current.get("probeThreshold") or DEFAULT_THRESHOLD) != desired.get("probeThreshold"):
        return True
    return (current.get("protocol") or "").lower() != (desired.get("protocol") or "").lower()


def with_probe(lb, name, props):
    """A copy of the LB body whose probe called name has props (appended when new)."""
    body = copy.deepcopy(lb)
    probes = body.setdefault("properties", {}).setdefault("probes", [])
    existing = find_probe(body, name)
    if existing is None:
        probes.append(dict(name=name, properties=props))
    else:
        existing["properties"] = props
    return body


def without_probe(lb, name):
    body = copy.deepcopy(lb)
    props = body.setdefault("properties", {})
    props["probes"] = [p for p in props.get("probes") or [] if p.get("name", "").lower() != name.lower()]
    return body


def rules_using(lb, probe_id):
    """Names of the load-balancing rules that reference the probe."""
    rules = (lb.get("properties") or {}).get("loadBalancingRules") or []
    return [r["name"] for r in rules if same_id(((r.get("properties") or {}).get("probe") or {}).get("id"), probe_id)]
