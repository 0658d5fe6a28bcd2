# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the tier changes size (pure logic): which VM numbers the tier has after the run,
which VMs leave it, and the refusals, decided before any write.

Names stay predictable. The tier's VMs are ``{app}-vm{N}`` with the inbound NAT port
``nat_frontend_port_base + N``. The tier is the VMs of that naming in the tier's
availability set.

* **Scale out** gives each new VM the lowest number no VM of the set has: after a scale-in
  that took ``vm2``, the next VM is ``vm2`` again, on port base + 2.
* **Scale in** removes VMs one at a time, each time the VM whose fault domain holds the most
  of the remaining VMs, among those the one whose update domain holds the most, and among
  those the highest number. So the VMs that stay are spread over the fault domains first
  (an unplanned outage takes a fault domain), then over the update domains (Azure's planned
  maintenance and webfarm's rolling patch take one update domain at a time), and the
  numbers stay low. A scale set's ``Default`` scale-in policy is the same idea with zones in
  place of update domains: balance across zones, then fault domains, then delete the highest
  instance ID. Named VMs (``webfarm_scale_in_vms``) leave instead of the chosen ones.
"""

from __future__ import absolute_import, division, print_function

import re
from collections import Counter

__metaclass__ = type


class ScaleRefused(Exception):
    """The change breaks a rule; ``problems`` lists every one, each naming its variable."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(ScaleRefused, self).__init__('; '.join(self.problems))


def vm_number(app, name):
    """N of a VM named ``{app}-vm{N}`` (any case), else None."""
    match = re.match('^' + re.escape(app.lower()) + r'-vm([1-9][0-9]*)$', (name or '').lower())
    return int(match.group(1)) if match else None


def tier_of(members, app):
    """{N: member} of the availability set's members that are VMs of this tier."""
    tier = {}
    for member in members:
        number = vm_number(app, member['name'])
        if number is not None:
            tier[number] = member
    return tier


def choose_leaving(tier, count):
    """``count`` members of ``tier`` ({N: member with fault_domain, update_domain}) to remove,
    in the order the rule of this module picks them."""
    left = dict(tier)
    leaving = []
    while len(leaving) < count:
        fault = Counter(member['fault_domain'] for member in left.values())
        update = Counter(member['update_domain'] for member in left.values())
        number = max(left, key=lambda n: (fault[left[n]['fault_domain']], update[left[n]['update_domain']], n))
        leaving.append(left.pop(number))
    return leaving


def lowest_free(taken, count):
    """The ``count`` lowest numbers from 1 up that are not ``taken``."""
    numbers, candidate = [], 1
    while len(numbers) < count:
        if candidate not in taken:
            numbers.append(candidate)
        candidate += 1
    return numbers


def _named_problems(app, named, tier, remove):
    problems = []
    unknown = [name for name in named if vm_number(app, name) not in tier]
    if unknown:
        problems.append('webfarm_scale_in_vms: {0} {1} not a VM of this tier (its VMs: {2})'.format(
            ', '.join(unknown), 'is' if len(unknown) == 1 else 'are',
            ', '.join(tier[n]['name'] for n in sorted(tier)) or 'none'))
    if len(named) != max(remove, 0):
        problems.append('webfarm_scale_in_vms: names {0} VM{1}, but webfarm_vm_count removes {2} of the tier\'s {3}; '
                        'name exactly the VMs that leave (or leave the list empty to let the rule choose)'.format(
                            len(named), '' if len(named) == 1 else 's', max(remove, 0), len(tier)))
    return problems


def scale(members, app, vm_count, named=(), min_in_service=0):
    """What the run does to the tier's size.

    ``members``: the availability set's members (``availability_set_member_info``'s shape:
    name, update_domain, fault_domain, ...); ``named``: the VMs asked to leave. Returns
    ``{numbers, adding, leaving}``: the tier's VM numbers after the run, the new ones among
    them, and the members that leave (by number). Raises ScaleRefused naming every problem.
    """
    tier = tier_of(members, app)
    remove = len(tier) - vm_count
    named = [name.lower() for name in named or ()]
    problems = _named_problems(app, named, tier, remove) if named else []
    if remove > 0 and vm_count <= min_in_service:
        problems.append('webfarm_vm_count: {0} would leave the tier with no VM to patch: the rolling patch keeps '
                        'rolling_patch_min_in_service ({1}) VMs serving while it takes one out, so the tier needs '
                        'at least {2}'.format(vm_count, min_in_service, min_in_service + 1))
    if problems:
        raise ScaleRefused(problems)
    if named:
        leaving = [tier[vm_number(app, name)] for name in named]
    else:
        leaving = choose_leaving(tier, max(remove, 0))
    gone = set(vm_number(app, member['name']) for member in leaving)
    kept = sorted(set(tier) - gone)
    adding = lowest_free(set(tier), vm_count - len(kept)) if vm_count > len(kept) else []
    return dict(numbers=sorted(kept + adding), adding=adding,
                leaving=sorted(leaving, key=lambda member: vm_number(app, member['name'])))
