"""State and Azure's rules. Nothing here does network or process I/O."""

from __future__ import annotations

from azlab.models.base import Registry


def build_registry() -> Registry:
    """Every resource type the lab emulates."""
    from azlab.models import compute, identity, insights, network, storage

    registry = Registry()
    for module in (network, compute, storage, identity, insights):
        module.register(registry)
    return registry
