# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the rolling patch planner (pure Python, no Azure)."""

import pytest

from ansible_collections.azure_ha.webfarm.plugins.module_utils.rolling_plan import (
    PlanRefused,
    build_plan,
    natural_key,
    normalize_health,
    parse_max_unhealthy,
    parse_order,
    required_in_service,
    summarize,
)


def make_members(count, update_domains=3, fault_domains=2, app='app1'):
    """VM N in UD (N-1) % update_domains and FD (N-1) % fault_domains, like Azure's round robin."""
    return [{
        'name': '%s-vm%d' % (app, n),
        'update_domain': (n - 1) % update_domains,
        'fault_domain': (n - 1) % fault_domains if fault_domains else None,
        'power_state': 'running',
        'private_ip': '10.0.0.%d' % (3 + n),
        'os_type': 'Linux',
    } for n in range(1, count + 1)]


def all_up(members, **overrides):
    health = dict((m['name'], 'Up') for m in members)
    health.update(overrides)
    return health


def batch_vms(plan):
    return [batch['vms'] for batch in plan['batches']]


def refusal(members, health, **options):
    with pytest.raises(PlanRefused) as caught:
        build_plan(members, health, **options)
    return caught.value


# --- update domain order --------------------------------------------------

def test_default_order_is_one_update_domain_per_batch_ascending():
    members = make_members(6)
    plan = build_plan(members, all_up(members))
    assert plan['update_domain_order'] == [0, 1, 2]
    assert [b['update_domain'] for b in plan['batches']] == [0, 1, 2]
    assert [b['index'] for b in plan['batches']] == [1, 2, 3]
    assert [b['kind'] for b in plan['batches']] == ['update_domain'] * 3
    assert batch_vms(plan) == [['app1-vm1', 'app1-vm4'], ['app1-vm2', 'app1-vm5'], ['app1-vm3', 'app1-vm6']]
    assert [b['in_service_during'] for b in plan['batches']] == [4, 4, 4]
    assert [b['skipped_done'] for b in plan['batches']] == [[], [], []]
    assert plan['canary'] is None
    assert plan['healthy'] == ['app1-vm%d' % n for n in range(1, 7)]
    assert plan['unhealthy'] == []
    assert plan['min_in_service'] == 1
    assert plan['max_unhealthy'] == 1


def test_batches_list_vms_in_natural_order_whatever_the_input_order():
    members = list(reversed(make_members(12, update_domains=2)))
    plan = build_plan(members, all_up(members))
    assert batch_vms(plan)[0] == ['app1-vm1', 'app1-vm3', 'app1-vm5', 'app1-vm7', 'app1-vm9', 'app1-vm11']
    assert batch_vms(plan)[1] == ['app1-vm2', 'app1-vm4', 'app1-vm6', 'app1-vm8', 'app1-vm10', 'app1-vm12']


def test_update_domains_with_gaps_keep_their_numbers():
    members = make_members(3, update_domains=1)
    for member, ud in zip(members, (4, 0, 17)):
        member['update_domain'] = ud
    plan = build_plan(members, all_up(members))
    assert plan['update_domain_order'] == [0, 4, 17]
    assert batch_vms(plan) == [['app1-vm2'], ['app1-vm1'], ['app1-vm3']]


def test_update_domain_given_as_digit_string_is_accepted():
    members = make_members(2, update_domains=2)
    members[1]['update_domain'] = '1'
    assert build_plan(members, all_up(members))['update_domain_order'] == [0, 1]


def test_one_vm_per_update_domain():
    members = make_members(5, update_domains=5)
    plan = build_plan(members, all_up(members))
    assert batch_vms(plan) == [['app1-vm%d' % n] for n in range(1, 6)]
    assert [b['in_service_during'] for b in plan['batches']] == [4] * 5


def test_natural_key_orders_numbers_numerically():
    assert sorted(['app1-vm10', 'app1-vm2', 'app1-vm1'], key=natural_key) == ['app1-vm1', 'app1-vm2', 'app1-vm10']


# --- explicit order -------------------------------------------------------

@pytest.mark.parametrize('order', [[2, 0, 1], ['2', '0', '1'], '2,0,1', '2, 0, 1'])
def test_explicit_order_is_followed(order):
    members = make_members(6)
    plan = build_plan(members, all_up(members), order=order)
    assert plan['update_domain_order'] == [2, 0, 1]
    assert batch_vms(plan) == [['app1-vm3', 'app1-vm6'], ['app1-vm1', 'app1-vm4'], ['app1-vm2', 'app1-vm5']]


@pytest.mark.parametrize('order', [None, 'update_domain'])
def test_update_domain_order_keyword(order):
    members = make_members(4)
    assert build_plan(members, all_up(members), order=order)['update_domain_order'] == [0, 1, 2]


def test_explicit_order_naming_an_empty_update_domain_is_refused():
    members = make_members(6)
    error = refusal(members, all_up(members), order=[0, 1, 2, 3])
    assert error.problems == ['order=[0, 1, 2, 3]: update domain 3 has no VM to patch (update domains with VMs: 0, 1, 2)']


def test_explicit_order_missing_update_domains_with_members_is_refused():
    members = make_members(6)
    error = refusal(members, all_up(members), order=[1])
    assert error.problems == ['order=[1]: update domains 0 (app1-vm1, app1-vm4), 2 (app1-vm3, app1-vm6) '
                              'hold VMs but not listed']


def test_explicit_order_with_both_mistakes_reports_both():
    members = make_members(6)
    error = refusal(members, all_up(members), order=[0, 5, 1, 7])
    assert error.problems == [
        'order=[0, 5, 1, 7]: update domains 5, 7 have no VM to patch (update domains with VMs: 0, 1, 2)',
        'order=[0, 5, 1, 7]: update domain 2 (app1-vm3, app1-vm6) holds VMs but not listed',
    ]


def test_explicit_order_is_checked_against_the_selected_vms():
    members = make_members(6)
    plan = build_plan(members, all_up(members), order=[1, 0], only=['app1-vm1', 'app1-vm2'])
    assert batch_vms(plan) == [['app1-vm2'], ['app1-vm1']]
    error = refusal(members, all_up(members), order=[1, 0, 2], only=['app1-vm1', 'app1-vm2'])
    assert error.problems == ['order=[1, 0, 2]: update domain 2 has no VM to patch (update domains with VMs: 0, 1)']


def test_explicit_order_listing_an_update_domain_twice_is_refused():
    with pytest.raises(PlanRefused, match=r'^order=\[0, 1, 0\]: update domain 0 listed more than once$'):
        parse_order([0, 1, 0])


@pytest.mark.parametrize('order', ['zigzag', [], ['a'], [None], [True], 3])
def test_explicit_order_that_is_not_a_list_of_numbers_is_refused(order):
    with pytest.raises(PlanRefused, match=r"^order=.*: expected 'update_domain' or a list of update domain numbers$"):
        parse_order(order)


# --- canary ---------------------------------------------------------------

def test_canary_is_the_first_vm_of_the_first_batch_alone():
    members = make_members(6)
    plan = build_plan(members, all_up(members), canary=True)
    assert plan['canary'] == 'app1-vm1'
    assert [(b['index'], b['kind'], b['update_domain'], b['vms']) for b in plan['batches']] == [
        (1, 'canary', 0, ['app1-vm1']),
        (2, 'update_domain', 0, ['app1-vm4']),
        (3, 'update_domain', 1, ['app1-vm2', 'app1-vm5']),
        (4, 'update_domain', 2, ['app1-vm3', 'app1-vm6']),
    ]
    assert [b['in_service_during'] for b in plan['batches']] == [5, 5, 4, 4]


def test_canary_follows_an_explicit_order():
    members = make_members(6)
    plan = build_plan(members, all_up(members), canary=True, order=[2, 1, 0])
    assert batch_vms(plan)[:2] == [['app1-vm3'], ['app1-vm6']]
    assert plan['batches'][0]['update_domain'] == 2


def test_canary_with_one_vm_per_update_domain_leaves_no_empty_batch():
    members = make_members(3, update_domains=3)
    plan = build_plan(members, all_up(members), canary=True)
    assert [(b['kind'], b['vms']) for b in plan['batches']] == [
        ('canary', ['app1-vm1']), ('update_domain', ['app1-vm2']), ('update_domain', ['app1-vm3'])]
    assert [b['index'] for b in plan['batches']] == [1, 2, 3]


def test_canary_is_dropped_once_a_vm_of_the_run_completed():
    members = make_members(6)
    plan = build_plan(members, all_up(members), canary=True, completed=['app1-vm1'])
    assert plan['canary'] is None
    assert [b['kind'] for b in plan['batches']] == ['update_domain'] * 3
    assert batch_vms(plan)[0] == ['app1-vm4']


def test_failed_canary_is_the_canary_again_on_resume():
    members = make_members(6)
    health = all_up(members, **{'app1-vm1': 'Down'})
    plan = build_plan(members, health, canary=True, in_progress=['app1-vm1'])
    assert plan['canary'] == 'app1-vm1'
    assert batch_vms(plan)[:2] == [['app1-vm1'], ['app1-vm4']]


def test_canary_on_a_resume_with_a_whole_batch_in_progress_keeps_that_batch_whole():
    members = make_members(6)
    health = all_up(members, **{'app1-vm1': 'Down', 'app1-vm4': 'Down'})
    plan = build_plan(members, health, canary=True, in_progress=['app1-vm1', 'app1-vm4'])
    assert plan['canary'] is None
    assert batch_vms(plan)[0] == ['app1-vm1', 'app1-vm4']


def test_canary_with_nothing_left_to_patch():
    members = make_members(2, update_domains=2)
    plan = build_plan(members, all_up(members), canary=True, completed=['app1-vm1', 'app1-vm2'])
    assert plan['batches'] == []
    assert plan['canary'] is None


# --- resume ---------------------------------------------------------------

def test_completed_vms_are_skipped_and_reported_on_their_batch():
    members = make_members(6)
    plan = build_plan(members, all_up(members), completed=['app1-vm1', 'app1-vm5'])
    assert batch_vms(plan) == [['app1-vm4'], ['app1-vm2'], ['app1-vm3', 'app1-vm6']]
    assert [b['skipped_done'] for b in plan['batches']] == [['app1-vm1'], ['app1-vm5'], []]
    assert plan['skipped_done'] == ['app1-vm1', 'app1-vm5']


def test_update_domains_already_done_drop_out_and_batches_are_renumbered():
    members = make_members(6)
    plan = build_plan(members, all_up(members), completed=['app1-vm1', 'app1-vm4', 'app1-vm2'])
    assert [(b['index'], b['update_domain'], b['vms'], b['skipped_done']) for b in plan['batches']] == [
        (1, 1, ['app1-vm5'], ['app1-vm2']),
        (2, 2, ['app1-vm3', 'app1-vm6'], []),
    ]
    assert plan['update_domain_order'] == [0, 1, 2]
    assert plan['skipped_done'] == ['app1-vm1', 'app1-vm4', 'app1-vm2']


def test_everything_done_gives_an_empty_plan():
    members = make_members(4)
    plan = build_plan(members, all_up(members), completed=[m['name'] for m in members])
    assert plan['batches'] == []
    assert summarize(plan)[-1] == 'nothing to patch'


def test_completed_names_outside_the_set_are_ignored():
    members = make_members(3)
    plan = build_plan(members, all_up(members), completed=['app1-vm9'])
    assert plan['skipped_done'] == []
    assert len(plan['batches']) == 3


def test_in_progress_vms_do_not_count_against_max_unhealthy_and_come_first():
    members = make_members(4)
    health = all_up(members, **{'app1-vm2': 'Down'})
    plan = build_plan(members, health, completed=['app1-vm1', 'app1-vm4'], in_progress=['app1-vm2'])
    assert plan['unhealthy'] == []
    assert plan['in_progress'] == ['app1-vm2']
    assert batch_vms(plan) == [['app1-vm2'], ['app1-vm3']]
    # vm2 is only left behind once it is back in rotation: it counts in batch 2
    assert [b['in_service_during'] for b in plan['batches']] == [3, 3]


def test_in_progress_vms_outside_the_first_batch_are_refused():
    members = make_members(6)
    health = all_up(members, **{'app1-vm3': 'Down'})
    error = refusal(members, health, in_progress=['app1-vm3'])
    assert error.problems == [
        'in_progress: app1-vm3 left out of rotation by the stopped run must be patched first, but the first '
        'batch is batch 1 (update domain 0: app1-vm1, app1-vm4); resume with the same order, only and canary']


def test_in_progress_vms_left_out_by_only_are_refused():
    members = make_members(6)
    health = all_up(members, **{'app1-vm2': 'Down'})
    error = refusal(members, health, in_progress=['app1-vm2'], only=['app1-vm1'])
    assert error.problems[0].startswith('in_progress: app1-vm2 left out of rotation')


# --- min_in_service -------------------------------------------------------

def test_min_in_service_refusal_names_the_batch_and_the_numbers():
    members = make_members(6)
    health = all_up(members, **{'app1-vm1': 'Down', 'app1-vm4': 'Down'})
    error = refusal(members, health, min_in_service=3, max_unhealthy=2)
    assert error.problems == [
        'min_in_service=3: batch 2 (update domain 1: app1-vm2, app1-vm5) would leave 2 healthy VMs in service (of 6)',
        'min_in_service=3: batch 3 (update domain 2: app1-vm3, app1-vm6) would leave 2 healthy VMs in service (of 6)',
    ]
    assert str(error) == '; '.join(error.problems)


def test_min_in_service_just_met_is_accepted():
    members = make_members(6)
    plan = build_plan(members, all_up(members), min_in_service=4)
    assert [b['in_service_during'] for b in plan['batches']] == [4, 4, 4]
    assert plan['min_in_service'] == 4


def test_unhealthy_vms_outside_the_batch_do_not_count_as_in_service():
    members = make_members(3, update_domains=3)
    health = all_up(members, **{'app1-vm2': 'Down'})
    error = refusal(members, health, min_in_service=2, max_unhealthy=1)
    assert error.problems == [
        'min_in_service=2: batch 1 (update domain 0: app1-vm1) would leave 1 healthy VM in service (of 3)',
        'min_in_service=2: batch 3 (update domain 2: app1-vm3) would leave 1 healthy VM in service (of 3)',
    ]


def test_canary_batch_is_checked_too():
    members = make_members(4, update_domains=2)
    error = refusal(members, all_up(members), min_in_service=4, canary=True)
    assert error.problems == [
        'min_in_service=4: batch 1 (canary from update domain 0: app1-vm1) would leave 3 healthy VMs in service (of 4)',
        'min_in_service=4: batch 2 (update domain 0: app1-vm3) would leave 3 healthy VMs in service (of 4)',
        'min_in_service=4: batch 3 (update domain 1: app1-vm2, app1-vm4) would leave 2 healthy VMs in service (of 4)',
    ]


def test_default_refuses_a_batch_that_is_the_whole_set():
    members = make_members(3, update_domains=1)
    error = refusal(members, all_up(members))
    assert error.problems == ['min_in_service=1 (default): batch 1 (update domain 0: app1-vm1, app1-vm2, app1-vm3) '
                              'would take the whole set (3 VMs) out of service']


def test_a_single_vm_set_is_refused():
    members = make_members(1)
    error = refusal(members, all_up(members))
    assert str(error) == ('min_in_service=1 (default): batch 1 (update domain 0: app1-vm1) '
                          'would take the whole set (1 VM) out of service')


def test_a_single_vm_canary_that_is_the_whole_set_is_refused():
    members = make_members(1)
    error = refusal(members, all_up(members), canary=True)
    assert str(error) == ('min_in_service=1 (default): batch 1 (canary from update domain 0: app1-vm1) '
                          'would take the whole set (1 VM) out of service')


def test_min_in_service_zero_still_keeps_one_in_service():
    members = make_members(2, update_domains=2)
    health = all_up(members, **{'app1-vm2': None})
    error = refusal(members, health, min_in_service=0, max_unhealthy=1)
    assert error.problems == ['min_in_service=0 (never less than 1): batch 1 (update domain 0: app1-vm1) '
                              'would leave 0 healthy VMs in service (of 2)']


@pytest.mark.parametrize('given, required', [(None, 1), (0, 1), (1, 1), (5, 5), ('3', 3)])
def test_required_in_service(given, required):
    assert required_in_service(given) == required


@pytest.mark.parametrize('given', [-1, 'many', True])
def test_invalid_min_in_service_is_refused(given):
    with pytest.raises(PlanRefused, match=r'^min_in_service=.*: expected a whole number >= 0$'):
        required_in_service(given)


def test_vms_left_out_by_only_still_count_as_in_service():
    members = make_members(4, update_domains=1)
    plan = build_plan(members, all_up(members), only=['app1-vm1', 'app1-vm2'])
    assert batch_vms(plan) == [['app1-vm1', 'app1-vm2']]
    assert plan['batches'][0]['in_service_during'] == 2


# --- max_unhealthy --------------------------------------------------------

@pytest.mark.parametrize('value, total, allowed', [
    ('20%', 5, 1), ('20%', 4, 0), ('20%', 10, 2), ('25%', 10, 2), ('0%', 6, 0), ('100%', 6, 6),
    (' 50% ', 3, 1), (None, 10, 2), (2, 6, 2), ('2', 6, 2), (0, 6, 0),
])
def test_max_unhealthy_counts_and_percentages_round_down(value, total, allowed):
    assert parse_max_unhealthy(value, total) == allowed


@pytest.mark.parametrize('value, message', [
    ('120%', 'max_unhealthy=120%: a percentage must be 0% to 100%'),
    ('-5%', 'max_unhealthy=-5%: a percentage must be 0% to 100%'),
    ('x%', 'max_unhealthy=x%: a percentage must be 0% to 100%'),
    (-1, 'max_unhealthy=-1: expected a count (2) or a percentage of the set (20%)'),
    ('some', 'max_unhealthy=some: expected a count (2) or a percentage of the set (20%)'),
    (1.5, 'max_unhealthy=1.5: expected a count (2) or a percentage of the set (20%)'),
])
def test_invalid_max_unhealthy_is_refused(value, message):
    with pytest.raises(PlanRefused) as caught:
        parse_max_unhealthy(value, 6)
    assert caught.value.problems == [message]


def test_a_set_unhealthy_beyond_max_unhealthy_is_refused():
    members = make_members(6)
    health = all_up(members, **{'app1-vm2': 'Down'})
    del health['app1-vm5']
    error = refusal(members, health)
    assert error.problems == [
        'max_unhealthy=20%: 2 of 6 VMs are unhealthy (app1-vm2: Down, app1-vm5: unknown), at most 1 allowed; '
        'bring them back into rotation first or raise max_unhealthy']


def test_max_unhealthy_default_refuses_any_unhealthy_vm_in_a_small_set():
    members = make_members(3)
    error = refusal(members, all_up(members, **{'app1-vm3': 'Down'}))
    assert error.problems[0].startswith('max_unhealthy=20%: 1 of 3 VMs are unhealthy (app1-vm3: Down), '
                                        'at most 0 allowed')


def test_unhealthy_within_max_unhealthy_is_accepted_and_reported():
    members = make_members(6)
    plan = build_plan(members, all_up(members, **{'app1-vm6': 'Down'}))
    assert plan['unhealthy'] == ['app1-vm6']
    assert 'app1-vm6' not in plan['healthy']
    assert [b['in_service_during'] for b in plan['batches']] == [3, 3, 4]


def test_max_unhealthy_as_a_count():
    members = make_members(6)
    health = all_up(members, **{'app1-vm1': 'Down', 'app1-vm2': 'Down'})
    assert build_plan(members, health, max_unhealthy=2)['max_unhealthy'] == 2
    assert 'at most 1 allowed' in str(refusal(members, health, max_unhealthy='1'))


# --- health ---------------------------------------------------------------

def test_health_keyed_by_private_ip_is_matched_to_the_vm():
    members = make_members(3)
    health = normalize_health(members, {'10.0.0.4': 'Up', '10.0.0.5': 'down', 'app1-vm3': 'UP', '10.9.9.9': 'Up'})
    assert health == {'app1-vm1': 'Up', 'app1-vm2': 'Down', 'app1-vm3': 'Up'}


def test_health_by_name_wins_over_health_by_ip():
    members = make_members(1)
    assert normalize_health(members, {'app1-vm1': 'Up', '10.0.0.4': 'Down'}) == {'app1-vm1': 'Up'}


def test_missing_or_empty_health_is_unknown():
    members = make_members(3)
    assert normalize_health(members, {'app1-vm1': None, 'app1-vm2': ''}) == {
        'app1-vm1': None, 'app1-vm2': None, 'app1-vm3': None}
    assert normalize_health(members, None) == dict((m['name'], None) for m in members)


def test_an_invalid_health_state_is_refused():
    members = make_members(2)
    error = refusal(members, {'app1-vm1': 'Up', 'app1-vm2': 'Degraded'})
    assert error.problems == ["health[app1-vm2]='Degraded': expected Up, Down or null"]


# --- members and only -----------------------------------------------------

def test_members_without_update_domain_are_refused():
    members = make_members(4)
    members[2]['update_domain'] = None
    members[2]['power_state'] = 'deallocated'
    del members[3]['update_domain']
    error = refusal(members, all_up(members))
    assert error.problems == [
        'members: update domain unknown for app1-vm3 (power state deallocated), app1-vm4 (power state running); '
        'Azure reports it only for a VM that is allocated: start it, or leave it out with only']


def test_a_member_without_update_domain_can_be_left_out_with_only():
    members = make_members(4)
    members[3]['update_domain'] = None
    health = all_up(members, **{'app1-vm4': 'Down'})
    plan = build_plan(members, health, only=['app1-vm1', 'app1-vm2', 'app1-vm3'], max_unhealthy=1)
    assert batch_vms(plan) == [['app1-vm1'], ['app1-vm2'], ['app1-vm3']]


def test_only_restricts_the_plan():
    members = make_members(6)
    plan = build_plan(members, all_up(members), only=['app1-vm5', 'app1-vm1', 'app1-vm4'])
    assert batch_vms(plan) == [['app1-vm1', 'app1-vm4'], ['app1-vm5']]
    assert [b['in_service_during'] for b in plan['batches']] == [4, 5]


def test_empty_only_means_every_vm():
    members = make_members(3)
    assert len(build_plan(members, all_up(members), only=[])['batches']) == 3


def test_only_naming_unknown_vms_is_refused():
    members = make_members(3)
    error = refusal(members, all_up(members), only=['app1-vm1', 'app2-vm1', 'app1-vm7'])
    assert error.problems == ['only: app1-vm7, app2-vm1 not in the availability set '
                              '(members: app1-vm1, app1-vm2, app1-vm3)']


def test_duplicate_and_nameless_members_are_refused():
    members = make_members(2) + make_members(1) + [{'update_domain': 0}]
    error = refusal(members, {})
    assert error.problems == ['members: every member needs a name', 'members: app1-vm1 listed more than once']


def test_fault_domains_of_each_batch_are_reported():
    members = make_members(6, update_domains=2, fault_domains=3)
    plan = build_plan(members, all_up(members))
    assert [b['fault_domains'] for b in plan['batches']] == [[0, 1, 2], [0, 1, 2]]
    members = make_members(4, update_domains=2, fault_domains=2)
    assert [b['fault_domains'] for b in build_plan(members, all_up(members))['batches']] == [[0], [1]]


def test_unknown_fault_domains_are_left_out():
    members = make_members(4, fault_domains=None)
    plan = build_plan(members, all_up(members))
    assert [b['fault_domains'] for b in plan['batches']] == [[], [], []]
    assert 'fault domain' not in '\n'.join(summarize(plan))


def test_empty_set_gives_an_empty_plan():
    plan = build_plan([], {})
    assert plan['batches'] == []
    assert plan['update_domain_order'] == []
    assert summarize(plan) == [
        'rolling plan: 0 VMs in the set, 0 healthy; update domain order -; at least 1 healthy in service '
        'during every batch; at most 0 unhealthy tolerated',
        'nothing to patch',
    ]


def test_all_problems_of_a_stage_are_reported_together():
    members = make_members(3)
    members[0]['update_domain'] = None
    error = refusal(members, all_up(members), only=['app1-vm1', 'ghost'])
    assert [p.split(':')[0] for p in error.problems] == ['only', 'members']


# --- summary --------------------------------------------------------------

def test_summary_describes_order_batches_and_skips():
    members = make_members(6)
    plan = build_plan(members, all_up(members, **{'app1-vm2': 'Down'}), canary=False,
                      completed=['app1-vm1'], in_progress=['app1-vm4'], min_in_service=2)
    assert summarize(plan) == [
        'rolling plan: 6 VMs in the set, 5 healthy; update domain order 0 -> 1 -> 2; at least 2 healthy in '
        'service during every batch; at most 1 unhealthy tolerated',
        'already done in this run (skipped): app1-vm1',
        'left out of rotation by the stopped run (patched first): app1-vm4',
        'batch 1 (update domain 0: app1-vm4): 4 in service during the batch; fault domain 1; done already: app1-vm1',
        'batch 2 (update domain 1: app1-vm2, app1-vm5): 4 in service during the batch; fault domains 0, 1',
        'batch 3 (update domain 2: app1-vm3, app1-vm6): 3 in service during the batch; fault domains 0, 1',
    ]


def test_summary_names_the_canary():
    members = make_members(4, update_domains=2)
    lines = summarize(build_plan(members, all_up(members), canary=True))
    assert lines[1] == 'batch 1 (canary from update domain 0: app1-vm1): 3 in service during the batch; fault domain 0'


def test_build_plan_does_not_change_its_inputs():
    members = make_members(6)
    health = all_up(members)
    before = (repr(members), repr(health))
    build_plan(members, health, canary=True, completed=['app1-vm1'])
    assert (repr(members), repr(health)) == before
