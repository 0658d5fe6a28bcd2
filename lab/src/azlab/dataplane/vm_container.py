"""How a lab VM's container is started from the image, and how its osProfile and customData
reach the guest (a NoCloud seed for cloud-init): the image's runtime contract."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

from azlab.dataplane import podman

#: Where cloud-init's NoCloud datasource looks for a seed inside the guest.
GUEST_SEED_DIR = "/var/lib/cloud/seed/nocloud"


def vm_run_args(
    name: str,
    image: str,
    *,
    hostname: str,
    seed_dir: Path | str,
    network: str | None = None,
    ip: str | None = None,
    mac: str | None = None,
    labels: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``podman`` arguments that start one lab VM from the image (``podman.run(...)``).

    * ``--systemd=always`` + ``/sbin/init``: systemd as PID 1 (podman adds
      the tmpfs mounts, cgroup access and SIGRTMIN+3 stop signal it needs).
    * ``--restart=always``: an in-guest ``systemctl reboot`` ends PID 1;
      conmon starts the container again, which is the VM rebooting.
    * ``--annotation azlab.bootid=true``: the OCI hook gives each boot its
      own /proc/sys/kernel/random/boot_id (ansible.builtin.reboot needs it).
    * ``--cap-add SYS_BOOT``: lets the guest's systemd call reboot(2), which
      in a container's PID namespace only ends that namespace's init - with
      SIGHUP for reboot (exit 129) and SIGINT for poweroff/halt (exit 130),
      so the data plane can tell them apart. Without it systemd gets EPERM
      and exits 0 for both. (kexec_load stays blocked by podman's seccomp.)
    * the NoCloud seed, read-only: osProfile and customData for cloud-init.
    * ``--ip`` and ``--mac-address``: a VM keeps both across restarts, like
      an Azure NIC. The fixed MAC is not cosmetic: with podman's random
      per-start MAC, the host's ARP entry for the IP can stay REACHABLE with
      the previous MAC after ``podman restart`` and black-hole traffic to the
      VM for 25-50 s (measured). Pass the NIC's macAddress (or
      :func:`mac_address_for`).
    * nothing else: no --privileged, no SYS_ADMIN.
    """
    args = ["run", "--detach", "--name", name, "--hostname", hostname,
            "--systemd=always", "--restart=always", "--cap-add", "SYS_BOOT",
            "--annotation", f"{podman.BOOTID_ANNOTATION}=true",
            *podman.label_args(labels),
            "--mount", f"type=bind,src={Path(seed_dir).resolve()},dst={GUEST_SEED_DIR},ro=true"]
    if network:
        args += ["--network", network]
    if ip:
        args += ["--ip", ip]
    if mac:
        args += ["--mac-address", mac]
    return [*args, *extra, image, "/sbin/init"]


def mac_address_for(key: str) -> str:
    """A stable MAC for ``key`` (e.g. a NIC id) in Azure's 00:0d:3a OUI."""
    digest = hashlib.sha256(key.encode()).digest()
    return "00:0d:3a:" + ":".join(f"{b:02x}" for b in digest[:3])


def write_seed_for(spec: Mapping, seed_dir: Path | str) -> Path:
    """The NoCloud seed of a VM (``vm_spec``): the osProfile its OS disk was made with.

    A VM created again on a kept OS disk has a new vmId, so cloud-init sees a new instance,
    as it does on Azure (it makes new SSH host keys)."""
    guest = spec["guest"]
    custom = guest.get("customData")
    return write_nocloud_seed(
        seed_dir, instance_id=spec["vm_id"], hostname=guest.get("computerName") or spec["name"],
        admin_username=guest["adminUsername"],
        ssh_public_keys=[k["keyData"] for k in guest.get("sshPublicKeys") or []],
        custom_data=base64.b64decode(custom) if custom else None,
        disable_password_authentication=not guest.get("passwordAuthentication", False))


def write_nocloud_seed(
    seed_dir: Path | str,
    *,
    instance_id: str,
    hostname: str,
    admin_username: str,
    ssh_public_keys: Sequence[str] = (),
    custom_data: str | bytes | None = None,
    admin_password: str | None = None,
    disable_password_authentication: bool = True,
) -> Path:
    """Write the NoCloud seed that turns an osProfile into what Azure's cloud-init does.

    Mapping (as on Azure, where the admin user is cloud-init's *default user*
    and customData is the user-data):

    * meta-data: instance-id (VM id; a new id means first boot again),
      local-hostname (computerName), public-keys (ssh.publicKeys, installed
      for the default user);
    * vendor-data: default_user = adminUsername with passwordless sudo,
      ssh_pwauth from disablePasswordAuthentication, the admin password if any;
    * user-data: customData verbatim (cloud-config, script, ...), so a
      customData that sets ``users:`` without ``default`` drops the admin
      user exactly as it would on Azure.

    Files are written as JSON (valid YAML) so no YAML library is needed, and
    mode 0600 in a 0700 directory because they may carry a password.
    """
    seed = Path(seed_dir)
    seed.mkdir(parents=True, exist_ok=True)
    seed.chmod(0o700)
    meta = {"instance-id": instance_id, "local-hostname": hostname,
            "public-keys": list(ssh_public_keys)}
    default_user = {"name": admin_username, "lock_passwd": admin_password is None,
                    "gecos": "azlab admin user", "groups": ["adm", "sudo"],
                    "sudo": ["ALL=(ALL) NOPASSWD:ALL"], "shell": "/bin/bash"}
    vendor: dict = {"system_info": {"default_user": default_user},
                    "ssh_pwauth": not disable_password_authentication}
    if admin_password is not None:
        vendor["chpasswd"] = {"expire": False, "users": [
            {"name": admin_username, "password": admin_password, "type": "text"}]}
    if custom_data is None:
        custom_data = "#cloud-config\n{}\n"
    _write_private(seed / "meta-data", json.dumps(meta, indent=2) + "\n")
    _write_private(seed / "vendor-data", "#cloud-config\n" + json.dumps(vendor, indent=2) + "\n")
    _write_private(seed / "user-data", custom_data)
    return seed


def _write_private(path: Path, content: str | bytes) -> None:
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
