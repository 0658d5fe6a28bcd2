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


def _two_groups_with_a_set_each(arm) -> None:
    for rg in ("rg1", "rg2"):
        arm.put(f"/resourceGroups/{rg}", {"location": "eastus"}, api="2022-09-01")
        arm.put(f"/resourceGroups/{rg}/providers/Microsoft.Compute/availabilitySets/as1",
                {"location": "eastus", "sku": {"name": "Aligned"}, "tags": {"env": rg},
                 "properties": {"platformFaultDomainCount": 2}}, api="2024-07-01")


def test_resources_list_honours_filter_as_az_resource_list_sends_it(arm):
    _two_groups_with_a_set_each(arm)
    listed = arm.get("/resources?$filter=resourceGroup%20eq%20'rg2'", api="2022-09-01").json["value"]
    assert [r["id"].split("/")[4] for r in listed] == ["rg2"]
    tagged = arm.get("/resources?$filter=tagname%20eq%20'env'%20and%20tagvalue%20eq%20'rg1'", api="2022-09-01")
    assert [r["id"].split("/")[4] for r in tagged.json["value"]] == ["rg1"]
    refused = arm.get("/resources?$filter=colour%20eq%20'red'", api="2022-09-01")
    assert refused.status_code == 400 and refused.json["error"]["target"] == "$filter"


def test_an_empty_parent_path_reaches_a_top_level_resource(arm):
    """providers/Microsoft.Compute//availabilitySets/x: what the SDKs' generic resource
    operations send (az resource show, az vm create's existence checks)."""
    _two_groups_with_a_set_each(arm)
    answer = arm.get("/resourceGroups/rg1/providers/Microsoft.Compute//availabilitySets/as1", api="2024-07-01")
    assert answer.status_code == 200 and answer.json["name"] == "as1"


def test_a_registered_type_the_lab_does_not_serve_lists_empty(arm):
    arm.put("/resourceGroups/rg1", {"location": "eastus"}, api="2022-09-01")
    assert arm.get("/resourceGroups/rg1/providers/Microsoft.Compute/images", api="2024-07-01").json == {"value": []}
    assert arm.get("/providers/Microsoft.Network/applicationSecurityGroups", api="2024-05-01").json == {"value": []}
    missing = arm.get("/resourceGroups/rg1/providers/Microsoft.Compute/images/img1", api="2024-07-01")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "ResourceNotFound"
    made = arm.put("/resourceGroups/rg1/providers/Microsoft.Compute/images/img1", {"location": "eastus"}, api="2024-07-01")
    assert made.status_code == 400 and made.json["error"]["code"] == "ResourceTypeNotEmulated"
    unknown = arm.get("/resourceGroups/rg1/providers/Microsoft.Compute/noSuchThings", api="2024-07-01")
    assert unknown.status_code == 404 and "for api version '2024-07-01'" in unknown.json["error"]["message"]


def test_providers_list_the_api_versions_the_lab_serves_newest_first(arm):
    provider = arm.get("/providers/Microsoft.Compute", api="2022-09-01").json
    avsets = next(t for t in provider["resourceTypes"] if t["resourceType"] == "availabilitySets")
    assert avsets["apiVersions"][0] == "2024-11-01" and avsets["apiVersions"] == sorted(avsets["apiVersions"], reverse=True)
    disks = next(t for t in provider["resourceTypes"] if t["resourceType"] == "disks")
    assert disks["apiVersions"][0] == "2024-03-02"
    newest = arm.get("/resourceGroups/nope/providers/Microsoft.Compute/availabilitySets/x", api=avsets["apiVersions"][0])
    assert newest.json["error"]["code"] == "ResourceGroupNotFound"  # the version itself is served
