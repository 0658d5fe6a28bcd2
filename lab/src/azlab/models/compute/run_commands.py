"""Microsoft.Compute/virtualMachines/runCommands: managed run commands (Azure's rules, no I/O).

A nested resource under its VM: ``source`` (``script``, or a built-in ``commandId``;
``scriptUri`` needs a download the lab's guests cannot make from the lab's own storage and
is refused), ``parameters`` and ``protectedParameters`` (never returned), ``asyncExecution``,
``timeoutInSeconds``, ``treatFailureAsDeploymentFailure``. Every PUT runs the script once
in the guest (``state.set_managed_run_result`` reports it); the PUT's operation ends when it
ran unless ``asyncExecution``. ``$expand=instanceView`` shows ``executionState``,
``exitCode``, ``output`` and ``error`` (the last 4 KiB of each stream), start and end times.
``provisioningState`` says whether the run happened; it is Failed for a failing script only
with ``treatFailureAsDeploymentFailure``, as on Azure.
"""

from __future__ import annotations

from azlab.models.base import Context, ResourceType, require_props
from azlab.models.compute.common import NO_WINDOWS_GUEST, iso_time
from azlab.models.compute.custom_script import TIMEOUT_SECONDS
from azlab.models.compute.run_command import BUILT_IN
from azlab.models.errors import ArmError, invalid_parameter
from azlab.models.ids import ResourceId

RUN_COMMANDS_TYPE = "Microsoft.Compute/virtualMachines/runCommands"
PASSED = ("asyncExecution", "timeoutInSeconds", "treatFailureAsDeploymentFailure", "runAsUser", "outputBlobUri",
          "errorBlobUri")


def _parameters(value, target: str) -> list[list[str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] and isinstance(p.get("value"), str)
            for p in value):
        raise invalid_parameter(target, f"Each entry of '{target}' needs a 'name' and a string 'value'.")
    return [[p["name"], p["value"]] for p in value]


def _script(source) -> list[str]:
    if not isinstance(source, dict) or not (source.get("script") or source.get("commandId") or source.get("scriptUri")):
        raise invalid_parameter("properties.source", "The run command needs a source: 'script', 'scriptUri' or "
                                "'commandId'.")
    if source.get("scriptUri"):
        raise ArmError(400, "InvalidParameter", "azlab: 'source.scriptUri' is not emulated (the lab's guests cannot "
                       "download from the lab's storage); send 'source.script'.", target="properties.source.scriptUri")
    if source.get("script"):
        if not isinstance(source["script"], str):
            raise invalid_parameter("properties.source.script", "'source.script' must be a string.")
        return source["script"].splitlines()
    built_in = BUILT_IN.get(str(source["commandId"]).lower(), [] if source["commandId"] == "RunShellScript" else None)
    if built_in is None:
        raise ArmError(404, "NotFound", f"Run command '{source['commandId']}' is not available for Linux VMs.",
                       target="properties.source.commandId")
    return built_in


class RunCommandType(ResourceType):
    full_type = RUN_COMMANDS_TYPE
    min_api_version = "2020-06-01"
    gate_timeout = TIMEOUT_SECONDS + 600.0

    def build(self, ctx: Context, rid: ResourceId, body: dict, existing: dict | None) -> dict:
        vm = ctx.get(str(rid.parent))
        out = self.base_body(ctx, rid, {**body, "location": body.get("location") or vm["location"]}, existing)
        props = require_props(body, self.full_type)
        script = _script(props.get("source"))
        timeout = props.get("timeoutInSeconds", 0)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 <= timeout <= TIMEOUT_SECONDS:
            raise invalid_parameter("properties.timeoutInSeconds", f"'timeoutInSeconds' must be 0 (Azure's 90 minutes) "
                                    f"to {TIMEOUT_SECONDS}.")
        public = _parameters(props.get("parameters"), "properties.parameters")
        protected = _parameters(props.get("protectedParameters"), "properties.protectedParameters")
        out["properties"] = {"source": props["source"], "parameters": props.get("parameters") or [],
                             **{k: props[k] for k in PASSED if k in props}}
        sequence = ((existing or {}).get("_run") or {}).get("sequence", -1) + 1
        reason = NO_WINDOWS_GUEST if vm["properties"]["storageProfile"]["osDisk"]["osType"] == "Windows" else (
            f"azlab: no guest runs the command ({ctx.no_guest_reason})" if ctx.no_guest_reason else None)
        if vm.get("_power") != "running" and reason is None:
            reason = "azlab: the VM is not running, so nothing runs the command"
        out["_run"] = {"sequence": sequence, "script": script, "parameters": public + protected,
                       "timeout": timeout or TIMEOUT_SECONDS, "state": "failed" if reason else "pending",
                       "error": reason, "started": iso_time(ctx)}
        out["properties"]["provisioningState"] = "Failed" if reason else ("Creating" if existing is None else "Updating")
        return out

    def expand(self, ctx: Context, body: dict, expand: str) -> dict:
        if expand.lower() != "instanceview":
            return body
        out = dict(body)
        out["properties"] = {**body["properties"], "instanceView": instance_view(body["_run"])}
        return out

    def operation_gate(self, ctx: Context, resource_id: str, kind: str, action: str | None = None):
        """A PUT ends when the script ran (at once with asyncExecution)."""
        if kind != "put":
            return None

        def outcome() -> dict | None:
            body = ctx.get(resource_id)
            if body is None:
                return {}
            run = body["_run"]
            if run["state"] == "pending" and not body["properties"].get("asyncExecution"):
                return None
            if body["properties"]["provisioningState"] == "Failed":
                return {"code": "VMExtensionProvisioningError",
                        "message": run.get("error") or f"The run command '{body['name']}' failed with exit code "
                                                        f"{run.get('exit_code')}: {run.get('stderr', '')}"}
            return {}
        return outcome


def instance_view(run: dict) -> dict:
    state = {"pending": "Running", "failed": "Failed"}.get(run["state"])
    if state is None:
        state = "Succeeded" if run.get("exit_code") == 0 else ("TimedOut" if run.get("exit_code") == 124 else "Failed")
    view = {"executionState": state, "executionMessage": {"Running": "Execution in progress"}.get(
        state, run.get("error") or "Execution completed"), "startTime": run.get("started")}
    if run["state"] == "done":
        view.update(exitCode=run["exit_code"], output=run["stdout"], error=run["stderr"], endTime=run.get("ended"))
    return view


def result_state(body: dict, exit_code: int) -> str:
    """The provisioningState a finished run leaves: Failed for a failing script only when
    treatFailureAsDeploymentFailure asks for it."""
    failed = exit_code != 0 and body["properties"].get("treatFailureAsDeploymentFailure")
    return "Failed" if failed else "Succeeded"
