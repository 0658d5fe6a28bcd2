"""Run a Custom Script or a run command in a VM's guest, where and as the Linux handlers run them.

The guest agent's handler (Azure/custom-script-extension-linux) waits for provisioning
(cloud-init) to finish, downloads ``fileUris`` into
``/var/lib/waagent/custom-script/download/<sequence>/``, writes a ``script`` there as
``script.sh``, runs the command with ``/bin/sh -c`` in that directory and keeps the
command's ``stdout`` and ``stderr`` files beside it; RunCommandLinux does the same with a
``RunShellScript`` in ``/var/lib/waagent/run-command/download/<n>/script.sh``. So does
this module, through
``podman exec`` as root in the guest:

- the command never appears on a command line of the host (it may come from protected
  settings): it reaches the guest on stdin, into a root-only file that is removed before
  the command runs;
- ``fileUris`` are fetched by the guest itself (curl, the URL on stdin), so only what the
  VM can reach is downloaded - the Internet through its VNet, not the lab's host (whose
  blob endpoint serves no blobs);
- a run is bounded by Azure's 90 minutes (``timeout`` in the guest; exit status 124).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from azlab.dataplane import podman
from azlab.models.compute.custom_script import MAX_TAIL, TIMEOUT_SECONDS, CustomScript

DOWNLOAD_ROOT = "/var/lib/waagent/custom-script/download"
RUN_COMMAND_ROOT = "/var/lib/waagent/run-command/download"
#: provisioning (cloud-init) must be done before a handler runs, as the Azure agent waits for it
PROVISIONING_WAIT = 300
COMMAND_FILE = ".azlab-command"

# $1: the download directory, $2: the time limit in seconds. The command is read from
# COMMAND_FILE, which is removed first.
RUN = f"""
set -u
cd "$1" || exit 97
command=$(cat {COMMAND_FILE}); rm -f {COMMAND_FILE}
timeout "$2" /bin/sh -c "$command" >stdout 2>stderr </dev/null
echo $?
"""


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: bytes
    stderr: bytes


class DownloadError(RuntimeError):
    """A fileUri the guest could not fetch: the handler fails with this message."""


def _exec(container: str, script: str, *args: str, input: bytes | None = None, timeout: float = 60) -> bytes:
    proc = podman.run(["exec", "-i", container, "/bin/sh", "-c", script, "sh", *args],
                      input=input if input is not None else b"", text=False, timeout=timeout)
    return proc.stdout


def wait_for_provisioning(container: str) -> None:
    """cloud-init finished (or failed, which the agent reports separately): handlers may run."""
    podman.run(["exec", container, "/bin/sh", "-c",
                f"timeout {PROVISIONING_WAIT} cloud-init status --wait >/dev/null 2>&1 || true"],
               timeout=PROVISIONING_WAIT + 30)


def _curl_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _prepare(container: str, directory: str, run: CustomScript) -> str:
    """The download directory filled; returns the command line to run in it."""
    _exec(container, 'umask 077; rm -rf "$1" && mkdir -p "$1"', directory)
    for index, uri in enumerate(run.file_uris):
        name = uri.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or f"file{index}"
        # the URL (a SAS token is a secret) reaches curl on stdin, never a command line
        config = f'url = "{_curl_quote(uri)}"\noutput = "{_curl_quote(name)}"\n'
        proc = podman.run(["exec", "-i", "-w", directory, container, "curl", "-fsSL", "--retry", "2", "--max-time",
                           "300", "-K", "-"], input=config, check=False, timeout=330)
        if proc.returncode != 0:
            raise DownloadError(f"Enable failed: failed to download file[{index}]: {proc.stderr.strip()}")
    if run.script is not None:
        script = run.script if run.skip_dos2unix else run.script.replace(b"\r\n", b"\n")
        _exec(container, 'umask 077; cat > "$1/script.sh" && chmod 0700 "$1/script.sh"', directory, input=script)
        return f"{shlex.quote(directory)}/script.sh"
    return run.command or ""


def run_custom_script(container: str, sequence: int, run: CustomScript) -> RunResult:
    """Run it in the guest; the exit status and the tails of both streams."""
    wait_for_provisioning(container)
    directory = f"{DOWNLOAD_ROOT}/{sequence}"
    return _run_in(container, directory, _prepare(container, directory, run))


def run_shell_script(container: str, run_name: str, lines: list[str], parameters: list[list[str]],
                     timeout: int = TIMEOUT_SECONDS) -> RunResult:
    """RunShellScript: the lines as script.sh in the run's directory, the parameters as its
    arguments and, where a name is a shell identifier, as environment variables of that name."""
    wait_for_provisioning(container)
    directory = f"{RUN_COMMAND_ROOT}/{run_name}"
    _exec(container, 'umask 077; rm -rf "$1" && mkdir -p "$1"', directory)
    _exec(container, 'umask 077; cat > "$1/script.sh" && chmod 0700 "$1/script.sh"', directory,
          input="\n".join(lines).encode() + b"\n")
    names = [f"{name}={shlex.quote(value)}" for name, value in parameters if name.isidentifier() and name.isascii()]
    values = [shlex.quote(value) for _, value in parameters]
    return _run_in(container, directory, " ".join([*names, "./script.sh", *values]), timeout)


def _run_in(container: str, directory: str, command: str, timeout: int = TIMEOUT_SECONDS) -> RunResult:
    """Run ``command`` with /bin/sh -c in ``directory`` (at most ``timeout`` seconds: exit
    status 124), its streams kept there."""
    _exec(container, f'umask 077; cat > "$1/{COMMAND_FILE}"', directory, input=command.encode())
    status = _exec(container, RUN, directory, str(timeout), timeout=timeout + 60).decode().strip()
    stdout, stderr = (_exec(container, f'tail -c {MAX_TAIL} "$1/{stream}"', directory) for stream in ("stdout", "stderr"))
    return RunResult(int(status) if status.isdigit() else 97, stdout, stderr)
