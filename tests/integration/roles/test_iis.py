"""azure_ha.webfarm.iis against the control-plane lab: a Windows VM (no guest on the lab)
gets the Custom Script Extension whose command line carries the IIS script.

What can be checked here is the ARM side only: check mode writes nothing, the extension
carries the script it must, and - since no Windows guest runs on the lab - the lab says
the extension failed because nothing ran it (never "Succeeded"), the role stops there, and
a second run writes nothing. Whether the script works on Windows is not tested (no
Windows guest and no PowerShell on these machines).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from azlab.models.compute.common import NO_WINDOWS_GUEST

FIXTURES = Path(__file__).with_name("fixtures")
RG = "iis-test-rg"
EXTRA = {"webfarm_resource_group": RG, "webfarm_app_version": "4.5.6", "webfarm_probe_port": 8081}


@pytest.fixture(scope="module")
def windows_vm(control_lab):
    result = control_lab.playbook(FIXTURES / "iis_windows_vm.yml",
                                  extra_vars={**EXTRA, "iis_test_password": "Lab-Passw0rd-2024!"})
    assert result.returncode == 0, result.output
    return control_lab


def _extension(lab) -> dict:
    az = str(Path(sys.executable).with_name("ansible"))
    done = subprocess.run(
        [az, "localhost", "-m", "azure.azcollection.azure_rm_virtualmachineextension_info",
         "-a", json.dumps({"resource_group": RG, "virtual_machine_name": "iis-vm1", "name": "IIS"}),
         "-o"], env={**lab.env, "ANSIBLE_NOCOLOR": "1"}, cwd=Path(__file__).resolve().parents[3],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.split("=>", 1)[1])["extensions"]


def test_check_mode_writes_nothing_and_says_so(windows_vm):
    mark = windows_vm.mark()
    result = windows_vm.playbook(FIXTURES / "iis.yml", extra_vars=EXTRA, check=True)
    assert result.returncode == 0, result.output
    assert "azure_rm_virtualmachineextension has no check mode" in result.stdout
    assert windows_vm.writes_since(mark) == []


def test_extension_carries_the_script_and_fails_as_no_guest_ran_it(windows_vm):
    result = windows_vm.playbook(FIXTURES / "iis.yml", extra_vars=EXTRA)
    assert result.returncode != 0, result.output
    assert "VMExtensionProvisioningError" in result.output and NO_WINDOWS_GUEST in result.output

    [ext] = _extension(windows_vm)
    assert ext["provisioning_state"] == "Failed"
    assert ext["publisher"] == "Microsoft.Compute"
    assert ext["type"] == "CustomScriptExtension"
    command = ext["settings"]["commandToExecute"]
    assert len(command) <= 8191
    payload = re.search(r"FromBase64String\('([A-Za-z0-9+/=]+)'\)", command).group(1)
    script = base64.b64decode(payload).decode("utf-8")
    assert "Install-WindowsFeature -Name Web-Server,Web-ASP" in script
    assert "$drain = 'C:\\webfarm\\drain'" in script
    assert "$probe = 'healthz'" in script
    assert "$ud = '2'; $fd = '1'; $ver = '4.5.6'" in script
    assert "$ports = @(80, 8081)" in script
    assert "New-NetFirewallRule" in script

    # the same settings again: nothing is written, and the role still says it failed
    mark = windows_vm.mark()
    again = windows_vm.playbook(FIXTURES / "iis.yml", extra_vars=EXTRA)
    assert again.returncode != 0, again.output
    assert "provisioningState Failed" in again.output
    assert windows_vm.writes_since(mark) == []
