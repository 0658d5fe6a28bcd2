"""load_balancer_probe's decisions: validation, desired properties, comparison, body update."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils import probe

LB_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/app1-lb"


def params(**overrides):
    base = dict(protocol="Http", port=80, request_path="/healthz", interval=5, probe_threshold=2, number_of_probes=None)
    base.update(overrides)
    return base


def lb_with(*probes, rules=()):
    return {"name": "app1-lb", "id": LB_ID,
            "properties": {"probes": list(probes), "loadBalancingRules": list(rules),
                           "frontendIPConfigurations": [{"name": "fe"}]}}


def test_problems_name_each_field():
    assert probe.problems(params()) == []
    assert probe.problems(params(protocol="Tcp")) == ["request_path: protocol Tcp probes a port and takes no request_path"]
    assert probe.problems(params(request_path=None)) == ["request_path: protocol Http needs a request_path such as /healthz"]
    assert probe.problems(params(request_path="healthz")) == ["request_path: 'healthz' must start with '/'"]
    assert probe.problems(params(interval=4, probe_threshold=101, port=0)) == [
        "interval: 4 is outside 5-2147483646", "port: 0 is outside 1-65535", "probe_threshold: 101 is outside 1-100"]


def test_new_probe_gets_azure_defaults_and_number_of_probes_follows_threshold():
    props = probe.desired_properties(None, params(interval=None, probe_threshold=None))
    assert props == {"protocol": "Http", "port": 80, "requestPath": "/healthz", "intervalInSeconds": 15,
                     "probeThreshold": 1, "numberOfProbes": 1}
    props = probe.desired_properties(None, params(probe_threshold=3))
    assert (props["probeThreshold"], props["numberOfProbes"]) == (3, 3)


def test_omitted_fields_keep_the_current_values_and_unknown_properties_stay():
    current = {"protocol": "Http", "port": 80, "requestPath": "/", "intervalInSeconds": 7, "probeThreshold": 4,
               "numberOfProbes": 4, "noHealthyBackendsBehavior": "AllProbedDown"}
    props = probe.desired_properties(current, params(interval=None, probe_threshold=None, number_of_probes=9))
    assert props["intervalInSeconds"] == 7 and props["probeThreshold"] == 4 and props["numberOfProbes"] == 9
    assert props["noHealthyBackendsBehavior"] == "AllProbedDown" and props["requestPath"] == "/healthz"


def test_tcp_drops_the_request_path():
    current = {"protocol": "Http", "port": 80, "requestPath": "/healthz"}
    assert "requestPath" not in probe.desired_properties(current, params(protocol="Tcp", request_path=None))


def test_differs():
    current = {"protocol": "HTTP", "port": 80, "requestPath": "/healthz", "intervalInSeconds": 5, "probeThreshold": 2,
               "numberOfProbes": 2, "provisioningState": "Succeeded"}
    desired = probe.desired_properties(current, params())
    assert not probe.differs(current, desired)
    assert probe.differs(current, probe.desired_properties(current, params(probe_threshold=3)))
    assert probe.differs(None, desired)
    # Azure applies threshold 1 to a probe that never had one
    unset = {k: v for k, v in current.items() if k != "probeThreshold"}
    assert not probe.differs(dict(unset, numberOfProbes=1), probe.desired_properties(unset, params(probe_threshold=None)))


def test_with_probe_replaces_or_appends_and_leaves_the_rest():
    old = {"name": "app1-lb-probe", "id": LB_ID + "/probes/app1-lb-probe", "properties": {"port": 81}}
    lb = lb_with(old)
    new = probe.with_probe(lb, "app1-lb-probe", {"port": 80})
    assert new["properties"]["probes"] == [{"name": "app1-lb-probe", "id": old["id"], "properties": {"port": 80}}]
    assert new["properties"]["frontendIPConfigurations"] == [{"name": "fe"}]
    assert lb["properties"]["probes"][0]["properties"] == {"port": 81}
    added = probe.with_probe(lb, "second", {"port": 8080})
    assert [p["name"] for p in added["properties"]["probes"]] == ["app1-lb-probe", "second"]


def test_without_probe_and_rules_using():
    probe_id = LB_ID + "/probes/p"
    lb = lb_with({"name": "p", "id": probe_id, "properties": {}}, {"name": "q", "properties": {}},
                 rules=[{"name": "http", "properties": {"probe": {"id": probe_id.upper()}}},
                        {"name": "other", "properties": {}}])
    assert probe.rules_using(lb, probe_id) == ["http"]
    assert [p["name"] for p in probe.without_probe(lb, "P")["properties"]["probes"]] == ["q"]


def test_view_is_snake_case():
    assert probe.view("p", {"protocol": "Tcp", "port": 22, "intervalInSeconds": 5, "probeThreshold": 2,
                            "numberOfProbes": 2}, "id1") == {
        "name": "p", "id": "id1", "protocol": "Tcp", "port": 22, "request_path": None, "interval": 5,
        "probe_threshold": 2, "number_of_probes": 2}
    assert probe.view("p", None) is None
