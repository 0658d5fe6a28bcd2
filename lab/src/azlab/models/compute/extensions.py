"""Microsoft.Compute/virtualMachines/extensions: handlers the guest agent runs (Custom Script ...).

An extension is a nested resource with its own lifecycle under its VM. ``protectedSettings``
is kept for the data plane (it may hold the command to run) and never returned. The lab
records the extension at once; the data plane reports what running it did with
``state.set_extension_status``. Windows VMs have no guest, and their extensions say so.
"""

from __future__ import annotations

from azlab.models.base import Context, ResourceType, require_props
from azlab.models.errors import ArmError
from azlab.models.ids import ResourceId
from azlab.models.compute.catalog import find_extension
from azlab.models.compute.common import (
    EXTENSION_TYPE, NO_WINDOWS_GUEST, property_change_not_allowed, required_parameter, status,
)

LINUX_PENDING = "azlab: recorded by the control plane; the data plane runs it in the guest when present"


def vm_os_type(vm: dict) -> str:
    return vm["properties"]["storageProfile"]["osDisk"]["osType"]


def _require_running(vm: dict) -> None:
    if vm.get("_power") != "running":
        raise ArmError(409, "OperationNotAllowed", "Cannot modify extensions in the VM when the VM is not running.")


def instance_view(ext: dict) -> dict:
    props = ext["properties"]
    state = ext.get("_status", {}).get("state", "succeeded")
    return {"name": ext["name"], "type": f"{props['publisher']}.{props['type']}",
            "typeHandlerVersion": props["typeHandlerVersion"],
            "statuses": [status(f"ProvisioningState/{state}", f"Provisioning {state}", ext.get("_status", {}).get("message"))]}


def handler_status(ext: dict) -> dict:
    """The VM agent's view of the handler (vmAgent.extensionHandlers)."""
    props = ext["properties"]
    return {"type": f"{props['publisher']}.{props['type']}", "typeHandlerVersion": props["typeHandlerVersion"],
            "status": status("ProvisioningState/succeeded", "Ready")}


class ExtensionType(ResourceType):
    full_type = EXTENSION_TYPE
    min_api_version = "2015-06-15"

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
        handler = self._handler(props, vm)
        self._check_one_per_handler(ctx, rid, handler.handler)
        out["properties"] = self._public_properties(props, handler)
        out["_protected_settings"] = props.get("protectedSettings") or (existing or {}).get("_protected_settings")
        out["_status"] = {"state": "succeeded",
                          "message": NO_WINDOWS_GUEST if vm_os_type(vm) == "Windows" else LINUX_PENDING}
        return out

    @staticmethod
    def _handler(props: dict, vm: dict):
        handler = find_extension(props["publisher"], props["type"], vm_os_type(vm))
        if handler is None:
            raise ArmError(404, "ArtifactNotFound", f"The VM extension with publisher '{props['publisher']}' and type "
                           f"'{props['type']}' could not be found in location '{vm['location']}'.")
        if not handler.supports(str(props["typeHandlerVersion"])):
            raise ArmError(404, "ArtifactVersionNotFound", "No version found in the artifact repository that "
                           f"satisfies the requested version '{props['typeHandlerVersion']}' for VM extension with "
                           f"publisher '{props['publisher']}' and type '{props['type']}'.")
        return handler

    def _check_one_per_handler(self, ctx: Context, rid: ResourceId, handler: str) -> None:
        for ext_id, other in ctx.list(self.full_type, prefix=str(rid.parent)):
            other_handler = f"{other['properties']['publisher']}.{other['properties']['type']}"
            if other_handler.lower() == handler.lower() and other["name"].lower() != rid.name.lower():
                raise ArmError(400, "BadRequest", "Multiple VMExtensions per handler not supported for OS type "
                               f"'{vm_os_type(ctx.get(str(rid.parent)))}'. VMExtension '{rid.name}' with handler "
                               f"'{handler}' already added or specified in input.")

    @staticmethod
    def _public_properties(props: dict, handler) -> dict:
        out = {"publisher": handler.publisher, "type": handler.type, "typeHandlerVersion": props["typeHandlerVersion"]}
        for prop in ("autoUpgradeMinorVersion", "enableAutomaticUpgrade", "forceUpdateTag", "suppressFailures",
                     "provisionAfterExtensions"):
            if props.get(prop) is not None:
                out[prop] = props[prop]
        if props.get("settings") is not None:
            out["settings"] = props["settings"]
        out["provisioningState"] = "Succeeded"
        return out

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        if expand.lower() == "instanceview":
            body = dict(body)
            body["properties"] = {**body["properties"], "instanceView": instance_view(body)}
        return body

    def check_delete(self, ctx: Context, rid: ResourceId, body: dict) -> None:
        _require_running(ctx.get(str(rid.parent)))
