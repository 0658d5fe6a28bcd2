"""HTTP-layer tests of Microsoft.Storage (in-process): accounts, keys, name rules, the blob
service resource, checkNameAvailability and the blob endpoint's authentication."""

from __future__ import annotations

import json

import pytest

API = "2023-05-01"


def account_path(name: str, rg: str = "rg1") -> str:
    return f"/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}"


@pytest.fixture
def rg(arm):
    for name in ("rg1", "rg2"):
        arm.put(f"/resourcegroups/{name}", {"location": "eastus"}, api="2022-09-01")


def create(arm, name: str = "bootdiag1", rg: str = "rg1", sku: str = "Standard_LRS", kind: str = "StorageV2", **extra):
    return arm.put(account_path(name, rg), {"location": "eastus", "sku": {"name": sku}, "kind": kind, **extra}, api=API)


def error(answer):
    return answer.status_code, answer.json["error"]["code"]


def test_create_answers_200_with_endpoints_and_no_keys(arm, rg):
    answer = create(arm, tags={"role": "bootdiag"})
    assert answer.status_code == 200  # the SDK accepts 200 or 202 for a create, never 201
    props = answer.json["properties"]
    assert props["primaryEndpoints"]["blob"] == "https://bootdiag1.blob.core.windows.net/"
    assert props["primaryEndpoints"]["web"] == "https://bootdiag1.z13.web.core.windows.net/"
    assert (props["provisioningState"], props["primaryLocation"], props["statusOfPrimary"]) == ("Succeeded", "eastus", "available")
    assert props["accessTier"] == "Hot" and props["supportsHttpsTrafficOnly"] is True
    assert answer.json["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    assert "keys" not in answer.text and "_keys" not in answer.text


def test_list_keys_is_a_read_and_keys_stay_out_of_the_log(arm, rg, lab):
    create(arm)
    mark = lab.store.request_mark()
    keys = arm.post(account_path("bootdiag1") + "/listKeys", api=API).json["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"] and keys[0]["value"] != keys[1]["value"]
    assert len(keys[0]["value"]) == 88 and keys[0]["permissions"] == "FULL"
    assert lab.store.requests(since=mark, writes_only=True) == []
    assert keys[0]["value"] not in json.dumps(lab.store.requests())
    again = arm.post(account_path("bootdiag1") + "/listKeys", api=API).json["keys"]
    assert again == keys


def test_regenerate_key(arm, rg):
    create(arm)
    before = arm.post(account_path("bootdiag1") + "/listKeys", api=API).json["keys"]
    after = arm.post(account_path("bootdiag1") + "/regenerateKey", {"keyName": "key1"}, api=API).json["keys"]
    assert after[0]["value"] != before[0]["value"] and after[1] == before[1]


@pytest.mark.parametrize("name", ["ab", "Bootdiag", "boot_diag", "a" * 25])
def test_invalid_names_are_refused(arm, rg, name):
    answer = create(arm, name)
    assert error(answer) == (400, "AccountNameInvalid")
    assert "must be between 3 and 24 characters" in answer.json["error"]["message"]
    assert arm.get("/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts", api=API).json["value"] == []


def test_names_are_unique_across_resource_groups(arm, rg):
    create(arm)
    assert error(create(arm, rg="rg2")) == (409, "StorageAccountAlreadyExists")
    assert create(arm).status_code == 200  # the same account again is an update


def test_check_name_availability(arm, rg, lab):
    path = "/providers/Microsoft.Storage/checkNameAvailability"
    body = {"name": "bootdiag1", "type": "Microsoft.Storage/storageAccounts"}
    assert arm.post(path, body, api=API).json == {"nameAvailable": True}
    create(arm)
    taken = arm.post(path, body, api=API).json
    assert (taken["nameAvailable"], taken["reason"]) == (False, "AlreadyExists")
    invalid = arm.post(path, {"name": "Not_Valid"}, api=API).json
    assert (invalid["nameAvailable"], invalid["reason"]) == (False, "AccountNameInvalid")
    logged = [r for r in lab.store.requests() if r["path"].endswith("checkNameAvailability")]
    assert logged and not any(r["write"] for r in logged)


def test_patch_changes_sku_tags_and_properties(arm, rg):
    create(arm)
    answer = arm.patch(account_path("bootdiag1"), {"sku": {"name": "Standard_RAGRS"}, "tags": {"env": "dev"},
                                                   "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": True}},
                       api=API)
    assert answer.status_code == 200
    props = answer.json["properties"]
    assert (props["secondaryLocation"], props["secondaryEndpoints"]["blob"]) == (
        "westus", "https://bootdiag1-secondary.blob.core.windows.net/")
    assert props["allowBlobPublicAccess"] is True and answer.json["tags"] == {"env": "dev"}
    premium = arm.patch(account_path("bootdiag1"), {"sku": {"name": "Premium_LRS"}}, api=API)
    assert error(premium) == (400, "InvalidRequestPropertyValue")


def test_sku_and_kind_are_required_and_checked(arm, rg):
    assert error(arm.put(account_path("bootdiag1"), {"location": "eastus", "kind": "StorageV2"}, api=API))[1] == "InvalidRequestFormat"
    assert error(create(arm, sku="Gold_LRS"))[1] == "InvalidParameter"
    assert error(create(arm, kind="Tape"))[1] == "InvalidParameter"


def test_blob_service_exists_with_the_account(arm, rg):
    create(arm)
    service = arm.get(account_path("bootdiag1") + "/blobServices/default", api=API)
    assert service.status_code == 200 and service.json["properties"]["cors"] == {"corsRules": []}
    cors = {"cors": {"corsRules": [{"allowedOrigins": ["*"], "allowedMethods": ["GET"], "maxAgeInSeconds": 60,
                                    "exposedHeaders": [], "allowedHeaders": []}]}}
    answer = arm.put(account_path("bootdiag1") + "/blobServices/default", {"properties": cors}, api=API)
    assert answer.status_code == 200
    assert arm.get(account_path("bootdiag1") + "/blobServices/default", api=API).json["properties"]["cors"] == cors["cors"]
    assert arm.get(account_path("nothere") + "/blobServices/default", api=API).status_code == 404


def test_delete_is_synchronous(arm, rg):
    create(arm)
    assert arm.delete(account_path("bootdiag1"), api=API).status_code == 200
    assert arm.get(account_path("bootdiag1"), api=API).status_code == 404
    assert arm.delete(account_path("bootdiag1"), api=API).status_code == 204


def blob(arm, account: str, query: str, authorization: str | None = None):
    headers = {"x-ms-version": "2025-01-05"}
    if authorization:
        headers["Authorization"] = authorization
    return arm.client.get(f"/?{query}", base_url=f"https://{account}.blob.core.windows.net", headers=headers)


def test_blob_endpoint_wants_a_key_signature(arm, rg):
    create(arm)
    unsigned = blob(arm, "bootdiag1", "restype=service&comp=properties")
    assert unsigned.status_code == 403 and b"<Code>AuthenticationFailed</Code>" in unsigned.data
    forged = blob(arm, "bootdiag1", "comp=list", "SharedKey bootdiag1:AAAA")
    assert forged.status_code == 403
    assert blob(arm, "nosuchacct", "comp=list").status_code == 404


def test_the_lab_serves_blob_endpoints_of_account_names_only():
    from azlab.settings import is_served_host

    assert is_served_host("bootdiag1.blob.core.windows.net") and is_served_host("management.azure.com")
    for host in ("evil.example.com", "a.b.blob.core.windows.net", "bootdiag1.queue.core.windows.net",
                 "ab.blob.core.windows.net", "boot_diag.blob.core.windows.net"):
        assert not is_served_host(host)
