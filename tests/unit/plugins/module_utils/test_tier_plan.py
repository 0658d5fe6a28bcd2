# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules and naming of plugins/module_utils/tier_plan.py: one test per rule."""

from __future__ import absolute_import, division, print_function

import base64
import struct

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils import tier_plan
from ansible_collections.azure_ha.webfarm.plugins.modules.tier_plan import ARGUMENT_SPEC

__metaclass__ = type


def _public_key(key_type='ssh-ed25519'):
    name = key_type.encode('ascii')
    blob = struct.pack('>I', len(name)) + name + struct.pack('>I', 32) + b'\x01' * 32
    return '{0} {1} ops@example'.format(key_type, base64.b64encode(blob).decode('ascii'))


SSH_KEY = _public_key()
GOOD_PASSWORD = 'Xq7!mountain-Lamp'


def params(**overrides):
    """The module's defaults (as the role passes them) plus the required variables."""
    values = {name: spec.get('default') for name, spec in ARGUMENT_SPEC.items()}
    values.update(app='app1', env='dev', location='westeurope', admin_source_prefixes=['203.0.113.0/24'],
                  ssh_public_key=SSH_KEY)
    values.update(overrides)
    return values


def windows(**overrides):
    values = dict(os_type='Windows', ssh_public_key='', admin_password=GOOD_PASSWORD)
    values.update(overrides)
    return params(**values)


def errors_of(values):
    return tier_plan.validate(values)


def test_valid_defaults_pass_and_plan_follows_seed_000():
    plan = tier_plan.build_plan(params())
    assert plan == {
        'variant': 'availability_set',
        'resource_group': 'app1-dev-rg',
        'location': 'westeurope',
        'vnet': 'app1-vnet',
        'subnet': 'app1-subnet',
        'nsg': 'app1-nsg',
        'availability_set': 'app1-as',
        'public_ip': 'app1-pip',
        'load_balancer': 'app1-lb',
        'frontend': 'app1-lb-frontend',
        'backend_pool': 'app1-lb-backend-pool',
        'probe': 'app1-lb-probe',
        'rule_http': 'app1-lb-rule-http',
        'rule_https': None,
        'outbound_rule': 'app1-lb-outbound',
        'os_type': 'Linux',
        'nat_backend_port': 22,
        'vms': [
            {'index': n, 'name': 'app1-vm%d' % n, 'nic': 'app1-vm%d-nic1' % n, 'ip_configuration': 'ipconfig1',
             'nat_rule': 'ssh-vm%d' % n, 'nat_frontend_port': 50000 + n, 'nat_backend_port': 22,
             'os_disk': 'app1-vm%d-osdisk' % n, 'data_disk': None}
            for n in (1, 2)
        ],
        'vm_naming': {'app': 'app1', 'nat_rule_prefix': 'ssh', 'nat_frontend_port_base': 50000, 'data_disk': False},
        'tags': {'webfarm_app': 'app1', 'webfarm_env': 'dev'},
    }


def test_plan_vms_gives_a_reshaped_tier_its_numbers():
    plan = tier_plan.build_plan(params(data_disk_size_gb=64, vm_count=3))
    vms = tier_plan.plan_vms(plan, [1, 3, 4])
    assert [vm['name'] for vm in vms] == ['app1-vm1', 'app1-vm3', 'app1-vm4']
    assert [vm['nat_frontend_port'] for vm in vms] == [50001, 50003, 50004]
    assert [vm['nat_rule'] for vm in vms] == ['ssh-vm1', 'ssh-vm3', 'ssh-vm4']
    assert vms[0] == plan['vms'][0] and vms[2]['data_disk'] == 'app1-vm4-data1'


def test_plan_options_https_data_disk_resource_group_tags_and_nat_base():
    plan = tier_plan.build_plan(params(https_enabled=True, data_disk_size_gb=64, resource_group='shared-rg',
                                       tags={'owner': 'ops', 'cost': 42}, nat_frontend_port_base=60000,
                                       vm_count=3))
    assert plan['rule_https'] == 'app1-lb-rule-https'
    assert plan['resource_group'] == 'shared-rg'
    assert [vm['data_disk'] for vm in plan['vms']] == ['app1-vm1-data1', 'app1-vm2-data1', 'app1-vm3-data1']
    assert [vm['nat_frontend_port'] for vm in plan['vms']] == [60001, 60002, 60003]
    # Azure tag values are strings
    assert plan['tags'] == {'webfarm_app': 'app1', 'webfarm_env': 'dev', 'owner': 'ops', 'cost': '42'}


@pytest.mark.parametrize('backend_port, rule', [(3389, 'rdp-vm2'), (5986, 'winrm-vm2')])
def test_windows_nat_rules(backend_port, rule):
    plan = tier_plan.build_plan(windows(windows_nat_backend_port=backend_port))
    assert plan['os_type'] == 'Windows'
    assert plan['nat_backend_port'] == backend_port
    assert plan['vms'][1]['nat_rule'] == rule
    assert plan['vms'][1]['nat_backend_port'] == backend_port


def test_single_vm_with_opt_in():
    assert len(tier_plan.build_plan(params(vm_count=1, allow_single_vm=True))['vms']) == 1


def test_admin_from_internet_with_opt_in():
    assert errors_of(params(admin_source_prefixes=['*', 'Internet', '0.0.0.0/0'], allow_admin_from_internet=True)) == []


# (overrides, the variable the message must name, a fragment of the rule)
RULES = [
    # availability set and VM count
    (dict(vm_count=1), 'webfarm_vm_count', 'at least 2 VMs'),
    (dict(vm_count=0, allow_single_vm=True), 'webfarm_vm_count', 'at least 1'),
    (dict(vm_count=201, subnet_cidr='10.0.0.0/23'), 'webfarm_vm_count', '200'),
    (dict(fault_domains=4), 'webfarm_fault_domains', 'between 1 and 3'),
    (dict(fault_domains=0), 'webfarm_fault_domains', 'between 1 and 3'),
    (dict(update_domains=21), 'webfarm_update_domains', 'between 1 and 20'),
    # networks
    (dict(vnet_cidr='10.0.0.300/16'), 'webfarm_vnet_cidr', 'not a valid IPv4 network'),
    (dict(vnet_cidr='10.0.0.1/16'), 'webfarm_vnet_cidr', 'has host bits set'),
    (dict(vnet_cidr='10.0.0.0'), 'webfarm_vnet_cidr', 'CIDR notation'),
    (dict(vnet_cidr='8.8.0.0/16', subnet_cidr='8.8.0.0/24'), 'webfarm_vnet_cidr', 'not a private range'),
    (dict(subnet_cidr='10.1.0.0/24'), 'webfarm_subnet_cidr', '10.1.0.0/24 is not inside webfarm_vnet_cidr 10.0.0.0/16'),
    (dict(subnet_cidr='10.0.0.0/30'), 'webfarm_subnet_cidr', '/29 or larger'),
    (dict(subnet_cidr='10.0.0.0/29', vm_count=4), 'webfarm_subnet_cidr', '3 usable addresses'),
    (dict(admin_source_prefixes=[]), 'webfarm_admin_source_prefixes', 'at least one'),
    (dict(admin_source_prefixes=['office']), 'webfarm_admin_source_prefixes', 'not an IP address or CIDR'),
    # admin access from the Internet (one case per spelling)
    (dict(admin_source_prefixes=['*']), 'webfarm_admin_source_prefixes', 'webfarm_allow_admin_from_internet'),
    (dict(admin_source_prefixes=['0.0.0.0/0']), 'webfarm_admin_source_prefixes', 'whole Internet'),
    (dict(admin_source_prefixes=['Internet']), 'webfarm_admin_source_prefixes', 'whole Internet'),
    (dict(admin_source_prefixes=['Any']), 'webfarm_admin_source_prefixes', 'whole Internet'),
    (dict(admin_source_prefixes=['::/0']), 'webfarm_admin_source_prefixes', 'whole Internet'),
    (dict(admin_source_prefixes=['0.0.0.0/00']), 'webfarm_admin_source_prefixes', 'whole Internet'),
    # names
    (dict(app='App1'), 'webfarm_app', 'lowercase'),
    (dict(app='1app'), 'webfarm_app', 'starting with a letter'),
    (dict(app='a' * 16), 'webfarm_app', '1-15 characters'),
    (dict(app=''), 'webfarm_app', '1-15 characters'),
    (dict(env='prod_eu'), 'webfarm_env', '1-10 lowercase'),
    (dict(env='environment1'), 'webfarm_env', '1-10 lowercase'),
    (dict(location=' '), 'webfarm_location', 'must not be empty'),
    (dict(resource_group='my rg'), 'webfarm_resource_group', 'not a valid resource group name'),
    (dict(resource_group='rg.'), 'webfarm_resource_group', 'not ending with a period'),
    (dict(resource_group='r' * 91), 'webfarm_resource_group', '1-90'),
    (dict(tags={'a/b': 'x'}), 'webfarm_tags', "tag name 'a/b' is invalid"),
    (dict(tags={'k': 'v' * 257}), 'webfarm_tags', 'at most 256 characters'),
    (dict(tags={'k': {'nested': 1}}), 'webfarm_tags', 'must be a string'),
    (dict(tags={'t%d' % i: 'v' for i in range(49)}), 'webfarm_tags', 'exceed the 50 tags'),
    (dict(app='a' * 70), 'webfarm_app', 'Linux computer name is at most 64'),
    (dict(app='a' * 70), 'webfarm_app', 'Azure resource names are at most 80'),
    (dict(admin_username='root'), 'webfarm_admin_username', 'reserved'),
    (dict(admin_username='Administrator'), 'webfarm_admin_username', 'reserved'),
    (dict(admin_username='ops.admin'), 'webfarm_admin_username', 'not a valid admin user name'),
    (dict(admin_username='-ops'), 'webfarm_admin_username', 'not starting with a digit or hyphen'),
    (dict(admin_username='a' * 21), 'webfarm_admin_username', '1-20'),
    # ports and probe
    (dict(http_port=0), 'webfarm_http_port', 'between 1 and 65535'),
    (dict(http_port=70000), 'webfarm_http_port', 'between 1 and 65535'),
    (dict(https_port=70000), 'webfarm_https_port', 'between 1 and 65535'),
    (dict(probe_port=70000), 'webfarm_probe_port', 'between 1 and 65535'),
    (dict(https_enabled=True, https_port=80), 'webfarm_https_port', 'also webfarm_http_port'),
    (dict(probe_path='healthz'), 'webfarm_probe_path', 'must start with "/"'),
    (dict(probe_interval=4), 'webfarm_probe_interval', 'between 5 and 2147483646'),
    (dict(probe_threshold=101), 'webfarm_probe_threshold', 'between 1 and 100'),
    (dict(nat_frontend_port_base=65533), 'webfarm_nat_frontend_port_base', 'NAT range overflow'),
    (dict(nat_frontend_port_base=0), 'webfarm_nat_frontend_port_base', 'at least 1'),
    (dict(nat_frontend_port_base=79), 'webfarm_nat_frontend_port_base', 'include webfarm_http_port 80'),
    (dict(nat_frontend_port_base=442, https_enabled=True), 'webfarm_nat_frontend_port_base',
     'include webfarm_https_port 443'),
    # VM settings
    (dict(os_type='linux'), 'webfarm_os_type', 'must be one of Linux, Windows'),
    (dict(vm_size=''), 'webfarm_vm_size', 'must not be empty'),
    (dict(vm_image={'publisher': 'Debian', 'offer': 'debian-12'}), 'webfarm_vm_image', 'sku, version'),
    (dict(os_disk_type='Premium_ZRS'), 'webfarm_os_disk_type', 'Standard_LRS, StandardSSD_LRS, Premium_LRS'),
    (dict(data_disk_size_gb=40000), 'webfarm_data_disk_size_gb', 'between 1 and 32767'),
    (dict(data_disk_size_gb=-1), 'webfarm_data_disk_size_gb', 'between 1 and 32767'),
    (dict(windows_nat_backend_port=22), 'webfarm_windows_nat_backend_port', '3389 (RDP) or 5986'),
    (dict(app_version=''), 'webfarm_app_version', 'must not be empty'),
    # Linux credentials
    (dict(ssh_public_key=''), 'webfarm_ssh_public_key', 'required for Linux'),
    (dict(ssh_public_key='ssh-dss AAAAB3NzaC1kc3M= old'), 'webfarm_ssh_public_key', 'not one OpenSSH public key'),
    (dict(ssh_public_key='ssh-ed25519 not-base64!'), 'webfarm_ssh_public_key', 'not one OpenSSH public key'),
    (dict(ssh_public_key=_public_key('ssh-rsa').replace('ssh-rsa', 'ssh-ed25519', 1)), 'webfarm_ssh_public_key',
     'not one OpenSSH public key'),
    (dict(ssh_public_key=SSH_KEY + '\n' + SSH_KEY), 'webfarm_ssh_public_key', 'not one OpenSSH public key'),
    (dict(ssh_public_key='-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----'),
     'webfarm_ssh_public_key', 'PRIVATE key'),
]


@pytest.mark.parametrize('overrides, variable, rule', RULES, ids=['%s-%d' % (r[1], i) for i, r in enumerate(RULES)])
def test_rule(overrides, variable, rule):
    errors = errors_of(params(**overrides))
    assert any(e.startswith(variable + ':') and rule in e for e in errors), errors


WINDOWS_RULES = [
    (dict(admin_password=''), 'required for Windows'),
    (dict(admin_password='Sh0rt!pw'), '12 to 123 characters'),
    (dict(admin_password='Aa1!' * 31), '12 to 123 characters'),
    (dict(admin_password='onlylowercase12'), 'at least 3 of'),
    (dict(admin_password='Password123!'), 'common passwords'),
    (dict(admin_password='Xq7!azureuser-lamp'), 'must not contain webfarm_admin_username'),
]


@pytest.mark.parametrize('overrides, rule', WINDOWS_RULES)
def test_windows_password_rule_never_shows_the_password(overrides, rule):
    errors = errors_of(windows(**overrides))
    assert any(e.startswith('webfarm_admin_password:') and rule in e for e in errors), errors
    if overrides['admin_password']:
        assert overrides['admin_password'] not in '\n'.join(errors)


def test_windows_computer_name_limit():
    errors = errors_of(windows(app='webfarm-portal', vm_count=12))
    assert any(e.startswith('webfarm_app:') and "'webfarm-portal-vm12' would be 19 characters" in e
               and 'at most 10 characters' in e for e in errors), errors


def test_linux_ignores_the_password_and_windows_the_ssh_key():
    assert errors_of(params(admin_password='weak')) == []
    assert errors_of(windows(ssh_public_key='not a key')) == []


@pytest.mark.parametrize('key_type', ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256'])
def test_accepted_ssh_key_types(key_type):
    assert errors_of(params(ssh_public_key=_public_key(key_type))) == []


def test_https_port_may_equal_http_port_while_https_is_off():
    assert errors_of(params(https_port=80)) == []


def test_all_errors_are_collected():
    bad = params(app='App', env='', vm_count=1, fault_domains=4, update_domains=21, subnet_cidr='10.9.0.0/24',
                 probe_path='x', http_port=70000, nat_frontend_port_base=65534, admin_source_prefixes=['*'],
                 ssh_public_key='')
    with pytest.raises(tier_plan.TierPlanError) as caught:
        tier_plan.build_plan(bad)
    named = {error.split(':', 1)[0] for error in caught.value.errors}
    assert named == {'webfarm_app', 'webfarm_env', 'webfarm_vm_count', 'webfarm_fault_domains',
                     'webfarm_update_domains', 'webfarm_subnet_cidr', 'webfarm_probe_path', 'webfarm_http_port',
                     'webfarm_nat_frontend_port_base', 'webfarm_admin_source_prefixes', 'webfarm_ssh_public_key'}
    message = str(caught.value)
    assert message.startswith('webfarm tier inputs are invalid (%d problems):' % len(caught.value.errors))
    assert all('- ' + error in message for error in caught.value.errors)


def test_secrets_never_in_messages():
    private_key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\n-----END RSA PRIVATE KEY-----'
    password = 'weakpassword'
    messages = '\n'.join(errors_of(params(ssh_public_key=private_key)) + errors_of(windows(admin_password=password)))
    assert 'PRIVATE key' in messages and 'at least 3 of' in messages
    for secret in ('MIIEowIBAAKCAQEAsecretbody', password):
        assert secret not in messages
    garbage = 'ssh-ed25519 c2VjcmV0LXRva2VuLXZhbHVl'
    assert 'c2VjcmV0LXRva2VuLXZhbHVl' not in '\n'.join(errors_of(params(ssh_public_key=garbage)))
