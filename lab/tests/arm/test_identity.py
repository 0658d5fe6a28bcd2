"""User-assigned identities and a VM's identity block (in-process)."""

from __future__ import annotations

import pytest
from test_compute import Cloud, error

IDENTITY_API = "2023-01-31"


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def identity(cloud, name: str):
    return cloud.arm.put(f"/resourceGroups/{cloud.rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
                         {"location": "eastus"}, api=IDENTITY_API)


def test_a_user_assigned_identity_keeps_its_principal(cloud):
    made = identity(cloud, "web-id")
    assert made.status_code == 201
    props = made.json["properties"]
    assert props["tenantId"] == cloud.arm.lab.identity.tenant_id and props["principalId"] and props["clientId"]
    assert identity(cloud, "web-id").json["properties"] == props


def test_a_vm_names_identities_that_exist_and_type_none_removes_the_block(cloud):
    uai = identity(cloud, "web-id").json
    body = cloud.linux_body(cloud.nic("vm0-nic1"))
    body["identity"] = {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uai["id"]: {}}}
    vm = cloud.put_vm("vm0", body).json
    assert vm["identity"]["type"] == "SystemAssigned, UserAssigned" and vm["identity"]["principalId"]
    assert vm["identity"]["userAssignedIdentities"][uai["id"]]["clientId"] == uai["properties"]["clientId"]
    body["identity"] = {"type": "None"}
    assert "identity" not in cloud.put_vm("vm0", body).json
    assert "identity" not in cloud.get("virtualMachines/vm0").json


@pytest.mark.parametrize(("identity_block", "expected"), [
    ({"type": "UserAssigned", "userAssignedIdentities": {
        "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope": {}}},
     (400, "FailedIdentityOperation", "identity.userAssignedIdentities")),
    ({"type": "UserAssigned"}, (400, "InvalidParameter", "identity.userAssignedIdentities")),
    ({"type": "Everything"}, (400, "InvalidParameter", "identity.type")),
])
def test_bad_identities_are_refused_before_the_vm_is_made(cloud, identity_block, expected):
    body = cloud.linux_body(cloud.nic("vm0-nic1"))
    body["identity"] = identity_block
    assert error(cloud.put_vm("vm0", body)) == expected
    assert cloud.get("virtualMachines/vm0").status_code == 404
