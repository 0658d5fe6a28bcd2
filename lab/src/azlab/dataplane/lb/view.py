"""The load-balancer driver's contract: what the caller resolves for it, what it reports back.

The driver reads a load balancer in Azure's ARM JSON shape, but some facts are not in that
body: which address a public IP got, which NIC ip configurations sit in a pool (declared on
the NICs) and their private IPs, which NIC a NAT rule forwards to. The data plane's model
subscriber resolves those from the store and passes them in a :class:`LoadBalancerView`, so
that the driver never imports the models.

Resource IDs are compared case-insensitively, as ARM does: callers may pass them in any case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from azlab.dataplane.nsg import Rule

#: Inbound rules of (subnet NSG, NIC NSG); None where there is no NSG.
InboundLevels = tuple[tuple[Rule, ...] | None, tuple[Rule, ...] | None]

ADMIN_STATES = ("None", "Up", "Down")


@dataclass(frozen=True)
class BackendMember:
    """One pool address: a NIC ip configuration (or, for IP-based pools, the pool address).

    ``ip_configuration_id`` is the key the health log uses for this backend: the NIC ip
    configuration ID, or ``{pool id}/loadBalancerBackendAddresses/{name}`` for an IP-based
    pool address. ``admin_state`` is the pool address's ``properties.adminState``.
    ``probe_fault`` (lab fault injection) points the probe at a port nothing listens on,
    so it fails as if the VM stopped answering it, without touching the guest.
    ``source`` is the host address that reaches into the member's VNet (``dataplane/vnet``):
    HAProxy connects from it; None lets the host's routes pick (the driver's tests, whose
    backends run on the host). ``inbound`` holds the inbound rules of the member's subnet
    NSG and NIC NSG (None where there is none): the LB drops a client they refuse, judged by
    its own source address as Azure's pass-through LB does; None (the driver's tests) means
    no NSG enforcement at all.
    """

    ip_configuration_id: str
    private_ip: str
    admin_state: str = "None"
    probe_fault: bool = False
    source: str | None = None
    inbound: InboundLevels | None = None

    def __post_init__(self) -> None:
        if self.admin_state not in ADMIN_STATES:
            raise ValueError(f"adminState must be one of {ADMIN_STATES}, not {self.admin_state!r}")


@dataclass(frozen=True)
class NatTarget:
    """The one NIC ip configuration an inbound NAT rule forwards to (``source`` as for
    :class:`BackendMember`)."""

    ip_configuration_id: str
    private_ip: str
    source: str | None = None
    inbound: InboundLevels | None = None


@dataclass(frozen=True)
class LoadBalancerView:
    """What the caller resolved for one load balancer body.

    - ``public_ip_addresses``: public IP resource ID -> its address (a 127.64.x.y loopback
      address in the lab); a frontend whose public IP is missing here is not served.
    - ``pool_members``: backend pool ID -> its members; a pool missing here is empty.
    - ``nat_targets``: inbound NAT rule ID -> its target, or None while no NIC uses the
      rule (then nothing listens on its frontend port, as on Azure nothing answers).
    """

    public_ip_addresses: Mapping[str, str] = field(default_factory=dict)
    pool_members: Mapping[str, Sequence[BackendMember]] = field(default_factory=dict)
    nat_targets: Mapping[str, NatTarget | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderOptions:
    """Knobs that are not Azure's.

    ``min_probe_interval`` is Azure's minimum ``intervalInSeconds`` (5); a smaller interval
    is raised to it. Tests lower it explicitly to run probes every second.
    """

    min_probe_interval: int = 5


@dataclass(frozen=True)
class ServerRef:
    """One HAProxy server line and the Azure object it stands for.

    ``kind`` is "rule" for a load-balancing rule's pool member (health is reported for it)
    or "nat" for an inbound NAT rule's target (never probed, never reported).
    ``check_port`` and ``probe_protocol`` are None when HAProxy does not probe the server:
    NAT targets, rules without a probe, and pool addresses with adminState Up.
    """

    backend: str
    server: str
    kind: str
    rule: str
    ip_configuration_id: str
    ip: str
    port: int
    check_port: int | None
    probe_protocol: str | None
    admin_state: str
    source: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.backend, self.server


@dataclass(frozen=True)
class Rendering:
    """haproxy.cfg text, the servers it declares, and what could not be served (and why)."""

    text: str
    servers: tuple[ServerRef, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class HealthEvent:
    """One health transition of one backend for one load-balancing rule.

    Field for field what ``Store.record_health(load_balancer, rule, backend, ip, state,
    reason, ts)`` takes: ``backend`` is the ip configuration ID, ``state`` "Up" or "Down",
    ``reason`` an Azure health reason code, then HAProxy's words after a colon.
    """

    load_balancer: str
    rule: str
    backend: str
    ip: str
    state: str
    reason: str
    ts: float
