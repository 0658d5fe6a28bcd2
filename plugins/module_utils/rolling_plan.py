# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batch plan of a rolling patch over an availability set (pure: no I/O).

One update domain per batch, so that at any moment the VMs out of rotation
belong to a single update domain (the unit Azure itself takes down for
platform maintenance). The plan is refused before anything is touched when a
batch would leave too few healthy VMs in service or when the set is already
too unhealthy to lose more capacity.
"""

import re

UPDATE_DOMAIN_ORDER = 'update_domain'
DEFAULT_MAX_UNHEALTHY = '20%'
HEALTH_UP = 'Up'
HEALTH_DOWN = 'Down'


class PlanRefused(Exception):
    """The plan breaks a rule; ``problems`` lists every broken rule, each naming its option."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(PlanRefused, self).__init__('; '.join(self.problems))


def natural_key(name):
    """Sort key that puts app1-vm2 before app1-vm10."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', name)]


def _sorted_names(names):
    return sorted(names, key=natural_key)


def _vm_count(count):
    return '%d VM%s' % (count, '' if count == 1 else 's')


def _as_int(value):
    """int for ints and digit strings (Jinja may hand either), None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# --- option parsing -------------------------------------------------------

def parse_max_unhealthy(value, total):
    """Number of unhealthy VMs tolerated out of ``total``.

    ``value`` is a count (2, '2') or a percentage of the set ('20%'),
    rounded down like VMSS maxUnhealthyInstancePercent so that the limit is
    never looser than asked.
    """
    if value is None:
        value = DEFAULT_MAX_UNHEALTHY
    text = str(value).strip()
    if isinstance(value, str) and text.endswith('%'):
        percent = _as_int(text[:-1])
        if percent is None or percent > 100:
            raise PlanRefused(['max_unhealthy=%s: a percentage must be 0%% to 100%%' % text])
        return total * percent // 100
    count = _as_int(value)
    if count is None or count < 0:
        raise PlanRefused(['max_unhealthy=%s: expected a count (2) or a percentage of the set (20%%)' % text])
    return count


def required_in_service(min_in_service):
    """Healthy VMs that must stay in service during every batch: never fewer than 1."""
    if min_in_service is None:
        return 1
    value = _as_int(min_in_service)
    if value is None or value < 0:
        raise PlanRefused(['min_in_service=%s: expected a whole number >= 0' % min_in_service])
    return max(1, value)


def _describe_min_in_service(min_in_service, required):
    if min_in_service is None:
        return 'min_in_service=%d (default)' % required
    if _as_int(min_in_service) < required:
        return 'min_in_service=%s (never less than %d)' % (min_in_service, required)
    return 'min_in_service=%s' % min_in_service


def parse_order(order):
    """None for update-domain order, else the explicit list of UD numbers."""
    if order is None or order == UPDATE_DOMAIN_ORDER:
        return None
    items = order.split(',') if isinstance(order, str) else order
    if not isinstance(items, (list, tuple)):
        raise PlanRefused(['order=%r: expected %r or a list of update domain numbers' % (order, UPDATE_DOMAIN_ORDER)])
    numbers = [_as_int(item.strip() if isinstance(item, str) else item) for item in items]
    if not numbers or None in numbers:
        raise PlanRefused(['order=%s: expected %r or a list of update domain numbers'
                           % (list(items), UPDATE_DOMAIN_ORDER)])
    duplicates = sorted(set(n for n in numbers if numbers.count(n) > 1))
    if duplicates:
        raise PlanRefused(['order=%s: update domain %s listed more than once'
                           % (numbers, ', '.join(str(n) for n in duplicates))])
    return numbers


def normalize_health(members, health):
    """Health per member name: 'Up', 'Down' or None (unknown).

    ``health`` may be keyed by VM name or by private IP (the LB rule health
    API reports backends by IP). A VM the LB does not report is unknown.
    """
    by_key = {}
    for key, state in (health or {}).items():
        if state in (None, ''):
            by_key[key] = None
        elif str(state).capitalize() in (HEALTH_UP, HEALTH_DOWN):
            by_key[key] = str(state).capitalize()
        else:
            raise PlanRefused(['health[%s]=%r: expected Up, Down or null' % (key, state)])
    result = {}
    for member in members:
        name = member['name']
        if name in by_key:
            result[name] = by_key[name]
        else:
            result[name] = by_key.get(member.get('private_ip'))
    return result


# --- member checks --------------------------------------------------------

def check_members(members):
    problems = []
    names = [member.get('name') for member in members]
    if any(not name for name in names):
        problems.append('members: every member needs a name')
    duplicates = _sorted_names(set(n for n in names if n and names.count(n) > 1))
    if duplicates:
        problems.append('members: %s listed more than once' % ', '.join(duplicates))
    return problems


def check_update_domains_known(selected):
    unknown = [m for m in selected if _as_int(m.get('update_domain')) is None]
    if not unknown:
        return []
    described = ', '.join('%s (power state %s)' % (m['name'], m.get('power_state') or 'unknown')
                          for m in sorted(unknown, key=lambda m: natural_key(m['name'])))
    return ['members: update domain unknown for %s; Azure reports it only for a VM that is '
            'allocated: start it, or leave it out with only' % described]


def check_only(only, names):
    unknown = _sorted_names(set(only) - set(names))
    if unknown:
        return ['only: %s not in the availability set (members: %s)'
                % (', '.join(unknown), ', '.join(_sorted_names(names)) or 'none')]
    return []


def select_members(members, only):
    if not only:
        return list(members)
    wanted = set(only)
    return [m for m in members if m['name'] in wanted]


def check_order(order, present):
    """An explicit order must name exactly the update domains that hold VMs to patch."""
    problems = []
    empty = [ud for ud in order if ud not in present]
    missing = sorted(set(present) - set(order))
    if empty:
        problems.append('order=%s: %s no VM to patch (update domains with VMs: %s)'
                        % (order, _update_domains(empty, 'has', 'have'),
                           ', '.join(str(ud) for ud in sorted(present)) or 'none'))
    if missing:
        problems.append('order=%s: %s VMs but not listed'
                        % (order, _update_domains(['%d (%s)' % (ud, ', '.join(present[ud])) for ud in missing],
                                                  'holds', 'hold')))
    return problems


def _update_domains(items, verb_one, verb_many):
    if len(items) == 1:
        return 'update domain %s %s' % (items[0], verb_one)
    return 'update domains %s %s' % (', '.join(str(item) for item in items), verb_many)


def check_max_unhealthy(max_unhealthy, allowed, unhealthy, health, total):
    if len(unhealthy) <= allowed:
        return []
    described = ', '.join('%s: %s' % (name, health[name] or 'unknown') for name in unhealthy)
    return ['max_unhealthy=%s: %d of %s are unhealthy (%s), at most %d allowed; '
            'bring them back into rotation first or raise max_unhealthy'
            % (max_unhealthy, len(unhealthy), _vm_count(total), described, allowed)]


# --- batches --------------------------------------------------------------

def group_by_update_domain(selected):
    groups = {}
    for member in selected:
        groups.setdefault(_as_int(member['update_domain']), []).append(member['name'])
    return dict((ud, _sorted_names(names)) for ud, names in groups.items())


def _fault_domains(names, by_name):
    return sorted(set(_as_int(by_name[n].get('fault_domain')) for n in names) - set([None]))


def _canary_vm(canary, first_batch_vms, completed, in_progress):
    """The VM patched alone first, or None.

    Only while the canary has not passed: once any VM of the run completed,
    it did. A canary that failed (the one VM in progress) is the canary again.
    """
    if not canary or completed or len(in_progress) > 1 or not first_batch_vms:
        return None
    if in_progress:
        return in_progress[0]
    return first_batch_vms[0]


def make_batches(order, groups, completed, canary_requested, in_progress, by_name):
    """Ordered batches of VMs still to patch; update domains already done drop out."""
    batches = []
    for ud in order:
        todo = [n for n in groups[ud] if n not in completed]
        done = [n for n in groups[ud] if n in completed]
        if todo:
            batches.append({'kind': 'update_domain', 'update_domain': ud, 'vms': todo, 'skipped_done': done})
    canary = _canary_vm(canary_requested, batches[0]['vms'] if batches else [], completed, in_progress)
    if canary and canary in batches[0]['vms']:
        first = batches[0]
        rest = [n for n in first['vms'] if n != canary]
        canary_batch = {'kind': 'canary', 'update_domain': first['update_domain'], 'vms': [canary],
                        'skipped_done': first['skipped_done']}
        batches[0:1] = [canary_batch] + ([dict(first, vms=rest, skipped_done=[])] if rest else [])
    for index, batch in enumerate(batches, start=1):
        batch['index'] = index
        batch['fault_domains'] = _fault_domains(batch['vms'], by_name)
    return batches


def in_service_during(batch, names, health, in_progress):
    """Healthy VMs outside the batch.

    An unhealthy VM outside the batch does not count, except a VM this run
    took out and did not finish: it is in the first batch (see
    check_in_progress), and the run only moves on once it is back in rotation.
    """
    out = set(batch['vms'])
    return sum(1 for name in names
               if name not in out and (health[name] == HEALTH_UP or (batch['index'] > 1 and name in in_progress)))


def _describe_batch(batch):
    what = 'update domain %d' % batch['update_domain']
    if batch['kind'] == 'canary':
        what = 'canary from ' + what
    return 'batch %d (%s: %s)' % (batch['index'], what, ', '.join(batch['vms']))


def check_batches(batches, names, required, min_label):
    problems = []
    for batch in batches:
        if len(batch['vms']) == len(names):
            problems.append('%s: %s would take the whole set (%s) out of service'
                            % (min_label, _describe_batch(batch), _vm_count(len(names))))
        elif batch['in_service_during'] < required:
            problems.append('%s: %s would leave %d healthy VM%s in service (of %d)'
                            % (min_label, _describe_batch(batch), batch['in_service_during'],
                               '' if batch['in_service_during'] == 1 else 's', len(names)))
    return problems


def check_in_progress(in_progress, batches):
    """VMs a stopped run left out of rotation must be in the first batch.

    Otherwise they would stay out while another update domain is patched.
    """
    first = set(batches[0]['vms']) if batches else set()
    stray = [n for n in in_progress if n not in first]
    if not stray:
        return []
    where = _describe_batch(batches[0]) if batches else 'no batch'
    return ['in_progress: %s left out of rotation by the stopped run must be patched first, '
            'but the first batch is %s; resume with the same order, only and canary'
            % (', '.join(stray), where)]


# --- the plan -------------------------------------------------------------

def build_plan(members, health, order=UPDATE_DOMAIN_ORDER, canary=False, min_in_service=None,
               max_unhealthy=DEFAULT_MAX_UNHEALTHY, only=None, completed=None, in_progress=None):
    """Plan the batches of a rolling patch, or raise PlanRefused.

    members: dicts with at least name and update_domain (fault_domain,
    power_state and private_ip are used when present).
    health: VM name (or private IP) -> 'Up' | 'Down' | None.
    completed: VMs this run id already patched (skipped: resume).
    in_progress: VMs this run id took out of rotation without finishing them
    (a stopped run); they are expected to be unhealthy and are patched first.
    """
    problems = check_members(members)
    if problems:
        raise PlanRefused(problems)
    names = [m['name'] for m in members]
    by_name = dict((m['name'], m) for m in members)
    required = required_in_service(min_in_service)
    allowed_unhealthy = parse_max_unhealthy(max_unhealthy, len(members))
    explicit_order = parse_order(order)
    health = normalize_health(members, health)
    completed = set(completed or []) & set(names)
    in_progress = _sorted_names(set(in_progress or []) & set(names) - completed)

    problems = check_only(only or [], names)
    selected = select_members(members, only)
    problems += check_update_domains_known(selected)
    if problems:
        raise PlanRefused(problems)
    groups = group_by_update_domain(selected)
    if explicit_order is not None:
        problems += check_order(explicit_order, groups)
    unhealthy = _sorted_names(n for n in names if health[n] != HEALTH_UP and n not in in_progress)
    problems += check_max_unhealthy(max_unhealthy, allowed_unhealthy, unhealthy, health, len(names))
    if problems:
        raise PlanRefused(problems)

    ud_order = explicit_order if explicit_order is not None else sorted(groups)
    batches = make_batches(ud_order, groups, completed, canary, in_progress, by_name)
    for batch in batches:
        batch['in_service_during'] = in_service_during(batch, names, health, set(in_progress))
    problems = check_batches(batches, names, required, _describe_min_in_service(min_in_service, required))
    problems += check_in_progress(in_progress, batches)
    if problems:
        raise PlanRefused(problems)
    return {
        'batches': batches,
        'update_domain_order': ud_order,
        'members': len(names),
        'healthy': _sorted_names(n for n in names if health[n] == HEALTH_UP),
        'unhealthy': unhealthy,
        'in_progress': in_progress,
        'skipped_done': [n for batch_ud in ud_order for n in groups[batch_ud] if n in completed],
        'canary': batches[0]['vms'][0] if batches and batches[0]['kind'] == 'canary' else None,
        'min_in_service': required,
        'max_unhealthy': allowed_unhealthy,
    }


def summarize(plan):
    """Human-readable lines describing the plan (check mode output)."""
    batches = plan['batches']
    lines = ['rolling plan: %s in the set, %d healthy; update domain order %s; '
             'at least %d healthy in service during every batch; at most %d unhealthy tolerated'
             % (_vm_count(plan['members']), len(plan['healthy']),
                ' -> '.join(str(ud) for ud in plan['update_domain_order']) or '-',
                plan['min_in_service'], plan['max_unhealthy'])]
    if plan['skipped_done']:
        lines.append('already done in this run (skipped): %s' % ', '.join(plan['skipped_done']))
    if plan['in_progress']:
        lines.append('left out of rotation by the stopped run (patched first): %s' % ', '.join(plan['in_progress']))
    if not batches:
        lines.append('nothing to patch')
    for batch in batches:
        line = '%s: %d in service during the batch' % (_describe_batch(batch), batch['in_service_during'])
        fault_domains = batch['fault_domains']
        if fault_domains:
            line += '; fault domain%s %s' % ('' if len(fault_domains) == 1 else 's', ', '.join(str(fd) for fd in fault_domains))
        if batch['skipped_done']:
            line += '; done already: %s' % ', '.join(batch['skipped_done'])
        lines.append(line)
    return lines
