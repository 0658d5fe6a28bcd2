# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling patch report as an HTML page with an SVG timeline (pure: no I/O); the report
itself (figures, summary lines) is ``rolling_report``."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import math
from html import escape

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_report import (
    STEPS, batch_label, failure_of, format_duration, overlap_lines, parse_timestamp, run_origin, since_origin,
    slowest, step_times, unbatched,
)


STEP_COLORS = {'drain': '#4e79a7', 'patch': '#b07aa1', 'reboot': '#f28e2b', 'verify': '#59a14f', 'restore': '#76b7b2'}
FAILED_COLOR = '#d62728'
BAND_COLOR = '#fbe7a1'
OVERLAP_FILL = 'fill="%s" fill-opacity="0.18"' % FAILED_COLOR
WIDTH = 1000
PLOT_LEFT = 210
PLOT_RIGHT = WIDTH - 24
LEGEND_HEIGHT = 30
AXIS_HEIGHT = 26
GROUP_HEIGHT = 22
ROW_HEIGHT = 20
BAR_HEIGHT = 12
# longer VM names are cut in the label column (the full name is in the tooltip)
LABEL_CHARS = 30
# tick spacings in seconds; the first giving at most 10 intervals is used
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
DASH = '\u2014'

CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 1040px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .4em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.4em 0 .3em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
table.header th { width: 10em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.off { color: #777; font-size: .85em; }
.muted { color: #888; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 3px; color: #fff; font-weight: 600; }
.badge.completed, .badge.done { background: #2e7d32; }
.badge.failed { background: #c62828; }
.badge.planned, .badge.not_started, .badge.skipped_done { background: #757575; }
.warning { border: 1px solid #c62828; background: #fdecea; padding: .5em .8em; }
tr.message td { background: #fdecea; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
"""


def _e(value, empty=DASH):
    """Escaped text of a value for HTML (quotes too: it also goes in attributes)."""
    if value is None or value == '':
        return empty
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return escape(str(value), quote=True)


def _shorten(name):
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + '\u2026'


class Timeline:
    """Time to x coordinate: the run's origin at the left of the plot, its last known time at the right."""

    def __init__(self, origin, end):
        self.origin = origin
        self.span = max((end - origin).total_seconds(), 1.0)
        self.end = origin + datetime.timedelta(seconds=self.span)

    @classmethod
    def of(cls, report):
        """None when there is nothing to draw: a planned run, or no time known."""
        origin = run_origin(report)
        if report['status'] == 'planned' or origin is None:
            return None
        ended = [parse_timestamp(report['ended'])] if report['ended'] else []
        return cls(origin, max(step_times(report) + ended + [origin]))

    def x(self, moment):
        return PLOT_LEFT + (moment - self.origin).total_seconds() / self.span * (PLOT_RIGHT - PLOT_LEFT)

    def ticks(self):
        """(x, label) every nice number of seconds."""
        step = next((seconds for seconds in TICK_STEPS if self.span <= 10 * seconds), None)
        step = step or 3600 * int(math.ceil(self.span / 36000.0))
        return [(self.x(self.origin + datetime.timedelta(seconds=seconds)), _tick_label(seconds, step))
                for seconds in range(0, int(self.span) + 1, step)]


def _tick_label(seconds, step):
    if step < 60:
        return '%d s' % seconds
    if step < 3600:
        return '%d min' % (seconds // 60)
    return '%d h' % (seconds // 3600)


def _rect(x1, x2, y, height, attributes, title):
    """A rect at least 1.5 px wide, so that a step of a few milliseconds still shows.

    Both edges are rounded, not the width, so that rects ending at the same time end at the same pixel.
    """
    x1, x2 = round(x1, 1), round(x2, 1)
    return ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s><title>%s</title></rect>'
            % (x1, y, max(x2 - x1, 1.5), height, attributes, title))


def _groups(report):
    """(label, batch or None, VM names) per group of rows, in order."""
    groups = [(batch_label(batch), batch, batch['vms']) for batch in report['batches']]
    outside = unbatched(report)
    if outside:
        groups.append(('outside the batches', None, outside))
    return groups


def _legend(overlaps):
    entries = [(step, 'fill="%s"' % STEP_COLORS[step]) for step in STEPS]
    entries += [('failed step', 'fill="%s"' % FAILED_COLOR), ('out of rotation', 'fill="%s"' % BAND_COLOR)]
    if overlaps:
        entries.append(('more than one update domain out', OVERLAP_FILL))
    items = []
    x = 8
    for label, fill in entries:
        items.append('<rect x="%d" y="8" width="12" height="12" %s></rect><text x="%d" y="18" font-size="12">%s</text>'
                     % (x, fill, x + 16, label))
        x += 30 + 7 * len(label)
    return items


def _overlap_shades(report, timeline, height):
    """A red shade across every row while VMs of more than one update domain were out of rotation."""
    top = LEGEND_HEIGHT + AXIS_HEIGHT - 6
    return [_rect(timeline.x(parse_timestamp(overlap['start'])),
                  timeline.x(parse_timestamp(overlap['end']) if overlap['end'] else timeline.end), top, height - top,
                  'class="overlap" %s' % OVERLAP_FILL,
                  'update domains %s out of rotation at once: %s'
                  % (', '.join(map(str, overlap['update_domains'])), _e(', '.join(overlap['vms']))))
            for overlap in report['out_of_rotation_overlaps']]


def _axis(timeline, height):
    items = ['<text x="8" y="%d" font-size="12" fill="#555">time since start</text>' % (LEGEND_HEIGHT + 16)]
    for x, label in timeline.ticks():
        items.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e3e3"></line>'
                     % (x, LEGEND_HEIGHT + AXIS_HEIGHT - 6, x, height))
        items.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%s</text>'
                     % (x, LEGEND_HEIGHT + 16, label))
    return items


def _vm_row(name, vm, timeline, top):
    """SVG elements of one VM: its name, its out-of-rotation band under its step bars, a cross if it failed."""
    mid = top + ROW_HEIGHT / 2.0
    color = {'failed': FAILED_COLOR, 'not_started': '#888', 'skipped_done': '#888'}.get(vm['status'], '#222')
    items = ['<text class="vm" x="22" y="%.1f" font-size="12" fill="%s">%s<title>%s: %s</title></text>'
             % (mid + 4, color, _e(_shorten(name)), _e(name), _e(vm['status']))]
    if timeline is None:
        return items
    band = vm['out_of_rotation']
    if band['start']:
        end = parse_timestamp(band['end']) if band['end'] else timeline.end
        items.append(_rect(timeline.x(parse_timestamp(band['start'])), timeline.x(end), top + 1, ROW_HEIGHT - 2,
                           'class="oor" fill="%s" data-vm="%s"' % (BAND_COLOR, _e(name)),
                           '%s out of rotation: %s' % (_e(name), _e(format_duration(band['duration_s'])))))
    # where the cross goes when the failed step has no bar: the failure stopped the run
    cross_x = timeline.x(timeline.end)
    for step in STEPS:
        times = vm['steps'][step]
        if not times['start']:
            continue
        failed = vm['status'] == 'failed' and vm['failed_step'] == step
        x1 = timeline.x(parse_timestamp(times['start']))
        # a step without an end was cut short by the end of the run: drawn to there, paler
        x2 = timeline.x(parse_timestamp(times['end']) if times['end'] else timeline.end)
        attributes = 'class="bar%s" fill="%s" data-vm="%s" data-step="%s"%s' % (
            ' failed' if failed else '', FAILED_COLOR if failed else STEP_COLORS[step], _e(name), step,
            '' if times['end'] else ' fill-opacity="0.5"')
        title = '%s %s: %s to %s (%s)' % (_e(name), step, since_origin(timeline.origin, times['start']),
                                          since_origin(timeline.origin, times['end']) if times['end'] else 'no end',
                                          format_duration(times['duration_s']))
        items.append(_rect(x1, x2, mid - BAR_HEIGHT / 2.0, BAR_HEIGHT, attributes, title))
        if failed:
            cross_x = max(x1 + 1.5, x2)
    if vm['status'] == 'failed':
        items.append('<path class="fail-marker" d="M%.1f %.1fl8 8m0 -8l-8 8" stroke="%s" stroke-width="2.5" fill="none">'
                     '<title>%s</title></path>' % (cross_x + 3, mid - 4, FAILED_COLOR, _e(failure_of(name, vm))))
    return items


def render_svg(report):
    """The timeline: one row per VM, grouped by batch; bars only for a run that ran."""
    timeline = Timeline.of(report)
    top = LEGEND_HEIGHT + AXIS_HEIGHT
    rows = []
    for position, (label, batch, names) in enumerate(_groups(report)):
        if position % 2:
            rows.append('<rect x="0" y="%d" width="%d" height="%d" fill="#f6f6f6"></rect>'
                        % (top, WIDTH, GROUP_HEIGHT + ROW_HEIGHT * len(names)))
        rows.append('<text class="batch" x="8" y="%d" font-size="12" font-weight="600">%s</text>' % (top + 15, _e(label)))
        if timeline is not None and batch is not None and batch['start']:
            rows.append(_batch_note(timeline, batch, top + 15))
        top += GROUP_HEIGHT
        for name in names:
            rows += _vm_row(name, report['vms'][name], timeline, top)
            top += ROW_HEIGHT
    height = top + 8
    if timeline is None:
        head = ['<text x="%d" y="%d" font-size="12" fill="#555">%s</text>'
                % (PLOT_LEFT, LEGEND_HEIGHT + 16, 'planned (check mode): nothing ran' if report['status'] == 'planned'
                   else 'no step time recorded')]
    else:
        head = _legend(report['out_of_rotation_overlaps']) + _axis(timeline, height)
        rows += _overlap_shades(report, timeline, height)
    return ('<svg class="timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img" '
            'aria-label="timeline of the rolling patch">\n%s\n</svg>'
            % (WIDTH, height, WIDTH, height, '\n'.join(head + rows)))


def _batch_note(timeline, batch, y):
    """The batch's duration on its label row, from its start, or up to its end in the right half."""
    text = '%s, lower bound %s' % (format_duration(batch['duration_s']), format_duration(batch['lower_bound_s']))
    x = timeline.x(parse_timestamp(batch['start']))
    if x < (PLOT_LEFT + PLOT_RIGHT) / 2.0:
        return '<text x="%.1f" y="%d" font-size="11" fill="#555">%s</text>' % (x, y, text)
    x = timeline.x(parse_timestamp(batch['end'])) if batch['end'] else PLOT_RIGHT
    return '<text x="%.1f" y="%d" font-size="11" fill="#555" text-anchor="end">%s</text>' % (x, y, text)


def _time_cell(origin, moment_text):
    if not moment_text:
        return '<td class="muted">%s</td>' % DASH
    return ('<td title="%s">%s <span class="off">%s</span></td>'
            % (_e(moment_text), parse_timestamp(moment_text).strftime('%H:%M:%S'), since_origin(origin, moment_text)))


def _vm_rows(report, origin, name, vm):
    """Table rows of one VM: a row per step and one for the time out of rotation, or one row if no step ran."""
    ran = any(step['start'] or step['end'] for step in vm['steps'].values())
    rowspan = len(STEPS) + 1 if ran else 1
    status = '<span class="badge %s">%s</span>' % (_e(vm['status']), _e(vm['status']))
    if vm['failed_step']:
        status += ' at %s' % _e(vm['failed_step'])
    versions = DASH
    if vm['version_before'] or vm['version_after']:
        versions = '%s \u2192 %s' % (_e(vm['version_before'], '?'), _e(vm['version_after'], '?'))
    boot_ids = 'boot id %s \u2192 %s' % (vm['boot_id_before'] or '?', vm['boot_id_after'] or '?')
    head = ('<td rowspan="%d">%s</td><td rowspan="%d">%s / %s</td><td rowspan="%d">%s</td>'
            % (rowspan, _e(name), rowspan, _e(vm['update_domain'], '?'), _e(vm['fault_domain'], '?'), rowspan, status))
    tail = ('<td rowspan="%d">%s</td><td rowspan="%d" title="%s">%s</td><td rowspan="%d" class="num">%s</td>'
            % (rowspan, versions, rowspan, _e(boot_ids), _e(vm['rebooted']), rowspan, _e(vm['packages_upgraded'])))
    if ran:
        spans = [(step, vm['steps'][step]) for step in STEPS] + [('out of rotation', vm['out_of_rotation'])]
        rows = ['<tr>%s<td>%s</td>%s%s<td class="num">%s</td>%s</tr>'
                % (head if position == 0 else '', step, _time_cell(origin, times['start']), _time_cell(origin, times['end']),
                   format_duration(times['duration_s']) if times['duration_s'] is not None else DASH,
                   tail if position == 0 else '')
                for position, (step, times) in enumerate(spans)]
    else:
        rows = ['<tr>%s<td colspan="4" class="muted">%s</td>%s</tr>'
                % (head, 'planned' if report['status'] == 'planned' else 'no step ran', tail)]
    if vm['message']:
        rows.append('<tr class="message"><td colspan="10">%s</td></tr>' % _e(vm['message']))
    return rows


def _batch_section(report, origin, label, batch, names):
    parts = ['<h3>%s</h3>' % _e(label)]
    if batch is not None and report['status'] != 'planned' and batch['start'] is None:
        parts.append('<p class="muted">not started</p>')
    elif batch is not None and report['status'] != 'planned':
        parts.append('<p>%s to %s: %s; lower bound %s (%s)</p>'
                     % (_e(batch['start']), _e(batch['end']), format_duration(batch['duration_s']),
                        format_duration(batch['lower_bound_s']), slowest(batch)))
    parts.append('<table class="vms"><tr><th>VM</th><th>UD / FD</th><th>status</th><th>step</th><th>start (UTC)</th>'
                 '<th>end (UTC)</th><th>duration</th><th>version</th><th>rebooted</th><th>packages upgraded</th></tr>')
    for name in names:
        parts += _vm_rows(report, origin, name, report['vms'][name])
    parts.append('</table>')
    return parts


def _header(report):
    batches = report['batches']
    rows = [
        ('run id', _e(report['run_id'])),
        ('status', '<span class="badge %s">%s</span>' % (_e(report['status']), _e(report['status']))),
        ('drain method', _e(report['drain_method'])),
        ('started (UTC)', _e(report['started'])),
        ('ended (UTC)', _e(report['ended'])),
        ('duration', format_duration(report['duration_s'])),
    ]
    if report['status'] != 'planned':
        rows.append(('lower bound', '%s <span class="off">(slowest VM per step, drain + patch + reboot + restore, '
                                    'summed over the batches); overhead %s</span>'
                     % (format_duration(report['lower_bound_s']), format_duration(report['overhead_s']))))
    rows.append(('VMs', '%d in %d batch%s' % (len(report['vms']), len(batches), '' if len(batches) == 1 else 'es')))
    rows += [('failed', _e(failure_of(name, report['vms'][name]))) for name in report['failed_vms']]
    if report['message']:
        rows.append(('message', _e(report['message'])))
    if report['status'] != 'planned':
        rows.append(('out of rotation', '<br>'.join(_e(line) for line in overlap_lines(report))))
    return ['<table class="header">'] + ['<tr><th>%s</th><td>%s</td></tr>' % row for row in rows] + ['</table>']


def render_html(report):
    """A self-contained page: no script, no external file; every input string escaped."""
    title = 'Rolling patch %s: %s' % (report['run_id'], report['status'])
    origin = run_origin(report)
    parts = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
             '<title>%s</title>' % _e(title), '<style>%s</style>' % CSS, '</head>', '<body>', '<h1>%s</h1>' % _e(title)]
    parts += _header(report)
    if report['out_of_rotation_overlaps']:
        parts.append('<p class="warning">VMs of more than one update domain were out of rotation at once.</p>')
    parts += ['<h2>Timeline</h2>', render_svg(report), '<h2>Batches</h2>']
    for label, batch, names in _groups(report):
        parts += _batch_section(report, origin, label, batch, names)
    parts += ['</body>', '</html>', '']
    return '\n'.join(parts)
