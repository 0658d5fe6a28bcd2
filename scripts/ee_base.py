"""Build (once) the offline base image of the execution environment and print its ref.

    python scripts/ee_base.py          # -> localhost/webfarm-ee-base:<recipe hash>

No container registry is reachable from our machines, so the EE cannot start
FROM a standard EE image there. This base is Debian 12 (python3 3.11, pip,
openssh-client) made by the lab's own VM-image build (debootstrap from the
host's Debian mirror, lab/src/azlab/dataplane/image.py) with another recipe:
ee/base/ (packages.txt, overlay/, configure.sh). The tag is the recipe hash, so
an unchanged recipe is never rebuilt; the rootfs tarball is kept in
~/.cache/webfarm/ee-base/ (an emptied podman store only re-imports it).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from azlab.dataplane.apt_sources import debian_sources, read_apt_sources
from azlab.dataplane.image import build_tarball, rootfs_hash

RECIPE = Path(__file__).resolve().parents[1] / "ee" / "base"
REPO = "localhost/webfarm-ee-base"
CHANGES = ("ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]')


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check)


def main() -> int:
    sources = debian_sources(read_apt_sources())
    digest = rootfs_hash(sources, RECIPE)
    ref = f"{REPO}:{digest}"
    if podman("image", "exists", ref, check=False).returncode == 0:
        print(ref)
        return 0
    cache = Path(os.environ.get("WEBFARM_EE_CACHE") or Path.home() / ".cache" / "webfarm" / "ee-base")
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{digest}.tar"
    started = time.monotonic()
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.is_file():
            print(f"ee-base: building {tarball.name} (debootstrap, ~1-2 min)", file=sys.stderr)
            timings: dict[str, float] = {}
            build_tarball(tarball, sources, timings, lock.fileno(), recipe_dir=RECIPE)
            print("ee-base: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()), file=sys.stderr)
            for old in cache.glob("*.tar"):
                if old != tarball:
                    old.unlink()
        args = ["import"]
        for change in (*CHANGES, f"LABEL webfarm.ee-base={digest}"):
            args += ["--change", change]
        podman(*args, "--message", f"webfarm EE base, recipe {digest}", str(tarball), ref)
    print(f"ee-base: {ref} ready in {time.monotonic() - started:.0f}s", file=sys.stderr)
    print(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
