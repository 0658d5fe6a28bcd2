"""azure_ha.webfarm.load_balancer_rule_health_info run by ansible-playbook against the control-plane lab.

Without a data plane nothing probes the backends: the lab reports each one Down with reason
Down_NoProbeResult until a probe result is recorded (as the data plane's HAProxy watcher does)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_health_of_the_http_rule(tier):
    lab = tier.lab
    rule = f"{tier.app}-lb-rule-http"
    mark = lab.mark()
    r = tier.run(HERE / "load_balancer_rule_health_info.yml", tier_bad_rule=True)
    health = r["health"]
    assert health["up"] == [] and health["up_count"] == 0
    assert health["down"] == ["10.0.0.4", "10.0.0.5", "10.0.0.6"] and health["down_count"] == 3
    assert [b["network_interface_ip_configuration_id"].lower() for b in health["backends"]] == [
        tier.ip_configuration_id(n).lower() for n in (1, 2, 3)]
    assert all(b["state"] == "Down" and b["reason"].startswith("Down_NoProbeResult") for b in health["backends"])
    assert r["missing"]["msg"] == (f"rule: load balancer {tier.app}-lb has no load-balancing rule https "
                                   f"(it has: {rule})")
    # the health POST is an action that reads: no write
    assert lab.writes_since(mark) == []
    posts = [q for q in lab.requests_since(mark) if q["method"] == "POST" and q["host"] == "management.azure.com"]
    assert len(posts) == 1 and posts[0]["path"].endswith(f"/loadBalancingRules/{rule}/health")

    lab.server.lab.store.record_health(tier.lb_id, rule, tier.ip_configuration_id(2), "10.0.0.5", "Up",
                                       "Up_Probe_Success")
    health = tier.run(HERE / "load_balancer_rule_health_info.yml", tier_bad_rule=False)["health"]
    assert (health["up"], health["down"]) == (["10.0.0.5"], ["10.0.0.4", "10.0.0.6"])
    assert (health["up_count"], health["down_count"]) == (1, 2)
    up = health["backends"][1]
    assert (up["ip_address"], up["state"], up["reason"]) == ("10.0.0.5", "Up", "Up_Probe_Success")
