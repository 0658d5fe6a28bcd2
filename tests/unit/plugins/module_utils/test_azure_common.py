"""ARM error translation and resource IDs."""

from __future__ import annotations

from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import (
    ArmError, error_from_body, resource_id, same_id,
)


def test_error_from_an_arm_envelope_keeps_code_message_and_target():
    error = error_from_body(400, '{"error": {"code": "InvalidParameter", "message": "Bad port.", '
                                 '"target": "properties.probes[0].port"}}', "PUT /x")
    assert (error.status, error.code, error.target) == (400, "InvalidParameter", "properties.probes[0].port")
    assert str(error) == "PUT /x failed: InvalidParameter: Bad port. (target: properties.probes[0].port)"
    assert error.details() == {"status_code": 400, "error_code": "InvalidParameter",
                               "error_target": "properties.probes[0].port"}


def test_error_without_a_json_body_keeps_the_text():
    error = error_from_body(502, "Bad Gateway")
    assert (error.code, error.message) == (None, "Bad Gateway")
    assert str(error) == "HTTP 502: Bad Gateway"
    assert str(ArmError(None, "ServiceRequestError", "proxy refused", operation="GET /x")) == \
        "GET /x failed: ServiceRequestError: proxy refused"
    assert str(ArmError(None, None, "no answer")) == "error: no answer"


def test_resource_id_and_same_id():
    rid = resource_id("s", "rg", "Microsoft.Network/loadBalancers", "lb", "probes", "p")
    assert rid == "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/probes/p"
    assert same_id(rid, rid.upper())
    assert not same_id(rid, None)


def test_in_parallel_keeps_the_order_and_raises_once_every_call_ended():
    import threading
    import time

    from ansible_collections.azure_ha.webfarm.plugins.module_utils.azure_common import in_parallel

    ended = []

    def call(item):
        time.sleep(0.05 * (5 - item))
        ended.append(item)
        if item == 1:
            raise ArmError(409, "Conflict", "busy")
        return (item, threading.current_thread().name)

    assert [r[0] for r in in_parallel(lambda i: call(i + 2), [0, 1, 2])] == [2, 3, 4]
    ended.clear()
    try:
        in_parallel(call, [0, 1, 2, 3])
    except ArmError as exc:
        assert exc.code == "Conflict"
    else:
        raise AssertionError("the error of item 1 was not raised")
    assert sorted(ended) == [0, 1, 2, 3]
