"""The Application Health extension's rules (Microsoft.ManagedServices ApplicationHealthLinux
1.0 and 2.0), no I/O: its settings, what one probe of the application says, and the health
state the instance reports (``vmHealth``) after a series of probes.

The handler runs in the guest and probes the application on ``localhost`` every
``intervalInSeconds``; the data plane does the same from inside the instance
(``azlab.dataplane.app_health``) and feeds each probe through :func:`advance`.

- 1.0, *binary health states*: a TCP connection, or an HTTP(S) answer 200, is healthy;
  anything else unhealthy. The state follows every probe.
- 2.0, *rich health states*: over HTTP(S) the application says its state in the body
  (``{"ApplicationHealthState": "Healthy"|"Unhealthy"}``); any other answer - another status
  code, a body without that state, no answer - is *unknown* (TCP keeps 1.0's two states). A
  new instance is *initializing* until one state came ``numberOfProbes`` times in a row or
  ``gracePeriod`` seconds passed (then it takes the last one); after that a state changes only
  when the new one came ``numberOfProbes`` times in a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

HANDLER_TYPES = ("ApplicationHealthLinux", "ApplicationHealthWindows")
PUBLISHER = "Microsoft.ManagedServices"
HEALTHY, UNHEALTHY, INITIALIZING, UNKNOWN = "healthy", "unhealthy", "initializing", "unknown"
PROTOCOLS = ("http", "https", "tcp")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: (setting, low, high, default) of 2.0 (1.0 probes every 5 s, one probe decides)
INTERVAL, PROBES = ("intervalInSeconds", 5, 60, 5), ("numberOfProbes", 1, 24, 1)
MAX_GRACE_SECONDS = 7200
#: how long one probe may take (the handler's own timeout)
PROBE_TIMEOUT_SECONDS = 5


class HealthConfigError(ValueError):
    """The handler refuses its settings: the extension fails with this message."""


@dataclass(frozen=True)
class HealthProbe:
    protocol: str
    port: int
    request_path: str
    interval: int
    probes: int
    grace: int
    rich: bool

    def url(self) -> str:
        return f"{self.protocol}://localhost:{self.port}/{self.request_path.lstrip('/')}"


@dataclass(frozen=True)
class Tracker:
    """The handler's memory between probes: the state it reports, the last verdict and how
    often in a row it came, and when it started (the grace period counts from there)."""

    state: str
    candidate: str | None
    streak: int
    started: float


def is_application_health(publisher: str, ext_type: str) -> bool:
    return publisher.lower() == PUBLISHER.lower() and ext_type in HANDLER_TYPES


def _number(settings: dict, rule: tuple, rich: bool) -> int:
    name, low, high, default = rule
    value = settings.get(name, default) if rich else default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HealthConfigError(f"invalid configuration: '{name}' must be an integer from {low} to {high}")
    return value


def parse_settings(type_handler_version: str, settings) -> HealthProbe:
    """What the handler of this version probes, or HealthConfigError naming the rule."""
    settings = settings or {}
    if not isinstance(settings, dict):
        raise HealthConfigError("invalid configuration: settings must be a JSON object")
    rich = str(type_handler_version).split(".")[0] not in ("", "1")
    protocol = str(settings.get("protocol", "")).lower()
    if protocol not in PROTOCOLS:
        raise HealthConfigError("invalid configuration: 'protocol' must be one of http, https, tcp")
    port = settings.get("port", DEFAULT_PORTS.get(protocol))
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise HealthConfigError("invalid configuration: 'port' must be a port number (it is required for tcp)")
    path = settings.get("requestPath", "")
    if protocol != "tcp" and (not isinstance(path, str) or not path):
        raise HealthConfigError("invalid configuration: 'requestPath' is required for http and https")
    if protocol == "tcp" and path:
        raise HealthConfigError("invalid configuration: 'requestPath' is not allowed for tcp")
    interval, probes = _number(settings, INTERVAL, rich), _number(settings, PROBES, rich)
    grace = settings.get("gracePeriod", interval * probes) if rich else interval * probes
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE_SECONDS:
        raise HealthConfigError(f"invalid configuration: 'gracePeriod' must be an integer from 0 to {MAX_GRACE_SECONDS}")
    return HealthProbe(protocol, port, path or "", interval, probes, grace, rich)


def verdict(probe: HealthProbe, answered: bool, status_code: int | None = None, body: str = "") -> str:
    """What one probe says: ``answered`` is a TCP connection or an HTTP(S) answer."""
    if probe.protocol == "tcp":
        return HEALTHY if answered else UNHEALTHY
    if not probe.rich:
        return HEALTHY if answered and status_code == 200 else UNHEALTHY
    if not answered or status_code != 200:
        return UNKNOWN
    try:
        said = json.loads(body).get("ApplicationHealthState")
    except (ValueError, AttributeError):
        return UNKNOWN
    return {"healthy": HEALTHY, "unhealthy": UNHEALTHY}.get(str(said).lower(), UNKNOWN)


def start(probe: HealthProbe, now: float) -> Tracker:
    """A handler just enabled in a (new) guest: nothing probed yet."""
    return Tracker(INITIALIZING if probe.rich else UNKNOWN, None, 0, now)


def advance(probe: HealthProbe, tracker: Tracker, said: str, now: float) -> Tracker:
    """The tracker after one more probe's verdict."""
    streak = tracker.streak + 1 if said == tracker.candidate else 1
    out = replace(tracker, candidate=said, streak=streak)
    if not probe.rich:
        return replace(out, state=said)
    if streak >= probe.probes or (tracker.state == INITIALIZING and now - tracker.started >= probe.grace):
        return replace(out, state=said)
    return out
