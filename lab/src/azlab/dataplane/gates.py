"""What ARM's operations wait for in the data plane (store reads, no I/O).

A VM's create or update ends once its container runs, and fails as an allocation failure does
on Azure when the container cannot be made: a VM is never reported created while nothing runs.
A scale set's PUT ends when every instance's container runs, on the set's current model, its
extensions ran there (a failed one fails it with Azure's VMExtensionProvisioningError), and
the containers of the instances it removed are gone (an overprovisioning's extras too, and
those waiting for their Terminate event after it: ``scheduled_events``); it fails
with the first instance that failed. ``made`` is the controller's record of the containers it made: VM key -> token.
"""

from __future__ import annotations

from azlab.models.compute import scale_set_extensions as extensions, scale_set_overprovision as overprovision
from azlab.models.compute import scheduled_events
from azlab.models.compute.common import INSTANCE_TYPE
from azlab.models.compute.state import guest_generation, provisioning_failure, vm_spec
from azlab.models.store import Store, key_of


def made_token(spec: dict) -> str:
    """What a made container stands for: the VM (its vmId), and for a scale set instance
    also what its guest was made from (``state.guest_generation``)."""
    return spec["vm_id"] if spec.get("model") is None else f"{spec['vm_id']}#{spec['model']}"


def instance_made(made: dict[str, str], instance: dict) -> bool:
    """Whether the scale set instance's container was made from what the instance now says."""
    token = made_token({"vm_id": instance["properties"]["vmId"], "model": guest_generation(instance)})
    return made.get(key_of(instance["id"])) == token


def stale_model(spec: dict, container: dict) -> bool:
    """A scale set instance whose container was made from another model or before a reimage."""
    return spec.get("model") is not None and container.get("model") not in (None, str(spec["model"]))


def vm_gate(store: Store, made: dict[str, str], vm_id: str):
    key = key_of(vm_id)
    spec = vm_spec(store, vm_id) if store.exists(vm_id) else None
    if spec is None or spec["os_type"] != "Linux" or not spec["guest"]:
        return None

    def outcome() -> dict | None:
        failure = provisioning_failure(store, key)
        if failure is not None:
            return dict(failure)
        # the container of this VM, not of a VM of the same name deleted just before
        return {} if made.get(key) == made_token(spec) else None
    return outcome


def scale_set_gate(store: Store, made: dict[str, str], resource_id: str):
    """The set's instances (or the one instance ``resource_id`` names) run what they say."""
    prefix = key_of(resource_id) + "/"

    def members_now() -> dict[str, dict]:
        body = store.get(resource_id)
        if body is not None and body.get("type", "").lower() == INSTANCE_TYPE.lower():
            return {key_of(resource_id): body}
        return {key_of(i_id): body for i_id, body in store.list(INSTANCE_TYPE, prefix=resource_id)}

    def outcome() -> dict | None:
        if (store.get(resource_id) or {}).get(overprovision.RECORD):
            return None  # its extras are not gone yet (a failed one among them may be one of them)
        members = members_now()
        if any(scheduled_events.terminating(body) for body in members.values()):
            return None  # instances it let go wait for their Terminate event
        for body in members.values():
            if body.get("_failure"):
                return dict(body["_failure"])
        if not all(instance_made(made, body) for body in members.values()):
            return None
        for body in members.values():  # then their extensions ran in the guests made
            state = extensions.outcome(body)
            if state != extensions.SUCCEEDED:
                return extensions.failure(body) if state == extensions.FAILED else None
        return None if any(k.startswith(prefix) and k not in members for k in made) else {}
    return outcome
