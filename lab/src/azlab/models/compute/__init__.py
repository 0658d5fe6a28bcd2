"""Microsoft.Compute: availability sets, proximity placement groups, virtual machines (+ extensions), managed disks,
scale sets (Uniform) with their instances and extensions,
and the region's VM sizes and marketplace images.

The data plane reads and reports VM state through ``azlab.models.compute.state``
(``vm_spec``, ``set_power_state``, ``set_extension_status``).
"""

from __future__ import annotations

from azlab.models.base import Registry
from azlab.models.compute.availability_sets import AvailabilitySetType
from azlab.models.compute.catalog import register_location_handlers
from azlab.models.compute.disks import DiskType
from azlab.models.compute.extensions import ExtensionType
from azlab.models.compute.proximity_placement_groups import ProximityPlacementGroupType
from azlab.models.compute.rolling_upgrades import RollingUpgradesType
from azlab.models.compute.run_commands import RunCommandType
from azlab.models.compute.scale_set_extensions import ScaleSetExtensionType
from azlab.models.compute.scale_set_instances import (ScaleSetInstanceType, ScaleSetNicIpConfigurationType,
                                                      ScaleSetNicListType, ScaleSetNicType)
from azlab.models.compute.scale_sets import ScaleSetType
from azlab.models.compute.skus import resource_skus
from azlab.models.compute.virtual_machines import VirtualMachineType


def register(registry: Registry) -> None:
    """Add this provider's types to the registry."""
    for rtype in (AvailabilitySetType(), VirtualMachineType(), ExtensionType(), RunCommandType(), DiskType(),
                  ProximityPlacementGroupType(), ScaleSetType(), ScaleSetInstanceType(), ScaleSetNicType(),
                  ScaleSetNicIpConfigurationType(), ScaleSetNicListType(), RollingUpgradesType(),
                  ScaleSetExtensionType()):
        registry.register(rtype)
    register_location_handlers(registry)
    registry.provider_lists[("microsoft.compute", "skus")] = resource_skus
