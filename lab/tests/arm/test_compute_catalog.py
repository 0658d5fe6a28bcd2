"""The region's catalog under /providers/Microsoft.Compute/locations/{loc}: VM sizes,
marketplace images (bare JSON arrays, as Azure answers), usages."""

from __future__ import annotations

import pytest
from test_compute import COMPUTE_API, Cloud, error

from azlab.models.compute.catalog import VM_SIZES

BASE = "/providers/Microsoft.Compute/locations/eastus"
JAMMY = f"{BASE}/publishers/Canonical/artifacttypes/vmimage/offers/0001-com-ubuntu-server-jammy/skus/22_04-lts-gen2"


@pytest.fixture
def cloud(arm) -> Cloud:
    return Cloud(arm)


def get(arm, path: str):
    return arm.get(path, api=COMPUTE_API)


def test_vm_sizes(arm):
    sizes = {s["name"]: s for s in get(arm, f"{BASE}/vmSizes").json["value"]}
    assert {"Standard_B1s", "Standard_B2s", "Standard_DS1_v2", "Standard_D2s_v3"} <= set(sizes)
    assert sizes["Standard_B1s"] == {"name": "Standard_B1s", "numberOfCores": 1, "osDiskSizeInMB": 1047552,
                                     "resourceDiskSizeInMB": 4096, "memoryInMB": 1024, "maxDataDiskCount": 2}


def test_unknown_location_is_refused(arm):
    assert error(get(arm, "/providers/Microsoft.Compute/locations/atlantis/vmSizes"))[:2] == (
        400, "LocationNotAvailableForResourceType")


def test_image_tree(arm):
    publishers = get(arm, f"{BASE}/publishers").json
    assert isinstance(publishers, list)
    assert {"Canonical", "Debian", "MicrosoftWindowsServer"} <= {p["name"] for p in publishers}
    assert publishers[0]["id"].startswith("/Subscriptions/") and publishers[0]["location"] == "eastus"
    offers = get(arm, f"{BASE}/publishers/debian/artifacttypes/vmimage/offers").json
    assert [o["name"] for o in offers] == ["debian-11", "debian-12"]
    skus = get(arm, f"{BASE}/publishers/Debian/artifacttypes/vmimage/offers/debian-12/skus").json
    assert [s["name"] for s in skus] == ["12", "12-gen2"]


def test_versions_are_a_bare_array_with_orderby_and_top(arm):
    versions = get(arm, f"{JAMMY}/versions").json
    assert [v["name"] for v in versions] == ["22.04.202404100", "22.04.202409120", "22.04.202501140"]
    assert versions[0]["id"].endswith("/Skus/22_04-lts-gen2/Versions/22.04.202404100")
    latest = get(arm, f"{JAMMY}/versions?$orderby=name%20desc&$top=1").json
    assert [v["name"] for v in latest] == ["22.04.202501140"]


def test_image_version_details(arm):
    image = get(arm, f"{JAMMY}/versions/22.04.202409120").json
    assert image["properties"]["osDiskImage"] == {"operatingSystem": "Linux", "sizeInGb": 30}
    assert image["properties"]["hyperVGeneration"] == "V2"
    windows = get(arm, f"{BASE}/publishers/MicrosoftWindowsServer/artifacttypes/vmimage/offers/WindowsServer/skus/"
                       "2022-datacenter/versions/latest").json
    assert windows["properties"]["osDiskImage"]["operatingSystem"] == "Windows"


def test_missing_images_are_not_found(arm):
    for path in (f"{JAMMY}/versions/1.0.0", f"{BASE}/publishers/Nobody/artifacttypes/vmimage/offers",
                 f"{JAMMY.replace('22_04-lts-gen2', '99_04')}/versions"):
        answer = get(arm, path)
        assert error(answer)[:2] == (404, "NotFound")
        assert answer.json["error"]["message"] == "Artifact: VMImage was not found."


def test_usages_count_allocated_cores(cloud):
    cloud.vm("vm0")
    cloud.vm("vm1")
    cloud.post("virtualMachines/vm1/deallocate")
    usages = {u["name"]["value"]: u for u in get(cloud.arm, f"{BASE}/usages").json["value"]}
    assert usages["cores"]["currentValue"] == 1 and usages["virtualMachines"]["currentValue"] == 2


def test_resource_skus_list_every_size_per_location_with_string_capabilities(arm):
    answer = arm.get("/providers/Microsoft.Compute/skus?$filter=location%20eq%20'eastus'", api="2021-07-01")
    skus = answer.json["value"]
    b1s = next(s for s in skus if s["name"] == "Standard_B1s")
    assert (b1s["resourceType"], b1s["family"], b1s["locations"]) == ("virtualMachines", "standardBSFamily", ["eastus"])
    capabilities = {c["name"]: c["value"] for c in b1s["capabilities"]}
    assert (capabilities["vCPUs"], capabilities["MemoryGB"]) == ("1", "1")
    assert {s["resourceType"] for s in skus} == {"virtualMachines", "availabilitySets", "disks"}
    refused = arm.get("/providers/Microsoft.Compute/skus?$filter=name%20eq%20'x'", api="2021-07-01")
    assert refused.status_code == 400 and refused.json["error"]["target"] == "$filter"


@pytest.mark.parametrize(("size", "family"), [
    ("Standard_B1ms", "standardBSFamily"), ("Standard_A1_v2", "standardAv2Family"),
    ("Standard_DS1_v2", "standardDSv2Family"), ("Standard_D2as_v5", "standardDASv5Family"),
])
def test_size_families_as_azure_names_them(size, family):
    from azlab.models.compute.skus import family as family_of

    assert family_of(VM_SIZES[size.lower()]) == family


@pytest.mark.parametrize("urn", [
    "Canonical:0001-com-ubuntu-server-focal:20_04-lts-gen2", "Canonical:ubuntu-22_04-lts:server",
    "Canonical:ubuntu-24_04-lts:server", "Canonical:UbuntuServer:18.04-LTS", "Debian:debian-11:11-backports-gen2",
    "Debian:debian-12:12-gen2", "RedHat:RHEL:9-lvm-gen2", "MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2",
    "MicrosoftWindowsServer:WindowsServer:2016-datacenter",
])
def test_the_images_azure_tooling_defaults_to_are_published(arm, urn):
    publisher, offer, sku = urn.split(":")
    versions = arm.get(f"{BASE}/publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{sku}/versions",
                       api=COMPUTE_API)
    assert versions.status_code == 200 and versions.json, urn


def test_extension_images_list_types_and_versions_as_az_vm_extension_set_reads_them(arm):
    publishers = [p["name"] for p in arm.get(f"{BASE}/publishers", api=COMPUTE_API).json]
    assert "Microsoft.Azure.Extensions" in publishers
    types = arm.get(f"{BASE}/publishers/Microsoft.Azure.Extensions/artifacttypes/vmextension/types", api=COMPUTE_API)
    assert [t["name"] for t in types.json] == ["CustomScript"]
    versions = arm.get(f"{BASE}/publishers/Microsoft.Azure.Extensions/artifacttypes/vmextension/types/CustomScript/"
                       "versions", api=COMPUTE_API).json
    assert [v["name"] for v in versions] == ["2.0.7", "2.1.13"]
