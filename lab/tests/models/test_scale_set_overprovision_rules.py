"""Overprovisioning's rules (pure functions of models.compute.scale_set_overprovision): how
many extras, which candidates the set keeps, and what a delete on request does to the capacity."""

from __future__ import annotations

import pytest

from azlab.models.compute import scale_set_overprovision as overprovision


def scale_set(capacity: int, candidates: list[int]) -> dict:
    body = {"sku": {"capacity": capacity}}
    if candidates:
        body[overprovision.RECORD] = [str(n) for n in candidates]
    return body


def members(*ids: int) -> list[dict]:
    return [{"instanceId": str(n)} for n in ids]


def ids(found) -> list[str] | None:
    return None if found is None else [m["instanceId"] for m in found]


@pytest.mark.parametrize("new, room, expected", [
    (1, 10, 1), (2, 10, 1), (5, 10, 1), (6, 10, 2), (10, 10, 2), (50, 100, 10),  # 20 %, rounded up
    (10, 1, 1), (3, 0, 0),                                                       # no more than ports/addresses
])
def test_extras_are_a_fifth_of_the_new_instances_within_the_room(new, room, expected):
    assert overprovision.extras(new, room) == expected


def test_the_first_candidates_to_run_are_kept_and_the_others_deleted():
    vmss, group = scale_set(2, [0, 1, 2]), members(0, 1, 2)
    assert overprovision.extras_to_delete(vmss, group, {}, set()) is None, "nothing runs yet"
    assert overprovision.extras_to_delete(vmss, group, {"2": 1.0}, set()) is None, "one of the two it needs runs"
    assert ids(overprovision.extras_to_delete(vmss, group, {"2": 1.0, "0": 2.0}, set())) == ["1"]
    # first seen in the same pass: the lowest IDs
    assert ids(overprovision.extras_to_delete(vmss, group, {"2": 1.0, "1": 1.0, "0": 1.0}, set())) == ["2"]


def test_a_failed_candidate_is_an_extra_when_the_others_run():
    vmss, group = scale_set(2, [0, 1, 2]), members(0, 1, 2)
    assert ids(overprovision.extras_to_delete(vmss, group, {"0": 1.0, "2": 2.0}, {"1"})) == ["1"]
    # too many failed: the set keeps a failed one, so the operation fails with its failure
    assert ids(overprovision.extras_to_delete(vmss, group, {"2": 1.0}, {"0", "1"})) == ["1"]


def test_a_scale_out_needs_only_what_the_capacity_asks_beyond_the_kept_instances():
    vmss, group = scale_set(3, [4, 5]), members(0, 1, 4, 5)
    assert overprovision.needed(vmss, overprovision.split(vmss, group)[0]) == 1
    assert ids(overprovision.extras_to_delete(vmss, group, {"5": 1.0}, set())) == ["4"]


def test_the_record_ends_when_the_candidates_are_no_more_than_needed():
    vmss = scale_set(2, [0, 1, 2])
    overprovision.record(vmss, [], members(0, 1))
    assert overprovision.RECORD not in vmss
    overprovision.record(vmss, [], members(0, 1, 2))
    assert vmss[overprovision.RECORD] == ["0", "1", "2"]


def test_deleting_instances_on_request_lowers_the_capacity_except_for_extras():
    vmss = scale_set(2, [0, 1, 2])  # one extra among the three
    overprovision.after_delete(vmss, members(1, 2), members(0))
    assert vmss["sku"]["capacity"] == 2 and overprovision.RECORD not in vmss, "the extra went: both left are kept"
    vmss = scale_set(2, [0, 1, 2])
    overprovision.after_delete(vmss, members(2), members(0, 1))
    assert vmss["sku"]["capacity"] == 1
    vmss = scale_set(3, [])
    overprovision.after_delete(vmss, members(0, 2), members(1))
    assert vmss["sku"]["capacity"] == 2, "without an overprovisioning: one fewer per instance deleted"
