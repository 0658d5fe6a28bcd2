"""The scale_set inventory plugin: what it reads, and its hosts with the scale set's own variables."""

from __future__ import annotations

from ansible.inventory.data import InventoryData

from ansible_collections.azure_ha.webfarm.plugins.inventory import scale_set

MEMBER = {"name": "app1-vmss_3", "id": "instance-id", "os_type": "Linux", "update_domain": 3, "fault_domain": 1,
          "power_state": "deallocated", "private_ip": "10.0.1.7", "nat_port": 50003, "tags": {},
          "instance_id": "3", "scale_set": "app1-vmss", "computer_name": "app1vmss000003",
          "latest_model_applied": False, "vm_health": None}


def plugin_with(options):
    plugin = scale_set.InventoryModule()
    plugin.get_option = options.get
    return plugin


def test_collect_reads_the_configured_set(monkeypatch):
    calls = []
    monkeypatch.setattr(scale_set, "collect", lambda *args: calls.append(args) or {"members": []})
    plugin = plugin_with({"resource_group": "app1-dev-rg", "scale_set": "app1-vmss", "load_balancer": "app1-lb"})
    assert plugin.collect("arm") == {"members": []}
    assert calls == [("arm", "app1-dev-rg", "app1-vmss", "app1-lb")]
    assert plugin.NAME == "azure_ha.webfarm.scale_set"


def test_an_instance_is_a_host_with_the_common_and_the_scale_set_variables():
    plugin = plugin_with({"strict": False})
    plugin.inventory = InventoryData()
    plugin._populate({"public_ip": "20.1.2.3", "members": [MEMBER]})
    host = plugin.inventory.hosts["app1-vmss_3"]
    assert {k: v for k, v in host.vars.items() if not k.startswith("inventory_")} == {
        "ansible_host": "20.1.2.3", "ansible_port": 50003, "webfarm_update_domain": 3, "webfarm_fault_domain": 1,
        "webfarm_power_state": "deallocated", "webfarm_private_ip": "10.0.1.7", "webfarm_os_type": "Linux",
        "webfarm_vm_id": "instance-id", "webfarm_tags": {}, "webfarm_instance_id": "3",
        "webfarm_scale_set": "app1-vmss", "webfarm_computer_name": "app1vmss000003",
        "webfarm_latest_model_applied": False, "webfarm_vm_health": None}
    assert sorted(g.name for g in host.get_groups()) == [
        "fault_domain_1", "update_domain_3", "webfarm_linux", "webfarm_vms"]
