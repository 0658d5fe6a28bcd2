"""Private addresses: the range a subnet hands out, Azure's reserved addresses, and the
address an ip configuration gets (Dynamic: lowest free from .4; Static: checked)."""

from __future__ import annotations

import ipaddress

from azlab.models.base import Context
from azlab.models.errors import ArmError, invalid_parameter, missing_property
from azlab.models.ids import same_id
from azlab.models.network.backrefs import subnet_users
from azlab.models.network.values import ip_address, version_name


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def subnet_prefix(subnet: dict, version: str = "IPv4") -> Network | None:
    """The range of one address version a subnet hands addresses out of (its first prefix
    of that version: a dual-stack subnet has an IPv4 and an IPv6 /64 prefix)."""
    props = subnet.get("properties", {})
    prefixes = [props["addressPrefix"]] if props.get("addressPrefix") else list(props.get("addressPrefixes") or [])
    for prefix in prefixes:
        network = ipaddress.ip_network(prefix, strict=False)
        if version_name(network) == version:
            return network
    return None


def is_reserved(network: Network, address: Address) -> bool:
    """Azure reserves the first four addresses and the last address of every subnet (IPv6
    too: a dual-stack VM's first IPv6 address is ::4)."""
    offset = int(address) - int(network.network_address)
    return offset < 4 or offset == network.num_addresses - 1


def static_address(network: Network, requested, in_use: dict[str, str], config_id: str, target: str,
                   version: str) -> str:
    """A Static address: given, of the configuration's version, inside the subnet, not
    reserved, not another configuration's."""
    if requested in (None, ""):
        raise missing_property(f"{target}.privateIPAddress", "Static private IP allocation")
    address = ip_address(requested, f"{target}.privateIPAddress")
    if version_name(address) != version:
        raise invalid_parameter(f"{target}.privateIPAddress",
                                f"Private IP address {address} is not an {version} address, the "
                                f"privateIPAddressVersion of {config_id}.")
    if address not in network:
        raise ArmError(400, "PrivateIPAddressNotInSubnet",
                       f"Private static IP address {address} does not belong to the range of subnet prefix "
                       f"{network}.", target=f"{target}.privateIPAddress")
    if is_reserved(network, address):
        # (unverified code) Azure refuses the reserved addresses of a subnet.
        raise ArmError(400, "PrivateIPAddressInReservedRange",
                       f"Private static IP address {address} falls within reserved IP range of subnet prefix "
                       f"{network}.", target=f"{target}.privateIPAddress")
    holder = in_use.get(str(address))
    if holder and not same_id(holder, config_id):
        raise ArmError(400, "PrivateIPAddressInUse",
                       f"IP configuration {config_id} is using the private IP address {address} which is "
                       f"already allocated to resource {holder}.", target=f"{target}.privateIPAddress")
    return str(address)


def _assignable(network: Network) -> range:
    """Offsets of the addresses a subnet hands out: Azure keeps the first four and the last
    (lazily a range: an IPv6 /64 has 2**64 candidates)."""
    return range(4, network.num_addresses - 1)


def free_addresses(ctx: Context, subnet_id: str, subnet: dict) -> int:
    """How many more IPv4 addresses the subnet can hand out."""
    network = subnet_prefix(subnet)
    if network is None:
        return 0
    offsets = _assignable(network)
    used = set()
    for _, address in subnet_users(ctx, subnet_id):
        ip = ipaddress.ip_address(address) if address else None
        if ip is not None and ip in network and int(ip) - int(network.network_address) in offsets:
            used.add(ip)
    return len(offsets) - len(used)


def assign_private_ip(ctx: Context, subnet_id: str, subnet: dict, method: str, requested, current: str | None,
                      taken: dict[str, str], owner_id: str, config_id: str, target: str, version: str = "IPv4") -> str:
    """The private IP of address ``version`` an ip configuration gets in ``subnet``.

    ``taken`` maps addresses to the ip configs already holding them in the resource being
    built; addresses of other resources are found by scanning (so a delete frees them).
    Dynamic keeps the current address when it is still in the subnet, else takes the
    lowest free one (the first VM gets .4); Static must be inside, unreserved and free.
    """
    network = subnet_prefix(subnet, version)
    if network is None:
        raise invalid_parameter(f"{target}.subnet", f"Subnet {subnet_id} has no {version} address prefix to allocate "
                                                    "the ip configuration's address from.")
    in_use = dict(taken)
    for config, address in subnet_users(ctx, subnet_id):
        if address and not config.lower().startswith(owner_id.lower() + "/"):
            in_use.setdefault(address, config)
    if method == "Static":
        return static_address(network, requested, in_use, config_id, target, version)
    if current and ipaddress.ip_address(current) in network and current not in in_use:
        return current
    for offset in _assignable(network):
        candidate = str(network.network_address + offset)
        if candidate not in in_use:
            return candidate
    raise ArmError(400, "SubnetIsFull",
                   f"Subnet {subnet_id.rsplit('/', 1)[-1]} with address prefix {network} does not have enough "
                   f"capacity for 1 IP addresses.", target=f"{target}.subnet")
