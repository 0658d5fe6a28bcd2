"""The availability_set inventory plugin: its name and what it reads."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.inventory import availability_set


def test_collect_reads_the_configured_set(monkeypatch):
    calls = []
    monkeypatch.setattr(availability_set, "collect", lambda *args: calls.append(args) or {"members": []})
    plugin = availability_set.InventoryModule()
    plugin.get_option = {"resource_group": "app1-dev-rg", "availability_set": "app1-as", "load_balancer": "app1-lb"}.get
    assert plugin.collect("arm") == {"members": []}
    assert calls == [("arm", "app1-dev-rg", "app1-as", "app1-lb")]
    assert plugin.NAME == "azure_ha.webfarm.availability_set"
