"""OS disk images on the host: each lab sees and removes only its own (two labs run side by
side in CI, and ``podman images`` ORs its label filters)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from azlab.dataplane import os_disks, podman

pytestmark = [pytest.mark.dataplane,
              pytest.mark.skipif(podman.unavailable_reason() is not None, reason="needs root and podman")]


@pytest.fixture
def two_labs(tmp_path):
    """An OS disk image of lab A and one of lab B (empty images with the labels a commit gives)."""
    labs = {name: f"test{uuid.uuid4().hex[:8]}" for name in ("a", "b")}
    disks = {name: str(uuid.uuid4()) for name in labs}
    for name, lab in labs.items():
        (tmp_path / f"Containerfile.{name}").write_text(
            f"FROM scratch\nLABEL {os_disks.DISK_LABEL}={disks[name]} azlab.lab={lab}\n")
        podman.run(["build", "-q", "-f", str(tmp_path / f"Containerfile.{name}"), "-t",
                    os_disks.image_ref(disks[name]), str(tmp_path)])
    yield labs, disks
    for disk in disks.values():
        podman.run(["rmi", "--force", "--ignore", os_disks.image_ref(disk)], check=False)


def exists(disk: str) -> bool:
    return subprocess.run(["podman", "image", "exists", os_disks.image_ref(disk)]).returncode == 0


def test_a_lab_lists_and_forgets_only_its_own_disk_images(two_labs):
    labs, disks = two_labs
    assert os_disks.lab_images(f"azlab.lab={labs['a']}") == [disks["a"]]
    # lab A's store holds no disk at all: it removes its own image, never lab B's
    os_disks.DiskImages(f"azlab.lab={labs['a']}").forget_deleted(set())
    assert not exists(disks["a"]) and exists(disks["b"])
    os_disks.purge(f"azlab.lab={labs['a']}")
    assert exists(disks["b"])
