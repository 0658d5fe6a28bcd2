# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a rolling patch run: figures and summary lines (pure: no I/O); the HTML page
is ``rolling_report_html``.

A batch runs its steps in lock step: Ansible runs a task on every VM of the
batch before the next task starts. A step of a batch therefore lasts as long
as its slowest VM, and a batch cannot be shorter than the sum of those step
maxima for drain, patch, reboot and restore: its lower bound. Verify is left
out of the bound: it is the playbook's own check, not time the load balancer
or the VM needs, so it counts as overhead like the rest of the run's time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import natural_key

STEPS = ('drain', 'patch', 'reboot', 'verify', 'restore')
LOWER_BOUND_STEPS = ('drain', 'patch', 'reboot', 'restore')
RUN_STATUSES = ('completed', 'failed', 'planned')
VM_STATUSES = ('done', 'failed', 'skipped_done', 'not_started')
BATCH_KINDS = ('canary', 'update_domain')
# per VM, in this order in the report; any other key of the input follows, sorted
VM_KEYS = ('update_domain', 'fault_domain', 'batch', 'status', 'failed_step', 'message', 'version_before',
           'version_after', 'boot_id_before', 'boot_id_after', 'rebooted', 'packages_upgraded')

UTC = datetime.timezone.utc
_TIMESTAMP = re.compile(r'(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$', re.IGNORECASE)


class ReportError(Exception):
    """The run data is malformed; ``problems`` lists every mistake, each naming its field."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(ReportError, self).__init__('; '.join(self.problems))


# --- values ---------------------------------------------------------------

def parse_timestamp(value):
    """Aware UTC datetime from ISO 8601 text, None for None or ''; ValueError otherwise.

    Without a zone the time is taken as UTC: Jinja's now(utc=true) prints none.
    """
    if value is None or value == '':
        return None
    match = _TIMESTAMP.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError('%r is not an ISO 8601 timestamp like 2026-12-01T12:34:56Z' % (value,))
    fraction = (match.group(7) or '')[:6].ljust(6, '0')
    try:
        moment = datetime.datetime(*[int(part) for part in match.groups()[:6]], microsecond=int(fraction), tzinfo=UTC)
    except ValueError as error:
        raise ValueError('%r is not a valid time: %s' % (value, error)) from None
    zone = (match.group(8) or 'Z').upper()
    if zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        moment = moment - offset if zone[0] == '+' else moment + offset
    return moment


def format_timestamp(moment):
    """The report's form of a time: UTC, 'Z', microseconds only when there are some."""
    if moment is None:
        return None
    text = moment.strftime('%Y-%m-%dT%H:%M:%S')
    if moment.microsecond:
        text += '.%06d' % moment.microsecond
    return text + 'Z'


def seconds_between(start, end):
    """Seconds from start to end rounded to 0.1 s, None when either is unknown."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 1)


def _round_sum(values):
    known = [value for value in values if value is not None]
    return round(sum(known), 1) if known else None


def _int_field(value, where, problems):
    """int for ints and digit strings (Jinja may hand either), None for None and ''."""
    if value is None or value == '':
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    problems.append('%s: %r is not a whole number' % (where, value))
    return None


def _timestamp_field(value, where, problems):
    try:
        return parse_timestamp(value)
    except ValueError as error:
        problems.append('%s: %s' % (where, error))
        return None


def _choice_field(value, choices, where, problems):
    if value is not None and value not in choices:
        problems.append('%s: %r is not one of %s' % (where, value, ', '.join(choices)))
        return None
    return value


# --- reading the run ------------------------------------------------------

def _read_batches(batches, problems):
    if not isinstance(batches or [], list):
        problems.append('batches: expected a list')
        return []
    result = []
    batch_of = {}
    for position, batch in enumerate(batches or [], start=1):
        where = 'batches[%d]' % (position - 1)
        if not isinstance(batch, dict):
            problems.append('%s: expected a dict' % where)
            continue
        vms = batch.get('vms') or []
        if not isinstance(vms, list) or not all(isinstance(name, str) and name for name in vms):
            problems.append('%s.vms: expected a list of VM names' % where)
            vms = []
        index = _int_field(batch.get('index'), where + '.index', problems)
        for name in vms:
            if name in batch_of:
                problems.append('%s.vms: %s is already in batch %s' % (where, name, batch_of[name]))
            batch_of[name] = position if index is None else index
        result.append({
            'index': position if index is None else index,
            'kind': _choice_field(batch.get('kind') or 'update_domain', BATCH_KINDS, where + '.kind', problems),
            'update_domain': _int_field(batch.get('update_domain'), where + '.update_domain', problems),
            'vms': list(vms),
        })
    return result


def _read_steps(steps, where, problems):
    """Step name -> (start, end) datetimes, for every step; (None, None) when not reached."""
    if not isinstance(steps or {}, dict):
        problems.append('%s: expected a dict of steps' % where)
        steps = {}
    steps = steps or {}
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        problems.append('%s: unknown step %s (steps: %s)' % (where, ', '.join(map(str, unknown)), ', '.join(STEPS)))
    result = {}
    for step in STEPS:
        times = steps.get(step) or {}
        if not isinstance(times, dict):
            problems.append('%s.%s: expected a dict with start and end' % (where, step))
            times = {}
        start = _timestamp_field(times.get('start'), '%s.%s.start' % (where, step), problems)
        end = _timestamp_field(times.get('end'), '%s.%s.end' % (where, step), problems)
        if start is not None and end is not None and end < start:
            problems.append('%s.%s: ends before it starts' % (where, step))
        result[step] = (start, end)
    return result


def _inferred_status(steps, failed_step):
    """Status of a VM the playbook gave none: by what its steps reached."""
    if all(start is None for start, _end in steps.values()):
        return 'not_started'
    if failed_step is None and steps['restore'][1] is not None:
        return 'done'
    return 'failed'


def _read_vm(name, data, batch, problems):
    """The VM's report entry, and its steps as datetimes."""
    where = 'vms.%s' % name
    if not isinstance(data or {}, dict):
        problems.append('%s: expected a dict' % where)
    data = data if isinstance(data, dict) else {}
    steps = _read_steps(data.get('steps'), where + '.steps', problems)
    failed_step = _choice_field(data.get('failed_step'), STEPS, where + '.failed_step', problems)
    update_domain = _int_field(data.get('update_domain'), where + '.update_domain', problems)
    if update_domain is None and batch is not None:
        update_domain = batch['update_domain']
    entry = dict((key, data.get(key)) for key in VM_KEYS)
    entry.update(
        update_domain=update_domain,
        fault_domain=_int_field(data.get('fault_domain'), where + '.fault_domain', problems),
        batch=batch['index'] if batch is not None else None,
        status=_choice_field(data.get('status') or _inferred_status(steps, failed_step), VM_STATUSES,
                             where + '.status', problems),
        failed_step=failed_step,
        packages_upgraded=_int_field(data.get('packages_upgraded'), where + '.packages_upgraded', problems),
    )
    for key in sorted(set(data) - set(VM_KEYS) - set(['steps'])):
        entry[key] = data[key]
    entry['steps'] = dict((step, {'start': format_timestamp(start), 'end': format_timestamp(end),
                                  'duration_s': seconds_between(start, end)})
                          for step, (start, end) in steps.items())
    out_start, out_end = steps['drain'][0], steps['restore'][1]
    entry['out_of_rotation'] = {'start': format_timestamp(out_start), 'end': format_timestamp(out_end),
                                'duration_s': seconds_between(out_start, out_end)}
    return entry, steps


# --- figures --------------------------------------------------------------

def _batch_report(batch, steps_of):
    times = [steps_of[name][step] for name in batch['vms'] for step in STEPS]
    starts = [start for start, _end in times if start is not None]
    ends = [end for _start, end in times if end is not None]
    start = min(starts) if starts else None
    end = max(ends) if ends else None
    step_durations = {}
    for step in STEPS:
        durations = [seconds_between(*steps_of[name][step]) for name in batch['vms']]
        durations = [duration for duration in durations if duration is not None]
        step_durations[step] = max(durations) if durations else None
    return dict(batch, start=format_timestamp(start), end=format_timestamp(end), duration_s=seconds_between(start, end),
                step_durations_s=step_durations,
                lower_bound_s=_round_sum(step_durations[step] for step in LOWER_BOUND_STEPS))


def find_overlaps(intervals):
    """Spans during which VMs of more than one update domain were out of rotation at once.

    intervals: (name, update_domain, start, end) with datetimes; end None
    means never put back, so out until the end of the run and beyond. A VM put
    back at the very moment another is taken out does not overlap it.
    Returns {start, end, update_domains, vms} dicts with datetimes;
    contiguous spans with the same VMs are one.
    """
    intervals = [interval for interval in intervals if interval[2] is not None]
    moments = sorted(set([start for _n, _u, start, _e in intervals] +
                         [end for _n, _u, _s, end in intervals if end is not None]))
    overlaps = []
    for position, moment in enumerate(moments):
        following = moments[position + 1] if position + 1 < len(moments) else None
        out = [(name, ud) for name, ud, start, end in intervals if start <= moment and (end is None or end > moment)]
        update_domains = set(ud for _name, ud in out)
        if len(update_domains) < 2:
            continue
        names = sorted((name for name, _ud in out), key=natural_key)
        if overlaps and overlaps[-1]['end'] == moment and overlaps[-1]['vms'] == names:
            overlaps[-1]['end'] = following
        else:
            overlaps.append({'start': moment, 'end': following, 'vms': names,
                             'update_domains': sorted(update_domains, key=lambda ud: (ud is None, ud))})
    return overlaps


def build_report(run):
    """The report of a run (see the module's documentation for both formats), or raise ReportError."""
    if not isinstance(run, dict):
        raise ReportError(['run: expected a dict'])
    problems = []
    run_id = run.get('run_id')
    if run_id in (None, ''):
        problems.append('run_id: required')
    # no status: the run ended and its VMs say how (run_outcome)
    status = _choice_field(run.get('status'), RUN_STATUSES, 'status', problems) if run.get('status') is not None else None
    started = _timestamp_field(run.get('started'), 'started', problems)
    ended = _timestamp_field(run.get('ended'), 'ended', problems)
    if started is not None and ended is not None and ended < started:
        problems.append('ended: before started')
    batches = _read_batches(run.get('batches'), problems)
    vms_in = run.get('vms') or {}
    if not isinstance(vms_in, dict):
        problems.append('vms: expected a dict keyed by VM name')
        vms_in = {}

    batch_of = {}
    for batch in batches:
        for name in batch['vms']:
            batch_of.setdefault(name, batch)
    names = list(batch_of) + sorted((name for name in vms_in if name not in batch_of), key=natural_key)
    vms, steps_of = {}, {}
    for name in names:
        vms[name], steps_of[name] = _read_vm(name, vms_in.get(name), batch_of.get(name), problems)
    if problems:
        raise ReportError(problems)

    batch_reports = [_batch_report(batch, steps_of) for batch in batches]
    duration = seconds_between(started, ended)
    lower_bound = _round_sum(batch['lower_bound_s'] for batch in batch_reports)
    overlaps = find_overlaps((name, vms[name]['update_domain'], steps_of[name]['drain'][0], steps_of[name]['restore'][1])
                             for name in names)
    report = {
        'run_id': str(run_id),
        'status': status,
        'drain_method': run.get('drain_method'),
        'started': format_timestamp(started),
        'ended': format_timestamp(ended),
        'duration_s': duration,
        'message': run.get('message'),
        'lower_bound_s': lower_bound,
        'overhead_s': round(duration - lower_bound, 1) if duration is not None and lower_bound is not None else None,
        'failed_vms': [name for name in names if vms[name]['status'] == 'failed'],
        'batches': batch_reports,
        'vms': vms,
        'out_of_rotation_overlaps': [{'start': format_timestamp(overlap['start']), 'end': format_timestamp(overlap['end']),
                                      'duration_s': seconds_between(overlap['start'], overlap['end']),
                                      'update_domains': overlap['update_domains'], 'vms': overlap['vms']}
                                     for overlap in overlaps],
    }
    if status is None:
        report['status'], message = run_outcome(report)
        report['message'] = report['message'] or message
    return report


def run_outcome(report):
    """(status, message) of a run that ended: failed when a VM failed, naming the first failed
    batch, each failed VM with its step and message, the VMs left out of rotation and those not
    started, and how to resume; else completed, with what was patched."""
    vms, run_id = report['vms'], report['run_id']
    failed = [name for name, vm in vms.items() if vm['status'] == 'failed']
    if not failed:
        done = sum(1 for vm in vms.values() if vm['status'] == 'done')
        skipped = sum(1 for vm in vms.values() if vm['status'] == 'skipped_done')
        return 'completed', 'Run %s completed: %d VM(s) patched in %d batch(es)%s.' % (
            run_id, done, len(report['batches']), ', %d already done before the resume' % skipped if skipped else '')
    batched = [vms[name]['batch'] for name in failed if vms[name]['batch'] is not None]
    batch = next((b for b in report['batches'] if batched and b['index'] == min(batched)), None)
    not_started = [name for name, vm in vms.items() if vm['status'] == 'not_started']
    causes = '; '.join('%s failed at step %s (%s)' % (name, vms[name]['failed_step'], vms[name]['message'])
                       for name in failed)
    return 'failed', (
        'Run %s stopped at %s: %s. %s stay(s) out of rotation; every other VM is in service; %s not started. '
        'Fix the cause, then run the same playbook again: it resumes run %s (or pass -e rolling_patch_run_id=%s).'
        % (run_id, batch_label(batch) if batch else 'a VM outside the batches', causes, ', '.join(failed), ', '.join(not_started) or 'no VM', run_id, run_id))


# --- text -----------------------------------------------------------------

def format_duration(seconds):
    """'42.5 s', '12 min 3.4 s', '1 h 2 min 3.4 s'; 'unknown' for None."""
    if seconds is None:
        return 'unknown'
    sign, seconds = ('-' if seconds < 0 else ''), round(abs(seconds), 1)
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    parts = ['%d h' % hours] if hours else []
    if hours or minutes:
        parts.append('%d min' % minutes)
    parts.append('%.1f s' % rest)
    return sign + ' '.join(parts)


def batch_label(batch):
    """'batch 1 · UD 0 (canary)'."""
    label = 'batch %s' % batch['index']
    if batch['update_domain'] is not None:
        label += ' \u00b7 UD %s' % batch['update_domain']
    if batch['kind'] == 'canary':
        label += ' (canary)'
    return label


def unbatched(report):
    """VMs of the run outside every batch (skipped, done by an earlier attempt of the run)."""
    return [name for name, vm in report['vms'].items() if vm['batch'] is None]


def failure_of(name, vm):
    text = name
    if vm['failed_step']:
        text += ' at ' + vm['failed_step']
    if vm['message']:
        text += ': %s' % vm['message']
    return text


def step_times(report):
    return [parse_timestamp(step[key]) for vm in report['vms'].values() for step in vm['steps'].values()
            for key in ('start', 'end') if step[key]]


def run_origin(report):
    """Where the run's clock starts: started, or its earliest step time when that is earlier or started unknown."""
    times = step_times(report) + ([parse_timestamp(report['started'])] if report['started'] else [])
    return min(times) if times else None


def since_origin(origin, moment_text):
    """'+1 min 2.0 s' from the run's origin to a report timestamp."""
    return '+' + format_duration(seconds_between(origin, parse_timestamp(moment_text)))


def summarize(report):
    """Human-readable lines: the outcome, failures, each batch, the out-of-rotation check."""
    batches = report['batches']
    head = 'rolling patch %s: %s' % (report['run_id'], report['status'])
    count = '%d VM%s in %d batch%s' % (len(report['vms']), '' if len(report['vms']) == 1 else 's',
                                       len(batches), '' if len(batches) == 1 else 'es')
    if report['drain_method']:
        count += ', drain method %s' % report['drain_method']
    if report['status'] == 'planned':
        lines = ['%s (check mode), nothing ran; %s' % (head, count)]
    else:
        lines = ['%s; duration %s, lower bound %s, overhead %s; %s'
                 % (head, format_duration(report['duration_s']), format_duration(report['lower_bound_s']),
                    format_duration(report['overhead_s']), count)]
    lines += ['failed: %s' % failure_of(name, report['vms'][name]) for name in report['failed_vms']]
    if report['message'] and report['message'] not in [report['vms'][name]['message'] for name in report['failed_vms']]:
        lines.append('message: %s' % report['message'])
    for batch in batches:
        line = '%s: %s' % (batch_label(batch), ', '.join(batch['vms']))
        if report['status'] != 'planned' and batch['start'] is None:
            line += '; not started'
        elif report['status'] != 'planned':
            line += '; %s, lower bound %s (%s)' % (format_duration(batch['duration_s']),
                                                   format_duration(batch['lower_bound_s']), slowest(batch))
        lines.append(line)
    outside = unbatched(report)
    if outside:
        lines.append('outside the batches: %s'
                     % ', '.join('%s (%s)' % (name, report['vms'][name]['status']) for name in outside))
    if report['status'] != 'planned':
        not_started = [name for name, vm in report['vms'].items() if vm['status'] == 'not_started']
        if not_started:
            lines.append('not started: %s' % ', '.join(not_started))
        lines += ['out of rotation: ' + line for line in overlap_lines(report)]
    return lines


def slowest(batch):
    steps = batch['step_durations_s']
    ran = ['%s %s' % (step, format_duration(steps[step])) for step in STEPS if steps[step] is not None]
    return 'slowest VM per step: %s' % ', '.join(ran) if ran else 'no step ran'


def overlap_lines(report):
    """What the out-of-rotation check found, one line per violation."""
    overlaps = report['out_of_rotation_overlaps']
    if not overlaps:
        return ['never more than one update domain at a time']
    origin = run_origin(report)
    return ['update domains %s at once from %s to %s: %s'
            % (', '.join(map(str, overlap['update_domains'])), since_origin(origin, overlap['start']),
               since_origin(origin, overlap['end']) if overlap['end'] else 'the end of the run', ', '.join(overlap['vms']))
            for overlap in overlaps]
