"""site.yml end to end on a fresh data-plane lab (VMs are containers, the LB is HAProxy):
deploy + verify with inventories/dev (3 Linux VMs), a second run that changes nothing and
makes no ARM write; under load (8 clients, 50 req/s) a scale-out to 5 VMs and a scale-in
back to 3 with no failed request, the VMs spread over the domains and nothing of the
removed VMs left behind, then two VMs replaced (one on its kept OS disk, one fresh); a second tier with the SAME address plan beside it (each public IP and
NAT port reaches only its own VMs, a rolling patch of one leaves the other untouched, its
teardown leaves the other serving); then teardown (refused without the confirmation, done
with it).

The figures the issue asks for (first and no-op run wall time, ARM requests per VM) are
printed (pytest -s) and written to tests/output/site_figures.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from azlab.dataplane.objects import container_name

REPO_ROOT = Path(__file__).resolve().parents[3]
INVENTORY = "inventories/dev"
RESOURCE_GROUP = "app1-dev-rg"
VMS = ["app1-vm1", "app1-vm2", "app1-vm3"]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIGURES = REPO_ROOT / "tests" / "output" / "site_figures.json"
ARM_HOST = "management.azure.com"
# per-task durations in the output, for the figures
PROFILE = {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"}


def timed_playbook(lab, playbook: str, **kwargs):
    started = time.monotonic()
    result = lab.playbook(playbook, inventory=INVENTORY, **kwargs)
    return result, round(time.monotonic() - started, 1)


def slowest_tasks(result, count: int = 12) -> list[str]:
    """The first lines of profile_tasks' recap (slowest first): 'role : task ---- 12.34s'."""
    lines = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", result.stdout, flags=re.MULTILINE)
    return [f"{name.strip()}: {seconds}s" for name, seconds in lines[:count]]


def arm_requests(requests: list[dict]) -> list[dict]:
    return [r for r in requests if r["host"] == ARM_HOST]


def vm_resources(vm: str) -> tuple[str, ...]:
    """Path fragments of the resources that exist once per VM (VM, NIC, disks)."""
    return (f"/virtualmachines/{vm}", f"/networkinterfaces/{vm}-nic1", f"/disks/{vm}-")


def per_vm_counts(requests: list[dict]) -> dict[str, int]:
    counts = Counter()
    for request in arm_requests(requests):
        path = request["path"].lower()
        for vm in VMS:
            if any(fragment in path for fragment in vm_resources(vm)):
                counts[vm] += 1
    return {vm: counts[vm] for vm in VMS}


def assert_tier_shape(lab) -> None:
    """What the roles promise beyond "it serves": the probe threshold azure_rm_loadbalancer
    cannot set, the NSG on the subnet only, NICs without public IP, NAT rule per NIC."""
    probe = lab.resources("Microsoft.Network/loadBalancers")["app1-lb"]["properties"]["probes"][0]["properties"]
    assert (probe["probeThreshold"], probe["numberOfProbes"], probe["requestPath"]) == (2, 2, "/healthz"), probe
    subnet = lab.resources("Microsoft.Network/virtualNetworks")["app1-vnet"]["properties"]["subnets"][0]
    assert subnet["properties"]["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/app1-nsg")
    rules = lab.resources("Microsoft.Network/networkSecurityGroups")["app1-nsg"]["properties"]["securityRules"]
    assert sorted(r["name"] for r in rules) == ["allow-http", "allow-lb-probe", "allow-ssh"], rules
    for index, vm in enumerate(VMS, start=1):
        nic = lab.resources("Microsoft.Network/networkInterfaces")[f"{vm}-nic1"]["properties"]
        assert "networkSecurityGroup" not in nic or not nic["networkSecurityGroup"], nic
        config = nic["ipConfigurations"][0]["properties"]
        assert not config.get("publicIPAddress"), config
        nat = [rule["id"].rsplit("/", 1)[-1] for rule in config["loadBalancerInboundNatRules"]]
        assert nat == [f"ssh-vm{index}"], nat


def assert_recap_clean(result, hosts: list[str]) -> dict:
    recap = result.recap()
    assert set(hosts) <= set(recap), f"hosts missing from the recap: {recap}"
    for host in hosts:
        assert recap[host]["failed"] == 0 and recap[host]["unreachable"] == 0, (host, recap[host])
    return recap


@pytest.mark.dataplane
@pytest.mark.xdist_group("tiers")
def test_site_deploys_verifies_is_idempotent_and_tears_down(dataplane_lab, tmp_path):
    figures: dict = {"vm_count": len(VMS)}
    try:
        run_scenario(dataplane_lab, figures, tmp_path)
    finally:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
        print("\nsite.yml figures:", json.dumps(figures, indent=2))


def run_scenario(lab, figures: dict, tmp_path: Path) -> None:

    # first run on a fresh lab: deploy + verify
    mark = lab.mark()
    first, figures["first_run_wall_s"] = timed_playbook(lab, "site.yml", env=PROFILE)
    assert first.returncode == 0, first.output[-6000:]
    assert_recap_clean(first, ["localhost", *VMS])
    assert "azure_ha.webfarm.verify" in first.stdout, "the verify play did not run"
    requests = lab.requests_since(mark)
    arm = arm_requests(requests)
    figures["first_run_arm_requests"] = len(arm)
    figures["first_run_arm_writes"] = sum(1 for r in arm if r["write"])
    figures["first_run_arm_requests_per_vm_total"] = round(len(arm) / len(VMS), 1)
    figures["first_run_arm_requests_on_each_vm_resources"] = per_vm_counts(requests)
    figures["first_run_arm_requests_by_method"] = dict(Counter(r["method"] for r in arm))
    figures["first_run_slowest_tasks"] = slowest_tasks(first)
    assert_tier_shape(lab)

    # independent of verify: the LB spreads requests over all three VMs, each naming
    # its own update/fault domain (3 VMs over 5 UDs and 2 FDs: UD 0,1,2 and FD 0,1,0)
    pages = lab.pages_through_lb(lab.public_ip(), 30)
    seen = {page["hostname"]: (str(page["update_domain"]), str(page["fault_domain"])) for page in pages}
    assert sorted(seen) == VMS, seen
    assert sorted(seen.values()) == [("0", "0"), ("1", "1"), ("2", "0")], seen

    # second run: nothing changes, not even one ARM write is attempted
    mark = lab.mark()
    second, figures["noop_run_wall_s"] = timed_playbook(lab, "site.yml", env=PROFILE)
    assert second.returncode == 0, second.output[-6000:]
    recap = assert_recap_clean(second, ["localhost", *VMS])
    figures["noop_run_changed"] = {host: counters["changed"] for host, counters in recap.items()}
    writes = lab.writes_since(mark)
    figures["noop_run_arm_writes"] = len(writes)
    figures["noop_run_arm_requests"] = len(arm_requests(lab.requests_since(mark)))
    figures["noop_run_slowest_tasks"] = slowest_tasks(second)
    assert all(changed == 0 for changed in figures["noop_run_changed"].values()), recap
    assert writes == [], [(w["method"], w["path"]) for w in writes]

    scale_out_and_in_under_load(lab, figures, tmp_path)
    second_tier_beside_the_first(lab, figures, tmp_path)

    # teardown without the confirmation: refused, naming the variable and the group, no write
    mark = lab.mark()
    refused, _elapsed = timed_playbook(lab, "playbooks/teardown.yml")
    assert refused.returncode != 0
    assert f"webfarm_teardown_confirm={RESOURCE_GROUP}" in refused.output, refused.output[-3000:]
    assert lab.writes_since(mark) == []

    # with it: the group and everything in it are gone; a second teardown finds nothing to do
    deleted, figures["teardown_wall_s"] = timed_playbook(
        lab, "playbooks/teardown.yml", extra_vars={"webfarm_teardown_confirm": RESOURCE_GROUP})
    assert deleted.returncode == 0, deleted.output[-3000:]
    assert deleted.recap()["localhost"]["changed"] == 1
    assert RESOURCE_GROUP.lower() not in [g["name"].lower() for g in lab.server.lab.resource_groups()]
    again, _elapsed = timed_playbook(lab, "playbooks/teardown.yml", extra_vars={"webfarm_teardown_confirm": RESOURCE_GROUP})
    assert again.returncode == 0 and again.recap()["localhost"]["changed"] == 0, again.output[-3000:]


def domains_through_lb(lab, address: str, count: int = 40) -> dict[str, tuple[str, str]]:
    """{hostname: (update domain, fault domain)} as each VM's page names them."""
    return {page["hostname"]: (str(page["update_domain"]), str(page["fault_domain"]))
            for page in lab.pages_through_lb(address, count)}


def scale_out_and_in_under_load(lab, figures: dict, tmp_path: Path) -> None:
    """3 -> 5 -> 3 VMs while 8 clients send 50 req/s through the LB: no request fails."""
    address = lab.public_ip()
    five = [*VMS, "app1-vm4", "app1-vm5"]
    with lab.load(address, tmp_path / "load-scale-out.jsonl") as load:
        out, figures["scale_out_3_to_5_wall_s"] = timed_playbook(lab, "site.yml", extra_vars={"webfarm_vm_count": 5})
    assert out.returncode == 0, out.output[-6000:]
    recap = assert_recap_clean(out, ["localhost", *five])
    assert all(recap[vm]["changed"] == 0 for vm in VMS), f"a scale-out touched the existing VMs: {recap}"
    figures["scale_out_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
    assert load.summary["failed"] == 0, load.summary
    # Azure's placement in creation order: UD 0-4, FD 0, 1, 0, 1, 0
    assert domains_through_lb(lab, address) == {vm: (str(n), str(n % 2)) for n, vm in enumerate(five)}
    assert sorted(nat_ports(lab, "app1").items()) == [(vm, 50000 + n) for n, vm in enumerate(five, start=1)]

    # --check lists the VMs that would leave and writes nothing
    mark = lab.mark()
    check = lab.playbook("site.yml", inventory=INVENTORY, extra_vars={"webfarm_vm_count": 3}, check=True)
    assert "Scale-in: app1-vm4, app1-vm5 leave (check mode" in " ".join(check.stdout.split()), check.output[-4000:]
    assert lab.writes_since(mark) == []

    # the rule: from the fault domain holding most VMs (FD 0: vm1, vm3, vm5), the highest
    # number (vm5); then all domains hold 2, and vm4 is the highest
    with lab.load(address, tmp_path / "load-scale-in.jsonl") as load:
        back, figures["scale_in_5_to_3_wall_s"] = timed_playbook(lab, "site.yml", extra_vars={"webfarm_vm_count": 3})
    assert back.returncode == 0, back.output[-6000:]
    assert "Scale-in: app1-vm4, app1-vm5 leave, each drained first" in " ".join(back.stdout.split()), \
        back.output[-4000:]
    figures["scale_in_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
    assert load.summary["failed"] == 0, load.summary
    # balanced as before: FD 0, 1, 0 over UD 0, 1, 2
    assert domains_through_lb(lab, address) == {"app1-vm1": ("0", "0"), "app1-vm2": ("1", "1"), "app1-vm3": ("2", "0")}
    for rtype in ("Microsoft.Compute/virtualMachines", "Microsoft.Network/networkInterfaces", "Microsoft.Compute/disks"):
        left = [name for name in lab.resources(rtype) if name.startswith(("app1-vm4", "app1-vm5"))]
        assert left == [], f"{rtype} of the removed VMs left behind: {left}"
    assert sorted(nat_ports(lab, "app1")) == VMS, "the removed VMs' NAT rules are gone"
    # pool membership is declared on the NICs (gone); no admin state of theirs stays in the pool
    pool = lab.resources("Microsoft.Network/loadBalancers")["app1-lb"]["properties"]["backendAddressPools"][0]
    addresses = [a["name"] for a in pool["properties"].get("loadBalancerBackendAddresses") or []]
    assert not [name for name in addresses if "vm4" in name or "vm5" in name], addresses

    replace_under_load(lab, figures, tmp_path)

    # and a second run changes nothing (also on a VM made on its kept OS disk: no osProfile)
    mark = lab.mark()
    again, _elapsed = timed_playbook(lab, "site.yml")
    assert again.returncode == 0, again.output[-6000:]
    recap = assert_recap_clean(again, ["localhost", *VMS])
    assert all(counters["changed"] == 0 for counters in recap.values()), recap
    assert lab.writes_since(mark) == []


def in_guest(lab, vm: str, command: str) -> subprocess.CompletedProcess:
    """A shell command in the VM's container (its OS disk), as root."""
    vm_id = lab.resources("Microsoft.Compute/virtualMachines")[vm]["id"]
    return subprocess.run(["podman", "exec", container_name(vm_id), "sh", "-c", command],
                          capture_output=True, text=True, timeout=60, check=False)


def replace_under_load(lab, figures: dict, tmp_path: Path) -> None:
    """replace_vm.yml under load: app1-vm2 on its own OS disk, then app1-vm3 fresh from the
    image; no request fails, each comes back in its domains, nothing of the old VM stays."""
    address = lab.public_ip()
    domains = domains_through_lb(lab, address)
    vms = lab.resources("Microsoft.Compute/virtualMachines")
    before = {vm: (vms[vm]["properties"]["vmId"], vms[vm]["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"])
              for vm in ("app1-vm2", "app1-vm3")}
    for vm in before:
        assert in_guest(lab, vm, "echo before-replace > /var/tmp/webfarm-marker").returncode == 0

    # refused before any write: a VM that is not in the tier
    mark = lab.mark()
    refused = lab.playbook("playbooks/replace_vm.yml", inventory=INVENTORY, extra_vars={"webfarm_replace_vm": "app1-vm9"})
    assert refused.returncode != 0
    assert "webfarm_replace_vm: app1-vm9 is not a VM of this tier (its VMs: app1-vm1, app1-vm2, app1-vm3)" in \
        refused.output, refused.output[-3000:]
    assert lab.writes_since(mark) == []

    for vm, keep in (("app1-vm2", True), ("app1-vm3", False)):
        label = "keep_disk" if keep else "fresh"
        with lab.load(address, tmp_path / f"load-replace-{label}.jsonl") as load:
            done, figures[f"replace_{label}_wall_s"] = timed_playbook(
                lab, "playbooks/replace_vm.yml", env=PROFILE,
                extra_vars={"webfarm_replace_vm": vm, "webfarm_replace_keep_os_disk": keep})
        assert done.returncode == 0, done.output[-6000:]
        assert_recap_clean(done, ["localhost", vm])
        figures[f"replace_{label}_load"] = {key: load.summary[key] for key in ("total", "failed", "rps_achieved")}
        figures[f"replace_{label}_slowest_tasks"] = slowest_tasks(done)
        assert load.summary["failed"] == 0, load.summary
        body = lab.resources("Microsoft.Compute/virtualMachines")[vm]["properties"]
        assert body["vmId"] != before[vm][0], "the VM was not created again"
        assert body["availabilitySet"]["id"].lower().endswith("/availabilitysets/app1-as")
        os_disk = body["storageProfile"]["osDisk"]
        marker = in_guest(lab, vm, "cat /var/tmp/webfarm-marker")
        if keep:
            assert (os_disk["createOption"], os_disk["managedDisk"]["id"]) == ("Attach", before[vm][1]), os_disk
            assert "osProfile" not in body
            assert marker.stdout == "before-replace\n", marker
        else:
            assert os_disk["createOption"] == "FromImage" and "osProfile" in body, os_disk
            assert marker.returncode != 0, "a fresh VM has the old disk's files"
        # in rotation again (the drain flag of the kept disk is gone) and in its domains
        assert domains_through_lb(lab, address) == domains
    # nothing of the old VMs stays: one NIC, one OS disk per VM, no other
    assert sorted(lab.resources("Microsoft.Network/networkInterfaces")) == [f"{vm}-nic1" for vm in VMS]
    assert sorted(lab.resources("Microsoft.Compute/disks")) == [f"{vm}-osdisk" for vm in VMS]
    assert sorted(nat_ports(lab, "app1")) == VMS


def hostname_over_nat(lab, address: str, port: int) -> str:
    """The hostname of the VM behind one NAT port (ssh as the dev inventory does)."""
    key = Path(os.path.expanduser("~/.ssh/webfarm_dev_ed25519"))
    done = subprocess.run(["ssh", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                           f"azureuser@{address}", "hostname"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip()


def ssh_banner(address: str, port: int) -> bool:
    """An SSH banner within 3 s (a flow an NSG drops gets no answer at all)."""
    try:
        with socket.create_connection((address, port), timeout=3) as conn:
            return conn.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def wait_until(condition, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def nat_ports(lab, app: str) -> dict[str, int]:
    rules = lab.resources("Microsoft.Network/loadBalancers")[f"{app}-lb"]["properties"]["inboundNatRules"]
    return {rule["name"].replace("ssh-", f"{app}-"): rule["properties"]["frontendPort"] for rule in rules}


def second_tier_beside_the_first(lab, figures: dict, tmp_path: Path) -> None:
    """app2 with app1's address plan (10.0.0.0/16, the same private IPs): isolated as on Azure."""
    app2 = {"webfarm_app": "app2", "webfarm_vm_count": 2}
    deployed, figures["second_tier_wall_s"] = timed_playbook(lab, "site.yml", extra_vars=app2)
    assert deployed.returncode == 0, deployed.output[-6000:]
    plans = {vnet["name"]: vnet["properties"]["addressSpace"]["addressPrefixes"]
             for vnet in lab.resources("Microsoft.Network/virtualNetworks").values()}
    assert plans["app1-vnet"] == plans["app2-vnet"], plans
    app1_ip, app2_ip = lab.public_ip("app1-pip"), lab.public_ip("app2-pip")
    assert {page["hostname"] for page in lab.pages_through_lb(app1_ip, 20)} == set(VMS)
    assert {page["hostname"] for page in lab.pages_through_lb(app2_ip, 20)} == {"app2-vm1", "app2-vm2"}
    for app, address in (("app1", app1_ip), ("app2", app2_ip)):
        for vm, port in nat_ports(lab, app).items():
            assert hostname_over_nat(lab, address, port) == vm, f"{address}:{port} is not {vm}'s NAT port"

    app1_versions = {page["app_version"] for page in lab.pages_through_lb(app1_ip, 10)}
    assert "app2-next" not in app1_versions
    # a rolling patch of app2 under load on app1: app1 never drained, every request answered by app1
    started = time.time()
    with lab.load(app1_ip, tmp_path / "load-app1.jsonl") as load:
        patched, figures["second_tier_patch_wall_s"] = timed_playbook(
            lab, "playbooks/rolling_patch.yml",
            extra_vars={**app2, "rolling_patch_os_packages": False, "rolling_patch_reboot": "never",
                        "rolling_patch_tasks_file": str(FIXTURES / "app_version.yml"),
                        "rolling_patch_expected_version": "app2-next", "rolling_patch_report_dir": str(tmp_path)})
    assert patched.returncode == 0, patched.output[-6000:]
    figures["app1_load_during_app2_patch"] = {k: load.summary[k] for k in ("total", "failed", "captures")}
    assert load.summary["failed"] == 0 and set(load.summary["captures"]) == set(VMS), load.summary
    app1_events = [e for e in lab.server.lab.store.health_events(since=started) if e["rule"] == "app1-lb-rule-http"]
    assert app1_events == [], f"app1's backends changed state during app2's patch: {app1_events}"
    app2_drains = [e for e in lab.server.lab.store.health_events(since=started)
                   if e["rule"] == "app2-lb-rule-http" and e["state"].lower() == "down"]
    assert len({event["backend"] for event in app2_drains}) == 2, app2_drains
    vms = lab.resources("Microsoft.Compute/virtualMachines")
    assert all("webfarm_patch_run" not in (vms[vm].get("tags") or {}) for vm in VMS)
    assert all((vms[vm].get("tags") or {}).get("webfarm_patch_state") == "done" for vm in ("app2-vm1", "app2-vm2"))
    assert {page["app_version"] for page in lab.pages_through_lb(app2_ip, 10)} == {"app2-next"}
    assert {page["app_version"] for page in lab.pages_through_lb(app1_ip, 10)} == app1_versions

    # SSH through app2's NAT ports only from webfarm_admin_source_prefixes, judged by the client's own address
    app2_vm1_port = nat_ports(lab, "app2")["app2-vm1"]
    closed = lab.playbook(FIXTURES / "network_only.yml", inventory=INVENTORY,
                          extra_vars={**app2, "webfarm_admin_source_prefixes": ["192.0.2.0/24"]})
    assert closed.returncode == 0, closed.output[-3000:]
    assert wait_until(lambda: not ssh_banner(app2_ip, app2_vm1_port), timeout=30), "SSH still open to app2"
    assert ssh_banner(app1_ip, nat_ports(lab, "app1")["app1-vm1"]), "app1's NSG changed with app2's"
    reopened = lab.playbook(FIXTURES / "network_only.yml", inventory=INVENTORY, extra_vars=app2)
    assert reopened.returncode == 0, reopened.output[-3000:]
    assert wait_until(lambda: ssh_banner(app2_ip, app2_vm1_port), timeout=30), "SSH not reopened to app2"

    # app2's teardown leaves app1 serving
    removed, _elapsed = timed_playbook(lab, "playbooks/teardown.yml",
                                       extra_vars={**app2, "webfarm_teardown_confirm": "app2-dev-rg"})
    assert removed.returncode == 0, removed.output[-3000:]
    assert {page["hostname"] for page in lab.pages_through_lb(app1_ip, 20)} == set(VMS)
