"""Azure's NSG evaluation as the lab enforces it (azlab.dataplane.nsg): pure, no root needed."""

from __future__ import annotations

import ipaddress

from azlab.dataplane import nsg
from azlab.models.network.nsg import DEFAULT_RULES

TAGS = nsg.ServiceTags(virtual_network=(ipaddress.ip_network("10.0.0.0/16"),),
                       load_balancer=(ipaddress.ip_network("168.63.129.16/32"), ipaddress.ip_network("100.64.0.1/32")))
VM = "10.0.0.4"


def body(*rules) -> dict:
    """An NSG as ARM returns it: custom rules plus Azure's six default rules."""
    custom = [{"name": name, "properties": {"priority": priority, "direction": "Inbound", "access": access,
                                            "protocol": protocol, "sourceAddressPrefix": source,
                                            "destinationAddressPrefix": "*", "destinationPortRange": ports}}
              for name, priority, access, protocol, source, ports in rules]
    defaults = [{"name": name, "properties": {"priority": priority, "direction": direction, "access": access,
                                              "protocol": "*", "sourceAddressPrefix": source,
                                              "destinationAddressPrefix": destination, "destinationPortRange": "*"}}
                for name, priority, direction, access, source, destination, _ in DEFAULT_RULES]
    return {"properties": {"securityRules": custom, "defaultSecurityRules": defaults}}


WEBFARM = body(("allow-http", 100, "Allow", "Tcp", "Internet", "80"),
               ("allow-lb-probe", 120, "Allow", "Tcp", "AzureLoadBalancer", "80"),
               ("allow-ssh", 130, "Allow", "Tcp", "127.0.0.0/8", "22"))


def allowed(levels, port, **kw) -> list[str]:
    return [str(n) for n in nsg.allowed_sources(levels, VM, port, **kw)]


def inbound(nsg_body):
    return nsg.rules_of(nsg_body, "Inbound", TAGS)


def test_service_tags_in_the_lab():
    assert TAGS.expand("VirtualNetwork") == [ipaddress.ip_network("10.0.0.0/16")]
    assert TAGS.expand("*") == [nsg.EVERYTHING[4], nsg.EVERYTHING[6]]
    internet = TAGS.expand("Internet")
    assert any(ipaddress.ip_address("127.0.0.1") in n for n in internet), "the lab's clients are the Internet"
    assert not any(ipaddress.ip_address("10.0.0.9") in n for n in internet)
    assert not any(ipaddress.ip_address("168.63.129.16") in n for n in internet)
    assert TAGS.expand("Storage") == [] and TAGS.expand("Storage.EastUS") == [], "no lab address is Azure's"


def test_priority_order_and_first_match():
    rules = inbound(WEBFARM)
    assert [r.priority for r in rules] == sorted(r.priority for r in rules)
    # SSH: the admin prefix, the VNet (AllowVnetInBound 65000), the LB (AllowAzureLoadBalancerInBound 65001)
    assert allowed([rules], 22) == ["10.0.0.0/16", "100.64.0.1/32", "127.0.0.0/8", "168.63.129.16/32"]
    web = nsg.allowed_sources([rules], VM, 80)
    assert any(ipaddress.ip_address("127.0.0.1") in n for n in web)
    assert any(ipaddress.ip_address("168.63.129.16") in n for n in web), "probes allowed on 80"
    # nothing else from outside the VNet reaches another port
    assert allowed([rules], 8443) == ["10.0.0.0/16", "100.64.0.1/32", "168.63.129.16/32"]


def test_a_deny_before_an_allow_wins_and_after_it_does_not():
    deny_first = inbound(body(("deny-ssh", 100, "Deny", "Tcp", "127.0.0.5", "22"),
                              ("allow-ssh", 130, "Allow", "Tcp", "127.0.0.0/8", "22")))
    ssh = nsg.allowed_sources([deny_first], VM, 22)
    assert not any(ipaddress.ip_address("127.0.0.5") in n for n in ssh)
    assert any(ipaddress.ip_address("127.0.0.6") in n for n in ssh)
    allow_first = inbound(body(("allow-ssh", 100, "Allow", "Tcp", "127.0.0.0/8", "22"),
                               ("deny-ssh", 130, "Deny", "Tcp", "127.0.0.5", "22")))
    assert any(ipaddress.ip_address("127.0.0.5") in n for n in nsg.allowed_sources([allow_first], VM, 22))


def test_denying_azure_load_balancer_shuts_out_the_probes():
    rules = inbound(body(("deny-lb", 100, "Deny", "*", "AzureLoadBalancer", "*"),
                         ("allow-http", 110, "Allow", "Tcp", "Internet", "80")))
    web = nsg.allowed_sources([rules], VM, 80)
    assert not any(ipaddress.ip_address("168.63.129.16") in n for n in web)
    assert any(ipaddress.ip_address("127.0.0.1") in n for n in web)


def test_both_levels_must_allow_and_a_missing_level_allows_all():
    subnet = inbound(WEBFARM)
    nic = inbound(body(("deny-ssh", 100, "Deny", "Tcp", "*", "22")))
    assert allowed([subnet, nic], 22) == [], "a NIC deny wins over a subnet allow"
    assert allowed([subnet, None], 22) == allowed([subnet], 22)
    assert allowed([None, None], 22) == ["0.0.0.0/0"], "no NSG: everything, inside the VNet"


def test_secure_by_default_through_a_standard_load_balancer():
    assert allowed([None, None], 80, through_load_balancer=True) == []
    assert allowed([inbound(WEBFARM), None], 80, through_load_balancer=True) != []


def test_port_ranges_lists_and_protocols():
    rules = inbound(body(("allow-range", 100, "Allow", "Udp", "*", "50000-50010")))
    assert allowed([rules], 50005, protocol="udp") == ["0.0.0.0/0"]
    assert "0.0.0.0/0" not in allowed([rules], 50005, protocol="tcp")
    assert "0.0.0.0/0" not in allowed([rules], 50011, protocol="udp")


def test_iptables_rules_keep_the_order_and_return_on_allow():
    rules = inbound(body(("deny-ssh", 100, "Deny", "Tcp", "127.0.0.5", "22"),
                         ("allow-ssh", 130, "Allow", "Tcp", "127.0.0.0/8", "22")))
    lines = nsg.iptables_rules(rules, 4)
    assert lines[0] == ["-s", "127.0.0.5/32", "-p", "tcp", "--dport", "22", "-j", "DROP"]
    assert lines[1] == ["-s", "127.0.0.0/8", "-p", "tcp", "--dport", "22", "-j", "RETURN"]
    assert lines[-1] == ["-j", "DROP"], "DenyAllInBound ends the chain"
    # AllowVnetInBound: source and destination both the VNet's space
    assert ["-s", "10.0.0.0/16", "-d", "10.0.0.0/16", "-j", "RETURN"] in lines
    # a protocol-less rule with ports applies to TCP and UDP
    both = nsg.iptables_rules(inbound(body(("any-80", 100, "Allow", "*", "*", "80"))), 4)
    assert both[:2] == [["-p", "tcp", "--dport", "80", "-j", "RETURN"], ["-p", "udp", "--dport", "80", "-j", "RETURN"]]


def test_application_security_groups_match_their_members_addresses():
    """A rule naming a group as source (or destination) matches its members' addresses only."""
    web_asg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/web"
    tags = nsg.ServiceTags(virtual_network=TAGS.virtual_network, load_balancer=TAGS.load_balancer,
                           groups=((web_asg.lower(), (ipaddress.ip_network("10.0.0.5/32"),)),))
    rules = body(("deny-vnet", 200, "Deny", "*", "VirtualNetwork", "*"))
    from_web = {"name": "web-to-db", "properties": {
        "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "sourceApplicationSecurityGroups": [{"id": web_asg}], "destinationAddressPrefix": "*",
        "destinationPortRange": "5432"}}
    rules["properties"]["securityRules"].append(from_web)
    sources = [str(n) for n in nsg.allowed_sources([nsg.rules_of(rules, "Inbound", tags)], VM, 5432)]
    assert "10.0.0.5/32" in sources and not any(n.startswith("10.0.0.6") or n == "10.0.0.0/16" for n in sources)


DUAL = nsg.ServiceTags(virtual_network=(ipaddress.ip_network("10.0.0.0/16"), ipaddress.ip_network("fd12::/48")),
                       load_balancer=(ipaddress.ip_network("168.63.129.16/32"),
                                      ipaddress.ip_network("fe80::1234:5678:9abc/128")))
VM6 = "fd12::4"


def test_an_ipv6_flow_is_judged_by_the_rules_ipv6_addresses():
    rules = nsg.rules_of(body(("allow-http", 100, "Allow", "Tcp", "Internet", "80"),
                              ("deny-doc-net", 90, "Deny", "Tcp", "2001:db8::/32", "80"),
                              ("allow-v4-admin", 110, "Allow", "Tcp", "203.0.113.0/24", "22")), "Inbound", DUAL)
    web = nsg.allowed_sources([rules], VM6, 80)
    assert all(n.version == 6 for n in web), "an IPv6 destination has IPv6 sources only"
    assert any(ipaddress.ip_address("fd61:7a6c:6162::7f40:2") in n for n in web), "the lab's IPv6 clients are Internet"
    assert not any(ipaddress.ip_address("2001:db8::1") in n for n in web)
    assert any(ipaddress.ip_address("fe80::1234:5678:9abc") in n for n in web), "the IPv6 probe source (AzureLoadBalancer)"
    # an IPv4-only rule allows no IPv6 source
    assert [str(n) for n in nsg.allowed_sources([rules], VM6, 22)] == ["fd12::/48", "fe80::1234:5678:9abc/128"]


def test_ip6tables_rules_keep_to_the_ipv6_addresses():
    rules = nsg.rules_of(body(("deny-doc-net", 90, "Deny", "Tcp", "2001:db8::/32", "80"),
                              ("allow-v4-admin", 110, "Allow", "Tcp", "203.0.113.0/24", "22"),
                              ("allow-ping", 120, "Allow", "Icmp", "*", "*")), "Inbound", DUAL)
    v6 = nsg.iptables_rules(rules, 6)
    assert v6[0] == ["-s", "2001:db8::/32", "-p", "tcp", "--dport", "80", "-j", "DROP"]
    assert not any("203.0.113.0/24" in line for line in v6), "an IPv4 rule matches nothing on IPv6"
    assert ["-p", "ipv6-icmp", "-j", "RETURN"] in v6
    assert ["-s", "fd12::/48", "-d", "fd12::/48", "-j", "RETURN"] in v6, "AllowVnetInBound, IPv6 space"
    assert v6[-1] == ["-j", "DROP"]
    v4 = nsg.iptables_rules(rules, 4)
    assert not any("2001:db8::/32" in line for line in v4)
    assert ["-p", "icmp", "-j", "RETURN"] in v4
    table = nsg.filter_table([nsg.NicSecurity("nabc", ("AZ-N-1-I", tuple(rules)), None, None, None)], 6)
    assert "-A AZ-N-1-I -s 2001:db8::/32 -p tcp --dport 80 -j DROP" in table
