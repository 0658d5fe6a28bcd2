"""What a lab VM's OS disk holds once its VM is gone.

A lab VM's container *is* its OS disk: packages, /etc, the web root live in the container's
writable layer. Deleting the VM but keeping its OS disk (``remove_on_absent: []``, Azure's
``deleteOption: Detach``) keeps those contents: the controller commits the container to an
image tagged with the disk's ``uniqueId`` before it removes the container, and a VM created
later with that disk attached (``createOption: Attach``) boots from that image - the guest
as it was, not a fresh copy of the marketplace image. A disk that is deleted takes its image
with it. A disk that never ran a VM (or whose contents were lost: ``azlab reset``) boots
the image it was made from, which is what it holds.
"""

from __future__ import annotations

import json
import logging

from azlab.dataplane import podman

LOG = logging.getLogger(__name__)

#: Label of a committed OS disk image: the disk's uniqueId.
DISK_LABEL = "azlab.disk"
REPOSITORY = "localhost/azlab-osdisk"


def image_ref(unique_id: str) -> str:
    return f"{REPOSITORY}:{unique_id.lower()}"


class DiskImages:
    """The OS disk images of one lab, by disk uniqueId; read from podman once, then kept."""

    def __init__(self, instance_label: str):
        self._instance_label = instance_label  # "azlab.lab=<id>": this lab's
        self._known: set[str] | None = None

    def _images(self) -> set[str]:
        if self._known is None:
            self._known = set(lab_images(self._instance_label))
        return self._known

    def image_for(self, unique_id: str | None) -> str | None:
        """The image holding the disk's contents, None when it holds the image it was made from."""
        if unique_id and unique_id.lower() in self._images():
            return image_ref(unique_id)
        return None

    def keep(self, container: str, unique_id: str) -> None:
        """Commit the container of a deleted VM as the contents of its OS disk, which stays.

        ``--pause``: the guest is frozen while its file system is read, as a deleted VM is
        stopped before its disk is detached."""
        instance_key, _, instance_value = self._instance_label.partition("=")
        podman.run(["commit", "--pause=true", "--quiet",
                    "--change", f"LABEL {DISK_LABEL}={unique_id.lower()}",
                    "--change", f"LABEL {instance_key}={instance_value}",
                    container, image_ref(unique_id)])
        self._images().add(unique_id.lower())
        LOG.info("OS disk %s: contents of container %s kept", unique_id, container)

    def forget_deleted(self, existing: set[str]) -> None:
        """Remove the images of disks that no longer exist (``existing``: uniqueIds, lowercase)."""
        for unique_id in sorted(self._images() - existing):
            podman.run(["rmi", "--force", "--ignore", image_ref(unique_id)], check=False)
            self._images().discard(unique_id)

    def forget(self) -> None:
        """After ``purge``: read podman again when next asked."""
        self._known = None


def lab_images(instance_label: str) -> list[str]:
    """The uniqueIds of the OS disk images of the lab with this instance label.

    One label filter only: ``podman images`` ORs its label filters (``podman ps`` ANDs
    them), so the lab's own label is checked here - never another lab's disk."""
    key, _, value = instance_label.partition("=")
    out = podman.run(["images", "--filter", f"label={DISK_LABEL}", "--format", "json"]).stdout
    return [(image.get("Labels") or {})[DISK_LABEL] for image in json.loads(out or "[]")
            if (image.get("Labels") or {}).get(key) == value and (image.get("Labels") or {}).get(DISK_LABEL)]


def purge(instance_label: str) -> None:
    """``azlab reset``: every OS disk image of this lab, nothing else."""
    for unique_id in lab_images(instance_label):
        podman.run(["rmi", "--force", "--ignore", image_ref(unique_id)], check=False)
