"""Where the lab keeps its state and which identity it answers to.

Everything per-install (service principal secret, token signing key, CA key) is
generated on first use and stored 0600 under the state directory, never in the repo.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PROXY_PORT = 18080
DEFAULT_ARM_PORT = 18443
# Hosts the lab terminates TLS for; every other CONNECT target is refused so that a
# lab run can never reach real Azure.
MANAGEMENT_HOST = "management.azure.com"
LOGIN_HOST = "login.microsoftonline.com"
SERVED_HOSTS = (MANAGEMENT_HOST, LOGIN_HOST)
# Storage accounts' blob endpoints ({account}.blob.core.windows.net): the lab answers them
# itself, so storage clients get an answer instead of retrying a refused tunnel for minutes.
BLOB_HOST_SUFFIX = ".blob.core.windows.net"
# Public IPs the lab hands out; the data plane listens on them (loopback range). A lab may
# take a part of it (LabSettings.public_ip_range), so that labs on one machine never hand out
# the same address (test workers running side by side).
PUBLIC_IP_RANGE = "127.64.0.0/16"
PUBLIC_IP_RANGE_KEY = "public_ip_range"
# IPv6 public IPs: the lab's IPv4 range embedded in this /96 (a unique local prefix, "azlab"
# in hex), so that each lab's IPv6 range is as much its own as its IPv4 range. The host routes
# the whole /96 to itself (``dataplane/host_network``), as it does 127.0.0.0/8.
PUBLIC_IPV6_PREFIX = "fd61:7a6c:6162::/96"
#: How many seconds an Azure minute of a scale set policy lasts in the lab (autoscale's timeGrain,
#: timeWindow and cooldown, automatic repairs' gracePeriod): 60 is real time; a test scales a
#: ten-minute grace period down to seconds. The autoscale-only name of the first release still works.
SECONDS_PER_MINUTE_ENV = "AZLAB_SECONDS_PER_MINUTE"
SECONDS_PER_MINUTE_OLD_ENV = "AZLAB_AUTOSCALE_SECONDS_PER_MINUTE"


def side_by_side_public_ip_range(worker: str | None) -> str:
    """The public IP range of one of up to 16 labs running side by side on one machine, named
    by a worker name ending in its number (pytest-xdist's gw0, gw1 ...; None: the first): its
    own /20 of PUBLIC_IP_RANGE (gw0: 127.64.0.0/20, gw1: 127.64.16.0/20), never another's."""
    digits = (worker or "").lstrip("abcdefghijklmnopqrstuvwxyz")
    index = int(digits) if digits.isdigit() else 0
    return f"127.64.{(index % 16) * 16}.0/20"


def ipv6_twin(ipv4: str, prefix: str) -> ipaddress.IPv6Network:
    """An IPv4 network (or address) embedded in the low 32 bits of an IPv6 /96 ``prefix``:
    ``ipv6_twin("127.64.0.0/16", PUBLIC_IPV6_PREFIX)`` is ``fd61:7a6c:6162::7f40:0/112``."""
    network = ipaddress.ip_network(ipv4, strict=False)
    base = ipaddress.ip_network(prefix)
    if network.version != 4 or base.version != 6 or base.prefixlen != 96:
        raise ValueError(f"ipv6_twin needs an IPv4 network and an IPv6 /96, not {ipv4} and {prefix}")
    return ipaddress.IPv6Network((int(base.network_address) | int(network.network_address), 96 + network.prefixlen))


def is_served_host(host: str) -> bool:
    """Whether the lab terminates TLS for ``host`` (every other host is refused)."""
    host = host.lower()
    account = host[: -len(BLOB_HOST_SUFFIX)] if host.endswith(BLOB_HOST_SUFFIX) else ""
    return host in SERVED_HOSTS or (account.isascii() and account.isalnum() and 3 <= len(account) <= 24)


def default_state_dir() -> Path:
    if os.environ.get("AZLAB_STATE_DIR"):
        return Path(os.environ["AZLAB_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "azlab"


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only, atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Identity:
    """The lab's one subscription, tenant and service principal."""

    subscription_id: str
    tenant_id: str
    client_id: str
    client_secret: str
    signing_key: str
    admin_key: str

    @classmethod
    def generate(cls) -> "Identity":
        return cls(
            subscription_id=str(uuid.uuid4()),
            tenant_id=str(uuid.uuid4()),
            client_id=str(uuid.uuid4()),
            client_secret=secrets.token_urlsafe(32),
            signing_key=secrets.token_urlsafe(48),
            admin_key=secrets.token_urlsafe(24),
        )


@dataclass
class LabSettings:
    state_dir: Path = field(default_factory=default_state_dir)
    bind_host: str = "127.0.0.1"
    proxy_port: int = int(os.environ.get("AZLAB_PROXY_PORT", DEFAULT_PROXY_PORT))
    arm_port: int = int(os.environ.get("AZLAB_ARM_PORT", DEFAULT_ARM_PORT))
    public_ip_range: str = os.environ.get("AZLAB_PUBLIC_IP_RANGE", PUBLIC_IP_RANGE)
    seconds_per_minute: float = field(default_factory=lambda: float(
        os.environ.get(SECONDS_PER_MINUTE_ENV) or os.environ.get(SECONDS_PER_MINUTE_OLD_ENV) or 60))

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir)
        if not self.seconds_per_minute > 0:
            raise ValueError(f"seconds_per_minute: {self.seconds_per_minute} must be positive")
        network = ipaddress.ip_network(self.public_ip_range)
        if not network.subnet_of(ipaddress.ip_network(PUBLIC_IP_RANGE)) or network.num_addresses < 4:
            raise ValueError(f"public_ip_range: {self.public_ip_range} must be a part of {PUBLIC_IP_RANGE} "
                             "with at least 4 addresses")

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def ca_cert_path(self) -> Path:
        return self.pki_dir / "ca.pem"

    @property
    def pid_path(self) -> Path:
        return self.state_dir / "azlab.pid"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "azlab.log"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.bind_host}:{self.proxy_port}"

    @property
    def admin_url(self) -> str:
        return f"https://{self.bind_host}:{self.arm_port}/_azlab"

    def ensure_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)

    def identity(self) -> Identity:
        """Load the per-install identity, creating it on first use."""
        self.ensure_state_dir()
        path = self.state_dir / "identity.json"
        if path.exists():
            return Identity(**json.loads(path.read_text()))
        ident = Identity.generate()
        _write_private(path, json.dumps(ident.__dict__, indent=2))
        return ident
