"""The azure_ha.webfarm.scale_set inventory plugin through `ansible-inventory --list` against
the control-plane lab: a set of three instances made by azure_ha.webfarm.scale_set (one of
them deallocated) listed with the host variables and groups of the availability set's VMs,
reached through the LB's NAT pool ports, in a single read-only pass."""

from __future__ import annotations

from pathlib import Path

# a playbook under inventory/ would be taken for an inventory by ansible-lint
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_instances_hosts_groups_and_hostvars(tier, inventory_cli):
    key = (tier.workdir / "id_ed25519.pub").read_text().strip()
    tier.run(FIXTURES / "scale_set_inventory.yml", tier_ssh_key=key)
    vmss = f"{tier.app}-inv-vmss"
    source = tier.workdir / "vmss.webfarm.yml"
    source.write_text(f"""\
plugin: azure_ha.webfarm.scale_set
resource_group: {tier.resource_group}
scale_set: {vmss}
load_balancer: {tier.app}-inv-lb
compose:
  ansible_user: "'azureuser'"
keyed_groups:
  - key: webfarm_power_state
    prefix: power
""")
    mark = tier.lab.mark()
    data = inventory_cli.list(source)
    assert tier.lab.writes_since(mark) == []
    names = [f"{vmss}_{n}" for n in (0, 1, 2)]

    def hosts(group):
        return sorted(data.get(group, {}).get("hosts", []))

    assert hosts("webfarm_vms") == hosts("webfarm_linux") == names
    # the lab places each new instance in the emptiest update domain (of 5), then fault domain (of 2)
    assert [hosts(f"update_domain_{u}") for u in (0, 1, 2)] == [[n] for n in names]
    assert [hosts(f"fault_domain_{f}") for f in (0, 1)] == [[names[0], names[2]], [names[1]]]
    assert (hosts("power_running"), hosts("power_deallocated")) == (names[:2], names[2:])

    pip = tier.arm(tier.id_of("Microsoft.Network/publicIPAddresses", f"{tier.app}-inv-lb-pip"))["properties"]["ipAddress"]
    hostvars = data["_meta"]["hostvars"]
    for n, name in enumerate(names):
        instance = tier.arm(tier.id_of("Microsoft.Compute/virtualMachineScaleSets", f"{vmss}/virtualMachines/{n}"))
        assert hostvars[name] == {
            # the lab gives instance N port 50000 + N of the NAT pool
            "ansible_host": pip, "ansible_port": 50000 + n, "ansible_user": "azureuser",
            "webfarm_update_domain": n, "webfarm_fault_domain": n % 2,
            "webfarm_power_state": "deallocated" if n == 2 else "running",
            "webfarm_private_ip": f"10.0.1.{4 + n}", "webfarm_os_type": "Linux",
            # the set's tags (with the scale_set module's digest tag)
            "webfarm_vm_id": instance["id"], "webfarm_tags": {**instance["tags"], "webfarm_app": tier.app},
            "webfarm_instance_id": str(n), "webfarm_scale_set": vmss,
            "webfarm_computer_name": instance["properties"]["osProfile"]["computerName"],
            "webfarm_latest_model_applied": True, "webfarm_vm_health": None,
        }


def test_missing_scale_set_names_the_option(tier, inventory_cli):
    source = tier.workdir / "missing-vmss.webfarm.yml"
    source.write_text(f"plugin: azure_ha.webfarm.scale_set\nresource_group: {tier.resource_group}\nscale_set: nope-vmss\n")
    assert f"scale_set: no scale set nope-vmss in resource group {tier.resource_group}" in inventory_cli.error(source)
