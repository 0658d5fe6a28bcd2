"""The lab's objects on the host: how they are named and labelled, listed and purged.

Two labs on one machine (a developer's and a test session's) never touch each other's:
containers carry ``azlab.managed`` and the lab's instance label, network namespaces the
lab's instance ID in their name, HAProxys live in the lab's state directory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from azlab.dataplane import os_disks, podman, vnet
from azlab.dataplane.lb.paths import RuntimePaths
from azlab.dataplane.lb.process import HAProxyProcess
from azlab.models.store import key_of

ROLE_LABEL = "azlab.role"
#: Which lab (state directory) created a container or network: two labs on one machine
#: (a developer's and a test session's) never remove each other's.
LAB_INSTANCE_LABEL = "azlab.lab"
VM_LABEL = "azlab.vm"
#: The vmId of the VM a container runs: a VM deleted and created again under the same name
#: (a replaced VM) gets a new vmId, and a new container.
VM_ID_LABEL = "azlab.vmid"
#: The scale set model a scale set instance's container was made from.
MODEL_LABEL = "azlab.model"

def _safe(text: str, limit: int = 20) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:limit]


def _digest(text: str) -> str:
    return hashlib.sha1(key_of(text).encode()).hexdigest()[:8]


def container_name(vm_id: str) -> str:
    """``azlab-<VM name>-<digest>``; a scale set instance is named ``<set>_<instance ID>``."""
    parts = vm_id.rstrip("/").split("/")
    name = parts[-1]
    if len(parts) > 2 and parts[-4].lower() == "virtualmachinescalesets":
        name = f"{parts[-3]}_{parts[-1]}"
    return f"azlab-{_safe(name, 32)}-{_digest(vm_id)}"


def instance_id(state_dir: Path) -> str:
    return _digest(str(Path(state_dir).resolve()))


def instance_label(state_dir: Path) -> str:
    return f"{LAB_INSTANCE_LABEL}={instance_id(state_dir)}"


def lab_objects(state_dir: Path, kind: str) -> list[str]:
    """Names of this lab's containers ("container": labelled azlab.managed AND this lab's)
    or network namespaces ("network": its VNets' and NICs')."""
    if kind == "network":
        return sorted(vnet.lab_namespaces(instance_id(state_dir)))
    filters = ["--filter", f"label={podman.LAB_LABEL}", "--filter", f"label={instance_label(state_dir)}"]
    return podman.run(["ps", "-a", *filters, "--format", "{{.Names}}"]).stdout.split()


def purge(state_dir: Path) -> None:
    """``azlab reset``: remove every container, OS disk image, namespace and HAProxy of this lab, nothing else.

    Only containers labelled ``azlab.managed=true`` and with this lab's instance label, and
    namespaces named with this lab's instance ID, are touched; HAProxys only through the
    pidfiles of the lab's own LB directories (the driver checks each PID's command line)."""
    if podman.unavailable_reason() is None:
        for name in lab_objects(state_dir, "container"):
            podman.remove_container(name)
        os_disks.purge(instance_label(state_dir))
    for name in lab_objects(state_dir, "network"):
        vnet.remove_namespace(name)
    lb_dir = Path(state_dir) / "lb"
    for directory in sorted(lb_dir.glob("*")) if lb_dir.is_dir() else []:
        process = HAProxyProcess.adopt(RuntimePaths(directory))
        if process is not None:
            process.stop()
        shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(Path(state_dir) / "seeds", ignore_errors=True)
