"""The availability_set inventory plugin: host variables, groups, file names."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.inventory.availability_set import (
    InventoryModule, host_groups, host_vars,
)

MEMBER = {"name": "app1-vm2", "id": "vm-id", "os_type": "Linux", "update_domain": 1, "fault_domain": 0,
          "power_state": "running", "private_ip": "10.0.0.5", "nat_port": 50002, "tags": {"a": "b"}}


def test_host_vars_reach_the_vm_through_the_lb():
    assert host_vars(MEMBER, "20.1.2.3") == {
        "ansible_host": "20.1.2.3", "ansible_port": 50002, "webfarm_update_domain": 1, "webfarm_fault_domain": 0,
        "webfarm_power_state": "running", "webfarm_private_ip": "10.0.0.5", "webfarm_os_type": "Linux",
        "webfarm_vm_id": "vm-id", "webfarm_tags": {"a": "b"}}


def test_without_public_ip_the_private_ip_and_default_port_are_used():
    out = host_vars(MEMBER, None)
    assert out["ansible_host"] == "10.0.0.5" and "ansible_port" not in out
    assert "ansible_port" not in host_vars(dict(MEMBER, nat_port=None), "20.1.2.3")


def test_groups():
    assert host_groups(MEMBER) == ["webfarm_vms", "webfarm_linux", "update_domain_1", "fault_domain_0"]
    assert host_groups(dict(MEMBER, os_type="Windows", update_domain=None, fault_domain=None)) == [
        "webfarm_vms", "webfarm_windows"]


def test_verify_file_wants_a_webfarm_yml_name(tmp_path):
    plugin = InventoryModule()
    good, other = tmp_path / "app1.webfarm.yml", tmp_path / "app1.azure_rm.yml"
    for path in (good, other):
        path.write_text("plugin: azure_ha.webfarm.availability_set\n")
    assert plugin.verify_file(str(good))
    assert not plugin.verify_file(str(other))
    assert not plugin.verify_file(str(tmp_path / "missing.webfarm.yml"))
