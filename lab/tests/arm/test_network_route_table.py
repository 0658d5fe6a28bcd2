"""Route tables over HTTP (in-process): Azure's shape, route validation naming the property,
the routes child route, the subnets back-reference, in-use delete, next hops the lab has
no part for refused."""

from __future__ import annotations

import pytest
from test_network_support import Net


@pytest.fixture
def net(arm) -> Net:
    return Net(arm)


def route(name="to-nva", prefix="0.0.0.0/0", hop="VirtualAppliance", address="10.0.3.4"):
    props = {"addressPrefix": prefix, "nextHopType": hop}
    if address:
        props["nextHopIpAddress"] = address
    return {"name": name, "properties": props}


def table(net: Net, *routes, name="rt1", **props):
    return net.put(f"routeTables/{name}", {"location": "eastus", "properties": {"routes": list(routes), **props}})


def test_a_route_table_is_stored_in_azures_shape(net):
    rt = net.ok(table(net, route(), route("drop-db", "10.0.2.0/24", "none", None)), 201)
    assert rt["type"] == "Microsoft.Network/routeTables"
    assert rt["properties"]["provisioningState"] == "Succeeded"
    assert rt["properties"]["disableBgpRoutePropagation"] is False
    nva, drop = rt["properties"]["routes"]
    assert nva["id"] == net.id("routeTables/rt1/routes/to-nva")
    assert nva["type"] == "Microsoft.Network/routeTables/routes"
    assert nva["properties"] == {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                                 "nextHopIpAddress": "10.0.3.4", "hasBgpOverride": False,
                                 "provisioningState": "Succeeded"}
    assert drop["properties"]["nextHopType"] == "None", "Azure answers in its own spelling"
    assert "nextHopIpAddress" not in drop["properties"]


@pytest.mark.parametrize("bad, code, target", [
    (route(address=None), "InvalidRouteNextHopIpAddress", "properties.routes[0].properties.nextHopIpAddress"),
    (route(hop="Internet"), "NextHopIpAddressNotAllowed", "properties.routes[0].properties.nextHopIpAddress"),
    (route(address="10.0.3"), "InvalidParameter", "properties.routes[0].properties.nextHopIpAddress"),
    (route(prefix="10.0.2.1/24"), "InvalidRouteAddressPrefix", "properties.routes[0].properties.addressPrefix"),
    (route(prefix="AzureCloud"), "InvalidRouteAddressPrefix", "properties.routes[0].properties.addressPrefix"),
    (route(hop="Gateway", address=None), "InvalidRequestFormat", "properties.routes[0].properties.nextHopType"),
    (route(hop="VirtualNetworkGateway", address=None), "InvalidParameter",
     "properties.routes[0].properties.nextHopType"),
    ({"name": "r", "properties": {"nextHopType": "None"}}, "InvalidRequestFormat",
     "properties.routes[0].properties.addressPrefix"),
])
def test_bad_routes_are_refused_naming_the_property(net, bad, code, target):
    error = net.error(table(net, bad), 400, code, target)
    assert net.get("routeTables/rt1").status_code == 404, "nothing is created"
    assert error["message"]


def test_a_virtual_network_gateway_hop_says_the_lab_has_no_gateways(net):
    error = net.error(table(net, route(hop="VirtualNetworkGateway", address=None)), 400, "InvalidParameter")
    assert "does not emulate" in error["message"]


def test_one_route_per_prefix(net):
    error = net.error(table(net, route("a", "10.0.2.0/24", "None", None), route("b", "10.0.2.0/24", "Internet", None)),
                      400, "RouteConflict", "properties.routes[1].properties.addressPrefix")
    assert "'a'" in error["message"] and "'b'" in error["message"]


def test_routes_child_route_adds_replaces_and_removes_one_route(net):
    net.ok(table(net))
    created = net.ok(net.put("routeTables/rt1/routes/drop-db", {"properties": {"addressPrefix": "10.0.2.0/24",
                                                                                "nextHopType": "None"}}), 201)
    assert created["id"] == net.id("routeTables/rt1/routes/drop-db")
    assert net.ok(net.get("routeTables/rt1/routes/drop-db"))["properties"]["nextHopType"] == "None"
    assert [r["name"] for r in net.ok(net.get("routeTables/rt1"))["properties"]["routes"]] == ["drop-db"]
    net.ok(net.put("routeTables/rt1/routes/drop-db", {"properties": {"addressPrefix": "10.0.2.0/24",
                                                                     "nextHopType": "Internet"}}), 200)
    assert net.ok(net.get("routeTables/rt1/routes"))["value"][0]["properties"]["nextHopType"] == "Internet"
    assert net.delete("routeTables/rt1/routes/drop-db").status_code in (200, 202)
    assert net.get("routeTables/rt1/routes/drop-db").status_code == 404
    assert net.ok(net.get("routeTables/rt1"))["properties"]["routes"] == []


def test_a_route_table_lists_its_subnets_and_cannot_be_deleted_in_use(net):
    net.ok(table(net, route("drop-all", "0.0.0.0/0", "None", None)))
    net.ok(net.vnet(subnets=[]))
    net.ok(net.put("virtualNetworks/vnet1/subnets/web", {"properties": {
        "addressPrefix": "10.0.1.0/24", "routeTable": net.ref("routeTables/rt1")}}))
    rt = net.ok(net.get("routeTables/rt1"))
    assert rt["properties"]["subnets"] == [net.subnet_ref()]
    subnet = net.ok(net.get("virtualNetworks/vnet1/subnets/web"))
    assert subnet["properties"]["routeTable"] == net.ref("routeTables/rt1")
    error = net.error(net.delete("routeTables/rt1"), 400, "InUseRouteTableCannotBeDeleted")
    assert net.subnet_ref()["id"] in error["message"]
    assert net.get("routeTables/rt1").status_code == 200
    net.ok(net.put("virtualNetworks/vnet1/subnets/web", {"properties": {"addressPrefix": "10.0.1.0/24"}}))
    assert net.delete("routeTables/rt1").status_code in (200, 202)
    assert net.get("routeTables/rt1").status_code == 404


def test_a_subnet_naming_a_missing_route_table_is_refused(net):
    net.ok(net.vnet(subnets=[]))
    error = net.error(net.put("virtualNetworks/vnet1/subnets/web", {"properties": {
        "addressPrefix": "10.0.1.0/24", "routeTable": net.ref("routeTables/nope")}}), 400, "InvalidResourceReference")
    assert "nope" in error["message"]


def test_route_tables_are_listed(net):
    net.ok(table(net))
    net.ok(table(net, name="rt2"))
    names = {rt["name"] for rt in net.ok(net.arm.get(f"/resourceGroups/{net.rg}/providers/Microsoft.Network/routeTables",
                                                     api="2024-05-01"))["value"]}
    assert names == {"rt1", "rt2"}
