"""azure_ha.webfarm.resource_tags run by ansible-playbook against the control-plane lab."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_merge_update_remove_and_errors(tier):
    lab = tier.lab
    app = tier.app
    vm_id = tier.id_of("Microsoft.Compute/virtualMachines", f"{app}-vm3")
    group_id = f"/subscriptions/{tier.subscription}/resourceGroups/{tier.resource_group}"
    original = tier.arm(vm_id)["tags"]
    assert original == {"webfarm_app": app, "webfarm_vm_index": "3"}
    mark = lab.mark()
    r = tier.run(HERE / "resource_tags.yml")
    writes = lab.writes_since(mark)

    progress = {"webfarm_patch_run": "r1", "webfarm_patch_step": "drain"}
    assert r["merge_check"]["changed"] is True and r["merge_check"]["tags"] == {**original, **progress}
    assert r["merge"]["changed"] is True and r["merge"]["tags"] == {**original, **progress}
    assert r["merge"]["diff"] == {"before": {"tags": original}, "after": {"tags": {**original, **progress}}}
    assert r["merge"]["resource_id"] == vm_id and r["merge"]["api_version"] == "2024-07-01"
    assert r["update"]["changed"] is True
    assert r["update"]["tags"] == {**original, "webfarm_patch_run": "r1", "webfarm_patch_step": "verify",
                                   "webfarm_patch_attempt": "2"}
    assert r["remove"]["changed"] is True and r["remove"]["tags"] == original
    assert r["remove"]["diff"]["after"] == {"tags": original}
    assert r["group_merge"]["changed"] is True and r["group_merge"]["tags"] == {"webfarm_patch_lock": "r1"}
    assert r["group_merge"]["api_version"] == "2021-04-01"
    assert r["group_remove"]["changed"] is True and r["group_remove"]["tags"] == {}

    assert r["bad_id"]["failed"] is True and r["bad_id"]["msg"].startswith(f"resource_id: '{app}-vm3' is not the ID of")
    assert r["missing"]["msg"] == f"resource_id: no resource {group_id}/providers/Microsoft.Compute/virtualMachines/{app}-vm9"
    assert r["no_api_version"]["msg"] == ("api_version: no default for resource type Microsoft.Storage/storageAccounts; "
                                          "give the api-version of that type")

    # one PATCH per changing call, carrying the tags and nothing else; check mode and refusals wrote nothing
    assert [(w["method"], w["path"].lower()) for w in writes] == [("PATCH", vm_id.lower())] * 3 + [
        ("PATCH", group_id.lower())] * 2
    assert all(list(json.loads(w["body"])) == ["tags"] for w in writes)
    assert tier.arm(vm_id)["tags"] == original


def test_satisfied_calls_make_no_write(tier):
    mark = tier.lab.mark()
    r = tier.run(HERE / "resource_tags_again.yml")
    assert tier.lab.writes_since(mark) == []
    assert r["present_again"]["changed"] is False and r["absent_again"]["changed"] is False
    assert r["present_again"]["tags"] == {"webfarm_app": tier.app, "webfarm_vm_index": "3"}
