# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run of a rolling patch, for either variant of the tier (pure: no I/O).

A run has an id. The resource that holds the tier's members (the availability set, or
the scale set) records the run: ``webfarm_patch_run`` = its id and
``webfarm_patch_state`` = ``running``, then how it ended (``completed`` or ``failed``).
A run that is not ``completed`` is resumed by the next run that names no id.

Each member's progress in the run: a VM of an availability set carries it in its own
tags (``webfarm_patch_run`` / ``webfarm_patch_state``); an instance of a scale set in a
tag of the set (module_utils/scale_set_patch.py). The members this run already patched
are skipped; those it left unfinished are patched first.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.azure_ha.webfarm.plugins.module_utils import scale_set_patch

RUN_TAG = 'webfarm_patch_run'
STATE_TAG = 'webfarm_patch_state'
COMPLETED = 'completed'
DONE = 'done'
RUN_ID_FORMAT = '%Y%m%dT%H%M%SZ'


def new_run_id(now=None):
    """A new run's id: the UTC time, e.g. 20261205T040000Z (now: seconds since the epoch)."""
    return time.strftime(RUN_ID_FORMAT, time.gmtime(time.time() if now is None else now))


def unfinished_run(record_tags):
    """The id of the run the record holds when that run did not complete, else None."""
    tags = record_tags or {}
    run_id = tags.get(RUN_TAG) or ''
    if run_id and tags.get(STATE_TAG) != COMPLETED:
        return run_id
    return None


def decide_run(record_tags, requested='', now=None):
    """(run id, resumed) of the run to make.

    requested (rolling_patch_run_id) wins: it resumes the recorded run when it is that
    run's id (whatever its state), else it names a new run. No id requested: the
    record's unfinished run is resumed, else a new run takes the current UTC time.
    """
    recorded = (record_tags or {}).get(RUN_TAG) or ''
    if requested:
        return requested, requested == recorded
    unfinished = unfinished_run(record_tags)
    if unfinished:
        return unfinished, True
    return new_run_id(now), False


def vm_progress(members, run_id):
    """(completed, in_progress) names: the VMs whose own tags say run_id is done, or not yet done, with them.

    A VM's tags of another run do not count; no run_id, nothing counts.
    """
    completed, in_progress = [], []
    if not run_id:
        return completed, in_progress
    for member in members or []:
        tags = member.get('tags') or {}
        if tags.get(RUN_TAG) != run_id:
            continue
        (completed if tags.get(STATE_TAG) == DONE else in_progress).append(member['name'])
    return completed, in_progress


def plan_run(params, run_id='', record_tags=None, scale_set='', scale_set_tags=None, drain_method='probe',
             now=None):
    """rolling_plan.build_plan(**params) for the run: returns (plan, stale progress tags, run id, resumed).

    With record_tags (the tags of the resource that holds the run record) the run id is
    decided (decide_run); without, run_id is taken as given and resumed is False. The
    progress of the run adds to params' completed and in_progress: the VMs' own tags, or
    for a scale set its progress tags (scale_set_tags, else record_tags: the set holds
    the record). Raises rolling_plan.PlanRefused.
    """
    resumed = False
    if record_tags is not None:
        run_id, resumed = decide_run(record_tags, run_id, now)
    params = dict(params)
    if not scale_set:
        completed, in_progress = vm_progress(params.get('members'), run_id)
        params['completed'] = list(params.get('completed') or []) + completed
        params['in_progress'] = list(params.get('in_progress') or []) + in_progress
    plan, stale = scale_set_patch.plan_instances(
        params, scale_set=scale_set, scale_set_tags=scale_set_tags or record_tags or {}, run_id=run_id,
        drain_method=drain_method)
    return plan, stale, run_id, resumed
