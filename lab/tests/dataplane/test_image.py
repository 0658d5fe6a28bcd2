"""Tests of the lab VM image and its runtime contract (azlab.dataplane.image).

The first group is pure (apt sources parsing, recipe hash, seed files, run
flags). The second boots a real VM container from the real image - built on
first use, ~2 minutes, then cached in ~/.cache/azlab/images - and checks it
from the outside over SSH, the way Ansible will use it: osProfile user and
key from the NoCloud seed, hostname, python3, passwordless sudo, password
authentication off, customData run, apt reaching the mirror, and a fresh
boot_id after a reboot. It needs root and podman and is skipped otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from azlab.dataplane import apt_sources, image, podman, vm_container

# ---------------------------------------------------------------------- pure

DEB822 = """\
Types: deb
# a comment inside the paragraph
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /etc/apt/keyrings/host-only.gpg

Enabled: No
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: https://vendor.example/apt
Suites: nodistro
Components: main
"""


def test_deb822_sources_keep_debian_suites_only():
    sources = apt_sources.debian_sources(apt_sources.parse_deb822_sources(DEB822))
    assert [s.uris for s in sources] == [("http://mirror.example/debian",),
                                         ("http://mirror.example/debian-security",)]
    assert sources[0].suites == ("bookworm", "bookworm-updates")
    assert apt_sources.primary_mirror(sources) == "http://mirror.example/debian"


def test_guest_sources_keep_archive_keyring_and_drop_host_only_keys():
    text = apt_sources.render_guest_sources(apt_sources.debian_sources(apt_sources.parse_deb822_sources(DEB822)))
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in text
    assert "host-only.gpg" not in text
    assert "Components: main contrib" in text
    assert "deb-src" not in text and "disabled.example" not in text


def test_one_line_sources_with_options():
    text = ("deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
            "http://mirror.example/debian bookworm main  # trailing comment\n"
            "# deb http://commented.example/debian bookworm main\n"
            "deb-src http://mirror.example/debian bookworm main\n")
    sources = apt_sources.debian_sources(apt_sources.parse_one_line_sources(text))
    assert len(sources) == 1
    assert sources[0].uris == ("http://mirror.example/debian",)
    assert ("Signed-By", "/usr/share/keyrings/debian-archive-keyring.gpg") in sources[0].options


def test_no_debian_mirror_is_a_clear_error(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "vendor.list").write_text(
        "deb https://vendor.example/apt nodistro main\n")
    with pytest.raises(apt_sources.AptSourcesError, match="no apt source for Debian 'bookworm'"):
        apt_sources.primary_mirror(apt_sources.debian_sources(apt_sources.read_apt_sources(tmp_path)))
    # the data plane asks for the image and gets the image's own error, naming the cause
    with pytest.raises(image.ImageBuildError, match="no apt source for Debian 'bookworm'"):
        image.ensure_image_verbose(tmp_path / "cache", apt_dir=tmp_path)


def test_recipe_hash_follows_recipe_and_mirror(tmp_path):
    sources = apt_sources.debian_sources(apt_sources.parse_deb822_sources(DEB822))
    base = image.recipe_hash(sources)
    assert base == image.recipe_hash(sources)
    other_mirror = apt_sources.debian_sources(apt_sources.parse_deb822_sources(
        DEB822.replace("mirror.example", "other.example")))
    assert image.recipe_hash(other_mirror) != base

    recipe = tmp_path / "recipe"
    subprocess.run(["cp", "-a", str(image.RECIPE_DIR), str(recipe)], check=True)
    assert image.recipe_hash(sources, recipe) == base
    with open(recipe / "packages.txt", "a") as f:
        f.write("htop\n")
    assert image.recipe_hash(sources, recipe) != base


def test_seed_maps_os_profile_like_azure(tmp_path):
    seed = vm_container.write_nocloud_seed(tmp_path / "seed", instance_id="id-1", hostname="web-vm1",
                                    admin_username="azureuser", ssh_public_keys=["ssh-ed25519 AAAA k"],
                                    custom_data="#!/bin/sh\necho hi\n")
    meta = json.loads((seed / "meta-data").read_text())
    assert meta == {"instance-id": "id-1", "local-hostname": "web-vm1",
                    "public-keys": ["ssh-ed25519 AAAA k"]}
    vendor_text = (seed / "vendor-data").read_text()
    assert vendor_text.startswith("#cloud-config\n")
    vendor = json.loads(vendor_text.split("\n", 1)[1])
    assert vendor["system_info"]["default_user"]["name"] == "azureuser"
    assert vendor["ssh_pwauth"] is False
    assert (seed / "user-data").read_text() == "#!/bin/sh\necho hi\n"
    assert (seed / "vendor-data").stat().st_mode & 0o077 == 0


def test_vm_run_args_carry_the_vm_contract(tmp_path):
    mac = vm_container.mac_address_for("nic-1")
    assert mac == vm_container.mac_address_for("nic-1") != vm_container.mac_address_for("nic-2")
    assert mac.startswith("00:0d:3a:") and len(mac) == 17
    args = vm_container.vm_run_args("azlab-test-x", "img:tag", hostname="vm1", seed_dir=tmp_path,
                             network="net", ip="10.0.0.5", mac=mac, labels={"azlab.vm": "x"})
    assert args[-2:] == ["img:tag", "/sbin/init"]
    for flag in ("--systemd=always", "--restart=always", podman.LAB_LABEL, "azlab.vm=x",
                 f"{podman.BOOTID_ANNOTATION}=true", "SYS_BOOT", mac, "10.0.0.5"):
        assert flag in args
    assert f"type=bind,src={tmp_path.resolve()},dst={vm_container.GUEST_SEED_DIR},ro=true" in args
    assert "--privileged" not in args


# --------------------------------------------------------------- real VM boot

SKIP_REASON = podman.unavailable_reason()
needs_podman = pytest.mark.skipif(SKIP_REASON is not None, reason=f"needs podman: {SKIP_REASON}")
dataplane = pytest.mark.dataplane

ADMIN = "azureuser"
HOSTNAME = "azlabtestvm1"
MARKER = "/var/tmp/azlab-customdata-ran"


@dataclass
class Vm:
    name: str
    ip: str
    key: Path
    image: str

    def ssh(self, command: str, check: bool = True, timeout: float = 60) -> str:
        proc = subprocess.run(
            ["ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR",
             "-i", str(self.key), f"{ADMIN}@{self.ip}", command],
            capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {command!r} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout.strip()

    def wait_ssh(self, timeout: float = 120) -> float:
        """Seconds until ``ssh true`` succeeds (the VM is reachable as Ansible needs it)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                self.ssh("true", timeout=10)
                return time.monotonic() - started
            except (AssertionError, subprocess.TimeoutExpired):
                time.sleep(0.2)
        state = podman.container_state(self.name)
        raise AssertionError(f"no SSH to {self.ip} after {timeout}s (container {state})")

    def boot_id(self) -> str:
        return self.ssh("cat /proc/sys/kernel/random/boot_id")


def _free_test_subnet() -> ipaddress.IPv4Network:
    """A /24 for the test network that no host route or podman network uses."""
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route"], capture_output=True,
                                       text=True, check=True).stdout)
    used = [ipaddress.ip_network(r["dst"], strict=False) for r in routes if r["dst"] != "default"]
    for net in json.loads(podman.run(["network", "ls", "--format", "json"]).stdout):
        used += [ipaddress.ip_network(s["subnet"]) for s in net.get("subnets") or []]
    for third in range(250, 200, -1):
        candidate = ipaddress.ip_network(f"10.123.{third}.0/24")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    pytest.skip("no free 10.123.x.0/24 for the test network")


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    """One VM container booted from the image with a NoCloud seed, removed afterwards."""
    work = tmp_path_factory.mktemp("vm")
    ref = image.ensure_image()
    if podman.hooks_dirs():
        podman.install_bootid_hook()
    suffix = secrets.token_hex(3)
    name, network = f"azlab-test-vm-{suffix}", f"azlab-test-net-{suffix}"
    subnet = _free_test_subnet()
    ip = str(subnet.network_address + 10)
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "azlab-test",
                    "-f", str(key)], check=True)
    seed = vm_container.write_nocloud_seed(
        work / "seed", instance_id=f"azlab-test-{suffix}", hostname=HOSTNAME,
        admin_username=ADMIN, ssh_public_keys=[key.with_suffix(".pub").read_text().strip()],
        custom_data=f"#cloud-config\nruncmd:\n  - [sh, -c, 'echo ran > {MARKER}']\n")
    try:
        podman.create_network(network, str(subnet))
        podman.run(vm_container.vm_run_args(name, ref, hostname=HOSTNAME, seed_dir=seed,
                                     network=network, ip=ip, mac=vm_container.mac_address_for(name)))
        machine = Vm(name, ip, key, ref)
        machine.wait_ssh()
        yield machine
    finally:
        podman.remove_container(name)
        podman.remove_network(network)


@dataplane
@needs_podman
def test_image_ships_no_ssh_host_keys_or_machine_id(vm):
    out = podman.run(["run", "--rm", "--label", podman.LAB_LABEL, vm.image, "sh", "-c",
                      "ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l; wc -c < /etc/machine-id"]).stdout
    assert out.split() == ["0", "0"]


@dataplane
@needs_podman
def test_systemd_reaches_running(vm):
    state = vm.ssh("systemctl is-system-running --wait", check=False)
    failed = vm.ssh("systemctl --failed --no-legend --plain", check=False)
    assert state == "running", f"system {state}; failed units: {failed}"


@dataplane
@needs_podman
def test_cloud_init_applied_os_profile_and_custom_data(vm):
    vm.ssh("cloud-init status --wait", check=False)
    assert vm.ssh("hostname") == HOSTNAME
    assert vm.ssh("cat /etc/hostname") == HOSTNAME
    assert vm.ssh(f"cat {MARKER}") == "ran"
    assert "DataSourceNoCloud" in vm.ssh("cloud-init status --long")


@dataplane
@needs_podman
def test_python3_for_ansible(vm):
    assert vm.ssh("python3 -c 'import sys; print(sys.version_info[0])'") == "3"


@dataplane
@needs_podman
def test_admin_has_passwordless_sudo(vm):
    assert vm.ssh("sudo -n id -u") == "0"


@dataplane
@needs_podman
def test_password_authentication_disabled(vm):
    effective = vm.ssh("sudo sshd -T").splitlines()
    assert "passwordauthentication no" in effective


@dataplane
@needs_podman
def test_apt_reaches_the_mirror(vm):
    vm.ssh("sudo apt-get update -q", timeout=180)
    assert "Candidate:" in vm.ssh("apt-cache policy nginx")


@dataplane
@needs_podman
def test_reboot_gives_a_new_boot_id(vm):
    """ansible.builtin.reboot waits for /proc/sys/kernel/random/boot_id to change."""
    assert podman.bootid_hook_installed(), (
        "the boot_id OCI hook is not active: lab/containers.conf needs "
        '[engine] hooks_dir = ["/var/lib/azlab/oci-hooks.d"] (see docs/lab-image.md)')
    host_boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    first = vm.boot_id()
    assert first != host_boot_id

    vm.ssh("sudo systemctl reboot", check=False)
    time.sleep(1)
    vm.wait_ssh()
    after_reboot = vm.boot_id()
    assert after_reboot not in (first, host_boot_id)
    assert podman.container_state(vm.name) == "running"

    podman.run(["restart", vm.name])
    vm.wait_ssh()
    assert vm.boot_id() not in (after_reboot, first, host_boot_id)
