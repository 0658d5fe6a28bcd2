#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: resource_tags
short_description: Merge or remove tags on any Azure resource or resource group
version_added: "0.1.0"
description:
  - Merges tags into (I(state=present)) or removes tag names from (I(state=absent)) the tags of one Azure
    resource or resource group, given by its ID. Tags not listed are kept.
  - Reads the resource and writes only when its tags differ from the wanted ones, with a PATCH of the resource
    carrying its whole tag set; no other property is sent.
  - The rolling patch records per-VM progress this way, so any controller sees it.
options:
  resource_id:
    description:
      - ID of the resource (C(/subscriptions/.../resourceGroups/.../providers/Namespace/type/name), child
        resources included) or of a resource group (C(/subscriptions/.../resourceGroups/name)).
    type: str
    required: true
  tags:
    description:
      - With I(state=present), the tags to set (name to value); values are strings, numbers and booleans are
        converted to text (booleans as C(true)/C(false)).
      - With I(state=absent), the names to remove; their values are ignored.
      - Tag names match case-insensitively, as on Azure; a merged tag takes the spelling given here.
    type: dict
    required: true
  state:
    description: Whether the tags are merged in (C(present)) or removed (C(absent)).
    type: str
    choices: [present, absent]
    default: present
  api_version:
    description:
      - api-version of the resource's type.
      - Default for resource groups, C(Microsoft.Compute/virtualMachines), C(Microsoft.Compute/availabilitySets),
        C(Microsoft.Compute/virtualMachineScaleSets), C(Microsoft.Compute/disks) and every C(Microsoft.Network)
        type; required for other types.
    type: str
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
notes:
  - The PATCH replaces the whole tag set with the one computed from the read; a tag another client writes
    between the two requests is lost. Write one resource's tags from one place at a time.
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Record the rolling patch progress of VM 1
  azure_ha.webfarm.resource_tags:
    resource_id: /subscriptions/{{ subscription_id }}/resourceGroups/app1-dev-rg/providers/Microsoft.Compute/virtualMachines/app1-vm1
    tags:
      webfarm_patch_run: "20250101T120000"
      webfarm_patch_step: verify

- name: The run is over
  azure_ha.webfarm.resource_tags:
    resource_id: /subscriptions/{{ subscription_id }}/resourceGroups/app1-dev-rg/providers/Microsoft.Compute/virtualMachines/app1-vm1
    tags:
      webfarm_patch_run:
      webfarm_patch_step:
    state: absent

- name: Tag the resource group
  azure_ha.webfarm.resource_tags:
    resource_id: /subscriptions/{{ subscription_id }}/resourceGroups/app1-dev-rg
    tags: {owner: web-team}
"""

RETURN = r"""
tags:
  description: The resource's tags after the call (in check mode, what they would be).
  returned: always
  type: dict
  sample: {webfarm_app: app1, webfarm_patch_run: "20250101T120000", webfarm_patch_step: verify}
resource_id:
  description: ID of the resource, as ARM spells it.
  returned: always
  type: str
  sample: /subscriptions/xxx/resourceGroups/app1-dev-rg/providers/Microsoft.Compute/virtualMachines/app1-vm1
api_version:
  description: The api-version used.
  returned: always
  type: str
  sample: "2024-07-01"
"""

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import tags as tag_utils


class ResourceTags(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_id=dict(type="str", required=True),
            tags=dict(type="dict", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            api_version=dict(type="str"),
        )
        super(ResourceTags, self).__init__(argument_spec)

    def validate_tags(self, tags):
        """AzureRMModuleBase refuses non-string values before run(); here numbers and booleans are
        converted, and state=absent takes names whose values (often null) are ignored."""

    def run(self):
        p = self.module.params
        rtype = tag_utils.resource_type(p["resource_id"])
        if rtype is None:
            self.fail(msg="resource_id: {0!r} is not the ID of a resource group or of a resource in one "
                          "(/subscriptions/<id>/resourceGroups/<name>[/providers/<namespace>/<type>/<name>...])".format(
                              p["resource_id"]))
        api_version = p["api_version"] or tag_utils.default_api_version(rtype)
        if not api_version:
            self.fail(msg="api_version: no default for resource type {0}; give the api-version of that type".format(rtype))
        resource = tag_utils.get_resource(self.arm, p["resource_id"], api_version)
        if resource is None:
            self.fail(msg="resource_id: no resource {0}".format(p["resource_id"]))
        before = resource.get("tags") or {}
        after = tag_utils.planned(before, p["tags"], p["state"])
        if p["state"] == "present":
            problems = tag_utils.problems(p["tags"], after)
            if problems:
                self.fail(msg="; ".join(problems))
        changed = not tag_utils.same_tags(before, after)
        if changed and not self.check_mode:
            written = tag_utils.patch_tags(self.arm, resource["id"], api_version, after)
            after = (written or {}).get("tags", after) or {}
        self.results.update(changed=changed, tags=after, resource_id=resource["id"], api_version=api_version)
        if self.module._diff:
            self.results["diff"] = dict(before=dict(tags=before), after=dict(tags=after))


def main():
    ResourceTags()


if __name__ == "__main__":
    main()
