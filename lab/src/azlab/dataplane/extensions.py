"""The guest agent's part: run each transitioning extension in its VM's guest, report the outcome.

The control plane marks an extension *transitioning* when its configuration is new
(``models.compute.extensions``); each pass hands those whose VM's guest runs to a worker,
which runs the Custom Script in the guest (``guest_exec``) and reports what it did with
``state.set_extension_status``. The PUT's operation ends on that report. An extension of a
VM that is not running waits for it (its operation times out as Azure's does). Nothing
of the settings is logged: they may carry secrets.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from azlab.dataplane import guest_exec, podman
from azlab.models.compute import custom_script
from azlab.models.compute.common import EXTENSION_TYPE
from azlab.models.compute.state import set_extension_status
from azlab.models.store import Store, key_of

LOG = logging.getLogger(__name__)
#: runs at once (a package install in one guest must not hold up another VM's extension)
WORKERS = 4


def vm_of(extension_id: str) -> str:
    return extension_id.rsplit("/extensions/", 1)[0]


class ExtensionRunner:
    def __init__(self, store: Store, on_done: Callable[[], None], workers: int = WORKERS):
        self.store = store
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="azlab-ext")
        self._lock = threading.Lock()
        self._running: set[tuple[str, int]] = set()  # (extension key, run sequence)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def reconcile(self, guests: dict[str, str]) -> None:
        """``guests``: VM key -> the container of a running guest."""
        for ext_id, ext in self.store.list(EXTENSION_TYPE):
            status = ext.get("_status") or {}
            container = guests.get(key_of(vm_of(ext_id)))
            if status.get("state") != "transitioning" or container is None:
                continue
            job = (key_of(ext_id), status.get("sequence", 0))
            with self._lock:
                if job in self._running:
                    continue
                self._running.add(job)
            self._pool.submit(self._run, ext_id, ext, container, job)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, ext_id: str, ext: dict, container: str, job: tuple[str, int]) -> None:
        sequence = job[1]
        try:
            state, message = self._outcome(ext, container, sequence)
            try:
                set_extension_status(self.store, ext_id, state, message, sequence=sequence)
            except KeyError:
                pass  # deleted while it ran
            LOG.info("extension %s (run %d): %s", ext_id, sequence, state)
        finally:
            with self._lock:
                self._running.discard(job)
            self._on_done()

    @staticmethod
    def _outcome(ext: dict, container: str, sequence: int) -> tuple[str, str]:
        try:
            run = custom_script.parse_settings(ext["properties"].get("settings"), ext.get("_protected_settings"))
            result = guest_exec.run_custom_script(container, sequence, run)
        except custom_script.HandlerConfigError as exc:
            return "failed", custom_script.config_error_message(exc)
        except guest_exec.DownloadError as exc:
            return "failed", str(exc)
        except podman.PodmanError as exc:
            return "failed", f"azlab: the guest agent could not run the handler: {exc}"
        message = custom_script.status_message(result.exit_code, result.stdout, result.stderr)
        return ("succeeded" if result.exit_code == 0 else "failed"), message
