# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks of the tier's VMs: how many, the availability set, size, image, disks, admin
user and credentials. Secrets (the admin password, whatever was given as an SSH key) are never
part of a message (pure functions)."""

from __future__ import absolute_import, division, print_function

import base64
import binascii
import re
import struct

from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_rules import in_range, non_empty, var

__metaclass__ = type

# the intersection of Azure's Linux and Windows admin user name rules
ADMIN_USERNAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_-]{0,19}$')

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

OS_TYPES = ('Linux', 'Windows')
OS_DISK_TYPES = ('Standard_LRS', 'StandardSSD_LRS', 'Premium_LRS')
WINDOWS_NAT_RULE_PREFIX = {3389: 'rdp', 5986: 'winrm'}
SSH_KEY_TYPES = ('ssh-rsa', 'ssh-ed25519')
SSH_ECDSA_PREFIX = 'ecdsa-sha2-'
IMAGE_FIELDS = ('publisher', 'offer', 'sku', 'version')

MAX_VMS_PER_AVAILABILITY_SET = 200


def check_vm_count(params, errors, maximum, holder):
    """webfarm_vm_count: at least 2 for the SLA (1 with webfarm_allow_single_vm), at most
    ``maximum``, what ``holder`` can hold."""
    count = params['vm_count']
    if count < 1:
        errors.append('{0}: {1} must be at least 1'.format(var('vm_count'), count))
    elif count < 2 and not params['allow_single_vm']:
        errors.append('{0}: {1} VM has no availability SLA (Azure needs at least 2 VMs in the set); use 2 or '
                      'more, or set webfarm_allow_single_vm: true'.format(var('vm_count'), count))
    elif count > maximum:
        errors.append('{0}: {1} is more than the {2} VMs {3} can hold'.format(var('vm_count'), count, maximum, holder))


def check_availability_set(params, errors):
    in_range(params, 'fault_domains', 1, 3, errors, ' (Azure availability sets have 1-3 fault domains)')
    in_range(params, 'update_domains', 1, 20, errors, ' (Azure availability sets have 1-20 update domains)')
    check_vm_count(params, errors, MAX_VMS_PER_AVAILABILITY_SET, 'an availability set')


def check_vm(params, errors):
    if params['os_type'] not in OS_TYPES:
        errors.append('{0}: {1!r} must be one of {2}'.format(var('os_type'), params['os_type'], ', '.join(OS_TYPES)))
    non_empty(params, 'vm_size', errors, 'an Azure VM size such as Standard_B1s')
    image = params['vm_image'] or {}
    missing = [f for f in IMAGE_FIELDS if not str(image.get(f) or '').strip()]
    if missing:
        errors.append('{0}: needs non-empty {1} (a marketplace image: publisher, offer, sku, version)'.format(
            var('vm_image'), ', '.join(missing)))
    if params['os_disk_type'] not in OS_DISK_TYPES:
        errors.append('{0}: {1!r} must be one of {2}'.format(
            var('os_disk_type'), params['os_disk_type'], ', '.join(OS_DISK_TYPES)))
    if params['data_disk_size_gb'] != 0:
        in_range(params, 'data_disk_size_gb', 1, 32767, errors, ' (0 means no data disk)')
    if params['windows_nat_backend_port'] not in WINDOWS_NAT_RULE_PREFIX:
        errors.append('{0}: {1} must be 3389 (RDP) or 5986 (WinRM over HTTPS)'.format(
            var('windows_nat_backend_port'), params['windows_nat_backend_port']))
    non_empty(params, 'app_version', errors, 'the version shown on the app page')
    _check_admin_username(params['admin_username'] or '', errors)


def _check_admin_username(username, errors):
    if not ADMIN_USERNAME_RE.match(username):
        errors.append('{0}: {1!r} is not a valid admin user name; use 1-20 letters, digits, hyphens or '
                      'underscores, not starting with a digit or hyphen'.format(var('admin_username'), username))
    elif username.lower() in RESERVED_ADMIN_USERNAMES:
        errors.append('{0}: {1!r} is reserved; Azure refuses it as a VM admin user name'.format(
            var('admin_username'), username))


# --- credentials (never echoed) -------------------------------------------------------

def check_credentials(params, errors):
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
