"""The lab's VM image: Debian 12 with systemd, sshd and cloud-init, built locally.

Why built here and not pulled: no container registry is reachable from lab
hosts, and a lab VM must behave like an Azure Linux VM - systemd as PID 1,
sshd, the admin user and key from osProfile, customData run by cloud-init -
which stock container images are not built for.

Recipe (``image_recipe/``): ``debootstrap --variant=minbase bookworm`` from
the host's own Debian mirror (read from its apt sources, never hard-coded)
plus ``packages.txt``; ``overlay/`` copied over the rootfs; apt sources
pointing at the same mirror; ``configure.sh`` run in a chroot; then ``tar``
and ``podman import``.

Cache: the image tag is a hash of everything that shapes the image (recipe
files, mirror, apt sources, the build-step code below, the import config).
The built rootfs tarball is kept as ``<cache>/<rootfs hash>.tar`` (the same
hash minus the import config) so an empty podman store is re-populated by a
re-import in seconds; only a recipe change rebuilds.
Builds happen in a temporary directory next to the cache and are renamed
into place when complete, so an interrupted build leaves nothing usable
behind and is cleaned up by the next one.

The runtime contract of the image - how a VM container must be started and
how osProfile/customData reach it - is ``vm_container.py``; the host's apt
sources it is built from are read by ``apt_sources.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import inspect
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from azlab.dataplane import podman
from azlab.dataplane.apt_sources import (
    SUITE, AptSource, AptSourcesError, debian_sources, primary_mirror, read_apt_sources, render_guest_sources,
)

log = logging.getLogger("azlab.image")

IMAGE_REPO = "localhost/azlab-debian12"
VARIANT = "minbase"
RECIPE_DIR = Path(__file__).with_name("image_recipe")
#: Image config set by ``podman import --change`` (part of the recipe hash).
IMPORT_CHANGES = (
    'CMD ["/sbin/init"]',
    "STOPSIGNAL SIGRTMIN+3",
    "ENV container=podman",
)
#: Built tarballs kept in the cache (older recipes are pruned).
KEEP_TARBALLS = 2


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says which step and why."""


# --------------------------------------------------------------------- recipe


def recipe_packages(recipe_dir: Path = RECIPE_DIR) -> list[str]:
    """Package names from packages.txt (comments and blank lines ignored)."""
    text = (recipe_dir / "packages.txt").read_text()
    return [w for line in text.splitlines() for w in line.split("#", 1)[0].split()]


def _recipe_files(recipe_dir: Path = RECIPE_DIR) -> dict[str, str]:
    """sha256 of every recipe file, with its executable bit, by relative path."""
    out = {}
    for path in sorted(recipe_dir.rglob("*")):
        rel = path.relative_to(recipe_dir).as_posix()
        if path.is_dir() or "__pycache__" in rel or path.name.startswith("."):
            continue
        mode = "x" if os.access(path, os.X_OK) else "-"
        out[rel] = mode + hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _code_fingerprint(*functions) -> str:
    """Hash of the source of build-step functions.

    Editing a build step therefore changes the recipe hash by itself - no
    version constant to forget to bump. (Falls back to bytecode when the
    source is unavailable, e.g. in a .pyc-only install.)
    """
    h = hashlib.sha256()
    for fn in functions:
        try:
            h.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            h.update(fn.__code__.co_code)
    return h.hexdigest()


def _short_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def rootfs_hash(sources: Sequence[AptSource], recipe_dir: Path = RECIPE_DIR) -> str:
    """Hash of what shapes the rootfs tarball; names the cached tarball."""
    return _short_hash({
        "suite": SUITE,
        "variant": VARIANT,
        "mirror": primary_mirror(sources),
        "guest_sources": render_guest_sources(sources),
        "files": _recipe_files(recipe_dir),
        "build_code": _code_fingerprint(_debootstrap, _apply_recipe, _pack),
    })


def recipe_hash(sources: Sequence[AptSource], recipe_dir: Path = RECIPE_DIR) -> str:
    """Hash of everything the image depends on (rootfs + import config): the image tag.

    Kept apart from :func:`rootfs_hash` so a change to the image config
    (labels, CMD) only re-imports the cached tarball instead of rebuilding.
    """
    return _short_hash({
        "rootfs": rootfs_hash(sources, recipe_dir),
        "import_changes": IMPORT_CHANGES,
        "import_code": _code_fingerprint(import_tarball),
    })


def image_ref(digest: str) -> str:
    return f"{IMAGE_REPO}:{digest}"


def default_cache_dir() -> Path:
    """``$AZLAB_IMAGE_CACHE``, else ``$XDG_CACHE_HOME/azlab/images`` (~/.cache/...)."""
    if os.environ.get("AZLAB_IMAGE_CACHE"):
        return Path(os.environ["AZLAB_IMAGE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "azlab" / "images"


# ---------------------------------------------------------------- ensure/build


@dataclass
class EnsureResult:
    """What :func:`ensure_image_verbose` did, with per-step timings in seconds."""

    ref: str
    digest: str
    tarball: Path
    built: bool = False
    imported: bool = False
    timings: dict[str, float] = field(default_factory=dict)


def ensure_image(cache_dir: str | Path | None = None, force: bool = False) -> str:
    """Return a podman ref of the lab VM image, building/importing only if needed.

    Order of preference: image already in the podman store; cached tarball
    (re-import, seconds); full build (debootstrap, 1-2 minutes). ``force``
    rebuilds the tarball and re-imports even if both exist.
    """
    return ensure_image_verbose(cache_dir, force).ref


def ensure_image_verbose(cache_dir: str | Path | None = None, force: bool = False,
                         apt_dir: Path = Path("/etc/apt")) -> EnsureResult:
    """:func:`ensure_image`, reporting what was done and how long each step took."""
    sources = debian_sources(read_apt_sources(apt_dir))
    try:
        digest = recipe_hash(sources)
    except AptSourcesError as exc:
        raise ImageBuildError(str(exc)) from None
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    result = EnsureResult(image_ref(digest), digest, cache / f"{rootfs_hash(sources)}.tar")
    if not force and podman.image_exists(result.ref):
        return result
    cache.mkdir(parents=True, exist_ok=True)
    with _build_lock(cache) as lock_fd:
        # Another process may have finished the same work while we waited.
        if not force and podman.image_exists(result.ref):
            return result
        _remove_stale_builds(cache)
        if force or not result.tarball.is_file():
            build_tarball(result.tarball, sources, result.timings, lock_fd=lock_fd)
            result.built = True
            _prune_tarballs(cache, keep=result.tarball)
        replaced = _image_id(result.ref)
        started = time.monotonic()
        import_tarball(result.tarball, result.ref, digest)
        result.timings["import"] = time.monotonic() - started
        result.imported = True
        if replaced and replaced != _image_id(result.ref):
            # A forced rebuild leaves the previous image untagged; drop it
            # unless VM containers still use it.
            podman.run(["rmi", replaced], check=False)
    return result


def _image_id(ref: str) -> str | None:
    """The image ID ``ref`` points to, or None if there is no such image."""
    proc = podman.run(["image", "inspect", "--format", "{{.Id}}", ref], check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def build_tarball(dest: Path, sources: Sequence[AptSource],
                  timings: dict[str, float] | None = None, lock_fd: int | None = None,
                  recipe_dir: Path = RECIPE_DIR) -> None:
    """Build the image rootfs tarball at ``dest`` (atomically: temp dir + rename).

    ``recipe_dir`` holds packages.txt, overlay/ and configure.sh; another recipe
    than the VM image's (the project's execution-environment base image) is
    built by the same steps.

    On failure the step logs are kept as ``<cache>/failed-build-*.log``
    because the build directory itself is removed. ``lock_fd`` (the build
    lock) is inherited by every build process: if we die without cleaning
    up (SIGKILL), the flock stays held until the last orphaned dpkg/wget has
    exited, so the next build never deletes a directory still being written.
    """
    timings = {} if timings is None else timings
    keep = () if lock_fd is None else (lock_fd,)
    for tool in ("debootstrap", "unshare", "chroot", "tar"):
        if shutil.which(tool) is None:
            raise ImageBuildError(f"'{tool}' is not installed; it is needed to build the image")
    tmp = Path(tempfile.mkdtemp(prefix=f".build-{dest.stem}-", dir=dest.parent))
    try:
        rootfs = tmp / "rootfs"
        steps = (
            ("debootstrap", lambda: _debootstrap(rootfs, primary_mirror(sources),
                                                 recipe_packages(recipe_dir), tmp,
                                                 dest.parent / "debs", keep)),
            ("configure", lambda: _apply_recipe(rootfs, sources, tmp, keep, recipe_dir)),
            ("tar", lambda: _pack(rootfs, tmp / "image.tar", keep)),
        )
        for name, step in steps:
            started = time.monotonic()
            log.info("image build: %s ...", name)
            step()
            timings[name] = time.monotonic() - started
        os.replace(tmp / "image.tar", dest)
    except BaseException:
        for step_log in tmp.glob("*.log"):
            shutil.copy(step_log, dest.parent / f"failed-build-{step_log.name}")
        raise
    finally:
        _remove_build_dir(tmp)


def _debootstrap(rootfs: Path, mirror: str, packages: Sequence[str], workdir: Path,
                 deb_cache: Path, keep_fds: Sequence[int] = ()) -> None:
    """Step 1: minbase bookworm + recipe packages from the host's mirror.

    Runs in a private mount namespace (``unshare --mount``) so the /proc and
    /sys debootstrap mounts into the target vanish with the process, even if
    it is killed - nothing is left mounted under the build directory.
    Downloaded .debs are kept in ``deb_cache`` so a rebuild does not
    download them again. dpkg runs with force-unsafe-io (no fsync per file:
    ~15% faster; a crash only loses a temp dir); configure.sh removes that
    setting from the image.
    """
    deb_cache.mkdir(parents=True, exist_ok=True)
    unsafe_io = rootfs / "etc/dpkg/dpkg.cfg.d/azlab-build-unsafe-io"
    unsafe_io.parent.mkdir(parents=True)
    unsafe_io.write_text("force-unsafe-io\n")
    cmd = ["unshare", "--mount", "--propagation", "private",
           "debootstrap", f"--variant={VARIANT}", f"--include={','.join(packages)}",
           f"--cache-dir={deb_cache.resolve()}", SUITE, str(rootfs), mirror]
    _run_logged(cmd, workdir / "debootstrap.log", "debootstrap", keep_fds=keep_fds,
                extra_log=rootfs / "debootstrap" / "debootstrap.log")


def _apply_recipe(rootfs: Path, sources: Sequence[AptSource], workdir: Path,
                  keep_fds: Sequence[int] = (), recipe_dir: Path = RECIPE_DIR) -> None:
    """Step 2: overlay files, the guest's apt sources, then configure.sh in a chroot."""
    shutil.copytree(recipe_dir / "overlay", rootfs, dirs_exist_ok=True, symlinks=True)
    apt_file = rootfs / "etc/apt/sources.list.d/debian.sources"
    apt_file.parent.mkdir(parents=True, exist_ok=True)
    apt_file.write_text(render_guest_sources(sources))
    shutil.copy(recipe_dir / "configure.sh", rootfs / "tmp/azlab-configure.sh")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
           "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
    _run_logged(["chroot", str(rootfs), "/bin/sh", "/tmp/azlab-configure.sh"],
                workdir / "configure.log", "configure.sh", env=env, keep_fds=keep_fds)


def _pack(rootfs: Path, out: Path, keep_fds: Sequence[int] = ()) -> None:
    """Step 3: tar the rootfs with numeric owners and xattrs (file capabilities)."""
    cmd = ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
           "-C", str(rootfs), "-cf", str(out), "."]
    _run_logged(cmd, out.with_suffix(".log"), "tar", keep_fds=keep_fds)


def import_tarball(tarball: Path, ref: str, digest: str) -> None:
    """``podman import`` the rootfs tarball as ``ref`` with the VM image config."""
    # One LABEL per --change: podman 4.3 reads "LABEL a=1 b=2" as a="1 b=2".
    changes = [*IMPORT_CHANGES, f"LABEL {podman.LAB_LABEL}", f"LABEL azlab.recipe={digest}"]
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    args += ["--message", f"azlab VM image, recipe {digest}", str(tarball), ref]
    podman.run(args, timeout=900)


def _run_logged(cmd: Sequence[str], logfile: Path, what: str, *,
                env: Mapping[str, str] | None = None, extra_log: Path | None = None,
                keep_fds: Sequence[int] = ()) -> None:
    """Run a build command with output to ``logfile``; raise with its tail on failure.

    The command gets its own process group, killed on any exception
    (Ctrl-C included), so no dpkg/wget grandchild outlives an interrupted
    build and races with the clean-up of the build directory.
    """
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                pass_fds=tuple(keep_fds))
        try:
            rc = proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if rc != 0:
        tail = _tail(logfile)
        if extra_log is not None and extra_log.is_file():
            tail += f"\n--- {extra_log.name} ---\n" + _tail(extra_log)
        raise ImageBuildError(f"{what} failed (exit {rc}):\n{tail}")


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def _build_lock(cache: Path) -> Iterator[int]:
    """Serialize builds/imports sharing a cache (parallel VM creation, test workers).

    Yields the lock's fd. No explicit unlock: closing our fd releases the
    lock unless build children that inherited it are still alive (see
    :func:`build_tarball`), which is the point.
    """
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield lock.fileno()


def _mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in our mount namespace."""
    prefix = str(path.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _remove_build_dir(path: Path) -> None:
    """rm -rf a build dir - but never through a mount (a leaked /proc or /dev)."""
    mounts = _mounts_under(path)
    if mounts:
        raise ImageBuildError(f"refusing to delete {path}: still mounted: {mounts}")
    shutil.rmtree(path, ignore_errors=True)


def _remove_stale_builds(cache: Path) -> None:
    """Delete leftovers of interrupted builds (we hold the build lock)."""
    for stale in cache.glob(".build-*"):
        log.info("removing interrupted build %s", stale)
        _remove_build_dir(stale)


def _prune_tarballs(cache: Path, keep: Path) -> None:
    """Keep the newest KEEP_TARBALLS tarballs (including ``keep``); delete older ones."""
    newest_first = sorted(cache.glob("*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
    survivors = [keep, *(t for t in newest_first if t != keep)][:KEEP_TARBALLS]
    for old in newest_first:
        if old not in survivors:
            log.info("pruning old image tarball %s", old)
            old.unlink(missing_ok=True)


# ------------------------------------------------------------------------ CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m azlab.dataplane.image",
                                     description="Build / show the lab's VM image.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="ensure the image exists; print its ref and timings")
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.add_argument("--cache-dir", type=Path, default=None,
                       help=f"tarball cache (default {default_cache_dir()})")
    sub.add_parser("ref", help="print the ref the current recipe builds, without building")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        if args.command == "ref":
            print(image_ref(recipe_hash(debian_sources(read_apt_sources()))))
            return 0
        started = time.monotonic()
        result = ensure_image_verbose(args.cache_dir, args.force)
    except (ImageBuildError, AptSourcesError, podman.PodmanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the partial build was removed", file=sys.stderr)
        return 130
    total = time.monotonic() - started
    print(result.ref, flush=True)
    action = ("built and imported" if result.built else
              "imported from cached tarball" if result.imported else "already present")
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"{action} in {total:.1f}s" + (f" ({steps})" if steps else ""), file=sys.stderr)
    if result.tarball.is_file():
        size = result.tarball.stat().st_size / 1e6
        print(f"tarball {result.tarball} ({size:.0f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
