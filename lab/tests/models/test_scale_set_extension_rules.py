"""A scale set's extensionProfile by Azure's rules, and what an instance reports of its
extensions (models.compute.scale_set_extensions, no I/O)."""

from __future__ import annotations

import pytest

from azlab.models.compute import scale_set_extensions as ssx
from azlab.models.errors import ArmError

SCRIPT = {"name": "setup", "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
                                          "typeHandlerVersion": "2.1", "settings": {},
                                          "protectedSettings": {"commandToExecute": "true"}}}


def parse(*exts, old_protected=None, old_profile=None, os_type="Linux"):
    return ssx.parse_profile({"extensions": list(exts)}, os_type, "eastus", old_protected or {}, old_profile)


def test_protected_settings_are_kept_apart_and_kept_when_omitted():
    profile, protected = parse(SCRIPT)
    assert "protectedSettings" not in profile["extensions"][0]["properties"]
    assert protected == {"setup": {"commandToExecute": "true"}}
    again = {"name": "Setup", "properties": profile["extensions"][0]["properties"]}
    assert parse(again, old_protected=protected, old_profile=profile)[1] == {"setup": {"commandToExecute": "true"}}


@pytest.mark.parametrize("exts, os_type, code", [
    ((SCRIPT, {"name": "setup", "properties": SCRIPT["properties"]}), "Linux", "InvalidParameter"),
    ((SCRIPT, {"name": "other", "properties": SCRIPT["properties"]}), "Linux", "BadRequest"),
    ((SCRIPT,), "Windows", "ArtifactNotFound"),
    (({"name": "x", "properties": {**SCRIPT["properties"], "typeHandlerVersion": "3.0"}},), "Linux",
     "ArtifactVersionNotFound"),
    (({"name": "x", "properties": {"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript"}},), "Linux",
     "InvalidParameter"),
])
def test_refusals(exts, os_type, code):
    with pytest.raises(ArmError) as refused:
        parse(*exts, os_type=os_type)
    assert refused.value.code == code


def instance(os_type: str = "Linux") -> dict:
    vmss = {"properties": {"virtualMachineProfile": {"extensionProfile": parse(SCRIPT)[0]}},
            ssx.PROTECTED: {"setup": {"commandToExecute": "true"}}}
    body = {"_model": 1, "properties": {"storageProfile": {"osDisk": {"osType": os_type}}}}
    ssx.apply(body, vmss)
    return body


def test_an_instance_waits_for_its_guest_then_reports_the_run():
    body = instance()
    assert ssx.outcome(body) == ssx.TRANSITIONING and [e["name"] for e in ssx.pending(body)] == ["setup"]
    ext = body[ssx.APPLIED][0]
    body[ssx.RUNS] = {"setup": {"digest": ext["digest"], "generation": "1", "sequence": 0, "state": "failed",
                                "message": "exit status=3"}}
    assert ssx.outcome(body) == ssx.FAILED and ssx.failure(body)["code"] == "VMExtensionProvisioningError"
    body["_reimages"] = 1
    assert ssx.outcome(body) == ssx.TRANSITIONING, "a new guest runs it again"


def test_nothing_runs_without_a_guest():
    assert ssx.run_states(instance("Windows"))[0][1] == ssx.FAILED
    assert "no guest" in ssx.run_states(instance(), "no data plane")[0][2]
