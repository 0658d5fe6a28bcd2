"""What Azure cannot change on an existing tier (tier_preflight's decisions, pure)."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils import tier_existing

RG = "/subscriptions/s/resourceGroups/app1-dev-rg/providers"
PLAN = {"resource_group": "app1-dev-rg", "availability_set": "app1-as", "load_balancer": "app1-lb",
        "vms": [{"name": "app1-vm1"}, {"name": "app1-vm2"}]}


def resource(name, rtype="Microsoft.Compute/virtualMachines"):
    return {"name": name, "type": rtype}


def avset(name="app1-as", fd=2, ud=5, members=()):
    return {"name": name, "properties": {
        "platformFaultDomainCount": fd, "platformUpdateDomainCount": ud,
        "virtualMachines": [{"id": f"{RG.upper()}/MICROSOFT.COMPUTE/VIRTUALMACHINES/{m.upper()}"} for m in members]}}


def vm_body(name, data_disks=()):
    return {"name": name, "properties": {
        "hardwareProfile": {"vmSize": "Standard_B1s"},
        "storageProfile": {"osDisk": {"osType": "Linux", "name": f"{name}-osdisk"},
                           "dataDisks": [{"lun": 0, "managedDisk": {"id": f"{RG}/Microsoft.Compute/disks/{d}"}}
                                         for d in data_disks]},
        "networkProfile": {"networkInterfaces": [{"id": f"{RG}/Microsoft.Network/networkInterfaces/{name}-nic1"}]}}}


def problems(sets=(), outside=(), vm_count=2, fd=2, ud=5):
    return tier_existing.problems(PLAN, "app1", vm_count, fd, ud, list(sets), list(outside))


def test_a_first_run_and_a_matching_tier_pass():
    assert problems() == []
    assert problems([avset(members=("app1-vm1", "app1-vm2"))]) == []


def test_other_domain_counts_name_each_variable_and_the_way_out():
    found = problems([avset(fd=2, ud=5)], fd=3, ud=10)
    assert found[0].startswith("webfarm_fault_domains, webfarm_update_domains: availability set app1-as")
    assert "already exists with 2 fault domains and 5 update domains" in found[0]
    assert "set webfarm_fault_domains: 2 and webfarm_update_domains: 5" in found[0]
    only_ud = problems([avset()], ud=10)
    assert only_ud[0].startswith("webfarm_update_domains: availability set app1-as")


def test_a_vm_outside_the_set_is_pointed_at_the_replace_playbook():
    held = [resource("app1-vm1"), resource("app1-vm2"), resource("app1-as", "Microsoft.Compute/availabilitySets"),
            resource("old-as", "Microsoft.Compute/availabilitySets")]
    sets = [avset(members=("app1-vm2",)), avset("old-as", members=("app1-vm1",))]
    assert tier_existing.outsiders(held, PLAN, sets[0]) == ["app1-vm1"]
    found = problems(sets, [vm_body("app1-vm1", data_disks=("app1-vm1-data",))])
    assert len(found) == 1
    text = found[0]
    assert text.startswith("app1-vm1, a VM of this plan (webfarm_app app1, webfarm_vm_count 2)")
    assert "(it is in availability set old-as)" in text
    assert "an existing VM cannot join one" in text
    assert "ansible-playbook azure_ha.webfarm.replace_vm -e webfarm_replace_vm=app1-vm1 " in text
    assert "webfarm_replace_keep_os_disk=false" in text


def test_every_vm_outside_the_set_is_reported():
    found = problems([], [vm_body("app1-vm1"), vm_body("app1-vm2")])
    assert [f.split(" ", 1)[0] for f in found] == ["app1-vm1,", "app1-vm2,"]
    assert "(it is in no availability set)" in found[0]
    assert all("\n" not in f for f in found), "one line per problem"
