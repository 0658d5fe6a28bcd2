"""End to end: what the guest agent does in a real lab guest - the Linux Custom Script
extension runs in the VM's container, and the lab reports exactly what it did.

One VM (no load balancer) made with the Azure SDK; each check looks at the guest itself
with ``podman exec`` as well as at ARM's answer.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from azlab.dataplane.objects import container_name
from polling import wait_for

pytestmark = pytest.mark.dataplane

RG = "dp-guest-rg"
LOCATION = "eastus"
CSE = {"publisher": "Microsoft.Azure.Extensions", "type_properties_type": "CustomScript",
       "type_handler_version": "2.1", "location": LOCATION}
DOWNLOAD = "/var/lib/waagent/custom-script/download"


@pytest.fixture(scope="module")
def vm(clients, dataplane_server, tmp_path_factory):
    """A running Linux VM; returns (its ARM ID, its container's name)."""
    cm, net = clients
    keydir = tmp_path_factory.mktemp("guest-ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")], check=True)
    from azure.mgmt.resource import ResourceManagementClient  # noqa: PLC0415 - SDK only where tests run
    ResourceManagementClient(cm._config.credential, cm._config.subscription_id).resource_groups.create_or_update(
        RG, {"location": LOCATION})
    net.virtual_networks.begin_create_or_update(RG, "guest-vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.78.0.0/16"]},
        "subnets": [{"name": "default", "address_prefix": "10.78.1.0/24"}]}).result()
    subnet = net.subnets.get(RG, "guest-vnet", "default")
    nic = net.network_interfaces.begin_create_or_update(RG, "guest-vm-nic", {
        "location": LOCATION, "ip_configurations": [{"name": "ipconfig1", "subnet": {"id": subnet.id}}]}).result()
    models = cm.models()
    created = cm.virtual_machines.begin_create_or_update(RG, "guest-vm", models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=models.StorageProfile(image_reference=models.ImageReference(
            publisher="Debian", offer="debian-12", sku="12-gen2", version="latest")),
        os_profile=models.OSProfile(computer_name="guest-vm", admin_username="azureuser", linux_configuration=models.
                                    LinuxConfiguration(disable_password_authentication=True, ssh=models.SshConfiguration(
                                        public_keys=[models.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys",
                                                                         key_data=(keydir / "id.pub").read_text())]))),
        network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic.id)]))).result()
    return created.id, container_name(created.id)


def in_guest(container: str, command: str) -> str:
    return subprocess.run(["podman", "exec", container, "/bin/sh", "-c", command], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def set_extension(cm, **settings):
    """PUT the Custom Script; returns the poller's result or raises the operation's error."""
    models = cm.models()
    return cm.virtual_machine_extensions.begin_create_or_update(
        RG, "guest-vm", "setup", models.VirtualMachineExtension(**CSE, **settings)).result()


def status_of(cm) -> dict:
    ext = cm.virtual_machine_extensions.get(RG, "guest-vm", "setup", expand="instanceView")
    status = ext.instance_view.statuses[0]
    return {"state": ext.provisioning_state, "code": status.code, "message": status.message}


def test_a_custom_script_runs_in_the_guest_and_reports_its_output(clients, vm, dataplane_server):
    cm, _ = clients
    _, container = vm
    secret = "s3cret-token-in-protected-settings"
    done = set_extension(cm, settings={"timestamp": 1}, protected_settings={
        "commandToExecute": f"echo hello; id -un; echo {secret} > /root/token; date +%s%N >> /root/runs; echo warn >&2"})
    assert done.provisioning_state == "Succeeded"
    assert status_of(cm) == {"state": "Succeeded", "code": "ProvisioningState/succeeded",
                             "message": "Enable succeeded: \n[stdout]\nhello\nroot\n\n[stderr]\nwarn\n"}
    # it really ran, as root, in the handler's directory, which keeps its output and not the command
    assert in_guest(container, "cat /root/token").strip() == secret
    assert in_guest(container, f"cat {DOWNLOAD}/0/stdout") == "hello\nroot\n"
    assert in_guest(container, f"ls -A {DOWNLOAD}/0").split() == ["stderr", "stdout"]
    assert secret not in str(dataplane_server.lab.store.requests())
    view = cm.virtual_machines.instance_view(RG, "guest-vm")
    assert [h.status.display_status for h in view.vm_agent.extension_handlers] == ["Ready"]

    # the same configuration again does not run it again; a new timestamp does
    set_extension(cm, settings={"timestamp": 1})
    assert in_guest(container, "wc -l < /root/runs").strip() == "1"
    set_extension(cm, settings={"timestamp": 2})
    assert in_guest(container, "wc -l < /root/runs").strip() == "2"
    assert in_guest(container, f"cat {DOWNLOAD}/1/stdout") == "hello\nroot\n"


def test_a_failing_command_fails_the_extension_with_its_exit_status_and_output(clients, vm):
    from azure.core.exceptions import HttpResponseError

    cm, _ = clients
    with pytest.raises(HttpResponseError) as failed:
        set_extension(cm, settings={"commandToExecute": "echo out; echo err >&2; exit 3"}, protected_settings={})
    assert "VMExtensionProvisioningError" in str(failed.value)
    assert "command terminated with exit status=3" in str(failed.value)
    assert status_of(cm) == {
        "state": "Failed", "code": "ProvisioningState/failed/0",
        "message": "Enable failed: failed to execute command: command terminated with exit status=3\n"
                   "[stdout]\nout\n\n[stderr]\nerr\n"}


def test_a_base64_script_runs_as_script_sh(clients, vm):
    cm, _ = clients
    _, container = vm
    script = base64.b64encode(b"#!/bin/sh\r\necho \"from $0\"\r\n").decode()  # CRLF: dos2unix'd as the handler does
    set_extension(cm, settings={"script": script}, protected_settings={})
    message = status_of(cm)["message"]
    assert message.startswith("Enable succeeded: \n[stdout]\nfrom /var/lib/waagent/custom-script/download/")
    assert message.endswith("/script.sh\n\n[stderr]\n")
    assert "script.sh" in in_guest(container, f"ls {DOWNLOAD}/*/")


def test_a_file_the_vm_cannot_reach_fails_the_download(clients, vm):
    from azure.core.exceptions import HttpResponseError

    cm, _ = clients
    with pytest.raises(HttpResponseError, match=r"failed to download file\[0\]"):
        set_extension(cm, settings={"fileUris": ["https://nothing.invalid/setup.sh"], "commandToExecute": "sh setup.sh"},
                      protected_settings={})
    assert status_of(cm)["state"] == "Failed"


def test_run_command_runs_the_script_and_returns_its_output(clients, vm):
    cm, _ = clients
    _, container = vm
    models = cm.models()
    result = cm.virtual_machines.begin_run_command(RG, "guest-vm", models.RunCommandInput(
        command_id="RunShellScript", script=["echo \"$1 from $(id -un) with $who\"", "echo oops >&2", "exit 4"],
        parameters=[models.RunCommandInputParameter(name="who", value="a parameter")])).result()
    [status] = result.value
    # a non-zero exit is not a failure of the run command (Azure reports the exit status nowhere)
    assert (status.code, status.message) == (
        "ProvisioningState/succeeded", "Enable succeeded: \n[stdout]\na parameter from root with a parameter\n\n"
                                      "[stderr]\noops\n")
    assert "script.sh" in in_guest(container, "ls /var/lib/waagent/run-command/download/0/")


def test_a_managed_run_command_reports_its_exit_code_and_output(clients, vm):
    cm, _ = clients
    models = cm.models()
    cm.virtual_machine_run_commands.begin_create_or_update(RG, "guest-vm", "check", models.VirtualMachineRunCommand(
        location=LOCATION, source=models.VirtualMachineRunCommandScriptSource(script="echo \"$who\"; echo bad >&2; exit 5"),
        protected_parameters=[models.RunCommandInputParameter(name="who", value="protected")])).result()
    view = cm.virtual_machine_run_commands.get_by_virtual_machine(RG, "guest-vm", "check", expand="instanceView")
    assert view.provisioning_state == "Succeeded"  # the run happened; its failure is in the instance view
    iv = view.instance_view
    assert (iv.execution_state, iv.exit_code, iv.output, iv.error) == ("Failed", 5, "protected\n", "bad\n")


@pytest.fixture(scope="module")
def az(env, tmp_path_factory):
    from helpers import AZ, az_login, az_runner

    if AZ is None:
        pytest.skip("Azure CLI not installed (run scripts/setup.sh)")
    run = az_runner(env, tmp_path_factory.mktemp("azcfg"))
    az_login(run, env)
    return run


def test_the_azure_cli_sets_an_extension_and_invokes_a_run_command(az, vm):
    """The issue's own reproduction: az vm extension set ... CustomScript really runs."""
    _, container = vm
    az("vm", "extension", "set", "-g", RG, "--vm-name", "guest-vm", "-n", "CustomScript",
       "--publisher", "Microsoft.Azure.Extensions", "--settings",
       json.dumps({"commandToExecute": "echo installed > /root/by-cli"}), "--protected-settings", "{}",
       "-o", "none", timeout=300)
    assert in_guest(container, "cat /root/by-cli").strip() == "installed"
    answer = json.loads(az("vm", "run-command", "invoke", "-g", RG, "-n", "guest-vm", "--command-id", "RunShellScript",
                           "--scripts", "echo hi $1", "--parameters", "there", "-o", "json", timeout=300).stdout)
    assert answer["value"][0]["message"] == "Enable succeeded: \n[stdout]\nhi there\n\n[stderr]\n"


def test_a_vm_created_again_on_its_kept_os_disk_boots_what_the_disk_held(clients, vm):
    """The replace-a-VM path: delete the VM but keep its OS disk, create it again attached to
    that disk (no image, no osProfile): the guest has the files it had, not a fresh image."""
    cm, net = clients
    vm_id, container = vm
    in_guest(container, "echo kept-on-the-os-disk > /var/tmp/marker")
    old = cm.virtual_machines.get(RG, "guest-vm")
    cm.virtual_machines.begin_delete(RG, "guest-vm").result()
    assert wait_for(lambda: subprocess.run(["podman", "container", "exists", container]).returncode != 0, timeout=60)
    disk = cm.disks.get(RG, old.storage_profile.os_disk.name)
    models = cm.models()
    again = cm.virtual_machines.begin_create_or_update(RG, "guest-vm", models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=models.StorageProfile(os_disk=models.OSDisk(
            create_option="Attach", os_type="Linux", managed_disk=models.ManagedDiskParameters(id=disk.id))),
        network_profile=old.network_profile)).result()
    assert again.vm_id != old.vm_id and again.os_profile is None
    # ARM reported the VM created: its container runs, started from the disk's contents
    assert in_guest(container, "cat /var/tmp/marker") == "kept-on-the-os-disk\n"
    assert json.loads(subprocess.run(["podman", "container", "inspect", container], capture_output=True, text=True,
                                     check=True).stdout)[0]["Config"]["Labels"]["azlab.vmid"] == again.vm_id


def test_deleting_the_vm_while_nothing_runs_leaves_no_run_behind(clients, vm, dataplane_server):
    cm, _ = clients
    vm_id, container = vm
    cm.virtual_machines.begin_delete(RG, "guest-vm").result()
    assert wait_for(lambda: subprocess.run(["podman", "container", "exists", container]).returncode != 0, timeout=60)
    assert dataplane_server.lab.store.list("Microsoft.Compute/virtualMachines/extensions", prefix=vm_id) == []


def test_a_deleted_os_disk_takes_its_contents_with_it(clients, dataplane_server):
    """The VM above was deleted with its OS disk kept (its contents an image); deleting the disk
    removes that image."""
    cm, _ = clients
    disk = next(d for d in cm.disks.list_by_resource_group(RG) if d.os_type == "Linux")
    image = f"localhost/azlab-osdisk:{disk.unique_id.lower()}"
    assert wait_for(lambda: subprocess.run(["podman", "image", "exists", image]).returncode == 0, timeout=60)
    cm.disks.begin_delete(RG, disk.name).result()
    assert wait_for(lambda: subprocess.run(["podman", "image", "exists", image]).returncode != 0, timeout=60)
