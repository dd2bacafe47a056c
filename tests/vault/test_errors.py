"""vault.errors: plain exceptions in the edge's shape, mapped to responses by vault/app.py."""

from __future__ import annotations

from vault.errors import AuditUnavailable, CardError, ClearanceRefused, VaultError


def test_an_error_with_no_arguments_is_its_class_attributes() -> None:
    assert AuditUnavailable().body() == {
        "error": {
            "type": "api_error",
            "code": "audit_unavailable",
            "message": "The audit log is unavailable; nothing was done.",
        }
    }
    assert AuditUnavailable.status_code == 503


def test_the_positional_form_still_places_an_error() -> None:
    error = VaultError(403, "permission_error", "breaker_open", "Live charges are stopped.")
    assert (error.status_code, error.type, error.code, error.message) == (
        403,
        "permission_error",
        "breaker_open",
        "Live charges are stopped.",
    )
    assert repr(error) == "VaultError(403, 'breaker_open')"


def test_subclasses_keep_their_status_and_type() -> None:
    card = CardError("card_declined", "Declined.", "number")
    assert (card.status_code, card.type, card.param) == (402, "card_error", "number")
    clearance = ClearanceRefused("expired")
    assert (clearance.status_code, clearance.code, clearance.message) == (
        403,
        "clearance_invalid",
        "Clearance refused: expired.",
    )
