#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection as it ships (see
# scripts/collection-view.sh), with Python 3.11 and no containers: ansible-test
# builds one venv per test under ~/.ansible/test/venv (pip bootstrapped offline
# by scripts/setup.sh, requirements from PyPI, cached after the first run).
#
# Prints which tests ran, which had nothing to check, and which were skipped;
# fails on a failed test AND on a test skipped for a missing requirement,
# unless that test is named in SANITY_ALLOW_SKIP (space separated), e.g.
# SANITY_ALLOW_SKIP=pslint when PowerShell files exist (pwsh is not available
# from our package registries). Extra arguments go to ansible-test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VIEW=$("$ROOT/scripts/collection-view.sh")
LOG="$ROOT/.build/sanity.log"
cd "$VIEW"

rc=0
ansible-test sanity --python 3.11 --junit --color no -v "$@" >"$LOG" 2>&1 || rc=$?

# results: one junit file per test
SANITY_ALLOW_SKIP="${SANITY_ALLOW_SKIP:-}" "$ROOT/.venv/bin/python" - "$rc" "$LOG" <<'EOF' || rc=$?
import glob, os, re, sys
import xml.etree.ElementTree as ET

rc, log = int(sys.argv[1]), sys.argv[2]
allowed = set(os.environ.get('SANITY_ALLOW_SKIP', '').split())
ran, not_applicable, skipped, failed = [], [], [], []
for path in sorted(glob.glob('tests/output/junit/ansible-test-sanity-*.xml')):
    for case in ET.parse(path).iter('testcase'):
        name = re.sub(r'-python-[0-9.]+$', '', case.get('name'))
        skip = case.find('skipped')
        if case.find('failure') is not None or case.find('error') is not None:
            failed.append(name)
        elif skip is None:
            ran.append(name)
        elif (skip.text or '').strip() == 'No tests applicable.':
            not_applicable.append(name)
        else:
            skipped.append((name, (skip.text or '').strip()))

# a test whose program is missing (pwsh for pslint, shellcheck) is reported
# by ansible-test as "No tests applicable." in junit; its log says why
current = None
with open(log) as handle:
    for line in handle:
        m = re.match(r'Running sanity test "([^"]+)"', line)
        if m:
            current = m.group(1)
        m = re.match(r'WARNING: Required program "([^"]+)" not found', line)
        if m and current in not_applicable:
            not_applicable.remove(current)
            skipped.append((current, f'required program "{m.group(1)}" not found'))

print(f'sanity: {len(ran) + len(failed)} ran: {", ".join(sorted(ran + failed))}')
print(f'sanity: {len(not_applicable)} had no files to check: {", ".join(not_applicable) or "-"}')
bad_skips = [(n, r) for n, r in skipped if n not in allowed]
for name, reason in skipped:
    print(f'sanity: SKIPPED {name}: {reason}' + ('' if (name, reason) in bad_skips else ' (allowed by SANITY_ALLOW_SKIP)'))
if failed or rc:
    print(f'sanity: FAILED: {", ".join(failed) or "(see log)"}; full log: {log}')
    with open(log) as handle:
        for line in handle:
            if line.startswith(('ERROR', 'FATAL', 'WARNING', 'See documentation')):
                print(line, end='')
    sys.exit(1)
if bad_skips:
    print('sanity: FAILED: tests skipped for a missing requirement (install it, or name the test in SANITY_ALLOW_SKIP)')
    sys.exit(1)
if not ran:
    print('sanity: FAILED: no sanity test ran')
    sys.exit(1)
EOF
exit "$rc"
