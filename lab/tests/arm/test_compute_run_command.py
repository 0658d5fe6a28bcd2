"""POST virtualMachines/{vm}/runCommand (in-process): the operation ends when the guest
ran the script, with the output Azure returns; never an empty success."""

from __future__ import annotations

import pytest
from test_compute import Cloud, error, operation, operation_result

from azlab.models.compute.common import NO_WINDOWS_GUEST
from azlab.models.compute.state import set_run_command_result

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
