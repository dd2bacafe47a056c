"""servicekit.errors: the app zone's error family, in the edge's and the vault's shape."""

from __future__ import annotations

import json

from servicekit.errors import NotFound, ServiceError, UpstreamError


def test_a_subclass_places_itself_in_the_envelope_by_its_class_attributes() -> None:
    assert NotFound("No such charge: 'ch_1'.", param="id").body() == {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": "No such charge: 'ch_1'.",
            "param": "id",
        }
    }
    assert (UpstreamError.status_code, UpstreamError.type) == (502, "api_error")


def test_the_class_message_stands_when_the_raiser_gives_none() -> None:
    class Refused(ServiceError):
        status_code = 403
        code = "refused"
        message = "Refused."

    error = Refused()
    assert (error.status_code, str(error), error.body()["error"]["message"]) == (
        403,
        "Refused.",
        "Refused.",
    )


def test_a_card_error_carries_stripe_s_further_fields() -> None:
    error = ServiceError("Declined.", code="card_declined", status_code=402, charge="ch_1")
    assert error.body()["error"] == {
        "type": "invalid_request_error",
        "code": "card_declined",
        "message": "Declined.",
        "charge": "ch_1",
    }


def test_the_edge_the_vault_and_the_app_zone_answer_one_envelope() -> None:
    # Three families (the PCI zone imports nothing of the app zone), one shape: the same
    # class attributes and the same body for the same error.
    from edge_proxy.errors import EdgeError
    from vault.errors import VaultError

    class Edge(EdgeError):
        status_code, type, code = 409, "invalid_request_error", "conflict"

    errors: list[EdgeError | VaultError | ServiceError] = [
        Edge("Taken.", param="id"),
        VaultError(409, "invalid_request_error", "conflict", "Taken.", "id"),
        ServiceError("Taken.", code="conflict", status_code=409, param="id"),
    ]
    shapes = {(e.status_code, e.type, e.code, e.message, json.dumps(e.body())) for e in errors}
    assert shapes == {
        (
            409,
            "invalid_request_error",
            "conflict",
            "Taken.",
            '{"error": {"type": "invalid_request_error", "code": "conflict", '
            '"message": "Taken.", "param": "id"}}',
        )
    }
