"""resource_tags' decisions: the resource type of an ID, its api-version, the tag set to write."""

from __future__ import annotations

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import tags

RG = "/subscriptions/s/resourceGroups/app1-dev-rg"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/app1-vm1"


@pytest.mark.parametrize("rid, expected", [
    (RG, "Microsoft.Resources/resourceGroups"),
    (RG + "/", "Microsoft.Resources/resourceGroups"),
    (VM, "Microsoft.Compute/virtualMachines"),
    (f"{RG}/providers/Microsoft.Network/loadBalancers/lb/backendAddressPools/pool",
     "Microsoft.Network/loadBalancers/backendAddressPools"),
    ("/subscriptions/s", None),
    ("/subscriptions/s/resourceGroups/", None),
    (f"{RG}/providers/Microsoft.Compute/virtualMachines", None),
    (f"{VM}/providers/Microsoft.Resources/tags/default", None),
    ("app1-vm1", None),
    ("", None),
    (None, None),
])
def test_resource_type(rid, expected):
    assert tags.resource_type(rid) == expected


@pytest.mark.parametrize("rtype, expected", [
    ("Microsoft.Resources/resourceGroups", "2021-04-01"),
    ("microsoft.compute/VIRTUALMACHINES", "2024-07-01"),
    ("Microsoft.Compute/virtualMachineScaleSets", "2024-07-01"),
    ("Microsoft.Compute/disks", "2023-10-02"),
    ("Microsoft.Network/networkInterfaces", "2024-05-01"),
    ("Microsoft.Network/loadBalancers/backendAddressPools", "2024-05-01"),
    ("Microsoft.Storage/storageAccounts", None),
])
def test_default_api_version(rtype, expected):
    assert tags.default_api_version(rtype) == expected


def test_present_merges_and_converts_values_to_text():
    current = {"webfarm_app": "app1", "step": "drain"}
    after = tags.planned(current, {"step": "patch", "attempt": 2, "done": False}, "present")
    assert after == {"webfarm_app": "app1", "step": "patch", "attempt": "2", "done": "false"}
    assert current == {"webfarm_app": "app1", "step": "drain"}


def test_present_matches_names_case_insensitively_and_takes_the_asked_spelling():
    after = tags.planned({"Env": "dev"}, {"env": "dev"}, "present")
    assert after == {"env": "dev"}
    assert not tags.same_tags({"Env": "dev"}, after)


def test_absent_removes_names_whatever_their_value():
    current = {"webfarm_app": "app1", "WEBFARM_PATCH_RUN": "r1", "webfarm_patch_step": "verify"}
    after = tags.planned(current, {"webfarm_patch_run": None, "webfarm_patch_step": "other", "missing": None}, "absent")
    assert after == {"webfarm_app": "app1"}


def test_nothing_to_do_is_recognised():
    current = {"a": "1", "b": "x"}
    assert tags.same_tags(current, tags.planned(current, {"a": 1}, "present"))
    assert tags.same_tags(current, tags.planned(current, {"c": None}, "absent"))
    assert tags.same_tags({}, tags.planned(None, {}, "present"))


def test_problems_name_the_field_and_the_rule():
    asked = {"bad/name": "x", "empty": None, "long": "v" * 257, "Dup": "1", "dup": "1"}
    found = tags.problems(asked, tags.planned({}, asked, "present"))
    assert found == [
        "tags: tag name 'bad/name' contains one of <>%&\\?/ (not allowed by Azure)",
        "tags: 'empty' has no value (state=absent removes a tag)",
        "tags: the value of 'long' is longer than 256 characters",
        "tags: 'dup' is given more than once (tag names are case-insensitive)",
    ]


def test_at_most_fifty_tags():
    current = {f"t{i}": "x" for i in range(49)}
    assert tags.problems({"a": "1"}, tags.planned(current, {"a": "1"}, "present")) == []
    assert tags.problems({"a": "1", "b": "2"}, tags.planned(current, {"a": "1", "b": "2"}, "present")) == [
        "tags: the resource would have 51 tags; Azure allows at most 50"]
    assert tags.problems({"": "x"}, {"": "x"}) == ["tags: tag name '' must be 1-512 characters"]
