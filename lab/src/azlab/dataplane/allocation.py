"""What the lab's one host can allocate: a VM size it cannot hold fails as on Azure."""

from __future__ import annotations

import os

from azlab.models.compute.catalog import find_size


def capacity_refusal(vm_size: str) -> str | None:
    """Why this host cannot run a VM of ``vm_size``, or None.

    Azure places a VM on a host with room for its size; the lab's only host is this machine,
    so a size with more vCPUs or memory than the machine has fails to allocate, as a size no
    cluster can hold fails on Azure (AllocationFailed)."""
    size = find_size(vm_size)
    if size is None:
        return None
    cores = os.cpu_count() or 1
    if size.cores > cores:
        return (f"Allocation failed: {size.name} has {size.cores} vCPUs and the lab's host has {cores} cores. "
                "Choose a smaller VM size.")
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    if size.memory_mb > memory_mb:
        return (f"Allocation failed: {size.name} has {size.memory_mb} MiB of memory and the lab's host has "
                f"{memory_mb} MiB. Choose a smaller VM size.")
    return None
