"""Microsoft.Storage resource types."""

from __future__ import annotations

from azlab.models.base import Registry


def register(registry: Registry) -> None:
    """Add this provider's types to the registry."""
