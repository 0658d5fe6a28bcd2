"""azure_ha.webfarm.availability_set_member_info run by ansible-playbook against the control-plane lab."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_members_domains_nat_ports_and_public_ip(tier):
    mark = tier.lab.mark()
    r = tier.run(HERE / "availability_set_member_info.yml")
    assert tier.lab.writes_since(mark) == []

    info = r["members"]
    assert info["changed"] is False
    avset_id = tier.id_of("Microsoft.Compute/availabilitySets", f"{tier.app}-as")
    assert info["availability_set"] == {"name": f"{tier.app}-as", "id": avset_id, "fault_domains": 2,
                                        "update_domains": 3, "sku": "Aligned", "tags": {}}
    pip = tier.arm(tier.id_of("Microsoft.Network/publicIPAddresses", f"{tier.app}-pip"))
    assert info["public_ip"] == pip["properties"]["ipAddress"]

    members = info["members"]
    assert [m["name"] for m in members] == [f"{tier.app}-vm{n}" for n in (1, 2, 3)]
    for k, member in enumerate(members):  # k-th VM created: UD k mod 3, FD k mod 2
        n = k + 1
        assert (member["update_domain"], member["fault_domain"]) == (k % 3, k % 2), member
        assert member["nat_port"] == 50000 + n
        assert member["nat_rules"] == [{"name": f"ssh-vm{n}", "frontend_port": 50000 + n, "backend_port": 22}]
        assert member["private_ip"] == f"10.0.0.{3 + n}"
        assert member["network_interface"] == f"{tier.app}-vm{n}-nic1"
        assert member["ip_configuration"] == "ipconfig1"
        assert member["id"] == tier.id_of("Microsoft.Compute/virtualMachines", member["name"])
        assert (member["os_type"], member["vm_size"]) == ("Linux", "Standard_B1s")
        assert (member["power_state"], member["provisioning_state"]) == ("running", "succeeded")
        assert member["tags"] == {"webfarm_app": tier.app, "webfarm_vm_index": str(n)}

    assert r["missing"]["failed"] is True
    assert r["missing"]["msg"] == (f"availability_set: no availability set {tier.app}-nope in resource group "
                                   f"{tier.resource_group}")
    assert r["missing_lb"]["failed"] is True
    assert r["missing_lb"]["msg"] == (f"load_balancer: no load balancer {tier.app}-nope-lb in resource group "
                                      f"{tier.resource_group}")
