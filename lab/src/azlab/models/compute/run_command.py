"""POST virtualMachines/{vm}/runCommand: a script run once in the guest (Azure's rules, no I/O).

On Azure the Linux run command is the RunCommandLinux extension: one run at a time per VM,
the script's lines written to ``script.sh`` and run as root, the result one status whose
message holds the last 4 KiB of stdout and stderr. The status is ``succeeded`` even when
the script exits non-zero (the extension reports the exit status nowhere), as on Azure.

The request is kept on the VM as ``_run_command`` until the data plane ran it:
``{"token", "sequence", "script", "parameters", "state": "pending"|"done"|"failed", "message"}``.
"""

from __future__ import annotations

import uuid

from azlab.models.compute.common import NO_WINDOWS_GUEST, status
from azlab.models.compute.custom_script import MAX_TAIL
from azlab.models.errors import ArmError, invalid_parameter

#: the Linux commands Azure lists for a VM (GET .../runCommands of the location)
LINUX_COMMANDS = ("RunShellScript", "ifconfig")
WINDOWS_COMMANDS = ("RunPowerShellScript", "EnableRemotePS", "IPConfig", "RDPSettings", "ResetRDPCert", "SetRDPPort",
                    "DisableNLA", "DisableWindowsUpdate", "EnableAdminAccount", "EnableWindowsUpdate")
#: what the built-in Linux commands run when no script is given
BUILT_IN = {"ifconfig": ["ip -4 address show"]}


def request(vm: dict, body: dict | None, no_guest_reason: str | None) -> dict:
    """Validate a RunCommandInput and return the ``_run_command`` record to keep on the VM."""
    body = body if isinstance(body, dict) else {}
    os_type = vm["properties"]["storageProfile"]["osDisk"]["osType"]
    command_id = body.get("commandId")
    if not isinstance(command_id, str) or not command_id:
        raise ArmError(400, "InvalidParameter", "Required parameter 'commandId' is missing (null).", target="commandId")
    known = LINUX_COMMANDS if os_type == "Linux" else WINDOWS_COMMANDS
    if command_id.lower() not in {c.lower() for c in known}:
        raise ArmError(404, "NotFound", f"The entity was not found in this Azure location. Run command '{command_id}' "
                       f"is not available for {os_type} VMs.", target="commandId")
    if vm.get("_power") != "running":
        raise ArmError(409, "OperationNotAllowed", "Cannot invoke run command on the VM because the VM is not running.")
    pending = vm.get("_run_command") or {}
    if pending.get("state") == "pending":
        raise ArmError(409, "Conflict", "Run command extension execution is in progress. Please wait for completion "
                       "before invoking a run command.")
    script = body.get("script") or BUILT_IN.get(command_id.lower(), [])
    if not isinstance(script, list) or not all(isinstance(line, str) for line in script):
        raise invalid_parameter("script", "The value of parameter script is invalid: a list of strings.")
    parameters = body.get("parameters") or []
    if not isinstance(parameters, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] and isinstance(p.get("value"), str)
            for p in parameters):
        raise invalid_parameter("parameters", "Each run command parameter needs a 'name' and a string 'value'.")
    record = {"token": str(uuid.uuid4()), "sequence": pending.get("sequence", -1) + 1, "script": script, "parameters": [[p["name"], p["value"]] for p in parameters],
              "state": "pending", "message": None}
    if os_type == "Windows" or no_guest_reason:
        # nothing can run it: the operation fails and says why (never an empty "succeeded")
        record.update(state="failed", message=NO_WINDOWS_GUEST if os_type == "Windows" else
                      f"azlab: no guest runs the command ({no_guest_reason})")
    return record


def result(message: str) -> dict:
    """The RunCommandResult Azure returns for a Linux run."""
    return {"value": [status("ProvisioningState/succeeded", "Provisioning succeeded", message)]}


def message(stdout: bytes, stderr: bytes) -> str:
    out, err = (data[-MAX_TAIL:].decode("utf-8", "replace") for data in (stdout, stderr))
    return f"Enable succeeded: \n[stdout]\n{out}\n[stderr]\n{err}"


def outcome(vm: dict | None, token: str) -> dict | None:
    """The operation's outcome for the run ``token``: None while it runs."""
    record = (vm or {}).get("_run_command") or {}
    if vm is None or record.get("token") != token:
        return {"code": "OperationPreempted", "message": "The VM or its run command is gone."}
    if record["state"] == "pending":
        return None
    if record["state"] == "failed":
        return {"code": "VMExtensionProvisioningError", "message": record["message"]}
    return {"result": result(record["message"])}
