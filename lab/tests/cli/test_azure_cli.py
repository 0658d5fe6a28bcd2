"""The real Azure CLI (az, installed by scripts/setup.sh in its own venv because its
pinned SDKs differ from azure.azcollection's) against the lab."""

from __future__ import annotations

import json
import os

import pytest
from helpers import AZ, az_login, az_runner

pytestmark = pytest.mark.skipif(AZ is None and not os.environ.get("CI"), reason="Azure CLI not installed (run scripts/setup.sh)")


@pytest.fixture(scope="module")
def az(lab_env, tmp_path_factory):
    run = az_runner(lab_env, tmp_path_factory.mktemp("azcfg"))
    az_login(run, lab_env)
    return run


def test_login_and_account(az, lab_env):
    account = json.loads(az("account", "show", "-o", "json").stdout)
    assert account["id"] == lab_env["AZURE_SUBSCRIPTION_ID"]
    assert account["tenantId"] == lab_env["AZURE_TENANT"]


def test_wrong_secret_is_refused(lab_env, tmp_path):
    # a fresh config dir: with a cached token MSAL would not even ask for a new one
    az = az_runner(lab_env, tmp_path)
    result = az_login(az, lab_env, secret="not-the-secret", check=False)
    assert result.returncode != 0
    assert "AADSTS7000215" in result.stderr
    assert "not-the-secret" not in result.stderr


def test_resource_group_life_cycle(az):
    created = json.loads(az("group", "create", "-n", "cli-rg", "-l", "westeurope", "-o", "json").stdout)
    assert created["properties"]["provisioningState"] == "Succeeded"
    assert az("group", "exists", "-n", "cli-rg", "-o", "tsv").stdout.strip() == "true"
    names = json.loads(az("group", "list", "-o", "json").stdout)
    assert "cli-rg" in [g["name"] for g in names]
    az("group", "delete", "-n", "cli-rg", "--yes")
    assert az("group", "exists", "-n", "cli-rg", "-o", "tsv").stdout.strip() == "false"


def test_network_and_compute_reads(az):
    az("group", "create", "-n", "cli-net-rg", "-l", "eastus2", "-o", "none")
    vnet = json.loads(az("network", "vnet", "create", "-g", "cli-net-rg", "-n", "cli-vnet", "--address-prefixes", "10.50.0.0/16",
                         "--subnet-name", "web", "--subnet-prefixes", "10.50.1.0/24", "-o", "json").stdout)
    assert vnet["newVNet"]["subnets"][0]["addressPrefix"] == "10.50.1.0/24"
    overlapping = az("network", "vnet", "subnet", "create", "-g", "cli-net-rg", "--vnet-name", "cli-vnet", "-n", "clash",
                     "--address-prefixes", "10.50.1.128/25", check=False)
    assert overlapping.returncode != 0
    assert json.loads(az("vm", "list", "-g", "cli-net-rg", "-o", "json").stdout) == []
    az("group", "delete", "-n", "cli-net-rg", "--yes")


def test_vm_list_skus(az):
    skus = json.loads(az("vm", "list-skus", "-l", "eastus", "--resource-type", "virtualMachines", "-o", "json").stdout)
    assert {"Standard_B1s", "Standard_D2s_v3"} <= {s["name"] for s in skus}


def test_a_secret_that_starts_with_a_dash_is_read_as_the_password(lab_env, tmp_path):
    """Lab secrets are random: one in 64 starts with '-', which ``-p <secret>`` reads as an option."""
    result = az_login(az_runner(lab_env, tmp_path), lab_env, secret="-not-the-secret", check=False)
    assert "expected one argument" not in result.stderr, "the secret was read as an option"
    assert "AADSTS7000215" in result.stderr, "read as the password, and refused as a wrong one"


def test_scale_set_reads(az, tmp_path):
    """az vmss show / list-instances / get-instance-view / nic list / nic list-vm-nics / nic show on a
    scale set made with az rest."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - only this test needs a key
    from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415
    key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    sub = json.loads(az("account", "show", "-o", "json").stdout)["id"]
    az("group", "create", "-n", "cli-vmss-rg", "-l", "eastus", "-o", "none")
    az("network", "vnet", "create", "-g", "cli-vmss-rg", "-n", "vnet", "--address-prefixes", "10.60.0.0/16",
       "--subnet-name", "web", "--subnet-prefixes", "10.60.1.0/24", "-o", "none")
    rg_id = f"/subscriptions/{sub}/resourceGroups/cli-vmss-rg"
    body = {"location": "eastus", "sku": {"name": "Standard_B1s", "capacity": 2}, "properties": {
        "orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser", "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {"publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys", "keyData": key}]}}},
            "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                  "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                "primary": True, "ipConfigurations": [{"name": "ip", "properties": {
                    "subnet": {"id": f"{rg_id}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/web"}}}]}}]}}}}
    (tmp_path / "vmss.json").write_text(json.dumps(body))
    az("rest", "--method", "put", "--url", f"https://management.azure.com{rg_id}/providers/Microsoft.Compute/"
       "virtualMachineScaleSets/web?api-version=2024-07-01", "--body", f"@{tmp_path / 'vmss.json'}", "-o", "none")
    shown = json.loads(az("vmss", "show", "-g", "cli-vmss-rg", "-n", "web", "-o", "json").stdout)
    assert (shown["sku"]["capacity"], shown["orchestrationMode"]) == (2, "Uniform")
    listed = json.loads(az("vmss", "list-instances", "-g", "cli-vmss-rg", "-n", "web", "-o", "json").stdout)
    assert [i["instanceId"] for i in listed] == ["0", "1"]
    assert [i["osProfile"]["computerName"] for i in listed] == ["web000000", "web000001"]
    nics = json.loads(az("vmss", "nic", "list", "-g", "cli-vmss-rg", "--vmss-name", "web", "-o", "json").stdout)
    assert [nic["virtualMachine"]["id"] for nic in nics] == [instance["id"] for instance in listed]
    assert [nic["ipConfigurations"][0]["privateIPAddress"] for nic in nics] == ["10.60.1.4", "10.60.1.5"]
    vm_nics = json.loads(az("vmss", "nic", "list-vm-nics", "-g", "cli-vmss-rg", "--vmss-name", "web",
                            "--instance-id", "1", "-o", "json").stdout)
    nic = json.loads(az("vmss", "nic", "show", "-g", "cli-vmss-rg", "--vmss-name", "web", "--instance-id", "1",
                        "-n", "nic", "-o", "json").stdout)
    assert vm_nics == [nic] and nic["virtualMachine"]["id"] == listed[1]["id"]
    view = json.loads(az("vmss", "get-instance-view", "-g", "cli-vmss-rg", "-n", "web", "--instance-id", "1",
                         "-o", "json").stdout)
    assert view["statuses"][1]["code"] == "PowerState/running" and view["platformFaultDomain"] == 1
    az("group", "delete", "-n", "cli-vmss-rg", "--yes")
