"""A scale set tier built with the Azure SDK, shared by the scale set data-plane tests.

An NSG that lets the web in, a VNet, a Standard public IP, a Standard LB (pool, HTTP probe,
rule on port 80) and a scale set whose customData starts a web server answering
"<hostname> <version>"; plus the checks the tests make on the machine.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
from pathlib import Path

from azlab.dataplane.objects import container_name

LOCATION = "eastus"
INSTANCE_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
WEB_SERVER = '''\
import http.server, socket
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (socket.gethostname() + " VERSION").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler).serve_forever()
'''


def custom_data(version: str, serve: bool = True) -> str:
    """cloud-init: a web server answering '<hostname> <version>', base64 for osProfile
    (``serve=False``: the server is installed but never started, so the probe fails)."""
    return base64.b64encode(("#cloud-config\n" + json.dumps({
        "write_files": [
            {"path": "/usr/local/bin/web.py", "permissions": "0755", "content": WEB_SERVER.replace("VERSION", version)},
            {"path": "/etc/systemd/system/web.service", "content":
                "[Unit]\nDescription=lab web server\n[Service]\nExecStart=/usr/bin/python3 /usr/local/bin/web.py\n"
                "Restart=always\n[Install]\nWantedBy=multi-user.target\n"},
        ],
        "runcmd": [["systemctl", "enable", "--now", "web.service"]] if serve else [],
    })).encode()).decode()


class Tier:
    """One resource group's network, LB and scale set ``web``; ``body`` is the set's last PUT."""

    def __init__(self, clients, lab, rg: str, prefix: str, keydir: Path):
        self.cm, self.net = clients
        self.lab = lab
        self.rg = rg
        self.prefix = prefix
        self.sub = self.cm._config.subscription_id
        self.keydir = keydir
        self.lb_id = self.network_id("loadBalancers", f"{rg}-lb")
        self.address = ""
        self.body: dict = {}

    def network_id(self, kind: str, name: str) -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.Network/{kind}/{name}"

    def build_network(self) -> None:
        from azure.mgmt.resource import ResourceManagementClient  # noqa: PLC0415 - SDK only where tests run
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.keydir / "id")], check=True)
        ResourceManagementClient(self.cm._config.credential, self.sub).resource_groups.create_or_update(
            self.rg, {"location": LOCATION})
        net, rg = self.net, self.rg
        nsg = net.network_security_groups.begin_create_or_update(rg, f"{rg}-nsg", {
            "location": LOCATION, "security_rules": [
                {"name": "allow-web", "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
                 "source_address_prefix": "Internet", "source_port_range": "*", "destination_address_prefix": "*",
                 "destination_port_range": "80"}]}).result()
        net.virtual_networks.begin_create_or_update(rg, f"{rg}-vnet", {
            "location": LOCATION, "address_space": {"address_prefixes": [f"{self.prefix}.0.0/16"]},
            "subnets": [{"name": "web", "address_prefix": f"{self.prefix}.1.0/24",
                         "network_security_group": {"id": nsg.id}}]}).result()
        pip = net.public_ip_addresses.begin_create_or_update(rg, f"{rg}-pip", {
            "location": LOCATION, "sku": {"name": "Standard"}, "public_ip_allocation_method": "Static"}).result()
        lb_id = self.lb_id
        net.load_balancers.begin_create_or_update(rg, f"{rg}-lb", {
            "location": LOCATION, "sku": {"name": "Standard"},
            "frontend_ip_configurations": [{"name": "fe", "public_ip_address": {"id": pip.id}}],
            "backend_address_pools": [{"name": "pool"}],
            "probes": [{"name": "web", "protocol": "Http", "port": 80, "request_path": "/", "interval_in_seconds": 5,
                        "probe_threshold": 1}],
            "load_balancing_rules": [{"name": "http",
                                      "frontend_ip_configuration": {"id": f"{lb_id}/frontendIPConfigurations/fe"},
                                      "backend_address_pool": {"id": f"{lb_id}/backendAddressPools/pool"},
                                      "probe": {"id": f"{lb_id}/probes/web"}, "protocol": "Tcp", "frontend_port": 80,
                                      "backend_port": 80}]}).result()
        self.address = pip.ip_address

    def set_body(self, capacity: int, upgrade_policy: dict, version: str = "v1", health_probe: bool = False,
                 **props) -> dict:
        """The set's body; ``props``: more of its properties (``overprovision``, ``automaticRepairsPolicy``)."""
        ip = {"name": "ip", "properties": {
            "subnet": {"id": self.network_id("virtualNetworks", f"{self.rg}-vnet") + "/subnets/web"},
            "loadBalancerBackendAddressPools": [{"id": f"{self.lb_id}/backendAddressPools/pool"}]}}
        network = {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
            "primary": True, "ipConfigurations": [ip]}}]}
        if health_probe:
            network["healthProbe"] = {"id": f"{self.lb_id}/probes/web"}
        return {"location": LOCATION, "sku": {"name": "Standard_B1s", "capacity": capacity}, "properties": {
            "orchestrationMode": "Uniform", "upgradePolicy": upgrade_policy, "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser",
                              "customData": custom_data(version), "linuxConfiguration": {
                                  "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                                      {"path": "/home/azureuser/.ssh/authorized_keys",
                                       "keyData": (self.keydir / "id.pub").read_text()}]}}},
                "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                      "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
                "networkProfile": network}, **props}}

    def put_set(self, body: dict) -> None:
        """PUT the set through the SDK's pipeline (the model the lab keeps) and wait for the LRO."""
        self.body = json.loads(json.dumps(body))
        self.cm.virtual_machine_scale_sets.begin_create_or_update(
            self.rg, "web", self.cm.models().VirtualMachineScaleSet.from_dict(body)).result()

    def delete_set(self) -> None:
        """Delete the scale set (its containers go): a test module leaves no instance running for the next."""
        self.cm.virtual_machine_scale_sets.begin_delete(self.rg, "web").result()

    def instance_ids(self) -> list[str]:
        prefix = f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/"
        return sorted(body["id"] for _, body in self.lab.store.list(INSTANCE_TYPE)
                      if body["id"].lower().startswith(prefix.lower()))

    def hostnames_through_lb(self, count: int = 12) -> set[str]:
        return hostnames_through(self.address, count)


def runs(vm_id: str) -> bool:
    state = subprocess.run(["podman", "container", "inspect", "-f", "{{.State.Status}}", container_name(vm_id)],
                           capture_output=True, text=True, check=False)
    return state.returncode == 0 and state.stdout.strip() == "running"


def container_id(vm_id: str) -> str:
    return json.loads(subprocess.run(["podman", "container", "inspect", container_name(vm_id)], capture_output=True,
                                     text=True, check=True).stdout)[0]["Id"]


def hostnames_through(address: str, count: int = 12) -> set[str]:
    """The "<hostname> <version>" answers of ``count`` HTTP requests through the LB."""
    seen = set()
    for _ in range(count):
        try:
            with socket.create_connection((address, 80), timeout=3) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
                reply = b""
                while chunk := conn.recv(4096):
                    reply += chunk
            if b"\r\n\r\n" in reply:  # no server up yet: HAProxy closes the connection
                seen.add(reply.split(b"\r\n\r\n", 1)[1].decode())
        except OSError:
            continue
    return seen
