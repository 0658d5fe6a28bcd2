"""Proximity placement groups over HTTP (in-process): Azure's shape, the sets and VMs in a
group (a VM in a set is in the set's group), group changes only while deallocated, in-use
delete refused, bad input named."""

from __future__ import annotations

import pytest
from test_compute import COMPUTE_API, Cloud, error


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def ppg(cloud: Cloud, name="ppg1", **props):
    body = {"location": cloud.location, "properties": props}
    return cloud.arm.put(cloud.compute_path(f"proximityPlacementGroups/{name}"), body, api=COMPUTE_API)


def ppg_ref(cloud: Cloud, name="ppg1") -> dict:
    return {"id": f"{cloud.rg_id}/providers/Microsoft.Compute/proximityPlacementGroups/{name}"}


def test_a_group_is_stored_in_azures_shape(cloud):
    answer = ppg(cloud, intent={"vmSizes": ["Standard_B1s"]})
    assert answer.status_code == 201, answer.json
    group = cloud.get("proximityPlacementGroups/ppg1").json
    assert group["type"] == "Microsoft.Compute/proximityPlacementGroups"
    assert group["properties"]["proximityPlacementGroupType"] == "Standard"
    assert group["properties"]["intent"] == {"vmSizes": ["Standard_B1s"]}
    assert group["properties"]["virtualMachines"] == [] and group["properties"]["availabilitySets"] == []
    assert "colocationStatus" not in group["properties"], "nothing to colocate yet"
    assert [g["name"] for g in cloud.get("proximityPlacementGroups").json["value"]] == ["ppg1"]


@pytest.mark.parametrize("props, target", [
    ({"proximityPlacementGroupType": "Tiny"}, "properties.proximityPlacementGroupType"),
    ({"intent": {"vmSizes": ["Standard_Nope"]}}, "properties.intent.vmSizes"),
])
def test_bad_groups_are_refused_naming_the_property(cloud, props, target):
    assert error(ppg(cloud, **props)) == (400, "InvalidParameter", target)
    assert cloud.get("proximityPlacementGroups/ppg1").status_code == 404


def test_a_vm_in_a_set_is_in_the_sets_group(cloud):
    ppg(cloud)
    ppg(cloud, "other")
    assert cloud.avset("as1", properties={"platformFaultDomainCount": 2, "platformUpdateDomainCount": 3,
                                          "proximityPlacementGroup": ppg_ref(cloud)}).status_code == 200
    vm = cloud.vm("vm0", avset="as1")
    assert vm["properties"]["proximityPlacementGroup"]["id"].lower() == ppg_ref(cloud)["id"].lower()
    group = cloud.get("proximityPlacementGroups/ppg1").json["properties"]
    assert [v["id"].lower() for v in group["virtualMachines"]] == [vm["id"].lower()]
    assert len(group["availabilitySets"]) == 1
    assert group["colocationStatus"]["code"] == "ColocationStatus/Aligned"
    # a VM in that set naming another group is refused, nothing is created
    body = cloud.linux_body(cloud.nic("vm1-nic1"), "as1", proximityPlacementGroup=ppg_ref(cloud, "other"))
    assert error(cloud.put_vm("vm1", body)) == (400, "InvalidParameter", "proximityPlacementGroup.id")
    assert cloud.get("virtualMachines/vm1").status_code == 404


def test_a_group_changes_only_while_deallocated(cloud):
    ppg(cloud)
    vm = cloud.vm("vm0")
    body = cloud.get("virtualMachines/vm0").json
    body["properties"]["proximityPlacementGroup"] = ppg_ref(cloud)
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (409, "OperationNotAllowed", "proximityPlacementGroup.id")
    assert "Deallocate" in answer.json["error"]["message"]
    assert "proximityPlacementGroup" not in cloud.get("virtualMachines/vm0").json["properties"]
    cloud.post("virtualMachines/vm0/deallocate")
    assert cloud.put_vm("vm0", body).status_code == 200
    group = cloud.get("proximityPlacementGroups/ppg1").json["properties"]
    assert [v["id"].lower() for v in group["virtualMachines"]] == [vm["id"].lower()]
    # omitting the group on a later update keeps it
    del body["properties"]["proximityPlacementGroup"]
    assert cloud.put_vm("vm0", body).json["properties"]["proximityPlacementGroup"]["id"].lower() == \
        ppg_ref(cloud)["id"].lower()


def test_a_set_with_running_vms_keeps_its_group(cloud):
    ppg(cloud)
    cloud.avset("as1")
    cloud.vm("vm0", avset="as1")
    moved = {"platformFaultDomainCount": 2, "platformUpdateDomainCount": 3, "proximityPlacementGroup": ppg_ref(cloud)}
    assert error(cloud.avset("as1", properties=moved)) == (409, "OperationNotAllowed", "proximityPlacementGroup.id")
    cloud.post("virtualMachines/vm0/deallocate")
    assert cloud.avset("as1", properties=moved).status_code == 200
    assert cloud.get("virtualMachines/vm0").json["properties"]["proximityPlacementGroup"]["id"].lower() == \
        ppg_ref(cloud)["id"].lower(), "the set moves its VMs"


def test_a_group_in_use_cannot_be_deleted(cloud):
    ppg(cloud)
    cloud.vm("vm0", proximityPlacementGroup=ppg_ref(cloud))
    answer = cloud.arm.delete(cloud.compute_path("proximityPlacementGroups/ppg1"), api=COMPUTE_API)
    assert error(answer)[:2] == (409, "OperationNotAllowed")
    assert "vm0" in answer.json["error"]["message"]
    assert cloud.get("proximityPlacementGroups/ppg1").status_code == 200


def test_a_missing_group_is_not_found(cloud):
    body = cloud.linux_body(cloud.nic("vm0-nic1"), proximityPlacementGroup=ppg_ref(cloud, "nope"))
    assert error(cloud.put_vm("vm0", body)) == (404, "NotFound", "proximityPlacementGroup.id")
    assert cloud.get("virtualMachines/vm0").status_code == 404


def test_a_vm_in_a_set_without_a_group_cannot_name_one(cloud):
    ppg(cloud)
    cloud.avset("as1")
    body = cloud.linux_body(cloud.nic("vm0-nic1"), "as1", proximityPlacementGroup=ppg_ref(cloud))
    answer = cloud.put_vm("vm0", body)
    assert error(answer) == (400, "InvalidParameter", "proximityPlacementGroup.id")
    assert "no proximity placement group" in answer.json["error"]["message"]
    assert cloud.get("virtualMachines/vm0").status_code == 404
