"""Latency profiles (long-running operations stay InProgress for a while) and injected
ARM faults (the next N matching requests fail with Retry-After)."""

from __future__ import annotations

import time

from azlab.arm.latency import Fault

VNET = "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet1"
VNET_BODY = {"location": "eastus2", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}


def _rg(arm):
    assert arm.put("/resourcegroups/rg1", {"location": "eastus2"}, api="2022-09-01").status_code == 201


def test_instant_profile_completes_operations_at_once(arm):
    _rg(arm)
    created = arm.put(VNET, VNET_BODY)
    assert created.status_code == 201
    assert created.headers["Retry-After"] == "0"
    status = arm.client.get(created.headers["Azure-AsyncOperation"].replace("https://management.azure.com", ""),
                            headers=arm.headers, base_url="https://management.azure.com")
    assert status.json["status"] == "Succeeded"


def test_realistic_profile_keeps_operations_in_progress(arm, lab):
    _rg(arm)
    lab.set_profile("realistic", factor=0.25)  # VNet PUT: 4 s on Azure -> 1 s here
    created = arm.put(VNET, VNET_BODY)
    assert created.status_code == 201
    assert int(created.headers["Retry-After"]) >= 1
    assert created.json["properties"]["provisioningState"] == "Updating"
    poll = created.headers["Azure-AsyncOperation"].replace("https://management.azure.com", "")
    first = arm.client.get(poll, headers=arm.headers, base_url="https://management.azure.com").json
    assert first["status"] == "InProgress"
    time.sleep(1.1)
    done = arm.client.get(poll, headers=arm.headers, base_url="https://management.azure.com").json
    assert done["status"] == "Succeeded"
    assert arm.get(VNET).json["properties"]["provisioningState"] == "Succeeded"


def test_realistic_delete_keeps_the_resource_until_done(arm, lab):
    _rg(arm)
    assert arm.put(VNET, VNET_BODY).status_code == 201
    lab.set_profile("realistic", factor=0.1)  # 3 s default -> 0.3 s
    deleted = arm.delete(VNET)
    assert deleted.status_code == 202
    assert arm.get(VNET).json["properties"]["provisioningState"] == "Deleting"
    time.sleep(0.4)
    assert arm.get(VNET).status_code == 404


def test_injected_faults_hit_only_matching_requests_then_stop(arm, lab):
    _rg(arm)
    lab.faults.add(Fault(status=429, count=2, method="PUT", path="virtualNetworks", retry_after=3))
    assert arm.get("/resourcegroups/rg1", api="2022-09-01").status_code == 200  # not matching
    for _ in range(2):
        throttled = arm.put(VNET, VNET_BODY)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "3"
        assert throttled.json["error"]["code"] == "TooManyRequests"
    assert arm.get(VNET).status_code == 404  # the throttled writes changed nothing
    assert arm.put(VNET, VNET_BODY).status_code == 201
    assert lab.faults.list() == []


def test_fault_status_is_validated(lab):
    import pytest

    with pytest.raises(ValueError, match="status must be one of"):
        lab.faults.add(Fault(status=418))


def test_request_log_counts_refused_writes_and_marks(arm, lab):
    _rg(arm)
    mark = lab.store.request_mark()
    arm.get("/resourcegroups/rg1", api="2022-09-01")
    arm.put(VNET, {"location": "eastus2", "properties": {"addressSpace": {"addressPrefixes": ["not-a-cidr"]}}})
    since = lab.store.requests(mark)
    assert [(r["method"], r["write"]) for r in since] == [("GET", 0), ("PUT", 1)]
    assert [r["status"] for r in lab.store.requests(mark, writes_only=True)] == [400]
