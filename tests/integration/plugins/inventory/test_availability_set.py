"""The azure_ha.webfarm.availability_set inventory plugin through `ansible-inventory --list`
against the control-plane lab: hosts, groups, host variables, constructed features, cache."""

from __future__ import annotations


def test_hosts_groups_and_hostvars(tier, inventory_cli):
    source = tier.workdir / "tier.webfarm.yml"
    source.write_text(f"""\
plugin: azure_ha.webfarm.availability_set
resource_group: {tier.resource_group}
availability_set: {tier.app}-as
load_balancer: {tier.app}-lb
compose:
  ansible_user: "'azureuser'"
keyed_groups:
  - key: webfarm_power_state
    prefix: power
groups:
  first_fault_domain: webfarm_fault_domain == 0
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {tier.workdir / "inventory-cache"}
""")
    mark = tier.lab.mark()
    data = inventory_cli.list(source)
    assert tier.lab.writes_since(mark) == []
    names = [f"{tier.app}-vm{n}" for n in (1, 2, 3)]

    def hosts(group):
        return sorted(data.get(group, {}).get("hosts", []))

    assert hosts("webfarm_vms") == names
    assert hosts("webfarm_linux") == names
    assert hosts("webfarm_windows") == []
    # creation order k = 0, 1, 2 with 3 update domains and 2 fault domains
    assert [hosts(f"update_domain_{u}") for u in (0, 1, 2)] == [[names[0]], [names[1]], [names[2]]]
    assert [hosts(f"fault_domain_{f}") for f in (0, 1)] == [[names[0], names[2]], [names[1]]]
    assert hosts("power_running") == names
    assert hosts("first_fault_domain") == [names[0], names[2]]

    pip = tier.arm(tier.id_of("Microsoft.Network/publicIPAddresses", f"{tier.app}-pip"))["properties"]["ipAddress"]
    hostvars = data["_meta"]["hostvars"]
    for k, name in enumerate(names):
        assert hostvars[name] == {
            "ansible_host": pip, "ansible_port": 50001 + k, "ansible_user": "azureuser",
            "webfarm_update_domain": k % 3, "webfarm_fault_domain": k % 2, "webfarm_power_state": "running",
            "webfarm_private_ip": f"10.0.0.{4 + k}", "webfarm_os_type": "Linux",
            "webfarm_vm_id": tier.id_of("Microsoft.Compute/virtualMachines", name),
            "webfarm_tags": {"webfarm_app": tier.app, "webfarm_vm_index": str(k + 1)},
        }

    # the second run is served from the cache: not one ARM request
    mark = tier.lab.mark()
    assert inventory_cli.list(source) == data
    assert [q for q in tier.lab.requests_since(mark) if "/subscriptions/" in q["path"]] == []


def test_missing_availability_set_names_the_option(tier, inventory_cli):
    source = tier.workdir / "missing.webfarm.yml"
    source.write_text(f"plugin: azure_ha.webfarm.availability_set\nresource_group: {tier.resource_group}\n"
                      "availability_set: nope-as\n")
    output = inventory_cli.error(source)
    assert f"availability_set: no availability set nope-as in resource group {tier.resource_group}" in output
