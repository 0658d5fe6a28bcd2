"""Fixtures of the end-to-end data-plane tests: the lab's client environment and SDK clients."""

from __future__ import annotations

import pytest

from azlab.client import client_environment


@pytest.fixture(scope="module")
def env(dataplane_server):
    return client_environment(dataplane_server.settings)


@pytest.fixture(scope="module")
def clients(env):
    """(ComputeManagementClient, NetworkManagementClient) on the data-plane lab."""
    azure_identity = pytest.importorskip("azure.identity")
    compute = pytest.importorskip("azure.mgmt.compute")
    network = pytest.importorskip("azure.mgmt.network")
    mp = pytest.MonkeyPatch()
    for key in ("HTTPS_PROXY", "https_proxy", "REQUESTS_CA_BUNDLE", "NO_PROXY", "no_proxy"):
        mp.setenv(key, env[key])
    credential = azure_identity.ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"])
    yield (compute.ComputeManagementClient(credential, env["AZURE_SUBSCRIPTION_ID"]),
           network.NetworkManagementClient(credential, env["AZURE_SUBSCRIPTION_ID"]))
    mp.undo()
