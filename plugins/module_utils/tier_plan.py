# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and naming of the webfarm tier.

Pure functions: no Azure call, no I/O. ``validate`` returns every problem found (so a
user fixes all of them in one round), each naming the variable as the user writes it
(``webfarm_subnet_cidr``) and the rule it breaks. ``build_plan`` turns valid inputs into
the resource names of seed 000. Secrets (the admin password, whatever was given as an
SSH key) are never part of a message.
"""

from __future__ import absolute_import, division, print_function

import base64
import binascii
import ipaddress
import re
import struct

__metaclass__ = type

VAR_PREFIX = 'webfarm_'

APP_RE = re.compile(r'^[a-z][a-z0-9-]{0,14}$')
ENV_RE = re.compile(r'^[a-z0-9]{1,10}$')
# Azure: 1-90 characters, letters (Unicode), digits, underscore, hyphen, period, parentheses
RESOURCE_GROUP_RE = re.compile(r'^[-\w.()]{1,90}$')
# the intersection of Azure's Linux and Windows admin user name rules
ADMIN_USERNAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]{0,19}$')
TAG_KEY_FORBIDDEN = set('<>%&\\?/')

# user names Azure refuses for VM administrators (Linux and Windows)
RESERVED_ADMIN_USERNAMES = frozenset((
    '1', '123', 'a', 'actuser', 'adm', 'admin', 'admin1', 'admin2', 'administrator',
    'aspnet', 'backup', 'console', 'david', 'guest', 'john', 'owner', 'root', 'server',
    'sql', 'support', 'support_388945a0', 'sys', 'test', 'test1', 'test2', 'test3',
    'user', 'user1', 'user2', 'user3', 'user4', 'user5',
))
# passwords Azure refuses for Windows VMs even though they meet the complexity rule
DISALLOWED_PASSWORDS = frozenset(p.lower() for p in (
    'abc@123', 'iloveyou!', 'P@$$w0rd', 'P@ssw0rd', 'P@ssword123', 'Pa$$word',
    'pass@word1', 'Password!', 'Password1', 'Password22', 'Password123!',
))

# VNet address space: RFC 1918 and the shared range RFC 6598 that Azure accepts as private
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'))
# addresses Azure takes in every subnet (network, gateway, 2 x DNS, broadcast)
AZURE_RESERVED_PER_SUBNET = 5
# NSG source values that mean "the whole Internet"
INTERNET_SOURCES = frozenset(('*', 'internet', 'any', '0.0.0.0/0', '::/0'))

OS_TYPES = ('Linux', 'Windows')
OS_DISK_TYPES = ('Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS')
WINDOWS_NAT_RULE_PREFIX = {3389: 'rdp', 5986: 'winrm'}
LINUX_NAT_BACKEND_PORT = 22
SSH_KEY_TYPES = ('ssh-rsa', 'ssh-ed25519')
SSH_ECDSA_PREFIX = 'ecdsa-sha2-'
IMAGE_FIELDS = ('publisher', 'offer', 'sku', 'version')

MAX_VMS_PER_AVAILABILITY_SET = 200
MAX_NAT_FRONTEND_PORT = 65534
MAX_RESOURCE_NAME = 80
MAX_COMPUTER_NAME = {'Linux': 64, 'Windows': 15}
MAX_TAGS = 50


class TierPlanError(Exception):
    """The inputs break one or more rules; ``errors`` lists every one of them."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(TierPlanError, self).__init__(format_errors(self.errors))


def var(name):
    return VAR_PREFIX + name


def format_errors(errors):
    count = len(errors)
    head = 'webfarm tier inputs are invalid ({0} problem{1}):'.format(count, '' if count == 1 else 's')
    return '\n'.join([head] + ['- ' + error for error in errors])


def _in_range(params, name, low, high, errors, what=''):
    value = params[name]
    if not low <= value <= high:
        errors.append('{0}: {1} is out of range{2}; it must be between {3} and {4}'.format(
            var(name), value, what, low, high))
        return False
    return True


def _non_empty(params, name, errors, rule):
    value = params[name]
    if value is None or not str(value).strip():
        errors.append('{0}: must not be empty ({1})'.format(var(name), rule))


# --- names -----------------------------------------------------------------

def _check_names(params, errors):
    if not APP_RE.match(params['app'] or ''):
        errors.append('{0}: {1!r} is not a valid application name; it must be 1-15 characters of lowercase '
                      'letters, digits and hyphens, starting with a letter (it prefixes every resource and '
                      'VM name)'.format(var('app'), params['app']))
    if not ENV_RE.match(params['env'] or ''):
        errors.append('{0}: {1!r} is not a valid environment name; it must be 1-10 lowercase letters or '
                      'digits'.format(var('env'), params['env']))
    _non_empty(params, 'location', errors, 'an Azure region name such as westeurope')
    group = resource_group_name(params)
    if not RESOURCE_GROUP_RE.match(group) or group.endswith('.'):
        errors.append('{0}: {1!r} is not a valid resource group name; Azure allows 1-90 letters, digits, '
                      'underscores, hyphens, periods and parentheses, not ending with a period'.format(
                          var('resource_group'), group))
    _check_tags(params['tags'] or {}, errors)
    _check_derived_name_lengths(params, errors)


def _check_tags(tags, errors):
    if len(tags) + 2 > MAX_TAGS:
        errors.append('{0}: {1} tags plus webfarm_app and webfarm_env exceed the {2} tags Azure allows on a '
                      'resource'.format(var('tags'), len(tags), MAX_TAGS))
    for key, value in tags.items():
        key = str(key)
        if not 1 <= len(key) <= 512 or TAG_KEY_FORBIDDEN.intersection(key):
            errors.append('{0}: tag name {1!r} is invalid; Azure tag names are 1-512 characters without any of '
                          '< > % & \\ ? /'.format(var('tags'), key))
        if value is None or isinstance(value, (dict, list)) or len(str(value)) > 256:
            errors.append('{0}: the value of tag {1!r} must be a string of at most 256 characters'.format(
                var('tags'), key))


def _check_derived_name_lengths(params, errors):
    """Names built from webfarm_app must fit Azure's limits (VM names are computer names)."""
    if not params['app'] or params['os_type'] not in MAX_COMPUTER_NAME or params['vm_count'] < 1:
        return  # reported by their own rules
    longest_vm = vm_name(params['app'], params['vm_count'])
    limit = MAX_COMPUTER_NAME[params['os_type']]
    if len(longest_vm) > limit:
        room = limit - len(longest_vm) + len(params['app'])
        errors.append('{0}: VM name {1!r} would be {2} characters but a {3} computer name is at most {4}; with '
                      'webfarm_vm_count {5} webfarm_app can be at most {6} characters'.format(
                          var('app'), longest_vm, len(longest_vm), params['os_type'], limit,
                          params['vm_count'], room))
    names = list(tier_names(params['app']).values())
    names.extend(vm_resource_names(params['app'], params['vm_count']).values())
    longest = max(names, key=len)
    if len(longest) > MAX_RESOURCE_NAME:
        errors.append('{0}: resource name {1!r} would be {2} characters; Azure resource names are at most '
                      '{3}'.format(var('app'), longest, len(longest), MAX_RESOURCE_NAME))


# --- network -----------------------------------------------------------------

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


def _check_network(params, errors):
    vnet = _parse_network(params, 'vnet_cidr', errors)
    subnet = _parse_network(params, 'subnet_cidr', errors)
    if vnet is not None and not any(vnet.subnet_of(r) for r in PRIVATE_RANGES):
        errors.append('{0}: {1} is not a private range; use addresses inside {2}'.format(
            var('vnet_cidr'), vnet, ', '.join(str(r) for r in PRIVATE_RANGES)))
    if subnet is not None:
        if vnet is not None and not subnet.subnet_of(vnet):
            errors.append('{0}: {1} is not inside {2} {3}'.format(var('subnet_cidr'), subnet, var('vnet_cidr'), vnet))
        if subnet.prefixlen > 29:
            errors.append('{0}: {1} is too small; Azure subnets are /29 or larger'.format(var('subnet_cidr'), subnet))
        else:
            usable = subnet.num_addresses - AZURE_RESERVED_PER_SUBNET
            if usable < params['vm_count']:
                errors.append('{0}: {1} has {2} usable addresses (Azure reserves {3}) but webfarm_vm_count is '
                              '{4}'.format(var('subnet_cidr'), subnet, usable, AZURE_RESERVED_PER_SUBNET,
                                           params['vm_count']))
    _check_admin_sources(params, errors)


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

def _check_ports(params, errors):
    http_ok = _in_range(params, 'http_port', 1, 65535, errors)
    https_ok = _in_range(params, 'https_port', 1, 65535, errors)
    _in_range(params, 'probe_port', 1, 65535, errors)
    if params['https_enabled'] and http_ok and https_ok and params['https_port'] == params['http_port']:
        errors.append('{0}: {1} is also webfarm_http_port; the HTTP and HTTPS rules need different '
                      'frontend ports'.format(var('https_port'), params['https_port']))
    path = params['probe_path'] or ''
    if not path.startswith('/'):
        errors.append('{0}: {1!r} must start with "/" (an HTTP path such as /healthz)'.format(var('probe_path'), path))
    _in_range(params, 'probe_interval', 5, 2147483646, errors, ' (seconds; Azure probes at least every 5 s)')
    _in_range(params, 'probe_threshold', 1, 100, errors)
    _check_nat_range(params, errors, web_ports_ok=http_ok and https_ok)


def _check_nat_range(params, errors, web_ports_ok):
    base, count = params['nat_frontend_port_base'], params['vm_count']
    if base < 1:
        errors.append('{0}: {1} must be at least 1 (VM N gets frontend port base + N)'.format(
            var('nat_frontend_port_base'), base))
        return
    if base + count > MAX_NAT_FRONTEND_PORT:
        errors.append('{0}: NAT range overflow: {1} + webfarm_vm_count {2} = {3} is above {4}, the highest '
                      'frontend port of an inbound NAT rule'.format(
                          var('nat_frontend_port_base'), base, count, base + count, MAX_NAT_FRONTEND_PORT))
        return
    if not web_ports_ok:
        return
    web_ports = [('webfarm_http_port', params['http_port'])]
    if params['https_enabled']:
        web_ports.append(('webfarm_https_port', params['https_port']))
    for name, port in web_ports:
        if base < port <= base + count:
            errors.append('{0}: the NAT frontend ports {1}-{2} include {3} {4}; move the NAT range or the web '
                          'port'.format(var('nat_frontend_port_base'), base + 1, base + count, name, port))


# --- availability set -------------------------------------------------------------

def _check_availability(params, errors):
    _in_range(params, 'fault_domains', 1, 3, errors, ' (Azure availability sets have 1-3 fault domains)')
    _in_range(params, 'update_domains', 1, 20, errors, ' (Azure availability sets have 1-20 update domains)')
    count = params['vm_count']
    if count < 1:
        errors.append('{0}: {1} must be at least 1'.format(var('vm_count'), count))
    elif count < 2 and not params['allow_single_vm']:
        errors.append('{0}: {1} VM has no availability SLA (Azure needs at least 2 VMs in the set); use 2 or '
                      'more, or set webfarm_allow_single_vm: true'.format(var('vm_count'), count))
    elif count > MAX_VMS_PER_AVAILABILITY_SET:
        errors.append('{0}: {1} is more than the {2} VMs an availability set can hold'.format(
            var('vm_count'), count, MAX_VMS_PER_AVAILABILITY_SET))


# --- virtual machines ----------------------------------------------------------------

def _check_vm(params, errors):
    if params['os_type'] not in OS_TYPES:
        errors.append('{0}: {1!r} must be one of {2}'.format(var('os_type'), params['os_type'], ', '.join(OS_TYPES)))
    _non_empty(params, 'vm_size', errors, 'an Azure VM size such as Standard_B1s')
    image = params['vm_image'] or {}
    missing = [f for f in IMAGE_FIELDS if not str(image.get(f) or '').strip()]
    if missing:
        errors.append('{0}: needs non-empty {1} (a marketplace image: publisher, offer, sku, version)'.format(
            var('vm_image'), ', '.join(missing)))
    if params['os_disk_type'] not in OS_DISK_TYPES:
        errors.append('{0}: {1!r} must be one of {2}'.format(
            var('os_disk_type'), params['os_disk_type'], ', '.join(OS_DISK_TYPES)))
    if params['data_disk_size_gb'] != 0:
        _in_range(params, 'data_disk_size_gb', 1, 32767, errors, ' (0 means no data disk)')
    if params['windows_nat_backend_port'] not in WINDOWS_NAT_RULE_PREFIX:
        errors.append('{0}: {1} must be 3389 (RDP) or 5986 (WinRM over HTTPS)'.format(
            var('windows_nat_backend_port'), params['windows_nat_backend_port']))
    _non_empty(params, 'app_version', errors, 'the version shown on the app page')
    _check_admin_username(params['admin_username'] or '', errors)


def _check_admin_username(username, errors):
    if not ADMIN_USERNAME_RE.match(username):
        errors.append('{0}: {1!r} is not a valid admin user name; use 1-20 letters, digits, hyphens or '
                      'underscores, not starting with a digit or hyphen'.format(var('admin_username'), username))
    elif username.lower() in RESERVED_ADMIN_USERNAMES:
        errors.append('{0}: {1!r} is reserved; Azure refuses it as a VM admin user name'.format(
            var('admin_username'), username))


# --- credentials (never echoed) -------------------------------------------------------

def _check_credentials(params, errors):
    if params['os_type'] == 'Linux':
        _check_ssh_public_key(params['ssh_public_key'] or '', errors)
    elif params['os_type'] == 'Windows':
        _check_admin_password(params['admin_password'] or '', params['admin_username'] or '', errors)


def _check_ssh_public_key(key, errors):
    name = var('ssh_public_key')
    key = key.strip()
    if not key:
        errors.append('{0}: is required for Linux VMs (they allow SSH key login only); give the content of '
                      'a public key file such as ~/.ssh/id_ed25519.pub'.format(name))
    elif 'PRIVATE KEY' in key.upper() or key.startswith('PuTTY-User-Key-File'):
        errors.append('{0}: looks like a PRIVATE key (value not shown); give the public key (the .pub file) and '
                      'keep the private key out of your variables'.format(name))
    elif not _is_openssh_public_key(key):
        errors.append('{0}: is not one OpenSSH public key line "<type> <base64> [comment]" with type ssh-rsa, '
                      'ssh-ed25519 or ecdsa-sha2-* (value not shown)'.format(name))


def _is_openssh_public_key(key):
    if '\n' in key:
        return False
    fields = key.split()
    if len(fields) < 2:
        return False
    key_type = fields[0]
    if key_type not in SSH_KEY_TYPES and not key_type.startswith(SSH_ECDSA_PREFIX):
        return False
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    # the blob starts with the key type again, as a length-prefixed string
    if len(blob) < 4:
        return False
    length = struct.unpack('>I', blob[:4])[0]
    return blob[4:4 + length] == key_type.encode('ascii')


def _check_admin_password(password, username, errors):
    name = var('admin_password')
    if not password:
        errors.append('{0}: is required for Windows VMs (keep it in Ansible Vault)'.format(name))
        return
    if not 12 <= len(password) <= 123:
        errors.append('{0}: Azure requires 12 to 123 characters (value not shown)'.format(name))
    classes = sum((
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ))
    if classes < 3:
        errors.append('{0}: Azure requires at least 3 of: a lowercase letter, an uppercase letter, a digit, a '
                      'special character (value not shown)'.format(name))
    if password.lower() in DISALLOWED_PASSWORDS:
        errors.append('{0}: is one of the common passwords Azure refuses (value not shown)'.format(name))
    if username and username.lower() in password.lower():
        errors.append('{0}: must not contain webfarm_admin_username (value not shown)'.format(name))


# --- public API -------------------------------------------------------------------------

def validate(params):
    """Every rule broken by ``params`` (module params: variable names without ``webfarm_``)."""
    errors = []
    for check in (_check_names, _check_network, _check_ports, _check_availability, _check_vm, _check_credentials):
        check(params, errors)
    return errors


def resource_group_name(params):
    return params.get('resource_group') or '{0}-{1}-rg'.format(params['app'], params['env'])


def tier_names(app):
    """The tier-wide resource names of seed 000, keyed as in the plan."""
    return {key: app + suffix for key, suffix in (
        ('vnet', '-vnet'), ('subnet', '-subnet'), ('nsg', '-nsg'), ('availability_set', '-as'),
        ('public_ip', '-pip'), ('load_balancer', '-lb'), ('frontend', '-lb-frontend'),
        ('backend_pool', '-lb-backend-pool'), ('probe', '-lb-probe'), ('rule_http', '-lb-rule-http'),
        ('rule_https', '-lb-rule-https'), ('outbound_rule', '-lb-outbound'))}


def vm_name(app, index):
    return '{0}-vm{1}'.format(app, index)


def vm_resource_names(app, index):
    name = vm_name(app, index)
    return {'name': name, 'nic': name + '-nic1', 'os_disk': name + '-osdisk', 'data_disk': name + '-data1'}


def nat_backend_port(params):
    if params['os_type'] == 'Windows':
        return params['windows_nat_backend_port']
    return LINUX_NAT_BACKEND_PORT


def nat_rule_prefix(params):
    """``ssh`` (Linux), ``rdp`` or ``winrm`` (Windows, by its NAT backend port)."""
    if params['os_type'] == 'Windows':
        return WINDOWS_NAT_RULE_PREFIX[params['windows_nat_backend_port']]
    return 'ssh'


def plan_vms(plan, numbers):
    """The plan's VM entries for the VM numbers ``numbers`` (``{app}-vm{N}``, NAT port base + N),
    from the naming the plan carries (``vm_naming``): tier_preflight gives a tier that changed
    shape its numbers without validating the inputs again."""
    naming = plan['vm_naming']
    vms = []
    for index in numbers:
        names = vm_resource_names(naming['app'], index)
        vms.append({
            'index': index,
            'name': names['name'],
            'nic': names['nic'],
            'ip_configuration': 'ipconfig1',
            'nat_rule': '{0}-vm{1}'.format(naming['nat_rule_prefix'], index),
            'nat_frontend_port': naming['nat_frontend_port_base'] + index,
            'nat_backend_port': plan['nat_backend_port'],
            'os_disk': names['os_disk'],
            'data_disk': names['data_disk'] if naming['data_disk'] else None,
        })
    return vms


def build_plan(params):
    """The plan of the tier (VMs 1 to webfarm_vm_count); raises TierPlanError listing every
    broken rule."""
    errors = validate(params)
    if errors:
        raise TierPlanError(errors)
    app = params['app']
    tags = {'webfarm_app': app, 'webfarm_env': params['env']}
    tags.update((str(k), str(v)) for k, v in (params['tags'] or {}).items())
    plan = tier_names(app)
    if not params['https_enabled']:
        plan['rule_https'] = None
    plan.update({
        'resource_group': resource_group_name(params),
        'location': params['location'],
        'os_type': params['os_type'],
        'nat_backend_port': nat_backend_port(params),
        'vm_naming': {'app': app, 'nat_rule_prefix': nat_rule_prefix(params),
                      'nat_frontend_port_base': params['nat_frontend_port_base'],
                      'data_disk': bool(params['data_disk_size_gb'])},
        'tags': tags,
    })
    plan['vms'] = plan_vms(plan, range(1, params['vm_count'] + 1))
    return plan
