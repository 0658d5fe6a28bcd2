# -*- coding: utf-8 -*-
# Copyright: azure_ha.webfarm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every check of the tier's inputs shares: variable names as the user writes them, the
error type, and the range and emptiness rules (pure functions)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

VAR_PREFIX = 'webfarm_'


class TierPlanError(Exception):
    """The inputs break one or more rules; ``errors`` lists every one of them."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(TierPlanError, self).__init__(format_errors(self.errors))


def var(name):
    return VAR_PREFIX + name


def format_errors(errors):
    count = len(errors)
    head = 'webfarm tier inputs are invalid ({0} problem{1}):'.format(count, '' if count == 1 else 's')
    return '\n'.join([head] + ['- ' + error for error in errors])


def in_range(params, name, low, high, errors, what=''):
    value = params[name]
    if not low <= value <= high:
        errors.append('{0}: {1} is out of range{2}; it must be between {3} and {4}'.format(
            var(name), value, what, low, high))
        return False
    return True


def non_empty(params, name, errors, rule):
    value = params[name]
    if value is None or not str(value).strip():
        errors.append('{0}: must not be empty ({1})'.format(var(name), rule))
