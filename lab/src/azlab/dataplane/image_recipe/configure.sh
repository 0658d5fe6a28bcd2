#!/bin/sh
# azlab image recipe, step 2 of 3: runs *inside* the freshly debootstrapped
# rootfs (chroot: no /proc, no network, nothing running) after overlay/ was
# copied in and /etc/apt/sources.list.d/debian.sources was written.
# Everything here turns a generic Debian rootfs into the "Azure VM" that the
# lab runs as a systemd container. Changing this file changes the recipe hash.
set -eu

# --- units that cannot work, or only get in the way, in a VM container -----
# No consoles: podman gives no tty, and a getty would just respawn-fail.
# apt-daily*: timers that take the dpkg lock at random moments (breaking
#   playbooks mid-run) and make every VM hit the mirror; patching in the lab
#   is done on purpose, by the rolling-patch playbook.
# e2scrub/fstrim: the root "disk" is an overlayfs, not a block device.
systemctl mask \
    getty@.service serial-getty@.service console-getty.service \
    container-getty@.service getty-static.service \
    apt-daily.timer apt-daily-upgrade.timer \
    apt-daily.service apt-daily-upgrade.service \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer

# --- SSH ------------------------------------------------------------------
# No host keys in the image: each VM generates its own on first boot
# (cloud-init's ssh module, or azlab-ssh-keygen.service without a seed).
rm -f /etc/ssh/ssh_host_*
systemctl enable ssh.service azlab-ssh-keygen.service

# --- identity: nothing host- or build-specific may leak into the image ------
# Empty machine-id => systemd treats each container's first boot as a
# first boot and gives it its own id.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id
# debootstrap copied the build host's files; podman bind-mounts its own
# /etc/hostname, /etc/hosts and /etc/resolv.conf into every container.
echo localhost > /etc/hostname
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > /etc/hosts
: > /etc/resolv.conf
rm -rf /var/lib/cloud/*

# --- locale: what cloud-init (and Azure's Debian images) default to ---------
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
locale-gen >/dev/null

# --- apt/dpkg: sources come from the generated debian.sources only; the
# build-time-only dpkg speed-up must not reach the VMs ----------------------
rm -f /etc/apt/sources.list /etc/dpkg/dpkg.cfg.d/azlab-build-unsafe-io

# --- size: docs/man/translations (see /etc/dpkg/dpkg.cfg.d/90-azlab-nodoc),
# package caches and lists (a VM runs `apt-get update` before installing) ----
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} +
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old
rm -rf /var/log/apt/* /var/log/bootstrap.log /tmp/* /var/tmp/*
find /var/log -type f -name '*.log' -exec truncate -s 0 {} +
