# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft.Resources calls, one function per ARM operation, raw ARM JSON in and out."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

API_VERSION = "2021-04-01"


def resource_group_path(arm, resource_group):
    return "/subscriptions/{0}/resourceGroups/{1}".format(arm.subscription_id, resource_group)


def get_resource_group(arm, resource_group):
    """The resource group, or None when it does not exist."""
    return arm.get(resource_group_path(arm, resource_group), API_VERSION)


def list_group_resources(arm, resource_group):
    """Every resource of the group ({id, name, type, location, ...}), all pages."""
    return arm.list(resource_group_path(arm, resource_group) + "/resources", API_VERSION)
