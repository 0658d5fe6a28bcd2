# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling patch over a Uniform scale set's instances (pure: no I/O).

Where the progress is kept. An availability set's VMs carry their own progress tags
(a tags-only PATCH of a VM). A Uniform instance's tags can only be written by a PUT
of the instance (VirtualMachineScaleSetVMs_Update: the whole instance model, a
long-running write of the instance), and an instance the set creates copies the
set's tags. So the per-instance progress lives in the scale set's own tags, next to
the run record (webfarm_patch_run / webfarm_patch_state): one tag per instance,
``webfarm_patch_i<instanceId>`` = ``<run id> <state> <step>``. A tags-only PATCH of
the scale set is not a new model (the model is virtualMachineProfile): no instance
is upgraded or reimaged by it. Azure allows 50 tags per resource, so the plan is
refused when the set's own tags, the run record and one tag per planned instance
would not fit (patch such a set in parts with rolling_patch_only).

The drain methods that edit a VM's NIC (admin_state, pool) cannot work for an
instance: its backend pool membership is the set's model (the network profile), so
only ``probe`` (the drain flag file) drains an instance.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import PlanRefused, build_plan

PROGRESS_PREFIX = 'webfarm_patch_i'
RECORD_TAGS = ('webfarm_patch_run', 'webfarm_patch_state')
MAX_TAGS = 50
SCALE_SET_DRAIN_METHODS = ('probe',)
DONE = 'done'


def drain_problems(drain_method, scale_set):
    """Why drain_method cannot drain the instances of scale_set (empty: it can, or no scale set)."""
    if not scale_set or drain_method in SCALE_SET_DRAIN_METHODS:
        return []
    return ['rolling_patch_drain_method=%s: cannot drain an instance of scale set %s - it edits the '
            "VM's NIC (backend pool membership), which for a scale set instance is the set's model "
            '(networkProfile); a change would be a new model for every instance. Use probe (the drain '
            'flag file makes the instance\'s health probe answer 503).' % (drain_method, scale_set)]


def progress_tag_name(instance_id):
    """The scale set tag that holds one instance's progress."""
    return '%s%s' % (PROGRESS_PREFIX, instance_id)


def progress_tag(instance_id, run_id, state, step=None):
    """{tag name: value} recording that run_id left the instance in state (at step)."""
    return {progress_tag_name(instance_id): '%s %s %s' % (run_id, state, step or 'none')}


def parse_progress(value):
    """(run id, state, step) of a progress tag value; (None, None, None) when it is not one."""
    parts = (value or '').split(' ')
    if len(parts) != 3 or not all(parts):
        return None, None, None
    return tuple(parts)


def member_progress(set_tags, members, run_id):
    """The members of run_id as the planner wants them: (completed, in_progress) names.

    Only the progress tags of this run count: another run's tags (an older run, or one
    given by a different rolling_patch_run_id) are ignored, the way a VM's tags of
    another run are.
    """
    lowered = dict((name.lower(), value) for name, value in (set_tags or {}).items())
    completed, in_progress = [], []
    for member in members:
        run, state, _step = parse_progress(lowered.get(progress_tag_name(member.get('instance_id')).lower()))
        if run is None or run != run_id:
            continue
        (completed if state == DONE else in_progress).append(member['name'])
    return completed, in_progress


def tag_room_problems(set_tags, planned_instance_ids, scale_set):
    """A problem when the set's tags cannot hold the run record and one progress tag per instance."""
    names = set(name.lower() for name in (set_tags or {}))
    names.update(name.lower() for name in RECORD_TAGS)
    names.update(progress_tag_name(i).lower() for i in planned_instance_ids)
    if len(names) <= MAX_TAGS:
        return []
    return ['scale set %s: its tags, the run record and one progress tag per instance to patch make %d tags, '
            'Azure allows %d; patch fewer instances per run (rolling_patch_only)'
            % (scale_set, len(names), MAX_TAGS)]


def stale_progress_tags(set_tags, run_id):
    """Progress tags of other runs (removed when a new run records itself)."""
    return sorted(name for name, value in (set_tags or {}).items()
                  if name.lower().startswith(PROGRESS_PREFIX) and parse_progress(value)[0] != run_id)


def plan_instances(params, scale_set='', scale_set_tags=None, run_id='', drain_method='probe'):
    """rolling_plan.build_plan(**params), for a scale set's instances when scale_set is set.

    Returns (plan, stale progress tag names). For a scale set the progress tags of run_id
    add to params' completed and in_progress, and the drain method and the tag room are
    checked: every problem is raised at once (PlanRefused), before anything is changed.
    """
    if not scale_set:
        return build_plan(**params), []
    params = dict(params)
    members = params.get('members') or []
    completed, in_progress = member_progress(scale_set_tags, members, run_id)
    params['completed'] = list(params.get('completed') or []) + completed
    params['in_progress'] = list(params.get('in_progress') or []) + in_progress
    problems = drain_problems(drain_method, scale_set)
    only = set(params.get('only') or [])
    planned = [m.get('instance_id') for m in members if not only or m.get('name') in only]
    problems += tag_room_problems(stale_free(scale_set_tags, run_id), planned, scale_set)
    try:
        plan = build_plan(**params)
    except PlanRefused as refusal:
        raise PlanRefused(problems + refusal.problems)
    if problems:
        raise PlanRefused(problems)
    return plan, stale_progress_tags(scale_set_tags, run_id)


def stale_free(set_tags, run_id):
    """The set's tags without the progress tags of other runs (those are removed before the run)."""
    stale = set(stale_progress_tags(set_tags, run_id))
    return dict((name, value) for name, value in (set_tags or {}).items() if name not in stale)
