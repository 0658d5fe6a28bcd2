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
    # a wait that cannot end fails at its deadline naming each address with Azure's reason
    assert r["never_up"]["failed"] is True
    assert r["never_up"]["msg"] == (
        f"rule {rule} of load balancer {tier.app}-lb: not up after 2 s: "
        f"{tier.app}-vm1 (10.0.0.4: {health['backends'][0]['reason']}), 10.0.0.9 (not in the backend pool)")
    assert r["already_out"]["waited"] == 0 and r["already_out"]["down_count"] == 3
    assert r["no_addresses"]["failed"] and "addresses" in r["no_addresses"]["msg"]
    assert r["zero_interval"]["msg"] == "poll_interval: must be at least 1 second, got 0"
    assert r["no_wait_for"]["msg"] == "addresses: only used with wait_for, which is not set"
    # the health POST is an action that reads: no write; a wait polls it (2 s at 1 s: 2-3 reads)
    assert lab.writes_since(mark) == []
    posts = [q for q in lab.requests_since(mark) if q["method"] == "POST" and q["host"] == "management.azure.com"]
    assert all(q["path"].endswith(f"/loadBalancingRules/{rule}/health") for q in posts)
    assert 4 <= len(posts) <= 6, [q["path"] for q in posts]

    lab.server.lab.store.record_health(tier.lb_id, rule, tier.ip_configuration_id(2), "10.0.0.5", "Up",
                                       "Up_Probe_Success")
    second = tier.run(HERE / "load_balancer_rule_health_info.yml", tier_bad_rule=False)
    assert second["now_up"]["up"] == ["10.0.0.5"] and second["now_up"]["waited"] == 0
    health = second["health"]
    assert (health["up"], health["down"]) == (["10.0.0.5"], ["10.0.0.4", "10.0.0.6"])
    assert (health["up_count"], health["down_count"]) == (1, 2)
    up = health["backends"][1]
    assert (up["ip_address"], up["state"], up["reason"]) == ("10.0.0.5", "Up", "Up_Probe_Success")
