"""azure_ha.webfarm.nic_nat_rules run by ansible-playbook against the control-plane lab."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def nic_puts(writes, tier):
    path = tier.id_of("Microsoft.Network/networkInterfaces", f"{tier.app}-vm1-nic1").lower()
    return [w for w in writes if w["method"] == "PUT" and w["path"].lower() == path]


def test_attach_detach_exclusive_and_errors(tier):
    lab = tier.lab
    mark = lab.mark()
    r = tier.run(HERE / "nic_nat_rules.yml")
    writes = lab.writes_since(mark)

    assert r["attach_check"]["changed"] is True
    assert r["attach_check"]["nat_rules"] == ["ssh-vm1", "admin-vm1"]

    assert r["attach"]["changed"] is True
    assert r["attach"]["nat_rules"] == ["ssh-vm1", "admin-vm1"]
    assert r["attach"]["network_interface"] == f"{tier.app}-vm1-nic1"
    assert r["attach"]["ip_configuration"] == "ipconfig1"
    assert r["attach"]["diff"] == {"before": {"nat_rules": [f"{tier.app}-lb/ssh-vm1"]},
                                   "after": {"nat_rules": [f"{tier.app}-lb/ssh-vm1", f"{tier.app}-lb/admin-vm1"]}}

    assert r["attach_again"]["changed"] is False
    assert r["detach"]["changed"] is True and r["detach"]["nat_rules"] == ["ssh-vm1"]
    assert r["attach_for_exclusive"]["changed"] is True
    assert r["exclusive"]["changed"] is True and r["exclusive"]["nat_rules"] == ["ssh-vm1"]
    assert r["exclusive"]["nat_rule_ids"] == [f"{tier.lb_id}/inboundNatRules/ssh-vm1"]

    # one NIC write per changing call; check mode, the no-op re-run and the refused calls wrote nothing
    assert len(writes) == 4, writes
    assert len(nic_puts(writes, tier)) == 4

    assert r["missing_rule"]["failed"] is True
    assert r["missing_rule"]["msg"] == (f"nat_rules: load balancer {tier.app}-lb has no inbound NAT rule 'ssh-vm9' "
                                        "(it has: admin-vm1, ssh-vm1, ssh-vm2, ssh-vm3)")
    assert r["taken_rule"]["msg"].startswith("nat_rules: 'ssh-vm2' already forwards to ")
    assert tier.ip_configuration_id(2) in r["taken_rule"]["msg"]
    assert r["missing_config"]["msg"] == (f"ip_configuration: network interface {tier.app}-vm1-nic1 has no ip "
                                          "configuration ipconfig9 (it has: ipconfig1)")

    # what the lab holds now: the NIC's ip configuration points at ssh-vm1 only
    nic = tier.arm(tier.id_of("Microsoft.Network/networkInterfaces", f"{tier.app}-vm1-nic1"))
    refs = nic["properties"]["ipConfigurations"][0]["properties"]["loadBalancerInboundNatRules"]
    assert [ref["id"].lower() for ref in refs] == [f"{tier.lb_id}/inboundNatRules/ssh-vm1".lower()]


def test_second_call_makes_no_write(tier):
    # the first call attaches the rule (whichever test of this file ran before on this worker's tier)
    tier.run(HERE / "idempotent.yml", tier_case="nat")
    mark = tier.lab.mark()
    r = tier.run(HERE / "idempotent.yml", tier_case="nat")
    assert r["nat"]["changed"] is False
    assert r["nat"]["nat_rules"] == ["ssh-vm1"]
    assert tier.lab.writes_since(mark) == []


def test_throttled_requests_are_retried(tier):
    """ARM answers 429 + Retry-After to the first two NIC reads; the module retries and succeeds."""
    lab = tier.lab
    tier.run(HERE / "idempotent.yml", tier_case="nat")  # the rule attached, so the faulted call only reads
    lab.admin.call("POST", "faults", {"status": 429, "count": 2, "method": "GET", "path": f"{tier.app}-vm1-nic1",
                                      "retry_after": 1})
    mark = lab.mark()
    r = tier.run(HERE / "idempotent.yml", tier_case="nat")
    assert r["nat"]["changed"] is False and r["nat"]["nat_rules"] == ["ssh-vm1"]
    statuses = [q["status"] for q in lab.requests_since(mark) if q["path"].endswith(f"/{tier.app}-vm1-nic1")]
    assert statuses == [429, 429, 200]


def test_many_nics_in_one_call(tier):
    """network_interfaces: every NIC checked before the first write, only the changing
    NIC written, results in the order given."""
    lab = tier.lab
    nics = [f"{tier.app}-vm{index}-nic1" for index in (1, 2, 3)]
    mark = lab.mark()
    r = tier.run(HERE / "nic_nat_rules_many.yml")
    writes = lab.writes_since(mark)

    assert r["unchanged"]["changed"] is False
    assert [(n["network_interface"], n["nat_rules"], n["changed"]) for n in r["unchanged"]["network_interfaces"]] == [
        (nics[0], ["ssh-vm1"], False), (nics[1], ["ssh-vm2"], False), (nics[2], ["ssh-vm3"], False)]
    assert "network_interface" not in r["unchanged"]

    assert r["add_check"]["changed"] is True
    assert [n["changed"] for n in r["add_check"]["network_interfaces"]] == [False, True, False]
    assert r["add"]["network_interfaces"][1]["nat_rules"] == ["ssh-vm2", "admin-vm1"]
    assert r["add"]["network_interfaces"][1]["nat_rule_ids"][1].lower() == f"{tier.lb_id}/inboundNatRules/admin-vm1".lower()
    assert r["add"]["diff"]["before"][nics[1]] == [f"{tier.app}-lb/ssh-vm2"]
    assert r["add"]["diff"]["after"][nics[1]] == [f"{tier.app}-lb/ssh-vm2", f"{tier.app}-lb/admin-vm1"]
    assert r["add"]["diff"]["after"][nics[0]] == r["add"]["diff"]["before"][nics[0]]
    assert r["restore"]["changed"] is True
    assert [n["nat_rules"] for n in r["restore"]["network_interfaces"]] == [["ssh-vm1"], ["ssh-vm2"], ["ssh-vm3"]]

    assert r["twice"]["msg"] == (f"network_interfaces[3].name: {nics[0]} is already network_interfaces[0]; "
                                 "list each network interface once")
    assert r["shared"]["msg"] == (f"network_interfaces[1].nat_rules: 'ssh-vm1' is also asked for network_interfaces[0] "
                                  f"({nics[0]}); an inbound NAT rule forwards to one ip configuration")
    assert r["missing"]["msg"] == (f"network_interfaces[3].name: no network interface {tier.app}-vm9-nic1 in resource "
                                   f"group {tier.resource_group}")
    assert "mutually exclusive" in r["both"]["msg"] and "network_interfaces" in r["both"]["msg"]

    # the add and the restore wrote NIC 2 once each; nothing else, refused calls included
    nic2 = tier.id_of("Microsoft.Network/networkInterfaces", nics[1]).lower()
    assert [(w["method"], w["path"].lower()) for w in writes] == [("PUT", nic2), ("PUT", nic2)], writes
