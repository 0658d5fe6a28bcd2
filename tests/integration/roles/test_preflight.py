"""Role azure_ha.webfarm.preflight run by ansible-playbook against the lab (control plane).

Bad inputs must fail naming the variable before any ARM call; existing state that Azure
cannot change (fault/update domain counts of a set, a VM outside the set) must be refused
with read-only calls. Cases run as hosts of one inventory (preflight_cases.yml), so one
ansible-playbook run covers a whole batch; each case's outcome is read from its report.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
CASES_PLAYBOOK = HERE / "preflight_cases.yml"
SETUP_PLAYBOOK = HERE / "preflight_existing_setup.yml"
LOCALHOST_INVENTORY = HERE / "inventory.yml"


def public_key() -> str:
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + b"\x07" * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode() + " it@preflight"


WEAK_PASSWORD = "weakpassw0rd"
PRIVATE_KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
PRIVATE_KEY = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----"
DROP = "__drop__"  # removes a base variable from a case

BASE = {
    "webfarm_app": "bad",
    "webfarm_env": "it",
    "webfarm_location": "westeurope",
    "webfarm_admin_source_prefixes": ["203.0.113.0/24"],
    "webfarm_ssh_public_key": public_key(),
}
WINDOWS = {
    "webfarm_os_type": "Windows",
    "webfarm_vm_image": {"publisher": "MicrosoftWindowsServer", "offer": "WindowsServer",
                         "sku": "2022-datacenter-azure-edition", "version": "latest"},
}
SCALE_SET = {"webfarm_variant": "scale_set", "webfarm_vm_count": 3}

# case -> (variables over BASE, variable the failure must name, fragment of the rule)
BAD_INPUTS = {
    "vm_count_1": ({"webfarm_vm_count": 1}, "webfarm_vm_count", "at least 2 VMs"),
    "fault_domains_4": ({"webfarm_fault_domains": 4}, "webfarm_fault_domains", "between 1 and 3"),
    "update_domains_21": ({"webfarm_update_domains": 21}, "webfarm_update_domains", "between 1 and 20"),
    "subnet_not_nested": ({"webfarm_subnet_cidr": "10.1.0.0/24"}, "webfarm_subnet_cidr",
                          "10.1.0.0/24 is not inside webfarm_vnet_cidr 10.0.0.0/16"),
    "bad_cidr": ({"webfarm_vnet_cidr": "10.0.0.300/16"}, "webfarm_vnet_cidr", "not a valid IPv4 network"),
    "public_vnet": ({"webfarm_vnet_cidr": "8.8.0.0/16", "webfarm_subnet_cidr": "8.8.0.0/24"},
                    "webfarm_vnet_cidr", "not a private range"),
    "probe_path": ({"webfarm_probe_path": "healthz"}, "webfarm_probe_path", 'must start with "/"'),
    "port_70000": ({"webfarm_http_port": 70000}, "webfarm_http_port", "between 1 and 65535"),
    "nat_overflow": ({"webfarm_nat_frontend_port_base": 65533}, "webfarm_nat_frontend_port_base",
                     "NAT range overflow"),
    "nat_overlaps_web": ({"webfarm_nat_frontend_port_base": 79}, "webfarm_nat_frontend_port_base",
                         "include webfarm_http_port 80"),
    "admin_internet": ({"webfarm_admin_source_prefixes": ["0.0.0.0/0"]}, "webfarm_admin_source_prefixes",
                       "webfarm_allow_admin_from_internet"),
    "app_name": ({"webfarm_app": "Bad_App"}, "webfarm_app", "not a valid application name"),
    "admin_username": ({"webfarm_admin_username": "admin"}, "webfarm_admin_username", "reserved"),
    "linux_without_key": ({"webfarm_ssh_public_key": DROP}, "webfarm_ssh_public_key", "required for Linux"),
    "private_key": ({"webfarm_ssh_public_key": PRIVATE_KEY}, "webfarm_ssh_public_key", "PRIVATE key"),
    "weak_windows_password": ({**WINDOWS, "webfarm_admin_password": WEAK_PASSWORD}, "webfarm_admin_password",
                              "at least 3 of"),
    "windows_name_too_long": ({**WINDOWS, "webfarm_app": "webfarm-portal", "webfarm_admin_password": "Xq7!mountain-Lamp"},
                              "webfarm_app", "Windows computer name is at most 15"),
    # the scale-set variant (issue 16): refused before any ARM write, naming the variable
    "vmss_rolling_without_health": ({**SCALE_SET, "webfarm_scale_set": {"health_source": "none"}},
                                    "webfarm_scale_set.upgrade_mode", "Rolling needs a health source"),
    "vmss_batch_percent": ({**SCALE_SET, "webfarm_scale_set": {"rolling": {"max_batch_instance_percent": 101}}},
                           "webfarm_scale_set.rolling.max_batch_instance_percent", "between 5 and 100"),
    "vmss_nat_pool_too_small": ({**SCALE_SET, "webfarm_nat_frontend_port_base": 65530,
                                 "webfarm_autoscale": {"enabled": True, "maximum": 10}},
                                "webfarm_nat_frontend_port_base", "NAT pool range too small"),
    "vmss_min_above_max": ({**SCALE_SET, "webfarm_autoscale": {"minimum": 7, "maximum": 6}},
                           "webfarm_autoscale.minimum", "is above webfarm_autoscale.maximum 6"),
    "vmss_unknown_key": ({**SCALE_SET, "webfarm_scale_set": {"rolling": {"max_batch_percent": 30}}},
                         "webfarm_scale_set.rolling.max_batch_percent", "is not a known key"),
    "vmss_windows": ({**SCALE_SET, **WINDOWS, "webfarm_admin_password": "Xq7!mountain-Lamp"}, "webfarm_os_type",
                     "configured by cloud-init"),
    # the role's argument spec answers first for a missing or mistyped variable
    "missing_location": ({"webfarm_location": DROP}, "webfarm_location", "missing required arguments"),
    "os_type_choice": ({"webfarm_os_type": "Solaris"}, "webfarm_os_type", "Linux, Windows"),
    "variant_choice": ({"webfarm_variant": "vmss"}, "webfarm_variant", "availability_set, scale_set"),
}


def case_vars(overrides: dict) -> dict:
    merged = {**BASE, **overrides}
    return {name: value for name, value in merged.items() if value != DROP}


@dataclass
class Batch:
    outcomes: dict  # case -> {"failure": text or None, "plan": webfarm_plan or None}
    output: str  # stdout + stderr of ansible-playbook
    requests: list  # the lab's request log during the run
    writes: list


def run_cases(lab, tmp_path: Path, cases: dict[str, dict]) -> Batch:
    """One ansible-playbook run, one host per case."""
    report_dir = tmp_path / "report"
    report_dir.mkdir()
    inventory = tmp_path / "cases.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"webfarm_cases": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "webfarm_test_report_dir": str(report_dir)},
        "hosts": cases,
    }}}}))
    mark = lab.mark()
    result = lab.playbook(CASES_PLAYBOOK, inventory=inventory)
    requests, writes = lab.requests_since(mark), lab.writes_since(mark)
    outcomes = {}
    for case in cases:
        report = report_dir / f"{case}.json"
        assert report.exists(), f"no report for {case}:\n{result.output[-3000:]}"
        outcome = json.loads(report.read_text())
        # the failure messages (one per item of a looped task) as one text
        outcomes[case] = {**outcome, "failure": "\n".join(outcome["failure"]) if outcome["failure"] else None}
    return Batch(outcomes, result.output, requests, writes)


@pytest.fixture(scope="module")
def bad_inputs(control_lab, tmp_path_factory):
    cases = {case: case_vars(spec[0]) for case, spec in BAD_INPUTS.items()}
    return run_cases(control_lab, tmp_path_factory.mktemp("bad"), cases)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_naming_the_variable_before_any_arm_call(bad_inputs, case):
    variable, rule = BAD_INPUTS[case][1:]
    failure = bad_inputs.outcomes[case]["failure"]
    assert failure is not None, f"{case} passed preflight"
    assert variable in failure and rule in failure, failure
    assert bad_inputs.outcomes[case]["plan"] is None
    assert bad_inputs.writes == []
    # validation fails before the read-only checks too: not a single ARM request
    assert bad_inputs.requests == []


def test_secrets_never_printed(bad_inputs):
    assert WEAK_PASSWORD not in bad_inputs.output
    assert PRIVATE_KEY_BODY not in bad_inputs.output


def test_all_errors_reported_at_once(control_lab, tmp_path):
    batch = run_cases(control_lab, tmp_path, {"many": case_vars({
        "webfarm_vm_count": 1, "webfarm_fault_domains": 4, "webfarm_probe_path": "x",
        "webfarm_subnet_cidr": "10.1.0.0/24"})})
    failure = batch.outcomes["many"]["failure"]
    assert "(4 problems)" in failure
    for variable in ("webfarm_vm_count:", "webfarm_fault_domains:", "webfarm_probe_path:", "webfarm_subnet_cidr:"):
        assert variable in failure
    assert batch.requests == []


# --- existing state -------------------------------------------------------------------------

EXISTING_RG = "preflight-it-rg"


@pytest.fixture(scope="module")
def existing_state(control_lab, tmp_path_factory):
    """Availability set fdapp-as (FD 2, UD 5), vmapp-vm1 outside any set, vmapp-vm2 in fdapp-as;
    then one preflight run with a case per situation."""
    setup = control_lab.playbook(SETUP_PLAYBOOK, inventory=LOCALHOST_INVENTORY, extra_vars={
        "webfarm_test_rg": EXISTING_RG, "webfarm_test_ssh_key": public_key()})
    assert setup.returncode == 0, setup.output[-3000:]
    on_rg = {"webfarm_resource_group": EXISTING_RG}
    cases = {
        "fd_changed": case_vars({**on_rg, "webfarm_app": "fdapp", "webfarm_fault_domains": 3}),
        "ud_changed": case_vars({**on_rg, "webfarm_app": "fdapp", "webfarm_update_domains": 10}),
        "set_matches": case_vars({**on_rg, "webfarm_app": "fdapp"}),
        "vm_outside_set": case_vars({**on_rg, "webfarm_app": "vmapp"}),
        "scale_in": case_vars({**on_rg, "webfarm_app": "scaleapp"}),
        "scale_in_named": case_vars({**on_rg, "webfarm_app": "scaleapp", "webfarm_scale_in_vms": ["scaleapp-vm1"]}),
        "scale_in_unknown": case_vars({**on_rg, "webfarm_app": "scaleapp", "webfarm_scale_in_vms": ["scaleapp-vm9"]}),
        "scale_in_below_min": case_vars({**on_rg, "webfarm_app": "scaleapp", "rolling_patch_min_in_service": 2}),
        "scale_out": case_vars({**on_rg, "webfarm_app": "scaleapp", "webfarm_vm_count": 4}),
        "first_run": case_vars({"webfarm_app": "fresh", "webfarm_env": "it"}),
        "vmss_fd_changed": case_vars({**on_rg, **SCALE_SET, "webfarm_app": "vmssapp",
                                      "webfarm_scale_set": {"fault_domains": 3}}),
        "vmss_fd_matches": case_vars({**on_rg, **SCALE_SET, "webfarm_app": "vmssapp"}),
        # as playbooks/replace_vm.yml runs the role
        **{name: case_vars({**on_rg, "webfarm_app": "scaleapp", "webfarm_vm_count": 3,
                            "__webfarm_preflight_replace": True, **extra}) for name, extra in {
            "replace_unknown": {"webfarm_replace_vm": "scaleapp-vm9"},
            "replace_unnamed": {},
            "replace_no_healthy_other": {"webfarm_replace_vm": "scaleapp-vm2"},
            "replace_with_scale_in": {"webfarm_replace_vm": "scaleapp-vm2", "webfarm_vm_count": 2},
            "replace_outsider": {"webfarm_app": "vmapp", "webfarm_vm_count": 2, "webfarm_replace_vm": "vmapp-vm1"},
        }.items()},
    }
    return run_cases(control_lab, tmp_path_factory.mktemp("existing"), cases)


def test_existing_state_checks_only_read(existing_state):
    assert existing_state.writes == []
    arm = [r for r in existing_state.requests if r["host"] == "management.azure.com"]
    assert arm and {r["method"] for r in arm} == {"GET"}


def test_changed_fault_domains_refused_with_azure_rule(existing_state):
    failure = existing_state.outcomes["fd_changed"]["failure"]
    assert failure.startswith("webfarm_fault_domains: availability set fdapp-as"), failure
    assert "already exists with 2 fault domains and 5 update domains" in failure
    assert "Azure fixes both counts when an availability set is created" in failure
    assert "set webfarm_fault_domains: 2 and webfarm_update_domains: 5" in failure
    assert "remove_on_absent=[]" in failure and "swap_os_disk" in failure


def test_changed_update_domains_refused(existing_state):
    failure = existing_state.outcomes["ud_changed"]["failure"]
    assert failure.startswith("webfarm_update_domains: availability set fdapp-as"), failure


def test_matching_set_passes(existing_state):
    outcome = existing_state.outcomes["set_matches"]
    assert outcome["failure"] is None
    assert outcome["plan"]["availability_set"] == "fdapp-as"
    assert outcome["plan"]["resource_group"] == EXISTING_RG


def test_vm_outside_the_set_refused_with_recreate_from_disk_path(existing_state):
    failure = existing_state.outcomes["vm_outside_set"]["failure"]
    vm1, vm2 = (line for line in failure.splitlines() if line.startswith("vmapp-vm"))
    assert "vmapp-vm1, a VM of this plan" in vm1 and "(it is in no availability set)" in vm1
    assert "(it is in availability set fdapp-as)" in vm2
    assert "a VM to an availability set only when the VM is created" in vm1
    # the way in: the replace playbook, on its own OS disk
    assert "ansible-playbook azure_ha.webfarm.replace_vm -e webfarm_replace_vm=vmapp-vm1 " in vm1


def names(outcome: dict) -> list[str]:
    return [vm["name"] for vm in outcome["plan"]["vms"]]


def test_scale_in_keeps_the_fault_domains_balanced(existing_state):
    """scaleapp-vm1..3 sit in FD 0, 1, 0: going to 2 VMs, vm3 (FD 0, highest number) leaves."""
    outcome = existing_state.outcomes["scale_in"]
    assert outcome["failure"] is None, outcome["failure"]
    assert names(outcome) == ["scaleapp-vm1", "scaleapp-vm2"] and outcome["leaving"] == ["scaleapp-vm3"]
    named = existing_state.outcomes["scale_in_named"]
    assert named["failure"] is None, named["failure"]
    assert names(named) == ["scaleapp-vm2", "scaleapp-vm3"] and named["leaving"] == ["scaleapp-vm1"]
    # the kept VMs keep their numbers, NAT rules and ports
    assert [(vm["nat_rule"], vm["nat_frontend_port"]) for vm in named["plan"]["vms"]] == [
        ("ssh-vm2", 50002), ("ssh-vm3", 50003)]


def test_scale_in_refusals_name_the_variable(existing_state):
    unknown = existing_state.outcomes["scale_in_unknown"]["failure"]
    assert unknown.startswith("webfarm_scale_in_vms: scaleapp-vm9 is not a VM of this tier (its VMs: scaleapp-vm1, "
                              "scaleapp-vm2, scaleapp-vm3)"), unknown
    below = existing_state.outcomes["scale_in_below_min"]["failure"]
    assert below.startswith("webfarm_vm_count: 2 would leave the tier with no VM to patch"), below
    assert "rolling_patch_min_in_service (2)" in below


def test_scale_out_adds_the_next_numbers(existing_state):
    outcome = existing_state.outcomes["scale_out"]
    assert outcome["failure"] is None and outcome["leaving"] == []
    assert names(outcome) == [f"scaleapp-vm{n}" for n in range(1, 5)]
    assert outcome["plan"]["vms"][3]["nat_frontend_port"] == 50004


def test_scale_set_with_changed_fault_domains_refused(existing_state):
    failure = existing_state.outcomes["vmss_fd_changed"]["failure"]
    assert failure.startswith("webfarm_scale_set.fault_domains: scale set vmssapp-vmss in resource group "
                              f"{EXISTING_RG} already exists with 2 fault domains; this run asks for 3."), failure
    assert "set webfarm_scale_set.fault_domains: 2" in failure


def test_scale_set_variant_plan_passes_on_its_existing_set(existing_state):
    outcome = existing_state.outcomes["vmss_fd_matches"]
    assert outcome["failure"] is None, outcome["failure"]
    plan = outcome["plan"]
    assert plan["variant"] == "scale_set" and plan["vms"] == [] and outcome["leaving"] == []
    assert plan["scale_set"]["name"] == "vmssapp-vmss"
    assert plan["scale_set"]["nat_pool"] == {"name": "vmssapp-lb-natpool-ssh", "frontend_port_start": 50000,
                                             "frontend_port_end": 50003, "backend_port": 22}


def test_first_run_without_resource_group_passes(existing_state):
    outcome = existing_state.outcomes["first_run"]
    assert outcome["failure"] is None
    plan = outcome["plan"]
    assert plan["resource_group"] == "fresh-it-rg"
    assert [vm["nat_rule"] for vm in plan["vms"]] == ["ssh-vm1", "ssh-vm2"]


def test_replace_refusals_name_the_variable_before_any_write(existing_state):
    """No LB health in the control-plane lab: no other VM is Up, so even a VM of the tier is
    refused; the other refusals come first and name their variable."""
    outcome = existing_state.outcomes
    assert outcome["replace_unknown"]["failure"].startswith(
        "webfarm_replace_vm: scaleapp-vm9 is not a VM of this tier (its VMs: scaleapp-vm1, scaleapp-vm2, "
        "scaleapp-vm3)"), outcome["replace_unknown"]["failure"]
    assert outcome["replace_unnamed"]["failure"].startswith(
        "webfarm_replace_vm: required by playbooks/replace_vm.yml"), outcome["replace_unnamed"]["failure"]
    assert outcome["replace_no_healthy_other"]["failure"].startswith(
        "webfarm_replace_vm: scaleapp-vm2 would leave no healthy VM serving"), outcome["replace_no_healthy_other"]
    assert outcome["replace_with_scale_in"]["failure"].startswith(
        "webfarm_vm_count: this run would also add or remove scaleapp-vm3; replace_vm.yml replaces one VM"), \
        outcome["replace_with_scale_in"]["failure"]
    for case in ("replace_unknown", "replace_unnamed", "replace_no_healthy_other", "replace_with_scale_in"):
        assert outcome[case]["replacing"] is None


def test_replacing_a_vm_outside_the_set_is_its_way_in(existing_state):
    """vmapp-vm1 is in no set, vmapp-vm2 in another one, vmapp-as does not exist: replacing
    vm1 is refused for none of that (deploy.yml refuses both, see above), only for the health
    the control-plane lab cannot give."""
    failure = existing_state.outcomes["replace_outsider"]["failure"]
    assert "a VM of this plan" not in failure, failure
    assert failure.startswith("webfarm_replace_vm: vmapp-vm1 would leave no healthy VM serving"), failure
