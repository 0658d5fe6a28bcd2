"""The guest agent's part: run extensions and run commands in the VMs' guests, report the outcome.

The control plane marks what is to run: an extension *transitioning* when its configuration
is new (``models.compute.extensions``), a scale set instance's extensions of the model it
runs that did not run in its present guest (``models.compute.scale_set_extensions``), a
VM's ``_run_command`` *pending* after a
``runCommand`` POST (``models.compute.run_command``). Each pass hands those whose VM's guest
runs to a worker, which runs them in the guest (``guest_exec``) and reports what they did
through ``models.compute.state``; the ARM operation ends on that report. What waits for a
VM that is not running waits for it (its operation times out as Azure's does). Nothing of
the settings or scripts is logged: they may carry secrets.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from azlab.dataplane import guest_exec, podman
from azlab.models.compute import app_health, custom_script, run_command, scale_set_extensions as extensions
from azlab.models.compute.common import EXTENSION_TYPE, INSTANCE_TYPE, VM_TYPE
from azlab.models.compute.run_commands import RUN_COMMANDS_TYPE
from azlab.models.compute.state import (
    guest_generation, set_extension_status, set_managed_run_result, set_run_command_result,
)
from azlab.models.ids import ResourceId
from azlab.models.store import Store, key_of

LOG = logging.getLogger(__name__)
#: runs at once (a package install in one guest must not hold up another VM's extension)
WORKERS = 4


def _custom_script(container: str, sequence: int, settings, protected) -> tuple[str, str]:
    """Run a Custom Script configuration in the guest: (succeeded or failed, the status message)."""
    try:
        run = custom_script.parse_settings(settings, protected)
        result = guest_exec.run_custom_script(container, sequence, run)
        state = "succeeded" if result.exit_code == 0 else "failed"
        return state, custom_script.status_message(result.exit_code, result.stdout, result.stderr)
    except custom_script.HandlerConfigError as exc:
        return "failed", custom_script.config_error_message(exc)
    except guest_exec.DownloadError as exc:
        return "failed", str(exc)
    except podman.PodmanError as exc:
        return "failed", f"azlab: the guest agent could not run the handler: {exc}"


def _enable_application_health(props: dict) -> tuple[str, str]:
    """The Application Health handler starts probing if its settings are valid."""
    try:
        probe = app_health.parse_settings(props["typeHandlerVersion"], props.get("settings"))
    except app_health.HealthConfigError as exc:
        return "failed", f"Enable failed: {exc}"
    return "succeeded", f"Enable succeeded: probing {probe.url() if probe.protocol != 'tcp' else f'tcp port {probe.port}'}"


def vm_of(child_id: str) -> str:
    """The VM of an extension or run command ID."""
    return str(ResourceId.parse(child_id).parent)


class GuestAgent:
    def __init__(self, store: Store, on_done: Callable[[], None], workers: int = WORKERS):
        self.store = store
        self._on_done = on_done
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="azlab-agent")
        self._lock = threading.Lock()
        self._running: set[tuple[str, str]] = set()  # (resource key, run sequence or token)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def reconcile(self, guests: dict[str, str]) -> None:
        """``guests``: VM key -> the container of a running guest."""
        for ext_id, ext in self.store.list(EXTENSION_TYPE):
            status = ext.get("_status") or {}
            container = guests.get(key_of(vm_of(ext_id)))
            if status.get("state") == "transitioning" and container is not None:
                self._submit((key_of(ext_id), str(status.get("sequence", 0))), self._run_extension, ext_id, ext, container)
        for instance_id, instance in self.store.list(INSTANCE_TYPE):
            todo = extensions.pending(instance)
            container = guests.get(key_of(instance_id))
            if todo and container is not None:
                job = f"{guest_generation(instance)}:{','.join(ext['digest'] for ext in todo)}"
                self._submit((key_of(instance_id), job), self._run_instance_extensions, instance_id, instance, todo,
                             container)
        for vm_id, vm in self.store.list(VM_TYPE):
            record = vm.get("_run_command") or {}
            container = guests.get(key_of(vm_id))
            if record.get("state") == "pending" and container is not None:
                self._submit((key_of(vm_id), record["token"]), self._run_command, vm_id, record, container)
        for run_id, body in self.store.list(RUN_COMMANDS_TYPE):
            run = body["_run"]
            container = guests.get(key_of(vm_of(run_id)))
            if run["state"] == "pending" and container is not None:
                self._submit((key_of(run_id), str(run["sequence"])), self._run_managed, run_id, body, container)

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, job: tuple[str, str], work: Callable, *args) -> None:
        with self._lock:
            if job in self._running:
                return
            self._running.add(job)

        def run() -> None:
            try:
                work(*args)
            except KeyError:
                pass  # its resource was deleted while it ran
            except Exception:  # one failed run must not end the worker; the operation times out
                LOG.exception("guest agent: %s failed", job[0])
            finally:
                with self._lock:
                    self._running.discard(job)
                self._on_done()

        self._pool.submit(run)

    def _run_extension(self, ext_id: str, ext: dict, container: str) -> None:
        sequence = (ext.get("_status") or {}).get("sequence", 0)
        state, message = _custom_script(container, sequence, ext["properties"].get("settings"),
                                        ext.get("_protected_settings"))
        set_extension_status(self.store, ext_id, state, message, sequence=sequence)
        LOG.info("extension %s (run %d): %s", ext_id, sequence, state)

    def _run_instance_extensions(self, instance_id: str, instance: dict, todo: list[dict], container: str) -> None:
        """A scale set instance's extensions, in the model's order, each reported as it ends."""
        generation = guest_generation(instance)
        for ext in todo:
            props = ext["properties"]
            if custom_script.is_custom_script(props["publisher"], props["type"]):
                sequence = extensions.next_sequence(instance, ext["name"])
                state, message = _custom_script(container, sequence, props.get("settings"), ext["protected"])
            elif app_health.is_application_health(props["publisher"], props["type"]):
                state, message = _enable_application_health(props)  # dataplane/app_health.py probes
            else:
                state, message = "failed", (f"azlab does not run the {props['publisher']}.{props['type']} handler: of "
                                            "the Linux handlers only CustomScript and ApplicationHealthLinux run in "
                                            "the lab's scale set instances")
            extensions.set_run_status(self.store, instance_id, ext["name"], ext["digest"], generation, state, message)
            LOG.info("extension %s of %s (guest %s): %s", ext["name"], instance_id, generation, state)

    def _run_command(self, vm_id: str, record: dict, container: str) -> None:
        try:
            result = guest_exec.run_shell_script(container, str(record["sequence"]), record["script"],
                                                 record["parameters"])
            state, message = "done", run_command.message(result.stdout, result.stderr)
        except podman.PodmanError as exc:
            state, message = "failed", f"azlab: the guest agent could not run the command: {exc}"
        set_run_command_result(self.store, vm_id, record["token"], state, message)
        LOG.info("run command on %s (run %d): %s", vm_id, record["sequence"], state)

    def _run_managed(self, run_id: str, body: dict, container: str) -> None:
        run = body["_run"]
        now = datetime.now(timezone.utc).isoformat()
        try:
            result = guest_exec.run_shell_script(container, f"{body['name']}-{run['sequence']}", run["script"],
                                                 run["parameters"], run["timeout"])
        except podman.PodmanError as exc:
            set_managed_run_result(self.store, run_id, run["sequence"], None, "", "", now,
                                   error=f"azlab: the guest agent could not run the command: {exc}")
            return
        ended = datetime.now(timezone.utc).isoformat()
        set_managed_run_result(self.store, run_id, run["sequence"], result.exit_code, custom_script.tail(result.stdout),
                               custom_script.tail(result.stderr), ended)
        LOG.info("run command %s (run %d): exit %d", run_id, run["sequence"], result.exit_code)
