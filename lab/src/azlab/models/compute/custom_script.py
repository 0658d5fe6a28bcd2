"""The Linux Custom Script Extension's rules (Microsoft.Azure.Extensions.CustomScript 2.x), no I/O.

What the handler in the guest (Azure/custom-script-extension-linux) checks before it runs
anything, and how it words its status: the data plane runs the result in the guest
(``azlab.dataplane.guest_exec``) and reports it with :func:`status_message`.

- Public and protected settings are merged; ``commandToExecute``, ``script`` and
  ``fileUris`` may each be in one of them only.
- Exactly one of ``commandToExecute`` and ``script`` (base64, optionally gzip'd).
- Output kept: the last 4 KiB of stdout and of stderr, in the status message
  ``Enable succeeded: \\n[stdout]\\n...\\n[stderr]\\n...``; a non-zero exit fails the
  extension with ``Enable failed: failed to execute command: command terminated with exit
  status=N`` and the same tails.
"""

from __future__ import annotations

import base64
import binascii
import gzip
from dataclasses import dataclass

HANDLER = ("microsoft.azure.extensions", "customscript")
#: the handler keeps the last 4 KiB of each stream for the status file
MAX_TAIL = 4 * 1024
#: Azure's limit for a Custom Script run
TIMEOUT_SECONDS = 90 * 60
#: the handler refuses a ``script`` larger than this (base64 text)
MAX_SCRIPT = 256 * 1024
ONCE_ONLY = ("commandToExecute", "script", "fileUris", "storageAccountName", "storageAccountKey")


class HandlerConfigError(ValueError):
    """The handler refuses its settings: the extension fails with this message."""


@dataclass(frozen=True)
class CustomScript:
    """What to run: ``command`` for /bin/sh -c, or ``script`` (bytes) run as ./script.sh."""

    command: str | None
    script: bytes | None
    file_uris: tuple[str, ...]
    skip_dos2unix: bool = False


def is_custom_script(publisher: str, ext_type: str) -> bool:
    return (publisher.lower(), ext_type.lower()) == HANDLER


def parse_settings(public: dict | None, protected: dict | None) -> CustomScript:
    """The run the handler would make of its settings, or HandlerConfigError naming the rule."""
    public, protected = public or {}, protected or {}
    if not isinstance(public, dict) or not isinstance(protected, dict):
        raise HandlerConfigError("invalid configuration: settings must be JSON objects")
    for key in ONCE_ONLY:
        if key in public and key in protected:
            raise HandlerConfigError(f"invalid configuration: '{key}' was specified both in public and protected "
                                     "settings; it must be specified only once")
    merged = {**public, **protected}
    command, script = merged.get("commandToExecute"), merged.get("script")
    if command and script:
        raise HandlerConfigError("invalid configuration: 'commandToExecute' and 'script' were both specified, "
                                 "but only one is validate at a time")
    if not command and not script:
        raise HandlerConfigError("invalid configuration: either 'script' or 'commandToExecute' must be specified")
    if ("storageAccountName" in merged) != ("storageAccountKey" in merged):
        raise HandlerConfigError("invalid configuration: both 'storageAccountName' and 'storageAccountKey' "
                                 "must be specified")
    uris = merged.get("fileUris") or []
    if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
        raise HandlerConfigError("invalid configuration: 'fileUris' must be a list of URLs")
    if command is not None and not isinstance(command, str):
        raise HandlerConfigError("invalid configuration: 'commandToExecute' must be a string")
    return CustomScript(command=command or None, script=_decode_script(script) if script else None,
                        file_uris=tuple(uris), skip_dos2unix=bool(merged.get("skipDos2Unix")))


def _decode_script(value) -> bytes:
    if not isinstance(value, str) or len(value) > MAX_SCRIPT:
        raise HandlerConfigError(f"invalid configuration: 'script' must be base64 text of at most {MAX_SCRIPT} bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HandlerConfigError("failed to decode script: 'script' is not valid base64") from exc
    if raw[:2] == b"\x1f\x8b":  # gzip'd first, as the handler accepts
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise HandlerConfigError("failed to decode script: the gzip'd 'script' cannot be inflated") from exc
    return raw


def tail(data: bytes) -> str:
    """The last MAX_TAIL bytes, as text."""
    return data[-MAX_TAIL:].decode("utf-8", "replace")


def status_message(exit_code: int, stdout: bytes, stderr: bytes) -> str:
    streams = f"\n[stdout]\n{tail(stdout)}\n[stderr]\n{tail(stderr)}"
    if exit_code == 0:
        return "Enable succeeded: " + streams
    return f"Enable failed: failed to execute command: command terminated with exit status={exit_code}" + streams


def config_error_message(error: HandlerConfigError) -> str:
    return f"Enable failed: failed to get configuration: {error}"
