"""HTTP-layer tests of resource groups, auth and ARM envelopes (in-process)."""

from __future__ import annotations


def test_create_get_list_delete_resource_group(arm):
    created = arm.put("/resourcegroups/app1-dev-rg", {"location": "East US 2", "tags": {"env": "dev"}}, api="2022-09-01")
    assert created.status_code == 201
    assert created.json["location"] == "eastus2"
    assert created.json["id"] == f"{arm.sub}/resourceGroups/app1-dev-rg"
    assert arm.put("/resourcegroups/app1-dev-rg", {"location": "eastus2"}, api="2022-09-01").status_code == 200
    assert arm.request("HEAD", "/resourcegroups/APP1-DEV-RG", api="2022-09-01").status_code == 204
    listed = arm.get("/resourcegroups", api="2022-09-01").json["value"]
    assert [g["name"] for g in listed] == ["app1-dev-rg"]
    deleted = arm.delete("/resourcegroups/app1-dev-rg", api="2022-09-01")
    assert deleted.status_code == 202 and "Location" in deleted.headers
    assert arm.request("HEAD", "/resourcegroups/app1-dev-rg", api="2022-09-01").status_code == 404


def test_missing_resource_group_is_resource_group_not_found(arm):
    answer = arm.get("/resourcegroups/nope", api="2022-09-01")
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "ResourceGroupNotFound"


def test_bad_input_names_the_field_and_changes_nothing(arm):
    bad_json = arm.request("PUT", "/resourcegroups/rg1", raw=b"{not json", api="2022-09-01")
    assert bad_json.status_code == 400 and bad_json.json["error"]["code"] == "InvalidRequestContent"
    bad_location = arm.put("/resourcegroups/rg1", {"location": "atlantis"}, api="2022-09-01")
    assert bad_location.status_code == 400 and bad_location.json["error"]["target"] == "location"
    bad_name = arm.put("/resourcegroups/rg1.", {"location": "eastus"}, api="2022-09-01")
    assert bad_name.status_code == 400 and bad_name.json["error"]["code"] == "InvalidResourceName"
    assert arm.get("/resourcegroups", api="2022-09-01").json["value"] == []


def test_arm_requires_a_valid_bearer_token(arm):
    arm.headers["Authorization"] = "Bearer forged.token.value"
    answer = arm.get("/resourcegroups", api="2022-09-01")
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "InvalidAuthenticationToken"


def test_wrong_client_secret_gets_aadsts_401(lab):
    from werkzeug.test import Client

    from azlab.arm.app import ArmApp

    client = Client(ArmApp(lab))
    answer = client.post(f"/{lab.identity.tenant_id}/oauth2/v2.0/token", base_url="https://login.microsoftonline.com",
                         data={"grant_type": "client_credentials", "client_id": lab.identity.client_id,
                               "client_secret": "wrong", "scope": "https://management.azure.com/.default"})
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_client"
    assert answer.json["error_description"].startswith("AADSTS7000215")


def test_request_log_redacts_secrets(lab):
    from werkzeug.test import Client

    from azlab.arm.app import ArmApp

    client = Client(ArmApp(lab))
    client.post(f"/{lab.identity.tenant_id}/oauth2/v2.0/token", base_url="https://login.microsoftonline.com",
                data={"grant_type": "client_credentials", "client_id": lab.identity.client_id,
                      "client_secret": lab.identity.client_secret, "scope": "https://management.azure.com/.default"})
    logged = lab.store.requests()
    assert logged and lab.identity.client_secret not in str(logged)
    assert '"client_secret": "***"' in logged[-1]["body"]


def test_unknown_api_version_is_refused(arm):
    answer = arm.put("/resourcegroups/rg1", {"location": "eastus"}, api="banana")
    assert answer.status_code == 400
