# -*- coding: utf-8 -*-
# Copyright: (c) 2026, azure_ha
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scale set's rolling upgrade as ``rollingUpgrades/latest`` reports it, reshaped for a
playbook, and what it means for the rollout (pure logic, no Azure call)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

ROLLING_FORWARD = "RollingForward"


def summary(status):
    """snake_case view of RollingUpgradeStatusInfo; None when the set never had a rolling upgrade."""
    if status is None:
        return None
    props = status.get("properties") or {}
    running = props.get("runningStatus") or {}
    progress = props.get("progress") or {}
    error = props.get("error")
    return {"code": running.get("code"), "start_time": running.get("startTime"),
            "last_action": running.get("lastAction"), "last_action_time": running.get("lastActionTime"),
            "successful": progress.get("successfulInstanceCount", 0), "failed": progress.get("failedInstanceCount", 0),
            "in_progress": progress.get("inProgressInstanceCount", 0),
            "pending": progress.get("pendingInstanceCount", 0), "policy": props.get("policy") or {},
            "error": {"code": error.get("code"), "message": error.get("message")} if error else None}


def running(view):
    return view is not None and view["code"] == ROLLING_FORWARD


def progress_line(view):
    """One line of progress for the playbook's output and the report."""
    return "{0}: {1} upgraded, {2} failed, {3} in progress, {4} pending".format(
        view["code"], view["successful"], view["failed"], view["in_progress"], view["pending"])


def failure(view, name):
    """Why the rollout failed (the upgrade faulted or was cancelled), or None."""
    if view is None or view["code"] in (ROLLING_FORWARD, "Completed"):
        return None
    if view["code"] == "Cancelled":
        return "the rolling upgrade of {0} was cancelled ({1})".format(name, progress_line(view))
    error = view["error"] or {}
    return "the rolling upgrade of {0} stopped: {1}: {2} ({3})".format(
        name, error.get("code", view["code"]), error.get("message", ""), progress_line(view))
