"""Unit tests of the small Microsoft.Network rules that need no HTTP round trip."""

from __future__ import annotations

import ipaddress

import pytest

from azlab.models.network.addressing import is_reserved
from azlab.models.network.lb import protocols
from azlab.models.network.lb_members import backend_name
from azlab.models.network.lb_health import backend_state
from azlab.models.network.nic import mac_address
from azlab.models.network.nsg import valid_address_prefix, valid_port_range
from azlab.models.network.vnet import parse_cidr


@pytest.mark.parametrize("value, ok", [
    ("*", True), ("0", True), ("65535", True), ("80-443", True), ("80-80", True),
    ("65536", False), ("443-80", False), ("1-2-3", False), ("http", False), ("", False), ("-1", False),
])
def test_port_ranges(value, ok):
    assert valid_port_range(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("*", True), ("internet", True), ("AzureLoadBalancer", True), ("Sql.WestEurope", True), ("Sql.Atlantis", False),
    ("10.0.0.0/8", True), ("10.0.0.1", True), ("fd00::/8", True), ("Narnia", False), ("10.0.0.0/33", False),
])
def test_address_prefixes(value, ok):
    assert valid_address_prefix(value) is ok


@pytest.mark.parametrize("prefix, network, exact", [
    ("10.0.0.0/16", "10.0.0.0/16", True),
    ("10.0.5.0/16", "10.0.0.0/16", False),
    ("2001:db8::/32", "2001:db8::/32", True),
])
def test_parse_cidr(prefix, network, exact):
    assert parse_cidr(prefix) == (ipaddress.ip_network(network), exact)


@pytest.mark.parametrize("prefix", ["10.0.0.0", "10.0.0.0/33", 10, "banana/8"])
def test_parse_cidr_refuses_non_cidr(prefix):
    with pytest.raises(ValueError):
        parse_cidr(prefix)


def test_azure_reserves_first_four_and_last_address():
    network = ipaddress.ip_network("10.0.1.0/24")
    reserved = [str(a) for a in network if is_reserved(network, a)]
    assert reserved == ["10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"]


def test_mac_address_is_stable_and_case_insensitive_in_the_id():
    nic = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1"
    assert mac_address(nic) == mac_address(nic.upper())
    assert mac_address(nic).startswith("00-0D-3A-")
    assert mac_address(nic) != mac_address(nic + "x")


def test_nic_backend_is_named_as_azure_names_it():
    config = {"id": "/subscriptions/s/resourceGroups/app-rg/providers/Microsoft.Network/networkInterfaces/vm1-nic1"
                    "/ipConfigurations/ipconfig1"}
    assert backend_name(config) == "app-rg_vm1-nic1ipconfig1"


@pytest.mark.parametrize("admin, probe, event, state, reason", [
    ("Up", {"id": "p"}, {"state": "Down", "reason": "x"}, "Up", "Up_Admin"),
    ("Down", {"id": "p"}, {"state": "Up", "reason": "x"}, "Down", "Down_Admin"),
    ("None", None, None, "Up", "Up_NoProbe"),
    ("None", {"id": "p"}, None, "Down", "Down_NoProbeResult"),
    ("None", {"id": "p"}, {"state": "Up", "reason": ""}, "Up", "Up_Probe_Success"),
    ("None", {"id": "p"}, {"state": "Down", "reason": "Down_Probe_Timeout"}, "Down", "Down_Probe_Timeout"),
])
def test_backend_state(admin, probe, event, state, reason):
    got_state, got_reason = backend_state(admin, probe, event)
    assert got_state == state and got_reason.startswith(reason)


def test_protocol_all_covers_tcp_and_udp():
    assert protocols("All") == {"Tcp", "Udp"} and protocols("Udp") == {"Udp"}
