"""Thin wrapper around the podman CLI, shared by everything in the lab's data plane.

Why a wrapper instead of calling ``podman`` directly:

* podman 4.3 on these hosts only works (rootful, runc, sane ulimits) with the
  lab's own ``containers.conf``; every call must carry ``CONTAINERS_CONF``
  pointing to it, including the ``podman container cleanup`` processes that
  conmon spawns later (they inherit our environment).
* Every resource the lab creates carries the label :data:`LAB_LABEL`, so a
  cleanup can find exactly the lab's containers, networks and images.
* A failing podman call must say *what* failed, with podman's stderr, not a
  bare ``CalledProcessError``.

The module also owns the OCI hook that gives every VM container boot its own
``/proc/sys/kernel/random/boot_id`` (see :func:`install_bootid_hook`); it is
plain stdlib so the hook script it writes can run without the package.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Iterable, Mapping, Sequence

LAB_LABEL_KEY = "azlab.managed"
LAB_LABEL_VALUE = "true"
#: ``key=value`` form for ``--label`` and ``--filter label=``.
LAB_LABEL = f"{LAB_LABEL_KEY}={LAB_LABEL_VALUE}"

#: Environment variable that overrides where the lab's containers.conf is.
CONF_ENV = "AZLAB_CONTAINERS_CONF"

#: Containers carrying this annotation (value "true") get a fresh boot_id on
#: every start, via the OCI hook installed by :func:`install_bootid_hook`.
BOOTID_ANNOTATION = "azlab.bootid"
#: Host-side copy of each running VM container's current boot_id, by container id.
BOOTID_STATE_DIR = Path("/run/azlab/boot_id")
BOOTID_HOOK_NAME = "azlab-bootid"

DEFAULT_TIMEOUT = 300


class PodmanError(RuntimeError):
    """A podman command failed (``cmd``, ``returncode``, ``stderr``), or the lab's
    podman setup is unusable (message only)."""

    def __init__(self, message: str, *, cmd: Sequence[str] = (), returncode: int | None = None,
                 stderr: str = ""):
        super().__init__(message)
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stderr = stderr.strip()

    @classmethod
    def failed(cls, args: Sequence[str], returncode: int | None, stderr: str) -> "PodmanError":
        detail = stderr.strip() or "(no stderr)"
        return cls(f"podman {' '.join(args)} failed (exit {returncode}): {detail}",
                   cmd=args, returncode=returncode, stderr=stderr)


# --------------------------------------------------------------- configuration


def containers_conf() -> Path:
    """Return the lab's containers.conf.

    ``$AZLAB_CONTAINERS_CONF`` wins; otherwise walk up from this file to the
    ``lab/`` directory of the checkout (the one holding ``src/azlab``) and use
    its ``containers.conf``. Raising here beats letting podman silently fall
    back to the system configuration (crun, which fails on these hosts).
    """
    override = os.environ.get(CONF_ENV)
    if override:
        # Absolute: conmon's later `podman container cleanup` runs elsewhere.
        path = Path(override).resolve()
        if not path.is_file():
            raise PodmanError(f"{CONF_ENV}={override} does not exist")
        return path
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "containers.conf"
        if candidate.is_file() and (parent / "src" / "azlab").is_dir():
            return candidate
    raise PodmanError("cannot find lab/containers.conf next to the azlab sources; "
                      f"set {CONF_ENV} to the lab's containers.conf")


def podman_env(conf: Path | None = None) -> dict[str, str]:
    """Environment for a podman child process: ours plus CONTAINERS_CONF."""
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(conf or containers_conf())
    return env


def unavailable_reason() -> str | None:
    """Why the data plane cannot run podman here, or None if it can.

    Used by tests and callers to skip/fail early with a readable reason.
    """
    if os.geteuid() != 0:
        return "the lab runs podman rootful: needs root"
    if shutil.which("podman") is None:
        return "podman is not installed"
    try:
        containers_conf()
    except PodmanError as exc:
        return str(exc)
    return None


# ------------------------------------------------------------------- running


def run(
    args: Sequence[str],
    check: bool = True,
    *,
    input: str | bytes | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    conf: Path | None = None,
    text: bool = True,
    stdin=None,
) -> subprocess.CompletedProcess:
    """Run ``podman <args>`` with the lab's configuration and capture output.

    With ``check`` (the default) a non-zero exit raises :class:`PodmanError`
    carrying stderr. ``input``/``stdin`` feed the command (``podman import -``).
    """
    cmd = ["podman", *map(str, args)]
    try:
        proc = subprocess.run(
            cmd,
            input=input,
            stdin=stdin,
            capture_output=True,
            text=text,
            env=podman_env(conf),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise PodmanError.failed(cmd[1:], None, f"timed out after {timeout}s") from exc
    if check and proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode(errors="replace")
        raise PodmanError.failed(cmd[1:], proc.returncode, stderr)
    return proc


def label_args(labels: Mapping[str, str] | None = None) -> list[str]:
    """``--label`` arguments: always :data:`LAB_LABEL`, plus ``labels``."""
    out = ["--label", LAB_LABEL]
    for key, value in (labels or {}).items():
        out += ["--label", f"{key}={value}"]
    return out


# -------------------------------------------------------------------- queries


def image_exists(ref: str) -> bool:
    """True if ``ref`` is in the local image store (``podman image exists``)."""
    return run(["image", "exists", ref], check=False).returncode == 0


def container_exists(name: str) -> bool:
    return run(["container", "exists", name], check=False).returncode == 0


def container_inspect(name: str) -> dict | None:
    """``podman container inspect`` as a dict, or None if there is no such container."""
    proc = run(["container", "inspect", name], check=False)
    if proc.returncode != 0:
        if container_exists(name):
            raise PodmanError.failed(["container", "inspect", name], proc.returncode, proc.stderr)
        return None
    return json.loads(proc.stdout)[0]


def container_state(name: str) -> str | None:
    """Podman's state string ("running", "exited", "created", ...) or None if absent."""
    info = container_inspect(name)
    return None if info is None else info["State"]["Status"]


def container_ip(name: str, network: str) -> str | None:
    """The container's IPv4 address on ``network``, or None if not attached/running."""
    info = container_inspect(name)
    if info is None:
        return None
    net = info.get("NetworkSettings", {}).get("Networks", {}).get(network)
    return (net or {}).get("IPAddress") or None


def network_exists(name: str) -> bool:
    return run(["network", "exists", name], check=False).returncode == 0


def managed(kind: str = "container") -> list[str]:
    """Names of lab-managed resources of ``kind`` (container, network, image refs)."""
    if kind == "container":
        args = ["ps", "-a", "--filter", f"label={LAB_LABEL}", "--format", "{{.Names}}"]
    elif kind == "network":
        args = ["network", "ls", "--filter", f"label={LAB_LABEL}", "--format", "{{.Name}}"]
    elif kind == "image":
        args = ["images", "--filter", f"label={LAB_LABEL}", "--format",
                "{{.Repository}}:{{.Tag}}"]
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return [line for line in run(args).stdout.splitlines() if line]


# ------------------------------------------------------------------ mutations


def create_network(name: str, subnet: str, labels: Mapping[str, str] | None = None,
                   extra: Iterable[str] = ()) -> None:
    """Create a bridge network with a fixed subnet, labelled as the lab's."""
    run(["network", "create", "--subnet", subnet, *label_args(labels), *extra, name])


def remove_network(name: str) -> None:
    """Remove a network (and nothing else); missing is fine."""
    if network_exists(name):
        run(["network", "rm", name])


def remove_container(name: str, timeout: int = 0) -> None:
    """Force-remove a container; missing is fine.

    ``timeout`` is the grace period before SIGKILL; 0 because removal is
    deletion (a VM being deleted need not shut down cleanly).
    """
    run(["rm", "--force", "--time", str(timeout), "--ignore", name])


# ------------------------------------------------------------ boot_id OCI hook

# The hook runs on the host for every start of a container annotated
# azlab.bootid=true, including the restarts conmon triggers for
# --restart=always after an in-guest reboot. At createContainer time runc has
# built the container's mount namespace (and mounted its /proc) but not yet
# pivoted into it, so the hook can bind-mount a per-boot file over
# /proc/sys/kernel/random/boot_id - something runc refuses to do for a
# regular --mount ("cannot be mounted because it is inside /proc").
_BOOTID_HOOK_SCRIPT = '''\
"""azlab OCI hook: give each VM container boot its own boot_id.

Installed by azlab.dataplane.podman.install_bootid_hook(); do not edit here.
Stage "createContainer" writes a new UUID to {state_dir}/<container id> and
bind-mounts it read-only over <rootfs>/proc/sys/kernel/random/boot_id inside
the container's mount namespace; stage "poststop" removes the host file.
"""
import json, os, subprocess, sys

STATE_DIR = {state_dir!r}


def main(stage):
    state = json.load(sys.stdin)
    host_file = os.path.join(STATE_DIR, state["id"])
    if stage == "poststop":
        try:
            os.unlink(host_file)
        except FileNotFoundError:
            pass
        return
    with open(os.path.join(state["bundle"], "config.json")) as f:
        root = json.load(f)["root"]["path"]
    root = os.path.join(state["bundle"], root)  # no-op when already absolute
    os.makedirs(STATE_DIR, exist_ok=True)
    with open("/proc/sys/kernel/random/uuid") as f:
        boot_id = f.read()
    tmp = host_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(boot_id)
    os.replace(tmp, host_file)
    target = os.path.join(root, "proc/sys/kernel/random/boot_id")
    subprocess.run(["mount", "--bind", "-o", "ro", host_file, target], check=True)


main(sys.argv[1])
'''


def hooks_dirs(conf: Path | None = None) -> list[Path]:
    """The ``[engine] hooks_dir`` entries of the lab's containers.conf."""
    with open(conf or containers_conf(), "rb") as f:
        engine = tomllib.load(f).get("engine", {})
    return [Path(p) for p in engine.get("hooks_dir", [])]


def _hook_python() -> str:
    """Interpreter for the hook: the system python outlives any venv."""
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def install_bootid_hook(conf: Path | None = None) -> Path:
    """Install (idempotently) the boot_id OCI hook; return the hook script path.

    podman only runs hooks found in the ``hooks_dir`` of the containers.conf
    the *restarting* process sees; a ``--hooks-dir`` flag on ``podman run``
    is forgotten when conmon restarts the container after an in-guest
    reboot. So the hook lives in the first hooks_dir of the lab's conf, and
    a conf without one is an error naming the fix.
    """
    conf = conf or containers_conf()
    dirs = hooks_dirs(conf)
    if not dirs:
        raise PodmanError(
            f"{conf} has no [engine] hooks_dir, so VM containers cannot get their own "
            'boot_id; add  hooks_dir = ["/var/lib/azlab/oci-hooks.d"]  under [engine]')
    hooks_dir = dirs[0]
    hooks_dir.mkdir(parents=True, exist_ok=True)
    script = hooks_dir / f"{BOOTID_HOOK_NAME}.py"
    _write_if_changed(script, _BOOTID_HOOK_SCRIPT.format(state_dir=str(BOOTID_STATE_DIR)))
    for stage in ("createContainer", "poststop"):
        spec = {
            "version": "1.0.0",
            "hook": {"path": _hook_python(),
                     "args": ["python3", "-I", str(script), stage],
                     "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                     "timeout": 10},
            "when": {"annotations": {f"^{re.escape(BOOTID_ANNOTATION)}$": "^true$"}},
            "stages": [stage],
        }
        _write_if_changed(hooks_dir / f"{BOOTID_HOOK_NAME}-{stage.lower()}.json",
                          json.dumps(spec, indent=2) + "\n")
    return script


def bootid_hook_installed(conf: Path | None = None) -> bool:
    """True if the lab's conf has a hooks_dir holding the boot_id hook."""
    dirs = hooks_dirs(conf)
    return bool(dirs) and (dirs[0] / f"{BOOTID_HOOK_NAME}-createcontainer.json").is_file()


def _write_if_changed(path: Path, content: str) -> None:
    """Atomically (re)write ``path`` only if its content differs (podman may read it)."""
    if path.is_file() and path.read_text() == content:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content)
    os.replace(tmp, path)
