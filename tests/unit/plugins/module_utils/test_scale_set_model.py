"""scale_set's decisions: Azure's rules before a write, the body, what differs, secrets kept out of sight."""

from __future__ import annotations

import base64
import copy

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import scale_set_model as model

RG = "/subscriptions/s/resourceGroups/rg/providers"
LB = RG + "/Microsoft.Network/loadBalancers/app1-lb"
SUBNET = RG + "/Microsoft.Network/virtualNetworks/app1-vnet/subnets/web"


def params(**overrides):
    base = dict(name="app1-vmss", location="westeurope", vm_size="Standard_B1s", capacity=3,
                image=dict(publisher="Debian", offer="debian-12", sku="12-gen2", version="latest"),
                computer_name_prefix="app1", admin_username="azureuser", ssh_public_keys=["ssh-ed25519 AAAA"],
                custom_data="#cloud-config\n", os_disk_type="Premium_LRS", subnet_id=SUBNET,
                backend_pool_ids=[LB + "/backendAddressPools/pool"], nat_pool_ids=[LB + "/inboundNatPools/ssh"],
                health_probe_id=LB + "/probes/probe", overprovision=True, single_placement_group=True,
                platform_fault_domain_count=5,
                upgrade_policy=dict(mode="Rolling", rolling=dict(max_batch_instance_percent=34)),
                automatic_repairs=None, scale_in_policy=None, extensions=None, tags={"app": "app1"})
    base.update(overrides)
    return base


def as_azure_returns(body):
    """What a GET answers after a PUT of ``body``: no customData, no protected settings, Azure's
    defaults filled in, read-only fields added, IDs in another case."""
    out = copy.deepcopy(body)
    out.update(id=RG + "/Microsoft.Compute/virtualMachineScaleSets/app1-vmss", name="app1-vmss")
    props = out["properties"]
    props.update(provisioningState="Succeeded", uniqueId="u", doNotRunExtensionsOnOverprovisionedVMs=False)
    profile = props["virtualMachineProfile"]
    profile["osProfile"].pop("customData", None)
    profile["osProfile"]["linuxConfiguration"]["provisionVMAgent"] = True
    for ext in (profile.get("extensionProfile") or {}).get("extensions", []):
        ext["properties"].pop("protectedSettings", None)
    rolling = props["upgradePolicy"].get("rollingUpgradePolicy")
    if rolling is not None:
        rolling.setdefault("maxUnhealthyInstancePercent", 20)
        rolling.setdefault("pauseTimeBetweenBatches", "PT0S")
    subnet = profile["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]
    subnet["properties"]["subnet"]["id"] = subnet["properties"]["subnet"]["id"].upper()
    return out


def test_problems_name_the_option_and_the_rule():
    assert model.problems(params()) == []
    wrong = model.problems(params(
        health_probe_id=None,
        upgrade_policy=dict(mode="Rolling", rolling=dict(max_batch_instance_percent=2,
                                                         pause_time_between_batches="5 seconds")),
        automatic_repairs=dict(enabled=True, grace_period="PT5M")))
    assert wrong == [
        "upgrade_policy.rolling.max_batch_instance_percent: 2 is outside 5-100",
        "upgrade_policy.rolling.pause_time_between_batches: '5 seconds' is not an ISO 8601 duration such as PT0S "
        "or PT1M",
        "upgrade_policy.mode Rolling: needs a health source: health_probe_id (the load balancer probe) or an "
        "Application Health extension in extensions",
        "automatic_repairs.grace_period: 'PT5M' must be PT10M to PT90M"]
    health = dict(name="health", publisher="Microsoft.ManagedServices", type="ApplicationHealthLinux",
                  type_handler_version="1.0")
    one_source = "health_probe_id: upgrade_policy.mode Rolling takes one health source"
    assert model.problems(params(extensions=[health]))[0].startswith(one_source)
    assert model.problems(params(capacity=101)) == ["capacity: 101 is outside 0-100"]
    assert model.problems(params(terminate_notification=dict(enabled=True, timeout="PT20M"))) == [
        "terminate_notification.timeout: 'PT20M' must be PT5M to PT15M"]
    assert model.problems(params(terminate_notification=dict(enabled=False, timeout="PT20M"))) == []


def test_a_terminate_notification_is_part_of_the_model_and_compared_as_azure_stores_it():
    notice = dict(enabled=True, timeout="PT7M")
    body = model.desired_body(params(terminate_notification=notice), None, salt="s1")
    assert body["properties"]["virtualMachineProfile"]["scheduledEventsProfile"] == {
        "terminateNotificationProfile": {"enable": True, "notBeforeTimeout": "PT7M"}}
    existing = as_azure_returns(body)
    assert model.differences(params(terminate_notification=notice), existing) == []
    assert model.differences(params(), existing) == [], "not given: the set keeps what it has"
    off = model.differences(params(terminate_notification=dict(enabled=False, timeout="PT5M")), existing)
    assert off == ["properties.virtualMachineProfile.scheduledEventsProfile.terminateNotificationProfile.enable"]
    assert model.model_changes(off)
    assert model.view(existing)["terminate_notification"] == {"enable": True, "notBeforeTimeout": "PT7M"}


def test_a_new_set_is_one_body_with_everything():
    body = model.desired_body(params(), None, salt="s1")
    props = body["properties"]
    assert body["sku"] == {"name": "Standard_B1s", "tier": "Standard", "capacity": 3}
    assert props["upgradePolicy"] == {"mode": "Rolling", "rollingUpgradePolicy": {"maxBatchInstancePercent": 34}}
    network = props["virtualMachineProfile"]["networkProfile"]
    assert network["healthProbe"] == {"id": LB + "/probes/probe"}
    ip = network["networkInterfaceConfigurations"][0]["properties"]["ipConfigurations"][0]["properties"]
    assert ip["loadBalancerInboundNatPools"] == [{"id": LB + "/inboundNatPools/ssh"}]
    os_profile = props["virtualMachineProfile"]["osProfile"]
    assert base64.b64decode(os_profile["customData"]).decode() == "#cloud-config\n"
    assert body["tags"]["app"] == "app1" and body["tags"][model.SECRETS_TAG].startswith("s1:")
    assert "#cloud-config" not in body["tags"][model.SECRETS_TAG]


def test_the_set_azure_returns_is_no_difference():
    existing = as_azure_returns(model.desired_body(params(), None, salt="s1"))
    assert model.differences(params(), existing) == []


@pytest.mark.parametrize("change, expected", [
    (dict(capacity=4), ["sku.capacity"]),
    (dict(upgrade_policy=dict(mode="Rolling", rolling=dict(max_batch_instance_percent=50))),
     ["properties.upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent"]),
    (dict(custom_data="#cloud-config\nruncmd: [true]\n"),
     ["virtualMachineProfile (customData or protected settings)"]),
    (dict(image=dict(publisher="Debian", offer="debian-12", sku="12-gen2", version="0.20250101.1")),
     ["properties.virtualMachineProfile.storageProfile.imageReference.version"]),
    (dict(tags={"app": "app2"}), ["tags"]),
])
def test_each_change_is_named(change, expected):
    existing = as_azure_returns(model.desired_body(params(), None, salt="s1"))
    found = model.differences(params(**change), existing)
    assert found == expected
    assert bool(model.model_changes(found)) == any("virtualMachineProfile" in name for name in expected)


def test_autoscale_owns_the_capacity_of_an_existing_set():
    existing = as_azure_returns(model.desired_body(params(), None, salt="s1"))
    existing["sku"]["capacity"] = 5
    assert model.differences(params(), existing, keep_capacity=True) == []
    assert model.desired_body(params(), existing, keep_capacity=True)["sku"]["capacity"] == 5
    assert model.differences(params(), existing) == ["sku.capacity"]


def test_an_update_keeps_what_the_module_does_not_manage_and_drops_read_only_fields():
    existing = as_azure_returns(model.desired_body(params(), None, salt="s1"))
    existing["properties"]["virtualMachineProfile"]["diagnosticsProfile"] = {"bootDiagnostics": {"enabled": True}}
    body = model.desired_body(params(capacity=4), existing, salt="s2")
    assert body["properties"]["virtualMachineProfile"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    assert "provisioningState" not in body["properties"] and "uniqueId" not in body["properties"]
    assert body["sku"]["capacity"] == 4 and "customData" in body["properties"]["virtualMachineProfile"]["osProfile"]


def test_protected_settings_are_compared_by_digest_and_never_returned():
    script = dict(name="web", publisher="Microsoft.Azure.Extensions", type="CustomScript", type_handler_version="2.1",
                  auto_upgrade_minor_version=True, settings={"fileUris": []},
                  protected_settings={"commandToExecute": "install --token s3cret"})
    existing = as_azure_returns(model.desired_body(params(extensions=[script]), None, salt="s1"))
    assert model.differences(params(extensions=[script]), existing) == []
    changed = dict(script, protected_settings={"commandToExecute": "install --token other"})
    assert model.differences(params(extensions=[changed]), existing) == [
        "virtualMachineProfile (customData or protected settings)"]
    assert "s3cret" not in repr(model.view(existing)) and "s3cret" not in repr(existing["tags"])
