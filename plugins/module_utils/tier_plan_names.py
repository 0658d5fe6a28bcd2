# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of the webfarm tier: the rules for the names a user gives (application, environment,
resource group, tags) and the resource names of seed 000 built from them (pure functions)."""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.azure_ha.webfarm.plugins.module_utils.tier_plan_rules import non_empty, var

__metaclass__ = type

APP_RE = re.compile(r'^[a-z][a-z0-9-]{0,14}$')
ENV_RE = re.compile(r'^[a-z0-9]{1,10}$')
# Azure: 1-90 characters, letters (Unicode), digits, underscore, hyphen, period, parentheses
RESOURCE_GROUP_RE = re.compile(r'^[-\w.()]{1,90}$')
TAG_KEY_FORBIDDEN = set('<>%&\\?/')

MAX_RESOURCE_NAME = 80
MAX_COMPUTER_NAME = {'Linux': 64, 'Windows': 15}
MAX_TAGS = 50


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


def check_names(params, errors):
    if not APP_RE.match(params['app'] or ''):
        errors.append('{0}: {1!r} is not a valid application name; it must be 1-15 characters of lowercase '
                      'letters, digits and hyphens, starting with a letter (it prefixes every resource and '
                      'VM name)'.format(var('app'), params['app']))
    if not ENV_RE.match(params['env'] or ''):
        errors.append('{0}: {1!r} is not a valid environment name; it must be 1-10 lowercase letters or '
                      'digits'.format(var('env'), params['env']))
    non_empty(params, 'location', errors, 'an Azure region name such as westeurope')
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
