# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks of the tier's network: VNet and subnet, admin sources, the load balancer's
ports and probe, and the inbound NAT frontend ports of both variants (pure functions)."""

from __future__ import absolute_import, division, print_function

import ipaddress

from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_rules import in_range, var

__metaclass__ = type

# VNet address space: RFC 1918 and the shared range RFC 6598 that Azure accepts as private
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'))
# addresses Azure takes in every subnet (network, gateway, 2 x DNS, broadcast)
AZURE_RESERVED_PER_SUBNET = 5
# NSG source values that mean "the whole Internet"
INTERNET_SOURCES = frozenset(('*', 'internet', 'any', '0.0.0.0/0', '::/0'))
MAX_NAT_FRONTEND_PORT = 65534


def _parse_network(params, name, errors):
    text = str(params[name] or '')
    if '/' not in text:
        errors.append('{0}: {1!r} is not in CIDR notation; write it with its prefix length, such as '
                      '10.0.0.0/16'.format(var(name), text))
        return None
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        errors.append('{0}: {1!r} is not a valid IPv4 network in CIDR notation such as 10.0.0.0/16 '
                      '({2})'.format(var(name), text, exc))
        return None
    return network


def check_network(params, errors):
    """Checks the VNet, the subnet and the admin sources; returns the subnet when it is valid
    enough to count its addresses (for ``check_subnet_room``), else None."""
    vnet = _parse_network(params, 'vnet_cidr', errors)
    subnet = _parse_network(params, 'subnet_cidr', errors)
    if vnet is not None and not any(vnet.subnet_of(r) for r in PRIVATE_RANGES):
        errors.append('{0}: {1} is not a private range; use addresses inside {2}'.format(
            var('vnet_cidr'), vnet, ', '.join(str(r) for r in PRIVATE_RANGES)))
    _check_admin_sources(params, errors)
    if subnet is None:
        return None
    if vnet is not None and not subnet.subnet_of(vnet):
        errors.append('{0}: {1} is not inside {2} {3}'.format(var('subnet_cidr'), subnet, var('vnet_cidr'), vnet))
    if subnet.prefixlen > 29:
        errors.append('{0}: {1} is too small; Azure subnets are /29 or larger'.format(var('subnet_cidr'), subnet))
        return None
    return subnet


def check_subnet_room(subnet, needed, why, errors):
    """``needed`` addresses must fit beside Azure's reserved ones; ``why`` says who needs them."""
    usable = subnet.num_addresses - AZURE_RESERVED_PER_SUBNET
    if usable < needed:
        errors.append('{0}: {1} has {2} usable addresses (Azure reserves {3}) but {4}'.format(
            var('subnet_cidr'), subnet, usable, AZURE_RESERVED_PER_SUBNET, why))


def _check_admin_sources(params, errors):
    sources = params['admin_source_prefixes'] or []
    if not sources:
        errors.append('{0}: must list at least one address or CIDR allowed to reach the VMs over SSH/RDP/WinRM '
                      '(for example your office network 203.0.113.0/24)'.format(var('admin_source_prefixes')))
    for source in sources:
        text = str(source).strip()
        if text.lower() in INTERNET_SOURCES or _is_whole_internet(text):
            if not params['allow_admin_from_internet']:
                errors.append('{0}: {1!r} opens SSH/RDP/WinRM to the whole Internet; list your admin networks '
                              'instead, or set webfarm_allow_admin_from_internet: true to accept that '
                              'risk'.format(var('admin_source_prefixes'), text))
            continue
        try:
            ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            errors.append('{0}: {1!r} is not an IP address or CIDR ({2})'.format(
                var('admin_source_prefixes'), text, exc))


def _is_whole_internet(text):
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen == 0
    except ValueError:
        return False


# --- ports and probe ---------------------------------------------------------

def check_ports(params, errors):
    """Checks the web ports and the probe; returns whether every port is a valid port number
    (only then can the NAT frontend ports be compared with them)."""
    http_ok = in_range(params, 'http_port', 1, 65535, errors)
    https_ok = in_range(params, 'https_port', 1, 65535, errors)
    probe_ok = in_range(params, 'probe_port', 1, 65535, errors)
    if params['https_enabled'] and http_ok and https_ok and params['https_port'] == params['http_port']:
        errors.append('{0}: {1} is also webfarm_http_port; the HTTP and HTTPS rules need different '
                      'frontend ports'.format(var('https_port'), params['https_port']))
    path = params['probe_path'] or ''
    if not path.startswith('/'):
        errors.append('{0}: {1!r} must start with "/" (an HTTP path such as /healthz)'.format(var('probe_path'), path))
    in_range(params, 'probe_interval', 5, 2147483646, errors, ' (seconds; Azure probes at least every 5 s)')
    in_range(params, 'probe_threshold', 1, 100, errors)
    return http_ok and https_ok and probe_ok


def web_ports(params, with_probe=False):
    """(variable, port) of the ports the load balancer serves, which NAT ports must avoid."""
    ports = [('webfarm_http_port', params['http_port'])]
    if params['https_enabled']:
        ports.append(('webfarm_https_port', params['https_port']))
    if with_probe:
        ports.append(('webfarm_probe_port', params['probe_port']))
    return ports


def check_nat_base(params, errors, rule):
    """The NAT frontend port base must be a port; ``rule`` says how ports follow from it."""
    base = params['nat_frontend_port_base']
    if base < 1:
        errors.append('{0}: {1} must be at least 1 ({2})'.format(var('nat_frontend_port_base'), base, rule))
        return False
    return True


def check_nat_overlap(first, last, ports, what, errors):
    """NAT frontend ports ``first``-``last`` must not include a port of ``ports`` (web_ports)."""
    for name, port in ports:
        if first <= port <= last:
            errors.append('{0}: the {1} {2}-{3} include {4} {5}; move the NAT range or the web '
                          'port'.format(var('nat_frontend_port_base'), what, first, last, name, port))


def check_nat_rules(params, errors, ports_ok):
    """The availability-set variant: VM N is reached on frontend port base + N."""
    base, count = params['nat_frontend_port_base'], params['vm_count']
    if not check_nat_base(params, errors, 'VM N gets frontend port base + N'):
        return
    if base + count > MAX_NAT_FRONTEND_PORT:
        errors.append('{0}: NAT range overflow: {1} + webfarm_vm_count {2} = {3} is above {4}, the highest '
                      'frontend port of an inbound NAT rule'.format(
                          var('nat_frontend_port_base'), base, count, base + count, MAX_NAT_FRONTEND_PORT))
        return
    if ports_ok:
        check_nat_overlap(base + 1, base + count, web_ports(params), 'NAT frontend ports', errors)
