"""Microsoft.Compute/virtualMachines/extensions: handlers the guest agent runs (Custom Script ...).

An extension is a nested resource with its own lifecycle under its VM. ``protectedSettings``
is kept for the data plane (it may hold the command to run) and never returned.

A PUT whose configuration (handler version, settings, protected settings,
``forceUpdateTag``) is new starts a run: the extension is *transitioning* and its PUT's
operation waits until the data plane has run it in the guest and reported the outcome
(``state.set_extension_status``); a failed run fails the operation with
``VMExtensionProvisioningError``, as on Azure. The same configuration again does not run it
again (the handler runs a configuration once). What the lab cannot run - a Windows guest, a
handler other than the Linux Custom Script, a lab without a data plane - fails at once and
says why: an extension is never reported succeeded unless it ran.
"""

from __future__ import annotations

import hashlib
import json

from azlab.models.base import Context, ResourceType, require_props
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId
from azlab.models.compute import custom_script
from azlab.models.compute.catalog import find_extension
from azlab.models.compute.common import (
    EXTENSION_TYPE, NO_WINDOWS_GUEST, property_change_not_allowed, required_parameter, status,
)

WAITING = "azlab: waiting for the guest agent to run it"
#: Azure's troubleshooting link in a Custom Script failure
TROUBLESHOOT = "https://aka.ms/VMExtensionCSELinuxTroubleshoot"


def vm_os_type(vm: dict) -> str:
    return vm["properties"]["storageProfile"]["osDisk"]["osType"]


def _require_running(vm: dict) -> None:
    if vm.get("_power") != "running":
        raise ArmError(409, "OperationNotAllowed", "Cannot modify extensions in the VM when the VM is not running.")


def run_digest(props: dict, protected: dict | None) -> str:
    """What makes the handler run again: a new configuration or forceUpdateTag."""
    config = {k: props.get(k) for k in ("typeHandlerVersion", "settings", "forceUpdateTag")}
    config["protectedSettings"] = protected
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def instance_view(ext: dict) -> dict:
    props = ext["properties"]
    run = ext.get("_status") or {}
    state, message = run.get("state", "transitioning"), run.get("message")
    if state == "succeeded":
        statuses = [status("ProvisioningState/succeeded", "Provisioning succeeded", message)]
    elif state == "failed":
        statuses = [status("ProvisioningState/failed/0", "Provisioning failed", message, level="Error")]
    else:
        statuses = [status("ProvisioningState/transitioning", "Transitioning", message)]
    return {"name": ext["name"], "type": f"{props['publisher']}.{props['type']}",
            "typeHandlerVersion": props["typeHandlerVersion"], "statuses": statuses}


def handler_status(ext: dict) -> dict:
    """The VM agent's view of the handler (vmAgent.extensionHandlers): Ready once it ran."""
    props = ext["properties"]
    ready = (ext.get("_status") or {}).get("state") == "succeeded"
    return {"type": f"{props['publisher']}.{props['type']}", "typeHandlerVersion": props["typeHandlerVersion"],
            "status": status("ProvisioningState/succeeded", "Ready") if ready else
            status("ProvisioningState/NotReady", "Not Ready", level="Warning")}


def provisioning_error(ext: dict) -> dict:
    """The error a failed run's operation ends with (Azure's VMExtensionProvisioningError)."""
    props = ext["properties"]
    return {"code": "VMExtensionProvisioningError",
            "message": f"VM has reported a failure when processing extension '{ext['name']}' (publisher "
                       f"'{props['publisher']}' and type '{props['type']}'). Error message: "
                       f"'{(ext.get('_status') or {}).get('message', '')}'. More information on troubleshooting "
                       f"is available at {TROUBLESHOOT}. "}


def find_handler(props: dict, os_type: str, location: str):
    """The published handler a VM's or scale set's extension names, or Azure's refusal."""
    handler = find_extension(props["publisher"], props["type"], os_type)
    if handler is None:
        raise ArmError(404, "ArtifactNotFound", f"The VM extension with publisher '{props['publisher']}' and type "
                       f"'{props['type']}' could not be found in location '{location}'.")
    if not handler.supports(str(props["typeHandlerVersion"])):
        raise ArmError(404, "ArtifactVersionNotFound", "No version found in the artifact repository that "
                       f"satisfies the requested version '{props['typeHandlerVersion']}' for VM extension with "
                       f"publisher '{props['publisher']}' and type '{props['type']}'.")
    return handler


def public_properties(props: dict, handler) -> dict:
    """What Azure keeps and returns of an extension's properties (never protectedSettings)."""
    out = {"publisher": handler.publisher, "type": handler.type, "typeHandlerVersion": props["typeHandlerVersion"]}
    for prop in ("autoUpgradeMinorVersion", "enableAutomaticUpgrade", "forceUpdateTag", "suppressFailures",
                 "provisionAfterExtensions"):
        if props.get(prop) is not None:
            out[prop] = props[prop]
    if props.get("settings") is not None:
        out["settings"] = props["settings"]
    return out


def multiple_per_handler(name: str, handler: str, os_type: str) -> ArmError:
    return ArmError(400, "BadRequest", f"Multiple VMExtensions per handler not supported for OS type '{os_type}'. "
                    f"VMExtension '{name}' with handler '{handler}' already added or specified in input.")


def cannot_run(vm: dict, props: dict, no_guest_reason: str | None) -> str | None:
    """Why the lab cannot run this extension (None: the data plane runs it in the guest)."""
    if vm_os_type(vm) == "Windows":
        return NO_WINDOWS_GUEST
    if not custom_script.is_custom_script(props["publisher"], props["type"]):
        return (f"azlab does not run the {props['publisher']}.{props['type']} handler: of the Linux handlers "
                "only Microsoft.Azure.Extensions.CustomScript runs in the lab's guests")
    if no_guest_reason:
        return f"azlab: no guest runs the extension ({no_guest_reason})"
    return None


class ExtensionType(ResourceType):
    full_type = EXTENSION_TYPE
    min_api_version = "2015-06-15"
    #: Azure gives a Custom Script 90 minutes; the guest's provisioning comes first
    gate_timeout = custom_script.TIMEOUT_SECONDS + 600.0

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        vm = ctx.get(str(rid.parent))
        _require_running(vm)
        out = self.base_body(ctx, rid, {**body, "location": body.get("location") or vm["location"]}, existing)
        props = require_props(body, self.full_type)
        for prop in ("publisher", "type", "typeHandlerVersion"):
            if not props.get(prop):
                raise required_parameter(prop)
        if existing is not None:
            for prop in ("publisher", "type"):
                if props[prop].lower() != existing["properties"][prop].lower():
                    raise property_change_not_allowed(prop)
        handler = find_handler(props, vm_os_type(vm), vm["location"])
        self._check_one_per_handler(ctx, rid, handler.handler)
        out["properties"] = public_properties(props, handler)
        # a PUT without protectedSettings keeps the ones set before (they are never returned,
        # so a client cannot send them back); an explicit {} clears them
        protected = (props["protectedSettings"] if "protectedSettings" in props
                     else (existing or {}).get("_protected_settings"))
        out["_protected_settings"] = protected
        digest = run_digest(out["properties"], protected)
        previous = (existing or {}).get("_run") or {}
        if existing is not None and previous.get("digest") == digest:
            # the same configuration: the handler does not run it again
            out["_run"], out["_status"] = previous, existing.get("_status")
            out["properties"]["provisioningState"] = existing["properties"]["provisioningState"]
            return out
        out["_run"] = {"sequence": previous.get("sequence", -1) + 1, "digest": digest}
        self._plan_run(out, vm, protected, ctx.no_guest_reason, created=existing is None)
        return out

    @staticmethod
    def _plan_run(ext: dict, vm: dict, protected: dict | None, no_guest_reason: str | None, *, created: bool) -> None:
        """Transitioning until the guest ran it, or failed now with the reason it cannot run."""
        props = ext["properties"]
        reason = cannot_run(vm, props, no_guest_reason)
        if reason is None:
            try:
                custom_script.parse_settings(props.get("settings"), protected)
            except custom_script.HandlerConfigError as exc:
                reason = custom_script.config_error_message(exc)
        if reason is not None:
            ext["_status"] = {"state": "failed", "message": reason, "sequence": ext["_run"]["sequence"]}
            props["provisioningState"] = "Failed"
        else:
            ext["_status"] = {"state": "transitioning", "message": WAITING, "sequence": ext["_run"]["sequence"]}
            props["provisioningState"] = "Creating" if created else "Updating"

    def operation_gate(self, ctx: Context, resource_id: str, kind: str, action: str | None = None):
        """A PUT's operation ends when the run does; a failed run fails it (unless suppressFailures)."""
        if kind != "put":
            return None

        def outcome() -> dict | None:
            ext = ctx.get(resource_id)
            state = ((ext or {}).get("_status") or {}).get("state")
            if state == "transitioning":
                return None
            if state == "failed" and not ext["properties"].get("suppressFailures"):
                return provisioning_error(ext)
            return {}
        return outcome

    def _check_one_per_handler(self, ctx: Context, rid: ResourceId, handler: str) -> None:
        for ext_id, other in ctx.list(self.full_type, prefix=str(rid.parent)):
            other_handler = f"{other['properties']['publisher']}.{other['properties']['type']}"
            if other_handler.lower() == handler.lower() and other["name"].lower() != rid.name.lower():
                raise multiple_per_handler(rid.name, handler, vm_os_type(ctx.get(str(rid.parent))))

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        if expand.lower() == "instanceview":
            body = dict(body)
            body["properties"] = {**body["properties"], "instanceView": instance_view(body)}
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        _require_running(ctx.get(str(rid.parent)))
