#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: scale_set_rolling_upgrade
short_description: Follow, start or cancel a scale set's rolling upgrade
version_added: "0.1.0"
description:
  - Reads a scale set's latest rolling upgrade (C(rollingUpgrades/latest)), which azure.azcollection has no
    module for, and follows it until it ends, starts an OS rolling upgrade, or cancels the running one.
  - A new model of a set in upgrade mode Rolling starts a rolling upgrade by itself (for example a write of
    M(azure_ha.webfarm.scale_set) that returns C(model_changed)); I(action=wait) then follows it batch by batch and
    fails when Azure stops it on a breach of the rolling policy, with Azure's error.
options:
  resource_group:
    description: Resource group of the scale set.
    type: str
    required: true
  name:
    description: Name of the scale set.
    type: str
    required: true
  action:
    description:
      - C(status) reads the latest rolling upgrade.
      - C(wait) follows it until it is no longer rolling forward; fails if it faulted or was cancelled.
      - C(start_os_upgrade) starts a rolling upgrade of the instances onto the newest image version (then waits
        as C(wait) does when I(wait=true)).
      - C(cancel) cancels the running rolling upgrade; nothing to do when none runs.
    type: str
    choices: [status, wait, start_os_upgrade, cancel]
    default: status
  wait:
    description: With I(action=start_os_upgrade), follow the upgrade until it ends.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to follow an upgrade before failing.
    type: int
    default: 3600
  poll_interval:
    description: Seconds between two reads of the upgrade's progress.
    type: int
    default: 5
extends_documentation_fragment:
  - azure.azcollection.azure
  - azure_ha.webfarm.attributes
author:
  - webfarm maintainers (@azure_ha)
"""

EXAMPLES = r"""
- name: Roll out the new model and follow it batch by batch
  azure_ha.webfarm.scale_set_rolling_upgrade:
    resource_group: app1-dev-rg
    name: app1-vmss
    action: wait
    wait_timeout: 1800
  register: rollout

- name: Stop a rollout that goes wrong
  azure_ha.webfarm.scale_set_rolling_upgrade:
    resource_group: app1-dev-rg
    name: app1-vmss
    action: cancel
"""

RETURN = r"""
rolling_upgrade:
  description: The latest rolling upgrade after the call; null when the set never had one.
  returned: always
  type: dict
  contains:
    code:
      description: RollingForward, Completed, Cancelled or Faulted.
      type: str
      sample: Completed
    successful:
      description: Instances upgraded.
      type: int
    failed:
      description: Instances that did not become healthy after their upgrade.
      type: int
    in_progress:
      description: Instances being upgraded.
      type: int
    pending:
      description: Instances still to upgrade.
      type: int
    error:
      description: Azure's error when it stopped the upgrade (code, message), else null.
      type: dict
    policy:
      description: The rolling upgrade policy it runs under.
      type: dict
progress:
  description: What each read of the upgrade found, in order, while the module followed it (one line each).
  returned: always
  type: list
  elements: str
  sample: ["RollingForward: 0 upgraded, 0 failed, 1 in progress, 2 pending", "Completed: 3 upgraded, 0 failed, 0 in progress, 0 pending"]
"""

import time

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import WebfarmModuleBase
from ansible_collections.azure_ha.webfarm.plugins.module_utils import compute, rolling_upgrade


class ScaleSetRollingUpgrade(WebfarmModuleBase):

    def __init__(self):
        argument_spec = dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            action=dict(type="str", choices=["status", "wait", "start_os_upgrade", "cancel"], default="status"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
            poll_interval=dict(type="int", default=5),
        )
        super(ScaleSetRollingUpgrade, self).__init__(argument_spec)

    def latest(self):
        p = self.module.params
        return rolling_upgrade.summary(compute.get_latest_rolling_upgrade(self.arm, p["resource_group"], p["name"]))

    def run(self):
        p = self.module.params
        if compute.get_scale_set(self.arm, p["resource_group"], p["name"]) is None:
            self.fail(msg="name: no scale set {0} in resource group {1}".format(p["name"], p["resource_group"]))
        view = self.latest()
        progress = [rolling_upgrade.progress_line(view)] if view else []
        action = p["action"]
        if action == "cancel" and rolling_upgrade.running(view):
            self.results["changed"] = True
            if not self.check_mode:
                compute.cancel_rolling_upgrade(self.arm, p["resource_group"], p["name"])
                view = self.latest()
                progress.append(rolling_upgrade.progress_line(view))
        elif action == "start_os_upgrade":
            if rolling_upgrade.running(view):
                self.fail(msg="action: a rolling upgrade of {0} is running ({1}); wait for it or cancel it".format(
                    p["name"], rolling_upgrade.progress_line(view)), rolling_upgrade=view, progress=progress)
            self.results["changed"] = True
            if not self.check_mode:
                compute.start_os_rolling_upgrade(self.arm, p["resource_group"], p["name"])
                view = self.latest()
                progress.append(rolling_upgrade.progress_line(view))
        if action == "wait" or (action == "start_os_upgrade" and p["wait"] and not self.check_mode):
            view = self.follow(view, progress)
        self.results.update(rolling_upgrade=view, progress=progress)

    def follow(self, view, progress):
        """Read the upgrade until it stops rolling forward; fail on a breach, a cancel or the timeout."""
        p = self.module.params
        if view is None:
            self.fail(msg="name: the scale set {0} has no rolling upgrade to wait for".format(p["name"]),
                      rolling_upgrade=None, progress=progress)
        deadline = time.time() + p["wait_timeout"]
        while rolling_upgrade.running(view):
            if time.time() >= deadline:
                self.fail(msg="wait_timeout: the rolling upgrade of {0} still runs after {1} s ({2})".format(
                    p["name"], p["wait_timeout"], rolling_upgrade.progress_line(view)),
                    rolling_upgrade=view, progress=progress)
            time.sleep(p["poll_interval"])
            view = self.latest()
            line = rolling_upgrade.progress_line(view)
            if line != progress[-1]:
                progress.append(line)
        failed = rolling_upgrade.failure(view, p["name"])
        if failed:
            self.fail(msg=failed, rolling_upgrade=view, progress=progress)
        return view


def main():
    ScaleSetRollingUpgrade()


if __name__ == "__main__":
    main()
