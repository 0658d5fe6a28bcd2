"""The data-plane controller's pure parts: names, and that a lab started without a data
plane (the control-plane test fixture) runs no container."""

from __future__ import annotations

from azlab.dataplane.objects import container_name

VM = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/web-vm1"


def test_names_are_readable_unique_and_case_insensitive():
    assert container_name(VM).startswith("azlab-web-vm1-")
    assert container_name(VM) == container_name(VM.lower())


def test_the_control_plane_fixture_runs_no_data_plane(lab_server):
    assert lab_server.dataplane is None
    assert lab_server.lab.dataplane_status()["enabled"] is False
