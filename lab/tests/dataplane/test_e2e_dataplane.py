"""End to end: the real azure.azcollection modules and the Azure SDK build a tier on the
lab, and the data plane makes it real — podman containers for the VMs, HAProxy for the LB.

Everything is real: cloud-init runs the VM's customData (a small HTTP server answering its
hostname on / and 200 on /healthz unless /tmp/drain exists), SSH goes through the LB's NAT
port, HTTP through the LB rule, probes are HAProxy's. Traffic only goes to 127.64.x.y (the
public IP) and to the lab's own containers. Every loop is bounded. Tests run in file order
and share one tier; run with -s to see the figures.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from azlab.client import AdminClient
from azlab.dataplane import podman, vnet
from azlab.dataplane.objects import ROLE_LABEL, container_name, instance_id, instance_label, lab_objects
from helpers import run_playbook
from polling import wait_for

pytestmark = pytest.mark.dataplane

compute = pytest.importorskip("azure.mgmt.compute")
network = pytest.importorskip("azure.mgmt.network")

HERE = Path(__file__).parent
RG = "dp-e2e-rg"
PREFIX = "10.77"
LOCATION = "eastus"
INTERVAL, THRESHOLD = 5, 2
RULE = "web-lb-rule-http"
FIGURES: dict[str, str] = {}

WEB_SERVER = '''\
import http.server, os, socket
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            code = 503 if os.path.exists("/tmp/drain") else 200
            body = b"draining\\n" if code == 503 else b"ok\\n"
        else:
            code, body = 200, (socket.gethostname() + "\\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 80), Handler).serve_forever()
'''

# A systemd unit (not a background process of the first-boot script) so that the server
# comes back after reboots, as a real web server would.
CUSTOM_DATA = "#cloud-config\n" + json.dumps({
    "write_files": [
        {"path": "/usr/local/bin/web.py", "permissions": "0755", "content": WEB_SERVER},
        {"path": "/etc/systemd/system/web.service", "content":
            "[Unit]\nDescription=lab web server\n[Service]\nExecStart=/usr/bin/python3 /usr/local/bin/web.py\n"
            "Restart=always\n[Install]\nWantedBy=multi-user.target\n"},
    ],
    "runcmd": [["systemctl", "enable", "--now", "web.service"]],
})




def figure(name: str, value: str) -> None:
    FIGURES[name] = value
    print(f"\nFIGURE {name}: {value}")


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tier(dataplane_server, env, tmp_path_factory):
    """RG/VNet/subnet/NSG/PIP/LB/avset/NIC by the real modules, then the VM, timed to SSH-ready."""
    keydir = tmp_path_factory.mktemp("ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")], check=True)
    public_key = (keydir / "id.pub").read_text().strip()
    extra = {"rg": RG, "prefix": PREFIX, "subscription": env["AZURE_SUBSCRIPTION_ID"], "ssh_key": public_key,
             "custom_data": CUSTOM_DATA}
    full_env = {**os.environ, **env}
    for playbook in ("e2e_network.yml", "e2e_vm.yml"):
        started = time.monotonic()
        result = run_playbook(HERE / playbook, full_env, extra)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        module_seconds = time.monotonic() - started
    store = dataplane_server.lab.store
    rg_id = f"/subscriptions/{env['AZURE_SUBSCRIPTION_ID']}/resourceGroups/{RG}"
    pip = store.get(f"{rg_id}/providers/Microsoft.Network/publicIPAddresses/web-pip")["properties"]["ipAddress"]
    info = {"pip": pip, "key": keydir / "id", "public_key": public_key, "rg_id": rg_id,
            "lab": instance_id(dataplane_server.settings.state_dir),
            "vnet_id": f"{rg_id}/providers/Microsoft.Network/virtualNetworks/web-vnet",
            "lb_id": f"{rg_id}/providers/Microsoft.Network/loadBalancers/web-lb",
            "vm1_id": f"{rg_id}/providers/Microsoft.Compute/virtualMachines/web-vm1",
            "vm1_config": f"{rg_id}/providers/Microsoft.Network/networkInterfaces/web-vm1-nic1/ipConfigurations/ipconfig1"}
    assert wait_for(lambda: ssh(info, "true", port=50001).returncode == 0, timeout=120, step=0.5)
    figure("VM create -> SSH-ready through the NAT port",
           f"{time.monotonic() - started:.1f} s (of which the azure_rm_virtualmachine call {module_seconds:.1f} s)")
    return info


def in_vnet(tier: dict) -> list[str]:
    """Command prefix that runs inside the tier's VNet (its router's namespace): the host
    itself has no route to a private IP, as the Internet has none on Azure."""
    return ["ip", "netns", "exec", vnet.vnet_namespace(tier["lab"], tier["vnet_id"])]


def ssh(tier: dict, command: str, port: int = 50001, host: str | None = None, timeout: int = 20):
    """ssh azureuser@<public IP> -p <NAT port> (or, from inside the VNet, to a private IP on port 22)."""
    target = host or tier["pip"]
    cmd = [*(in_vnet(tier) if host else []),
           "ssh", "-i", str(tier["key"]), "-p", str(port if host is None else 22), "-o", "BatchMode=yes",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3",
           "-o", "LogLevel=ERROR", f"azureuser@{target}", command]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, 255, "", "timeout")


def http_get(host: str, path: str = "/", timeout: float = 3.0) -> tuple[int, str]:
    conn = http.client.HTTPConnection(host, 80, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode().strip()
    finally:
        conn.close()


def health_state(server, tier: dict, backend: str) -> str | None:
    event = server.lab.store.current_health(tier["lb_id"], RULE).get(backend.lower())
    return event["state"] if event else None


def wait_health(server, tier: dict, backend: str, state: str, timeout: float) -> float:
    """Seconds until the health log says ``backend`` is ``state`` (fails after timeout)."""
    started = time.monotonic()
    assert wait_for(lambda: health_state(server, tier, backend) == state, timeout=timeout, step=0.05), \
        f"{backend} not {state} within {timeout}s"
    return time.monotonic() - started


def rule_health(net) -> dict:
    """POST .../loadBalancingRules/{rule}/health (api 2024-05-01), polled to its end."""
    from azure.core.polling import LROPoller
    from azure.core.rest import HttpRequest
    from azure.mgmt.core.polling.arm_polling import ARMPolling

    url = (f"/subscriptions/{net._config.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network"
           f"/loadBalancers/web-lb/loadBalancingRules/{RULE}/health")
    request = HttpRequest("POST", net._client.format_url(url), params={"api-version": "2024-05-01"})
    initial = net._client._pipeline.run(request, stream=False)
    polling = ARMPolling(0, lro_options={"final-state-via": "location"})
    result = LROPoller(net._client, initial, lambda r: r.http_response.json(), polling).result()
    return {e.get("networkInterfaceIPConfigurationId", e["ipAddress"]).lower(): e["state"]
            for e in result["loadBalancerBackendAddresses"]}


def container(vm_id: str) -> dict | None:
    return podman.container_inspect(container_name(vm_id))


def power(cm, name: str) -> str:
    return cm.virtual_machines.instance_view(RG, name).statuses[-1].code


# -- tests ---------------------------------------------------------------------------------------


def test_ssh_through_nat_and_http_through_the_lb_rule(tier, dataplane_server, clients):
    result = ssh(tier, "hostname; id -nG; cat /proc/sys/kernel/random/boot_id")
    assert result.returncode == 0, result.stderr
    hostname, groups, _ = result.stdout.split("\n", 2)
    assert hostname == "web-vm1" and "sudo" in groups.split()
    wait_health(dataplane_server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 30)
    assert http_get(tier["pip"]) == (200, "web-vm1")
    assert rule_health(clients[1])[tier["vm1_config"].lower()] == "Up"


def test_failing_probe_takes_the_vm_out_and_a_passing_one_brings_it_back(tier, dataplane_server, clients):
    assert ssh(tier, "touch /tmp/drain").returncode == 0
    down = wait_health(dataplane_server, tier, tier["vm1_config"], "Down", timeout=INTERVAL * THRESHOLD + 1)
    assert rule_health(clients[1])[tier["vm1_config"].lower()] == "Down"
    assert ssh(tier, "rm /tmp/drain").returncode == 0, "NAT rules do not depend on probes"
    up = wait_health(dataplane_server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 1)
    assert http_get(tier["pip"]) == (200, "web-vm1")
    figure("probe-down detection (503 -> Down)", f"{down:.1f} s (bound {INTERVAL} x {THRESHOLD} + 1 = "
                                                  f"{INTERVAL * THRESHOLD + 1} s)")
    figure("probe-up detection (200 -> Up)", f"{up:.1f} s (bound {INTERVAL} + 1 = {INTERVAL + 1} s)")


def test_probe_fault_from_the_admin_api(tier, dataplane_server):
    admin = AdminClient(dataplane_server.settings)
    admin.call("POST", "dataplane/faults", {"kind": "probe", "vm": tier["vm1_id"]})
    wait_health(dataplane_server, tier, tier["vm1_config"], "Down", timeout=INTERVAL * THRESHOLD + 1)
    status = admin.call("GET", "status")["dataplane"]
    assert status["faults"]["probe"] == [tier["vm1_id"].lower()]
    admin.call("DELETE", "faults")
    wait_health(dataplane_server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 3)


def make_vm(cm, net, index: int, subnet_id: str, pool_id: str, public_key: str, avset_id: str) -> str:
    """A VM whose NIC has the same NSG as web-vm1's: a Standard LB's backend needs one to be reached."""
    nsg_id = subnet_id.split("/providers/")[0] + "/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
    nic = net.network_interfaces.begin_create_or_update(RG, f"web-vm{index}-nic1", {
        "location": LOCATION, "network_security_group": {"id": nsg_id}, "ip_configurations": [{
            "name": "ipconfig1", "primary": True, "subnet": {"id": subnet_id},
            "load_balancer_backend_address_pools": [{"id": pool_id}]}]}).result()
    models = cm.models()
    cm.virtual_machines.begin_create_or_update(RG, f"web-vm{index}", models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=models.StorageProfile(image_reference=models.ImageReference(
            publisher="Debian", offer="debian-12", sku="12-gen2", version="latest")),
        os_profile=models.OSProfile(
            computer_name=f"web-vm{index}", admin_username="azureuser",
            custom_data=base64.b64encode(CUSTOM_DATA.encode()).decode(),
            linux_configuration=models.LinuxConfiguration(
                disable_password_authentication=True, ssh=models.SshConfiguration(public_keys=[models.SshPublicKey(
                    path="/home/azureuser/.ssh/authorized_keys", key_data=public_key)]))),
        network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic.id)]),
        availability_set=models.SubResource(id=avset_id))).result()
    return nic.ip_configurations[0].private_ip_address


SSH_BANNER = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], 22), timeout=1) as conn:
        conn.settimeout(2)
        print(conn.recv(64).startswith(b"SSH-"))
except OSError:
    print(False)
"""


def sshd_ready(tier: dict, ip: str) -> bool:
    """sshd answers on the VM's private IP, seen from inside its VNet."""
    result = subprocess.run([*in_vnet(tier), sys.executable, "-c", SSH_BANNER, ip], capture_output=True, text=True)
    return result.stdout.strip() == "True"


def test_three_vms_are_created_in_parallel(tier, dataplane_server, clients):
    cm, net = clients
    subnet_id = net.subnets.get(RG, "web-vnet", "web-subnet").id
    pool_id = f"{tier['lb_id']}/backendAddressPools/web-lb-backend-pool"
    avset_id = f"{tier['rg_id']}/providers/Microsoft.Compute/availabilitySets/web-as"
    started = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        ips = list(pool.map(lambda i: make_vm(cm, net, i, subnet_id, pool_id, tier["public_key"], avset_id), (2, 3, 4)))
    arm_seconds = time.monotonic() - started
    assert wait_for(lambda: all(sshd_ready(tier, ip) for ip in ips), timeout=120, step=0.3)
    figure("parallel creation of 3 VMs (ARM PUTs -> sshd answering on all 3)",
           f"{time.monotonic() - started:.1f} s wall (ARM calls {arm_seconds:.1f} s)")
    tier["ips"] = dict(zip(("web-vm2", "web-vm3", "web-vm4"), ips))
    for name in ("web-vm2", "web-vm3", "web-vm4"):
        config = f"{tier['rg_id']}/providers/Microsoft.Network/networkInterfaces/{name}-nic1/ipConfigurations/ipconfig1"
        wait_health(dataplane_server, tier, config, "Up", timeout=60)
        assert power(cm, name) == "PowerState/running"
    assert {http_get(tier["pip"])[1] for _ in range(12)} == {"web-vm1", "web-vm2", "web-vm3", "web-vm4"}


def nsg_rule(net, nsg: str, name: str, priority: int, access: str, source: str, port: str) -> None:
    net.security_rules.begin_create_or_update(RG, nsg, name, {
        "priority": priority, "direction": "Inbound", "access": access, "protocol": "Tcp",
        "source_address_prefix": source, "source_port_range": "*", "destination_address_prefix": "*",
        "destination_port_range": port}).result()


def banner(host: str, port: int, timeout: float = 3.0) -> bool:
    """An SSH banner within ``timeout`` (an NSG drop gives none: no reset, no answer)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def test_nsgs_decide_what_reaches_the_vms(tier, dataplane_server, clients):
    """Through the LB the client's own address is judged; probes are AzureLoadBalancer's."""
    _, net = clients
    wait = dataplane_server.dataplane.wait_idle
    assert banner(tier["pip"], 50001)
    # SSH through the NAT rule only from the admin prefix: the client (127.0.0.1) is not in it
    nsg_rule(net, "web-nsg", "ssh", 110, "Allow", "10.99.0.0/16", "22")
    assert wait(30) and not banner(tier["pip"], 50001)
    nsg_rule(net, "web-nsg", "ssh", 110, "Allow", "127.0.0.0/8", "22")
    assert wait(30) and banner(tier["pip"], 50001)
    # a rule that denies AzureLoadBalancer shuts the probes out: the backends go Down
    nsg_rule(net, "web-nsg", "deny-lb", 100, "Deny", "AzureLoadBalancer", "*")
    # a dropped probe fails when its timeout (the interval) ends; the next follows an interval later
    wait_health(dataplane_server, tier, tier["vm1_config"], "Down", timeout=2 * INTERVAL * THRESHOLD + 5)
    assert rule_health(net)[tier["vm1_config"].lower()] == "Down"
    net.security_rules.begin_delete(RG, "web-nsg", "deny-lb").result()
    wait_health(dataplane_server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 5)
    assert http_get(tier["pip"])[0] == 200


def test_a_nic_nsg_deny_wins_over_the_subnet_allow_between_vms(tier, dataplane_server, clients):
    _, net = clients
    vnet = net.virtual_networks.get(RG, "web-vnet")
    nsg_id = f"{tier['rg_id']}/providers/Microsoft.Network/networkSecurityGroups/web-nsg"
    net.subnets.begin_create_or_update(RG, "web-vnet", "web-subnet", {
        "address_prefix": vnet.subnets[0].address_prefix, "network_security_group": {"id": nsg_id}}).result()
    net.network_security_groups.begin_create_or_update(RG, "no-ssh-nsg", {"location": LOCATION}).result()
    nsg_rule(net, "no-ssh-nsg", "deny-ssh", 100, "Deny", "*", "22")
    nic = net.network_interfaces.get(RG, "web-vm2-nic1")
    nic.network_security_group = net.network_security_groups.get(RG, "no-ssh-nsg")
    net.network_interfaces.begin_create_or_update(RG, "web-vm2-nic1", nic).result()
    assert dataplane_server.dataplane.wait_idle(30)
    probe = "python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], 22), timeout=3); print(\"open\")' "
    try:
        # web-vm1 -> web-vm2:22: the subnet's NSG (web-nsg) allows SSH, web-vm2's NIC NSG denies it
        assert "open" not in ssh(tier, probe + tier["ips"]["web-vm2"]).stdout
        assert "open" in ssh(tier, probe + tier["ips"]["web-vm3"]).stdout, "web-vm3's NIC has web-nsg only"
    finally:
        nic.network_security_group = net.network_security_groups.get(RG, "web-nsg")
        net.network_interfaces.begin_create_or_update(RG, "web-vm2-nic1", nic).result()
        net.network_security_groups.begin_delete(RG, "no-ssh-nsg").result()
    assert dataplane_server.dataplane.wait_idle(30)
    assert "open" in ssh(tier, probe + tier["ips"]["web-vm2"]).stdout


def test_a_vm_reaches_the_internet_and_nothing_of_the_host(tier, dataplane_server):
    """Outbound as on Azure (the Debian mirror through the VNet's uplink); the lab's own ARM
    and proxy ports, on every address of the host, are out of reach."""
    release = ssh(tier, "python3 -c \"import urllib.request as u; "
                        "print(u.urlopen('http://deb.debian.org/debian/dists/bookworm/Release', timeout=20).status)\"",
                  timeout=40)
    assert release.stdout.strip() == "200", release.stderr
    addresses = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True).stdout
    host = [a["local"] for link in json.loads(addresses) for a in link["addr_info"]
            if not a["local"].startswith("127.")]
    settings = dataplane_server.settings
    for address in host:
        for port in (settings.arm_port, settings.proxy_port, 22):
            reply = ssh(tier, f"python3 -c 'import socket; socket.create_connection((\"{address}\", {port}), "
                              f"timeout=2); print(\"open\")'")
            assert "open" not in reply.stdout, f"a VM reached the host's {address}:{port}"


def test_a_default_route_to_none_cuts_the_vm_off_and_detaching_it_brings_it_back(tier, dataplane_server, clients):
    """0.0.0.0/0 -> None on web-subnet: the VM's replies to the LB's flows follow it too (on Azure
    the replies to a public LB's clients take the default route), so SSH through the NAT rule
    gets no answer; detached, SSH works and the VM reaches the Internet again."""
    _, net = clients
    fetch = ("python3 -c \"import urllib.request as u; "
             "print(u.urlopen('http://deb.debian.org/debian/dists/bookworm/Release', timeout=5).status)\"")
    table = net.route_tables.begin_create_or_update(RG, "no-internet", {"location": LOCATION, "routes": [
        {"name": "drop-all", "address_prefix": "0.0.0.0/0", "next_hop_type": "None"}]}).result()
    subnet = net.subnets.get(RG, "web-vnet", "web-subnet")
    subnet.route_table = table
    net.subnets.begin_create_or_update(RG, "web-vnet", "web-subnet", subnet).result()
    try:
        assert dataplane_server.dataplane.wait_idle(30)
        cut = ssh(tier, "true", timeout=20)
        assert cut.returncode == 255 and "timed out" in cut.stderr, cut
    finally:
        subnet = net.subnets.get(RG, "web-vnet", "web-subnet")
        subnet.route_table = None
        net.subnets.begin_create_or_update(RG, "web-vnet", "web-subnet", subnet).result()
        net.route_tables.begin_delete(RG, "no-internet").result()
    assert dataplane_server.dataplane.wait_idle(30)
    assert ssh(tier, fetch, timeout=40).stdout.strip() == "200"


def test_a_vm_the_host_cannot_hold_fails_to_create_and_says_why(tier, dataplane_server, clients):
    """No 'running' lie: the create LRO fails as an allocation failure does on Azure."""
    from azure.core.exceptions import HttpResponseError
    from azlab.models.compute.catalog import VM_SIZES

    cm, net = clients
    too_big = min((s for s in VM_SIZES.values() if s.cores > (os.cpu_count() or 1)), key=lambda s: s.cores, default=None)
    if too_big is None:
        pytest.skip("every VM size fits this host's cores")
    subnet_id = net.subnets.get(RG, "web-vnet", "web-subnet").id
    nic = net.network_interfaces.begin_create_or_update(RG, "big-nic1", {
        "location": LOCATION, "ip_configurations": [{"name": "ipconfig1", "subnet": {"id": subnet_id}}]}).result()
    models = cm.models()
    vm = models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size=too_big.name),
        storage_profile=models.StorageProfile(image_reference=models.ImageReference(
            publisher="Debian", offer="debian-12", sku="12-gen2", version="latest")),
        os_profile=models.OSProfile(computer_name="big-vm1", admin_username="azureuser",
                                    linux_configuration=models.LinuxConfiguration(
                                        disable_password_authentication=True, ssh=models.SshConfiguration(public_keys=[
                                            models.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys",
                                                                key_data=tier["public_key"])]))),
        network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic.id)]))
    with pytest.raises(HttpResponseError) as failed:
        cm.virtual_machines.begin_create_or_update(RG, "big-vm1", vm).result()
    assert "AllocationFailed" in str(failed.value) and too_big.name in str(failed.value)
    assert cm.virtual_machines.get(RG, "big-vm1").provisioning_state == "Failed"
    codes = [s.code for s in cm.virtual_machines.instance_view(RG, "big-vm1").statuses]
    assert "ProvisioningState/failed/AllocationFailed" in codes and "PowerState/running" not in codes
    vm_id = tier["vm1_id"].replace("web-vm1", "big-vm1")
    assert container(vm_id) is None
    status = AdminClient(dataplane_server.settings).call("GET", "status")["dataplane"]
    assert any("big-vm1" in message for message in status["errors"].values())
    cm.virtual_machines.begin_delete(RG, "big-vm1").result()
    net.network_interfaces.begin_delete(RG, "big-nic1").result()
    assert dataplane_server.dataplane.wait_idle(30)
    status = AdminClient(dataplane_server.settings).call("GET", "status")["dataplane"]
    assert not any("big-vm1" in message for message in status["errors"].values()), "errors go with their VM"


class Load:
    """Clients opening a new connection per request to the LB rule, counting failures."""

    def __init__(self, host: str, clients: int = 3):
        self.host, self.stop, self.lock = host, threading.Event(), threading.Lock()
        self.ok, self.failed, self.hits = 0, [], []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, body = http_get(self.host, timeout=5)
                outcome = None if status == 200 else f"status {status}"
            except OSError as exc:
                outcome, body = repr(exc), ""
            with self.lock:
                if outcome:
                    self.failed.append(outcome)
                else:
                    self.ok += 1
                    self.hits.append((time.monotonic(), body))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def set_admin_state(net, config_id: str, state: str) -> None:
    """adminState of one NIC-based pool address, as Azure names it ({rg}_{nic}{ipconfig})."""
    lb = net.load_balancers.get(RG, "web-lb")
    pool = lb.backend_address_pools[0]
    nic, ipconfig = config_id.split("/networkInterfaces/")[1].split("/ipConfigurations/")
    name = f"{RG}_{nic}{ipconfig}"
    for address in pool.load_balancer_backend_addresses or []:
        if address.name == name:
            address.admin_state = state
    net.load_balancers.begin_create_or_update(RG, "web-lb", lb).result()


def bump_idle_timeout(net, minutes: int) -> None:
    """A rule change HAProxy has to reload for (its timeouts)."""
    lb = net.load_balancers.get(RG, "web-lb")
    lb.load_balancing_rules[0].idle_timeout_in_minutes = minutes
    net.load_balancers.begin_create_or_update(RG, "web-lb", lb).result()


def test_admin_state_drain_and_reloads_under_load_fail_no_request(tier, dataplane_server, clients):
    _, net = clients
    with Load(tier["pip"]) as load:
        time.sleep(1)
        set_admin_state(net, tier["vm1_config"], "Down")
        wait_health(dataplane_server, tier, tier["vm1_config"], "Down", timeout=10)
        assert rule_health(net)[tier["vm1_config"].lower()] == "Down"
        drained = time.monotonic()
        for i in range(10):
            bump_idle_timeout(net, 5 + i % 2)
            assert dataplane_server.dataplane.wait_idle(30)
        during_drain = [body for ts, body in list(load.hits) if ts > drained + 0.5]
        set_admin_state(net, tier["vm1_config"], "None")
        wait_health(dataplane_server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 3)
        time.sleep(1)
    bump_idle_timeout(net, 4)
    figure("failed requests under load (admin drain + 10 reloads + restore)",
           f"{len(load.failed)} of {load.ok + len(load.failed)}")
    assert load.failed == [], load.failed[:5]
    assert during_drain and "web-vm1" not in during_drain, "a drained backend got new flows"
    assert {"web-vm2", "web-vm3", "web-vm4"} <= set(during_drain)


def test_power_operations_act_on_the_container(tier, dataplane_server, clients):
    cm, _ = clients
    vm_id = tier["vm1_id"].replace("web-vm1", "web-vm4")
    first_start = container(vm_id)["State"]["StartedAt"]
    cm.virtual_machines.begin_restart(RG, "web-vm4").result()
    assert wait_for(lambda: container(vm_id)["State"]["StartedAt"] != first_start, timeout=30)
    cm.virtual_machines.begin_power_off(RG, "web-vm4").result()
    assert wait_for(lambda: container(vm_id)["State"]["Status"] != "running", timeout=30)
    assert wait_for(lambda: power(cm, "web-vm4") == "PowerState/stopped", timeout=10)
    cm.virtual_machines.begin_deallocate(RG, "web-vm4").result()
    assert wait_for(lambda: power(cm, "web-vm4") == "PowerState/deallocated", timeout=10)
    cm.virtual_machines.begin_start(RG, "web-vm4").result()
    assert wait_for(lambda: container(vm_id)["State"]["Status"] == "running", timeout=30)
    assert wait_for(lambda: sshd_ready(tier, tier["ips"]["web-vm4"]), timeout=60, step=0.3)
    assert power(cm, "web-vm4") == "PowerState/running"


def test_in_guest_reboot_comes_back_with_a_new_boot_id(tier, dataplane_server, clients):
    cm, _ = clients
    before = ssh(tier, "cat /proc/sys/kernel/random/boot_id").stdout
    ssh(tier, "sudo systemctl reboot")
    assert wait_for(lambda: ssh(tier, "cat /proc/sys/kernel/random/boot_id").stdout not in ("", before),
                    timeout=60, step=0.5)
    assert power(cm, "web-vm1") == "PowerState/running"


def test_kill_and_boot_faults(tier, dataplane_server, clients):
    cm, _ = clients
    admin = AdminClient(dataplane_server.settings)
    vm_id = tier["vm1_id"].replace("web-vm1", "web-vm3")
    admin.call("POST", "dataplane/faults", {"kind": "kill", "vm": vm_id})
    assert wait_for(lambda: power(cm, "web-vm3") == "PowerState/stopped", timeout=10)
    time.sleep(3)  # several controller passes: a killed VM stays down
    assert container(vm_id)["State"]["Status"] != "running"
    cm.virtual_machines.begin_start(RG, "web-vm3").result()
    assert wait_for(lambda: container(vm_id)["State"]["Status"] == "running", timeout=30)
    assert wait_for(lambda: sshd_ready(tier, tier["ips"]["web-vm3"]), timeout=60, step=0.3)
    assert power(cm, "web-vm3") == "PowerState/running"

    admin.call("POST", "dataplane/faults", {"kind": "boot", "vm": vm_id})
    ssh(tier, "sudo systemctl reboot", host=tier["ips"]["web-vm3"])
    assert wait_for(lambda: power(cm, "web-vm3") == "PowerState/stopped", timeout=30)
    time.sleep(3)
    assert container(vm_id)["State"]["Status"] != "running"
    admin.call("DELETE", "faults")
    assert wait_for(lambda: container(vm_id)["State"]["Status"] == "running", timeout=30)
    assert wait_for(lambda: power(cm, "web-vm3") == "PowerState/running", timeout=10)


def running_vm_containers(server) -> list[str]:
    return podman.run(["ps", "--filter", f"label={ROLE_LABEL}=vm", "--filter", "status=running", "--filter",
                       f"label={instance_label(server.settings.state_dir)}", "--format", "{{.Names}}"]).stdout.split()


def test_down_keeps_the_state_and_up_brings_everything_back(tier, dataplane_server, clients):
    """What `azlab down` / `azlab up` do to the data plane, in process: stop, then a new one."""
    from azlab.dataplane.controller import DataPlane

    cm, _ = clients
    server = dataplane_server
    server.dataplane.stop()
    assert running_vm_containers(server) == []
    with pytest.raises(OSError):
        http_get(tier["pip"], timeout=2)
    assert power(cm, "web-vm1") == "PowerState/running", "down keeps the state"
    server.dataplane = server.lab.dataplane = DataPlane(server.lab, server.settings.state_dir)
    server.dataplane.start()
    assert wait_for(lambda: len(running_vm_containers(server)) == 4, timeout=60)
    assert wait_for(lambda: ssh(tier, "true").returncode == 0, timeout=60, step=0.5)
    wait_health(server, tier, tier["vm1_config"], "Up", timeout=INTERVAL + 30)
    assert http_get(tier["pip"])[0] == 200


def test_windows_vm_is_control_plane_only(tier, dataplane_server, clients):
    cm, net = clients
    subnet_id = net.subnets.get(RG, "web-vnet", "web-subnet").id
    nic = net.network_interfaces.begin_create_or_update(RG, "win-nic1", {
        "location": LOCATION, "ip_configurations": [{"name": "ipconfig1", "subnet": {"id": subnet_id}}]}).result()
    models = cm.models()
    cm.virtual_machines.begin_create_or_update(RG, "win-vm1", models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size="Standard_B2s"),
        storage_profile=models.StorageProfile(image_reference=models.ImageReference(
            publisher="MicrosoftWindowsServer", offer="WindowsServer", sku="2022-datacenter-g2", version="latest")),
        os_profile=models.OSProfile(computer_name="win-vm1", admin_username="azureuser",
                                    admin_password="Lab-only-Passw0rd!"),
        network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic.id)]))).result()
    assert dataplane_server.dataplane.wait_idle(30)
    status = AdminClient(dataplane_server.settings).call("GET", "status")["dataplane"]
    win = next(v for k, v in status["vms"].items() if k.endswith("/win-vm1"))
    assert win == "control plane only (no guest)"
    assert container(tier["vm1_id"].replace("web-vm1", "win-vm1")) is None


def test_deleting_a_vm_removes_its_container(tier, dataplane_server, clients):
    cm, _ = clients
    vm_id = tier["vm1_id"].replace("web-vm1", "web-vm4")
    assert container(vm_id) is not None
    cm.virtual_machines.begin_delete(RG, "web-vm4").result()
    assert wait_for(lambda: container(vm_id) is None, timeout=30)


def test_reset_leaves_nothing_behind_and_touches_nothing_else(tier, dataplane_server):
    foreign = f"not-azlab-{int(time.time())}"
    podman.run(["network", "create", foreign])
    try:
        AdminClient(dataplane_server.settings).call("POST", "reset")
        state_dir = str(dataplane_server.settings.state_dir)
        assert lab_objects(state_dir, "container") == []
        assert lab_objects(state_dir, "network") == []
        assert podman.network_exists(foreign), "reset removed a network the lab did not create"
        haproxys = subprocess.run(["pgrep", "-af", "haproxy"], capture_output=True, text=True).stdout
        assert state_dir not in haproxys
        assert not any((Path(state_dir) / "lb").glob("*"))
    finally:
        podman.run(["network", "rm", foreign], check=False)
    print("\nFIGURES\n" + "\n".join(f"  {k}: {v}" for k, v in FIGURES.items()))
