"""strongroom.web.errors: the app zone's error family, in the edge's and the vault's shape."""

from __future__ import annotations

from strongroom.web.errors import NotFound, ServiceError, UpstreamError


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
