#!/usr/bin/env bash
# Build the execution environment offline: localhost/webfarm-ee:<galaxy.yml version>
# (execution-environment.yml, ansible-builder + podman; docs/awx.md).
#
#   scripts/ee.sh            build unless the image of the same inputs exists
#   scripts/ee.sh --force    build anyway
#
# Environment:
#   EE_BASE_IMAGE       base image (default: our own, scripts/ee_base.py, offline);
#                       a standard EE image for users with a registry
#   EE_PKGMGR           its package manager (default /usr/bin/apt-get; /usr/bin/microdnf
#                       for the rpm-based standard images)
#   EE_PIP_INDEX=1      let pip use its index instead of the wheelhouse
#   WEBFARM_WHEELHOUSE  the wheels of `make setup` (default ~/.cache/webfarm/wheels),
#                       mounted read-only at /wheels in every build step
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WHEELHOUSE="${WEBFARM_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/webfarm/wheels}"
VERSION=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
TAG="localhost/webfarm-ee:$VERSION"
OUT="$ROOT/.build/ee"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
step() { printf '==> ee: %s\n' "$*" >&2; }
t0=$SECONDS

# one build at a time per checkout (test workers, make ee)
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

# 1. the collections, as tarballs: this one built, the others packed from the
#    `ansible` package's installed copies (scripts/ee_collections.py)
rm -rf "$OUT/collections" && mkdir -p "$OUT/collections"
ansible-galaxy collection build --force --output-path "$OUT/collections" . >/dev/null
mv "$OUT"/collections/azure_ha-webfarm-*.tar.gz "$OUT/collections/azure_ha-webfarm.tar.gz"
python scripts/ee_collections.py "$OUT/collections" azure.azcollection community.general >/dev/null

# 2. the base image
if [ -n "${EE_BASE_IMAGE:-}" ]; then
    BASE=$EE_BASE_IMAGE
else
    BASE=$(python scripts/ee_base.py)
fi

# 3. what the image is made of: unchanged inputs = no rebuild
inputs() {
    echo "base=$BASE pkgmgr=${EE_PKGMGR:-} index=${EE_PIP_INDEX:-}"
    ansible-builder --version
    cat execution-environment.yml ee/requirements.yml ee/bindep.txt
    # collection contents (FILES.json has every file's sha256), not tarball bytes;
    # docs/, tests/ and changelogs/ change nothing the EE runs: an edit there does
    # not rebuild it (the image may carry an older copy of them)
    for t in "$OUT"/collections/*.tar.gz; do
        tar -xzOf "$t" FILES.json | python -c '
import json, sys
skip = ("docs/", "tests/", "changelogs/", "README.md")
print(json.dumps([f for f in json.load(sys.stdin)["files"] if not f["name"].startswith(skip)]))'
    done
}
HASH=$(inputs | sha256sum | cut -c1-16)
if [ "$FORCE" = 0 ] && [ "$(podman image inspect --format '{{index .Labels "webfarm.ee.inputs"}}' "$TAG" 2>/dev/null)" = "$HASH" ]; then
    step "$TAG is up to date (inputs $HASH)"
    echo "$TAG"
    exit 0
fi

# 4. ansible-builder + podman; pip installs from the wheelhouse, mounted
build_args=(--build-arg "EE_BASE_IMAGE=$BASE")
[ -n "${EE_PKGMGR:-}" ] && build_args+=(--build-arg "PKGMGR=$EE_PKGMGR")
extra="--label webfarm.ee.inputs=$HASH"
if [ "${EE_PIP_INDEX:-0}" != 1 ]; then
    [ -d "$WHEELHOUSE" ] || { echo "ee: no wheelhouse at $WHEELHOUSE: run make setup" >&2; exit 1; }
    build_args+=(--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels)
    extra+=" --volume $WHEELHOUSE:/wheels:ro"
fi
step "building $TAG from $BASE (log: $OUT/build.log)"
if ! ansible-builder build -f execution-environment.yml -t "$TAG" -t localhost/webfarm-ee:latest \
        --context "$OUT/context" --container-runtime podman -v 3 \
        "${build_args[@]}" --extra-build-cli-args "$extra" >"$OUT/build.log" 2>&1; then
    tail -40 "$OUT/build.log" >&2
    exit 1
fi
size=$(podman image inspect --format '{{.Size}}' "$TAG")
step "built $TAG in $((SECONDS - t0))s, $((size / 1000000)) MB"
echo "$TAG"
