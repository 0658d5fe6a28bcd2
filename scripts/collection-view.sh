#!/usr/bin/env bash
# Build .build/collections/ansible_collections/azure_ha/webfarm: a copy of the
# collection as it ships (galaxy.yml's build_ignore applied), laid out the way
# ansible-test needs it, with the azure.azcollection that our modules import
# (taken from the `ansible` package in .venv) beside it.
# Prints the path of the view.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV_COLLECTIONS="$ROOT/.venv/lib/python3.11/site-packages/ansible_collections"
BASE="$ROOT/.build/collections/ansible_collections"
VIEW="$BASE/azure_ha/webfarm"

[ -d "$VENV_COLLECTIONS/azure/azcollection" ] || {
    echo "collection-view: $VENV_COLLECTIONS/azure/azcollection missing; run make setup" >&2
    exit 1
}

# galaxy.yml build_ignore -> rsync excludes: plain names are anchored at the
# collection root, glob patterns match anywhere (as ansible-galaxy does for
# file names)
excludes=$("$ROOT/.venv/bin/python" - <<'EOF'
import yaml
for pat in yaml.safe_load(open('galaxy.yml'))['build_ignore']:
    if any(c in pat for c in '*?['):
        print(pat)
    else:
        print('/' + pat.strip('/'))
EOF
)

mkdir -p "$VIEW" "$BASE/azure"
rsync -a --delete --delete-excluded --exclude-from=<(printf '%s\n' "$excludes") \
    --exclude=/tests/output "$ROOT/" "$VIEW/"
# the real azure.azcollection (read only: a symlink into the venv)
ln -sfn "$VENV_COLLECTIONS/azure/azcollection" "$BASE/azure/azcollection"
# ansible-test lists content with git when it finds a .git in the collection
# root or any parent. Inside our checkout it would find the project's own
# repo, where .build/ is ignored, and see no files at all ("All targets
# skipped"). A throwaway repo in the view (never committed to; rebuilt each
# time, since .git is in build_ignore) makes it list the view's files.
git -C "$VIEW" init -q
echo "$VIEW"
