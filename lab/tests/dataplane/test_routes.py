"""Route tables in the VNet's router (azlab.dataplane.routes + vnet.apply_routes): Azure's
route selection as kernel tables (pure), and — with root — real namespaces: a client subnet
whose traffic to another subnet is dropped, handed to an appliance that forwards it (or
not), and a default route to the appliance that leaves the VNet's own traffic direct.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from test_vnet import SERVER, needs_root, reach, wait_open

from azlab.dataplane import host_network, routes, vnet
from azlab.dataplane.routes import KernelRoute, RoutePlan
from azlab.models.store import Store

VNET = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/hub"
UPLINK = "100.64.0.1"


def udr(prefix, hop, address=None):
    return {"properties": {"addressPrefix": prefix, "nextHopType": hop,
                           **({"nextHopIpAddress": address} if address else {})}}


def test_a_default_route_to_an_appliance_leaves_the_vnet_direct():
    assert routes.kernel_routes([udr("0.0.0.0/0", "VirtualAppliance", "10.0.3.4")], ["10.0.0.0/16"], UPLINK) == (
        KernelRoute("0.0.0.0/0", "via", "10.0.3.4"), KernelRoute("10.0.0.0/16", "throw"))


def test_a_user_route_beats_the_system_route_of_the_same_prefix():
    assert routes.kernel_routes([udr("10.0.0.0/16", "None")], ["10.0.0.0/16"], UPLINK) == (
        KernelRoute("10.0.0.0/16", "blackhole"),)
    assert routes.kernel_routes([udr("10.0.2.0/24", "VirtualAppliance", "10.0.3.4")], ["10.0.0.0/16"], UPLINK) == (
        KernelRoute("10.0.0.0/16", "throw"), KernelRoute("10.0.2.0/24", "via", "10.0.3.4"))


def test_internet_goes_out_of_the_uplink_and_vnet_local_stays_inside_the_vnet():
    assert routes.kernel_routes([udr("203.0.113.0/24", "Internet")], ["10.0.0.0/16"], UPLINK)[1] == KernelRoute(
        "203.0.113.0/24", "via", UPLINK)
    # VnetLocal for a prefix wider than the VNet: the VNet's part routes as the VNet, the rest is dropped
    assert routes.kernel_routes([udr("10.0.0.0/8", "VnetLocal")], ["10.0.0.0/16"], UPLINK) == (
        KernelRoute("10.0.0.0/8", "blackhole"), KernelRoute("10.0.0.0/16", "throw"))
    assert routes.kernel_routes([udr("10.0.5.0/24", "VnetLocal")], ["10.0.0.0/16"], UPLINK) == (
        KernelRoute("10.0.0.0/16", "throw"), KernelRoute("10.0.5.0/24", "throw"))
    # the usual pair: everything to a firewall, the VNet's own prefix kept local
    assert routes.kernel_routes([udr("0.0.0.0/0", "VirtualAppliance", "10.0.3.4"), udr("10.0.0.0/16", "VnetLocal")],
                                ["10.0.0.0/16"], UPLINK) == (KernelRoute("0.0.0.0/0", "via", "10.0.3.4"),
                                                             KernelRoute("10.0.0.0/16", "throw"))


def fill(store: Store) -> None:
    """A VNet with a client subnet whose route table drops the server subnet; two NICs."""
    rg = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network"
    store.put(f"{rg}/routeTables/rt", "Microsoft.Network/routeTables", {
        "id": f"{rg}/routeTables/rt", "properties": {"routes": [udr("10.0.2.0/24", "None")]}})
    subnets = [{"id": f"{VNET}/subnets/{name}", "name": name, "properties": {
        "addressPrefix": prefix, **({"routeTable": {"id": f"{rg}/routeTables/rt"}} if name == "client" else {})}}
        for name, prefix in (("client", "10.0.1.0/24"), ("server", "10.0.2.0/24"))]
    store.put(VNET, "Microsoft.Network/virtualNetworks", {
        "id": VNET, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}, "subnets": subnets}})
    for nic, subnet, forwarding in (("c", "client", False), ("s", "server", True), ("off", "server", True)):
        store.put(f"{rg}/networkInterfaces/{nic}", "Microsoft.Network/networkInterfaces", {
            "id": f"{rg}/networkInterfaces/{nic}", "properties": {"enableIPForwarding": forwarding, "ipConfigurations": [
                {"properties": {"primary": True, "subnet": {"id": f"{VNET}/subnets/{subnet}"}}}]}})
    compute = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines"
    for vm, nic, power in (("vm-s", "s", "running"), ("vm-off", "off", "deallocated")):
        store.put(f"{compute}/{vm}", "Microsoft.Compute/virtualMachines", {
            "id": f"{compute}/{vm}", "_power": power,
            "properties": {"networkProfile": {"networkInterfaces": [{"id": f"{rg}/networkInterfaces/{nic}"}]}}})


def test_the_plan_follows_the_store(tmp_path):
    store = Store(tmp_path / "lab.db")
    with store.transaction():
        fill(store)
    rg = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network"
    plan = routes.route_plan(store, VNET, UPLINK)
    table = vnet.SUBNET_TABLE_BASE  # the client subnet sorts first
    assert plan.tables == ((table, (KernelRoute("10.0.0.0/16", "throw"), KernelRoute("10.0.2.0/24", "blackhole"))),)
    assert plan.rules == ((vnet.nic_veth_name(f"{rg}/networkInterfaces/c"), table),)
    assert plan.nics == tuple(f"{rg}/networkInterfaces/{n}" for n in ("c", "off", "s"))
    assert plan.forwarding == (f"{rg}/networkInterfaces/s",), "a deallocated appliance forwards nothing"


@pytest.fixture
def hub():
    """One VNet 10.0.0.0/16: a client 10.0.1.4, a web server 10.0.2.4, an appliance 10.0.3.4."""
    lab = uuid.uuid4().hex[:8]
    host_network.ensure_host_rules()
    subnets = {"client": "10.0.1.0/24", "server": "10.0.2.0/24", "nva": "10.0.3.0/24"}
    vnet.ensure_vnet(lab, vnet.VNet(VNET, tuple(subnets.values())))
    ports = {}
    for index, (name, cidr) in enumerate(subnets.items()):
        ports[name] = vnet.NicPort(nic_id=f"{VNET}/nic-{name}", vnet_id=VNET, private_ip=cidr.replace("0/24", "4"),
                                   subnet_cidr=cidr, mac=f"00:0d:3a:00:01:0{index}")
        vnet.ensure_nic(lab, ports[name])
    server = subprocess.Popen(["ip", "netns", "exec", vnet.nic_namespace(lab, ports["server"].nic_id), sys.executable,
                               "-c", SERVER, "10.0.2.4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield lab, {name: vnet.nic_namespace(lab, port.nic_id) for name, port in ports.items()}, ports
    finally:
        server.kill()
        server.wait()
        for ns in vnet.lab_namespaces(lab):
            vnet.remove_namespace(ns)


def forwarded(ns: str) -> int:
    """Packets the namespace's kernel forwarded (Ip: ForwDatagrams)."""
    lines = [line.split() for line in vnet.in_namespace(ns, "cat", "/proc/net/snmp").stdout.splitlines()
             if line.startswith("Ip:")]
    return int(lines[1][lines[0].index("ForwDatagrams")])


@needs_root
def test_route_tables_decide_the_next_hop_in_the_router(hub):
    lab, ns, ports = hub
    client_table = vnet.SUBNET_TABLE_BASE
    rules = ((vnet.nic_veth_name(ports["client"].nic_id), client_table),)
    nics = tuple(port.nic_id for port in ports.values())
    assert wait_open(ns["client"], "10.0.2.4"), "no route table: the VNet routes directly"

    drop = RoutePlan(((client_table, routes.kernel_routes([udr("10.0.2.0/24", "None")], ["10.0.0.0/16"], UPLINK)),),
                     rules, nics)
    assert vnet.apply_routes(lab, VNET, drop) == []
    assert reach(ns["client"], "10.0.2.4") == "TimeoutError", "next hop None drops silently"
    assert reach(ns["nva"], "10.0.2.4") == "open", "only the client's subnet uses the table"

    via_nva = routes.kernel_routes([udr("10.0.2.0/24", "VirtualAppliance", "10.0.3.4")], ["10.0.0.0/16"], UPLINK)
    before = forwarded(ns["nva"])
    through_nva = RoutePlan(((client_table, via_nva),), rules, nics, (ports["nva"].nic_id,))
    assert vnet.apply_routes(lab, VNET, through_nva) == []
    assert reach(ns["client"], "10.0.2.4") == "open"
    assert forwarded(ns["nva"]) > before, "the flow went through the appliance"
    assert vnet.routes_in_place(lab, VNET, through_nva)
    # the appliance's NIC made again: the kernel dropped the route through its old interface
    vnet.remove_namespace(ns["nva"])
    vnet.ensure_nic(lab, ports["nva"])
    assert not vnet.routes_in_place(lab, VNET, through_nva)
    assert vnet.apply_routes(lab, VNET, through_nva) == [] and vnet.routes_in_place(lab, VNET, through_nva)
    assert reach(ns["client"], "10.0.2.4") == "open"
    # the appliance's NIC without IP forwarding: Azure drops what is not addressed to it
    assert vnet.apply_routes(lab, VNET, RoutePlan(((client_table, via_nva),), rules, nics)) == []
    assert reach(ns["client"], "10.0.2.4") != "open"

    # an appliance address no NIC holds (yet): dropped, and the plan is retried by a later pass
    unwired = routes.kernel_routes([udr("10.0.2.0/24", "VirtualAppliance", "10.0.3.9")], ["10.0.0.0/16"], UPLINK)
    assert vnet.apply_routes(lab, VNET, RoutePlan(((client_table, unwired),), rules, nics)) == ["10.0.3.9"]
    assert reach(ns["client"], "10.0.2.4") == "TimeoutError"

    default_via_nva = routes.kernel_routes([udr("0.0.0.0/0", "VirtualAppliance", "10.0.3.4")], ["10.0.0.0/16"], UPLINK)
    assert vnet.apply_routes(lab, VNET, RoutePlan(((client_table, default_via_nva),), rules, nics)) == []
    assert reach(ns["client"], "10.0.2.4") == "open", "the VNet's own route is longer than the default route"

    assert vnet.apply_routes(lab, VNET, RoutePlan(nics=nics)) == []
    router = vnet.vnet_namespace(lab, VNET)
    assert f"pref {vnet.ROUTE_RULE_PREFERENCE}" not in vnet.ip("rule", "show", ns=router).stdout
    assert str(client_table) not in vnet.ip("route", "show", "table", "all", ns=router).stdout
    assert reach(ns["client"], "10.0.2.4") == "open"
