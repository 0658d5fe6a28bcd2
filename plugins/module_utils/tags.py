# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tags of any ARM resource: the tag set to write (pure logic), and the two ARM calls.

The write is a PATCH of the resource with its whole tag set ({"tags": {...}}): Azure and
the local lab both accept it on resource groups and resources, while the
Microsoft.Resources/tags/default extension (a server-side merge) is not in the lab.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, network

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"
# api-version per resource type (lower case); any Microsoft.Network type uses network's.
API_VERSIONS = {
    RESOURCE_GROUP_TYPE.lower(): "2021-04-01",
    "microsoft.compute/virtualmachines": compute.API_VERSION,
    "microsoft.compute/availabilitysets": compute.API_VERSION,
    "microsoft.compute/virtualmachinescalesets": compute.API_VERSION,
    "microsoft.compute/disks": "2023-10-02",
}
NETWORK_NAMESPACE = "microsoft.network"
# Azure's limits on tags of a resource
MAX_TAGS = 50
MAX_NAME = 512
MAX_VALUE = 256
FORBIDDEN_IN_NAME = "<>%&\\?/"


def resource_type(resource_id):
    """'Namespace/type[/child type...]' of an ARM resource ID, the resource group type for a group's ID,
    None for anything else (an extension resource, a subscription, not an ID)."""
    parts = (resource_id or "").rstrip("/").split("/")
    if len(parts) < 5 or parts[0] or parts[1].lower() != "subscriptions" or parts[3].lower() != "resourcegroups":
        return None
    if not all(parts[1:]):
        return None
    if len(parts) == 5:
        return RESOURCE_GROUP_TYPE
    rest = parts[7:]
    if parts[5].lower() != "providers" or len(rest) < 2 or len(rest) % 2 or "providers" in (p.lower() for p in rest):
        return None
    return "/".join([parts[6]] + rest[0::2])


def default_api_version(rtype):
    """The api-version used for rtype when none is given, or None when there is no default."""
    key = (rtype or "").lower()
    if key.split("/", 1)[0] == NETWORK_NAMESPACE:
        return network.API_VERSION
    return API_VERSIONS.get(key)


def tag_text(value):
    """Tag values are strings: booleans as JSON spells them, other scalars as str()."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def planned(current, tags, state):
    """The tag set after the call. present: tags merged in (a name matches case-insensitively, as on
    Azure, and takes the spelling asked); absent: the names listed removed, whatever their value."""
    asked = {name.lower() for name in tags}
    after = dict((k, v) for k, v in (current or {}).items() if k.lower() not in asked)
    if state == "present":
        after.update((name, tag_text(value)) for name, value in tags.items())
    return after


def problems(tags, after):
    """Why tags cannot be written (state=present): messages naming the field and Azure's rule."""
    found = []
    for name, value in sorted(tags.items()):
        if not name or len(name) > MAX_NAME:
            found.append("tags: tag name {0!r} must be 1-{1} characters".format(name, MAX_NAME))
        elif any(c in FORBIDDEN_IN_NAME for c in name):
            found.append("tags: tag name {0!r} contains one of {1} (not allowed by Azure)".format(name, FORBIDDEN_IN_NAME))
        if value is None:
            found.append("tags: {0!r} has no value (state=absent removes a tag)".format(name))
        elif len(tag_text(value)) > MAX_VALUE:
            found.append("tags: the value of {0!r} is longer than {1} characters".format(name, MAX_VALUE))
    lower = [name.lower() for name in tags]
    for name in sorted(set(n for n in lower if lower.count(n) > 1)):
        found.append("tags: {0!r} is given more than once (tag names are case-insensitive)".format(name))
    if len(after) > MAX_TAGS:
        found.append("tags: the resource would have {0} tags; Azure allows at most {1}".format(len(after), MAX_TAGS))
    return found


def same_tags(first, second):
    """Equal names (spelling included) and values: a spelling change is a change."""
    return dict(first or {}) == dict(second or {})


def get_resource(arm, resource_id, api_version):
    """The resource, or None when it does not exist."""
    return arm.get(resource_id, api_version)


def patch_tags(arm, resource_id, api_version, tags):
    """PATCH {"tags": tags}: Azure replaces the resource's whole tag set with it."""
    return arm.request("PATCH", resource_id, api_version, body={"tags": tags}, long_running=True)
