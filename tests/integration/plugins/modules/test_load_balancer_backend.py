"""azure_ha.webfarm.load_balancer_backend run by ansible-playbook against the control-plane lab.

Nothing probes the backends without a data plane, so the rule health API reports every backend
Down; the reason tells the admin state (Down_Admin) from the missing probe result."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def puts_to(writes, path):
    return [w for w in writes if w["method"] == "PUT" and w["path"].lower() == path.lower()]


def vm3_health(health, tier):
    return next(b for b in health["backends"]
                if b["network_interface_ip_configuration_id"].lower() == tier.ip_configuration_id(3).lower())


def test_admin_state_and_pool_methods(tier):
    lab = tier.lab
    app, rg = tier.app, tier.resource_group
    nic_id = tier.id_of("Microsoft.Network/networkInterfaces", f"{app}-vm3-nic1")
    pool_id = f"{tier.lb_id}/backendAddressPools/{app}-lb-backend-pool"
    mark = lab.mark()
    r = tier.run(HERE / "load_balancer_backend.yml")
    writes = lab.writes_since(mark)

    assert r["admin_out_check"]["changed"] is True
    assert (r["admin_out_check"]["admin_state"], r["admin_out_check"]["in_rotation"]) == ("Down", False)

    out = r["admin_out"]
    assert out["changed"] is True and out["in_rotation"] is False and out["pool_member"] is True
    assert (out["method"], out["admin_state"]) == ("admin_state", "Down")
    assert out["backend_address"] == f"{rg}_{app}-vm3-nic1ipconfig1"
    assert out["ip_configuration_id"].lower() == tier.ip_configuration_id(3).lower()
    assert out["diff"] == {"before": {"pool_member": True, "admin_state": "None"},
                           "after": {"pool_member": True, "admin_state": "Down"}}
    down = vm3_health(r["health_out"], tier)
    assert (down["state"], down["reason"]) == ("Down", "Down_Admin")
    assert r["admin_out_again"]["changed"] is False and r["admin_out_again"]["admin_state"] == "Down"

    back = r["admin_in"]
    assert back["changed"] is True and back["in_rotation"] is True and back["admin_state"] == "None"
    assert vm3_health(r["health_in"], tier)["reason"].startswith("Down_NoProbeResult")

    assert r["pool_out_check"]["changed"] is True and r["pool_out_check"]["pool_member"] is False
    left = r["pool_out"]
    assert left["changed"] is True and left["in_rotation"] is False
    assert (left["method"], left["pool_member"], left["admin_state"]) == ("pool", False, None)
    assert left["diff"] == {"before": {"pool_member": True, "admin_state": "None"},
                            "after": {"pool_member": False, "admin_state": None}}
    assert r["not_member"]["failed"] is True
    assert r["not_member"]["msg"] == (
        f"network_interface: ip configuration ipconfig1 of {app}-vm3-nic1 is not in backend pool "
        f"{app}-lb-backend-pool; method=admin_state sets the admin state of a pool member (method=pool adds it "
        "to the pool)")
    joined = r["pool_in"]
    assert joined["changed"] is True and joined["in_rotation"] is True
    assert (joined["pool_member"], joined["admin_state"]) == (True, "None")
    assert r["missing_pool"]["msg"] == (f"backend_pool: load balancer {app}-lb has no backend pool 'blue' "
                                        f"(it has: {app}-lb-backend-pool)")

    # exactly one write per changing call: two pool PUTs (the LB itself is never written), two NIC PUTs
    assert [(w["method"], w["path"].lower()) for w in writes] == [
        ("PUT", pool_id.lower()), ("PUT", pool_id.lower()), ("PUT", nic_id.lower()), ("PUT", nic_id.lower())]
    drained = json.loads(puts_to(writes, pool_id)[0]["body"])["properties"]["loadBalancerBackendAddresses"]
    states = {a["name"]: a["properties"].get("adminState", "None") for a in drained}
    assert states == {f"{rg}_{app}-vm{n}-nic1ipconfig1": "Down" if n == 3 else "None" for n in (1, 2, 3)}
    # leaving the pool keeps the NAT rule: only the pool reference goes
    config = json.loads(puts_to(writes, nic_id)[0]["body"])["properties"]["ipConfigurations"][0]["properties"]
    assert config["loadBalancerBackendAddressPools"] == []
    assert [ref["id"].lower() for ref in config["loadBalancerInboundNatRules"]] == [
        f"{tier.lb_id}/inboundNatRules/ssh-vm3".lower()]

    # the lab ends as it started: VM 3 in the pool with its NAT rule, no admin state stored
    nic = tier.arm(nic_id)["properties"]["ipConfigurations"][0]["properties"]
    assert [ref["id"].lower() for ref in nic["loadBalancerBackendAddressPools"]] == [pool_id.lower()]
    assert len(nic["loadBalancerInboundNatRules"]) == 1
    stored = tier.arm(tier.lb_id)["properties"]["backendAddressPools"][0]["properties"]
    assert stored.get("loadBalancerBackendAddresses", []) == []


def test_satisfied_calls_make_no_write(tier):
    mark = tier.lab.mark()
    r = tier.run(HERE / "load_balancer_backend_again.yml")
    assert tier.lab.writes_since(mark) == []
    for result in (r["admin_again"], r["pool_again"]):
        assert result["changed"] is False and result["in_rotation"] is True
        assert (result["pool_member"], result["admin_state"]) == (True, "None")
