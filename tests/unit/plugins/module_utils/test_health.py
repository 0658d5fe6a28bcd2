"""load_balancer_rule_health_info: the ARM health result reshaped, and what a wait still waits for."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils import health
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


def backends(*entries):
    return {"backends": [{"ip_address": ip, "state": state, "reason": reason} for ip, state, reason in entries]}


def test_pending_waits_for_up_and_for_out_of_rotation():
    current = backends(("10.0.0.4", "Up", "Up_Probe_Success"), ("10.0.0.5", "Down", "Down_Probe_Failure"))
    assert health.pending(current, ["10.0.0.4"], True) == []
    assert health.pending(current, ["10.0.0.4", "10.0.0.5", "10.0.0.6"], True) == [
        ("10.0.0.5", "Down_Probe_Failure"), ("10.0.0.6", "not in the backend pool")]
    # out of rotation: Down, or not in the pool at all
    assert health.pending(current, ["10.0.0.5", "10.0.0.6"], False) == []
    assert health.pending(current, ["10.0.0.4"], False) == [("10.0.0.4", "Up_Probe_Success")]


def test_wait_failure_message_names_each_address_and_its_reason():
    message = health.wait_failure_message("app1-lb", "app1-lb-rule-http", True, 64,
                                          [("10.0.0.5", "Down_Probe_Failure"), ("10.0.0.6", "not in the backend pool")],
                                          {"10.0.0.5": "app1-vm2"})
    assert message == ("rule app1-lb-rule-http of load balancer app1-lb: not up after 64 s: "
                       "app1-vm2 (10.0.0.5: Down_Probe_Failure), 10.0.0.6 (not in the backend pool)")
    assert "not out of rotation after 10 s" in health.wait_failure_message("lb", "r", False, 10, [("1.2.3.4", "Up")])
