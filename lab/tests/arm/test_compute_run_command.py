"""POST virtualMachines/{vm}/runCommand (in-process): the operation ends when the guest
ran the script, with the output Azure returns; never an empty success."""

from __future__ import annotations

import pytest
from test_compute import Cloud, error, operation, operation_result

from azlab.models.compute.common import NO_WINDOWS_GUEST
from azlab.models.compute.state import set_managed_run_result, set_run_command_result

SCRIPT = {"commandId": "RunShellScript", "script": ["echo $1 $greeting"],
          "parameters": [{"name": "greeting", "value": "hello"}]}


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def invoke(cloud, vm: str, body: dict):
    return cloud.post(f"virtualMachines/{vm}/runCommand", body)


def test_a_run_ends_with_the_guests_output(cloud, lab, guests_run):
    vm_id = cloud.vm("vm0")["id"]
    answer = invoke(cloud, "vm0", SCRIPT)
    assert answer.status_code == 202 and {"Azure-AsyncOperation", "Location"} <= set(answer.headers.keys())
    assert operation(cloud, answer)["status"] == "InProgress"
    assert operation_result(cloud, answer).status_code == 202
    # one run at a time, as Azure's run command extension
    busy = invoke(cloud, "vm0", SCRIPT)
    assert error(busy)[:2] == (409, "Conflict")

    record = lab.store.get(vm_id)["_run_command"]
    assert (record["script"], record["parameters"], record["sequence"]) == (["echo $1 $greeting"], [["greeting", "hello"]], 0)
    message = "Enable succeeded: \n[stdout]\nhello hello\n\n[stderr]\n"
    assert set_run_command_result(lab.store, vm_id, record["token"], "done", message)
    expected = {"value": [{"code": "ProvisioningState/succeeded", "level": "Info",
                           "displayStatus": "Provisioning succeeded", "message": message}]}
    done = operation(cloud, answer)
    assert done["status"] == "Succeeded" and done["properties"] == {"output": expected}
    final = operation_result(cloud, answer)
    assert final.status_code == 200 and final.json == expected
    # the next run gets the next sequence; a late report of the last one is dropped
    assert invoke(cloud, "vm0", SCRIPT).status_code == 202
    assert lab.store.get(vm_id)["_run_command"]["sequence"] == 1
    assert not set_run_command_result(lab.store, vm_id, record["token"], "done", message)


@pytest.mark.parametrize(("body", "expected"), [
    ({}, (400, "InvalidParameter", "commandId")),
    ({"commandId": "RunPowerShellScript"}, (404, "NotFound", "commandId")),
    ({"commandId": "RunShellScript", "script": "echo hi"}, (400, "InvalidParameter", "script")),
    ({"commandId": "RunShellScript", "script": ["true"], "parameters": [{"name": "x"}]},
     (400, "InvalidParameter", "parameters")),
])
def test_bad_input_is_refused_naming_the_field(cloud, guests_run, body, expected):
    cloud.vm("vm0")
    assert error(invoke(cloud, "vm0", body)) == expected


def test_a_stopped_vm_runs_nothing(cloud, guests_run):
    cloud.vm("vm0")
    cloud.post("virtualMachines/vm0/powerOff")
    assert error(invoke(cloud, "vm0", SCRIPT))[:2] == (409, "OperationNotAllowed")


def test_without_a_guest_the_run_fails_and_says_why(cloud):
    cloud.vm("vm0")
    done = operation(cloud, invoke(cloud, "vm0", SCRIPT))
    assert done["status"] == "Failed"
    assert "no guest runs the command (the lab runs without a data plane" in done["error"]["message"]
    cloud.put_vm("win0", cloud.windows_body(cloud.nic("nic0")))
    windows = operation(cloud, invoke(cloud, "win0", {"commandId": "RunPowerShellScript", "script": ["hostname"]}))
    assert windows["status"] == "Failed" and windows["error"]["message"] == NO_WINDOWS_GUEST


# -- runCommands (managed run commands) ---------------------------------------------------------

def put_run(cloud, name: str, props: dict):
    return cloud.arm.put(cloud.compute_path(f"virtualMachines/vm0/runCommands/{name}"),
                         {"location": "eastus", "properties": props}, api="2024-07-01")


def run_view(cloud, name: str) -> dict:
    return cloud.get(f"virtualMachines/vm0/runCommands/{name}?$expand=instanceView", api="2024-07-01").json["properties"]


def test_a_managed_run_command_reports_exit_code_and_streams(cloud, lab, guests_run):
    cloud.vm("vm0")
    answer = put_run(cloud, "hello", {"source": {"script": "echo hi $1"}, "parameters": [{"name": "a", "value": "x"}],
                                      "protectedParameters": [{"name": "secret", "value": "s3cret"}]})
    assert answer.status_code == 201 and "s3cret" not in answer.text
    assert operation(cloud, answer)["status"] == "InProgress"
    assert run_view(cloud, "hello")["instanceView"]["executionState"] == "Running"
    body = lab.store.get(answer.json["id"])
    assert body["_run"]["parameters"] == [["a", "x"], ["secret", "s3cret"]] and body["_run"]["script"] == ["echo hi $1"]
    assert set_managed_run_result(lab.store, answer.json["id"], 0, 0, "hi x\n", "", "2026-12-04T00:00:01+00:00")
    assert operation(cloud, answer)["status"] == "Succeeded"
    props = run_view(cloud, "hello")
    assert props["provisioningState"] == "Succeeded" and "protectedParameters" not in props
    view = props["instanceView"]
    assert (view["executionState"], view["exitCode"], view["output"], view["error"]) == ("Succeeded", 0, "hi x\n", "")


def test_a_failing_script_fails_the_deployment_only_when_asked(cloud, lab, guests_run):
    cloud.vm("vm0")
    quiet = put_run(cloud, "quiet", {"source": {"script": "exit 3"}})
    set_managed_run_result(lab.store, quiet.json["id"], 0, 3, "", "boom\n", "2026-12-04T00:00:01+00:00")
    assert operation(cloud, quiet)["status"] == "Succeeded"
    assert run_view(cloud, "quiet")["instanceView"]["executionState"] == "Failed"
    loud = put_run(cloud, "loud", {"source": {"script": "exit 3"}, "treatFailureAsDeploymentFailure": True})
    set_managed_run_result(lab.store, loud.json["id"], 0, 3, "", "boom\n", "2026-12-04T00:00:01+00:00")
    done = operation(cloud, loud)
    assert done["status"] == "Failed" and "exit code 3" in done["error"]["message"]


@pytest.mark.parametrize(("props", "target"), [
    ({}, "properties.source"),
    ({"source": {"scriptUri": "https://x.blob.core.windows.net/s/run.sh"}}, "properties.source.scriptUri"),
    ({"source": {"script": "true"}, "timeoutInSeconds": -1}, "properties.timeoutInSeconds"),
    ({"source": {"script": "true"}, "parameters": [{"value": "x"}]}, "properties.parameters"),
])
def test_bad_managed_run_commands_are_refused_naming_the_field(cloud, guests_run, props, target):
    cloud.vm("vm0")
    assert error(put_run(cloud, "bad", props))[2] == target


def test_without_a_guest_a_managed_run_command_fails_and_says_why(cloud):
    cloud.vm("vm0")
    done = operation(cloud, put_run(cloud, "hello", {"source": {"script": "true"}}))
    assert done["status"] == "Failed" and "no guest runs the command" in done["error"]["message"]
