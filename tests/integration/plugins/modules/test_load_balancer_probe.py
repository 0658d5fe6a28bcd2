"""azure_ha.webfarm.load_balancer_probe run by ansible-playbook against the control-plane lab."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_threshold_set_preserved_and_errors(tier):
    lab = tier.lab
    mark = lab.mark()
    r = tier.run(HERE / "load_balancer_probe.yml")
    writes = lab.writes_since(mark)

    expected = {"name": f"{tier.app}-lb-probe", "id": f"{tier.lb_id}/probes/{tier.app}-lb-probe", "protocol": "Http",
                "port": 80, "request_path": "/healthz", "interval": 5, "probe_threshold": 2, "number_of_probes": 2}
    assert r["set_check"]["changed"] is True
    assert r["set_check"]["diff"]["before"]["probe_threshold"] == 1  # azure_rm_loadbalancer cannot set it
    assert r["set_check"]["diff"]["after"]["probe_threshold"] == 2
    assert r["set_threshold"]["changed"] is True
    assert r["set_threshold"]["probe"] == expected

    # azure_rm_loadbalancer with the same definition (fail_count == probe_threshold) writes nothing,
    # so the threshold it does not know survives, and our re-run has nothing to do
    assert r["lb_module"] is False
    assert r["set_again"]["changed"] is False
    assert r["set_again"]["probe"] == expected

    assert r["tcp_probe"]["changed"] is True
    assert r["tcp_probe"]["probe"] == {"name": "ssh-probe", "id": f"{tier.lb_id}/probes/ssh-probe", "protocol": "Tcp",
                                       "port": 22, "request_path": None, "interval": 15, "probe_threshold": 1,
                                       "number_of_probes": 1}
    assert r["tcp_removed"]["changed"] is True and r["tcp_removed"]["probe"] is None

    assert r["used_probe"]["msg"] == (f"name: probe {tier.app}-lb-probe is used by load-balancing rule(s) "
                                      f"{tier.app}-lb-rule-http; remove it from them first")
    assert r["bad_params"]["msg"] == ("request_path: protocol Http needs a request_path such as /healthz; "
                                      "interval: 3 is outside 5-2147483646")

    # three LB writes (threshold, Tcp probe added, removed): check mode, re-runs and refusals wrote nothing
    assert [(w["method"], w["path"].lower()) for w in writes] == [("PUT", tier.lb_id.lower())] * 3

    stored = tier.arm(tier.lb_id)
    probes = {p["name"]: p["properties"] for p in stored["properties"]["probes"]}
    assert list(probes) == [f"{tier.app}-lb-probe"]
    assert probes[f"{tier.app}-lb-probe"]["probeThreshold"] == 2
    # the rest of the LB came back as it was
    assert [n["name"] for n in stored["properties"]["inboundNatRules"]] == ["ssh-vm1", "ssh-vm2", "ssh-vm3", "admin-vm1"]


def test_second_call_makes_no_write(tier):
    # the first call sets the probe (whichever test of this file ran before on this worker's tier)
    tier.run(HERE / "idempotent.yml", tier_case="probe")
    mark = tier.lab.mark()
    r = tier.run(HERE / "idempotent.yml", tier_case="probe")
    assert r["probe"]["changed"] is False
    assert r["probe"]["probe"]["probe_threshold"] == 2
    assert tier.lab.writes_since(mark) == []
