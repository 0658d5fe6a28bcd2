#!/bin/sh
# webfarm execution-environment base image, step 2 of 3 of the lab's image
# build (lab/src/azlab/dataplane/image.py, build_tarball with this recipe):
# runs inside the debootstrapped rootfs (chroot, no network).
set -eu

# apt sources come from the generated debian.sources only; the build-time dpkg
# speed-up must not reach the image
rm -f /etc/apt/sources.list /etc/dpkg/dpkg.cfg.d/azlab-build-unsafe-io

# nothing build-host specific (podman bind-mounts its own)
: > /etc/machine-id
echo localhost > /etc/hostname
: > /etc/resolv.conf

# size: docs/man/translations (overlay/etc/dpkg/dpkg.cfg.d/90-webfarm-nodoc),
# package caches and lists
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} +
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old
rm -rf /var/log/apt/* /var/log/bootstrap.log /tmp/* /var/tmp/*
find /var/log -type f -name '*.log' -exec truncate -s 0 {} +
