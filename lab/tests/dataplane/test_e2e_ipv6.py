"""End to end, dual stack: the Azure SDK builds a tier with an IPv4 and an IPv6 frontend, a
pool and a rule per version and two VMs whose NICs have an IPv6 ip configuration beside the
IPv4 primary; the data plane makes it real.

Checked on the machine, not in ARM's answer: HTTP over IPv6 through the LB reaches both VMs
(HAProxy on the lab's IPv6 public address, the VNet's router forwarding to each NIC's /128),
the guests see Azure's IPv6 probe source, a VM reaches another over IPv6 inside the VNet, SSH
through an IPv6 NAT rule, and an NSG that denies one IPv6 client drops that client only.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess

import pytest

from azlab.dataplane.host_network import IPV6_CLIENT_ADDRESS
from azlab.dataplane.objects import container_name
from azlab.dataplane.vnet import PLATFORM_ADDRESS_V6
from polling import wait_for

pytestmark = pytest.mark.dataplane

RG = "dp-ipv6-rg"
LOCATION = "eastus"
V4_SUBNET, V6_SUBNET = "10.79.1.0/24", "fd79:0:0:1::/64"
INTERVAL = 5

# Dual stack: one socket for both versions (bindv6only is 0), answering with the hostname and
# the address the connection came from; 503 on /healthz while /tmp/drain exists.
WEB_SERVER = '''\
import http.server, os, socket
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            code, body = (503, b"draining") if os.path.exists("/tmp/drain") else (200, b"ok")
        else:
            code, body = 200, f"{socket.gethostname()} {self.client_address[0]}".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
Server(("::", 80), Handler).serve_forever()
'''
CUSTOM_DATA = "#cloud-config\n" + json.dumps({
    "write_files": [
        {"path": "/usr/local/bin/web.py", "permissions": "0755", "content": WEB_SERVER},
        {"path": "/etc/systemd/system/web.service", "content":
            "[Unit]\nDescription=lab web server\n[Service]\nExecStart=/usr/bin/python3 /usr/local/bin/web.py\n"
            "Restart=always\n[Install]\nWantedBy=multi-user.target\n"},
    ],
    "runcmd": [["systemctl", "enable", "--now", "web.service"]],
})


def network_id(kind: str, name: str, sub: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Network/{kind}/{name}"


def nsg_rules(denied_v6: str | None = None) -> list[dict]:
    rules = [{"name": "allow-web-ssh", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
              "source_address_prefix": "Internet", "source_port_range": "*", "destination_address_prefix": "*",
              "destination_port_ranges": ["80", "22"]}]
    if denied_v6:
        rules.append({"name": "deny-one-v6-client", "priority": 100, "direction": "Inbound", "access": "Deny",
                      "protocol": "*", "source_address_prefix": f"{denied_v6}/128", "source_port_range": "*",
                      "destination_address_prefix": "*", "destination_port_range": "*"})
    return rules


def set_nsg_rules(net, rules: list[dict]):
    return net.network_security_groups.begin_create_or_update(RG, "web-nsg", {
        "location": LOCATION, "security_rules": rules}).result()


def lb_ref(sub: str, kind: str, name: str) -> dict:
    return {"id": network_id("loadBalancers", "web-lb", sub) + f"/{kind}/{name}"}


def make_load_balancer(net, sub: str, pips: dict) -> None:
    """Frontends fe4/fe6, pools pool4/pool6, rules http4/http6 on one HTTP probe, NAT rule ssh6-vm1."""
    def rule(name: str, frontend: str, pool: str) -> dict:
        return {"name": name, "frontend_ip_configuration": lb_ref(sub, "frontendIPConfigurations", frontend),
                "backend_address_pool": lb_ref(sub, "backendAddressPools", pool), "probe": lb_ref(sub, "probes", "web"),
                "protocol": "Tcp", "frontend_port": 80, "backend_port": 80}
    net.load_balancers.begin_create_or_update(RG, "web-lb", {
        "location": LOCATION, "sku": {"name": "Standard"},
        "frontend_ip_configurations": [{"name": "fe4", "public_ip_address": {"id": pips["IPv4"].id}},
                                       {"name": "fe6", "public_ip_address": {"id": pips["IPv6"].id}}],
        "backend_address_pools": [{"name": "pool4"}, {"name": "pool6"}],
        "probes": [{"name": "web", "protocol": "Http", "port": 80, "request_path": "/healthz",
                    "interval_in_seconds": INTERVAL, "probe_threshold": 1}],
        "load_balancing_rules": [rule("http4", "fe4", "pool4"), rule("http6", "fe6", "pool6")],
        "inbound_nat_rules": [{"name": "ssh6-vm1", "frontend_ip_configuration": lb_ref(sub, "frontendIPConfigurations", "fe6"),
                               "protocol": "Tcp", "frontend_port": 50001, "backend_port": 22}]}).result()


def make_vm(cm, net, sub: str, index: int, subnet_id: str, public_key: str) -> dict:
    """web-vm<index>: IPv4 primary in pool4, IPv6 in pool6 (vm1's behind ssh6-vm1); its IDs and addresses."""
    v6 = {"name": "ipconfig-v6", "private_ip_address_version": "IPv6", "subnet": {"id": subnet_id},
          "load_balancer_backend_address_pools": [lb_ref(sub, "backendAddressPools", "pool6")]}
    if index == 1:
        v6["load_balancer_inbound_nat_rules"] = [lb_ref(sub, "inboundNatRules", "ssh6-vm1")]
    nic = net.network_interfaces.begin_create_or_update(RG, f"web-vm{index}-nic", {
        "location": LOCATION, "ip_configurations": [
            {"name": "ipconfig1", "primary": True, "subnet": {"id": subnet_id},
             "load_balancer_backend_address_pools": [lb_ref(sub, "backendAddressPools", "pool4")]}, v6]}).result()
    models = cm.models()
    vm = cm.virtual_machines.begin_create_or_update(RG, f"web-vm{index}", models.VirtualMachine(
        location=LOCATION, hardware_profile=models.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=models.StorageProfile(image_reference=models.ImageReference(
            publisher="Debian", offer="debian-12", sku="12-gen2", version="latest")),
        os_profile=models.OSProfile(
            computer_name=f"web-vm{index}", admin_username="azureuser",
            custom_data=base64.b64encode(CUSTOM_DATA.encode()).decode(),
            linux_configuration=models.LinuxConfiguration(
                disable_password_authentication=True, ssh=models.SshConfiguration(public_keys=[models.SshPublicKey(
                    path="/home/azureuser/.ssh/authorized_keys", key_data=public_key)]))),
        network_profile=models.NetworkProfile(network_interfaces=[models.NetworkInterfaceReference(id=nic.id)]))
    ).result()
    return {"id": vm.id, "configs": {"http4": f"{nic.id}/ipConfigurations/ipconfig1",
                                     "http6": f"{nic.id}/ipConfigurations/ipconfig-v6"},
            **{c.private_ip_address_version: c.private_ip_address for c in nic.ip_configurations}}


@pytest.fixture(scope="module")
def tier(clients, dataplane_server, tmp_path_factory):
    """VNet (IPv4 + IPv6 /64 subnet), NSG, two public IPs, a dual-stack Standard LB, two dual-stack VMs."""
    cm, net = clients
    sub = cm._config.subscription_id
    keydir = tmp_path_factory.mktemp("ipv6-ssh")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keydir / "id")], check=True)
    from azure.mgmt.resource import ResourceManagementClient  # noqa: PLC0415 - SDK only where tests run
    ResourceManagementClient(cm._config.credential, sub).resource_groups.create_or_update(RG, {"location": LOCATION})
    nsg = set_nsg_rules(net, nsg_rules())
    net.virtual_networks.begin_create_or_update(RG, "web-vnet", {
        "location": LOCATION, "address_space": {"address_prefixes": ["10.79.0.0/16", "fd79::/48"]},
        "subnets": [{"name": "web", "address_prefixes": [V4_SUBNET, V6_SUBNET],
                     "network_security_group": {"id": nsg.id}}]}).result()
    subnet = net.subnets.get(RG, "web-vnet", "web")
    pips = {version: net.public_ip_addresses.begin_create_or_update(RG, f"web-pip-{version}", {
        "location": LOCATION, "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static",
        "public_ip_address_version": version}).result() for version in ("IPv4", "IPv6")}
    make_load_balancer(net, sub, pips)
    public_key = (keydir / "id.pub").read_text()
    vms = {f"web-vm{index}": make_vm(cm, net, sub, index, subnet.id, public_key) for index in (1, 2)}
    info = {"pip4": pips["IPv4"].ip_address, "pip6": pips["IPv6"].ip_address, "vms": vms,
            "lb_id": network_id("loadBalancers", "web-lb", sub)}
    store = dataplane_server.lab.store
    assert wait_for(lambda: all((store.current_health(info["lb_id"], rule).get(config.lower()) or {}).get("state") == "Up"
                                for vm in vms.values() for rule, config in vm["configs"].items()),
                    timeout=180, step=0.5), "the backends of both rules never came Up"
    return info


def get(address: str, port: int = 80, timeout: float = 3.0) -> tuple[str, str]:
    """GET / over a plain socket (either version): (hostname, address the VM saw)."""
    with socket.create_connection((address, port), timeout=timeout) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    hostname, seen = reply.split(b"\r\n\r\n", 1)[1].decode().split()
    return hostname, seen


def in_guest(vm_id: str, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", "exec", container_name(vm_id), *command], capture_output=True, text=True, timeout=60)


def ipv6(address: str) -> bool:
    return ":" in address


def test_the_ipv6_frontend_spreads_over_both_vms_and_ipv4_still_works(tier):
    assert ipv6(tier["pip6"]) and not ipv6(tier["pip4"])
    seen = [get(tier["pip6"]) for _ in range(6)]
    assert {hostname for hostname, _ in seen} == {"web-vm1", "web-vm2"}
    # the VMs see Azure's IPv6 probe source, as they see 168.63.129.16 over IPv4 (docs/lab-dataplane.md)
    assert {address for _, address in seen} == {PLATFORM_ADDRESS_V6}
    assert {get(tier["pip4"])[0] for _ in range(6)} == {"web-vm1", "web-vm2"}


def test_the_guest_sees_its_ipv6_address_and_azures_ipv6_gateway(tier):
    vm = tier["vms"]["web-vm1"]
    addresses = in_guest(vm["id"], ["ip", "-6", "addr", "show", "dev", "eth0"]).stdout
    assert f"{vm['IPv6']}/128" in addresses
    assert f"default via {PLATFORM_ADDRESS_V6} dev eth0" in in_guest(vm["id"], ["ip", "-6", "route"]).stdout


def test_a_vm_reaches_another_over_ipv6_inside_the_vnet(tier):
    vm1, vm2 = tier["vms"]["web-vm1"], tier["vms"]["web-vm2"]
    probe = (f"import socket; c=socket.create_connection(('{vm2['IPv6']}', 80), timeout=3); "
             "c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(c.makefile('rb').read().split(b'\\r\\n\\r\\n')[1].decode())")
    result = in_guest(vm1["id"], ["python3", "-c", probe])
    assert result.returncode == 0, result.stderr
    # routed, not NATed: vm2 sees vm1's own IPv6 address
    assert result.stdout.split() == ["web-vm2", vm1["IPv6"]]


def test_ssh_through_the_ipv6_nat_rule(tier):
    def banner() -> bool:
        try:
            with socket.create_connection((tier["pip6"], 50001), timeout=2) as conn:
                conn.settimeout(3)
                return conn.recv(64).startswith(b"SSH-")
        except OSError:
            return False
    assert wait_for(banner, timeout=60, step=0.5), "sshd of web-vm1 not reached through [pip6]:50001"


def test_an_nsg_deny_of_one_ipv6_client_drops_that_client_only(tier, clients):
    """Judged by the client's own IPv6 address (the host's, fd61:7a6c:6162::7f00:1); the reload
    the new verdict causes keeps the IPv4 frontend serving (HAProxy's ``v6only``)."""
    _, net = clients
    with socket.create_connection((tier["pip6"], 80), timeout=3) as conn:
        client = conn.getsockname()[0]
    assert client == IPV6_CLIENT_ADDRESS
    set_nsg_rules(net, nsg_rules(denied_v6=client))

    def dropped() -> bool:
        try:
            get(tier["pip6"], timeout=1.5)
            return False
        except OSError:
            return True
    try:
        assert wait_for(dropped, timeout=15, step=0.5), f"the IPv6 client {client} is still let through"
        assert get(tier["pip4"])[0] in ("web-vm1", "web-vm2"), "the IPv4 client is another address: let through"
    finally:
        set_nsg_rules(net, nsg_rules())
    assert wait_for(lambda: not dropped(), timeout=15, step=0.5)
