"""Lab-internal VM state, and the API the data plane uses to read and report it.

ARM stores a VM's body plus keys starting with '_' that ARM never shows:

- ``_power``: the PowerState the instance view reports (running, stopped, deallocated,
  starting, stopping, deallocating). Create/start/restart set it to running, powerOff to
  stopped, deallocate to deallocated; the data plane overwrites it with what the guest
  really does (``set_power_state``).
- ``_power_goal``: what ARM last asked for (running, stopped, deallocated); only ARM
  writes it, so the data plane can tell a request from its own reports.
- ``_restarts``: bumped by each restart action, so a subscriber sees a restart request.
- ``_placement``: ``{"platformUpdateDomain": u, "platformFaultDomain": f}``, fixed at creation.
- ``_failure``: ``{"code", "message"}`` when the data plane could not make the VM (its
  provisioningState is then Failed); a new PUT of the VM clears it and is tried again.
- ``_run_command``: the last runCommand request and, once run, its outcome
  (``models.compute.run_command``).

The guest identity (osProfile incl. secrets) lives on the OS disk under ``_guest``;
``vm_spec`` joins both into what the data plane needs to run a VM.
"""

from __future__ import annotations

import copy

from azlab.models.store import Store
from azlab.models.compute.common import EXTENSION_TYPE, INSTANCE_TYPE, VM_TYPE, sub_id
from azlab.models.compute.run_commands import RUN_COMMANDS_TYPE, result_state

POWER_STATES = {
    "running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated",
    "starting": "VM starting", "stopping": "VM stopping", "deallocating": "VM deallocating",
}
#: the outcomes the data plane reports for an extension run
EXTENSION_STATES = ("succeeded", "failed")


def set_power_state(store: Store, vm_id: str, state: str) -> None:
    """Report a VM's actual power state (callable inside or outside a store transaction)."""
    if state not in POWER_STATES:
        raise ValueError(f"power state must be one of {', '.join(POWER_STATES)}, not {state!r}")
    _update(store, vm_id, VM_TYPE, lambda body: body.__setitem__("_power", state))


def request_power(store: Store, body: dict, state: str, restart: bool = False) -> None:
    """ARM's side of a power action on a VM or scale set instance: the goal (``_power_goal``)
    and, until the data plane reports, the state; a restart is counted (``_restarts``)."""
    body["_power"] = body["_power_goal"] = state
    if restart:
        body["_restarts"] = body.get("_restarts", 0) + 1
    store.put(body["id"], body["type"], body)


def record_provisioning_failure(store: Store, vm_id: str, code: str, message: str) -> None:
    """The data plane could not make the VM: provisioning failed, with Azure's code and why."""

    def apply(body: dict) -> None:
        body["_failure"] = {"code": code, "message": message}
        body["properties"]["provisioningState"] = "Failed"

    _update(store, vm_id, VM_TYPE, apply)


def provisioning_failure(store: Store, vm_id: str) -> dict | None:
    """``{"code", "message"}`` if the data plane could not make the VM, else None."""
    return (store.get(vm_id) or {}).get("_failure")


def set_extension_status(store: Store, extension_id: str, state: str, message: str, sequence: int | None = None) -> bool:
    """Report what running an extension in the guest did (e.g. the Custom Script's outcome).

    ``sequence``: the run this outcome belongs to; an outcome of an earlier run (the
    configuration changed meanwhile) is dropped. Returns whether it was recorded.
    """
    if state not in EXTENSION_STATES:
        raise ValueError(f"extension state must be one of {', '.join(EXTENSION_STATES)}, not {state!r}")
    recorded = []

    def apply(body: dict) -> None:
        current = (body.get("_run") or {}).get("sequence")
        if sequence is not None and current is not None and current != sequence:
            return
        body["_status"] = {"state": state, "message": message, "sequence": current}
        body["properties"]["provisioningState"] = "Succeeded" if state == "succeeded" else "Failed"
        recorded.append(True)

    _update(store, extension_id, EXTENSION_TYPE, apply)
    return bool(recorded)


def set_run_command_result(store: Store, vm_id: str, token: str, state: str, message: str) -> bool:
    """Report a run command's outcome (``done`` with its message, or ``failed`` with why it
    could not run); a report for a run that is no longer the VM's is dropped."""
    if state not in ("done", "failed"):
        raise ValueError(f"run command state must be done or failed, not {state!r}")
    recorded = []

    def apply(body: dict) -> None:
        record = body.get("_run_command") or {}
        if record.get("token") == token:
            record.update(state=state, message=message)
            recorded.append(True)

    _update(store, vm_id, VM_TYPE, apply)
    return bool(recorded)


def set_managed_run_result(store: Store, run_command_id: str, sequence: int, exit_code: int | None, stdout: str,
                           stderr: str, ended: str, error: str | None = None) -> bool:
    """Report a managed run command's run (``runCommands/{name}``): its exit code and the tails
    of its streams, or ``error`` when it could not run. A report of an earlier run is dropped."""
    recorded = []

    def apply(body: dict) -> None:
        run = body["_run"]
        if run["sequence"] != sequence:
            return
        if error is not None:
            run.update(state="failed", error=error, ended=ended)
            body["properties"]["provisioningState"] = "Failed"
        else:
            run.update(state="done", exit_code=exit_code, stdout=stdout, stderr=stderr, ended=ended)
            body["properties"]["provisioningState"] = result_state(body, exit_code)
        recorded.append(True)

    _update(store, run_command_id, RUN_COMMANDS_TYPE, apply)
    return bool(recorded)


def _update(store: Store, resource_id: str, resource_type: str, change) -> None:
    with store.transaction():
        body = store.get(resource_id)
        if body is None:
            raise KeyError(f"no {resource_type} {resource_id}")
        change(body)
        store.put(body["id"], body.get("type") or resource_type, body)


def vm_spec(store: Store, vm_id: str) -> dict:
    """Everything the data plane needs to run one VM, in one dict.

    ``guest`` holds computerName, adminUsername, osType, sshPublicKeys [{path, keyData}],
    passwordAuthentication, passwordHash (SHA-512 crypt or None) and customData (base64 or
    absent); it is empty for a VM whose OS disk was not created by the lab from an image.
    """
    vm = store.get(vm_id)
    if vm is None:
        raise KeyError(f"no virtual machine {vm_id}")
    props = vm["properties"]
    storage = props["storageProfile"]
    os_disk = store.get(storage["osDisk"]["managedDisk"]["id"]) or {}
    return {
        "id": vm["id"],
        "name": vm["name"],
        "vm_id": props["vmId"],
        "location": vm["location"],
        "vm_size": props["hardwareProfile"]["vmSize"],
        "os_type": storage["osDisk"]["osType"],
        "image": os_disk.get("_image"),
        "guest": copy.deepcopy(os_disk.get("_guest", {})),
        "os_disk_id": os_disk.get("id"),
        "os_disk_unique_id": (os_disk.get("properties") or {}).get("uniqueId"),
        "data_disks": [{"lun": d["lun"], "id": d["managedDisk"]["id"], "size_gb": d.get("diskSizeGB")}
                       for d in storage.get("dataDisks", [])],
        "network_interfaces": [sub_id(n) for n in props["networkProfile"]["networkInterfaces"]],
        "availability_set": sub_id(props.get("availabilitySet")),
        "placement": dict(vm.get("_placement", {"platformUpdateDomain": 0, "platformFaultDomain": 0})),
        "power": vm.get("_power"),
        "power_goal": vm.get("_power_goal"),
        "restarts": vm.get("_restarts", 0),
        "extensions": [ext["id"] for _, ext in store.list(EXTENSION_TYPE, prefix=vm["id"])],
    }


def instance_spec(store: Store, instance_id: str) -> dict:
    """``vm_spec`` of a scale set instance: its guest comes from the set's model, it has no
    disk resources and no availability set."""
    inst = store.get(instance_id)
    if inst is None:
        raise KeyError(f"no scale set instance {instance_id}")
    props = inst["properties"]
    return {
        "id": inst["id"],
        "name": inst["name"],
        "vm_id": props["vmId"],
        "location": inst["location"],
        "vm_size": inst["sku"]["name"],
        "os_type": props["storageProfile"]["osDisk"].get("osType", "Linux"),
        "image": inst.get("_image"),
        "guest": copy.deepcopy(inst.get("_guest", {})),
        "os_disk_id": None,
        "os_disk_unique_id": None,
        "data_disks": [],
        "network_interfaces": [ref["id"] for ref in props["networkProfile"]["networkInterfaces"]],
        "availability_set": None,
        "placement": dict(inst.get("_placement") or {}),
        "power": inst.get("_power"),
        "power_goal": inst.get("_power_goal"),
        "restarts": inst.get("_restarts", 0),
        "extensions": [],
        # what the guest is made from (the set's model, reimages): a newer one is a reimage
        "model": guest_generation(inst),
    }


def guest_generation(instance: dict) -> str:
    """What a scale set instance's guest is made from: the set's guest model it runs, and how
    often it was reimaged on that model ("3", "3.1"); a new generation is a new container (a reimage)."""
    reimages = instance.get("_reimages", 0)
    # the model its guest was made from: a model change of the extensions alone keeps the guest
    made_from = instance.get("_guest_model", instance["_model"])
    return f"{made_from}.{reimages}" if reimages else str(made_from)


def machines(store: Store) -> list[tuple[str, dict]]:
    """(ID, body) of everything that runs a guest: VMs and scale set instances."""
    return [*store.list(VM_TYPE), *store.list(INSTANCE_TYPE)]


def machine_spec(store: Store, machine_id: str) -> dict:
    """``vm_spec`` or ``instance_spec``, by what the ID names."""
    body = store.get(machine_id) or {}
    if body.get("type", "").lower() == INSTANCE_TYPE.lower():
        return instance_spec(store, machine_id)
    return vm_spec(store, machine_id)
