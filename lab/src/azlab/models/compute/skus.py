"""GET /subscriptions/{s}/providers/Microsoft.Compute/skus: Resource SKUs (``az vm list-skus``).

One entry per SKU and location, as Azure answers: the lab's VM sizes (capabilities as
strings, as Azure sends them), the availability set SKUs and the managed disk SKUs. Only
``$filter=location eq '<loc>'`` is supported, as on Azure; nothing is restricted.
"""

from __future__ import annotations

import re

from azlab.models.base import LOCATIONS, Context, normalise_location
from azlab.models.compute.catalog import OS_DISK_SIZE_MB, VM_SIZES, VmSize
from azlab.models.compute.disks import SKU_TIERS
from azlab.models.errors import ArmError

_LOCATION_FILTER = re.compile(r"^\s*location\s+eq\s+'([^']+)'\s*$", re.I)


def family(size: VmSize) -> str:
    """Azure's quota family of a size: Standard_D2as_v5 -> standardDASv5Family."""
    match = re.match(r"Standard_([A-Z]+)\d+([a-z]*)(?:_v(\d+))?$", size.name)
    letters, suffix, version = match.group(1), match.group(2), match.group(3)
    features = "".join(c.upper() for c in suffix if c in "as")
    return f"standard{letters}{features}{'v' + version if version else ''}Family"


def _capabilities(pairs: dict) -> list[dict]:
    return [{"name": name, "value": str(value)} for name, value in pairs.items()]


def _vm_sku(size: VmSize, location: str) -> dict:
    return {"resourceType": "virtualMachines", "name": size.name, "tier": "Standard",
            "size": size.name.split("_", 1)[1], "family": family(size), "locations": [location],
            "locationInfo": [{"location": location, "zones": ["1", "2", "3"], "zoneDetails": []}],
            "capabilities": _capabilities({
                "MaxResourceVolumeMB": size.resource_disk_mb, "OSVhdSizeMB": OS_DISK_SIZE_MB, "vCPUs": size.cores,
                "MemoryGB": f"{size.memory_mb / 1024:g}", "MaxDataDiskCount": size.max_data_disks,
                "HyperVGenerations": "V1,V2", "LowPriorityCapable": "True",
                "PremiumIO": "True" if size.premium_storage else "False", "vCPUsAvailable": size.cores,
                "CpuArchitectureType": "x64", "MaxNetworkInterfaces": 2, "EphemeralOSDiskSupported": "False",
                "AcceleratedNetworkingEnabled": "False"}),
            "restrictions": []}


def _other_skus(location: str) -> list[dict]:
    avsets = [{"resourceType": "availabilitySets", "name": name, "locations": [location],
               "locationInfo": [{"location": location, "zones": [], "zoneDetails": []}],
               "capabilities": _capabilities({"MaximumPlatformFaultDomainCount": 3}), "restrictions": []}
              for name in ("Classic", "Aligned")]
    disks = [{"resourceType": "disks", "name": name, "tier": tier, "size": name.split("_")[0], "locations": [location],
              "locationInfo": [{"location": location, "zones": ["1", "2", "3"], "zoneDetails": []}],
              "capabilities": _capabilities({"MaxSizeGiB": 32767, "MinSizeGiB": 0}), "restrictions": []}
             for name, tier in SKU_TIERS.items()]
    return avsets + disks


def resource_skus(ctx: Context, query) -> dict:
    wanted = query.get("$filter")
    locations = sorted(LOCATIONS)
    if wanted:
        match = _LOCATION_FILTER.match(wanted)
        if not match:
            raise ArmError(400, "InvalidFilterInQueryString", f"The $filter '{wanted}' is not supported: only "
                           "location eq '<location>' is.", target="$filter")
        locations = [normalise_location(match.group(1))]
    return {"value": [sku for location in locations
                      for sku in [*(_vm_sku(size, location) for size in VM_SIZES.values()), *_other_skus(location)]]}
