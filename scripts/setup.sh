#!/usr/bin/env bash
# Idempotent setup of the azure_ha.webfarm development / CI environment.
#
#   1. Debian packages from bindep.txt (apt-get only when one is missing)
#   2. .venv with requirements-dev.txt + azure.azcollection's requirements.txt
#      + the lab package (lab/, editable), skipped when nothing changed;
#      .venv-azcli with the Azure CLI (its pins conflict with azcollection's)
#   3. offline pip bootstrap for `ansible-test sanity`
#   4. podman check with the project's lab/containers.conf
#
# Fast when already done. Environment knobs:
#   WEBFARM_PYTHON     interpreter for the venv (default: first Python 3.11 found)
#   WEBFARM_WHEELHOUSE wheel cache (default: ~/.cache/webfarm/wheels)
#   WEBFARM_SKIP_APT=1 do not touch Debian packages
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VENV="$ROOT/.venv"
WHEELHOUSE="${WEBFARM_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/webfarm/wheels}"
# bump when the way the venv is built changes, to force a reinstall
STAMP_FORMAT=3

step() { printf '==> setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS

# --------------------------------------------------------------------------
# 1. Debian packages
# --------------------------------------------------------------------------
bindep_packages() {
    # first field of every non-comment line whose profile (if any) is dpkg
    awk '!/^[[:space:]]*(#|$)/ { if ($0 ~ /\[/ && $0 !~ /platform:dpkg/) next; print $1 }' bindep.txt
}

missing=()
for pkg in $(bindep_packages); do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    step "apt: all $(bindep_packages | wc -l) bindep.txt packages installed"
elif [ "${WEBFARM_SKIP_APT:-0}" = 1 ]; then
    step "apt: WEBFARM_SKIP_APT=1, NOT installing missing: ${missing[*]}"
else
    step "apt: installing missing packages: ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
        SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
    step "apt: installed ${missing[*]}"
fi

# --------------------------------------------------------------------------
# 2. virtualenv
# --------------------------------------------------------------------------
find_python() {
    local c
    for c in ${WEBFARM_PYTHON:-} python3.11 python3 "$HOME"/.pyenv/versions/3.11*/bin/python3; do
        if command -v "$c" >/dev/null 2>&1 &&
           "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

# create the venv $1 with Python 3.11 unless it is there already
make_venv() {
    local venv=$1 py
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        step "venv: $venv exists ($("$venv/bin/python" --version))"
    else
        py=$(find_python) || die "Python 3.11 not found (set WEBFARM_PYTHON); ansible-core 2.19 is the newest that supports it and 2.20 needs 3.12"
        rm -rf "$venv"
        "$py" -m venv "$venv"
        step "venv: created $venv with $("$venv/bin/python" --version)"
    fi
}

make_venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
AZREQ="$VENV/lib/python3.11/site-packages/ansible_collections/azure/azcollection/requirements.txt"

stamp_value() {
    {
        echo "format=$STAMP_FORMAT"
        "$VENV/bin/python" --version
        cat requirements-dev.txt
        [ -f lab/pyproject.toml ] && cat lab/pyproject.toml
        [ -f "$AZREQ" ] && cat "$AZREQ"
    } | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.webfarm-setup.stamp"

# pip's HTTP cache cannot help here: the PyPI mirror we reach sends no
# caching headers, so every fresh venv would download ~200 wheels again.
# We keep our own wheelhouse instead and install from it with --no-index;
# only when it lacks something do we go to the index (`pip wheel`).
# run pip, showing its output only when it fails (the machine's pip config
# makes it warn about every missing project in its local file:// indexes)
pip_quiet() {
    local log rc=0
    log=$(mktemp)
    "${PIP[@]}" "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        grep -v 'is ignored: it is neither a file nor a directory' "$log" >&2 || true
        rm -f "$log"
        die "pip $1 failed (exit $rc)"
    fi
    rm -f "$log"
}

pip_install_cached() {
    # args: pip install arguments (requirement files, -e dirs)
    if "${PIP[@]}" install -q --no-compile --no-index --find-links "$WHEELHOUSE" "$@" 2>/dev/null; then
        return 0
    fi
    local orig_args=("$@")
    step "pip: wheelhouse $WHEELHOUSE is missing something, filling it from the index"
    mkdir -p "$WHEELHOUSE"
    # `pip wheel` everything except local projects (-e DIR): building those
    # would leave build/ dirs in the tree; their dependencies are listed
    # instead, read from their pyproject.toml.
    local wheel_args=() a local_dir deps
    deps=$(mktemp)
    while [ $# -gt 0 ]; do
        a=$1; shift
        if [ "$a" = "-e" ]; then
            local_dir=$1; shift
            "$VENV/bin/python" -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"].get("dependencies", [])))' \
                "$local_dir/pyproject.toml" >>"$deps"
        else
            wheel_args+=("$a")
        fi
    done
    if [ -s "$deps" ]; then wheel_args+=(-r "$deps"); fi
    pip_quiet wheel -q -w "$WHEELHOUSE" --find-links "$WHEELHOUSE" "${wheel_args[@]}"
    rm -f "$deps"
    # build backend for local projects (lab/) under --no-index
    pip_quiet download -q -d "$WHEELHOUSE" --find-links "$WHEELHOUSE" --only-binary=:all: setuptools
    pip_quiet install -q --no-compile --no-index --find-links "$WHEELHOUSE" "${orig_args[@]}"
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] && [ -x "$VENV/bin/ansible-playbook" ]; then
    step "pip: requirements unchanged since last setup (stamp $STAMP), skipping"
else
    step "pip: installing requirements-dev.txt"
    pip_install_cached -r requirements-dev.txt
    [ -f "$AZREQ" ] || die "azure.azcollection requirements not found at $AZREQ (is the ansible package installed?)"
    # one resolve over everything, so the pins of requirements-dev.txt hold
    all_reqs=(-r requirements-dev.txt -r "$AZREQ")
    if [ -f lab/pyproject.toml ]; then
        all_reqs+=(-e lab/)
        step "pip: installing azure.azcollection requirements + lab/ (azlab, editable)"
    else
        step "pip: installing azure.azcollection requirements (lab/pyproject.toml not there yet, azlab skipped)"
    fi
    pip_install_cached "${all_reqs[@]}"
    "${PIP[@]}" check >/dev/null || { "${PIP[@]}" check; die "pip check failed"; }
    # Byte-compile once here: ansible runs modules without writing bytecode, so
    # without .pyc files every azure.azcollection module call would recompile the
    # Azure SDK it imports (measured: ~10 s instead of ~4 s per module call).
    # A few packages ship template files that are not valid Python: compileall
    # then exits non-zero, which is not an error for us.
    step "pip: byte-compiling site-packages"
    "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib/python3.11/site-packages" >/dev/null || true
    stamp_value >"$STAMP"
    dists=("$VENV"/lib/python3.11/site-packages/*.dist-info)
    step "pip: done (${#dists[@]} distributions)"
fi

# --------------------------------------------------------------------------
# 2b. the Azure CLI, in a venv of its own
# --------------------------------------------------------------------------
# The lab's tests (lab/tests/cli) drive the real `az` against the lab; they
# find it at .venv-azcli/bin/az. azure-cli pins its own azure-cli-core and
# azure-mgmt-* versions, which conflict with azure.azcollection's, so it
# cannot live in .venv.
AZCLI_VENV="$ROOT/.venv-azcli"
AZCLI_REQ="azure-cli==2.91.0"
make_venv "$AZCLI_VENV"
AZCLI_STAMP="$AZCLI_VENV/.webfarm-setup.stamp"
azcli_stamp_value() { printf 'format=%s\n%s\n%s\n' "$STAMP_FORMAT" "$("$AZCLI_VENV/bin/python" --version)" "$AZCLI_REQ" | sha256sum | cut -d' ' -f1; }
if [ -f "$AZCLI_STAMP" ] && [ "$(cat "$AZCLI_STAMP")" = "$(azcli_stamp_value)" ] && [ -x "$AZCLI_VENV/bin/az" ]; then
    step "pip: $AZCLI_REQ unchanged since last setup, skipping"
else
    step "pip: installing $AZCLI_REQ into $AZCLI_VENV"
    PIP=("$AZCLI_VENV/bin/python" -m pip --disable-pip-version-check)
    pip_install_cached "$AZCLI_REQ"
    "${PIP[@]}" check >/dev/null || { "${PIP[@]}" check; die "pip check failed in $AZCLI_VENV"; }
    azcli_stamp_value >"$AZCLI_STAMP"
    step "pip: done ($("$AZCLI_VENV/bin/az" version --query '"azure-cli"' -o tsv 2>/dev/null || echo '?'))"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# --------------------------------------------------------------------------
# 3. ansible-test offline pip bootstrap
# --------------------------------------------------------------------------
# ansible-test creates a venv per sanity test (~/.ansible/test/venv/...) and
# bootstraps pip in it by running ~/.ansible/test/cache/get_pip_<X_Y>.py,
# downloaded on first use from an Ansible CI file server (not reachable here).
# It runs it as `python <quiet_pip.py> --disable-pip-version-check pip==<X.Y>
# --no-setuptools --no-wheel` with GET_PIP=<that path>, quiet_pip.py doing
# runpy.run_module() on it. We write a stand-in that installs pip from a
# wheel we downloaded from PyPI.
read -r GETPIP_VERSION GETPIP_PATH < <("$VENV/bin/python" - <<'EOF'
import os, pathlib, sys
import ansible_test
base = pathlib.Path(ansible_test.__file__).parent
req = (base / '_util/target/setup/requirements.py').read_text()
if "'~/.ansible/test/cache/get_pip_%s.py' % pip_version.replace(\".\", \"_\")" not in req:
    sys.exit('setup: ansible-test no longer caches get-pip as ~/.ansible/test/cache/get_pip_<X_Y>.py; update scripts/setup.sh')
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
ver = get_venv_packages(SimpleNamespace(version='%d.%d' % sys.version_info[:2]))['pip']
print(ver, os.path.expanduser('~/.ansible/test/cache/get_pip_%s.py' % ver.replace('.', '_')))
EOF
)
[ -n "${GETPIP_VERSION:-}" ] || die "could not determine the pip version ansible-test bootstraps"
BOOT_WHEELS="$HOME/.ansible/test/cache/webfarm-wheels"
if [ -f "$GETPIP_PATH" ] && ! grep -q 'webfarm offline get-pip' "$GETPIP_PATH"; then
    step "ansible-test: $GETPIP_PATH is a real get-pip script, leaving it alone"
elif [ -f "$GETPIP_PATH" ] && ls "$BOOT_WHEELS"/pip-"$GETPIP_VERSION"-*.whl >/dev/null 2>&1; then
    step "ansible-test: offline pip $GETPIP_VERSION bootstrap already in place ($GETPIP_PATH)"
else
    mkdir -p "$BOOT_WHEELS"
    pip_quiet download -q -d "$BOOT_WHEELS" --only-binary=:all: "pip==$GETPIP_VERSION" setuptools wheel
    ls "$BOOT_WHEELS"/pip-"$GETPIP_VERSION"-*.whl >/dev/null 2>&1 || die "could not download pip==$GETPIP_VERSION"
    cat >"$GETPIP_PATH.tmp" <<EOF
# webfarm offline get-pip: written by scripts/setup.sh of azure_ha.webfarm.
# Stand-in for get-pip-$GETPIP_VERSION.py, which ansible-test downloads from a host
# our machines cannot reach. Same interface as the real get-pip.py:
#   python get_pip.py [--no-setuptools] [--no-wheel] [pip install args...]
# installs pip (and setuptools/wheel unless told not to or already present)
# with --upgrade --force-reinstall, but only from the local wheels in
# webfarm-wheels/ beside this file.
import argparse
import glob
import importlib.util
import os
import sys

WHEELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'webfarm-wheels')


def main():
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--no-setuptools', action='store_true')
    pre.add_argument('--no-wheel', action='store_true')
    opts, args = pre.parse_known_args()
    args.append('pip')
    if not (opts.no_setuptools or os.environ.get('PIP_NO_SETUPTOOLS')) and not importlib.util.find_spec('setuptools'):
        args.append('setuptools')
    if not (opts.no_wheel or os.environ.get('PIP_NO_WHEEL')) and not importlib.util.find_spec('wheel'):
        args.append('wheel')
    pip_wheel = sorted(glob.glob(os.path.join(WHEELS, 'pip-$GETPIP_VERSION-*.whl')))
    if not pip_wheel:
        sys.exit('webfarm offline get-pip: no pip $GETPIP_VERSION wheel in %s; run scripts/setup.sh' % WHEELS)
    # a wheel is a zip that Python imports from, as the real get-pip does
    sys.path.insert(0, pip_wheel[0])
    from pip._internal.cli.main import main as pip_main
    sys.exit(pip_main(['install', '--upgrade', '--force-reinstall',
                       '--no-index', '--find-links', WHEELS] + args))


if __name__ == '__main__':
    main()
EOF
    mv "$GETPIP_PATH.tmp" "$GETPIP_PATH"
    step "ansible-test: wrote offline pip $GETPIP_VERSION bootstrap $GETPIP_PATH"
fi

# --------------------------------------------------------------------------
# 4. podman
# --------------------------------------------------------------------------
# The project never edits /etc/containers; every podman call it makes uses
# lab/containers.conf through CONTAINERS_CONF (exported by the Makefile).
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/lab/containers.conf}"
if [ ! -f "$CONTAINERS_CONF" ]; then
    die "podman: $CONTAINERS_CONF missing"
elif ! command -v podman >/dev/null; then
    step "podman: not installed (WEBFARM_SKIP_APT?), lab data plane will not work"
elif rt=$(timeout 60 podman info --format '{{.Host.OCIRuntime.Name}} cgroups {{.Host.CgroupsVersion}}' 2>&1); then
    step "podman: ok with CONTAINERS_CONF=$CONTAINERS_CONF (runtime $rt)"
else
    die "podman info failed with CONTAINERS_CONF=$CONTAINERS_CONF: $rt"
fi

# --------------------------------------------------------------------------
# 5. this checkout as the collection azure_ha.webfarm
# --------------------------------------------------------------------------
# ansible.cfg puts ./collections first on the collections path; this link makes
# `ansible-playbook site.yml` resolve azure_ha.webfarm.* to the working tree.
LINK="$ROOT/collections/ansible_collections/azure_ha/webfarm"
if [ "$(readlink "$LINK" 2>/dev/null)" != "../../.." ]; then
    mkdir -p "$(dirname "$LINK")"
    ln -sfn ../../.. "$LINK"
    step "collection: $LINK -> this checkout"
fi

# --------------------------------------------------------------------------
# 6. the dev inventory's SSH key
# --------------------------------------------------------------------------
# inventories/dev logs in to the lab's VMs with this key (its .pub goes into
# the VMs' osProfile). A dedicated file: an existing key of the user is never
# touched or used.
DEV_KEY="$HOME/.ssh/webfarm_dev_ed25519"
if [ ! -f "$DEV_KEY" ]; then
    [ -d "$HOME/.ssh" ] || mkdir -m 700 "$HOME/.ssh"
    ssh-keygen -q -t ed25519 -N '' -C "webfarm dev inventory" -f "$DEV_KEY"
    step "ssh: created $DEV_KEY for inventories/dev"
fi

step "done in $((SECONDS - t0))s"
