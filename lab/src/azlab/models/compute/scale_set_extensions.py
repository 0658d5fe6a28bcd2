"""A scale set's extensions (``virtualMachineProfile.extensionProfile``): Azure's rules for
the model, what each instance runs of it and how that went, and the child resource
``virtualMachineScaleSets/{set}/extensions/{name}`` (the same list, read and written
through the set: no second copy).

The set keeps ``protectedSettings`` apart (``PROTECTED``; never returned, as for a VM's
extensions). An instance that takes a model takes its extensions (``APPLIED``, with a
digest of each one's configuration); the data plane runs each in the instance's guest
(``dataplane/agent.py``) and reports the outcome here (``RUNS``), for the configuration
and the guest it ran in (``state.guest_generation``): a reimaged guest, or a new
configuration, runs it again, while a model change of the extensions alone leaves the guest
as it is (the handler reruns, no reimage). The Application Health extension's health state
comes from the data plane's probes in the guest (``HEALTH``, ``app_health``).
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone

from azlab.models.base import ResourceType
from azlab.models.compute import app_health
from azlab.models.compute.common import (
    NO_WINDOWS_GUEST, VMSS_TYPE, property_change_not_allowed, required_parameter, status,
)
from azlab.models.compute.extensions import (
    WAITING, find_handler, instance_view, multiple_per_handler, public_properties, run_digest,
)
from azlab.models.compute.state import guest_generation
from azlab.models.errors import invalid_parameter
from azlab.models.store import Store

CHILD_TYPE = VMSS_TYPE + "/extensions"
#: on the set: extension name (lower case) -> its protectedSettings
PROTECTED = "_ext_protected"
#: on an instance: the extensions of the model it runs [{name, properties, protected, digest}]
APPLIED = "_ext_model"
#: on an instance: extension name (lower case) -> {digest, generation, sequence, state, message}
RUNS = "_ext_runs"
#: on an instance: {state, digest, generation, time} the Application Health extension reports
HEALTH = "_vm_health"
SUCCEEDED, FAILED, TRANSITIONING = "succeeded", "failed", "transitioning"


def parse_profile(requested, os_type: str, location: str, old_protected: dict,
                  old_profile: dict | None) -> tuple[dict | None, dict]:
    """(extensionProfile as Azure returns it, protectedSettings by name) of a PUT; a PUT
    without an extension's protectedSettings keeps the ones it had (they are never returned)."""
    if requested is None:
        return None, {}
    if not isinstance(requested, dict) or not isinstance(requested.get("extensions") or [], list):
        raise invalid_parameter("virtualMachineProfile.extensionProfile", "Parameter 'extensionProfile.extensions' "
                                "must be a list of extensions.")
    before = {e["name"].lower(): e["properties"] for e in (old_profile or {}).get("extensions") or []}
    out, protected, handlers = [], {}, {}
    for n, ext in enumerate(requested.get("extensions") or []):
        target = f"virtualMachineProfile.extensionProfile.extensions[{n}]"
        ext = ext if isinstance(ext, dict) else {}
        name, props = ext.get("name"), ext.get("properties") or {}
        if not isinstance(name, str) or not name:
            raise required_parameter(f"{target}.name")
        if name.lower() in protected:
            raise invalid_parameter(f"{target}.name", f"The extension name '{name}' is used more than once in the "
                                    "scale set's extensionProfile.")
        for prop in ("publisher", "type", "typeHandlerVersion"):
            if not props.get(prop):
                raise required_parameter(f"{target}.properties.{prop}")
        for prop in ("publisher", "type"):  # as for a VM's extension, what it is never changes
            if name.lower() in before and str(props[prop]).lower() != before[name.lower()][prop].lower():
                raise property_change_not_allowed(prop)
        handler = find_handler(props, os_type, location)
        if handler.handler.lower() in handlers:
            # also Azure's one Application Health extension per set: one handler per OS
            raise multiple_per_handler(name, handler.handler, os_type)
        handlers[handler.handler.lower()] = name
        protected[name.lower()] = (props["protectedSettings"] if "protectedSettings" in props
                                   else old_protected.get(name.lower()))
        out.append({"name": name, "properties": public_properties(props, handler)})
    return {"extensions": out}, protected


def model_extensions(vmss: dict) -> list[dict]:
    """The extensions an instance taking the set's model runs, each with its configuration's digest."""
    protected = vmss.get(PROTECTED) or {}
    out = []
    for ext in (vmss["properties"]["virtualMachineProfile"].get("extensionProfile") or {}).get("extensions") or []:
        secret = protected.get(ext["name"].lower())
        out.append({"name": ext["name"], "properties": copy.deepcopy(ext["properties"]),
                    "protected": copy.deepcopy(secret), "digest": run_digest(ext["properties"], secret)})
    return out


def digests(extensions: list[dict]) -> list[tuple[str, str]]:
    return [(ext["name"].lower(), ext["digest"]) for ext in extensions]


def apply(instance: dict, vmss: dict) -> None:
    """The instance takes the model's extensions (the data plane runs those that are new)."""
    instance[APPLIED] = model_extensions(vmss)


def extensions_behind(instance: dict, vmss: dict) -> bool:
    return digests(instance.get(APPLIED) or []) != digests(model_extensions(vmss))


def current_run(instance: dict, ext: dict) -> dict | None:
    """The run of this configuration in the instance's present guest, if there was one."""
    run = (instance.get(RUNS) or {}).get(ext["name"].lower())
    if run and run["digest"] == ext["digest"] and run["generation"] == guest_generation(instance):
        return run
    return None


def pending(instance: dict) -> list[dict]:
    """The instance's extensions still to run in its guest, in the model's order."""
    return [ext for ext in instance.get(APPLIED) or [] if current_run(instance, ext) is None]


def run_states(instance: dict, no_guest_reason: str | None = None) -> list[tuple[dict, str, str]]:
    """(extension, state, message) of each of the instance's extensions; without a data plane,
    or in a Windows instance (no guest), none runs, and it says so rather than look like it ran
    or will."""
    if instance["properties"]["storageProfile"]["osDisk"].get("osType") == "Windows":
        no_guest_reason = no_guest_reason or NO_WINDOWS_GUEST
    out = []
    for ext in instance.get(APPLIED) or []:
        run = current_run(instance, ext)
        if run is not None:
            out.append((ext, run["state"], run["message"]))
        elif no_guest_reason:
            out.append((ext, FAILED, f"azlab: no guest runs the extension ({no_guest_reason})"))
        else:
            out.append((ext, TRANSITIONING, WAITING))
    return out


def outcome(instance: dict, no_guest_reason: str | None = None) -> str:
    """failed if any extension failed, transitioning while one waits to run, else succeeded."""
    states = {state for _, state, _ in run_states(instance, no_guest_reason)}
    return FAILED if FAILED in states else TRANSITIONING if TRANSITIONING in states else SUCCEEDED


def failure(instance: dict, no_guest_reason: str | None = None) -> dict | None:
    """The error a failed extension ends the instance's operation with (Azure's VMExtensionProvisioningError)."""
    for ext, state, message in run_states(instance, no_guest_reason):
        if state == FAILED:
            props = ext["properties"]
            return {"code": "VMExtensionProvisioningError",
                    "message": f"VM has reported a failure when processing extension '{ext['name']}' (publisher "
                               f"'{props['publisher']}' and type '{props['type']}'). Error message: '{message}'."}
    return None


def views(instance: dict, no_guest_reason: str | None) -> list[dict]:
    """instanceView.extensions of an instance: each extension's real status."""
    return [instance_view({"name": ext["name"], "properties": ext["properties"],
                           "_status": {"state": state, "message": message}})
            for ext, state, message in run_states(instance, no_guest_reason)]


def health_extension(extensions: list[dict]) -> dict | None:
    """The Application Health extension among a model's or an instance's extensions."""
    return next((ext for ext in extensions
                 if app_health.is_application_health(ext["properties"]["publisher"], ext["properties"]["type"])), None)


def vm_health(instance: dict) -> str | None:
    """What the instance's Application Health extension reports now (None: it does not run)."""
    ext = health_extension(instance.get(APPLIED) or [])
    record = instance.get(HEALTH) or {}
    run = current_run(instance, ext) if ext else None
    if run is None or run["state"] != SUCCEEDED or record.get("digest") != ext["digest"] \
            or record.get("generation") != guest_generation(instance):
        return None
    return record["state"]


def vm_health_view(instance: dict) -> dict | None:
    state = vm_health(instance)
    if state is None:
        return None
    return {"status": status(f"HealthState/{state}", f"The VM is {state}", time=instance[HEALTH]["time"],
                             level="Info" if state != app_health.UNHEALTHY else "Warning")}


# -- what the data plane reports ---------------------------------------------------------------

def _update_instance(store: Store, instance_id: str, change) -> bool:
    with store.transaction():
        body = store.get(instance_id)
        if body is None or not change(body):
            return False
        store.put(body["id"], body["type"], body)
        return True


def set_run_status(store: Store, instance_id: str, name: str, digest: str, generation: str, state: str,
                   message: str) -> bool:
    """Report an extension's run in an instance's guest; a report for a configuration or a
    guest the instance no longer has is dropped. Returns whether it was recorded."""
    if state not in (SUCCEEDED, FAILED):
        raise ValueError(f"extension state must be succeeded or failed, not {state!r}")

    def change(body: dict) -> bool:
        ext = next((e for e in body.get(APPLIED) or [] if e["name"].lower() == name.lower()), None)
        if ext is None or ext["digest"] != digest or guest_generation(body) != generation:
            return False
        runs = body.setdefault(RUNS, {})
        sequence = runs.get(name.lower(), {}).get("sequence", -1) + 1
        runs[name.lower()] = {"digest": digest, "generation": generation, "sequence": sequence, "state": state,
                              "message": message}
        return True
    return _update_instance(store, instance_id, change)


def next_sequence(instance: dict, name: str) -> int:
    """The handler's sequence number of the next run (its download directory)."""
    return (instance.get(RUNS) or {}).get(name.lower(), {}).get("sequence", -1) + 1


def set_vm_health(store: Store, instance_id: str, digest: str, generation: str, state: str) -> bool:
    """Report the Application Health extension's state for this configuration and guest."""

    def change(body: dict) -> bool:
        if guest_generation(body) != generation:
            return False
        body[HEALTH] = {"state": state, "digest": digest, "generation": generation,
                        "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")}
        return True
    return _update_instance(store, instance_id, change)


class ScaleSetExtensionType(ResourceType):
    """``virtualMachineScaleSets/{set}/extensions/{name}``: an entry of the set's
    extensionProfile; a PUT or DELETE is the set's PUT with that entry changed, so every
    rule of the set applies and a changed extension is a new model (upgraded by the policy)."""

    full_type = CHILD_TYPE
    embedded_in = "virtualMachineProfile.extensionProfile.extensions"
    min_api_version = "2015-06-15"
    has_location = False

    def render(self, ctx, body: dict) -> dict:
        props = {**body.get("properties", {}), "provisioningState": "Succeeded"}
        return {"id": body["id"], "name": body["name"], "type": CHILD_TYPE, "properties": props}
