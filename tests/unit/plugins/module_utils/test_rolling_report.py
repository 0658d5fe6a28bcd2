# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the rolling patch report (pure Python, no file written)."""

import copy
import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_report import (
    ReportError,
    batch_label,
    build_report,
    format_duration,
    parse_timestamp,
    summarize,
)
from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_report_html import (
    PLOT_LEFT,
    PLOT_RIGHT,
    render_html,
)

T0 = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
STEPS = ('drain', 'patch', 'reboot', 'verify', 'restore')


def at(seconds):
    """ISO 8601 text of T0 + seconds, with a fraction only when there is one (as Ansible prints both)."""
    moment = T0 + datetime.timedelta(seconds=seconds)
    if moment.microsecond:
        return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def steps_from(start, drain, patch, reboot, verify, restore):
    """Steps back to back from start (seconds after T0), each lasting the given seconds."""
    steps = {}
    for step, duration in zip(STEPS, (drain, patch, reboot, verify, restore)):
        steps[step] = {'start': at(start), 'end': at(start + duration)}
        start += duration
    return steps


def lockstep(start, durations):
    """Steps of a batch from start, as Ansible runs them: a step starts on every VM once the slowest finished the last.

    durations: VM name -> the seconds its five steps take.
    """
    steps = dict((name, {}) for name in durations)
    for position, step in enumerate(STEPS):
        for name, own in durations.items():
            steps[name][step] = {'start': at(start), 'end': at(start + own[position])}
        start += max(own[position] for own in durations.values())
    return steps


def vm(update_domain, fault_domain, steps, **fields):
    data = {'update_domain': update_domain, 'fault_domain': fault_domain, 'status': 'done', 'failed_step': None,
            'message': None, 'version_before': '1.0.0', 'version_after': '2.0.0', 'boot_id_before': 'boot-a',
            'boot_id_after': 'boot-b', 'rebooted': True, 'packages_upgraded': 3, 'steps': steps}
    data.update(fields)
    return data


def make_run(**overrides):
    """A completed run: canary app1-vm1 (UD 0), then app1-vm4 (UD 0), then app1-vm2 and app1-vm5 (UD 1)."""
    batch_3 = lockstep(270, {'app1-vm2': (20, 30, 50, 3, 10), 'app1-vm5': (8, 70, 35, 6, 18)})
    run = {
        'run_id': '20261201T120000Z',
        'status': 'completed',
        'drain_method': 'probe',
        'started': at(0),
        'ended': at(440),
        'message': None,
        'batches': [
            {'index': 1, 'kind': 'canary', 'update_domain': 0, 'vms': ['app1-vm1'], 'fault_domains': [0]},
            {'index': 2, 'kind': 'update_domain', 'update_domain': 0, 'vms': ['app1-vm4']},
            {'index': 3, 'kind': 'update_domain', 'update_domain': 1, 'vms': ['app1-vm2', 'app1-vm5']},
        ],
        'vms': {
            'app1-vm1': vm(0, 0, steps_from(5, 10, 60, 40, 5, 15)),
            'app1-vm4': vm(0, 1, steps_from(140, 12, 50, 45, 4, 14)),
            # the slowest VM differs per step: vm2 drains and reboots longer, vm5 patches, verifies and restores longer
            'app1-vm2': vm(1, 1, batch_3['app1-vm2']),
            'app1-vm5': vm(1, 0, batch_3['app1-vm5']),
        },
    }
    run.update(overrides)
    return run


def failed_run():
    """Batch 3 fails: app1-vm2's patch fails, it stays out of rotation; app1-vm5 finished; UD 2 never started."""
    run = make_run(status='failed', ended=at(436), message='patch failed on app1-vm2: dnf exited 1')
    run['batches'].append({'index': 4, 'kind': 'update_domain', 'update_domain': 2, 'vms': ['app1-vm3', 'app1-vm6']})
    run['vms']['app1-vm2'] = vm(1, 1, {'drain': {'start': at(270), 'end': at(290)},
                                       'patch': {'start': at(290), 'end': at(300.25)}},
                                status='failed', failed_step='patch', message='dnf exited 1', version_after=None,
                                boot_id_after=None, rebooted=False, packages_upgraded=None)
    run['vms']['app1-vm3'] = {'update_domain': 2, 'fault_domain': 0, 'status': 'not_started'}
    return run


def svg_of(page):
    """The timeline of a page as an XML tree (the page itself is HTML, not XML)."""
    match = re.search(r'<svg.*?</svg>', page, re.DOTALL)
    return ET.fromstring(match.group(0))


def bars(svg):
    return [rect for rect in svg.iter('rect') if (rect.get('class') or '').startswith('bar')]


def x_range(rect):
    return float(rect.get('x')), float(rect.get('x')) + float(rect.get('width'))


# --- times and durations --------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('2026-12-01T12:34:56Z', (12, 34, 56, 0)),
    ('2026-12-01T12:34:56.123456Z', (12, 34, 56, 123456)),
    ('2026-12-01T12:34:56.5Z', (12, 34, 56, 500000)),
    ('2026-12-01T12:34:56.123456', (12, 34, 56, 123456)),
    ('2026-12-01 12:34:56', (12, 34, 56, 0)),
    ('2026-12-01T13:34:56+01:00', (12, 34, 56, 0)),
    ('2026-12-01T12:04:56-0030', (12, 34, 56, 0)),
])
def test_timestamps_with_or_without_fraction_and_zone_are_read_as_utc(text, expected):
    moment = parse_timestamp(text)
    assert moment.tzinfo == datetime.timezone.utc
    assert (moment.hour, moment.minute, moment.second, moment.microsecond) == expected


def test_step_duration_is_end_minus_start_rounded_to_a_tenth():
    run = make_run()
    run['vms']['app1-vm1']['steps']['patch'] = {'start': '2026-12-01T12:00:15Z', 'end': '2026-12-01T12:01:27.349999Z'}
    run['vms']['app1-vm1']['steps']['reboot'] = {'start': '2026-12-01T12:01:27.349999Z', 'end': '2026-12-01T12:02:07.35Z'}
    steps = build_report(run)['vms']['app1-vm1']['steps']
    assert steps['patch'] == {'start': '2026-12-01T12:00:15Z', 'end': '2026-12-01T12:01:27.349999Z', 'duration_s': 72.3}
    assert steps['reboot']['duration_s'] == 40.0
    assert steps['drain']['duration_s'] == 10.0


def test_run_duration_and_times_in_the_report_are_utc_with_z():
    report = build_report(make_run(started='2026-12-01T13:00:00+01:00', ended='2026-12-01T12:06:40.25'))
    assert report['started'] == '2026-12-01T12:00:00Z'
    assert report['ended'] == '2026-12-01T12:06:40.250000Z'
    assert report['duration_s'] == 400.2


def test_missing_times_give_null_durations():
    run = make_run(ended=None)
    run['vms']['app1-vm1']['steps']['verify'] = {'start': at(115), 'end': None}
    run['vms']['app1-vm1']['steps']['restore'] = None
    report = build_report(run)
    assert report['duration_s'] is None
    assert report['overhead_s'] is None
    assert report['vms']['app1-vm1']['steps']['verify'] == {'start': at(115), 'end': None, 'duration_s': None}
    assert report['vms']['app1-vm1']['steps']['restore'] == {'start': None, 'end': None, 'duration_s': None}


# --- batches and the lower bound ------------------------------------------

def test_batch_spans_its_vms_and_each_step_lasts_as_long_as_its_slowest_vm():
    batch = build_report(make_run())['batches'][2]
    assert (batch['index'], batch['kind'], batch['update_domain'], batch['vms']) == (3, 'update_domain', 1, ['app1-vm2', 'app1-vm5'])
    assert batch['start'] == at(270)
    assert batch['end'] == at(270 + 20 + 70 + 50 + 6 + 18)
    assert batch['duration_s'] == 164.0
    assert batch['step_durations_s'] == {'drain': 20.0, 'patch': 70.0, 'reboot': 50.0, 'verify': 6.0, 'restore': 18.0}


def test_batch_lower_bound_sums_drain_patch_reboot_restore_maxima_without_verify():
    batches = build_report(make_run())['batches']
    assert [batch['lower_bound_s'] for batch in batches] == [10 + 60 + 40 + 15, 12 + 50 + 45 + 14, 20 + 70 + 50 + 18]


def test_run_lower_bound_is_the_sum_of_the_batches_and_overhead_the_rest():
    report = build_report(make_run())
    assert report['lower_bound_s'] == 125 + 121 + 158
    assert report['duration_s'] == 440.0
    assert report['overhead_s'] == 36.0


def test_lower_bound_of_a_failed_batch_counts_the_steps_that_ran():
    report = build_report(failed_run())
    batch = report['batches'][2]
    assert batch['step_durations_s'] == {'drain': 20.0, 'patch': 70.0, 'reboot': 35.0, 'verify': 6.0, 'restore': 18.0}
    assert batch['lower_bound_s'] == 143.0
    assert report['lower_bound_s'] == 125 + 121 + 143
    assert report['overhead_s'] == 47.0


# --- VMs ------------------------------------------------------------------

def test_vms_never_started_have_no_times_and_their_batch_no_figures():
    report = build_report(failed_run())
    never = report['vms']['app1-vm6']
    assert never['status'] == 'not_started'
    assert never['update_domain'] == 2
    assert never['batch'] == 4
    assert all(step == {'start': None, 'end': None, 'duration_s': None} for step in never['steps'].values())
    assert never['out_of_rotation'] == {'start': None, 'end': None, 'duration_s': None}
    assert report['vms']['app1-vm3']['status'] == 'not_started'
    batch = report['batches'][3]
    assert (batch['start'], batch['end'], batch['duration_s'], batch['lower_bound_s']) == (None, None, None, None)
    assert set(batch['step_durations_s'].values()) == {None}


@pytest.mark.parametrize('steps, failed_step, expected', [
    ({}, None, 'not_started'),
    ({'drain': {'start': at(0), 'end': None}}, None, 'failed'),
    (steps_from(0, 1, 1, 1, 1, 1), None, 'done'),
    (steps_from(0, 1, 1, 1, 1, 1), 'verify', 'failed'),
])
def test_status_the_playbook_did_not_give_follows_the_steps(steps, failed_step, expected):
    run = make_run()
    run['vms']['app1-vm4'] = {'update_domain': 0, 'steps': steps, 'failed_step': failed_step}
    assert build_report(run)['vms']['app1-vm4']['status'] == expected


def test_vm_entry_keeps_the_input_and_orders_vms_by_batch():
    run = make_run()
    run['vms'] = dict(reversed(list(run['vms'].items())))
    run['vms']['app1-vm4']['nic'] = 'app1-vm4-nic'
    run['vms']['app1-vm4']['update_domain'] = '0'
    run['vms']['app1-vm4']['packages_upgraded'] = '3'
    run['vms']['app1-vm1']['packages_upgraded'] = ''
    report = build_report(run)
    assert report['vms']['app1-vm1']['packages_upgraded'] is None
    assert list(report['vms']) == ['app1-vm1', 'app1-vm4', 'app1-vm2', 'app1-vm5']
    entry = report['vms']['app1-vm4']
    assert entry['update_domain'] == 0
    assert entry['nic'] == 'app1-vm4-nic'
    assert entry['batch'] == 2
    assert (entry['version_before'], entry['version_after'], entry['rebooted'], entry['packages_upgraded']) == (
        '1.0.0', '2.0.0', True, 3)
    assert (entry['boot_id_before'], entry['boot_id_after']) == ('boot-a', 'boot-b')


def test_vm_done_earlier_in_the_run_is_kept_outside_the_batches():
    run = make_run()
    run['vms']['app1-vm7'] = {'update_domain': 0, 'status': 'skipped_done'}
    report = build_report(run)
    assert report['vms']['app1-vm7']['batch'] is None
    assert report['vms']['app1-vm7']['status'] == 'skipped_done'
    assert 'outside the batches: app1-vm7 (skipped_done)' in summarize(report)
    assert '<h3>outside the batches</h3>' in render_html(report)


# --- out of rotation ------------------------------------------------------

def test_out_of_rotation_runs_from_drain_start_to_restore_end():
    report = build_report(failed_run())
    assert report['vms']['app1-vm5']['out_of_rotation'] == {'start': at(270), 'end': at(434), 'duration_s': 164.0}
    assert report['vms']['app1-vm2']['out_of_rotation'] == {'start': at(270), 'end': None, 'duration_s': None}


def test_one_update_domain_at_a_time_has_no_overlap():
    # the canary and the rest of its update domain may be out together
    run = make_run()
    run['vms']['app1-vm4']['steps'] = steps_from(100, 12, 50, 45, 4, 14)
    assert build_report(run)['out_of_rotation_overlaps'] == []


def test_vm_put_back_at_the_moment_the_next_domain_drains_does_not_overlap():
    run = make_run()
    run['vms']['app1-vm2']['steps'] = steps_from(140 + 125, 20, 30, 50, 3, 10)
    assert run['vms']['app1-vm2']['steps']['drain']['start'] == run['vms']['app1-vm4']['steps']['restore']['end']
    assert build_report(run)['out_of_rotation_overlaps'] == []


def test_two_update_domains_out_at_once_are_reported():
    run = make_run()
    # app1-vm4 (UD 0) is out from 140 to 265; app1-vm2 (UD 1) drained at 200, app1-vm5 at 250
    run['vms']['app1-vm2']['steps'] = steps_from(200, 20, 30, 50, 3, 10)
    run['vms']['app1-vm5']['steps'] = steps_from(250, 8, 70, 35, 6, 18)
    overlaps = build_report(run)['out_of_rotation_overlaps']
    assert overlaps == [
        {'start': at(200), 'end': at(250), 'duration_s': 50.0, 'update_domains': [0, 1], 'vms': ['app1-vm2', 'app1-vm4']},
        {'start': at(250), 'end': at(265), 'duration_s': 15.0, 'update_domains': [0, 1],
         'vms': ['app1-vm2', 'app1-vm4', 'app1-vm5']},
    ]


def test_vm_never_put_back_overlaps_every_later_update_domain_until_the_end():
    run = failed_run()
    run['vms']['app1-vm3'] = vm(2, 0, {'drain': {'start': at(350), 'end': at(355)}}, status='failed', failed_step='patch')
    overlaps = build_report(run)['out_of_rotation_overlaps']
    assert overlaps == [
        {'start': at(350), 'end': at(434), 'duration_s': 84.0, 'update_domains': [1, 2],
         'vms': ['app1-vm2', 'app1-vm3', 'app1-vm5']},
        {'start': at(434), 'end': None, 'duration_s': None, 'update_domains': [1, 2], 'vms': ['app1-vm2', 'app1-vm3']},
    ]


# --- input mistakes -------------------------------------------------------

def test_every_mistake_is_reported_naming_its_field():
    run = make_run(status='done', started='yesterday')
    run['batches'][1]['vms'] = ['app1-vm4', 'app1-vm1']
    run['vms']['app1-vm2']['steps']['reboot'] = {'start': at(10), 'end': at(5)}
    run['vms']['app1-vm2']['steps']['rebuild'] = {'start': at(10)}
    run['vms']['app1-vm5']['status'] = 'ok'
    run['vms']['app1-vm5']['failed_step'] = 'dance'
    run['vms']['app1-vm5']['steps']['patch']['end'] = '2026-13-01T00:00:00Z'
    with pytest.raises(ReportError) as caught:
        build_report(run)
    assert caught.value.problems == [
        "status: 'done' is not one of completed, failed, planned",
        "started: 'yesterday' is not an ISO 8601 timestamp like 2026-12-01T12:34:56Z",
        'batches[1].vms: app1-vm1 is already in batch 1',
        'vms.app1-vm2.steps: unknown step rebuild (steps: drain, patch, reboot, verify, restore)',
        'vms.app1-vm2.steps.reboot: ends before it starts',
        "vms.app1-vm5.steps.patch.end: '2026-13-01T00:00:00Z' is not a valid time: month must be in 1..12",
        "vms.app1-vm5.failed_step: 'dance' is not one of drain, patch, reboot, verify, restore",
        "vms.app1-vm5.status: 'ok' is not one of done, failed, skipped_done, not_started",
    ]


@pytest.mark.parametrize('overrides, problem', [
    ({'run_id': ''}, 'run_id: required'),
    ({'ended': at(-1)}, 'ended: before started'),
    ({'batches': {'index': 1}}, 'batches: expected a list'),
    ({'vms': ['app1-vm1']}, 'vms: expected a dict keyed by VM name'),
])
def test_a_run_field_of_the_wrong_kind_is_refused(overrides, problem):
    with pytest.raises(ReportError) as caught:
        build_report(make_run(**overrides))
    assert caught.value.problems == [problem]


# --- HTML -----------------------------------------------------------------

HOSTILE_VM = '<script>alert("vm")</script>&'
HOSTILE_MESSAGE = '"><img src=x onerror=alert(1)>'


def hostile_run():
    run = failed_run()
    run['batches'][2]['vms'] = [HOSTILE_VM, 'app1-vm5']
    run['vms'][HOSTILE_VM] = run['vms'].pop('app1-vm2')
    run['vms'][HOSTILE_VM]['message'] = HOSTILE_MESSAGE
    run['vms'][HOSTILE_VM]['version_before'] = '<b>1</b>'
    run['message'] = HOSTILE_MESSAGE
    run['run_id'] = '<i>run</i>'
    return run


def test_names_and_messages_are_escaped_everywhere():
    page = render_html(build_report(hostile_run()))
    for raw in (HOSTILE_VM, HOSTILE_MESSAGE, '<b>1</b>', '<i>run</i>', '<script', '<img'):
        assert raw not in page
    assert '&lt;script&gt;alert(&quot;vm&quot;)&lt;/script&gt;&amp;' in page
    assert '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;' in page
    assert '<title>Rolling patch &lt;i&gt;run&lt;/i&gt;: failed</title>' in page
    # the escaped name is one attribute value: the timeline still parses, with the real name in it
    assert set(rect.get('data-vm') for rect in bars(svg_of(page))) == {'app1-vm1', 'app1-vm4', HOSTILE_VM, 'app1-vm5'}


def test_page_is_self_contained():
    page = render_html(build_report(failed_run()))
    assert page.startswith('<!DOCTYPE html>')
    for outside in ('<script', '<link', 'src=', 'href=', 'url(', '@import', 'http'):
        assert outside not in page.lower()


def test_timeline_has_one_bar_per_vm_and_step_that_started():
    report = build_report(failed_run())
    svg = svg_of(render_html(report))
    drawn = [(rect.get('data-vm'), rect.get('data-step')) for rect in bars(svg)]
    expected = [(name, step) for name in ('app1-vm1', 'app1-vm4', 'app1-vm5') for step in STEPS]
    expected += [('app1-vm2', 'drain'), ('app1-vm2', 'patch')]
    assert sorted(drawn) == sorted(expected)


def test_timeline_rows_are_grouped_under_batch_labels():
    svg = svg_of(render_html(build_report(failed_run())))
    labels = [text.text for text in svg.iter('text') if text.get('class') == 'batch']
    assert labels == ['batch 1 \u00b7 UD 0 (canary)', 'batch 2 \u00b7 UD 0', 'batch 3 \u00b7 UD 1', 'batch 4 \u00b7 UD 2']
    rows = [text.text for text in svg.iter('text') if text.get('class') == 'vm']
    assert rows == ['app1-vm1', 'app1-vm4', 'app1-vm2', 'app1-vm5', 'app1-vm3', 'app1-vm6']


def test_bars_are_placed_on_the_time_axis_and_the_band_spans_drain_to_restore():
    svg = svg_of(render_html(build_report(make_run())))
    drawn = dict(((b.get('data-vm'), b.get('data-step')), x_range(b)) for b in bars(svg))
    width = PLOT_RIGHT - PLOT_LEFT
    assert drawn[('app1-vm1', 'drain')] == pytest.approx((PLOT_LEFT + 5 / 440.0 * width, PLOT_LEFT + 15 / 440.0 * width), abs=0.1)
    assert drawn[('app1-vm1', 'patch')][0] == pytest.approx(drawn[('app1-vm1', 'drain')][1], abs=0.1)
    bands = dict((band.get('data-vm'), x_range(band)) for band in svg.iter('rect') if band.get('class') == 'oor')
    assert sorted(bands) == ['app1-vm1', 'app1-vm2', 'app1-vm4', 'app1-vm5']
    for name in bands:
        assert bands[name] == pytest.approx((drawn[(name, 'drain')][0], drawn[(name, 'restore')][1]), abs=0.1)


def test_failed_step_is_red_with_a_marker_and_a_vm_never_put_back_is_out_to_the_end():
    svg = svg_of(render_html(build_report(failed_run())))
    failed = [b for b in bars(svg) if b.get('class') == 'bar failed']
    assert [(b.get('data-vm'), b.get('data-step'), b.get('fill')) for b in failed] == [('app1-vm2', 'patch', '#d62728')]
    markers = [path for path in svg.iter('path') if path.get('class') == 'fail-marker']
    assert [marker.find('title').text for marker in markers] == ['app1-vm2 at patch: dnf exited 1']
    band = [b for b in svg.iter('rect') if b.get('class') == 'oor' and b.get('data-vm') == 'app1-vm2'][0]
    assert x_range(band)[1] == pytest.approx(PLOT_RIGHT, abs=0.1)


def test_planned_run_shows_the_plan_without_bars():
    run = make_run(status='planned', ended=at(3), vms={})
    report = build_report(run)
    page = render_html(report)
    svg = svg_of(page)
    assert bars(svg) == []
    assert [b for b in svg.iter('rect') if b.get('class') == 'oor'] == []
    assert [text.text for text in svg.iter('text') if text.get('class') == 'vm'] == ['app1-vm1', 'app1-vm4', 'app1-vm2', 'app1-vm5']
    assert 'planned (check mode): nothing ran' in page
    assert page.count('<td colspan="4" class="muted">planned</td>') == 4


def test_header_names_the_failed_vm_and_the_message():
    page = render_html(build_report(failed_run()))
    assert '<tr><th>failed</th><td>app1-vm2 at patch: dnf exited 1</td></tr>' in page
    assert '<tr><th>message</th><td>patch failed on app1-vm2: dnf exited 1</td></tr>' in page
    assert '<tr><th>duration</th><td>7 min 16.0 s</td></tr>' in page


def test_overlap_is_flagged_on_the_page():
    run = make_run()
    run['vms']['app1-vm2']['steps'] = steps_from(200, 20, 30, 50, 3, 10)
    page = render_html(build_report(run))
    assert 'VMs of more than one update domain were out of rotation at once' in page
    assert ('<tr><th>out of rotation</th><td>update domains 0, 1 at once from +3 min 20.0 s to +4 min 25.0 s: '
            'app1-vm2, app1-vm4</td></tr>') in page
    shades = [rect for rect in svg_of(page).iter('rect') if rect.get('class') == 'overlap']
    width = PLOT_RIGHT - PLOT_LEFT
    assert [x_range(shade) for shade in shades] == [
        pytest.approx((PLOT_LEFT + 200 / 440.0 * width, PLOT_LEFT + 265 / 440.0 * width), abs=0.1)]
    assert shades[0].find('title').text == 'update domains 0, 1 out of rotation at once: app1-vm2, app1-vm4'


def test_no_overlap_no_shade():
    page = render_html(build_report(make_run()))
    assert [rect for rect in svg_of(page).iter('rect') if rect.get('class') == 'overlap'] == []
    assert 'more than one update domain out' not in page


# --- summary --------------------------------------------------------------

def test_summary_of_a_completed_run():
    assert summarize(build_report(make_run())) == [
        'rolling patch 20261201T120000Z: completed; duration 7 min 20.0 s, lower bound 6 min 44.0 s, '
        'overhead 36.0 s; 4 VMs in 3 batches, drain method probe',
        'batch 1 \u00b7 UD 0 (canary): app1-vm1; 2 min 10.0 s, lower bound 2 min 5.0 s (slowest VM per step: '
        'drain 10.0 s, patch 1 min 0.0 s, reboot 40.0 s, verify 5.0 s, restore 15.0 s)',
        'batch 2 \u00b7 UD 0: app1-vm4; 2 min 5.0 s, lower bound 2 min 1.0 s (slowest VM per step: '
        'drain 12.0 s, patch 50.0 s, reboot 45.0 s, verify 4.0 s, restore 14.0 s)',
        'batch 3 \u00b7 UD 1: app1-vm2, app1-vm5; 2 min 44.0 s, lower bound 2 min 38.0 s (slowest VM per step: '
        'drain 20.0 s, patch 1 min 10.0 s, reboot 50.0 s, verify 6.0 s, restore 18.0 s)',
        'out of rotation: never more than one update domain at a time',
    ]


def test_summary_flags_two_update_domains_out_at_once():
    run = make_run()
    run['vms']['app1-vm2']['steps'] = steps_from(200, 20, 30, 50, 3, 10)
    assert summarize(build_report(run))[-1] == (
        'out of rotation: update domains 0, 1 at once from +3 min 20.0 s to +4 min 25.0 s: app1-vm2, app1-vm4')


def test_summary_of_a_failed_run():
    lines = summarize(build_report(failed_run()))
    assert lines[0] == ('rolling patch 20261201T120000Z: failed; duration 7 min 16.0 s, lower bound 6 min 29.0 s, '
                        'overhead 47.0 s; 6 VMs in 4 batches, drain method probe')
    assert lines[1:3] == ['failed: app1-vm2 at patch: dnf exited 1', 'message: patch failed on app1-vm2: dnf exited 1']
    assert lines[-3:] == ['batch 4 \u00b7 UD 2: app1-vm3, app1-vm6; not started', 'not started: app1-vm3, app1-vm6',
                          'out of rotation: never more than one update domain at a time']


def test_summary_of_a_planned_run():
    run = make_run(status='planned', ended=None, drain_method='admin_state', vms={})
    assert summarize(build_report(run)) == [
        'rolling patch 20261201T120000Z: planned (check mode), nothing ran; 4 VMs in 3 batches, drain method admin_state',
        'batch 1 \u00b7 UD 0 (canary): app1-vm1',
        'batch 2 \u00b7 UD 0: app1-vm4',
        'batch 3 \u00b7 UD 1: app1-vm2, app1-vm5',
    ]


@pytest.mark.parametrize('seconds, text', [
    (None, 'unknown'), (0, '0.0 s'), (59.94, '59.9 s'), (59.96, '1 min 0.0 s'), (3725.4, '1 h 2 min 5.4 s'), (-4, '-4.0 s'),
])
def test_durations_read_in_hours_minutes_seconds(seconds, text):
    assert format_duration(seconds) == text


def test_report_does_not_change_the_run_it_was_given():
    run = failed_run()
    before = copy.deepcopy(run)
    build_report(run)
    assert run == before


def test_a_run_without_status_ends_as_its_vms_say():
    run = make_run()
    del run['status'], run['message']
    report = build_report(run)
    done = sum(1 for vm in report['vms'].values() if vm['status'] == 'done')
    assert report['status'] == 'completed'
    assert report['message'] == 'Run %s completed: %d VM(s) patched in %d batch(es).' % (
        report['run_id'], done, len(report['batches']))


def test_a_failed_vm_makes_the_run_failed_and_the_message_says_how_to_resume():
    run = make_run(ended=at(436))
    del run['status'], run['message']
    run['vms']['app1-vm2'].update(status='failed', failed_step='patch', message='dnf exited 1')
    run['vms']['app1-vm3'] = {'update_domain': 2, 'fault_domain': 0, 'status': 'not_started'}
    report = build_report(run)
    batch = next(b for b in report['batches'] if 'app1-vm2' in b['vms'])
    assert report['status'] == 'failed' and report['failed_vms'] == ['app1-vm2']
    assert report['message'] == (
        'Run {0} stopped at {1}: app1-vm2 failed at step patch (dnf exited 1). app1-vm2 stay(s) out of rotation; '
        'every other VM is in service; app1-vm3 not started. Fix the cause, then run the same playbook again: it '
        'resumes run {0} (or pass -e rolling_patch_run_id={0}).'.format(report['run_id'], batch_label(batch)))


def test_a_given_status_and_message_are_kept():
    run = make_run(status='planned', ended=at(3), vms={}, message=None)
    report = build_report(run)
    assert (report['status'], report['message']) == ('planned', None)
