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
