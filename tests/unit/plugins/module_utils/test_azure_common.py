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
