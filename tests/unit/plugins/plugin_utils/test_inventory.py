"""What the inventory plugins share: host variables, groups, file names, populating the inventory."""

from __future__ import annotations

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.azure_ha.webfarm.plugins.plugin_utils.inventory import (
    MEMBER_VARS, WebfarmInventory, host_groups, host_vars,
)

MEMBER = {"name": "app1-vm2", "id": "vm-id", "os_type": "Linux", "update_domain": 1, "fault_domain": 0,
          "power_state": "running", "private_ip": "10.0.0.5", "nat_port": 50002, "tags": {"a": "b"},
          "instance_id": "2"}


def test_host_vars_reach_the_member_through_the_lb():
    assert host_vars(MEMBER, "20.1.2.3") == {
        "ansible_host": "20.1.2.3", "ansible_port": 50002, "webfarm_update_domain": 1, "webfarm_fault_domain": 0,
        "webfarm_power_state": "running", "webfarm_private_ip": "10.0.0.5", "webfarm_os_type": "Linux",
        "webfarm_vm_id": "vm-id", "webfarm_tags": {"a": "b"}}


@pytest.mark.parametrize("member, public_ip", [(MEMBER, None), (dict(MEMBER, nat_port=None), "20.1.2.3")])
def test_without_public_ip_or_nat_port_the_private_ip_and_default_port_are_used(member, public_ip):
    out = host_vars(member, public_ip)
    assert out["ansible_host"] == "10.0.0.5" and "ansible_port" not in out


def test_more_host_vars_from_the_member():
    out = host_vars(MEMBER, "20.1.2.3", MEMBER_VARS + (("webfarm_instance_id", "instance_id"),))
    assert out["webfarm_instance_id"] == "2" and out["webfarm_update_domain"] == 1


def test_groups():
    assert host_groups(MEMBER) == ["webfarm_vms", "webfarm_linux", "update_domain_1", "fault_domain_0"]
    assert host_groups(dict(MEMBER, os_type="Windows", update_domain=None, fault_domain=None)) == [
        "webfarm_vms", "webfarm_windows"]
    assert host_groups(dict(MEMBER, os_type=None))[1] == "webfarm_unknown"


def test_verify_file_wants_a_webfarm_yml_name(tmp_path):
    plugin = WebfarmInventory()
    good, also, other = tmp_path / "app1.webfarm.yml", tmp_path / "webfarm.yaml", tmp_path / "app1.azure_rm.yml"
    for path in (good, also, other):
        path.write_text("plugin: azure_ha.webfarm.availability_set\n")
    assert plugin.verify_file(str(good)) and plugin.verify_file(str(also))
    assert not plugin.verify_file(str(other))
    assert not plugin.verify_file(str(tmp_path / "missing.webfarm.yml"))


def test_populate_adds_hosts_groups_variables_and_constructed_ones():
    plugin = WebfarmInventory()
    plugin.inventory = InventoryData()
    plugin.templar = Templar(loader=DataLoader())
    # as _read_config_data loads them from the configuration file: templates it trusts
    options = {"strict": True, "compose": {"ansible_user": trust_as_template("'azureuser'")},
               "groups": {"first_fault_domain": trust_as_template("webfarm_fault_domain == 0")},
               "keyed_groups": [{"key": trust_as_template("webfarm_power_state"), "prefix": "power"}]}
    plugin.get_option = options.get
    plugin._populate({"public_ip": "20.1.2.3", "members": [MEMBER, dict(MEMBER, name="app1-vm3", fault_domain=1)]})
    groups = plugin.inventory.groups
    assert sorted(groups["webfarm_vms"].get_hosts(), key=str) == [plugin.inventory.hosts[n] for n in ("app1-vm2", "app1-vm3")]
    assert [h.name for h in groups["first_fault_domain"].get_hosts()] == ["app1-vm2"]
    assert len(groups["power_running"].get_hosts()) == 2
    host = plugin.inventory.hosts["app1-vm3"]
    assert host.vars["ansible_port"] == 50002 and host.vars["ansible_user"] == "azureuser"
    assert host.vars["webfarm_fault_domain"] == 1
