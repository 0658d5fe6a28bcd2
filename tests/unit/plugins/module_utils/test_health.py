"""load_balancer_rule_health_info: the ARM health result reshaped."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils.health import parse_health


def test_parse_health_lists_up_and_down_ips():
    result = {"up": 1, "down": 2, "loadBalancerBackendAddresses": [
        {"ipAddress": "10.0.0.4", "networkInterfaceIPConfigurationId": "cfg1", "state": "Up", "reason": "Up_Probe_Success"},
        {"ipAddress": "10.0.0.5", "networkInterfaceIPConfigurationId": "cfg2", "state": "Down", "reason": "Down_Admin"},
        {"ipAddress": "10.0.0.6", "state": "Unknown", "reason": "Down_NoProbeResult"},
    ]}
    health = parse_health(result)
    assert health["up"] == ["10.0.0.4"]
    assert health["down"] == ["10.0.0.5", "10.0.0.6"]
    assert (health["up_count"], health["down_count"]) == (1, 2)
    assert health["backends"][0] == {"ip_address": "10.0.0.4", "state": "Up", "reason": "Up_Probe_Success",
                                     "network_interface_ip_configuration_id": "cfg1"}
    assert health["backends"][2]["state"] == "Down"
    assert health["backends"][2]["network_interface_ip_configuration_id"] is None


def test_parse_health_of_an_empty_pool():
    assert parse_health({"up": 0, "down": 0}) == {"up": [], "down": [], "backends": [], "up_count": 0, "down_count": 0}
    assert parse_health(None)["backends"] == []
